//! The SQLite side of `export_calls`: the same three ordered reads as Postgres (calls, shown
//! suggestions, feedback events, merged by call id), but through rusqlite on a read-only
//! connection of its own, stepped on a blocking thread. sqlx's driver hands every row from
//! its worker thread to the async side one at a time; at a million calls that hand-off cost
//! more than everything the export does with the row. Here the rows are decoded where they
//! are read and leave the thread in chunks.
//!
//! All three statements run in one read transaction: they see one snapshot, and a review
//! recorded while the export runs is not half in it.

use std::path::{Path, PathBuf};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{Connection, OpenFlags, Statement};
use sqlx::SqlitePool;
use tokio::sync::mpsc;

use super::shared::row_records;
use super::ts::Ts;
use crate::StoreError;
use crate::export::source::{
    EXPORT_BUFFER, EXPORT_CHUNK, ExportCall, ExportFilter, ExportStream, FilterValue, end_export,
};
use crate::model::*;
use crate::time::{from_text, to_text};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl FromSql for Ts {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        from_text(text)
            .map(Ts)
            .map_err(|e| FromSqlError::Other(e.into()))
    }
}

/// A rusqlite row with sqlx's `try_get` shape, so the shared row decoders read it. Columns
/// are found in the statement's own name list: rusqlite's lookup by name asks SQLite for every
/// column's name on every call, which showed up in profiles.
struct Row<'a> {
    row: &'a rusqlite::Row<'a>,
    columns: &'a [String],
}

impl Row<'_> {
    fn try_get<T: FromSql, I: AsRef<str>>(&self, column: I) -> Result<T, StoreError> {
        let name = column.as_ref();
        let index =
            self.columns.iter().position(|c| c == name).ok_or_else(|| {
                StoreError::Corrupt(format!("no column {name} in the export read"))
            })?;
        Ok(self.row.get(index)?)
    }
}

fn column_names(statement: &Statement<'_>) -> Vec<String> {
    statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

row_records!(Row<'_>);

/// Streams the calls `filter` selects from the store's database file (see
/// `Store::export_calls`).
pub(super) fn export_calls(pool: &SqlitePool, filter: ExportFilter) -> ExportStream<ExportCall> {
    let (tx, rx) = mpsc::channel(EXPORT_BUFFER);
    let pool = pool.clone();
    tokio::spawn(async move {
        let result = match database_file(&pool).await {
            Ok(path) => {
                let tx = tx.clone();
                tokio::task::spawn_blocking(move || read_calls(&path, &filter, &tx))
                    .await
                    .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
            }
            Err(e) => Err(e),
        };
        end_export(&tx, result).await;
    });
    ExportStream::new(rx)
}

/// The file behind the pool's main database; in-memory databases have none another
/// connection could open.
async fn database_file(pool: &SqlitePool) -> Result<PathBuf, StoreError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list")
        .fetch_all(pool)
        .await?;
    match rows.into_iter().find(|(_, name, _)| name == "main") {
        Some((_, _, file)) if !file.is_empty() => Ok(PathBuf::from(file)),
        _ => Err(StoreError::Unsupported(
            "exports read on a connection of their own: use a database file, not :memory:".into(),
        )),
    }
}

/// Binds `$1`… by name: SQLite numbers `$N` placeholders in the order they first appear.
fn bind(statement: &mut Statement<'_>, values: &[FilterValue]) -> Result<(), StoreError> {
    let mut bind_at = |n: usize, value: &dyn rusqlite::ToSql| -> Result<(), StoreError> {
        let name = format!("${n}");
        let index = statement.parameter_index(&name)?.ok_or_else(|| {
            StoreError::Corrupt(format!("export query has no placeholder {name}"))
        })?;
        statement.raw_bind_parameter(index, value)?;
        Ok(())
    };
    for (i, value) in values.iter().enumerate() {
        match value {
            FilterValue::Text(text) => bind_at(i + 1, text)?,
            FilterValue::Time(time) => bind_at(i + 1, &to_text(*time))?,
        }
    }
    Ok(())
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(connection)
}

fn read_calls(
    path: &Path,
    filter: &ExportFilter,
    tx: &mpsc::Sender<Result<Vec<ExportCall>, StoreError>>,
) -> Result<(), StoreError> {
    let connection = open(path)?;
    // One snapshot for the three reads.
    connection.execute_batch("BEGIN")?;
    // A failed call's messages and answer are not read: it yields no example.
    let (conditions, values) = filter.call_conditions(1);
    let calls_sql = format!(
        "SELECT m.id, m.installation_id, m.repo, m.pr, m.head_sha, m.job_id, m.analysis, \
         m.prompt_id, m.prompt_version, m.provider, m.model, m.deployment, \
         CASE WHEN m.status = 'ok' THEN m.messages ELSE '' END AS messages, \
         CASE WHEN m.status = 'ok' THEN m.response_format END AS response_format, \
         CASE WHEN m.status = 'ok' THEN m.raw_answer END AS raw_answer, \
         m.finish_reason, m.status, m.error, m.tokens_in, m.tokens_out, m.latency_ms, \
         m.attempt, m.created_at, m.message_tokens FROM model_calls m WHERE 1 = 1{conditions} \
         ORDER BY m.id"
    );
    let suggestions_sql = format!(
        "SELECT s.* FROM model_calls m JOIN suggestions s ON s.model_call_id = m.id \
         LEFT JOIN reviews r ON r.id = s.review_id \
         WHERE m.status = 'ok'{conditions} \
         AND (r.github_review_id IS NOT NULL OR s.github_comment_id IS NOT NULL) \
         ORDER BY m.id"
    );
    let events_sql = format!(
        "SELECT m.id AS e_call, f.* FROM model_calls m \
         JOIN suggestions s ON s.model_call_id = m.id \
         JOIN feedback_events f ON f.suggestion_id = s.id \
         WHERE m.status = 'ok'{conditions} ORDER BY m.id"
    );
    let mut calls = connection.prepare(&calls_sql)?;
    let mut suggestions = connection.prepare(&suggestions_sql)?;
    let mut events = connection.prepare(&events_sql)?;
    for statement in [&mut calls, &mut suggestions, &mut events] {
        bind(statement, &values)?;
    }
    let (call_columns, suggestion_columns, event_columns) = (
        column_names(&calls),
        column_names(&suggestions),
        column_names(&events),
    );
    let mut calls = calls.raw_query();
    let mut suggestions = suggestions.raw_query();
    let mut events = events.raw_query();
    // The next suggestion and event read but not yet used (they belong to a later call).
    let mut next_suggestion: Option<Suggestion> = None;
    let mut next_event: Option<(i64, FeedbackEvent)> = None;
    let mut chunk = Vec::with_capacity(EXPORT_CHUNK);
    while let Some(row) = calls.next()? {
        let call = model_call_record(&Row {
            row,
            columns: &call_columns,
        })?;
        let id = call.id.0;
        let mut shown: Vec<Suggestion> = Vec::new();
        loop {
            if next_suggestion.is_none() {
                next_suggestion = match suggestions.next()? {
                    Some(row) => Some(suggestion_record(&Row {
                        row,
                        columns: &suggestion_columns,
                    })?),
                    None => break,
                };
            }
            let Some(s) =
                next_suggestion.take_if(|s| s.suggestion.model_call_id.is_none_or(|c| c.0 <= id))
            else {
                break;
            };
            if s.suggestion.model_call_id.is_some_and(|c| c.0 == id) {
                shown.push(s);
            }
        }
        let mut call_events: Vec<FeedbackEvent> = Vec::new();
        loop {
            if next_event.is_none() {
                next_event = match events.next()? {
                    Some(row) => {
                        let row = Row {
                            row,
                            columns: &event_columns,
                        };
                        Some((row.try_get("e_call")?, feedback_event_record(&row)?))
                    }
                    None => break,
                };
            }
            let Some((call_id, event)) = next_event.take_if(|(c, _)| *c <= id) else {
                break;
            };
            if call_id == id {
                call_events.push(event);
            }
        }
        chunk.push(ExportCall::assemble(call, shown, &call_events));
        if chunk.len() == EXPORT_CHUNK && tx.blocking_send(Ok(std::mem::take(&mut chunk))).is_err()
        {
            // The reader stopped: nothing more to do.
            return Ok(());
        }
    }
    if !chunk.is_empty() {
        let _ = tx.blocking_send(Ok(chunk));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::export::source::ExportFilter;

    #[tokio::test]
    async fn an_in_memory_store_is_refused_with_a_reason() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let mut calls = store.export_calls(&ExportFilter::default());
        let error = calls.next().await.expect("an answer").unwrap_err();
        assert!(error.to_string().contains("use a database file"), "{error}");
        assert!(calls.next().await.is_none());
    }
}

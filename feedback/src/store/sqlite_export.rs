//! The SQLite side of `export_calls`: the same three ordered reads as Postgres (calls, shown
//! suggestions, feedback events, merged by call id), but through rusqlite on a read-only
//! connection of its own, stepped on a blocking thread. sqlx's driver hands every row from
//! its worker thread to the async side one at a time; at a million calls that hand-off cost
//! more than everything the export does with the row. Here the rows are decoded where they
//! are read and leave the thread in chunks.
//!
//! All three statements run in one read transaction: they see one snapshot, and a review
//! recorded while the export runs is not half in it. The SQL and the merge are shared with
//! Postgres (`CallReads`, `Lookahead`, `ExportCall::assemble`).

use std::path::{Path, PathBuf};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, Statement};
use sqlx::SqlitePool;
use tokio::sync::mpsc;

use super::shared::{NextColumn, row_records};
use super::ts::Ts;
use crate::StoreError;
use crate::export::source::{
    EXPORT_BUFFER, EXPORT_CHUNK, ExportCall, ExportFilter, ExportStream, FilterValue, Lookahead,
    end_export,
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
/// are found in the statement's own name list ([`NextColumn`]): rusqlite's lookup by name asks
/// SQLite for every column's name on every call.
struct Row<'a> {
    row: &'a rusqlite::Row<'a>,
    columns: &'a [String],
    next: NextColumn,
}

impl<'a> Row<'a> {
    fn new(row: &'a rusqlite::Row<'a>, columns: &'a [String]) -> Self {
        Row {
            row,
            columns,
            next: NextColumn::new(),
        }
    }

    fn try_get<T: FromSql, I: AsRef<str>>(&self, column: I) -> Result<T, StoreError> {
        let name = column.as_ref();
        let index = self.next.index(
            name,
            |at| self.columns.get(at).map(String::as_str),
            || {
                self.columns.iter().position(|c| c == name).ok_or_else(|| {
                    StoreError::Corrupt(format!("no column {name} in the export read"))
                })
            },
        )?;
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

/// Binds `leading` to `$1`… and `values` after them. By name: SQLite numbers `$N`
/// placeholders in the order they first appear, not by their number.
fn bind(
    statement: &mut Statement<'_>,
    leading: &[&dyn rusqlite::ToSql],
    values: &[FilterValue],
) -> Result<(), StoreError> {
    let filter: Vec<Value> = values
        .iter()
        .map(|value| match value {
            FilterValue::Text(text) => Value::Text(text.clone()),
            FilterValue::Time(time) => Value::Text(to_text(*time)),
        })
        .collect();
    let filter = filter.iter().map(|value| value as &dyn rusqlite::ToSql);
    for (i, value) in leading.iter().copied().chain(filter).enumerate() {
        let name = format!("${}", i + 1);
        let index = statement.parameter_index(&name)?.ok_or_else(|| {
            StoreError::Corrupt(format!("export query has no placeholder {name}"))
        })?;
        statement.raw_bind_parameter(index, value)?;
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
    // One snapshot for every read; the cut is then the snapshot itself, kept so the SQL is
    // the same as on Postgres.
    connection.execute_batch("BEGIN")?;
    let max_call: Option<i64> =
        connection.query_row("SELECT MAX(id) FROM model_calls", [], |row| row.get(0))?;
    let Some(max_call) = max_call else {
        return Ok(());
    };
    let max_event: i64 = connection.query_row(
        "SELECT COALESCE(MAX(id), 0) FROM feedback_events",
        [],
        |row| row.get(0),
    )?;
    let reads = filter.call_reads();
    let mut calls = connection.prepare(&reads.calls)?;
    let mut suggestions = connection.prepare(reads.suggestions)?;
    let mut events = connection.prepare(reads.events)?;
    bind(&mut calls, &[&max_call], &reads.values)?;
    bind(&mut suggestions, &[&max_call], &[])?;
    bind(&mut events, &[&max_call, &max_event], &[])?;
    let (call_columns, suggestion_columns, event_columns) = (
        column_names(&calls),
        column_names(&suggestions),
        column_names(&events),
    );
    let mut calls = calls.raw_query();
    let mut suggestions = suggestions.raw_query();
    let mut events = events.raw_query();
    let mut suggestions_ahead = Lookahead::new();
    let mut events_ahead = Lookahead::new();
    let mut chunk = Vec::with_capacity(EXPORT_CHUNK);
    while let Some(row) = calls.next()? {
        let call = export_call_record(&Row::new(row, &call_columns))?;
        let id = call.id.0;
        let shown = suggestions_ahead.rows_of(id, || match suggestions.next()? {
            Some(row) => {
                let row = Row::new(row, &suggestion_columns);
                Ok(Some((
                    row.try_get("model_call_id")?,
                    export_suggestion_record(&row)?,
                )))
            }
            None => Ok(None),
        })?;
        let call_events = events_ahead.rows_of(id, || match events.next()? {
            Some(row) => {
                let row = Row::new(row, &event_columns);
                Ok(Some((row.try_get("e_call")?, feedback_event_record(&row)?)))
            }
            None => Ok(None),
        })?;
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

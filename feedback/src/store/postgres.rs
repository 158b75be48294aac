//! The Postgres backend: for several `reviewbot serve` processes sharing one database.
//!
//! Workers claim jobs with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on,
//! or take, the same row.

use chrono::{DateTime, Utc};
use sqlx::Postgres;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::shared::shared_store_methods;
use super::ts::Ts;
use crate::StoreError;
use crate::model::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which jobs a claim may take: expired leases first, then queued jobs in order. SKIP LOCKED
/// lets concurrent workers pass over rows another transaction is claiming instead of queueing
/// behind it. `$3` is now, `$4` the kinds as an array.
const CLAIM_CANDIDATES: [&str; 2] = [
    "SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < $3 \
     AND kind = ANY($4) ORDER BY lease_expires_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
    "SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $3 \
     AND kind = ANY($4) ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
];

/// Row locks: a `SELECT` in a write transaction locks the rows it reads for update.
const FOR_UPDATE: &str = " FOR UPDATE";

/// The claimable kinds as `CLAIM_CANDIDATES` takes them.
fn kinds_arg(kinds: &[&str]) -> Result<Vec<String>, StoreError> {
    Ok(kinds.iter().map(|k| k.to_string()).collect())
}

#[derive(Clone)]
pub(super) struct PostgresStore {
    pool: PgPool,
}

shared_store_methods!(PostgresStore, Postgres, PgRow);

impl PostgresStore {
    pub(super) fn new(pool: PgPool) -> Self {
        PostgresStore { pool }
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    pub(super) async fn record_delivery(
        &self,
        delivery: &NewDelivery,
        jobs: &[NewJob],
    ) -> Result<RecordedDelivery, StoreError> {
        let mut tx = self.begin().await?;
        let recorded = record_one(&mut tx, delivery, jobs).await?;
        tx.commit().await?;
        Ok(recorded)
    }
}

/// The export's row decoders over [`export_rows::PositionedRow`]s.
mod export_rows {
    use sqlx::postgres::PgRow;
    use sqlx::{Column as _, Row as _};

    use crate::StoreError;
    use crate::export::source::{ExportCall, SuggestionRow};
    use crate::model::*;
    use crate::store::shared::NextColumn;
    use crate::store::ts::Ts;

    /// A Postgres row for the export's decoders, its columns found by position first
    /// ([`NextColumn`]).
    pub(super) struct PositionedRow<'a> {
        row: &'a PgRow,
        next: NextColumn,
    }

    impl<'a> PositionedRow<'a> {
        fn new(row: &'a PgRow) -> Self {
            Self {
                row,
                next: NextColumn::new(),
            }
        }

        fn try_get<'r, T, I>(&'r self, column: I) -> Result<T, sqlx::Error>
        where
            T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
            I: AsRef<str>,
        {
            let name = column.as_ref();
            let index = self.next.index(
                name,
                |at| self.row.columns().get(at).map(|c| c.name()),
                || sqlx::ColumnIndex::index(&name, self.row),
            )?;
            self.row.try_get(index)
        }
    }

    crate::store::shared::row_records!(PositionedRow<'_>);

    /// A row of the calls read.
    pub(super) fn call(row: &PgRow) -> Result<ExportCall, StoreError> {
        export_call_record(&PositionedRow::new(row))
    }

    /// A row of the suggestions read, with its call's id.
    pub(super) fn suggestion(row: &PgRow) -> Result<(i64, SuggestionRow), StoreError> {
        let row = PositionedRow::new(row);
        let suggestion = export_suggestion_record(&row)?;
        Ok((row.try_get("model_call_id")?, suggestion))
    }

    /// A row of the events read, with its call's id.
    pub(super) fn event(row: &PgRow) -> Result<(i64, FeedbackEvent), StoreError> {
        let row = PositionedRow::new(row);
        Ok((row.try_get("e_call")?, feedback_event_record(&row)?))
    }
}

/// A connection for one of an export's reads. The reads are long and simple, and consumed at
/// the export's pace: compiling them with LLVM (Postgres's JIT, which their estimated cost
/// triggers) and splitting them over parallel workers whose rows are then merged back in
/// order cost the server more than they saved (measured on the benchmark's reads).
async fn export_connection(
    pool: &PgPool,
) -> Result<sqlx::pool::PoolConnection<Postgres>, StoreError> {
    let mut connection = pool.acquire().await?;
    for setting in ["SET jit = off", "SET max_parallel_workers_per_gather = 0"] {
        sqlx::query(setting).execute(&mut *connection).await?;
    }
    Ok(connection)
}

impl PostgresStore {
    /// Streams the model calls `filter` selects, each with its shown suggestions and
    /// their verdicts (see [`crate::export::source`]). Three ordered reads (calls,
    /// suggestions, events), each on its own connection, merged here by call id: one pass,
    /// no query per call, and only the current call's rows in memory. Calls and events
    /// recorded after the export starts are left out, so one run sees one consistent cut.
    /// (Aggregating each call's rows as JSON in the database was measured slower at 1M
    /// calls.)
    pub(super) fn export_calls(
        &self,
        filter: &crate::export::source::ExportFilter,
    ) -> crate::export::source::ExportStream<crate::export::source::ExportCall> {
        let filter = filter.clone();
        spawn_export(&self.pool, move |pool, tx| async move {
            Self::read_export_calls(&pool, &filter, &tx).await
        })
    }

    async fn read_export_calls(
        pool: &PgPool,
        filter: &crate::export::source::ExportFilter,
        tx: &tokio::sync::mpsc::Sender<Result<Vec<crate::export::source::ExportCall>, StoreError>>,
    ) -> Result<(), StoreError> {
        use crate::export::source::{EXPORT_CHUNK, ExportCall, Lookahead};
        use futures_util::TryStreamExt;
        let max_call: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM model_calls")
            .fetch_one(pool)
            .await?;
        let Some(max_call) = max_call else {
            return Ok(());
        };
        let max_event: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM feedback_events")
            .fetch_one(pool)
            .await?;
        let reads = filter.call_reads();
        let mut calls_connection = export_connection(pool).await?;
        let mut suggestions_connection = export_connection(pool).await?;
        let mut events_connection = export_connection(pool).await?;
        let calls_query = bind_filter(
            sqlx::query(sqlx::AssertSqlSafe(reads.calls)).bind(max_call),
            &reads.values,
        );
        let suggestions_query = sqlx::query(reads.suggestions).bind(max_call);
        let events_query = sqlx::query(reads.events).bind(max_call).bind(max_event);
        let mut calls = calls_query.fetch(&mut *calls_connection);
        let mut suggestions = suggestions_query.fetch(&mut *suggestions_connection);
        let mut events = events_query.fetch(&mut *events_connection);
        let mut suggestions_ahead = Lookahead::new();
        let mut events_ahead = Lookahead::new();
        let mut chunk = Vec::with_capacity(EXPORT_CHUNK);
        while let Some(row) = calls.try_next().await? {
            let call = export_rows::call(&row)?;
            let id = call.id.0;
            let mut shown = Vec::new();
            loop {
                if suggestions_ahead.wants_row() {
                    suggestions_ahead.put(match suggestions.try_next().await? {
                        Some(row) => Some(export_rows::suggestion(&row)?),
                        None => None,
                    });
                }
                if !suggestions_ahead.take(id, &mut shown) {
                    break;
                }
            }
            let mut call_events = Vec::new();
            loop {
                if events_ahead.wants_row() {
                    events_ahead.put(match events.try_next().await? {
                        Some(row) => Some(export_rows::event(&row)?),
                        None => None,
                    });
                }
                if !events_ahead.take(id, &mut call_events) {
                    break;
                }
            }
            chunk.push(ExportCall::assemble(call, shown, &call_events));
            if chunk.len() == EXPORT_CHUNK && tx.send(Ok(std::mem::take(&mut chunk))).await.is_err()
            {
                // The reader stopped: nothing more to do.
                return Ok(());
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(Ok(chunk)).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDatabase;

    #[tokio::test]
    async fn model_call_texts_are_compressed_with_lz4_and_messages_kept_in_the_row() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        let store = db.store().await;
        let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
        // The migration falls back to the default where the server has no lz4.
        let lz4 = sqlx::query("SET default_toast_compression = 'lz4'")
            .execute(&pool)
            .await
            .is_ok();
        let columns: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT attname::text, attstorage::text, attcompression::text FROM pg_attribute \
             WHERE attrelid = 'model_calls'::regclass AND attname IN ('messages', 'raw_answer') \
             ORDER BY attname",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let compression = if lz4 { "l" } else { "" };
        let expected = [("messages", "m"), ("raw_answer", "x")]
            .map(|(name, storage)| (name.to_owned(), storage.to_owned(), compression.to_owned()));
        assert_eq!(columns, expected);
        pool.close().await;
        store.close().await;
    }
}

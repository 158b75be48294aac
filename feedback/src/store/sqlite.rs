//! The SQLite backend: the embedded default. Timestamps are fixed-width UTC text (see `time`).
//!
//! SQLite has one writer at a time, so every write is a single statement or a short
//! `BEGIN IMMEDIATE` transaction: the lock is taken up front and the busy timeout queues
//! writers instead of failing them.
//!
//! Deliveries use **group commit**: one writer task takes every delivery waiting at that
//! moment and records them in one transaction (each in its own savepoint, so one bad delivery
//! fails alone), then answers each caller after the single durable commit. Under load that
//! turns N fsyncs and N lock hand-offs into one; alone, a delivery commits at once.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::Sqlite;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use tokio::sync::{mpsc, oneshot};

use super::shared::shared_store_methods;
use super::ts::Ts;
use crate::StoreError;
use crate::model::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// Which jobs a claim may take: expired leases first (their jobs are the oldest), then queued
/// jobs in order. Each is its own single-statement claim, atomic under SQLite's write lock and
/// served by its own partial index. `$3` is now, `$4` the kinds as a JSON array.
const CLAIM_CANDIDATES: [&str; 2] = [
    "SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < $3 \
     AND kind IN (SELECT value FROM json_each($4)) ORDER BY lease_expires_at, id LIMIT 1",
    "SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $3 \
     AND kind IN (SELECT value FROM json_each($4)) ORDER BY run_at, id LIMIT 1",
];

/// Row locks: none needed, a write transaction (`BEGIN IMMEDIATE`) holds the database lock.
const FOR_UPDATE: &str = "";

/// The claimable kinds as `CLAIM_CANDIDATES` takes them.
fn kinds_arg(kinds: &[&str]) -> Result<String, StoreError> {
    serde_json::to_string(kinds).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Deliveries recorded per transaction at most: bounds the time a batch holds the write lock.
const MAX_DELIVERY_BATCH: usize = 128;

#[derive(Clone)]
pub(super) struct SqliteStore {
    pool: SqlitePool,
    deliveries: mpsc::Sender<DeliveryRequest>,
}

struct DeliveryRequest {
    delivery: NewDelivery,
    jobs: Vec<NewJob>,
    reply: oneshot::Sender<Result<RecordedDelivery, StoreError>>,
}

shared_store_methods!(SqliteStore, Sqlite, SqliteRow);

impl SqliteStore {
    /// Streams the calls `filter` selects (see `sqlite_export`).
    pub(super) fn export_calls(
        &self,
        filter: &crate::export::source::ExportFilter,
    ) -> crate::export::source::ExportStream<crate::export::source::ExportCall> {
        super::sqlite_export::export_calls(&self.pool, filter.clone())
    }

    /// Wraps the pool and starts the delivery writer (needs a tokio runtime).
    pub(super) fn new(pool: SqlitePool) -> Self {
        let (deliveries, queue) = mpsc::channel(MAX_DELIVERY_BATCH * 4);
        tokio::spawn(write_deliveries(pool.clone(), queue));
        SqliteStore { pool, deliveries }
    }

    /// Takes the write lock up front, so a busy database queues this writer rather than
    /// failing it halfway through.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub(super) async fn record_delivery(
        &self,
        delivery: &NewDelivery,
        jobs: &[NewJob],
    ) -> Result<RecordedDelivery, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = DeliveryRequest {
            delivery: delivery.clone(),
            jobs: jobs.to_vec(),
            reply,
        };
        self.deliveries
            .send(request)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// The group-commit writer: drains every waiting delivery into one transaction.
async fn write_deliveries(pool: SqlitePool, mut queue: mpsc::Receiver<DeliveryRequest>) {
    let mut batch = Vec::with_capacity(MAX_DELIVERY_BATCH);
    while queue.recv_many(&mut batch, MAX_DELIVERY_BATCH).await > 0 {
        match record_batch(&pool, &batch).await {
            Ok(results) => {
                for (request, result) in batch.drain(..).zip(results) {
                    let _ = request.reply.send(result);
                }
            }
            Err(e) => {
                let message = e.to_string();
                for request in batch.drain(..) {
                    let _ = request.reply.send(Err(StoreError::Batch(message.clone())));
                }
            }
        }
    }
}

/// Records each delivery in its own savepoint inside one transaction; the outer error is for
/// failures of the transaction itself (nothing was recorded then).
async fn record_batch(
    pool: &SqlitePool,
    batch: &[DeliveryRequest],
) -> Result<Vec<Result<RecordedDelivery, StoreError>>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        sqlx::query("SAVEPOINT delivery").execute(&mut *tx).await?;
        let result = record_one(&mut tx, &request.delivery, &request.jobs).await;
        let end = if result.is_ok() {
            "RELEASE delivery"
        } else {
            "ROLLBACK TO delivery; RELEASE delivery"
        };
        sqlx::raw_sql(end).execute(&mut *tx).await?;
        results.push(result);
    }
    tx.commit().await?;
    Ok(results)
}

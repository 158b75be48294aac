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

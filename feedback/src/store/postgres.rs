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

/// A model call's shown suggestions, each with its feedback events up to `$2`, as one JSON
/// array (see `export::source::JsonSuggestion`): one row per call instead of one per event,
/// which is what makes a large export fast. `m` is the call.
const SHOWN_SUGGESTIONS_JSON: &str = "(SELECT COALESCE(json_agg(json_build_object('id', s.id, 'github_comment_id', \
     s.github_comment_id, 'model_call_id', s.model_call_id, 'review_id', s.review_id, 'repo', \
     s.repo, 'pr', s.pr, 'head_sha', s.head_sha, 'kind', s.kind, 'source', s.source, \
     'category', s.category, 'path', s.path, 'line', s.line, 'anchor', s.anchor, 'severity', \
     s.severity, 'confidence', s.confidence, 'cwe', s.cwe, 'fingerprint', s.fingerprint, \
     'title', s.title, 'body', s.body, 'original', s.original, 'created_at', s.created_at, \
     'events', (SELECT COALESCE(json_agg(json_build_object('id', f.id, 'suggestion_id', \
     f.suggestion_id, 'github_id', f.github_id, 'source', f.source, 'action', f.action, \
     'actor', f.actor, 'role', f.role, 'reason', f.reason, 'note', f.note, 'human_text', \
     f.human_text, 'occurred_at', f.occurred_at, 'recorded_at', f.recorded_at)), '[]'::json) \
     FROM feedback_events f WHERE f.suggestion_id = s.id AND f.id <= $2)) ORDER BY s.id), \
     '[]'::json)::text FROM suggestions s LEFT JOIN reviews r ON r.id = s.review_id WHERE \
     s.model_call_id = m.id AND (r.github_review_id IS NOT NULL OR s.github_comment_id IS NOT \
     NULL))";

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

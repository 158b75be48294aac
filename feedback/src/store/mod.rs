//! The `Store` facade: one API over SQLite and Postgres, each with its own runtime-checked SQL
//! and migrations folder (`migrations/sqlite`, `migrations/postgres`, same names).
//!
//! Time is always passed in by the caller (`now`), so the queue's leases and backoff can be
//! tested without sleeping and every process agrees on what a timestamp means (UTC).

mod postgres;
mod shared;
mod sqlite;
mod sqlite_export;
mod ts;

#[cfg(test)]
mod contract;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use tracing::instrument;

use crate::StoreError;
use crate::export::source::{ExportCall, ExportFilter, ExportStream};
use crate::model::*;
use crate::stats::{StatsBy, StatsCache, StatsReport, StatsRow};

/// Which SQL dialect a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, the embedded default.
    Sqlite,
    /// Postgres, for several processes at scale.
    Postgres,
}

/// How long a SQLite writer waits for the lock before failing; writes are short, so this is
/// only reached when something is badly wrong.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Connections per process. SQLite serialises writers anyway; Postgres is shared by workers,
/// webhook requests and metrics.
const POOL_SIZE: u32 = 16;

/// The store. Cheap to clone (it holds a connection pool).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// All-time stats for `/metrics`, shared by clones.
    stats_cache: Arc<StatsCache>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PostgresStore),
}

impl std::fmt::Debug for Store {
    // Never print the URL: it may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dialect", &self.dialect())
            .finish()
    }
}

/// Dispatches a call to whichever backend this store uses.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(s) => s.$method($($arg),*).await,
            Backend::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Connects to `sqlite://…` (the file is created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        let backend = match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: a 202 means the delivery survives a power cut, not just a crash.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let pool = SqlitePoolOptions::new()
                    .max_connections(if in_memory { 1 } else { POOL_SIZE })
                    .connect_with(options)
                    .await?;
                Backend::Sqlite(sqlite::SqliteStore::new(pool))
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url)?;
                // One direct connection first: a pool only reports "timed out", this reports
                // why (refused, unknown host, bad password, missing database).
                options.connect().await?.close().await?;
                let pool = PgPoolOptions::new()
                    .max_connections(POOL_SIZE)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Backend::Postgres(postgres::PostgresStore::new(pool))
            }
            other => return Err(StoreError::UnsupportedUrl(format!("scheme {other:?}"))),
        };
        Ok(Store {
            backend,
            stats_cache: Arc::default(),
        })
    }

    /// The dialect in use.
    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Applies pending migrations from the dialect's folder.
    #[instrument(skip_all, fields(dialect = ?self.dialect()))]
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dispatch!(self.migrate())
    }

    /// Checks the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self.ping())
    }

    /// Applies migrations up to and including `version` (tests of a migration on old data).
    #[cfg(test)]
    pub(crate) async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
        dispatch!(self.migrate_to(version))
    }

    /// Runs SQL as is (tests only).
    #[cfg(test)]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        dispatch!(self.execute_raw(sql))
    }

    /// The first column of the first row of a query (tests only).
    #[cfg(test)]
    pub(crate) async fn fetch_i64(&self, sql: &str) -> Result<i64, StoreError> {
        dispatch!(self.fetch_i64(sql))
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        dispatch!(self.close())
    }

    /// Records a delivery and enqueues its jobs in one transaction. A delivery id seen before
    /// changes nothing and reports [`RecordedDelivery::Duplicate`].
    #[instrument(skip_all, fields(delivery_id = %delivery.delivery_id, jobs = jobs.len()))]
    pub async fn record_delivery(
        &self,
        delivery: &NewDelivery,
        jobs: &[NewJob],
    ) -> Result<RecordedDelivery, StoreError> {
        dispatch!(self.record_delivery(delivery, jobs))
    }

    /// Enqueues one job outside any delivery (timers, follow-up work).
    #[instrument(skip_all, fields(kind = %job.kind))]
    pub async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> Result<JobId, StoreError> {
        dispatch!(self.enqueue_job(job, now))
    }

    /// Claims the next runnable job of one of `kinds` for `worker`, under a lease until
    /// `now + lease`. A running job whose lease expired is claimable again (its worker died);
    /// one that has used all its attempts that way becomes a dead letter instead.
    #[instrument(skip_all, fields(worker))]
    pub async fn claim_next_job(
        &self,
        worker: &str,
        kinds: &[&str],
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        dispatch!(self.claim_next_job(worker, kinds, now, until))
    }

    /// Extends the lease of a job `worker` still holds; false if it lost the lease.
    pub async fn extend_lease(
        &self,
        job: JobId,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        dispatch!(self.extend_lease(job, worker, now, until))
    }

    /// Marks a job done; false if `worker` no longer held its lease.
    #[instrument(skip_all, fields(job_id = %job))]
    pub async fn complete_job(
        &self,
        job: JobId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        dispatch!(self.complete_job(job, worker, now))
    }

    /// Records a failed attempt: queued again at `retry_at`, or a dead letter when out of
    /// attempts or when `retry_at` is `None` (retrying cannot help). The error is kept.
    #[instrument(skip_all, fields(job_id = %job))]
    pub async fn fail_job(
        &self,
        job: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<FailedJob, StoreError> {
        dispatch!(self.fail_job(job, worker, error, retry_at, now))
    }

    /// Gives a job back without counting the attempt (graceful shutdown).
    #[instrument(skip_all, fields(job_id = %job))]
    pub async fn release_job(
        &self,
        job: JobId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        dispatch!(self.release_job(job, worker, now))
    }

    /// Reads one job.
    pub async fn get_job(&self, job: JobId) -> Result<JobRecord, StoreError> {
        dispatch!(self.get_job(job))
    }

    /// Lists jobs, oldest first (operations and tests).
    pub async fn list_jobs(&self, state: Option<JobState>) -> Result<Vec<JobRecord>, StoreError> {
        dispatch!(self.list_jobs(state))
    }

    /// Counts jobs by state.
    pub async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
        dispatch!(self.queue_depth())
    }

    /// Whether a delivery id has been recorded.
    pub async fn delivery_exists(&self, delivery_id: &str) -> Result<bool, StoreError> {
        dispatch!(self.delivery_exists(delivery_id))
    }

    /// Creates or updates an installation (un-deleting it if it was deleted).
    pub async fn upsert_installation(
        &self,
        installation: &Installation,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(self.upsert_installation(installation, now))
    }

    /// Marks an installation deleted and forgets its repositories.
    pub async fn delete_installation(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        dispatch!(self.delete_installation(id, now))
    }

    /// Reads an installation; `None` if unknown or deleted.
    pub async fn get_installation(&self, id: i64) -> Result<Option<Installation>, StoreError> {
        dispatch!(self.get_installation(id))
    }

    /// Adds repositories to an installation and removes others, in one transaction.
    pub async fn update_installation_repositories(
        &self,
        installation_id: i64,
        added: &[InstallationRepository],
        removed: &[i64],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(self.update_installation_repositories(installation_id, added, removed, now))
    }

    /// The repositories an installation grants, by name.
    pub async fn list_installation_repositories(
        &self,
        installation_id: i64,
    ) -> Result<Vec<InstallationRepository>, StoreError> {
        dispatch!(self.list_installation_repositories(installation_id))
    }

    /// Records a model call exactly as made.
    #[instrument(skip_all, fields(prompt_id = %call.prompt_id, prompt_version = %call.prompt_version))]
    pub async fn insert_model_call(&self, call: &NewModelCall) -> Result<ModelCallId, StoreError> {
        dispatch!(self.insert_model_call(call))
    }

    /// Reads a model call back.
    pub async fn get_model_call(&self, id: ModelCallId) -> Result<ModelCall, StoreError> {
        dispatch!(self.get_model_call(id))
    }

    /// Records a suggestion; a fingerprint already recorded on the same pull request is a
    /// duplicate and changes nothing.
    pub async fn insert_suggestion(
        &self,
        suggestion: &NewSuggestion,
    ) -> Result<Inserted<SuggestionId>, StoreError> {
        dispatch!(self.insert_suggestion(suggestion))
    }

    /// Notes the GitHub review comment that carries a suggestion.
    pub async fn set_suggestion_comment(
        &self,
        id: SuggestionId,
        github_comment_id: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self.set_suggestion_comment(id, github_comment_id))
    }

    /// Records a review; the same pull request, analysis, head commit and round recorded before
    /// is a duplicate (a retried or redelivered job must not post twice).
    pub async fn insert_review(
        &self,
        review: &NewReview,
    ) -> Result<Inserted<ReviewId>, StoreError> {
        dispatch!(self.insert_review(review))
    }

    /// The review of `head_sha` for one analysis and round, if recorded.
    pub async fn find_review_by_head(
        &self,
        repo: &str,
        pr: i64,
        head_sha: &str,
        analysis: &str,
        round: i64,
    ) -> Result<Option<Review>, StoreError> {
        dispatch!(self.find_review_by_head(repo, pr, head_sha, analysis, round))
    }

    /// Records a review and its suggestions before posting, in one transaction, so their ids
    /// exist for the comment bodies; `render(id, index)` gives the final body of the
    /// suggestion at `index` (carrying its id's marker). The review's `github_review_id` and
    /// the suggestions' `review_id` are ignored: the review is unposted until
    /// [`finish_review`](Store::finish_review).
    ///
    /// - The review already posted (by an earlier attempt): nothing changes; `posted` holds its
    ///   GitHub id and every suggestion is `None`. Post nothing.
    /// - Recorded but never posted (an earlier attempt stopped): reused, its suggestions that
    ///   were never shown are replaced.
    /// - A suggestion whose fingerprint is already on the pull request: it takes over the row
    ///   when that was never shown (its review unposted, no comment, no feedback), else it is a
    ///   duplicate and `None`. A fingerprint repeated in `suggestions` is `None` after the first.
    #[instrument(skip_all, fields(repo = %review.repo, pr = review.pr, analysis = %review.analysis, round = review.round))]
    pub async fn prepare_review(
        &self,
        review: &NewReview,
        suggestions: &[NewSuggestion],
        render: &(dyn Fn(SuggestionId, usize) -> String + Send + Sync),
    ) -> Result<PreparedReview, StoreError> {
        dispatch!(self.prepare_review(review, suggestions, render))
    }

    /// Records what was posted, in one transaction: GitHub's review id, and per suggestion its
    /// comment id (`None` when it went into the summary) and where it was placed.
    #[instrument(skip_all, fields(review_id = %review))]
    pub async fn finish_review(
        &self,
        review: ReviewId,
        github_review_id: i64,
        placed: &[(SuggestionId, Option<i64>, Anchor)],
    ) -> Result<(), StoreError> {
        dispatch!(self.finish_review(review, github_review_id, placed))
    }

    /// Fingerprints of the suggestions shown on a pull request (nothing is posted twice): in a
    /// posted review, with a comment, with feedback, or recorded outside any review.
    pub async fn posted_fingerprints(
        &self,
        repo: &str,
        pr: i64,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self.posted_fingerprints(repo, pr))
    }

    /// The head commit of the pull request's most recently created posted review (any
    /// analysis or round).
    pub async fn last_reviewed_head(
        &self,
        repo: &str,
        pr: i64,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self.last_reviewed_head(repo, pr))
    }

    /// A review's suggestions, in the order they were recorded.
    pub async fn review_suggestions(
        &self,
        review: ReviewId,
    ) -> Result<Vec<Suggestion>, StoreError> {
        dispatch!(self.review_suggestions(review))
    }

    /// The suggestion with this fingerprint on a pull request, if recorded.
    pub async fn suggestion_by_fingerprint(
        &self,
        repo: &str,
        pr: i64,
        fingerprint: &str,
    ) -> Result<Option<Suggestion>, StoreError> {
        dispatch!(self.suggestion_by_fingerprint(repo, pr, fingerprint))
    }

    /// The suggestion a GitHub review comment of ours carries, if any.
    pub async fn suggestion_by_comment(
        &self,
        repo: &str,
        github_comment_id: i64,
    ) -> Result<Option<Suggestion>, StoreError> {
        dispatch!(self.suggestion_by_comment(repo, github_comment_id))
    }

    /// The suggestions people could see on a pull request (in a posted review, or with a
    /// comment), oldest first.
    pub async fn shown_suggestions(
        &self,
        repo: &str,
        pr: i64,
    ) -> Result<Vec<Suggestion>, StoreError> {
        dispatch!(self.shown_suggestions(repo, pr))
    }

    /// Records (or replaces) the facts of a head commit's check run.
    pub async fn record_check_run(
        &self,
        record: &CheckRunRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(self.record_check_run(record, now))
    }

    /// The most recently recorded check run of a pull request.
    pub async fn latest_check_run(
        &self,
        repo: &str,
        pr: i64,
    ) -> Result<Option<CheckRunRecord>, StoreError> {
        dispatch!(self.latest_check_run(repo, pr))
    }

    /// The ETag of a comment's reactions at the last poll.
    pub async fn reaction_etag(
        &self,
        github_comment_id: i64,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self.reaction_etag(github_comment_id))
    }

    /// Notes a comment's reactions were polled, with the answer's ETag.
    pub async fn set_reaction_etag(
        &self,
        github_comment_id: i64,
        etag: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(self.set_reaction_etag(github_comment_id, etag, now))
    }

    /// Records a pull request's installation and whether it is open.
    pub async fn upsert_pull_request(
        &self,
        repo: &str,
        pr: i64,
        installation_id: i64,
        open: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(self.upsert_pull_request(repo, pr, installation_id, open, now))
    }

    /// Open pull requests with a comment of ours made since `since`.
    pub async fn pull_requests_to_poll(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<PollTarget>, StoreError> {
        dispatch!(self.pull_requests_to_poll(since))
    }

    /// A repository's suggestions of one category that have feedback, made since `since`,
    /// newest first (at most `limit`), each with its events: noise control's window.
    pub async fn recent_feedback_in_category(
        &self,
        repo: &str,
        category: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Suggestion, Vec<FeedbackEvent>)>, StoreError> {
        dispatch!(self.recent_feedback_in_category(repo, category, since, limit))
    }

    /// A repository's suggestions of one kind that have feedback, made since `since`, newest
    /// first (at most `limit`), each with its events: where learnings come from.
    pub async fn recent_feedback_of_kind(
        &self,
        repo: &str,
        kind: SuggestionKind,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Suggestion, Vec<FeedbackEvent>)>, StoreError> {
        dispatch!(self.recent_feedback_of_kind(repo, kind, since, limit))
    }

    /// `/reviewbot unmute <category>`: noise control starts counting afresh from `now`.
    pub async fn unmute_category(
        &self,
        repo: &str,
        category: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(self.unmute_category(repo, category, by, now))
    }

    /// When a repository's category was last unmuted.
    pub async fn category_unmuted_at(
        &self,
        repo: &str,
        category: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        dispatch!(self.category_unmuted_at(repo, category))
    }

    /// Reads a suggestion.
    pub async fn get_suggestion(&self, id: SuggestionId) -> Result<Suggestion, StoreError> {
        dispatch!(self.get_suggestion(id))
    }

    /// Pauses (`/reviewbot pause`) or resumes a pull request's reviews; `by` is who did it.
    pub async fn set_paused(
        &self,
        repo: &str,
        pr: i64,
        paused: bool,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(self.set_paused(repo, pr, paused, by, now))
    }

    /// Whether a pull request's reviews are paused (never set: not paused).
    pub async fn is_paused(&self, repo: &str, pr: i64) -> Result<bool, StoreError> {
        dispatch!(self.is_paused(repo, pr))
    }

    /// Appends a feedback event; an event whose GitHub id was recorded before is a duplicate.
    pub async fn append_feedback_event(
        &self,
        event: &NewFeedbackEvent,
        now: DateTime<Utc>,
    ) -> Result<Inserted<FeedbackEventId>, StoreError> {
        dispatch!(self.append_feedback_event(event, now))
    }

    /// A suggestion's events in the order they happened.
    pub async fn list_feedback_events(
        &self,
        suggestion: SuggestionId,
    ) -> Result<Vec<FeedbackEvent>, StoreError> {
        dispatch!(self.list_feedback_events(suggestion))
    }

    /// Acceptance and precision per group of posted suggestions made at or after `since`
    /// (all when `None`), by group name; see [`stats`](crate::stats) for the figures. Reads
    /// suggestions as a stream: memory grows with the number of groups, not of suggestions.
    pub async fn stats(
        &self,
        by: StatsBy,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<StatsRow>, StoreError> {
        Ok(self.stats_report(by, since).await?.rows)
    }

    /// [`stats`](Store::stats) with the total over all groups, from the same pass.
    #[instrument(skip_all, fields(by = %by))]
    pub async fn stats_report(
        &self,
        by: StatsBy,
        since: Option<DateTime<Utc>>,
    ) -> Result<StatsReport, StoreError> {
        dispatch!(self.stats_report(by, since))
    }

    /// How many model calls `filter` selects (for a progress bar).
    pub async fn count_export_calls(&self, filter: &ExportFilter) -> Result<i64, StoreError> {
        dispatch!(self.count_export_calls(filter))
    }

    /// The model calls `filter` selects, each with its shown suggestions and their verdicts,
    /// in id order; read in the background, a bounded buffer ahead of the caller.
    pub fn export_calls(&self, filter: &ExportFilter) -> ExportStream<ExportCall> {
        match &self.backend {
            Backend::Sqlite(s) => s.export_calls(filter),
            Backend::Postgres(s) => s.export_calls(filter),
        }
    }

    /// Shown suggestions of `kind` with their verdicts, in id order (built-in findings too:
    /// only `filter`'s repository and time bounds apply).
    pub fn export_suggestions(
        &self,
        kind: SuggestionKind,
        filter: &ExportFilter,
    ) -> ExportStream<(Suggestion, crate::Verdict)> {
        match &self.backend {
            Backend::Sqlite(s) => s.export_suggestions(kind, filter),
            Backend::Postgres(s) => s.export_suggestions(kind, filter),
        }
    }

    /// All-time [`stats_report`](Store::stats_report), computed at most once per `max_age`
    /// (`now` is a monotonic clock reading): for `/metrics`, so a scrape does not scan a big
    /// store each time. Shared by this store's clones; concurrent callers wait for one scan,
    /// which finishes (and is cached) even if they stop waiting.
    pub async fn cached_stats(
        &self,
        by: StatsBy,
        max_age: Duration,
        now: Instant,
    ) -> Result<Arc<StatsReport>, StoreError> {
        let store = self.clone();
        self.stats_cache
            .get_or_compute(by, max_age, now, move || async move {
                store.stats_report(by, None).await
            })
            .await
    }
}

//! Workers: claim a job under a lease, keep the lease alive while it runs, then complete it,
//! retry it with backoff, or leave a dead letter. On shutdown a worker stops claiming and
//! either finishes the job in hand within a grace period or releases it for another process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use feedback::queue::RetryPolicy;
use feedback::{ClaimedJob, FailedJob, JobId, Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use crate::config::{ConfigError, Env};
use crate::github::GitHubError;
use crate::handlers::{self, Context, JobMeta};
use crate::jobs::Job;

/// How long a claim lasts without a heartbeat: a killed process's job is taken again after
/// at most this long.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How often an idle worker looks for jobs enqueued by other processes or due for retry
/// (jobs enqueued by this process wake it at once).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// A job running longer than this is stopped and retried: a stuck call must not hold its
/// lease, renewed by the heartbeat, forever.
const JOB_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// After a store error, wait before claiming again so a database outage is not a busy loop.
const STORE_ERROR_PAUSE: Duration = Duration::from_secs(2);

/// Settings shared by a process's workers.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The lease per claim.
    pub lease: Duration,
    /// Retries and dead letters.
    pub retry: RetryPolicy,
    /// How long to let the job in hand finish after shutdown starts before releasing it.
    pub shutdown_grace: Duration,
    /// How often reactions on open pull requests are polled; zero turns the poll off.
    pub reaction_poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            lease: DEFAULT_LEASE,
            retry: RetryPolicy::default(),
            // Longer than one model call with its retries, shorter than fly.toml's kill_timeout.
            shutdown_grace: Duration::from_secs(90),
            // Ten minutes: a verdict shows up soon enough, and a quiet pull request costs
            // only conditional requests (304s do not count against the rate limit).
            reaction_poll: Duration::from_secs(600),
        }
    }
}

impl WorkerSettings {
    /// Defaults, with `REVIEWBOT_JOB_LEASE_SECONDS` and `REVIEWBOT_SHUTDOWN_GRACE_SECONDS`
    /// applied when set.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let seconds = |variable: &'static str, range: std::ops::RangeInclusive<u64>| {
            env.var(variable)
                .map(|raw| {
                    raw.trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| range.contains(n))
                        .map(Duration::from_secs)
                        .ok_or_else(|| ConfigError {
                            variable,
                            problem: format!(
                                "must be a number of seconds from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        })
                })
                .transpose()
        };
        let defaults = WorkerSettings::default();
        Ok(WorkerSettings {
            lease: seconds("REVIEWBOT_JOB_LEASE_SECONDS", 3..=3600)?.unwrap_or(defaults.lease),
            shutdown_grace: seconds("REVIEWBOT_SHUTDOWN_GRACE_SECONDS", 0..=3600)?
                .unwrap_or(defaults.shutdown_grace),
            reaction_poll: seconds("REVIEWBOT_REACTION_POLL_SECONDS", 0..=86_400)?
                .unwrap_or(defaults.reaction_poll),
            retry: defaults.retry,
        })
    }
}

/// What one step of a worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing was runnable.
    Idle,
    /// Ran a job to completion.
    Completed(JobId),
    /// A job failed and will be retried.
    Retrying(JobId),
    /// A job failed for the last time.
    Dead(JobId),
    /// Shutdown came first: the job was given back to the queue.
    Released(JobId),
    /// The lease was lost (another worker took the job over); its outcome was not recorded.
    LeaseLost(JobId),
}

/// One worker: claims and runs jobs one at a time.
#[derive(Debug, Clone)]
pub struct Worker {
    id: String,
    ctx: Arc<Context>,
    settings: WorkerSettings,
    wake: Arc<Notify>,
}

impl Worker {
    /// A worker named `id` (unique across processes: it owns leases).
    pub fn new(id: String, ctx: Arc<Context>, settings: WorkerSettings, wake: Arc<Notify>) -> Self {
        Worker {
            id,
            ctx,
            settings,
            wake,
        }
    }

    fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            match self.step(&shutdown).await {
                Ok(Step::Idle) => {
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    error!(worker = %self.id, error = %e, "job queue unavailable");
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = tokio::time::sleep(STORE_ERROR_PAUSE) => {}
                    }
                }
            }
        }
    }

    /// Claims and runs at most one job.
    pub async fn step(&self, shutdown: &CancellationToken) -> Result<Step, StoreError> {
        if shutdown.is_cancelled() {
            return Ok(Step::Idle);
        }
        let claimed = self
            .store()
            .claim_next_job(
                &self.id,
                handlers::HANDLED_KINDS,
                Utc::now(),
                self.settings.lease,
            )
            .await?;
        let Some(job) = claimed else {
            return Ok(Step::Idle);
        };
        let span = info_span!(
            "job",
            job_id = %job.id,
            kind = %job.kind,
            delivery_id = job.delivery_id.as_deref().unwrap_or(""),
            attempt = job.attempt,
            worker = %self.id,
        );
        self.run_claimed(job, shutdown).instrument(span).await
    }

    async fn run_claimed(
        &self,
        job: ClaimedJob,
        shutdown: &CancellationToken,
    ) -> Result<Step, StoreError> {
        let started = Instant::now();
        let kind = job.kind.clone();
        let outcome = match Job::from_payload(&job.payload) {
            // A payload we cannot read will not become readable by retrying.
            Err(e) => Outcome::Failed(format!("unreadable job payload: {e}"), Retry::Never),
            Ok(parsed) => {
                let meta = JobMeta {
                    id: job.id,
                    attempt: job.attempt,
                    max_attempts: job.max_attempts,
                    delivery_id: job.delivery_id.clone(),
                };
                self.execute(meta, parsed, shutdown).await
            }
        };
        let now = Utc::now();
        let store = self.store();
        let step = match outcome {
            Outcome::Finished => {
                if store.complete_job(job.id, &self.id, now).await? {
                    info!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "job done"
                    );
                    Step::Completed(job.id)
                } else {
                    warn!("job finished after its lease was lost; another worker may run it again");
                    Step::LeaseLost(job.id)
                }
            }
            Outcome::Failed(error, retry) => {
                metrics::counter!("reviewbot_job_failures_total", "kind" => kind.clone())
                    .increment(1);
                let backoff = self
                    .settings
                    .retry
                    .backoff(job.attempt, &mut rand::thread_rng());
                let delay = match retry {
                    Retry::Backoff => Some(backoff),
                    // GitHub's rate-limit rules: wait at least as long as it asks.
                    Retry::NotBefore(wait) => Some(backoff.max(wait)),
                    // A failure retrying cannot fix becomes a dead letter at once.
                    Retry::Never => None,
                };
                let retry_at =
                    delay.map(|d| now + chrono::Duration::from_std(d).unwrap_or_default());
                let result = store
                    .fail_job(job.id, &self.id, &error, retry_at, now)
                    .await?;
                match result {
                    FailedJob::Retrying { run_at } => {
                        warn!(%error, retry_at = %run_at, "job failed; will retry");
                        Step::Retrying(job.id)
                    }
                    FailedJob::Dead => {
                        error!(%error, "job failed for the last time; kept as a dead letter");
                        metrics::counter!("reviewbot_jobs_dead_total", "kind" => kind.clone())
                            .increment(1);
                        Step::Dead(job.id)
                    }
                    FailedJob::LeaseLost => {
                        warn!(%error, "job failed after its lease was lost");
                        Step::LeaseLost(job.id)
                    }
                }
            }
            Outcome::Interrupted => {
                if store.release_job(job.id, &self.id, now).await? {
                    info!("shutting down: job released for another worker");
                }
                Step::Released(job.id)
            }
        };
        let label = match step {
            Step::Completed(_) => "done",
            Step::Retrying(_) => "retrying",
            Step::Dead(_) => "dead",
            Step::Released(_) => "released",
            Step::LeaseLost(_) => "lease_lost",
            Step::Idle => "idle",
        };
        metrics::histogram!("reviewbot_job_duration_seconds", "kind" => kind, "outcome" => label)
            .record(started.elapsed().as_secs_f64());
        Ok(step)
    }

    /// Runs the handler in its own task (so a panic is a failed job, not a dead worker) while
    /// a heartbeat renews the lease.
    async fn execute(&self, meta: JobMeta, job: Job, shutdown: &CancellationToken) -> Outcome {
        let id = meta.id;
        let ctx = self.ctx.clone();
        let mut task = tokio::spawn(
            async move { tokio::time::timeout(JOB_TIMEOUT, handlers::run(&ctx, meta, job)).await }
                .in_current_span(),
        );
        let mut heartbeat = tokio::time::interval(self.settings.lease / 3);
        heartbeat.tick().await;
        let grace = async {
            shutdown.cancelled().await;
            tokio::time::sleep(self.settings.shutdown_grace).await;
        };
        tokio::pin!(grace);
        loop {
            tokio::select! {
                joined = &mut task => {
                    return match joined {
                        Ok(Ok(Ok(()))) => Outcome::Finished,
                        Ok(Ok(Err(e))) => Outcome::Failed(format!("{e:#}"), retry_for(&e)),
                        Ok(Err(_)) => Outcome::Failed(format!("timed out after {JOB_TIMEOUT:?}"), Retry::Backoff),
                        Err(e) if e.is_panic() => Outcome::Failed("the job panicked".into(), Retry::Backoff),
                        Err(e) => Outcome::Failed(format!("the job was cancelled: {e}"), Retry::Backoff),
                    };
                }
                _ = heartbeat.tick() => {
                    match self.store().extend_lease(id, &self.id, Utc::now(), self.settings.lease).await {
                        Ok(true) => {}
                        Ok(false) => warn!("lease lost while the job runs"),
                        Err(e) => warn!(error = %e, "could not renew the lease"),
                    }
                }
                _ = &mut grace => {
                    task.abort();
                    return Outcome::Interrupted;
                }
            }
        }
    }
}

enum Outcome {
    Finished,
    /// The error, and when another attempt may run.
    Failed(String, Retry),
    Interrupted,
}

/// When a failed job may run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// After the policy's backoff.
    Backoff,
    /// After the backoff, and no sooner than this (a rate limit's `retry-after` or reset).
    NotBefore(Duration),
    /// Never: another attempt would fail the same way.
    Never,
}

/// Reads a GitHub rate limit anywhere in the error's chain.
fn retry_for(error: &anyhow::Error) -> Retry {
    let rate_limit = error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<GitHubError>() {
            Some(GitHubError::RateLimited {
                retry_after,
                reset_at,
            }) => Some((*retry_after, *reset_at)),
            _ => None,
        });
    match rate_limit {
        Some((Some(after), _)) => Retry::NotBefore(after),
        Some((None, Some(reset_at))) => {
            Retry::NotBefore((reset_at - Utc::now()).to_std().unwrap_or_default())
        }
        // GitHub: with neither header, wait at least a minute.
        Some((None, None)) => Retry::NotBefore(Duration::from_secs(60)),
        None => Retry::Backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_set_the_earliest_retry() {
        let limited = |retry_after, reset_at| {
            anyhow::Error::new(GitHubError::RateLimited {
                retry_after,
                reset_at,
            })
            .context("list repositories")
        };
        assert_eq!(
            retry_for(&limited(Some(Duration::from_secs(42)), None)),
            Retry::NotBefore(Duration::from_secs(42))
        );
        let Retry::NotBefore(wait) = retry_for(&limited(
            None,
            Some(Utc::now() + chrono::Duration::seconds(90)),
        )) else {
            panic!("a reset time is a wait")
        };
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        assert_eq!(
            retry_for(&limited(None, None)),
            Retry::NotBefore(Duration::from_secs(60))
        );
        assert_eq!(retry_for(&anyhow::anyhow!("boom")), Retry::Backoff);
        assert_eq!(
            retry_for(&anyhow::Error::new(GitHubError::Server { status: 502 })),
            Retry::Backoff
        );
    }
}

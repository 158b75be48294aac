//! Work nobody sends a webhook for: every few minutes, a reaction poll is queued for each
//! open pull request with suggestions from the last weeks (reactions send no webhook). Jobs
//! are superseded per pull request, so several processes scheduling at once queue one each.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use feedback::Store;
use feedback::queue::RetryPolicy;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::github::ids::{InstallationId, PrNumber, RepoName};
use crate::jobs::Job;

/// Pull requests whose last suggestion is older than this are no longer polled (a final
/// poll runs when they close).
const POLL_WINDOW: chrono::Duration = chrono::Duration::days(14);

/// Queues one reaction poll per open pull request with recent suggestions.
pub async fn queue_reaction_polls(store: &Store, retry: &RetryPolicy) -> anyhow::Result<usize> {
    let now = Utc::now();
    let targets = store.pull_requests_to_poll(now - POLL_WINDOW).await?;
    let mut queued = 0;
    for target in targets {
        let Ok(repo) = target.repo.parse::<RepoName>() else {
            continue;
        };
        let job = Job::SweepReactions {
            installation: InstallationId(target.installation_id),
            repo,
            pr: PrNumber(target.pr as u64),
        };
        store.enqueue_job(&job.to_new_job(retry, now), now).await?;
        queued += 1;
    }
    Ok(queued)
}

/// Runs [`queue_reaction_polls`] every `interval` until `shutdown`.
pub async fn run(
    store: Store,
    retry: RetryPolicy,
    interval: Duration,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match queue_reaction_polls(&store, &retry).await {
            Ok(0) => {}
            Ok(queued) => {
                info!(queued, "reaction polls queued");
                wake.notify_waiters();
            }
            Err(e) => warn!(error = %e, "could not queue reaction polls"),
        }
    }
}

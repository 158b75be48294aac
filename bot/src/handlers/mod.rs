//! Job handlers: one module per feature, each a plain `async fn` taking what it needs.

mod installations;

use feedback::Store;

use crate::github::GitHubApp;

use crate::jobs::Job;

/// What handlers may use. Built once per process and shared by its workers.
#[derive(Debug, Clone)]
pub struct Context {
    /// The store.
    pub store: Store,
    /// The GitHub App.
    pub github: GitHubApp,
}

/// Job kinds this version can run. Workers claim only these, so jobs for features still being
/// built (reviews, feedback replies, commands) wait in the queue, durable, instead of failing.
pub const HANDLED_KINDS: &[&str] = &["sync_installation"];

/// Runs one job.
pub async fn run(ctx: &Context, job: Job) -> anyhow::Result<()> {
    match job {
        Job::SyncInstallation {
            installation,
            change,
        } => installations::handle_sync(ctx, installation, change).await,
        // Not claimable yet (see HANDLED_KINDS); reaching here means a kind was added to
        // HANDLED_KINDS without a handler.
        other => anyhow::bail!("no handler for `{}` jobs in this version", other.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handled_kinds_are_real_job_kinds() {
        let known = [
            "review",
            "pull_request_closed",
            "thread_reply",
            "pull_request_command",
            "thread_state_changed",
            "sync_installation",
        ];
        for kind in HANDLED_KINDS {
            assert!(known.contains(kind), "{kind}");
        }
    }
}

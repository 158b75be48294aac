//! Job handlers: one module per feature, each a plain `async fn` taking what it needs.

mod installations;
pub mod pr_commands;
pub mod review;

use feedback::queue::RetryPolicy;
use feedback::{JobId, Store};

use crate::config::ModelConfig;
use crate::github::GitHubApp;
use crate::jobs::Job;
use crate::llm::{LlmClient, LlmError};

/// The configured model, when there is one.
#[derive(Debug, Clone)]
pub struct Model {
    /// The client.
    pub client: LlmClient,
    /// `azure` or `openai-compatible`, as recorded with each call.
    pub provider: &'static str,
    /// The Azure deployment (or compatible model) calls go to unless a repository overrides it.
    pub deployment: Option<String>,
}

impl Model {
    /// The model a configuration names.
    pub fn new(config: &ModelConfig) -> Result<Model, LlmError> {
        let (provider, deployment) = match config {
            ModelConfig::Azure(azure) => ("azure", azure.deployment.clone()),
            ModelConfig::OpenAiCompatible(compatible) => {
                ("openai-compatible", compatible.model.clone())
            }
        };
        Ok(Model {
            client: LlmClient::new(config)?,
            provider,
            deployment: Some(deployment),
        })
    }
}

/// What handlers may use. Built once per process and shared by its workers.
#[derive(Debug, Clone)]
pub struct Context {
    /// The store.
    pub store: Store,
    /// The GitHub App.
    pub github: GitHubApp,
    /// The model; `None` runs the built-in analyzers only.
    pub model: Option<Model>,
    /// Retries for jobs handlers enqueue themselves.
    pub retry: RetryPolicy,
}

/// Which attempt of which job is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobMeta {
    /// The job.
    pub id: JobId,
    /// This attempt, from 1.
    pub attempt: i32,
    /// The attempt after which a failure is final.
    pub max_attempts: i32,
}

impl JobMeta {
    /// Whether a failure now leaves a dead letter.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// Job kinds this version can run. Workers claim only these, so jobs for features still being
/// built (feedback replies, commands) wait in the queue, durable, instead of failing.
pub const HANDLED_KINDS: &[&str] = &["sync_installation", "review", "pull_request_command"];

/// Runs one job.
pub async fn run(ctx: &Context, meta: JobMeta, job: Job) -> anyhow::Result<()> {
    match job {
        Job::SyncInstallation {
            installation,
            change,
        } => installations::handle_sync(ctx, installation, change).await,
        Job::Review {
            installation,
            repo,
            pr,
            head_sha,
            default_branch,
            round,
            ..
        } => {
            let request = review::ReviewRequest {
                installation,
                repo,
                pr,
                head_sha,
                default_branch,
                round,
            };
            review::handle(ctx, &meta, request).await
        }
        Job::PullRequestCommand {
            installation,
            repo,
            pr,
            comment,
            author,
            body,
        } => {
            let request = pr_commands::CommandRequest {
                installation,
                repo,
                pr,
                comment,
                author,
                body,
            };
            pr_commands::handle(ctx, request).await
        }
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

//! Job handlers: one module per feature, each a plain `async fn` taking what it needs.

pub mod authz;
mod installations;
pub mod pr_commands;
pub mod review;
pub mod verdicts;

use feedback::queue::RetryPolicy;
use feedback::{JobId, Store};

use crate::config::{ModelConfig, SecurityReviewer};
use crate::github::GitHubApp;
use crate::jobs::Job;
use crate::llm::{LlmClient, LlmError};
use authz::AuthzCache;

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
    /// `REVIEWBOT_SECURITY_REVIEWERS`: who may `/triage` anywhere.
    pub security_reviewers: Vec<SecurityReviewer>,
    /// Recent permission and team answers.
    pub authz: AuthzCache,
}

/// Which attempt of which job is running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMeta {
    /// The job.
    pub id: JobId,
    /// This attempt, from 1.
    pub attempt: i32,
    /// The attempt after which a failure is final.
    pub max_attempts: i32,
    /// The delivery that caused it (none for jobs the bot enqueued itself).
    pub delivery_id: Option<String>,
}

impl JobMeta {
    /// Whether a failure now leaves a dead letter.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// Job kinds this version can run. Workers claim only these: a job of a kind a newer version
/// added waits in the queue, durable, for a process that knows it.
pub const HANDLED_KINDS: &[&str] = &[
    "sync_installation",
    "review",
    "pull_request_command",
    "thread_reply",
    "thread_state_changed",
    "pull_request_closed",
    "sweep_reactions",
];

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
        Job::ThreadReply {
            installation,
            repo,
            pr,
            pr_author,
            comment,
            in_reply_to,
            author,
            body,
            previous_body,
            at,
        } => {
            let request = verdicts::reply::ReplyRequest {
                installation,
                repo,
                pr,
                pr_author,
                comment,
                in_reply_to,
                author,
                body,
                previous_body,
                at,
            };
            verdicts::reply::handle(ctx, request).await
        }
        Job::PullRequestClosed {
            installation,
            repo,
            pr,
            merged,
            head_sha,
        } => verdicts::closed::handle_closed(ctx, installation, repo, pr, head_sha, merged).await,
        Job::SweepReactions {
            installation,
            repo,
            pr,
        } => verdicts::closed::handle_sweep(ctx, installation, repo, pr).await,
        Job::ThreadStateChanged {
            repo,
            resolved,
            comment_ids,
            actor,
            ..
        } => {
            let request = verdicts::thread::ThreadRequest {
                repo,
                resolved,
                comment_ids,
                actor,
                delivery_id: meta.delivery_id.clone(),
                at: chrono::Utc::now(),
            };
            verdicts::thread::handle(ctx, request).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_is_claimed() {
        let mut kinds: Vec<&str> = HANDLED_KINDS.to_vec();
        kinds.sort_unstable();
        let mut expected = vec![
            "review",
            "pull_request_closed",
            "thread_reply",
            "pull_request_command",
            "thread_state_changed",
            "sync_installation",
            "sweep_reactions",
        ];
        expected.sort_unstable();
        assert_eq!(
            kinds, expected,
            "a job kind no worker claims would wait forever"
        );
    }
}

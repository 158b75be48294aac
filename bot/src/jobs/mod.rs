//! Jobs: the typed units of work a delivery implies, serialized into the durable queue.
//!
//! The webhook request only decides *which* jobs an event implies ([`jobs_for_event`]); all
//! work, including any call to GitHub or the model, happens later in a worker.

pub mod scheduler;
pub mod worker;

use chrono::{DateTime, Utc};
use feedback::NewJob;
use feedback::queue::RetryPolicy;
use serde::{Deserialize, Serialize};

use crate::events::{InstallationAction, PrAction, WebhookEvent};
use crate::github::ids::{CommentId, CommitSha, InstallationId, PrNumber, RepoName, User};

/// A unit of work, as stored in the queue's `payload` (tagged by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Review a pull request's head commit (opened, reopened, pushed to, marked ready).
    Review {
        /// The installation to act as.
        installation: InstallationId,
        /// The repository.
        repo: RepoName,
        /// The pull request.
        pr: PrNumber,
        /// The commit to review.
        head_sha: CommitSha,
        /// The base commit at the time of the event.
        base_sha: CommitSha,
        /// The head before a push (`synchronize`), to review only what changed since.
        before: Option<CommitSha>,
        /// Whether the pull request is a draft (skipped unless the repository opts in).
        draft: bool,
        /// What triggered it.
        trigger: PrAction,
        /// The repository's default branch, where `.github/reviewbot.yml` is read from (never
        /// the pull request's head). Absent in jobs queued before it was recorded; the handler
        /// then asks GitHub.
        #[serde(default)]
        default_branch: Option<String>,
        /// 0 for reviews the events imply; the comment id of a `/reviewbot review` command,
        /// which asks for a review even of a draft, a paused or an already reviewed head.
        #[serde(default)]
        round: i64,
    },
    /// A pull request closed: final reaction poll, implicit signals, unlabelled → ignored.
    PullRequestClosed {
        /// The installation to act as.
        installation: InstallationId,
        /// The repository.
        repo: RepoName,
        /// The pull request.
        pr: PrNumber,
        /// Whether it was merged.
        merged: bool,
        /// The final head commit.
        head_sha: CommitSha,
    },
    /// A reply in a review thread: maybe a feedback command on one of our suggestions.
    ThreadReply {
        /// The installation to act as.
        installation: InstallationId,
        /// The repository.
        repo: RepoName,
        /// The pull request.
        pr: PrNumber,
        /// The pull request's author (allowed to give verdicts).
        pr_author: String,
        /// The reply.
        comment: CommentId,
        /// The comment it replies to (ours, if it is feedback).
        in_reply_to: CommentId,
        /// Its author.
        author: User,
        /// Its text now.
        body: String,
        /// Its text before an edit: only commands new in the edit run.
        previous_body: Option<String>,
        /// When it was written.
        at: DateTime<Utc>,
    },
    /// A `/reviewbot …` command in a pull request's conversation.
    PullRequestCommand {
        /// The installation to act as.
        installation: InstallationId,
        /// The repository.
        repo: RepoName,
        /// The pull request.
        pr: PrNumber,
        /// The comment.
        comment: CommentId,
        /// Its author.
        author: User,
        /// Its text.
        body: String,
    },
    /// A review thread was resolved or unresolved: a weak signal on its suggestion.
    ThreadStateChanged {
        /// The installation to act as.
        installation: InstallationId,
        /// The repository.
        repo: RepoName,
        /// The pull request.
        pr: PrNumber,
        /// Resolved (true) or unresolved (false).
        resolved: bool,
        /// The thread's comments; the first is the one carrying our marker.
        comment_ids: Vec<CommentId>,
        /// Who did it.
        actor: User,
    },
    /// Poll the reactions on our comments of one pull request (reactions send no webhook).
    SweepReactions {
        /// The installation to act as.
        installation: InstallationId,
        /// The repository.
        repo: RepoName,
        /// The pull request.
        pr: PrNumber,
    },
    /// Keep our record of an installation and its repositories current. The event only
    /// triggers it: the handler reads the installation's state from GitHub, so deliveries
    /// arriving out of order (suspend, then unsuspend) still converge on the truth.
    SyncInstallation {
        /// The installation.
        installation: InstallationId,
        /// What the event said happened (for the logs; GitHub's answer decides).
        change: InstallationChange,
    },
}

/// What happened to an installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallationChange {
    /// Installed, unsuspended or granted new permissions: active.
    Active,
    /// Suspended by the account.
    Suspended,
    /// Uninstalled.
    Deleted,
    /// Only its repository list changed.
    Repositories,
}

impl Job {
    /// The `kind` tag, also stored in the queue's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Review { .. } => "review",
            Job::PullRequestClosed { .. } => "pull_request_closed",
            Job::ThreadReply { .. } => "thread_reply",
            Job::PullRequestCommand { .. } => "pull_request_command",
            Job::ThreadStateChanged { .. } => "thread_state_changed",
            Job::SyncInstallation { .. } => "sync_installation",
            Job::SweepReactions { .. } => "sweep_reactions",
        }
    }

    /// Jobs with the same key replace each other while queued: only the newest head of a
    /// pull request is worth reviewing.
    fn supersede_key(&self) -> Option<String> {
        match self {
            Job::Review { repo, pr, .. } => Some(format!("review:{repo}#{pr}")),
            // A queued sweep reads the current reactions when it runs: one is enough.
            Job::SweepReactions { repo, pr, .. } => Some(format!("reactions:{repo}#{pr}")),
            // One sync reads the whole current state, so a queued one is as good as two.
            Job::SyncInstallation { installation, .. } => {
                Some(format!("installation:{installation}"))
            }
            _ => None,
        }
    }

    /// Serializes the job for the queue.
    pub fn to_new_job(&self, policy: &RetryPolicy, now: DateTime<Utc>) -> NewJob {
        NewJob {
            kind: self.kind().to_owned(),
            // Serializing our own plain data types cannot fail.
            payload: serde_json::to_string(self).unwrap_or_default(),
            supersede_key: self.supersede_key(),
            max_attempts: policy.max_attempts,
            run_at: now,
        }
    }

    /// Reads a job back from the queue.
    pub fn from_payload(payload: &str) -> Result<Job, serde_json::Error> {
        serde_json::from_str(payload)
    }
}

/// The jobs an event implies; empty when there is nothing to do (still recorded, answered 202).
pub fn jobs_for_event(event: &WebhookEvent) -> Vec<Job> {
    let job = match event {
        WebhookEvent::Ping { .. } => None,
        WebhookEvent::PullRequestChanged(e) => e.installation.clone().map(|installation| {
            let repo = e.repo.name.clone();
            let pr = e.pr.number.clone();
            match e.action {
                PrAction::Closed => Job::PullRequestClosed {
                    installation,
                    repo,
                    pr,
                    merged: e.pr.merged,
                    head_sha: e.pr.head_sha.clone(),
                },
                trigger => Job::Review {
                    installation,
                    repo,
                    pr,
                    head_sha: e.pr.head_sha.clone(),
                    base_sha: e.pr.base_sha.clone(),
                    before: e.before.clone(),
                    draft: e.pr.draft,
                    trigger,
                    default_branch: Some(e.repo.default_branch.clone()),
                    round: 0,
                },
            }
        }),
        WebhookEvent::ReviewCommentCreated(e) => thread_reply(e, None),
        WebhookEvent::ReviewCommentEdited {
            event,
            previous_body,
        } => thread_reply(event, previous_body.clone()),
        WebhookEvent::IssueCommentCreated(e) => {
            let wanted = e.on_pull_request
                && !e.comment.author.is_bot
                && e.comment.body.to_lowercase().contains("/reviewbot");
            e.installation
                .clone()
                .filter(|_| wanted)
                .map(|installation| Job::PullRequestCommand {
                    installation,
                    repo: e.repo.name.clone(),
                    pr: e.issue_number.clone(),
                    comment: e.comment.id.clone(),
                    author: e.comment.author.clone(),
                    body: e.comment.body.clone(),
                })
        }
        WebhookEvent::ReviewThreadResolved(e) | WebhookEvent::ReviewThreadUnresolved(e) => {
            let resolved = matches!(event, WebhookEvent::ReviewThreadResolved(_));
            e.installation
                .clone()
                .map(|installation| Job::ThreadStateChanged {
                    installation,
                    repo: e.repo.name.clone(),
                    pr: e.pr_number.clone(),
                    resolved,
                    comment_ids: e.comment_ids.clone(),
                    actor: e.sender.clone(),
                })
        }
        WebhookEvent::InstallationChanged(e) => Some(Job::SyncInstallation {
            installation: e.installation.id.clone(),
            change: match e.action {
                InstallationAction::Created
                | InstallationAction::Unsuspend
                | InstallationAction::NewPermissionsAccepted => InstallationChange::Active,
                InstallationAction::Suspend => InstallationChange::Suspended,
                InstallationAction::Deleted => InstallationChange::Deleted,
            },
        }),
        WebhookEvent::InstallationRepositoriesChanged(e) => Some(Job::SyncInstallation {
            installation: e.installation.id.clone(),
            change: InstallationChange::Repositories,
        }),
    };
    job.into_iter().collect()
}

/// Only replies by humans can be feedback commands: a top-level comment cannot answer one of
/// our suggestions, and bots (ourselves included) are ignored.
fn thread_reply(
    e: &crate::events::ReviewCommentEvent,
    previous_body: Option<String>,
) -> Option<Job> {
    let in_reply_to = e.comment.in_reply_to_id.clone()?;
    if e.comment.author.is_bot {
        return None;
    }
    Some(Job::ThreadReply {
        installation: e.installation.clone()?,
        repo: e.repo.name.clone(),
        pr: e.pr_number.clone(),
        pr_author: e.pr_author_login.clone(),
        comment: e.comment.id.clone(),
        in_reply_to,
        author: e.comment.author.clone(),
        body: e.comment.body.clone(),
        previous_body,
        at: e.comment.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::parse_event;

    fn fixture(event: &str, file: &str) -> Vec<Job> {
        let path = format!(
            "{}/../tests/fixtures/github/webhooks/{event}/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).unwrap();
        let parsed = parse_event(event, &body).unwrap().expect("a handled event");
        jobs_for_event(&parsed)
    }

    #[test]
    fn pull_request_events_imply_a_review_or_a_close() {
        for action in ["opened", "reopened", "synchronize"] {
            let jobs = fixture("pull_request", &format!("{action}.payload.json"));
            assert!(
                matches!(jobs.as_slice(), [Job::Review { .. }]),
                "{action}: {jobs:?}"
            );
        }
        let closed = fixture("pull_request", "closed.payload.json");
        assert!(matches!(closed.as_slice(), [Job::PullRequestClosed { .. }]));
        // GitHub's ready_for_review example carries no installation: nothing to act as.
        assert!(fixture("pull_request", "ready_for_review.payload.json").is_empty());
    }

    #[test]
    fn review_jobs_for_one_pr_share_a_supersede_key() {
        let opened = fixture("pull_request", "opened.payload.json");
        let pushed = fixture("pull_request", "synchronize.payload.json");
        let key = |jobs: &[Job]| {
            jobs[0]
                .to_new_job(&RetryPolicy::default(), Utc::now())
                .supersede_key
        };
        assert!(key(&opened).unwrap().starts_with("review:"));
        let Job::Review {
            repo: a, pr: pa, ..
        } = &opened[0]
        else {
            panic!()
        };
        let Job::Review {
            repo: b, pr: pb, ..
        } = &pushed[0]
        else {
            panic!()
        };
        assert_eq!(key(&opened) == key(&pushed), (a, pa) == (b, pb));
    }

    #[test]
    fn jobs_round_trip_through_the_queue_payload() {
        let mut all = Vec::new();
        for (event, file) in [
            ("pull_request", "opened.payload.json"),
            ("pull_request", "closed.payload.json"),
            ("installation", "created.payload.json"),
            ("installation_repositories", "added.payload.json"),
            ("pull_request_review_thread", "resolved.payload.json"),
        ] {
            all.extend(fixture(event, file));
        }
        assert_eq!(all.len(), 5);
        for job in all {
            let new = job.to_new_job(&RetryPolicy::default(), Utc::now());
            assert_eq!(new.kind, job.kind());
            assert_eq!(Job::from_payload(&new.payload).unwrap(), job);
        }
    }

    #[test]
    fn review_jobs_name_the_default_branch_and_older_payloads_still_load() {
        let opened = fixture("pull_request", "opened.payload.json");
        let Job::Review { default_branch, .. } = &opened[0] else {
            panic!()
        };
        assert_eq!(
            default_branch.as_deref(),
            Some("master"),
            "GitHub's example repository"
        );
        let mut payload: serde_json::Value = serde_json::from_str(
            &opened[0]
                .to_new_job(&RetryPolicy::default(), Utc::now())
                .payload,
        )
        .unwrap();
        payload.as_object_mut().unwrap().remove("default_branch");
        let Job::Review { default_branch, .. } = Job::from_payload(&payload.to_string()).unwrap()
        else {
            panic!()
        };
        assert_eq!(default_branch, None);
    }

    #[test]
    fn only_human_replies_and_reviewbot_commands_become_jobs() {
        // GitHub's review comment example is a top-level comment, not a reply.
        assert!(fixture("pull_request_review_comment", "created.payload.json").is_empty());
        // Its issue_comment examples are on plain issues, not pull requests.
        assert!(fixture("issue_comment", "created.with-installation.payload.json").is_empty());
    }
}

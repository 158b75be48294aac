//! Check runs on `InstallationClient`: create one for a head commit, then update it.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use crate::github::client::{InstallationClient, send};
use crate::github::error::GitHubError;
use crate::github::ids::{CommitSha, RepoName};
use crate::github::pulls::repo_path;

/// GitHub refuses a check run `output.summary` longer than this many characters (422 "Only
/// 65535 characters are allowed").
pub const MAX_SUMMARY_CHARS: usize = 65_535;

/// Appended to a summary cut to fit [`MAX_SUMMARY_CHARS`].
const TRUNCATED: &str = "\n\n… (truncated)";

/// A check run's id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckRunId(pub i64);

/// A check run's state before it completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// Waiting to start.
    Queued,
    /// Running.
    InProgress,
}

impl CheckStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
        }
    }
}

/// How a completed check run ended (the values an App may set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckConclusion {
    /// Nothing to report.
    Success,
    /// Findings worth a look, not a failure.
    Neutral,
    /// The check failed.
    Failure,
    /// The run was abandoned (superseded by a newer push).
    Cancelled,
    /// Nothing to do (no reviewable changes).
    Skipped,
    /// The run did not finish in time.
    TimedOut,
    /// A human has to act.
    ActionRequired,
}

impl CheckConclusion {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Neutral => "neutral",
            Self::Failure => "failure",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
            Self::TimedOut => "timed_out",
            Self::ActionRequired => "action_required",
        }
    }
}

/// The state to put a check run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckState {
    /// Still queued or running.
    Running(CheckStatus),
    /// Finished with a conclusion.
    Completed(CheckConclusion),
}

#[derive(Deserialize)]
struct CheckRunWire {
    id: i64,
}

impl InstallationClient {
    /// Creates a check run on `head_sha` (`POST /repos/{o}/{r}/check-runs`).
    pub async fn create_check_run(
        &self,
        repo: &RepoName,
        head_sha: &CommitSha,
        name: &str,
        status: CheckStatus,
    ) -> Result<CheckRunId, GitHubError> {
        let body =
            json!({ "name": name, "head_sha": head_sha.as_str(), "status": status.as_str() });
        let created: CheckRunWire = send(
            self.crab(),
            Method::POST,
            "/repos/{owner}/{repo}/check-runs",
            format!("{}/check-runs", repo_path(repo)),
            None,
            Some(&body),
        )
        .await?
        .json()?;
        Ok(CheckRunId(created.id))
    }

    /// Updates a check run's state and output (`PATCH /repos/{o}/{r}/check-runs/{id}`); the
    /// summary is cut to GitHub's 65,535-character limit.
    pub async fn update_check_run(
        &self,
        repo: &RepoName,
        id: &CheckRunId,
        state: CheckState,
        title: &str,
        summary: &str,
    ) -> Result<(), GitHubError> {
        let output = json!({ "title": title, "summary": bounded_summary(summary) });
        let body = match state {
            CheckState::Running(status) => json!({ "status": status.as_str(), "output": output }),
            CheckState::Completed(conclusion) => json!({
                "status": "completed",
                "conclusion": conclusion.as_str(),
                "completed_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "output": output,
            }),
        };
        send(
            self.crab(),
            Method::PATCH,
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            format!("{}/check-runs/{}", repo_path(repo), id.0),
            None,
            Some(&body),
        )
        .await?
        .json::<serde_json::Value>()?;
        Ok(())
    }
}

/// The summary, cut with a marker when it exceeds [`MAX_SUMMARY_CHARS`] characters.
pub fn bounded_summary(summary: &str) -> String {
    if summary.chars().count() <= MAX_SUMMARY_CHARS {
        return summary.to_owned();
    }
    let keep = MAX_SUMMARY_CHARS - TRUNCATED.chars().count();
    let mut cut: String = summary.chars().take(keep).collect();
    cut.push_str(TRUNCATED);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_summary_keeps_short_text_and_cuts_long_text_to_the_limit() {
        assert_eq!(bounded_summary("ok"), "ok");
        let exact = "é".repeat(MAX_SUMMARY_CHARS);
        assert_eq!(bounded_summary(&exact), exact);
        let cut = bounded_summary(&"é".repeat(MAX_SUMMARY_CHARS + 1));
        assert_eq!(cut.chars().count(), MAX_SUMMARY_CHARS);
        assert!(cut.ends_with(TRUNCATED));
    }
}

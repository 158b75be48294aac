//! Check runs on `InstallationClient`: find ours on a commit, create one, then update it.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use crate::github::client::{
    InstallationClient, bounded_text, encode_component, next_page_query, send,
};
use crate::github::error::GitHubError;
use crate::github::ids::{CommitSha, RepoName};
use crate::github::pulls::{PER_PAGE, repo_path};

/// GitHub refuses a check run `output.summary` longer than this many characters (422 "Only
/// 65535 characters are allowed").
pub const MAX_SUMMARY_CHARS: usize = 65_535;

/// Pages of check runs read for one commit: a name and App filter leave one or a few runs, so
/// more than 10 pages of 100 means something is wrong, not that we should keep reading.
const MAX_CHECK_RUN_PAGES: usize = 10;

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

/// A check run that already exists on a commit, so a retried job reuses it instead of
/// creating a second one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingCheckRun {
    /// The run's id.
    pub id: CheckRunId,
    /// The check's name.
    pub name: String,
    /// The commit it reports on.
    pub head_sha: CommitSha,
    /// `queued`, `in_progress`, `completed` (or `waiting`, `requested`, `pending`), as GitHub
    /// reports it; kept as text because GitHub adds states.
    pub status: String,
    /// Set once completed: `success`, `neutral`, `failure`, `cancelled`, …
    pub conclusion: Option<String>,
}

impl ExistingCheckRun {
    /// True once the run has a conclusion.
    pub fn is_completed(&self) -> bool {
        self.status == "completed"
    }
}

#[derive(Deserialize)]
struct CheckRunWire {
    id: i64,
}

/// One page of `GET …/commits/{ref}/check-runs`: an object, not an array.
#[derive(Deserialize)]
struct CheckRunsPage {
    check_runs: Vec<ListedCheckRunWire>,
}

#[derive(Deserialize)]
struct ListedCheckRunWire {
    id: i64,
    name: String,
    head_sha: String,
    status: String,
    #[serde(default)]
    conclusion: Option<String>,
}

impl InstallationClient {
    /// The latest check runs named `check_name` that App `app_id` made on `git_ref` (a commit
    /// SHA or branch), newest first (`GET /repos/{o}/{r}/commits/{ref}/check-runs` with
    /// `check_name`, `app_id` and `filter=latest`, every page up to 1,000 runs).
    pub async fn check_runs_for_ref(
        &self,
        repo: &RepoName,
        git_ref: &str,
        check_name: &str,
        app_id: u64,
    ) -> Result<Vec<ExistingCheckRun>, GitHubError> {
        const ROUTE: &str = "/repos/{owner}/{repo}/commits/{ref}/check-runs";
        let base = format!(
            "{}/commits/{}/check-runs",
            repo_path(repo),
            encode_component(git_ref)
        );
        let mut query = format!(
            "check_name={}&app_id={app_id}&filter=latest&per_page={PER_PAGE}&page=1",
            encode_component(check_name)
        );
        let mut runs = Vec::new();
        for page in 1..=MAX_CHECK_RUN_PAGES {
            let response = send(
                self.crab(),
                Method::GET,
                ROUTE,
                format!("{base}?{query}"),
                None,
                None,
            )
            .await?;
            let body: CheckRunsPage = response.json()?;
            runs.extend(body.check_runs.into_iter().map(|r| ExistingCheckRun {
                id: CheckRunId(r.id),
                name: r.name,
                head_sha: CommitSha(r.head_sha),
                status: r.status,
                conclusion: r.conclusion,
            }));
            match next_page_query(&response.headers) {
                Some(next) => query = next,
                None => break,
            }
            if page == MAX_CHECK_RUN_PAGES {
                tracing::warn!(repo = %repo, git_ref, check_name, runs = runs.len(), "more check runs than we read; stopping at the page limit");
            }
        }
        // GitHub documents no order; callers take the first as the one to reuse.
        runs.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(runs)
    }

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
        self.before_write().await;
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
        self.before_write().await;
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
    bounded_text(summary, MAX_SUMMARY_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::client::TRUNCATED;

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

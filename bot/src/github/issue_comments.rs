//! Issue comments on `InstallationClient`: the conversation of a pull request (not its diff),
//! where the bot says things that belong to no line, such as an invalid configuration.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use crate::github::client::{InstallationClient, bounded_text, get_all_pages, send};
use crate::github::error::GitHubError;
use crate::github::ids::{CommentId, PrNumber, RepoName};
use crate::github::pulls::{LoginWire, PER_PAGE, repo_path};
use crate::github::reviews::MAX_COMMENT_CHARS;

/// Pages of issue comments read before giving up (100 pages of 100).
const MAX_PAGES: usize = 100;

/// The route both calls use.
const ROUTE: &str = "/repos/{owner}/{repo}/issues/{issue_number}/comments";

/// An issue comment the App posted earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueComment {
    /// The comment's id (issue comments have their own id space).
    pub id: CommentId,
    /// The body as GitHub stores it; callers find their hidden marker in it.
    pub body: String,
}

#[derive(Deserialize)]
struct IssueCommentWire {
    id: i64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<LoginWire>,
}

impl InstallationClient {
    /// The comments on issue or pull request `issue` authored by `bot_login`
    /// (case-insensitive), oldest first (`GET …/issues/{n}/comments`, every page up to 10,000
    /// comments). Only the App's own are returned because only their markers can be trusted.
    pub async fn issue_comments_by_app(
        &self,
        repo: &RepoName,
        issue: &PrNumber,
        bot_login: &str,
    ) -> Result<Vec<IssueComment>, GitHubError> {
        let pages = get_all_pages::<IssueCommentWire>(
            self.crab(),
            ROUTE,
            &format!("{}/issues/{issue}/comments", repo_path(repo)),
            format!("per_page={PER_PAGE}&page=1"),
            MAX_PAGES,
        )
        .await?;
        Ok(pages
            .into_iter()
            .filter(|c| {
                c.user
                    .as_ref()
                    .is_some_and(|u| u.login.eq_ignore_ascii_case(bot_login))
            })
            .map(|c| IssueComment {
                id: CommentId(c.id),
                body: c.body.unwrap_or_default(),
            })
            .collect())
    }

    /// Posts a comment on issue or pull request `issue` (`POST …/issues/{n}/comments`). The
    /// body is cut to GitHub's 65,536 characters, keeping a trailing hidden marker, because
    /// GitHub refuses a longer one outright.
    pub async fn create_issue_comment(
        &self,
        repo: &RepoName,
        issue: &PrNumber,
        body: &str,
    ) -> Result<CommentId, GitHubError> {
        let request = json!({ "body": bounded_text(body, MAX_COMMENT_CHARS) });
        self.before_write().await;
        let created: IssueCommentWire = send(
            self.crab(),
            Method::POST,
            ROUTE,
            format!("{}/issues/{issue}/comments", repo_path(repo)),
            None,
            Some(&request),
        )
        .await?
        .json()?;
        Ok(CommentId(created.id))
    }
}

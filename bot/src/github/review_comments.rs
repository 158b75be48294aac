//! Single review comments on `InstallationClient`: reading one back, and answering in its
//! thread (refusals, unknown commands, confirmations).
//!
//! Listing a PR's review comments (the App's own, replies included) is
//! [`InstallationClient::review_comments_by_app`]; a retried job finds its earlier reply there
//! by the hidden marker the reply carries, before posting it again.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::github::client::{InstallationClient, bounded_text, send};
use crate::github::error::GitHubError;
use crate::github::ids::{CommentId, PrNumber, RepoName};
use crate::github::pulls::{LoginWire, repo_path};
use crate::github::reviews::MAX_COMMENT_CHARS;

/// One review comment as [`InstallationClient::get_review_comment`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewCommentInfo {
    /// The comment's id.
    pub id: CommentId,
    /// The body as GitHub stores it (empty when GitHub sends none).
    pub body: String,
    /// The author's login (`ghost` when the account is gone). Trust a hidden marker in `body`
    /// only when this is the App's bot login.
    pub user_login: String,
    /// The thread's first comment when this one is a reply; `None` for a thread start.
    pub in_reply_to_id: Option<CommentId>,
    /// The file path.
    pub path: String,
    /// The new-side line (the original line once a push outdated it); `None` for a file-level
    /// comment.
    pub line: Option<u32>,
}

#[derive(Deserialize)]
struct CommentWire {
    id: i64,
    #[serde(default)]
    path: String,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    original_line: Option<u32>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    in_reply_to_id: Option<i64>,
    #[serde(default)]
    user: Option<LoginWire>,
}

impl InstallationClient {
    /// Review comment `comment` (`GET …/pulls/comments/{comment_id}`); `None` when it was
    /// deleted (404, which is also what a repository the installation lost access to answers).
    pub async fn get_review_comment(
        &self,
        repo: &RepoName,
        comment: &CommentId,
    ) -> Result<Option<ReviewCommentInfo>, GitHubError> {
        let response = send(
            self.crab(),
            Method::GET,
            "/repos/{owner}/{repo}/pulls/comments/{comment_id}",
            format!("{}/pulls/comments/{comment}", repo_path(repo)),
            None,
            None,
        )
        .await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let wire: CommentWire = response.json()?;
        Ok(Some(ReviewCommentInfo {
            id: CommentId(wire.id),
            body: wire.body.unwrap_or_default(),
            user_login: wire
                .user
                .map_or_else(|| "ghost".to_owned(), |user| user.login),
            in_reply_to_id: wire.in_reply_to_id.map(CommentId),
            path: wire.path,
            // `line` turns null once a later push outdates the comment.
            line: wire.line.or(wire.original_line),
        }))
    }

    /// Replies in the thread of review comment `comment` on PR `pr`
    /// (`POST …/pulls/{n}/comments/{comment_id}/replies`); the reply's id.
    ///
    /// `comment` must be the thread's first comment: GitHub does not support replies to
    /// replies, so for a reply pass its `in_reply_to_id`. The body is cut to GitHub's 65,536
    /// characters, keeping a trailing hidden marker, because GitHub refuses a longer one. A
    /// deleted comment is GitHub's 404 ([`GitHubError::NotFound`]).
    pub async fn reply_to_review_comment(
        &self,
        repo: &RepoName,
        pr: &PrNumber,
        comment: &CommentId,
        body: &str,
    ) -> Result<CommentId, GitHubError> {
        let request = json!({ "body": bounded_text(body, MAX_COMMENT_CHARS) });
        self.before_write().await;
        let created: CommentWire = send(
            self.crab(),
            Method::POST,
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
            format!("{}/pulls/{pr}/comments/{comment}/replies", repo_path(repo)),
            None,
            Some(&request),
        )
        .await?
        .json()?;
        Ok(CommentId(created.id))
    }
}

//! Reviews on `InstallationClient`: the App's earlier reviews and review comments, and posting
//! a review with comments.
//!
//! Inline comments (a `line` on the new side) travel in one `POST …/pulls/{n}/reviews` with
//! `event: COMMENT`; GitHub accepts or rejects that batch as a whole. File-level comments
//! (`subject_type: file`) are only documented for the single-comment endpoint
//! (`POST …/pulls/{n}/comments`), so they are posted after the review, one request each.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::github::client::{
    InstallationClient, bounded_text, get_all_pages, next_page_query, send,
};
use crate::github::error::GitHubError;
use crate::github::ids::{CommentId, CommitSha, PrNumber, RepoName};
use crate::github::pulls::{LoginWire, PER_PAGE, repo_path};

/// Pages of reviews or review comments read before giving up (100 pages of 100).
const MAX_PAGES: usize = 100;

/// GitHub refuses a comment body longer than this many characters (422 "body is too long
/// (maximum is 65536 characters)"); review, review-comment and issue-comment bodies alike.
pub const MAX_COMMENT_CHARS: usize = 65_536;

/// A pull request review's id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReviewId(pub i64);

impl std::fmt::Display for ReviewId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A review the App posted earlier, so a retried job can tell it already reviewed a head SHA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingReview {
    /// The review's id.
    pub id: ReviewId,
    /// The commit the review was made on (absent for some very old reviews).
    pub commit_id: Option<CommitSha>,
    /// The review body (empty when GitHub sends none).
    pub body: String,
}

/// A review to post: always `event: COMMENT` (the bot never approves or blocks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    /// The head commit the comments refer to; lines are resolved against this commit's diff.
    pub commit_id: CommitSha,
    /// The review body (GitHub requires one for `COMMENT`).
    pub body: String,
    /// Inline and file-level comments.
    pub comments: Vec<ReviewCommentDraft>,
}

/// One comment to post with a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewCommentDraft {
    /// The file's path on the head side.
    pub path: String,
    /// The comment text.
    pub body: String,
    /// A new-side (`side: RIGHT`) line inside one of the file's hunks; `None` posts a
    /// file-level comment (`subject_type: file`).
    pub line: Option<u32>,
}

/// A posted review comment and where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedComment {
    /// The file path.
    pub path: String,
    /// The new-side line (the original line once a push outdated it); `None` for a file-level
    /// comment.
    pub line: Option<u32>,
    /// The review comment's id (the id reactions and replies refer to).
    pub id: CommentId,
    /// The body as GitHub stores it; callers find their hidden marker in it.
    pub body: String,
    /// The comment this one replies to (the thread's first comment); `None` for a thread start.
    pub in_reply_to_id: Option<CommentId>,
}

/// A posted review and the ids of its comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedReview {
    /// The review's id.
    pub id: ReviewId,
    /// Every posted comment, inline ones first, in the order GitHub lists them.
    pub comments: Vec<PostedComment>,
}

/// Why GitHub refused a review with 422, as far as its body tells.
///
/// GitHub's 422 body is `{"message": "Unprocessable Entity", "errors": ["Pull request review
/// thread line must be part of the diff"]}` (or "… path could not be resolved", "Line could not
/// be resolved"): it names the problem but NOT which comment caused it, and nothing was stored.
/// A caller retries after checking every line against the diff's hunks itself, or by posting
/// the inline comments as file-level ones ([`NewReview::with_file_level_comments`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRejection {
    /// GitHub's `message`.
    pub message: String,
    /// GitHub's `errors`, as text (strings kept; objects as their `message` or `code`).
    pub errors: Vec<String>,
    /// True when an error says a comment's line or path is not part of the diff.
    pub outside_diff: bool,
}

/// A failure to post a review.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// 422: GitHub rejected the review as a whole; nothing was posted.
    #[error("GitHub rejected the review: {} ({})", .0.message, .0.errors.join("; "))]
    Rejected(ReviewRejection),
    /// Any other failure; see [`GitHubError::is_retryable`]. If it happened after the review
    /// was created (reading comment ids, posting file-level comments), the review exists:
    /// [`InstallationClient::reviews_by_app`] finds it.
    #[error(transparent)]
    GitHub(#[from] GitHubError),
}

impl NewReview {
    /// The same review with every inline comment turned into a file-level one: the retry after
    /// a [`ReviewError::Rejected`] whose offending comment cannot be identified.
    pub fn with_file_level_comments(&self) -> NewReview {
        NewReview {
            commit_id: self.commit_id.clone(),
            body: self.body.clone(),
            comments: self
                .comments
                .iter()
                .map(|c| ReviewCommentDraft {
                    line: None,
                    ..c.clone()
                })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct ReviewWire {
    id: i64,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    body: Option<String>,
    user: Option<LoginWire>,
}

#[derive(Deserialize)]
struct CommentWire {
    id: i64,
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

impl CommentWire {
    fn into_posted(self) -> PostedComment {
        PostedComment {
            path: self.path,
            // `line` turns null once a later push outdates the comment.
            line: self.line.or(self.original_line),
            id: CommentId(self.id),
            body: self.body.unwrap_or_default(),
            in_reply_to_id: self.in_reply_to_id.map(CommentId),
        }
    }
}

impl InstallationClient {
    /// The reviews on a PR authored by `bot_login` (`GET …/pulls/{n}/reviews`, every page).
    pub async fn reviews_by_app(
        &self,
        repo: &RepoName,
        pr: &PrNumber,
        bot_login: &str,
    ) -> Result<Vec<ExistingReview>, GitHubError> {
        let base = format!("{}/pulls/{pr}/reviews", repo_path(repo));
        let mut mine = Vec::new();
        let mut query = format!("per_page={PER_PAGE}&page=1");
        for _ in 0..MAX_PAGES {
            let response = send(
                self.crab(),
                Method::GET,
                "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
                format!("{base}?{query}"),
                None,
                None,
            )
            .await?;
            let page: Vec<ReviewWire> = response.json()?;
            mine.extend(
                page.into_iter()
                    .filter(|r| {
                        r.user
                            .as_ref()
                            .is_some_and(|u| u.login.eq_ignore_ascii_case(bot_login))
                    })
                    .map(|r| ExistingReview {
                        id: ReviewId(r.id),
                        commit_id: r.commit_id.map(CommitSha),
                        body: r.body.unwrap_or_default(),
                    }),
            );
            match next_page_query(&response.headers) {
                Some(next) => query = next,
                None => break,
            }
        }
        Ok(mine)
    }

    /// Posts a `COMMENT` review with the inline comments, reads back their ids, then posts the
    /// file-level comments. A 422 on the review is [`ReviewError::Rejected`].
    pub async fn create_review(
        &self,
        repo: &RepoName,
        pr: &PrNumber,
        review: &NewReview,
    ) -> Result<PostedReview, ReviewError> {
        let pulls = format!("{}/pulls/{pr}", repo_path(repo));
        let inline: Vec<serde_json::Value> = review
            .comments
            .iter()
            .filter_map(|c| {
                c.line.map(
                    |line| json!({ "path": c.path, "body": c.body, "line": line, "side": "RIGHT" }),
                )
            })
            .collect();
        let body = json!({
            "commit_id": review.commit_id.as_str(),
            "body": review.body,
            "event": "COMMENT",
            "comments": inline,
        });
        self.before_write().await;
        let response = send(
            self.crab(),
            Method::POST,
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            format!("{pulls}/reviews"),
            None,
            Some(&body),
        )
        .await?;
        if response.status == StatusCode::UNPROCESSABLE_ENTITY {
            return Err(ReviewError::Rejected(rejection(&response.body)));
        }
        let created: ReviewWire = response.json()?;
        let id = ReviewId(created.id);

        let mut comments = Vec::new();
        if !inline.is_empty() {
            comments = self.review_comments(&pulls, &id).await?;
        }
        for draft in review.comments.iter().filter(|c| c.line.is_none()) {
            let posted = self
                .create_file_comment(repo, pr, &review.commit_id, &draft.path, &draft.body)
                .await?;
            comments.push(posted);
        }
        Ok(PostedReview { id, comments })
    }

    /// Posts one file-level comment (`POST …/pulls/{n}/comments` with `subject_type: file`) on
    /// `path` as of `commit`: the anchor for a comment no diff line can hold. The body is cut to
    /// GitHub's 65,536 characters, keeping a trailing hidden marker. A path the PR does not
    /// change is GitHub's 422, as [`GitHubError::Unexpected`].
    pub async fn create_file_comment(
        &self,
        repo: &RepoName,
        pr: &PrNumber,
        commit: &CommitSha,
        path: &str,
        body: &str,
    ) -> Result<PostedComment, GitHubError> {
        let request = json!({
            "commit_id": commit.as_str(),
            "path": path,
            "body": bounded_text(body, MAX_COMMENT_CHARS),
            "subject_type": "file",
        });
        self.before_write().await;
        let posted: CommentWire = send(
            self.crab(),
            Method::POST,
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
            format!("{}/pulls/{pr}/comments", repo_path(repo)),
            None,
            Some(&request),
        )
        .await?
        .json()?;
        Ok(PostedComment {
            // A file-level comment has no line, whatever GitHub echoes.
            line: None,
            ..posted.into_posted()
        })
    }

    /// The review comments on a PR authored by `bot_login` (case-insensitive), replies
    /// included, oldest first (`GET …/pulls/{n}/comments`, every page up to 10,000 comments).
    /// Only the App's own comments are returned because only their markers can be trusted.
    pub async fn review_comments_by_app(
        &self,
        repo: &RepoName,
        pr: &PrNumber,
        bot_login: &str,
    ) -> Result<Vec<PostedComment>, GitHubError> {
        let pages = get_all_pages::<CommentWire>(
            self.crab(),
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
            &format!("{}/pulls/{pr}/comments", repo_path(repo)),
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
            .map(CommentWire::into_posted)
            .collect())
    }

    /// The comments of one review (`GET …/pulls/{n}/reviews/{id}/comments`, every page).
    async fn review_comments(
        &self,
        pulls: &str,
        review: &ReviewId,
    ) -> Result<Vec<PostedComment>, GitHubError> {
        let base = format!("{pulls}/reviews/{review}/comments");
        let mut comments = Vec::new();
        let mut query = format!("per_page={PER_PAGE}&page=1");
        for _ in 0..MAX_PAGES {
            let response = send(
                self.crab(),
                Method::GET,
                "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments",
                format!("{base}?{query}"),
                None,
                None,
            )
            .await?;
            let page: Vec<CommentWire> = response.json()?;
            comments.extend(page.into_iter().map(CommentWire::into_posted));
            match next_page_query(&response.headers) {
                Some(next) => query = next,
                None => break,
            }
        }
        Ok(comments)
    }
}

/// Reads GitHub's 422 body: `message` plus `errors` (strings, or objects with a `message` or
/// `code`).
fn rejection(body: &[u8]) -> ReviewRejection {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = value
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("Unprocessable Entity")
        .to_owned();
    let errors: Vec<String> = value
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| match e {
                    serde_json::Value::String(text) => Some(text.clone()),
                    other => other
                        .get("message")
                        .or_else(|| other.get("code"))
                        .and_then(|m| m.as_str())
                        .map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default();
    let outside_diff = errors.iter().chain(std::iter::once(&message)).any(|text| {
        let text = text.to_ascii_lowercase();
        text.contains("part of the diff") || text.contains("could not be resolved")
    });
    ReviewRejection {
        message,
        errors,
        outside_diff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_reads_string_and_object_errors() {
        let r = rejection(
            br#"{"message":"Unprocessable Entity","errors":["Pull request review thread line must be part of the diff"]}"#,
        );
        assert_eq!(r.message, "Unprocessable Entity");
        assert!(r.outside_diff);
        let r = rejection(
            br#"{"message":"Validation Failed","errors":[{"resource":"PullRequestReviewComment","code":"custom","field":"pull_request_review_thread.path","message":"pull_request_review_thread.path could not be resolved"}]}"#,
        );
        assert!(r.outside_diff, "{r:?}");
        let r = rejection(br#"{"message":"Validation Failed","errors":[{"code":"missing"}]}"#);
        assert_eq!(r.errors, ["missing"]);
        assert!(!r.outside_diff);
        assert!(!rejection(b"<html>").outside_diff);
    }
}

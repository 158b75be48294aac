//! The fake GitHub's single review comments: reading one, replying in its thread, and (for
//! test setup) deleting one.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::pulls::{FakeReview, FakeReviewComment, authorized_repo, comment_json, setup_repo};
use super::repos::MAX_COMMENT_CHARS;
use super::routes::{DOCS_URL, Shared, github_error, lock};
use super::{APP_SLUG, FakeGitHub};

impl FakeGitHub {
    /// Deletes review comment `comment_id` of `repo` (its author removed it), with its
    /// reactions. Replies to it stay, as on GitHub.
    pub fn delete_review_comment(&self, repo: &str, comment_id: i64) {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        let comments = world.review_comments.entry(repo_id).or_default();
        let before = comments.len();
        comments.retain(|c| c.id != comment_id);
        assert!(
            comments.len() < before,
            "no review comment {comment_id} on {repo}"
        );
        world.reactions.remove(&(repo_id, comment_id));
    }
}

/// `GET /repos/{owner}/{repo}/pulls/comments/{comment_id}`: one review comment of any PR of
/// the repository; 404 when there is none (or it was deleted).
pub(crate) async fn get_review_comment(
    State(world): State<Shared>,
    Path((owner, repo, comment_id)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let guard = lock(&world);
    let found = guard
        .review_comments
        .get(&repo_id)
        .and_then(|all| all.iter().find(|c| c.id == comment_id));
    match found {
        Some(comment) => axum::Json(comment_json(comment)).into_response(),
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// GitHub's 422 "Validation Failed" for a review comment.
fn invalid(code: &str, field: &str, message: &str) -> Response {
    let body = json!({
        "message": "Validation Failed",
        "errors": [{ "resource": "PullRequestReviewComment", "code": code, "field": field, "message": message }],
        "documentation_url": DOCS_URL,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// `POST …/pulls/{pull_number}/comments/{comment_id}/replies` with `{"body": …}`: a reply by
/// the App's bot user in the thread of comment `comment_id` of that PR, as a one-comment
/// review of its own; 201 with the reply.
///
/// 404 when the PR or the comment (on that PR) does not exist. GitHub documents that
/// `comment_id` must be a thread's first comment ("replies to replies are not supported");
/// the fake refuses a reply to a reply with 422, so the bot has to pass the thread's start
/// (GitHub's exact answer there is not documented). A blank or over-long body is 422.
pub(crate) async fn create_reply(
    State(world): State<Shared>,
    Path((owner, repo, number, comment_id)): Path<(String, String, u64, i64)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let mut guard = lock(&world);
    if !guard.pulls.contains_key(&(repo_id, number)) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let Some(parent) = guard
        .review_comments
        .get(&repo_id)
        .and_then(|all| all.iter().find(|c| c.id == comment_id && c.pr == number))
        .cloned()
    else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if parent.in_reply_to_id.is_some() {
        return invalid(
            "invalid",
            "in_reply_to",
            "Replies to replies are not supported; reply to the thread's first comment",
        );
    }
    let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
    if text.trim().is_empty() {
        return invalid("missing_field", "body", "Body cannot be blank");
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return invalid(
            "unprocessable",
            "body",
            "Body is too long (maximum is 65536 characters)",
        );
    }
    let login = format!("{APP_SLUG}[bot]");
    let review_id = guard.next_id();
    let id = guard.next_id();
    guard.reviews.entry(repo_id).or_default().push(FakeReview {
        id: review_id,
        pr: number,
        commit_id: parent.commit_id.clone(),
        body: String::new(),
        state: "COMMENTED".into(),
        user_login: login.clone(),
    });
    let reply = FakeReviewComment {
        id,
        review_id,
        body: text.to_owned(),
        user_login: login,
        in_reply_to_id: Some(parent.id),
        ..parent
    };
    let answer = comment_json(&reply);
    guard
        .review_comments
        .entry(repo_id)
        .or_default()
        .push(reply);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

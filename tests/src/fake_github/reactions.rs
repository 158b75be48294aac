//! The fake GitHub's reactions on review comments: listing them (with GitHub's ETags and 304s
//! for conditional requests) and creating them.
//!
//! Like GitHub, a user has at most one reaction of each content on a comment, the list is
//! oldest first, and an ETag is a digest of the page's body and of the credential that asked
//! (GitHub's ETags are token-specific, so a new installation token gets a 200 again).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::pulls::{Page, authorized_repo, setup_repo, with_link};
use super::repos::simple_user;
use super::routes::{DOCS_URL, PageQuery, Shared, github_error, lock};
use super::state::World;
use super::{APP_SLUG, FakeGitHub, auth, route};

/// The reaction contents GitHub knows.
pub(crate) const REACTION_CONTENTS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

/// A reaction stored by the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeReaction {
    /// Its id.
    pub id: i64,
    /// Who reacted (the App's bot user for requests with an installation token).
    pub user_login: String,
    /// `+1`, `-1`, `laugh`, `confused`, `heart`, `hooray`, `rocket` or `eyes`.
    pub content: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl FakeGitHub {
    /// Adds `login`'s `content` reaction (`+1`, `-1`, `eyes`, …) to review comment `comment_id`
    /// of `repo`: a human's 👍, or another App's; its id. As on GitHub a user has one reaction
    /// of each content per comment, so adding it again returns the existing id.
    pub fn add_reaction(&self, repo: &str, comment_id: i64, login: &str, content: &str) -> i64 {
        assert!(
            REACTION_CONTENTS.contains(&content),
            "{content:?} is not a GitHub reaction; one of {REACTION_CONTENTS:?}"
        );
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        assert!(
            review_comment_exists(&world, repo_id, comment_id),
            "no review comment {comment_id} on {repo}"
        );
        add(&mut world, repo_id, comment_id, login, content).0.id
    }

    /// Takes reaction `reaction_id` off review comment `comment_id` (its author un-reacted).
    pub fn remove_reaction(&self, repo: &str, comment_id: i64, reaction_id: i64) {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        let reactions = world.reactions.entry((repo_id, comment_id)).or_default();
        let before = reactions.len();
        reactions.retain(|r| r.id != reaction_id);
        assert!(
            reactions.len() < before,
            "no reaction {reaction_id} on review comment {comment_id} of {repo}"
        );
    }

    /// The reactions on review comment `comment_id` of `repo`, oldest first.
    pub fn reactions(&self, repo: &str, comment_id: i64) -> Vec<FakeReaction> {
        let world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world
            .reactions
            .get(&(repo_id, comment_id))
            .cloned()
            .unwrap_or_default()
    }
}

/// Whether review comment `comment_id` exists on the repository (on any of its PRs).
pub(crate) fn review_comment_exists(world: &World, repo_id: i64, comment_id: i64) -> bool {
    world
        .review_comments
        .get(&repo_id)
        .is_some_and(|all| all.iter().any(|c| c.id == comment_id))
}

/// `login`'s `content` reaction on the comment, created unless it exists; true when created.
fn add(
    world: &mut World,
    repo_id: i64,
    comment_id: i64,
    login: &str,
    content: &str,
) -> (FakeReaction, bool) {
    let existing = world.reactions.get(&(repo_id, comment_id)).and_then(|all| {
        all.iter()
            .find(|r| r.content == content && r.user_login.eq_ignore_ascii_case(login))
            .cloned()
    });
    if let Some(existing) = existing {
        return (existing, false);
    }
    let reaction = FakeReaction {
        id: world.next_id(),
        user_login: login.to_owned(),
        content: content.to_owned(),
        created_at: Utc::now(),
    };
    world
        .reactions
        .entry((repo_id, comment_id))
        .or_default()
        .push(reaction.clone());
    (reaction, true)
}

/// A reaction as GitHub's `reaction` schema describes it.
pub(crate) fn reaction_json(reaction: &FakeReaction) -> Value {
    json!({
        "id": reaction.id,
        "node_id": format!("REA_fake{}", reaction.id),
        "user": simple_user(&reaction.user_login),
        "content": reaction.content,
        "created_at": reaction.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

/// FNV-1a over `bytes`, from `seed`: deterministic across runs, unlike std's hasher.
fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A weak ETag (`W/"…"`, as GitHub sends for JSON) for `body` as seen with `credential`.
pub(crate) fn etag(body: &[u8], credential: &str) -> String {
    let mut input = body.to_vec();
    input.push(0);
    input.extend_from_slice(credential.as_bytes());
    format!(
        "W/\"{:016x}{:016x}\"",
        fnv(0xcbf2_9ce4_8422_2325, &input),
        fnv(0x8422_2325_cbf2_9ce4, &input)
    )
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header).
pub(crate) fn none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let wanted = opaque(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == wanted)
}

/// The filter of the reactions list.
#[derive(Deserialize)]
pub(crate) struct ReactionsQuery {
    content: Option<String>,
}

/// `GET …/pulls/comments/{comment_id}/reactions[?content=]`: oldest first, paginated, with
/// an `ETag`; 304 (no body) when `If-None-Match` names the page's current ETag; 404 for a
/// comment that does not exist (or was deleted).
pub(crate) async fn list_review_comment_reactions(
    State(world): State<Shared>,
    Path((owner, repo, comment_id)): Path<(String, String, i64)>,
    Query(page): Query<PageQuery>,
    Query(query): Query<ReactionsQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let items: Vec<Value> = {
        let guard = lock(&world);
        if !review_comment_exists(&guard, repo_id, comment_id) {
            return github_error(StatusCode::NOT_FOUND, "Not Found");
        }
        guard
            .reactions
            .get(&(repo_id, comment_id))
            .map(|all| {
                all.iter()
                    .filter(|r| query.content.as_ref().is_none_or(|c| *c == r.content))
                    .map(reaction_json)
                    .collect()
            })
            .unwrap_or_default()
    };
    let filters = query
        .content
        .as_ref()
        .map(|c| {
            let encoded: String = url::form_urlencoded::byte_serialize(c.as_bytes()).collect();
            format!("content={encoded}")
        })
        .unwrap_or_default();
    let path = format!("/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions");
    let page = Page::of(&world, &path, &filters, &page, items);
    let body = Value::Array(page.items).to_string();
    let tag = etag(
        body.as_bytes(),
        auth::credential(&headers).unwrap_or_default(),
    );
    let tag_value = HeaderValue::from_str(&tag).expect("an ETag is a valid header value");
    if none_match_hits(&headers, &tag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(header::ETAG, tag_value);
        return response;
    }
    let mut response = (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    response.headers_mut().insert(header::ETAG, tag_value);
    with_link(response, page.link)
}

/// `POST …/pulls/comments/{comment_id}/reactions` with `{"content": …}`: 201 with the new
/// reaction, 200 with the existing one when the App already reacted so, 404 for a comment
/// that does not exist. The committed OpenAPI subset lacks this operation, so the body is
/// checked here: anything but a known `content` is GitHub's 422 and a contract violation.
pub(crate) async fn create_review_comment_reaction(
    State(world): State<Shared>,
    Path((owner, repo, comment_id)): Path<(String, String, i64)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let content = body.get("content").and_then(Value::as_str);
    let problem = match (&body, content) {
        (Value::Object(map), Some(content)) if REACTION_CONTENTS.contains(&content) => map
            .keys()
            .find(|k| *k != "content")
            .map(|k| format!("$: unknown property `{k}`")),
        (Value::Object(_), Some(content)) => Some(format!(
            "$.content: \"{content}\" is not one of {REACTION_CONTENTS:?}"
        )),
        _ => Some("$: missing required property `content`".to_owned()),
    };
    let mut guard = lock(&world);
    if let Some(problem) = problem {
        guard.violations.push(format!(
            "POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions ({}): {problem}",
            route::CREATE_REVIEW_COMMENT_REACTION
        ));
        let body = json!({
            "message": "Validation Failed",
            "errors": [{ "resource": "Reaction", "code": "invalid", "field": "content" }],
            "documentation_url": DOCS_URL,
        });
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    }
    if !review_comment_exists(&guard, repo_id, comment_id) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let login = format!("{APP_SLUG}[bot]");
    let (reaction, created) = add(
        &mut guard,
        repo_id,
        comment_id,
        &login,
        content.unwrap_or_default(),
    );
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(reaction_json(&reaction))).into_response()
}

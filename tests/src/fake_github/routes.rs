//! The fake GitHub's HTTP surface: the axum router, the recording/fault middleware and handlers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, OriginalUri, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use bot::events::RepositorySelection;
use chrono::{SecondsFormat, Utc};
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::{Token, World};
use super::{
    APP_SLUG, RecordedRequest, auth, contents, openapi, pulls, reactions, repos, review_threads,
    route, teams,
};

pub(crate) type Shared = Arc<Mutex<World>>;

/// Every route the fake serves: method, path template (as in GitHub's REST description) and the
/// route name tests use (GitHub's operationId). Add a row here with each new route.
pub(crate) const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/app", route::GET_APP),
    (
        "GET",
        "/app/installations/{installation_id}",
        route::GET_INSTALLATION,
    ),
    (
        "POST",
        "/app/installations/{installation_id}/access_tokens",
        route::CREATE_INSTALLATION_TOKEN,
    ),
    (
        "GET",
        "/installation/repositories",
        route::LIST_INSTALLATION_REPOS,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        route::GET_PULL,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/files",
        route::LIST_PULL_FILES,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        route::LIST_REVIEWS,
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        route::CREATE_REVIEW,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments",
        route::LIST_REVIEW_COMMENTS_FOR_REVIEW,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
        route::LIST_REVIEW_COMMENTS,
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
        route::CREATE_REVIEW_COMMENT,
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
        route::CREATE_REVIEW_COMMENT_REPLY,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/comments/{comment_id}",
        route::GET_REVIEW_COMMENT,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
        route::LIST_REVIEW_COMMENT_REACTIONS,
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
        route::CREATE_REVIEW_COMMENT_REACTION,
    ),
    (
        "GET",
        "/orgs/{org}/teams/{team_slug}/memberships/{username}",
        route::GET_TEAM_MEMBERSHIP,
    ),
    // axum's wildcard spelling of GitHub's multi-segment `{path}` (openapi.rs maps it back).
    (
        "GET",
        "/repos/{owner}/{repo}/contents/{*path}",
        route::GET_CONTENT,
    ),
    (
        "PUT",
        "/repos/{owner}/{repo}/contents/{*path}",
        route::PUT_CONTENT,
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/check-runs",
        route::CREATE_CHECK_RUN,
    ),
    (
        "PATCH",
        "/repos/{owner}/{repo}/check-runs/{check_run_id}",
        route::UPDATE_CHECK_RUN,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/compare/{basehead}",
        route::COMPARE_COMMITS,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/git/trees/{tree_sha}",
        route::GET_TREE,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        route::GET_COLLABORATOR_PERMISSION,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        route::LIST_ISSUE_COMMENTS,
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        route::CREATE_ISSUE_COMMENT,
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/commits/{ref}/check-runs",
        route::LIST_CHECK_RUNS_FOR_REF,
    ),
];

/// Installation tokens live one hour, as on GitHub.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(1);

/// GitHub's default and maximum `per_page`.
pub(crate) const DEFAULT_PER_PAGE: usize = 30;
pub(crate) const MAX_PER_PAGE: usize = 100;

/// Request bodies larger than this are refused; nothing the bot sends comes close.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Where GitHub's error bodies point.
pub(crate) const DOCS_URL: &str = "https://docs.github.com/rest";

/// GitHub's documented example answer for the token route: the shape our answers copy.
const TOKEN_EXAMPLE: &str =
    include_str!("../../fixtures/github/examples/apps/create-installation-access-token.json");

/// Locks the world; a panic in another test thread must not hide this test's result.
pub(crate) fn lock(world: &Shared) -> MutexGuard<'_, World> {
    world
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The router, served under `prefix` (`""` or e.g. `/api/v3`).
pub(crate) fn router(world: Shared, prefix: &str) -> Router {
    let api = Router::new()
        .route("/app", get(get_app))
        .route(
            "/app/installations/{installation_id}",
            get(get_installation),
        )
        .route(
            "/app/installations/{installation_id}/access_tokens",
            post(create_installation_token),
        )
        .route("/installation/repositories", get(list_installation_repos))
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            get(pulls::get_pull),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/files",
            get(pulls::list_files),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            get(pulls::list_reviews).post(pulls::create_review),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments",
            get(pulls::list_review_comments),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
            get(repos::list_pull_review_comments).post(pulls::create_review_comment),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
            post(review_threads::create_reply),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/comments/{comment_id}",
            get(review_threads::get_review_comment),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
            get(reactions::list_review_comment_reactions)
                .post(reactions::create_review_comment_reaction),
        )
        .route(
            "/orgs/{org}/teams/{team_slug}/memberships/{username}",
            get(teams::get_team_membership),
        )
        .route(
            "/repos/{owner}/{repo}/contents/{*path}",
            get(pulls::get_content).put(contents::put_content),
        )
        .route(
            "/repos/{owner}/{repo}/check-runs",
            post(pulls::create_check_run),
        )
        .route(
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            patch(pulls::update_check_run),
        )
        .route(
            "/repos/{owner}/{repo}/compare/{basehead}",
            get(repos::compare),
        )
        .route(
            "/repos/{owner}/{repo}/git/trees/{tree_sha}",
            get(repos::get_tree),
        )
        .route(
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            get(repos::get_collaborator_permission),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            get(repos::list_issue_comments).post(repos::create_issue_comment),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{ref}/check-runs",
            get(repos::list_check_runs_for_ref),
        )
        .route_layer(middleware::from_fn_with_state(world.clone(), observe))
        .method_not_allowed_fallback(unexpected)
        .with_state(world.clone());
    let app = if prefix.is_empty() {
        api
    } else {
        Router::new().nest(prefix, api)
    };
    app.fallback(unexpected).with_state(world)
}

/// A GitHub-shaped error body: `{"message", "documentation_url"}`.
pub(crate) fn github_error(status: StatusCode, message: &str) -> Response {
    let body = json!({ "message": message, "documentation_url": DOCS_URL });
    (status, axum::Json(body)).into_response()
}

/// Records the request, checks its body against GitHub's description, then applies holds,
/// delays and queued failures before the handler runs.
async fn observe(State(world): State<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return github_error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
    };
    let prefix = lock(&world).prefix.clone();
    let template = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| {
            m.as_str()
                .strip_prefix(prefix.as_str())
                .unwrap_or(m.as_str())
                .to_owned()
        })
        .unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    // Under a prefix, `nest` strips it from the URI; record the path as the client sent it.
    let uri = original_uri(&parts);
    let Some(&(_, _, name)) = ROUTES
        .iter()
        .find(|(m, t, _)| *m == method && *t == template)
    else {
        // A route registered without a ROUTES row: a bug in the fake, reported as unexpected.
        return record_unexpected(&world, &parts.method, &uri, &parts.headers, &bytes);
    };

    let json_body = (!bytes.is_empty())
        .then(|| serde_json::from_slice::<Value>(&bytes))
        .transpose();
    let recorded = RecordedRequest {
        method: method.clone(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        auth_kind: auth::auth_kind(&parts.headers),
        route: Some(name.to_owned()),
        body: json_body.as_ref().ok().cloned().flatten(),
    };
    lock(&world).requests.push(recorded);

    let checked = match &json_body {
        Ok(body) => openapi::check_request_body(&method, &template, body.as_ref()),
        Err(e) => Err(vec![format!("body is not JSON: {e}")]),
    };
    if let Err(problems) = checked {
        let message = format!("Invalid request.\n\n{}", problems.join("\n"));
        lock(&world).violations.push(format!(
            "{method} {} ({name}): {}",
            uri.path(),
            problems.join("; ")
        ));
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, &message);
    }

    let gate = lock(&world).gates.get(name).cloned();
    if let Some(gate) = gate {
        // Subscribe before announcing the arrival, so a release in between is not missed.
        let mut released = gate.released.subscribe();
        gate.arrived.send_modify(|n| *n += 1);
        let _ = released.wait_for(|open| *open).await;
    }
    let delay = lock(&world).delays.get(name).copied();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let failure = lock(&world).take_failure(name);
    if let Some(failure) = failure {
        return failure.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Any request the fake does not serve: 404 like GitHub, and remembered as a surprise.
async fn unexpected(State(world): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.unwrap_or_default();
    record_unexpected(
        &world,
        &parts.method,
        &original_uri(&parts),
        &parts.headers,
        &bytes,
    )
}

/// The request URI before any `nest` prefix stripping.
fn original_uri(parts: &axum::http::request::Parts) -> axum::http::Uri {
    parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |original| original.0.clone())
}

fn record_unexpected(
    world: &Shared,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let recorded = RecordedRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        auth_kind: auth::auth_kind(headers),
        route: None,
        body: serde_json::from_slice(body).ok(),
    };
    let mut world = lock(world);
    world.requests.push(recorded.clone());
    world.unexpected.push(recorded);
    github_error(StatusCode::NOT_FOUND, "Not Found")
}

/// A credential refusal: GitHub's 401 with its message (small, unlike a `Response`).
pub(crate) struct Refused(&'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        github_error(StatusCode::UNAUTHORIZED, self.0)
    }
}

/// 401 unless the request carries a valid App JWT.
fn require_app_jwt(world: &Shared, headers: &HeaderMap) -> Result<(), Refused> {
    let app_id = lock(world).app_id;
    auth::verify_app_jwt(headers, app_id).map_err(Refused)
}

/// The installation a live token belongs to, else 401 "Bad credentials".
pub(crate) fn require_installation_token(
    world: &Shared,
    headers: &HeaderMap,
) -> Result<i64, Refused> {
    auth::credential(headers)
        .and_then(|token| lock(world).installation_for_token(token))
        .ok_or(Refused("Bad credentials"))
}

fn selection_str(selection: RepositorySelection) -> &'static str {
    match selection {
        RepositorySelection::All => "all",
        RepositorySelection::Selected => "selected",
    }
}

fn timestamp(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The permissions the test App was granted (what a review bot needs; `contents: write` for
/// committing suggested changes with `PUT …/contents/{path}`).
fn permissions() -> Value {
    json!({
        "checks": "write",
        "contents": "write",
        "issues": "write",
        "members": "read",
        "metadata": "read",
        "pull_requests": "write"
    })
}

/// `GET /app`: the authenticated App.
async fn get_app(State(world): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(refused) = require_app_jwt(&world, &headers) {
        return refused.into_response();
    }
    let (app_id, base_url) = {
        let world = lock(&world);
        (world.app_id, world.base_url.clone())
    };
    let body = json!({
        "id": app_id,
        "slug": APP_SLUG,
        "node_id": format!("A_fake{app_id}"),
        "client_id": format!("Iv1.fake{app_id}"),
        "owner": { "login": "reviewbot-dev", "id": 1, "type": "Organization" },
        "name": "reviewbot test",
        "description": "The App the end-to-end tests run as.",
        "external_url": "https://example.invalid/reviewbot",
        "html_url": format!("{base_url}/apps/{APP_SLUG}"),
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "permissions": permissions(),
        "events": ["pull_request", "pull_request_review_comment", "issue_comment", "installation"]
    });
    axum::Json(body).into_response()
}

/// `GET /app/installations/{installation_id}`.
async fn get_installation(
    State(world): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = require_app_jwt(&world, &headers) {
        return refused.into_response();
    }
    let world = lock(&world);
    let Some(installation) = world.installations.get(&id) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let body = json!({
        "id": installation.id,
        "account": {
            "login": installation.account_login,
            "id": installation.account_id,
            "type": installation.account_type,
        },
        "repository_selection": selection_str(installation.selection),
        "access_tokens_url": format!("{}/app/installations/{}/access_tokens", world.base_url, installation.id),
        "repositories_url": format!("{}/installation/repositories", world.base_url),
        "app_id": world.app_id,
        "app_slug": APP_SLUG,
        "target_id": installation.account_id,
        "target_type": installation.account_type,
        "permissions": permissions(),
        "events": ["pull_request", "issue_comment"],
        "created_at": timestamp(installation.created_at),
        "updated_at": timestamp(installation.created_at),
        "single_file_name": null,
        "suspended_by": installation.suspended_at.map(|_| json!({"login": "octo-admin", "id": 2, "type": "User"})),
        "suspended_at": installation.suspended_at.map(timestamp),
    });
    axum::Json(body).into_response()
}

/// `POST /app/installations/{installation_id}/access_tokens`: mints a one-hour token.
async fn create_installation_token(
    State(world): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = require_app_jwt(&world, &headers) {
        return refused.into_response();
    }
    let mut world = lock(&world);
    let Some(installation) = world.installations.get(&id) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if installation.suspended_at.is_some() {
        return github_error(
            StatusCode::FORBIDDEN,
            "This installation has been suspended",
        );
    }
    let selection = installation.selection;
    let suffix: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(36)
        .map(char::from)
        .collect();
    let token = format!("ghs_{suffix}");
    let expires_at = Utc::now() + TOKEN_LIFETIME;
    world.tokens.insert(
        token.clone(),
        Token {
            installation_id: id,
            expires_at,
        },
    );

    let mut body: Value =
        serde_json::from_str(TOKEN_EXAMPLE).expect("the token example fixture is JSON");
    if let Some(object) = body.as_object_mut() {
        // GitHub lists repositories only when the token was scoped to some; ours never is.
        object.remove("repositories");
        object.insert("token".into(), Value::String(token));
        object.insert("expires_at".into(), Value::String(timestamp(expires_at)));
        object.insert("permissions".into(), permissions());
        object.insert(
            "repository_selection".into(),
            Value::String(selection_str(selection).into()),
        );
    }
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    pub per_page: Option<usize>,
    pub page: Option<usize>,
}

/// `GET /installation/repositories?per_page&page`, with GitHub's `Link` header.
async fn list_installation_repos(
    State(world): State<Shared>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let installation_id = match require_installation_token(&world, &headers) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let world = lock(&world);
    let Some(installation) = world.installations.get(&installation_id) else {
        return github_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    let per_page = query
        .per_page
        .unwrap_or(DEFAULT_PER_PAGE)
        .clamp(1, MAX_PER_PAGE);
    let page = query.page.unwrap_or(1).max(1);
    let repos: Vec<_> = installation
        .repos
        .iter()
        .filter_map(|id| world.repos.get(id))
        .collect();
    let total = repos.len();
    let last_page = total.div_ceil(per_page).max(1);
    let items: Vec<Value> = repos
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|repo| {
            json!({
                "id": repo.id,
                "node_id": format!("R_fake{}", repo.id),
                "name": repo.name(),
                "full_name": repo.full_name,
                "owner": { "login": repo.owner(), "id": installation.account_id, "type": installation.account_type },
                "private": repo.private,
                "html_url": format!("https://github.com/{}", repo.full_name),
                "url": format!("{}/repos/{}", world.base_url, repo.full_name),
                "default_branch": "main",
                "archived": false,
                "disabled": false,
            })
        })
        .collect();
    let body = json!({
        "total_count": total,
        "repository_selection": selection_str(installation.selection),
        "repositories": items,
    });

    let page_url = |n: usize| {
        format!(
            "<{}/installation/repositories?per_page={per_page}&page={n}>",
            world.base_url
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", page_url(page - 1)));
    }
    if page < last_page {
        links.push(format!("{}; rel=\"next\"", page_url(page + 1)));
        links.push(format!("{}; rel=\"last\"", page_url(last_page)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", page_url(1)));
    }
    let mut response = axum::Json(body).into_response();
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links.join(", "))
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// A response to send instead of running the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    status: u16,
    headers: Vec<(String, String)>,
    message: Option<String>,
}

impl Failure {
    /// A failure with `status` and GitHub's error body (`message` = the reason phrase).
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            message: None,
        }
    }

    /// A GitHub secondary rate limit: 403 with `retry-after: <seconds>`.
    pub fn secondary_rate_limit(retry_after: Duration) -> Self {
        Self::new(403)
            .header("retry-after", &retry_after.as_secs().to_string())
            .message("You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
    }

    /// A GitHub primary rate limit: 403 with `x-ratelimit-remaining: 0` and the reset time.
    pub fn primary_rate_limit(reset_at: chrono::DateTime<Utc>) -> Self {
        Self::new(403)
            .header("x-ratelimit-limit", "5000")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-used", "5000")
            .header("x-ratelimit-reset", &reset_at.timestamp().to_string())
            .message("API rate limit exceeded for installation.")
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets GitHub's `message`.
    pub fn message(mut self, message: &str) -> Self {
        self.message = Some(message.to_owned());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = self
            .message
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned());
        let mut response = github_error(status, &message);
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

impl From<u16> for Failure {
    fn from(status: u16) -> Self {
        Self::new(status)
    }
}

/// Whether `name` is a route the fake serves.
pub(crate) fn is_known_route(name: &str) -> bool {
    ROUTES.iter().any(|(_, _, n)| *n == name)
}

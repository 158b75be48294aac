//! A fake GitHub REST API for end-to-end tests: a real HTTP server over an in-memory world.
//!
//! It checks credentials like GitHub (App JWTs signed by the test key, installation tokens it
//! minted), checks request bodies against GitHub's REST description where the committed subset
//! covers the operation, records every request, and can fail, delay or hold any route.
//!
//! ```ignore
//! let github = FakeGitHub::start().await;
//! github.add_installation(42, "octo-org", RepositorySelection::Selected);
//! github.add_repository(42, 1001, "octo-org/widgets");
//! let gate = github.hold(route::LIST_INSTALLATION_REPOS);
//! // … start the bot with GITHUB_API_URL = github.url(), then:
//! gate.arrived().await;       // the bot is now inside that GitHub call
//! drop(gate);                 // let it (and later calls) through
//! github.assert_no_surprises();
//! ```

mod auth;
mod contents;
mod openapi;
mod pulls;
mod reactions;
mod repos;
mod review_threads;
mod routes;
mod state;
mod teams;

#[cfg(test)]
mod contents_tests;
#[cfg(test)]
mod feedback_tests;
#[cfg(test)]
mod pulls_tests;
#[cfg(test)]
mod repos_tests;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bot::events::RepositorySelection;
use chrono::Utc;

pub use pulls::{
    FakeCheckRun, FakePullFile, FakePullRequest, FakeReview, FakeReviewComment, diff_too_large,
};
pub use reactions::FakeReaction;
pub use repos::FakeIssueComment;
pub use routes::Failure;
use routes::{Shared, lock};
use state::{GateState, Installation, Repo, World};

/// The fixed RSA test key (PKCS#1 PEM) the fake trusts; a throwaway generated for this project.
pub const TEST_APP_KEY_PEM: &str = include_str!("../../fixtures/github/test-app-key.pem");

/// A second valid RSA key that the fake does NOT trust, for "wrong key" tests.
pub const FOREIGN_KEY_PEM: &str = include_str!("../../fixtures/github/other-app-key.pem");

/// The test App's id.
pub const TEST_APP_ID: u64 = 424_242;

/// The test App's slug; its bot user is `reviewbot-test[bot]`.
pub const APP_SLUG: &str = "reviewbot-test";

/// How long a test waits for a request to reach a held route before failing.
const GATE_WAIT: Duration = Duration::from_secs(30);

/// Route names: GitHub's operationIds for the routes the fake serves.
pub mod route {
    /// `GET /app`
    pub const GET_APP: &str = "apps/get-authenticated";
    /// `GET /app/installations/{installation_id}`
    pub const GET_INSTALLATION: &str = "apps/get-installation";
    /// `POST /app/installations/{installation_id}/access_tokens`
    pub const CREATE_INSTALLATION_TOKEN: &str = "apps/create-installation-access-token";
    /// `GET /installation/repositories`
    pub const LIST_INSTALLATION_REPOS: &str = "apps/list-repos-accessible-to-installation";
    /// `GET /repos/{owner}/{repo}/pulls/{pull_number}` (JSON, or the diff media type)
    pub const GET_PULL: &str = "pulls/get";
    /// `GET /repos/{owner}/{repo}/pulls/{pull_number}/files`
    pub const LIST_PULL_FILES: &str = "pulls/list-files";
    /// `GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews`
    pub const LIST_REVIEWS: &str = "pulls/list-reviews";
    /// `POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews`
    pub const CREATE_REVIEW: &str = "pulls/create-review";
    /// `GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments`
    pub const LIST_REVIEW_COMMENTS_FOR_REVIEW: &str = "pulls/list-comments-for-review";
    /// `GET /repos/{owner}/{repo}/pulls/{pull_number}/comments`
    pub const LIST_REVIEW_COMMENTS: &str = "pulls/list-review-comments";
    /// `POST /repos/{owner}/{repo}/pulls/{pull_number}/comments`
    pub const CREATE_REVIEW_COMMENT: &str = "pulls/create-review-comment";
    /// `POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies`
    pub const CREATE_REVIEW_COMMENT_REPLY: &str = "pulls/create-reply-for-review-comment";
    /// `GET /repos/{owner}/{repo}/pulls/comments/{comment_id}`
    pub const GET_REVIEW_COMMENT: &str = "pulls/get-review-comment";
    /// `GET /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions` (conditional: ETag,
    /// `If-None-Match`, 304)
    pub const LIST_REVIEW_COMMENT_REACTIONS: &str =
        "reactions/list-for-pull-request-review-comment";
    /// `POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions`
    pub const CREATE_REVIEW_COMMENT_REACTION: &str =
        "reactions/create-for-pull-request-review-comment";
    /// `GET /orgs/{org}/teams/{team_slug}/memberships/{username}`
    pub const GET_TEAM_MEMBERSHIP: &str = "teams/get-membership-for-user-in-org";
    /// `GET /repos/{owner}/{repo}/contents/{path}` (JSON, or the raw media type)
    pub const GET_CONTENT: &str = "repos/get-content";
    /// `PUT /repos/{owner}/{repo}/contents/{path}`
    pub const PUT_CONTENT: &str = "repos/create-or-update-file-contents";
    /// `GET /repos/{owner}/{repo}/compare/{basehead}` (JSON, or the diff media type)
    pub const COMPARE_COMMITS: &str = "repos/compare-commits-with-basehead";
    /// `GET /repos/{owner}/{repo}/git/trees/{tree_sha}`
    pub const GET_TREE: &str = "git/get-tree";
    /// `GET /repos/{owner}/{repo}/collaborators/{username}/permission`
    pub const GET_COLLABORATOR_PERMISSION: &str = "repos/get-collaborator-permission-level";
    /// `GET /repos/{owner}/{repo}/issues/{issue_number}/comments`
    pub const LIST_ISSUE_COMMENTS: &str = "issues/list-comments";
    /// `POST /repos/{owner}/{repo}/issues/{issue_number}/comments`
    pub const CREATE_ISSUE_COMMENT: &str = "issues/create-comment";
    /// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`
    pub const LIST_CHECK_RUNS_FOR_REF: &str = "checks/list-for-ref";
    /// `POST /repos/{owner}/{repo}/check-runs`
    pub const CREATE_CHECK_RUN: &str = "checks/create";
    /// `PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}`
    pub const UPDATE_CHECK_RUN: &str = "checks/update";
}

/// The credential a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// No `Authorization` header.
    None,
    /// An App JWT (`Bearer <jwt>`), valid or not.
    Jwt,
    /// An installation token (`token <t>` or `Bearer <t>`), live or not.
    Token,
    /// Some other scheme.
    Other,
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (including any API prefix such as `/api/v3`).
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Which credential it carried.
    pub auth_kind: AuthKind,
    /// The route name (see [`route`]); `None` for requests the fake does not serve.
    pub route: Option<String>,
    /// The JSON body, if it had one.
    pub body: Option<serde_json::Value>,
}

/// A running fake GitHub. Clones share the server and world; the server stops with the last one.
#[derive(Debug, Clone)]
pub struct FakeGitHub {
    world: Shared,
    url: String,
    _server: Arc<ServerTask>,
}

/// Aborts the server task when the last handle goes away.
#[derive(Debug)]
struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl FakeGitHub {
    /// Starts the fake on `127.0.0.1:<free port>`, serving the API at the root like github.com.
    pub async fn start() -> FakeGitHub {
        Self::start_with_prefix("").await
    }

    /// Starts the fake with the API under `prefix`, like GitHub Enterprise's `/api/v3`.
    pub async fn start_with_prefix(prefix: &str) -> FakeGitHub {
        let prefix = prefix.trim_end_matches('/');
        assert!(
            prefix.is_empty() || prefix.starts_with('/'),
            "prefix must start with `/`: {prefix:?}"
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake GitHub to a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let url = format!("http://{addr}{prefix}");
        let world = Arc::new(Mutex::new(World::new(
            TEST_APP_ID,
            url.clone(),
            prefix.to_owned(),
        )));
        let app = routes::router(world.clone(), prefix);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("fake GitHub stopped: {e}");
            }
        });
        FakeGitHub {
            world,
            url,
            _server: Arc::new(ServerTask(server)),
        }
    }

    /// The base URL to configure as `GITHUB_API_URL` (no trailing slash).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The App id the fake expects as the JWT issuer.
    pub fn app_id(&self) -> u64 {
        TEST_APP_ID
    }

    /// The App's private key PEM (the fixed test key).
    pub fn private_key_pem(&self) -> &'static str {
        TEST_APP_KEY_PEM
    }

    /// The login of the App's bot user, as `GET /app` implies it.
    pub fn bot_login(&self) -> String {
        format!("{APP_SLUG}[bot]")
    }

    // ----- the world -------------------------------------------------------------------------

    /// Installs the App on an organization account.
    pub fn add_installation(&self, id: i64, account_login: &str, selection: RepositorySelection) {
        let mut world = lock(&self.world);
        let account_id = 10_000 + world.installations.len() as i64;
        world.installations.insert(
            id,
            Installation {
                id,
                account_login: account_login.to_owned(),
                account_id,
                account_type: "Organization".to_owned(),
                selection,
                suspended_at: None,
                created_at: Utc::now(),
                repos: Default::default(),
            },
        );
    }

    /// Gives an installation access to a repository `owner/name` (created if new).
    pub fn add_repository(&self, installation_id: i64, repo_id: i64, full_name: &str) {
        assert!(
            full_name.split('/').count() == 2,
            "repository name must be owner/name: {full_name:?}"
        );
        let mut world = lock(&self.world);
        let installation = world
            .installations
            .get_mut(&installation_id)
            .unwrap_or_else(|| panic!("add_installation({installation_id}, …) first"));
        installation.repos.insert(repo_id);
        world.repos.insert(
            repo_id,
            Repo {
                id: repo_id,
                full_name: full_name.to_owned(),
                private: false,
            },
        );
    }

    /// Takes a repository away from an installation.
    pub fn remove_repository(&self, installation_id: i64, repo_id: i64) {
        let mut world = lock(&self.world);
        if let Some(installation) = world.installations.get_mut(&installation_id) {
            installation.repos.remove(&repo_id);
        }
    }

    /// Suspends an installation: its tokens stop working and new ones are refused (403).
    pub fn suspend_installation(&self, id: i64) {
        let mut world = lock(&self.world);
        if let Some(installation) = world.installations.get_mut(&id) {
            installation.suspended_at = Some(Utc::now());
        }
        world.tokens.retain(|_, t| t.installation_id != id);
    }

    /// Lifts a suspension.
    pub fn unsuspend_installation(&self, id: i64) {
        if let Some(installation) = lock(&self.world).installations.get_mut(&id) {
            installation.suspended_at = None;
        }
    }

    /// Uninstalls the App: the installation, its tokens and its repositories' access go away.
    pub fn delete_installation(&self, id: i64) {
        let mut world = lock(&self.world);
        world.installations.remove(&id);
        world.tokens.retain(|_, t| t.installation_id != id);
    }

    /// Makes every token minted so far invalid, as if it had expired or been revoked.
    pub fn revoke_tokens(&self) {
        lock(&self.world).tokens.clear();
    }

    // ----- faults ----------------------------------------------------------------------------

    /// The next `times` requests to `route` get `failure` (a status like `500`, or a
    /// [`Failure`] with headers) instead of the real answer.
    pub fn fail_next(&self, route: &str, failure: impl Into<Failure>, times: usize) {
        check_route(route);
        let failure = failure.into();
        let mut world = lock(&self.world);
        let queue = world.failures.entry(route.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(failure, times));
    }

    /// Every request to `route` waits `delay` first; `Duration::ZERO` removes the delay.
    pub fn set_delay(&self, route: &str, delay: Duration) {
        check_route(route);
        let mut world = lock(&self.world);
        if delay.is_zero() {
            world.delays.remove(route);
        } else {
            world.delays.insert(route.to_owned(), delay);
        }
    }

    /// Holds every request to `route` until the returned gate is released (or dropped).
    pub fn hold(&self, route: &str) -> Gate {
        check_route(route);
        let state = Arc::new(GateState::new());
        let previous = lock(&self.world)
            .gates
            .insert(route.to_owned(), Arc::clone(&state));
        if let Some(previous) = previous {
            previous.released.send_replace(true);
        }
        Gate {
            route: route.to_owned(),
            state,
            world: Arc::clone(&self.world),
        }
    }

    // ----- observations ----------------------------------------------------------------------

    /// Every request received so far, in order (unexpected ones included).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.world).requests.clone()
    }

    /// The requests to one route.
    pub fn requests_to(&self, route: &str) -> Vec<RecordedRequest> {
        lock(&self.world)
            .requests
            .iter()
            .filter(|r| r.route.as_deref() == Some(route))
            .cloned()
            .collect()
    }

    /// How many requests reached `route` (failed and held ones included).
    pub fn request_count(&self, route: &str) -> usize {
        lock(&self.world)
            .requests
            .iter()
            .filter(|r| r.route.as_deref() == Some(route))
            .count()
    }

    /// Requests to routes the fake does not serve (each got a 404).
    pub fn unexpected_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.world).unexpected.clone()
    }

    /// Requests whose body broke GitHub's REST description (each got a 422).
    pub fn contract_violations(&self) -> Vec<String> {
        lock(&self.world).violations.clone()
    }

    /// Forgets the recorded requests (not the unexpected ones or violations).
    pub fn clear_requests(&self) {
        lock(&self.world).requests.clear();
    }

    /// Panics if any request went to an unknown route or broke GitHub's description.
    pub fn assert_no_surprises(&self) {
        let world = lock(&self.world);
        assert!(
            world.unexpected.is_empty() && world.violations.is_empty(),
            "fake GitHub saw surprises:\nunexpected requests: {:#?}\ncontract violations: {:#?}",
            world.unexpected,
            world.violations
        );
    }
}

/// Route names are checked so a typo fails the test instead of silently injecting nothing.
fn check_route(route: &str) {
    assert!(
        routes::is_known_route(route),
        "the fake GitHub has no route named {route:?}; see fake_github::route"
    );
}

/// A hold on one route, from [`FakeGitHub::hold`]. Requests to the route wait until the gate
/// is released; dropping it releases too, so a failing test cannot leave requests hanging.
#[derive(Debug)]
pub struct Gate {
    route: String,
    state: Arc<GateState>,
    world: Shared,
}

impl Gate {
    /// Waits until `n` requests have reached the gate (held ones, or ones already let through).
    pub async fn wait_for_arrivals(&self, n: usize) {
        let mut arrived = self.state.arrived.subscribe();
        let waited = tokio::time::timeout(GATE_WAIT, arrived.wait_for(|count| *count >= n)).await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "waited {GATE_WAIT:?} for {n} request(s) to reach held route {}; {} arrived",
            self.route,
            *self.state.arrived.borrow()
        );
    }

    /// Waits until a request is held at the gate.
    pub async fn arrived(&self) {
        self.wait_for_arrivals(1).await;
    }

    /// How many requests have reached the gate so far.
    pub fn arrivals(&self) -> usize {
        *self.state.arrived.borrow()
    }

    /// Lets held and future requests through (the same as dropping the gate).
    pub fn release(self) {}
}

impl Drop for Gate {
    fn drop(&mut self) {
        let mut world = lock(&self.world);
        if world
            .gates
            .get(&self.route)
            .is_some_and(|current| Arc::ptr_eq(current, &self.state))
        {
            world.gates.remove(&self.route);
        }
        self.state.released.send_replace(true);
    }
}

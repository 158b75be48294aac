//! The fake GitHub's in-memory world: installations, repositories, tokens, faults and recordings.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bot::events::RepositorySelection;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::pulls::{FakeCheckRun, FakePullRequest, FakeReview, FakeReviewComment};
use super::reactions::FakeReaction;
use super::repos::FakeIssueComment;
use super::{Failure, RecordedRequest};

/// An installation of the test App.
#[derive(Debug, Clone)]
pub(crate) struct Installation {
    pub id: i64,
    pub account_login: String,
    pub account_id: i64,
    pub account_type: String,
    pub selection: RepositorySelection,
    pub suspended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Repositories the installation can access, ordered by id as GitHub pages them.
    pub repos: BTreeSet<i64>,
}

/// A repository, owned by an account, accessible to one installation.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub id: i64,
    /// `owner/name` as given by the test (case kept, as GitHub does).
    pub full_name: String,
    pub private: bool,
}

impl Repo {
    pub fn owner(&self) -> &str {
        self.full_name
            .split_once('/')
            .map_or("", |(owner, _)| owner)
    }

    pub fn name(&self) -> &str {
        self.full_name.split_once('/').map_or("", |(_, name)| name)
    }
}

/// A comparison of two commits, as `GET …/compare/{base}...{head}` answers it.
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    /// `ahead`, `behind`, `diverged` or `identical`: how head relates to base.
    pub status: String,
    /// The unified diff served for the diff media type.
    pub diff: Vec<u8>,
    /// When true the diff media type answers GitHub's 406 "too large".
    pub too_large: bool,
}

/// A user's access to a repository, as the collaborator permission route reports it.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    /// The legacy base permission: `admin`, `write`, `read` or `none`.
    pub permission: String,
    /// The role's name: a base role (`maintain`, `triage` included) or a custom role.
    pub role_name: String,
}

/// GitHub's limit on a recursive tree listing; beyond it the answer is `truncated`.
pub(crate) const TREE_ENTRY_LIMIT: usize = 100_000;

/// An installation access token the fake has minted.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub installation_id: i64,
    pub expires_at: DateTime<Utc>,
}

/// A hold on one route: requests wait until `released` turns true.
#[derive(Debug)]
pub(crate) struct GateState {
    pub released: watch::Sender<bool>,
    pub arrived: watch::Sender<usize>,
}

impl GateState {
    pub fn new() -> Self {
        Self {
            released: watch::Sender::new(false),
            arrived: watch::Sender::new(0),
        }
    }
}

/// Everything the fake knows; one lock, held only for short synchronous updates.
#[derive(Debug)]
pub(crate) struct World {
    pub app_id: u64,
    /// The base URL tests pass as `GITHUB_API_URL` (prefix included), for `Link` headers.
    pub base_url: String,
    /// Path prefix the API is served under (`""`, or e.g. `/api/v3` like GitHub Enterprise).
    pub prefix: String,
    pub installations: BTreeMap<i64, Installation>,
    pub repos: BTreeMap<i64, Repo>,
    pub tokens: HashMap<String, Token>,
    pub failures: HashMap<String, VecDeque<Failure>>,
    pub delays: HashMap<String, Duration>,
    pub gates: HashMap<String, Arc<GateState>>,
    pub requests: Vec<RecordedRequest>,
    pub unexpected: Vec<RecordedRequest>,
    pub violations: Vec<String>,
    /// Pull requests by (repository id, number).
    pub pulls: BTreeMap<(i64, u64), FakePullRequest>,
    /// File contents by (repository id, git ref, path).
    pub contents: HashMap<(i64, String, String), Vec<u8>>,
    /// Commits made by `PUT …/contents/{path}`, by (repository id, branch), oldest first:
    /// (commit SHA, message).
    pub commits: BTreeMap<(i64, String), Vec<(String, String)>>,
    /// Reviews by repository id, in creation order.
    pub reviews: BTreeMap<i64, Vec<FakeReview>>,
    /// Review comments by repository id, in creation order.
    pub review_comments: BTreeMap<i64, Vec<FakeReviewComment>>,
    /// Check runs by repository id, in creation order.
    pub check_runs: BTreeMap<i64, Vec<FakeCheckRun>>,
    /// Comparisons by (repository id, base, head).
    pub compares: HashMap<(i64, String, String), Comparison>,
    /// Access by (repository id, lowercased login); logins not listed have `read`.
    pub access: HashMap<(i64, String), Access>,
    /// Issue comments by repository id, in creation order.
    pub issue_comments: BTreeMap<i64, Vec<FakeIssueComment>>,
    /// Reactions by (repository id, review comment id), oldest first.
    pub reactions: BTreeMap<(i64, i64), Vec<FakeReaction>>,
    /// Team memberships by (lowercased org, lowercased team slug), then by lowercased login:
    /// `active` or `pending`. A team is known once it has had a member.
    pub teams: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// Installations whose App lacks the "Members: read" organization permission.
    pub members_denied: BTreeSet<i64>,
    /// Entries a recursive tree listing holds before it is `truncated`.
    pub tree_entry_limit: usize,
    /// The last id handed out for reviews, comments and check runs (one sequence, like a
    /// database would; ids of different kinds never collide, which catches mix-ups).
    pub last_id: i64,
}

impl World {
    pub fn new(app_id: u64, base_url: String, prefix: String) -> Self {
        Self {
            app_id,
            base_url,
            prefix,
            installations: BTreeMap::new(),
            repos: BTreeMap::new(),
            tokens: HashMap::new(),
            failures: HashMap::new(),
            delays: HashMap::new(),
            gates: HashMap::new(),
            requests: Vec::new(),
            unexpected: Vec::new(),
            violations: Vec::new(),
            pulls: BTreeMap::new(),
            contents: HashMap::new(),
            commits: BTreeMap::new(),
            reviews: BTreeMap::new(),
            review_comments: BTreeMap::new(),
            check_runs: BTreeMap::new(),
            compares: HashMap::new(),
            access: HashMap::new(),
            issue_comments: BTreeMap::new(),
            reactions: BTreeMap::new(),
            teams: BTreeMap::new(),
            members_denied: BTreeSet::new(),
            tree_entry_limit: TREE_ENTRY_LIMIT,
            last_id: 900_000,
        }
    }

    /// The installation a live token belongs to; `None` for unknown, expired or orphaned tokens.
    pub fn installation_for_token(&self, token: &str) -> Option<i64> {
        let token = self.tokens.get(token)?;
        (token.expires_at > Utc::now() && self.installations.contains_key(&token.installation_id))
            .then_some(token.installation_id)
    }

    /// A fresh id for a review, review comment, issue comment or check run.
    pub fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    /// The id of repository `owner/name` (case-insensitive) if `installation_id` can access it.
    pub fn repo_for(&self, installation_id: i64, owner: &str, name: &str) -> Option<i64> {
        let wanted = format!("{owner}/{name}");
        let installation = self.installations.get(&installation_id)?;
        self.repos
            .values()
            .find(|r| {
                r.full_name.eq_ignore_ascii_case(&wanted) && installation.repos.contains(&r.id)
            })
            .map(|r| r.id)
    }

    /// The id of repository `owner/name` (case-insensitive), for test setup.
    pub fn repo_id(&self, full_name: &str) -> Option<i64> {
        self.repos
            .values()
            .find(|r| r.full_name.eq_ignore_ascii_case(full_name))
            .map(|r| r.id)
    }

    /// The next queued failure for `route`, if any.
    pub fn take_failure(&mut self, route: &str) -> Option<Failure> {
        let queue = self.failures.get_mut(route)?;
        let failure = queue.pop_front();
        if queue.is_empty() {
            self.failures.remove(route);
        }
        failure
    }
}

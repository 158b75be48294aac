//! The fake GitHub's other repository routes: commit comparisons, git trees, collaborator
//! permissions, issue comments, and the listings of a PR's review comments and of a commit's
//! check runs.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::pulls::{
    FakeCheckRun, FakeReview, FakeReviewComment, Page, authorized_repo, check_run_json,
    comment_json, diff_too_large, file_json, files_from_diff, now, paginated, setup_repo,
    with_link,
};
use super::routes::{DOCS_URL, PageQuery, Shared, github_error, lock};
use super::state::{Access, Comparison};
use super::{APP_SLUG, FakeGitHub};

/// GitHub refuses issue comment bodies longer than this many characters.
pub(crate) const MAX_COMMENT_CHARS: usize = 65_536;

/// An issue (or pull request conversation) comment stored by the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeIssueComment {
    /// Its id.
    pub id: i64,
    /// The issue or pull request number.
    pub issue: u64,
    /// The author (the App's bot user for requests with an installation token).
    pub user_login: String,
    /// Body text.
    pub body: String,
}

/// The base roles GitHub knows, with the legacy `permission` each maps to.
const BASE_ROLES: &[(&str, &str)] = &[
    ("admin", "admin"),
    ("maintain", "write"),
    ("write", "write"),
    ("triage", "read"),
    ("read", "read"),
    ("none", "none"),
];

impl FakeGitHub {
    /// Makes `GET …/compare/{base}...{head}` answer `diff` for the diff media type, with
    /// head `ahead` of base. Pairs never set answer 404, like commits GitHub does not have.
    pub fn set_compare(&self, repo: &str, base: &str, head: &str, diff: &str) {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world.compares.insert(
            (repo_id, base.to_owned(), head.to_owned()),
            Comparison {
                status: "ahead".into(),
                diff: diff.as_bytes().to_vec(),
                too_large: false,
            },
        );
    }

    /// Changes how head relates to base in a comparison set before: `ahead`, `behind`,
    /// `diverged` (a rebase) or `identical`.
    pub fn set_compare_status(&self, repo: &str, base: &str, head: &str, status: &str) {
        self.update_compare(repo, base, head, |c| c.status = status.to_owned());
    }

    /// Makes a comparison's diff media type answer GitHub's 406 "too large" (or not).
    pub fn set_compare_too_large(&self, repo: &str, base: &str, head: &str, too_large: bool) {
        self.update_compare(repo, base, head, |c| c.too_large = too_large);
    }

    fn update_compare(
        &self,
        repo: &str,
        base: &str,
        head: &str,
        change: impl FnOnce(&mut Comparison),
    ) {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        let comparison = world
            .compares
            .get_mut(&(repo_id, base.to_owned(), head.to_owned()))
            .unwrap_or_else(|| panic!("set_compare({repo}, {base}, {head}, …) first"));
        change(comparison);
    }

    /// How many entries a recursive tree listing holds before GitHub marks it `truncated`
    /// (GitHub's own limit is 100,000).
    pub fn set_tree_entry_limit(&self, limit: usize) {
        lock(&self.world).tree_entry_limit = limit;
    }

    /// Gives `login` a base role on `repo`: `admin`, `maintain`, `write`, `triage`, `read` or
    /// `none`. Logins never set have `read`, as anyone has on a public repository.
    pub fn set_permission(&self, repo: &str, login: &str, role: &str) {
        let permission = BASE_ROLES
            .iter()
            .find(|(name, _)| *name == role)
            .map(|(_, permission)| *permission)
            .unwrap_or_else(|| {
                panic!("{role:?} is not a base role; use set_custom_role for custom roles")
            });
        self.set_custom_role(repo, login, role, permission);
    }

    /// Gives `login` a custom role named `role_name` whose legacy base `permission` is
    /// `admin`, `write`, `read` or `none`.
    pub fn set_custom_role(&self, repo: &str, login: &str, role_name: &str, permission: &str) {
        assert!(
            matches!(permission, "admin" | "write" | "read" | "none"),
            "legacy permission must be admin, write, read or none: {permission:?}"
        );
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world.access.insert(
            (repo_id, login.to_lowercase()),
            Access {
                permission: permission.to_owned(),
                role_name: role_name.to_owned(),
            },
        );
    }

    /// The comments on a PR's conversation, oldest first.
    pub fn issue_comments(&self, repo: &str, number: u64) -> Vec<FakeIssueComment> {
        let world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world
            .issue_comments
            .get(&repo_id)
            .map(|all| all.iter().filter(|c| c.issue == number).cloned().collect())
            .unwrap_or_default()
    }

    /// Adds a comment by `login` to a PR's conversation (a human, or another bot); its id.
    pub fn add_issue_comment(&self, repo: &str, number: u64, login: &str, body: &str) -> i64 {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        assert!(
            world.pulls.contains_key(&(repo_id, number)),
            "add_pull_request({repo}, {number}, …) first"
        );
        let id = world.next_id();
        world
            .issue_comments
            .entry(repo_id)
            .or_default()
            .push(FakeIssueComment {
                id,
                issue: number,
                user_login: login.to_owned(),
                body: body.to_owned(),
            });
        id
    }

    /// Adds `login`'s reply to review comment `in_reply_to` of PR `number`, in the same thread
    /// (GitHub points every reply at the thread's first comment); its id.
    pub fn add_review_reply(
        &self,
        repo: &str,
        number: u64,
        in_reply_to: i64,
        login: &str,
        body: &str,
    ) -> i64 {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        let parent = world
            .review_comments
            .get(&repo_id)
            .and_then(|all| all.iter().find(|c| c.id == in_reply_to && c.pr == number))
            .cloned()
            .unwrap_or_else(|| panic!("no review comment {in_reply_to} on {repo}#{number}"));
        // A reply is a one-comment review of its author, as on GitHub.
        let review_id = world.next_id();
        let id = world.next_id();
        world.reviews.entry(repo_id).or_default().push(FakeReview {
            id: review_id,
            pr: number,
            commit_id: parent.commit_id.clone(),
            body: String::new(),
            state: "COMMENTED".into(),
            user_login: login.to_owned(),
        });
        let reply = FakeReviewComment {
            id,
            review_id,
            body: body.to_owned(),
            user_login: login.to_owned(),
            in_reply_to_id: Some(parent.in_reply_to_id.unwrap_or(parent.id)),
            ..parent
        };
        world
            .review_comments
            .entry(repo_id)
            .or_default()
            .push(reply);
        id
    }

    /// Adds a check run made by another App (or by ours in an earlier life) on `head_sha`; its id.
    pub fn add_check_run(
        &self,
        repo: &str,
        app_id: u64,
        name: &str,
        head_sha: &str,
        status: &str,
    ) -> i64 {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        let id = world.next_id();
        world
            .check_runs
            .entry(repo_id)
            .or_default()
            .push(FakeCheckRun {
                id,
                name: name.to_owned(),
                head_sha: head_sha.to_owned(),
                status: status.to_owned(),
                conclusion: None,
                title: None,
                summary: None,
                app_id,
            });
        id
    }
}

/// A stable fake numeric id for a login.
fn user_id(login: &str) -> u64 {
    // FNV-1a: deterministic across runs, unlike std's hasher.
    let hash = login
        .to_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    hash % 100_000_000 + 1
}

/// A user as GitHub's `simple-user` schema describes it (every required field).
pub(crate) fn simple_user(login: &str) -> Value {
    let id = user_id(login);
    let kind = if login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    };
    let url = format!("https://api.github.com/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_fake{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": url,
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{url}/followers"),
        "following_url": format!("{url}/following{{/other_user}}"),
        "gists_url": format!("{url}/gists{{/gist_id}}"),
        "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{url}/subscriptions"),
        "organizations_url": format!("{url}/orgs"),
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events{{/privacy}}"),
        "received_events_url": format!("{url}/received_events"),
        "type": kind,
        "site_admin": false,
    })
}

/// True when the request's `Accept` names a media type containing `needle`.
fn accepts(headers: &HeaderMap, needle: &str) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(needle))
}

/// Whether PR (= issue) `number` exists on the repository; routes under it answer 404 if not.
fn pull_exists(world: &Shared, repo_id: i64, number: u64) -> bool {
    lock(world).pulls.contains_key(&(repo_id, number))
}

/// `GET …/pulls/{pull_number}/comments`: every review comment on the PR, replies included,
/// oldest first, paginated.
pub(crate) async fn list_pull_review_comments(
    State(world): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    if !pull_exists(&world, repo_id, number) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let items: Vec<Value> = lock(&world)
        .review_comments
        .get(&repo_id)
        .map(|all| {
            all.iter()
                .filter(|c| c.pr == number)
                .map(comment_json)
                .collect()
        })
        .unwrap_or_default();
    let path = format!("/repos/{owner}/{repo}/pulls/{number}/comments");
    paginated(&world, &path, &query, items)
}

/// `GET …/compare/{base}...{head}`: the JSON comparison, or the diff for the diff media type
/// (406 when set too large); 404 for a pair never set.
pub(crate) async fn compare(
    State(world): State<Shared>,
    Path((owner, repo, basehead)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let Some((base, head)) = basehead.split_once("...") else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let guard = lock(&world);
    let Some(comparison) = guard
        .compares
        .get(&(repo_id, base.to_owned(), head.to_owned()))
    else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if accepts(&headers, "vnd.github.diff") || accepts(&headers, "vnd.github.v3.diff") {
        if comparison.too_large {
            return (StatusCode::NOT_ACCEPTABLE, axum::Json(diff_too_large())).into_response();
        }
        return (
            [(
                header::CONTENT_TYPE,
                "application/vnd.github.diff; charset=utf-8",
            )],
            comparison.diff.clone(),
        )
            .into_response();
    }
    let (ahead_by, behind_by) = match comparison.status.as_str() {
        "ahead" => (1, 0),
        "behind" => (0, 1),
        "diverged" => (1, 1),
        _ => (0, 0),
    };
    let files: Vec<Value> = files_from_diff(&String::from_utf8_lossy(&comparison.diff))
        .iter()
        .map(file_json)
        .collect();
    let full_name = guard
        .repos
        .get(&repo_id)
        .map_or_else(String::new, |r| r.full_name.clone());
    let url = format!("{}/repos/{full_name}/compare/{basehead}", guard.base_url);
    axum::Json(json!({
        "url": url,
        "html_url": format!("https://github.com/{full_name}/compare/{basehead}"),
        "permalink_url": format!("https://github.com/{full_name}/compare/{basehead}"),
        "diff_url": format!("https://github.com/{full_name}/compare/{basehead}.diff"),
        "patch_url": format!("https://github.com/{full_name}/compare/{basehead}.patch"),
        "base_commit": { "sha": base },
        "merge_base_commit": { "sha": if behind_by == 0 { base } else { "" } },
        "status": comparison.status,
        "ahead_by": ahead_by,
        "behind_by": behind_by,
        "total_commits": ahead_by,
        "commits": [],
        "files": files,
    }))
    .into_response()
}

/// The query of the tree route.
#[derive(Deserialize)]
pub(crate) struct TreeQuery {
    recursive: Option<String>,
}

/// `GET …/git/trees/{tree_sha}[?recursive=1]`: the tree of a ref, derived from the contents
/// stored with `set_file` for exactly that ref (directories included); 404 for a ref with
/// none. Over the entry limit the listing is cut and `truncated`, like GitHub's.
pub(crate) async fn get_tree(
    State(world): State<Shared>,
    Path((owner, repo, tree_sha)): Path<(String, String, String)>,
    Query(query): Query<TreeQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let guard = lock(&world);
    // Path → size for files, `None` for directories; sorted like git lists a tree walk.
    let mut entries: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for ((id, git_ref, path), content) in &guard.contents {
        if *id != repo_id || *git_ref != tree_sha {
            continue;
        }
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            entries.insert(parent.to_owned(), None);
            dir = parent;
        }
        entries.insert(path.clone(), Some(content.len()));
    }
    if entries.is_empty() {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    // GitHub recurses for any value of `recursive`, and only lists the top level without it.
    if query.recursive.is_none() {
        entries.retain(|path, _| !path.contains('/'));
    }
    let truncated = entries.len() > guard.tree_entry_limit;
    let full_name = guard
        .repos
        .get(&repo_id)
        .map_or_else(String::new, |r| r.full_name.clone());
    let git_url = format!("{}/repos/{full_name}/git", guard.base_url);
    let tree: Vec<Value> = entries
        .iter()
        .take(guard.tree_entry_limit)
        .map(|(path, size)| {
            let sha = format!("{:040x}", user_id(path));
            match size {
                Some(size) => json!({
                    "path": path, "mode": "100644", "type": "blob", "sha": sha, "size": size,
                    "url": format!("{git_url}/blobs/{sha}"),
                }),
                None => json!({
                    "path": path, "mode": "040000", "type": "tree", "sha": sha,
                    "url": format!("{git_url}/trees/{sha}"),
                }),
            }
        })
        .collect();
    let sha = format!("{:040x}", user_id(&tree_sha));
    axum::Json(json!({
        "sha": sha,
        "url": format!("{git_url}/trees/{sha}"),
        "tree": tree,
        "truncated": truncated,
    }))
    .into_response()
}

/// `GET …/collaborators/{username}/permission`: the legacy `permission` and the `role_name`,
/// `read` for logins never set.
pub(crate) async fn get_collaborator_permission(
    State(world): State<Shared>,
    Path((owner, repo, username)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let access = lock(&world)
        .access
        .get(&(repo_id, username.to_lowercase()))
        .cloned()
        .unwrap_or_else(|| Access {
            permission: "read".into(),
            role_name: "read".into(),
        });
    axum::Json(permission_json(&username, &access)).into_response()
}

/// The collaborator permission answer, as GitHub's `repository-collaborator-permission`
/// schema describes it.
pub(crate) fn permission_json(username: &str, access: &Access) -> Value {
    let permission = access.permission.as_str();
    let role = access.role_name.as_str();
    let mut collaborator = simple_user(username);
    if let Some(object) = collaborator.as_object_mut() {
        object.insert("role_name".into(), json!(role));
        object.insert(
            "permissions".into(),
            json!({
                "admin": permission == "admin",
                "maintain": permission == "admin" || role == "maintain",
                "push": matches!(permission, "admin" | "write"),
                "triage": matches!(permission, "admin" | "write") || role == "triage",
                "pull": permission != "none",
            }),
        );
    }
    json!({
        "permission": permission,
        "role_name": role,
        "user": collaborator,
    })
}

/// An issue comment as GitHub's `issue-comment` schema describes it.
pub(crate) fn issue_comment_json(
    base_url: &str,
    full_name: &str,
    comment: &FakeIssueComment,
) -> Value {
    let issue_url = format!("{base_url}/repos/{full_name}/issues/{}", comment.issue);
    json!({
        "id": comment.id,
        "node_id": format!("IC_fake{}", comment.id),
        "url": format!("{base_url}/repos/{full_name}/issues/comments/{}", comment.id),
        "html_url": format!("https://github.com/{full_name}/pull/{}#issuecomment-{}", comment.issue, comment.id),
        "issue_url": issue_url,
        "body": comment.body,
        "user": simple_user(&comment.user_login),
        "created_at": now(),
        "updated_at": now(),
        "author_association": "NONE",
        "performed_via_github_app": null,
    })
}

/// `GET …/issues/{issue_number}/comments`: a PR's conversation, oldest first, paginated.
pub(crate) async fn list_issue_comments(
    State(world): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    if !pull_exists(&world, repo_id, number) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let items: Vec<Value> = {
        let guard = lock(&world);
        let full_name = guard
            .repos
            .get(&repo_id)
            .map_or_else(String::new, |r| r.full_name.clone());
        guard
            .issue_comments
            .get(&repo_id)
            .map(|all| {
                all.iter()
                    .filter(|c| c.issue == number)
                    .map(|c| issue_comment_json(&guard.base_url, &full_name, c))
                    .collect()
            })
            .unwrap_or_default()
    };
    let path = format!("/repos/{owner}/{repo}/issues/{number}/comments");
    paginated(&world, &path, &query, items)
}

/// GitHub's 422 "Validation Failed" for an issue comment body.
fn invalid_body(code: &str, message: &str) -> Response {
    let body = json!({
        "message": "Validation Failed",
        "errors": [{ "resource": "IssueComment", "code": code, "field": "body", "message": message }],
        "documentation_url": DOCS_URL,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// `POST …/issues/{issue_number}/comments`: authored by the App's bot user; a blank or
/// over-long body is GitHub's 422.
pub(crate) async fn create_issue_comment(
    State(world): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    if !pull_exists(&world, repo_id, number) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
    if text.trim().is_empty() {
        return invalid_body("missing_field", "Body cannot be blank");
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return invalid_body(
            "unprocessable",
            "Body is too long (maximum is 65536 characters)",
        );
    }
    let mut guard = lock(&world);
    let comment = FakeIssueComment {
        id: guard.next_id(),
        issue: number,
        user_login: format!("{APP_SLUG}[bot]"),
        body: text.to_owned(),
    };
    let full_name = guard
        .repos
        .get(&repo_id)
        .map_or_else(String::new, |r| r.full_name.clone());
    let answer = issue_comment_json(&guard.base_url, &full_name, &comment);
    guard
        .issue_comments
        .entry(repo_id)
        .or_default()
        .push(comment);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// The filters of the check-runs route (paging is read separately, as [`PageQuery`]).
#[derive(Deserialize)]
pub(crate) struct CheckRunsQuery {
    check_name: Option<String>,
    app_id: Option<u64>,
    filter: Option<String>,
}

/// `GET …/commits/{ref}/check-runs`: the check runs on a commit (or on a PR's head branch),
/// filtered by `check_name` and `app_id`; `filter=latest` (the default) keeps only the newest
/// run of each name and App. An object with `total_count`, paginated.
pub(crate) async fn list_check_runs_for_ref(
    State(world): State<Shared>,
    Path((owner, repo, git_ref)): Path<(String, String, String)>,
    Query(page): Query<PageQuery>,
    Query(query): Query<CheckRunsQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let latest = query.filter.as_deref() != Some("all");
    let items: Vec<Value> = {
        let guard = lock(&world);
        // A branch name resolves to the head commit of the PR from that branch.
        let sha = guard
            .pulls
            .iter()
            .find(|((id, _), pr)| *id == repo_id && pr.head_ref == git_ref)
            .map_or_else(|| git_ref.clone(), |(_, pr)| pr.head_sha.clone());
        let runs: Vec<&FakeCheckRun> = guard
            .check_runs
            .get(&repo_id)
            .map(|all| {
                all.iter()
                    .filter(|r| r.head_sha == sha)
                    .filter(|r| query.check_name.as_ref().is_none_or(|n| *n == r.name))
                    .filter(|r| query.app_id.is_none_or(|a| a == r.app_id))
                    .collect()
            })
            .unwrap_or_default();
        runs.iter()
            .filter(|r| {
                !latest
                    || !runs
                        .iter()
                        .any(|o| o.name == r.name && o.app_id == r.app_id && o.id > r.id)
            })
            .map(|r| check_run_json(r))
            .collect()
    };
    let mut filters = Vec::new();
    if let Some(name) = &query.check_name {
        let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        filters.push(format!("check_name={encoded}"));
    }
    if let Some(app_id) = query.app_id {
        filters.push(format!("app_id={app_id}"));
    }
    if let Some(filter) = &query.filter {
        let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        filters.push(format!("filter={encoded}"));
    }
    let path = format!("/repos/{owner}/{repo}/commits/{git_ref}/check-runs");
    let page = Page::of(&world, &path, &filters.join("&"), &page, items);
    let body = json!({ "total_count": page.total, "check_runs": page.items });
    with_link(axum::Json(body).into_response(), page.link)
}

//! The fake GitHub's pull requests, file contents, reviews, review comments and check runs.
//! Shared helpers for the other repository routes (repos.rs) live here too: repository
//! authorization, pagination and GitHub's JSON shapes.
//!
//! Reviews are validated like GitHub does: every inline comment must sit on a new-side line
//! inside a hunk of its file's patch, else the whole review is refused with 422 and nothing
//! is stored.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::FakeGitHub;
use super::routes::{
    DEFAULT_PER_PAGE, DOCS_URL, MAX_PER_PAGE, PageQuery, Refused, Shared, github_error, lock,
    require_installation_token,
};
use super::state::World;

/// GitHub's 406 message when a PR's diff has too many files.
const TOO_LARGE_MESSAGE: &str = "Sorry, the diff exceeded the maximum number of files (300). Consider using 'List pull requests files' API or locally cloning the repository instead.";

/// GitHub's 422 errors entry for an inline comment outside the diff.
const LINE_NOT_IN_DIFF: &str = "Pull request review thread line must be part of the diff";

/// GitHub's 422 errors entry for a comment on a file the PR does not change.
const PATH_NOT_IN_DIFF: &str = "Path could not be resolved";

/// A pull request in the fake world. Tests change fields through
/// [`FakeGitHub::update_pull_request`].
#[derive(Debug, Clone, PartialEq)]
pub struct FakePullRequest {
    /// The PR number.
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    /// Draft flag.
    pub draft: bool,
    /// Title.
    pub title: String,
    /// The author's login.
    pub author: String,
    /// Head commit.
    pub head_sha: String,
    /// Head branch.
    pub head_ref: String,
    /// `owner/name` of the head repository; `None` for a deleted fork.
    pub head_repo: Option<String>,
    /// Base commit.
    pub base_sha: String,
    /// Base branch.
    pub base_ref: String,
    /// The unified diff served for the diff media type.
    pub diff: Vec<u8>,
    /// The files list served by `…/files` (and used to validate review comment lines).
    pub files: Vec<FakePullFile>,
    /// When true the diff media type answers GitHub's 406 "too large".
    pub too_large: bool,
    /// When the PR last changed: set when it is added, and moved to now by every
    /// [`FakeGitHub::update_pull_request`] that does not set it itself.
    pub updated_at: DateTime<Utc>,
}

/// One changed file of a fake PR, as `GET …/pulls/{n}/files` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePullFile {
    /// New-side path.
    pub filename: String,
    /// Old path of a rename.
    pub previous_filename: Option<String>,
    /// `added`, `removed`, `modified`, `renamed`, …
    pub status: String,
    /// Added lines.
    pub additions: u64,
    /// Removed lines.
    pub deletions: u64,
    /// The hunks from the first `@@` on; `None` for binary files.
    pub patch: Option<String>,
}

/// A review stored by the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeReview {
    /// Its id.
    pub id: i64,
    /// The PR number.
    pub pr: u64,
    /// The commit it was made on.
    pub commit_id: String,
    /// Body text.
    pub body: String,
    /// `COMMENTED`, `APPROVED`, `CHANGES_REQUESTED` or `PENDING`.
    pub state: String,
    /// The author (the App's bot user for requests with an installation token).
    pub user_login: String,
}

/// A review comment stored by the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeReviewComment {
    /// Its id.
    pub id: i64,
    /// The review it belongs to.
    pub review_id: i64,
    /// The PR number.
    pub pr: u64,
    /// File path.
    pub path: String,
    /// New-side line; `None` for a file-level comment.
    pub line: Option<u32>,
    /// `RIGHT` or `LEFT`; `None` for a file-level comment.
    pub side: Option<String>,
    /// `line` or `file`.
    pub subject_type: String,
    /// Body text.
    pub body: String,
    /// The commit it was made on.
    pub commit_id: String,
    /// The author (the App's bot user for requests with an installation token).
    pub user_login: String,
    /// The comment this one replies to; `None` for the first comment of a thread.
    pub in_reply_to_id: Option<i64>,
}

/// A check run stored by the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCheckRun {
    /// Its id.
    pub id: i64,
    /// Check name.
    pub name: String,
    /// The commit it reports on.
    pub head_sha: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// Set once completed.
    pub conclusion: Option<String>,
    /// `output.title`.
    pub title: Option<String>,
    /// `output.summary`.
    pub summary: Option<String>,
    /// The App that made it (the test App for requests with an installation token).
    pub app_id: u64,
}

/// The 406 body GitHub sends when a diff is too large.
pub fn diff_too_large() -> Value {
    json!({
        "message": TOO_LARGE_MESSAGE,
        "errors": [{ "resource": "PullRequest", "field": "diff", "code": "too_large" }],
        "documentation_url": DOCS_URL,
    })
}

impl FakeGitHub {
    /// Opens PR `number` on `repo` (an `owner/name` added before) from `feature` at `head_sha`
    /// onto `main` at `base_sha`, authored by `octocat`, with an empty diff.
    pub fn add_pull_request(&self, repo: &str, number: u64, head_sha: &str, base_sha: &str) {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world.pulls.insert(
            (repo_id, number),
            FakePullRequest {
                number,
                state: "open".into(),
                draft: false,
                title: format!("PR {number}"),
                author: "octocat".into(),
                head_sha: head_sha.into(),
                head_ref: "feature".into(),
                head_repo: Some(repo.into()),
                base_sha: base_sha.into(),
                base_ref: "main".into(),
                diff: Vec::new(),
                files: Vec::new(),
                too_large: false,
                updated_at: Utc::now(),
            },
        );
    }

    /// Changes a PR in place (draft, state, author, head, …).
    pub fn update_pull_request(
        &self,
        repo: &str,
        number: u64,
        change: impl FnOnce(&mut FakePullRequest),
    ) {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        let pr = world
            .pulls
            .get_mut(&(repo_id, number))
            .unwrap_or_else(|| panic!("add_pull_request({repo}, {number}, …) first"));
        let updated_at = pr.updated_at;
        change(pr);
        if pr.updated_at == updated_at {
            pr.updated_at = Utc::now();
        }
    }

    /// Sets a PR's unified diff and derives its files list (with per-file `patch`) from it.
    pub fn set_diff(&self, repo: &str, number: u64, diff: &str) {
        let files = files_from_diff(diff);
        self.update_pull_request(repo, number, |pr| {
            pr.diff = diff.as_bytes().to_vec();
            pr.files = files;
        });
    }

    /// Makes the PR's diff media type answer GitHub's 406 "too large" (or not).
    pub fn set_too_large(&self, repo: &str, number: u64, too_large: bool) {
        self.update_pull_request(repo, number, |pr| pr.too_large = too_large);
    }

    /// Stores a file's content at a git ref (a branch name or a commit SHA) of `repo`.
    pub fn set_file(&self, repo: &str, git_ref: &str, path: &str, content: &[u8]) {
        let mut world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world
            .contents
            .insert((repo_id, git_ref.into(), path.into()), content.to_vec());
    }

    /// The reviews stored on a PR, oldest first.
    pub fn reviews(&self, repo: &str, number: u64) -> Vec<FakeReview> {
        let world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world
            .reviews
            .get(&repo_id)
            .map(|all| all.iter().filter(|r| r.pr == number).cloned().collect())
            .unwrap_or_default()
    }

    /// The review comments stored on a PR, oldest first.
    pub fn review_comments(&self, repo: &str, number: u64) -> Vec<FakeReviewComment> {
        let world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world
            .review_comments
            .get(&repo_id)
            .map(|all| all.iter().filter(|c| c.pr == number).cloned().collect())
            .unwrap_or_default()
    }

    /// The check runs of a repository, oldest first.
    pub fn check_runs(&self, repo: &str) -> Vec<FakeCheckRun> {
        let world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world.check_runs.get(&repo_id).cloned().unwrap_or_default()
    }
}

/// A repository's id for test setup; panics with a hint when it was never added.
pub(crate) fn setup_repo(world: &World, repo: &str) -> i64 {
    world
        .repo_id(repo)
        .unwrap_or_else(|| panic!("add_repository(…, {repo:?}) first"))
}

/// Splits a unified git diff into GitHub's files list: path, status, counts and `patch`
/// (the text from the file's first `@@`).
pub(crate) fn files_from_diff(diff: &str) -> Vec<FakePullFile> {
    let mut files = Vec::new();
    for section in diff.split("diff --git ").skip(1) {
        let mut file = FakePullFile {
            filename: String::new(),
            previous_filename: None,
            status: "modified".into(),
            additions: 0,
            deletions: 0,
            patch: None,
        };
        let mut old_path = None;
        let mut patch_lines: Vec<&str> = Vec::new();
        let header_paths = section.lines().next().unwrap_or_default();
        for line in section.lines().skip(1) {
            if !patch_lines.is_empty() || line.starts_with("@@") {
                if line.starts_with('+') {
                    file.additions += 1;
                } else if line.starts_with('-') {
                    file.deletions += 1;
                }
                patch_lines.push(line);
            } else if line.starts_with("new file mode") {
                file.status = "added".into();
            } else if line.starts_with("deleted file mode") {
                file.status = "removed".into();
            } else if let Some(from) = line.strip_prefix("rename from ") {
                file.status = "renamed".into();
                file.previous_filename = Some(from.into());
            } else if let Some(to) = line.strip_prefix("rename to ") {
                file.filename = to.into();
            } else if let Some(old) = line.strip_prefix("--- a/") {
                old_path = Some(old.to_owned());
            } else if let Some(new) = line.strip_prefix("+++ b/") {
                file.filename = new.into();
            }
        }
        if file.filename.is_empty() {
            // Deleted files have `+++ /dev/null`; mode-only changes have no ---/+++ at all.
            file.filename = old_path.unwrap_or_else(|| {
                header_paths
                    .split_once(" b/")
                    .map_or_else(String::new, |(_, b)| b.to_owned())
            });
        }
        if !patch_lines.is_empty() {
            file.patch = Some(patch_lines.join("\n"));
        }
        files.push(file);
    }
    files
}

/// The new-side line numbers a review comment may target in a file's patch: added and
/// context lines inside hunks.
pub(crate) fn right_side_lines(patch: &str) -> BTreeSet<u32> {
    let mut lines = BTreeSet::new();
    let mut next: Option<u32> = None;
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("@@ ") {
            // `@@ -a,b +c,d @@`: the new side starts at c.
            next = rest
                .split_whitespace()
                .find_map(|part| part.strip_prefix('+'))
                .and_then(|new| new.split(',').next())
                .and_then(|start| start.parse().ok());
            continue;
        }
        let Some(current) = next else { continue };
        match line.as_bytes().first() {
            Some(b'+') | Some(b' ') => {
                lines.insert(current);
                next = Some(current + 1);
            }
            // An empty line inside a hunk is a context line whose leading space was trimmed.
            None => {
                lines.insert(current);
                next = Some(current + 1);
            }
            _ => {}
        }
    }
    lines
}

/// Standard base64 with padding and a line break every 60 characters, as the contents API sends.
fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut flat = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                flat.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                flat.push('=');
            }
        }
    }
    let mut out = String::new();
    for (i, c) in flat.chars().enumerate() {
        if i > 0 && i % 60 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out.push('\n');
    out
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Why a request may not touch a repository (small, unlike a `Response`).
pub(crate) enum Denied {
    /// No live installation token: 401.
    Credentials(Refused),
    /// Unknown repository, or one the installation cannot see: 404 like GitHub.
    NotFound,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Self::Credentials(refused) => refused.into_response(),
            Self::NotFound => github_error(StatusCode::NOT_FOUND, "Not Found"),
        }
    }
}

/// The repository a token-authenticated request names, if its installation can see it.
pub(crate) fn authorized_repo(
    world: &Shared,
    headers: &HeaderMap,
    owner: &str,
    repo: &str,
) -> Result<i64, Denied> {
    let installation = require_installation_token(world, headers).map_err(Denied::Credentials)?;
    lock(world)
        .repo_for(installation, owner, repo)
        .ok_or(Denied::NotFound)
}

/// One page of `items` with GitHub's `Link` header pointing at `path`.
pub(crate) fn paginated(
    world: &Shared,
    path: &str,
    query: &PageQuery,
    items: Vec<Value>,
) -> Response {
    let Page { items, link, .. } = Page::of(world, path, "", query, items);
    with_link(axum::Json(Value::Array(items)).into_response(), link)
}

/// One page of a list, and the `Link` header GitHub would send with it.
pub(crate) struct Page {
    /// The page's items.
    pub items: Vec<Value>,
    /// How many items all pages hold.
    pub total: usize,
    /// `rel="prev"`, `"next"` and `"last"` links, when there is more than one page.
    pub link: Option<HeaderValue>,
}

impl Page {
    /// Cuts page `query.page` out of `items`. Links point at `path` with `filters` (an
    /// already-encoded query, or `""`) before `per_page` and `page`, as GitHub repeats them.
    pub(crate) fn of(
        world: &Shared,
        path: &str,
        filters: &str,
        query: &PageQuery,
        items: Vec<Value>,
    ) -> Page {
        let per_page = query
            .per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE);
        let page = query.page.unwrap_or(1).max(1);
        let total = items.len();
        let last_page = total.div_ceil(per_page).max(1);
        let items: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let base_url = lock(world).base_url.clone();
        let filters = if filters.is_empty() {
            String::new()
        } else {
            format!("{filters}&")
        };
        let page_url =
            |n: usize| format!("<{base_url}{path}?{filters}per_page={per_page}&page={n}>");
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", page_url(page - 1)));
        }
        if page < last_page {
            links.push(format!("{}; rel=\"next\"", page_url(page + 1)));
            links.push(format!("{}; rel=\"last\"", page_url(last_page)));
        }
        let link = (!links.is_empty())
            .then(|| HeaderValue::from_str(&links.join(", ")).ok())
            .flatten();
        Page { items, total, link }
    }
}

/// `response` with a `Link` header, if there is one.
pub(crate) fn with_link(mut response: Response, link: Option<HeaderValue>) -> Response {
    if let Some(value) = link {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

fn user(login: &str) -> Value {
    let kind = if login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    };
    json!({ "login": login, "id": 1, "type": kind })
}

fn pull_json(world: &World, repo_id: i64, pr: &FakePullRequest) -> Value {
    let full_name = world
        .repos
        .get(&repo_id)
        .map_or_else(String::new, |r| r.full_name.clone());
    let repo_json = |name: &str| json!({ "id": repo_id, "full_name": name, "name": name.split('/').nth(1), "default_branch": "main" });
    json!({
        "url": format!("{}/repos/{full_name}/pulls/{}", world.base_url, pr.number),
        "id": repo_id * 10_000 + pr.number as i64,
        "number": pr.number,
        "state": pr.state,
        "locked": false,
        "title": pr.title,
        "draft": pr.draft,
        "user": user(&pr.author),
        "head": {
            "label": format!("{}:{}", full_name.split('/').next().unwrap_or_default(), pr.head_ref),
            "ref": pr.head_ref,
            "sha": pr.head_sha,
            "repo": pr.head_repo.as_deref().map(repo_json),
        },
        "base": {
            "ref": pr.base_ref,
            "sha": pr.base_sha,
            "repo": repo_json(&full_name),
        },
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": pr.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

fn review_json(review: &FakeReview) -> Value {
    json!({
        "id": review.id,
        "node_id": format!("PRR_fake{}", review.id),
        "user": user(&review.user_login),
        "body": review.body,
        "state": review.state,
        "commit_id": review.commit_id,
        "submitted_at": now(),
        "author_association": "NONE",
        "html_url": format!("https://github.com/pull/{}#pullrequestreview-{}", review.pr, review.id),
        "pull_request_url": format!("https://api.github.com/pulls/{}", review.pr),
        "_links": { "html": { "href": "" }, "pull_request": { "href": "" } },
    })
}

/// A review comment as GitHub's `pull-request-review-comment` schema describes it.
pub(crate) fn comment_json(comment: &FakeReviewComment) -> Value {
    let api = "https://api.github.com";
    let html_url = format!(
        "https://github.com/pull/{}#discussion_r{}",
        comment.pr, comment.id
    );
    let pull_url = format!("{api}/pulls/{}", comment.pr);
    let self_url = format!("{api}/pulls/comments/{}", comment.id);
    json!({
        "url": self_url,
        "html_url": html_url,
        "pull_request_url": pull_url,
        "_links": {
            "self": { "href": self_url },
            "html": { "href": html_url },
            "pull_request": { "href": pull_url },
        },
        "author_association": "NONE",
        "diff_hunk": "",
        "id": comment.id,
        "node_id": format!("PRRC_fake{}", comment.id),
        "pull_request_review_id": comment.review_id,
        "path": comment.path,
        "line": comment.line,
        "original_line": comment.line,
        "side": comment.side,
        "subject_type": comment.subject_type,
        "body": comment.body,
        "commit_id": comment.commit_id,
        "original_commit_id": comment.commit_id,
        "in_reply_to_id": comment.in_reply_to_id,
        "user": super::repos::simple_user(&comment.user_login),
        "created_at": now(),
        "updated_at": now(),
    })
}

/// The slug of App `app_id`: ours, or a made-up one for the other Apps tests add.
fn app_slug(app_id: u64) -> String {
    if app_id == super::TEST_APP_ID {
        super::APP_SLUG.to_owned()
    } else {
        format!("app-{app_id}")
    }
}

pub(crate) fn check_run_json(run: &FakeCheckRun) -> Value {
    json!({
        "id": run.id,
        "node_id": format!("CR_fake{}", run.id),
        "head_sha": run.head_sha,
        "name": run.name,
        "status": run.status,
        "conclusion": run.conclusion,
        "output": { "title": run.title, "summary": run.summary, "text": null, "annotations_count": 0 },
        "app": { "id": run.app_id, "slug": app_slug(run.app_id) },
    })
}

/// `GET /repos/{owner}/{repo}/pulls/{pull_number}`: JSON, or the diff for the diff media type.
pub(crate) async fn get_pull(
    State(world): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let guard = lock(&world);
    let Some(pr) = guard.pulls.get(&(repo_id, number)) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let wants_diff = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.contains("vnd.github.diff") || accept.contains("vnd.github.v3.diff")
        });
    if !wants_diff {
        return axum::Json(pull_json(&guard, repo_id, pr)).into_response();
    }
    if pr.too_large {
        return (StatusCode::NOT_ACCEPTABLE, axum::Json(diff_too_large())).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/vnd.github.diff; charset=utf-8",
        )],
        pr.diff.clone(),
    )
        .into_response()
}

/// One changed file as GitHub's files lists (PR files, comparisons) show it.
pub(crate) fn file_json(f: &FakePullFile) -> Value {
    let mut file = json!({
        "sha": format!("{:040x}", f.filename.len()),
        "filename": f.filename,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": "", "raw_url": "", "contents_url": "",
    });
    if let Some(object) = file.as_object_mut() {
        if let Some(patch) = &f.patch {
            object.insert("patch".into(), json!(patch));
        }
        if let Some(previous) = &f.previous_filename {
            object.insert("previous_filename".into(), json!(previous));
        }
    }
    file
}

/// `GET …/pulls/{pull_number}/files`, paginated.
pub(crate) async fn list_files(
    State(world): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let items: Vec<Value> = {
        let guard = lock(&world);
        let Some(pr) = guard.pulls.get(&(repo_id, number)) else {
            return github_error(StatusCode::NOT_FOUND, "Not Found");
        };
        pr.files.iter().map(file_json).collect()
    };
    let path = format!("/repos/{owner}/{repo}/pulls/{number}/files");
    paginated(&world, &path, &query, items)
}

/// `GET …/pulls/{pull_number}/reviews`, paginated.
pub(crate) async fn list_reviews(
    State(world): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let items: Vec<Value> = lock(&world)
        .reviews
        .get(&repo_id)
        .map(|all| {
            all.iter()
                .filter(|r| r.pr == number)
                .map(review_json)
                .collect()
        })
        .unwrap_or_default();
    let path = format!("/repos/{owner}/{repo}/pulls/{number}/reviews");
    paginated(&world, &path, &query, items)
}

/// `GET …/pulls/{pull_number}/reviews/{review_id}/comments`, paginated.
pub(crate) async fn list_review_comments(
    State(world): State<Shared>,
    Path((owner, repo, number, review_id)): Path<(String, String, u64, i64)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let items: Vec<Value> = {
        let guard = lock(&world);
        let known = guard
            .reviews
            .get(&repo_id)
            .is_some_and(|all| all.iter().any(|r| r.id == review_id && r.pr == number));
        if !known {
            return github_error(StatusCode::NOT_FOUND, "Not Found");
        }
        guard
            .review_comments
            .get(&repo_id)
            .map(|all| {
                all.iter()
                    .filter(|c| c.review_id == review_id)
                    .map(comment_json)
                    .collect()
            })
            .unwrap_or_default()
    };
    let path = format!("/repos/{owner}/{repo}/pulls/{number}/reviews/{review_id}/comments");
    paginated(&world, &path, &query, items)
}

/// GitHub's 422 for a review or comment it cannot anchor.
pub(crate) fn unprocessable(error: &str) -> Response {
    let body = json!({ "message": "Unprocessable Entity", "errors": [error], "documentation_url": DOCS_URL });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// Checks one comment's anchor against the PR's files like GitHub; the 422 error text if not.
fn check_anchor(pr: &FakePullRequest, comment: &Value) -> Result<(), &'static str> {
    let path = comment
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(file) = pr.files.iter().find(|f| f.filename == path) else {
        return Err(PATH_NOT_IN_DIFF);
    };
    if comment.get("subject_type").and_then(Value::as_str) == Some("file") {
        return Ok(());
    }
    let side = comment
        .get("side")
        .and_then(Value::as_str)
        .unwrap_or("RIGHT");
    let line = comment.get("line").and_then(Value::as_u64);
    // The fake only models new-side `line` anchors; `position` and LEFT are refused so a
    // test notices if the bot starts sending them.
    let (Some(line), "RIGHT") = (line, side) else {
        return Err(LINE_NOT_IN_DIFF);
    };
    let valid = file
        .patch
        .as_deref()
        .map(right_side_lines)
        .unwrap_or_default();
    match u32::try_from(line) {
        Ok(line) if valid.contains(&line) => Ok(()),
        _ => Err(LINE_NOT_IN_DIFF),
    }
}

fn new_comment(
    id: i64,
    review_id: i64,
    pr: u64,
    commit_id: &str,
    comment: &Value,
) -> FakeReviewComment {
    let text = |key: &str| comment.get(key).and_then(Value::as_str).map(str::to_owned);
    let file_level = text("subject_type").as_deref() == Some("file");
    FakeReviewComment {
        id,
        review_id,
        pr,
        path: text("path").unwrap_or_default(),
        line: if file_level {
            None
        } else {
            comment
                .get("line")
                .and_then(Value::as_u64)
                .and_then(|l| u32::try_from(l).ok())
        },
        side: if file_level {
            None
        } else {
            Some(text("side").unwrap_or_else(|| "RIGHT".into()))
        },
        subject_type: if file_level {
            "file".into()
        } else {
            "line".into()
        },
        body: text("body").unwrap_or_default(),
        commit_id: text("commit_id").unwrap_or_else(|| commit_id.to_owned()),
        // Only installation tokens reach these routes: the App's bot user is the author.
        user_login: format!("{}[bot]", super::APP_SLUG),
        in_reply_to_id: None,
    }
}

/// `POST …/pulls/{pull_number}/reviews`: all comments are checked first; one bad anchor
/// refuses the whole review and nothing is stored.
pub(crate) async fn create_review(
    State(world): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let mut guard = lock(&world);
    let Some(pr) = guard.pulls.get(&(repo_id, number)).cloned() else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let comments: Vec<Value> = body
        .get("comments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(error) = comments.iter().find_map(|c| check_anchor(&pr, c).err()) {
        return unprocessable(error);
    }
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let event = text("event");
    let review_body = text("body").unwrap_or_default();
    if matches!(event.as_deref(), Some("COMMENT" | "REQUEST_CHANGES")) && review_body.is_empty() {
        return unprocessable("Body is required for COMMENT and REQUEST_CHANGES reviews");
    }
    let commit_id = text("commit_id").unwrap_or_else(|| pr.head_sha.clone());
    let review = FakeReview {
        id: guard.next_id(),
        pr: number,
        commit_id: commit_id.clone(),
        body: review_body,
        state: match event.as_deref() {
            Some("COMMENT") => "COMMENTED",
            Some("APPROVE") => "APPROVED",
            Some("REQUEST_CHANGES") => "CHANGES_REQUESTED",
            _ => "PENDING",
        }
        .into(),
        user_login: format!("{}[bot]", super::APP_SLUG),
    };
    for comment in &comments {
        let id = guard.next_id();
        let stored = new_comment(id, review.id, number, &commit_id, comment);
        guard
            .review_comments
            .entry(repo_id)
            .or_default()
            .push(stored);
    }
    let answer = review_json(&review);
    guard.reviews.entry(repo_id).or_default().push(review);
    axum::Json(answer).into_response()
}

/// `POST …/pulls/{pull_number}/comments`: one comment, in a review of its own (as GitHub
/// does for single comments).
pub(crate) async fn create_review_comment(
    State(world): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let mut guard = lock(&world);
    let Some(pr) = guard.pulls.get(&(repo_id, number)).cloned() else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Err(error) = check_anchor(&pr, &body) {
        return unprocessable(error);
    }
    let commit_id = body
        .get("commit_id")
        .and_then(Value::as_str)
        .unwrap_or(&pr.head_sha)
        .to_owned();
    let review = FakeReview {
        id: guard.next_id(),
        pr: number,
        commit_id: commit_id.clone(),
        body: String::new(),
        state: "COMMENTED".into(),
        user_login: format!("{}[bot]", super::APP_SLUG),
    };
    let id = guard.next_id();
    let comment = new_comment(id, review.id, number, &commit_id, &body);
    let answer = comment_json(&comment);
    guard.reviews.entry(repo_id).or_default().push(review);
    guard
        .review_comments
        .entry(repo_id)
        .or_default()
        .push(comment);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

#[derive(serde::Deserialize)]
pub(crate) struct RefQuery {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

/// Files up to this size are inlined as base64 by the contents API; larger ones come back with
/// `encoding: "none"` and empty content, readable only with the raw media type.
pub(crate) const MAX_INLINE_CONTENT_BYTES: usize = 1024 * 1024;

/// The contents API serves nothing larger than this, raw or not.
const MAX_CONTENT_BYTES: usize = 100 * 1024 * 1024;

/// `GET /repos/{owner}/{repo}/contents/{path}?ref=`: base64 like GitHub; 404 when absent. A
/// missing `ref` means the default branch, `main`. Over 1 MB only the raw media type
/// (`application/vnd.github.raw+json`) gives the bytes; over 100 MB nothing does (403).
pub(crate) async fn get_content(
    State(world): State<Shared>,
    Path((owner, repo, path)): Path<(String, String, String)>,
    Query(query): Query<RefQuery>,
    headers: HeaderMap,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let git_ref = query.git_ref.unwrap_or_else(|| "main".into());
    let guard = lock(&world);
    let Some(content) = guard.contents.get(&(repo_id, git_ref, path.clone())) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if content.len() > MAX_CONTENT_BYTES {
        let body = json!({
            "message": "This API returns blobs up to 100 MB in size. The requested blob is too large to fetch via the API, but you can always clone the repository via Git to obtain it.",
            "errors": [{ "resource": "Blob", "field": "data", "code": "too_large" }],
            "documentation_url": DOCS_URL,
        });
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    let wants_raw = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.contains("vnd.github.raw") || accept.contains("vnd.github.v3.raw")
        });
    if wants_raw {
        return (
            [(header::CONTENT_TYPE, "application/vnd.github.raw+json")],
            content.clone(),
        )
            .into_response();
    }
    let (encoding, inline) = if content.len() > MAX_INLINE_CONTENT_BYTES {
        ("none", String::new())
    } else {
        ("base64", encode_base64(content))
    };
    let name = path.rsplit('/').next().unwrap_or_default();
    axum::Json(json!({
        "type": "file",
        "encoding": encoding,
        "size": content.len(),
        "name": name,
        "path": path,
        "content": inline,
        "sha": super::contents::blob_sha(content),
        "url": "", "git_url": null, "html_url": null, "download_url": null,
        "_links": { "git": null, "html": null, "self": "" },
    }))
    .into_response()
}

/// `POST /repos/{owner}/{repo}/check-runs`.
pub(crate) async fn create_check_run(
    State(world): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let output = |key: &str| {
        body.pointer(&format!("/output/{key}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut guard = lock(&world);
    let run = FakeCheckRun {
        id: guard.next_id(),
        name: text("name").unwrap_or_default(),
        head_sha: text("head_sha").unwrap_or_default(),
        status: text("status").unwrap_or_else(|| "queued".into()),
        conclusion: text("conclusion"),
        title: output("title"),
        summary: output("summary"),
        app_id: guard.app_id,
    };
    let answer = check_run_json(&run);
    guard.check_runs.entry(repo_id).or_default().push(run);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// `PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}`.
pub(crate) async fn update_check_run(
    State(world): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, i64)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let output = |key: &str| {
        body.pointer(&format!("/output/{key}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut guard = lock(&world);
    let Some(run) = guard
        .check_runs
        .get_mut(&repo_id)
        .and_then(|runs| runs.iter_mut().find(|r| r.id == id))
    else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Some(conclusion) = text("conclusion") {
        // GitHub: providing a conclusion sets the status to completed.
        run.conclusion = Some(conclusion);
        run.status = "completed".into();
    } else if let Some(status) = text("status") {
        if status == "completed" {
            return unprocessable("conclusion is required when status is completed");
        }
        run.status = status;
    }
    if let Some(title) = output("title") {
        run.title = Some(title);
    }
    if let Some(summary) = output("summary") {
        run.summary = Some(summary);
    }
    axum::Json(check_run_json(run)).into_response()
}

//! The fake GitHub's file writes: `PUT /repos/{owner}/{repo}/contents/{path}`, one commit per
//! call on a branch, with GitHub's checks on the replaced file's blob `sha`.
//!
//! A write stores the new content under the branch name and under the new commit's SHA, with
//! every other file of the branch copied to that commit, so a test (or the bot) can read the
//! file back at either ref. Open pull requests whose head branch it is move their head to the
//! new commit, as a push does on GitHub.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::FakeGitHub;
use super::pulls::{authorized_repo, now, setup_repo};
use super::routes::{Shared, github_error, lock};
use super::state::World;

/// The branch a write without `branch` goes to, and one the fake always knows.
pub(crate) const DEFAULT_BRANCH: &str = "main";

/// A file's blob SHA: 40 hex digits of a digest of `blob <len>\0<bytes>`, so equal contents
/// share a SHA and any change gives a new one (the same input as git's, though not SHA-1).
pub(crate) fn blob_sha(content: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("blob {}\0", content.len()));
    hasher.update(content);
    hex::encode(hasher.finalize())[..40].to_owned()
}

/// A fresh 40-hex commit SHA; `id` keeps two identical writes apart.
fn commit_sha(repo_id: i64, branch: &str, parent: &str, message: &str, id: i64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "commit {repo_id}\0{branch}\0{parent}\0{message}\0{id}"
    ));
    hex::encode(hasher.finalize())[..40].to_owned()
}

/// Standard base64, line breaks allowed (GitHub accepts both); `None` if it is not base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !clean.len().is_multiple_of(4) {
        return None;
    }
    let data = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    let mut bits = 0u32;
    let mut held = 0;
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for &c in data {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
        }
    }
    Some(out)
}

/// Whether `branch` exists in the repository: the default branch, a branch of one of its pull
/// requests, or a ref some file was stored under.
fn branch_known(world: &World, repo_id: i64, branch: &str) -> bool {
    let full_name = world
        .repos
        .get(&repo_id)
        .map(|r| r.full_name.as_str())
        .unwrap_or_default();
    branch == DEFAULT_BRANCH
        || world.pulls.iter().any(|((id, _), pr)| {
            *id == repo_id
                && (pr.base_ref == branch
                    || (pr.head_ref == branch
                        && pr
                            .head_repo
                            .as_deref()
                            .is_some_and(|r| r.eq_ignore_ascii_case(full_name))))
        })
        || world
            .contents
            .keys()
            .any(|(id, git_ref, _)| *id == repo_id && git_ref == branch)
}

/// The commit a new commit on `branch` follows: the last one written there, else the head of
/// a pull request from that branch; `None` when the fake does not know it.
fn parent_of(world: &World, repo_id: i64, branch: &str) -> Option<String> {
    if let Some((sha, _)) = world
        .commits
        .get(&(repo_id, branch.to_owned()))
        .and_then(|commits| commits.last())
    {
        return Some(sha.clone());
    }
    world
        .pulls
        .iter()
        .find(|((id, _), pr)| *id == repo_id && pr.head_ref == branch)
        .map(|(_, pr)| pr.head_sha.clone())
}

/// `PUT /repos/{owner}/{repo}/contents/{path}`: creates (201) or replaces (200) a file in a
/// new commit (see [`write_file`]).
pub(crate) async fn put_content(
    State(world): State<Shared>,
    Path((owner, repo, path)): Path<(String, String, String)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo_id = match authorized_repo(&world, &headers, &owner, &repo) {
        Ok(id) => id,
        Err(denied) => return denied.into_response(),
    };
    match write_file(&mut lock(&world), repo_id, &path, &body) {
        Ok((status, answer)) => (status, axum::Json(answer)).into_response(),
        Err((status, message)) => github_error(status, &message),
    }
}

/// One write of `PUT …/contents/{path}` with request `body`: the status and GitHub's
/// `file-commit` answer, or the error status and message. Replacing a file needs its current
/// blob `sha` (422 without it; 409 when it is not the current one, or the file is gone); an
/// unknown branch is 404.
pub(crate) fn write_file(
    world: &mut World,
    repo_id: i64,
    path: &str,
    body: &Value,
) -> Result<(StatusCode, Value), (StatusCode, String)> {
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let message = text("message").unwrap_or_default().to_owned();
    let branch = text("branch").unwrap_or(DEFAULT_BRANCH).to_owned();
    let Some(content) = decode_base64(text("content").unwrap_or_default()) else {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "content is not valid Base64".into(),
        ));
    };
    if !branch_known(world, repo_id, &branch) {
        return Err((StatusCode::NOT_FOUND, format!("Branch {branch} not found")));
    }
    let key = (repo_id, branch.clone(), path.to_owned());
    let current = world.contents.get(&key).map(|c| blob_sha(c));
    match (current.as_deref(), text("sha")) {
        (Some(_), None) => {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid request.\n\n\"sha\" wasn't supplied.".into(),
            ));
        }
        (current, Some(given)) if current != Some(given) => {
            return Err((
                StatusCode::CONFLICT,
                format!("{path} does not match {given}"),
            ));
        }
        _ => {}
    }
    let created = current.is_none();
    let parent = parent_of(world, repo_id, &branch);
    let id = world.next_id();
    let commit = commit_sha(
        repo_id,
        &branch,
        parent.as_deref().unwrap_or_default(),
        &message,
        id,
    );
    let blob = blob_sha(&content);
    let size = content.len();
    world.contents.insert(key, content);
    let tree: Vec<(String, Vec<u8>)> = world
        .contents
        .iter()
        .filter(|((id, git_ref, _), _)| *id == repo_id && *git_ref == branch)
        .map(|((_, _, file), bytes)| (file.clone(), bytes.clone()))
        .collect();
    for (file, bytes) in tree {
        world
            .contents
            .insert((repo_id, commit.clone(), file), bytes);
    }
    world
        .commits
        .entry((repo_id, branch.clone()))
        .or_default()
        .push((commit.clone(), message.clone()));
    let full_name = world
        .repos
        .get(&repo_id)
        .map(|r| r.full_name.clone())
        .unwrap_or_default();
    for ((id, _), pr) in world.pulls.iter_mut() {
        let from_here = pr
            .head_repo
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(&full_name));
        if *id == repo_id && from_here && pr.head_ref == branch && pr.state == "open" {
            pr.head_sha = commit.clone();
            pr.updated_at = Utc::now();
        }
    }
    let api = format!("{}/repos/{full_name}", world.base_url);
    let html = format!("https://github.com/{full_name}");
    let name = path.rsplit('/').next().unwrap_or_default();
    let bot = json!({
        "name": format!("{}[bot]", super::APP_SLUG),
        "email": format!("{}[bot]@users.noreply.github.com", super::APP_SLUG),
        "date": now(),
    });
    let answer = json!({
        "content": {
            "name": name,
            "path": path,
            "sha": blob,
            "size": size,
            "type": "file",
            "url": format!("{api}/contents/{path}?ref={branch}"),
            "html_url": format!("{html}/blob/{branch}/{path}"),
            "git_url": format!("{api}/git/blobs/{blob}"),
            "download_url": format!("https://raw.githubusercontent.com/{full_name}/{branch}/{path}"),
            "_links": {
                "self": format!("{api}/contents/{path}?ref={branch}"),
                "git": format!("{api}/git/blobs/{blob}"),
                "html": format!("{html}/blob/{branch}/{path}"),
            },
        },
        "commit": {
            "sha": commit,
            "node_id": format!("C_fake{id}"),
            "url": format!("{api}/git/commits/{commit}"),
            "html_url": format!("{html}/commit/{commit}"),
            "author": bot,
            "committer": bot,
            "message": message,
            "tree": { "url": "", "sha": commit_sha(repo_id, &branch, &commit, "tree", id) },
            "parents": parent.iter().map(|sha| json!({
                "url": format!("{api}/git/commits/{sha}"),
                "html_url": format!("{html}/commit/{sha}"),
                "sha": sha,
            })).collect::<Vec<_>>(),
            "verification": {
                "verified": false, "reason": "unsigned", "signature": null, "payload": null,
                "verified_at": null,
            },
        },
    });
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, answer))
}

impl FakeGitHub {
    /// A file's content at a git ref (a branch name or a commit SHA), as set with
    /// [`FakeGitHub::set_file`] or written by `PUT …/contents/{path}`.
    pub fn file(&self, repo: &str, git_ref: &str, path: &str) -> Option<Vec<u8>> {
        let world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world
            .contents
            .get(&(repo_id, git_ref.to_owned(), path.to_owned()))
            .cloned()
    }

    /// The commits `PUT …/contents/{path}` made on `branch`, oldest first: (commit SHA,
    /// message).
    pub fn commits_to(&self, repo: &str, branch: &str) -> Vec<(String, String)> {
        let world = lock(&self.world);
        let repo_id = setup_repo(&world, repo);
        world
            .commits
            .get(&(repo_id, branch.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::openapi;
    use super::super::state::Repo;
    use super::*;

    fn world() -> World {
        let mut world = World::new(1, "http://fake".into(), String::new());
        world.repos.insert(
            7,
            Repo {
                id: 7,
                full_name: "octo-org/widgets".into(),
                private: false,
            },
        );
        world
    }

    fn put(world: &mut World, body: Value) -> Result<(StatusCode, Value), (StatusCode, String)> {
        write_file(world, 7, "docs/a.md", &body)
    }

    #[test]
    fn answers_match_githubs_file_commit_schema() {
        let mut world = world();
        let (status, created) =
            put(&mut world, json!({ "message": "add", "content": "aGk=" })).unwrap();
        assert_eq!(status, StatusCode::CREATED);
        let template = "/repos/{owner}/{repo}/contents/{path}";
        openapi::check_response_body("put", template, 201, &created).unwrap();
        assert_eq!(created["content"]["sha"], blob_sha(b"hi"));
        assert_eq!(created["commit"]["parents"], json!([]));

        let blob = created["content"]["sha"].as_str().unwrap();
        let (status, updated) = put(
            &mut world,
            json!({ "message": "edit", "content": "aGVsbG8=", "sha": blob, "branch": "main" }),
        )
        .unwrap();
        assert_eq!(status, StatusCode::OK);
        openapi::check_response_body("put", template, 200, &updated).unwrap();
        assert_eq!(
            updated["commit"]["parents"][0]["sha"],
            created["commit"]["sha"]
        );
    }

    #[test]
    fn request_bodies_are_checked_under_axums_wildcard_template() {
        let template = "/repos/{owner}/{repo}/contents/{*path}";
        let good = json!({ "message": "m", "content": "aGk=", "branch": "main", "sha": "abc" });
        openapi::check_request_body("PUT", template, Some(&good)).unwrap();
        let bad = json!({ "message": 1, "content": "aGk=" });
        assert!(openapi::check_request_body("PUT", template, Some(&bad)).is_err());
        assert!(openapi::check_request_body("PUT", template, Some(&json!({}))).is_err());
    }

    #[test]
    fn unknown_branches_and_bad_content_are_refused() {
        let mut world = world();
        let body = json!({ "message": "m", "content": "aGk=", "branch": "nope" });
        assert_eq!(put(&mut world, body).unwrap_err().0, StatusCode::NOT_FOUND);
        let body = json!({ "message": "m", "content": "not base64!" });
        assert_eq!(
            put(&mut world, body).unwrap_err().0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert!(world.commits.is_empty() && world.contents.is_empty());
    }

    #[test]
    fn blob_sha_is_stable_and_tells_contents_apart() {
        assert_eq!(blob_sha(b"hello"), blob_sha(b"hello"));
        assert_ne!(blob_sha(b"hello"), blob_sha(b"hello!"));
        assert_eq!(blob_sha(b"").len(), 40);
    }

    #[test]
    fn decode_base64_reads_padded_and_wrapped_text() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\nbG8h\n").unwrap(), b"hello!");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("aGk").is_none());
        assert!(decode_base64("a*Gk").is_none());
    }
}

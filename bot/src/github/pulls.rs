//! Pull request calls on `InstallationClient`: PR info, its diff (or file list), file contents,
//! and the open PRs of a repository.

use http::{Method, StatusCode};
use serde::Deserialize;

use crate::github::client::{
    InstallationClient, RawResponse, encode_component, next_page_query, send,
};
use crate::github::error::GitHubError;
use crate::github::ids::{CommitSha, PrNumber, RepoName};

/// Items per page for list endpoints (GitHub's maximum).
pub(crate) const PER_PAGE: usize = 100;

/// `GET …/pulls/{n}/files` lists at most 3,000 files: 30 pages of 100.
const MAX_FILE_PAGES: usize = 30;

/// The media type that makes `GET …/pulls/{n}` (and `…/compare/…`) answer the unified diff.
pub(crate) const DIFF_MEDIA_TYPE: &str = "application/vnd.github.diff";

/// The media type that makes `GET …/contents/{path}` answer the file's bytes as they are:
/// the only way GitHub serves files over 1 MB (up to 100 MB).
const RAW_MEDIA_TYPE: &str = "application/vnd.github.raw+json";

/// The largest file [`InstallationClient::file_at`] returns. GitHub serves up to 100 MB raw;
/// no file that big is worth reviewing, and it would be held in memory whole.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// What we need to know about a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestInfo {
    /// The PR number.
    pub number: PrNumber,
    /// `open` or `closed` as GitHub reports it.
    pub state: String,
    /// True for a draft PR.
    pub draft: bool,
    /// The head commit.
    pub head_sha: CommitSha,
    /// The head branch name.
    pub head_ref: String,
    /// The repository the head branch lives in; `None` when a fork was deleted.
    pub head_repo: Option<RepoName>,
    /// The base branch name.
    pub base_ref: String,
    /// The base commit GitHub diffs against.
    pub base_sha: CommitSha,
    /// The PR author's login (`ghost` when the account is gone).
    pub author_login: String,
    /// The PR title.
    pub title: String,
    /// The base repository's default branch, where the repository config is read; `None`
    /// when GitHub leaves the base repository out.
    pub default_branch: Option<String>,
}

/// A PR's changes: the unified diff, or GitHub's per-file list when the diff is too large.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffSource {
    /// The whole unified diff (`application/vnd.github.diff`), as bytes.
    Diff(Vec<u8>),
    /// The files API answer, used after GitHub refused the diff with 406 (over 300 files or
    /// 20,000 lines). At most 3,000 files; per-file `patch` is absent for binary or huge files.
    Files(Vec<PullFile>),
}

/// One file of `GET …/pulls/{n}/files`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullFile {
    /// The path on the head side.
    pub filename: String,
    /// The old path of a renamed file.
    #[serde(default)]
    pub previous_filename: Option<String>,
    /// `added`, `removed`, `modified`, `renamed`, `copied`, `changed` or `unchanged`.
    pub status: String,
    /// Added lines.
    pub additions: u64,
    /// Removed lines.
    pub deletions: u64,
    /// The file's hunks (from the first `@@`), absent for binary files and very large diffs.
    #[serde(default)]
    pub patch: Option<String>,
}

#[derive(Deserialize)]
struct PullWire {
    number: u64,
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    title: String,
    user: Option<LoginWire>,
    head: RefWire,
    base: RefWire,
}

#[derive(Deserialize)]
pub(crate) struct LoginWire {
    pub login: String,
}

#[derive(Deserialize)]
struct RefWire {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
    repo: Option<RepoWire>,
}

#[derive(Deserialize)]
struct RepoWire {
    full_name: String,
    #[serde(default)]
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct ContentWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    /// The blob SHA, which `PUT …/contents/{path}` wants back to replace the file.
    #[serde(default)]
    sha: Option<String>,
}

/// `/repos/{owner}/{repo}/contents/{path}` with every part escaped (a leading `/` ignored).
pub(crate) fn contents_path(repo: &RepoName, path: &str) -> String {
    let escaped_path: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(encode_component)
        .collect();
    format!("{}/contents/{}", repo_path(repo), escaped_path.join("/"))
}

/// `/repos/{owner}/{repo}` with both parts escaped.
pub(crate) fn repo_path(repo: &RepoName) -> String {
    format!(
        "/repos/{}/{}",
        encode_component(repo.owner()),
        encode_component(repo.name())
    )
}

impl InstallationClient {
    /// The pull request (`GET /repos/{o}/{r}/pulls/{n}`).
    pub async fn pull_request(
        &self,
        repo: &RepoName,
        pr: &PrNumber,
    ) -> Result<PullRequestInfo, GitHubError> {
        let uri = format!("{}/pulls/{pr}", repo_path(repo));
        let wire: PullWire = send(
            self.crab(),
            Method::GET,
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            uri,
            None,
            None,
        )
        .await?
        .json()?;
        let head_repo =
            match wire.head.repo {
                Some(r) => Some(r.full_name.parse().map_err(|e| {
                    GitHubError::Decode(format!("pull request head repository: {e}"))
                })?),
                None => None,
            };
        let default_branch = wire.base.repo.and_then(|r| r.default_branch);
        Ok(PullRequestInfo {
            default_branch,
            number: PrNumber(wire.number),
            state: wire.state,
            draft: wire.draft.unwrap_or(false),
            head_sha: CommitSha(wire.head.sha),
            head_ref: wire.head.name,
            head_repo,
            base_ref: wire.base.name,
            base_sha: CommitSha(wire.base.sha),
            author_login: wire
                .user
                .map_or_else(|| "ghost".to_owned(), |user| user.login),
            title: wire.title,
        })
    }

    /// The PR's unified diff; when GitHub answers 406 (too large), the paginated files list
    /// instead (`GET …/pulls/{n}/files?per_page=100`, up to GitHub's 3,000-file limit).
    pub async fn pull_request_diff(
        &self,
        repo: &RepoName,
        pr: &PrNumber,
    ) -> Result<DiffSource, GitHubError> {
        let uri = format!("{}/pulls/{pr}", repo_path(repo));
        let response = send(
            self.crab(),
            Method::GET,
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            uri,
            Some(DIFF_MEDIA_TYPE),
            None,
        )
        .await?;
        if response.status == StatusCode::NOT_ACCEPTABLE {
            tracing::info!(repo = %repo, pr = pr.0, "diff too large for GitHub; reading the files list");
            return self
                .pull_request_files(repo, pr)
                .await
                .map(DiffSource::Files);
        }
        if !response.status.is_success() {
            return Err(response.error());
        }
        Ok(DiffSource::Diff(response.body.to_vec()))
    }

    /// Every page of `GET …/pulls/{n}/files`, at most 30 pages of 100.
    async fn pull_request_files(
        &self,
        repo: &RepoName,
        pr: &PrNumber,
    ) -> Result<Vec<PullFile>, GitHubError> {
        let base = format!("{}/pulls/{pr}/files", repo_path(repo));
        let mut files = Vec::new();
        let mut query = format!("per_page={PER_PAGE}&page=1");
        for _ in 0..MAX_FILE_PAGES {
            let response = send(
                self.crab(),
                Method::GET,
                "/repos/{owner}/{repo}/pulls/{pull_number}/files",
                format!("{base}?{query}"),
                None,
                None,
            )
            .await?;
            let page: Vec<PullFile> = response.json()?;
            files.extend(page);
            match next_page_query(&response.headers) {
                Some(next) => query = next,
                None => return Ok(files),
            }
        }
        tracing::warn!(repo = %repo, pr = pr.0, files = files.len(), "files list cut at GitHub's 3,000-file limit");
        Ok(files)
    }

    /// A file's bytes at `git_ref` (`GET /repos/{o}/{r}/contents/{path}?ref=…`, base64-decoded);
    /// `None` when there is no such file (404) or the path is a directory, symlink or submodule.
    ///
    /// Files over 1 MB come back with `encoding: none` and no content; they are fetched again
    /// with the raw media type. A file over [`MAX_FILE_BYTES`] (or over GitHub's 100 MB, which
    /// it refuses with 403) is a [`GitHubError::Decode`] saying it is too large to review,
    /// read no further than its size.
    pub async fn file_at(
        &self,
        repo: &RepoName,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<Vec<u8>>, GitHubError> {
        Ok(self
            .read_file(repo, path, git_ref)
            .await?
            .map(|(bytes, _)| bytes))
    }

    /// [`Self::file_at`], with the file's blob SHA: what
    /// [`put_file`](Self::put_file) needs to replace the file. A file answer without a `sha`
    /// is a [`GitHubError::Decode`].
    pub async fn file_with_sha(
        &self,
        repo: &RepoName,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<(Vec<u8>, String)>, GitHubError> {
        match self.read_file(repo, path, git_ref).await? {
            None => Ok(None),
            Some((bytes, Some(sha))) => Ok(Some((bytes, sha))),
            Some((_, None)) => Err(GitHubError::Decode(format!("{path}: no blob sha"))),
        }
    }

    /// The body of [`Self::file_at`]: the bytes and the blob SHA, if GitHub sent one.
    async fn read_file(
        &self,
        repo: &RepoName,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, GitHubError> {
        const ROUTE: &str = "/repos/{owner}/{repo}/contents/{path}";
        let uri = format!(
            "{}?ref={}",
            contents_path(repo, path),
            encode_component(git_ref)
        );
        let response: RawResponse =
            send(self.crab(), Method::GET, ROUTE, uri.clone(), None, None).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        // Over 100 MB GitHub serves the blob in no form at all (403 `too_large`).
        if response.status == StatusCode::FORBIDDEN
            && String::from_utf8_lossy(&response.body)
                .to_ascii_lowercase()
                .contains("too large")
        {
            return Err(GitHubError::Decode(format!(
                "{path}: over 100 MB, too large to review"
            )));
        }
        // A directory answers a JSON array: not a file.
        let value: serde_json::Value = response.json()?;
        if value.is_array() {
            return Ok(None);
        }
        let content: ContentWire =
            serde_json::from_value(value).map_err(|e| GitHubError::Decode(e.to_string()))?;
        if content.kind != "file" {
            return Ok(None);
        }
        let sha = content.sha;
        match content.encoding.as_deref() {
            Some("base64") => decode_base64(content.content.as_deref().unwrap_or_default())
                .map(|bytes| Some((bytes, sha)))
                .ok_or_else(|| GitHubError::Decode(format!("{path}: content is not base64"))),
            Some("none") => {
                let size = content.size.unwrap_or(0);
                if size > MAX_FILE_BYTES {
                    return Err(too_large(path, size));
                }
                let raw = send(
                    self.crab(),
                    Method::GET,
                    ROUTE,
                    uri,
                    Some(RAW_MEDIA_TYPE),
                    None,
                )
                .await?;
                // Deleted between the two requests.
                if raw.status == StatusCode::NOT_FOUND {
                    return Ok(None);
                }
                if !raw.status.is_success() {
                    return Err(raw.error());
                }
                // The size can change between the two requests (a branch moved on).
                let len = raw.body.len() as u64;
                if len > MAX_FILE_BYTES {
                    return Err(too_large(path, len));
                }
                Ok(Some((raw.body.to_vec(), sha)))
            }
            other => Err(GitHubError::Decode(format!(
                "{path}: unknown content encoding {other:?}"
            ))),
        }
    }
}

/// The error for a file over [`MAX_FILE_BYTES`]. `Decode`, like other unreadable files:
/// callers skip the file and review the rest.
fn too_large(path: &str, size: u64) -> GitHubError {
    GitHubError::Decode(format!(
        "{path}: {size} bytes, too large to review (the limit is {MAX_FILE_BYTES} bytes)"
    ))
}

/// Decodes standard base64 with padding, ignoring the line breaks GitHub inserts every 60
/// characters. `None` on any other character or a bad length. (Hand-written: the crate has no
/// base64 dependency and this is the only use.)
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !clean.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    let chunks = clean.chunks(4).count();
    for (i, chunk) in clean.chunks(4).enumerate() {
        let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && i + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - padding] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * padding as u32;
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - padding]);
    }
    Some(out)
}

/// Standard base64 with padding and no line breaks, as GitHub takes file contents.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_base64_pads_and_round_trips_through_decode() {
        assert_eq!(encode_base64(b""), "");
        assert_eq!(encode_base64(b"a"), "YQ==");
        assert_eq!(encode_base64(b"hi"), "aGk=");
        assert_eq!(encode_base64(b"hello!"), "aGVsbG8h");
        assert_eq!(encode_base64(&[0xff, 0xef]), "/+8=");
        for len in 0..=300usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            assert_eq!(
                decode_base64(&encode_base64(&bytes)).as_deref(),
                Some(&bytes[..]),
                "length {len}"
            );
        }
    }

    #[test]
    fn decode_base64_handles_padding_and_line_breaks() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\nbG8h").unwrap(), b"hello!");
        assert_eq!(decode_base64("aGk=\n").unwrap(), b"hi");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("/+8=").unwrap(), [0xff, 0xef]);
        assert!(decode_base64("aGk").is_none());
        assert!(decode_base64("a=Gk").is_none());
        assert!(decode_base64("YQ==YQ==").is_none());
        assert!(decode_base64("a*Gk").is_none());
    }
}

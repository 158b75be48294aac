//! Pull request calls on `InstallationClient`: PR info, its diff (or file list), file contents.

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

/// The media type that makes `GET …/pulls/{n}` answer the unified diff.
const DIFF_MEDIA_TYPE: &str = "application/vnd.github.diff";

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
}

#[derive(Deserialize)]
struct ContentWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
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
        Ok(PullRequestInfo {
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
    /// Files over 1 MB come back with `encoding: none` and are reported as a decode error.
    pub async fn file_at(
        &self,
        repo: &RepoName,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<Vec<u8>>, GitHubError> {
        let escaped_path: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(encode_component)
            .collect();
        let uri = format!(
            "{}/contents/{}?ref={}",
            repo_path(repo),
            escaped_path.join("/"),
            encode_component(git_ref)
        );
        let response: RawResponse = send(
            self.crab(),
            Method::GET,
            "/repos/{owner}/{repo}/contents/{path}",
            uri,
            None,
            None,
        )
        .await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
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
        match content.encoding.as_deref() {
            Some("base64") => decode_base64(content.content.as_deref().unwrap_or_default())
                .map(Some)
                .ok_or_else(|| GitHubError::Decode(format!("{path}: content is not base64"))),
            other => Err(GitHubError::Decode(format!(
                "{path}: content encoding {other:?} (files over 1 MB are not inlined)"
            ))),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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

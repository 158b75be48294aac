//! Writing a file on a branch with `InstallationClient` (`PUT /repos/{o}/{r}/contents/{path}`).
//! Reading is [`InstallationClient::file_at`] and [`InstallationClient::file_with_sha`].

use http::Method;
use serde::Deserialize;
use serde_json::json;

use crate::github::client::{InstallationClient, send};
use crate::github::error::GitHubError;
use crate::github::ids::{CommitSha, RepoName};
use crate::github::pulls::{contents_path, encode_base64};

#[derive(Deserialize)]
struct FileCommitWire {
    commit: CommitWire,
}

#[derive(Deserialize)]
struct CommitWire {
    sha: String,
}

impl InstallationClient {
    /// Creates or replaces `path` on `branch` in one new commit with `message`
    /// (`PUT /repos/{o}/{r}/contents/{path}`); returns that commit's SHA.
    ///
    /// `sha` is the blob SHA of the file being replaced, from
    /// [`file_with_sha`](Self::file_with_sha); `None` creates a new file. GitHub refuses a
    /// replacement without it (422 "sha wasn't supplied") and one whose `sha` is no longer
    /// the file's (409: the branch moved on since it was read). Both come back as
    /// [`GitHubError::Unexpected`] with that status, like every other 409 and 422: the
    /// caller re-reads the file with `file_with_sha` and tries again if the change still
    /// applies. A 404 ([`GitHubError::NotFound`]) means no such repository or branch.
    pub async fn put_file(
        &self,
        repo: &RepoName,
        path: &str,
        branch: &str,
        content: &[u8],
        message: &str,
        sha: Option<&str>,
    ) -> Result<CommitSha, GitHubError> {
        let mut request = json!({
            "message": message,
            "content": encode_base64(content),
            "branch": branch,
        });
        if let Some(sha) = sha {
            request["sha"] = json!(sha);
        }
        self.before_write().await;
        let written: FileCommitWire = send(
            self.crab(),
            Method::PUT,
            "/repos/{owner}/{repo}/contents/{path}",
            contents_path(repo, path),
            None,
            Some(&request),
        )
        .await?
        .json()?;
        Ok(CommitSha(written.commit.sha))
    }
}

//! Git trees on `InstallationClient`: every file path of a commit, in one request.

use http::{Method, StatusCode};
use serde::Deserialize;

use crate::github::client::{InstallationClient, encode_component, send};
use crate::github::error::GitHubError;
use crate::github::ids::RepoName;
use crate::github::pulls::repo_path;

/// The file paths of a commit's tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeListing {
    /// Every file (blob) path, in GitHub's order (sorted by path); no directories or submodules.
    pub paths: Vec<String>,
    /// True when GitHub cut the listing at its limit (100,000 entries or 7 MB): `paths` is
    /// then incomplete, and a missing path proves nothing.
    pub truncated: bool,
}

#[derive(Deserialize)]
struct TreeWire {
    tree: Vec<TreeEntryWire>,
    #[serde(default)]
    truncated: bool,
}

#[derive(Deserialize)]
struct TreeEntryWire {
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

impl InstallationClient {
    /// Every file path at `git_ref` (a commit SHA, or a branch or tag name), from
    /// `GET /repos/{o}/{r}/git/trees/{ref}?recursive=1`: one request where walking the contents
    /// API would take one per directory. An empty repository (409) has no files; an unknown
    /// ref is [`GitHubError::NotFound`].
    pub async fn tree_paths(
        &self,
        repo: &RepoName,
        git_ref: &str,
    ) -> Result<TreeListing, GitHubError> {
        let uri = format!(
            "{}/git/trees/{}?recursive=1",
            repo_path(repo),
            encode_component(git_ref)
        );
        let response = send(
            self.crab(),
            Method::GET,
            "/repos/{owner}/{repo}/git/trees/{tree_sha}",
            uri,
            None,
            None,
        )
        .await?;
        if response.status == StatusCode::CONFLICT {
            return Ok(TreeListing::default());
        }
        let tree: TreeWire = response.json()?;
        if tree.truncated {
            tracing::warn!(repo = %repo, git_ref, entries = tree.tree.len(), "GitHub cut the tree listing at its limit");
        }
        Ok(TreeListing {
            paths: tree
                .tree
                .into_iter()
                .filter(|entry| entry.kind == "blob")
                .map(|entry| entry.path)
                .collect(),
            truncated: tree.truncated,
        })
    }
}

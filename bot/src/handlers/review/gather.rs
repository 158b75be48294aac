//! Everything a review reads from GitHub: the repository's config from the default branch,
//! the pull request's diff, the new side of the files worth reviewing, and what the
//! repository says about its tests.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinSet;

use crate::github::ids::{CommitSha, PrNumber, RepoName};
use crate::github::pulls::{DiffSource, PullFile};
use crate::github::{GitHubError, InstallationClient};
use crate::repo_config::{LoadedRepoConfig, REPO_CONFIG_PATH, RepoConfigError, parse_repo_config};
use crate::review::budget::exclusion;
use crate::review::diff::{Diff, FileDiff, FileStatus, LineKind, parse_diff, parse_patch};
use crate::review::languages::Language;
use crate::review::pipeline::NewSide;
use crate::review::test_layout::{Framework, is_framework_evidence};

/// Files fetched at once: enough to hide latency, few enough to stay clear of GitHub's
/// secondary rate limits on concurrent requests.
const FETCH_CONCURRENCY: usize = 8;
/// Framework evidence files read per review (manifests and a few test files are plenty).
const MAX_EVIDENCE_FILES: usize = 20;

/// The repository's config as read from its default branch.
#[derive(Debug)]
pub enum ConfigState {
    /// No file, or a valid one.
    Valid(Box<LoadedRepoConfig>),
    /// A file that does not parse: said on the pull request, not reviewed with guesses.
    Invalid(RepoConfigError),
}

/// Reads `.github/reviewbot.yml` from `default_branch` (never the pull request's head: a
/// change must not be able to switch off its own review).
pub async fn load_config(
    client: &InstallationClient,
    repo: &RepoName,
    default_branch: &str,
) -> anyhow::Result<ConfigState> {
    let bytes = match client.file_at(repo, REPO_CONFIG_PATH, default_branch).await {
        Ok(bytes) => bytes,
        Err(GitHubError::Decode(why)) => {
            return Ok(ConfigState::Invalid(RepoConfigError(format!(
                "cannot be read: {why}"
            ))));
        }
        Err(e) => return Err(e).context("read the repository config"),
    };
    let Some(bytes) = bytes else {
        return Ok(ConfigState::Valid(Box::default()));
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(ConfigState::Invalid(RepoConfigError(
            "is not UTF-8 text".into(),
        )));
    };
    Ok(match parse_repo_config(&text) {
        Ok(config) => ConfigState::Valid(Box::new(config)),
        Err(e) => ConfigState::Invalid(e),
    })
}

/// The pull request's change; `true` when it came from the files API (diff too large).
pub async fn fetch_diff(
    client: &InstallationClient,
    repo: &RepoName,
    pr: &PrNumber,
) -> anyhow::Result<(Diff, bool)> {
    match client
        .pull_request_diff(repo, pr)
        .await
        .context("read the pull request's diff")?
    {
        DiffSource::Diff(bytes) => Ok((
            parse_diff(&bytes).context("GitHub's diff does not parse")?,
            false,
        )),
        DiffSource::Files(files) => Ok((diff_from_files(&files), true)),
    }
}

/// A diff rebuilt from the files API: each file's `patch` holds its hunks (absent for binary
/// files and for text diffs GitHub will not show).
pub fn diff_from_files(files: &[PullFile]) -> Diff {
    let files = files
        .iter()
        .map(|f| {
            let status = match f.status.as_str() {
                "added" => FileStatus::Added,
                "removed" => FileStatus::Deleted,
                "renamed" => FileStatus::Renamed,
                "copied" => FileStatus::Copied,
                _ => FileStatus::Modified,
            };
            // A patch that does not parse is treated like an absent one: the file is listed,
            // with nothing to comment on.
            let hunks = f
                .patch
                .as_deref()
                .and_then(|p| parse_patch(p.as_bytes()).ok())
                .unwrap_or_default();
            let path = f.filename.as_bytes().to_vec();
            FileDiff {
                old_path: (status != FileStatus::Added).then(|| {
                    f.previous_filename
                        .as_deref()
                        .map_or_else(|| path.clone(), |p| p.as_bytes().to_vec())
                }),
                new_path: (status != FileStatus::Deleted).then(|| path.clone()),
                status,
                similarity: None,
                old_mode: None,
                new_mode: None,
                old_oid: None,
                new_oid: None,
                // GitHub counts no lines for binary files and sends no patch.
                binary: f.patch.is_none() && f.additions + f.deletions == 0,
                hunks,
                header_line: 0,
            }
        })
        .collect();
    Diff {
        files,
        skipped: Vec::new(),
    }
}

/// New-side contents fetched before the (synchronous) pipeline runs.
#[derive(Debug, Default)]
pub struct Fetched(HashMap<String, String>);

impl NewSide for Fetched {
    fn read(&self, path: &str) -> Option<String> {
        self.0.get(path).cloned()
    }
}

/// Whether the pipeline will want this file's new side: added lines, not deleted, not
/// excluded by path, and under the repository's path filter.
fn wanted(file: &FileDiff, config: &LoadedRepoConfig) -> bool {
    let path = file.path();
    file.status != FileStatus::Deleted
        && !file.binary
        && !file.is_submodule()
        && !file.is_symlink()
        && config.reviews_path(&path)
        && exclusion(&path, false, None).is_none()
        && file
            .hunks
            .iter()
            .flat_map(|h| &h.lines)
            .any(|l| l.kind == LineKind::Added)
}

/// Reads `paths` at `git_ref`, a few at a time. A file that cannot be read is left out (the
/// pipeline then rebuilds what the diff shows of it); rate limits and outages fail the job.
async fn read_files(
    client: &InstallationClient,
    repo: &RepoName,
    git_ref: &str,
    paths: Vec<String>,
) -> anyhow::Result<HashMap<String, String>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(FETCH_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for path in paths {
        let (client, repo, git_ref) = (client.clone(), repo.clone(), git_ref.to_owned());
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let result = client.file_at(&repo, &path, &git_ref).await;
            (path, result)
        });
    }
    let mut out = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (path, result) = joined.context("a file read panicked")?;
        match result {
            Ok(Some(bytes)) => {
                out.insert(path, String::from_utf8_lossy(&bytes).into_owned());
            }
            Ok(None) => {}
            Err(GitHubError::Decode(why)) => {
                tracing::warn!(%path, %why, "new side not readable; using what the diff shows");
            }
            Err(e) => return Err(e).with_context(|| format!("read {path} at {git_ref}")),
        }
    }
    Ok(out)
}

/// The new side of every file the review will look at.
pub async fn fetch_sources(
    client: &InstallationClient,
    repo: &RepoName,
    head: &CommitSha,
    diff: &Diff,
    config: &LoadedRepoConfig,
) -> anyhow::Result<Fetched> {
    let paths = diff
        .files
        .iter()
        .filter(|f| wanted(f, config))
        .map(|f| f.path().into_owned())
        .collect();
    Ok(Fetched(
        read_files(client, repo, head.as_str(), paths).await?,
    ))
}

/// What the repository says about its tests at `head`: frameworks and existing test files.
pub async fn fetch_repo_tests(
    client: &InstallationClient,
    repo: &RepoName,
    head: &CommitSha,
) -> anyhow::Result<(Vec<(Language, Framework)>, Vec<String>)> {
    let listing = client
        .tree_paths(repo, head.as_str())
        .await
        .context("list the repository's files")?;
    // Manifests and configuration first: they name the framework outright.
    let mut evidence: Vec<String> = listing
        .paths
        .iter()
        .filter(|p| is_framework_evidence(p))
        .cloned()
        .collect();
    evidence.sort_by_key(|p| (Language::from_path(p).is_some(), p.matches('/').count()));
    evidence.truncate(MAX_EVIDENCE_FILES);
    let contents = read_files(client, repo, head.as_str(), evidence).await?;
    Ok(crate::review::pipeline::repo_tests(&listing.paths, |p| {
        contents.get(p).cloned()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull_file(name: &str, status: &str, patch: Option<&str>, adds: u64) -> PullFile {
        PullFile {
            filename: name.into(),
            previous_filename: None,
            status: status.into(),
            additions: adds,
            deletions: 0,
            patch: patch.map(str::to_owned),
        }
    }

    #[test]
    fn the_files_api_answer_becomes_a_diff_with_the_same_lines() {
        let diff = diff_from_files(&[
            pull_file("app.py", "modified", Some("@@ -1,2 +1,3 @@\n a\n+b\n c"), 1),
            pull_file("logo.png", "added", None, 0),
            pull_file("huge.sql", "added", None, 90_000),
            pull_file("old.py", "removed", Some("@@ -1 +0,0 @@\n-x"), 0),
        ]);
        let app = diff.file("app.py").unwrap();
        assert_eq!(app.status, FileStatus::Modified);
        let added: Vec<u32> = app.hunks[0]
            .lines
            .iter()
            .filter(|l| l.kind == LineKind::Added)
            .filter_map(|l| l.new_line)
            .collect();
        assert_eq!(added, [2]);
        assert!(diff.file("logo.png").unwrap().binary);
        let huge = diff.file("huge.sql").unwrap();
        assert!(
            !huge.binary && huge.hunks.is_empty(),
            "text GitHub would not show: listed, nothing to comment on"
        );
        assert_eq!(diff.file("old.py").unwrap().status, FileStatus::Deleted);
    }
}

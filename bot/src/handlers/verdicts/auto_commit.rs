//! `mode: auto`: a suggested test a human accepted is committed to the pull request's branch.
//! Integration only after human approval: nothing is committed before an explicit `/accept`
//! by the author or someone with write access, only for the categories and confidence the
//! repository's config names, only to a branch of the same repository (never a fork's), and
//! never into the changed file itself (the suggested test must live in a test file).

use anyhow::Context as _;
use feedback::Suggestion;
use tracing::info;

use super::adoption::{find_adoption, suggested_test};
use crate::github::ids::{PrNumber, RepoName};
use crate::github::{GitHubError, InstallationClient};
use crate::handlers::review::gather::{ConfigState, load_config};
use crate::repo_config::Mode;

/// What `commit_accepted` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoOutcome {
    /// Not `mode: auto`, or the suggestion is not of a configured category or confident enough.
    NotApplicable,
    /// The test is in the branch already.
    AlreadyThere,
    /// Refused, with the reason told in the thread.
    Refused(String),
    /// Committed: the new commit.
    Committed(String),
}

/// Commits an accepted test suggestion when the repository asks for it; says so in the thread.
pub(crate) async fn commit_accepted(
    client: &InstallationClient,
    repo: &RepoName,
    pr: &PrNumber,
    accepted_by: &str,
    suggestion: &Suggestion,
) -> anyhow::Result<AutoOutcome> {
    let s = &suggestion.suggestion;
    let info = client
        .pull_request(repo, pr)
        .await
        .context("read the pull request")?;
    let Some(branch) = info.default_branch.as_deref() else {
        return Ok(AutoOutcome::NotApplicable);
    };
    let ConfigState::Valid(config) = load_config(client, repo, branch).await? else {
        return Ok(AutoOutcome::NotApplicable);
    };
    let auto = &config.config.auto;
    let confident = s.confidence.unwrap_or(0.0) >= f64::from(auto.min_confidence);
    if config.config.mode != Mode::Auto || !auto.categories.contains(&s.category) || !confident {
        return Ok(AutoOutcome::NotApplicable);
    }
    if info.head_repo.as_ref() != Some(repo) {
        return Ok(AutoOutcome::Refused(
            "not committed: the branch is in a fork, and reviewbot commits only to this repository's branches.".into(),
        ));
    }
    let Some((test_path, code)) = suggested_test(&s.original) else {
        return Ok(AutoOutcome::NotApplicable);
    };
    if test_path == s.path || test_path.starts_with('/') || test_path.contains("..") {
        return Ok(AutoOutcome::Refused(format!(
            "not committed: `{}` is not a separate test file; add the test by hand.",
            test_path.replace('`', "'")
        )));
    }
    let existing = client
        .file_with_sha(repo, &test_path, &info.head_ref)
        .await
        .context("read the test file on the branch")?;
    let (content, sha) = match &existing {
        Some((bytes, sha)) => {
            let text = String::from_utf8_lossy(bytes);
            if find_adoption(&code, &text).is_some_and(|a| a.verbatim) {
                return Ok(AutoOutcome::AlreadyThere);
            }
            let separator = if text.ends_with('\n') {
                "\n\n"
            } else {
                "\n\n\n"
            };
            (format!("{text}{separator}{code}"), Some(sha.as_str()))
        }
        None => (code.clone(), None),
    };
    let message = format!(
        "test: add the test suggested by reviewbot (accepted by @{accepted_by})\n\n{}",
        s.title
    );
    match client
        .put_file(
            repo,
            &test_path,
            &info.head_ref,
            content.as_bytes(),
            &message,
            sha,
        )
        .await
    {
        Ok(commit) => {
            info!(%test_path, commit = %commit, "accepted test committed");
            Ok(AutoOutcome::Committed(commit.0))
        }
        // The branch moved under us: the retry re-reads it.
        Err(e @ GitHubError::Unexpected { status: 409, .. }) => {
            Err(e).context("commit the accepted test (the branch moved)")
        }
        Err(e) => Err(e).context("commit the accepted test"),
    }
}

/// The thread's answer for an outcome, if it deserves one.
pub(crate) fn answer(outcome: &AutoOutcome) -> Option<String> {
    match outcome {
        AutoOutcome::NotApplicable | AutoOutcome::AlreadyThere => None,
        AutoOutcome::Refused(why) => Some(why.clone()),
        AutoOutcome::Committed(commit) => Some(format!(
            "committed the accepted test to this branch in {}.",
            commit.chars().take(12).collect::<String>()
        )),
    }
}

//! Triage and the check run: with `block_on`, a finding at or above that severity keeps the
//! `reviewbot` check failing until a security reviewer triages it (or the code stops having
//! it). The check's facts are stored with it, so a triage re-renders the verdict at once,
//! without another review.

use anyhow::Context as _;
use chrono::Utc;
use feedback::{CheckRunRecord, Store, TriageState, verdict::derive_verdict};
use tracing::info;

use super::super::Context;
use super::super::review::ReviewRequest;
use super::super::review::check::{Blocking, CheckFacts, render_check};
use crate::github::InstallationClient;
use crate::github::checks::{CheckRunId, CheckState};
use crate::github::ids::{PrNumber, RepoName};

/// Whether a triage settles a finding for `block_on`: every state but needs-info.
fn settles(state: TriageState) -> bool {
    state != TriageState::NeedsInfo
}

/// Splits blocking findings into those still blocking and the number a security reviewer
/// has triaged; findings never shown on the pull request are dropped.
pub async fn split_triaged(
    store: &Store,
    repo: &str,
    pr: i64,
    blocking: Vec<Blocking>,
) -> anyhow::Result<(Vec<Blocking>, usize)> {
    let mut still = Vec::new();
    let mut triaged = 0;
    for finding in blocking {
        let settled = match store
            .suggestion_by_fingerprint(repo, pr, &finding.fingerprint)
            .await?
        {
            // Never shown (muted by noise control): nobody could triage it, so it cannot
            // hold the check.
            None => continue,
            Some(s) => {
                let events = store.list_feedback_events(s.id).await?;
                derive_verdict(s.suggestion.kind, s.suggestion.created_at, &events)
                    .triage
                    .is_some_and(settles)
            }
        };
        if settled {
            triaged += 1;
        } else {
            still.push(finding);
        }
    }
    Ok((still, triaged))
}

/// Stores a completed check run's facts (the latest per head commit).
pub async fn record_check(
    ctx: &Context,
    request: &ReviewRequest,
    check_run: &CheckRunId,
    facts: &CheckFacts,
) -> anyhow::Result<()> {
    let record = CheckRunRecord {
        repo: request.repo.to_string(),
        pr: request.pr.0 as i64,
        head_sha: request.head_sha.as_str().to_owned(),
        github_check_run_id: check_run.0,
        facts: serde_json::to_string(facts).context("serialise the check's facts")?,
    };
    ctx.store
        .record_check_run(&record, Utc::now())
        .await
        .context("record the check run")?;
    Ok(())
}

/// Re-renders the pull request's latest check run after a triage.
pub async fn refresh(
    ctx: &Context,
    client: &InstallationClient,
    repo: &RepoName,
    pr: &PrNumber,
) -> anyhow::Result<()> {
    let repo_text = repo.to_string();
    let Some(record) = ctx.store.latest_check_run(&repo_text, pr.0 as i64).await? else {
        return Ok(());
    };
    let mut facts: CheckFacts =
        serde_json::from_str(&record.facts).context("read the stored check facts")?;
    if facts.blocking.is_empty() {
        return Ok(());
    }
    let (blocking, newly) = split_triaged(
        &ctx.store,
        &repo_text,
        pr.0 as i64,
        std::mem::take(&mut facts.blocking),
    )
    .await?;
    facts.blocking = blocking;
    facts.triaged += newly;
    let (conclusion, title, summary) = render_check(&facts);
    let id = CheckRunId(record.github_check_run_id);
    client
        .update_check_run(
            repo,
            &id,
            CheckState::Completed(conclusion),
            &title,
            &summary,
        )
        .await
        .context("update the check run after triage")?;
    ctx.store
        .record_check_run(
            &CheckRunRecord {
                facts: serde_json::to_string(&facts).context("serialise the check's facts")?,
                ..record
            },
            Utc::now(),
        )
        .await?;
    info!(
        ?conclusion,
        still_blocking = facts.blocking.len(),
        "check run updated after triage"
    );
    Ok(())
}

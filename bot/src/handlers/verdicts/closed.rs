//! A pull request closed: a last look at reactions and at which suggested tests landed, then
//! every suggestion still without a verdict becomes `ignored` (a verdict given later, on a
//! reopened pull request, still outranks it). Also the periodic reaction poll's job.

use anyhow::Context as _;
use chrono::Utc;
use feedback::verdict::{VerdictState, derive_verdict};
use feedback::{FeedbackAction, FeedbackRole, FeedbackSource, NewFeedbackEvent};
use tracing::info;

use super::super::Context;
use super::{adoption, reactions};
use crate::github::ids::{CommitSha, InstallationId, PrNumber, RepoName};

/// Runs the final sweep of a closed pull request.
pub(crate) async fn handle_closed(
    ctx: &Context,
    installation: InstallationId,
    repo: RepoName,
    pr: PrNumber,
    head: CommitSha,
    merged: bool,
) -> anyhow::Result<()> {
    let client = ctx
        .github
        .client(installation.clone())
        .await
        .context("act as the installation")?;
    let info = client
        .pull_request(&repo, &pr)
        .await
        .context("read the pull request")?;
    let repo_text = repo.to_string();
    let now = Utc::now();
    ctx.store
        .upsert_pull_request(
            &repo_text,
            pr.0 as i64,
            installation.0,
            info.state == "open",
            now,
        )
        .await?;
    reactions::sweep(ctx, &client, &repo, &pr, &info.author_login).await?;
    adoption::check(ctx, &client, &repo, &pr, &head, &[]).await?;
    let mut ignored = 0;
    for suggestion in ctx.store.shown_suggestions(&repo_text, pr.0 as i64).await? {
        let events = ctx.store.list_feedback_events(suggestion.id).await?;
        let verdict = derive_verdict(
            suggestion.suggestion.kind,
            suggestion.suggestion.created_at,
            &events,
        );
        if verdict.state != VerdictState::Pending {
            continue;
        }
        let event = NewFeedbackEvent {
            suggestion_id: suggestion.id,
            github_id: format!("close:{}", suggestion.id),
            source: FeedbackSource::Close,
            action: FeedbackAction::Ignore,
            actor: "reviewbot".into(),
            role: FeedbackRole::System,
            reason: None,
            note: Some(if merged { "merged" } else { "closed" }.into()),
            human_text: None,
            occurred_at: now,
        };
        ctx.store.append_feedback_event(&event, now).await?;
        ignored += 1;
    }
    info!(
        ignored,
        "pull request closed: suggestions without a verdict marked ignored"
    );
    Ok(())
}

/// Polls reactions on one pull request's comments (the periodic sweep).
pub(crate) async fn handle_sweep(
    ctx: &Context,
    installation: InstallationId,
    repo: RepoName,
    pr: PrNumber,
) -> anyhow::Result<()> {
    let client = ctx
        .github
        .client(installation)
        .await
        .context("act as the installation")?;
    let info = client
        .pull_request(&repo, &pr)
        .await
        .context("read the pull request")?;
    reactions::sweep(ctx, &client, &repo, &pr, &info.author_login).await?;
    Ok(())
}

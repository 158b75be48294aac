//! 👍 / 👎 on our comments. GitHub sends no webhook for reactions, so they are polled: every
//! few minutes for open pull requests with recent suggestions, and once more when a pull
//! request closes. Conditional requests (`If-None-Match`) make an unchanged comment free
//! against the rate limit. A reaction becomes an event keyed by its GitHub id; a reaction that
//! disappears is retracted by an event naming it.

use std::collections::HashSet;

use anyhow::Context as _;
use chrono::Utc;
use feedback::{FeedbackAction, FeedbackRole, FeedbackSource, NewFeedbackEvent};
use tracing::info;

use super::super::Context;
use crate::github::InstallationClient;
use crate::github::ids::{CommentId, PrNumber, RepoName};
use crate::github::reactions::Reactions;

/// What a reaction means, if anything.
fn action_of(content: &str) -> Option<FeedbackAction> {
    match content {
        "+1" => Some(FeedbackAction::Accept),
        "-1" => Some(FeedbackAction::Reject),
        _ => None,
    }
}

/// The ledger key of a reaction, and of its retraction.
fn reaction_key(id: i64) -> String {
    format!("reaction:{id}")
}

/// Polls the reactions on our comments of one pull request; returns the events appended.
pub(crate) async fn sweep(
    ctx: &Context,
    client: &InstallationClient,
    repo: &RepoName,
    pr: &PrNumber,
    pr_author: &str,
) -> anyhow::Result<usize> {
    let repo_text = repo.to_string();
    let mut appended = 0;
    for suggestion in ctx.store.shown_suggestions(&repo_text, pr.0 as i64).await? {
        let Some(comment) = suggestion.github_comment_id else {
            continue;
        };
        let etag = ctx.store.reaction_etag(comment).await?;
        let answer = client
            .review_comment_reactions(repo, &CommentId(comment), etag.as_deref())
            .await
            .context("read a comment's reactions")?;
        let (etag, reactions) = match answer {
            Reactions::NotModified | Reactions::Gone => continue,
            Reactions::Fresh { etag, reactions } => (etag, reactions),
        };
        let now = Utc::now();
        let mut present = HashSet::new();
        for reaction in reactions.iter().filter(|r| !r.user_is_bot) {
            let Some(action) = action_of(&reaction.content) else {
                continue;
            };
            let role = if reaction.user_login.eq_ignore_ascii_case(pr_author) {
                FeedbackRole::Author
            } else if ctx
                .authz
                .can_write(client, repo, &reaction.user_login)
                .await
                .context("read a reactor's permission")?
            {
                FeedbackRole::Writer
            } else {
                // Same rule as /accept: a drive-by 👎 is not a verdict.
                continue;
            };
            present.insert(reaction_key(reaction.id));
            let event = NewFeedbackEvent {
                suggestion_id: suggestion.id,
                github_id: reaction_key(reaction.id),
                source: FeedbackSource::Reaction,
                action,
                actor: reaction.user_login.clone(),
                role,
                reason: None,
                note: None,
                human_text: None,
                occurred_at: reaction.created_at,
            };
            if matches!(
                ctx.store.append_feedback_event(&event, now).await?,
                feedback::Inserted::New(_)
            ) {
                appended += 1;
            }
        }
        // Reactions we recorded that are gone now: retracted.
        let events = ctx.store.list_feedback_events(suggestion.id).await?;
        let retracted: HashSet<String> = events
            .iter()
            .filter(|e| e.event.action == FeedbackAction::Retract)
            .filter_map(|e| e.event.note.clone())
            .collect();
        for gone in events
            .iter()
            .filter(|e| e.event.source == FeedbackSource::Reaction)
            .filter(|e| e.event.action != FeedbackAction::Retract)
            .filter(|e| !present.contains(&e.event.github_id))
            .filter(|e| !retracted.contains(&e.event.github_id))
        {
            let event = NewFeedbackEvent {
                suggestion_id: suggestion.id,
                github_id: format!("retract:{}", gone.event.github_id),
                source: FeedbackSource::Reaction,
                action: FeedbackAction::Retract,
                actor: gone.event.actor.clone(),
                role: gone.event.role,
                reason: None,
                note: Some(gone.event.github_id.clone()),
                human_text: None,
                occurred_at: now,
            };
            ctx.store.append_feedback_event(&event, now).await?;
            appended += 1;
        }
        ctx.store
            .set_reaction_etag(comment, etag.as_deref(), now)
            .await?;
    }
    info!(appended, "reactions polled");
    Ok(appended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_thumbs_are_verdicts() {
        assert_eq!(action_of("+1"), Some(FeedbackAction::Accept));
        assert_eq!(action_of("-1"), Some(FeedbackAction::Reject));
        for other in ["heart", "eyes", "laugh", "rocket", "hooray", "confused"] {
            assert_eq!(action_of(other), None, "{other}");
        }
        assert_eq!(reaction_key(12), "reaction:12");
    }
}

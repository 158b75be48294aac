//! A review thread resolved or unresolved: a weak signal on the suggestion whose comment opens
//! the thread (the ledger's lowest precedence; any explicit verdict outranks it).

use chrono::{DateTime, Utc};
use feedback::{FeedbackAction, FeedbackRole, FeedbackSource, NewFeedbackEvent};
use tracing::info;

use super::super::Context;
use crate::github::ids::{CommentId, RepoName, User};

/// A thread job's request.
#[derive(Debug, Clone)]
pub struct ThreadRequest {
    /// The repository.
    pub repo: RepoName,
    /// Resolved (true) or unresolved.
    pub resolved: bool,
    /// The thread's comments; the first is the one that may carry our marker.
    pub comment_ids: Vec<CommentId>,
    /// Who did it.
    pub actor: User,
    /// The delivery that said so: one event per delivery, so a redelivery changes nothing.
    pub delivery_id: Option<String>,
    /// When we learnt of it.
    pub at: DateTime<Utc>,
}

/// Records the signal on our suggestion, if the thread is one of ours.
pub(crate) async fn handle(ctx: &Context, request: ThreadRequest) -> anyhow::Result<()> {
    let Some(first) = request.comment_ids.first() else {
        return Ok(());
    };
    // The store knows which comments we posted: no GitHub call, and nobody can forge one.
    let Some(suggestion) = ctx
        .store
        .suggestion_by_comment(&request.repo.to_string(), first.0)
        .await?
    else {
        return Ok(());
    };
    let Some(delivery) = &request.delivery_id else {
        anyhow::bail!("a thread event without its delivery id cannot be recorded once");
    };
    let event = NewFeedbackEvent {
        suggestion_id: suggestion.id,
        github_id: format!("thread:{delivery}"),
        source: FeedbackSource::Thread,
        action: if request.resolved {
            FeedbackAction::Resolve
        } else {
            FeedbackAction::Unresolve
        },
        actor: request.actor.login.clone(),
        role: FeedbackRole::System,
        reason: None,
        note: None,
        human_text: None,
        occurred_at: request.at,
    };
    ctx.store.append_feedback_event(&event, Utc::now()).await?;
    info!(suggestion = %suggestion.id, resolved = request.resolved, "thread signal recorded");
    Ok(())
}

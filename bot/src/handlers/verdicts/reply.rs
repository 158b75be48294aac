//! A reply in one of our review threads: maybe `/accept`, `/reject`, `/modify` or `/triage`.
//!
//! The marker naming the suggestion is trusted only in a comment our App wrote (re-read from
//! GitHub, never taken from the event). A command from someone not allowed is refused with a
//! reply saying why, and nothing is stored; an accepted one is appended to the ledger (keyed by
//! the GitHub comment, so a redelivery changes nothing) and acknowledged with a reaction.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use feedback::{
    FeedbackAction, FeedbackRole, FeedbackSource, Inserted, NewFeedbackEvent, SuggestionKind,
};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::super::Context;
use super::answer_in_thread;
use crate::feedback_command::{FeedbackCommand, VALID_FORMS, new_in_edit, parse_reply};
use crate::github::GitHubError;
use crate::github::ids::{CommentId, InstallationId, PrNumber, RepoName, User};
use crate::handlers::review::gather::{ConfigState, load_config};
use crate::review::render::parse_marker;

/// A reply job's request.
#[derive(Debug, Clone)]
pub struct ReplyRequest {
    /// The installation to act as.
    pub installation: InstallationId,
    /// The repository.
    pub repo: RepoName,
    /// The pull request.
    pub pr: PrNumber,
    /// The pull request's author.
    pub pr_author: String,
    /// The reply.
    pub comment: CommentId,
    /// The comment it answers (the thread's first comment).
    pub in_reply_to: CommentId,
    /// Who wrote the reply.
    pub author: User,
    /// Its text now.
    pub body: String,
    /// Its text before an edit.
    pub previous_body: Option<String>,
    /// When it was written (or edited).
    pub at: DateTime<Utc>,
}

/// The ledger key of a command: the comment, or for a command added by an edit, the comment
/// and the edited text (each distinct edit is its own event).
fn github_id(request: &ReplyRequest) -> String {
    match &request.previous_body {
        None => format!("comment:{}", request.comment),
        Some(_) => {
            let digest = Sha256::digest(request.body.as_bytes());
            format!(
                "comment:{}:edit:{}",
                request.comment,
                &hex::encode(digest)[..16]
            )
        }
    }
}

/// The event a command becomes.
fn event(
    request: &ReplyRequest,
    suggestion: feedback::SuggestionId,
    command: FeedbackCommand,
    role: FeedbackRole,
) -> NewFeedbackEvent {
    let (action, reason, note, human_text) = match command {
        FeedbackCommand::Accept { note } => (FeedbackAction::Accept, None, note, None),
        FeedbackCommand::Reject { reason, note } => (
            FeedbackAction::Reject,
            Some(reason.as_str().to_owned()),
            note,
            None,
        ),
        FeedbackCommand::Modify { code, note, .. } => {
            (FeedbackAction::Modify, None, note, Some(code))
        }
        FeedbackCommand::Triage { state, note } => (
            FeedbackAction::Triage,
            Some(state.as_str().to_owned()),
            note,
            None,
        ),
    };
    NewFeedbackEvent {
        suggestion_id: suggestion,
        github_id: github_id(request),
        source: FeedbackSource::Command,
        action,
        actor: request.author.login.clone(),
        role,
        reason,
        note,
        human_text,
        occurred_at: request.at,
    }
}

/// Runs one reply.
pub(crate) async fn handle(ctx: &Context, request: ReplyRequest) -> anyhow::Result<()> {
    let parsed = match &request.previous_body {
        Some(before) => new_in_edit(before, &request.body),
        None => parse_reply(&request.body),
    };
    let Some(parsed) = parsed else {
        return Ok(());
    };
    let client = ctx
        .github
        .client(request.installation.clone())
        .await
        .context("act as the installation")?;
    let bot_login = ctx.github.bot_login().await.context("read the App")?;
    let Some(parent) = client
        .get_review_comment(&request.repo, &request.in_reply_to)
        .await
        .context("read the comment replied to")?
    else {
        info!("the comment replied to is gone");
        return Ok(());
    };
    // A marker counts only in our own comment: anyone can type one.
    if !parent.user_login.eq_ignore_ascii_case(&bot_login) {
        info!(author = %parent.user_login, "a reply to someone else's comment; not feedback");
        return Ok(());
    }
    let Some(id) = parse_marker(&parent.body) else {
        return Ok(());
    };
    let suggestion = match ctx.store.get_suggestion(id).await {
        Ok(s) => s,
        Err(feedback::StoreError::NotFound(_)) => {
            warn!(suggestion = %id, "our comment names a suggestion we do not have");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if suggestion.suggestion.repo != request.repo.to_string()
        || suggestion.suggestion.pr != request.pr.0 as i64
    {
        warn!(suggestion = %id, "marker names a suggestion of another pull request; ignored");
        return Ok(());
    }
    let answer = |text: String| {
        answer_in_thread(
            &client,
            &request.repo,
            &request.pr,
            &request.in_reply_to,
            &request.comment,
            &bot_login,
            format!("@{} {text}", request.author.login),
        )
    };
    let command = match parsed {
        Ok(command) => command,
        Err(e) => {
            answer(format!("{e}. Valid: {VALID_FORMS}")).await?;
            return Ok(());
        }
    };
    let login = request.author.login.as_str();
    let role = match &command {
        FeedbackCommand::Triage { .. } => {
            if suggestion.suggestion.kind != SuggestionKind::Security {
                answer("`/triage` is for security findings; this is a suggested test. Nothing was recorded.".into()).await?;
                return Ok(());
            }
            let info = client
                .pull_request(&request.repo, &request.pr)
                .await
                .context("read the pull request")?;
            let mut reviewers = ctx.security_reviewers.clone();
            if let Some(branch) = &info.default_branch
                && let ConfigState::Valid(config) =
                    load_config(&client, &request.repo, branch).await?
            {
                reviewers.extend(config.security_reviewers.iter().cloned());
            }
            if !ctx
                .authz
                .is_security_reviewer(&client, &reviewers, login)
                .await
                .context("check security reviewers")?
            {
                info!(%login, "triage refused");
                answer("only security reviewers (`REVIEWBOT_SECURITY_REVIEWERS`, or `security_reviewers` in `.github/reviewbot.yml`) can triage findings. Nothing was recorded.".into()).await?;
                return Ok(());
            }
            FeedbackRole::SecurityReviewer
        }
        _ if login.eq_ignore_ascii_case(&request.pr_author) => FeedbackRole::Author,
        _ => {
            if !ctx
                .authz
                .can_write(&client, &request.repo, login)
                .await
                .context("read the author's permission")?
            {
                info!(%login, "verdict refused");
                answer("only the pull request's author or people with write access can give verdicts here. Nothing was recorded.".into()).await?;
                return Ok(());
            }
            FeedbackRole::Writer
        }
    };
    let is_triage = matches!(command, FeedbackCommand::Triage { .. });
    let is_accept = matches!(command, FeedbackCommand::Accept { .. });
    let event = event(&request, id, command, role);
    match ctx.store.append_feedback_event(&event, Utc::now()).await? {
        Inserted::New(_) => info!(suggestion = %id, action = %event.action, "feedback recorded"),
        Inserted::Duplicate => info!(suggestion = %id, "feedback already recorded"),
    }
    match client
        .add_review_comment_reaction(&request.repo, &request.comment, "+1")
        .await
    {
        Ok(()) => {}
        // Deleted since: the verdict stands, there is just nothing left to mark.
        Err(GitHubError::NotFound) => info!("the command's comment is gone; not acknowledged"),
        Err(e) => return Err(e).context("acknowledge the command"),
    }
    if is_triage {
        super::triage::refresh(ctx, &client, &request.repo, &request.pr).await?;
    }
    if is_accept && suggestion.suggestion.kind == SuggestionKind::Test {
        let outcome = super::auto_commit::commit_accepted(
            &client,
            &request.repo,
            &request.pr,
            login,
            &suggestion,
        )
        .await?;
        if let Some(text) = super::auto_commit::answer(&outcome) {
            answer(text).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::ids::UserId;

    fn request(previous: Option<&str>) -> ReplyRequest {
        ReplyRequest {
            installation: InstallationId(1),
            repo: "o/r".parse().unwrap(),
            pr: PrNumber(2),
            pr_author: "ann".into(),
            comment: CommentId(77),
            in_reply_to: CommentId(70),
            author: User {
                login: "bob".into(),
                id: UserId(5),
                is_bot: false,
            },
            body: "/reject noisy too chatty".into(),
            previous_body: previous.map(str::to_owned),
            at: Utc::now(),
        }
    }

    #[test]
    fn a_command_is_keyed_by_its_comment_and_each_edit_by_its_text() {
        assert_eq!(github_id(&request(None)), "comment:77");
        let edited = github_id(&request(Some("/accept")));
        assert!(edited.starts_with("comment:77:edit:"), "{edited}");
        let mut other = request(Some("/accept"));
        other.body = "/reject incorrect".into();
        assert_ne!(github_id(&other), edited);
    }

    #[test]
    fn commands_become_ledger_events() {
        let r = request(None);
        let e = event(
            &r,
            feedback::SuggestionId(9),
            FeedbackCommand::Reject {
                reason: feedback::RejectReason::Noisy,
                note: Some("too chatty".into()),
            },
            FeedbackRole::Writer,
        );
        assert_eq!(
            (
                e.action,
                e.reason.as_deref(),
                e.note.as_deref(),
                e.actor.as_str()
            ),
            (
                FeedbackAction::Reject,
                Some("noisy"),
                Some("too chatty"),
                "bob"
            )
        );
        let e = event(
            &r,
            feedback::SuggestionId(9),
            FeedbackCommand::Modify {
                code: "def test_x():\n    pass\n".into(),
                language: Some("python".into()),
                note: None,
            },
            FeedbackRole::Author,
        );
        assert_eq!(e.human_text.as_deref(), Some("def test_x():\n    pass\n"));
        assert_eq!(e.source, FeedbackSource::Command);
    }
}

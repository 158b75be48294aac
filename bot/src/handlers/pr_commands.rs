//! `/reviewbot review|pause|resume` in a pull request's conversation. Only people with write
//! access may use them; every command gets one answer, said once even if the job is retried.

use anyhow::Context as _;
use chrono::Utc;
use tracing::info;

use super::Context;
use crate::events::PrAction;
use crate::github::InstallationClient;
use crate::github::ids::{CommentId, InstallationId, PrNumber, RepoName, User};
use crate::jobs::Job;

/// A conversation command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrCommand {
    /// Review the current head now (drafts and paused pull requests included).
    Review,
    /// Stop automatic reviews of this pull request.
    Pause,
    /// Start them again.
    Resume,
    /// Let a category noise control muted speak again (counting only verdicts from now on).
    Unmute(String),
    /// `/reviewbot <something else>`: answered with the valid forms.
    Unknown(String),
}

/// The valid forms, as answered to an unknown command.
const USAGE: &str = "`/reviewbot review` (review the current commit now), `/reviewbot pause` (no automatic reviews on this pull request), `/reviewbot resume`, `/reviewbot unmute <category>` (a category the review summary says is muted).";

/// The first command in a comment. Quoted lines and code blocks are not commands: people
/// quote the bot's own instructions back.
pub fn parse_command(body: &str) -> Option<PrCommand> {
    let mut in_code = false;
    for line in body.lines() {
        let line = line.trim();
        if line.starts_with("```") || line.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if in_code || line.starts_with('>') {
            continue;
        }
        // A leading mention of the bot is tolerated: `@reviewbot /reviewbot pause`.
        let line = match line.strip_prefix('@') {
            Some(rest) => rest
                .split_once(char::is_whitespace)
                .map_or("", |(_, r)| r.trim_start()),
            None => line,
        };
        let mut words = line.split_whitespace();
        if !words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("/reviewbot"))
        {
            continue;
        }
        let verb = words.next().unwrap_or("").to_ascii_lowercase();
        return Some(match verb.as_str() {
            "review" => PrCommand::Review,
            "pause" => PrCommand::Pause,
            "resume" => PrCommand::Resume,
            // Categories are rule ids, CWEs or test kinds: one word, kept as written.
            "unmute" => match words.next() {
                Some(category) if category.len() <= 100 => {
                    PrCommand::Unmute(category.trim_matches('`').to_owned())
                }
                _ => PrCommand::Unknown("unmute".into()),
            },
            other => PrCommand::Unknown(other.to_owned()),
        });
    }
    None
}

/// What a command job carries.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    /// The installation to act as.
    pub installation: InstallationId,
    /// The repository.
    pub repo: RepoName,
    /// The pull request.
    pub pr: PrNumber,
    /// The comment holding the command.
    pub comment: CommentId,
    /// Who wrote it.
    pub author: User,
    /// Its text.
    pub body: String,
}

fn reply_marker(comment: &CommentId) -> String {
    format!("<!-- reviewbot:reply-to={comment} -->")
}

/// Answers once: a retried job finds its earlier answer by the marker.
async fn reply(
    client: &InstallationClient,
    ctx: &Context,
    request: &CommandRequest,
    text: &str,
) -> anyhow::Result<()> {
    let bot_login = ctx.github.bot_login().await.context("read the App")?;
    let marker = reply_marker(&request.comment);
    let said = client
        .issue_comments_by_app(&request.repo, &request.pr, &bot_login)
        .await
        .context("read our earlier answers")?
        .iter()
        .any(|c| c.body.contains(&marker));
    if !said {
        let body = format!("@{} {text}\n{marker}", request.author.login);
        client
            .create_issue_comment(&request.repo, &request.pr, &body)
            .await
            .context("answer the command")?;
    }
    Ok(())
}

/// Runs one conversation command.
pub(crate) async fn handle(ctx: &Context, request: CommandRequest) -> anyhow::Result<()> {
    let Some(command) = parse_command(&request.body) else {
        return Ok(());
    };
    let client = ctx
        .github
        .client(request.installation.clone())
        .await
        .context("act as the installation")?;
    let permission = client
        .collaborator_permission(&request.repo, &request.author.login)
        .await
        .context("read the author's permission")?;
    if !permission.can_write() {
        info!(author = %request.author.login, ?command, "command refused: no write access");
        return reply(
            &client,
            ctx,
            &request,
            "only people with write access to this repository can use `/reviewbot` commands; nothing was changed.",
        )
        .await;
    }
    let repo = request.repo.to_string();
    let pr = request.pr.0 as i64;
    let now = Utc::now();
    let answer = match &command {
        PrCommand::Unknown(verb) => format!(
            "unknown command `/reviewbot {}`. Valid: {USAGE}",
            verb.replace('`', "'")
        ),
        PrCommand::Pause => {
            ctx.store
                .set_paused(&repo, pr, true, Some(&request.author.login), now)
                .await?;
            "automatic reviews are paused on this pull request. `/reviewbot resume` starts them again; `/reviewbot review` still reviews on request.".into()
        }
        PrCommand::Unmute(category) => {
            ctx.store
                .unmute_category(&repo, category, &request.author.login, now)
                .await?;
            format!(
                "`{}` is unmuted in this repository: noise control counts only verdicts from now on.",
                category.replace('`', "'")
            )
        }
        PrCommand::Resume => {
            ctx.store
                .set_paused(&repo, pr, false, Some(&request.author.login), now)
                .await?;
            "automatic reviews are back on for this pull request.".into()
        }
        PrCommand::Review => {
            let info = client
                .pull_request(&request.repo, &request.pr)
                .await
                .context("read the pull request")?;
            if info.state != "open" {
                "this pull request is closed; nothing to review.".into()
            } else {
                let job = Job::Review {
                    installation: request.installation.clone(),
                    repo: request.repo.clone(),
                    pr: request.pr.clone(),
                    head_sha: info.head_sha.clone(),
                    base_sha: info.base_sha.clone(),
                    before: None,
                    draft: info.draft,
                    trigger: PrAction::Requested,
                    default_branch: info.default_branch.clone(),
                    round: request.comment.0,
                };
                ctx.store
                    .enqueue_job(&job.to_new_job(&ctx.retry, now), now)
                    .await
                    .context("queue the review")?;
                let short: String = info.head_sha.as_str().chars().take(7).collect();
                format!("reviewing `{short}` now.")
            }
        }
    };
    info!(?command, "command done");
    reply(&client, ctx, &request, &answer).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_tolerantly_but_never_from_quotes_or_code() {
        assert_eq!(parse_command("/reviewbot review"), Some(PrCommand::Review));
        assert_eq!(
            parse_command("  /ReviewBot   PAUSE  please"),
            Some(PrCommand::Pause)
        );
        assert_eq!(
            parse_command("@reviewbot[bot] /reviewbot resume"),
            Some(PrCommand::Resume)
        );
        assert_eq!(
            parse_command("thanks!\n/reviewbot dance"),
            Some(PrCommand::Unknown("dance".into()))
        );
        assert_eq!(
            parse_command("/reviewbot"),
            Some(PrCommand::Unknown(String::new()))
        );
        assert_eq!(parse_command("> /reviewbot pause\nagreed"), None);
        assert_eq!(parse_command("```\n/reviewbot pause\n```"), None);
        assert_eq!(parse_command("we should /reviewbot pause"), None);
        assert_eq!(parse_command("/reviewbotty review"), None);
        assert_eq!(
            parse_command("/reviewbot unmute `python.os-system`"),
            Some(PrCommand::Unmute("python.os-system".into()))
        );
        assert_eq!(
            parse_command("/reviewbot unmute"),
            Some(PrCommand::Unknown("unmute".into()))
        );
    }
}

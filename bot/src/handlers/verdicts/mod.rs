//! Closing the loop: every human verdict on a suggestion, from every channel, into the
//! append-only ledger exactly once — replies in review threads (`reply`), resolved threads
//! (`thread`), and the triage that keeps or clears a failing check (`triage`).

pub mod adoption;
pub mod auto_commit;
pub mod closed;
pub mod reactions;
pub mod reply;
pub mod thread;
pub mod triage;

use anyhow::Context as _;

use crate::github::InstallationClient;
use crate::github::ids::{CommentId, PrNumber, RepoName};

/// Answers a reply in its thread, once: a retried job finds its earlier answer by a marker
/// naming the comment it answers.
pub(crate) async fn answer_in_thread(
    client: &InstallationClient,
    repo: &RepoName,
    pr: &PrNumber,
    thread: &CommentId,
    answering: &CommentId,
    bot_login: &str,
    text: String,
) -> anyhow::Result<()> {
    let marker = format!("<!-- reviewbot:answer-to={answering} -->");
    let said = client
        .review_comments_by_app(repo, pr, bot_login)
        .await
        .context("read our earlier answers")?
        .iter()
        .any(|c| c.body.contains(&marker));
    if !said {
        client
            .reply_to_review_comment(repo, pr, thread, &format!("{text}\n{marker}"))
            .await
            .context("answer in the thread")?;
    }
    Ok(())
}

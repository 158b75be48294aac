//! Reactions on review comments, on `InstallationClient`: reading the 👍/👎 on the App's
//! comments, and acknowledging a feedback command with one.
//!
//! GitHub sends no webhook for reactions, so they are polled. A poll is a conditional request:
//! the caller keeps the ETag of the last answer and sends it back as `If-None-Match`; GitHub
//! answers 304 when nothing changed, and a 304 does not count against the primary rate limit.
//!
//! GitHub's ETags are specific to the credential (GitHub support, quoted in
//! eclipse-csi/otterdog#201; github/docs#34689): an installation token lives an hour, so after
//! the client mints a new one the old ETag no longer matches and the first poll is a full 200
//! again. That costs one request, never a wrong answer.

use chrono::{DateTime, Utc};
use http::{HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use crate::github::client::{InstallationClient, next_page_query, send, send_with_headers};
use crate::github::error::GitHubError;
use crate::github::ids::{CommentId, RepoName};
use crate::github::pulls::{PER_PAGE, repo_path};

/// The reaction contents GitHub knows, as its API spells them.
pub const REACTION_CONTENTS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

/// Pages of reactions read for one comment (10 pages of 100). A bot comment with more than a
/// thousand reactions is not feedback worth the rate-limit budget.
const MAX_REACTION_PAGES: usize = 10;

/// The route both calls use.
const ROUTE: &str = "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions";

/// One reaction on a review comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// The reaction's id (stable: the key of a feedback event made from it).
    pub id: i64,
    /// `+1`, `-1`, `laugh`, `confused`, `heart`, `hooray`, `rocket` or `eyes`.
    pub content: String,
    /// Who reacted (`ghost` when the account is gone).
    pub user_login: String,
    /// True when GitHub reports the account's `type` as `Bot`: our own acknowledgements and
    /// other Apps' reactions, which are not human feedback.
    pub user_is_bot: bool,
    /// When the reaction was made.
    pub created_at: DateTime<Utc>,
}

/// The answer to [`InstallationClient::review_comment_reactions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reactions {
    /// 304: the reactions are what they were when GitHub sent the ETag the caller passed; the
    /// caller keeps that ETag for the next poll.
    NotModified,
    /// The reactions as they are now, oldest first.
    Fresh {
        /// The ETag to send on the next poll; `None` when GitHub sent none, or when the
        /// reactions took more than one page (the first page's ETag does not cover the others,
        /// so it could hide a change: such a comment is always read in full).
        etag: Option<String>,
        /// Every reaction (at most 1,000).
        reactions: Vec<Reaction>,
    },
    /// 404: the comment was deleted (or the installation lost access to the repository).
    Gone,
}

#[derive(Deserialize)]
struct ReactionWire {
    id: i64,
    content: String,
    #[serde(default)]
    user: Option<UserWire>,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct UserWire {
    login: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

impl ReactionWire {
    fn into_reaction(self) -> Reaction {
        let (user_login, user_is_bot) = match self.user {
            Some(user) => {
                let is_bot = user.kind.as_deref() == Some("Bot");
                (user.login, is_bot)
            }
            None => ("ghost".to_owned(), false),
        };
        Reaction {
            id: self.id,
            content: self.content,
            user_login,
            user_is_bot,
            created_at: self.created_at,
        }
    }
}

impl InstallationClient {
    /// The reactions on review comment `comment`
    /// (`GET …/pulls/comments/{comment_id}/reactions`, every page up to 1,000 reactions).
    ///
    /// With `etag` (from an earlier [`Reactions::Fresh`]) the first page is asked for with
    /// `If-None-Match`, and GitHub's 304 is [`Reactions::NotModified`]. An `etag` that is not a
    /// valid header value is not sent (the answer is then fresh). 404 is [`Reactions::Gone`].
    pub async fn review_comment_reactions(
        &self,
        repo: &RepoName,
        comment: &CommentId,
        etag: Option<&str>,
    ) -> Result<Reactions, GitHubError> {
        let base = format!("{}/pulls/comments/{comment}/reactions", repo_path(repo));
        let conditional: Vec<_> = etag
            .and_then(|etag| HeaderValue::from_str(etag).ok())
            .map(|value| (header::IF_NONE_MATCH, value))
            .into_iter()
            .collect();
        let first = send_with_headers(
            self.crab(),
            Method::GET,
            ROUTE,
            format!("{base}?per_page={PER_PAGE}&page=1"),
            None,
            &conditional,
            None,
        )
        .await?;
        match first.status {
            StatusCode::NOT_MODIFIED => return Ok(Reactions::NotModified),
            StatusCode::NOT_FOUND => return Ok(Reactions::Gone),
            _ => {}
        }
        let first_etag = first
            .headers
            .get(header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut wires: Vec<ReactionWire> = first.json()?;
        let mut next = next_page_query(&first.headers);
        let single_page = next.is_none();
        let mut pages = 1;
        while let Some(query) = next.take() {
            if pages == MAX_REACTION_PAGES {
                tracing::warn!(
                    repo = %repo,
                    comment = comment.0,
                    max_pages = MAX_REACTION_PAGES,
                    "review comment has more reactions than we read; stopping at the page limit"
                );
                break;
            }
            let response = send(
                self.crab(),
                Method::GET,
                ROUTE,
                format!("{base}?{query}"),
                None,
                None,
            )
            .await?;
            // Deleted between two pages.
            if response.status == StatusCode::NOT_FOUND {
                return Ok(Reactions::Gone);
            }
            let page: Vec<ReactionWire> = response.json()?;
            wires.extend(page);
            next = next_page_query(&response.headers);
            pages += 1;
        }
        Ok(Reactions::Fresh {
            etag: first_etag.filter(|_| single_page),
            reactions: wires.into_iter().map(ReactionWire::into_reaction).collect(),
        })
    }

    /// Reacts to review comment `comment` with `content` (one of [`REACTION_CONTENTS`];
    /// `POST …/pulls/comments/{comment_id}/reactions`), e.g. `eyes` to acknowledge a feedback
    /// command. GitHub answers 201 for a new reaction and 200 when the App had already reacted
    /// so: both are success, so a retried job can call this again. An unknown content is
    /// GitHub's 422, a deleted comment its 404 ([`GitHubError::NotFound`]).
    pub async fn add_review_comment_reaction(
        &self,
        repo: &RepoName,
        comment: &CommentId,
        content: &str,
    ) -> Result<(), GitHubError> {
        let request = json!({ "content": content });
        self.before_write().await;
        let response = send(
            self.crab(),
            Method::POST,
            ROUTE,
            format!("{}/pulls/comments/{comment}/reactions", repo_path(repo)),
            None,
            Some(&request),
        )
        .await?;
        if !response.status.is_success() {
            return Err(response.error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(json: &str) -> Reaction {
        serde_json::from_str::<ReactionWire>(json)
            .unwrap()
            .into_reaction()
    }

    #[test]
    fn a_reaction_flags_bot_users_and_survives_a_deleted_account() {
        let human = wire(
            r#"{"id":1,"node_id":"R_1","content":"+1","created_at":"2016-05-20T20:09:31Z","user":{"login":"octocat","type":"User"}}"#,
        );
        assert_eq!(human.user_login, "octocat");
        assert!(!human.user_is_bot);
        assert_eq!(human.created_at.to_rfc3339(), "2016-05-20T20:09:31+00:00");
        let bot = wire(
            r#"{"id":2,"content":"eyes","created_at":"2016-05-20T20:09:31Z","user":{"login":"reviewbot[bot]","type":"Bot"}}"#,
        );
        assert!(bot.user_is_bot);
        let ghost =
            wire(r#"{"id":3,"content":"-1","created_at":"2016-05-20T20:09:31Z","user":null}"#);
        assert_eq!(
            (ghost.user_login.as_str(), ghost.user_is_bot),
            ("ghost", false)
        );
    }
}

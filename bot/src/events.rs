//! Webhook bodies parsed at the edge into small typed events holding only the fields we read.
//!
//! The serde structs mirroring GitHub's payloads are private to this module; everything
//! past the HTTP layer sees only [`WebhookEvent`] and the types in [`crate::github::ids`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::github::ids::{
    CommentId, CommitSha, InstallationId, PrNumber, RepoId, RepoName, User, UserId,
};

/// A webhook we act on, named as the fact it reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum WebhookEvent {
    /// GitHub checked that the hook works (sent when a hook is created).
    Ping {
        /// The hook's id.
        hook_id: Option<i64>,
        /// A random GitHub aphorism.
        zen: Option<String>,
    },
    /// A pull request was opened, reopened, pushed to, marked ready or closed.
    PullRequestChanged(PullRequestEvent),
    /// A review comment (often a reply in one of our threads) was posted.
    ReviewCommentCreated(ReviewCommentEvent),
    /// A review comment's body was edited.
    ReviewCommentEdited {
        /// The comment as it is now.
        event: ReviewCommentEvent,
        /// The body before the edit (`changes.body.from`), when GitHub sent it.
        previous_body: Option<String>,
    },
    /// A comment was posted on an issue or on a pull request's conversation.
    IssueCommentCreated(IssueCommentEvent),
    /// A review thread was marked resolved.
    ReviewThreadResolved(ReviewThreadEvent),
    /// A resolved review thread was reopened.
    ReviewThreadUnresolved(ReviewThreadEvent),
    /// The App was installed, uninstalled, suspended, unsuspended or granted new permissions.
    InstallationChanged(InstallationEvent),
    /// Repositories were added to or removed from an installation.
    InstallationRepositoriesChanged(InstallationRepositoriesEvent),
}

impl WebhookEvent {
    /// The installation the event belongs to, when the payload names one.
    pub fn installation_id(&self) -> Option<InstallationId> {
        match self {
            Self::Ping { .. } => None,
            Self::PullRequestChanged(e) => e.installation.clone(),
            Self::ReviewCommentCreated(e) | Self::ReviewCommentEdited { event: e, .. } => {
                e.installation.clone()
            }
            Self::IssueCommentCreated(e) => e.installation.clone(),
            Self::ReviewThreadResolved(e) | Self::ReviewThreadUnresolved(e) => {
                e.installation.clone()
            }
            Self::InstallationChanged(e) => Some(e.installation.id.clone()),
            Self::InstallationRepositoriesChanged(e) => Some(e.installation.id.clone()),
        }
    }

    /// The repository the event is about; `None` for ping and installation-wide events.
    pub fn repo(&self) -> Option<&RepoName> {
        match self {
            Self::Ping { .. }
            | Self::InstallationChanged(_)
            | Self::InstallationRepositoriesChanged(_) => None,
            Self::PullRequestChanged(e) => Some(&e.repo.name),
            Self::ReviewCommentCreated(e) | Self::ReviewCommentEdited { event: e, .. } => {
                Some(&e.repo.name)
            }
            Self::IssueCommentCreated(e) => Some(&e.repo.name),
            Self::ReviewThreadResolved(e) | Self::ReviewThreadUnresolved(e) => Some(&e.repo.name),
        }
    }
}

/// The `pull_request` actions we handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrAction {
    /// `opened`
    Opened,
    /// `reopened`
    Reopened,
    /// `synchronize`: new commits were pushed to the head branch.
    Synchronize,
    /// `ready_for_review`: a draft became ready.
    ReadyForReview,
    /// `closed`, merged or not.
    Closed,
    /// Not a webhook action: a `/reviewbot review` command asked for a review.
    Requested,
}

impl PrAction {
    /// Maps GitHub's action string; `None` for actions we ignore.
    fn from_webhook(action: &str) -> Option<Self> {
        Some(match action {
            "opened" => Self::Opened,
            "reopened" => Self::Reopened,
            "synchronize" => Self::Synchronize,
            "ready_for_review" => Self::ReadyForReview,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// A repository as the events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoRef {
    /// Stable numeric id.
    pub id: RepoId,
    /// `owner/name`, lowercased.
    pub name: RepoName,
    /// Where `.github/reviewbot.yml` is read from.
    pub default_branch: String,
    /// Whether the repository is private.
    pub private: bool,
}

/// A pull request as `pull_request` events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    /// The PR number.
    pub number: PrNumber,
    /// The title at the time of the event.
    pub title: String,
    /// Who opened the PR.
    pub author: User,
    /// Drafts are skipped unless configured.
    pub draft: bool,
    /// `open` or `closed`.
    pub state: String,
    /// Whether it was merged (false when GitHub sends `null`).
    pub merged: bool,
    /// The head commit to review.
    pub head_sha: CommitSha,
    /// The head branch name.
    pub head_ref: String,
    /// The head repository; `None` when the fork was deleted.
    pub head_repo: Option<RepoName>,
    /// The base branch name.
    pub base_ref: String,
    /// The base commit at the time of the event.
    pub base_sha: CommitSha,
}

/// A `pull_request` event with one of the actions in [`PrAction`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequestEvent {
    /// What happened.
    pub action: PrAction,
    /// The installation; GitHub omits it in some payloads.
    pub installation: Option<InstallationId>,
    /// The base repository.
    pub repo: RepoRef,
    /// The pull request.
    pub pr: PullRequest,
    /// The head before the push (`synchronize` only).
    pub before: Option<CommitSha>,
    /// The head after the push (`synchronize` only).
    pub after: Option<CommitSha>,
    /// Who triggered the event.
    pub sender: User,
}

/// An inline review comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewComment {
    /// The comment's id.
    pub id: CommentId,
    /// The thread's first comment when this is a reply.
    pub in_reply_to_id: Option<CommentId>,
    /// Markdown body.
    pub body: String,
    /// Who wrote it.
    pub author: User,
    /// File path the comment is on.
    pub path: String,
    /// Line in the file; `None` for outdated or file-level comments.
    pub line: Option<u32>,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it was last edited.
    pub updated_at: DateTime<Utc>,
    /// Link to the comment on github.com.
    pub html_url: String,
}

/// A `pull_request_review_comment` event (created or edited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewCommentEvent {
    /// The installation, when present.
    pub installation: Option<InstallationId>,
    /// The repository.
    pub repo: RepoRef,
    /// The pull request the comment is on.
    pub pr_number: PrNumber,
    /// Login of the pull request's author (feedback permission checks).
    pub pr_author_login: String,
    /// The comment.
    pub comment: ReviewComment,
}

/// A comment on an issue or a PR conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueComment {
    /// The comment's id.
    pub id: CommentId,
    /// Markdown body.
    pub body: String,
    /// Who wrote it.
    pub author: User,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
}

/// An `issue_comment` `created` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueCommentEvent {
    /// The installation, when present.
    pub installation: Option<InstallationId>,
    /// The repository.
    pub repo: RepoRef,
    /// The issue or pull request number.
    pub issue_number: PrNumber,
    /// True when the issue is a pull request (`issue.pull_request` present).
    pub on_pull_request: bool,
    /// Login of the issue's (or PR's) author.
    pub issue_author_login: String,
    /// The comment.
    pub comment: IssueComment,
    /// Who triggered the event.
    pub sender: User,
}

/// A `pull_request_review_thread` event (resolved or unresolved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewThreadEvent {
    /// The installation, when present.
    pub installation: Option<InstallationId>,
    /// The repository.
    pub repo: RepoRef,
    /// The pull request the thread is on.
    pub pr_number: PrNumber,
    /// Ids of the thread's comments, first comment first.
    pub comment_ids: Vec<CommentId>,
    /// Author of the first comment, which tells whether the thread is ours.
    pub first_comment_author: Option<User>,
    /// Who resolved or unresolved it.
    pub sender: User,
}

/// The `installation` actions we handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallationAction {
    /// `created`
    Created,
    /// `deleted`
    Deleted,
    /// `suspend`
    Suspend,
    /// `unsuspend`
    Unsuspend,
    /// `new_permissions_accepted`
    NewPermissionsAccepted,
}

impl InstallationAction {
    /// Maps GitHub's action string; `None` for actions we ignore.
    fn from_webhook(action: &str) -> Option<Self> {
        Some(match action {
            "created" => Self::Created,
            "deleted" => Self::Deleted,
            "suspend" => Self::Suspend,
            "unsuspend" => Self::Unsuspend,
            "new_permissions_accepted" => Self::NewPermissionsAccepted,
            _ => return None,
        })
    }
}

/// Whether an installation covers all of the account's repositories or a chosen list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepositorySelection {
    /// `all`
    All,
    /// `selected`
    Selected,
}

/// An installation as installation events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallationRef {
    /// The installation id.
    pub id: InstallationId,
    /// The user or organisation that installed the App.
    pub account_login: String,
    /// `User` or `Organization`.
    pub account_type: String,
    /// All repositories or selected ones.
    pub repository_selection: RepositorySelection,
}

/// A repository as installation events list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RepoStub {
    /// Stable numeric id.
    pub id: RepoId,
    /// `owner/name`, lowercased.
    pub name: RepoName,
}

/// An `installation` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallationEvent {
    /// What happened.
    pub action: InstallationAction,
    /// The installation.
    pub installation: InstallationRef,
    /// Repositories the installation can access, when GitHub lists them (empty otherwise).
    pub repositories: Vec<RepoStub>,
}

/// An `installation_repositories` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallationRepositoriesEvent {
    /// The installation.
    pub installation: InstallationRef,
    /// The selection after the change.
    pub repository_selection: RepositorySelection,
    /// Repositories added (`added` action).
    pub added: Vec<RepoStub>,
    /// Repositories removed (`removed` action).
    pub removed: Vec<RepoStub>,
}

/// The few fields present on (nearly) every webhook, read without knowing the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// The `action` field; `None` for `ping` and other action-less events.
    pub action: Option<String>,
    /// `installation.id`, when present.
    pub installation_id: Option<InstallationId>,
    /// `repository.full_name`, when present.
    pub repo: Option<RepoName>,
}

/// Why a webhook body could not be parsed; the HTTP layer answers 400.
#[derive(Debug, thiserror::Error)]
pub enum EventParseError {
    /// The body is not JSON at all.
    #[error("webhook body is not valid JSON: {0}")]
    InvalidJson(serde_json::Error),
    /// The body is JSON, but not an object.
    #[error("webhook body is JSON but not an object")]
    NotAnObject,
    /// A field we need is missing or has the wrong type.
    #[error("malformed {} payload: {error}", describe(.event.as_deref(), .action.as_deref()))]
    Malformed {
        /// The `X-GitHub-Event` value; `None` from [`parse_meta`].
        event: Option<String>,
        /// The payload's `action`, when it has one.
        action: Option<String>,
        /// serde's description, with line and column.
        error: serde_json::Error,
    },
}

/// Names the event and action in error messages, e.g. "`pull_request` `opened`".
fn describe(event: Option<&str>, action: Option<&str>) -> String {
    match (event, action) {
        (Some(event), Some(action)) => format!("`{event}` `{action}`"),
        (Some(event), None) => format!("`{event}`"),
        (None, Some(action)) => format!("webhook (action `{action}`)"),
        (None, None) => "webhook".to_owned(),
    }
}

/// Parses a webhook body given its `X-GitHub-Event` header.
///
/// `Ok(None)` means a valid body for an event or action we don't handle.
pub fn parse_event(event: &str, body: &[u8]) -> Result<Option<WebhookEvent>, EventParseError> {
    let action = parse_envelope(body).map_err(|e| with_event(e, event))?;
    let malformed = |error| EventParseError::Malformed {
        event: Some(event.to_owned()),
        action: action.clone(),
        error,
    };
    // Every event but ping needs an action to be dispatched.
    let need_action = || {
        action
            .as_deref()
            .ok_or_else(|| malformed(serde::de::Error::missing_field("action")))
    };

    let parsed = match event {
        "ping" => parse_ping(body),
        "pull_request" => match PrAction::from_webhook(need_action()?) {
            Some(pr_action) => parse_pull_request(pr_action, body),
            None => return Ok(None),
        },
        "pull_request_review_comment" => match need_action()? {
            "created" => parse_review_comment(body, false),
            "edited" => parse_review_comment(body, true),
            _ => return Ok(None),
        },
        "issue_comment" => match need_action()? {
            "created" => parse_issue_comment(body),
            _ => return Ok(None),
        },
        "pull_request_review_thread" => match need_action()? {
            "resolved" => parse_review_thread(body, true),
            "unresolved" => parse_review_thread(body, false),
            _ => return Ok(None),
        },
        "installation" => match InstallationAction::from_webhook(need_action()?) {
            Some(inst_action) => parse_installation(inst_action, body),
            None => return Ok(None),
        },
        "installation_repositories" => match need_action()? {
            "added" | "removed" => parse_installation_repositories(body),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    parsed.map(Some).map_err(malformed)
}

/// Reads `action`, `installation.id` and `repository.full_name` from any webhook body.
pub fn parse_meta(body: &[u8]) -> Result<EventMeta, EventParseError> {
    let meta: MetaPayload = parse_object(body)?;
    Ok(EventMeta {
        action: meta.action,
        installation_id: meta.installation.map(|i| i.id),
        repo: meta.repository.map(|r| r.full_name),
    })
}

/// Checks the body is a JSON object and returns its `action`.
fn parse_envelope(body: &[u8]) -> Result<Option<String>, EventParseError> {
    let envelope: EnvelopePayload = parse_object(body)?;
    Ok(envelope.action)
}

/// Deserializes a body that must be a JSON object, sorting failures into our error kinds.
fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, EventParseError> {
    // serde lets a struct deserialize from a JSON array too, so check for an object first.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(match serde_json::from_slice::<IgnoredAny>(body) {
            Ok(_) => EventParseError::NotAnObject,
            Err(e) => EventParseError::InvalidJson(e),
        });
    }
    serde_json::from_slice(body).map_err(|error| {
        if error.is_data() {
            EventParseError::Malformed {
                event: None,
                action: None,
                error,
            }
        } else {
            EventParseError::InvalidJson(error)
        }
    })
}

/// Adds the event name to an error from [`parse_envelope`].
fn with_event(err: EventParseError, event: &str) -> EventParseError {
    match err {
        EventParseError::Malformed { action, error, .. } => EventParseError::Malformed {
            event: Some(event.to_owned()),
            action,
            error,
        },
        other => other,
    }
}

fn parse_ping(body: &[u8]) -> Result<WebhookEvent, serde_json::Error> {
    let p: PingPayload = serde_json::from_slice(body)?;
    Ok(WebhookEvent::Ping {
        hook_id: p.hook_id,
        zen: p.zen,
    })
}

fn parse_pull_request(action: PrAction, body: &[u8]) -> Result<WebhookEvent, serde_json::Error> {
    let p: PullRequestPayload = serde_json::from_slice(body)?;
    let pr = p.pull_request;
    // before/after describe a push; GitHub sends them only with synchronize.
    let (before, after) = match action {
        PrAction::Synchronize => (p.before, p.after),
        _ => (None, None),
    };
    Ok(WebhookEvent::PullRequestChanged(PullRequestEvent {
        action,
        installation: p.installation.map(|i| i.id),
        repo: p.repository.into(),
        pr: PullRequest {
            number: pr.number,
            title: pr.title,
            author: pr.user.into(),
            draft: pr.draft,
            state: pr.state,
            merged: pr.merged.unwrap_or(false),
            head_sha: pr.head.sha,
            head_ref: pr.head.git_ref,
            head_repo: pr.head.repo.map(|r| r.full_name),
            base_ref: pr.base.git_ref,
            base_sha: pr.base.sha,
        },
        before,
        after,
        sender: p.sender.into(),
    }))
}

fn parse_review_comment(body: &[u8], edited: bool) -> Result<WebhookEvent, serde_json::Error> {
    let p: ReviewCommentPayload = serde_json::from_slice(body)?;
    let c = p.comment;
    let event = ReviewCommentEvent {
        installation: p.installation.map(|i| i.id),
        repo: p.repository.into(),
        pr_number: p.pull_request.number,
        pr_author_login: p.pull_request.user.login,
        comment: ReviewComment {
            id: c.id,
            in_reply_to_id: c.in_reply_to_id,
            body: c.body,
            author: c.user.into(),
            path: c.path,
            line: c.line,
            created_at: c.created_at,
            updated_at: c.updated_at,
            html_url: c.html_url,
        },
    };
    Ok(if edited {
        WebhookEvent::ReviewCommentEdited {
            event,
            previous_body: p.changes.and_then(|ch| ch.body).map(|b| b.from),
        }
    } else {
        WebhookEvent::ReviewCommentCreated(event)
    })
}

fn parse_issue_comment(body: &[u8]) -> Result<WebhookEvent, serde_json::Error> {
    let p: IssueCommentPayload = serde_json::from_slice(body)?;
    Ok(WebhookEvent::IssueCommentCreated(IssueCommentEvent {
        installation: p.installation.map(|i| i.id),
        repo: p.repository.into(),
        issue_number: p.issue.number,
        on_pull_request: p.issue.pull_request.is_some(),
        issue_author_login: p.issue.user.login,
        comment: IssueComment {
            id: p.comment.id,
            body: p.comment.body,
            author: p.comment.user.into(),
            created_at: p.comment.created_at,
        },
        sender: p.sender.into(),
    }))
}

fn parse_review_thread(body: &[u8], resolved: bool) -> Result<WebhookEvent, serde_json::Error> {
    let p: ReviewThreadPayload = serde_json::from_slice(body)?;
    let comments = p.thread.comments;
    let event = ReviewThreadEvent {
        installation: p.installation.map(|i| i.id),
        repo: p.repository.into(),
        pr_number: p.pull_request.number,
        comment_ids: comments.iter().map(|c| c.id.clone()).collect(),
        first_comment_author: comments.into_iter().next().map(|c| c.user.into()),
        sender: p.sender.into(),
    };
    Ok(if resolved {
        WebhookEvent::ReviewThreadResolved(event)
    } else {
        WebhookEvent::ReviewThreadUnresolved(event)
    })
}

fn parse_installation(
    action: InstallationAction,
    body: &[u8],
) -> Result<WebhookEvent, serde_json::Error> {
    let p: InstallationPayload = serde_json::from_slice(body)?;
    Ok(WebhookEvent::InstallationChanged(InstallationEvent {
        action,
        installation: p.installation.into(),
        repositories: stubs(p.repositories),
    }))
}

fn parse_installation_repositories(body: &[u8]) -> Result<WebhookEvent, serde_json::Error> {
    let p: InstallationRepositoriesPayload = serde_json::from_slice(body)?;
    Ok(WebhookEvent::InstallationRepositoriesChanged(
        InstallationRepositoriesEvent {
            installation: p.installation.into(),
            repository_selection: p.repository_selection,
            added: stubs(p.repositories_added),
            removed: stubs(p.repositories_removed),
        },
    ))
}

fn stubs(repos: Vec<RepoStubPayload>) -> Vec<RepoStub> {
    repos
        .into_iter()
        .map(|r| RepoStub {
            id: r.id,
            name: r.full_name,
        })
        .collect()
}

// ---- GitHub's payload shapes: only the fields we read; serde ignores the rest. ----

#[derive(serde::Deserialize)]
struct EnvelopePayload {
    action: Option<String>,
}

#[derive(serde::Deserialize)]
struct MetaPayload {
    action: Option<String>,
    installation: Option<InstallationLitePayload>,
    repository: Option<RepoNamePayload>,
}

#[derive(serde::Deserialize)]
struct RepoNamePayload {
    full_name: RepoName,
}

#[derive(serde::Deserialize)]
struct InstallationLitePayload {
    id: InstallationId,
}

#[derive(serde::Deserialize)]
struct UserPayload {
    login: String,
    id: UserId,
    /// `User`, `Bot` or `Organization`; a missing type counts as not a bot, never trusted.
    #[serde(rename = "type", default)]
    kind: String,
}

impl From<UserPayload> for User {
    fn from(u: UserPayload) -> Self {
        User {
            login: u.login,
            id: u.id,
            is_bot: u.kind == "Bot",
        }
    }
}

#[derive(serde::Deserialize)]
struct RepositoryPayload {
    id: RepoId,
    full_name: RepoName,
    default_branch: String,
    private: bool,
}

impl From<RepositoryPayload> for RepoRef {
    fn from(r: RepositoryPayload) -> Self {
        RepoRef {
            id: r.id,
            name: r.full_name,
            default_branch: r.default_branch,
            private: r.private,
        }
    }
}

#[derive(serde::Deserialize)]
struct PingPayload {
    hook_id: Option<i64>,
    zen: Option<String>,
}

#[derive(serde::Deserialize)]
struct PullRequestPayload {
    installation: Option<InstallationLitePayload>,
    repository: RepositoryPayload,
    pull_request: PullRequestBodyPayload,
    before: Option<CommitSha>,
    after: Option<CommitSha>,
    sender: UserPayload,
}

#[derive(serde::Deserialize)]
struct PullRequestBodyPayload {
    number: PrNumber,
    title: String,
    user: UserPayload,
    draft: bool,
    state: String,
    merged: Option<bool>,
    head: BranchPayload,
    base: BranchPayload,
}

#[derive(serde::Deserialize)]
struct BranchPayload {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: CommitSha,
    /// Null for a head whose fork was deleted.
    repo: Option<RepoNamePayload>,
}

/// The short `pull_request` object in review comment and thread payloads.
#[derive(serde::Deserialize)]
struct PullRequestLitePayload {
    number: PrNumber,
    user: UserPayload,
}

#[derive(serde::Deserialize)]
struct ReviewCommentPayload {
    installation: Option<InstallationLitePayload>,
    repository: RepositoryPayload,
    pull_request: PullRequestLitePayload,
    comment: ReviewCommentBodyPayload,
    changes: Option<ChangesPayload>,
}

#[derive(serde::Deserialize)]
struct ReviewCommentBodyPayload {
    id: CommentId,
    in_reply_to_id: Option<CommentId>,
    body: String,
    user: UserPayload,
    path: String,
    line: Option<u32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    html_url: String,
}

#[derive(serde::Deserialize)]
struct ChangesPayload {
    body: Option<ChangeFromPayload>,
}

#[derive(serde::Deserialize)]
struct ChangeFromPayload {
    from: String,
}

#[derive(serde::Deserialize)]
struct IssueCommentPayload {
    installation: Option<InstallationLitePayload>,
    repository: RepositoryPayload,
    issue: IssuePayload,
    comment: IssueCommentBodyPayload,
    sender: UserPayload,
}

#[derive(serde::Deserialize)]
struct IssuePayload {
    number: PrNumber,
    user: UserPayload,
    /// Present (with links) only when the issue is a pull request.
    pull_request: Option<IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct IssueCommentBodyPayload {
    id: CommentId,
    body: String,
    user: UserPayload,
    created_at: DateTime<Utc>,
}

#[derive(serde::Deserialize)]
struct ReviewThreadPayload {
    installation: Option<InstallationLitePayload>,
    repository: RepositoryPayload,
    pull_request: PullRequestLitePayload,
    thread: ThreadPayload,
    sender: UserPayload,
}

#[derive(serde::Deserialize)]
struct ThreadPayload {
    comments: Vec<ThreadCommentPayload>,
}

#[derive(serde::Deserialize)]
struct ThreadCommentPayload {
    id: CommentId,
    user: UserPayload,
}

#[derive(serde::Deserialize)]
struct InstallationPayload {
    installation: InstallationBodyPayload,
    #[serde(default)]
    repositories: Vec<RepoStubPayload>,
}

#[derive(serde::Deserialize)]
struct InstallationRepositoriesPayload {
    installation: InstallationBodyPayload,
    repository_selection: RepositorySelection,
    #[serde(default)]
    repositories_added: Vec<RepoStubPayload>,
    #[serde(default)]
    repositories_removed: Vec<RepoStubPayload>,
}

#[derive(serde::Deserialize)]
struct InstallationBodyPayload {
    id: InstallationId,
    account: AccountPayload,
    repository_selection: RepositorySelection,
}

/// A user or organisation (`login`, `type`), or an enterprise (`slug`, `name`, no `type`).
#[derive(serde::Deserialize)]
struct AccountPayload {
    login: Option<String>,
    slug: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl From<InstallationBodyPayload> for InstallationRef {
    fn from(i: InstallationBodyPayload) -> Self {
        let account = i.account;
        let enterprise = account.login.is_none();
        InstallationRef {
            id: i.id,
            account_login: account
                .login
                .or(account.slug)
                .or(account.name)
                .unwrap_or_default(),
            account_type: account
                .kind
                .unwrap_or_else(|| if enterprise { "Enterprise" } else { "User" }.into()),
            repository_selection: i.repository_selection,
        }
    }
}

#[derive(serde::Deserialize)]
struct RepoStubPayload {
    id: RepoId,
    full_name: RepoName,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn installation_owned_by_an_enterprise_parses_with_its_slug() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/github/webhooks/installation/created.payload.json"
        );
        let mut value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        value["installation"]["account"] =
            serde_json::json!({"id": 1, "slug": "big-corp", "name": "Big Corp"});
        let body = serde_json::to_vec(&value).unwrap();
        let Some(WebhookEvent::InstallationChanged(event)) =
            parse_event("installation", &body).unwrap()
        else {
            panic!("an installation event")
        };
        assert_eq!(event.installation.account_login, "big-corp");
        assert_eq!(event.installation.account_type, "Enterprise");
    }

    /// The recorded payloads, copied byte for byte from octokit/webhooks.
    const FIXTURE_DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/github/webhooks"
    );

    /// Every fixture as (event = folder, file), with what `parse_meta` must find:
    /// (action, installation id, repo).
    #[allow(clippy::type_complexity)]
    const FIXTURES: &[(&str, &str, Option<&str>, Option<i64>, Option<&str>)] = &[
        (
            "installation",
            "created.payload.json",
            Some("created"),
            Some(957387),
            None,
        ),
        (
            "installation_repositories",
            "added.payload.json",
            Some("added"),
            Some(957387),
            None,
        ),
        (
            "issue_comment",
            "created.payload.json",
            Some("created"),
            None,
            Some("codertocat/hello-world"),
        ),
        (
            "issue_comment",
            "created.with-installation.payload.json",
            Some("created"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
        (
            "ping",
            "payload.json",
            None,
            None,
            Some("octocoders/hello-world"),
        ),
        (
            "pull_request",
            "closed.payload.json",
            Some("closed"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
        (
            "pull_request",
            "opened.payload.json",
            Some("opened"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
        (
            "pull_request",
            "ready_for_review.payload.json",
            Some("ready_for_review"),
            None,
            Some("codertocat/hello-world"),
        ),
        (
            "pull_request",
            "reopened.payload.json",
            Some("reopened"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
        (
            "pull_request",
            "synchronize.payload.json",
            Some("synchronize"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
        (
            "pull_request_review",
            "submitted.payload.json",
            Some("submitted"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
        (
            "pull_request_review_comment",
            "created.payload.json",
            Some("created"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
        (
            "pull_request_review_comment",
            "edited.payload.json",
            Some("edited"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
        (
            "pull_request_review_thread",
            "resolved.payload.json",
            Some("resolved"),
            Some(1),
            Some("codertocat/hello-world"),
        ),
    ];

    fn fixture(event: &str, file: &str) -> Vec<u8> {
        let path = PathBuf::from(FIXTURE_DIR).join(event).join(file);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn fixture_json(event: &str, file: &str) -> serde_json::Value {
        serde_json::from_slice(&fixture(event, file)).unwrap()
    }

    fn parse_value(
        event: &str,
        value: &serde_json::Value,
    ) -> Result<Option<WebhookEvent>, EventParseError> {
        parse_event(event, &serde_json::to_vec(value).unwrap())
    }

    #[test]
    fn fixtures_table_lists_every_file_on_disk() {
        let mut on_disk = Vec::new();
        for dir in std::fs::read_dir(FIXTURE_DIR).unwrap() {
            let dir = dir.unwrap();
            for file in std::fs::read_dir(dir.path()).unwrap() {
                let event = dir.file_name().into_string().unwrap();
                on_disk.push((event, file.unwrap().file_name().into_string().unwrap()));
            }
        }
        on_disk.sort();
        let mut listed: Vec<_> = FIXTURES
            .iter()
            .map(|(event, file, ..)| (event.to_string(), file.to_string()))
            .collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn parse_event_every_fixture_matches_snapshot() {
        for (event, file, ..) in FIXTURES {
            let parsed = parse_event(event, &fixture(event, file))
                .unwrap_or_else(|e| panic!("{event}/{file}: {e}"));
            let name = match file.trim_end_matches(".json").trim_end_matches("payload") {
                "" => event.to_string(),
                action => format!("{event}__{}", action.trim_end_matches('.')),
            };
            if *event == "pull_request_review" {
                assert_eq!(parsed, None, "{event}/{file} is not handled");
                continue;
            }
            assert!(parsed.is_some(), "{event}/{file} parsed to None");
            insta::assert_json_snapshot!(name, parsed);
        }
    }

    #[test]
    fn parse_meta_every_fixture_finds_action_installation_and_repo() {
        for (event, file, action, installation, repo) in FIXTURES {
            let meta =
                parse_meta(&fixture(event, file)).unwrap_or_else(|e| panic!("{event}/{file}: {e}"));
            let expected = EventMeta {
                action: action.map(str::to_owned),
                installation_id: installation.map(InstallationId),
                repo: repo.map(|r| r.parse().unwrap()),
            };
            assert_eq!(meta, expected, "{event}/{file}");
        }
    }

    #[test]
    fn parse_event_and_meta_agree_on_installation_and_repo() {
        for (event, file, ..) in FIXTURES {
            let body = fixture(event, file);
            let meta = parse_meta(&body).unwrap();
            if let Some(parsed) = parse_event(event, &body).unwrap() {
                assert_eq!(
                    parsed.installation_id(),
                    meta.installation_id,
                    "{event}/{file}"
                );
                if !matches!(parsed, WebhookEvent::Ping { .. }) {
                    assert_eq!(parsed.repo(), meta.repo.as_ref(), "{event}/{file}");
                }
            }
        }
    }

    #[test]
    fn parse_event_ready_for_review_without_installation_parses() {
        let parsed = parse_event(
            "pull_request",
            &fixture("pull_request", "ready_for_review.payload.json"),
        )
        .unwrap()
        .unwrap();
        let WebhookEvent::PullRequestChanged(pr) = parsed else {
            panic!("unexpected {parsed:?}");
        };
        assert_eq!(pr.action, PrAction::ReadyForReview);
        assert_eq!(pr.installation, None);
    }

    #[test]
    fn parse_event_synchronize_keeps_before_and_after() {
        let parsed = parse_event(
            "pull_request",
            &fixture("pull_request", "synchronize.payload.json"),
        )
        .unwrap()
        .unwrap();
        let WebhookEvent::PullRequestChanged(pr) = parsed else {
            panic!("unexpected {parsed:?}");
        };
        assert_eq!(
            pr.before,
            Some(CommitSha("f95f852bd8fca8fcc58a9a2d6c842781e32a215e".into()))
        );
        assert_eq!(pr.after, Some(pr.pr.head_sha.clone()));
    }

    #[test]
    fn parse_event_deleted_fork_gives_no_head_repo() {
        let mut value = fixture_json("pull_request", "opened.payload.json");
        value["pull_request"]["head"]["repo"] = serde_json::Value::Null;
        let Some(WebhookEvent::PullRequestChanged(pr)) =
            parse_value("pull_request", &value).unwrap()
        else {
            panic!("not a pull request event");
        };
        assert_eq!(pr.pr.head_repo, None);
    }

    #[test]
    fn parse_event_bot_sender_is_marked_bot() {
        let mut value = fixture_json("pull_request_review_comment", "created.payload.json");
        value["comment"]["user"]["type"] = "Bot".into();
        value["comment"]["in_reply_to_id"] = 42.into();
        let Some(WebhookEvent::ReviewCommentCreated(e)) =
            parse_value("pull_request_review_comment", &value).unwrap()
        else {
            panic!("not a review comment event");
        };
        assert!(e.comment.author.is_bot);
        assert_eq!(e.comment.in_reply_to_id, Some(CommentId(42)));
    }

    #[test]
    fn parse_event_issue_comment_on_pull_request_sets_flag() {
        let mut value = fixture_json("issue_comment", "created.payload.json");
        value["issue"]["pull_request"] = serde_json::json!({
            "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"
        });
        let Some(WebhookEvent::IssueCommentCreated(e)) =
            parse_value("issue_comment", &value).unwrap()
        else {
            panic!("not an issue comment event");
        };
        assert!(e.on_pull_request);
        assert_eq!(e.issue_number, PrNumber(1));
    }

    #[test]
    fn parse_event_issue_comment_on_plain_issue_clears_flag() {
        let Some(WebhookEvent::IssueCommentCreated(e)) = parse_event(
            "issue_comment",
            &fixture("issue_comment", "created.payload.json"),
        )
        .unwrap() else {
            panic!("not an issue comment event");
        };
        assert!(!e.on_pull_request);
    }

    #[test]
    fn parse_event_unresolved_thread_gives_unresolved_variant() {
        let mut value = fixture_json("pull_request_review_thread", "resolved.payload.json");
        value["action"] = "unresolved".into();
        let parsed = parse_value("pull_request_review_thread", &value).unwrap();
        assert!(
            matches!(parsed, Some(WebhookEvent::ReviewThreadUnresolved(_))),
            "{parsed:?}"
        );
    }

    #[test]
    fn parse_event_installation_deleted_without_repositories_gives_empty_list() {
        let mut value = fixture_json("installation", "created.payload.json");
        value["action"] = "deleted".into();
        value.as_object_mut().unwrap().remove("repositories");
        let Some(WebhookEvent::InstallationChanged(e)) =
            parse_value("installation", &value).unwrap()
        else {
            panic!("not an installation event");
        };
        assert_eq!(e.action, InstallationAction::Deleted);
        assert!(e.repositories.is_empty());
    }

    #[test]
    fn parse_event_repositories_removed_fills_removed_list() {
        let mut value = fixture_json("installation_repositories", "added.payload.json");
        value["action"] = "removed".into();
        let added = value["repositories_added"].take();
        value["repositories_added"] = serde_json::json!([]);
        value["repositories_removed"] = added;
        let Some(WebhookEvent::InstallationRepositoriesChanged(e)) =
            parse_value("installation_repositories", &value).unwrap()
        else {
            panic!("not an installation_repositories event");
        };
        assert!(e.added.is_empty());
        assert_eq!(e.removed[0].name.to_string(), "codertocat/space");
    }

    #[test]
    fn parse_event_review_comment_deleted_is_ignored() {
        let mut value = fixture_json("pull_request_review_comment", "created.payload.json");
        value["action"] = "deleted".into();
        assert_eq!(
            parse_value("pull_request_review_comment", &value).unwrap(),
            None
        );
    }

    #[test]
    fn parse_event_non_json_body_is_an_error() {
        let err = parse_event("pull_request", b"not json at all").unwrap_err();
        assert!(matches!(err, EventParseError::InvalidJson(_)), "{err:?}");
        let err = parse_event("pull_request", b"{\"action\": \"opened\"").unwrap_err();
        assert!(matches!(err, EventParseError::InvalidJson(_)), "{err:?}");
        assert!(parse_meta(b"").is_err());
    }

    #[test]
    fn parse_event_json_that_is_not_an_object_is_an_error() {
        for body in [&b"[\"opened\"]"[..], b"\"opened\"", b"42", b"null", b" []"] {
            let err = parse_event("pull_request", body).unwrap_err();
            assert!(matches!(err, EventParseError::NotAnObject), "{err:?}");
            assert!(matches!(
                parse_meta(body),
                Err(EventParseError::NotAnObject)
            ));
        }
    }

    #[test]
    fn parse_event_missing_head_sha_names_event_action_and_field() {
        let mut value = fixture_json("pull_request", "opened.payload.json");
        value["pull_request"]["head"]
            .as_object_mut()
            .unwrap()
            .remove("sha");
        let err = parse_value("pull_request", &value).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, EventParseError::Malformed { .. }), "{err:?}");
        assert!(message.contains("`pull_request` `opened`"), "{message}");
        assert!(message.contains("missing field `sha`"), "{message}");
    }

    #[test]
    fn parse_event_known_event_without_action_is_an_error() {
        let err = parse_event("pull_request", b"{}").unwrap_err();
        assert!(err.to_string().contains("missing field `action`"), "{err}");
    }

    #[test]
    fn parse_event_action_of_wrong_type_is_malformed() {
        let err = parse_event("pull_request", br#"{"action": 5}"#).unwrap_err();
        assert!(matches!(err, EventParseError::Malformed { .. }), "{err:?}");
        assert!(err.to_string().contains("`pull_request`"), "{err}");
    }

    #[test]
    fn parse_event_unknown_event_is_ignored() {
        let body = br#"{"action": "created", "deployment": {"id": 1}}"#;
        assert_eq!(parse_event("deployment", body).unwrap(), None);
    }

    #[test]
    fn parse_event_unknown_action_is_ignored() {
        let mut value = fixture_json("pull_request", "opened.payload.json");
        value["action"] = "labeled".into();
        assert_eq!(parse_value("pull_request", &value).unwrap(), None);
    }

    #[test]
    fn parse_event_invalid_repo_name_is_malformed() {
        let mut value = fixture_json("pull_request", "opened.payload.json");
        value["repository"]["full_name"] = "no-slash".into();
        let err = parse_value("pull_request", &value).unwrap_err();
        assert!(err.to_string().contains("no-slash"), "{err}");
    }

    #[test]
    fn parse_meta_unknown_event_reads_common_fields() {
        let body = br#"{"action": "created", "installation": {"id": 9}, "repository": {"full_name": "A/B"}}"#;
        let meta = parse_meta(body).unwrap();
        assert_eq!(meta.action.as_deref(), Some("created"));
        assert_eq!(meta.installation_id, Some(InstallationId(9)));
        assert_eq!(meta.repo.map(|r| r.to_string()).as_deref(), Some("a/b"));
    }

    #[test]
    fn parse_meta_wrong_installation_type_is_malformed() {
        let err = parse_meta(br#"{"installation": {"id": "nine"}}"#).unwrap_err();
        assert!(
            matches!(err, EventParseError::Malformed { event: None, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("malformed webhook payload"),
            "{err}"
        );
    }
}

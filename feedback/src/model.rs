//! The persisted vocabulary: ids, records and the small enums stored as text.

pub use crate::export::answer_tokens::AnswerTokens;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Declares an enum stored as lowercase text, with `as_str` and a fallible parse.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored text.
            pub fn parse(text: &str) -> Result<Self, StoreError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(StoreError::Corrupt(format!(concat!(stringify!($name), " {:?}"), other))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A row of `jobs`.
    JobId
);
id_type!(
    /// A row of `model_calls`.
    ModelCallId
);
id_type!(
    /// A row of `suggestions`; the id in the `<!-- reviewbot:s=<id> -->` marker.
    SuggestionId
);
id_type!(
    /// A row of `reviews`.
    ReviewId
);
id_type!(
    /// A row of `feedback_events`.
    FeedbackEventId
);

/// A webhook delivery to record, with the jobs it implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// `X-GitHub-Delivery`: the same GUID when GitHub redelivers.
    pub delivery_id: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The payload's `action`, when it has one.
    pub action: Option<String>,
    /// The installation the delivery came from.
    pub installation_id: Option<i64>,
    /// `owner/name`, lowercase.
    pub repo: Option<String>,
    /// When we received it.
    pub received_at: DateTime<Utc>,
}

/// What recording a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedDelivery {
    /// First time we saw this delivery id: recorded, with these jobs enqueued (maybe none).
    Accepted {
        /// The jobs enqueued in the same transaction.
        job_ids: Vec<JobId>,
    },
    /// We already recorded this delivery id; nothing changed.
    Duplicate,
}

/// A job to enqueue. The payload is our own serialized job type, opaque to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// A short name of the job type, e.g. `review`.
    pub kind: String,
    /// The serialized job (JSON text).
    pub payload: String,
    /// Queued jobs with the same key are superseded by this one (e.g. a review of an older head).
    pub supersede_key: Option<String>,
    /// Attempts before the job becomes a dead letter.
    pub max_attempts: i32,
    /// Earliest time to run.
    pub run_at: DateTime<Utc>,
}

text_enum!(
    /// Where a job is in its life.
    JobState {
        /// Waiting for `run_at` and a worker.
        Queued = "queued",
        /// Claimed by a worker under a lease.
        Running = "running",
        /// Finished successfully.
        Done = "done",
        /// Gave up after `max_attempts`; `last_error` says why.
        Dead = "dead",
        /// Replaced by a newer job with the same supersede key before it ran.
        Superseded = "superseded",
    }
);

/// A job a worker has claimed; it holds the lease until it completes, fails or releases it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job.
    pub id: JobId,
    /// Its kind.
    pub kind: String,
    /// Its serialized payload.
    pub payload: String,
    /// The delivery that caused it, for tracing.
    pub delivery_id: Option<String>,
    /// This attempt's number, starting at 1.
    pub attempt: i32,
    /// The attempt after which the job becomes a dead letter.
    pub max_attempts: i32,
}

/// A job row as stored, for inspection and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job.
    pub id: JobId,
    /// Its kind.
    pub kind: String,
    /// Its serialized payload.
    pub payload: String,
    /// The delivery that caused it.
    pub delivery_id: Option<String>,
    /// Its supersede key.
    pub supersede_key: Option<String>,
    /// Its state.
    pub state: JobState,
    /// Attempts made so far (claims, including ones whose worker died).
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Earliest next run.
    pub run_at: DateTime<Utc>,
    /// The worker holding the lease, while running.
    pub lease_owner: Option<String>,
    /// When that lease runs out.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The last failure, kept in the dead letter.
    pub last_error: Option<String>,
    /// The job that replaced this one.
    pub superseded_by: Option<JobId>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it reached done, dead or superseded.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What failing a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedJob {
    /// Queued again, to run no earlier than this.
    Retrying {
        /// The next run.
        run_at: DateTime<Utc>,
    },
    /// Out of attempts: a dead letter that keeps the error.
    Dead,
    /// The worker no longer held the lease (it expired and someone else took the job).
    LeaseLost,
}

/// Counts of jobs by state, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Waiting to run (including ones waiting for a retry).
    pub queued: i64,
    /// Claimed by a worker.
    pub running: i64,
    /// Dead letters.
    pub dead: i64,
}

/// A GitHub App installation as we know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// GitHub's installation id.
    pub id: i64,
    /// The account it is installed on.
    pub account_login: String,
    /// `User`, `Organization` or `Enterprise`.
    pub account_type: String,
    /// `all` or `selected`.
    pub repository_selection: String,
    /// Whether GitHub reports it suspended.
    pub suspended: bool,
}

/// A repository an installation grants us.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InstallationRepository {
    /// GitHub's repository id.
    pub repo_id: i64,
    /// `owner/name`, lowercase.
    pub full_name: String,
}

text_enum!(
    /// What a model call produced.
    ModelCallStatus {
        /// A parsed, schema-valid answer.
        Ok = "ok",
        /// An answer that failed validation (kept raw).
        InvalidOutput = "invalid_output",
        /// No answer: transport, HTTP or timeout error.
        Error = "error",
    }
);

/// One model call, exactly as sent and received.
#[derive(Debug, Clone, PartialEq)]
pub struct NewModelCall {
    /// The installation the review ran for.
    pub installation_id: Option<i64>,
    /// `owner/name`.
    pub repo: String,
    /// The pull request, if any (`reviewbot review` has none).
    pub pr: Option<i64>,
    /// The head commit reviewed.
    pub head_sha: Option<String>,
    /// The job that made the call.
    pub job_id: Option<JobId>,
    /// `tests` or `security`.
    pub analysis: String,
    /// The prompt template's id.
    pub prompt_id: String,
    /// The prompt template's immutable version.
    pub prompt_version: String,
    /// `azure` or `openai-compatible`.
    pub provider: String,
    /// The model name reported by the API.
    pub model: String,
    /// The Azure deployment, when Azure.
    pub deployment: Option<String>,
    /// The exact `messages` array sent, as JSON text.
    pub messages: String,
    /// The exact `response_format` sent, as JSON text.
    pub response_format: Option<String>,
    /// The raw answer text.
    pub raw_answer: Option<String>,
    /// The finish reason reported.
    pub finish_reason: Option<String>,
    /// What came of it.
    pub status: ModelCallStatus,
    /// Why it failed, if it did (never a secret).
    pub error: Option<String>,
    /// Prompt tokens.
    pub tokens_in: Option<i32>,
    /// Completion tokens.
    pub tokens_out: Option<i32>,
    /// Tokens of `messages` as the exports count them, when counted at call time.
    pub message_tokens: Option<i64>,
    /// Tokens of each item of `raw_answer`, when counted at call time (exports add them up).
    pub answer_tokens: Option<AnswerTokens>,
    /// The fingerprint of the redaction patterns none of which matched in `messages` at call
    /// time (exports skip scanning the messages again while the patterns are the same).
    pub messages_scan: Option<String>,
    /// Wall time of the call.
    pub latency_ms: i32,
    /// 1 for the first try, 2 for the repair retry.
    pub attempt: i32,
    /// When the call was made.
    pub created_at: DateTime<Utc>,
}

/// A stored model call.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCall {
    /// Its id.
    pub id: ModelCallId,
    /// Everything as inserted.
    pub call: NewModelCall,
}

text_enum!(
    /// What a suggestion suggests.
    SuggestionKind {
        /// A test to add.
        Test = "test",
        /// A security finding.
        Security = "security",
    }
);

text_enum!(
    /// Who produced a suggestion.
    SuggestionSource {
        /// The model.
        Model = "model",
        /// A built-in analyzer.
        Analyzer = "analyzer",
    }
);

text_enum!(
    /// Where a suggestion was placed on the pull request.
    Anchor {
        /// An inline comment on a diff line.
        Line = "line",
        /// A file-level comment.
        File = "file",
        /// Only in the review summary.
        Summary = "summary",
    }
);

/// A suggestion to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSuggestion {
    /// The model call that produced it (none for analyzers).
    pub model_call_id: Option<ModelCallId>,
    /// The review it was posted in.
    pub review_id: Option<ReviewId>,
    /// `owner/name`.
    pub repo: String,
    /// The pull request.
    pub pr: i64,
    /// The head commit it was made on.
    pub head_sha: String,
    /// Test or security.
    pub kind: SuggestionKind,
    /// Model or analyzer.
    pub source: SuggestionSource,
    /// The noise-control unit: rule id, CWE or test kind.
    pub category: String,
    /// The file.
    pub path: String,
    /// The new-side line, when anchored on one.
    pub line: Option<i32>,
    /// Where it was placed.
    pub anchor: Anchor,
    /// Severity, for findings.
    pub severity: Option<String>,
    /// Confidence in [0, 1].
    pub confidence: Option<f64>,
    /// CWE id, for findings.
    pub cwe: Option<String>,
    /// Stable identity across pushes, for de-duplication.
    pub fingerprint: String,
    /// A one-line title.
    pub title: String,
    /// The comment body as posted.
    pub body: String,
    /// The item as the model produced it (JSON text), for exports.
    pub original: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A review we posted (or are about to post): one per pull request, analysis, head commit and
/// round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    /// The installation it was posted as.
    pub installation_id: Option<i64>,
    /// `owner/name`.
    pub repo: String,
    /// The pull request.
    pub pr: i64,
    /// The head commit reviewed.
    pub head_sha: String,
    /// `tests` or `security`.
    pub analysis: String,
    /// 0 for the automatic review of a head; a `/reviewbot review` command's comment id for an
    /// explicit re-run (so re-running a reviewed head is a new review, still recorded once).
    pub round: i64,
    /// GitHub's review id, once posted.
    pub github_review_id: Option<i64>,
    /// The check run reporting it.
    pub check_run_id: Option<i64>,
    /// The job that made it.
    pub job_id: Option<JobId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Its id.
    pub id: ReviewId,
    /// Everything as recorded.
    pub review: NewReview,
}

/// What [`Store::prepare_review`](crate::Store::prepare_review) recorded, ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedReview {
    /// The review's row (new, or the unposted one an earlier attempt left).
    pub review_id: ReviewId,
    /// GitHub's review id when this review was already posted: post nothing then.
    pub posted: Option<i64>,
    /// Per input suggestion, in order: its id, or `None` when it duplicates one already shown.
    pub suggestions: Vec<Option<SuggestionId>>,
}

/// A stored suggestion.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Its id.
    pub id: SuggestionId,
    /// Everything as inserted.
    pub suggestion: NewSuggestion,
    /// The GitHub review comment carrying it, once posted.
    pub github_comment_id: Option<i64>,
}

/// Result of an insert that is idempotent on a natural key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted<T> {
    /// A new row.
    New(T),
    /// The key already existed; nothing changed.
    Duplicate,
}

text_enum!(
    /// The channel a verdict came through.
    FeedbackSource {
        /// A `/accept`, `/reject`, `/modify` or `/triage` reply.
        Command = "command",
        /// A 👍 or 👎 reaction, polled.
        Reaction = "reaction",
        /// The suggested test landed in a later push.
        Adoption = "adoption",
        /// The review thread was resolved or unresolved.
        Thread = "thread",
        /// The pull request closed with no verdict.
        Close = "close",
    }
);

text_enum!(
    /// What a feedback event says.
    FeedbackAction {
        /// Kept as suggested.
        Accept = "accept",
        /// Not wanted; `reason` says why.
        Reject = "reject",
        /// Kept in the human's version (`human_text`).
        Modify = "modify",
        /// A security reviewer's triage; `reason` holds the state.
        Triage = "triage",
        /// No verdict by the time the pull request closed.
        Ignore = "ignore",
        /// Withdraws an earlier event (e.g. a removed reaction); `note` names it.
        Retract = "retract",
        /// The thread was resolved.
        Resolve = "resolve",
        /// The thread was unresolved.
        Unresolve = "unresolve",
    }
);

text_enum!(
    /// Why the actor was allowed to give this verdict.
    FeedbackRole {
        /// The pull request's author.
        Author = "author",
        /// A user with write access.
        Writer = "writer",
        /// A configured security reviewer.
        SecurityReviewer = "security_reviewer",
        /// The bot itself (implicit signals).
        System = "system",
    }
);

text_enum!(
    /// Why a suggestion was rejected (`/reject <reason>`), stored as the event's `reason`.
    RejectReason {
        /// Already said, here or elsewhere.
        Duplicate = "duplicate",
        /// Wrong.
        Incorrect = "incorrect",
        /// Right, but not for this pull request.
        OutOfScope = "out-of-scope",
        /// Not worth a comment.
        Noisy = "noisy",
        /// Something else (the note says what).
        Other = "other",
    }
);

text_enum!(
    /// A security reviewer's triage of a finding (`/triage <state>`): GitHub code scanning's
    /// dismissal reasons, plus true positive and needs-info. Stored as the event's `reason`.
    TriageState {
        /// A real weakness.
        TruePositive = "tp",
        /// Not a weakness.
        FalsePositive = "fp",
        /// Real, and accepted as it is.
        WontFix = "wontfix",
        /// Only in test code.
        UsedInTests = "used-in-tests",
        /// Cannot be decided yet.
        NeedsInfo = "needs-info",
    }
);

/// A feedback event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedbackEvent {
    /// The suggestion it is about.
    pub suggestion_id: SuggestionId,
    /// Unique per GitHub object (e.g. `comment:123`): redelivery changes nothing.
    pub github_id: String,
    /// The channel.
    pub source: FeedbackSource,
    /// The verdict.
    pub action: FeedbackAction,
    /// The GitHub login (or `reviewbot` for implicit signals).
    pub actor: String,
    /// Why they were allowed.
    pub role: FeedbackRole,
    /// Reject reason or triage state.
    pub reason: Option<String>,
    /// Free text after the command.
    pub note: Option<String>,
    /// The human's version, for modify.
    pub human_text: Option<String>,
    /// When it happened on GitHub.
    pub occurred_at: DateTime<Utc>,
}

/// A stored feedback event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackEvent {
    /// Its id.
    pub id: FeedbackEventId,
    /// Everything as appended.
    pub event: NewFeedbackEvent,
    /// When we recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// A completed check run's facts, kept so a triage can re-render its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunRecord {
    /// `owner/name`.
    pub repo: String,
    /// The pull request.
    pub pr: i64,
    /// The head commit it reports on.
    pub head_sha: String,
    /// GitHub's id of the check run.
    pub github_check_run_id: i64,
    /// What it reports, as JSON (the bot's own format).
    pub facts: String,
}

/// An open pull request whose reactions are polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollTarget {
    /// `owner/name`.
    pub repo: String,
    /// The pull request.
    pub pr: i64,
    /// The installation to act as.
    pub installation_id: i64,
}

//! What the store hands the exporters: which rows to read ([`ExportFilter`]) and the rows
//! themselves, streamed ([`ExportStream`]) so memory does not grow with the store.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::StoreError;
use crate::model::{ModelCall, Suggestion, SuggestionKind};
use crate::verdict::Verdict;

/// Which model calls (or, for SARIF, which findings) an export reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportFilter {
    /// Only calls of this analysis (tests or security).
    pub kind: Option<SuggestionKind>,
    /// Only this repository (`owner/name`).
    pub repo: Option<String>,
    /// Only calls made at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only calls made before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only calls with this prompt version.
    pub prompt_version: Option<String>,
    /// Only calls to this model.
    pub model: Option<String>,
}

/// A value to bind to a filter's placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FilterValue {
    Text(String),
    Time(DateTime<Utc>),
}

impl ExportFilter {
    /// `AND …` conditions on the model call aliased `m` (placeholders numbered from `first`)
    /// and the values to bind to them, in order.
    pub(crate) fn call_conditions(&self, first: usize) -> (String, Vec<FilterValue>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        let mut add = |condition: &str, value: FilterValue| {
            sql.push_str(&format!(" AND {condition} ${}", first + values.len()));
            values.push(value);
        };
        if let Some(kind) = self.kind {
            add(
                "m.prompt_id =",
                FilterValue::Text(prompt_id(kind).to_owned()),
            );
        }
        if let Some(repo) = &self.repo {
            add("m.repo =", FilterValue::Text(repo.clone()));
        }
        if let Some(since) = self.since {
            add("m.created_at >=", FilterValue::Time(since));
        }
        if let Some(until) = self.until {
            add("m.created_at <", FilterValue::Time(until));
        }
        if let Some(version) = &self.prompt_version {
            add("m.prompt_version =", FilterValue::Text(version.clone()));
        }
        if let Some(model) = &self.model {
            add("m.model =", FilterValue::Text(model.clone()));
        }
        (sql, values)
    }

    /// `AND …` conditions on a suggestion aliased `s` for the filters that apply to every
    /// finding, built-in ones included (repository and time); placeholders from `first`.
    pub(crate) fn suggestion_conditions(&self, first: usize) -> (String, Vec<FilterValue>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        let mut add = |condition: &str, value: FilterValue| {
            sql.push_str(&format!(" AND {condition} ${}", first + values.len()));
            values.push(value);
        };
        if let Some(repo) = &self.repo {
            add("s.repo =", FilterValue::Text(repo.clone()));
        }
        if let Some(since) = self.since {
            add("s.created_at >=", FilterValue::Time(since));
        }
        if let Some(until) = self.until {
            add("s.created_at <", FilterValue::Time(until));
        }
        (sql, values)
    }
}

/// The prompt a kind of suggestion comes from.
pub(crate) fn prompt_id(kind: SuggestionKind) -> &'static str {
    match kind {
        SuggestionKind::Test => "tests",
        SuggestionKind::Security => "security",
    }
}

/// One model call with the suggestions it led to that were shown, in id order, each with its
/// verdict. A call that failed comes without its messages and answer (they are not read).
#[derive(Debug, Clone)]
pub struct ExportCall {
    /// The call.
    pub call: ModelCall,
    /// Its shown suggestions and their verdicts.
    pub suggestions: Vec<(Suggestion, Verdict)>,
}

/// Rows read by a background task, a bounded buffer ahead of the reader.
#[derive(Debug)]
pub struct ExportStream<T> {
    rx: mpsc::Receiver<Result<T, StoreError>>,
}

/// How many rows the reading task may get ahead of the writer: more than a writer's batch,
/// so reading goes on while a batch is prepared.
pub(crate) const EXPORT_BUFFER: usize = 1024;

impl<T> ExportStream<T> {
    pub(crate) fn new(rx: mpsc::Receiver<Result<T, StoreError>>) -> Self {
        Self { rx }
    }

    /// The next row; `None` at the end. After an error the stream ends.
    pub async fn next(&mut self) -> Option<Result<T, StoreError>> {
        self.rx.recv().await
    }
}

/// A shown suggestion with its events, as the store's export query aggregates them (JSON
/// object keys are the column names).
#[derive(Debug, serde::Deserialize)]
struct JsonSuggestion {
    id: i64,
    github_comment_id: Option<i64>,
    model_call_id: Option<i64>,
    review_id: Option<i64>,
    repo: String,
    pr: i64,
    head_sha: String,
    kind: String,
    source: String,
    category: String,
    path: String,
    line: Option<i32>,
    anchor: String,
    severity: Option<String>,
    confidence: Option<f64>,
    cwe: Option<String>,
    fingerprint: String,
    title: String,
    body: String,
    original: String,
    created_at: String,
    events: Vec<JsonEvent>,
}

/// A feedback event as the export query aggregates it.
#[derive(Debug, serde::Deserialize)]
struct JsonEvent {
    id: i64,
    suggestion_id: i64,
    github_id: String,
    source: String,
    action: String,
    actor: String,
    role: String,
    reason: Option<String>,
    note: Option<String>,
    human_text: Option<String>,
    occurred_at: String,
    recorded_at: String,
}

/// A timestamp as either dialect writes it in JSON (RFC 3339: SQLite's `…Z`, Postgres'
/// `…+00:00`).
fn json_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

/// The shown suggestions of one call, in id order, with their verdicts, from the JSON the
/// export query aggregates.
pub(crate) fn shown_with_verdicts(json: &str) -> Result<Vec<(Suggestion, Verdict)>, StoreError> {
    use crate::model::*;
    let mut rows: Vec<JsonSuggestion> = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("aggregated suggestions: {e}")))?;
    rows.sort_by_key(|s| s.id);
    rows.into_iter()
        .map(|s| {
            let events = s
                .events
                .into_iter()
                .map(|e| {
                    Ok(FeedbackEvent {
                        id: FeedbackEventId(e.id),
                        recorded_at: json_time(&e.recorded_at)?,
                        event: NewFeedbackEvent {
                            suggestion_id: SuggestionId(e.suggestion_id),
                            github_id: e.github_id,
                            source: FeedbackSource::parse(&e.source)?,
                            action: FeedbackAction::parse(&e.action)?,
                            actor: e.actor,
                            role: FeedbackRole::parse(&e.role)?,
                            reason: e.reason,
                            note: e.note,
                            human_text: e.human_text,
                            occurred_at: json_time(&e.occurred_at)?,
                        },
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let suggestion = Suggestion {
                id: SuggestionId(s.id),
                github_comment_id: s.github_comment_id,
                suggestion: NewSuggestion {
                    model_call_id: s.model_call_id.map(ModelCallId),
                    review_id: s.review_id.map(ReviewId),
                    repo: s.repo,
                    pr: s.pr,
                    head_sha: s.head_sha,
                    kind: SuggestionKind::parse(&s.kind)?,
                    source: SuggestionSource::parse(&s.source)?,
                    category: s.category,
                    path: s.path,
                    line: s.line,
                    anchor: Anchor::parse(&s.anchor)?,
                    severity: s.severity,
                    confidence: s.confidence,
                    cwe: s.cwe,
                    fingerprint: s.fingerprint,
                    title: s.title,
                    body: s.body,
                    original: s.original,
                    created_at: json_time(&s.created_at)?,
                },
            };
            let verdict = crate::verdict::derive_verdict(
                suggestion.suggestion.kind,
                suggestion.suggestion.created_at,
                &events,
            );
            Ok((suggestion, verdict))
        })
        .collect()
}

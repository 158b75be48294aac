//! What the store hands the exporters: which rows to read ([`ExportFilter`]) and the rows
//! themselves, streamed ([`ExportStream`]) so memory does not grow with the store.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::StoreError;
use crate::model::{
    AnswerTokens, FeedbackEvent, ModelCall, ModelCallId, ModelCallStatus, Suggestion, SuggestionId,
    SuggestionKind,
};
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

/// A model call as exports read it: what its example is built from and nothing else, with
/// the suggestions it led to that were shown. At a million calls, reading and copying the
/// call's other columns (repository, model, timings…) and the suggestions' (path, title,
/// fingerprint, the comment as posted…) cost the reader more than the example's own work.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportCall {
    /// The call.
    pub id: ModelCallId,
    /// The prompt it was made with (`tests`, `security`): the schema of its answer.
    pub prompt_id: String,
    /// How it ended.
    pub status: ModelCallStatus,
    /// The messages sent, as stored.
    pub messages: String,
    /// The answer as stored.
    pub raw_answer: Option<String>,
    /// Tokens of the messages, counted when the call was recorded.
    pub message_tokens: Option<i64>,
    /// Tokens of the answer's items, counted when the call was recorded.
    pub answer_tokens: Option<AnswerTokens>,
    /// The redaction scan of the messages recorded with the call.
    pub messages_scan: Option<String>,
    /// Its shown suggestions, in id order.
    pub suggestions: Vec<ShownSuggestion>,
}

/// A shown suggestion as exports read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownSuggestion {
    /// The suggestion.
    pub id: SuggestionId,
    /// The answer item it came from, as the bot stored it.
    pub original: String,
    /// What humans made of it.
    pub verdict: Verdict,
}

impl ExportCall {
    /// `call` as an export reads it, with those of `suggestions` that came from it (the
    /// shown ones, as the store hands them over; any order).
    pub fn from_call(call: &ModelCall, suggestions: &[(Suggestion, Verdict)]) -> Self {
        let c = &call.call;
        let mut shown: Vec<ShownSuggestion> = suggestions
            .iter()
            .filter(|(s, _)| s.suggestion.model_call_id == Some(call.id))
            .map(|(s, verdict)| ShownSuggestion {
                id: s.id,
                original: s.suggestion.original.clone(),
                verdict: verdict.clone(),
            })
            .collect();
        shown.sort_by_key(|s| s.id.0);
        Self {
            id: call.id,
            prompt_id: c.prompt_id.clone(),
            status: c.status,
            messages: c.messages.clone(),
            raw_answer: c.raw_answer.clone(),
            message_tokens: c.message_tokens,
            answer_tokens: c.answer_tokens.clone(),
            messages_scan: c.messages_scan.clone(),
            suggestions: shown,
        }
    }
}

/// A shown suggestion's row as the export reads it, before its verdict is derived.
#[derive(Debug)]
pub(crate) struct SuggestionRow {
    pub(crate) id: SuggestionId,
    pub(crate) kind: SuggestionKind,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) original: String,
}

/// Rows read by a background task, a bounded buffer ahead of the reader. Rows travel in
/// chunks ([`EXPORT_CHUNK`]): one hand-off between threads per row cost more than preparing
/// the row. The reader ends with an empty chunk; a reader that stopped without it (it
/// panicked) ends the stream with an error, never with a quietly short export.
#[derive(Debug)]
pub struct ExportStream<T> {
    rx: mpsc::Receiver<Result<Vec<T>, StoreError>>,
    chunk: std::vec::IntoIter<T>,
    ended: bool,
}

/// Rows sent together from the reading task.
pub(crate) const EXPORT_CHUNK: usize = 64;

/// How many chunks the reading task may get ahead of the writer: more rows than a writer's
/// batch, so reading goes on while a batch is prepared.
pub(crate) const EXPORT_BUFFER: usize = 16;

impl<T> ExportStream<T> {
    pub(crate) fn new(rx: mpsc::Receiver<Result<Vec<T>, StoreError>>) -> Self {
        Self {
            rx,
            chunk: Vec::new().into_iter(),
            ended: false,
        }
    }

    /// The next row; `None` at the end. After an error the stream ends.
    pub async fn next(&mut self) -> Option<Result<T, StoreError>> {
        loop {
            if let Some(row) = self.chunk.next() {
                return Some(Ok(row));
            }
            if self.ended {
                return None;
            }
            match self.rx.recv().await {
                Some(Ok(chunk)) if chunk.is_empty() => self.ended = true,
                Some(Ok(chunk)) => self.chunk = chunk.into_iter(),
                Some(Err(e)) => {
                    self.ended = true;
                    return Some(Err(e));
                }
                None => {
                    self.ended = true;
                    return Some(Err(StoreError::Database(sqlx::Error::WorkerCrashed)));
                }
            }
        }
    }
}

/// Sends what a background export read ended with: the end marker, or the error that
/// stopped it.
pub(crate) async fn end_export<T>(
    tx: &mpsc::Sender<Result<Vec<T>, StoreError>>,
    result: Result<(), StoreError>,
) {
    let _ = tx.send(result.map(|()| Vec::new())).await;
}

/// The three ordered reads an export of calls makes, the same on both backends: the calls,
/// their shown suggestions, and the feedback events on those, each ordered by call id. `$1`
/// is the last call id and, in the events read, `$2` the last event id when the export
/// started (the cut); in the calls read the filter's values follow.
///
/// Only the calls read applies the filter. The other two read every call's rows up to the
/// cut, and the merge passes over the rows of calls the filter left out
/// ([`Lookahead::take`]): joining them to the calls to filter there made SQLite walk every
/// call's messages again for each of them (the filtered columns come after the messages in
/// the row), and sort the events.
pub(crate) struct CallReads {
    pub(crate) calls: String,
    pub(crate) suggestions: &'static str,
    pub(crate) events: &'static str,
    /// Bound after `$1` in the calls read.
    pub(crate) values: Vec<FilterValue>,
}

impl ExportFilter {
    /// The reads [`ExportCall`]s are assembled from: only the columns they hold.
    pub(crate) fn call_reads(&self) -> CallReads {
        // In the order the columns are stored: SQLite finds a column stored after the
        // messages (status, say) by following their overflow pages, reading each one, and
        // reads them again for the messages themselves. Failed calls (a few percent) are
        // read whole rather than test the status first.
        let (conditions, values) = self.call_conditions(2);
        let calls = format!(
            "SELECT m.id, m.prompt_id, m.messages, m.raw_answer, m.status, m.message_tokens, \
             m.answer_tokens, m.messages_scan \
             FROM model_calls m \
             WHERE m.id <= $1{conditions} ORDER BY m.id"
        );
        CallReads {
            calls,
            suggestions: "SELECT s.id, s.model_call_id, s.kind, s.original, s.created_at \
                 FROM suggestions s \
                 LEFT JOIN reviews r ON r.id = s.review_id \
                 WHERE s.model_call_id <= $1 \
                 AND (r.github_review_id IS NOT NULL OR s.github_comment_id IS NOT NULL) \
                 ORDER BY s.model_call_id",
            events: "SELECT s.model_call_id AS e_call, f.* FROM suggestions s \
                 JOIN feedback_events f ON f.suggestion_id = s.id \
                 WHERE s.model_call_id <= $1 AND f.id <= $2 \
                 ORDER BY s.model_call_id",
            values,
        }
    }
}

/// The rows of a read ordered by call id, taken call by call: the first row of a later call
/// is held until that call comes.
pub(crate) struct Lookahead<T> {
    held: Option<(i64, T)>,
    ended: bool,
}

impl<T> Lookahead<T> {
    pub(crate) fn new() -> Self {
        Self {
            held: None,
            ended: false,
        }
    }

    /// Whether a row must be read before [`take`](Self::take) can answer.
    pub(crate) fn wants_row(&self) -> bool {
        self.held.is_none() && !self.ended
    }

    /// The row just read with its call id, or `None` at the end of the read.
    pub(crate) fn put(&mut self, row: Option<(i64, T)>) {
        match row {
            Some(row) => self.held = Some(row),
            None => self.ended = true,
        }
    }

    /// Moves the held row into `rows` if it belongs to call `id` (a row of an earlier call
    /// is passed over); false once the held row belongs to a later call or the read ended.
    pub(crate) fn take(&mut self, id: i64, rows: &mut Vec<T>) -> bool {
        match self.held.take_if(|(call, _)| *call <= id) {
            Some((call, row)) => {
                if call == id {
                    rows.push(row);
                }
                true
            }
            None => false,
        }
    }

    /// The rows of call `id`, reading with `next` as needed (for a reader that need not
    /// await its rows; the async one drives `wants_row`/`put`/`take` itself).
    pub(crate) fn rows_of(
        &mut self,
        id: i64,
        mut next: impl FnMut() -> Result<Option<(i64, T)>, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut rows = Vec::new();
        loop {
            if self.wants_row() {
                self.put(next()?);
            }
            if !self.take(id, &mut rows) {
                return Ok(rows);
            }
        }
    }
}

impl ExportCall {
    /// `call` (read without suggestions) with its shown suggestions (any order) and the
    /// feedback events on them: each suggestion gets the verdict its own events give.
    pub(crate) fn assemble(
        mut call: ExportCall,
        mut shown: Vec<SuggestionRow>,
        events: &[FeedbackEvent],
    ) -> Self {
        shown.sort_by_key(|s| s.id.0);
        call.suggestions = shown
            .into_iter()
            .map(|s| {
                let own: Vec<_> = events
                    .iter()
                    .filter(|e| e.event.suggestion_id == s.id)
                    .cloned()
                    .collect();
                ShownSuggestion {
                    id: s.id,
                    original: s.original,
                    verdict: crate::verdict::derive_verdict(s.kind, s.created_at, &own),
                }
            })
            .collect();
        call
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn drain(mut stream: ExportStream<u32>) -> Vec<Result<u32, String>> {
        let mut out = Vec::new();
        while let Some(row) = stream.next().await {
            out.push(row.map_err(|e| e.to_string()));
        }
        out
    }

    #[tokio::test]
    async fn rows_arrive_in_order_across_chunks_until_the_end_marker() {
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            tx.send(Ok(vec![1, 2])).await.unwrap();
            tx.send(Ok(vec![3])).await.unwrap();
            end_export(&tx, Ok(())).await;
        });
        assert_eq!(
            drain(ExportStream::new(rx)).await,
            vec![Ok(1), Ok(2), Ok(3)]
        );
    }

    #[tokio::test]
    async fn a_reader_that_stops_without_the_end_marker_is_an_error_not_a_short_export() {
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            tx.send(Ok(vec![1])).await.unwrap();
            drop(tx);
        });
        let rows = drain(ExportStream::new(rx)).await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0], Ok(1));
        assert!(rows[1].is_err(), "{rows:?}");
    }

    #[tokio::test]
    async fn an_error_ends_the_stream() {
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            tx.send(Ok(vec![1])).await.unwrap();
            end_export(&tx, Err(StoreError::Closed)).await;
        });
        let rows = drain(ExportStream::new(rx)).await;
        assert_eq!(rows, vec![Ok(1), Err(StoreError::Closed.to_string())]);
    }

    #[test]
    fn lookahead_takes_rows_call_by_call_and_passes_over_earlier_ones() {
        let mut rows = vec![(1, "a"), (3, "b"), (3, "c"), (5, "d")].into_iter();
        let mut ahead = Lookahead::new();
        let mut take = |id: i64| ahead.rows_of(id, || Ok(rows.next())).unwrap();
        assert_eq!(take(2), Vec::<&str>::new(), "call 1's row is passed over");
        assert_eq!(take(3), vec!["b", "c"]);
        assert_eq!(take(4), Vec::<&str>::new(), "call 5's row is held");
        assert_eq!(take(5), vec!["d"]);
        assert_eq!(take(6), Vec::<&str>::new());
    }

    #[test]
    fn a_read_error_while_taking_rows_is_passed_on() {
        let mut ahead = Lookahead::<&str>::new();
        let error = ahead.rows_of(1, || Err(StoreError::Closed)).unwrap_err();
        assert_eq!(error.to_string(), StoreError::Closed.to_string());
    }
}

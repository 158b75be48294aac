//! `reviewbot export sarif`: the security findings in the store (built-in rules and the
//! model's) as SARIF 2.1.0 for GitHub code scanning, with security reviewers' triage as
//! suppressions.
//!
//! Code scanning takes one repository per upload, so each repository gets its own run (with
//! its own `automationDetails.id`), and the summary says how many there are. Within a run,
//! GitHub's limits apply: at most [`MAX_RESULTS`] results (the most important are kept in a
//! bounded heap as findings stream in, so memory does not grow with the store) and at most
//! [`MAX_UPLOAD_GZIP_BYTES`] gzip-compressed, which the summary checks.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt;
use std::io::{self, Write};

use feedback::{Rejection, Suggestion, SuggestionKind, TriageState, Verdict, VerdictState};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::review::finding::Severity;
use crate::review::report::sarif::{
    FINGERPRINT_KEY, MAX_RESULTS, MAX_TAGS, level, path_to_uri, precision, security_severity,
};
use crate::review::sanitize::{MAX_PROSE_CHARS, sanitize_prose};

/// GitHub rejects an upload whose gzip-compressed SARIF is over 10 MB. Read as decimal
/// megabytes, the smaller reading, so we warn too early rather than too late.
pub const MAX_UPLOAD_GZIP_BYTES: u64 = 10_000_000;

/// Titles are cut where the review comments cut them.
const MAX_TITLE_CHARS: usize = 200;

/// The rule id of a finding stored without a category: `ruleId` must never be empty.
const UNKNOWN_RULE: &str = "reviewbot.unknown";

/// Where CWE entries are documented; a rule's `helpUri`.
const CWE_URI: &str = "https://cwe.mitre.org/data/definitions";

/// Builds a SARIF log from findings streamed out of the store: [`add`](Self::add) each
/// finding with its verdict, then [`finish`](Self::finish).
///
/// Memory is bounded by [`MAX_RESULTS`] findings per repository, however many are added.
#[derive(Debug, Default)]
pub struct SarifBuilder {
    /// Per repository (`owner/name`), sorted, so runs come out in a stable order.
    runs: BTreeMap<String, RepoRun>,
    read: usize,
    not_security: usize,
}

/// A finished export: the log to write and what went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct SarifExport {
    /// The SARIF 2.1.0 log: one run per repository, sorted by repository.
    pub log: Value,
    /// Counts and sizes, for the user.
    pub summary: SarifSummary,
}

/// What an export read, wrote and left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SarifSummary {
    /// Findings given to [`SarifBuilder::add`].
    pub findings_read: usize,
    /// Of those, suggestions that were not security findings, skipped (callers should not
    /// pass them).
    pub not_security: usize,
    /// Results written, over all runs.
    pub results_written: usize,
    /// Results written with a suppression, by triage reason.
    pub suppressed: SuppressedCounts,
    /// Less important findings left out to keep each run within [`MAX_RESULTS`].
    pub dropped_over_limit: usize,
    /// The repositories, one run each, sorted. Code scanning takes one per upload.
    pub repositories: Vec<String>,
    /// Size of the log serialized compactly (`serde_json::to_writer`).
    pub json_bytes: u64,
    /// Size of that serialization gzip-compressed (default level), as GitHub measures uploads.
    pub gzip_bytes: u64,
}

/// Suppressed results by GitHub dismissal reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SuppressedCounts {
    /// Triaged `fp`.
    pub false_positive: usize,
    /// Triaged `wontfix`.
    pub wont_fix: usize,
    /// Triaged `used-in-tests`.
    pub used_in_tests: usize,
}

impl SuppressedCounts {
    /// All suppressed results.
    pub fn total(&self) -> usize {
        self.false_positive + self.wont_fix + self.used_in_tests
    }
}

impl SarifSummary {
    /// Whether the compressed log is over GitHub's upload limit.
    pub fn over_upload_limit(&self) -> bool {
        self.gzip_bytes > MAX_UPLOAD_GZIP_BYTES
    }
}

impl fmt::Display for SarifSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repositories = self.repositories.len();
        write!(
            f,
            "{} findings read, {} results written for {repositories} {} (one run each)",
            self.findings_read,
            self.results_written,
            plural(repositories, "repository", "repositories"),
        )?;
        let s = &self.suppressed;
        if s.total() > 0 {
            write!(
                f,
                ", {} suppressed ({} false positive, {} won't fix, {} used in tests)",
                s.total(),
                s.false_positive,
                s.wont_fix,
                s.used_in_tests
            )?;
        }
        if self.dropped_over_limit > 0 {
            write!(
                f,
                ", {} less severe findings left out (code scanning shows at most {MAX_RESULTS} per run)",
                self.dropped_over_limit
            )?;
        }
        if self.not_security > 0 {
            write!(
                f,
                ", {} non-security suggestions skipped",
                self.not_security
            )?;
        }
        write!(f, "; {} gzip-compressed", human_bytes(self.gzip_bytes))?;
        if self.over_upload_limit() {
            write!(
                f,
                "\nwarning: over GitHub's {} upload limit; export fewer findings (one repository, a shorter time range)",
                human_bytes(MAX_UPLOAD_GZIP_BYTES)
            )?;
        }
        Ok(())
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Decimal units, as GitHub states its limit.
fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}

impl SarifBuilder {
    /// An empty export.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one finding with its verdict. Anything odd in the stored row (no line, an unknown
    /// severity, an unreadable `original`) degrades the result rather than failing.
    pub fn add(&mut self, suggestion: &Suggestion, verdict: &Verdict) {
        self.read += 1;
        let s = &suggestion.suggestion;
        if s.kind != SuggestionKind::Security {
            self.not_security += 1;
            return;
        }
        let severity = s
            .severity
            .as_deref()
            .and_then(|text| text.parse::<Severity>().ok());
        let rank = Rank {
            open: dismissal(verdict.triage).is_none(),
            severity,
            id: suggestion.id.0,
        };
        if !self.runs.contains_key(&s.repo) {
            self.runs.insert(s.repo.clone(), RepoRun::default());
        }
        if let Some(run) = self.runs.get_mut(&s.repo) {
            run.offer(rank, || Kept::new(suggestion, verdict, rank));
        }
    }

    /// Renders the log and measures it.
    pub fn finish(self) -> SarifExport {
        let mut summary = SarifSummary {
            findings_read: self.read,
            not_security: self.not_security,
            ..SarifSummary::default()
        };
        let runs: Vec<Value> = self
            .runs
            .into_iter()
            .map(|(repo, run)| {
                let rendered = render_run(&repo, run, &mut summary);
                summary.repositories.push(repo);
                rendered
            })
            .collect();
        let log = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": runs,
        });
        let (json_bytes, gzip_bytes) = sizes(&log);
        summary.json_bytes = json_bytes;
        summary.gzip_bytes = gzip_bytes;
        SarifExport { log, summary }
    }
}

/// GitHub's dismissal reason for a triage state; `None` leaves the result open (a true
/// positive, or one still waiting for information).
fn dismissal(triage: Option<TriageState>) -> Option<&'static str> {
    match triage? {
        TriageState::FalsePositive => Some("false positive"),
        TriageState::WontFix => Some("won't fix"),
        TriageState::UsedInTests => Some("used in tests"),
        TriageState::TruePositive | TriageState::NeedsInfo => None,
    }
}

/// Which findings a run keeps when over the limit, greatest first: open before suppressed
/// (an open finding needs attention, a dismissed one is history), then the most severe (an
/// unreadable severity below low), then the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    open: bool,
    severity: Option<Severity>,
    id: i64,
}

/// One repository's findings so far: the best [`MAX_RESULTS`] in a min-heap, so the least
/// important is the one to evict.
#[derive(Debug, Default)]
struct RepoRun {
    kept: BinaryHeap<Reverse<Ranked>>,
    dropped: usize,
}

impl RepoRun {
    /// Keeps the finding if it ranks among the best; `build` runs only then, so findings
    /// that are dropped cost no parsing.
    fn offer(&mut self, rank: Rank, build: impl FnOnce() -> Kept) {
        if self.kept.len() < MAX_RESULTS {
            self.kept.push(Reverse(Ranked(rank, build())));
            return;
        }
        self.dropped += 1;
        let evict = self
            .kept
            .peek()
            .is_some_and(|Reverse(least)| least.0 < rank);
        if evict {
            self.kept.pop();
            self.kept.push(Reverse(Ranked(rank, build())));
        }
    }
}

/// A kept finding, ordered by its rank alone.
#[derive(Debug)]
struct Ranked(Rank, Kept);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

/// The fields of a stored item's `original` JSON we use: a model finding's `explanation`
/// and `fix`, a built-in finding's `message`, `column` and `end_line`. Anything else (or
/// unreadable JSON) is ignored.
#[derive(Debug, Default, Deserialize)]
struct Original {
    explanation: Option<String>,
    message: Option<String>,
    fix: Option<String>,
    line: Option<i64>,
    column: Option<u32>,
    end_line: Option<u32>,
}

/// What a result needs from a finding, owned and bounded in size.
#[derive(Debug)]
struct Kept {
    rank: Rank,
    rule_id: String,
    path: String,
    /// 1-based line, when the finding has a usable one.
    line: Option<u32>,
    column: Option<u32>,
    end_line: Option<u32>,
    confidence: Option<f64>,
    cwe: Option<u32>,
    fingerprint: String,
    title: String,
    message: String,
    pr: i64,
    head_sha: String,
    source: &'static str,
    anchor: &'static str,
    verdict: &'static str,
    reject_reason: Option<&'static str>,
    triage: Option<TriageState>,
}

impl Kept {
    fn new(suggestion: &Suggestion, verdict: &Verdict, rank: Rank) -> Kept {
        let s = &suggestion.suggestion;
        let rule_id = match s.category.trim() {
            "" => UNKNOWN_RULE.to_owned(),
            category => category.to_owned(),
        };
        let title = match sanitize_prose(&s.title, MAX_TITLE_CHARS) {
            title if title.is_empty() => rule_id.clone(),
            title => title,
        };
        let original: Original = serde_json::from_str(&s.original).unwrap_or_default();
        let line = s
            .line
            .and_then(|line| u32::try_from(line).ok())
            .filter(|line| *line >= 1);
        // Column and end line describe the original line; after anchoring moved the finding
        // they would point at the wrong text.
        let same_line = line.is_some_and(|line| original.line == Some(i64::from(line)));
        let column = original.column.filter(|column| same_line && *column >= 1);
        let end_line = original
            .end_line
            .filter(|end| same_line && line.is_some_and(|line| *end >= line));
        let mut message = title.clone();
        let detail = original.explanation.or(original.message);
        let parts = [("\n\n", detail), ("\n\nFix: ", original.fix)];
        for (separator, text) in parts {
            let text = text.map_or_else(String::new, |t| sanitize_prose(&t, MAX_PROSE_CHARS));
            if !text.is_empty() {
                message.push_str(separator);
                message.push_str(&text);
            }
        }
        Kept {
            rank,
            rule_id,
            path: s.path.clone(),
            line,
            column,
            end_line,
            confidence: s
                .confidence
                .filter(|c| c.is_finite())
                .map(|c| c.clamp(0.0, 1.0)),
            cwe: s.cwe.as_deref().and_then(cwe_number),
            fingerprint: s.fingerprint.clone(),
            title,
            message,
            pr: s.pr,
            head_sha: s.head_sha.clone(),
            source: s.source.as_str(),
            anchor: s.anchor.as_str(),
            verdict: verdict.state.label(),
            reject_reason: match &verdict.state {
                VerdictState::Rejected {
                    reason: Some(Rejection::Reason(reason)),
                } => Some(reason.as_str()),
                _ => None,
            },
            triage: verdict.triage,
        }
    }

    fn level(&self) -> &'static str {
        // An unreadable severity is neither dismissed as a note nor raised as an error.
        self.rank.severity.map_or("warning", level)
    }
}

/// `CWE-78`, `cwe-078` or `78` → 78; anything else is no CWE.
fn cwe_number(text: &str) -> Option<u32> {
    let text = text.trim();
    let digits = text
        .get(..4)
        .filter(|prefix| prefix.eq_ignore_ascii_case("cwe-"))
        .map_or(text, |_| &text[4..]);
    digits.parse().ok()
}

/// One repository's run; adds its counts to the summary.
fn render_run(repo: &str, run: RepoRun, summary: &mut SarifSummary) -> Value {
    let mut kept: Vec<Kept> = run
        .kept
        .into_vec()
        .into_iter()
        .map(|Reverse(Ranked(_, kept))| kept)
        .collect();
    kept.sort_by(|a, b| (&a.path, a.line, a.rank.id).cmp(&(&b.path, b.line, b.rank.id)));

    // One rule per category, described by its most severe finding.
    let mut rules: BTreeMap<&str, (&Kept, BTreeSet<u32>)> = BTreeMap::new();
    for k in &kept {
        let (best, cwes) = rules
            .entry(k.rule_id.as_str())
            .or_insert((k, BTreeSet::new()));
        if (k.rank.severity, k.rank) > (best.rank.severity, best.rank) {
            *best = k;
        }
        cwes.extend(k.cwe);
    }
    let rule_index: BTreeMap<&str, usize> =
        rules.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = rules
        .iter()
        .map(|(id, (best, cwes))| render_rule(id, best, cwes))
        .collect();

    let results: Vec<Value> = kept
        .iter()
        .map(|k| {
            let dismissed = dismissal(k.triage);
            match k.triage {
                Some(TriageState::FalsePositive) => summary.suppressed.false_positive += 1,
                Some(TriageState::WontFix) => summary.suppressed.wont_fix += 1,
                Some(TriageState::UsedInTests) => summary.suppressed.used_in_tests += 1,
                _ => {}
            }
            render_result(k, rule_index[k.rule_id.as_str()], dismissed)
        })
        .collect();
    summary.results_written += results.len();
    summary.dropped_over_limit += run.dropped;

    let mut notifications = Vec::new();
    if run.dropped > 0 {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!("{} less severe results left out: code scanning shows at most {MAX_RESULTS} per run", run.dropped) },
        }));
    }
    json!({
        "tool": { "driver": {
            "name": "reviewbot",
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "informationUri": "https://github.com/reviewbot/reviewbot",
            "rules": rules,
        }},
        // The category code scanning files these alerts under, one per repository; the
        // trailing slash makes all of it the category, with no run id.
        "automationDetails": { "id": format!("reviewbot/export/{repo}/") },
        "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "The repository root." } } },
        "invocations": [{ "executionSuccessful": true, "toolExecutionNotifications": notifications }],
        "results": results,
    })
}

fn render_rule(id: &str, best: &Kept, cwes: &BTreeSet<u32>) -> Value {
    let mut tags = vec!["security".to_owned()];
    tags.extend(cwes.iter().map(|n| format!("external/cwe/cwe-{n}")));
    tags.truncate(MAX_TAGS);
    let mut properties = json!({ "tags": tags });
    if let Some(severity) = best.rank.severity {
        properties["security-severity"] = json!(security_severity(severity));
    }
    if let Some(confidence) = best.confidence {
        properties["precision"] = json!(precision(confidence as f32));
    }
    let mut rule = json!({
        "id": id,
        "name": id,
        "shortDescription": { "text": best.title },
        "defaultConfiguration": { "level": best.level() },
        "properties": properties,
    });
    // Only when the rule is about exactly one weakness does a single page describe it.
    if let Some(cwe) = cwes.first().filter(|_| cwes.len() == 1) {
        rule["helpUri"] = json!(format!("{CWE_URI}/{cwe}.html"));
    }
    rule
}

fn render_result(k: &Kept, rule_index: usize, dismissed: Option<&str>) -> Value {
    // GitHub places alerts by `startLine`; a finding off the diff's lines goes on the file's
    // first line, as the file-level comment it was on the pull request.
    let mut region = json!({ "startLine": k.line.unwrap_or(1) });
    if let Some(column) = k.column {
        region["startColumn"] = json!(column);
    }
    if let Some(end) = k.end_line {
        region["endLine"] = json!(end);
    }
    let mut properties = json!({
        "reviewbot/suggestion_id": k.rank.id,
        "reviewbot/pr": k.pr,
        "reviewbot/head_sha": k.head_sha,
        "reviewbot/source": k.source,
        "reviewbot/anchor": k.anchor,
        "reviewbot/verdict": k.verdict,
    });
    if let Some(triage) = k.triage {
        properties["reviewbot/triage"] = json!(triage.as_str());
    }
    if let Some(reason) = k.reject_reason {
        properties["reviewbot/reject_reason"] = json!(reason);
    }
    if let Some(confidence) = k.confidence {
        properties["confidence"] = json!(confidence);
    }
    let mut result = json!({
        "ruleId": k.rule_id,
        "ruleIndex": rule_index,
        "level": k.level(),
        "message": { "text": k.message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": path_to_uri(&k.path), "uriBaseId": "%SRCROOT%" },
                "region": region,
            }
        }],
        "partialFingerprints": { FINGERPRINT_KEY: k.fingerprint },
        "properties": properties,
    });
    // Left out, not empty, when open: some consumers treat any `suppressions` as dismissed.
    if let Some(reason) = dismissed {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": reason,
        }]);
    }
    result
}

/// Counts bytes written, keeping none.
#[derive(Debug, Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counts the serialized bytes and compresses them as it goes, so neither copy is held.
#[derive(Debug)]
struct Measure {
    raw: u64,
    gzip: GzEncoder<Counter>,
}

impl Write for Measure {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.gzip.write(buf)?;
        self.raw += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.gzip.flush()
    }
}

/// The compact serialization's size and its gzip-compressed size.
fn sizes(log: &Value) -> (u64, u64) {
    let mut measure = io::BufWriter::with_capacity(
        64 * 1024,
        Measure {
            raw: 0,
            gzip: GzEncoder::new(Counter::default(), Compression::default()),
        },
    );
    // Writing into memory cannot fail; were it to, the uncompressed size is the safe bound.
    let written = serde_json::to_writer(&mut measure, log).map_err(io::Error::from);
    let measure = written.and_then(|()| measure.into_inner().map_err(|e| e.into_error()));
    match measure {
        Ok(Measure { raw, gzip }) => {
            let gzip = gzip.finish().map_or(raw, |counter| counter.0);
            (raw, gzip)
        }
        Err(_) => {
            let raw = serde_json::to_vec(log).map_or(0, |v| v.len() as u64);
            (raw, raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use feedback::{
        Anchor, FeedbackSource, NewSuggestion, RejectReason, SuggestionId, SuggestionSource,
    };

    use super::*;
    use crate::review::report::sarif::schema::assert_valid;

    /// A built-in rule's finding, as `Draft::from_builtin` stores it.
    fn builtin(id: i64, repo: &str, line: i32, severity: &str) -> Suggestion {
        let original = json!({
            "rule_id": "python.command-injection", "kind": "security",
            "title": "Shell command built from input",
            "message": "`os.system` runs its argument in a shell.",
            "path": "app/run.py", "line": line, "column": 5, "end_line": line + 1,
            "cwe": "CWE-78", "severity": severity, "confidence": 0.8,
        });
        stored(
            id,
            NewSuggestion {
                source: SuggestionSource::Analyzer,
                category: "python.command-injection".into(),
                path: "app/run.py".into(),
                line: Some(line),
                severity: Some(severity.into()),
                confidence: Some(0.8),
                cwe: Some("CWE-78".into()),
                fingerprint: format!("builtin-{id}"),
                title: "Shell command built from input".into(),
                original: original.to_string(),
                ..row(repo)
            },
        )
    }

    /// A model finding, as `Draft::from_model` stores it (the category is the CWE).
    fn model(id: i64, repo: &str) -> Suggestion {
        let original = json!({
            "path": "db/query.py", "line": 7, "cwe": "CWE-89", "severity": "critical",
            "confidence": 0.95, "title": "SQL built by string formatting",
            "explanation": "The id reaches the query unescaped.",
            "fix": "Use a parameterised query.",
        });
        stored(
            id,
            NewSuggestion {
                source: SuggestionSource::Model,
                category: "CWE-89".into(),
                path: "db/query.py".into(),
                line: Some(7),
                severity: Some("critical".into()),
                confidence: Some(0.95),
                cwe: Some("CWE-89".into()),
                fingerprint: format!("model-{id}"),
                title: "SQL built by string formatting".into(),
                original: original.to_string(),
                ..row(repo)
            },
        )
    }

    fn row(repo: &str) -> NewSuggestion {
        NewSuggestion {
            model_call_id: None,
            review_id: None,
            repo: repo.into(),
            pr: 42,
            head_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            kind: SuggestionKind::Security,
            source: SuggestionSource::Analyzer,
            category: String::new(),
            path: String::new(),
            line: None,
            anchor: Anchor::Line,
            severity: None,
            confidence: None,
            cwe: None,
            fingerprint: String::new(),
            title: String::new(),
            body: "posted body".into(),
            original: String::new(),
            created_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        }
    }

    fn stored(id: i64, new: NewSuggestion) -> Suggestion {
        Suggestion {
            id: SuggestionId(id),
            suggestion: new,
            github_comment_id: Some(1),
        }
    }

    fn verdict(state: VerdictState, triage: Option<TriageState>) -> Verdict {
        Verdict {
            state,
            triage,
            decided_by: Some(FeedbackSource::Command),
            first_verdict_at: None,
            time_to_first_verdict: None,
        }
    }

    fn pending() -> Verdict {
        Verdict {
            decided_by: None,
            ..verdict(VerdictState::Pending, None)
        }
    }

    fn triaged(state: TriageState) -> Verdict {
        let outcome = match state {
            TriageState::TruePositive | TriageState::WontFix => VerdictState::Accepted,
            TriageState::FalsePositive | TriageState::UsedInTests => VerdictState::Rejected {
                reason: Some(Rejection::Triage(state)),
            },
            TriageState::NeedsInfo => VerdictState::Pending,
        };
        verdict(outcome, Some(state))
    }

    fn results(log: &Value, run: usize) -> &Vec<Value> {
        log["runs"][run]["results"].as_array().unwrap()
    }

    fn result_of(log: &Value, id: i64) -> &Value {
        log["runs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|run| run["results"].as_array().unwrap())
            .find(|r| r["properties"]["reviewbot/suggestion_id"] == id)
            .unwrap_or_else(|| panic!("no result for suggestion {id}"))
    }

    #[test]
    fn export_is_valid_sarif_with_one_sorted_run_per_repository() {
        let mut builder = SarifBuilder::new();
        builder.add(&model(2, "zeta/web"), &pending());
        builder.add(&builtin(1, "acme/api", 12, "high"), &pending());
        builder.add(&builtin(3, "acme/api", 30, "high"), &pending());
        let SarifExport { log, summary } = builder.finish();
        assert_valid(&log);

        assert_eq!(summary.repositories, ["acme/api", "zeta/web"]);
        let runs = log["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(
            runs[0]["automationDetails"]["id"],
            "reviewbot/export/acme/api/"
        );
        assert_eq!(
            runs[1]["automationDetails"]["id"],
            "reviewbot/export/zeta/web/"
        );

        // The built-in rule: one rule for two hits, with its CWE tag.
        let rules = runs[0]["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["id"], "python.command-injection");
        assert_eq!(rules[0]["properties"]["security-severity"], "8.0");
        assert_eq!(
            rules[0]["properties"]["tags"],
            json!(["security", "external/cwe/cwe-78"])
        );
        assert_eq!(
            rules[0]["helpUri"],
            "https://cwe.mitre.org/data/definitions/78.html"
        );
        let first = &results(&log, 0)[0];
        assert_eq!(first["ruleId"], "python.command-injection");
        assert_eq!(first["ruleIndex"], 0);
        assert_eq!(first["level"], "error");
        let location = &first["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "app/run.py");
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(
            location["region"],
            json!({ "startLine": 12, "startColumn": 5, "endLine": 13 })
        );
        assert_eq!(
            first["message"]["text"],
            "Shell command built from input\n\n`os.system` runs its argument in a shell."
        );
        assert_eq!(first["properties"]["reviewbot/pr"], 42);
        assert_eq!(
            first["properties"]["reviewbot/head_sha"],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(first["properties"]["reviewbot/source"], "analyzer");

        // The model finding: its CWE is its rule, critical is 9.5.
        let rule = &runs[1]["tool"]["driver"]["rules"][0];
        assert_eq!(rule["id"], "CWE-89");
        assert_eq!(
            rule["shortDescription"]["text"],
            "SQL built by string formatting"
        );
        assert_eq!(rule["properties"]["security-severity"], "9.5");
        assert_eq!(rule["properties"]["precision"], "very-high");
        assert_eq!(rule["properties"]["tags"][1], "external/cwe/cwe-89");
        let result = &results(&log, 1)[0];
        assert_eq!(result["properties"]["reviewbot/source"], "model");
        assert_eq!(
            result["message"]["text"],
            "SQL built by string formatting\n\nThe id reaches the query unescaped.\n\nFix: Use a parameterised query."
        );

        assert_eq!(summary.findings_read, 3);
        assert_eq!(summary.results_written, 3);
        assert_eq!(summary.dropped_over_limit, 0);
    }

    #[test]
    fn triage_becomes_suppressions_with_githubs_dismissal_reasons() {
        let mut builder = SarifBuilder::new();
        let cases = [
            (1, triaged(TriageState::TruePositive)),
            (2, triaged(TriageState::FalsePositive)),
            (3, triaged(TriageState::WontFix)),
            (4, triaged(TriageState::UsedInTests)),
            (5, triaged(TriageState::NeedsInfo)),
            (
                6,
                verdict(
                    VerdictState::Rejected {
                        reason: Some(Rejection::Reason(RejectReason::Incorrect)),
                    },
                    None,
                ),
            ),
            (7, pending()),
        ];
        for (id, verdict) in &cases {
            builder.add(&builtin(*id, "acme/api", *id as i32, "medium"), verdict);
        }
        let SarifExport { log, summary } = builder.finish();
        assert_valid(&log);

        let suppression = |reason: &str| json!([{ "kind": "external", "status": "accepted", "justification": reason }]);
        assert_eq!(
            result_of(&log, 2)["suppressions"],
            suppression("false positive")
        );
        assert_eq!(result_of(&log, 3)["suppressions"], suppression("won't fix"));
        assert_eq!(
            result_of(&log, 4)["suppressions"],
            suppression("used in tests")
        );
        for open in [1, 5, 6, 7] {
            assert!(
                result_of(&log, open).get("suppressions").is_none(),
                "suggestion {open} should be open"
            );
        }

        let property = |id: i64, key: &str| result_of(&log, id)["properties"][key].clone();
        assert_eq!(property(1, "reviewbot/triage"), "tp");
        assert_eq!(property(1, "reviewbot/verdict"), "accepted");
        assert_eq!(property(2, "reviewbot/triage"), "fp");
        assert_eq!(property(2, "reviewbot/verdict"), "rejected");
        assert_eq!(property(4, "reviewbot/triage"), "used-in-tests");
        assert_eq!(property(5, "reviewbot/triage"), "needs-info");
        assert_eq!(property(5, "reviewbot/verdict"), "pending");
        // A developer's rejection is not a security reviewer's dismissal: open, but recorded.
        assert_eq!(property(6, "reviewbot/triage"), Value::Null);
        assert_eq!(property(6, "reviewbot/verdict"), "rejected");
        assert_eq!(property(6, "reviewbot/reject_reason"), "incorrect");
        assert_eq!(property(7, "reviewbot/verdict"), "pending");

        assert_eq!(
            summary.suppressed,
            SuppressedCounts {
                false_positive: 1,
                wont_fix: 1,
                used_in_tests: 1,
            }
        );
        assert_eq!(summary.results_written, 7);
    }

    #[test]
    fn the_same_finding_exported_twice_keeps_its_fingerprint() {
        let export = || {
            let mut builder = SarifBuilder::new();
            builder.add(&builtin(9, "acme/api", 4, "high"), &pending());
            builder.add(&model(10, "acme/api"), &pending());
            builder.finish().log
        };
        let (first, second) = (export(), export());
        assert_eq!(first, second);
        assert_eq!(
            result_of(&first, 9)["partialFingerprints"],
            json!({ FINGERPRINT_KEY: "builtin-9" })
        );
        assert_eq!(
            result_of(&second, 10)["partialFingerprints"][FINGERPRINT_KEY],
            "model-10"
        );
    }

    #[test]
    fn a_rule_is_described_by_its_most_severe_finding() {
        let mut builder = SarifBuilder::new();
        let mut low = builtin(1, "acme/api", 3, "low");
        low.suggestion.title = "Maybe a shell command".into();
        builder.add(&low, &pending());
        builder.add(&builtin(2, "acme/api", 9, "critical"), &pending());
        let log = builder.finish().log;
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["properties"]["security-severity"], "9.5");
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
        assert_eq!(
            rules[0]["shortDescription"]["text"],
            "Shell command built from input"
        );
        assert_eq!(result_of(&log, 1)["level"], "note");
        assert_eq!(result_of(&log, 1)["ruleIndex"], 0);
        assert_eq!(result_of(&log, 2)["ruleIndex"], 0);
    }

    #[test]
    fn over_the_limit_keeps_the_most_severe_open_findings_and_counts_the_rest() {
        let mut builder = SarifBuilder::new();
        // The oldest finding, but critical and open: kept.
        builder.add(&builtin(1, "acme/api", 1, "critical"), &pending());
        // Critical but dismissed: dropped before any open one.
        builder.add(
            &builtin(2, "acme/api", 2, "critical"),
            &triaged(TriageState::FalsePositive),
        );
        // MAX_RESULTS open lows: all but the oldest fit beside the critical one.
        let mut low = builtin(3, "acme/api", 3, "low");
        for id in 3..3 + MAX_RESULTS as i64 {
            low.id = SuggestionId(id);
            low.suggestion.line = Some(id as i32);
            builder.add(&low, &pending());
        }
        assert_eq!(
            builder.runs["acme/api"].kept.len(),
            MAX_RESULTS,
            "memory stays bounded while streaming"
        );
        // Another repository has its own limit.
        builder.add(&model(1_000_000, "zeta/web"), &pending());
        let SarifExport { log, summary } = builder.finish();

        let kept = results(&log, 0);
        assert_eq!(kept.len(), MAX_RESULTS);
        let ids: BTreeSet<i64> = kept
            .iter()
            .map(|r| r["properties"]["reviewbot/suggestion_id"].as_i64().unwrap())
            .collect();
        assert!(ids.contains(&1), "the critical open finding is kept");
        assert!(!ids.contains(&2), "the dismissed one goes first");
        assert!(!ids.contains(&3), "then the oldest of the lows");
        assert!(ids.contains(&4) && ids.contains(&(2 + MAX_RESULTS as i64)));
        assert_eq!(results(&log, 1).len(), 1);

        assert_eq!(summary.dropped_over_limit, 2);
        assert_eq!(summary.results_written, MAX_RESULTS + 1);
        assert_eq!(summary.findings_read, MAX_RESULTS + 3);
        assert_eq!(
            log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"],
            format!(
                "2 less severe results left out: code scanning shows at most {MAX_RESULTS} per run"
            )
        );
        assert!(
            log["runs"][1]["invocations"][0]["toolExecutionNotifications"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn odd_rows_degrade_instead_of_failing() {
        let odd = stored(
            1,
            NewSuggestion {
                category: "  ".into(),
                path: "docs/my file.md".into(),
                line: Some(0),
                anchor: Anchor::File,
                severity: Some("catastrophic".into()),
                confidence: Some(f64::NAN),
                cwe: Some("banana".into()),
                fingerprint: "odd".into(),
                title: "<b></b>".into(),
                original: "not json".into(),
                ..row("acme/api")
            },
        );
        let no_line = stored(
            2,
            NewSuggestion {
                category: "CWE-22".into(),
                path: "a.py".into(),
                line: None,
                anchor: Anchor::Summary,
                severity: None,
                cwe: Some("cwe-022".into()),
                fingerprint: "no-line".into(),
                title: "Path traversal".into(),
                original: json!({ "line": "seven" }).to_string(),
                ..row("acme/api")
            },
        );
        let mut builder = SarifBuilder::new();
        builder.add(&odd, &pending());
        builder.add(&no_line, &pending());
        let log = builder.finish().log;
        assert_valid(&log);

        let odd = result_of(&log, 1);
        assert_eq!(odd["ruleId"], UNKNOWN_RULE);
        assert_eq!(odd["level"], "warning");
        assert_eq!(odd["message"]["text"], UNKNOWN_RULE);
        assert_eq!(
            odd["locations"][0]["physicalLocation"]["region"],
            json!({ "startLine": 1 })
        );
        assert_eq!(
            odd["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "docs/my%20file.md"
        );
        assert!(odd["properties"].get("confidence").is_none());
        assert_eq!(odd["properties"]["reviewbot/anchor"], "file");

        let no_line = result_of(&log, 2);
        assert_eq!(
            no_line["locations"][0]["physicalLocation"]["region"],
            json!({ "startLine": 1 })
        );
        assert_eq!(no_line["message"]["text"], "Path traversal");

        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let unknown = rules.iter().find(|r| r["id"] == UNKNOWN_RULE).unwrap();
        assert!(unknown["properties"].get("security-severity").is_none());
        assert_eq!(unknown["properties"]["tags"], json!(["security"]));
        let traversal = rules.iter().find(|r| r["id"] == "CWE-22").unwrap();
        assert_eq!(traversal["properties"]["tags"][1], "external/cwe/cwe-22");
    }

    #[test]
    fn test_suggestions_are_skipped_and_counted() {
        let mut test = builtin(1, "acme/api", 3, "low");
        test.suggestion.kind = SuggestionKind::Test;
        let mut builder = SarifBuilder::new();
        builder.add(&test, &pending());
        let SarifExport { log, summary } = builder.finish();
        assert_valid(&log);
        assert_eq!(log["runs"], json!([]));
        assert_eq!((summary.findings_read, summary.not_security), (1, 1));
        assert!(summary.repositories.is_empty());
    }

    #[test]
    fn the_summary_reports_sizes_and_reads_well() {
        let mut builder = SarifBuilder::new();
        builder.add(
            &builtin(1, "acme/api", 1, "high"),
            &triaged(TriageState::WontFix),
        );
        builder.add(&model(2, "zeta/web"), &pending());
        let SarifExport { log, summary } = builder.finish();

        let compact = serde_json::to_vec(&log).unwrap();
        assert_eq!(summary.json_bytes, compact.len() as u64);
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(&compact).unwrap();
        let expected = gzip.finish().unwrap().len() as u64;
        // The same bytes at the same level; chunking may shift the deflate blocks slightly.
        assert!(
            summary.gzip_bytes.abs_diff(expected) <= 64,
            "{} vs {expected}",
            summary.gzip_bytes
        );
        assert!(summary.gzip_bytes < summary.json_bytes);
        assert!(!summary.over_upload_limit());

        let text = summary.to_string();
        let size = human_bytes(summary.gzip_bytes);
        assert_eq!(
            text,
            format!(
                "2 findings read, 2 results written for 2 repositories (one run each), 1 suppressed (0 false positive, 1 won't fix, 0 used in tests); {size} gzip-compressed"
            )
        );

        let big = SarifSummary {
            gzip_bytes: MAX_UPLOAD_GZIP_BYTES + 1,
            ..summary
        };
        assert!(big.over_upload_limit());
        assert!(
            big.to_string()
                .ends_with("\nwarning: over GitHub's 10.0 MB upload limit; export fewer findings (one repository, a shorter time range)"),
            "{big}"
        );
    }

    #[test]
    fn cwe_ids_are_read_leniently() {
        assert_eq!(cwe_number("CWE-78"), Some(78));
        assert_eq!(cwe_number("cwe-078"), Some(78));
        assert_eq!(cwe_number(" 79 "), Some(79));
        assert_eq!(cwe_number("CWE-"), None);
        assert_eq!(cwe_number("banana"), None);
        assert_eq!(cwe_number("ü"), None);
    }
}

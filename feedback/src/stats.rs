//! Acceptance and precision figures over posted suggestions (`reviewbot stats`, `/metrics`).
//!
//! Only suggestions that were **shown** count as posted: their review was posted (it has a
//! GitHub review id) or they have a comment of their own. Each one's verdict is
//! [`derive_verdict`](crate::derive_verdict), and the figures per group are:
//!
//! - `posted` = `accepted + modified + rejected + ignored + pending`, by outcome;
//! - `acceptance_rate` = (accepted + modified) / (accepted + modified + rejected): ignored and
//!   pending suggestions are left out (nobody judged them); `None` when nothing was judged;
//! - `security_precision` = tp / (tp + fp) over findings whose latest triage is `tp` or `fp`
//!   (`true_positives`, `false_positives`); `wontfix`, `used-in-tests` and `needs-info` are
//!   left out; `None` when there are none;
//! - `median_seconds_to_first_verdict`: the median, over suggestions that have one, of the
//!   whole seconds from the suggestion to its first verdict; `None` when none has one. Times
//!   are counted in buckets (1 s wide up to 2,047 s, then 1/1024 of their length wide), each
//!   standing for the mean of its times: the median is exact unless different times share a
//!   bucket, and then within 0.1 %. So memory grows with the number of groups, not of
//!   suggestions.
//!
//! [`Store::stats`](crate::Store::stats) reads suggestions and their events in one streaming
//! query ordered by suggestion, derives each verdict as its rows go by and keeps only the
//! per-group sums.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::verdict::{Verdict, VerdictState};
use crate::{StoreError, TriageState};

/// What `reviewbot stats --by` groups suggestions by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatsBy {
    /// No grouping: one row, `total`.
    Total,
    /// `test` or `security`.
    Kind,
    /// The noise-control unit (rule id, CWE or test kind).
    Category,
    /// The CWE id; `(none)` for suggestions without one.
    Cwe,
    /// The severity; `(none)` for suggestions without one.
    Severity,
    /// `owner/name`.
    Repo,
    /// The prompt of the model call that made it, as `<prompt id>/<version>` (e.g.
    /// `security/v1`); `built-in` for the built-in analyzers' suggestions.
    PromptVersion,
    /// The model of the call that made it; `built-in` for the built-in analyzers.
    Model,
}

impl StatsBy {
    /// Every grouping.
    pub const ALL: [StatsBy; 8] = [
        StatsBy::Total,
        StatsBy::Kind,
        StatsBy::Category,
        StatsBy::Cwe,
        StatsBy::Severity,
        StatsBy::Repo,
        StatsBy::PromptVersion,
        StatsBy::Model,
    ];

    /// The name `--by` takes (`total` for no grouping).
    pub fn as_str(self) -> &'static str {
        match self {
            StatsBy::Total => "total",
            StatsBy::Kind => "kind",
            StatsBy::Category => "category",
            StatsBy::Cwe => "cwe",
            StatsBy::Severity => "severity",
            StatsBy::Repo => "repo",
            StatsBy::PromptVersion => "prompt-version",
            StatsBy::Model => "model",
        }
    }

    /// The SQL giving a suggestion's group (`s` is the suggestion, `m` its model call).
    pub(crate) fn group_sql(self) -> &'static str {
        match self {
            StatsBy::Total => "'total'",
            StatsBy::Kind => "s.kind",
            StatsBy::Category => "s.category",
            StatsBy::Cwe => "COALESCE(s.cwe, '(none)')",
            StatsBy::Severity => "COALESCE(s.severity, '(none)')",
            StatsBy::Repo => "s.repo",
            StatsBy::PromptVersion => {
                "COALESCE(m.prompt_id || '/' || m.prompt_version, 'built-in')"
            }
            StatsBy::Model => "COALESCE(m.model, 'built-in')",
        }
    }

    /// Whether the group comes from the model call.
    pub(crate) fn needs_model_call(self) -> bool {
        matches!(self, StatsBy::PromptVersion | StatsBy::Model)
    }
}

impl std::fmt::Display for StatsBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The figures for one group (see the [module docs](self) for their definitions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    /// The group (`total` for all posted suggestions).
    pub group: String,
    /// Suggestions shown.
    pub posted: u64,
    /// Accepted as suggested (or triaged a real finding).
    pub accepted: u64,
    /// Kept in the human's version.
    pub modified: u64,
    /// Rejected (or triaged not a real finding).
    pub rejected: u64,
    /// No verdict when the pull request closed.
    pub ignored: u64,
    /// No verdict yet.
    pub pending: u64,
    /// (accepted + modified) / (accepted + modified + rejected).
    pub acceptance_rate: Option<f64>,
    /// Findings whose latest triage is `tp`.
    pub true_positives: u64,
    /// Findings whose latest triage is `fp`.
    pub false_positives: u64,
    /// tp / (tp + fp).
    pub security_precision: Option<f64>,
    /// Median whole seconds from suggestion to first verdict.
    pub median_seconds_to_first_verdict: Option<f64>,
}

/// Stats grouped one way, with the total over every group (computed in the same pass, so its
/// median is the median of all, not of the groups).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsReport {
    /// How the rows are grouped.
    pub by: StatsBy,
    /// One row per group, by group name; for [`StatsBy::Total`] the one `total` row.
    pub rows: Vec<StatsRow>,
    /// Every posted suggestion (group `total`).
    pub total: StatsRow,
}

/// Sums for one group.
#[derive(Debug, Default)]
struct Sums {
    accepted: u64,
    modified: u64,
    rejected: u64,
    ignored: u64,
    pending: u64,
    true_positives: u64,
    false_positives: u64,
    to_first_verdict: MedianSketch,
}

impl Sums {
    fn add(&mut self, verdict: &Verdict) {
        match verdict.state {
            VerdictState::Accepted => self.accepted += 1,
            VerdictState::Modified { .. } => self.modified += 1,
            VerdictState::Rejected { .. } => self.rejected += 1,
            VerdictState::Ignored => self.ignored += 1,
            VerdictState::Pending => self.pending += 1,
        }
        match verdict.triage {
            Some(TriageState::TruePositive) => self.true_positives += 1,
            Some(TriageState::FalsePositive) => self.false_positives += 1,
            _ => {}
        }
        if let Some(wait) = verdict.time_to_first_verdict {
            self.to_first_verdict
                .add(u64::try_from(wait.num_seconds()).unwrap_or(0));
        }
    }

    fn row(&self, group: String) -> StatsRow {
        let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
        let kept = self.accepted + self.modified;
        let triaged = self.true_positives + self.false_positives;
        StatsRow {
            group,
            posted: kept + self.rejected + self.ignored + self.pending,
            accepted: self.accepted,
            modified: self.modified,
            rejected: self.rejected,
            ignored: self.ignored,
            pending: self.pending,
            acceptance_rate: ratio(kept, kept + self.rejected),
            true_positives: self.true_positives,
            false_positives: self.false_positives,
            security_precision: ratio(self.true_positives, triaged),
            median_seconds_to_first_verdict: self.to_first_verdict.median(),
        }
    }
}

/// Adds verdicts up per group and in total.
#[derive(Debug)]
pub(crate) struct Aggregator {
    by: StatsBy,
    groups: HashMap<String, Sums>,
    total: Sums,
}

impl Aggregator {
    pub(crate) fn new(by: StatsBy) -> Self {
        Aggregator {
            by,
            groups: HashMap::new(),
            total: Sums::default(),
        }
    }

    /// Counts one posted suggestion of `group`.
    pub(crate) fn add(&mut self, group: &str, verdict: &Verdict) {
        if self.by != StatsBy::Total {
            match self.groups.get_mut(group) {
                Some(sums) => sums.add(verdict),
                None => self
                    .groups
                    .entry(group.to_owned())
                    .or_default()
                    .add(verdict),
            }
        }
        self.total.add(verdict);
    }

    pub(crate) fn finish(self) -> StatsReport {
        let total = self.total.row("total".into());
        let rows = if self.by == StatsBy::Total {
            vec![total.clone()]
        } else {
            let mut rows: Vec<_> = self
                .groups
                .into_iter()
                .map(|(group, sums)| sums.row(group))
                .collect();
            rows.sort_by(|a, b| a.group.cmp(&b.group));
            rows
        };
        StatsReport {
            by: self.by,
            rows,
            total,
        }
    }
}

/// Values below this have a bucket each.
const EXACT_BELOW: u64 = 2048;
/// Significant bits of larger values that pick their bucket (bucket width = value / 2^10 or
/// less).
const KEPT_BITS: u32 = 11;

/// Whole-second durations in buckets: one per second below [`EXACT_BELOW`], else one per
/// value of the top [`KEPT_BITS`] bits. Each bucket keeps its count and sum and stands for the
/// mean of its values, so the median is exact unless distinct values share a bucket, and then
/// within 0.1 %. 2,048 buckets, plus at most 1,024 per doubling of the longest value (under
/// 12,000 for a week), whatever the number of values.
#[derive(Debug, Default)]
struct MedianSketch {
    /// Bucket key → (count, sum of the values).
    buckets: BTreeMap<u64, (u64, u128)>,
    count: u64,
}

impl MedianSketch {
    /// A bucket key; keys sort as their values do.
    fn key(value: u64) -> u64 {
        if value < EXACT_BELOW {
            return value;
        }
        let shift = (u64::BITS - value.leading_zeros()) - KEPT_BITS;
        (u64::from(shift) << KEPT_BITS) + (value >> shift)
    }

    fn add(&mut self, value: u64) {
        let (count, sum) = self.buckets.entry(Self::key(value)).or_default();
        *count += 1;
        *sum += u128::from(value);
        self.count += 1;
    }

    /// The middle value, or the mean of the two middle values of an even count.
    fn median(&self) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let nth = |rank: u64| {
            let mut seen = 0;
            for (count, sum) in self.buckets.values() {
                seen += count;
                if seen > rank {
                    return *sum as f64 / *count as f64;
                }
            }
            unreachable!("rank below count")
        };
        let mid = self.count / 2;
        Some(if self.count % 2 == 1 {
            nth(mid)
        } else {
            (nth(mid - 1) + nth(mid)) / 2.0
        })
    }
}

/// A per-store cache of all-time stats, so `/metrics` scans the store at most once per
/// `max_age` however often it is scraped.
#[derive(Debug, Default)]
pub(crate) struct StatsCache {
    entries: Arc<tokio::sync::Mutex<CachedReports>>,
}

/// Per grouping: when it was computed, and the report.
type CachedReports = HashMap<StatsBy, (Instant, Arc<StatsReport>)>;

impl StatsCache {
    /// The cached report if younger than `max_age` at `now`, else a fresh one from `compute`.
    /// Concurrent callers wait for one computation instead of each scanning, and the
    /// computation runs in its own task: a caller that gives up (a scrape timing out) does
    /// not waste it, the next caller finds it cached.
    pub(crate) async fn get_or_compute<F, Fut>(
        &self,
        by: StatsBy,
        max_age: Duration,
        now: Instant,
        compute: F,
    ) -> Result<Arc<StatsReport>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<StatsReport, StoreError>> + Send + 'static,
    {
        let mut entries = self.entries.clone().lock_owned().await;
        if let Some((at, report)) = entries.get(&by)
            && now.saturating_duration_since(*at) < max_age
        {
            return Ok(report.clone());
        }
        let computing = compute();
        let task = tokio::spawn(async move {
            let report = Arc::new(computing.await?);
            entries.insert(by, (now, report.clone()));
            Ok(report)
        });
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down.
            Err(_) => Err(StoreError::Closed),
        }
    }
}

impl StatsReport {
    /// The row of `group`, or a row of zeros when nothing of that group was posted.
    pub fn row_or_empty(&self, group: &str) -> StatsRow {
        self.rows
            .iter()
            .find(|row| row.group == group)
            .cloned()
            .unwrap_or_else(|| Sums::default().row(group.into()))
    }

    /// Aligned columns with a header, one row per group and a `total` row (for
    /// [`StatsBy::Total`], just the `total` row). Rates are percentages, the median a duration,
    /// `-` where a figure is undefined.
    pub fn to_table(&self) -> String {
        let header = [
            if self.by == StatsBy::Total {
                ""
            } else {
                self.by.as_str()
            },
            "posted",
            "accepted",
            "modified",
            "rejected",
            "ignored",
            "pending",
            "acceptance",
            "tp",
            "fp",
            "precision",
            "median to verdict",
        ];
        let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
        let mut rows: Vec<&StatsRow> = self.rows.iter().collect();
        if self.by != StatsBy::Total {
            rows.push(&self.total);
        }
        for row in rows {
            lines.push(vec![
                row.group.clone(),
                row.posted.to_string(),
                row.accepted.to_string(),
                row.modified.to_string(),
                row.rejected.to_string(),
                row.ignored.to_string(),
                row.pending.to_string(),
                percent(row.acceptance_rate),
                row.true_positives.to_string(),
                row.false_positives.to_string(),
                percent(row.security_precision),
                row.median_seconds_to_first_verdict
                    .map_or_else(|| "-".into(), human_duration),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in &lines {
            let mut text = String::new();
            for (c, cell) in line.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c == 0 {
                    text.push_str(cell);
                    text.extend(std::iter::repeat_n(' ', pad));
                } else {
                    text.push_str("  ");
                    text.extend(std::iter::repeat_n(' ', pad));
                    text.push_str(cell);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }

    /// The rows as a JSON array of objects (the fields of [`StatsRow`]; `null` where a figure
    /// is undefined). The total is not repeated: ask for [`StatsBy::Total`] for it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.rows).expect("rows serialize") + "\n"
    }

    /// A header and the rows as CSV (RFC 4180 quoting, `\n` line ends; an empty cell where a
    /// figure is undefined). The total is not repeated: ask for [`StatsBy::Total`] for it.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "group,posted,accepted,modified,rejected,ignored,pending,acceptance_rate,\
             true_positives,false_positives,security_precision,median_seconds_to_first_verdict\n",
        );
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for row in &self.rows {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&row.group),
                row.posted,
                row.accepted,
                row.modified,
                row.rejected,
                row.ignored,
                row.pending,
                opt(row.acceptance_rate),
                row.true_positives,
                row.false_positives,
                opt(row.security_precision),
                opt(row.median_seconds_to_first_verdict),
            );
        }
        out
    }
}

/// RFC 4180: a field with a comma, a double quote or a line break is quoted, its quotes
/// doubled.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// `45s`, `12m 05s`, `3h 20m`, `2d 04h` (rounded to the second).
fn human_duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Rejection;
    use crate::{FeedbackSource, RejectReason};

    fn verdict(state: VerdictState, triage: Option<TriageState>, wait: Option<i64>) -> Verdict {
        Verdict {
            state,
            triage,
            decided_by: Some(FeedbackSource::Command),
            first_verdict_at: None,
            time_to_first_verdict: wait.map(chrono::Duration::seconds),
        }
    }

    fn rejected() -> VerdictState {
        VerdictState::Rejected {
            reason: Some(Rejection::Reason(RejectReason::Noisy)),
        }
    }

    #[test]
    fn sums_give_rates_that_leave_out_ignored_and_pending() {
        let mut agg = Aggregator::new(StatsBy::Kind);
        agg.add("test", &verdict(VerdictState::Accepted, None, Some(10)));
        agg.add(
            "test",
            &verdict(VerdictState::Modified { human_text: None }, None, Some(30)),
        );
        agg.add("test", &verdict(rejected(), None, Some(20)));
        agg.add("test", &verdict(rejected(), None, Some(40)));
        agg.add("test", &verdict(VerdictState::Ignored, None, None));
        agg.add("test", &verdict(VerdictState::Pending, None, None));
        agg.add(
            "security",
            &verdict(
                VerdictState::Accepted,
                Some(TriageState::TruePositive),
                Some(100),
            ),
        );
        agg.add(
            "security",
            &verdict(VerdictState::Pending, Some(TriageState::NeedsInfo), None),
        );
        let report = agg.finish();
        let groups: Vec<_> = report.rows.iter().map(|r| r.group.as_str()).collect();
        assert_eq!(groups, ["security", "test"]);
        let test = &report.rows[1];
        assert_eq!(
            (test.posted, test.accepted, test.modified, test.rejected),
            (6, 1, 1, 2)
        );
        assert_eq!((test.ignored, test.pending), (1, 1));
        assert_eq!(test.acceptance_rate, Some(0.5));
        assert_eq!(test.security_precision, None);
        assert_eq!(test.median_seconds_to_first_verdict, Some(25.0));
        let security = &report.rows[0];
        assert_eq!(security.security_precision, Some(1.0));
        assert_eq!(security.acceptance_rate, Some(1.0));
        assert_eq!(report.total.posted, 8);
        assert_eq!(report.total.median_seconds_to_first_verdict, Some(30.0));
        assert_eq!(report.total.true_positives, 1);
    }

    #[test]
    fn nothing_judged_has_no_rates() {
        let mut agg = Aggregator::new(StatsBy::Total);
        agg.add("total", &verdict(VerdictState::Pending, None, None));
        let report = agg.finish();
        assert_eq!(report.rows, vec![report.total.clone()]);
        assert_eq!(report.total.acceptance_rate, None);
        assert_eq!(report.total.security_precision, None);
        assert_eq!(report.total.median_seconds_to_first_verdict, None);
        assert_eq!(Aggregator::new(StatsBy::Total).finish().total.posted, 0);
    }

    #[test]
    fn the_median_is_exact_unless_waits_share_a_bucket_and_then_close() {
        let median = |values: &[u64]| {
            let mut sketch = MedianSketch::default();
            values.iter().for_each(|v| sketch.add(*v));
            sketch.median()
        };
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7.0));
        assert_eq!(median(&[9, 1, 5]), Some(5.0));
        assert_eq!(median(&[1, 2, 3, 2047]), Some(2.5));
        assert_eq!(median(&[0, 2047]), Some(1023.5));
        assert_eq!(median(&[3600, 86_400, 90_000]), Some(86_400.0));
        assert_eq!(median(&[u64::MAX / 3]), Some((u64::MAX / 3) as f64));
        // 86,400 and 86,401 share a bucket (64 s wide there): both stand for their mean.
        assert_eq!(median(&[86_400, 86_401, 1 << 40]), Some(86_400.5));
        // Keys sort as values do, across bucket sizes.
        let keys: Vec<u64> = [0, 2047, 2048, 4095, 4096, 1 << 40, u64::MAX]
            .iter()
            .map(|v| MedianSketch::key(*v))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        // A week of distinct seconds: 2,048 buckets and 1,024 per doubling above.
        let mut sketch = MedianSketch::default();
        (0..604_800).for_each(|v| sketch.add(v));
        assert!(sketch.buckets.len() < 12_000, "{}", sketch.buckets.len());
        let got = sketch.median().unwrap();
        assert!((got - 302_399.5).abs() / 302_399.5 < 1.0 / 1024.0, "{got}");
    }

    #[test]
    fn durations_read_like_durations() {
        let cases = [
            (0.0, "0s"),
            (44.6, "45s"),
            (725.0, "12m 05s"),
            (12_000.0, "3h 20m"),
            (187_200.0, "2d 04h"),
        ];
        for (seconds, text) in cases {
            assert_eq!(human_duration(seconds), text);
        }
    }

    #[test]
    fn csv_quotes_what_rfc_4180_says() {
        assert_eq!(csv_field("plain/repo"), "plain/repo");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}

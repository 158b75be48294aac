//! What one review will hold: candidates from the model and the built-in analyzers, filtered
//! by the repository's thresholds, de-duplicated against everything already posted on the
//! pull request, anchored on the diff, most important first, at most `max_comments` comments,
//! the rest in the summary. Pure: the GitHub calls happen elsewhere.

use std::collections::HashSet;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::anchor::{Anchor, anchor_line};
use super::diff::Diff;
use super::finding::Severity;
use crate::repo_config::RepoConfig;

/// Something worth saying on the pull request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The changed file it is about.
    pub path: String,
    /// The new-side line it is about.
    pub line: u32,
    /// Rule id, CWE or test kind: the noise-control unit.
    pub category: String,
    /// Severity, for findings.
    pub severity: Option<Severity>,
    /// In [0, 1].
    pub confidence: f32,
    /// One line.
    pub title: String,
    /// What tells this candidate apart from others of its category in the file, when the
    /// title does not: built-in rules give every hit the same title, so they pass the
    /// flagged line's text (see `ReportedFinding::fingerprint`).
    pub identity: Option<String>,
}

impl Candidate {
    /// Identity across pushes and re-reviews: category, file and the title's words (or the
    /// explicit identity), not the line number (which moves when code above it changes).
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        let title = match &self.identity {
            Some(identity) => identity.clone(),
            None => self
                .title
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        };
        for part in [self.category.as_str(), self.path.as_str(), title.as_str()] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hex::encode(&hash.finalize()[..16])
    }
}

/// Where a candidate goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placed {
    /// Index into the candidates given to [`plan_review`].
    pub candidate: usize,
    /// Inline line, file-level, or summary.
    pub anchor: Anchor,
    /// Its fingerprint.
    pub fingerprint: String,
}

/// The review to post.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ReviewPlan {
    /// Review comments (inline or file-level), most important first.
    pub comments: Vec<Placed>,
    /// Mentioned in the review's summary only: not anchorable, or over `max_comments`.
    pub in_summary: Vec<Placed>,
    /// Already posted on this pull request (or repeated in this batch).
    pub duplicates: usize,
    /// Under the repository's `min_severity` / `min_confidence`.
    pub below_threshold: usize,
}

/// Plans one review of `candidates` on `diff`. `posted` holds the fingerprints of everything
/// already posted on the pull request.
pub fn plan_review(
    diff: &Diff,
    candidates: &[Candidate],
    posted: &HashSet<String>,
    config: &RepoConfig,
) -> ReviewPlan {
    let mut plan = ReviewPlan::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut kept: Vec<Placed> = Vec::new();
    for (index, candidate) in candidates.iter().enumerate() {
        let severe_enough = candidate.severity.is_none_or(|s| s >= config.min_severity);
        if !severe_enough || candidate.confidence < config.min_confidence {
            plan.below_threshold += 1;
            continue;
        }
        let fingerprint = candidate.fingerprint();
        if posted.contains(&fingerprint) || !seen.insert(fingerprint.clone()) {
            plan.duplicates += 1;
            continue;
        }
        let anchor = anchor_line(diff, &candidate.path, Some(candidate.line));
        kept.push(Placed {
            candidate: index,
            anchor,
            fingerprint,
        });
    }
    // Most severe, then most confident, first; a stable sort keeps the input order on ties.
    kept.sort_by(|a, b| {
        let (a, b) = (&candidates[a.candidate], &candidates[b.candidate]);
        b.severity.cmp(&a.severity).then(
            b.confidence
                .partial_cmp(&a.confidence)
                .unwrap_or(std::cmp::Ordering::Equal),
        )
    });
    let limit = config.max_comments as usize;
    for placed in kept {
        if placed.anchor != Anchor::Summary && plan.comments.len() < limit {
            plan.comments.push(placed);
        } else {
            plan.in_summary.push(placed);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::diff::parse_diff;

    const DIFF: &str = "\
diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -10,2 +10,4 @@ def run(cmd):
 x = 1
+y = 2
+z = 3
 w = 4
";

    fn candidate(line: u32, severity: Option<Severity>, confidence: f32, title: &str) -> Candidate {
        Candidate {
            path: "app.py".into(),
            line,
            category: "CWE-78".into(),
            severity,
            confidence,
            title: title.into(),
            identity: None,
        }
    }

    #[test]
    fn comments_are_anchored_ranked_capped_and_never_repeated() {
        let diff = parse_diff(DIFF.as_bytes()).unwrap();
        let candidates = vec![
            candidate(11, Some(Severity::Medium), 0.9, "medium one"),
            candidate(12, Some(Severity::Critical), 0.7, "critical one"),
            candidate(
                40,
                Some(Severity::High),
                0.9,
                "outside the hunks: file-level",
            ),
            Candidate {
                path: "other.py".into(),
                ..candidate(1, Some(Severity::High), 0.9, "file not in the diff")
            },
            candidate(11, Some(Severity::Low), 0.9, "too minor"),
            candidate(11, Some(Severity::High), 0.2, "too unsure"),
            candidate(12, Some(Severity::Critical), 0.7, "Critical   ONE"),
            candidate(11, Some(Severity::High), 0.9, "posted last push"),
        ];
        let posted: HashSet<String> = [candidates[7].fingerprint()].into();
        let config = RepoConfig {
            min_severity: Severity::Medium,
            min_confidence: 0.5,
            max_comments: 2,
            ..RepoConfig::default()
        };
        let plan = plan_review(&diff, &candidates, &posted, &config);

        let comments: Vec<(usize, &Anchor)> = plan
            .comments
            .iter()
            .map(|p| (p.candidate, &p.anchor))
            .collect();
        assert_eq!(
            comments,
            [(1, &Anchor::Line { line: 12 }), (2, &Anchor::File)],
            "critical first; cap 2"
        );
        let summary: Vec<usize> = plan.in_summary.iter().map(|p| p.candidate).collect();
        assert_eq!(summary, [3, 0], "unanchorable, and over the cap");
        assert_eq!(plan.below_threshold, 2);
        assert_eq!(
            plan.duplicates, 2,
            "the same title reworded only in case/space, and the one posted before"
        );
    }

    #[test]
    fn fingerprints_ignore_the_line_but_not_the_file_or_category() {
        let a = candidate(11, None, 0.9, "Add a test for run()");
        let moved = candidate(90, None, 0.9, "add a  test for RUN()");
        assert_eq!(a.fingerprint(), moved.fingerprint());
        let elsewhere = Candidate {
            path: "b.py".into(),
            ..a.clone()
        };
        let other_kind = Candidate {
            category: "edge_case".into(),
            ..a.clone()
        };
        assert_ne!(a.fingerprint(), elsewhere.fingerprint());
        assert_ne!(a.fingerprint(), other_kind.fingerprint());
        let first_hit = Candidate {
            identity: Some("rule:app.py:os.system(a)".into()),
            ..a.clone()
        };
        let second_hit = Candidate {
            identity: Some("rule:app.py:os.system(b)".into()),
            ..a.clone()
        };
        assert_ne!(
            first_hit.fingerprint(),
            second_hit.fingerprint(),
            "two hits of one rule in a file are two suggestions"
        );
    }
}

//! The result of `reviewbot review`, and its renderings: compiler-style text, JSON and SARIF.

pub mod sarif;
pub mod text;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::budget::SkipReason;
use super::finding::{Finding, Severity};

/// An analysis and whether it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnalysisStatus {
    /// `security`, `test-gap`, `model`.
    pub name: String,
    /// Whether it ran on this change.
    pub ran: bool,
    /// What it was (`built-in`) or why it did not run.
    pub note: String,
}

/// A file of the change that was not analysed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    /// The file.
    pub path: String,
    /// Why.
    #[serde(flatten)]
    pub reason: SkipReason,
}

/// A finding as reported: with its source line and a fingerprint stable across line moves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The new-side source line it points at, when known.
    pub source_line: Option<String>,
    /// Rule, path and the line's trimmed text, hashed; with an occurrence number when the
    /// same text repeats, so moving code does not change it and duplicates stay distinct.
    pub fingerprint: String,
}

/// Everything `reviewbot review` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewReport {
    /// What was compared (`working tree against main (merge base …)`).
    pub change: String,
    /// Which analyses ran.
    pub analyses: Vec<AnalysisStatus>,
    /// Files analysed.
    pub files_reviewed: usize,
    /// Files left out, with the reason.
    pub skipped: Vec<SkippedFile>,
    /// Findings, by file then line.
    pub findings: Vec<ReportedFinding>,
    /// Findings left out for being under the repository's `min_severity`/`min_confidence`.
    pub below_threshold: usize,
}

impl ReviewReport {
    /// Builds a report, sorting findings and computing fingerprints. `line_text` returns the
    /// new-side text of a file's line, when known.
    pub fn new(
        analyses: Vec<AnalysisStatus>,
        files_reviewed: usize,
        skipped: Vec<SkippedFile>,
        mut findings: Vec<Finding>,
        line_text: impl Fn(&str, u32) -> Option<String>,
    ) -> ReviewReport {
        findings.sort_by(|a, b| {
            (a.path.as_str(), a.line, a.column, a.rule_id.as_str()).cmp(&(
                b.path.as_str(),
                b.line,
                b.column,
                b.rule_id.as_str(),
            ))
        });
        let mut seen: Vec<String> = Vec::new();
        let findings = findings
            .into_iter()
            .map(|finding| {
                let source_line = line_text(&finding.path, finding.line);
                let base = fingerprint(&finding, source_line.as_deref());
                let occurrence = seen.iter().filter(|f| **f == base).count();
                seen.push(base.clone());
                let fingerprint = if occurrence == 0 {
                    base
                } else {
                    format!("{base}:{occurrence}")
                };
                ReportedFinding {
                    finding,
                    source_line,
                    fingerprint,
                }
            })
            .collect();
        ReviewReport {
            change: String::new(),
            analyses,
            files_reviewed,
            skipped,
            findings,
            below_threshold: 0,
        }
    }

    /// The most severe finding, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.finding.severity).max()
    }

    /// Whether any finding is at or above `threshold` (for `--fail-on`).
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.worst().is_some_and(|worst| worst >= threshold)
    }
}

fn fingerprint(finding: &Finding, source_line: Option<&str>) -> String {
    let mut hash = Sha256::new();
    for part in [
        finding.rule_id.as_str(),
        finding.path.as_str(),
        // Whitespace-insensitive, so re-indenting does not make a finding new.
        &source_line
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::review::finding::FindingKind;

    pub(crate) fn finding(rule: &str, path: &str, line: u32, severity: Severity) -> Finding {
        Finding {
            rule_id: rule.into(),
            kind: FindingKind::Security,
            title: "Shell command built from a variable".into(),
            message: "Pass a list of arguments instead of a shell string.".into(),
            path: path.into(),
            line,
            column: Some(5),
            end_line: None,
            cwe: Some("CWE-78".into()),
            severity,
            confidence: 0.9,
        }
    }

    pub(crate) fn report() -> ReviewReport {
        ReviewReport::new(
            vec![
                AnalysisStatus {
                    name: "security".into(),
                    ran: true,
                    note: "built-in rules".into(),
                },
                AnalysisStatus {
                    name: "model".into(),
                    ran: false,
                    note: "not configured".into(),
                },
            ],
            3,
            vec![SkippedFile {
                path: "Cargo.lock".into(),
                reason: SkipReason::LockFile,
            }],
            vec![
                finding("python.os-system", "b.py", 7, Severity::Medium),
                finding("python.subprocess-shell-true", "a.py", 12, Severity::High),
                finding("python.subprocess-shell-true", "a.py", 30, Severity::High),
            ],
            |path, line| {
                Some(format!(
                    "    subprocess.run(cmd, shell=True)  # {path}:{}",
                    line / 100
                ))
            },
        )
    }

    #[test]
    fn findings_are_sorted_and_fingerprints_survive_moves_but_separate_duplicates() {
        let report = report();
        let order: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.finding.path.as_str(), f.finding.line))
            .collect();
        assert_eq!(order, [("a.py", 12), ("a.py", 30), ("b.py", 7)]);
        // Same rule, file and text on two lines: distinct, stable fingerprints.
        let (first, second) = (
            &report.findings[0].fingerprint,
            &report.findings[1].fingerprint,
        );
        assert_eq!(second, &format!("{first}:1"));
        // Moving the line (different number, same text) keeps the fingerprint.
        let moved = fingerprint(
            &finding("python.subprocess-shell-true", "a.py", 99, Severity::High),
            Some("subprocess.run(cmd,   shell=True)  # a.py:0"),
        );
        assert_eq!(&moved, first);
        assert_eq!(report.worst(), Some(Severity::High));
        assert!(report.fails_at(Severity::High) && !report.fails_at(Severity::Critical));
    }
}

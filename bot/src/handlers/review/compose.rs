//! What the analyses found, as drafts: one per suggestion, holding the candidate the planner
//! ranks, the store row it becomes and the comment body it renders to once it has an id.

use feedback::{SuggestionId, SuggestionKind, SuggestionSource};

use crate::review::finding::{Finding, FindingKind};
use crate::review::model_output::{SecurityFinding, TestSuggestion};
use crate::review::model_review::{ModelItem, ModelSuggestion};
use crate::review::publish::Candidate;
use crate::review::render::{render_finding, render_security, render_test};
use crate::review::report::ReportedFinding;

/// The two analyses, each posted as its own review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Analysis {
    /// Suggested tests (model) and test gaps (built-in).
    Tests,
    /// Security findings (model and built-in rules).
    Security,
}

impl Analysis {
    /// Both, in posting order.
    pub const ALL: [Analysis; 2] = [Analysis::Tests, Analysis::Security];

    /// The name used in the store, prompts and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Analysis::Tests => "tests",
            Analysis::Security => "security",
        }
    }
}

/// What a comment body is rendered from.
#[derive(Debug, Clone, PartialEq)]
enum Content {
    Test {
        suggestion: TestSuggestion,
        language: String,
    },
    Security(SecurityFinding),
    BuiltIn(Finding),
}

/// One suggestion, ready to be recorded and posted.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The review it belongs in.
    pub analysis: Analysis,
    /// What the planner ranks, de-duplicates and anchors.
    pub candidate: Candidate,
    /// Model or built-in analyzer.
    pub source: SuggestionSource,
    /// Index of the model call that produced it, into the run's records.
    pub record: Option<usize>,
    /// The item as produced (JSON), for the store's `original`.
    pub original: String,
    content: Content,
}

impl Draft {
    /// From a validated model item; `language` names the fence of suggested test code.
    pub fn from_model(item: &ModelItem, language: &str) -> Draft {
        let (analysis, category, severity, confidence, title, content) = match &item.suggestion {
            ModelSuggestion::Test(s) => (
                Analysis::Tests,
                format!("test.{}", s.kind),
                None,
                s.confidence,
                s.title.clone(),
                Content::Test {
                    suggestion: s.clone(),
                    language: language.to_owned(),
                },
            ),
            ModelSuggestion::Security(f) => (
                Analysis::Security,
                f.cwe.clone(),
                Some(f.severity),
                f.confidence,
                f.title.clone(),
                Content::Security(f.clone()),
            ),
        };
        let line = match &item.suggestion {
            ModelSuggestion::Test(s) => s.line,
            ModelSuggestion::Security(f) => f.line,
        };
        Draft {
            analysis,
            candidate: Candidate {
                path: item.suggestion.path().to_owned(),
                line,
                category,
                severity,
                confidence,
                title,
                identity: None,
            },
            source: SuggestionSource::Model,
            record: Some(item.record),
            original: item.suggestion.to_json(),
            content,
        }
    }

    /// From a built-in analyzer's finding. Every hit of a rule shares its title, so the
    /// report's fingerprint (rule, file, the flagged line's text) tells hits apart.
    pub fn from_builtin(reported: &ReportedFinding) -> Draft {
        let f = &reported.finding;
        Draft {
            analysis: match f.kind {
                FindingKind::Security => Analysis::Security,
                FindingKind::TestGap => Analysis::Tests,
            },
            candidate: Candidate {
                path: f.path.clone(),
                line: f.line,
                category: f.rule_id.clone(),
                severity: (f.kind == FindingKind::Security).then_some(f.severity),
                confidence: f.confidence,
                title: f.title.clone(),
                identity: Some(reported.fingerprint.clone()),
            },
            source: SuggestionSource::Analyzer,
            record: None,
            // Our own plain struct: serializing cannot fail.
            original: serde_json::to_string(f).unwrap_or_default(),
            content: Content::BuiltIn(f.clone()),
        }
    }

    /// Test or security, as the store records it.
    pub fn kind(&self) -> SuggestionKind {
        match self.analysis {
            Analysis::Tests => SuggestionKind::Test,
            Analysis::Security => SuggestionKind::Security,
        }
    }

    /// The CWE, for security findings.
    pub fn cwe(&self) -> Option<String> {
        match &self.content {
            Content::Security(f) => Some(f.cwe.clone()),
            Content::BuiltIn(f) => f.cwe.clone(),
            Content::Test { .. } => None,
        }
    }

    /// The comment body, carrying `id`'s marker.
    pub fn body(&self, id: SuggestionId) -> String {
        match &self.content {
            Content::Test {
                suggestion,
                language,
            } => render_test(id, suggestion, language),
            Content::Security(f) => render_security(id, f),
            Content::BuiltIn(f) => render_finding(id, f),
        }
    }

    /// How the summary mentions it when it gets no comment of its own.
    pub fn summary_line(&self) -> String {
        let c = &self.candidate;
        match c.severity {
            Some(severity) => format!("{}:{} [{severity}] {}", c.path, c.line, c.title),
            None => format!("{}:{} {}", c.path, c.line, c.title),
        }
    }
}

/// Everything found, as drafts: built-in findings the model already covers are left out (a
/// model finding with the same CWE on the same line, or a suggested test inside the function
/// a test-gap finding is about), so one problem gets one comment, the more specific one.
pub fn merge(builtin: &[ReportedFinding], model: Vec<Draft>) -> Vec<Draft> {
    let covered = |f: &Finding| {
        model.iter().any(|m| {
            let c = &m.candidate;
            c.path == f.path
                && match f.kind {
                    FindingKind::Security => {
                        c.line == f.line && m.cwe().is_some() && m.cwe() == f.cwe
                    }
                    FindingKind::TestGap => {
                        m.analysis == Analysis::Tests
                            && (f.line..=f.end_line.unwrap_or(f.line)).contains(&c.line)
                    }
                }
        })
    };
    let mut drafts: Vec<Draft> = builtin
        .iter()
        .filter(|r| !covered(&r.finding))
        .map(Draft::from_builtin)
        .collect();
    drafts.extend(model);
    drafts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::finding::Severity;

    fn builtin(line: u32, text: &str) -> ReportedFinding {
        ReportedFinding {
            finding: Finding {
                rule_id: "python.os-system".into(),
                kind: FindingKind::Security,
                title: "Shell command built from input".into(),
                message: "Use subprocess with a list.".into(),
                path: "app.py".into(),
                line,
                column: None,
                end_line: None,
                cwe: Some("CWE-78".into()),
                severity: Severity::High,
                confidence: 0.8,
            },
            source_line: Some(text.into()),
            fingerprint: format!("fp-{text}"),
        }
    }

    #[test]
    fn model_items_keep_their_call_category_and_original() {
        let item = ModelItem {
            record: 3,
            suggestion: ModelSuggestion::Test(TestSuggestion {
                path: "app.py".into(),
                line: 6,
                kind: "edge_case".into(),
                title: "Empty command".into(),
                rationale: "r".into(),
                test_path: "tests/test_app.py".into(),
                code: "def test_empty():\n    assert run('') is None\n".into(),
                confidence: 0.75,
            }),
        };
        let draft = Draft::from_model(&item, "python");
        assert_eq!(draft.analysis, Analysis::Tests);
        assert_eq!(draft.record, Some(3));
        assert_eq!(draft.candidate.category, "test.edge_case");
        assert_eq!(draft.kind(), SuggestionKind::Test);
        assert!(
            draft
                .original
                .contains("\"test_path\":\"tests/test_app.py\"")
        );
        let body = draft.body(SuggestionId(42));
        assert!(body.ends_with("<!-- reviewbot:s=42 -->"), "{body}");
        assert!(body.contains("```python"), "{body}");
    }

    fn model_security(line: u32, cwe: &str) -> Draft {
        Draft::from_model(
            &ModelItem {
                record: 0,
                suggestion: ModelSuggestion::Security(SecurityFinding {
                    path: "app.py".into(),
                    line,
                    cwe: cwe.into(),
                    severity: Severity::High,
                    confidence: 0.9,
                    title: "Command injection".into(),
                    explanation: "e".into(),
                    fix: "f".into(),
                }),
            },
            "python",
        )
    }

    #[test]
    fn a_builtin_finding_the_model_covers_is_not_said_twice() {
        let gap = ReportedFinding {
            finding: Finding {
                rule_id: "test-gap.python".into(),
                kind: FindingKind::TestGap,
                title: "No test covers `run`".into(),
                line: 8,
                end_line: Some(10),
                cwe: None,
                severity: Severity::Low,
                ..builtin(8, "def run(cmd):").finding
            },
            source_line: None,
            fingerprint: "gap".into(),
        };
        let test_in_run = Draft::from_model(
            &ModelItem {
                record: 1,
                suggestion: ModelSuggestion::Test(TestSuggestion {
                    path: "app.py".into(),
                    line: 9,
                    kind: "unit".into(),
                    title: "run() runs".into(),
                    rationale: "r".into(),
                    test_path: "tests/test_app.py".into(),
                    code: "def test_run():\n    pass\n".into(),
                    confidence: 0.8,
                }),
            },
            "python",
        );
        let builtins = [
            builtin(9, "os.system(cmd)"),
            builtin(12, "os.system(x)"),
            gap,
        ];
        let merged = merge(&builtins, vec![model_security(9, "CWE-78")]);
        let lines: Vec<(u32, SuggestionSource)> = merged
            .iter()
            .map(|d| (d.candidate.line, d.source))
            .collect();
        assert_eq!(
            lines,
            [
                (12, SuggestionSource::Analyzer),
                (8, SuggestionSource::Analyzer),
                (9, SuggestionSource::Model)
            ],
            "the rule's hit on line 9 is the model's finding; line 12 is not"
        );
        let merged = merge(&builtins, vec![model_security(9, "CWE-89"), test_in_run]);
        assert_eq!(
            merged.len(),
            4,
            "another CWE is another problem; the test covers the gap"
        );
        assert!(
            merged
                .iter()
                .all(|d| d.candidate.category != "test-gap.python")
        );
    }

    #[test]
    fn two_hits_of_one_rule_are_two_drafts_with_distinct_fingerprints() {
        let a = Draft::from_builtin(&builtin(3, "os.system(a)"));
        let b = Draft::from_builtin(&builtin(9, "os.system(b)"));
        assert_eq!(a.analysis, Analysis::Security);
        assert_eq!(a.cwe().as_deref(), Some("CWE-78"));
        assert_ne!(a.candidate.fingerprint(), b.candidate.fingerprint());
        assert_eq!(
            a.summary_line(),
            "app.py:3 [high] Shell command built from input"
        );
    }
}

//! Comment bodies, as posted: what kind of suggestion, how severe, the suggestion itself
//! (sanitised), how to answer, and the hidden `<!-- reviewbot:s=<id> -->` marker that ties
//! replies and reactions back to the stored suggestion.

use feedback::SuggestionId;

use super::finding::Finding;
use super::model_output::{SecurityFinding, TestSuggestion};
use super::sanitize::{MAX_PROSE_CHARS, fence_code, sanitize_prose};

const ANSWER_HELP: &str = "Reply `/accept`, `/reject duplicate|incorrect|out-of-scope|noisy|other [note]`, \
or `/modify` with your version in a code block; or react 👍 / 👎.";
const TRIAGE_HELP: &str =
    "Security reviewers: `/triage tp|fp|wontfix|used-in-tests|needs-info [note]`.";

/// The hidden marker naming a suggestion. Trusted only in comments our App wrote.
pub fn marker(id: SuggestionId) -> String {
    format!("<!-- reviewbot:s={id} -->")
}

/// The suggestion a comment body's marker names, if it has exactly one well-formed marker.
pub fn parse_marker(body: &str) -> Option<SuggestionId> {
    const OPEN: &str = "<!-- reviewbot:s=";
    let mut ids = body.match_indices(OPEN).map(|(at, _)| {
        let rest = &body[at + OPEN.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let well_formed = !digits.is_empty() && rest[digits.len()..].starts_with(" -->");
        well_formed
            .then(|| digits.parse().ok())
            .flatten()
            .map(SuggestionId)
    });
    match (ids.next(), ids.next()) {
        (Some(id), None) => id,
        _ => None,
    }
}

fn cwe_link(cwe: &str) -> String {
    match cwe
        .strip_prefix("CWE-")
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
    {
        Some(number) => format!("[{cwe}](https://cwe.mitre.org/data/definitions/{number}.html)"),
        None => sanitize_prose(cwe, 20),
    }
}

/// A suggested test from the model.
pub fn render_test(id: SuggestionId, s: &TestSuggestion, language: &str) -> String {
    format!(
        "**🧪 Suggested test** · {} · confidence {:.2}\n**{}**\n\n{}\n\nIn `{}`:\n{}\n\n<sub>{ANSWER_HELP}</sub>\n{}",
        sanitize_prose(&s.kind, 30),
        s.confidence,
        sanitize_prose(&s.title, 200),
        sanitize_prose(&s.rationale, MAX_PROSE_CHARS),
        sanitize_prose(&s.test_path, 200).replace('`', "'"),
        fence_code(&s.code, language),
        marker(id),
    )
}

/// A security finding from the model.
pub fn render_security(id: SuggestionId, f: &SecurityFinding) -> String {
    format!(
        "**🔒 Security** · {} · {} · confidence {:.2}\n**{}**\n\n{}\n\n**Fix:** {}\n\n<sub>{ANSWER_HELP} {TRIAGE_HELP}</sub>\n{}",
        f.severity,
        cwe_link(&f.cwe),
        f.confidence,
        sanitize_prose(&f.title, 200),
        sanitize_prose(&f.explanation, MAX_PROSE_CHARS),
        sanitize_prose(&f.fix, MAX_PROSE_CHARS),
        marker(id),
    )
}

/// A built-in analyzer's finding (our own text, still passed through the same cleaning).
pub fn render_finding(id: SuggestionId, f: &Finding) -> String {
    let cwe = f
        .cwe
        .as_deref()
        .map(|c| format!(" · {}", cwe_link(c)))
        .unwrap_or_default();
    let triage = if f.cwe.is_some() {
        format!(" {TRIAGE_HELP}")
    } else {
        String::new()
    };
    format!(
        "**🔎 {}** · {}{cwe} · `{}` · confidence {:.2}\n**{}**\n\n{}\n\n<sub>{ANSWER_HELP}{triage}</sub>\n{}",
        match f.kind {
            super::finding::FindingKind::Security => "Security (built-in rule)",
            super::finding::FindingKind::TestGap => "Test gap (built-in check)",
        },
        f.severity,
        f.rule_id,
        f.confidence,
        sanitize_prose(&f.title, 200),
        sanitize_prose(&f.message, MAX_PROSE_CHARS),
        marker(id),
    )
}

/// What a review's summary reports besides its comments.
#[derive(Debug, Clone, Default)]
pub struct SummaryFacts {
    /// `tests` or `security`.
    pub analysis: String,
    /// Comments posted in this review.
    pub posted: usize,
    /// One-line mentions of what did not get a comment (`path:line title`).
    pub in_summary: Vec<String>,
    /// Already posted before: not repeated.
    pub duplicates: usize,
    /// Under the repository's thresholds.
    pub below_threshold: usize,
    /// Files left out, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Prompt and completion tokens used.
    pub tokens: (u64, u64),
    /// Categories noise control held back, and why (one line each).
    pub quietened: Vec<String>,
}

/// Most summary lines listed before "and N more": the summary must stay readable.
const MAX_SUMMARY_LINES: usize = 20;

/// The review body: counts, what is only mentioned here, what was left out and why.
pub fn render_summary(facts: &SummaryFacts) -> String {
    let mut out = format!(
        "**reviewbot** · {} · {} comment{}",
        sanitize_prose(&facts.analysis, 30),
        facts.posted,
        if facts.posted == 1 { "" } else { "s" }
    );
    if facts.duplicates > 0 {
        out.push_str(&format!(
            " · {} already raised earlier, not repeated",
            facts.duplicates
        ));
    }
    if facts.below_threshold > 0 {
        out.push_str(&format!(
            " · {} under this repository's thresholds",
            facts.below_threshold
        ));
    }
    if !facts.in_summary.is_empty() {
        out.push_str("\n\nAlso worth a look (no inline comment):\n");
        for line in facts.in_summary.iter().take(MAX_SUMMARY_LINES) {
            out.push_str(&format!("- {}\n", sanitize_prose(line, 300)));
        }
        if facts.in_summary.len() > MAX_SUMMARY_LINES {
            out.push_str(&format!(
                "- … and {} more\n",
                facts.in_summary.len() - MAX_SUMMARY_LINES
            ));
        }
    }
    if !facts.quietened.is_empty() {
        out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
        out.push_str("Quietened by this repository's feedback:\n");
        for line in facts.quietened.iter().take(MAX_SUMMARY_LINES) {
            out.push_str(&format!("- {}\n", sanitize_prose(line, 400)));
        }
    }
    if !facts.skipped.is_empty() {
        out.push_str("\n<details><summary>Files not reviewed</summary>\n\n");
        for (path, reason) in facts.skipped.iter().take(MAX_SUMMARY_LINES) {
            out.push_str(&format!("- `{}`: {}\n", path.replace('`', "'"), reason));
        }
        if facts.skipped.len() > MAX_SUMMARY_LINES {
            out.push_str(&format!(
                "- … and {} more\n",
                facts.skipped.len() - MAX_SUMMARY_LINES
            ));
        }
        out.push_str("\n</details>\n");
    }
    let (tokens_in, tokens_out) = facts.tokens;
    out.push_str(&format!(
        "\n<sub>Model tokens: {tokens_in} in, {tokens_out} out.</sub>"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::finding::{FindingKind, Severity};

    fn hostile_test() -> TestSuggestion {
        TestSuggestion {
            path: "app/run.py".into(),
            line: 4,
            kind: "unit".into(),
            title: "run() passes arguments without a shell @admins".into(),
            rationale: "Guards the fix. <!-- reviewbot:s=1 --> <script>x</script>".into(),
            test_path: "tests/test_run.py".into(),
            code: "def test_run_uses_no_shell():\n    assert run(['ls']).returncode == 0  # ``` sneaky".into(),
            confidence: 0.8,
        }
    }

    #[test]
    fn test_comments_carry_one_marker_and_how_to_answer() {
        let body = render_test(SuggestionId(42), &hostile_test(), "python");
        assert_eq!(
            parse_marker(&body),
            Some(SuggestionId(42)),
            "the model's forged marker is gone"
        );
        assert!(!body.contains("@admins") && !body.contains("<script>"));
        insta::assert_snapshot!(body);
    }

    #[test]
    fn security_comments_link_the_cwe_and_offer_triage() {
        let finding = SecurityFinding {
            path: "app/run.py".into(),
            line: 4,
            cwe: "CWE-78".into(),
            severity: Severity::High,
            confidence: 0.9,
            title: "Shell command built from request input".into(),
            explanation: "`cmd` comes from the query string and reaches `shell=True`.".into(),
            fix: "Pass a list: `subprocess.run([\"ls\", path])`.".into(),
        };
        insta::assert_snapshot!(render_security(SuggestionId(7), &finding));
    }

    #[test]
    fn built_in_findings_render_like_the_model_s() {
        let finding = Finding {
            rule_id: "python.subprocess-shell-true".into(),
            kind: FindingKind::Security,
            title: "Shell command built from a variable".into(),
            message: "Use a list of arguments.".into(),
            path: "app/run.py".into(),
            line: 4,
            column: Some(5),
            end_line: None,
            cwe: Some("CWE-78".into()),
            severity: Severity::High,
            confidence: 0.8,
        };
        let body = render_finding(SuggestionId(9), &finding);
        assert!(body.contains("python.subprocess-shell-true") && body.contains("/triage"));
        assert_eq!(parse_marker(&body), Some(SuggestionId(9)));
    }

    #[test]
    fn summaries_count_what_was_not_commented_and_say_why() {
        let facts = SummaryFacts {
            analysis: "security".into(),
            posted: 3,
            in_summary: vec!["app/run.py:88 Weak hash for passwords (@team)".into()],
            duplicates: 2,
            below_threshold: 1,
            skipped: vec![
                ("Cargo.lock".into(), "lock file".into()),
                ("logo.png".into(), "binary file".into()),
            ],
            tokens: (1200, 340),
            quietened: vec!["muted `CWE-327` (1 not posted): 9 of the last 10 were rejected (7 as noisy); `/reviewbot unmute CWE-327` brings it back".into()],
        };
        insta::assert_snapshot!(render_summary(&facts));
    }

    #[test]
    fn only_one_well_formed_marker_is_trusted() {
        assert_eq!(
            parse_marker("x <!-- reviewbot:s=12 -->"),
            Some(SuggestionId(12))
        );
        assert_eq!(
            parse_marker("<!-- reviewbot:s=1 --> <!-- reviewbot:s=2 -->"),
            None
        );
        assert_eq!(parse_marker("<!-- reviewbot:s=abc -->"), None);
        assert_eq!(parse_marker("<!-- reviewbot:s=12-->"), None);
        assert_eq!(parse_marker("no marker"), None);
    }
}

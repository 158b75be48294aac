//! Compiler-style text: findings grouped by file, each with its source line and a caret;
//! colour only when asked (a terminal without `NO_COLOR`).

use std::fmt::Write as _;

use super::ReviewReport;
use crate::review::finding::Severity;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const BLUE: &str = "\x1b[34m";

fn severity_colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "\x1b[1;31m",
        Severity::Medium => "\x1b[1;33m",
        Severity::Low => "\x1b[1;36m",
    }
}

/// Renders the report as text.
pub fn render(report: &ReviewReport, colour: bool) -> String {
    let paint = |code: &'static str| if colour { code } else { "" };
    let (reset, bold, blue) = (paint(RESET), paint(BOLD), paint(BLUE));
    let mut out = String::new();
    let mut current_path: Option<&str> = None;
    for reported in &report.findings {
        let f = &reported.finding;
        if current_path != Some(f.path.as_str()) {
            let _ = writeln!(out, "{bold}{}{reset}", f.path);
            current_path = Some(&f.path);
        }
        let cwe = f
            .cwe
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}{}[{}]{reset}{bold}: {}{cwe}{reset}",
            paint(severity_colour(f.severity)),
            f.severity,
            f.rule_id,
            f.title
        );
        let column = f.column.unwrap_or(1);
        let _ = writeln!(out, "  {blue}-->{reset} {}:{}:{column}", f.path, f.line);
        let gutter = f.line.to_string().len();
        if let Some(source) = &reported.source_line {
            let _ = writeln!(out, "{blue}{:gutter$} |{reset}", "");
            let _ = writeln!(out, "{blue}{} |{reset} {source}", f.line);
            let caret_at = (column as usize)
                .saturating_sub(1)
                .min(source.chars().count());
            let indent: String = source
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(
                out,
                "{blue}{:gutter$} |{reset} {indent}{}^{reset}",
                "",
                paint(severity_colour(f.severity))
            );
        }
        let _ = writeln!(out, "{blue}{:gutter$} = {reset}{}", "", f.message);
        let _ = writeln!(
            out,
            "{blue}{:gutter$} = {reset}confidence {:.2}",
            "", f.confidence
        );
        out.push('\n');
    }
    for skipped in &report.skipped {
        let _ = writeln!(out, "skipped {}: {}", skipped.path, skipped.reason);
    }
    let analyses: Vec<String> = report
        .analyses
        .iter()
        .map(|a| {
            format!(
                "{} ({}{})",
                a.name,
                if a.ran { "" } else { "not run: " },
                a.note
            )
        })
        .collect();
    if report.below_threshold > 0 {
        let _ = writeln!(
            out,
            "{} finding(s) below the repository's min_severity/min_confidence not shown",
            report.below_threshold
        );
    }
    if !report.change.is_empty() {
        let _ = writeln!(out, "reviewed: {}", report.change);
    }
    let _ = writeln!(out, "analyses: {}", analyses.join(", "));
    let mut counts = Vec::new();
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = report
            .findings
            .iter()
            .filter(|f| f.finding.severity == severity)
            .count();
        if n > 0 {
            counts.push(format!("{n} {severity}"));
        }
    }
    let total = report.findings.len();
    let _ = writeln!(
        out,
        "{bold}{total} finding{}{}{reset} in {} file{} reviewed, {} skipped",
        if total == 1 { "" } else { "s" },
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        report.files_reviewed,
        if report.files_reviewed == 1 { "" } else { "s" },
        report.skipped.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::report::tests::report;

    #[test]
    fn text_groups_by_file_with_source_and_caret() {
        insta::assert_snapshot!(render(&report(), false));
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!render(&report(), false).contains('\x1b'));
        assert!(render(&report(), true).contains("\x1b[1;31m"));
    }
}

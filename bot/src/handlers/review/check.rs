//! The `reviewbot` check run's verdict and text: what was posted, what was left out and why,
//! what the model cost, and whether a finding at or above the repository's `block_on`
//! severity keeps it failing.

use serde::{Deserialize, Serialize};

use crate::github::checks::CheckConclusion;
use crate::review::finding::Severity;

/// The check run's name on every head commit.
pub const CHECK_NAME: &str = "reviewbot";

/// What happened to one analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnalysisResult {
    /// Off in `.github/reviewbot.yml`.
    Off,
    /// Nothing new to say.
    Quiet,
    /// A review was posted.
    Posted {
        /// Comments on GitHub.
        comments: usize,
        /// Mentioned in the summary only.
        in_summary: usize,
    },
    /// An earlier attempt posted this head's review.
    AlreadyPosted,
}

/// A finding that keeps the check failing until it is triaged or fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocking {
    /// Its fingerprint on the pull request (finds its suggestion, and so its triage).
    pub fingerprint: String,
    /// How the check run lists it.
    pub line: String,
}

/// Everything the check run reports. Stored with the check run, so a triage can re-render it
/// without reviewing again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckFacts {
    /// Per analysis (`tests`, `security`), what happened, and how many were said before.
    pub analyses: Vec<(String, AnalysisResult, usize)>,
    /// Files not reviewed and why.
    pub skipped: Vec<(String, String)>,
    /// Model calls, prompt and completion tokens; `None` when no model is configured.
    pub model: Option<(usize, u64, u64)>,
    /// What went wrong with the model (chunks dropped, items refused).
    pub problems: Vec<String>,
    /// Set when only the commits since this reviewed head went to the model.
    pub incremental_since: Option<String>,
    /// The repository's `block_on`.
    pub block_on: Option<Severity>,
    /// Untriaged findings in the change at or above `block_on`.
    pub blocking: Vec<Blocking>,
    /// Findings at or above `block_on` that a security reviewer has triaged.
    pub triaged: usize,
    /// Suggestions and findings in the change (posted now or before).
    pub found: usize,
}

/// Lines listed per section before "… and N more".
const MAX_LINES: usize = 30;

fn list(out: &mut String, heading: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    out.push_str(&format!("\n### {heading}\n"));
    for line in lines.iter().take(MAX_LINES) {
        out.push_str(&format!("- {line}\n"));
    }
    if lines.len() > MAX_LINES {
        out.push_str(&format!("- … and {} more\n", lines.len() - MAX_LINES));
    }
}

/// The conclusion, title and summary. Humans decide what blocks: the check fails only on
/// findings at or above the severity the repository chose.
pub fn render_check(facts: &CheckFacts) -> (CheckConclusion, String, String) {
    let conclusion = if !facts.blocking.is_empty() {
        CheckConclusion::Failure
    } else if facts.found > 0 {
        CheckConclusion::Neutral
    } else {
        CheckConclusion::Success
    };
    let title = match (facts.blocking.len(), facts.found) {
        (0, 0) => "Nothing to report".to_owned(),
        (0, found) => format!(
            "{found} suggestion{} or finding{}",
            plural(found),
            plural(found)
        ),
        (blocking, _) => format!(
            "{blocking} finding{} at or above {}",
            plural(blocking),
            facts.block_on.map(Severity::as_str).unwrap_or("block_on")
        ),
    };
    let mut out = String::new();
    for (name, result, duplicates) in &facts.analyses {
        let what = match result {
            AnalysisResult::Off => "off in `.github/reviewbot.yml`".to_owned(),
            AnalysisResult::Quiet => "nothing new to say".to_owned(),
            AnalysisResult::AlreadyPosted => "reviewed earlier on this commit".to_owned(),
            AnalysisResult::Posted {
                comments,
                in_summary,
            } => format!(
                "{comments} comment{}, {in_summary} in the review summary",
                plural(*comments)
            ),
        };
        let repeated = if *duplicates > 0 {
            format!(" ({duplicates} raised before, not repeated)")
        } else {
            String::new()
        };
        out.push_str(&format!("- **{name}**: {what}{repeated}\n"));
    }
    match facts.model {
        None => out.push_str("- **model**: not configured (built-in analyzers only)\n"),
        Some((calls, tokens_in, tokens_out)) => out.push_str(&format!(
            "- **model**: {calls} call{}, {tokens_in} tokens in, {tokens_out} out\n",
            plural(calls)
        )),
    }
    if let Some(since) = &facts.incremental_since {
        out.push_str(&format!(
            "\nOnly the changes since `{since}` (the last reviewed commit) went to the model.\n"
        ));
    }
    let blocking: Vec<String> = facts.blocking.iter().map(|b| b.line.clone()).collect();
    list(
        &mut out,
        &format!(
            "Blocking (at or above `{}`; triage or fix them)",
            facts.block_on.map(Severity::as_str).unwrap_or("-")
        ),
        &blocking,
    );
    if facts.triaged > 0 {
        out.push_str(&format!(
            "\n{} finding{} at or above `{}` triaged by a security reviewer.\n",
            facts.triaged,
            plural(facts.triaged),
            facts.block_on.map(Severity::as_str).unwrap_or("-")
        ));
    }
    let skipped: Vec<String> = facts
        .skipped
        .iter()
        .map(|(path, why)| format!("`{}`: {why}", path.replace('`', "'")))
        .collect();
    list(&mut out, "Files not reviewed", &skipped);
    list(&mut out, "Model problems", &facts.problems);
    (conclusion, title, out)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_decides_failure_and_findings_alone_are_neutral() {
        let mut facts = CheckFacts {
            analyses: vec![
                (
                    "tests".into(),
                    AnalysisResult::Posted {
                        comments: 2,
                        in_summary: 1,
                    },
                    1,
                ),
                ("security".into(), AnalysisResult::Off, 0),
            ],
            skipped: vec![("Cargo.lock".into(), "lock file".into())],
            model: Some((4, 12_000, 800)),
            found: 3,
            ..CheckFacts::default()
        };
        let (conclusion, title, summary) = render_check(&facts);
        assert_eq!(conclusion, CheckConclusion::Neutral);
        assert_eq!(title, "3 suggestions or findings");
        assert!(summary.contains(
            "- **tests**: 2 comments, 1 in the review summary (1 raised before, not repeated)"
        ));
        assert!(summary.contains("4 calls, 12000 tokens in, 800 out"));
        assert!(summary.contains("`Cargo.lock`: lock file"));

        facts.block_on = Some(Severity::High);
        facts.blocking = vec![Blocking {
            fingerprint: "f".into(),
            line: "app.py:4 [critical] Shell injection".into(),
        }];
        let (conclusion, title, summary) = render_check(&facts);
        assert_eq!(conclusion, CheckConclusion::Failure);
        assert_eq!(title, "1 finding at or above high");
        assert!(summary.contains("app.py:4 [critical] Shell injection"));

        let quiet = CheckFacts::default();
        assert_eq!(render_check(&quiet).0, CheckConclusion::Success);
    }
}

//! Adoption: the signal nobody has to type. On each push and on close, every suggested test
//! still without a verdict is looked for in the pull request's code at its head: in the file
//! it was suggested for and in the test files the pull request changes.
//!
//! - Found verbatim (ignoring indentation and blank lines) → accept.
//! - Found edited → modify, with the landed code as the human's version. "Edited" means some
//!   window of the file, as long as the suggestion, shares at least [`SIMILARITY_THRESHOLD`]
//!   of its tokens (multiset Jaccard over identifiers, numbers and symbols): renamed variables
//!   and an extra assertion still match; an unrelated test of the same function does not.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::Utc;
use feedback::{FeedbackAction, FeedbackRole, FeedbackSource, NewFeedbackEvent, SuggestionKind};
use tracing::info;

use super::super::Context;
use crate::github::InstallationClient;
use crate::github::ids::{CommitSha, PrNumber, RepoName};

/// Share of tokens a window must have in common with a suggested test to count as it, edited.
pub const SIMILARITY_THRESHOLD: f64 = 0.6;

/// How a suggested test landed.
#[derive(Debug, Clone, PartialEq)]
pub struct Adoption {
    /// Exactly as suggested (modulo whitespace).
    pub verbatim: bool,
    /// The landed lines.
    pub landed: String,
    /// Token similarity with the suggestion, 1.0 when verbatim.
    pub similarity: f64,
}

fn normalised_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

fn tokens(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let mut word = String::new();
    let flush = |word: &mut String, counts: &mut HashMap<String, usize>| {
        if !word.is_empty() {
            *counts.entry(std::mem::take(word)).or_insert(0) += 1;
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut counts);
            if !c.is_whitespace() {
                *counts.entry(c.to_string()).or_insert(0) += 1;
            }
        }
    }
    flush(&mut word, &mut counts);
    counts
}

fn jaccard(a: &HashMap<String, usize>, b: &HashMap<String, usize>) -> f64 {
    let (mut both, mut either) = (0usize, 0usize);
    for (token, &n) in a {
        let m = b.get(token).copied().unwrap_or(0);
        both += n.min(m);
        either += n.max(m);
    }
    either += b
        .iter()
        .filter(|(t, _)| !a.contains_key(*t))
        .map(|(_, n)| n)
        .sum::<usize>();
    if either == 0 {
        0.0
    } else {
        both as f64 / either as f64
    }
}

/// Looks for `suggested` in `file`.
pub fn find_adoption(suggested: &str, file: &str) -> Option<Adoption> {
    let wanted = normalised_lines(suggested);
    if wanted.is_empty() {
        return None;
    }
    let lines: Vec<&str> = file.lines().collect();
    let trimmed: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
    let nonblank: Vec<usize> = (0..lines.len())
        .filter(|&i| !trimmed[i].is_empty())
        .collect();
    // Verbatim: the suggestion's non-blank lines appear consecutively among the file's.
    for start in 0..nonblank.len() {
        if nonblank.len() - start < wanted.len() {
            break;
        }
        if (0..wanted.len()).all(|k| trimmed[nonblank[start + k]] == wanted[k]) {
            let (first, last) = (nonblank[start], nonblank[start + wanted.len() - 1]);
            return Some(Adoption {
                verbatim: true,
                landed: lines[first..=last].join("\n") + "\n",
                similarity: 1.0,
            });
        }
    }
    // Edited: the most similar window of the same number of non-blank lines (±1 for an added
    // or removed line).
    let want = tokens(suggested);
    let mut best: Option<(f64, usize, usize)> = None;
    for len in [
        wanted.len(),
        wanted.len() + 1,
        wanted.len().saturating_sub(1),
    ] {
        if len == 0 || len > nonblank.len() {
            continue;
        }
        for start in 0..=nonblank.len() - len {
            let (first, last) = (nonblank[start], nonblank[start + len - 1]);
            let window = lines[first..=last].join("\n");
            let score = jaccard(&want, &tokens(&window));
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, first, last));
            }
        }
    }
    let (similarity, first, last) = best?;
    (similarity >= SIMILARITY_THRESHOLD).then(|| Adoption {
        verbatim: false,
        landed: lines[first..=last].join("\n") + "\n",
        similarity,
    })
}

/// The suggested test's file and code, from the item as the model produced it.
pub(crate) fn suggested_test(original: &str) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_str(original).ok()?;
    Some((
        value.get("test_path")?.as_str()?.to_owned(),
        value.get("code")?.as_str()?.to_owned(),
    ))
}

/// Looks for every suggested test of the pull request without a verdict in the code at
/// `head`; records what landed. `changed_tests` are test files the pull request changes.
pub(crate) async fn check(
    ctx: &Context,
    client: &InstallationClient,
    repo: &RepoName,
    pr: &PrNumber,
    head: &CommitSha,
    changed_tests: &[String],
) -> anyhow::Result<usize> {
    let repo_text = repo.to_string();
    let mut files: HashMap<String, Option<String>> = HashMap::new();
    let mut recorded = 0;
    for suggestion in ctx.store.shown_suggestions(&repo_text, pr.0 as i64).await? {
        if suggestion.suggestion.kind != SuggestionKind::Test {
            continue;
        }
        let Some((test_path, code)) = suggested_test(&suggestion.suggestion.original) else {
            continue;
        };
        let events = ctx.store.list_feedback_events(suggestion.id).await?;
        if events
            .iter()
            .any(|e| e.event.source == FeedbackSource::Adoption)
        {
            continue;
        }
        let mut places = vec![test_path];
        places.extend(changed_tests.iter().cloned());
        places.dedup();
        let mut found = None;
        for path in places {
            if !files.contains_key(&path) {
                let text = client
                    .file_at(repo, &path, head.as_str())
                    .await
                    .ok()
                    .flatten()
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
                files.insert(path.clone(), text);
            }
            if let Some(Some(text)) = files.get(&path)
                && let Some(adoption) = find_adoption(&code, text)
            {
                found = Some(adoption);
                break;
            }
        }
        let Some(adoption) = found else {
            continue;
        };
        let event = NewFeedbackEvent {
            suggestion_id: suggestion.id,
            github_id: format!("adoption:{}", suggestion.id),
            source: FeedbackSource::Adoption,
            action: if adoption.verbatim {
                FeedbackAction::Accept
            } else {
                FeedbackAction::Modify
            },
            actor: "reviewbot".into(),
            role: FeedbackRole::System,
            reason: None,
            note: Some(format!(
                "landed at {} (similarity {:.2})",
                head.as_str().chars().take(12).collect::<String>(),
                adoption.similarity
            )),
            human_text: (!adoption.verbatim).then_some(adoption.landed),
            occurred_at: Utc::now(),
        };
        ctx.store
            .append_feedback_event(&event, Utc::now())
            .await
            .context("record an adoption")?;
        recorded += 1;
    }
    if recorded > 0 {
        info!(recorded, "suggested tests found in the code");
    }
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUGGESTED: &str = "def test_run_returns_true(monkeypatch):\n    monkeypatch.setattr(os, 'system', lambda c: 0)\n    assert run('true') is True\n";

    #[test]
    fn a_test_landed_as_suggested_is_verbatim_whatever_the_indentation() {
        let file = format!(
            "import os\n\nclass TestRun:\n    {}\n\n\ndef test_other():\n    pass\n",
            SUGGESTED.replace('\n', "\n    ").trim_end()
        );
        let found = find_adoption(SUGGESTED, &file).unwrap();
        assert!(found.verbatim);
        assert!(found.landed.contains("assert run('true') is True"));
    }

    #[test]
    fn an_edited_test_is_found_with_the_landed_code_and_an_unrelated_one_is_not() {
        let edited = "import os\n\n\ndef test_run_reports_success(monkeypatch):\n    monkeypatch.setattr(os, 'system', lambda cmd: 0)\n    assert run('true') is True\n\n\ndef test_greet():\n    assert greet('x') == 'hello x'\n";
        let found = find_adoption(SUGGESTED, edited).unwrap();
        assert!(!found.verbatim);
        assert!(found.similarity >= SIMILARITY_THRESHOLD && found.similarity < 1.0);
        assert!(
            found.landed.starts_with("def test_run_reports_success"),
            "{}",
            found.landed
        );

        let unrelated = "def test_greet():\n    assert greet('x') == 'hello x'\n    assert greet('') == 'hello '\n";
        assert_eq!(find_adoption(SUGGESTED, unrelated), None);
        assert_eq!(find_adoption("", unrelated), None);
        assert_eq!(find_adoption(SUGGESTED, ""), None);
    }

    #[test]
    fn the_suggested_test_is_read_from_the_stored_item() {
        let original = r#"{"path":"app.py","line":8,"kind":"unit","title":"t","rationale":"r","test_path":"tests/test_app.py","code":"def test_x():\n    pass\n","confidence":0.8}"#;
        assert_eq!(
            suggested_test(original),
            Some((
                "tests/test_app.py".into(),
                "def test_x():\n    pass\n".into()
            ))
        );
        assert_eq!(suggested_test("{}"), None);
    }
}

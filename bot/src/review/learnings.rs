//! What a repository's reviewers told us, as short "prefer / avoid" notes for the prompt's
//! learnings slot: recent rejections (with their reason and note) and modifications (with the
//! human's version), newest first, bounded in tokens. Accepted suggestions teach nothing new
//! here, so they are left out. The notes come from people with write access, but they are
//! still text from a pull request: one line each, no markup, bounded.

use std::collections::HashSet;

use feedback::verdict::{Rejection, Verdict, VerdictState};
use feedback::{FeedbackAction, FeedbackEvent, Suggestion};

use super::budget::count_tokens;

/// Tokens the learnings may take in one prompt: enough for a dozen notes, small next to the
/// change itself.
pub const MAX_LEARNING_TOKENS: usize = 400;
/// Characters per note.
const MAX_NOTE_CHARS: usize = 240;

/// One line, no tags or fences, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['<', '>'], "")
        .replace("```", "'");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The note of the latest reject among `events`.
fn reject_note(events: &[FeedbackEvent]) -> Option<&str> {
    events
        .iter()
        .rev()
        .find(|e| e.event.action == FeedbackAction::Reject)
        .and_then(|e| e.event.note.as_deref())
}

/// The note a decided suggestion teaches, if any.
fn note(suggestion: &Suggestion, verdict: &Verdict, events: &[FeedbackEvent]) -> Option<String> {
    let s = &suggestion.suggestion;
    let title = one_line(&s.title, 100);
    match &verdict.state {
        VerdictState::Rejected { reason } => {
            let why = match reason {
                Some(Rejection::Reason(r)) => format!("rejected as {}", r.as_str()),
                Some(Rejection::Triage(t)) => format!("triaged {}", t.as_str()),
                None => "rejected".into(),
            };
            let said = reject_note(events)
                .map(|n| format!(": {}", one_line(n, 120)))
                .unwrap_or_default();
            Some(one_line(
                &format!("Avoid: \"{title}\" ({}) was {why}{said}", s.category),
                MAX_NOTE_CHARS,
            ))
        }
        VerdictState::Modified {
            human_text: Some(text),
        } => Some(one_line(
            &format!("Prefer: for \"{title}\" people kept their own version: {text}"),
            MAX_NOTE_CHARS,
        )),
        _ => None,
    }
}

/// Notes from `decided` (newest first), within [`MAX_LEARNING_TOKENS`], without repeats.
pub fn learnings(decided: &[(Suggestion, Verdict, Vec<FeedbackEvent>)]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut seen = HashSet::new();
    let mut tokens = 0;
    for (suggestion, verdict, events) in decided {
        let Some(note) = note(suggestion, verdict, events) else {
            continue;
        };
        if !seen.insert(note.clone()) {
            continue;
        }
        let cost = count_tokens(&note) + 2;
        if tokens + cost > MAX_LEARNING_TOKENS {
            break;
        }
        tokens += cost;
        notes.push(note);
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use feedback::{
        Anchor, FeedbackEventId, FeedbackRole, FeedbackSource, NewFeedbackEvent, NewSuggestion,
        RejectReason, SuggestionId, SuggestionKind, SuggestionSource,
    };

    fn suggestion(title: &str) -> Suggestion {
        Suggestion {
            id: SuggestionId(1),
            github_comment_id: Some(9),
            suggestion: NewSuggestion {
                model_call_id: None,
                review_id: None,
                repo: "o/r".into(),
                pr: 1,
                head_sha: "a".into(),
                kind: SuggestionKind::Test,
                source: SuggestionSource::Model,
                category: "test.edge_case".into(),
                path: "app.py".into(),
                line: Some(3),
                anchor: Anchor::Line,
                severity: None,
                confidence: Some(0.8),
                cwe: None,
                fingerprint: "f".into(),
                title: title.into(),
                body: String::new(),
                original: String::new(),
                created_at: Utc::now(),
            },
        }
    }

    fn reject(note: &str) -> FeedbackEvent {
        FeedbackEvent {
            id: FeedbackEventId(1),
            recorded_at: Utc::now(),
            event: NewFeedbackEvent {
                suggestion_id: SuggestionId(1),
                github_id: "comment:1".into(),
                source: FeedbackSource::Command,
                action: FeedbackAction::Reject,
                actor: "ann".into(),
                role: FeedbackRole::Writer,
                reason: Some("noisy".into()),
                note: Some(note.into()),
                human_text: None,
                occurred_at: Utc::now(),
            },
        }
    }

    fn verdict(state: VerdictState) -> Verdict {
        Verdict {
            state,
            triage: None,
            decided_by: Some(FeedbackSource::Command),
            first_verdict_at: None,
            time_to_first_verdict: None,
        }
    }

    #[test]
    fn rejections_and_modifications_become_bounded_one_line_notes() {
        let rejected = verdict(VerdictState::Rejected {
            reason: Some(Rejection::Reason(RejectReason::Noisy)),
        });
        let modified = verdict(VerdictState::Modified {
            human_text: Some("def test_x():\n    assert f() == 1\n".into()),
        });
        let decided = vec![
            (
                suggestion("Test getters"),
                rejected.clone(),
                vec![reject("we never test <b>getters</b>\n```")],
            ),
            (suggestion("Cover f"), modified, vec![]),
            (suggestion("Fine"), verdict(VerdictState::Accepted), vec![]),
            (
                suggestion("Test getters"),
                rejected,
                vec![reject("we never test <b>getters</b>\n```")],
            ),
        ];
        let notes = learnings(&decided);
        assert_eq!(
            notes,
            [
                "Avoid: \"Test getters\" (test.edge_case) was rejected as noisy: we never test bgetters/b '",
                "Prefer: for \"Cover f\" people kept their own version: def test_x(): assert f() == 1",
            ],
            "accepted ones teach nothing; repeats are said once"
        );
    }

    #[test]
    fn learnings_stay_within_their_token_budget() {
        let rejected = verdict(VerdictState::Rejected { reason: None });
        let decided: Vec<_> = (0..200)
            .map(|i| {
                (
                    suggestion(&format!(
                        "Suggestion number {i} about something long enough"
                    )),
                    rejected.clone(),
                    vec![reject(&"words ".repeat(40))],
                )
            })
            .collect();
        let notes = learnings(&decided);
        let used: usize = notes.iter().map(|n| count_tokens(n) + 2).sum();
        assert!(!notes.is_empty() && used <= MAX_LEARNING_TOKENS, "{used}");
        assert!(notes.iter().all(|n| n.chars().count() <= MAX_NOTE_CHARS));
        assert!(notes[0].contains("number 0"), "newest first");
    }
}

//! One training example per model call: the exact messages that were sent, and as the target
//! the answer in the same JSON schema the model was asked for, holding what humans kept.
//!
//! - Accepted suggestions are kept as the model wrote them.
//! - Modified ones are kept in the human's version: for a suggested test the `code` becomes
//!   the human's code; for a finding the `fix` becomes the human's text.
//! - Rejected ones are left out. A call whose shown suggestions were all rejected yields an
//!   empty list: that teaches silence, and is kept.
//! - Suggestions with no verdict (pending, or ignored when the pull request closed) make the
//!   call unlabeled: skipped unless [`Unlabeled::Keep`] (kept as written) or
//!   [`Unlabeled::Drop`] (left out).
//! - A call with no shown suggestion taught nothing either way and yields no example; a call
//!   that failed or whose answer was invalid is not an example of a good answer.

use serde_json::{Map, Value};

use crate::model::{ModelCall, ModelCallStatus, Suggestion};
use crate::verdict::{Verdict, VerdictState};

/// What to do with a call some of whose suggestions have no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unlabeled {
    /// Skip the whole call (the default: no guessing).
    #[default]
    Skip,
    /// Keep those suggestions as the model wrote them.
    Keep,
    /// Leave those suggestions out.
    Drop,
}

/// Why a call gives no example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// The call failed or its answer was invalid.
    NotOk,
    /// No suggestion of it was shown to anyone.
    NothingShown,
    /// Some suggestions have no verdict and `Unlabeled::Skip` was asked for.
    Unlabeled,
    /// The stored messages or answer are not the JSON they should be.
    Corrupt,
}

/// A call's example.
#[derive(Debug, Clone, PartialEq)]
pub struct CallExample {
    /// The messages as sent (parsed from the stored bytes; order and content unchanged).
    pub messages: Vec<Value>,
    /// The target: the answer in the call's schema with what humans kept, as compact JSON.
    pub kept: String,
    /// The model's own answer, as compact JSON in the same shape (for preference pairs).
    pub original: String,
}

impl CallExample {
    /// Whether humans changed the answer (a preference pair exists).
    pub fn differs(&self) -> bool {
        self.kept != self.original
    }
}

/// The schema key holding the items of a prompt's answer.
fn items_key(prompt_id: &str) -> Option<&'static str> {
    match prompt_id {
        "tests" => Some("suggestions"),
        "security" => Some("findings"),
        _ => None,
    }
}

/// The item a human kept: the model's item, with the human's version where they wrote one.
fn kept_item(suggestion: &Suggestion, verdict: &Verdict) -> Option<Value> {
    let mut item: Value = serde_json::from_str(&suggestion.suggestion.original).ok()?;
    if let VerdictState::Modified {
        human_text: Some(text),
    } = &verdict.state
    {
        let field = if item.get("code").is_some() {
            "code"
        } else {
            "fix"
        };
        if let Some(object) = item.as_object_mut() {
            object.insert(field.to_owned(), Value::String(text.clone()));
        }
    }
    Some(item)
}

/// Builds the example of `call` from its suggestions (ordered by id) and their verdicts.
pub fn build_example(
    call: &ModelCall,
    suggestions: &[(Suggestion, Verdict)],
    unlabeled: Unlabeled,
) -> Result<CallExample, Skipped> {
    let c = &call.call;
    if c.status != ModelCallStatus::Ok {
        return Err(Skipped::NotOk);
    }
    let key = items_key(&c.prompt_id).ok_or(Skipped::Corrupt)?;
    let messages: Vec<Value> = serde_json::from_str(&c.messages).map_err(|_| Skipped::Corrupt)?;
    let answer: Value = c
        .raw_answer
        .as_deref()
        .and_then(|raw| serde_json::from_str(raw.trim()).ok())
        .ok_or(Skipped::Corrupt)?;
    let original_items = answer
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .ok_or(Skipped::Corrupt)?;
    let shown: Vec<&(Suggestion, Verdict)> = suggestions
        .iter()
        .filter(|(s, _)| s.suggestion.model_call_id == Some(call.id))
        .collect();
    if shown.is_empty() {
        return Err(Skipped::NothingShown);
    }
    let mut kept = Vec::new();
    for (suggestion, verdict) in shown {
        match &verdict.state {
            VerdictState::Accepted | VerdictState::Modified { .. } => {
                kept.push(kept_item(suggestion, verdict).ok_or(Skipped::Corrupt)?);
            }
            VerdictState::Rejected { .. } => {}
            VerdictState::Pending | VerdictState::Ignored => match unlabeled {
                Unlabeled::Skip => return Err(Skipped::Unlabeled),
                Unlabeled::Keep => {
                    kept.push(kept_item(suggestion, verdict).ok_or(Skipped::Corrupt)?)
                }
                Unlabeled::Drop => {}
            },
        }
    }
    let wrap = |items: Vec<Value>| {
        let mut object = Map::new();
        object.insert(key.to_owned(), Value::Array(items));
        Value::Object(object).to_string()
    };
    Ok(CallExample {
        messages,
        kept: wrap(kept),
        original: wrap(original_items),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::verdict::Rejection;
    use chrono::Utc;

    const MESSAGES: &str = r#"[{"role":"system","content":"s"},{"role":"user","content":"u"}]"#;

    fn call(prompt: &str, answer: &str) -> ModelCall {
        ModelCall {
            id: ModelCallId(7),
            call: NewModelCall {
                installation_id: None,
                repo: "o/r".into(),
                pr: Some(1),
                head_sha: None,
                job_id: None,
                analysis: prompt.into(),
                prompt_id: prompt.into(),
                prompt_version: "v1".into(),
                provider: "azure".into(),
                model: "gpt-4o".into(),
                deployment: None,
                messages: MESSAGES.into(),
                response_format: None,
                raw_answer: Some(answer.into()),
                finish_reason: Some("stop".into()),
                status: ModelCallStatus::Ok,
                error: None,
                tokens_in: None,
                tokens_out: None,
                latency_ms: 1,
                attempt: 1,
                created_at: Utc::now(),
            },
        }
    }

    fn test_item(title: &str) -> String {
        format!(
            r#"{{"path":"a.py","line":3,"kind":"unit","title":"{title}","rationale":"r","test_path":"tests/test_a.py","code":"def test_x(): pass","confidence":0.8}}"#
        )
    }

    fn suggestion(id: i64, original: &str) -> Suggestion {
        Suggestion {
            id: SuggestionId(id),
            github_comment_id: Some(100 + id),
            suggestion: NewSuggestion {
                model_call_id: Some(ModelCallId(7)),
                review_id: None,
                repo: "o/r".into(),
                pr: 1,
                head_sha: "h".into(),
                kind: SuggestionKind::Test,
                source: SuggestionSource::Model,
                category: "test.unit".into(),
                path: "a.py".into(),
                line: Some(3),
                anchor: Anchor::Line,
                severity: None,
                confidence: Some(0.8),
                cwe: None,
                fingerprint: format!("f{id}"),
                title: "t".into(),
                body: String::new(),
                original: original.into(),
                created_at: Utc::now(),
            },
        }
    }

    fn verdict(state: VerdictState) -> Verdict {
        Verdict {
            state,
            triage: None,
            decided_by: None,
            first_verdict_at: None,
            time_to_first_verdict: None,
        }
    }

    fn answer_of(items: &[String]) -> String {
        format!(r#"{{"suggestions":[{}]}}"#, items.join(","))
    }

    #[test]
    fn kept_answers_hold_accepted_items_as_written_and_modified_ones_as_humans_wrote_them() {
        let items = [test_item("A"), test_item("B"), test_item("C")];
        let call = call("tests", &answer_of(&items));
        let suggestions = vec![
            (suggestion(1, &items[0]), verdict(VerdictState::Accepted)),
            (
                suggestion(2, &items[1]),
                verdict(VerdictState::Modified {
                    human_text: Some("def test_b():\n    assert b()\n".into()),
                }),
            ),
            (
                suggestion(3, &items[2]),
                verdict(VerdictState::Rejected {
                    reason: Some(Rejection::Reason(RejectReason::Noisy)),
                }),
            ),
        ];
        let example = build_example(&call, &suggestions, Unlabeled::Skip).unwrap();
        assert_eq!(example.messages.len(), 2);
        let kept: Value = serde_json::from_str(&example.kept).unwrap();
        let kept = kept["suggestions"].as_array().unwrap();
        assert_eq!(kept.len(), 2, "the rejected one is left out");
        assert_eq!(kept[0]["title"], "A");
        assert_eq!(kept[1]["code"], "def test_b():\n    assert b()\n");
        assert!(example.differs());
        let original: Value = serde_json::from_str(&example.original).unwrap();
        assert_eq!(original["suggestions"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn all_rejected_teaches_silence_and_unlabeled_calls_follow_the_option() {
        let items = [test_item("A"), test_item("B")];
        let call = call("tests", &answer_of(&items));
        let rejected = verdict(VerdictState::Rejected { reason: None });
        let all_rejected = vec![
            (suggestion(1, &items[0]), rejected.clone()),
            (suggestion(2, &items[1]), rejected.clone()),
        ];
        let example = build_example(&call, &all_rejected, Unlabeled::Skip).unwrap();
        assert_eq!(example.kept, r#"{"suggestions":[]}"#);

        let mixed = vec![
            (suggestion(1, &items[0]), verdict(VerdictState::Accepted)),
            (suggestion(2, &items[1]), verdict(VerdictState::Ignored)),
        ];
        assert_eq!(
            build_example(&call, &mixed, Unlabeled::Skip),
            Err(Skipped::Unlabeled)
        );
        let keep = build_example(&call, &mixed, Unlabeled::Keep).unwrap();
        assert!(!keep.differs(), "everything kept as written");
        let drop = build_example(&call, &mixed, Unlabeled::Drop).unwrap();
        let kept: Value = serde_json::from_str(&drop.kept).unwrap();
        assert_eq!(kept["suggestions"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn failed_silent_and_corrupt_calls_give_no_example() {
        let items = [test_item("A")];
        let mut failed = call("tests", &answer_of(&items));
        failed.call.status = ModelCallStatus::InvalidOutput;
        let s = vec![(suggestion(1, &items[0]), verdict(VerdictState::Accepted))];
        assert_eq!(
            build_example(&failed, &s, Unlabeled::Keep),
            Err(Skipped::NotOk)
        );
        let ok = call("tests", &answer_of(&items));
        assert_eq!(
            build_example(&ok, &[], Unlabeled::Keep),
            Err(Skipped::NothingShown)
        );
        let garbage = call("tests", "not json");
        assert_eq!(
            build_example(&garbage, &s, Unlabeled::Keep),
            Err(Skipped::Corrupt)
        );
    }

    #[test]
    fn a_modified_finding_keeps_the_humans_fix() {
        let item = r#"{"path":"a.py","line":3,"cwe":"CWE-78","severity":"high","confidence":0.9,"title":"t","explanation":"e","fix":"model fix"}"#;
        let call = call("security", &format!(r#"{{"findings":[{item}]}}"#));
        let s = vec![(
            suggestion(1, item),
            verdict(VerdictState::Modified {
                human_text: Some("use shlex.quote".into()),
            }),
        )];
        let example = build_example(&call, &s, Unlabeled::Skip).unwrap();
        let kept: Value = serde_json::from_str(&example.kept).unwrap();
        assert_eq!(kept["findings"][0]["fix"], "use shlex.quote");
        assert_eq!(kept["findings"][0]["explanation"], "e");
    }
}

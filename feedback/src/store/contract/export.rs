//! Exports from a seeded store where every combination of verdicts appears, checked example
//! by example and against golden files, on both backends.
//!
//! The seed (one model call per row; items are the answer's, in order):
//!
//! | call | prompt | answer items → shown suggestion and its events | SFT target | DPO/TRL |
//! |---|---|---|---|---|
//! | 1 | tests | A accept (command), B modify (command, human code), C reject (command) | A, B′ | pair |
//! | 2 | tests | D reject (👎), E reject (command) | `[]` (silence) | pair |
//! | 3 | tests | F accept (👍), G accept (adoption) | F, G | no pair |
//! | 4 | tests | H accept, I no events (pending) | skipped (unlabeled) | skipped |
//! | 5 | tests | J ignored (closed) | skipped (unlabeled) | skipped |
//! | 6 | security | K triage tp (developer rejected), L triage fp, M triage wontfix | K, M | pair |
//! | 7 | security | invalid output | skipped (failed) | skipped |
//! | 8 | tests | N in a review never posted | skipped (nothing shown) | skipped |
//! | 9 | tests | messages not JSON | skipped (corrupt) | skipped |
//! | 10 | tests | call 3 again, same prompt and verdicts | skipped (duplicate) | no pair |
//! | 11 | tests | O accept; held-back item P never shown; AWS key in the prompt; octo/b, v2, gpt-5 | O | pair |
//! | 12 | tests | Q accept; a prompt of 3,000 words | skipped (over 2,000 tokens) | skipped |

use std::collections::BTreeSet;
use std::io::BufReader;

use super::{SHA_A, review_of, secs, t0};
use crate::Store;
use crate::export::dataset::{DatasetOptions, DatasetSummary, DatasetWriter, SkipReason};
use crate::export::example::Unlabeled;
use crate::export::source::{ExportCall, ExportFilter};
use crate::export::validate::{DatasetFormat, validate_jsonl};
use crate::model::*;
use crate::testing::TestDatabase;

contract!(
    every_verdict_combination_gives_the_example_it_should,
    exports_match_the_golden_files_and_pass_validation,
    unlabeled_suggestions_are_kept_or_dropped_on_request,
    filters_select_calls_by_kind_repo_time_prompt_and_model,
    the_validation_split_is_stable_across_runs_and_new_calls,
    calls_are_read_with_what_examples_are_built_from_as_stored,
    a_long_export_arrives_whole_and_in_order,
);

/// Whitespace-separated words: a stand-in tokenizer (the binary uses o200k).
fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

const AWS_KEY: &str = "AKIAQYLPMN5HHHFPZAM2";

fn messages(user: &str) -> String {
    serde_json::json!([
        {"role": "system", "content": "You suggest tests. Answer only with JSON."},
        {"role": "user", "content": user},
    ])
    .to_string()
}

fn test_item(title: &str) -> String {
    format!(
        r#"{{"path":"app.py","line":8,"kind":"unit","title":"{title}","rationale":"covers {title}","test_path":"tests/test_app.py","code":"def test_{title}():\n    assert run('{title}')\n","confidence":0.9}}"#
    )
}

fn finding_item(title: &str) -> String {
    format!(
        r#"{{"path":"app.py","line":9,"cwe":"CWE-78","severity":"high","confidence":0.8,"title":"{title}","explanation":"shell injection","fix":"use a list"}}"#
    )
}

/// How a seeded suggestion was shown and what people did.
#[derive(Clone, Copy)]
enum Fate {
    Accept,
    Modify,
    Reject,
    ThumbsUp,
    ThumbsDown,
    Adopted,
    Pending,
    Ignored,
    /// A developer's reject, then a security reviewer's triage.
    Triage(&'static str),
    /// In a review that was never posted.
    NotShown,
}

struct Call {
    prompt: &'static str,
    user: String,
    /// `None`: an invalid answer.
    items: Option<Vec<(String, Option<Fate>)>>,
    repo: &'static str,
    version: &'static str,
    model: &'static str,
    day: i64,
    corrupt: bool,
}

fn call(prompt: &'static str, user: &str, items: Vec<(String, Option<Fate>)>) -> Call {
    Call {
        prompt,
        user: user.into(),
        items: Some(items),
        repo: "octo/a",
        version: "v1",
        model: "gpt-4o",
        day: 0,
        corrupt: false,
    }
}

fn seed_calls() -> Vec<Call> {
    use Fate::*;
    let t = |title: &str, fate: Fate| (test_item(title), Some(fate));
    let f = |title: &str, fate: Fate| (finding_item(title), Some(fate));
    vec![
        call(
            "tests",
            "File: app.py\n+def run(cmd): ...",
            vec![t("a", Accept), t("b", Modify), t("c", Reject)],
        ),
        call(
            "tests",
            "File: util.py\n+def add(a, b): ...",
            vec![t("d", ThumbsDown), t("e", Reject)],
        ),
        call(
            "tests",
            "File: parse.py\n+def parse(s): ...",
            vec![t("f", ThumbsUp), t("g", Adopted)],
        ),
        call(
            "tests",
            "File: io.py\n+def load(p): ...",
            vec![t("h", Accept), t("i", Pending)],
        ),
        call(
            "tests",
            "File: net.py\n+def get(u): ...",
            vec![t("j", Ignored)],
        ),
        call(
            "security",
            "File: app.py\n+os.system(cmd)",
            vec![
                f("k", Triage("tp")),
                f("l", Triage("fp")),
                f("m", Triage("wontfix")),
            ],
        ),
        Call {
            items: None,
            ..call("security", "File: x.py", vec![])
        },
        call("tests", "File: y.py\n+def y(): ...", vec![t("n", NotShown)]),
        Call {
            corrupt: true,
            ..call("tests", "File: z.py", vec![t("z", Accept)])
        },
        call(
            "tests",
            "File: parse.py\n+def parse(s): ...",
            vec![t("f", ThumbsUp), t("g", Adopted)],
        ),
        Call {
            repo: "octo/b",
            version: "v2",
            model: "gpt-5",
            day: 3,
            ..call(
                "tests",
                &format!("File: cfg.py\n+AWS_ACCESS_KEY_ID = \"{AWS_KEY}\""),
                vec![t("o", Accept), (test_item("p"), None)],
            )
        },
        call(
            "tests",
            &format!("File: big.py\n{}", "+x = 1\n".repeat(1500)),
            vec![t("q", Accept)],
        ),
    ]
}

/// Seeds the table; returns the calls' ids in order.
async fn seed(store: &Store, calls: &[Call]) -> Vec<ModelCallId> {
    let posted = review(
        store,
        NewReview {
            github_review_id: Some(7000),
            ..review_of(SHA_A)
        },
    )
    .await;
    let unposted = review(store, review_of("b".repeat(40).as_str())).await;
    let mut ids = Vec::new();
    let mut n = 0;
    for c in calls {
        let made = t0() + chrono::Duration::days(c.day);
        let answer = c.items.as_ref().map(|items| {
            let key = if c.prompt == "tests" {
                "suggestions"
            } else {
                "findings"
            };
            // Spaced like a model might answer: the export must not care.
            let list: Vec<&str> = items.iter().map(|(item, _)| item.as_str()).collect();
            format!("{{\"{key}\": [\n  {}\n]}}", list.join(",\n  "))
        });
        let id = store
            .insert_model_call(&NewModelCall {
                installation_id: Some(7),
                repo: c.repo.into(),
                pr: Some(12),
                head_sha: Some(SHA_A.into()),
                job_id: None,
                analysis: c.prompt.into(),
                prompt_id: c.prompt.into(),
                prompt_version: c.version.into(),
                provider: "azure".into(),
                model: c.model.into(),
                deployment: Some("review".into()),
                messages: if c.corrupt {
                    "not json".into()
                } else {
                    messages(&c.user)
                },
                response_format: Some(r#"{"type":"json_schema"}"#.into()),
                status: if answer.is_some() {
                    ModelCallStatus::Ok
                } else {
                    ModelCallStatus::InvalidOutput
                },
                raw_answer: Some(answer.unwrap_or_else(|| "I cannot".into())),
                finish_reason: Some("stop".into()),
                error: None,
                tokens_in: Some(100),
                tokens_out: Some(10),
                message_tokens: None,
                answer_tokens: None,
                messages_scan: None,
                latency_ms: 5,
                attempt: 1,
                created_at: made,
            })
            .await
            .unwrap();
        ids.push(id);
        for (item, fate) in c.items.iter().flatten() {
            let Some(fate) = fate else { continue };
            n += 1;
            let kind = if c.prompt == "tests" {
                SuggestionKind::Test
            } else {
                SuggestionKind::Security
            };
            let Inserted::New(sid) = store
                .insert_suggestion(&NewSuggestion {
                    model_call_id: Some(id),
                    review_id: Some(if matches!(fate, Fate::NotShown) {
                        unposted
                    } else {
                        posted
                    }),
                    repo: c.repo.into(),
                    pr: 12,
                    head_sha: SHA_A.into(),
                    kind,
                    source: SuggestionSource::Model,
                    category: "unit".into(),
                    path: "app.py".into(),
                    line: Some(8),
                    anchor: Anchor::Line,
                    severity: (kind == SuggestionKind::Security).then(|| "high".into()),
                    confidence: Some(0.9),
                    cwe: (kind == SuggestionKind::Security).then(|| "CWE-78".into()),
                    fingerprint: format!("fp-{id}-{n}"),
                    title: "T".into(),
                    body: "B".into(),
                    // As the bot stores it: the item re-serialized, compact.
                    original: serde_json::to_string(
                        &serde_json::from_str::<serde_json::Value>(item).unwrap(),
                    )
                    .unwrap(),
                    created_at: made,
                })
                .await
                .unwrap()
            else {
                panic!("a new suggestion")
            };
            for event in events(sid, *fate, made) {
                store.append_feedback_event(&event, made).await.unwrap();
            }
        }
    }
    ids
}

/// The review's id, inserting it the first time (seeding twice reuses it).
async fn review(store: &Store, review: NewReview) -> ReviewId {
    if let Inserted::New(id) = store.insert_review(&review).await.unwrap() {
        return id;
    }
    let r = &review;
    store
        .find_review_by_head(&r.repo, r.pr, &r.head_sha, &r.analysis, r.round)
        .await
        .unwrap()
        .unwrap()
        .id
}

fn events(
    suggestion_id: SuggestionId,
    fate: Fate,
    made: chrono::DateTime<chrono::Utc>,
) -> Vec<NewFeedbackEvent> {
    use FeedbackAction as A;
    use FeedbackSource as S;
    let event = |i: usize, source, action| NewFeedbackEvent {
        suggestion_id,
        github_id: format!("e{}-{i}", suggestion_id.0),
        source,
        action,
        actor: "mona".into(),
        role: FeedbackRole::Author,
        reason: None,
        note: None,
        human_text: None,
        occurred_at: made + secs(60 * (i as i64 + 1)),
    };
    match fate {
        Fate::Accept => vec![event(0, S::Command, A::Accept)],
        Fate::Modify => vec![NewFeedbackEvent {
            human_text: Some("def test_b():\n    assert run('b') is True\n".into()),
            ..event(0, S::Command, A::Modify)
        }],
        Fate::Reject => vec![NewFeedbackEvent {
            reason: Some("noisy".into()),
            ..event(0, S::Command, A::Reject)
        }],
        Fate::ThumbsUp => vec![event(0, S::Reaction, A::Accept)],
        Fate::ThumbsDown => vec![event(0, S::Reaction, A::Reject)],
        Fate::Adopted => vec![event(0, S::Adoption, A::Accept)],
        Fate::Ignored => vec![event(0, S::Close, A::Ignore)],
        Fate::Pending | Fate::NotShown => vec![],
        Fate::Triage(state) => vec![
            event(0, S::Command, A::Reject),
            NewFeedbackEvent {
                reason: Some(state.into()),
                actor: "sec".into(),
                role: FeedbackRole::SecurityReviewer,
                ..event(1, S::Command, A::Triage)
            },
        ],
    }
}

/// Everything `filter` selects, in order.
async fn read_all(store: &Store, filter: &ExportFilter) -> Vec<ExportCall> {
    let mut stream = store.export_calls(filter);
    let mut calls = Vec::new();
    while let Some(call) = stream.next().await {
        calls.push(call.unwrap());
    }
    calls
}

/// Exports `calls` with `options`: (training lines, validation lines, summary).
fn export(
    calls: &[ExportCall],
    options: DatasetOptions,
) -> (Vec<String>, Vec<String>, DatasetSummary) {
    let mut train = Vec::new();
    let mut validation = Vec::new();
    let mut writer = DatasetWriter::new(
        options,
        &mut train,
        Some(&mut validation),
        std::sync::Arc::new(words),
    )
    .with_threads(2);
    // Two batches, so batching cannot change the outcome.
    let (first, second) = calls.split_at(calls.len() / 2);
    writer.add_batch(first.to_vec()).unwrap();
    writer.add_batch(second.to_vec()).unwrap();
    let summary = writer.finish().unwrap();
    let lines = |bytes: Vec<u8>| -> Vec<String> {
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    (lines(train), lines(validation), summary)
}

fn options(format: DatasetFormat) -> DatasetOptions {
    DatasetOptions {
        max_tokens: 2_000,
        ..DatasetOptions::new(format)
    }
}

/// The assistant target of an SFT line.
fn target(line: &str) -> serde_json::Value {
    let example: serde_json::Value = serde_json::from_str(line).unwrap();
    let messages = example["messages"].as_array().unwrap();
    assert_eq!(messages.last().unwrap()["role"], "assistant");
    serde_json::from_str(messages.last().unwrap()["content"].as_str().unwrap()).unwrap()
}

fn titles(answer: &serde_json::Value) -> Vec<String> {
    let items = answer
        .get("suggestions")
        .or_else(|| answer.get("findings"))
        .unwrap();
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn every_verdict_combination_gives_the_example_it_should(store: Store) {
    let calls = seed_calls();
    seed(&store, &calls).await;
    let read = read_all(&store, &ExportFilter::default()).await;
    assert_eq!(read.len(), 12, "every call is read, failed ones too");

    let (sft, _, summary) = export(&read, options(DatasetFormat::Sft));
    let targets: Vec<Vec<String>> = sft.iter().map(|l| titles(&target(l))).collect();
    assert_eq!(
        targets,
        vec![
            vec!["a".to_owned(), "b".to_owned()],
            vec![],
            vec!["f".to_owned(), "g".to_owned()],
            vec!["k".to_owned(), "m".to_owned()],
            vec!["o".to_owned()],
        ],
        "calls 1, 2, 3, 6 and 11, in order"
    );
    let modified = target(&sft[0]);
    assert_eq!(
        modified["suggestions"][1]["code"],
        "def test_b():\n    assert run('b') is True\n"
    );
    assert_eq!(summary.calls, 12);
    assert_eq!(summary.train, 5);
    for (reason, n) in [
        (SkipReason::Unlabeled, 2),
        (SkipReason::Failed, 1),
        (SkipReason::NothingShown, 1),
        (SkipReason::Corrupt, 1),
        (SkipReason::Duplicate, 1),
        (SkipReason::TooLong, 1),
    ] {
        assert_eq!(summary.skipped(reason), n, "{reason:?}");
    }
    // The prompt is the stored one, but with the planted key redacted and counted.
    let all = sft.join("\n");
    assert!(!all.contains(AWS_KEY));
    assert!(all.contains("[REDACTED:aws-access-key]"), "{all}");
    assert_eq!(summary.redactions.get("aws-access-key"), 1);
    let first: serde_json::Value = serde_json::from_str(&sft[0]).unwrap();
    assert_eq!(
        first["messages"][1]["content"],
        "File: app.py\n+def run(cmd): ..."
    );
    // Items keep the schema's order, compact, as the model wrote them.
    let content = first["messages"][2]["content"].as_str().unwrap();
    assert!(
        content
            .starts_with(r#"{"suggestions":[{"path":"app.py","line":8,"kind":"unit","title":"a""#),
        "{content}"
    );

    let (dpo, _, summary) = export(&read, options(DatasetFormat::Dpo));
    assert_eq!(dpo.len(), 4, "calls 1, 2, 6 and 11 have a preference");
    assert_eq!(
        summary.skipped(SkipReason::NoPreference),
        3,
        "calls 3, 10 and 12 were kept as answered"
    );
    let pair: serde_json::Value = serde_json::from_str(&dpo[1]).unwrap();
    let preferred: serde_json::Value =
        serde_json::from_str(pair["preferred_output"][0]["content"].as_str().unwrap()).unwrap();
    let rejected: serde_json::Value =
        serde_json::from_str(pair["non_preferred_output"][0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        titles(&preferred),
        Vec::<String>::new(),
        "silence preferred"
    );
    assert_eq!(titles(&rejected), vec!["d", "e"]);
    // Call 11: the held-back item is in what the model said, not in what was kept.
    let pair: serde_json::Value = serde_json::from_str(&dpo[3]).unwrap();
    let rejected: serde_json::Value =
        serde_json::from_str(pair["non_preferred_output"][0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(titles(&rejected), vec!["o", "p"]);

    let (trl, _, _) = export(&read, options(DatasetFormat::Trl));
    assert_eq!(trl.len(), 4);
    let row: serde_json::Value = serde_json::from_str(&trl[0]).unwrap();
    assert_eq!(
        row.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["chosen", "prompt", "rejected"]
    );
    assert_eq!(row["prompt"].as_array().unwrap().len(), 2);
}

fn golden_path(format: DatasetFormat) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/store/contract/golden")
        .join(format!("export.{}.jsonl", format.name()))
}

async fn exports_match_the_golden_files_and_pass_validation(store: Store) {
    let calls = seed_calls();
    seed(&store, &calls).await;
    let read = read_all(&store, &ExportFilter::default()).await;
    for format in [DatasetFormat::Sft, DatasetFormat::Dpo, DatasetFormat::Trl] {
        let (lines, _, _) = export(&read, options(format));
        let text = lines.join("\n") + "\n";
        let path = golden_path(format);
        if std::env::var_os("REVIEWBOT_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            golden,
            "{} differs from {} (REVIEWBOT_UPDATE_GOLDEN=1 rewrites it)",
            format.name(),
            path.display()
        );
        let report =
            validate_jsonl(BufReader::new(text.as_bytes()), Some(format), 2_000, &words).unwrap();
        // Fewer than the 10 examples a job needs is the only complaint allowed.
        let errors: Vec<_> = report
            .errors
            .iter()
            .filter(|e| e.kind != "too_few_examples")
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", format.name());
    }
}

async fn unlabeled_suggestions_are_kept_or_dropped_on_request(store: Store) {
    let calls = seed_calls();
    seed(&store, &calls).await;
    let read = read_all(&store, &ExportFilter::default()).await;
    let (keep, _, summary) = export(
        &read,
        DatasetOptions {
            unlabeled: Unlabeled::Keep,
            ..options(DatasetFormat::Sft)
        },
    );
    assert_eq!(summary.skipped(SkipReason::Unlabeled), 0);
    let targets: Vec<Vec<String>> = keep.iter().map(|l| titles(&target(l))).collect();
    assert!(targets.contains(&vec!["h".to_owned(), "i".to_owned()]));
    assert!(targets.contains(&vec!["j".to_owned()]));
    let (drop, _, _) = export(
        &read,
        DatasetOptions {
            unlabeled: Unlabeled::Drop,
            ..options(DatasetFormat::Sft)
        },
    );
    let targets: Vec<Vec<String>> = drop.iter().map(|l| titles(&target(l))).collect();
    assert!(targets.contains(&vec!["h".to_owned()]));
    assert!(
        targets.contains(&vec![]),
        "call 5 teaches silence when dropped"
    );
    // --min-verdicts counts decided suggestions only.
    let (_, _, summary) = export(
        &read,
        DatasetOptions {
            min_verdicts: 3,
            ..options(DatasetFormat::Sft)
        },
    );
    assert_eq!(summary.train, 2, "calls 1 and 6 have three verdicts");
}

async fn filters_select_calls_by_kind_repo_time_prompt_and_model(store: Store) {
    let calls = seed_calls();
    seed(&store, &calls).await;
    let everything = read_all(&store, &ExportFilter::default()).await;
    let count = |filter: ExportFilter| {
        let store = store.clone();
        let everything = &everything;
        async move {
            let read = read_all(&store, &filter).await;
            let counted = store.count_export_calls(&filter).await.unwrap();
            assert_eq!(read.len() as i64, counted, "{filter:?}");
            // Each call comes with its own suggestions and verdicts, as without the filter:
            // none of a call the filter left out.
            for call in &read {
                let whole = everything.iter().find(|c| c.id == call.id).unwrap();
                assert_eq!(call.suggestions, whole.suggestions, "{filter:?}");
            }
            read.iter().map(|c| c.id.0).collect::<BTreeSet<_>>()
        }
    };
    let security = count(ExportFilter {
        kind: Some(SuggestionKind::Security),
        ..Default::default()
    })
    .await;
    assert_eq!(security, BTreeSet::from([6, 7]));
    let only_b = BTreeSet::from([11]);
    assert_eq!(
        count(ExportFilter {
            repo: Some("octo/b".into()),
            ..Default::default()
        })
        .await,
        only_b
    );
    assert_eq!(
        count(ExportFilter {
            prompt_version: Some("v2".into()),
            ..Default::default()
        })
        .await,
        only_b
    );
    assert_eq!(
        count(ExportFilter {
            model: Some("gpt-5".into()),
            ..Default::default()
        })
        .await,
        only_b
    );
    assert_eq!(
        count(ExportFilter {
            since: Some(t0() + chrono::Duration::days(1)),
            ..Default::default()
        })
        .await,
        only_b
    );
    let before: BTreeSet<i64> = (1..=12).filter(|id| *id != 11).collect();
    assert_eq!(
        count(ExportFilter {
            until: Some(t0() + chrono::Duration::days(1)),
            ..Default::default()
        })
        .await,
        before
    );
}

async fn the_validation_split_is_stable_across_runs_and_new_calls(store: Store) {
    // Many distinct accepted calls, so both sides of a 30% split are populated.
    let many: Vec<Call> = (0..40)
        .map(|i| {
            call(
                "tests",
                &format!("File: m{i}.py\n+def f{i}(): ..."),
                vec![(test_item(&format!("t{i}")), Some(Fate::Accept))],
            )
        })
        .collect();
    seed(&store, &many[..30]).await;
    let split = DatasetOptions {
        validation_ratio: 0.3,
        ..options(DatasetFormat::Sft)
    };
    let read = read_all(&store, &ExportFilter::default()).await;
    let (train, validation, summary) = export(&read, split);
    assert_eq!(summary.train + summary.validation, 30);
    assert!(!validation.is_empty() && !train.is_empty());
    let (train_again, validation_again, _) = export(&read, split);
    assert_eq!((&train, &validation), (&train_again, &validation_again));
    // New calls never move an old example from one side to the other.
    seed(&store, &many[30..]).await;
    let read = read_all(&store, &ExportFilter::default()).await;
    let (train_later, validation_later, _) = export(&read, split);
    assert!(train.iter().all(|l| train_later.contains(l)));
    assert!(validation.iter().all(|l| validation_later.contains(l)));
    let (_, _, later) = export(&read, split);
    assert_eq!(train_later.len() + validation_later.len(), 40, "{later:?}");
}

async fn calls_are_read_with_what_examples_are_built_from_as_stored(store: Store) {
    let calls = seed_calls();
    let ids = seed(&store, &calls).await;
    let read = read_all(&store, &ExportFilter::default()).await;
    for call in &read {
        let stored = store.get_model_call(call.id).await.unwrap();
        let c = &stored.call;
        assert_eq!(call.prompt_id, c.prompt_id);
        assert_eq!(call.status, c.status);
        assert_eq!(call.messages, c.messages);
        assert_eq!(call.raw_answer, c.raw_answer);
        assert_eq!(call.message_tokens, c.message_tokens);
        assert_eq!(call.answer_tokens, c.answer_tokens);
        assert_eq!(call.messages_scan, c.messages_scan);
        for shown in &call.suggestions {
            let s = store.get_suggestion(shown.id).await.unwrap();
            assert_eq!(s.suggestion.model_call_id, Some(call.id));
            assert_eq!(shown.original, s.suggestion.original);
        }
    }
    let failed = read.iter().find(|c| c.id == ids[6]).unwrap();
    assert_eq!(failed.status, ModelCallStatus::InvalidOutput);
    assert!(failed.suggestions.is_empty());
    assert_eq!(
        read[0]
            .suggestions
            .iter()
            .map(|s| s.id.0)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

async fn a_long_export_arrives_whole_and_in_order(store: Store) {
    // Enough calls that rows cross the reader's chunks (64 calls) and the writer's buffer,
    // with each call's suggestions and events split across those boundaries.
    let rounds = 12;
    let mut ids = Vec::new();
    for _ in 0..rounds {
        ids.extend(seed(&store, &seed_calls()).await);
    }
    let read = read_all(&store, &ExportFilter::default()).await;
    assert_eq!(
        read.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids,
        "every call once, in id order"
    );
    let per_round = seed_calls().len();
    let shape = |call: &ExportCall| {
        let verdicts: Vec<_> = call
            .suggestions
            .iter()
            .map(|s| (s.original.clone(), format!("{:?}", s.verdict.state)))
            .collect();
        (call.status, call.messages.clone(), verdicts)
    };
    for (i, call) in read.iter().enumerate() {
        assert_eq!(
            shape(call),
            shape(&read[i % per_round]),
            "call {i} has the suggestions and verdicts of its twin in the first round"
        );
    }
    let shown: usize = read.iter().map(|c| c.suggestions.len()).sum();
    let first_round: usize = read[..per_round].iter().map(|c| c.suggestions.len()).sum();
    assert!(first_round > 0);
    assert_eq!(shown, first_round * rounds);
}

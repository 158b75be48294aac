//! `reviewbot export sft|dpo|trl|sarif` end to end: the real binary on a seeded SQLite store,
//! its output checked by the validator, its determinism, and its errors.
//!
//! The seed: 20 test-suggestion calls on octo/app, each with one shown suggestion — 14
//! accepted, 3 modified, 3 rejected — and one security call whose finding was triaged `fp`.
//! Call 5's prompt holds a GitHub token, and the finding's explanation quotes it.

use std::path::Path;
use std::process::{Command, Output};

use bot::review::budget::count_tokens;
use chrono::{DateTime, TimeZone, Utc};
use feedback::export::dataset;
use feedback::export::redact::Redactor;
use feedback::*;

const BIN: &str = env!("CARGO_BIN_EXE_reviewbot");

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, minute, 0).unwrap()
}

/// A token shaped like GitHub's, assembled so no credential-shaped literal sits in the source.
fn planted_token() -> String {
    format!("ghp_{}", "Zq7Xw2Lm9Kp4Rt6Yv8Nb3Hc5Jd1Fg0Se2Ua7")
}

fn user_message(i: u32) -> String {
    let secret = if i == 5 {
        format!("+TOKEN = \"{}\"\n", planted_token())
    } else {
        String::new()
    };
    format!(
        "Repository: octo/app\nLanguage: python; test framework: pytest\n\nFile: mod_{i}.py\n+def f{i}(x):\n+    return x * {i}\n{secret}"
    )
}

fn test_item(i: u32) -> String {
    format!(
        r#"{{"path":"mod_{i}.py","line":1,"kind":"unit","title":"f{i} multiplies","rationale":"new","test_path":"tests/test_mod_{i}.py","code":"def test_f{i}():\n    assert f{i}(2) == {}\n","confidence":0.8}}"#,
        2 * i
    )
}

/// What the seed records with each call besides the call itself.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Facts {
    /// Token counts and the redaction scan, as the bot records them.
    Recorded,
    /// Nothing, as in stores older than those columns.
    Missing,
    /// Counts, and a scan made by other redaction patterns than today's.
    StaleScan,
}

async fn seed(url: &str, facts: Facts) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let Inserted::New(review) = store
        .insert_review(&NewReview {
            installation_id: None,
            repo: "octo/app".into(),
            pr: 1,
            head_sha: "a".repeat(40),
            analysis: "tests".into(),
            round: 0,
            github_review_id: Some(77),
            check_run_id: None,
            job_id: None,
            created_at: at(0),
        })
        .await
        .unwrap()
    else {
        panic!("a new review")
    };
    for i in 1..=21u32 {
        let security = i == 21;
        let (prompt, item, kind) = if security {
            (
                "security",
                // Model output is untrusted: this one echoes the planted token.
                format!(
                    r#"{{"path":"app.py","line":3,"cwe":"CWE-78","severity":"high","confidence":0.9,"title":"Shell injection","explanation":"cmd reaches a shell; TOKEN = \"{}\" leaks too","fix":"pass a list"}}"#,
                    planted_token()
                ),
                SuggestionKind::Security,
            )
        } else {
            ("tests", test_item(i), SuggestionKind::Test)
        };
        let key = if security { "findings" } else { "suggestions" };
        // As the bot stores them: role first, compact.
        let messages = format!(
            r#"[{{"role":"system","content":"You are reviewbot. Answer only with JSON."}},{{"role":"user","content":{}}}]"#,
            serde_json::to_string(&user_message(i)).unwrap()
        );
        let raw_answer = format!("{{\"{key}\":[{item}]}}");
        let call = store
            .insert_model_call(&NewModelCall {
                installation_id: None,
                repo: "octo/app".into(),
                pr: Some(1),
                head_sha: None,
                job_id: None,
                analysis: prompt.into(),
                prompt_id: prompt.into(),
                prompt_version: "v1".into(),
                provider: "azure".into(),
                model: "gpt-4o".into(),
                deployment: None,
                message_tokens: (facts != Facts::Missing)
                    .then(|| dataset::message_tokens(&messages, &count_tokens))
                    .flatten(),
                answer_tokens: (facts != Facts::Missing)
                    .then(|| dataset::answer_tokens(prompt, Some(&raw_answer), &count_tokens))
                    .flatten(),
                messages_scan: match facts {
                    Facts::Recorded => dataset::messages_scan(&messages, &Redactor::new()),
                    Facts::Missing => None,
                    Facts::StaleScan => Some("0123456789abcdef0123456789abcdef".into()),
                },
                messages,
                response_format: None,
                raw_answer: Some(raw_answer),
                finish_reason: Some("stop".into()),
                status: ModelCallStatus::Ok,
                error: None,
                tokens_in: None,
                tokens_out: None,
                latency_ms: 1,
                attempt: 1,
                created_at: at(i),
            })
            .await
            .unwrap();
        let Inserted::New(suggestion) = store
            .insert_suggestion(&NewSuggestion {
                model_call_id: Some(call),
                review_id: Some(review),
                repo: "octo/app".into(),
                pr: 1,
                head_sha: "a".repeat(40),
                kind,
                source: SuggestionSource::Model,
                category: if security { "CWE-78" } else { "unit" }.into(),
                path: "app.py".into(),
                line: Some(3),
                anchor: Anchor::Line,
                severity: security.then(|| "high".into()),
                confidence: Some(0.8),
                cwe: security.then(|| "CWE-78".into()),
                fingerprint: format!("fp-{i}"),
                title: "T".into(),
                body: "B".into(),
                original: item,
                created_at: at(i),
            })
            .await
            .unwrap()
        else {
            panic!("a new suggestion")
        };
        let (action, reason, human_text) = match i {
            21 => (FeedbackAction::Triage, Some("fp"), None),
            15..=17 => (
                FeedbackAction::Modify,
                None,
                Some(format!(
                    "def test_f{i}():\n    assert f{i}(3) == {}\n",
                    3 * i
                )),
            ),
            18..=20 => (FeedbackAction::Reject, Some("incorrect"), None),
            _ => (FeedbackAction::Accept, None, None),
        };
        store
            .append_feedback_event(
                &NewFeedbackEvent {
                    suggestion_id: suggestion,
                    github_id: format!("comment:{i}"),
                    source: FeedbackSource::Command,
                    action,
                    actor: "mona".into(),
                    role: if security {
                        FeedbackRole::SecurityReviewer
                    } else {
                        FeedbackRole::Author
                    },
                    reason: reason.map(Into::into),
                    note: None,
                    human_text,
                    occurred_at: at(i) + chrono::Duration::minutes(5),
                },
                at(30),
            )
            .await
            .unwrap();
    }
    store.close().await;
}

/// A temporary directory with the seeded store; returns (dir, DATABASE_URL).
fn seeded() -> (tempfile::TempDir, String) {
    seeded_with(Facts::Recorded)
}

fn seeded_with(facts: Facts) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(seed(&url, facts));
    (dir, url)
}

fn reviewbot(url: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("DATABASE_URL", url)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn datasets_are_written_redacted_summarised_and_pass_validation() {
    let (dir, url) = seeded();
    let cwd = dir.path();
    let out = reviewbot(&url, &["export", "sft", "--out", "sft.jsonl"], cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    for expected in [
        "sft export: 21 model calls read",
        "written: 21 examples",
        "skipped: 0 calls",
        "redacted: 1 secrets",
        "  github-token: 1",
        "estimated training tokens: ",
        "wrote sft.jsonl",
    ] {
        assert!(
            summary.contains(expected),
            "{expected:?} not in:\n{summary}"
        );
    }
    let sft = lines(&cwd.join("sft.jsonl"));
    assert_eq!(sft.len(), 21);
    let all = sft.join("\n");
    assert!(!all.contains(&planted_token()));
    assert!(all.contains("[REDACTED:github-token]"));
    let validate = reviewbot(&url, &["export", "validate", "sft.jsonl"], cwd);
    assert_eq!(validate.status.code(), Some(0), "{}", text(&validate));

    // Modified (3), rejected (3) and the fp-triaged finding (1) make the preference pairs.
    for format in ["dpo", "trl"] {
        let file = format!("{format}.jsonl");
        let out = reviewbot(&url, &["export", format, "--out", &file], cwd);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            text(&out).contains("kept as answered (no preference pair): 14"),
            "{}",
            text(&out)
        );
        assert_eq!(lines(&cwd.join(&file)).len(), 7);
        // Fewer than 10 pairs: the validator's only complaint is the count.
        let validate = reviewbot(&url, &["export", "validate", &file], cwd);
        let report = text(&validate);
        assert_eq!(validate.status.code(), Some(1), "{report}");
        assert!(report.contains("too_few_examples"), "{report}");
        assert!(report.contains("1 error"), "{report}");
    }
}

/// Counts and scans recorded with the calls spare the export work and change nothing in what
/// it writes: the same files and summary as from a store without them, or with a scan made
/// by other patterns (which the export does not trust).
#[test]
fn recorded_counts_and_scans_change_nothing_in_the_files() {
    let export = |facts: Facts| {
        let (dir, url) = seeded_with(facts);
        ["sft", "dpo"].map(|format| {
            let file = format!("{format}.jsonl");
            let out = reviewbot(&url, &["export", format, "--out", &file], dir.path());
            assert_eq!(out.status.code(), Some(0), "{}", text(&out));
            (text(&out), lines(&dir.path().join(&file)))
        })
    };
    let recorded = export(Facts::Recorded);
    assert!(
        recorded[0].0.contains("redacted: 1 secrets"),
        "{}",
        recorded[0].0
    );
    assert!(
        recorded[1].0.contains("redacted: 1 secrets"),
        "{}",
        recorded[1].0
    );
    assert_eq!(export(Facts::Missing), recorded);
    assert_eq!(export(Facts::StaleScan), recorded);
}

#[test]
fn the_bot_records_counts_and_a_scan_only_where_they_hold() {
    let redactor = Redactor::new();
    let clean = serde_json::json!([{"role": "user", "content": user_message(1)}]).to_string();
    let secret = serde_json::json!([{"role": "user", "content": user_message(5)}]).to_string();
    assert_eq!(
        dataset::messages_scan(&clean, &redactor).as_deref(),
        Some(redactor.fingerprint())
    );
    assert_eq!(dataset::messages_scan(&secret, &redactor), None);
    assert_eq!(dataset::messages_scan("not json", &redactor), None);
    let answer = format!("{{\"suggestions\":[{},{}]}}", test_item(1), test_item(2));
    let counts = dataset::answer_tokens("tests", Some(&answer), &count_tokens).unwrap();
    assert_eq!(counts.0.len(), 2);
    assert_eq!(
        dataset::answer_tokens("tests", Some("{}"), &count_tokens),
        None
    );
    assert_eq!(
        dataset::answer_tokens("other", Some(&answer), &count_tokens),
        None
    );
    assert_eq!(dataset::answer_tokens("tests", None, &count_tokens), None);
}

#[test]
fn the_split_is_deterministic_and_filters_apply() {
    let (dir, url) = seeded();
    let cwd = dir.path();
    let args = [
        "export",
        "sft",
        "--out",
        "train.jsonl",
        "--validation-ratio",
        "0.3",
    ];
    let first = reviewbot(&url, &args, cwd);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(text(&first).contains("wrote train.validation.jsonl"));
    let train = lines(&cwd.join("train.jsonl"));
    let validation = lines(&cwd.join("train.validation.jsonl"));
    assert_eq!(train.len() + validation.len(), 21);
    assert!(!validation.is_empty() && !train.is_empty());
    let again = reviewbot(&url, &args, cwd);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(lines(&cwd.join("train.jsonl")), train);
    assert_eq!(lines(&cwd.join("train.validation.jsonl")), validation);

    let security = reviewbot(
        &url,
        &[
            "export",
            "sft",
            "--out",
            "security.jsonl",
            "--kind",
            "security",
            "--since",
            "2026-11-20",
            "--until",
            "2026-11-21",
            "--model",
            "gpt-4o",
            "--prompt-version",
            "v1",
            "--repo",
            "octo/app",
        ],
        cwd,
    );
    assert_eq!(security.status.code(), Some(0), "{}", text(&security));
    assert!(text(&security).contains("1 model calls read"));
    // The fp-triaged finding is rejected: the call teaches silence.
    let only = lines(&cwd.join("security.jsonl"));
    assert_eq!(only.len(), 1);
    assert!(only[0].contains(r#"{\"findings\":[]}"#), "{}", only[0]);

    let none = reviewbot(
        &url,
        &[
            "export",
            "sft",
            "--out",
            "none.jsonl",
            "--repo",
            "octo/other",
        ],
        cwd,
    );
    assert_eq!(none.status.code(), Some(0));
    assert!(text(&none).contains("0 model calls read"));
    assert_eq!(std::fs::read_to_string(cwd.join("none.jsonl")).unwrap(), "");
}

#[test]
fn sarif_carries_triage_as_a_suppression() {
    let (dir, url) = seeded();
    let out = reviewbot(
        &url,
        &["export", "sarif", "--out", "findings.sarif"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("redacted: 1 secrets\n  github-token: 1"),
        "{}",
        text(&out)
    );
    let written = std::fs::read_to_string(dir.path().join("findings.sarif")).unwrap();
    assert!(!written.contains(&planted_token()));
    assert!(written.contains("[REDACTED:github-token]"));
    let log: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "only the security finding");
    assert_eq!(
        results[0]["suppressions"][0]["justification"],
        "false positive"
    );
    assert_eq!(results[0]["partialFingerprints"]["reviewbot/v1"], "fp-21");
}

#[test]
fn bad_options_and_failures_leave_existing_files_alone() {
    let (dir, url) = seeded();
    let cwd = dir.path();
    let ratio = reviewbot(
        &url,
        &[
            "export",
            "sft",
            "--out",
            "a.jsonl",
            "--validation-ratio",
            "0.9",
        ],
        cwd,
    );
    assert_eq!(ratio.status.code(), Some(2));
    assert!(
        text(&ratio).contains("0.9 is not between 0 and 0.5"),
        "{}",
        text(&ratio)
    );
    let since = reviewbot(
        &url,
        &["export", "dpo", "--out", "a.jsonl", "--since", "last week"],
        cwd,
    );
    assert_eq!(since.status.code(), Some(2), "{}", text(&since));
    assert!(!cwd.join("a.jsonl").exists());

    let missing_dir = reviewbot(
        &url,
        &["export", "sft", "--out", "no/such/dir/a.jsonl"],
        cwd,
    );
    assert_eq!(missing_dir.status.code(), Some(1));
    assert!(
        text(&missing_dir).contains("error: "),
        "{}",
        text(&missing_dir)
    );

    // A store that cannot be read: the previous file stays as it was, nothing half-written.
    std::fs::write(cwd.join("keep.jsonl"), "previous\n").unwrap();
    let empty = format!("sqlite://{}", cwd.join("empty.db").display());
    let failed = reviewbot(&empty, &["export", "sft", "--out", "keep.jsonl"], cwd);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(text(&failed).contains("model_calls"), "{}", text(&failed));
    assert_eq!(
        std::fs::read_to_string(cwd.join("keep.jsonl")).unwrap(),
        "previous\n"
    );
    let stray: Vec<_> = std::fs::read_dir(cwd)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".reviewbot-export-")
        })
        .collect();
    assert!(stray.is_empty(), "temporary files left behind: {stray:?}");
}

//! `reviewbot stats` end to end: the real binary on a seeded SQLite store, every format, and
//! its errors.
//!
//! The seed, on 2026-11-20 unless said (first verdicts after the suggestion):
//!
//! | # | kind | category | made by | events | verdict | first verdict |
//! |---|---|---|---|---|---|---|
//! | 1 | test | unit | tests/v1 | `/accept` | accepted | 90 s |
//! | 2 | test | unit | tests/v1 | `/reject noisy` | rejected | 30 s |
//! | 3 | test | integration, db | tests/v1 | `/modify` | modified | 1 h |
//! | 4 | test | unit | tests/v1 | 👍, then removed | pending | — |
//! | 5 | test | unit | tests/v1 | closed | ignored | — |
//! | 6 | security | CWE-78 | security/v1 | `/reject incorrect`, then `/triage tp` | accepted | 600 s |
//! | 7 | security | CWE-89 | built-in | `/triage fp` | rejected | 300 s |
//! | 8 | security | CWE-89 | built-in, 2026-11-25 | `/triage tp` | accepted | 60 s |
//! | 9 | test | unit | tests/v1 | `/accept`, never shown | not counted | |

use std::path::Path;
use std::process::{Command, Output};

use chrono::{DateTime, TimeZone, Utc};
use feedback::*;

const BIN: &str = env!("CARGO_BIN_EXE_reviewbot");

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap()
}

async fn seed(url: &str) {
    use FeedbackAction as A;
    use FeedbackSource as S;

    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let call = |prompt_id: &str| NewModelCall {
        installation_id: None,
        repo: "octo/app".into(),
        pr: Some(1),
        head_sha: None,
        job_id: None,
        analysis: prompt_id.into(),
        prompt_id: prompt_id.into(),
        prompt_version: "v1".into(),
        provider: "azure".into(),
        model: "gpt-4o".into(),
        deployment: None,
        messages: "[]".into(),
        response_format: None,
        raw_answer: None,
        finish_reason: None,
        status: ModelCallStatus::Ok,
        error: None,
        tokens_in: None,
        tokens_out: None,
        message_tokens: None,
        answer_tokens: None,
        messages_scan: None,
        latency_ms: 1,
        attempt: 1,
        created_at: day(20),
    };
    let tests = store.insert_model_call(&call("tests")).await.unwrap();
    let security = store.insert_model_call(&call("security")).await.unwrap();
    let review = |head: &str, github_review_id| NewReview {
        installation_id: None,
        repo: "octo/app".into(),
        pr: 1,
        head_sha: head.into(),
        analysis: "tests".into(),
        round: 0,
        github_review_id,
        check_run_id: None,
        job_id: None,
        created_at: day(20),
    };
    let Inserted::New(posted) = store.insert_review(&review("a", Some(77))).await.unwrap() else {
        panic!("a new review")
    };
    let Inserted::New(unposted) = store.insert_review(&review("b", None)).await.unwrap() else {
        panic!("a new review")
    };
    let seeded: [(SuggestionKind, &str, Option<ModelCallId>, u32); 9] = [
        (SuggestionKind::Test, "unit", Some(tests), 20),
        (SuggestionKind::Test, "unit", Some(tests), 20),
        (SuggestionKind::Test, "integration, db", Some(tests), 20),
        (SuggestionKind::Test, "unit", Some(tests), 20),
        (SuggestionKind::Test, "unit", Some(tests), 20),
        (SuggestionKind::Security, "CWE-78", Some(security), 20),
        (SuggestionKind::Security, "CWE-89", None, 20),
        (SuggestionKind::Security, "CWE-89", None, 25),
        (SuggestionKind::Test, "unit", Some(tests), 20),
    ];
    let mut ids = Vec::new();
    for (n, (kind, category, call, d)) in seeded.into_iter().enumerate() {
        let finding = kind == SuggestionKind::Security;
        let suggestion = NewSuggestion {
            model_call_id: call,
            review_id: Some(if n == 8 { unposted } else { posted }),
            repo: "octo/app".into(),
            pr: 1,
            head_sha: "a".into(),
            kind,
            source: if call.is_some() {
                SuggestionSource::Model
            } else {
                SuggestionSource::Analyzer
            },
            category: category.into(),
            path: "src/app.py".into(),
            line: Some(1),
            anchor: Anchor::Line,
            severity: finding.then(|| "high".into()),
            confidence: None,
            cwe: finding.then(|| category.into()),
            fingerprint: format!("fp-{n}"),
            title: "T".into(),
            body: "B".into(),
            original: "{}".into(),
            created_at: day(d),
        };
        let Inserted::New(id) = store.insert_suggestion(&suggestion).await.unwrap() else {
            panic!("a new suggestion")
        };
        ids.push((id, day(d)));
    }
    let event = |n: usize, github_id: &str, source, action, after: i64| {
        let (suggestion_id, made) = ids[n - 1];
        NewFeedbackEvent {
            suggestion_id,
            github_id: github_id.into(),
            source,
            action,
            actor: "mona".into(),
            role: FeedbackRole::Author,
            reason: None,
            note: None,
            human_text: None,
            occurred_at: made + chrono::Duration::seconds(after),
        }
    };
    let reason = |e: NewFeedbackEvent, reason: &str| NewFeedbackEvent {
        reason: Some(reason.into()),
        ..e
    };
    let triage = |n, github_id: &str, state, after| NewFeedbackEvent {
        actor: "sec".into(),
        role: FeedbackRole::SecurityReviewer,
        ..reason(event(n, github_id, S::Command, A::Triage, after), state)
    };
    let events = [
        event(1, "comment:1", S::Command, A::Accept, 90),
        reason(event(2, "comment:2", S::Command, A::Reject, 30), "noisy"),
        NewFeedbackEvent {
            human_text: Some("def test_db(): ...".into()),
            ..event(3, "comment:3", S::Command, A::Modify, 3600)
        },
        event(4, "reaction:4", S::Reaction, A::Accept, 10),
        NewFeedbackEvent {
            note: Some("reaction:4".into()),
            ..event(4, "reaction:4:removed", S::Reaction, A::Retract, 20)
        },
        event(5, "close:5", S::Close, A::Ignore, 86_400),
        reason(
            event(6, "comment:6", S::Command, A::Reject, 600),
            "incorrect",
        ),
        triage(6, "comment:6t", "tp", 7200),
        triage(7, "comment:7t", "fp", 300),
        triage(8, "comment:8t", "tp", 60),
        event(9, "comment:9", S::Command, A::Accept, 5),
    ];
    for e in events {
        store.append_feedback_event(&e, day(28)).await.unwrap();
    }
    store.close().await;
}

/// A seeded database in a temporary directory, and its URL.
fn seeded() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("reviewbot.db").display());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(seed(&url));
    (dir, url)
}

fn stats(url: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .arg("stats")
        .args(args)
        .env_clear()
        .env("DATABASE_URL", url)
        .env("REVIEWBOT_LOG_FORMAT", "json")
        .current_dir(dir)
        .output()
        .expect("run reviewbot")
}

/// Runs `reviewbot stats` and returns its standard output, checking it succeeded quietly.
fn stdout(url: &str, args: &[&str], dir: &Path) -> String {
    let output = stats(url, args, dir);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {err}");
    assert_eq!(err, "", "{args:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn stats_print_a_table_json_and_csv_with_known_figures() {
    let (dir, url) = seeded();
    let dir = dir.path();

    assert_eq!(
        stdout(&url, &[], dir),
        // No grouping: the total alone, under a blank first header.
        concat!(
            "       posted  accepted  modified  rejected  ignored  pending  acceptance  tp  fp  precision  median to verdict\n",
            "total       8         3         1         2        1        1       66.7%   2   1      66.7%             3m 15s\n",
        )
    );
    assert_eq!(
        stdout(&url, &["--by", "kind", "--format", "table"], dir),
        "\
kind      posted  accepted  modified  rejected  ignored  pending  acceptance  tp  fp  precision  median to verdict
security       3         2         0         1        0        0       66.7%   2   1      66.7%             5m 00s
test           5         1         1         1        1        1       66.7%   0   0          -             1m 30s
total          8         3         1         2        1        1       66.7%   2   1      66.7%             3m 15s
"
    );

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&url, &["--by", "kind", "--format", "json"], dir)).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {
                "group": "security", "posted": 3, "accepted": 2, "modified": 0, "rejected": 1,
                "ignored": 0, "pending": 0, "acceptance_rate": 2.0 / 3.0,
                "true_positives": 2, "false_positives": 1, "security_precision": 2.0 / 3.0,
                "median_seconds_to_first_verdict": 300.0
            },
            {
                "group": "test", "posted": 5, "accepted": 1, "modified": 1, "rejected": 1,
                "ignored": 1, "pending": 1, "acceptance_rate": 2.0 / 3.0,
                "true_positives": 0, "false_positives": 0, "security_precision": null,
                "median_seconds_to_first_verdict": 90.0
            }
        ])
    );

    assert_eq!(
        stdout(&url, &["--by", "category", "--format", "csv"], dir),
        "\
group,posted,accepted,modified,rejected,ignored,pending,acceptance_rate,true_positives,false_positives,security_precision,median_seconds_to_first_verdict
CWE-78,1,1,0,0,0,0,1,1,0,1,600
CWE-89,2,1,0,1,0,0,0.5,1,1,0.5,180
\"integration, db\",1,0,1,0,0,0,1,0,0,,3600
unit,4,1,0,1,1,1,0.5,0,0,,60
"
    );
    // Built-in analyzers' suggestions have no prompt: `built-in`.
    assert_eq!(
        stdout(&url, &["--by", "prompt-version", "--format", "csv"], dir)
            .lines()
            .skip(1)
            .map(|line| line.split(',').take(2).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>(),
        ["built-in,2", "security/v1,1", "tests/v1,5"]
    );
}

#[test]
fn since_counts_suggestions_made_from_that_day_or_time() {
    let (dir, url) = seeded();
    let dir = dir.path();
    let only_the_last = "group,posted,accepted,modified,rejected,ignored,pending,acceptance_rate,true_positives,\
         false_positives,security_precision,median_seconds_to_first_verdict\n\
         total,1,1,0,0,0,0,1,1,0,1,60\n";
    for since in [
        "2026-11-25",
        "2026-11-25T12:00:00Z",
        "2026-11-25T13:00:00+01:00",
    ] {
        assert_eq!(
            stdout(&url, &["--since", since, "--format", "csv"], dir),
            only_the_last,
            "{since}"
        );
    }
    let none = stdout(
        &url,
        &["--since", "2026-11-25T12:00:01Z", "--by", "repo"],
        dir,
    );
    assert_eq!(none.lines().count(), 2, "a header and the total: {none}");
    assert!(
        none.lines().last().unwrap().starts_with("total  "),
        "{none}"
    );
}

#[test]
fn a_bad_since_is_one_line_and_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["yesterday", "2026-11-31", "25/11/2026"] {
        let output = stats("sqlite://unused.db", &["--since", bad], dir.path());
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("error: --since: expected YYYY-MM-DD or an RFC 3339 time, got {bad:?}\n")
        );
        assert!(output.stdout.is_empty());
    }
    assert!(
        !dir.path().join("unused.db").exists(),
        "nothing is opened before the input is checked"
    );
}

#[test]
fn a_bad_database_url_is_exit_status_2_and_an_unreachable_store_1() {
    let dir = tempfile::tempdir().unwrap();
    let output = stats("mysql://db/reviewbot", &[], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.starts_with("error: DATABASE_URL: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let output = stats(
        "postgres://bot:secret-pw@127.0.0.1:1/reviewbot",
        &[],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("postgres://bot:***@127.0.0.1:1/reviewbot"),
        "{err}"
    );
    assert!(!err.contains("secret-pw"), "{err}");
}

//! `Store::stats` on a seeded store with known answers, on both backends.
//!
//! The seed (times after each suggestion's creation; days after `t0`):
//!
//! | # | repo | kind | category | severity | made by | shown | day | events | verdict | first verdict |
//! |---|---|---|---|---|---|---|---|---|---|---|
//! | 1 | octo/a | test | unit | — | tests/v1, gpt-4o | posted review | 0 | accept command +60 s | accepted | 60 s |
//! | 2 | octo/a | test | unit | — | tests/v1, gpt-4o | posted review | 0 | 👍 +30 s, removed +40 s; closed +100 s | ignored | — |
//! | 3 | octo/a | test | integration | — | tests/v1, gpt-4o | posted review | 1 | modify command +120 s | modified | 120 s |
//! | 4 | octo/b | test | unit | — | built-in | own comment | 1 | 👎 +300 s | rejected | 300 s |
//! | 5 | octo/b | security | CWE-78 | high | security/v1, gpt-4o | posted review | 0 | reject command +10 s; triage tp +600 s | accepted (triage) | 10 s |
//! | 6 | octo/b | security | CWE-89 | critical | security/v2, gpt-5 | posted review | 1 | 👍 +50 s; triage fp +200 s | rejected (triage) | 50 s |
//! | 7 | octo/a | security | CWE-89 | high | built-in | posted review | 2 | triage needs-info +20 s | pending | — |
//! | 8 | octo/a | security | CWE-78 | high | security/v1, gpt-4o | posted review | 2 | triage tp +900 s | accepted (triage) | 900 s |
//! | 9 | octo/b | test | unit | — | tests/v1, gpt-4o | posted review | 2 | thread resolved +5000 s | accepted (weak) | — |
//! | 10 | octo/a | test | unit | — | tests/v1, gpt-4o | unposted review | 0 | accept command | not counted |
//! | 11 | octo/a | security | CWE-78 | high | built-in | no review, no comment | 0 | accept command | not counted |

use chrono::DateTime;
use chrono::Utc;

use super::{SHA_A, SHA_B, model_call, review_of, secs, t0};
use crate::model::*;
use crate::testing::TestDatabase;
use crate::{StatsBy, StatsRow, Store};

contract!(
    stats_count_only_shown_suggestions_with_their_derived_verdicts,
    stats_group_by_every_field,
    stats_since_filters_on_when_the_suggestion_was_made,
    stats_follow_retractions_and_triage_as_they_are_recorded,
    stats_of_an_empty_store,
    cached_stats_are_reused_until_they_are_too_old,
);

/// Where a seeded suggestion was shown.
#[derive(Clone, Copy)]
enum Shown {
    PostedReview,
    OwnComment,
    UnpostedReview,
    Nowhere,
}

/// How one seeded suggestion was made.
struct Seeded {
    repo: &'static str,
    kind: SuggestionKind,
    category: &'static str,
    severity: Option<&'static str>,
    /// Index into the seed's model calls; `None` for the built-in analyzers.
    call: Option<usize>,
    shown: Shown,
    day: i64,
}

const fn suggested_test(
    repo: &'static str,
    category: &'static str,
    call: Option<usize>,
    shown: Shown,
    day: i64,
) -> Seeded {
    Seeded {
        repo,
        kind: SuggestionKind::Test,
        category,
        severity: None,
        call,
        shown,
        day,
    }
}

const fn finding(
    repo: &'static str,
    cwe: &'static str,
    severity: &'static str,
    call: Option<usize>,
    shown: Shown,
    day: i64,
) -> Seeded {
    Seeded {
        repo,
        kind: SuggestionKind::Security,
        category: cwe,
        severity: Some(severity),
        call,
        shown,
        day,
    }
}

/// The model calls: tests/v1 on gpt-4o, security/v1 on gpt-4o, security/v2 on gpt-5.
const CALLS: [(&str, &str, &str); 3] = [
    ("tests", "v1", "gpt-4o"),
    ("security", "v1", "gpt-4o"),
    ("security", "v2", "gpt-5"),
];

/// The suggestions of the table above, in order (ids 1 to 11).
const SEED: [Seeded; 11] = [
    suggested_test("octo/a", "unit", Some(0), Shown::PostedReview, 0),
    suggested_test("octo/a", "unit", Some(0), Shown::PostedReview, 0),
    suggested_test("octo/a", "integration", Some(0), Shown::PostedReview, 1),
    suggested_test("octo/b", "unit", None, Shown::OwnComment, 1),
    finding("octo/b", "CWE-78", "high", Some(1), Shown::PostedReview, 0),
    finding(
        "octo/b",
        "CWE-89",
        "critical",
        Some(2),
        Shown::PostedReview,
        1,
    ),
    finding("octo/a", "CWE-89", "high", None, Shown::PostedReview, 2),
    finding("octo/a", "CWE-78", "high", Some(1), Shown::PostedReview, 2),
    suggested_test("octo/b", "unit", Some(0), Shown::PostedReview, 2),
    suggested_test("octo/a", "unit", Some(0), Shown::UnpostedReview, 0),
    finding("octo/a", "CWE-78", "high", None, Shown::Nowhere, 0),
];

fn day(n: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::days(n)
}

/// An event on seeded suggestion `n`, `after` seconds after it was made.
fn event(
    n: usize,
    github_id: &str,
    source: FeedbackSource,
    action: FeedbackAction,
    after: i64,
) -> NewFeedbackEvent {
    NewFeedbackEvent {
        suggestion_id: SuggestionId(0),
        github_id: github_id.into(),
        source,
        action,
        actor: "mona".into(),
        role: FeedbackRole::Author,
        reason: None,
        note: None,
        human_text: None,
        occurred_at: day(SEED[n - 1].day) + secs(after),
    }
}

fn with_reason(e: NewFeedbackEvent, reason: &str) -> NewFeedbackEvent {
    NewFeedbackEvent {
        reason: Some(reason.into()),
        ..e
    }
}

fn triage(n: usize, github_id: &str, state: &str, after: i64) -> NewFeedbackEvent {
    NewFeedbackEvent {
        actor: "sec".into(),
        role: FeedbackRole::SecurityReviewer,
        ..with_reason(
            event(
                n,
                github_id,
                FeedbackSource::Command,
                FeedbackAction::Triage,
                after,
            ),
            state,
        )
    }
}

fn retract(n: usize, github_id: &str, target: &str, after: i64) -> NewFeedbackEvent {
    NewFeedbackEvent {
        note: Some(target.into()),
        role: FeedbackRole::System,
        ..event(
            n,
            github_id,
            FeedbackSource::Reaction,
            FeedbackAction::Retract,
            after,
        )
    }
}

/// Seeds the table's suggestions and events; returns the suggestions' ids in order.
async fn seed(store: &Store) -> Vec<SuggestionId> {
    use FeedbackAction as A;
    use FeedbackSource as S;

    let mut calls = Vec::new();
    for (prompt_id, prompt_version, model) in CALLS {
        let call = NewModelCall {
            prompt_id: prompt_id.into(),
            prompt_version: prompt_version.into(),
            model: model.into(),
            ..model_call()
        };
        calls.push(store.insert_model_call(&call).await.unwrap());
    }
    let review = |head: &str, github_review_id: Option<i64>| NewReview {
        github_review_id,
        ..review_of(head)
    };
    let Inserted::New(posted) = store
        .insert_review(&review(SHA_A, Some(7000)))
        .await
        .unwrap()
    else {
        panic!("a new review")
    };
    let Inserted::New(unposted) = store.insert_review(&review(SHA_B, None)).await.unwrap() else {
        panic!("a new review")
    };
    let mut ids = Vec::new();
    for (n, s) in SEED.iter().enumerate() {
        let suggestion = NewSuggestion {
            model_call_id: s.call.map(|c| calls[c]),
            review_id: match s.shown {
                Shown::PostedReview => Some(posted),
                Shown::UnpostedReview => Some(unposted),
                Shown::OwnComment | Shown::Nowhere => None,
            },
            repo: s.repo.into(),
            pr: 12,
            head_sha: SHA_A.into(),
            kind: s.kind,
            source: if s.call.is_some() {
                SuggestionSource::Model
            } else {
                SuggestionSource::Analyzer
            },
            category: s.category.into(),
            path: "src/lib.rs".into(),
            line: Some(3),
            anchor: Anchor::Line,
            severity: s.severity.map(Into::into),
            confidence: Some(0.9),
            cwe: (s.kind == SuggestionKind::Security).then(|| s.category.into()),
            fingerprint: format!("fp-{n}"),
            title: "T".into(),
            body: "B".into(),
            original: "{}".into(),
            created_at: day(s.day),
        };
        let Inserted::New(id) = store.insert_suggestion(&suggestion).await.unwrap() else {
            panic!("a new suggestion")
        };
        if let Shown::OwnComment = s.shown {
            store
                .set_suggestion_comment(id, 5000 + n as i64)
                .await
                .unwrap();
        }
        ids.push(id);
    }
    let events = [
        (1, event(1, "comment:1", S::Command, A::Accept, 60)),
        (2, event(2, "reaction:2", S::Reaction, A::Accept, 30)),
        (2, retract(2, "reaction:2:removed", "reaction:2", 40)),
        (
            2,
            NewFeedbackEvent {
                role: FeedbackRole::System,
                ..event(2, "close:2", S::Close, A::Ignore, 100)
            },
        ),
        (
            3,
            NewFeedbackEvent {
                human_text: Some("assert_eq!(parse(\"\"), None);".into()),
                role: FeedbackRole::Writer,
                ..event(3, "comment:3", S::Command, A::Modify, 120)
            },
        ),
        (4, event(4, "reaction:4", S::Reaction, A::Reject, 300)),
        (
            5,
            with_reason(
                event(5, "comment:5", S::Command, A::Reject, 10),
                "incorrect",
            ),
        ),
        (5, triage(5, "comment:5t", "tp", 600)),
        (6, event(6, "reaction:6", S::Reaction, A::Accept, 50)),
        (6, triage(6, "comment:6t", "fp", 200)),
        (7, triage(7, "comment:7t", "needs-info", 20)),
        (8, triage(8, "comment:8t", "tp", 900)),
        (9, event(9, "thread:9", S::Thread, A::Resolve, 5000)),
        (10, event(10, "comment:10", S::Command, A::Accept, 5)),
        (11, event(11, "comment:11", S::Command, A::Accept, 5)),
    ];
    for (n, e) in events {
        let e = NewFeedbackEvent {
            suggestion_id: ids[n - 1],
            ..e
        };
        assert!(matches!(
            store.append_feedback_event(&e, t0()).await.unwrap(),
            Inserted::New(_)
        ));
    }
    ids
}

/// A row: `[posted, accepted, modified, rejected, ignored, pending]`, the acceptance rate,
/// `[tp, fp]`, the precision and the median seconds to the first verdict.
fn row(
    group: &str,
    counts: [u64; 6],
    acceptance_rate: Option<f64>,
    [true_positives, false_positives]: [u64; 2],
    security_precision: Option<f64>,
    median: Option<f64>,
) -> StatsRow {
    let [posted, accepted, modified, rejected, ignored, pending] = counts;
    StatsRow {
        group: group.into(),
        posted,
        accepted,
        modified,
        rejected,
        ignored,
        pending,
        acceptance_rate,
        true_positives,
        false_positives,
        security_precision,
        median_seconds_to_first_verdict: median,
    }
}

fn total_row() -> StatsRow {
    // 9 shown: accepted #1 #5 #8 #9, modified #3, rejected #4 #6, ignored #2, pending #7.
    // First verdicts 10, 50, 60, 120, 300, 900 s: median (60 + 120) / 2.
    row(
        "total",
        [9, 4, 1, 2, 1, 1],
        Some(5.0 / 7.0),
        [2, 1],
        Some(2.0 / 3.0),
        Some(90.0),
    )
}

/// The rows of test suggestions (#1 #2 #3 #4 #9) under any grouping that puts them together.
fn tests_row(group: &str) -> StatsRow {
    row(
        group,
        [5, 2, 1, 1, 1, 0],
        Some(0.75),
        [0, 0],
        None,
        Some(120.0),
    )
}

async fn stats_count_only_shown_suggestions_with_their_derived_verdicts(store: Store) {
    seed(&store).await;
    assert_eq!(
        store.stats(StatsBy::Total, None).await.unwrap(),
        [total_row()]
    );
    let report = store.stats_report(StatsBy::Kind, None).await.unwrap();
    assert_eq!(report.by, StatsBy::Kind);
    assert_eq!(report.total, total_row(), "the total is over every group");
    assert_eq!(
        report.rows,
        [
            // #5 #8 accepted by triage, #6 rejected by triage, #7 pending (needs-info).
            row(
                "security",
                [4, 2, 0, 1, 0, 1],
                Some(2.0 / 3.0),
                [2, 1],
                Some(2.0 / 3.0),
                Some(50.0)
            ),
            tests_row("test"),
        ]
    );
}

async fn stats_group_by_every_field(store: Store) {
    seed(&store).await;
    let cwe78 = |group: &str| {
        row(
            group,
            [2, 2, 0, 0, 0, 0],
            Some(1.0),
            [2, 0],
            Some(1.0),
            Some(455.0),
        )
    };
    let cwe89 = row(
        "CWE-89",
        [2, 0, 0, 1, 0, 1],
        Some(0.0),
        [0, 1],
        Some(0.0),
        Some(50.0),
    );
    let gpt5 = |group: &str| {
        row(
            group,
            [1, 0, 0, 1, 0, 0],
            Some(0.0),
            [0, 1],
            Some(0.0),
            Some(50.0),
        )
    };
    // #4 (rejected, 300 s) and #7 (pending, needs-info).
    let built_in = row(
        "built-in",
        [2, 0, 0, 1, 0, 1],
        Some(0.0),
        [0, 0],
        None,
        Some(300.0),
    );
    let expected = [
        (
            StatsBy::Category,
            vec![
                cwe78("CWE-78"),
                cwe89.clone(),
                row(
                    "integration",
                    [1, 0, 1, 0, 0, 0],
                    Some(1.0),
                    [0, 0],
                    None,
                    Some(120.0),
                ),
                row(
                    "unit",
                    [4, 2, 0, 1, 1, 0],
                    Some(2.0 / 3.0),
                    [0, 0],
                    None,
                    Some(180.0),
                ),
            ],
        ),
        (
            StatsBy::Cwe,
            vec![tests_row("(none)"), cwe78("CWE-78"), cwe89],
        ),
        (
            StatsBy::Severity,
            vec![
                tests_row("(none)"),
                gpt5("critical"),
                row(
                    "high",
                    [3, 2, 0, 0, 0, 1],
                    Some(1.0),
                    [2, 0],
                    Some(1.0),
                    Some(455.0),
                ),
            ],
        ),
        (
            StatsBy::Repo,
            vec![
                row(
                    "octo/a",
                    [5, 2, 1, 0, 1, 1],
                    Some(1.0),
                    [1, 0],
                    Some(1.0),
                    Some(120.0),
                ),
                row(
                    "octo/b",
                    [4, 2, 0, 2, 0, 0],
                    Some(0.5),
                    [1, 1],
                    Some(0.5),
                    Some(50.0),
                ),
            ],
        ),
        (
            StatsBy::PromptVersion,
            vec![
                built_in.clone(),
                cwe78("security/v1"),
                gpt5("security/v2"),
                row(
                    "tests/v1",
                    [4, 2, 1, 0, 1, 0],
                    Some(1.0),
                    [0, 0],
                    None,
                    Some(90.0),
                ),
            ],
        ),
        (
            StatsBy::Model,
            vec![
                built_in,
                row(
                    "gpt-4o",
                    [6, 4, 1, 0, 1, 0],
                    Some(1.0),
                    [2, 0],
                    Some(1.0),
                    Some(90.0),
                ),
                gpt5("gpt-5"),
            ],
        ),
    ];
    for (by, rows) in expected {
        let report = store.stats_report(by, None).await.unwrap();
        assert_eq!(report.rows, rows, "--by {by}");
        assert_eq!(report.total, total_row(), "--by {by}");
        assert_eq!(store.stats(by, None).await.unwrap(), rows, "--by {by}");
    }
}

async fn stats_since_filters_on_when_the_suggestion_was_made(store: Store) {
    seed(&store).await;
    // Days 1 and 2: #3 #4 #6 #7 #8 #9. First verdicts 50, 120, 300, 900 s.
    let since_day_1 = row(
        "total",
        [6, 2, 1, 2, 0, 1],
        Some(0.6),
        [1, 1],
        Some(0.5),
        Some(210.0),
    );
    assert_eq!(
        store.stats(StatsBy::Total, Some(day(1))).await.unwrap(),
        [since_day_1]
    );
    // The bound is inclusive, to the microsecond.
    let after = day(2) + chrono::Duration::microseconds(1);
    assert_eq!(
        store.stats(StatsBy::Kind, Some(day(2))).await.unwrap(),
        [
            row(
                "security",
                [2, 1, 0, 0, 0, 1],
                Some(1.0),
                [1, 0],
                Some(1.0),
                Some(900.0)
            ),
            row("test", [1, 1, 0, 0, 0, 0], Some(1.0), [0, 0], None, None),
        ]
    );
    assert_eq!(store.stats(StatsBy::Kind, Some(after)).await.unwrap(), []);
}

async fn stats_follow_retractions_and_triage_as_they_are_recorded(store: Store) {
    use FeedbackAction as A;
    use FeedbackSource as S;

    let ids = seed(&store).await;
    let kind_row =
        |rows: Vec<StatsRow>, kind: &str| rows.into_iter().find(|r| r.group == kind).unwrap();
    let append = |e: NewFeedbackEvent| {
        let store = store.clone();
        async move { store.append_feedback_event(&e, t0()).await.unwrap() }
    };

    // A 👍 on #7 (pending): accepted; the security reviewer's needs-info does not override.
    append(NewFeedbackEvent {
        suggestion_id: ids[6],
        ..event(7, "reaction:7", S::Reaction, A::Accept, 30)
    })
    .await;
    let security = kind_row(store.stats(StatsBy::Kind, None).await.unwrap(), "security");
    assert_eq!(
        security,
        row(
            "security",
            [4, 3, 0, 1, 0, 0],
            Some(0.75),
            [2, 1],
            Some(2.0 / 3.0),
            Some(40.0)
        )
    );

    // The 👍 removed again: pending as before, and it never was a first verdict.
    append(NewFeedbackEvent {
        suggestion_id: ids[6],
        ..retract(7, "reaction:7:removed", "reaction:7", 35)
    })
    .await;
    let security = kind_row(store.stats(StatsBy::Kind, None).await.unwrap(), "security");
    assert_eq!(
        security,
        row(
            "security",
            [4, 2, 0, 1, 0, 1],
            Some(2.0 / 3.0),
            [2, 1],
            Some(2.0 / 3.0),
            Some(50.0)
        )
    );

    // A later triage of #6 as tp overrides the earlier fp.
    append(NewFeedbackEvent {
        suggestion_id: ids[5],
        ..triage(6, "comment:6t2", "tp", 400)
    })
    .await;
    let security = kind_row(store.stats(StatsBy::Kind, None).await.unwrap(), "security");
    assert_eq!(
        security,
        row(
            "security",
            [4, 3, 0, 0, 0, 1],
            Some(1.0),
            [3, 0],
            Some(1.0),
            Some(50.0)
        )
    );

    // A redelivered event changes nothing.
    assert_eq!(
        append(NewFeedbackEvent {
            suggestion_id: ids[5],
            ..triage(6, "comment:6t2", "fp", 500)
        })
        .await,
        Inserted::Duplicate
    );
    let again = kind_row(store.stats(StatsBy::Kind, None).await.unwrap(), "security");
    assert_eq!(again, security);
}

async fn stats_of_an_empty_store(store: Store) {
    assert_eq!(
        store.stats(StatsBy::Total, None).await.unwrap(),
        [row("total", [0; 6], None, [0, 0], None, None)]
    );
    for by in StatsBy::ALL.into_iter().filter(|by| *by != StatsBy::Total) {
        assert_eq!(store.stats(by, None).await.unwrap(), [], "--by {by}");
    }
}

async fn cached_stats_are_reused_until_they_are_too_old(store: Store) {
    use std::time::{Duration, Instant};

    let ids = seed(&store).await;
    let max_age = Duration::from_secs(60);
    let start = Instant::now();
    let first = store
        .cached_stats(StatsBy::Kind, max_age, start)
        .await
        .unwrap();
    assert_eq!(first.total, total_row());
    store
        .append_feedback_event(
            &NewFeedbackEvent {
                suggestion_id: ids[6],
                ..event(
                    7,
                    "reaction:7",
                    FeedbackSource::Reaction,
                    FeedbackAction::Accept,
                    30,
                )
            },
            t0(),
        )
        .await
        .unwrap();
    let clone = store.clone();
    let cached = clone
        .cached_stats(StatsBy::Kind, max_age, start + Duration::from_secs(59))
        .await
        .unwrap();
    assert_eq!(
        cached, first,
        "within max_age (and shared by clones): not read again"
    );
    let fresh = store
        .cached_stats(StatsBy::Kind, max_age, start + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(fresh.total.accepted, first.total.accepted + 1);
    assert_eq!(fresh.total.pending, first.total.pending - 1);
    let other = store
        .cached_stats(StatsBy::Repo, max_age, start)
        .await
        .unwrap();
    assert_eq!(other.by, StatsBy::Repo, "cached per grouping");
}

//! One contract suite, run against SQLite always and against Postgres whenever one is
//! available (required in CI): both backends must behave identically.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use crate::Store;
use crate::model::*;
use crate::testing::TestDatabase;

/// Generates `<name>::sqlite` and `<name>::postgres` tests from one `async fn(Store)`.
macro_rules! contract {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = super::TestDatabase::sqlite();
                super::$name(db.store().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(db) = super::TestDatabase::postgres().await else { return };
                let store = db.store().await;
                super::$name(store.clone()).await;
                store.close().await;
            }
        })+
    };
}

contract!(
    delivery_is_recorded_once_and_duplicates_change_nothing,
    delivery_without_jobs_is_recorded_as_ignored,
    concurrent_redeliveries_are_recorded_exactly_once,
    claim_takes_runnable_jobs_in_order_and_only_requested_kinds,
    claim_is_exclusive_under_concurrency,
    completion_requires_holding_the_lease,
    failures_retry_with_backoff_then_dead_letter_keeps_the_error,
    expired_lease_is_claimed_again_and_old_worker_loses_it,
    job_whose_worker_died_every_attempt_becomes_dead,
    released_job_runs_again_without_losing_an_attempt,
    newer_job_supersedes_queued_older_one_with_same_key,
    queue_depth_counts_by_state,
    installations_and_their_repositories_are_kept_current,
    model_call_round_trips_byte_for_byte,
    suggestions_are_unique_per_pr_fingerprint,
    a_review_is_recorded_once_per_head_and_analysis,
    feedback_events_are_append_only_and_idempotent_by_github_id,
    migrating_twice_is_a_no_op,
    prepare_review_records_the_review_and_renders_bodies_with_real_ids,
    preparing_a_posted_review_again_changes_nothing,
    an_unposted_review_is_reused_and_its_unshown_suggestions_replaced,
    an_abandoned_suggestion_of_another_unposted_review_is_taken_over,
    fingerprints_already_shown_are_duplicates,
    finish_review_records_comment_ids_and_anchors,
    posted_fingerprints_lists_only_what_was_shown,
    last_reviewed_head_is_the_latest_posted_review,
    a_new_round_reviews_the_same_head_again,
    pausing_a_pull_request_is_an_upsert,
    concurrent_preparations_of_one_review_agree,
    shown_suggestions_are_found_by_fingerprint_and_comment,
    check_run_facts_are_kept_per_head_and_the_latest_is_found,
    reaction_polls_keep_their_etag,
    open_pull_requests_with_recent_comments_are_polled,
    recent_feedback_by_category_and_kind_newest_first_and_unmutes,
);

/// Generates `<name>::sqlite` and `<name>::postgres` tests from one `async fn(Store)` given a
/// store that is connected but not migrated.
macro_rules! unmigrated {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = super::TestDatabase::sqlite();
                let store = super::Store::connect(db.url()).await.unwrap();
                super::$name(store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(db) = super::TestDatabase::postgres().await else { return };
                let store = super::Store::connect(db.url()).await.unwrap();
                super::$name(store.clone()).await;
                store.close().await;
            }
        })+
    };
}

unmigrated!(review_rounds_migration_keeps_existing_reviews_and_suggestions);

/// Stats and verdicts over a seeded store.
mod stats;

/// Fine-tuning exports over a seeded store.
mod export;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

const LEASE: Duration = Duration::from_secs(60);

fn job(kind: &str, payload: &str) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: payload.into(),
        supersede_key: None,
        max_attempts: 3,
        run_at: t0(),
    }
}

fn delivery(id: &str) -> NewDelivery {
    NewDelivery {
        delivery_id: id.into(),
        event: "pull_request".into(),
        action: Some("opened".into()),
        installation_id: Some(42),
        repo: Some("octo/repo".into()),
        received_at: t0(),
    }
}

async fn delivery_is_recorded_once_and_duplicates_change_nothing(store: Store) {
    let jobs = [job("review", r#"{"pr":1}"#), job("sync", r#"{"x":2}"#)];
    let first = store
        .record_delivery(&delivery("d-1"), &jobs)
        .await
        .unwrap();
    let RecordedDelivery::Accepted { job_ids } = first else {
        panic!("{first:?}")
    };
    assert_eq!(job_ids.len(), 2);
    assert!(store.delivery_exists("d-1").await.unwrap());

    let again = store
        .record_delivery(&delivery("d-1"), &jobs)
        .await
        .unwrap();
    assert_eq!(again, RecordedDelivery::Duplicate);

    let all = store.list_jobs(None).await.unwrap();
    assert_eq!(all.len(), 2, "a duplicate delivery must not enqueue again");
    for (record, id) in all.iter().zip(&job_ids) {
        assert_eq!(record.id, *id);
        assert_eq!(record.delivery_id.as_deref(), Some("d-1"));
        assert_eq!(record.state, JobState::Queued);
        assert_eq!(record.attempts, 0);
    }
    assert_eq!(all[0].payload, r#"{"pr":1}"#);
}

async fn delivery_without_jobs_is_recorded_as_ignored(store: Store) {
    let recorded = store
        .record_delivery(&delivery("d-ignored"), &[])
        .await
        .unwrap();
    assert_eq!(recorded, RecordedDelivery::Accepted { job_ids: vec![] });
    assert!(store.delivery_exists("d-ignored").await.unwrap());
    assert!(!store.delivery_exists("d-other").await.unwrap());
    assert_eq!(
        store
            .record_delivery(&delivery("d-ignored"), &[])
            .await
            .unwrap(),
        RecordedDelivery::Duplicate
    );
}

async fn concurrent_redeliveries_are_recorded_exactly_once(store: Store) {
    // Many deliveries at once (SQLite groups them into shared transactions), each id twice.
    let mut tasks = Vec::new();
    for n in 0..60 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let jobs = [job("review", &format!("{}", n % 30))];
            store
                .record_delivery(&delivery(&format!("d-{}", n % 30)), &jobs)
                .await
                .unwrap()
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            RecordedDelivery::Accepted { job_ids } => {
                assert_eq!(job_ids.len(), 1);
                accepted += 1;
            }
            RecordedDelivery::Duplicate => {}
        }
    }
    assert_eq!(accepted, 30);
    assert_eq!(store.list_jobs(None).await.unwrap().len(), 30);
}

async fn claim_takes_runnable_jobs_in_order_and_only_requested_kinds(store: Store) {
    let later = NewJob {
        run_at: t0() + secs(30),
        ..job("review", "later")
    };
    let a = store.enqueue_job(&job("review", "a"), t0()).await.unwrap();
    let other = store.enqueue_job(&job("other", "o"), t0()).await.unwrap();
    let b = store.enqueue_job(&job("review", "b"), t0()).await.unwrap();
    let l = store.enqueue_job(&later, t0()).await.unwrap();

    let kinds = ["review"];
    let first = store
        .claim_next_job("w1", &kinds, t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.id, first.payload.as_str(), first.attempt),
        (a, "a", 1)
    );
    let second = store
        .claim_next_job("w1", &kinds, t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.id, b);
    assert!(
        store
            .claim_next_job("w1", &kinds, t0(), LEASE)
            .await
            .unwrap()
            .is_none(),
        "not yet due"
    );
    let due = store
        .claim_next_job("w1", &kinds, t0() + secs(30), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(due.id, l);
    let o = store
        .claim_next_job("w1", &["other"], t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.id, other);
    let running = store.get_job(a).await.unwrap();
    assert_eq!(running.state, JobState::Running);
    assert_eq!(running.lease_owner.as_deref(), Some("w1"));
    assert_eq!(running.lease_expires_at, Some(t0() + secs(60)));
}

async fn claim_is_exclusive_under_concurrency(store: Store) {
    for i in 0..40 {
        store
            .enqueue_job(&job("review", &i.to_string()), t0())
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut mine = Vec::new();
            while let Some(j) = store
                .claim_next_job(&worker, &["review"], t0(), LEASE)
                .await
                .unwrap()
            {
                assert!(store.complete_job(j.id, &worker, t0()).await.unwrap());
                mine.push(j.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(all.len(), 40, "every job claimed exactly once");
    assert_eq!(unique.len(), 40);
    assert_eq!(
        store.list_jobs(Some(JobState::Done)).await.unwrap().len(),
        40
    );
}

async fn completion_requires_holding_the_lease(store: Store) {
    let id = store.enqueue_job(&job("review", "x"), t0()).await.unwrap();
    assert!(
        !store.complete_job(id, "w1", t0()).await.unwrap(),
        "not claimed yet"
    );
    store
        .claim_next_job("w1", &["review"], t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(!store.complete_job(id, "intruder", t0()).await.unwrap());
    assert!(
        store
            .extend_lease(id, "w1", t0() + secs(50), LEASE)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_job(id).await.unwrap().lease_expires_at,
        Some(t0() + secs(110))
    );
    assert!(store.complete_job(id, "w1", t0() + secs(55)).await.unwrap());
    let done = store.get_job(id).await.unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.finished_at, Some(t0() + secs(55)));
    assert_eq!(done.lease_owner, None);
    assert!(
        !store.complete_job(id, "w1", t0()).await.unwrap(),
        "already done"
    );
    assert!(!store.extend_lease(id, "w1", t0(), LEASE).await.unwrap());
}

async fn failures_retry_with_backoff_then_dead_letter_keeps_the_error(store: Store) {
    let id = store.enqueue_job(&job("review", "x"), t0()).await.unwrap();
    let mut now = t0();
    for attempt in 1..=3 {
        let claimed = store
            .claim_next_job("w", &["review"], now, LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.attempt, attempt);
        let retry_at = now + secs(10 * attempt as i64);
        let outcome = store
            .fail_job(id, "w", &format!("boom {attempt}"), Some(retry_at), now)
            .await
            .unwrap();
        if attempt < 3 {
            assert_eq!(outcome, FailedJob::Retrying { run_at: retry_at });
            assert!(
                store
                    .claim_next_job("w", &["review"], retry_at - secs(1), LEASE)
                    .await
                    .unwrap()
                    .is_none(),
                "a retry waits for its backoff"
            );
            now = retry_at;
        } else {
            assert_eq!(outcome, FailedJob::Dead);
        }
    }
    let dead = store.get_job(id).await.unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.last_error.as_deref(), Some("boom 3"));
    assert!(dead.finished_at.is_some());
    assert!(
        store
            .claim_next_job("w", &["review"], now + secs(3600), LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .fail_job(id, "w", "late", Some(now), now)
            .await
            .unwrap(),
        FailedJob::LeaseLost
    );

    // A failure that retrying cannot fix is a dead letter at once, attempts left or not.
    let hopeless = store.enqueue_job(&job("review", "y"), now).await.unwrap();
    store
        .claim_next_job("w", &["review"], now, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .fail_job(hopeless, "w", "bad payload", None, now)
            .await
            .unwrap(),
        FailedJob::Dead
    );
    let dead = store.get_job(hopeless).await.unwrap();
    assert_eq!(
        (dead.state, dead.attempts, dead.last_error.as_deref()),
        (JobState::Dead, 1, Some("bad payload"))
    );
}

async fn expired_lease_is_claimed_again_and_old_worker_loses_it(store: Store) {
    let id = store.enqueue_job(&job("review", "x"), t0()).await.unwrap();
    store
        .claim_next_job("dead-worker", &["review"], t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .claim_next_job("w2", &["review"], t0() + secs(59), LEASE)
            .await
            .unwrap()
            .is_none(),
        "the lease still holds"
    );
    let again = store
        .claim_next_job("w2", &["review"], t0() + secs(61), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempt), (id, 2));
    assert!(
        !store
            .complete_job(id, "dead-worker", t0() + secs(62))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .fail_job(id, "dead-worker", "late", Some(t0()), t0() + secs(62))
            .await
            .unwrap(),
        FailedJob::LeaseLost
    );
    assert!(store.complete_job(id, "w2", t0() + secs(63)).await.unwrap());
}

async fn job_whose_worker_died_every_attempt_becomes_dead(store: Store) {
    let id = store
        .enqueue_job(&job("review", "poison"), t0())
        .await
        .unwrap();
    let mut now = t0();
    for attempt in 1..=3 {
        let claimed = store
            .claim_next_job(&format!("w{attempt}"), &["review"], now, LEASE)
            .await
            .unwrap();
        assert_eq!(claimed.map(|c| c.attempt), Some(attempt));
        now += secs(61);
    }
    assert!(
        store
            .claim_next_job("w4", &["review"], now, LEASE)
            .await
            .unwrap()
            .is_none()
    );
    let dead = store.get_job(id).await.unwrap();
    assert_eq!(dead.state, JobState::Dead);
    let error = dead.last_error.unwrap();
    assert!(error.contains("lease expired on attempt 3 of 3"), "{error}");
}

async fn released_job_runs_again_without_losing_an_attempt(store: Store) {
    let id = store.enqueue_job(&job("review", "x"), t0()).await.unwrap();
    store
        .claim_next_job("w1", &["review"], t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(store.release_job(id, "w1", t0() + secs(1)).await.unwrap());
    let released = store.get_job(id).await.unwrap();
    assert_eq!((released.state, released.attempts), (JobState::Queued, 0));
    let again = store
        .claim_next_job("w2", &["review"], t0() + secs(1), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempt, 1);
    assert!(
        !store.release_job(id, "w1", t0()).await.unwrap(),
        "w1 no longer holds it"
    );
}

async fn newer_job_supersedes_queued_older_one_with_same_key(store: Store) {
    let keyed = |payload: &str, key: &str| NewJob {
        supersede_key: Some(key.into()),
        ..job("review", payload)
    };
    let old = store
        .enqueue_job(&keyed("head-1", "review:octo/repo#1"), t0())
        .await
        .unwrap();
    let other_pr = store
        .enqueue_job(&keyed("head-x", "review:octo/repo#2"), t0())
        .await
        .unwrap();
    let running = store
        .enqueue_job(&keyed("head-0", "review:octo/repo#3"), t0())
        .await
        .unwrap();
    let claimed = store
        .claim_next_job("w", &["review"], t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, old);
    // The claimed job is running: a newer one must not supersede it, only queue behind it.
    let newer_running = store
        .enqueue_job(&keyed("head-2", "review:octo/repo#1"), t0())
        .await
        .unwrap();
    let newest = store
        .enqueue_job(&keyed("head-3", "review:octo/repo#1"), t0())
        .await
        .unwrap();

    assert_eq!(store.get_job(old).await.unwrap().state, JobState::Running);
    let superseded = store.get_job(newer_running).await.unwrap();
    assert_eq!(superseded.state, JobState::Superseded);
    assert_eq!(superseded.superseded_by, Some(newest));
    assert!(superseded.finished_at.is_some());
    assert_eq!(store.get_job(newest).await.unwrap().state, JobState::Queued);
    assert_eq!(
        store.get_job(other_pr).await.unwrap().state,
        JobState::Queued
    );
    assert_eq!(
        store.get_job(running).await.unwrap().state,
        JobState::Queued
    );

    // Deliveries supersede too, inside their transaction.
    let via_delivery = [keyed("head-4", "review:octo/repo#1")];
    let RecordedDelivery::Accepted { job_ids } = store
        .record_delivery(&delivery("d-push"), &via_delivery)
        .await
        .unwrap()
    else {
        panic!("expected a fresh delivery")
    };
    assert_eq!(
        store.get_job(newest).await.unwrap().superseded_by,
        Some(job_ids[0])
    );
}

async fn queue_depth_counts_by_state(store: Store) {
    assert_eq!(store.queue_depth().await.unwrap(), QueueDepth::default());
    let one_try = NewJob {
        max_attempts: 1,
        ..job("review", "x")
    };
    let dead = store.enqueue_job(&one_try, t0()).await.unwrap();
    store
        .claim_next_job("w", &["review"], t0(), LEASE)
        .await
        .unwrap();
    store
        .fail_job(dead, "w", "nope", Some(t0()), t0())
        .await
        .unwrap();
    store
        .enqueue_job(&job("review", "running"), t0())
        .await
        .unwrap();
    store
        .claim_next_job("w", &["review"], t0(), LEASE)
        .await
        .unwrap();
    store
        .enqueue_job(&job("review", "queued"), t0())
        .await
        .unwrap();
    store
        .enqueue_job(&job("review", "queued"), t0())
        .await
        .unwrap();
    assert_eq!(
        store.queue_depth().await.unwrap(),
        QueueDepth {
            queued: 2,
            running: 1,
            dead: 1
        }
    );
}

async fn installations_and_their_repositories_are_kept_current(store: Store) {
    let installation = Installation {
        id: 7,
        account_login: "octo-org".into(),
        account_type: "Organization".into(),
        repository_selection: "selected".into(),
        suspended: false,
    };
    store
        .upsert_installation(&installation, t0())
        .await
        .unwrap();
    let repo = |id: i64, name: &str| InstallationRepository {
        repo_id: id,
        full_name: name.into(),
    };
    store
        .update_installation_repositories(
            7,
            &[repo(1, "octo-org/a"), repo(2, "octo-org/b")],
            &[],
            t0(),
        )
        .await
        .unwrap();
    store
        .update_installation_repositories(7, &[repo(3, "octo-org/c")], &[1], t0())
        .await
        .unwrap();
    assert_eq!(
        store.list_installation_repositories(7).await.unwrap(),
        vec![repo(2, "octo-org/b"), repo(3, "octo-org/c")]
    );
    let suspended = Installation {
        suspended: true,
        ..installation.clone()
    };
    store.upsert_installation(&suspended, t0()).await.unwrap();
    assert_eq!(store.get_installation(7).await.unwrap(), Some(suspended));
    store.delete_installation(7, t0()).await.unwrap();
    assert_eq!(store.get_installation(7).await.unwrap(), None);
    assert!(
        store
            .list_installation_repositories(7)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .upsert_installation(&installation, t0())
        .await
        .unwrap();
    assert_eq!(store.get_installation(7).await.unwrap(), Some(installation));
}

fn model_call() -> NewModelCall {
    NewModelCall {
        installation_id: Some(7),
        repo: "octo/repo".into(),
        pr: Some(12),
        head_sha: Some("a".repeat(40)),
        job_id: None,
        analysis: "tests".into(),
        prompt_id: "tests".into(),
        prompt_version: "v1".into(),
        provider: "azure".into(),
        model: "gpt-4o-2024-08-06".into(),
        deployment: Some("review".into()),
        // Key order, spacing, escapes and non-ASCII must survive exactly.
        messages: "[{\"role\":\"system\", \"content\":\"Be brief.\"},\n {\"content\":\"é \\u00e9 \\\"q\\\" 🦀\",\"role\":\"user\"}]".into(),
        response_format: Some(r#"{"type":"json_schema","json_schema":{"strict":true}}"#.into()),
        raw_answer: Some("{\"suggestions\": [] }  ".into()),
        finish_reason: Some("stop".into()),
        status: ModelCallStatus::Ok,
        error: None,
        tokens_in: Some(1234),
        tokens_out: Some(56),
        message_tokens: Some(321),
        answer_tokens: Some(AnswerTokens(vec![[12, 11], [7, 6]])),
        messages_scan: Some("0123456789abcdef0123456789abcdef".into()),
        latency_ms: 789,
        attempt: 1,
        created_at: t0() + chrono::Duration::microseconds(123_456),
    }
}

async fn model_call_round_trips_byte_for_byte(store: Store) {
    let call = model_call();
    let id = store.insert_model_call(&call).await.unwrap();
    let back = store.get_model_call(id).await.unwrap();
    assert_eq!(back.call, call);
    assert!(matches!(
        store.get_model_call(ModelCallId(id.0 + 1000)).await,
        Err(crate::StoreError::NotFound(_))
    ));
}

fn suggestion(call: ModelCallId, fingerprint: &str) -> NewSuggestion {
    NewSuggestion {
        model_call_id: Some(call),
        review_id: None,
        repo: "octo/repo".into(),
        pr: 12,
        head_sha: "a".repeat(40),
        kind: SuggestionKind::Security,
        source: SuggestionSource::Model,
        category: "CWE-78".into(),
        path: "src/run.py".into(),
        line: Some(41),
        anchor: Anchor::Line,
        severity: Some("high".into()),
        confidence: Some(0.875),
        cwe: Some("CWE-78".into()),
        fingerprint: fingerprint.into(),
        title: "Shell command built from input".into(),
        body: "Use a list of arguments.".into(),
        original: r#"{"title":"Shell command built from input"}"#.into(),
        created_at: t0(),
    }
}

async fn suggestions_are_unique_per_pr_fingerprint(store: Store) {
    let call = store.insert_model_call(&model_call()).await.unwrap();
    let Inserted::New(id) = store
        .insert_suggestion(&suggestion(call, "fp-1"))
        .await
        .unwrap()
    else {
        panic!("first insert is new")
    };
    assert_eq!(
        store
            .insert_suggestion(&suggestion(call, "fp-1"))
            .await
            .unwrap(),
        Inserted::Duplicate
    );
    let other_pr = NewSuggestion {
        pr: 13,
        ..suggestion(call, "fp-1")
    };
    assert!(matches!(
        store.insert_suggestion(&other_pr).await.unwrap(),
        Inserted::New(_)
    ));

    store
        .set_suggestion_comment(id, 987_654_321_012)
        .await
        .unwrap();
    let back = store.get_suggestion(id).await.unwrap();
    assert_eq!(back.suggestion, suggestion(call, "fp-1"));
    assert_eq!(back.github_comment_id, Some(987_654_321_012));
    assert!(
        store
            .set_suggestion_comment(SuggestionId(id.0 + 99), 1)
            .await
            .is_err()
    );
}

async fn a_review_is_recorded_once_per_head_and_analysis(store: Store) {
    let review = NewReview {
        installation_id: Some(7),
        repo: "octo/repo".into(),
        pr: 12,
        head_sha: "a".repeat(40),
        analysis: "security".into(),
        round: 0,
        github_review_id: None,
        check_run_id: Some(55),
        job_id: None,
        created_at: t0(),
    };
    let Inserted::New(id) = store.insert_review(&review).await.unwrap() else {
        panic!("first review is new")
    };
    assert_eq!(
        store.insert_review(&review).await.unwrap(),
        Inserted::Duplicate,
        "a retried job"
    );
    let tests = NewReview {
        analysis: "tests".into(),
        ..review.clone()
    };
    assert!(matches!(
        store.insert_review(&tests).await.unwrap(),
        Inserted::New(_)
    ));
    assert_eq!(
        store
            .find_review_by_head("octo/repo", 12, &"b".repeat(40), "security", 0)
            .await
            .unwrap(),
        None
    );
    store.finish_review(id, 9_876_543_210, &[]).await.unwrap();
    let found = store
        .find_review_by_head("octo/repo", 12, &"a".repeat(40), "security", 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    assert_eq!(
        found.review,
        NewReview {
            github_review_id: Some(9_876_543_210),
            ..review
        }
    );
    assert!(
        store
            .finish_review(ReviewId(id.0 + 100), 1, &[])
            .await
            .is_err()
    );

    let call = store.insert_model_call(&model_call()).await.unwrap();
    for fingerprint in ["fp-b", "fp-a"] {
        store
            .insert_suggestion(&suggestion(call, fingerprint))
            .await
            .unwrap();
    }
    assert_eq!(
        store.posted_fingerprints("octo/repo", 12).await.unwrap(),
        ["fp-b", "fp-a"]
    );
    assert!(
        store
            .posted_fingerprints("octo/repo", 13)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn feedback_events_are_append_only_and_idempotent_by_github_id(store: Store) {
    let call = store.insert_model_call(&model_call()).await.unwrap();
    let Inserted::New(s) = store
        .insert_suggestion(&suggestion(call, "fp"))
        .await
        .unwrap()
    else {
        panic!()
    };
    let event = |github_id: &str, action: FeedbackAction, at: i64| NewFeedbackEvent {
        suggestion_id: s,
        github_id: github_id.into(),
        source: FeedbackSource::Command,
        action,
        actor: "mona".into(),
        role: FeedbackRole::Author,
        reason: (action == FeedbackAction::Reject).then(|| "noisy".into()),
        note: Some("not here".into()),
        human_text: None,
        occurred_at: t0() + secs(at),
    };
    let later = event("comment:2", FeedbackAction::Reject, 20);
    let earlier = event("comment:1", FeedbackAction::Accept, 10);
    assert!(matches!(
        store.append_feedback_event(&later, t0()).await.unwrap(),
        Inserted::New(_)
    ));
    assert!(matches!(
        store.append_feedback_event(&earlier, t0()).await.unwrap(),
        Inserted::New(_)
    ));
    let redelivered = event("comment:2", FeedbackAction::Accept, 30);
    assert_eq!(
        store
            .append_feedback_event(&redelivered, t0())
            .await
            .unwrap(),
        Inserted::Duplicate
    );

    let events = store.list_feedback_events(s).await.unwrap();
    let seen: Vec<_> = events.iter().map(|e| e.event.clone()).collect();
    assert_eq!(
        seen,
        vec![earlier, later],
        "ordered by when they happened; duplicate ignored"
    );
}

async fn migrating_twice_is_a_no_op(store: Store) {
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SHA_C: &str = "cccccccccccccccccccccccccccccccccccccccc";

/// The automatic security review of `head` on octo/repo#12.
fn review_of(head: &str) -> NewReview {
    NewReview {
        installation_id: Some(7),
        repo: "octo/repo".into(),
        pr: 12,
        head_sha: head.into(),
        analysis: "security".into(),
        round: 0,
        github_review_id: None,
        check_run_id: Some(55),
        job_id: None,
        created_at: t0(),
    }
}

/// A finding from a built-in analyzer (no model call needed).
fn finding(fingerprint: &str) -> NewSuggestion {
    NewSuggestion {
        model_call_id: None,
        source: SuggestionSource::Analyzer,
        ..suggestion(ModelCallId(0), fingerprint)
    }
}

/// The body `prepare_review` is asked to render: carries the id's marker.
fn marked(id: SuggestionId, index: usize) -> String {
    format!("finding #{index}\n<!-- reviewbot:s={id} -->")
}

async fn prepare(store: &Store, review: &NewReview, fingerprints: &[&str]) -> PreparedReview {
    let suggestions: Vec<_> = fingerprints.iter().map(|fp| finding(fp)).collect();
    store
        .prepare_review(review, &suggestions, &marked)
        .await
        .unwrap()
}

/// The ids of a prepared review's kept suggestions, in input order.
fn kept(prepared: &PreparedReview) -> Vec<SuggestionId> {
    prepared.suggestions.iter().flatten().copied().collect()
}

/// Posts a prepared review: every kept suggestion as an inline comment `1000 + id`.
async fn post(store: &Store, prepared: &PreparedReview, github_review_id: i64) {
    let placed: Vec<_> = kept(prepared)
        .into_iter()
        .map(|id| (id, Some(1000 + id.0), Anchor::Line))
        .collect();
    store
        .finish_review(prepared.review_id, github_review_id, &placed)
        .await
        .unwrap();
}

async fn fingerprints_of(store: &Store, review: ReviewId) -> Vec<String> {
    store
        .review_suggestions(review)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.suggestion.fingerprint)
        .collect()
}

async fn prepare_review_records_the_review_and_renders_bodies_with_real_ids(store: Store) {
    let review = NewReview {
        github_review_id: Some(1),
        ..review_of(SHA_A)
    };
    let mut inputs = vec![finding("fp-1"), finding("fp-2"), finding("fp-1")];
    inputs[1].review_id = Some(ReviewId(12345));
    inputs[1].line = None;
    inputs[1].anchor = Anchor::File;
    let prepared = store
        .prepare_review(&review, &inputs, &marked)
        .await
        .unwrap();
    assert_eq!(prepared.posted, None);
    let [Some(first), Some(second), None] = prepared.suggestions[..] else {
        panic!("a fingerprint repeated in the input is kept once: {prepared:?}")
    };
    assert_ne!(first, second);

    let recorded = store
        .find_review_by_head("octo/repo", 12, SHA_A, "security", 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.id, prepared.review_id);
    assert_eq!(
        recorded.review,
        review_of(SHA_A),
        "recorded as given, unposted until finished"
    );

    let stored = store.review_suggestions(prepared.review_id).await.unwrap();
    assert_eq!(
        stored.iter().map(|s| s.id).collect::<Vec<_>>(),
        [first, second]
    );
    for (index, (s, input)) in stored.iter().zip(&inputs).enumerate() {
        assert_eq!(s.github_comment_id, None);
        assert_eq!(
            s.suggestion,
            NewSuggestion {
                review_id: Some(prepared.review_id),
                body: marked(s.id, index),
                ..input.clone()
            }
        );
        assert!(
            s.suggestion
                .body
                .contains(&format!("<!-- reviewbot:s={} -->", s.id))
        );
    }
    assert_eq!(store.get_suggestion(second).await.unwrap(), stored[1]);
    assert!(
        store
            .review_suggestions(ReviewId(prepared.review_id.0 + 100))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn preparing_a_posted_review_again_changes_nothing(store: Store) {
    let first = prepare(&store, &review_of(SHA_A), &["fp-1", "fp-2"]).await;
    post(&store, &first, 777).await;
    let before = store.review_suggestions(first.review_id).await.unwrap();

    let retried = prepare(&store, &review_of(SHA_A), &["fp-1", "fp-3", "fp-4"]).await;
    assert_eq!(
        retried,
        PreparedReview {
            review_id: first.review_id,
            posted: Some(777),
            suggestions: vec![None, None, None],
        }
    );
    assert_eq!(
        store.review_suggestions(first.review_id).await.unwrap(),
        before
    );
    assert_eq!(
        store.posted_fingerprints("octo/repo", 12).await.unwrap(),
        ["fp-1", "fp-2"],
        "nothing new recorded"
    );
    assert_eq!(
        store
            .fetch_i64("SELECT COUNT(*) FROM suggestions")
            .await
            .unwrap(),
        2
    );
}

async fn an_unposted_review_is_reused_and_its_unshown_suggestions_replaced(store: Store) {
    // Attempt 1 recorded its review, then stopped before posting.
    let crashed = prepare(&store, &review_of(SHA_A), &["fp-1", "fp-2", "fp-3"]).await;
    let [Some(old_1), Some(old_2), Some(old_3)] = crashed.suggestions[..] else {
        panic!("{crashed:?}")
    };
    // Yet two of them were shown: one has its comment, one got feedback (its comment reached
    // GitHub although the attempt never recorded it).
    store.set_suggestion_comment(old_3, 3333).await.unwrap();
    store
        .append_feedback_event(
            &NewFeedbackEvent {
                suggestion_id: old_2,
                github_id: "reaction:1".into(),
                source: FeedbackSource::Reaction,
                action: FeedbackAction::Accept,
                actor: "mona".into(),
                role: FeedbackRole::Author,
                reason: None,
                note: None,
                human_text: None,
                occurred_at: t0(),
            },
            t0(),
        )
        .await
        .unwrap();

    let retry = review_of(SHA_A);
    let retried = prepare(&store, &retry, &["fp-1", "fp-4", "fp-3", "fp-2"]).await;
    assert_eq!(retried.review_id, crashed.review_id, "the review is reused");
    assert_eq!(retried.posted, None);
    let [Some(new_1), Some(new_4), None, None] = retried.suggestions[..] else {
        panic!("shown suggestions are duplicates: {retried:?}")
    };
    assert_ne!(new_1, old_1, "the never-shown row was replaced");
    assert!(matches!(
        store.get_suggestion(old_1).await,
        Err(crate::StoreError::NotFound(_))
    ));
    assert_eq!(
        fingerprints_of(&store, retried.review_id).await,
        ["fp-2", "fp-3", "fp-1", "fp-4"]
    );
    assert_eq!(
        store.get_suggestion(new_4).await.unwrap().suggestion.body,
        marked(new_4, 1)
    );
    assert_eq!(
        store.get_suggestion(old_3).await.unwrap().github_comment_id,
        Some(3333)
    );
    assert_eq!(
        store
            .find_review_by_head("octo/repo", 12, SHA_A, "security", 0)
            .await
            .unwrap()
            .unwrap()
            .id,
        crashed.review_id
    );
}

async fn an_abandoned_suggestion_of_another_unposted_review_is_taken_over(store: Store) {
    // The review of head A was prepared, never posted (its job was superseded by a push).
    let abandoned = prepare(&store, &review_of(SHA_A), &["fp-1", "fp-2"]).await;
    let [Some(taken), Some(left)] = abandoned.suggestions[..] else {
        panic!("{abandoned:?}")
    };

    let moved = NewSuggestion {
        head_sha: SHA_B.into(),
        line: Some(77),
        title: "Still a shell command built from input".into(),
        severity: Some("critical".into()),
        created_at: t0() + secs(60),
        ..finding("fp-1")
    };
    let review_b = NewReview {
        created_at: t0() + secs(60),
        ..review_of(SHA_B)
    };
    let prepared = store
        .prepare_review(&review_b, &[finding("fp-3"), moved.clone()], &marked)
        .await
        .unwrap();
    assert_ne!(prepared.review_id, abandoned.review_id);
    assert_eq!(
        prepared.suggestions[1],
        Some(taken),
        "the row is taken over"
    );
    let back = store.get_suggestion(taken).await.unwrap();
    assert_eq!(
        back.suggestion,
        NewSuggestion {
            review_id: Some(prepared.review_id),
            body: marked(taken, 1),
            ..moved
        }
    );
    assert_eq!(back.github_comment_id, None);
    assert_eq!(
        fingerprints_of(&store, prepared.review_id).await,
        ["fp-1", "fp-3"]
    );
    assert_eq!(fingerprints_of(&store, abandoned.review_id).await, ["fp-2"]);
    assert_eq!(
        store
            .get_suggestion(left)
            .await
            .unwrap()
            .suggestion
            .review_id,
        Some(abandoned.review_id)
    );
}

async fn fingerprints_already_shown_are_duplicates(store: Store) {
    // Shown in a posted review.
    let posted = prepare(&store, &review_of(SHA_A), &["fp-posted"]).await;
    post(&store, &posted, 1).await;
    // Recorded outside any review.
    let Inserted::New(loose) = store.insert_suggestion(&finding("fp-loose")).await.unwrap() else {
        panic!("new")
    };
    // Commented although its review was never recorded as posted.
    let unposted = prepare(&store, &review_of(SHA_B), &["fp-commented"]).await;
    store
        .set_suggestion_comment(kept(&unposted)[0], 99)
        .await
        .unwrap();

    let later = prepare(
        &store,
        &review_of(SHA_C),
        &["fp-posted", "fp-loose", "fp-commented", "fp-new"],
    )
    .await;
    let [None, None, None, Some(new)] = later.suggestions[..] else {
        panic!("{later:?}")
    };
    assert_eq!(fingerprints_of(&store, later.review_id).await, ["fp-new"]);
    assert_eq!(
        store.get_suggestion(new).await.unwrap().suggestion.body,
        marked(new, 3),
        "the index is the input's"
    );
    let loose_back = store.get_suggestion(loose).await.unwrap();
    assert_eq!(loose_back.suggestion, finding("fp-loose"), "left untouched");
    assert_eq!(
        fingerprints_of(&store, posted.review_id).await,
        ["fp-posted"]
    );
    assert_eq!(
        fingerprints_of(&store, unposted.review_id).await,
        ["fp-commented"]
    );
}

async fn finish_review_records_comment_ids_and_anchors(store: Store) {
    let prepared = prepare(&store, &review_of(SHA_A), &["fp-1", "fp-2", "fp-3"]).await;
    let [Some(inline), Some(refused), Some(file)] = prepared.suggestions[..] else {
        panic!("{prepared:?}")
    };
    store
        .finish_review(
            prepared.review_id,
            4_242_424_242,
            &[
                (inline, Some(5_000_000_001), Anchor::Line),
                // GitHub refused this comment: it went into the summary.
                (refused, None, Anchor::Summary),
                (file, Some(5_000_000_003), Anchor::File),
            ],
        )
        .await
        .unwrap();
    let review = store
        .find_review_by_head("octo/repo", 12, SHA_A, "security", 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(review.review.github_review_id, Some(4_242_424_242));
    let placed: Vec<_> = store
        .review_suggestions(prepared.review_id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.github_comment_id, s.suggestion.anchor))
        .collect();
    assert_eq!(
        placed,
        [
            (inline, Some(5_000_000_001), Anchor::Line),
            (refused, None, Anchor::Summary),
            (file, Some(5_000_000_003), Anchor::File),
        ]
    );
    assert!(matches!(
        store
            .finish_review(ReviewId(prepared.review_id.0 + 100), 1, &[])
            .await,
        Err(crate::StoreError::NotFound(_))
    ));
}

async fn posted_fingerprints_lists_only_what_was_shown(store: Store) {
    store.insert_suggestion(&finding("fp-loose")).await.unwrap();
    let posted = prepare(&store, &review_of(SHA_A), &["fp-posted", "fp-summary"]).await;
    let [Some(inline), Some(summary)] = posted.suggestions[..] else {
        panic!("{posted:?}")
    };
    store
        .finish_review(
            posted.review_id,
            1,
            &[
                (inline, Some(10), Anchor::Line),
                (summary, None, Anchor::Summary),
            ],
        )
        .await
        .unwrap();
    let unposted = prepare(
        &store,
        &review_of(SHA_B),
        &["fp-unposted", "fp-commented", "fp-unposted-2"],
    )
    .await;
    store
        .set_suggestion_comment(kept(&unposted)[1], 11)
        .await
        .unwrap();
    let other_pr = NewSuggestion {
        pr: 13,
        ..finding("fp-other-pr")
    };
    store.insert_suggestion(&other_pr).await.unwrap();

    assert_eq!(
        store.posted_fingerprints("octo/repo", 12).await.unwrap(),
        ["fp-loose", "fp-posted", "fp-summary", "fp-commented"]
    );
    assert_eq!(
        store.posted_fingerprints("octo/repo", 13).await.unwrap(),
        ["fp-other-pr"]
    );
    assert!(
        store
            .posted_fingerprints("octo/other", 12)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn last_reviewed_head_is_the_latest_posted_review(store: Store) {
    assert_eq!(
        store.last_reviewed_head("octo/repo", 12).await.unwrap(),
        None
    );
    let at = |head: &str, analysis: &str, round: i64, after: i64| NewReview {
        analysis: analysis.into(),
        round,
        created_at: t0() + secs(after),
        ..review_of(head)
    };
    // Created out of order: the newest by creation time wins, not the last recorded.
    let b = prepare(&store, &at(SHA_B, "tests", 0, 20), &[]).await;
    let a = prepare(&store, &at(SHA_A, "security", 0, 10), &[]).await;
    assert_eq!(
        store.last_reviewed_head("octo/repo", 12).await.unwrap(),
        None,
        "nothing posted yet"
    );
    post(&store, &a, 1).await;
    assert_eq!(
        store.last_reviewed_head("octo/repo", 12).await.unwrap(),
        Some(SHA_A.to_string())
    );
    post(&store, &b, 2).await;
    // Newer but never posted: does not count.
    prepare(&store, &at(SHA_C, "security", 0, 30), &[]).await;
    assert_eq!(
        store.last_reviewed_head("octo/repo", 12).await.unwrap(),
        Some(SHA_B.to_string())
    );
    // An explicit re-run of A, posted later, makes A the last reviewed head again.
    let rerun = prepare(&store, &at(SHA_A, "security", 4321, 40), &[]).await;
    post(&store, &rerun, 3).await;
    assert_eq!(
        store.last_reviewed_head("octo/repo", 12).await.unwrap(),
        Some(SHA_A.to_string())
    );
    assert_eq!(
        store.last_reviewed_head("octo/repo", 13).await.unwrap(),
        None
    );
}

async fn a_new_round_reviews_the_same_head_again(store: Store) {
    let automatic = prepare(&store, &review_of(SHA_A), &["fp-1"]).await;
    post(&store, &automatic, 100).await;
    assert_eq!(
        prepare(&store, &review_of(SHA_A), &["fp-1"]).await.posted,
        Some(100),
        "the same round again is the same review"
    );

    let command = NewReview {
        round: 987_654_321,
        ..review_of(SHA_A)
    };
    let rerun = prepare(&store, &command, &["fp-1", "fp-2"]).await;
    assert_ne!(rerun.review_id, automatic.review_id);
    assert_eq!(rerun.posted, None);
    assert!(
        rerun.suggestions[0].is_none(),
        "already shown in round 0: {rerun:?}"
    );
    assert!(rerun.suggestions[1].is_some());
    let found = store
        .find_review_by_head("octo/repo", 12, SHA_A, "security", 987_654_321)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.review.round),
        (rerun.review_id, 987_654_321)
    );
    post(&store, &rerun, 101).await;
    assert_eq!(prepare(&store, &command, &[]).await.posted, Some(101));

    // insert_review knows rounds too.
    let other_round = NewReview {
        round: 5,
        ..review_of(SHA_A)
    };
    assert!(matches!(
        store.insert_review(&other_round).await.unwrap(),
        Inserted::New(_)
    ));
    assert_eq!(
        store.insert_review(&other_round).await.unwrap(),
        Inserted::Duplicate
    );
    assert_eq!(
        store.insert_review(&review_of(SHA_A)).await.unwrap(),
        Inserted::Duplicate
    );
}

async fn pausing_a_pull_request_is_an_upsert(store: Store) {
    assert!(!store.is_paused("octo/repo", 12).await.unwrap());
    store
        .set_paused("octo/repo", 12, true, Some("mona"), t0())
        .await
        .unwrap();
    assert!(store.is_paused("octo/repo", 12).await.unwrap());
    assert!(!store.is_paused("octo/repo", 13).await.unwrap());
    assert!(!store.is_paused("octo/other", 12).await.unwrap());
    store
        .set_paused("octo/repo", 12, true, Some("mona"), t0())
        .await
        .unwrap();
    store
        .set_paused("octo/repo", 12, false, Some("hubot"), t0() + secs(5))
        .await
        .unwrap();
    assert!(!store.is_paused("octo/repo", 12).await.unwrap());
    assert_eq!(
        store
            .fetch_i64(
                "SELECT COUNT(*) FROM pull_requests WHERE repo = 'octo/repo' AND pr = 12 \
                 AND paused_by = 'hubot'"
            )
            .await
            .unwrap(),
        1
    );
    store
        .set_paused("octo/repo", 12, true, None, t0() + secs(9))
        .await
        .unwrap();
    assert!(store.is_paused("octo/repo", 12).await.unwrap());
    assert_eq!(
        store
            .fetch_i64("SELECT COUNT(*) FROM pull_requests WHERE paused_by IS NULL")
            .await
            .unwrap(),
        1
    );
}

async fn concurrent_preparations_of_one_review_agree(store: Store) {
    // Two workers on the same review (a lease ran out): neither fails on the unique keys and
    // the review ends up with each suggestion once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            prepare(&store, &review_of(SHA_A), &["fp-1", "fp-2"]).await
        }));
    }
    let mut reviews = BTreeSet::new();
    for task in tasks {
        let prepared = task.await.unwrap();
        assert_eq!(prepared.posted, None);
        reviews.insert(prepared.review_id);
    }
    assert_eq!(reviews.len(), 1);
    let review = *reviews.first().unwrap();
    let stored = store.review_suggestions(review).await.unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|s| s.suggestion.fingerprint.as_str())
            .collect::<Vec<_>>(),
        ["fp-1", "fp-2"]
    );
    for (index, s) in stored.iter().enumerate() {
        assert_eq!(s.suggestion.body, marked(s.id, index));
    }
}

/// The last migration before review rounds.
const BEFORE_ROUNDS: i64 = 20261121000007;

async fn review_rounds_migration_keeps_existing_reviews_and_suggestions(store: Store) {
    store.migrate_to(BEFORE_ROUNDS).await.unwrap();
    // Timestamps as SQLite stores them, which Postgres reads as TIMESTAMPTZ too. Review 3 is
    // deleted again: ids must not be reused after the table is rebuilt.
    let t = "2026-11-21T12:00:00.000000Z";
    store
        .execute_raw(&format!(
            "INSERT INTO reviews (installation_id, repo, pr, head_sha, analysis, \
             github_review_id, check_run_id, job_id, created_at) VALUES \
             (7, 'octo/repo', 12, '{SHA_A}', 'security', 900, 55, NULL, '{t}'), \
             (7, 'octo/repo', 12, '{SHA_B}', 'security', NULL, NULL, NULL, '{t}'), \
             (7, 'octo/repo', 12, '{SHA_C}', 'security', NULL, NULL, NULL, '{t}'); \
             DELETE FROM reviews WHERE head_sha = '{SHA_C}'; \
             INSERT INTO suggestions (model_call_id, review_id, repo, pr, head_sha, kind, source, \
             category, path, line, anchor, severity, confidence, cwe, fingerprint, title, body, \
             original, github_comment_id, created_at) VALUES \
             (NULL, 1, 'octo/repo', 12, '{SHA_A}', 'security', 'analyzer', 'CWE-78', 'a.py', 3, \
              'line', 'high', 0.5, 'CWE-78', 'fp-posted', 'T', 'B', '{{}}', 4000, '{t}'), \
             (NULL, 2, 'octo/repo', 12, '{SHA_B}', 'security', 'analyzer', 'CWE-78', 'a.py', 4, \
              'line', 'high', 0.5, 'CWE-78', 'fp-unposted', 'T', 'B', '{{}}', NULL, '{t}'), \
             (NULL, NULL, 'octo/repo', 12, '{SHA_A}', 'test', 'model', 'unit', 'a.py', NULL, \
              'file', NULL, NULL, NULL, 'fp-loose', 'T', 'B', '{{}}', NULL, '{t}'); \
             INSERT INTO feedback_events (suggestion_id, github_id, source, action, actor, role, \
             occurred_at, recorded_at) VALUES \
             (1, 'comment:1', 'command', 'accept', 'mona', 'author', '{t}', '{t}');"
        ))
        .await
        .unwrap();

    store.migrate().await.unwrap();

    let posted = store
        .find_review_by_head("octo/repo", 12, SHA_A, "security", 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        posted,
        Review {
            id: ReviewId(1),
            review: NewReview {
                github_review_id: Some(900),
                ..review_of(SHA_A)
            }
        }
    );
    let unposted = store
        .find_review_by_head("octo/repo", 12, SHA_B, "security", 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unposted.id, ReviewId(2));
    assert_eq!(fingerprints_of(&store, ReviewId(1)).await, ["fp-posted"]);
    assert_eq!(fingerprints_of(&store, ReviewId(2)).await, ["fp-unposted"]);
    let first = store.get_suggestion(SuggestionId(1)).await.unwrap();
    assert_eq!(
        (first.suggestion.review_id, first.github_comment_id),
        (Some(ReviewId(1)), Some(4000))
    );
    assert_eq!(
        store
            .list_feedback_events(SuggestionId(1))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.posted_fingerprints("octo/repo", 12).await.unwrap(),
        ["fp-posted", "fp-loose"]
    );
    assert_eq!(
        store.last_reviewed_head("octo/repo", 12).await.unwrap(),
        Some(SHA_A.to_string())
    );

    // The foreign keys now point at the new table and are still enforced.
    if store.dialect() == crate::Dialect::Sqlite {
        assert_eq!(
            store
                .fetch_i64("SELECT COUNT(*) FROM pragma_foreign_key_check")
                .await
                .unwrap(),
            0
        );
    }
    assert!(
        store
            .execute_raw("DELETE FROM reviews WHERE id = 1")
            .await
            .is_err(),
        "a review with suggestions cannot be deleted"
    );
    let orphan = NewSuggestion {
        review_id: Some(ReviewId(99)),
        ..finding("fp-orphan")
    };
    assert!(store.insert_suggestion(&orphan).await.is_err());

    // The new key, ids never reused, and the old unposted review picked up by a retry.
    let Inserted::New(rerun) = store
        .insert_review(&NewReview {
            round: 1,
            ..review_of(SHA_A)
        })
        .await
        .unwrap()
    else {
        panic!("a new round of a reviewed head is a new review")
    };
    assert!(rerun.0 > 3, "review ids are not reused: {rerun}");
    let retried = prepare(&store, &review_of(SHA_B), &["fp-unposted", "fp-posted"]).await;
    assert_eq!(retried.review_id, ReviewId(2));
    assert!(retried.suggestions[0].is_some() && retried.suggestions[1].is_none());
    store
        .set_paused("octo/repo", 12, true, Some("mona"), t0())
        .await
        .unwrap();
    assert!(store.is_paused("octo/repo", 12).await.unwrap());
}

#[test]
fn both_dialects_have_the_same_migrations() {
    let names = |dialect: &str| -> BTreeSet<String> {
        let dir = format!("{}/../migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
    for name in &sqlite {
        let (version, rest) = name.split_once('_').unwrap();
        assert_eq!(
            version.len(),
            14,
            "{name}: YYYYMMDDHHMMSS_<verb>_<noun>.sql"
        );
        assert!(rest.ends_with(".sql"), "{name}");
    }
}

async fn shown_suggestions_are_found_by_fingerprint_and_comment(store: Store) {
    // One posted review with two suggestions, one review never posted.
    let posted = prepare(&store, &review_of(SHA_A), &["fp-1", "fp-2"]).await;
    post(&store, &posted, 77).await;
    let unposted = prepare(&store, &review_of(SHA_B), &["fp-3"]).await;
    let shown: Vec<SuggestionId> = store
        .shown_suggestions("octo/repo", 12)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        shown,
        kept(&posted),
        "never-posted suggestions were never shown"
    );
    let first = kept(&posted)[0];
    let by_fp = store
        .suggestion_by_fingerprint("octo/repo", 12, "fp-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_fp.id, first);
    assert!(
        store
            .suggestion_by_fingerprint("octo/repo", 13, "fp-1")
            .await
            .unwrap()
            .is_none()
    );
    let by_comment = store
        .suggestion_by_comment("octo/repo", 1000 + first.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_comment.id, first);
    assert!(
        store
            .suggestion_by_comment("octo/other", 1000 + first.0)
            .await
            .unwrap()
            .is_none(),
        "a comment id is only ours in its repository"
    );
    assert!(
        store
            .suggestion_by_comment("octo/repo", 1000 + kept(&unposted)[0].0)
            .await
            .unwrap()
            .is_none()
    );
}

async fn check_run_facts_are_kept_per_head_and_the_latest_is_found(store: Store) {
    assert_eq!(store.latest_check_run("octo/repo", 12).await.unwrap(), None);
    let record = |head: &str, id: i64, facts: &str| CheckRunRecord {
        repo: "octo/repo".into(),
        pr: 12,
        head_sha: head.into(),
        github_check_run_id: id,
        facts: facts.into(),
    };
    store
        .record_check_run(&record(SHA_A, 1, "{\"a\":1}"), t0())
        .await
        .unwrap();
    store
        .record_check_run(&record(SHA_B, 2, "{\"b\":1}"), t0() + secs(10))
        .await
        .unwrap();
    assert_eq!(
        store.latest_check_run("octo/repo", 12).await.unwrap(),
        Some(record(SHA_B, 2, "{\"b\":1}"))
    );
    // Re-rendered after a triage: the same head's row is replaced, and is the latest again.
    store
        .record_check_run(&record(SHA_A, 1, "{\"a\":2}"), t0() + secs(20))
        .await
        .unwrap();
    assert_eq!(
        store.latest_check_run("octo/repo", 12).await.unwrap(),
        Some(record(SHA_A, 1, "{\"a\":2}"))
    );
    assert_eq!(
        store
            .fetch_i64("SELECT COUNT(*) FROM check_runs")
            .await
            .unwrap(),
        2
    );
}

async fn reaction_polls_keep_their_etag(store: Store) {
    assert_eq!(store.reaction_etag(5).await.unwrap(), None);
    store
        .set_reaction_etag(5, Some("W/\"abc\""), t0())
        .await
        .unwrap();
    assert_eq!(
        store.reaction_etag(5).await.unwrap().as_deref(),
        Some("W/\"abc\"")
    );
    // A multi-page answer has no usable ETag: the next poll reads it in full.
    store
        .set_reaction_etag(5, None, t0() + secs(1))
        .await
        .unwrap();
    assert_eq!(store.reaction_etag(5).await.unwrap(), None);
    assert_eq!(store.reaction_etag(6).await.unwrap(), None);
}

async fn open_pull_requests_with_recent_comments_are_polled(store: Store) {
    let posted = prepare(&store, &review_of(SHA_A), &["fp-1"]).await;
    post(&store, &posted, 77).await;
    store
        .upsert_pull_request("octo/repo", 12, 7, true, t0())
        .await
        .unwrap();
    // Another open pull request, with nothing posted.
    store
        .upsert_pull_request("octo/repo", 13, 7, true, t0())
        .await
        .unwrap();
    let target = PollTarget {
        repo: "octo/repo".into(),
        pr: 12,
        installation_id: 7,
    };
    assert_eq!(
        store.pull_requests_to_poll(t0() - secs(60)).await.unwrap(),
        std::slice::from_ref(&target)
    );
    assert!(
        store
            .pull_requests_to_poll(t0() + secs(60))
            .await
            .unwrap()
            .is_empty(),
        "nothing posted since"
    );
    // Pausing keeps the installation; closing stops the poll.
    store
        .set_paused("octo/repo", 12, true, Some("mona"), t0())
        .await
        .unwrap();
    assert_eq!(
        store.pull_requests_to_poll(t0() - secs(60)).await.unwrap(),
        [target]
    );
    store
        .upsert_pull_request("octo/repo", 12, 7, false, t0() + secs(5))
        .await
        .unwrap();
    assert!(
        store
            .pull_requests_to_poll(t0() - secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store.is_paused("octo/repo", 12).await.unwrap(),
        "pause kept"
    );
}

async fn recent_feedback_by_category_and_kind_newest_first_and_unmutes(store: Store) {
    let call = store.insert_model_call(&model_call()).await.unwrap();
    let mut ids = Vec::new();
    for (i, (fp, category, kind)) in [
        ("a", "CWE-78", SuggestionKind::Security),
        ("b", "CWE-78", SuggestionKind::Security),
        ("c", "CWE-89", SuggestionKind::Security),
        ("d", "test.unit", SuggestionKind::Test),
        ("e", "CWE-78", SuggestionKind::Security),
    ]
    .into_iter()
    .enumerate()
    {
        let Inserted::New(id) = store
            .insert_suggestion(&NewSuggestion {
                category: category.into(),
                kind,
                created_at: t0() + secs(i as i64),
                ..suggestion(call, fp)
            })
            .await
            .unwrap()
        else {
            panic!()
        };
        ids.push(id);
    }
    // Feedback on all but "e" (no event: not part of any window).
    for (n, id) in ids[..4].iter().enumerate() {
        let event = NewFeedbackEvent {
            suggestion_id: *id,
            github_id: format!("comment:{n}"),
            source: FeedbackSource::Command,
            action: FeedbackAction::Reject,
            actor: "mona".into(),
            role: FeedbackRole::Writer,
            reason: Some("noisy".into()),
            note: None,
            human_text: None,
            occurred_at: t0() + secs(10),
        };
        store.append_feedback_event(&event, t0()).await.unwrap();
    }
    let window = store
        .recent_feedback_in_category("octo/repo", "CWE-78", t0() - secs(1), 10)
        .await
        .unwrap();
    let got: Vec<(SuggestionId, usize)> = window.iter().map(|(s, e)| (s.id, e.len())).collect();
    assert_eq!(
        got,
        [(ids[1], 1), (ids[0], 1)],
        "newest first, with their events"
    );
    let limited = store
        .recent_feedback_in_category("octo/repo", "CWE-78", t0() - secs(1), 1)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    let since = store
        .recent_feedback_in_category("octo/repo", "CWE-78", t0() + secs(1), 10)
        .await
        .unwrap();
    assert_eq!(since.len(), 1, "only suggestions made since");
    let tests = store
        .recent_feedback_of_kind("octo/repo", SuggestionKind::Test, t0() - secs(1), 10)
        .await
        .unwrap();
    assert_eq!(
        tests.iter().map(|(s, _)| s.id).collect::<Vec<_>>(),
        [ids[3]]
    );

    assert_eq!(
        store
            .category_unmuted_at("octo/repo", "CWE-78")
            .await
            .unwrap(),
        None
    );
    store
        .unmute_category("octo/repo", "CWE-78", "mona", t0() + secs(30))
        .await
        .unwrap();
    store
        .unmute_category("octo/repo", "CWE-78", "hubot", t0() + secs(60))
        .await
        .unwrap();
    assert_eq!(
        store
            .category_unmuted_at("octo/repo", "CWE-78")
            .await
            .unwrap(),
        Some(t0() + secs(60))
    );
    assert_eq!(
        store
            .category_unmuted_at("octo/other", "CWE-78")
            .await
            .unwrap(),
        None
    );
}

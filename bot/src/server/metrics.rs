//! `GET /metrics`: Prometheus text. Counters and histograms are recorded where things happen;
//! queue depth is read from the store at scrape time so it is right across processes.
//!
//! The feedback figures of `reviewbot stats --by kind` are gauges too, read from the store at
//! scrape time but at most once per [`FEEDBACK_MAX_AGE`] (a scrape in between gets the last
//! figures), so a big store is not scanned on every scrape:
//!
//! - `reviewbot_suggestions{kind,verdict}`: posted suggestions by derived verdict (`accepted`,
//!   `modified`, `rejected`, `ignored`, `pending`);
//! - `reviewbot_acceptance_rate{kind}`: (accepted + modified) / (accepted + modified +
//!   rejected);
//! - `reviewbot_security_precision`: tp / (tp + fp) over triaged findings;
//! - `reviewbot_first_verdict_median_seconds{kind}`: median time to the first verdict.
//!
//! A figure with nothing to compute it from (no judged suggestion, no triaged finding) is
//! `NaN`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use feedback::{StatsBy, Store, StoreError, SuggestionKind};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::AppState;

/// Latency buckets in seconds: webhook answers are milliseconds, jobs up to minutes.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0, 900.0,
];

/// The process-wide recorder (metrics' recorder is global: installed once, shared by every
/// `Application` in the process, as tests build several).
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("static, non-empty buckets");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; ours still renders then.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The feedback gauges are recomputed from the store at most this often.
pub const FEEDBACK_MAX_AGE: Duration = Duration::from_secs(60);

/// Renders every metric, after refreshing the queue-depth and feedback gauges.
pub async fn render(State(state): State<AppState>) -> Response {
    match state.store.queue_depth().await {
        Ok(depth) => {
            for (label, value) in [
                ("queued", depth.queued),
                ("running", depth.running),
                ("dead", depth.dead),
            ] {
                metrics::gauge!("reviewbot_queue_jobs", "state" => label).set(value as f64);
            }
            metrics::gauge!("reviewbot_store_up").set(1.0);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read queue depth");
            metrics::gauge!("reviewbot_store_up").set(0.0);
        }
    }
    if let Err(e) = refresh_feedback_gauges(&state.store, Instant::now()).await {
        // The last figures stay up; `reviewbot_store_up` already tells of an outage.
        tracing::warn!(error = %e, "metrics: could not read feedback stats");
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Sets the feedback gauges from the store's stats by kind, cached for [`FEEDBACK_MAX_AGE`].
async fn refresh_feedback_gauges(store: &Store, now: Instant) -> Result<(), StoreError> {
    let report = store
        .cached_stats(StatsBy::Kind, FEEDBACK_MAX_AGE, now)
        .await?;
    let or_nan = |figure: Option<f64>| figure.unwrap_or(f64::NAN);
    for kind in SuggestionKind::ALL {
        let kind = kind.as_str();
        let row = report.row_or_empty(kind);
        for (verdict, count) in [
            ("accepted", row.accepted),
            ("modified", row.modified),
            ("rejected", row.rejected),
            ("ignored", row.ignored),
            ("pending", row.pending),
        ] {
            metrics::gauge!("reviewbot_suggestions", "kind" => kind, "verdict" => verdict)
                .set(count as f64);
        }
        metrics::gauge!("reviewbot_acceptance_rate", "kind" => kind)
            .set(or_nan(row.acceptance_rate));
        metrics::gauge!("reviewbot_first_verdict_median_seconds", "kind" => kind)
            .set(or_nan(row.median_seconds_to_first_verdict));
    }
    // Only findings are triaged: the total's precision is the findings'.
    metrics::gauge!("reviewbot_security_precision").set(or_nan(report.total.security_precision));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use feedback::*;

    use super::*;

    fn t0() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    }

    fn suggestion(kind: SuggestionKind, n: usize, review: ReviewId) -> NewSuggestion {
        NewSuggestion {
            model_call_id: None,
            review_id: Some(review),
            repo: "octo/repo".into(),
            pr: 1,
            head_sha: "a".repeat(40),
            kind,
            source: SuggestionSource::Analyzer,
            category: "c".into(),
            path: "a.py".into(),
            line: Some(1),
            anchor: Anchor::Line,
            severity: None,
            confidence: None,
            cwe: None,
            fingerprint: format!("fp-{n}"),
            title: "T".into(),
            body: "B".into(),
            original: "{}".into(),
            created_at: t0(),
        }
    }

    fn event(
        id: SuggestionId,
        github_id: &str,
        source: FeedbackSource,
        action: FeedbackAction,
        after: i64,
    ) -> NewFeedbackEvent {
        NewFeedbackEvent {
            suggestion_id: id,
            github_id: github_id.into(),
            source,
            action,
            actor: "mona".into(),
            role: FeedbackRole::Author,
            reason: None,
            note: None,
            human_text: None,
            occurred_at: t0() + chrono::Duration::seconds(after),
        }
    }

    /// Tests: accepted (60 s), rejected (120 s), pending, a 👍 taken back (pending).
    /// Findings: rejected by the author (10 s) then triaged tp; triaged fp (30 s).
    async fn seed(store: &Store) -> Vec<SuggestionId> {
        use FeedbackAction as A;
        use FeedbackSource as S;

        let review = NewReview {
            installation_id: None,
            repo: "octo/repo".into(),
            pr: 1,
            head_sha: "a".repeat(40),
            analysis: "tests".into(),
            round: 0,
            github_review_id: Some(99),
            check_run_id: None,
            job_id: None,
            created_at: t0(),
        };
        let Inserted::New(review) = store.insert_review(&review).await.unwrap() else {
            panic!("a new review")
        };
        let kinds = [SuggestionKind::Test; 4]
            .into_iter()
            .chain([SuggestionKind::Security; 2]);
        let mut ids = Vec::new();
        for (n, kind) in kinds.enumerate() {
            let Inserted::New(id) = store
                .insert_suggestion(&suggestion(kind, n, review))
                .await
                .unwrap()
            else {
                panic!("a new suggestion")
            };
            ids.push(id);
        }
        let triage = |id, github_id: &str, state: &str, after| NewFeedbackEvent {
            reason: Some(state.into()),
            role: FeedbackRole::SecurityReviewer,
            ..event(id, github_id, S::Command, A::Triage, after)
        };
        let events = [
            event(ids[0], "comment:1", S::Command, A::Accept, 60),
            NewFeedbackEvent {
                reason: Some("noisy".into()),
                ..event(ids[1], "comment:2", S::Command, A::Reject, 120)
            },
            event(ids[3], "reaction:4", S::Reaction, A::Accept, 5),
            NewFeedbackEvent {
                note: Some("reaction:4".into()),
                ..event(ids[3], "reaction:4:removed", S::Reaction, A::Retract, 6)
            },
            event(ids[4], "comment:5", S::Command, A::Reject, 10),
            triage(ids[4], "comment:5t", "tp", 100),
            triage(ids[5], "comment:6t", "fp", 30),
        ];
        for e in events {
            store.append_feedback_event(&e, t0()).await.unwrap();
        }
        ids
    }

    async fn scrape(state: &AppState) -> String {
        let response = render(State(state.clone())).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    /// The value of the one line starting with `series ` (name and labels as rendered).
    fn value(text: &str, series: &str) -> String {
        let lines: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .collect();
        assert_eq!(lines.len(), 1, "{series} in:\n{text}");
        lines[0].to_owned()
    }

    #[tokio::test]
    async fn feedback_gauges_show_the_derived_verdicts_and_are_cached() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("metrics.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let ids = seed(&store).await;
        let state = AppState {
            store: store.clone(),
            webhook_secrets: Arc::new([]),
            retry: feedback::queue::RetryPolicy::default(),
            wake_workers: Arc::default(),
            metrics: recorder(),
        };

        let text = scrape(&state).await;
        let expected = [
            (
                r#"reviewbot_suggestions{kind="test",verdict="accepted"}"#,
                "1",
            ),
            (
                r#"reviewbot_suggestions{kind="test",verdict="modified"}"#,
                "0",
            ),
            (
                r#"reviewbot_suggestions{kind="test",verdict="rejected"}"#,
                "1",
            ),
            (
                r#"reviewbot_suggestions{kind="test",verdict="ignored"}"#,
                "0",
            ),
            (
                r#"reviewbot_suggestions{kind="test",verdict="pending"}"#,
                "2",
            ),
            (
                r#"reviewbot_suggestions{kind="security",verdict="accepted"}"#,
                "1",
            ),
            (
                r#"reviewbot_suggestions{kind="security",verdict="rejected"}"#,
                "1",
            ),
            (
                r#"reviewbot_suggestions{kind="security",verdict="pending"}"#,
                "0",
            ),
            (r#"reviewbot_acceptance_rate{kind="test"}"#, "0.5"),
            (r#"reviewbot_acceptance_rate{kind="security"}"#, "0.5"),
            ("reviewbot_security_precision", "0.5"),
            (
                r#"reviewbot_first_verdict_median_seconds{kind="test"}"#,
                "90",
            ),
            (
                r#"reviewbot_first_verdict_median_seconds{kind="security"}"#,
                "20",
            ),
        ];
        for (series, figure) in expected {
            assert_eq!(value(&text, series), figure, "{series}");
        }

        // A new verdict: the next scrape within a minute shows the cached figures.
        store
            .append_feedback_event(
                &event(
                    ids[2],
                    "comment:3",
                    FeedbackSource::Command,
                    FeedbackAction::Accept,
                    30,
                ),
                t0(),
            )
            .await
            .unwrap();
        let text = scrape(&state).await;
        let accepted = r#"reviewbot_suggestions{kind="test",verdict="accepted"}"#;
        assert_eq!(value(&text, accepted), "1");
        // A minute later they are read again.
        refresh_feedback_gauges(&store, Instant::now() + FEEDBACK_MAX_AGE)
            .await
            .unwrap();
        let text = state.metrics.render();
        assert_eq!(value(&text, accepted), "2");
        assert_eq!(
            value(&text, r#"reviewbot_acceptance_rate{kind="test"}"#),
            "0.6666666666666666"
        );
        assert_eq!(
            value(
                &text,
                r#"reviewbot_first_verdict_median_seconds{kind="test"}"#
            ),
            "60"
        );
        store.close().await;
    }
}

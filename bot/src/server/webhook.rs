//! `POST /api/github/webhooks`: verify, parse, record the delivery and enqueue its jobs in one
//! transaction, answer. Nothing here calls GitHub or the model: GitHub wants an answer within
//! 10 s, and we give it one in milliseconds.
//!
//! | answer | when |
//! |---|---|
//! | 413 | body over [`MAX_WEBHOOK_BYTES`] |
//! | 401 | `X-Hub-Signature-256` missing or wrong (checked before anything is parsed) |
//! | 400 | missing `X-GitHub-Event`/`X-GitHub-Delivery`, or a body that is not a valid payload |
//! | 200 | a delivery id we already recorded (GitHub redelivers with the same id) |
//! | 202 | recorded: jobs enqueued, or nothing to do |
//! | 503 | the store is unavailable: nothing was recorded, GitHub shows the failure for redelivery |

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use feedback::{NewDelivery, RecordedDelivery};
use tracing::{Instrument, error, info, info_span, warn};

use super::AppState;
use super::signature::verify_signature;
use crate::events::{parse_event, parse_meta};
use crate::jobs::jobs_for_event;

/// GitHub caps webhook payloads at 25 MB and does not deliver larger ones.
pub const MAX_WEBHOOK_BYTES: usize = 25 * 1024 * 1024;

/// Events we name in metrics; anything else is `other`, so a sender cannot grow the label set.
const KNOWN_EVENTS: &[&str] = &[
    "ping",
    "pull_request",
    "pull_request_review_comment",
    "pull_request_review",
    "pull_request_review_thread",
    "issue_comment",
    "installation",
    "installation_repositories",
    "check_run",
    "check_suite",
];

fn event_label(event: &str) -> &'static str {
    KNOWN_EVENTS
        .iter()
        .find(|known| **known == event)
        .copied()
        .unwrap_or("other")
}

/// Counts the delivery and answers.
fn answer(
    event: &'static str,
    outcome: &'static str,
    status: StatusCode,
    started: Instant,
) -> Response {
    metrics::counter!("reviewbot_webhook_deliveries_total", "event" => event, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("reviewbot_webhook_duration_seconds", "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    (status, outcome).into_response()
}

/// The webhook handler.
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            warn!("webhook body over {MAX_WEBHOOK_BYTES} bytes refused");
            return answer(
                "unverified",
                "too_large",
                StatusCode::PAYLOAD_TOO_LARGE,
                started,
            );
        }
        Err(rejection) => {
            warn!(error = %rejection, "could not read webhook body");
            return answer("unverified", "unreadable", rejection.status(), started);
        }
    };
    let signature = headers.get("x-hub-signature-256").map(|v| v.as_bytes());
    if let Err(e) = verify_signature(&state.webhook_secrets, &body, signature) {
        // Never log the body of an unauthenticated request.
        warn!(reason = %e, "webhook refused");
        return answer(
            "unverified",
            "unauthorized",
            StatusCode::UNAUTHORIZED,
            started,
        );
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let (Some(event), Some(delivery_id)) = (header("x-github-event"), header("x-github-delivery"))
    else {
        warn!("signed webhook without X-GitHub-Event or X-GitHub-Delivery");
        return answer("other", "malformed", StatusCode::BAD_REQUEST, started);
    };
    if event.is_empty() || delivery_id.is_empty() || delivery_id.len() > 200 {
        return answer("other", "malformed", StatusCode::BAD_REQUEST, started);
    }
    let label = event_label(event);
    let span = info_span!(
        "webhook",
        delivery_id,
        event,
        action = tracing::field::Empty,
        installation_id = tracing::field::Empty,
        repo = tracing::field::Empty,
    );
    async move {
        let meta = match parse_meta(&body) {
            Ok(meta) => meta,
            Err(e) => {
                warn!(error = %e, "malformed webhook payload");
                return answer(label, "malformed", StatusCode::BAD_REQUEST, started);
            }
        };
        let span = tracing::Span::current();
        if let Some(action) = &meta.action {
            span.record("action", action.as_str());
        }
        if let Some(id) = &meta.installation_id {
            span.record("installation_id", id.0);
        }
        if let Some(repo) = &meta.repo {
            span.record("repo", tracing::field::display(repo));
        }
        let parsed = match parse_event(event, &body) {
            Ok(parsed) => parsed,
            Err(e) => {
                warn!(error = %e, "malformed webhook payload");
                return answer(label, "malformed", StatusCode::BAD_REQUEST, started);
            }
        };
        let now = Utc::now();
        let jobs: Vec<_> = parsed
            .as_ref()
            .map(jobs_for_event)
            .unwrap_or_default()
            .iter()
            .map(|job| job.to_new_job(&state.retry, now))
            .collect();
        let delivery = NewDelivery {
            delivery_id: delivery_id.to_owned(),
            event: event.to_owned(),
            action: meta.action.clone(),
            installation_id: meta.installation_id.map(|i| i.0),
            repo: meta.repo.map(|r| r.to_string()),
            received_at: now,
        };
        match state.store.record_delivery(&delivery, &jobs).await {
            Ok(RecordedDelivery::Duplicate) => {
                info!("duplicate delivery ignored");
                answer(label, "duplicate", StatusCode::OK, started)
            }
            Ok(RecordedDelivery::Accepted { job_ids }) if job_ids.is_empty() => {
                info!("delivery recorded; nothing to do");
                answer(label, "ignored", StatusCode::ACCEPTED, started)
            }
            Ok(RecordedDelivery::Accepted { job_ids }) => {
                info!(jobs = ?job_ids, "delivery recorded; jobs queued");
                state.wake_workers.notify_waiters();
                answer(label, "queued", StatusCode::ACCEPTED, started)
            }
            Err(e) => {
                error!(error = %e, "could not record delivery");
                answer(label, "error", StatusCode::SERVICE_UNAVAILABLE, started)
            }
        }
    }
    .instrument(span)
    .await
}

//! `GET /metrics`: Prometheus text. Counters and histograms are recorded where things happen;
//! queue depth is read from the store at scrape time so it is right across processes.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
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

/// Renders every metric, after refreshing the queue-depth gauges.
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
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

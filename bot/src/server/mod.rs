//! The HTTP server: the webhook route, health checks and metrics, with tracing layers.

pub mod health;
pub mod metrics;
pub mod signature;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use feedback::Store;
use feedback::queue::RetryPolicy;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tokio::sync::Notify;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// A request that takes longer than this is cut off, so graceful shutdown cannot hang on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What request handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Accepted webhook secrets.
    pub webhook_secrets: Arc<[SecretString]>,
    /// Retry policy stamped on enqueued jobs.
    pub retry: RetryPolicy,
    /// Wakes this process's idle workers when a delivery enqueues jobs.
    pub wake_workers: Arc<Notify>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    Router::new()
        .route(
            "/api/github/webhooks",
            post(webhook::receive).layer(DefaultBodyLimit::max(webhook::MAX_WEBHOOK_BYTES)),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                // The route, not the raw path, keeps span names low-cardinality.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::debug_span!("http.request", method = %request.method(), route, request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

//! `GET /healthz` (the process answers) and `GET /readyz` (the store answers too).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;

/// A readiness probe must answer before the platform's own timeout (fly.toml: 2 s).
const READY_TIMEOUT: Duration = Duration::from_millis(1500);

/// Liveness: if this answers, the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the store is reachable.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store timed out"),
    }
}

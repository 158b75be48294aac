//! Turns SIGINT and SIGTERM into one cancellation shared by the server and the workers.

use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut terminate) => {
                    tokio::select! {
                        _ = interrupt => tracing::info!("SIGINT: shutting down"),
                        _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; SIGINT only");
                    let _ = interrupt.await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
        token.cancel();
    });
}

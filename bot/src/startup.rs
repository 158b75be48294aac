//! The application as a value: build it (the listener is bound, so port 0 works), read its
//! port, run it until a cancellation token fires.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use feedback::Store;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::{ConfigError, ServeConfig};
use crate::github::{GitHubApp, GitHubError};
use crate::handlers::authz::AuthzCache;
use crate::handlers::{Context, Model};
use crate::jobs::scheduler;
use crate::jobs::worker::{Worker, WorkerSettings};
use crate::server::{self, AppState};

/// A built, bound, not yet running server with its workers.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
    workers: Vec<Worker>,
    settings: WorkerSettings,
}

/// Unique within and across processes: worker ids own leases.
fn worker_id(n: usize) -> String {
    let host = std::env::var("FLY_MACHINE_ID")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "reviewbot".into());
    format!(
        "{host}:{}:{n}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

impl Application {
    /// Connects to the store, applies migrations, binds the listener and prepares the workers.
    pub async fn build(config: &ServeConfig, settings: WorkerSettings) -> anyhow::Result<Self> {
        let store = Store::connect(config.database_url.expose())
            .await
            .with_context(|| format!("connect to {}", config.database_url.redacted()))?;
        // Idempotent; on Postgres sqlx serialises concurrent migrators with an advisory lock.
        store.migrate().await.context("apply migrations")?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("listen on {}", config.bind))?;
        let wake = Arc::new(Notify::new());
        let state = AppState {
            store: store.clone(),
            webhook_secrets: config.github.webhook_secrets.clone().into(),
            retry: settings.retry,
            wake_workers: wake.clone(),
            metrics: server::metrics::recorder(),
        };
        let github = GitHubApp::new(&config.github).map_err(|e| match e {
            GitHubError::InvalidKey(why) => anyhow::Error::new(ConfigError {
                variable: config.github.private_key_source,
                problem: format!("not a usable RSA private key: {why}"),
            }),
            other => anyhow::Error::new(other).context("set up the GitHub App client"),
        })?;
        let model = config
            .model
            .as_ref()
            .map(Model::new)
            .transpose()
            .context("set up the model client")?;
        let ctx = Arc::new(Context {
            store,
            github,
            model,
            retry: settings.retry,
            security_reviewers: config.security_reviewers.clone(),
            authz: AuthzCache::default(),
        });
        let workers = (0..config.workers)
            .map(|n| Worker::new(worker_id(n), ctx.clone(), settings.clone(), wake.clone()))
            .collect();
        Ok(Application {
            listener,
            state,
            workers,
            settings,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves and works until `shutdown` is cancelled; then stops accepting connections, lets
    /// workers finish or release their jobs, and closes the store.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application {
            listener,
            state,
            workers,
            settings,
        } = self;
        let store = state.store.clone();
        info!(addr = %listener.local_addr()?, workers = workers.len(), "serving");
        let mut tasks = tokio::task::JoinSet::new();
        for worker in workers {
            tasks.spawn(worker.run(shutdown.clone()));
        }
        if !settings.reaction_poll.is_zero() {
            tasks.spawn(scheduler::run(
                store.clone(),
                settings.retry,
                settings.reaction_poll,
                state.wake_workers.clone(),
                shutdown.clone(),
            ));
        }
        let served = axum::serve(listener, server::router(state))
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        // The server can also stop on its own (an accept error): stop the workers then too.
        shutdown.cancel();
        while tasks.join_next().await.is_some() {}
        store.close().await;
        info!("stopped");
        served.context("HTTP server")
    }
}

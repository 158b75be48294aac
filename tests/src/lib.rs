//! End-to-end test harness: the real reviewbot server on a loopback port (in-process or as the
//! real binary), real databases, and signed deliveries over real HTTP.

pub mod fake_azure;
pub mod fake_github;
pub mod git;
pub mod process;

use std::net::SocketAddr;
use std::time::Duration;

use bot::config::ServeConfig;
use bot::jobs::worker::WorkerSettings;
use bot::startup::Application;
use fake_github::FakeGitHub;
use feedback::queue::RetryPolicy;
use feedback::testing::TestDatabase;
use feedback::{JobRecord, JobState, Store};
use tokio_util::sync::CancellationToken;

/// The webhook secret every test app is configured with.
pub const WEBHOOK_SECRET: &str = "e2e-webhook-secret";
/// Every wait in the harness gives up after this, with a message saying what it waited for.
pub const WAIT: Duration = Duration::from_secs(30);
/// Retries in milliseconds rather than minutes, so failure scenarios finish quickly.
pub const TEST_RETRY: RetryPolicy = RetryPolicy {
    base: Duration::from_millis(20),
    max: Duration::from_millis(100),
    max_attempts: 3,
};

/// Installs rustls's ring provider once (reqwest is built without a default provider).
pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads a fixture file under `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("read fixture {full}: {e}"))
}

/// A GitHub webhook payload fixture: `github/webhooks/<event>/<file>`.
pub fn webhook_fixture(event: &str, file: &str) -> Vec<u8> {
    fixture(&format!("github/webhooks/{event}/{file}"))
}

/// `X-Hub-Signature-256` for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    bot::server::signature::sign(secret, body)
}

/// Which database backs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the test Postgres.
    Postgres,
}

impl Backend {
    /// A new database; `None` when Postgres is unavailable and not required.
    pub async fn database(self) -> Option<TestDatabase> {
        match self {
            Backend::Sqlite => Some(TestDatabase::sqlite()),
            Backend::Postgres => TestDatabase::postgres().await,
        }
    }
}

/// Generates `<name>::sqlite` and `<name>::postgres` tests from one `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await;
            }
        })+
    };
}

/// Environment for a `reviewbot serve` under test, talking to `github`.
pub fn serve_env(database_url: &str, github: &FakeGitHub) -> Vec<(String, String)> {
    [
        ("DATABASE_URL", database_url),
        ("REVIEWBOT_BIND", "127.0.0.1:0"),
        ("GITHUB_APP_ID", &github.app_id().to_string()),
        ("GITHUB_PRIVATE_KEY", github.private_key_pem()),
        (
            "GITHUB_WEBHOOK_SECRET",
            &format!("retired-secret,{WEBHOOK_SECRET}"),
        ),
        ("GITHUB_API_URL", &github.url()),
        ("REVIEWBOT_WORKERS", "2"),
        // Paced like production, on a shorter interval so scenarios stay quick.
        ("REVIEWBOT_GITHUB_WRITE_INTERVAL_MS", "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The Azure deployment name scenarios configure.
pub const DEPLOYMENT: &str = "review";

/// Environment pointing `reviewbot` at `azure` as its Azure OpenAI endpoint.
pub fn azure_env(azure: &fake_azure::FakeAzure) -> Vec<(String, String)> {
    [
        ("AZURE_OPENAI_ENDPOINT", azure.url()),
        ("AZURE_OPENAI_API_KEY", fake_azure::API_KEY.to_owned()),
        ("AZURE_OPENAI_DEPLOYMENT", DEPLOYMENT.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The real server and workers, in this process, on a loopback port.
#[derive(Debug)]
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The same store it uses, for assertions.
    pub store: Store,
    /// The fake GitHub it talks to.
    pub github: FakeGitHub,
    /// An HTTP client.
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    db: TestDatabase,
}

impl TestApp {
    /// Builds and starts the application on `db`, with a fresh fake GitHub and no model.
    pub async fn spawn(db: TestDatabase) -> TestApp {
        Self::spawn_with(db, None).await
    }

    /// [`TestApp::spawn`], using `azure` as the model when given.
    pub async fn spawn_with(db: TestDatabase, azure: Option<&fake_azure::FakeAzure>) -> TestApp {
        init();
        let github = FakeGitHub::start().await;
        let mut env = serve_env(db.url(), &github);
        env.extend(azure.map(azure_env).unwrap_or_default());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let config = ServeConfig::from_env(&env).expect("test configuration is valid");
        let settings = WorkerSettings {
            lease: Duration::from_secs(5),
            retry: TEST_RETRY,
            ..WorkerSettings::default()
        };
        let app = Application::build(&config, settings)
            .await
            .expect("application builds");
        let addr = app.local_addr().expect("bound");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let store = db.store().await;
        TestApp {
            addr,
            store,
            github,
            http: reqwest::Client::new(),
            shutdown,
            server,
            db,
        }
    }

    /// The database it runs on.
    pub fn database(&self) -> &TestDatabase {
        &self.db
    }

    /// A URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Posts a correctly signed delivery; returns the status.
    pub async fn deliver(
        &self,
        event: &str,
        delivery_id: &str,
        body: &[u8],
    ) -> reqwest::StatusCode {
        self.http
            .post(self.url("/api/github/webhooks"))
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", delivery_id)
            .header("X-Hub-Signature-256", sign(WEBHOOK_SECRET, body))
            .header("Content-Type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("webhook request")
            .status()
    }

    /// Waits until `job` reaches `state`.
    pub async fn wait_for_job(&self, job: feedback::JobId, state: JobState) -> JobRecord {
        wait_for_job(&self.store, job, state).await
    }

    /// Stops the server and workers and waits for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.server)
            .await
            .expect("server stops within the wait")
            .expect("server task")
            .expect("server ran cleanly");
        self.store.close().await;
    }
}

/// Polls the store until `job` reaches `state` (jobs run in other tasks or processes).
pub async fn wait_for_job(store: &Store, job: feedback::JobId, state: JobState) -> JobRecord {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let record = store.get_job(job).await.expect("read job");
        if record.state == state {
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {job} never reached {state:?}; last seen: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

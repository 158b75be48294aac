//! Webhook intake benchmark: signed deliveries from a load generator over loopback HTTP to the
//! real server (router, signature check, parsing, one transaction per delivery), on SQLite and
//! Postgres. Reports deliveries/s at saturation and p50/p99 latency at a fixed 1,000/s.
//!
//! Run: `cargo bench -p e2e --bench webhooks` (Postgres as the tests find it; set
//! `BENCH_SECONDS` to change each phase's length, `BENCH_BACKENDS=sqlite` to skip Postgres).
//! The fixed-rate phase is open-loop: latency counts from each request's scheduled send time,
//! so a stalled server cannot hide its queueing (no coordinated omission). Both databases are
//! durable: SQLite with `synchronous=FULL` on disk, Postgres with fsync and synchronous commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use e2e::{Backend, TestApp, WEBHOOK_SECRET, sign, webhook_fixture};

const CONCURRENCY: usize = 64;

struct Load {
    url: String,
    body: bytes_body::Body,
    signature: String,
    client: reqwest::Client,
    next_id: AtomicU64,
    run: u64,
}

mod bytes_body {
    /// The payload, shared without copying.
    pub type Body = std::sync::Arc<Vec<u8>>;
}

impl Load {
    async fn send(&self) -> (Duration, bool) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let response = self
            .client
            .post(&self.url)
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", format!("bench-{}-{id}", self.run))
            .header("X-Hub-Signature-256", &self.signature)
            .header("Content-Type", "application/json")
            .body(self.body.as_ref().clone())
            .send()
            .await;
        let ok = matches!(&response, Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED);
        (started.elapsed(), ok)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn saturate(load: Arc<Load>, seconds: u64) -> (f64, Vec<Duration>, u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let (latency, ok) = load.send().await;
                latencies.push(latency);
                failures += u64::from(!ok);
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (latencies, failed) = task.await.expect("load task");
        all.extend(latencies);
        failures += failed;
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort();
    (rate, all, failures)
}

async fn fixed_rate(load: Arc<Load>, per_second: u64, seconds: u64) -> (Vec<Duration>, u64) {
    let total = per_second * seconds;
    let interval = Duration::from_secs_f64(1.0 / per_second as f64);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let scheduled = start + interval * n as u32;
        tokio::time::sleep_until(scheduled).await;
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            let (_, ok) = load.send().await;
            // From the scheduled time, not the send time: queueing counts as latency.
            (scheduled.elapsed(), ok)
        }));
    }
    let mut all = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for task in tasks {
        let (latency, ok) = task.await.expect("load task");
        all.push(latency);
        failures += u64::from(!ok);
    }
    all.sort();
    (all, failures)
}

fn main() {
    e2e::init();
    // A Postgres this process starts keeps fsync on, like production (an external one, from
    // REVIEWBOT_TEST_POSTGRES_URL, is measured as configured).
    feedback::testing::durable_postgres();
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    // The server gets its own runtime and threads; the load generator another, as two
    // processes would (both share this machine's cores, as they would on one small VM).
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "webhook intake: pull_request/synchronize ({} bytes), {CONCURRENCY} connections, {seconds} s phases",
        webhook_fixture("pull_request", "synchronize.payload.json").len()
    );
    println!(
        "| backend | saturated deliveries/s | p50 | p99 | at 1,000/s: p50 | p99 | max | failures |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (run, name) in backends.split(',').map(str::trim).enumerate() {
        let backend = match name {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}"),
        };
        let Some(db) = server_rt.block_on(backend.database()) else {
            println!("| {name} | skipped: no Postgres | | | | | | |");
            continue;
        };
        let app = server_rt.block_on(TestApp::spawn(db));
        let body = webhook_fixture("pull_request", "synchronize.payload.json");
        let load = Arc::new(Load {
            url: app.url("/api/github/webhooks"),
            signature: sign(WEBHOOK_SECRET, &body),
            body: Arc::new(body),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(CONCURRENCY * 2)
                .build()
                .unwrap(),
            next_id: AtomicU64::new(0),
            run: run as u64,
        });
        let (rate, saturated, failed_a) = load_rt.block_on(saturate(load.clone(), seconds));
        let (steady, failed_b) = load_rt.block_on(fixed_rate(load.clone(), 1000, seconds));
        let recorded = server_rt
            .block_on(app.store.list_jobs(None))
            .map(|j| j.len())
            .unwrap_or(0);
        println!(
            "| {name} | {rate:.0} | {} | {} | {} | {} | {} | {} |",
            ms(percentile(&saturated, 50.0)),
            ms(percentile(&saturated, 99.0)),
            ms(percentile(&steady, 50.0)),
            ms(percentile(&steady, 99.0)),
            ms(*steady.last().unwrap_or(&Duration::ZERO)),
            failed_a + failed_b,
        );
        let sent = saturated.len() + steady.len();
        assert_eq!(
            recorded,
            sent - (failed_a + failed_b) as usize,
            "every accepted delivery was recorded with its job"
        );
        server_rt.block_on(app.stop());
    }
}

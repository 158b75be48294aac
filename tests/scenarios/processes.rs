//! The real `reviewbot` binary as operators run it: killed with a job in flight, stopped with
//! SIGTERM, and two processes sharing one Postgres.

use std::time::Duration;

use bot::events::RepositorySelection;
use e2e::fake_github::{FakeGitHub, Gate, route};
use e2e::process::ServeProcess;
use e2e::{
    Backend, WEBHOOK_SECRET, on_both_backends, serve_env, sign, wait_for_job, webhook_fixture,
};
use feedback::testing::TestDatabase;
use feedback::{JobRecord, JobState, Store};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    killed_process_job_is_finished_exactly_once_after_restart,
    sigterm_lets_the_job_in_hand_finish_within_the_grace_period,
    sigterm_releases_a_job_that_outlasts_the_grace_period,
);

const INSTALLATION: i64 = 957_387;

async fn world() -> FakeGitHub {
    e2e::init();
    let github = FakeGitHub::start().await;
    github.add_installation(INSTALLATION, "octocat", RepositorySelection::Selected);
    github.add_repository(INSTALLATION, 1, "octocat/hello-world");
    github
}

fn env(db: &TestDatabase, github: &FakeGitHub, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = serve_env(db.url(), github);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

async fn deliver(process: &ServeProcess, delivery: &str, body: &[u8]) {
    let status = reqwest::Client::new()
        .post(process.url("/api/github/webhooks"))
        .header("X-GitHub-Event", "installation")
        .header("X-GitHub-Delivery", delivery)
        .header("X-Hub-Signature-256", sign(WEBHOOK_SECRET, body))
        .body(body.to_vec())
        .send()
        .await
        .expect("deliver")
        .status();
    assert_eq!(status, StatusCode::ACCEPTED);
}

/// Starts `reviewbot serve`, delivers an installation event and returns once its job is inside
/// its GitHub call, held there by the gate.
async fn job_inside_github_call(
    env: &[(String, String)],
    github: &FakeGitHub,
    delivery: &str,
) -> (ServeProcess, Gate) {
    let gate = github.hold(route::LIST_INSTALLATION_REPOS);
    let process = ServeProcess::start(env).await;
    deliver(
        &process,
        delivery,
        &webhook_fixture("installation", "created.payload.json"),
    )
    .await;
    gate.arrived().await;
    (process, gate)
}

async fn only_job(store: &Store) -> JobRecord {
    let jobs = store.list_jobs(None).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs.into_iter().next().unwrap()
}

async fn killed_process_job_is_finished_exactly_once_after_restart(backend: Backend) {
    let Some(db) = backend.database().await else {
        return;
    };
    let github = world().await;
    let env = env(&db, &github, &[("REVIEWBOT_JOB_LEASE_SECONDS", "3")]);
    let store = db.store().await;

    // The job stops inside its GitHub call, and the process dies there.
    let (first, gate) = job_inside_github_call(&env, &github, "kill-1").await;
    let in_flight = only_job(&store).await;
    assert_eq!(
        (in_flight.state, in_flight.attempts),
        (JobState::Running, 1)
    );
    first.kill_9().await;
    gate.release();
    assert_eq!(
        store
            .get_installation(INSTALLATION)
            .await
            .unwrap()
            .map(|i| i.id),
        Some(INSTALLATION)
    );
    assert!(
        store
            .list_installation_repositories(INSTALLATION)
            .await
            .unwrap()
            .is_empty(),
        "not finished"
    );

    // A new process on the same database takes the job over once the lease runs out.
    let second = ServeProcess::start(&env).await;
    let done = wait_for_job(&store, in_flight.id, JobState::Done).await;
    assert_eq!(
        done.attempts, 2,
        "one attempt died with the process, one finished"
    );
    assert_eq!(
        store
            .list_installation_repositories(INSTALLATION)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(github.request_count(route::LIST_INSTALLATION_REPOS), 2);
    assert_eq!(
        store.list_jobs(None).await.unwrap().len(),
        1,
        "nothing was enqueued twice"
    );

    // And it does not run again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(github.request_count(route::LIST_INSTALLATION_REPOS), 2);
    let (status, logs) = second.terminate().await;
    assert!(status.success(), "{status}: {}", logs.join("\n"));
    store.close().await;
}

async fn sigterm_lets_the_job_in_hand_finish_within_the_grace_period(backend: Backend) {
    let Some(db) = backend.database().await else {
        return;
    };
    let github = world().await;
    let env = env(&db, &github, &[("REVIEWBOT_SHUTDOWN_GRACE_SECONDS", "20")]);
    let store = db.store().await;
    let (process, gate) = job_inside_github_call(&env, &github, "term-1").await;

    let stopping = tokio::spawn(process.terminate());
    // Let the signal land, then let GitHub answer: the job completes during the grace period.
    tokio::time::sleep(Duration::from_millis(300)).await;
    gate.release();
    let (status, logs) = stopping.await.unwrap();
    assert!(status.success(), "{status}: {}", logs.join("\n"));
    assert!(
        logs.iter().any(|l| l.contains("SIGTERM")),
        "{}",
        logs.join("\n")
    );
    let job = only_job(&store).await;
    assert_eq!((job.state, job.attempts), (JobState::Done, 1));
    assert_eq!(
        store
            .list_installation_repositories(INSTALLATION)
            .await
            .unwrap()
            .len(),
        1
    );
    store.close().await;
}

async fn sigterm_releases_a_job_that_outlasts_the_grace_period(backend: Backend) {
    let Some(db) = backend.database().await else {
        return;
    };
    let github = world().await;
    let env = env(&db, &github, &[("REVIEWBOT_SHUTDOWN_GRACE_SECONDS", "1")]);
    let store = db.store().await;
    let (process, gate) = job_inside_github_call(&env, &github, "term-2").await;
    let (status, logs) = process.terminate().await;
    assert!(status.success(), "{status}: {}", logs.join("\n"));
    gate.release();
    let released = only_job(&store).await;
    assert_eq!(
        (released.state, released.attempts, released.lease_owner),
        (JobState::Queued, 0, None),
        "given back without spending an attempt"
    );

    // The next process picks it up at once (no lease to wait for) and finishes it.
    let next = ServeProcess::start(&env).await;
    let done = wait_for_job(&store, released.id, JobState::Done).await;
    assert_eq!(done.attempts, 1);
    next.terminate().await;
    store.close().await;
}

/// Two processes on one Postgres share the work and never run a job twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_share_jobs_without_running_any_twice() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let github = world().await;
    const INSTALLATIONS: i64 = 24;
    for id in 1..=INSTALLATIONS {
        github.add_installation(id, &format!("org-{id}"), RepositorySelection::Selected);
        github.add_repository(id, 1000 + id, &format!("org-{id}/repo"));
    }
    // Slow enough that jobs overlap and both processes are busy at once.
    github.set_delay(route::LIST_INSTALLATION_REPOS, Duration::from_millis(150));
    let env = env(&db, &github, &[]);
    let store = db.store().await;
    let mut a = ServeProcess::start(&env).await;
    let mut b = ServeProcess::start(&env).await;

    let template: Value =
        serde_json::from_slice(&webhook_fixture("installation", "created.payload.json")).unwrap();
    for id in 1..=INSTALLATIONS {
        let mut body = template.clone();
        body["installation"]["id"] = Value::from(id);
        let body = serde_json::to_vec(&body).unwrap();
        // Alternate the receiving process; either may run the job.
        let target = if id % 2 == 0 { &a } else { &b };
        deliver(target, &format!("pair-{id}"), &body).await;
    }
    let jobs = store.list_jobs(None).await.unwrap();
    assert_eq!(jobs.len(), INSTALLATIONS as usize);
    for job in &jobs {
        let done = wait_for_job(&store, job.id, JobState::Done).await;
        assert_eq!(done.attempts, 1, "job {} ran more than once", job.id);
    }
    assert_eq!(
        github.request_count(route::LIST_INSTALLATION_REPOS),
        INSTALLATIONS as usize
    );
    for id in 1..=INSTALLATIONS {
        assert_eq!(
            store
                .list_installation_repositories(id)
                .await
                .unwrap()
                .len(),
            1,
            "installation {id}"
        );
    }

    let done_by = |process: &mut ServeProcess| {
        process
            .drain_logs()
            .iter()
            .filter(|l| l.contains("\"job done\""))
            .count()
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (by_a, by_b) = (done_by(&mut a), done_by(&mut b));
    assert_eq!(
        by_a + by_b,
        INSTALLATIONS as usize,
        "every job finished exactly once"
    );
    assert!(
        by_a > 0 && by_b > 0,
        "both processes worked: {by_a} and {by_b}"
    );
    a.terminate().await;
    b.terminate().await;
    store.close().await;
}

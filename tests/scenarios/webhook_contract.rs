//! Every row of DESIGN.md's HTTP table, over real HTTP to the real server, on both backends.

use e2e::fake_github::route;
use e2e::{Backend, TestApp, WEBHOOK_SECRET, on_both_backends, sign, webhook_fixture};
use reqwest::StatusCode;

on_both_backends!(
    webhook_answers_each_row_of_the_http_table,
    every_recorded_github_payload_is_accepted_with_the_jobs_it_implies,
    health_readiness_and_metrics_answer,
);

async fn app(backend: Backend) -> Option<TestApp> {
    let db = backend.database().await?;
    Some(TestApp::spawn(db).await)
}

async fn post(
    app: &TestApp,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (StatusCode, String) {
    let mut request = app.http.post(app.url("/api/github/webhooks"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(body).send().await.expect("request");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

async fn webhook_answers_each_row_of_the_http_table(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    // GitHub does not answer the workers for the whole test: every webhook answer below
    // arrives anyway, so none waits on a call to GitHub.
    let github_blocked = app.github.hold(route::CREATE_INSTALLATION_TOKEN);
    let body = webhook_fixture("pull_request", "opened.payload.json");
    let good = sign(WEBHOOK_SECRET, &body);

    // 401: missing, malformed, and wrong signatures; nothing is recorded.
    let base = [
        ("X-GitHub-Event", "pull_request"),
        ("X-GitHub-Delivery", "d-401"),
    ];
    assert_eq!(
        post(&app, &base, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let wrong = sign("not-our-secret", &body);
    for signature in [wrong.as_str(), "sha256=nothex", "sha1=0123"] {
        let headers = [base[0], base[1], ("X-Hub-Signature-256", signature)];
        assert_eq!(
            post(&app, &headers, body.clone()).await.0,
            StatusCode::UNAUTHORIZED,
            "{signature}"
        );
    }
    // A body changed after signing is refused too.
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let headers = [base[0], base[1], ("X-Hub-Signature-256", good.as_str())];
    assert_eq!(
        post(&app, &headers, tampered).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(!app.store.delivery_exists("d-401").await.unwrap());

    // 413: over 25 MB, whatever the signature.
    let huge = vec![b' '; 25 * 1024 * 1024 + 1];
    let huge_sig = sign(WEBHOOK_SECRET, &huge);
    let headers = [
        ("X-GitHub-Event", "ping"),
        ("X-GitHub-Delivery", "d-413"),
        ("X-Hub-Signature-256", huge_sig.as_str()),
    ];
    assert_eq!(
        post(&app, &headers, huge).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(!app.store.delivery_exists("d-413").await.unwrap());

    // 400: signed but not JSON, JSON missing a field we need, or no delivery id.
    let garbage = b"{not json".to_vec();
    let garbage_sig = sign(WEBHOOK_SECRET, &garbage);
    let headers = [
        ("X-GitHub-Event", "pull_request"),
        ("X-GitHub-Delivery", "d-400"),
        ("X-Hub-Signature-256", garbage_sig.as_str()),
    ];
    assert_eq!(
        post(&app, &headers, garbage).await.0,
        StatusCode::BAD_REQUEST
    );
    let mut value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    value["pull_request"]["head"]
        .as_object_mut()
        .unwrap()
        .remove("sha");
    let incomplete = serde_json::to_vec(&value).unwrap();
    let incomplete_sig = sign(WEBHOOK_SECRET, &incomplete);
    let headers = [
        ("X-GitHub-Event", "pull_request"),
        ("X-GitHub-Delivery", "d-400b"),
        ("X-Hub-Signature-256", incomplete_sig.as_str()),
    ];
    let (status, text) = post(&app, &headers, incomplete).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let headers = [
        ("X-GitHub-Event", "pull_request"),
        ("X-Hub-Signature-256", good.as_str()),
    ];
    assert_eq!(
        post(&app, &headers, body.clone()).await.0,
        StatusCode::BAD_REQUEST
    );
    for id in ["d-400", "d-400b"] {
        assert!(
            !app.store.delivery_exists(id).await.unwrap(),
            "{id} must not be recorded"
        );
    }

    // 202: recorded, with its review job queued in the same transaction.
    assert_eq!(
        app.deliver("pull_request", "d-202", &body).await,
        StatusCode::ACCEPTED
    );
    let jobs = app.store.list_jobs(None).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, "review");
    assert_eq!(jobs[0].delivery_id.as_deref(), Some("d-202"));

    // 200: GitHub redelivers with the same id; nothing new is enqueued.
    assert_eq!(
        app.deliver("pull_request", "d-202", &body).await,
        StatusCode::OK
    );
    assert_eq!(app.store.list_jobs(None).await.unwrap().len(), 1);

    // 202: a secret being rotated out still verifies.
    let old = sign("retired-secret", &body);
    let headers = [
        ("X-GitHub-Event", "pull_request"),
        ("X-GitHub-Delivery", "d-rotated"),
        ("X-Hub-Signature-256", old.as_str()),
    ];
    assert_eq!(
        post(&app, &headers, body.clone()).await.0,
        StatusCode::ACCEPTED
    );

    // 202: events we do not act on are recorded and answered, with no job.
    let ping = webhook_fixture("ping", "payload.json");
    assert_eq!(
        app.deliver("ping", "d-ping", &ping).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.deliver("deployment", "d-unknown", br#"{"action":"created"}"#)
            .await,
        StatusCode::ACCEPTED
    );
    assert!(app.store.delivery_exists("d-unknown").await.unwrap());
    assert_eq!(app.store.list_jobs(None).await.unwrap().len(), 2);

    // The only GitHub calls are the workers' (held, unanswered) token requests.
    assert!(
        app.github
            .requests()
            .iter()
            .all(|r| r.route.as_deref() == Some(route::CREATE_INSTALLATION_TOKEN)),
        "{:?}",
        app.github.requests()
    );
    github_blocked.release();
    app.stop().await;
}

async fn every_recorded_github_payload_is_accepted_with_the_jobs_it_implies(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    // (event, file, jobs implied). GitHub's examples: ready_for_review has no installation,
    // the review comment is top-level (not a reply), the issue comments are on issues.
    let cases = [
        ("ping", "payload.json", 0),
        ("pull_request", "opened.payload.json", 1),
        ("pull_request", "reopened.payload.json", 1),
        ("pull_request", "synchronize.payload.json", 1),
        ("pull_request", "ready_for_review.payload.json", 0),
        ("pull_request", "closed.payload.json", 1),
        ("pull_request_review_comment", "created.payload.json", 0),
        ("pull_request_review_comment", "edited.payload.json", 0),
        ("pull_request_review", "submitted.payload.json", 0),
        ("pull_request_review_thread", "resolved.payload.json", 1),
        ("issue_comment", "created.payload.json", 0),
        ("issue_comment", "created.with-installation.payload.json", 0),
        ("installation", "created.payload.json", 1),
        ("installation_repositories", "added.payload.json", 1),
    ];
    let mut expected = 0;
    for (n, (event, file, jobs)) in cases.iter().enumerate() {
        let body = webhook_fixture(event, file);
        let delivery = format!("fixture-{n}");
        assert_eq!(
            app.deliver(event, &delivery, &body).await,
            StatusCode::ACCEPTED,
            "{event}/{file}"
        );
        expected += jobs;
        let recorded = app.store.list_jobs(None).await.unwrap();
        let mine = recorded
            .iter()
            .filter(|j| j.delivery_id.as_deref() == Some(delivery.as_str()))
            .count();
        assert_eq!(mine, *jobs, "{event}/{file}");
    }
    assert_eq!(app.store.list_jobs(None).await.unwrap().len(), expected);
    app.stop().await;
}

async fn health_readiness_and_metrics_answer(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let get = |path: &str| app.http.get(app.url(path)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/readyz").await.unwrap().status(), StatusCode::OK);
    let body = webhook_fixture("pull_request", "opened.payload.json");
    app.deliver("pull_request", "m-1", &body).await;
    app.deliver("pull_request", "m-1", &body).await;
    let response = get("/metrics").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().get("x-request-id").is_some(),
        "request ids are propagated"
    );
    let text = response.text().await.unwrap();
    for expected in [
        "reviewbot_webhook_deliveries_total{event=\"pull_request\",outcome=\"queued\"}",
        "reviewbot_webhook_deliveries_total{event=\"pull_request\",outcome=\"duplicate\"}",
        "reviewbot_queue_jobs{state=\"queued\"}",
        "reviewbot_webhook_duration_seconds_bucket",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from /metrics:\n{text}"
        );
    }
    app.stop().await;
}

/// A database outage: not ready, deliveries refused with 503 (GitHub shows them failed, to be
/// redelivered) and nothing half-recorded; when the database is back, so is the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_answers_503_and_recovers() {
    let Some(db) = Backend::Postgres.database().await else {
        return;
    };
    let app = TestApp::spawn(db).await;
    let control = app.database();
    let body = webhook_fixture("pull_request", "opened.payload.json");
    control.set_reachable(false).await;
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.deliver("pull_request", "outage-1", &body).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "alive, just not ready"
    );

    control.set_reachable(true).await;
    let deadline = tokio::time::Instant::now() + e2e::WAIT;
    while app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        != StatusCode::OK
    {
        assert!(tokio::time::Instant::now() < deadline, "never ready again");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // GitHub's redelivery of the refused delivery now lands, once.
    assert_eq!(
        app.deliver("pull_request", "outage-1", &body).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(app.store.list_jobs(None).await.unwrap().len(), 1);
    app.stop().await;
}

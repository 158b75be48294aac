//! The real `GitHubApp` against the fake, and the fake's own checks (JWTs, tokens, contract).

use std::time::{Duration, Instant};

use bot::config::GitHubConfig;
use bot::events::RepositorySelection;
use bot::github::ids::{InstallationId, RepoId};
use bot::github::{GitHubApp, GitHubError};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use super::*;

fn app_with_key(fake: &FakeGitHub, pem: &str) -> GitHubApp {
    bot::github::install_crypto_provider();
    GitHubApp::new(&GitHubConfig {
        app_id: fake.app_id(),
        private_key: SecretString::from(pem.to_owned()),
        private_key_source: "GITHUB_PRIVATE_KEY",
        webhook_secrets: vec![],
        api_url: Url::parse(&fake.url()).unwrap(),
        write_interval: std::time::Duration::ZERO,
    })
    .unwrap()
}

fn app(fake: &FakeGitHub) -> GitHubApp {
    app_with_key(fake, fake.private_key_pem())
}

/// A world with installation 42 on `octo-org` holding `repos` repositories (ids 1001…).
async fn fake_with_repos(prefix: &str, repos: i64) -> FakeGitHub {
    let fake = FakeGitHub::start_with_prefix(prefix).await;
    fake.add_installation(42, "octo-org", RepositorySelection::Selected);
    for i in 0..repos {
        fake.add_repository(42, 1001 + i, &format!("Octo-Org/Repo-{i:03}"));
    }
    fake
}

/// An App JWT signed with the test key and the given lifetime, built by hand.
fn jwt(iat_offset: i64, exp_offset: i64, iss: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "iat": now + iat_offset, "exp": now + exp_offset, "iss": iss });
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(TEST_APP_KEY_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .unwrap()
}

fn http() -> reqwest::Client {
    bot::github::install_crypto_provider();
    reqwest::Client::new()
}

#[tokio::test]
async fn bot_login_is_slug_with_bot_suffix_and_fetched_once() {
    let fake = FakeGitHub::start().await;
    let app = app(&fake);

    assert_eq!(app.bot_login().await.unwrap(), "reviewbot-test[bot]");
    assert_eq!(app.bot_login().await.unwrap(), fake.bot_login());

    let requests = fake.requests_to(route::GET_APP);
    assert_eq!(requests.len(), 1, "cached after the first success");
    assert_eq!(requests[0].auth_kind, AuthKind::Jwt);
    fake.assert_no_surprises();
}

#[tokio::test]
async fn installation_found_suspended_and_missing() {
    let fake = FakeGitHub::start().await;
    fake.add_installation(42, "octo-org", RepositorySelection::All);
    let app = app(&fake);

    let info = app.installation(InstallationId(42)).await.unwrap().unwrap();
    assert_eq!(info.id, InstallationId(42));
    assert_eq!(info.account_login, "octo-org");
    assert_eq!(info.account_type, "Organization");
    assert_eq!(info.repository_selection, RepositorySelection::All);
    assert!(!info.suspended);

    fake.suspend_installation(42);
    let info = app.installation(InstallationId(42)).await.unwrap().unwrap();
    assert!(info.suspended);

    assert_eq!(app.installation(InstallationId(7)).await.unwrap(), None);
    fake.assert_no_surprises();
}

#[tokio::test]
async fn list_repositories_follows_pages_to_the_end() {
    let fake = fake_with_repos("", 250).await;
    let app = app(&fake);

    let client = app.client(InstallationId(42)).await.unwrap();
    let (selection, repos) = client.list_repositories().await.unwrap();

    assert_eq!(selection, RepositorySelection::Selected);
    assert_eq!(repos.len(), 250);
    assert_eq!(repos[0].id, RepoId(1001));
    assert_eq!(repos[0].name.to_string(), "octo-org/repo-000");
    assert_eq!(repos[249].id, RepoId(1250));
    let pages = fake.requests_to(route::LIST_INSTALLATION_REPOS);
    let queries: Vec<_> = pages.iter().map(|r| r.query.clone().unwrap()).collect();
    assert_eq!(
        queries,
        [
            "per_page=100&page=1",
            "per_page=100&page=2",
            "per_page=100&page=3"
        ]
    );
    assert!(pages.iter().all(|r| r.auth_kind == AuthKind::Token));
    fake.assert_no_surprises();
}

#[tokio::test]
async fn list_repositories_respects_an_enterprise_path_prefix() {
    let fake = fake_with_repos("/api/v3", 101).await;
    assert!(fake.url().ends_with("/api/v3"));
    let app = app(&fake);

    assert_eq!(app.bot_login().await.unwrap(), "reviewbot-test[bot]");
    let client = app.client(InstallationId(42)).await.unwrap();
    let (_, repos) = client.list_repositories().await.unwrap();

    assert_eq!(repos.len(), 101);
    let paths: Vec<_> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/api/v3/app",
            "/api/v3/app/installations/42/access_tokens",
            "/api/v3/installation/repositories",
            "/api/v3/installation/repositories",
        ]
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn client_reuses_one_installation_token_across_calls() {
    let fake = fake_with_repos("", 3).await;
    let app = app(&fake);

    let first = app.client(InstallationId(42)).await.unwrap();
    first.list_repositories().await.unwrap();
    let second = app.clone().client(InstallationId(42)).await.unwrap();
    second.list_repositories().await.unwrap();
    first.list_repositories().await.unwrap();

    assert_eq!(fake.request_count(route::CREATE_INSTALLATION_TOKEN), 1);
    assert_eq!(fake.request_count(route::LIST_INSTALLATION_REPOS), 3);
    fake.assert_no_surprises();
}

#[tokio::test]
async fn revoked_token_is_replaced_by_octocrab_on_401() {
    let fake = fake_with_repos("", 3).await;
    let app = app(&fake);
    let client = app.client(InstallationId(42)).await.unwrap();
    client.list_repositories().await.unwrap();

    fake.revoke_tokens();
    let (_, repos) = client.list_repositories().await.unwrap();

    assert_eq!(repos.len(), 3);
    // octocrab retries a 401 once itself, after minting a fresh token.
    assert_eq!(fake.request_count(route::CREATE_INSTALLATION_TOKEN), 2);
    assert_eq!(fake.request_count(route::LIST_INSTALLATION_REPOS), 3);
}

#[tokio::test]
async fn client_for_suspended_or_deleted_installation_fails_early() {
    let fake = fake_with_repos("", 1).await;
    fake.add_installation(43, "gone-org", RepositorySelection::All);
    fake.suspend_installation(42);
    fake.delete_installation(43);
    let app = app(&fake);

    let err = app.client(InstallationId(42)).await.unwrap_err();
    assert!(
        matches!(&err, GitHubError::Forbidden { message } if message.contains("suspended")),
        "{err:?}"
    );
    let err = app.client(InstallationId(43)).await.unwrap_err();
    assert_eq!(err, GitHubError::NotFound);
}

#[tokio::test]
async fn jwt_signed_with_another_key_is_refused() {
    let fake = FakeGitHub::start().await;
    fake.add_installation(42, "octo-org", RepositorySelection::All);
    let impostor = app_with_key(&fake, FOREIGN_KEY_PEM);

    assert_eq!(
        impostor.bot_login().await.unwrap_err(),
        GitHubError::Unauthorized
    );
    assert_eq!(
        impostor.client(InstallationId(42)).await.unwrap_err(),
        GitHubError::Unauthorized
    );
    assert_eq!(fake.requests().len(), 2);
    assert!(fake.requests().iter().all(|r| r.auth_kind == AuthKind::Jwt));
}

#[tokio::test]
async fn app_routes_refuse_missing_expired_overlong_and_foreign_issuer_jwts() {
    let fake = FakeGitHub::start().await;
    let http = http();
    let url = format!("{}/app", fake.url());
    let app_id = json!(fake.app_id());
    let cases = [
        ("missing", None),
        ("installation token", Some("token ghs_notajwt".to_owned())),
        (
            "expired",
            Some(format!("Bearer {}", jwt(-600, -10, app_id.clone()))),
        ),
        (
            "11 minutes",
            Some(format!("Bearer {}", jwt(-60, 600, app_id.clone()))),
        ),
        (
            "other app",
            Some(format!("Bearer {}", jwt(-60, 540, json!(1)))),
        ),
    ];
    for (case, authorization) in cases {
        let mut request = http.get(&url);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{case}");
        let body: Value = response.json().await.unwrap();
        assert!(body["message"].is_string() && body["documentation_url"].is_string());
    }

    // A string `iss` (other clients send one) is accepted, like a number.
    let response = http
        .get(&url)
        .bearer_auth(jwt(-60, 540, json!(fake.app_id().to_string())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn installation_routes_refuse_jwts_and_unknown_tokens() {
    let fake = fake_with_repos("", 1).await;
    let http = http();
    let url = format!("{}/installation/repositories", fake.url());
    for authorization in [
        format!("Bearer {}", jwt(-60, 540, json!(fake.app_id()))),
        "token ghs_madeup".to_owned(),
    ] {
        let response = http
            .get(&url)
            .header("authorization", authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
}

#[tokio::test]
async fn server_error_is_surfaced_without_retrying() {
    let fake = fake_with_repos("", 2).await;
    fake.fail_next(route::LIST_INSTALLATION_REPOS, 500, 1);
    let app = app(&fake);
    let client = app.client(InstallationId(42)).await.unwrap();

    let err = client.list_repositories().await.unwrap_err();
    assert_eq!(err, GitHubError::Server { status: 500 });
    assert!(err.is_retryable());
    assert_eq!(
        fake.request_count(route::LIST_INSTALLATION_REPOS),
        1,
        "no hidden retry"
    );

    let (_, repos) = client.list_repositories().await.unwrap();
    assert_eq!(repos.len(), 2);
}

#[tokio::test]
async fn secondary_rate_limit_carries_retry_after() {
    let fake = fake_with_repos("", 2).await;
    fake.fail_next(
        route::LIST_INSTALLATION_REPOS,
        Failure::secondary_rate_limit(Duration::from_secs(30)),
        1,
    );
    let app = app(&fake);
    let client = app.client(InstallationId(42)).await.unwrap();

    let err = client.list_repositories().await.unwrap_err();
    assert_eq!(
        err,
        GitHubError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
            reset_at: None
        }
    );
}

#[tokio::test]
async fn primary_rate_limit_on_the_token_route_carries_reset_time() {
    let fake = fake_with_repos("", 2).await;
    let reset_at =
        chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 600, 0).unwrap();
    fake.fail_next(
        route::CREATE_INSTALLATION_TOKEN,
        Failure::primary_rate_limit(reset_at),
        1,
    );
    let app = app(&fake);

    let err = app.client(InstallationId(42)).await.unwrap_err();
    assert_eq!(
        err,
        GitHubError::RateLimited {
            retry_after: None,
            reset_at: Some(reset_at)
        }
    );
    // The failed mint left nothing cached; the next call mints and works.
    let client = app.client(InstallationId(42)).await.unwrap();
    client.list_repositories().await.unwrap();
    assert_eq!(fake.request_count(route::CREATE_INSTALLATION_TOKEN), 2);
}

#[tokio::test]
async fn held_route_blocks_until_the_gate_is_released() {
    let fake = fake_with_repos("", 2).await;
    let app = app(&fake);
    let client = app.client(InstallationId(42)).await.unwrap();
    let gate = fake.hold(route::LIST_INSTALLATION_REPOS);

    let call = tokio::spawn(async move { client.list_repositories().await });
    gate.arrived().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!call.is_finished(), "the call must wait at the gate");
    assert_eq!(gate.arrivals(), 1);

    gate.release();
    let (_, repos) = call.await.unwrap().unwrap();
    assert_eq!(repos.len(), 2);
}

#[tokio::test]
async fn delayed_route_answers_after_the_delay() {
    let fake = fake_with_repos("", 1).await;
    let app = app(&fake);
    let client = app.client(InstallationId(42)).await.unwrap();
    fake.set_delay(route::LIST_INSTALLATION_REPOS, Duration::from_millis(200));

    let started = Instant::now();
    client.list_repositories().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));

    fake.set_delay(route::LIST_INSTALLATION_REPOS, Duration::ZERO);
    let started = Instant::now();
    client.list_repositories().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn unknown_routes_get_404_and_are_recorded_as_unexpected() {
    let fake = FakeGitHub::start().await;
    let http = http();

    let response = http
        .get(format!("{}/repos/o/r/issues/1/labels", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // A known path with the wrong method is just as unexpected.
    let response = http
        .delete(format!("{}/app", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let unexpected = fake.unexpected_requests();
    assert_eq!(unexpected.len(), 2);
    assert_eq!(unexpected[0].path, "/repos/o/r/issues/1/labels");
    assert_eq!(unexpected[1].method, "DELETE");
    assert!(unexpected.iter().all(|r| r.route.is_none()));
}

#[tokio::test]
async fn token_request_body_is_checked_against_github_description() {
    let fake = fake_with_repos("", 1).await;
    let http = http();
    let url = format!("{}/app/installations/42/access_tokens", fake.url());
    let token = jwt(-60, 540, json!(fake.app_id()));

    let response = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "repositories": "Hello-World" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let violations = fake.contract_violations();
    assert_eq!(violations.len(), 1);
    assert!(
        violations[0].contains("$.repositories: expected array"),
        "{violations:?}"
    );

    // GitHub's own example request body passes.
    let response = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "repositories": ["Hello-World"], "permissions": { "issues": "write", "contents": "read" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn token_response_matches_github_schema() {
    let fake = fake_with_repos("", 1).await;
    let response = http()
        .post(format!("{}/app/installations/42/access_tokens", fake.url()))
        .bearer_auth(jwt(-60, 540, json!(fake.app_id())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();

    openapi::check_response_body(
        "post",
        "/app/installations/{installation_id}/access_tokens",
        201,
        &body,
    )
    .unwrap();
    assert!(body["token"].as_str().unwrap().starts_with("ghs_"));
    let expires: chrono::DateTime<chrono::Utc> =
        body["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires - chrono::Utc::now();
    assert!(left > chrono::Duration::minutes(59) && left <= chrono::Duration::hours(1));
    assert_eq!(body["repository_selection"], "selected");
}

#[test]
fn validator_enforces_required_enum_nullable_and_additional_properties() {
    let schema = json!({
        "type": "object",
        "required": ["event"],
        "additionalProperties": false,
        "properties": {
            "event": { "type": "string", "enum": ["COMMENT", "APPROVE"] },
            "line": { "type": "integer", "nullable": true },
            "comments": { "type": "array", "maxItems": 1, "items": { "type": "string", "maxLength": 3 } }
        }
    });
    assert!(openapi::validate(&schema, &json!({ "event": "COMMENT", "line": null })).is_empty());
    let errors = openapi::validate(
        &schema,
        &json!({ "event": "NOPE", "line": 1.5, "extra": 1, "comments": ["abcd", "b"] }),
    );
    assert_eq!(errors.len(), 5, "{errors:#?}");
    let errors = openapi::validate(&schema, &json!({}));
    assert_eq!(errors, ["$: missing required property `event`"]);
}

#[test]
fn validator_resolves_refs_into_the_committed_subset() {
    let schema = json!({ "$ref": "#/components/schemas/installation-token" });
    let errors = openapi::validate(&schema, &json!({ "token": 1 }));
    assert_eq!(
        errors,
        [
            "$: missing required property `expires_at`",
            "$.token: expected string, got integer"
        ]
    );
}

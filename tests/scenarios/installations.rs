//! Installation events keep our record of installations current, with GitHub as the source of
//! truth; failures retry and end as dead letters that keep the error.

use bot::events::RepositorySelection;
use e2e::fake_github::{Failure, route};
use e2e::{Backend, TEST_RETRY, TestApp, on_both_backends, webhook_fixture};
use feedback::{InstallationRepository, JobState};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    installation_lifecycle_follows_github_whatever_the_events_say,
    github_errors_are_retried_then_kept_as_a_dead_letter,
);

/// The installation id in GitHub's `installation` and `installation_repositories` examples.
const INSTALLATION: i64 = 957_387;

fn event_with_action(event: &str, file: &str, action: &str) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&webhook_fixture(event, file)).unwrap();
    value["action"] = Value::from(action);
    serde_json::to_vec(&value).unwrap()
}

fn repo(id: i64, name: &str) -> InstallationRepository {
    InstallationRepository {
        repo_id: id,
        full_name: name.into(),
    }
}

/// Delivers and waits for the one job the delivery implies to finish.
async fn deliver_and_settle(app: &TestApp, event: &str, delivery: &str, body: &[u8]) {
    assert_eq!(
        app.deliver(event, delivery, body).await,
        StatusCode::ACCEPTED
    );
    let jobs = app.store.list_jobs(None).await.unwrap();
    let job = jobs
        .iter()
        .find(|j| j.delivery_id.as_deref() == Some(delivery))
        .unwrap_or_else(|| panic!("{delivery} enqueued no job"));
    app.wait_for_job(job.id, JobState::Done).await;
}

async fn installation_lifecycle_follows_github_whatever_the_events_say(backend: Backend) {
    let Some(db) = backend.database().await else {
        return;
    };
    let app = TestApp::spawn(db).await;
    let github = &app.github;
    github.add_installation(INSTALLATION, "octocat", RepositorySelection::Selected);
    github.add_repository(INSTALLATION, 1, "octocat/Hello-World");
    github.add_repository(INSTALLATION, 2, "octocat/Spoon-Knife");

    let created = webhook_fixture("installation", "created.payload.json");
    deliver_and_settle(&app, "installation", "i-1", &created).await;
    let stored = app
        .store
        .get_installation(INSTALLATION)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(stored.account_login, "octocat");
    assert!(!stored.suspended);
    assert_eq!(
        app.store
            .list_installation_repositories(INSTALLATION)
            .await
            .unwrap(),
        vec![
            repo(1, "octocat/hello-world"),
            repo(2, "octocat/spoon-knife")
        ],
        "the repository list comes from GitHub, names lowercased"
    );

    // Repositories change on GitHub; the next event (whatever it lists) syncs to the truth.
    github.remove_repository(INSTALLATION, 1);
    github.add_repository(INSTALLATION, 3, "octocat/linguist");
    let added = webhook_fixture("installation_repositories", "added.payload.json");
    deliver_and_settle(&app, "installation_repositories", "i-2", &added).await;
    assert_eq!(
        app.store
            .list_installation_repositories(INSTALLATION)
            .await
            .unwrap(),
        vec![repo(3, "octocat/linguist"), repo(2, "octocat/spoon-knife")]
    );

    // Out of order: the "suspend" delivery arrives after GitHub already unsuspended it.
    github.suspend_installation(INSTALLATION);
    github.unsuspend_installation(INSTALLATION);
    let suspend = event_with_action("installation", "created.payload.json", "suspend");
    deliver_and_settle(&app, "installation", "i-3", &suspend).await;
    assert!(
        !app.store
            .get_installation(INSTALLATION)
            .await
            .unwrap()
            .unwrap()
            .suspended
    );

    github.suspend_installation(INSTALLATION);
    deliver_and_settle(&app, "installation", "i-4", &suspend).await;
    assert!(
        app.store
            .get_installation(INSTALLATION)
            .await
            .unwrap()
            .unwrap()
            .suspended
    );

    github.delete_installation(INSTALLATION);
    let deleted = event_with_action("installation", "created.payload.json", "deleted");
    deliver_and_settle(&app, "installation", "i-5", &deleted).await;
    assert_eq!(
        app.store.get_installation(INSTALLATION).await.unwrap(),
        None
    );
    assert!(
        app.store
            .list_installation_repositories(INSTALLATION)
            .await
            .unwrap()
            .is_empty()
    );

    github.assert_no_surprises();
    app.stop().await;
}

async fn github_errors_are_retried_then_kept_as_a_dead_letter(backend: Backend) {
    let Some(db) = backend.database().await else {
        return;
    };
    let app = TestApp::spawn(db).await;
    let github = &app.github;
    github.add_installation(INSTALLATION, "octocat", RepositorySelection::All);
    github.add_repository(INSTALLATION, 1, "octocat/hello-world");
    let created = webhook_fixture("installation", "created.payload.json");

    // A 502 and a secondary rate limit, then success: the job retries and finishes.
    github.fail_next(route::LIST_INSTALLATION_REPOS, 502, 1);
    github.fail_next(
        route::LIST_INSTALLATION_REPOS,
        Failure::secondary_rate_limit(std::time::Duration::from_secs(1)),
        1,
    );
    deliver_and_settle(&app, "installation", "r-1", &created).await;
    let job = app
        .store
        .list_jobs(Some(JobState::Done))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(job.attempts, 3, "two failures, then success");
    assert_eq!(github.request_count(route::LIST_INSTALLATION_REPOS), 3);
    assert_eq!(
        app.store
            .list_installation_repositories(INSTALLATION)
            .await
            .unwrap()
            .len(),
        1
    );

    // GitHub down for longer than the retries last: a dead letter keeping the last error.
    github.fail_next(route::GET_INSTALLATION, 500, 100);
    assert_eq!(
        app.deliver("installation", "r-2", &created).await,
        StatusCode::ACCEPTED
    );
    let job = app
        .store
        .list_jobs(None)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.delivery_id.as_deref() == Some("r-2"))
        .unwrap();
    let dead = app.wait_for_job(job.id, JobState::Dead).await;
    assert_eq!(dead.attempts, TEST_RETRY.max_attempts);
    let error = dead.last_error.unwrap();
    assert!(
        error.contains("read the installation") && error.contains("500"),
        "{error}"
    );
    app.stop().await;
}

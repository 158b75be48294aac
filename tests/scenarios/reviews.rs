//! The AI reviewer end to end: a pull request event reaches the real server, the worker reads
//! the change from the fake GitHub, asks the fake Azure OpenAI, and posts one review per
//! analysis plus a check run, exactly once, whatever fails on the way.

use e2e::fake_azure::{FakeAzure, schema_name, user_message};
use e2e::fake_github::{Failure, FakeGitHub, route};
use e2e::process::ServeProcess;
use e2e::{Backend, on_both_backends};
use feedback::{JobState, SuggestionId};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pr_world::*;

on_both_backends!(
    opened_pull_request_gets_one_review_per_analysis_on_valid_lines,
    a_push_sends_only_its_new_lines_to_the_model,
    a_422_moves_inline_comments_to_file_level_and_loses_nothing,
    azure_429_is_waited_out_and_github_5xx_retried,
    model_garbage_is_retried_then_dead_lettered_with_its_reason,
    pause_resume_and_review_on_request,
    a_worker_killed_after_posting_leaves_exactly_one_review,
    the_default_branch_config_decides_and_a_broken_one_is_said_once,
    a_secondary_limit_is_waited_out_and_block_on_fails_the_check,
);

async fn opened_pull_request_gets_one_review_per_analysis_on_valid_lines(backend: Backend) {
    let Some((app, azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    deliver(
        &app,
        "open-1",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;

    // One review per analysis, COMMENT, on the head commit, by the App.
    let reviews = github.reviews(REPO, PR);
    assert_eq!(reviews.len(), 2, "{reviews:#?}");
    for review in &reviews {
        assert_eq!(
            (review.commit_id.as_str(), review.state.as_str()),
            (HEAD, "COMMENTED")
        );
        assert_eq!(review.user_login, github.bot_login());
    }
    // Every comment is on a new-side line of the diff (the fake refuses others with 422),
    // carries one marker naming a stored suggestion that knows its comment.
    let comments = github.review_comments(REPO, PR);
    assert_eq!(
        comments.len(),
        2,
        "a test suggestion and the model's finding; the built-in rule's hit on the same line \
         and the test gap the suggested test fills are not said twice: {comments:#?}"
    );
    for comment in &comments {
        assert_eq!(
            comment.line,
            Some(if comment.body.contains("Suggested test") {
                8
            } else {
                9
            })
        );
        let id: SuggestionId = bot::review::render::parse_marker(&comment.body)
            .unwrap_or_else(|| panic!("no marker in {}", comment.body));
        let stored = app.store.get_suggestion(id).await.unwrap();
        assert_eq!(stored.github_comment_id, Some(comment.id));
        assert_eq!(stored.suggestion.body, comment.body);
    }
    // Model output is data: the planted mention and marker did not survive.
    let finding = comments
        .iter()
        .find(|c| c.body.contains("Command injection"))
        .unwrap();
    assert!(!finding.body.contains("@security-team"));
    assert_eq!(finding.body.matches("<!-- reviewbot:s=").count(), 1);

    // Every model call is stored with the exact messages sent.
    let sent = azure.requests();
    assert_eq!(sent.len(), 2, "one call per analysis for one small chunk");
    for (i, request) in sent.iter().enumerate() {
        let call = app
            .store
            .get_model_call(feedback::ModelCallId(i as i64 + 1))
            .await
            .unwrap();
        let stored: Value = serde_json::from_str(&call.call.messages).unwrap();
        assert_eq!(stored, request["messages"], "messages byte for byte");
        assert_eq!(call.call.deployment.as_deref(), Some(e2e::DEPLOYMENT));
        assert_eq!(call.call.head_sha.as_deref(), Some(HEAD));
    }
    assert!(azure.violations().is_empty(), "{:?}", azure.violations());
    // The exact messages of both calls (tests, then security), as sent.
    let messages: Vec<String> = sent
        .iter()
        .flat_map(|r| r["messages"].as_array().cloned().unwrap_or_default())
        .map(|m| {
            format!(
                "=== {} ===\n{}",
                m["role"].as_str().unwrap_or("?"),
                m["content"].as_str().unwrap_or("")
            )
        })
        .collect();
    insta::assert_snapshot!("prompt_messages", messages.join("\n"));
    let mut bodies: Vec<&str> = comments.iter().map(|c| c.body.as_str()).collect();
    bodies.sort_unstable();
    insta::assert_snapshot!("review_comments", bodies.join("\n\n-----\n\n"));

    // The check run: in progress, then completed; neutral (findings, no block_on).
    let runs = github.check_runs(REPO);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(
        (
            runs[0].name.as_str(),
            runs[0].status.as_str(),
            runs[0].conclusion.as_deref()
        ),
        ("reviewbot", "completed", Some("neutral"))
    );

    // A redelivery (same delivery id) is a duplicate; a new delivery for the same head
    // (reopened, or GitHub sending it twice) runs a job that posts nothing new.
    assert_eq!(
        app.deliver(
            "pull_request",
            "open-1",
            &pull_request_event("opened", HEAD, None)
        )
        .await,
        StatusCode::OK
    );
    deliver(
        &app,
        "reopen-1",
        &pull_request_event("reopened", HEAD, None),
        JobState::Done,
    )
    .await;
    assert_eq!(github.reviews(REPO, PR).len(), 2, "no second review");
    assert_eq!(github.review_comments(REPO, PR).len(), 2);
    assert_eq!(github.check_runs(REPO).len(), 1, "the check run is reused");
    github.assert_no_surprises();
    app.stop().await;
}

async fn a_push_sends_only_its_new_lines_to_the_model(backend: Backend) {
    let Some((app, azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    deliver(
        &app,
        "open-2",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;
    let first_calls = azure.requests().len();

    github.update_pull_request(REPO, PR, |pr| pr.head_sha = HEAD2.into());
    github.set_diff(REPO, PR, DIFF2);
    github.set_file(REPO, HEAD2, "app.py", APP_PY2.as_bytes());
    github.set_file(
        REPO,
        HEAD2,
        "pyproject.toml",
        b"[tool.pytest.ini_options]\n",
    );
    github.set_compare(REPO, HEAD, HEAD2, PUSH2);
    deliver(
        &app,
        "push-2",
        &pull_request_event("synchronize", HEAD2, Some(HEAD)),
        JobState::Done,
    )
    .await;

    let requests = azure.requests();
    let after_push = &requests[first_calls..];
    assert!(!after_push.is_empty());
    for request in after_push {
        let user = user_message(request);
        assert!(user.contains("   14 +     os.remove(path)"), "{user}");
        assert!(
            !user.contains("+     os.system(cmd)"),
            "lines reviewed before are context now, not changes: {user}"
        );
    }
    // The new test gets a review on the new head; the finding, said on the first push, is
    // not said again, so security has nothing new to post.
    let reviews = github.reviews(REPO, PR);
    assert_eq!(reviews.len(), 3, "{reviews:#?}");
    assert!(reviews[2].commit_id == HEAD2 && reviews[2].body.contains("review=tests"));
    let comments = github.review_comments(REPO, PR);
    let on_head2: Vec<_> = comments.iter().filter(|c| c.commit_id == HEAD2).collect();
    assert!(
        on_head2
            .iter()
            .all(|c| !c.body.contains("Command injection")),
        "the finding was posted on the first push: {on_head2:#?}"
    );
    assert!(
        on_head2
            .iter()
            .any(|c| c.body.contains("remove() deletes the file"))
    );
    github.assert_no_surprises();
    app.stop().await;
}

async fn a_422_moves_inline_comments_to_file_level_and_loses_nothing(backend: Backend) {
    let Some((app, _azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    // GitHub refuses the first review's inline comments.
    github.fail_next(
        route::CREATE_REVIEW,
        Failure::new(422).message("Unprocessable Entity"),
        1,
    );
    deliver(
        &app,
        "open-3",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;
    // (GitHub files each single file-level comment under a review of its own.)
    let ours: Vec<_> = github
        .reviews(REPO, PR)
        .into_iter()
        .filter(|r| r.body.contains("<!-- reviewbot:review="))
        .collect();
    assert_eq!(ours.len(), 2, "{ours:#?}");
    let comments = github.review_comments(REPO, PR);
    assert_eq!(comments.len(), 2, "{comments:#?}");
    let file_level = comments.iter().filter(|c| c.subject_type == "file").count();
    assert!(
        file_level >= 1,
        "the refused review's comments became file-level: {comments:#?}"
    );
    for comment in &comments {
        let id = bot::review::render::parse_marker(&comment.body).unwrap();
        let stored = app.store.get_suggestion(id).await.unwrap();
        assert_eq!(stored.github_comment_id, Some(comment.id));
        let expected = if comment.subject_type == "file" {
            feedback::Anchor::File
        } else {
            feedback::Anchor::Line
        };
        assert_eq!(stored.suggestion.anchor, expected);
    }
    app.stop().await;
}

async fn azure_429_is_waited_out_and_github_5xx_retried(backend: Backend) {
    let Some((app, azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    azure.push_status(
        429,
        &[("retry-after-ms", "50"), ("content-type", "application/json")],
        r#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}}"#,
    );
    github.fail_next(route::GET_PULL, 502, 1);
    let job = deliver(
        &app,
        "open-4",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;
    assert_eq!(job.attempts, 2, "the 502 cost one attempt; the 429 none");
    assert_eq!(github.reviews(REPO, PR).len(), 2);
    assert_eq!(github.review_comments(REPO, PR).len(), 2);
    assert_eq!(azure.requests().len(), 3, "one call repeated after the 429");
    app.stop().await;
}

async fn model_garbage_is_retried_then_dead_lettered_with_its_reason(backend: Backend) {
    let Some((app, azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    azure.respond_with(|_| "Sure! Here are some tests you could write.".into());
    let job = deliver(
        &app,
        "open-5",
        &pull_request_event("opened", HEAD, None),
        JobState::Dead,
    )
    .await;
    assert_eq!(job.attempts, e2e::TEST_RETRY.max_attempts);
    let error = job.last_error.unwrap_or_default();
    assert!(error.contains("no usable answer"), "{error}");
    assert!(
        github.reviews(REPO, PR).is_empty(),
        "nothing half-done is posted"
    );
    // The check run says why, and every call (with its repair retry) is on record.
    let runs = github.check_runs(REPO);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].conclusion.as_deref(), Some("neutral"));
    assert!(
        runs[0]
            .summary
            .as_deref()
            .unwrap_or("")
            .contains("no usable answer")
    );
    let calls = azure.requests().len() as i64;
    assert!(
        calls >= 6,
        "two analyses × (call + repair) × attempts: {calls}"
    );
    let last = app
        .store
        .get_model_call(feedback::ModelCallId(calls))
        .await
        .unwrap();
    assert_eq!(last.call.status, feedback::ModelCallStatus::InvalidOutput);
    assert_eq!(
        last.call.raw_answer.as_deref(),
        Some("Sure! Here are some tests you could write.")
    );
    app.stop().await;
}

async fn pause_resume_and_review_on_request(backend: Backend) {
    let Some((app, _azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    github.set_permission(REPO, "maintainer", "write");
    github.set_permission(REPO, "drive-by", "read");

    // Someone without write access cannot pause.
    run_command(&app, "c-1", &command(9001, "drive-by", "/reviewbot pause")).await;
    assert!(!app.store.is_paused(REPO, PR as i64).await.unwrap());
    // A maintainer can; the next push is not reviewed.
    run_command(
        &app,
        "c-2",
        &command(9002, "maintainer", "@reviewbot-test /reviewbot pause"),
    )
    .await;
    assert!(app.store.is_paused(REPO, PR as i64).await.unwrap());
    deliver(
        &app,
        "open-6",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;
    assert!(github.reviews(REPO, PR).is_empty(), "paused");

    // A review on request runs even while paused.
    run_command(
        &app,
        "c-3",
        &command(9003, "maintainer", "/reviewbot review"),
    )
    .await;
    let deadline = tokio::time::Instant::now() + e2e::WAIT;
    while github.reviews(REPO, PR).len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "requested review never posted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    run_command(
        &app,
        "c-4",
        &command(9004, "maintainer", "/reviewbot resume"),
    )
    .await;
    assert!(!app.store.is_paused(REPO, PR as i64).await.unwrap());
    run_command(
        &app,
        "c-5",
        &command(9005, "maintainer", "/reviewbot dance"),
    )
    .await;

    let answers: Vec<String> = github
        .issue_comments(REPO, PR)
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(answers.len(), 5, "one answer per command: {answers:#?}");
    assert!(answers[0].contains("only people with write access"));
    assert!(answers[1].contains("paused"));
    assert!(answers[2].contains("reviewing `ec26c3e`"));
    assert!(answers[3].contains("back on"));
    assert!(answers[4].contains("unknown command") && answers[4].contains("/reviewbot resume"));
    app.stop().await;
}

async fn a_worker_killed_after_posting_leaves_exactly_one_review(backend: Backend) {
    let Some(db) = backend.database().await else {
        return;
    };
    e2e::init();
    let github = FakeGitHub::start().await;
    open_pull_request(&github);
    let azure = FakeAzure::start().await;
    azure.respond_with(answer);
    let mut env = e2e::serve_env(db.url(), &github);
    env.extend(e2e::azure_env(&azure));
    env.push(("REVIEWBOT_JOB_LEASE_SECONDS".into(), "3".into()));
    let store = db.store().await;

    // The first review reaches GitHub; the process dies while reading its comments back,
    // before it can record that it posted.
    let gate = github.hold(route::LIST_REVIEW_COMMENTS_FOR_REVIEW);
    let first = ServeProcess::start(&env).await;
    let body = pull_request_event("opened", HEAD, None);
    let status = reqwest::Client::new()
        .post(first.url("/api/github/webhooks"))
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", "kill-review")
        .header("X-Hub-Signature-256", e2e::sign(e2e::WEBHOOK_SECRET, &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::ACCEPTED);
    gate.arrived().await;
    first.kill_9().await;
    gate.release();
    assert_eq!(github.reviews(REPO, PR).len(), 1, "posted, not recorded");

    // A new process takes the job over and completes the review instead of posting another.
    let second = ServeProcess::start(&env).await;
    let jobs = store.list_jobs(None).await.unwrap();
    let done = e2e::wait_for_job(&store, jobs[0].id, JobState::Done).await;
    assert_eq!(done.attempts, 2);
    let reviews = github.reviews(REPO, PR);
    assert_eq!(
        reviews.len(),
        2,
        "one per analysis, none twice: {reviews:#?}"
    );
    let comments = github.review_comments(REPO, PR);
    assert_eq!(comments.len(), 2, "{comments:#?}");
    for comment in &comments {
        let id = bot::review::render::parse_marker(&comment.body).unwrap();
        let stored = store.get_suggestion(id).await.unwrap();
        assert_eq!(
            stored.github_comment_id,
            Some(comment.id),
            "recorded after the restart"
        );
    }
    second.terminate().await;
    store.close().await;
}

/// Three suggested tests on three lines of `run`, and a finding.
fn three_tests(request: &Value) -> String {
    match schema_name(request) {
        "security_findings" => answer(request),
        _ => {
            let items: Vec<Value> = [8, 9, 10]
                .into_iter()
                .map(|line| {
                    json!({
                        "path": "app.py", "line": line, "kind": "edge_case",
                        "title": format!("Edge case at line {line}"), "rationale": "r",
                        "test_path": "tests/test_app.py", "code": "def test_x():\n    pass\n",
                        "confidence": 0.6 + f64::from(line) / 100.0
                    })
                })
                .collect();
            json!({ "suggestions": items }).to_string()
        }
    }
}

async fn the_default_branch_config_decides_and_a_broken_one_is_said_once(backend: Backend) {
    let Some((app, azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    azure.respond_with(three_tests);
    // The default branch turns security off and allows one comment; the pull request's own
    // copy tries to turn the tests off and is ignored.
    github.set_file(
        REPO,
        "main",
        ".github/reviewbot.yml",
        b"max_comments: 1\nanalyses:\n  security: false\n",
    );
    github.set_file(
        REPO,
        HEAD,
        ".github/reviewbot.yml",
        b"analyses:\n  tests: false\n",
    );
    deliver(
        &app,
        "cfg-1",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;

    assert!(
        azure
            .requests()
            .iter()
            .all(|r| schema_name(r) == "suggested_tests"),
        "security is off: never asked"
    );
    let reviews = github.reviews(REPO, PR);
    assert_eq!(reviews.len(), 1, "{reviews:#?}");
    assert!(reviews[0].body.contains("review=tests"));
    let comments = github.review_comments(REPO, PR);
    assert_eq!(comments.len(), 1, "max_comments: 1 → {comments:#?}");
    assert!(
        comments[0].body.contains("Edge case at line 10"),
        "most confident first"
    );
    for line in ["Edge case at line 9", "Edge case at line 8"] {
        assert!(
            reviews[0].body.contains(line),
            "{line} in the summary: {}",
            reviews[0].body
        );
    }
    let summarised = app.store.get_suggestion(SuggestionId(2)).await.unwrap();
    assert_eq!(
        (summarised.suggestion.anchor, summarised.github_comment_id),
        (feedback::Anchor::Summary, None)
    );

    // A broken config on the default branch: no review, one explanation, however many
    // events come.
    github.set_file(REPO, "main", ".github/reviewbot.yml", b"max_comment: 3\n");
    github.update_pull_request(REPO, PR, |pr| pr.head_sha = HEAD2.into());
    github.set_diff(REPO, PR, DIFF2);
    github.set_file(REPO, HEAD2, "app.py", APP_PY2.as_bytes());
    for (delivery, action) in [("cfg-2", "synchronize"), ("cfg-3", "reopened")] {
        deliver(
            &app,
            delivery,
            &pull_request_event(action, HEAD2, Some(HEAD)),
            JobState::Done,
        )
        .await;
    }
    assert_eq!(
        github.reviews(REPO, PR).len(),
        1,
        "nothing reviewed with a broken config"
    );
    let said = github.issue_comments(REPO, PR);
    assert_eq!(said.len(), 1, "{said:#?}");
    assert!(
        said[0].body.contains("unknown field `max_comment`"),
        "{}",
        said[0].body
    );
    let run = github
        .check_runs(REPO)
        .into_iter()
        .find(|r| r.head_sha == HEAD2)
        .unwrap();
    assert_eq!(run.conclusion.as_deref(), Some("action_required"));
    app.stop().await;
}

async fn a_secondary_limit_is_waited_out_and_block_on_fails_the_check(backend: Backend) {
    let Some((app, _azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    github.set_file(REPO, "main", ".github/reviewbot.yml", b"block_on: high\n");
    // Too large for the diff media type: the files API it is.
    github.set_too_large(REPO, PR, true);
    github.fail_next(
        route::CREATE_REVIEW,
        Failure::secondary_rate_limit(std::time::Duration::from_secs(1)),
        1,
    );
    let started = std::time::Instant::now();
    let job = deliver(
        &app,
        "limit-1",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;
    assert_eq!(job.attempts, 2);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "the retry waited as long as GitHub asked"
    );
    assert!(github.request_count(route::LIST_PULL_FILES) > 0);
    let ours: Vec<_> = github
        .reviews(REPO, PR)
        .into_iter()
        .filter(|r| r.body.contains("<!-- reviewbot:review="))
        .collect();
    assert_eq!(ours.len(), 2, "{ours:#?}");
    assert_eq!(github.review_comments(REPO, PR).len(), 2);
    let runs = github.check_runs(REPO);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"), "{runs:#?}");
    assert!(
        runs[0]
            .summary
            .as_deref()
            .unwrap_or("")
            .contains("Command injection in run()")
    );
    app.stop().await;
}

//! The feedback loop end to end: every row of DESIGN.md's feedback table, through the real
//! server, against the fake GitHub — commands in review threads (and who may give them),
//! reactions (polled, added then removed), suggested tests landing in a push, resolved
//! threads, a closed pull request, and a triage turning the check run green.

use e2e::fake_azure::schema_name;
use e2e::{Backend, TestApp, on_both_backends, webhook_fixture};
use feedback::verdict::{VerdictState, derive_verdict};
use feedback::{
    FeedbackAction, FeedbackEvent, FeedbackRole, FeedbackSource, JobState, SuggestionId,
    TriageState,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pr_world::*;

on_both_backends!(
    commands_in_threads_become_verdicts_from_people_allowed_to_give_them,
    reactions_are_polled_and_a_removed_one_is_retracted,
    a_suggested_test_that_lands_is_adopted_verbatim_or_edited,
    triage_turns_a_blocking_check_green_and_closing_ignores_the_rest,
    noise_control_mutes_what_people_reject_and_learnings_reach_the_prompt,
    auto_mode_commits_an_accepted_test_only_after_a_human_accepts_it,
);

/// Reviews the pull request at `HEAD` and returns (test suggestion, finding) comment ids and
/// suggestion ids.
async fn reviewed(app: &TestApp) -> ((i64, SuggestionId), (i64, SuggestionId)) {
    deliver(
        app,
        "open",
        &pull_request_event("opened", HEAD, None),
        JobState::Done,
    )
    .await;
    let comments = app.github.review_comments(REPO, PR);
    let find = |needle: &str| {
        let c = comments
            .iter()
            .find(|c| c.body.contains(needle))
            .unwrap_or_else(|| panic!("no comment with {needle}: {comments:#?}"));
        (c.id, bot::review::render::parse_marker(&c.body).unwrap())
    };
    (find("Suggested test"), find("Command injection"))
}

async fn events(app: &TestApp, id: SuggestionId) -> Vec<FeedbackEvent> {
    app.store.list_feedback_events(id).await.unwrap()
}

async fn verdict(app: &TestApp, id: SuggestionId) -> feedback::verdict::Verdict {
    let s = app.store.get_suggestion(id).await.unwrap();
    derive_verdict(
        s.suggestion.kind,
        s.suggestion.created_at,
        &events(app, id).await,
    )
}

/// Our answers in review threads.
fn answers(app: &TestApp) -> Vec<String> {
    let bot = app.github.bot_login();
    app.github
        .review_comments(REPO, PR)
        .into_iter()
        .filter(|c| c.user_login == bot && c.in_reply_to_id.is_some())
        .map(|c| c.body)
        .collect()
}

async fn commands_in_threads_become_verdicts_from_people_allowed_to_give_them(backend: Backend) {
    let Some((app, _azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    github.set_permission(REPO, "writer", "write");
    github.set_permission(REPO, "drive-by", "read");
    let ((test_comment, test), (finding_comment, finding)) = reviewed(&app).await;

    // The author accepts the suggested test; acknowledged with a reaction.
    let accept = "@reviewbot-test[bot] /ACCEPT  thanks";
    let accepted = say(&app, "r-1", test_comment, AUTHOR, accept).await;
    let recorded = events(&app, test).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (
            recorded[0].event.action,
            recorded[0].event.role,
            recorded[0].event.note.as_deref()
        ),
        (FeedbackAction::Accept, FeedbackRole::Author, Some("thanks"))
    );
    assert_eq!(github.reactions(REPO, accepted).len(), 1, "acknowledged");

    // Redelivery (same delivery: 200) and a second delivery of the same comment: no change.
    let again = reply_event(accepted, test_comment, AUTHOR, accept, None);
    assert_eq!(
        app.deliver("pull_request_review_comment", "r-1", &again)
            .await,
        StatusCode::OK
    );
    settle(&app, "pull_request_review_comment", "r-1-again", &again).await;
    assert_eq!(events(&app, test).await.len(), 1);

    // Someone without write access: refused, said why, nothing stored.
    say(&app, "r-2", test_comment, "drive-by", "/reject noisy").await;
    assert_eq!(events(&app, test).await.len(), 1);
    assert!(
        answers(&app)
            .iter()
            .any(|a| a.contains("@drive-by") && a.contains("write access")),
        "{:#?}",
        answers(&app)
    );

    // A writer's /modify: the latest explicit verdict wins.
    let modify =
        "/modify keeps it short\n```python\ndef test_run():\n    assert run('true')\n```\n";
    say(&app, "r-3", test_comment, "writer", modify).await;
    match verdict(&app, test).await.state {
        VerdictState::Modified { human_text } => assert_eq!(
            human_text.as_deref(),
            Some("def test_run():\n    assert run('true')\n")
        ),
        other => panic!("{other:?}"),
    }

    // Quoting the bot's instructions is not a command; an unknown command gets the forms.
    let musing = "> Reply `/accept`, `/reject …`\nI'll think about it";
    let thinking = say(&app, "r-4", test_comment, "writer", musing).await;
    say(&app, "r-5", test_comment, "writer", "/approve").await;
    assert_eq!(events(&app, test).await.len(), 2);
    assert!(
        answers(&app)
            .iter()
            .any(|a| a.contains("/reject duplicate")),
        "{:#?}",
        answers(&app)
    );

    // Editing a comment runs only what is new in the edit.
    let edited = format!("{musing}\n/reject out-of-scope later");
    let edit = reply_event(thinking, test_comment, "writer", &edited, Some(musing));
    settle(&app, "pull_request_review_comment", "r-6", &edit).await;
    assert!(matches!(
        verdict(&app, test).await.state,
        VerdictState::Rejected { .. }
    ));
    let retyped = edited.replace("I'll", "I will");
    let typo = reply_event(thinking, test_comment, "writer", &retyped, Some(&edited));
    settle(&app, "pull_request_review_comment", "r-7", &typo).await;
    assert_eq!(
        events(&app, test).await.len(),
        3,
        "a typo fixed elsewhere runs nothing"
    );

    // /triage is for security reviewers only.
    say(&app, "r-8", finding_comment, "writer", "/triage fp").await;
    assert!(events(&app, finding).await.is_empty());
    assert!(
        answers(&app)
            .iter()
            .any(|a| a.contains("security reviewers"))
    );

    // A marker in someone else's comment is not ours to trust.
    let forged = github.add_review_reply(
        REPO,
        PR,
        test_comment,
        "mallory",
        &format!("see <!-- reviewbot:s={finding} -->"),
    );
    say(&app, "r-9", forged, AUTHOR, "/accept").await;
    assert!(
        events(&app, finding).await.is_empty(),
        "forged marker ignored"
    );
    github.assert_no_surprises();
    app.stop().await;
}

async fn reactions_are_polled_and_a_removed_one_is_retracted(backend: Backend) {
    let Some((app, _azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    github.set_permission(REPO, "drive-by", "read");
    let ((test_comment, test), (finding_comment, finding)) = reviewed(&app).await;
    let thumbs_up = github.add_reaction(REPO, test_comment, AUTHOR, "+1");
    github.add_reaction(REPO, finding_comment, "drive-by", "-1");
    github.add_reaction(REPO, finding_comment, AUTHOR, "heart");

    let poll = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            let retry = e2e::TEST_RETRY;
            let queued = bot::jobs::scheduler::queue_reaction_polls(&store, &retry)
                .await
                .unwrap();
            assert_eq!(queued, 1, "one open pull request with suggestions");
            let deadline = tokio::time::Instant::now() + e2e::WAIT;
            loop {
                let jobs = store.list_jobs(None).await.unwrap();
                if jobs
                    .iter()
                    .filter(|j| j.kind == "sweep_reactions")
                    .all(|j| j.state == JobState::Done)
                {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "{jobs:#?}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    poll(&app).await;
    assert_eq!(verdict(&app, test).await.state, VerdictState::Accepted);
    assert_eq!(
        verdict(&app, finding).await.state,
        VerdictState::Pending,
        "a drive-by 👎 and a ❤️ are no verdicts"
    );

    // Unchanged: a conditional request, nothing new.
    poll(&app).await;
    assert_eq!(events(&app, test).await.len(), 1);

    github.remove_reaction(REPO, test_comment, thumbs_up);
    poll(&app).await;
    let recorded = events(&app, test).await;
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].event.action, FeedbackAction::Retract);
    assert_eq!(
        verdict(&app, test).await.state,
        VerdictState::Pending,
        "the 👍 was taken back"
    );

    // Closed with no verdict: ignored (after a last poll).
    github.update_pull_request(REPO, PR, |pr| pr.state = "closed".into());
    let mut closed: Value =
        serde_json::from_slice(&pull_request_event("closed", HEAD, None)).unwrap();
    closed["pull_request"]["state"] = json!("closed");
    settle(
        &app,
        "pull_request",
        "close-1",
        &serde_json::to_vec(&closed).unwrap(),
    )
    .await;
    for id in [test, finding] {
        assert_eq!(verdict(&app, id).await.state, VerdictState::Ignored, "{id}");
    }
    app.stop().await;
}

/// Reviews the pull request, then pushes `test` into `tests/test_app.py` (the model has
/// nothing new to say); returns the app and the suggested test's id.
async fn push_a_test(backend: Backend, test: &str) -> Option<(TestApp, SuggestionId)> {
    let (app, azure) = world(backend).await?;
    let ((_, suggested), _) = reviewed(&app).await;
    azure.respond_with(|request| match schema_name(request) {
        "security_findings" => json!({"findings": []}).to_string(),
        _ => json!({"suggestions": []}).to_string(),
    });
    let github = &app.github;
    let test_file = format!("import os\n\nfrom app import run\n\n\n{test}");
    github.update_pull_request(REPO, PR, |pr| pr.head_sha = HEAD2.into());
    github.set_diff(
        REPO,
        PR,
        &format!("{DIFF}{}", new_file_diff("tests/test_app.py", &test_file)),
    );
    github.set_file(REPO, HEAD2, "app.py", APP_PY.as_bytes());
    github.set_file(REPO, HEAD2, "tests/test_app.py", test_file.as_bytes());
    deliver(
        &app,
        "push",
        &pull_request_event("synchronize", HEAD2, Some(HEAD)),
        JobState::Done,
    )
    .await;
    Some((app, suggested))
}

async fn a_suggested_test_that_lands_is_adopted_verbatim_or_edited(backend: Backend) {
    // As suggested.
    let suggested = "def test_run_returns_true(monkeypatch):\n    monkeypatch.setattr(os, 'system', lambda c: 0)\n    assert run('true') is True\n";
    let Some((app, test)) = push_a_test(backend, suggested).await else {
        return;
    };
    let recorded = events(&app, test).await;
    assert_eq!(recorded.len(), 1, "{recorded:#?}");
    assert_eq!(
        (recorded[0].event.source, recorded[0].event.action),
        (FeedbackSource::Adoption, FeedbackAction::Accept)
    );
    app.stop().await;

    // Edited: renamed, with a changed lambda.
    let landed = "def test_run_reports_success(monkeypatch):\n    monkeypatch.setattr(os, 'system', lambda cmd: 0)\n    assert run('true') is True\n";
    let Some((app, test)) = push_a_test(backend, landed).await else {
        return;
    };
    match verdict(&app, test).await.state {
        VerdictState::Modified { human_text } => assert_eq!(human_text.as_deref(), Some(landed)),
        other => panic!("{other:?}"),
    }
    app.stop().await;
}

async fn triage_turns_a_blocking_check_green_and_closing_ignores_the_rest(backend: Backend) {
    let Some((app, _azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    github.set_file(
        REPO,
        "main",
        ".github/reviewbot.yml",
        b"block_on: high\nsecurity_reviewers: [sec-lead, codertocat/appsec]\n",
    );
    github.set_team_member("codertocat", "appsec", "team-member", "active");
    let ((test_comment, test), (finding_comment, finding)) = reviewed(&app).await;
    let check = |app: &TestApp| app.github.check_runs(REPO).into_iter().next().unwrap();
    assert_eq!(check(&app).conclusion.as_deref(), Some("failure"));

    // needs-info keeps it failing; a team member's fp settles it.
    say(
        &app,
        "t-1",
        finding_comment,
        "sec-lead",
        "/triage needs-info which input?",
    )
    .await;
    assert_eq!(check(&app).conclusion.as_deref(), Some("failure"));
    let fp = "/triage fp only called with constants";
    say(&app, "t-2", finding_comment, "team-member", fp).await;
    let run = check(&app);
    assert_ne!(
        run.conclusion.as_deref(),
        Some("failure"),
        "{run:#?} {:#?} {:#?}",
        events(&app, finding).await,
        answers(&app)
    );
    assert!(
        run.summary
            .unwrap_or_default()
            .contains("triaged by a security reviewer")
    );
    let v = verdict(&app, finding).await;
    assert_eq!(v.triage, Some(TriageState::FalsePositive));
    assert!(matches!(v.state, VerdictState::Rejected { .. }));

    // A resolved thread is a weak signal; closing the pull request marks the rest ignored.
    let mut resolved: Value = serde_json::from_slice(&webhook_fixture(
        "pull_request_review_thread",
        "resolved.payload.json",
    ))
    .unwrap();
    resolved["installation"]["id"] = json!(INSTALLATION);
    resolved["thread"]["comments"][0]["id"] = json!(test_comment);
    settle(
        &app,
        "pull_request_review_thread",
        "th-1",
        &serde_json::to_vec(&resolved).unwrap(),
    )
    .await;
    assert_eq!(
        events(&app, test).await[0].event.action,
        FeedbackAction::Resolve
    );

    github.update_pull_request(REPO, PR, |pr| pr.state = "closed".into());
    let mut closed: Value =
        serde_json::from_slice(&pull_request_event("closed", HEAD, None)).unwrap();
    closed["pull_request"]["state"] = json!("closed");
    settle(
        &app,
        "pull_request",
        "close-1",
        &serde_json::to_vec(&closed).unwrap(),
    )
    .await;
    assert_eq!(
        verdict(&app, test).await.state,
        VerdictState::Accepted,
        "the resolved thread still counts"
    );
    assert!(matches!(
        verdict(&app, finding).await.state,
        VerdictState::Rejected { .. }
    ));
    app.stop().await;
}

/// The model after the first push: a new command-injection finding (same CWE, new title).
fn second_answer(request: &Value) -> String {
    match schema_name(request) {
        "security_findings" => json!({"findings": [{
            "path": "app.py", "line": 14, "cwe": "CWE-78", "severity": "high", "confidence": 0.95,
            "title": "Shell use in remove()", "explanation": "e", "fix": "f"
        }]})
        .to_string(),
        _ => json!({"suggestions": []}).to_string(),
    }
}

async fn noise_control_mutes_what_people_reject_and_learnings_reach_the_prompt(backend: Backend) {
    let Some((app, azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    github.set_permission(REPO, "writer", "write");
    github.set_file(
        REPO,
        "main",
        ".github/reviewbot.yml",
        b"noise_control:\n  window: 1\n  min_acceptance_rate: 0.5\n",
    );
    let ((test_comment, _), (finding_comment, _)) = reviewed(&app).await;
    say(
        &app,
        "n-1",
        finding_comment,
        "writer",
        "/reject noisy we sanitise cmd upstream",
    )
    .await;
    let modify = "/modify\n```python\ndef test_run_ok():\n    assert run('true')\n```\n";
    say(&app, "n-2", test_comment, "writer", modify).await;

    // The next push: the model finds another CWE-78; that category is muted now.
    azure.respond_with(second_answer);
    let before = azure.requests().len();
    github.update_pull_request(REPO, PR, |pr| pr.head_sha = HEAD2.into());
    github.set_diff(REPO, PR, DIFF2);
    github.set_file(REPO, HEAD2, "app.py", APP_PY2.as_bytes());
    github.set_compare(REPO, HEAD, HEAD2, PUSH2);
    deliver(
        &app,
        "push-n",
        &pull_request_event("synchronize", HEAD2, Some(HEAD)),
        JobState::Done,
    )
    .await;
    let cwe78_on = |app: &TestApp, head: &str| {
        app.github
            .review_comments(REPO, PR)
            .into_iter()
            .filter(|c| c.commit_id == head && c.in_reply_to_id.is_none())
            .filter(|c| c.body.contains("CWE-78"))
            .count()
    };
    assert_eq!(cwe78_on(&app, HEAD2), 0, "muted: not posted");
    let run = github
        .check_runs(REPO)
        .into_iter()
        .find(|r| r.head_sha == HEAD2)
        .unwrap();
    let summary = run.summary.unwrap_or_default();
    assert!(
        summary.contains("muted `CWE-78`")
            && summary.contains("as noisy")
            && summary.contains("/reviewbot unmute CWE-78"),
        "{summary}"
    );
    // What people said reached both prompts, as learnings.
    let requests = azure.requests();
    let system = |schema: &str| {
        requests[before..]
            .iter()
            .find(|r| schema_name(r) == schema)
            .and_then(|r| r["messages"][0]["content"].as_str().map(str::to_owned))
            .unwrap()
    };
    assert!(
        system("security_findings").contains("Avoid: \"Command injection in run()\" (CWE-78) was rejected as noisy: we sanitise cmd upstream"),
        "{}",
        system("security_findings")
    );
    assert!(
        system("suggested_tests").contains("Prefer: for \"run() reports success\" people kept their own version: def test_run_ok(): assert run('true')"),
        "{}",
        system("suggested_tests")
    );

    // Unmuted: only verdicts from now on count, so the next review speaks again.
    run_command(
        &app,
        "n-3",
        &command(9100, "writer", "/reviewbot unmute CWE-78"),
    )
    .await;
    const HEAD3: &str = "6e3d2bf2cb8d5c3f1f62c1d0f7a7091c2c0a0b22";
    github.update_pull_request(REPO, PR, |pr| pr.head_sha = HEAD3.into());
    github.set_file(REPO, HEAD3, "app.py", APP_PY2.as_bytes());
    deliver(
        &app,
        "push-n3",
        &pull_request_event("synchronize", HEAD3, Some(HEAD2)),
        JobState::Done,
    )
    .await;
    let again = app
        .github
        .review_comments(REPO, PR)
        .into_iter()
        .any(|c| c.commit_id == HEAD3 && c.body.contains("Shell use in remove()"));
    assert!(again, "the CWE-78 finding is posted again");
    app.stop().await;
}

async fn auto_mode_commits_an_accepted_test_only_after_a_human_accepts_it(backend: Backend) {
    let Some((app, _azure)) = world(backend).await else {
        return;
    };
    let github = &app.github;
    github.set_permission(REPO, "drive-by", "read");
    github.set_permission(REPO, "writer", "write");
    github.set_file(
        REPO,
        "main",
        ".github/reviewbot.yml",
        b"mode: auto\nauto:\n  categories: [test.unit]\n  min_confidence: 0.7\n",
    );
    github.set_file(
        REPO,
        "feature",
        "tests/test_app.py",
        b"import os\n\nfrom app import run\n",
    );
    let ((test_comment, _), _) = reviewed(&app).await;
    assert!(
        github.commits_to(REPO, "feature").is_empty(),
        "nothing before a human accepts"
    );

    // A drive-by's /accept is refused: still nothing.
    say(&app, "a-1", test_comment, "drive-by", "/accept").await;
    assert!(github.commits_to(REPO, "feature").is_empty());

    // The author accepts: the test is appended to the test file on the branch.
    let accepted = say(&app, "a-2", test_comment, AUTHOR, "/accept").await;
    let commits = github.commits_to(REPO, "feature");
    assert_eq!(commits.len(), 1, "{commits:?}");
    assert!(commits[0].1.contains("accepted by @octocat"));
    let file =
        String::from_utf8(github.file(REPO, "feature", "tests/test_app.py").unwrap()).unwrap();
    assert!(
        file.starts_with("import os\n\nfrom app import run\n\n")
            && file.contains("def test_run_returns_true(monkeypatch):"),
        "{file}"
    );
    assert!(
        answers(&app)
            .iter()
            .any(|a| a.contains("committed the accepted test"))
    );

    // The same accept delivered again commits nothing more.
    let again = reply_event(accepted, test_comment, AUTHOR, "/accept", None);
    settle(&app, "pull_request_review_comment", "a-3", &again).await;
    assert_eq!(github.commits_to(REPO, "feature").len(), 1);

    // From a fork: never committed.
    github.update_pull_request(REPO, PR, |pr| pr.head_repo = Some("someone/fork".into()));
    say(&app, "a-4", test_comment, "writer", "/accept").await;
    assert_eq!(github.commits_to(REPO, "feature").len(), 1);
    assert!(
        answers(&app).iter().any(|a| a.contains("fork")),
        "{:#?}",
        answers(&app)
    );
    app.stop().await;
}

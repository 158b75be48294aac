//! `InstallationClient`'s comparison, tree, comment, permission and check-run listing calls,
//! and `file_at` on large files, against the fake GitHub.

use bot::github::GitHubError;
use bot::github::checks::{CheckConclusion, CheckState, CheckStatus};
use bot::github::ids::{CommentId, CommitSha, PrNumber};
use bot::github::permissions::Permission;
use bot::github::pulls::MAX_FILE_BYTES;
use bot::github::reviews::{MAX_COMMENT_CHARS, NewReview};
use serde_json::json;

use super::pulls_tests::{BASE, HEAD, REPO, draft, repo, setup};
use super::*;

/// The head the PR had when it was last reviewed.
const OLD_HEAD: &str = "3333333333333333333333333333333333333333";

/// What the push from [`OLD_HEAD`] to [`HEAD`] changed.
const PUSH_DIFF: &str = "diff --git a/src/lib.rs b/src/lib.rs
index 0000002..0000004 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -12,2 +12,2 @@
-let d = 4;
+let d = 5;
 }
";

fn sha(text: &str) -> CommitSha {
    CommitSha(text.into())
}

/// A live installation token, minted by the client's first call, for raw HTTP requests.
async fn live_token(fake: &FakeGitHub, client: &bot::github::InstallationClient) -> String {
    client.pull_request(&repo(), &PrNumber(7)).await.unwrap();
    lock(&fake.world).tokens.keys().next().cloned().unwrap()
}

/// The queries of the requests to `route`, in order.
fn queries(fake: &FakeGitHub, route: &str) -> Vec<String> {
    fake.requests_to(route)
        .into_iter()
        .map(|r| r.query.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn compare_diff_returns_what_the_push_changed() {
    let (fake, client) = setup().await;
    fake.set_compare(REPO, OLD_HEAD, HEAD, PUSH_DIFF);

    let diff = client
        .compare_diff(&repo(), &sha(OLD_HEAD), &sha(HEAD))
        .await
        .unwrap();
    assert_eq!(diff.as_deref(), Some(PUSH_DIFF.as_bytes()));
    let requests = fake.requests_to(route::COMPARE_COMMITS);
    assert_eq!(requests.len(), 2, "ancestry (JSON) first, then the diff");
    assert_eq!(
        requests[1].path,
        format!("/repos/octo-org/widgets/compare/{OLD_HEAD}...{HEAD}")
    );

    fake.set_compare(REPO, HEAD, HEAD, "");
    fake.set_compare_status(REPO, HEAD, HEAD, "identical");
    let same = client
        .compare_diff(&repo(), &sha(HEAD), &sha(HEAD))
        .await
        .unwrap();
    assert_eq!(same, Some(Vec::new()));
    fake.assert_no_surprises();
}

#[tokio::test]
async fn compare_diff_is_none_when_a_commit_is_gone_too_large_or_rebased() {
    let (fake, client) = setup().await;

    // Force-pushed away: GitHub no longer has the old head.
    let gone = client
        .compare_diff(&repo(), &sha(OLD_HEAD), &sha(HEAD))
        .await
        .unwrap();
    assert_eq!(gone, None);

    fake.set_compare(REPO, OLD_HEAD, HEAD, PUSH_DIFF);
    fake.set_compare_too_large(REPO, OLD_HEAD, HEAD, true);
    let too_large = client
        .compare_diff(&repo(), &sha(OLD_HEAD), &sha(HEAD))
        .await
        .unwrap();
    assert_eq!(too_large, None);

    // A rebase: the three-dot diff would hold the base branch's changes too.
    fake.set_compare_too_large(REPO, OLD_HEAD, HEAD, false);
    fake.set_compare_status(REPO, OLD_HEAD, HEAD, "diverged");
    fake.clear_requests();
    let rebased = client
        .compare_diff(&repo(), &sha(OLD_HEAD), &sha(HEAD))
        .await
        .unwrap();
    assert_eq!(rebased, None);
    assert_eq!(
        fake.request_count(route::COMPARE_COMMITS),
        1,
        "no diff fetched"
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn compare_diff_too_slow_is_none_but_other_server_errors_are_errors() {
    let (fake, client) = setup().await;
    fake.set_compare(REPO, OLD_HEAD, HEAD, PUSH_DIFF);
    fake.fail_next(
        route::COMPARE_COMMITS,
        Failure::new(500).message("Server Error: Sorry, this diff is taking too long to generate."),
        1,
    );
    let slow = client
        .compare_diff(&repo(), &sha(OLD_HEAD), &sha(HEAD))
        .await
        .unwrap();
    assert_eq!(slow, None);

    fake.fail_next(route::COMPARE_COMMITS, 502, 1);
    let err = client
        .compare_diff(&repo(), &sha(OLD_HEAD), &sha(HEAD))
        .await
        .unwrap_err();
    assert_eq!(err, GitHubError::Server { status: 502 });
    assert!(err.is_retryable());
}

#[tokio::test]
async fn tree_paths_lists_the_files_of_that_ref_only() {
    let (fake, client) = setup().await;
    fake.set_file(REPO, HEAD, "src/lib.rs", b"fn a() {}");
    fake.set_file(REPO, HEAD, "tests/api/test_users.py", b"def test(): pass");
    fake.set_file(REPO, HEAD, "pytest.ini", b"[pytest]");
    fake.set_file(REPO, "main", "only-on-main.txt", b"x");

    let listing = client.tree_paths(&repo(), HEAD).await.unwrap();
    assert_eq!(
        listing.paths,
        ["pytest.ini", "src/lib.rs", "tests/api/test_users.py"],
        "blobs only: no `src`, `tests` or `tests/api` directories"
    );
    assert!(!listing.truncated);
    let requests = fake.requests_to(route::GET_TREE);
    assert_eq!(
        requests[0].path,
        format!("/repos/octo-org/widgets/git/trees/{HEAD}")
    );
    assert_eq!(requests[0].query.as_deref(), Some("recursive=1"));

    let main = client.tree_paths(&repo(), "main").await.unwrap();
    assert_eq!(main.paths, ["only-on-main.txt"]);
    assert_eq!(
        client.tree_paths(&repo(), BASE).await.unwrap_err(),
        GitHubError::NotFound
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn tree_paths_reports_a_truncated_listing() {
    let (fake, client) = setup().await;
    for i in 0..5 {
        fake.set_file(REPO, HEAD, &format!("f{i}.txt"), b"x");
    }
    fake.set_tree_entry_limit(3);
    let listing = client.tree_paths(&repo(), HEAD).await.unwrap();
    assert!(listing.truncated);
    assert_eq!(listing.paths, ["f0.txt", "f1.txt", "f2.txt"]);

    // An empty repository is GitHub's 409 on git routes: it has no files.
    fake.fail_next(
        route::GET_TREE,
        Failure::new(409).message("Git Repository is empty."),
        1,
    );
    let empty = client.tree_paths(&repo(), HEAD).await.unwrap();
    assert!(empty.paths.is_empty() && !empty.truncated);
}

#[tokio::test]
async fn review_comments_by_app_reads_every_page_and_only_the_apps_comments() {
    let (fake, client) = setup().await;
    let mut comments: Vec<_> = (0..120)
        .map(|i| {
            draft(
                "src/lib.rs",
                Some(12),
                &format!("c{i}\n<!-- reviewbot:s={i} -->"),
            )
        })
        .collect();
    comments.push(draft(
        "README.md",
        None,
        "file-level <!-- reviewbot:s=999 -->",
    ));
    let review = NewReview {
        commit_id: sha(HEAD),
        body: "121 things".into(),
        comments,
    };
    let posted = client
        .create_review(&repo(), &PrNumber(7), &review)
        .await
        .unwrap();
    assert_eq!(posted.comments.len(), 121);
    assert_eq!(posted.comments[5].body, "c5\n<!-- reviewbot:s=5 -->");
    assert_eq!(
        posted.comments[120].body,
        "file-level <!-- reviewbot:s=999 -->"
    );
    let first = posted.comments[0].id.clone();
    let reply = fake.add_review_reply(REPO, 7, first.0, "alice", "/accept <!-- reviewbot:s=0 -->");
    assert!(
        fake.review_comments(REPO, 7)
            .iter()
            .filter(|c| c.id != reply)
            .all(|c| c.user_login == fake.bot_login())
    );

    // The bot login as GitHub may case it.
    let mine = client
        .review_comments_by_app(&repo(), &PrNumber(7), &fake.bot_login().to_uppercase())
        .await
        .unwrap();
    assert_eq!(mine, posted.comments);
    assert!(mine.iter().all(|c| c.in_reply_to_id.is_none()));
    assert_eq!(
        queries(&fake, route::LIST_REVIEW_COMMENTS),
        ["per_page=100&page=1", "per_page=100&page=2"]
    );

    let theirs = client
        .review_comments_by_app(&repo(), &PrNumber(7), "alice")
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].id, CommentId(reply));
    assert_eq!(theirs[0].in_reply_to_id, Some(first));
    assert_eq!(theirs[0].line, Some(12));

    assert_eq!(
        client
            .review_comments_by_app(&repo(), &PrNumber(8), "alice")
            .await
            .unwrap_err(),
        GitHubError::NotFound
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn create_file_comment_posts_one_bounded_file_level_comment() {
    let (fake, client) = setup().await;
    let comment = client
        .create_file_comment(
            &repo(),
            &PrNumber(7),
            &sha(HEAD),
            "src/lib.rs",
            "split this file <!-- reviewbot:s=1 -->",
        )
        .await
        .unwrap();
    assert_eq!(comment.path, "src/lib.rs");
    assert_eq!(comment.line, None);
    assert_eq!(comment.body, "split this file <!-- reviewbot:s=1 -->");
    let stored = fake.review_comments(REPO, 7);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, comment.id.0);
    assert_eq!(stored[0].subject_type, "file");
    assert_eq!(stored[0].commit_id, HEAD);
    assert_eq!(stored[0].user_login, fake.bot_login());

    let long = format!("{}\n<!-- reviewbot:s=2 -->", "y".repeat(70_000));
    let comment = client
        .create_file_comment(&repo(), &PrNumber(7), &sha(HEAD), "README.md", &long)
        .await
        .unwrap();
    assert_eq!(comment.body.chars().count(), MAX_COMMENT_CHARS);
    assert!(comment.body.ends_with("<!-- reviewbot:s=2 -->"));

    let err = client
        .create_file_comment(&repo(), &PrNumber(7), &sha(HEAD), "not/in/diff.rs", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GitHubError::Unexpected { status: 422, .. }),
        "{err:?}"
    );
    assert!(fake.contract_violations().is_empty());
    fake.assert_no_surprises();
}

#[tokio::test]
async fn issue_comments_are_posted_as_the_bot_and_read_back_across_pages() {
    let (fake, client) = setup().await;
    for i in 0..110 {
        fake.add_issue_comment(REPO, 7, "alice", &format!("comment {i}"));
    }
    let id = client
        .create_issue_comment(
            &repo(),
            &PrNumber(7),
            "config is invalid\n<!-- reviewbot:config-error -->",
        )
        .await
        .unwrap();
    fake.add_issue_comment(
        REPO,
        7,
        "reviewbot-test[bot]-impostor",
        "<!-- reviewbot:config-error -->",
    );

    let stored = fake.issue_comments(REPO, 7);
    assert_eq!(stored.len(), 112);
    assert_eq!(stored[110].id, id.0);
    assert_eq!(stored[110].user_login, fake.bot_login());

    let mine = client
        .issue_comments_by_app(&repo(), &PrNumber(7), &fake.bot_login())
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, id);
    assert_eq!(
        mine[0].body,
        "config is invalid\n<!-- reviewbot:config-error -->"
    );
    assert_eq!(
        queries(&fake, route::LIST_ISSUE_COMMENTS),
        ["per_page=100&page=1", "per_page=100&page=2"]
    );
    assert!(fake.contract_violations().is_empty());
    fake.assert_no_surprises();
}

#[tokio::test]
async fn issue_comment_body_is_cut_to_githubs_limit_keeping_the_marker() {
    let (fake, client) = setup().await;
    let long = format!(
        "{}\n<!-- reviewbot:config-error -->\n",
        "é".repeat(MAX_COMMENT_CHARS)
    );
    client
        .create_issue_comment(&repo(), &PrNumber(7), &long)
        .await
        .unwrap();
    let stored = fake.issue_comments(REPO, 7);
    assert_eq!(stored[0].body.chars().count(), MAX_COMMENT_CHARS);
    assert!(
        stored[0]
            .body
            .ends_with("… (truncated)\n<!-- reviewbot:config-error -->")
    );

    let err = client
        .create_issue_comment(&repo(), &PrNumber(8), "no such PR")
        .await
        .unwrap_err();
    assert_eq!(err, GitHubError::NotFound);
    fake.assert_no_surprises();
}

#[tokio::test]
async fn fake_refuses_issue_comments_github_would_refuse() {
    let (fake, client) = setup().await;
    // The client never sends these; the fake refuses them like GitHub so a change would show.
    let http = reqwest::Client::new();
    let token = live_token(&fake, &client).await;
    let url = format!("{}/repos/octo-org/widgets/issues/7/comments", fake.url());
    for (body, status) in [
        (json!({ "body": "x".repeat(MAX_COMMENT_CHARS + 1) }), 422),
        (json!({ "body": "  " }), 422),
        (json!({}), 422),
        (json!({ "body": "ok" }), 201),
    ] {
        let response = http
            .post(&url)
            .header("authorization", format!("token {token}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
    }
    // Only the body without `body` breaks GitHub's description.
    assert_eq!(fake.contract_violations().len(), 1);
}

#[tokio::test]
async fn collaborator_permission_reads_role_name_then_permission() {
    let (fake, client) = setup().await;
    fake.set_permission(REPO, "Admin-User", "admin");
    fake.set_permission(REPO, "maintainer", "maintain");
    fake.set_permission(REPO, "writer", "write");
    fake.set_permission(REPO, "triager", "triage");
    fake.set_permission(REPO, "blocked", "none");
    fake.set_custom_role(REPO, "security-lead", "security-manager", "write");

    let cases = [
        ("admin-user", Permission::Admin, true),
        ("maintainer", Permission::Maintain, true),
        ("writer", Permission::Write, true),
        ("triager", Permission::Triage, false),
        ("blocked", Permission::None, false),
        ("security-lead", Permission::Write, true),
        ("passer-by", Permission::Read, false),
    ];
    for (login, want, can_write) in cases {
        let got = client
            .collaborator_permission(&repo(), login)
            .await
            .unwrap();
        assert_eq!(got, want, "{login}");
        assert_eq!(got.can_write(), can_write, "{login}");
    }
    assert_eq!(
        fake.requests_to(route::GET_COLLABORATOR_PERMISSION)[0].path,
        "/repos/octo-org/widgets/collaborators/admin-user/permission"
    );

    // GitHub's answer for a login that is not a user.
    fake.fail_next(route::GET_COLLABORATOR_PERMISSION, 404, 1);
    assert_eq!(
        client
            .collaborator_permission(&repo(), "ghost")
            .await
            .unwrap(),
        Permission::None
    );
    fake.fail_next(route::GET_COLLABORATOR_PERMISSION, 503, 1);
    assert_eq!(
        client
            .collaborator_permission(&repo(), "writer")
            .await
            .unwrap_err(),
        GitHubError::Server { status: 503 }
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn check_runs_for_ref_finds_our_latest_run_by_name_and_app() {
    let (fake, client) = setup().await;
    let head = sha(HEAD);
    let name = "reviewbot / review";
    let older = client
        .create_check_run(&repo(), &head, name, CheckStatus::Queued)
        .await
        .unwrap();
    let newer = client
        .create_check_run(&repo(), &head, name, CheckStatus::InProgress)
        .await
        .unwrap();
    client
        .update_check_run(
            &repo(),
            &newer,
            CheckState::Completed(CheckConclusion::Neutral),
            "done",
            "done",
        )
        .await
        .unwrap();
    fake.add_check_run(REPO, 7, name, HEAD, "in_progress");
    fake.add_check_run(REPO, TEST_APP_ID, "other check", HEAD, "queued");
    fake.add_check_run(REPO, TEST_APP_ID, name, BASE, "queued");

    let runs = client
        .check_runs_for_ref(&repo(), HEAD, name, TEST_APP_ID)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].id, newer);
    assert_ne!(runs[0].id, older);
    assert_eq!(runs[0].name, name);
    assert_eq!(runs[0].head_sha, head);
    assert_eq!(runs[0].status, "completed");
    assert!(runs[0].is_completed());
    assert_eq!(runs[0].conclusion.as_deref(), Some("neutral"));
    let requests = fake.requests_to(route::LIST_CHECK_RUNS_FOR_REF);
    assert_eq!(
        requests[0].path,
        format!("/repos/octo-org/widgets/commits/{HEAD}/check-runs")
    );
    assert_eq!(
        requests[0].query.as_deref(),
        Some("check_name=reviewbot%20%2F%20review&app_id=424242&filter=latest&per_page=100&page=1")
    );

    // A branch name resolves to its head commit; another App's runs stay invisible.
    let by_branch = client
        .check_runs_for_ref(&repo(), "feature", name, TEST_APP_ID)
        .await
        .unwrap();
    assert_eq!(by_branch, runs);
    assert!(
        client
            .check_runs_for_ref(&repo(), OLD_HEAD, name, TEST_APP_ID)
            .await
            .unwrap()
            .is_empty()
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn fake_check_run_pages_link_with_their_filters() {
    let (fake, client) = setup().await;
    for _ in 0..3 {
        fake.add_check_run(REPO, TEST_APP_ID, "a b", HEAD, "queued");
    }
    let token = live_token(&fake, &client).await;
    let response = reqwest::Client::new()
        .get(format!(
            "{}/repos/octo-org/widgets/commits/{HEAD}/check-runs?check_name=a%20b&filter=all&per_page=2",
            fake.url()
        ))
        .header("authorization", format!("token {token}"))
        .send()
        .await
        .unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["total_count"], 3);
    assert_eq!(body["check_runs"].as_array().unwrap().len(), 2);
    assert!(
        link.contains("check-runs?check_name=a+b&filter=all&per_page=2&page=2>; rel=\"next\""),
        "{link}"
    );
}

/// Bytes of `len` that are not all alike, so a wrong slice would show.
fn file_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn file_at_reads_files_over_one_mb_raw() {
    let (fake, client) = setup().await;
    let inline = file_of(1024 * 1024);
    let big = file_of(2 * 1024 * 1024 + 3);
    fake.set_file(REPO, HEAD, "inline.bin", &inline);
    fake.set_file(REPO, HEAD, "data/big.bin", &big);

    let read = client.file_at(&repo(), "inline.bin", HEAD).await.unwrap();
    assert_eq!(read.as_deref(), Some(inline.as_slice()));
    assert_eq!(fake.request_count(route::GET_CONTENT), 1, "1 MB is inlined");

    let read = client.file_at(&repo(), "data/big.bin", HEAD).await.unwrap();
    assert_eq!(read.map(|b| b.len()), Some(big.len()));
    assert_eq!(
        fake.request_count(route::GET_CONTENT),
        3,
        "JSON first, then the raw media type"
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn file_at_refuses_files_over_the_limit_without_reading_them() {
    let (fake, client) = setup().await;
    let limit = usize::try_from(MAX_FILE_BYTES).unwrap();
    fake.set_file(REPO, HEAD, "at-limit.bin", &file_of(limit));
    fake.set_file(REPO, HEAD, "huge.bin", &file_of(limit + 1));

    let read = client.file_at(&repo(), "at-limit.bin", HEAD).await.unwrap();
    assert_eq!(read.map(|b| b.len()), Some(limit));
    fake.clear_requests();

    let err = client.file_at(&repo(), "huge.bin", HEAD).await.unwrap_err();
    let GitHubError::Decode(message) = &err else {
        panic!("expected a decode error, got {err:?}");
    };
    assert!(message.contains("huge.bin"), "{message}");
    assert!(message.contains("too large to review"), "{message}");
    assert_eq!(
        fake.request_count(route::GET_CONTENT),
        1,
        "the raw bytes are never fetched"
    );

    // Over 100 MB GitHub refuses the blob outright; that is too large too, not a lost permission.
    fake.fail_next(
        route::GET_CONTENT,
        Failure::new(403).message("This API returns blobs up to 100 MB in size. The requested blob is too large to fetch via the API, but you can always clone the repository via Git to obtain it."),
        1,
    );
    let err = client.file_at(&repo(), "huge.bin", HEAD).await.unwrap_err();
    assert!(
        matches!(&err, GitHubError::Decode(m) if m.contains("too large to review")),
        "{err:?}"
    );
    fake.assert_no_surprises();
}

#[test]
fn fake_answers_match_githubs_schemas() {
    let comment = FakeIssueComment {
        id: 1,
        issue: 7,
        user_login: "reviewbot-test[bot]".into(),
        body: "hi".into(),
    };
    openapi::check_response_body(
        "post",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        201,
        &repos::issue_comment_json("http://x", "octo-org/widgets", &comment),
    )
    .unwrap();
    let access = state::Access {
        permission: "write".into(),
        role_name: "maintain".into(),
    };
    openapi::check_response_body(
        "get",
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        200,
        &repos::permission_json("octocat", &access),
    )
    .unwrap();
}

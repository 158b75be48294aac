//! `InstallationClient`'s feedback calls against the fake GitHub: reactions on review comments
//! (conditional polling), replies in a thread, reading one comment back, team membership and
//! the open PRs of a repository.

use bot::github::GitHubError;
use bot::github::ids::{CommentId, CommitSha, PrNumber};
use bot::github::reactions::Reactions;
use bot::github::review_comments::ReviewCommentInfo;
use bot::github::reviews::{MAX_COMMENT_CHARS, NewReview, PostedComment};

use super::pulls_tests::{BASE, HEAD, REPO, draft, repo, setup};
use super::*;

/// Posts a review with one inline comment (line 12 of `src/lib.rs`) and one file-level
/// comment (`README.md`), both carrying markers; the posted comments.
async fn bot_comments(client: &bot::github::InstallationClient) -> Vec<PostedComment> {
    let review = NewReview {
        commit_id: CommitSha(HEAD.into()),
        body: "two things".into(),
        comments: vec![
            draft("src/lib.rs", Some(12), "inline <!-- reviewbot:s=1 -->"),
            draft("README.md", None, "file <!-- reviewbot:s=2 -->"),
        ],
    };
    client
        .create_review(&repo(), &PrNumber(7), &review)
        .await
        .unwrap()
        .comments
}

/// The reactions of a fresh answer, and its ETag; panics on any other answer.
fn fresh(answer: Reactions) -> (Option<String>, Vec<bot::github::reactions::Reaction>) {
    match answer {
        Reactions::Fresh { etag, reactions } => (etag, reactions),
        other => panic!("expected fresh reactions, got {other:?}"),
    }
}

/// The queries of the requests to `route`, in order.
fn queries(fake: &FakeGitHub, route: &str) -> Vec<String> {
    fake.requests_to(route)
        .into_iter()
        .map(|r| r.query.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn reactions_are_read_with_who_reacted_and_whether_it_was_a_bot() {
    let (fake, client) = setup().await;
    let comments = bot_comments(&client).await;
    let comment = comments[0].id.clone();
    let up = fake.add_reaction(REPO, comment.0, "alice", "+1");
    fake.add_reaction(REPO, comment.0, "other-app[bot]", "-1");
    assert_eq!(
        fake.add_reaction(REPO, comment.0, "Alice", "+1"),
        up,
        "one reaction of each content per user"
    );
    client
        .add_review_comment_reaction(&repo(), &comment, "eyes")
        .await
        .unwrap();

    let (etag, reactions) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, None)
            .await
            .unwrap(),
    );
    assert!(
        etag.as_deref().is_some_and(|e| e.starts_with("W/\"")),
        "{etag:?}"
    );
    let seen: Vec<_> = reactions
        .iter()
        .map(|r| (r.content.as_str(), r.user_login.as_str(), r.user_is_bot))
        .collect();
    assert_eq!(
        seen,
        [
            ("+1", "alice", false),
            ("-1", "other-app[bot]", true),
            ("eyes", "reviewbot-test[bot]", true),
        ]
    );
    assert_eq!(reactions[0].id, up);
    let stored = fake.reactions(REPO, comment.0);
    assert_eq!(
        reactions[0].created_at.timestamp(),
        stored[0].created_at.timestamp()
    );
    assert_eq!(
        queries(&fake, route::LIST_REVIEW_COMMENT_REACTIONS),
        ["per_page=100&page=1"]
    );

    // The other comment has none.
    let (_, none) = fresh(
        client
            .review_comment_reactions(&repo(), &comments[1].id, None)
            .await
            .unwrap(),
    );
    assert!(none.is_empty());
    fake.assert_no_surprises();
}

#[tokio::test]
async fn an_unchanged_reaction_list_is_not_modified_until_it_changes() {
    let (fake, client) = setup().await;
    let comment = bot_comments(&client).await[0].id.clone();
    let up = fake.add_reaction(REPO, comment.0, "alice", "+1");

    let (etag, first) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, None)
            .await
            .unwrap(),
    );
    let etag = etag.unwrap();
    assert_eq!(first.len(), 1);
    let again = client
        .review_comment_reactions(&repo(), &comment, Some(&etag))
        .await
        .unwrap();
    assert_eq!(again, Reactions::NotModified);

    // A new reaction changes the ETag: the next poll is fresh.
    fake.add_reaction(REPO, comment.0, "bob", "-1");
    let (changed_etag, changed) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, Some(&etag))
            .await
            .unwrap(),
    );
    let changed_etag = changed_etag.unwrap();
    assert_ne!(changed_etag, etag);
    assert_eq!(changed.len(), 2);

    // So does taking one away.
    fake.remove_reaction(REPO, comment.0, up);
    let (_, removed) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, Some(&changed_etag))
            .await
            .unwrap(),
    );
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].user_login, "bob");

    // An ETag that cannot be a header value is not sent: a plain read.
    let (_, plain) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, Some("bad\netag"))
            .await
            .unwrap(),
    );
    assert_eq!(plain.len(), 1);
    fake.assert_no_surprises();
}

#[tokio::test]
async fn an_etag_from_an_earlier_token_gets_a_fresh_answer() {
    let (fake, client) = setup().await;
    let comment = bot_comments(&client).await[0].id.clone();
    fake.add_reaction(REPO, comment.0, "alice", "+1");
    let (etag, _) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, None)
            .await
            .unwrap(),
    );
    let etag = etag.unwrap();

    // GitHub's ETags are token-specific: after a new installation token, the same list
    // has another ETag, so the conditional request is answered in full.
    fake.revoke_tokens();
    let (new_etag, reactions) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, Some(&etag))
            .await
            .unwrap(),
    );
    assert_eq!(reactions.len(), 1);
    let new_etag = new_etag.unwrap();
    assert_ne!(new_etag, etag);
    assert_eq!(
        client
            .review_comment_reactions(&repo(), &comment, Some(&new_etag))
            .await
            .unwrap(),
        Reactions::NotModified
    );
}

#[tokio::test]
async fn reactions_over_several_pages_are_all_read_and_carry_no_etag() {
    let (fake, client) = setup().await;
    let comment = bot_comments(&client).await[0].id.clone();
    for i in 0..150 {
        fake.add_reaction(REPO, comment.0, &format!("user{i}"), "+1");
    }
    let (etag, reactions) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, None)
            .await
            .unwrap(),
    );
    assert_eq!(reactions.len(), 150);
    assert_eq!(reactions[149].user_login, "user149");
    assert_eq!(
        etag, None,
        "the first page's ETag does not vouch for the second page"
    );
    assert_eq!(
        queries(&fake, route::LIST_REVIEW_COMMENT_REACTIONS),
        ["per_page=100&page=1", "per_page=100&page=2"]
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn reactions_stop_at_the_page_limit() {
    let (fake, client) = setup().await;
    let comment = bot_comments(&client).await[0].id.clone();
    for i in 0..1_050 {
        fake.add_reaction(REPO, comment.0, &format!("user{i}"), "heart");
    }
    let (etag, reactions) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, None)
            .await
            .unwrap(),
    );
    assert_eq!(reactions.len(), 1_000);
    assert_eq!(etag, None);
    assert_eq!(fake.request_count(route::LIST_REVIEW_COMMENT_REACTIONS), 10);
}

#[tokio::test]
async fn reactions_of_a_deleted_comment_are_gone() {
    let (fake, client) = setup().await;
    let comment = bot_comments(&client).await[0].id.clone();
    fake.add_reaction(REPO, comment.0, "alice", "+1");
    let (etag, _) = fresh(
        client
            .review_comment_reactions(&repo(), &comment, None)
            .await
            .unwrap(),
    );

    fake.delete_review_comment(REPO, comment.0);
    assert!(fake.reactions(REPO, comment.0).is_empty());
    for etag in [None, etag.as_deref()] {
        assert_eq!(
            client
                .review_comment_reactions(&repo(), &comment, etag)
                .await
                .unwrap(),
            Reactions::Gone
        );
    }
    assert_eq!(
        client
            .review_comment_reactions(&repo(), &CommentId(1), None)
            .await
            .unwrap(),
        Reactions::Gone
    );

    // Other failures stay errors.
    fake.fail_next(route::LIST_REVIEW_COMMENT_REACTIONS, 502, 1);
    let other = bot_comments(&client).await[0].id.clone();
    let err = client
        .review_comment_reactions(&repo(), &other, None)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    fake.assert_no_surprises();
}

#[tokio::test]
async fn adding_a_reaction_twice_is_fine_and_an_unknown_one_is_refused() {
    let (fake, client) = setup().await;
    let comment = bot_comments(&client).await[0].id.clone();
    for _ in 0..2 {
        client
            .add_review_comment_reaction(&repo(), &comment, "eyes")
            .await
            .unwrap();
    }
    let stored = fake.reactions(REPO, comment.0);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].user_login, fake.bot_login());
    assert_eq!(stored[0].content, "eyes");
    let bodies: Vec<_> = fake
        .requests_to(route::CREATE_REVIEW_COMMENT_REACTION)
        .into_iter()
        .map(|r| r.body.unwrap())
        .collect();
    assert_eq!(bodies, [json_content("eyes"), json_content("eyes")]);
    fake.assert_no_surprises();

    fake.delete_review_comment(REPO, comment.0);
    assert_eq!(
        client
            .add_review_comment_reaction(&repo(), &comment, "+1")
            .await
            .unwrap_err(),
        GitHubError::NotFound
    );

    let other = bot_comments(&client).await[0].id.clone();
    let err = client
        .add_review_comment_reaction(&repo(), &other, "thumbsup")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GitHubError::Unexpected { status: 422, .. }),
        "{err:?}"
    );
    let violations = fake.contract_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("thumbsup"), "{violations:?}");
}

fn json_content(content: &str) -> serde_json::Value {
    serde_json::json!({ "content": content })
}

#[tokio::test]
async fn a_reply_lands_in_the_thread_and_a_retried_job_finds_it_by_its_marker() {
    let (fake, client) = setup().await;
    let comments = bot_comments(&client).await;
    let thread = comments[0].id.clone();
    let human = fake.add_review_reply(REPO, 7, thread.0, "alice", "/reject wat");

    let reply = client
        .reply_to_review_comment(
            &repo(),
            &PrNumber(7),
            &thread,
            "Unknown command `/reject wat`.\n<!-- reviewbot:reply=42 -->",
        )
        .await
        .unwrap();
    let stored = fake.review_comments(REPO, 7);
    let posted = stored.iter().find(|c| c.id == reply.0).unwrap();
    assert_eq!(posted.in_reply_to_id, Some(thread.0));
    assert_eq!(posted.user_login, fake.bot_login());
    assert_eq!(posted.path, "src/lib.rs");
    assert_eq!(
        fake.requests_to(route::CREATE_REVIEW_COMMENT_REPLY)[0].path,
        format!(
            "/repos/octo-org/widgets/pulls/7/comments/{}/replies",
            thread.0
        )
    );

    // A retried job lists the App's comments and finds its reply, by thread and marker;
    // the human's reply is not among them.
    let mine = client
        .review_comments_by_app(&repo(), &PrNumber(7), &fake.bot_login())
        .await
        .unwrap();
    let earlier: Vec<_> = mine
        .iter()
        .filter(|c| c.in_reply_to_id == Some(thread.clone()))
        .filter(|c| c.body.contains("<!-- reviewbot:reply=42 -->"))
        .collect();
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0].id, reply);
    assert!(mine.iter().all(|c| c.id.0 != human));
    fake.assert_no_surprises();
}

#[tokio::test]
async fn a_long_reply_is_bounded_keeping_its_marker() {
    let (fake, client) = setup().await;
    let thread = bot_comments(&client).await[0].id.clone();
    let body = format!(
        "{}\n<!-- reviewbot:reply=7 -->",
        "x".repeat(MAX_COMMENT_CHARS + 10)
    );
    let reply = client
        .reply_to_review_comment(&repo(), &PrNumber(7), &thread, &body)
        .await
        .unwrap();
    let stored = fake
        .review_comments(REPO, 7)
        .into_iter()
        .find(|c| c.id == reply.0)
        .unwrap();
    assert_eq!(stored.body.chars().count(), MAX_COMMENT_CHARS);
    assert!(stored.body.ends_with("<!-- reviewbot:reply=7 -->"));
    fake.assert_no_surprises();
}

#[tokio::test]
async fn replies_to_replies_and_to_missing_comments_are_refused() {
    let (fake, client) = setup().await;
    let thread = bot_comments(&client).await[0].id.clone();
    let human = fake.add_review_reply(REPO, 7, thread.0, "alice", "/accept");

    let err = client
        .reply_to_review_comment(&repo(), &PrNumber(7), &CommentId(human), "ok")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GitHubError::Unexpected { status: 422, .. }),
        "{err:?}"
    );
    // The right way: the reply's `in_reply_to_id`, read from the comment.
    let read = client
        .get_review_comment(&repo(), &CommentId(human))
        .await
        .unwrap()
        .unwrap();
    let root = read.in_reply_to_id.unwrap_or(read.id);
    assert_eq!(root, thread);
    client
        .reply_to_review_comment(&repo(), &PrNumber(7), &root, "ok")
        .await
        .unwrap();

    fake.add_pull_request(REPO, 8, HEAD, BASE);
    for (pr, comment) in [(8, thread.clone()), (7, CommentId(1)), (9, thread)] {
        assert_eq!(
            client
                .reply_to_review_comment(&repo(), &PrNumber(pr), &comment, "ok")
                .await
                .unwrap_err(),
            GitHubError::NotFound,
            "PR {pr}, comment {comment}"
        );
    }
    fake.assert_no_surprises();
}

#[tokio::test]
async fn one_review_comment_is_read_back_with_its_author() {
    let (fake, client) = setup().await;
    let comments = bot_comments(&client).await;
    let inline = client
        .get_review_comment(&repo(), &comments[0].id)
        .await
        .unwrap();
    assert_eq!(
        inline,
        Some(ReviewCommentInfo {
            id: comments[0].id.clone(),
            body: "inline <!-- reviewbot:s=1 -->".into(),
            user_login: fake.bot_login(),
            in_reply_to_id: None,
            path: "src/lib.rs".into(),
            line: Some(12),
        })
    );
    let file = client
        .get_review_comment(&repo(), &comments[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((file.path.as_str(), file.line), ("README.md", None));

    // A human's reply quoting our marker: the author tells it is not ours.
    let forged = fake.add_review_reply(
        REPO,
        7,
        comments[0].id.0,
        "mallory",
        "<!-- reviewbot:s=1 -->",
    );
    let read = client
        .get_review_comment(&repo(), &CommentId(forged))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.user_login, "mallory");
    assert_eq!(read.in_reply_to_id, Some(comments[0].id.clone()));

    fake.delete_review_comment(REPO, comments[0].id.0);
    assert_eq!(
        client
            .get_review_comment(&repo(), &comments[0].id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        fake.requests_to(route::GET_REVIEW_COMMENT)[0].path,
        format!("/repos/octo-org/widgets/pulls/comments/{}", comments[0].id)
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn team_membership_is_true_only_for_active_members_of_a_visible_team() {
    let (fake, client) = setup().await;
    fake.set_team_member("octo-org", "security", "alice", "active");
    fake.set_team_member("Octo-Org", "Security", "bob", "pending");
    fake.set_team_member("other-org", "security", "carol", "active");

    let member = |org: &'static str, team: &'static str, login: &'static str| {
        let client = client.clone();
        async move { client.team_membership(org, team, login).await }
    };
    assert!(member("octo-org", "security", "alice").await.unwrap());
    assert!(member("Octo-Org", "SECURITY", "Alice").await.unwrap());
    assert!(
        !member("octo-org", "security", "bob").await.unwrap(),
        "pending"
    );
    assert!(
        !member("octo-org", "security", "dave").await.unwrap(),
        "not a member"
    );
    assert!(
        !member("octo-org", "red-team", "alice").await.unwrap(),
        "no such team"
    );
    assert!(
        !member("other-org", "security", "carol").await.unwrap(),
        "a team of an organization the App is not installed on is not visible"
    );
    assert_eq!(
        fake.requests_to(route::GET_TEAM_MEMBERSHIP)[0].path,
        "/orgs/octo-org/teams/security/memberships/alice"
    );

    fake.remove_team_member("octo-org", "security", "alice");
    assert!(!member("octo-org", "security", "alice").await.unwrap());

    // Without "Members: read" GitHub refuses: an error, not a "no".
    fake.deny_members_permission(42);
    let err = member("octo-org", "security", "bob").await.unwrap_err();
    assert!(
        matches!(&err, GitHubError::Forbidden { message } if message.contains("not accessible")),
        "{err:?}"
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn fake_feedback_answers_match_githubs_schemas() {
    let (fake, client) = setup().await;
    let comment = bot_comments(&client).await[0].id.clone();
    fake.add_reaction(REPO, comment.0, "alice", "+1");
    fake.set_team_member("octo-org", "security", "alice", "active");
    let token = lock(&fake.world).tokens.keys().next().cloned().unwrap();
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{}{path}", fake.url()))
            .bearer_auth(&token)
            .header("user-agent", "test")
            .send()
    };

    let response = get(format!(
        "/repos/octo-org/widgets/pulls/comments/{comment}/reactions"
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    openapi::check_response_body(
        "get",
        "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
        200,
        &body,
    )
    .unwrap();
    // A 304 has no body, and repeats the ETag; `*` matches any.
    for tag in [etag.clone(), format!("\"other\", {etag}"), "*".into()] {
        let response = http
            .get(format!(
                "{}/repos/octo-org/widgets/pulls/comments/{comment}/reactions",
                fake.url()
            ))
            .bearer_auth(&token)
            .header("if-none-match", &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{tag}");
        assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);
        assert!(response.bytes().await.unwrap().is_empty());
    }

    let response = http
        .post(format!(
            "{}/repos/octo-org/widgets/pulls/7/comments/{comment}/replies",
            fake.url()
        ))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "body": "thanks" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    openapi::check_response_body(
        "post",
        "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
        201,
        &body,
    )
    .unwrap();

    let response = get("/orgs/octo-org/teams/security/memberships/alice".into())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    openapi::check_response_body(
        "get",
        "/orgs/{org}/teams/{team_slug}/memberships/{username}",
        200,
        &body,
    )
    .unwrap();
    fake.assert_no_surprises();
}

//! `InstallationClient::file_with_sha` and `put_file` against the fake GitHub: creating a
//! file, replacing it with its blob sha, and GitHub's 422 (no sha) and 409 (stale sha).

use bot::github::GitHubError;
use bot::github::ids::CommitSha;
use serde_json::json;

use super::contents::blob_sha;
use super::pulls_tests::{HEAD, REPO, repo, setup};
use super::*;

/// The fake's PR 7 comes from this branch of the same repository.
const BRANCH: &str = "feature";

#[tokio::test]
async fn put_file_creates_a_file_in_a_new_commit_on_the_branch() {
    let (fake, client) = setup().await;
    fake.set_file(REPO, BRANCH, "README.md", b"# Widgets\n");
    assert_eq!(
        client
            .file_with_sha(&repo(), "docs/new.md", BRANCH)
            .await
            .unwrap(),
        None
    );

    let commit = client
        .put_file(&repo(), "docs/new.md", BRANCH, b"new\n", "Add docs", None)
        .await
        .unwrap();

    assert_eq!(commit.as_str().len(), 40);
    assert_eq!(
        fake.commits_to(REPO, BRANCH),
        [(commit.as_str().to_owned(), "Add docs".to_owned())]
    );
    assert_eq!(fake.file(REPO, BRANCH, "docs/new.md").unwrap(), b"new\n");
    // The commit holds the new file and the branch's other files.
    assert_eq!(
        fake.file(REPO, commit.as_str(), "docs/new.md").unwrap(),
        b"new\n"
    );
    assert_eq!(
        fake.file(REPO, commit.as_str(), "README.md").unwrap(),
        b"# Widgets\n"
    );
    // A push to the PR's head branch moves the PR's head.
    let pr = client
        .pull_request(&repo(), &bot::github::ids::PrNumber(7))
        .await
        .unwrap();
    assert_eq!(pr.head_sha, commit);
    assert_ne!(pr.head_sha, CommitSha(HEAD.into()));

    let put = fake.requests_to(route::PUT_CONTENT);
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].method, "PUT");
    assert_eq!(put[0].path, "/repos/octo-org/widgets/contents/docs/new.md");
    assert_eq!(
        put[0].body,
        Some(json!({ "message": "Add docs", "content": "bmV3Cg==", "branch": BRANCH }))
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn put_file_replaces_a_file_with_the_sha_file_with_sha_read() {
    let (fake, client) = setup().await;
    fake.set_file(REPO, BRANCH, "src/lib.rs", b"old\n");

    let (bytes, sha) = client
        .file_with_sha(&repo(), "src/lib.rs", BRANCH)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bytes, b"old\n");
    assert_eq!(sha, blob_sha(b"old\n"));
    // The same content at another ref has the same blob sha.
    fake.set_file(REPO, HEAD, "src/lib.rs", b"old\n");
    let (_, at_head) = client
        .file_with_sha(&repo(), "src/lib.rs", HEAD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at_head, sha);

    let first = client
        .put_file(&repo(), "src/lib.rs", BRANCH, b"new\n", "Fix", Some(&sha))
        .await
        .unwrap();
    let (bytes, new_sha) = client
        .file_with_sha(&repo(), "src/lib.rs", BRANCH)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bytes, b"new\n");
    assert_ne!(new_sha, sha);
    let second = client
        .put_file(
            &repo(),
            "src/lib.rs",
            BRANCH,
            b"newer\n",
            "Again",
            Some(&new_sha),
        )
        .await
        .unwrap();

    assert_ne!(first, second);
    assert_eq!(
        fake.commits_to(REPO, BRANCH),
        [
            (first.as_str().to_owned(), "Fix".to_owned()),
            (second.as_str().to_owned(), "Again".to_owned())
        ]
    );
    assert_eq!(
        fake.file(REPO, first.as_str(), "src/lib.rs").unwrap(),
        b"new\n"
    );
    assert_eq!(fake.file(REPO, BRANCH, "src/lib.rs").unwrap(), b"newer\n");
    assert_eq!(
        fake.requests_to(route::PUT_CONTENT)[0]
            .body
            .as_ref()
            .unwrap()["sha"],
        sha.as_str()
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn put_file_without_the_sha_of_an_existing_file_is_422() {
    let (fake, client) = setup().await;
    fake.set_file(REPO, BRANCH, "src/lib.rs", b"old\n");

    let err = client
        .put_file(&repo(), "src/lib.rs", BRANCH, b"new\n", "Fix", None)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, GitHubError::Unexpected { status: 422, message } if message.contains("\"sha\" wasn't supplied")),
        "{err:?}"
    );
    assert_eq!(fake.file(REPO, BRANCH, "src/lib.rs").unwrap(), b"old\n");
    assert!(fake.commits_to(REPO, BRANCH).is_empty());
    fake.assert_no_surprises();
}

#[tokio::test]
async fn put_file_with_a_stale_sha_is_409_and_a_retry_after_rereading_succeeds() {
    let (fake, client) = setup().await;
    fake.set_file(REPO, BRANCH, "src/lib.rs", b"old\n");
    let (_, stale) = client
        .file_with_sha(&repo(), "src/lib.rs", BRANCH)
        .await
        .unwrap()
        .unwrap();
    // Someone pushes in between.
    fake.set_file(REPO, BRANCH, "src/lib.rs", b"theirs\n");

    let err = client
        .put_file(
            &repo(),
            "src/lib.rs",
            BRANCH,
            b"ours\n",
            "Fix",
            Some(&stale),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GitHubError::Unexpected { status: 409, message } if message.contains("does not match")),
        "{err:?}"
    );
    assert_eq!(fake.file(REPO, BRANCH, "src/lib.rs").unwrap(), b"theirs\n");

    let (_, fresh) = client
        .file_with_sha(&repo(), "src/lib.rs", BRANCH)
        .await
        .unwrap()
        .unwrap();
    client
        .put_file(
            &repo(),
            "src/lib.rs",
            BRANCH,
            b"ours\n",
            "Fix",
            Some(&fresh),
        )
        .await
        .unwrap();
    assert_eq!(fake.file(REPO, BRANCH, "src/lib.rs").unwrap(), b"ours\n");
    fake.assert_no_surprises();
}

#[tokio::test]
async fn put_file_to_an_unknown_branch_is_not_found() {
    let (fake, client) = setup().await;

    let err = client
        .put_file(&repo(), "a.txt", "no-such-branch", b"x", "m", None)
        .await
        .unwrap_err();

    assert_eq!(err, GitHubError::NotFound);
    assert!(fake.file(REPO, "no-such-branch", "a.txt").is_none());
    fake.assert_no_surprises();
}

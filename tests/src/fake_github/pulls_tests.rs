//! `InstallationClient`'s pull request, review and check run calls against the fake GitHub.

use bot::config::GitHubConfig;
use bot::events::RepositorySelection;
use bot::github::checks::{CheckConclusion, CheckState, CheckStatus, MAX_SUMMARY_CHARS};
use bot::github::ids::{CommitSha, InstallationId, PrNumber, RepoName};
use bot::github::pulls::DiffSource;
use bot::github::reviews::{NewReview, ReviewCommentDraft, ReviewError};
use bot::github::{GitHubApp, InstallationClient};
use secrecy::SecretString;
use url::Url;

use super::*;

pub(super) const REPO: &str = "Octo-Org/Widgets";
pub(super) const HEAD: &str = "1111111111111111111111111111111111111111";
pub(super) const BASE: &str = "2222222222222222222222222222222222222222";

/// Two files: `src/lib.rs` modified (new-side lines 10..=14 in the hunk, 12 and 13 added) and
/// `README.md` added (lines 1..=2).
pub(super) const DIFF: &str = "diff --git a/src/lib.rs b/src/lib.rs
index 0000001..0000002 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -10,4 +10,5 @@ fn main() {
 let a = 1;
 let b = 2;
-let c = 3;
+let c = 4;
+let d = 5;
 }
diff --git a/README.md b/README.md
new file mode 100644
index 0000000..0000003
--- /dev/null
+++ b/README.md
@@ -0,0 +1,2 @@
+# Widgets
+Hello
";

pub(super) async fn setup() -> (FakeGitHub, InstallationClient) {
    let fake = FakeGitHub::start().await;
    fake.add_installation(42, "octo-org", RepositorySelection::Selected);
    fake.add_repository(42, 1001, REPO);
    fake.add_pull_request(REPO, 7, HEAD, BASE);
    fake.set_diff(REPO, 7, DIFF);
    bot::github::install_crypto_provider();
    let app = GitHubApp::new(&GitHubConfig {
        app_id: fake.app_id(),
        private_key: SecretString::from(fake.private_key_pem().to_owned()),
        private_key_source: "GITHUB_PRIVATE_KEY",
        webhook_secrets: vec![],
        api_url: Url::parse(&fake.url()).unwrap(),
        write_interval: std::time::Duration::ZERO,
    })
    .unwrap();
    let client = app.client(InstallationId(42)).await.unwrap();
    (fake, client)
}

pub(super) fn repo() -> RepoName {
    REPO.parse().unwrap()
}

pub(super) fn draft(path: &str, line: Option<u32>, body: &str) -> ReviewCommentDraft {
    ReviewCommentDraft {
        path: path.into(),
        body: body.into(),
        line,
    }
}

#[tokio::test]
async fn pull_request_info_is_read() {
    let (fake, client) = setup().await;
    fake.update_pull_request(REPO, 7, |pr| {
        pr.draft = true;
        pr.author = "alice".into();
        pr.head_repo = None;
    });
    let info = client.pull_request(&repo(), &PrNumber(7)).await.unwrap();
    assert_eq!(info.number, PrNumber(7));
    assert_eq!(info.state, "open");
    assert!(info.draft);
    assert_eq!(info.head_sha, CommitSha(HEAD.into()));
    assert_eq!(info.base_sha, CommitSha(BASE.into()));
    assert_eq!(info.head_ref, "feature");
    assert_eq!(info.base_ref, "main");
    assert_eq!(info.head_repo, None);
    assert_eq!(info.author_login, "alice");
    assert_eq!(info.title, "PR 7");
    assert_eq!(info.default_branch.as_deref(), Some("main"));

    let missing = client
        .pull_request(&repo(), &PrNumber(8))
        .await
        .unwrap_err();
    assert_eq!(missing, bot::github::GitHubError::NotFound);
    fake.assert_no_surprises();
}

#[tokio::test]
async fn diff_is_fetched_with_the_diff_media_type() {
    let (fake, client) = setup().await;
    let diff = client
        .pull_request_diff(&repo(), &PrNumber(7))
        .await
        .unwrap();
    assert_eq!(diff, DiffSource::Diff(DIFF.as_bytes().to_vec()));
    assert_eq!(fake.request_count(route::LIST_PULL_FILES), 0);
    fake.assert_no_surprises();
}

#[tokio::test]
async fn too_large_diff_falls_back_to_two_pages_of_files() {
    let (fake, client) = setup().await;
    let mut big = String::new();
    for i in 0..150 {
        big.push_str(&format!(
            "diff --git a/f{i}.txt b/f{i}.txt\nnew file mode 100644\n--- /dev/null\n+++ b/f{i}.txt\n@@ -0,0 +1 @@\n+line {i}\n"
        ));
    }
    fake.set_diff(REPO, 7, &big);
    fake.set_too_large(REPO, 7, true);

    let DiffSource::Files(files) = client
        .pull_request_diff(&repo(), &PrNumber(7))
        .await
        .unwrap()
    else {
        panic!("expected the files fallback");
    };
    assert_eq!(files.len(), 150);
    assert_eq!(files[0].filename, "f0.txt");
    assert_eq!(files[0].status, "added");
    assert_eq!(files[0].additions, 1);
    assert_eq!(
        files[149].patch.as_deref(),
        Some("@@ -0,0 +1 @@\n+line 149")
    );
    let queries: Vec<_> = fake
        .requests_to(route::LIST_PULL_FILES)
        .into_iter()
        .map(|r| r.query.unwrap_or_default())
        .collect();
    assert_eq!(queries, ["per_page=100&page=1", "per_page=100&page=2"]);
    fake.assert_no_surprises();
}

#[tokio::test]
async fn file_at_decodes_base64_and_maps_404_to_none() {
    let (fake, client) = setup().await;
    // Long enough that the fake wraps the base64 at 60 characters, like GitHub.
    let config = "model: small\nignore:\n  - \"**/*.lock\"\n".repeat(5);
    fake.set_file(REPO, "main", ".github/reviewbot.yml", config.as_bytes());
    fake.set_file(REPO, HEAD, "src/lib.rs", &[0, 159, 255, b'\n']);

    let read = client
        .file_at(&repo(), ".github/reviewbot.yml", "main")
        .await
        .unwrap();
    assert_eq!(read.as_deref(), Some(config.as_bytes()));
    let binary = client.file_at(&repo(), "src/lib.rs", HEAD).await.unwrap();
    assert_eq!(binary, Some(vec![0, 159, 255, b'\n']));
    assert_eq!(
        client.file_at(&repo(), "src/lib.rs", "main").await.unwrap(),
        None
    );
    assert_eq!(
        client.file_at(&repo(), "nope.txt", HEAD).await.unwrap(),
        None
    );
    let queries: Vec<_> = fake
        .requests_to(route::GET_CONTENT)
        .into_iter()
        .map(|r| (r.path, r.query.unwrap_or_default()))
        .collect();
    assert_eq!(
        queries[0],
        (
            "/repos/octo-org/widgets/contents/.github/reviewbot.yml".into(),
            "ref=main".into()
        )
    );
    fake.assert_no_surprises();
}

#[tokio::test]
async fn review_with_inline_and_file_comments_returns_and_stores_ids() {
    let (fake, client) = setup().await;
    let review = NewReview {
        commit_id: CommitSha(HEAD.into()),
        body: "reviewbot found 3 things".into(),
        comments: vec![
            draft("src/lib.rs", Some(13), "d is unused"),
            draft("README.md", Some(1), "title case"),
            draft("src/lib.rs", None, "consider splitting this file"),
        ],
    };
    let posted = client
        .create_review(&repo(), &PrNumber(7), &review)
        .await
        .unwrap();

    let stored = fake.review_comments(REPO, 7);
    assert_eq!(stored.len(), 3);
    let got: Vec<_> = posted
        .comments
        .iter()
        .map(|c| (c.path.as_str(), c.line, c.id.0))
        .collect();
    let want: Vec<_> = stored
        .iter()
        .map(|c| (c.path.as_str(), c.line, c.id))
        .collect();
    assert_eq!(got, want);
    assert_eq!(stored[0].side.as_deref(), Some("RIGHT"));
    assert_eq!(stored[2].subject_type, "file");
    assert_eq!(stored[0].review_id, posted.id.0);

    let reviews = fake.reviews(REPO, 7);
    assert_eq!(reviews[0].id, posted.id.0);
    assert_eq!(reviews[0].state, "COMMENTED");
    assert_eq!(reviews[0].commit_id, HEAD);
    // GitHub wraps a single file-level comment in a review of its own.
    assert_eq!(reviews.len(), 2);

    let mine = client
        .reviews_by_app(&repo(), &PrNumber(7), &fake.bot_login())
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].id, posted.id);
    assert_eq!(mine[0].commit_id, Some(CommitSha(HEAD.into())));
    assert_eq!(mine[0].body, "reviewbot found 3 things");
    assert!(
        client
            .reviews_by_app(&repo(), &PrNumber(7), "someone-else")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(fake.contract_violations().is_empty());
    fake.assert_no_surprises();
}

#[tokio::test]
async fn line_outside_the_diff_is_a_typed_rejection_and_nothing_is_stored() {
    let (fake, client) = setup().await;
    let review = NewReview {
        commit_id: CommitSha(HEAD.into()),
        body: "two comments".into(),
        comments: vec![
            draft("src/lib.rs", Some(12), "fine"),
            // Line 40 is outside the only hunk (10..=14).
            draft("src/lib.rs", Some(40), "outside"),
        ],
    };
    let err = client
        .create_review(&repo(), &PrNumber(7), &review)
        .await
        .unwrap_err();
    let ReviewError::Rejected(rejection) = err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert!(rejection.outside_diff);
    assert_eq!(
        rejection.errors,
        ["Pull request review thread line must be part of the diff"]
    );
    assert!(fake.reviews(REPO, 7).is_empty());
    assert!(fake.review_comments(REPO, 7).is_empty());

    // The documented retry: the same comments, file-level.
    let posted = client
        .create_review(&repo(), &PrNumber(7), &review.with_file_level_comments())
        .await
        .unwrap();
    assert_eq!(posted.comments.len(), 2);
    assert!(posted.comments.iter().all(|c| c.line.is_none()));
    fake.assert_no_surprises();
}

#[tokio::test]
async fn check_run_is_created_then_completed_with_a_bounded_summary() {
    let (fake, client) = setup().await;
    let head = CommitSha(HEAD.into());
    let id = client
        .create_check_run(&repo(), &head, "reviewbot", CheckStatus::InProgress)
        .await
        .unwrap();
    let runs = fake.check_runs(REPO);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, id.0);
    assert_eq!(runs[0].status, "in_progress");
    assert_eq!(runs[0].head_sha, HEAD);

    let long = "x".repeat(MAX_SUMMARY_CHARS + 10);
    client
        .update_check_run(
            &repo(),
            &id,
            CheckState::Completed(CheckConclusion::Neutral),
            "3 suggestions",
            &long,
        )
        .await
        .unwrap();
    let runs = fake.check_runs(REPO);
    assert_eq!(runs[0].status, "completed");
    assert_eq!(runs[0].conclusion.as_deref(), Some("neutral"));
    assert_eq!(runs[0].title.as_deref(), Some("3 suggestions"));
    assert_eq!(
        runs[0].summary.as_ref().map(|s| s.chars().count()),
        Some(MAX_SUMMARY_CHARS)
    );
    assert!(fake.contract_violations().is_empty());
    fake.assert_no_surprises();
}

#[test]
fn right_side_lines_cover_context_and_added_lines_only() {
    let files = pulls::files_from_diff(DIFF);
    assert_eq!(files.len(), 2);
    assert_eq!((files[0].additions, files[0].deletions), (2, 1));
    let lines = pulls::right_side_lines(files[0].patch.as_deref().unwrap());
    assert_eq!(lines.into_iter().collect::<Vec<_>>(), [10, 11, 12, 13, 14]);
    assert_eq!(files[1].status, "added");
}

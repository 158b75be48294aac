//! Comparing two commits on `InstallationClient`: what a push changed since a reviewed head.

use http::{Method, StatusCode};
use serde::Deserialize;

use crate::github::client::{InstallationClient, RawResponse, encode_component, send};
use crate::github::error::GitHubError;
use crate::github::ids::{CommitSha, RepoName};
use crate::github::pulls::{DIFF_MEDIA_TYPE, repo_path};

/// The route both requests of [`InstallationClient::compare_diff`] go to.
const ROUTE: &str = "/repos/{owner}/{repo}/compare/{basehead}";

/// The part of the JSON comparison we read: how `head` relates to `base`.
#[derive(Deserialize)]
struct ComparisonWire {
    status: String,
}

impl InstallationClient {
    /// The unified diff of what `head` adds on top of `base` (`GET …/compare/{base}...{head}`,
    /// diff media type), so a new push can be reviewed alone.
    ///
    /// `None` means "review the whole pull request instead": a commit is gone (404, force-pushed
    /// away), the diff is too large or too slow for GitHub (406, or a "too large"/"too long"
    /// message), or `head` does not descend from `base` (a rebase: the three-dot diff would
    /// then hold the base branch's changes too). The first request asks the JSON comparison
    /// for that ancestry; only `ahead` and `identical` fetch the diff.
    pub async fn compare_diff(
        &self,
        repo: &RepoName,
        base: &CommitSha,
        head: &CommitSha,
    ) -> Result<Option<Vec<u8>>, GitHubError> {
        let uri = format!(
            "{}/compare/{}...{}",
            repo_path(repo),
            encode_component(base.as_str()),
            encode_component(head.as_str())
        );
        // `per_page=1` keeps the commit list in the JSON answer short; only `status` is read.
        let response = send(
            self.crab(),
            Method::GET,
            ROUTE,
            format!("{uri}?per_page=1"),
            None,
            None,
        )
        .await?;
        if diff_unavailable(&response) {
            return Ok(None);
        }
        let comparison: ComparisonWire = response.json()?;
        match comparison.status.as_str() {
            "ahead" | "identical" => {}
            status => {
                tracing::info!(repo = %repo, base = %base, head = %head, status, "head does not descend from the reviewed commit; no incremental diff");
                return Ok(None);
            }
        }
        let response = send(
            self.crab(),
            Method::GET,
            ROUTE,
            uri,
            Some(DIFF_MEDIA_TYPE),
            None,
        )
        .await?;
        if diff_unavailable(&response) {
            return Ok(None);
        }
        if !response.status.is_success() {
            return Err(response.error());
        }
        Ok(Some(response.body.to_vec()))
    }
}

/// True for the answers that mean GitHub will not give this comparison's diff, now or on a
/// retry: 404 (a commit no longer exists), 406 (too large), and GitHub's "too large" / "taking
/// too long to generate" refusals, which can come as 422 or even 500.
fn diff_unavailable(response: &RawResponse) -> bool {
    match response.status {
        StatusCode::NOT_FOUND | StatusCode::NOT_ACCEPTABLE => true,
        status if status.is_success() => false,
        _ => {
            let text = String::from_utf8_lossy(&response.body).to_ascii_lowercase();
            text.contains("too large") || text.contains("too long to generate")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn response(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec().into(),
        }
    }

    #[test]
    fn diff_unavailable_for_gone_too_large_and_too_slow_only() {
        assert!(diff_unavailable(&response(
            404,
            r#"{"message":"Not Found"}"#
        )));
        assert!(diff_unavailable(&response(406, "")));
        assert!(diff_unavailable(&response(
            500,
            r#"{"message":"Server Error: Sorry, this diff is taking too long to generate."}"#
        )));
        assert!(diff_unavailable(&response(
            422,
            r#"{"message":"Sorry, the diff is too large"}"#
        )));
        assert!(!diff_unavailable(&response(200, "too large")));
        assert!(!diff_unavailable(&response(500, "<html>oops</html>")));
        assert!(!diff_unavailable(&response(
            403,
            r#"{"message":"rate limit"}"#
        )));
    }
}

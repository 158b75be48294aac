//! `InstallationClient`: domain-named GitHub calls made as one installation, with pagination.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::events::{RepoStub, RepositorySelection};
use crate::github::app::{REQUEST_DEADLINE, get_json};
use crate::github::error::GitHubError;
use crate::github::ids::{InstallationId, RepoId, RepoName};

/// Items per page; GitHub's maximum for list endpoints.
const PER_PAGE: usize = 100;

/// Pages read from one listing before giving up: 100 pages of 100 = 10,000 repositories. Bounds
/// the work (and rate-limit budget) one job can spend if GitHub's `Link` chain never ends.
const MAX_PAGES: usize = 100;

/// Spaces one installation's writes: GitHub asks integrations to wait at least a second
/// between content-creating requests, and answers bursts with secondary rate limits.
#[derive(Debug, Clone)]
pub(crate) struct WritePacer {
    interval: Duration,
    next: Arc<tokio::sync::Mutex<tokio::time::Instant>>,
}

impl WritePacer {
    /// A pacer allowing one write per `interval` (zero: no pacing).
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: Arc::new(tokio::sync::Mutex::new(tokio::time::Instant::now())),
        }
    }

    /// Waits for this installation's next write slot. The lock is held while waiting, so
    /// concurrent writers queue up one interval apart.
    pub(crate) async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let mut next = self.next.lock().await;
        tokio::time::sleep_until(*next).await;
        *next = tokio::time::Instant::now() + self.interval;
    }
}

/// A GitHub client acting as one installation. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct InstallationClient {
    installation: InstallationId,
    crab: Arc<Octocrab>,
    pacer: WritePacer,
}

impl fmt::Debug for InstallationClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationClient")
            .field("installation", &self.installation.0)
            .finish_non_exhaustive()
    }
}

impl InstallationClient {
    pub(crate) fn new(
        installation: InstallationId,
        crab: Arc<Octocrab>,
        pacer: WritePacer,
    ) -> Self {
        Self {
            installation,
            crab,
            pacer,
        }
    }

    /// Call before every write (POST, PATCH): waits for the installation's next write slot.
    pub(crate) async fn before_write(&self) {
        self.pacer.wait().await;
    }

    /// The octocrab client for this installation, for the calls in sibling modules.
    pub(crate) fn crab(&self) -> &Octocrab {
        &self.crab
    }

    /// The installation this client acts as.
    pub fn installation_id(&self) -> &InstallationId {
        &self.installation
    }

    /// Every repository the installation can access (`GET /installation/repositories`, all
    /// pages up to 10,000 repositories), with the installation's repository selection.
    pub async fn list_repositories(
        &self,
    ) -> Result<(RepositorySelection, Vec<RepoStub>), GitHubError> {
        const ROUTE: &str = "/installation/repositories";
        let mut selection = RepositorySelection::All;
        let mut repos = Vec::new();
        let mut query = format!("per_page={PER_PAGE}&page=1");
        for page in 1..=MAX_PAGES {
            let (body, headers): (RepositoriesPage, _) =
                get_json(&self.crab, ROUTE, format!("{ROUTE}?{query}")).await?;
            selection = body.repository_selection;
            for repo in body.repositories {
                let name: RepoName = repo
                    .full_name
                    .parse()
                    .map_err(|e| GitHubError::Decode(format!("repository {}: {e}", repo.id)))?;
                repos.push(RepoStub {
                    id: RepoId(repo.id),
                    name,
                });
            }
            match next_page_query(&headers) {
                Some(next) => query = next,
                None => return Ok((selection, repos)),
            }
            if page == MAX_PAGES {
                tracing::warn!(
                    installation_id = self.installation.0,
                    max_pages = MAX_PAGES,
                    repositories = repos.len(),
                    "installation lists more repositories than we read; stopping at the page limit"
                );
            }
        }
        Ok((selection, repos))
    }
}

/// One page of `GET /installation/repositories`.
#[derive(Deserialize)]
struct RepositoriesPage {
    repository_selection: RepositorySelection,
    repositories: Vec<RepositoryWire>,
}

#[derive(Deserialize)]
struct RepositoryWire {
    id: i64,
    full_name: String,
}

/// The query string of the `rel="next"` URL in a `Link` header.
///
/// Only the query is kept: the path is ours, and the absolute URL GitHub sends would make
/// octocrab drop the Authorization header on any host other than api.github.com.
pub(crate) fn next_page_query(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let is_next = params
                .split(';')
                .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
            if !is_next {
                return None;
            }
            let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let (_, query) = url.split_once('?')?;
            Some(query.to_owned())
        })
}

/// The largest response body we read (diffs are the big ones; GitHub caps them well below).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A response as received, whatever its status.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    /// The error this response means, for a non-success status.
    pub(crate) fn error(&self) -> GitHubError {
        GitHubError::from_response(self.status, &self.headers, &self.body)
    }

    /// The body decoded as JSON after a success status, else the mapped error.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, GitHubError> {
        if !self.status.is_success() {
            return Err(self.error());
        }
        serde_json::from_slice(&self.body).map_err(|e| GitHubError::Decode(e.to_string()))
    }
}

/// Sends one request and returns the raw response without judging its status, so callers can
/// act on statuses that mean something for their call (406 diff too large, 404 no file, 422).
///
/// `uri` is relative to the API base (query included); `route` is the low-cardinality template
/// recorded on the `github.request` span. The generic builder is used rather than octocrab's
/// typed calls because those take `#[non_exhaustive]` models (STACK.md pitfall 5).
pub(crate) async fn send(
    crab: &Octocrab,
    method: Method,
    route: &'static str,
    uri: String,
    accept: Option<&'static str>,
    body: Option<&serde_json::Value>,
) -> Result<RawResponse, GitHubError> {
    send_with_headers(crab, method, route, uri, accept, &[], body).await
}

/// [`send`] with extra request headers, such as `If-None-Match` for a conditional request.
pub(crate) async fn send_with_headers(
    crab: &Octocrab,
    method: Method,
    route: &'static str,
    uri: String,
    accept: Option<&'static str>,
    headers: &[(HeaderName, HeaderValue)],
    body: Option<&serde_json::Value>,
) -> Result<RawResponse, GitHubError> {
    let span = tracing::info_span!(
        "github.request",
        method = method.as_str(),
        route,
        status = tracing::field::Empty
    );
    async move {
        let call = async {
            let mut builder = http::Request::builder().method(method).uri(uri);
            if let Some(accept) = accept {
                builder = builder.header(http::header::ACCEPT, HeaderValue::from_static(accept));
            }
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            let request = crab
                .build_request(builder, body)
                .map_err(GitHubError::from_octocrab)?;
            let response = crab
                .execute(request)
                .await
                .map_err(GitHubError::from_octocrab)?;
            let status = response.status();
            let headers = response.headers().clone();
            tracing::Span::current().record("status", status.as_u16());
            let body = axum::body::to_bytes(
                axum::body::Body::new(response.into_body()),
                MAX_RESPONSE_BYTES,
            )
            .await
            .map_err(|e| GitHubError::Transport(format!("reading the response body: {e}")))?;
            Ok::<_, GitHubError>(RawResponse {
                status,
                headers,
                body,
            })
        };
        let response = tokio::time::timeout(REQUEST_DEADLINE, call)
            .await
            .map_err(|_| {
                GitHubError::Transport(format!("no answer within {} s", REQUEST_DEADLINE.as_secs()))
            })??;
        // 304 answers a conditional request: nothing failed.
        if !response.status.is_success() && response.status != StatusCode::NOT_MODIFIED {
            tracing::debug!(status = response.status.as_u16(), "GitHub call failed");
        }
        Ok(response)
    }
    .instrument(span)
    .await
}

/// Every page of a GitHub list endpoint whose answer is a JSON array, following `Link` headers.
///
/// `first_query` is the first page's query (with `per_page`); later pages use the query GitHub
/// puts in `rel="next"`, which repeats any filters. Stops after `max_pages`, with a warning, so
/// a `Link` chain that never ends cannot spend a job's rate-limit budget.
pub(crate) async fn get_all_pages<T: DeserializeOwned>(
    crab: &Octocrab,
    route: &'static str,
    base: &str,
    first_query: String,
    max_pages: usize,
) -> Result<Vec<T>, GitHubError> {
    let mut items = Vec::new();
    let mut query = first_query;
    for _ in 0..max_pages {
        let response = send(
            crab,
            Method::GET,
            route,
            format!("{base}?{query}"),
            None,
            None,
        )
        .await?;
        let page: Vec<T> = response.json()?;
        items.extend(page);
        match next_page_query(&response.headers) {
            Some(next) => query = next,
            None => return Ok(items),
        }
    }
    tracing::warn!(
        route,
        max_pages,
        items = items.len(),
        "listing has more pages than we read; stopping at the page limit"
    );
    Ok(items)
}

/// Appended where [`bounded_text`] cut a text.
pub(crate) const TRUNCATED: &str = "\n\n… (truncated)";

/// `text` cut to at most `max_chars` characters (GitHub counts characters, not bytes), with
/// [`TRUNCATED`] marking the cut.
///
/// A trailing HTML comment (our hidden `<!-- reviewbot:… -->` markers sit at the end of a
/// body) is kept after the cut: without it the bot could no longer recognise its own comment.
pub(crate) fn bounded_text(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let trimmed = text.trim_end();
    let marker = trimmed
        .ends_with("-->")
        .then(|| trimmed.rfind("<!--").map(|start| &trimmed[start..]))
        .flatten()
        .filter(|m| m.chars().count() + TRUNCATED.chars().count() + 1 < max_chars);
    let tail = match marker {
        Some(marker) => format!("{TRUNCATED}\n{marker}"),
        None => TRUNCATED.to_owned(),
    };
    let keep = max_chars.saturating_sub(tail.chars().count());
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(&tail);
    cut
}

/// Percent-encodes one URL path segment or query value (RFC 3986 unreserved characters kept).
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_installations_writes_are_spaced_by_the_interval() {
        let pacer = WritePacer::new(Duration::from_secs(1));
        let start = tokio::time::Instant::now();
        pacer.wait().await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the first write goes at once"
        );
        let (a, b) = (pacer.clone(), pacer.clone());
        tokio::join!(a.wait(), b.wait());
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2),
            "concurrent writers queue"
        );
        let off = WritePacer::new(Duration::ZERO);
        off.wait().await;
        off.wait().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2), "zero: no pacing");
    }
    use http::HeaderValue;

    fn link(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::LINK, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn encode_component_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode_component("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode_component("feat/x y#1"), "feat%2Fx%20y%231");
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn bounded_text_keeps_short_text_and_cuts_long_text_to_the_limit() {
        assert_eq!(bounded_text("ok", 10), "ok");
        let exact = "é".repeat(100);
        assert_eq!(bounded_text(&exact, 100), exact);
        let cut = bounded_text(&"é".repeat(101), 100);
        assert_eq!(cut.chars().count(), 100);
        assert!(cut.ends_with(TRUNCATED));
    }

    #[test]
    fn bounded_text_keeps_a_trailing_marker_after_the_cut() {
        let body = format!("{}\n<!-- reviewbot:s=42 -->\n", "x".repeat(500));
        let cut = bounded_text(&body, 100);
        assert_eq!(cut.chars().count(), 100);
        assert!(
            cut.ends_with("… (truncated)\n<!-- reviewbot:s=42 -->"),
            "{cut}"
        );
        assert!(cut.starts_with("xxx"));
        // A marker that would not leave room for any text is not special.
        let cut = bounded_text(
            &format!("{}<!-- {} -->", "x".repeat(50), "m".repeat(100)),
            60,
        );
        assert_eq!(cut.chars().count(), 60);
        assert!(cut.ends_with(TRUNCATED));
    }

    #[test]
    fn next_page_query_reads_rel_next_among_others() {
        let headers = link(
            r#"<https://api.github.com/installation/repositories?per_page=100&page=1>; rel="prev", <https://api.github.com/installation/repositories?per_page=100&page=3>; rel="next", <https://api.github.com/installation/repositories?per_page=100&page=5>; rel="last""#,
        );
        assert_eq!(
            next_page_query(&headers).as_deref(),
            Some("per_page=100&page=3")
        );
    }

    #[test]
    fn next_page_query_is_none_on_the_last_page_or_without_link() {
        let headers = link(
            r#"<https://ghe.example.com/api/v3/installation/repositories?per_page=100&page=1>; rel="first", <https://ghe.example.com/api/v3/installation/repositories?per_page=100&page=4>; rel="prev""#,
        );
        assert_eq!(next_page_query(&headers), None);
        assert_eq!(next_page_query(&HeaderMap::new()), None);
    }
}

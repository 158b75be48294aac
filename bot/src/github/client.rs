//! `InstallationClient`: domain-named GitHub calls made as one installation, with pagination.

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;
use octocrab::Octocrab;
use serde::Deserialize;

use crate::events::{RepoStub, RepositorySelection};
use crate::github::app::get_json;
use crate::github::error::GitHubError;
use crate::github::ids::{InstallationId, RepoId, RepoName};

/// Items per page; GitHub's maximum for list endpoints.
const PER_PAGE: usize = 100;

/// Pages read from one listing before giving up: 100 pages of 100 = 10,000 repositories. Bounds
/// the work (and rate-limit budget) one job can spend if GitHub's `Link` chain never ends.
const MAX_PAGES: usize = 100;

/// A GitHub client acting as one installation. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct InstallationClient {
    installation: InstallationId,
    crab: Arc<Octocrab>,
}

impl fmt::Debug for InstallationClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationClient")
            .field("installation", &self.installation.0)
            .finish_non_exhaustive()
    }
}

impl InstallationClient {
    pub(crate) fn new(installation: InstallationId, crab: Arc<Octocrab>) -> Self {
        Self { installation, crab }
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
fn next_page_query(headers: &HeaderMap) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn link(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::LINK, HeaderValue::from_str(value).unwrap());
        headers
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

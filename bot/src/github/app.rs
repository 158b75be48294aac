//! The GitHub App: App-JWT calls, and installation clients whose tokens are cached per installation.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderName;
use octocrab::Octocrab;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use tracing::Instrument;
use url::Url;

use crate::config::GitHubConfig;
use crate::events::RepositorySelection;
use crate::github::client::{InstallationClient, WritePacer};
use crate::github::error::GitHubError;
use crate::github::ids::InstallationId;

/// TCP connect budget. GitHub answers in well under a second; a connect that takes longer than
/// this means the network is broken, and the job should fail and be retried rather than hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest silence while waiting for response bytes. Slow endpoints (large diffs, compare) can
/// take several seconds, but 30 s of nothing means the request is stuck.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Upper bound on one call end to end, including a token refresh octocrab may do first
/// (two round trips); keeps a worker from holding a job lease forever on a stalled call.
pub(crate) const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// A token is refreshed when less than this is left when a client is handed out. Jobs make
/// GitHub calls minutes apart (model calls in between); octocrab's own margin is only 30 s.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The REST API version we were written against (GitHub's recommended header).
const API_VERSION: &str = "2022-11-28";

/// Installs rustls's ring crypto provider, which reqwest (built without a provider) and rustls
/// need before any client is built. Safe to call more than once.
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The App as a whole: cheap to clone, shares one HTTP client and the installation-token cache.
#[derive(Clone)]
pub struct GitHubApp {
    inner: Arc<Inner>,
}

struct Inner {
    app_id: u64,
    api_url: Url,
    /// Authenticated as the App (a fresh JWT per request).
    crab: Octocrab,
    /// One installation-scoped octocrab per installation. Its token cache lives inside it and
    /// is NOT shared by clones of it, so the same instance must be reused: that is this map.
    installations: Mutex<HashMap<InstallationId, Arc<Octocrab>>>,
    /// One write pacer per installation, shared by all its clients in this process.
    pacers: Mutex<HashMap<InstallationId, WritePacer>>,
    /// The least time between two writes of one installation.
    write_interval: std::time::Duration,
    /// `{slug}[bot]`, fetched once.
    bot_login: OnceCell<String>,
}

impl fmt::Debug for GitHubApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubApp")
            .field("app_id", &self.inner.app_id)
            .field("api_url", &self.inner.api_url.as_str())
            .finish_non_exhaustive()
    }
}

/// An installation as `GET /app/installations/{id}` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationInfo {
    /// The installation id.
    pub id: InstallationId,
    /// The account's login (an enterprise's slug or name when it has no login).
    pub account_login: String,
    /// `User`, `Organization` or `Enterprise`.
    pub account_type: String,
    /// All repositories or selected ones.
    pub repository_selection: RepositorySelection,
    /// True when the installation is suspended (`suspended_at` set): tokens are refused.
    pub suspended: bool,
}

impl GitHubApp {
    /// Builds the App client from configuration; a key that cannot sign a JWT is `InvalidKey`.
    pub fn new(config: &GitHubConfig) -> Result<GitHubApp, GitHubError> {
        let pem = config.private_key.expose_secret().as_bytes();
        // Deliberately not echoing the parse error's input: it is the key.
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem)
            .map_err(|e| GitHubError::InvalidKey(e.to_string()))?;
        let app_id = octocrab::models::AppId(config.app_id);
        // from_rsa_pem only checks the PEM armour; signing once proves the RSA key itself parses,
        // so a bad key stops start-up instead of failing every job.
        octocrab::auth::create_jwt(app_id, &key)
            .map_err(|e| GitHubError::InvalidKey(e.to_string()))?;

        let crab = Octocrab::builder()
            .base_uri(config.api_url.as_str())
            .map_err(|e| GitHubError::Transport(format!("invalid GitHub API URL: {e}")))?
            .app(app_id, key)
            // Retry policy belongs to our callers (jobs back off and honour rate limits);
            // octocrab's default retries 5xx/429 immediately, POSTs included.
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(READ_TIMEOUT))
            .set_write_timeout(Some(READ_TIMEOUT))
            .add_header(
                HeaderName::from_static("x-github-api-version"),
                API_VERSION.to_owned(),
            )
            .build()
            .map_err(|e| GitHubError::Transport(format!("cannot build the HTTP client: {e}")))?;

        Ok(GitHubApp {
            inner: Arc::new(Inner {
                app_id: config.app_id,
                api_url: config.api_url.clone(),
                crab,
                installations: Mutex::new(HashMap::new()),
                pacers: Mutex::new(HashMap::new()),
                write_interval: config.write_interval,
                bot_login: OnceCell::new(),
            }),
        })
    }

    /// The App's id.
    pub fn app_id(&self) -> u64 {
        self.inner.app_id
    }

    /// `GET /app/installations/{id}`; `Ok(None)` when GitHub does not know it (404).
    pub async fn installation(
        &self,
        id: InstallationId,
    ) -> Result<Option<InstallationInfo>, GitHubError> {
        let uri = format!("/app/installations/{}", id.0);
        let wire: InstallationWire = match get_json(
            &self.inner.crab,
            "/app/installations/{installation_id}",
            uri,
        )
        .await
        {
            Ok((wire, _)) => wire,
            Err(GitHubError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        wire.into_info().map(Some)
    }

    /// The login the App's comments are authored by, `{slug}[bot]`; fetched once (`GET /app`).
    pub async fn bot_login(&self) -> Result<String, GitHubError> {
        #[derive(Deserialize)]
        struct AppWire {
            slug: String,
        }
        self.inner
            .bot_login
            .get_or_try_init(|| async {
                let (app, _): (AppWire, _) =
                    get_json(&self.inner.crab, "/app", "/app".to_owned()).await?;
                Ok(format!("{}[bot]", app.slug))
            })
            .await
            .cloned()
    }

    /// A client acting as installation `id`. Its token is minted on first use, reused by every
    /// later call for the same installation, and refreshed shortly before it expires.
    pub async fn client(&self, id: InstallationId) -> Result<InstallationClient, GitHubError> {
        let crab = self.installation_crab(&id)?;
        let span = tracing::info_span!(
            "github.request",
            method = "POST",
            route = "/app/installations/{installation_id}/access_tokens",
            installation_id = id.0,
        );
        let margin = chrono::Duration::from_std(TOKEN_REFRESH_MARGIN)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
        // Minting here, not at the first call, makes a suspended or deleted installation fail
        // now with Forbidden / NotFound; with a cached token this does no I/O.
        tokio::time::timeout(
            REQUEST_DEADLINE,
            crab.installation_token_with_buffer(margin),
        )
        .instrument(span)
        .await
        .map_err(|_| deadline_error())?
        .map_err(GitHubError::from_octocrab)?;
        let pacer = {
            let mut pacers = self
                .inner
                .pacers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            pacers
                .entry(id.clone())
                .or_insert_with(|| WritePacer::new(self.inner.write_interval))
                .clone()
        };
        Ok(InstallationClient::new(id, crab, pacer))
    }

    /// Drops the cached client and token of an installation (after it was deleted or suspended).
    pub fn forget_installation(&self, id: &InstallationId) {
        if let Ok(mut map) = self.inner.installations.lock() {
            map.remove(id);
        }
        if let Ok(mut map) = self.inner.pacers.lock() {
            map.remove(id);
        }
    }

    fn installation_crab(&self, id: &InstallationId) -> Result<Arc<Octocrab>, GitHubError> {
        // GitHub ids are positive; a negative one cannot name an installation.
        let raw = u64::try_from(id.0).map_err(|_| GitHubError::NotFound)?;
        let mut map = self
            .inner
            .installations
            .lock()
            .map_err(|_| GitHubError::Transport("installation cache lock poisoned".into()))?;
        if let Some(crab) = map.get(id) {
            return Ok(Arc::clone(crab));
        }
        let crab = self
            .inner
            .crab
            .installation(octocrab::models::InstallationId(raw))
            .map(Arc::new)
            .map_err(GitHubError::from_octocrab)?;
        map.insert(id.clone(), Arc::clone(&crab));
        Ok(crab)
    }
}

/// `GET uri` (a path relative to the API base URL, query included), decoded as JSON. Returns the
/// response headers too (pagination needs `Link`). `route` is the low-cardinality template
/// recorded on the `github.request` span.
pub(crate) async fn get_json<T: DeserializeOwned>(
    crab: &Octocrab,
    route: &'static str,
    uri: String,
) -> Result<(T, http::HeaderMap), GitHubError> {
    let span = tracing::info_span!(
        "github.request",
        method = "GET",
        route,
        status = tracing::field::Empty
    );
    async move {
        let call = async {
            let response = crab._get(uri).await.map_err(GitHubError::from_octocrab)?;
            let status = response.status();
            let headers = response.headers().clone();
            tracing::Span::current().record("status", status.as_u16());
            let body = crab
                .body_to_string(response)
                .await
                .map_err(GitHubError::from_octocrab)?;
            Ok::<_, GitHubError>((status, headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(REQUEST_DEADLINE, call)
            .await
            .map_err(|_| deadline_error())??;
        if !status.is_success() {
            let error = GitHubError::from_response(status, &headers, body.as_bytes());
            tracing::debug!(%error, "GitHub call failed");
            return Err(error);
        }
        let value = serde_json::from_str(&body).map_err(|e| GitHubError::Decode(e.to_string()))?;
        Ok((value, headers))
    }
    .instrument(span)
    .await
}

fn deadline_error() -> GitHubError {
    GitHubError::Transport(format!("no answer within {} s", REQUEST_DEADLINE.as_secs()))
}

/// The fields of GitHub's installation object that we read.
#[derive(Deserialize)]
struct InstallationWire {
    id: i64,
    account: Option<AccountWire>,
    target_type: Option<String>,
    repository_selection: RepositorySelection,
    suspended_at: Option<String>,
}

/// A user or organization (`login`, `type`), or an enterprise (`slug`, `name`, no `login`).
#[derive(Deserialize)]
struct AccountWire {
    login: Option<String>,
    slug: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl InstallationWire {
    fn into_info(self) -> Result<InstallationInfo, GitHubError> {
        let account = self
            .account
            .ok_or_else(|| GitHubError::Decode("installation has no account".into()))?;
        let account_login = account
            .login
            .or(account.slug)
            .or(account.name)
            .ok_or_else(|| {
                GitHubError::Decode("installation account has no login, slug or name".into())
            })?;
        let account_type = account
            .kind
            .or(self.target_type)
            .unwrap_or_else(|| "Enterprise".to_owned());
        Ok(InstallationInfo {
            id: InstallationId(self.id),
            account_login,
            account_type,
            repository_selection: self.repository_selection,
            suspended: self.suspended_at.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn config(pem: &str) -> GitHubConfig {
        GitHubConfig {
            app_id: 1,
            private_key: SecretString::from(pem.to_owned()),
            private_key_source: "GITHUB_PRIVATE_KEY",
            webhook_secrets: vec![],
            api_url: Url::parse("https://api.github.com").unwrap(),
            write_interval: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn app_new_rejects_text_that_is_not_pem() {
        let err = GitHubApp::new(&config("not a key")).unwrap_err();
        assert!(matches!(err, GitHubError::InvalidKey(_)), "{err:?}");
    }

    #[test]
    fn app_new_rejects_pem_armour_around_a_broken_key() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n";
        let err = GitHubApp::new(&config(pem)).unwrap_err();
        assert!(matches!(err, GitHubError::InvalidKey(_)), "{err:?}");
        assert!(!err.to_string().contains("MIIB"), "key text leaked: {err}");
    }

    #[test]
    fn installation_wire_reads_user_org_and_enterprise_accounts() {
        let org: InstallationWire = serde_json::from_value(serde_json::json!({
            "id": 7, "account": {"login": "octo-org", "type": "Organization"},
            "target_type": "Organization", "repository_selection": "selected", "suspended_at": null
        }))
        .unwrap();
        let info = org.into_info().unwrap();
        assert_eq!(info.account_login, "octo-org");
        assert_eq!(info.account_type, "Organization");
        assert_eq!(info.repository_selection, RepositorySelection::Selected);
        assert!(!info.suspended);

        let enterprise: InstallationWire = serde_json::from_value(serde_json::json!({
            "id": 8, "account": {"slug": "big-corp", "name": "Big Corp", "id": 3},
            "target_type": "Enterprise", "repository_selection": "all",
            "suspended_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let info = enterprise.into_info().unwrap();
        assert_eq!(info.account_login, "big-corp");
        assert_eq!(info.account_type, "Enterprise");
        assert!(info.suspended);
    }
}

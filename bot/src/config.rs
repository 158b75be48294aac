//! Process configuration, read once from the environment (12-factor) into typed values.
//!
//! Every variable is named exactly as DESIGN.md and README name it. A missing or malformed one
//! stops start-up with a single line naming it. Secrets live in `SecretString`, whose `Debug`
//! prints `[REDACTED]`, and the database URL's password is masked.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// The database URL when `DATABASE_URL` is unset: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://reviewbot.db";
/// The listen address when `REVIEWBOT_BIND` is unset.
pub const DEFAULT_BIND: &str = "127.0.0.1:3000";
/// The GitHub REST base when `GITHUB_API_URL` is unset.
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
/// The newest GA Azure OpenAI API version with structured outputs (`json_schema`, `strict`).
pub const DEFAULT_AZURE_OPENAI_API_VERSION: &str = "2024-10-21";
/// GitHub asks integrations to wait at least a second between content-creating requests;
/// secondary rate limits follow otherwise.
pub const DEFAULT_GITHUB_WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Concurrent jobs per process when `REVIEWBOT_WORKERS` is unset: reviews mostly wait on
/// GitHub and the model, so a few per core keep a small machine busy without tripping
/// GitHub's secondary rate limits.
pub const DEFAULT_WORKERS: usize = 4;

/// A configuration problem: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong, never including a secret's value.
    pub problem: String,
}

fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// Reads variables; `std::env` in production, a map in tests.
pub trait Env {
    /// The variable's value, `None` when unset. Empty counts as unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

fn lookup(pairs: &[(&str, &str)], name: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.trim().is_empty())
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        lookup(self, name)
    }
}

impl Env for Vec<(&str, &str)> {
    fn var(&self, name: &str) -> Option<String> {
        lookup(self, name)
    }
}

/// `DATABASE_URL`, whose `Debug` and `Display` mask any password.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// Parses and checks the scheme.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let scheme = raw.split_once(':').map(|(s, _)| s).unwrap_or("");
        if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
            return Err(problem(
                "DATABASE_URL",
                "must start with sqlite:// or postgres:// (got another scheme)",
            ));
        }
        if scheme != "sqlite" && Url::parse(raw).is_err() {
            return Err(problem("DATABASE_URL", "is not a valid postgres:// URL"));
        }
        Ok(DatabaseUrl(SecretString::from(raw.to_owned())))
    }

    /// The full URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        match Url::parse(self.expose()) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.expose().to_owned(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `DATABASE_URL` alone: all that `reviewbot migrate` needs.
pub fn database_url(env: &impl Env) -> Result<DatabaseUrl, ConfigError> {
    DatabaseUrl::parse(
        &env.var("DATABASE_URL")
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
    )
}

/// The GitHub App's identity and webhook secrets.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// `GITHUB_APP_ID`.
    pub app_id: u64,
    /// The App's PEM private key (`GITHUB_PRIVATE_KEY`, or read from `GITHUB_PRIVATE_KEY_PATH`).
    pub private_key: SecretString,
    /// Which of the two variables the key came from, to name it in errors.
    pub private_key_source: &'static str,
    /// `GITHUB_WEBHOOK_SECRET`, comma-separated: every listed secret is accepted, so a secret
    /// can be rotated without dropping deliveries.
    pub webhook_secrets: Vec<SecretString>,
    /// `GITHUB_API_URL`.
    pub api_url: Url,
    /// `REVIEWBOT_GITHUB_WRITE_INTERVAL_MS`: the least time between two writes (POST, PATCH)
    /// by one installation, which keeps reviews clear of GitHub's secondary rate limits.
    pub write_interval: std::time::Duration,
}

/// Azure OpenAI, when configured.
#[derive(Debug, Clone)]
pub struct AzureOpenAiConfig {
    /// `AZURE_OPENAI_ENDPOINT`.
    pub endpoint: Url,
    /// `AZURE_OPENAI_API_KEY`.
    pub api_key: SecretString,
    /// `AZURE_OPENAI_DEPLOYMENT`.
    pub deployment: String,
    /// `AZURE_OPENAI_API_VERSION`.
    pub api_version: String,
}

/// An OpenAI-compatible endpoint (self-hosted models), when configured instead of Azure.
#[derive(Debug, Clone)]
pub struct OpenAiCompatibleConfig {
    /// `OPENAI_BASE_URL`.
    pub base_url: Url,
    /// `OPENAI_API_KEY` (optional: many self-hosted servers take none).
    pub api_key: Option<SecretString>,
    /// `OPENAI_MODEL`.
    pub model: String,
}

/// Which model endpoint reviews use.
#[derive(Debug, Clone)]
pub enum ModelConfig {
    /// Azure OpenAI.
    Azure(AzureOpenAiConfig),
    /// An OpenAI-compatible server.
    OpenAiCompatible(OpenAiCompatibleConfig),
}

/// A security reviewer: a login or an `org/team-slug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityReviewer {
    /// A GitHub login.
    User(String),
    /// Members of a team.
    Team {
        /// The organisation.
        org: String,
        /// The team's slug.
        slug: String,
    },
}

/// Everything `reviewbot serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// `DATABASE_URL`.
    pub database_url: DatabaseUrl,
    /// `REVIEWBOT_BIND`.
    pub bind: SocketAddr,
    /// The GitHub App.
    pub github: GitHubConfig,
    /// The model endpoint; `None` runs the built-in analyzers only.
    pub model: Option<ModelConfig>,
    /// `REVIEWBOT_SECURITY_REVIEWERS`.
    pub security_reviewers: Vec<SecurityReviewer>,
    /// `REVIEWBOT_WORKERS`: jobs run concurrently by this process.
    pub workers: usize,
}

fn required(env: &impl Env, variable: &'static str) -> Result<String, ConfigError> {
    env.var(variable)
        .ok_or_else(|| problem(variable, "required by `reviewbot serve` but not set"))
}

fn parse_url(variable: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| problem(variable, format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(problem(variable, "must be an http:// or https:// URL"));
    }
    Ok(url)
}

/// Checks the PEM armour of an RSA private key (the key itself is parsed when the GitHub
/// client is built).
fn check_private_key(variable: &'static str, pem: &str) -> Result<(), ConfigError> {
    let pem = pem.trim();
    let armoured = pem.starts_with("-----BEGIN") && pem.ends_with("PRIVATE KEY-----");
    if armoured {
        Ok(())
    } else {
        Err(problem(
            variable,
            "is not a PEM private key (expected -----BEGIN … PRIVATE KEY-----)",
        ))
    }
}

impl ServeConfig {
    /// Reads and validates everything `serve` needs.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let database_url = database_url(env)?;
        let bind = env
            .var("REVIEWBOT_BIND")
            .unwrap_or_else(|| DEFAULT_BIND.into())
            .parse()
            .map_err(|_| problem("REVIEWBOT_BIND", "not a socket address like 0.0.0.0:8080"))?;
        let app_id = required(env, "GITHUB_APP_ID")?
            .trim()
            .parse::<u64>()
            .map_err(|_| problem("GITHUB_APP_ID", "not a number (the App's numeric id)"))?;
        let (private_key, private_key_source) = match (
            env.var("GITHUB_PRIVATE_KEY"),
            env.var("GITHUB_PRIVATE_KEY_PATH"),
        ) {
            (Some(_), Some(_)) => {
                return Err(problem(
                    "GITHUB_PRIVATE_KEY",
                    "set together with GITHUB_PRIVATE_KEY_PATH; set only one",
                ));
            }
            (Some(inline), None) => {
                // Platforms that cannot hold newlines in a variable often carry `\n` escapes.
                let pem = inline.replace("\\n", "\n");
                check_private_key("GITHUB_PRIVATE_KEY", &pem)?;
                (pem, "GITHUB_PRIVATE_KEY")
            }
            (None, Some(path)) => {
                let pem = std::fs::read_to_string(PathBuf::from(&path)).map_err(|e| {
                    problem(
                        "GITHUB_PRIVATE_KEY_PATH",
                        format!("cannot read {path}: {e}"),
                    )
                })?;
                check_private_key("GITHUB_PRIVATE_KEY_PATH", &pem)?;
                (pem, "GITHUB_PRIVATE_KEY_PATH")
            }
            (None, None) => {
                return Err(problem(
                    "GITHUB_PRIVATE_KEY",
                    "required by `reviewbot serve` (or GITHUB_PRIVATE_KEY_PATH) but not set",
                ));
            }
        };
        let webhook_secrets: Vec<SecretString> = required(env, "GITHUB_WEBHOOK_SECRET")?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_owned()))
            .collect();
        if webhook_secrets.is_empty() {
            return Err(problem("GITHUB_WEBHOOK_SECRET", "holds no secret"));
        }
        let api_url = parse_url(
            "GITHUB_API_URL",
            &env.var("GITHUB_API_URL")
                .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.into()),
        )?;
        let write_interval = match env.var("REVIEWBOT_GITHUB_WRITE_INTERVAL_MS") {
            None => DEFAULT_GITHUB_WRITE_INTERVAL,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 60_000)
                .map(std::time::Duration::from_millis)
                .ok_or_else(|| {
                    problem(
                        "REVIEWBOT_GITHUB_WRITE_INTERVAL_MS",
                        "must be a number of milliseconds from 0 to 60000",
                    )
                })?,
        };
        let workers = match env.var("REVIEWBOT_WORKERS") {
            None => DEFAULT_WORKERS,
            Some(raw) => raw
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| problem("REVIEWBOT_WORKERS", "must be a number from 1 to 256"))?,
        };
        Ok(ServeConfig {
            database_url,
            bind,
            github: GitHubConfig {
                app_id,
                private_key: SecretString::from(private_key),
                private_key_source,
                webhook_secrets,
                api_url,
                write_interval,
            },
            model: model_config(env)?,
            security_reviewers: security_reviewers(env)?,
            workers,
        })
    }
}

/// Azure when `AZURE_OPENAI_ENDPOINT` is set, else an OpenAI-compatible endpoint when
/// `OPENAI_BASE_URL` is set, else none.
pub fn model_config(env: &impl Env) -> Result<Option<ModelConfig>, ConfigError> {
    if let Some(endpoint) = env.var("AZURE_OPENAI_ENDPOINT") {
        let needs = |variable: &'static str| {
            env.var(variable).ok_or_else(|| {
                problem(
                    variable,
                    "required when AZURE_OPENAI_ENDPOINT is set but not set",
                )
            })
        };
        return Ok(Some(ModelConfig::Azure(AzureOpenAiConfig {
            endpoint: parse_url("AZURE_OPENAI_ENDPOINT", &endpoint)?,
            api_key: SecretString::from(needs("AZURE_OPENAI_API_KEY")?),
            deployment: needs("AZURE_OPENAI_DEPLOYMENT")?,
            api_version: env
                .var("AZURE_OPENAI_API_VERSION")
                .unwrap_or_else(|| DEFAULT_AZURE_OPENAI_API_VERSION.into()),
        })));
    }
    if let Some(base) = env.var("OPENAI_BASE_URL") {
        return Ok(Some(ModelConfig::OpenAiCompatible(
            OpenAiCompatibleConfig {
                base_url: parse_url("OPENAI_BASE_URL", &base)?,
                api_key: env.var("OPENAI_API_KEY").map(SecretString::from),
                model: env.var("OPENAI_MODEL").ok_or_else(|| {
                    problem(
                        "OPENAI_MODEL",
                        "required when OPENAI_BASE_URL is set but not set",
                    )
                })?,
            },
        )));
    }
    Ok(None)
}

/// One security reviewer: `login`, `@login` or `org/team-slug`; `None` if it is neither.
pub fn parse_security_reviewer(entry: &str) -> Option<SecurityReviewer> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let entry = entry.trim().trim_start_matches('@');
    match entry.split_once('/') {
        Some((org, slug)) if valid(org) && valid(slug) => Some(SecurityReviewer::Team {
            org: org.to_lowercase(),
            slug: slug.to_lowercase(),
        }),
        None if valid(entry) => Some(SecurityReviewer::User(entry.to_lowercase())),
        _ => None,
    }
}

/// `REVIEWBOT_SECURITY_REVIEWERS`: comma-separated logins and `org/team-slug`s.
pub fn security_reviewers(env: &impl Env) -> Result<Vec<SecurityReviewer>, ConfigError> {
    let Some(raw) = env.var("REVIEWBOT_SECURITY_REVIEWERS") else {
        return Ok(vec![]);
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            parse_security_reviewer(entry).ok_or_else(|| {
                problem(
                    "REVIEWBOT_SECURITY_REVIEWERS",
                    format!("{entry:?} is neither a login nor org/team-slug"),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----";

    fn minimal() -> [(&'static str, &'static str); 3] {
        [
            ("GITHUB_APP_ID", "123"),
            ("GITHUB_PRIVATE_KEY", KEY),
            ("GITHUB_WEBHOOK_SECRET", "s1, s2"),
        ]
    }

    #[test]
    fn serve_config_has_documented_defaults() {
        let config = ServeConfig::from_env(&minimal()).unwrap();
        assert_eq!(config.database_url.expose(), "sqlite://reviewbot.db");
        assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(config.github.app_id, 123);
        assert_eq!(config.github.api_url.as_str(), "https://api.github.com/");
        assert_eq!(config.github.webhook_secrets.len(), 2);
        assert_eq!(config.workers, DEFAULT_WORKERS);
        assert!(config.model.is_none());
    }

    #[test]
    fn missing_required_variable_is_named() {
        let env = [("GITHUB_PRIVATE_KEY", KEY), ("GITHUB_WEBHOOK_SECRET", "s")];
        let err = ServeConfig::from_env(&env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GITHUB_APP_ID: required by `reviewbot serve` but not set"
        );
        let env = [("GITHUB_APP_ID", "1"), ("GITHUB_PRIVATE_KEY", KEY)];
        assert_eq!(
            ServeConfig::from_env(&env).unwrap_err().variable,
            "GITHUB_WEBHOOK_SECRET"
        );
        let env = [("GITHUB_APP_ID", "1"), ("GITHUB_WEBHOOK_SECRET", "s")];
        assert_eq!(
            ServeConfig::from_env(&env).unwrap_err().variable,
            "GITHUB_PRIVATE_KEY"
        );
    }

    #[test]
    fn malformed_variables_are_named() {
        let cases: [(&str, &str, &str); 8] = [
            ("GITHUB_APP_ID", "abc", "GITHUB_APP_ID"),
            ("REVIEWBOT_BIND", "localhost", "REVIEWBOT_BIND"),
            ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
            ("GITHUB_API_URL", "ftp://x", "GITHUB_API_URL"),
            ("GITHUB_PRIVATE_KEY", "not a key", "GITHUB_PRIVATE_KEY"),
            ("REVIEWBOT_WORKERS", "0", "REVIEWBOT_WORKERS"),
            (
                "REVIEWBOT_GITHUB_WRITE_INTERVAL_MS",
                "1s",
                "REVIEWBOT_GITHUB_WRITE_INTERVAL_MS",
            ),
            (
                "REVIEWBOT_SECURITY_REVIEWERS",
                "a b",
                "REVIEWBOT_SECURITY_REVIEWERS",
            ),
        ];
        for (variable, value, named) in cases {
            let mut env = minimal().to_vec();
            env.push((variable, value)); // the last value of a name wins
            let err = ServeConfig::from_env(&env).unwrap_err();
            assert_eq!(err.variable, named, "{variable}={value}: {err}");
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn azure_needs_key_and_deployment_and_defaults_the_version() {
        let env = [("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com")];
        assert_eq!(
            model_config(&env).unwrap_err().variable,
            "AZURE_OPENAI_API_KEY"
        );
        let env = [
            ("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com"),
            ("AZURE_OPENAI_API_KEY", "k"),
            ("AZURE_OPENAI_DEPLOYMENT", "d"),
        ];
        let Some(ModelConfig::Azure(azure)) = model_config(&env).unwrap() else {
            panic!()
        };
        assert_eq!(azure.api_version, DEFAULT_AZURE_OPENAI_API_VERSION);
        let env = [("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")];
        assert_eq!(model_config(&env).unwrap_err().variable, "OPENAI_MODEL");
    }

    #[test]
    fn security_reviewers_are_logins_or_teams() {
        let env = [(
            "REVIEWBOT_SECURITY_REVIEWERS",
            "Mona, @hubot ,octo-org/AppSec",
        )];
        assert_eq!(
            security_reviewers(&env).unwrap(),
            vec![
                SecurityReviewer::User("mona".into()),
                SecurityReviewer::User("hubot".into()),
                SecurityReviewer::Team {
                    org: "octo-org".into(),
                    slug: "appsec".into()
                },
            ]
        );
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let env = [
            ("GITHUB_APP_ID", "1"),
            ("GITHUB_PRIVATE_KEY", KEY),
            ("GITHUB_WEBHOOK_SECRET", "hunter2-webhook"),
            (
                "DATABASE_URL",
                "postgres://bot:pg-password-9@db:5432/reviewbot",
            ),
            ("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com"),
            ("AZURE_OPENAI_API_KEY", "azure-key-7"),
            ("AZURE_OPENAI_DEPLOYMENT", "d"),
        ];
        let debug = format!("{:?}", ServeConfig::from_env(&env).unwrap());
        for secret in ["hunter2-webhook", "pg-password-9", "azure-key-7", "MIIB"] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
        assert!(
            debug.contains("postgres://bot:***@db:5432/reviewbot"),
            "{debug}"
        );
    }
}

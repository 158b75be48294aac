//! `GitHubError`: what can go wrong talking to GitHub, as variants a caller can act on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};

/// The longest GitHub message we keep in an error; bodies can be whole HTML pages.
const MAX_MESSAGE_CHARS: usize = 500;

/// A failed GitHub call. Messages never contain tokens or keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// The App's private key could not be parsed or used to sign a JWT.
    #[error("the GitHub App private key is invalid: {0}")]
    InvalidKey(String),
    /// 404: the object does not exist or the App cannot see it.
    #[error("not found on GitHub")]
    NotFound,
    /// 401: the JWT or installation token was refused.
    #[error("GitHub refused our credentials (401)")]
    Unauthorized,
    /// 403 that is not a rate limit: a missing permission, a suspended installation, …
    #[error("GitHub refused the request (403): {message}")]
    Forbidden {
        /// GitHub's `message`.
        message: String,
    },
    /// 403/429 from a primary or secondary rate limit; wait before trying again.
    #[error("GitHub rate limit hit (retry after {retry_after:?}, resets at {reset_at:?})")]
    RateLimited {
        /// From the `retry-after` header (secondary limits).
        retry_after: Option<Duration>,
        /// From `x-ratelimit-reset` when `x-ratelimit-remaining` is 0 (primary limit).
        reset_at: Option<DateTime<Utc>>,
    },
    /// 5xx: GitHub failed; usually worth retrying.
    #[error("GitHub server error ({status})")]
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// Any other non-success status (422 validation errors, 409 conflicts, …).
    #[error("unexpected GitHub response ({status}): {message}")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// GitHub's `message`, or the start of the body.
        message: String,
    },
    /// No HTTP response: connection refused, TLS failure, timeout, …
    #[error("cannot reach GitHub: {0}")]
    Transport(String),
    /// A success response whose body is not what GitHub documents.
    #[error("cannot decode GitHub's response: {0}")]
    Decode(String),
}

impl GitHubError {
    /// True when the same request may succeed later (rate limits, 5xx, transport failures).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Transport(_)
        )
    }

    /// Maps a non-success response to an error: the one place HTTP statuses and GitHub's
    /// rate-limit headers are interpreted (rules in PEERS.md (d), "On a limit hit").
    pub fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let message = message_from_body(status, body);
        let code = status.as_u16();
        match code {
            401 => Self::Unauthorized,
            404 => Self::NotFound,
            403 | 429 => {
                let retry_after = retry_after(headers);
                let exhausted = header_str(headers, "x-ratelimit-remaining") == Some("0");
                let reset_at = exhausted.then(|| ratelimit_reset(headers)).flatten();
                let secondary = message.to_ascii_lowercase().contains("rate limit");
                if retry_after.is_some() || exhausted || code == 429 || secondary {
                    Self::RateLimited {
                        retry_after,
                        reset_at,
                    }
                } else {
                    Self::Forbidden { message }
                }
            }
            500..=599 => Self::Server { status: code },
            _ => Self::Unexpected {
                status: code,
                message,
            },
        }
    }

    /// Maps an octocrab error (transport failures, and failures of the token request octocrab
    /// makes by itself) into our variants.
    pub(crate) fn from_octocrab(error: octocrab::Error) -> Self {
        match error {
            octocrab::Error::GitHub { source, .. } => {
                let headers = source.headers.clone().unwrap_or_default();
                Self::from_response(source.status_code, &headers, source.message.as_bytes())
            }
            octocrab::Error::JWT { source, .. } => Self::InvalidKey(source.to_string()),
            octocrab::Error::Serde { source, .. } => Self::Decode(source.to_string()),
            octocrab::Error::Json { source, .. } => Self::Decode(source.to_string()),
            other => Self::Transport(first_line(&other.to_string())),
        }
    }
}

/// GitHub's `{"message": …}`, else the body text, else the status's reason phrase; bounded.
fn message_from_body(status: StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: Option<String>,
    }
    let text = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            message: Some(message),
        }) => message,
        _ => String::from_utf8_lossy(body).trim().to_owned(),
    };
    let text = if text.is_empty() {
        status.canonical_reason().unwrap_or("no message").to_owned()
    } else {
        text
    };
    truncate(&text, MAX_MESSAGE_CHARS)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// `retry-after` as GitHub sends it (whole seconds), or as an HTTP date (RFC 9110 allows both).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header_str(headers, "retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// `x-ratelimit-reset`: the UTC epoch second when the primary limit window resets.
fn ratelimit_reset(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let seconds = header_str(headers, "x-ratelimit-reset")?
        .parse::<i64>()
        .ok()?;
    DateTime::from_timestamp(seconds, 0)
}

fn first_line(text: &str) -> String {
    truncate(text.lines().next().unwrap_or_default(), MAX_MESSAGE_CHARS)
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn map(status: u16, pairs: &[(&'static str, &str)], body: &str) -> GitHubError {
        GitHubError::from_response(
            StatusCode::from_u16(status).unwrap(),
            &headers(pairs),
            body.as_bytes(),
        )
    }

    #[test]
    fn error_mapping_401_and_404_are_their_own_variants() {
        assert_eq!(
            map(401, &[], r#"{"message":"Bad credentials"}"#),
            GitHubError::Unauthorized
        );
        assert_eq!(
            map(404, &[], r#"{"message":"Not Found"}"#),
            GitHubError::NotFound
        );
    }

    #[test]
    fn error_mapping_403_without_limit_signals_is_forbidden_with_message() {
        let err = map(
            403,
            &[("x-ratelimit-remaining", "4999")],
            r#"{"message":"Resource not accessible by integration","documentation_url":"x"}"#,
        );
        assert_eq!(
            err,
            GitHubError::Forbidden {
                message: "Resource not accessible by integration".into()
            }
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn error_mapping_403_with_retry_after_is_rate_limited() {
        let err = map(403, &[("retry-after", "30")], r#"{"message":"slow down"}"#);
        assert_eq!(
            err,
            GitHubError::RateLimited {
                retry_after: Some(Duration::from_secs(30)),
                reset_at: None
            }
        );
        assert!(err.is_retryable());
    }

    #[test]
    fn error_mapping_remaining_zero_uses_ratelimit_reset() {
        let err = map(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1700000000"),
            ],
            r#"{"message":"API rate limit exceeded for installation ID 1."}"#,
        );
        assert_eq!(
            err,
            GitHubError::RateLimited {
                retry_after: None,
                reset_at: DateTime::from_timestamp(1_700_000_000, 0)
            }
        );
    }

    #[test]
    fn error_mapping_reset_is_ignored_while_requests_remain() {
        let err = map(
            429,
            &[
                ("x-ratelimit-remaining", "12"),
                ("x-ratelimit-reset", "1700000000"),
            ],
            "",
        );
        assert_eq!(
            err,
            GitHubError::RateLimited {
                retry_after: None,
                reset_at: None
            }
        );
    }

    #[test]
    fn error_mapping_secondary_limit_message_without_headers_is_rate_limited() {
        let err = map(
            403,
            &[],
            r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes."}"#,
        );
        assert!(matches!(
            err,
            GitHubError::RateLimited {
                retry_after: None,
                reset_at: None
            }
        ));
    }

    #[test]
    fn error_mapping_retry_after_http_date_in_the_past_is_zero() {
        let err = map(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], "");
        assert_eq!(
            err,
            GitHubError::RateLimited {
                retry_after: Some(Duration::ZERO),
                reset_at: None
            }
        );
    }

    #[test]
    fn error_mapping_5xx_is_retryable_server_error() {
        for status in [500, 502, 503, 504] {
            let err = map(status, &[], "<html>oops</html>");
            assert_eq!(err, GitHubError::Server { status });
            assert!(err.is_retryable());
        }
    }

    #[test]
    fn error_mapping_other_statuses_are_unexpected_with_bounded_message() {
        let err = map(422, &[], r#"{"message":"Validation Failed","errors":[]}"#);
        assert_eq!(
            err,
            GitHubError::Unexpected {
                status: 422,
                message: "Validation Failed".into()
            }
        );
        let long = "x".repeat(2000);
        match map(409, &[], &long) {
            GitHubError::Unexpected { message, .. } => {
                assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1)
            }
            other => panic!("{other:?}"),
        }
        match map(418, &[], "") {
            GitHubError::Unexpected { message, .. } => assert_eq!(message, "I'm a teapot"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_mapping_transport_and_decode_are_classified() {
        assert!(GitHubError::Transport("refused".into()).is_retryable());
        assert!(!GitHubError::Decode("bad".into()).is_retryable());
        assert!(!GitHubError::InvalidKey("bad".into()).is_retryable());
        assert!(!GitHubError::NotFound.is_retryable());
    }
}

//! Errors from a chat-completion call, and how HTTP answers map onto them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// Why a model call failed. Messages never contain the API key: it only travels in a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// 429: the deployment's quota is exhausted for now.
    #[error("rate limited by the model endpoint (retry after {retry_after:?})")]
    RateLimited {
        /// What the server asked for (`retry-after-ms` or `Retry-After`), if anything.
        retry_after: Option<Duration>,
    },
    /// 5xx from the endpoint.
    #[error("model endpoint server error {status}")]
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// No answer within the per-call timeout.
    #[error("model call timed out")]
    Timeout,
    /// The endpoint refused the request (4xx other than auth and 429).
    #[error("model endpoint rejected the request: {message}")]
    BadRequest {
        /// The endpoint's error message.
        message: String,
    },
    /// 401/403: wrong key or endpoint.
    #[error("model endpoint refused the credentials")]
    Unauthorized,
    /// Azure's content filter blocked the prompt or the answer.
    #[error("the content filter blocked the prompt or the answer")]
    ContentFiltered,
    /// Connection-level failure.
    #[error("transport error talking to the model endpoint: {0}")]
    Transport(String),
    /// A 2xx whose body is not a chat completion, or a configuration that cannot be used.
    #[error("could not decode the model answer: {0}")]
    Decode(String),
}

impl LlmError {
    /// Whether trying again later may succeed (429, 5xx, timeouts and transport errors).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::Server { .. }
                | LlmError::Timeout
                | LlmError::Transport(_)
        )
    }

    /// A reqwest failure; the URL is dropped so nothing endpoint-specific leaks into logs.
    pub(crate) fn from_reqwest(error: reqwest::Error) -> LlmError {
        if error.is_timeout() {
            LlmError::Timeout
        } else {
            LlmError::Transport(error.without_url().to_string())
        }
    }
}

/// The `error` object of an OpenAI/Azure error body, as far as we use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) message: String,
    pub(crate) code: Option<String>,
    pub(crate) param: Option<String>,
}

impl ApiError {
    /// Reads `{"error": {"message", "code", "param"}}`; anything else becomes the message.
    pub(crate) fn parse(body: &[u8]) -> ApiError {
        let text = || String::from_utf8_lossy(body).chars().take(500).collect();
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return ApiError {
                message: text(),
                ..ApiError::default()
            };
        };
        let error = value.get("error").unwrap_or(&value);
        // Azure sends `code` as a string ("content_filter") or a number-as-string ("401").
        let string = |key: &str| {
            error.get(key).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        ApiError {
            message: string("message").unwrap_or_else(text),
            code: string("code"),
            param: string("param"),
        }
    }

    /// The parameter a reasoning model refused, keyed on Azure's/OpenAI's 400 body:
    /// `{"message": "Unsupported parameter: 'temperature' is not supported with this model.",
    /// "type": "invalid_request_error", "param": "temperature", "code": "unsupported_parameter"}`
    /// (or `code: "unsupported_value"`, "Only the default (1) value is supported."). `param`
    /// is the primary key; the quoted name in the message is the fallback for proxies that
    /// drop `param`.
    pub(crate) fn unsupported_param(&self) -> Option<&'static str> {
        let unsupported = matches!(
            self.code.as_deref(),
            Some("unsupported_parameter" | "unsupported_value")
        ) || self.message.starts_with("Unsupported");
        if !unsupported {
            return None;
        }
        ["temperature", "max_tokens"].into_iter().find(|name| {
            self.param.as_deref() == Some(*name) || self.message.contains(&format!("'{name}'"))
        })
    }
}

/// Maps a non-2xx answer onto an [`LlmError`].
pub(crate) fn from_status(
    status: StatusCode,
    headers: &HeaderMap,
    api: &ApiError,
    now: DateTime<Utc>,
) -> LlmError {
    match status.as_u16() {
        401 | 403 => LlmError::Unauthorized,
        429 => LlmError::RateLimited {
            retry_after: retry_after(headers, now),
        },
        s if status.is_server_error() => LlmError::Server { status: s },
        _ if api.code.as_deref() == Some("content_filter") => LlmError::ContentFiltered,
        _ => LlmError::BadRequest {
            message: format!("{status}: {}", api.message),
        },
    }
}

/// How long the server asked us to wait: Azure's `retry-after-ms` (milliseconds, may be
/// fractional) wins because it is the more precise; else `Retry-After` as delta-seconds or
/// an HTTP-date (a date in the past means "now").
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now()),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_http_date() {
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]);
        assert_eq!(retry_after(&h, now()), Some(Duration::from_secs(30)));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]);
        assert_eq!(retry_after(&past, now()), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_ms_wins_and_may_be_fractional() {
        let h = headers(&[("retry-after", "10"), ("retry-after-ms", "1500.5")]);
        assert_eq!(
            retry_after(&h, now()),
            Some(Duration::from_micros(1_500_500))
        );
    }

    #[test]
    fn retry_after_garbage_is_none() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "soon")]), now()),
            None
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "-5")]), now()),
            None
        );
        assert_eq!(retry_after(&HeaderMap::new(), now()), None);
    }

    #[test]
    fn status_mapping() {
        let api = ApiError::parse(br#"{"error":{"code":"401","message":"Access denied"}}"#);
        let map = |s: u16, h: &HeaderMap, api: &ApiError| {
            from_status(StatusCode::from_u16(s).unwrap(), h, api, now())
        };
        assert_eq!(map(401, &HeaderMap::new(), &api), LlmError::Unauthorized);
        assert_eq!(
            map(429, &headers(&[("retry-after-ms", "20")]), &api),
            LlmError::RateLimited {
                retry_after: Some(Duration::from_millis(20))
            }
        );
        assert_eq!(
            map(503, &HeaderMap::new(), &api),
            LlmError::Server { status: 503 }
        );
        let filtered = ApiError::parse(
            br#"{"error":{"message":"The response was filtered","code":"content_filter","param":"prompt","status":400}}"#,
        );
        assert_eq!(
            map(400, &HeaderMap::new(), &filtered),
            LlmError::ContentFiltered
        );
        let bad = ApiError::parse(b"not json");
        assert_eq!(
            map(404, &HeaderMap::new(), &bad),
            LlmError::BadRequest {
                message: "404 Not Found: not json".into()
            }
        );
        assert!(map(500, &HeaderMap::new(), &api).is_retryable());
        assert!(!LlmError::Unauthorized.is_retryable());
    }

    #[test]
    fn unsupported_parameter_bodies() {
        let t = ApiError::parse(
            br#"{"error":{"message":"Unsupported parameter: 'temperature' is not supported with this model.","type":"invalid_request_error","param":"temperature","code":"unsupported_parameter"}}"#,
        );
        assert_eq!(t.unsupported_param(), Some("temperature"));
        let v = ApiError::parse(
            br#"{"error":{"message":"Unsupported value: 'temperature' does not support 0.1 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}"#,
        );
        assert_eq!(v.unsupported_param(), Some("temperature"));
        let m = ApiError::parse(
            br#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#,
        );
        assert_eq!(m.unsupported_param(), Some("max_tokens"));
        let other = ApiError::parse(br#"{"error":{"message":"Invalid schema","code":"invalid_value","param":"response_format"}}"#);
        assert_eq!(other.unsupported_param(), None);
    }
}

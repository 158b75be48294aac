//! The chat-completion client: request building, retries, reasoning-model quirks, limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_openai::config::{AzureConfig, Config, OpenAIConfig};
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, ResponseFormat, ResponseFormatJsonSchema,
};
use rand::Rng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::error::{ApiError, LlmError, from_status, retry_after};
use crate::config::ModelConfig;
use crate::review::model_output::schema;
use crate::review::prompt::{Prompt, RenderedPrompt};

/// Connecting to the endpoint should be quick; a slow connect is a network problem.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence between two reads of one response: a stalled connection, not a slow model.
pub const READ_TIMEOUT: Duration = Duration::from_secs(90);
/// One attempt end to end. A strict-schema answer of a few thousand tokens from a large
/// (or reasoning) deployment can take well over a minute, but a job must not hang on it: the
/// job lease and the one-minute review goal (issue 4) bound how long one chunk may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Concurrent model calls per installation by default: enough to overlap the chunks of one
/// pull request, few enough that one busy installation cannot drain the shared deployment
/// quota (Azure TPM/RPM limits are per deployment, not per caller).
pub const DEFAULT_INSTALLATION_CONCURRENCY: usize = 4;
/// HTTP requests per call for 429/5xx/transport retries (quirk retries come on top, once each).
pub const MAX_ATTEMPTS: u32 = 4;
/// First backoff step when the server gives no `Retry-After`.
pub const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// Longest single backoff step.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Total sleeping per call. Beyond this the error goes back to the job queue, whose own
/// retry (minutes) is the better place to wait out a long quota window.
pub const MAX_TOTAL_WAIT: Duration = Duration::from_secs(60);

/// How a call retries; the defaults are the named consts above (tests shrink them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// HTTP requests per call for retryable errors.
    pub max_attempts: u32,
    /// First backoff step.
    pub base: Duration,
    /// Longest backoff step.
    pub max_backoff: Duration,
    /// Total sleeping per call; a longer `Retry-After` ends the call with the error.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            base: BASE_BACKOFF,
            max_backoff: MAX_BACKOFF,
            max_total_wait: MAX_TOTAL_WAIT,
        }
    }
}

impl RetryPolicy {
    /// "Equal jitter": half the exponential step fixed, half random, so that many workers
    /// hitting the same 429 do not come back in lockstep.
    fn backoff(&self, retry: u32) -> Duration {
        let step = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max_backoff);
        let half = step / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

/// One successful call, with everything the store records about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The exact `messages` array sent, serialized once; the request body embeds these bytes.
    pub messages_json: String,
    /// The exact `response_format` object sent.
    pub response_format_json: String,
    /// The first choice's content (the JSON answer), if any.
    pub raw_answer: Option<String>,
    /// The model the endpoint says answered.
    pub model: String,
    /// The first choice's finish reason as sent (`stop`, `length`, ...).
    pub finish_reason: Option<String>,
    /// Prompt tokens.
    pub tokens_in: Option<u32>,
    /// Completion tokens.
    pub tokens_out: Option<u32>,
    /// Wall time from the first request to the answer, retries and waits included.
    pub latency: Duration,
    /// HTTP requests made (1 when nothing was retried).
    pub attempts: u32,
}

/// What a deployment has been seen to reject, learnt from its 400s for this process's life.
#[derive(Debug, Clone, Copy, Default)]
struct Quirks {
    no_temperature: bool,
    max_completion_tokens: bool,
}

/// The endpoint: async-openai's config builds the URL, query and auth headers.
#[derive(Debug, Clone)]
enum Endpoint {
    Azure {
        config: AzureConfig,
        deployment: String,
    },
    Compatible {
        config: OpenAIConfig,
        model: String,
        has_key: bool,
    },
}

/// A chat-completions client for Azure OpenAI or an OpenAI-compatible server.
///
/// Requests are built from async-openai's types and configs but sent with this client's own
/// reqwest client, because async-openai's `chat().create()` hides response headers (needed
/// for `retry-after-ms`) and retries on its own with a fixed policy.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    /// Keyed on the deployment name (Azure: the URL path segment, including an override;
    /// compatible servers: the `model`), because quirks belong to the model behind it.
    quirks: Arc<Mutex<HashMap<String, Quirks>>>,
    limit: usize,
    semaphores: Arc<Mutex<HashMap<i64, Arc<Semaphore>>>>,
    retry: RetryPolicy,
}

/// The request body apart from `messages`, which is spliced in as pre-serialized bytes.
#[derive(Serialize)]
struct BodyRest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    response_format: &'a ResponseFormat,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
}

/// The parts of `createChatCompletionResponse` we keep. Our own type rather than
/// async-openai's, whose closed `FinishReason` enum would reject a self-hosted server's
/// unusual value and lose an answer that must be recorded as sent.
#[derive(Deserialize)]
struct Answer {
    model: String,
    #[serde(default)]
    choices: Vec<AnswerChoice>,
    usage: Option<AnswerUsage>,
}

#[derive(Deserialize)]
struct AnswerChoice {
    message: Option<AnswerMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct AnswerUsage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

impl LlmClient {
    /// A client for `config`, with its own reqwest client (connect and read timeouts).
    /// Needs a rustls crypto provider installed (see `main`).
    pub fn new(config: &ModelConfig) -> Result<LlmClient, LlmError> {
        let endpoint = match config {
            ModelConfig::Azure(azure) => {
                check_header_value(azure.api_key.expose_secret())?;
                Endpoint::Azure {
                    config: AzureConfig::new()
                        .with_api_base(azure.endpoint.as_str().trim_end_matches('/'))
                        .with_api_version(azure.api_version.clone())
                        .with_deployment_id(azure.deployment.clone())
                        .with_api_key(azure.api_key.expose_secret()),
                    deployment: azure.deployment.clone(),
                }
            }
            ModelConfig::OpenAiCompatible(compatible) => {
                let key = compatible
                    .api_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_owned());
                if let Some(key) = &key {
                    check_header_value(key)?;
                }
                Endpoint::Compatible {
                    config: OpenAIConfig::new()
                        .with_api_base(compatible.base_url.as_str().trim_end_matches('/'))
                        .with_api_key(key.clone().unwrap_or_default()),
                    model: compatible.model.clone(),
                    has_key: key.is_some(),
                }
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .map_err(LlmError::from_reqwest)?;
        Ok(LlmClient {
            http,
            endpoint,
            quirks: Arc::default(),
            limit: DEFAULT_INSTALLATION_CONCURRENCY,
            semaphores: Arc::default(),
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with at most `n` concurrent calls per installation (minimum 1).
    pub fn with_limit(mut self, n: usize) -> LlmClient {
        self.limit = n.max(1);
        self.semaphores = Arc::default();
        self
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> LlmClient {
        self.retry = retry;
        self
    }

    /// [`LlmClient::complete`], waiting for one of the installation's call slots first.
    pub async fn complete_for(
        &self,
        installation_id: i64,
        prompt: &Prompt,
        rendered: &RenderedPrompt,
        deployment_override: Option<&str>,
    ) -> Result<Completion, LlmError> {
        let semaphore = {
            let mut map = self
                .semaphores
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(
                map.entry(installation_id)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.limit))),
            )
        };
        // The semaphore is never closed, so acquiring only fails if that invariant breaks.
        let _permit = semaphore
            .acquire_owned()
            .await
            .map_err(|e| LlmError::Transport(format!("concurrency limit: {e}")))?;
        self.complete(prompt, rendered, deployment_override).await
    }

    /// Sends `[system, user]` with the prompt's strict JSON schema and returns the answer.
    ///
    /// `max_tokens` is sent by default: the 2024-10-21 GA API and most self-hosted servers
    /// understand it. A deployment that answers 400 "Unsupported parameter: 'max_tokens'"
    /// (reasoning models, gpt-5) is retried once with `max_completion_tokens`; one that
    /// rejects `temperature` is retried once without it. Both are remembered per deployment.
    pub async fn complete(
        &self,
        prompt: &Prompt,
        rendered: &RenderedPrompt,
        deployment_override: Option<&str>,
    ) -> Result<Completion, LlmError> {
        let json_schema = schema(&prompt.schema).ok_or_else(|| {
            LlmError::Decode(format!(
                "prompt {} names unknown schema {}",
                prompt.id, prompt.schema
            ))
        })?;
        let messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestSystemMessage::from(rendered.system.as_str()).into(),
            ChatCompletionRequestUserMessage::from(rendered.user.as_str()).into(),
        ];
        let response_format = ResponseFormat::JsonSchema {
            json_schema: ResponseFormatJsonSchema {
                description: None,
                name: prompt.schema.clone(),
                schema: json_schema,
                strict: Some(true),
            },
        };
        let encode = |e: serde_json::Error| LlmError::Decode(format!("encode request: {e}"));
        let messages_json = serde_json::to_string(&messages).map_err(encode)?;
        let response_format_json = serde_json::to_string(&response_format).map_err(encode)?;

        let (url, query, mut headers, deployment, model) = self.target(deployment_override);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));

        let started = Instant::now();
        let mut attempts = 0u32;
        let mut retries = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            let quirks = self.quirks(&deployment);
            let rest = BodyRest {
                model: model.as_deref(),
                response_format: &response_format,
                temperature: prompt.temperature.filter(|_| !quirks.no_temperature),
                max_tokens: (!quirks.max_completion_tokens).then_some(prompt.max_tokens),
                max_completion_tokens: quirks.max_completion_tokens.then_some(prompt.max_tokens),
            };
            let rest = serde_json::to_string(&rest).map_err(encode)?;
            // `rest` is a non-empty object (`response_format` is always there), so splicing
            // `messages` in front keeps the body valid JSON and the messages byte-identical.
            let body = format!("{{\"messages\":{messages_json},{}", &rest[1..]);

            attempts += 1;
            let request = self
                .http
                .post(&url)
                .query(&query)
                .headers(headers.clone())
                .body(body)
                .send();
            let result = match tokio::time::timeout(CALL_TIMEOUT, async {
                let response = request.await?;
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, bytes))
            })
            .await
            {
                Err(_) => Err((LlmError::Timeout, None)),
                Ok(Err(e)) => Err((LlmError::from_reqwest(e), None)),
                Ok(Ok((status, _, bytes))) if status.is_success() => Ok(bytes),
                Ok(Ok((status, headers, bytes))) => {
                    let api = ApiError::parse(&bytes);
                    if status.as_u16() == 400
                        && let Some(param) = api.unsupported_param()
                        && self.learn(&deployment, param)
                    {
                        tracing::info!(%deployment, param, "deployment rejects a parameter; retrying without it");
                        continue;
                    }
                    let now = chrono::Utc::now();
                    let asked = retry_after(&headers, now);
                    Err((from_status(status, &headers, &api, now), asked))
                }
            };
            match result {
                Ok(bytes) => {
                    return decode(&bytes).map(|answer| Completion {
                        messages_json,
                        response_format_json,
                        latency: started.elapsed(),
                        attempts,
                        ..answer
                    });
                }
                Err((error, asked)) => {
                    retries += 1;
                    if !error.is_retryable() || retries >= self.retry.max_attempts {
                        return Err(error);
                    }
                    let delay = asked.unwrap_or_else(|| self.retry.backoff(retries));
                    if waited + delay > self.retry.max_total_wait {
                        tracing::warn!(
                            ?delay,
                            ?waited,
                            "model retry wait exceeds the budget; giving up"
                        );
                        return Err(error);
                    }
                    tracing::warn!(%error, ?delay, attempts, "model call failed; retrying");
                    tokio::time::sleep(delay).await;
                    waited += delay;
                }
            }
        }
    }

    /// URL, query, auth headers, quirk key and body `model` for one call.
    #[allow(clippy::type_complexity)]
    fn target(
        &self,
        deployment_override: Option<&str>,
    ) -> (
        String,
        Vec<(String, String)>,
        HeaderMap,
        String,
        Option<String>,
    ) {
        let owned = |q: Vec<(&str, &str)>| {
            q.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        };
        match &self.endpoint {
            Endpoint::Azure { config, deployment } => {
                let deployment = deployment_override.unwrap_or(deployment).to_owned();
                let config = config.clone().with_deployment_id(deployment.clone());
                (
                    config.url("/chat/completions"),
                    owned(config.query()),
                    config.headers(),
                    deployment,
                    None,
                )
            }
            Endpoint::Compatible {
                config,
                model,
                has_key,
            } => {
                let model = deployment_override.unwrap_or(model).to_owned();
                let mut headers = config.headers();
                if !has_key {
                    // async-openai always sends `Bearer <key>`; keyless servers get none.
                    headers.remove(AUTHORIZATION);
                }
                (
                    config.url("/chat/completions"),
                    owned(config.query()),
                    headers,
                    model.clone(),
                    Some(model),
                )
            }
        }
    }

    fn quirks(&self, deployment: &str) -> Quirks {
        let map = self
            .quirks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(deployment).copied().unwrap_or_default()
    }

    /// Records that `deployment` rejects `param`; false if it was already known (then the
    /// 400 is real and must not loop).
    fn learn(&self, deployment: &str, param: &str) -> bool {
        let mut map = self
            .quirks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let quirks = map.entry(deployment.to_owned()).or_default();
        let flag = match param {
            "temperature" => &mut quirks.no_temperature,
            "max_tokens" => &mut quirks.max_completion_tokens,
            _ => return false,
        };
        !std::mem::replace(flag, true)
    }
}

/// Parses a 2xx body; `content_filter` as the finish reason becomes [`LlmError::ContentFiltered`].
fn decode(bytes: &[u8]) -> Result<Completion, LlmError> {
    let answer: Answer = serde_json::from_slice(bytes).map_err(|e| {
        LlmError::Decode(format!(
            "{e}; body starts {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        ))
    })?;
    let choice = answer.choices.into_iter().next();
    let finish_reason = choice.as_ref().and_then(|c| c.finish_reason.clone());
    if finish_reason.as_deref() == Some("content_filter") {
        return Err(LlmError::ContentFiltered);
    }
    Ok(Completion {
        messages_json: String::new(),
        response_format_json: String::new(),
        raw_answer: choice.and_then(|c| c.message).and_then(|m| m.content),
        model: answer.model,
        finish_reason,
        tokens_in: answer.usage.as_ref().and_then(|u| u.prompt_tokens),
        tokens_out: answer.usage.as_ref().and_then(|u| u.completion_tokens),
        latency: Duration::ZERO,
        attempts: 0,
    })
}

/// async-openai's configs `unwrap` the key into a header value; refuse bad keys up front.
fn check_header_value(key: &str) -> Result<(), LlmError> {
    HeaderValue::from_str(key).map(|_| ()).map_err(|_| {
        LlmError::Decode("the API key contains characters not allowed in a header".into())
    })
}

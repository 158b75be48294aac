//! A fake Azure OpenAI (and OpenAI-compatible) chat-completions server on a loopback port,
//! checking every request body against Azure's published API description.
//!
//! Routes: `POST /openai/deployments/{deployment}/chat/completions?api-version=…` (Azure, key
//! in `api-key` or `Authorization: Bearer`) and `POST /v1/chat/completions` (bearer). Answers
//! are scripted in order; requests are recorded; schema violations are recorded too and
//! answered with a 400, so a test sees them either way.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// The API key the fake accepts.
pub const API_KEY: &str = "fake-azure-key";

/// `tests/fixtures/azure-openai/chat-completions-2024-10-21.json` (Azure/azure-rest-api-specs, MIT).
const SPEC: &str = include_str!("../fixtures/azure-openai/chat-completions-2024-10-21.json");

fn spec() -> &'static Value {
    static PARSED: OnceLock<Value> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut spec: Value = serde_json::from_str(SPEC).expect("azure spec fixture is valid JSON");
        // Known defect in the 2024-10-21 description: the inner `json_schema` object lists
        // `type` as required although it has no such property (the `type: json_schema`
        // discriminator lives one level up). Azure does not expect it, and no client sends
        // it, so the fake drops that one entry instead of rejecting correct bodies.
        if let Some(required) = spec
            .pointer_mut(
                "/components/schemas/ResponseFormatJsonSchema/properties/json_schema/required",
            )
            .and_then(Value::as_array_mut)
        {
            required.retain(|name| name != "type");
        }
        spec
    })
}

/// One scripted answer.
#[derive(Debug, Clone)]
enum Scripted {
    Answer(String),
    Status(u16, Vec<(String, String)>, String),
    Garbage,
}

/// Answers a request when nothing is scripted: the answer's content, given the request body.
type Responder = Arc<dyn Fn(&Value) -> String + Send + Sync>;

#[derive(Default)]
struct Inner {
    script: VecDeque<Scripted>,
    responder: Option<Responder>,
    requests: Vec<Value>,
    raw: Vec<String>,
    violations: Vec<String>,
    no_temperature: HashSet<String>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("script", &self.script)
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

/// The schema a request asks for (`response_format.json_schema.name`).
pub fn schema_name(request: &Value) -> &str {
    request
        .pointer("/response_format/json_schema/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The user message of a request.
pub fn user_message(request: &Value) -> &str {
    request
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|messages| messages.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
}

/// The running fake; clones share state. The server lives until the test runtime ends.
#[derive(Debug, Clone)]
pub struct FakeAzure {
    addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeAzure {
    /// Starts the server on `127.0.0.1:0`.
    pub async fn start() -> FakeAzure {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route(
                "/openai/deployments/{deployment}/chat/completions",
                post(azure),
            )
            .route("/v1/chat/completions", post(compatible))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake azure");
        let addr = listener.local_addr().expect("fake azure address");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("fake azure stopped: {e}");
            }
        });
        FakeAzure { addr, inner }
    }

    /// The base URL (`AZURE_OPENAI_ENDPOINT`; append `/v1` for the compatible path).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake azure state")
    }

    /// Queues a 200 whose first choice's content is `content`.
    pub fn push_answer(&self, content: &str) {
        self.lock()
            .script
            .push_back(Scripted::Answer(content.into()));
    }

    /// Answers every request that finds nothing scripted with `respond(request)` as the
    /// content (a model that always answers, like a zero-latency deployment).
    pub fn respond_with(&self, respond: impl Fn(&Value) -> String + Send + Sync + 'static) {
        self.lock().responder = Some(Arc::new(respond));
    }

    /// Queues an answer with `status`, `headers` and `body`.
    pub fn push_status(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.lock()
            .script
            .push_back(Scripted::Status(status, headers, body.into()));
    }

    /// Queues a 200 whose body is not JSON.
    pub fn push_garbage(&self) {
        self.lock().script.push_back(Scripted::Garbage);
    }

    /// Makes `deployment` answer 400 like Azure reasoning models do when `temperature` is set.
    pub fn reject_temperature_for(&self, deployment: &str) {
        self.lock().no_temperature.insert(deployment.into());
    }

    /// Every request body received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.lock().requests.clone()
    }

    /// Every request body received, byte for byte (lossy UTF-8), in order.
    pub fn raw_requests(&self) -> Vec<String> {
        self.lock().raw.clone()
    }

    /// Request bodies that broke the API description (should stay empty).
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }
}

#[derive(Debug, serde::Deserialize)]
struct ApiVersion {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({ "error": { "code": code, "message": message } }).to_string(),
    )
        .into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    value("api-key") == Some(API_KEY)
        || value("authorization") == Some(format!("Bearer {API_KEY}").as_str())
}

async fn azure(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(deployment): Path<String>,
    Query(query): Query<ApiVersion>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&headers) {
        // Azure's text for a wrong key.
        return error(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
        );
    }
    if query.api_version.as_deref().is_none_or(str::is_empty) {
        return error(StatusCode::NOT_FOUND, "404", "Resource not found");
    }
    handle(&inner, &deployment, &body)
}

async fn compatible(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "Incorrect API key provided.",
        );
    }
    let model = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("model").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    handle(&inner, &model, &body)
}

fn handle(inner: &Mutex<Inner>, deployment: &str, body: &[u8]) -> Response {
    let mut inner = inner.lock().expect("fake azure state");
    inner.raw.push(String::from_utf8_lossy(body).into_owned());
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        inner.violations.push("body is not JSON".into());
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "body is not JSON",
        );
    };
    inner.requests.push(request.clone());
    let mut problems = validate(
        &json!({ "$ref": "#/components/schemas/createChatCompletionRequest" }),
        &request,
        "body",
    );
    if request.pointer("/response_format/json_schema/strict") != Some(&Value::Bool(true)) {
        problems.push("response_format.json_schema.strict is not true".into());
    }
    if !problems.is_empty() {
        inner.violations.extend(problems.iter().cloned());
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &problems.join("; "),
        );
    }
    if inner.no_temperature.contains(deployment) && request.get("temperature").is_some() {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            json!({ "error": {
                "message": "Unsupported parameter: 'temperature' is not supported with this model.",
                "type": "invalid_request_error",
                "param": "temperature",
                "code": "unsupported_parameter",
            }})
            .to_string(),
        )
            .into_response();
    }
    let next = inner.script.pop_front().or_else(|| {
        inner
            .responder
            .as_ref()
            .map(|respond| Scripted::Answer(respond(&request)))
    });
    match next {
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
            "fake azure: nothing scripted",
        ),
        Some(Scripted::Garbage) => (StatusCode::OK, "<html>gateway</html>").into_response(),
        Some(Scripted::Status(status, headers, body)) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body,
            )
                .into_response();
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                    response.headers_mut().insert(k, v);
                }
            }
            response
        }
        Some(Scripted::Answer(content)) => {
            let prompt_tokens = body.len() as u64 / 4;
            let completion_tokens = content.len() as u64 / 4;
            let answer = json!({
                "id": format!("chatcmpl-fake{}", inner.requests.len()),
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "gpt-4o-2024-11-20",
                "prompt_filter_results": [{ "prompt_index": 0, "content_filter_results": {} }],
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": content },
                    "finish_reason": "stop",
                }],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            });
            (
                StatusCode::OK,
                [
                    ("content-type", "application/json"),
                    ("apim-request-id", "fake"),
                ],
                answer.to_string(),
            )
                .into_response()
        }
    }
}

/// Validates `value` against an OpenAPI 3.0 schema of the Azure spec. Covers `$ref`, `type`,
/// `nullable`, `enum`, `properties`, `required`, `additionalProperties` (false or a schema),
/// `items`, `minItems`, `maxItems`, `minimum`, `maximum`, `allOf`, `anyOf`, and `oneOf`
/// (at least one branch must match: Azure's message schemas overlap without a discriminator,
/// so "exactly one" would reject valid bodies). The fake GitHub's validator resolves refs
/// against GitHub's spec only, hence this small copy.
fn validate(schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let schema = resolve(schema);
    if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
        return errors;
    }
    for sub in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        errors.extend(validate(sub, value, at));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array)
            && !branches.iter().any(|b| validate(b, value, at).is_empty())
        {
            errors.push(format!("{at}: matches no {key} branch"));
        }
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {t}, got {value}"));
            return errors;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} not in enum"));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            errors.push(format!("{at}: {n} < minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            errors.push(format!("{at}: {n} > maximum {max}"));
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as u64;
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            errors.push(format!("{at}: fewer than minItems"));
        }
        if schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            errors.push(format!("{at}: more than maxItems"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                errors.extend(validate(item_schema, item, &format!("{at}[{i}]")));
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str()
                && !object.contains_key(name)
            {
                errors.push(format!("{at}: missing required {name}"));
            }
        }
        for (key, item) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(property) => errors.extend(validate(property, item, &format!("{at}.{key}"))),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{at}: unexpected property {key}"));
                    }
                    Some(extra @ Value::Object(_)) => {
                        errors.extend(validate(extra, item, &format!("{at}.{key}")));
                    }
                    _ => {}
                },
            }
        }
    }
    errors
}

/// Follows local `$ref`s (`#/components/schemas/…`).
fn resolve(schema: &Value) -> &Value {
    let mut current = schema;
    while let Some(reference) = current.get("$ref").and_then(Value::as_str) {
        match reference.strip_prefix('#').and_then(|p| spec().pointer(p)) {
            Some(target) => current = target,
            None => panic!("unresolvable $ref {reference}"),
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use bot::config::{AzureOpenAiConfig, ModelConfig, OpenAiCompatibleConfig};
    use bot::llm::{LlmClient, LlmError, RetryPolicy};
    use bot::review::prompt::{Prompt, RenderedPrompt, parse_prompt};
    use secrecy::SecretString;
    use std::time::Duration;

    const ANSWER: &str = r#"{"findings":[]}"#;

    fn prompt(temperature: &str) -> Prompt {
        let text = format!(
            "---\nid: security\nversion: v1\ntemperature: {temperature}\nmax_tokens: 800\nschema: security_findings\n---\n[system]\nsys\n[user]\nuser\n"
        );
        parse_prompt("security/v1.md", &text).unwrap()
    }

    fn rendered() -> RenderedPrompt {
        RenderedPrompt {
            system: "You review code. Answer as JSON \u{2014} \"quoted\" <tags>.".into(),
            user: "diff --git a/x.rs b/x.rs\n+ let x = 1;\n".into(),
        }
    }

    /// Milliseconds instead of seconds, so failure paths finish fast.
    const FAST: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_total_wait: Duration::from_secs(5),
    };

    fn azure(fake: &FakeAzure, key: &str, deployment: &str) -> LlmClient {
        crate::init();
        let config = ModelConfig::Azure(AzureOpenAiConfig {
            endpoint: fake.url().parse().unwrap(),
            api_key: SecretString::from(key),
            deployment: deployment.into(),
            api_version: "2024-10-21".into(),
        });
        LlmClient::new(&config).unwrap().with_retry(FAST)
    }

    fn assert_all_valid(fake: &FakeAzure) {
        assert_eq!(fake.violations(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn success_records_exact_messages_tokens_and_model() {
        let fake = FakeAzure::start().await;
        fake.push_answer(ANSWER);
        let client = azure(&fake, API_KEY, "gpt-4o");
        let done = client
            .complete(&prompt("0.1"), &rendered(), None)
            .await
            .unwrap();
        let requests = fake.requests();
        assert_eq!(requests.len(), 1);
        // Byte for byte: the body sent embeds exactly the recorded strings.
        let raw = &fake.raw_requests()[0];
        assert!(
            raw.starts_with(&format!("{{\"messages\":{},", done.messages_json)),
            "{raw}"
        );
        assert!(raw.contains(&format!(
            "\"response_format\":{}",
            done.response_format_json
        )));
        let parsed = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(parsed(&done.messages_json), requests[0]["messages"]);
        assert_eq!(
            parsed(&done.response_format_json),
            requests[0]["response_format"]
        );
        assert_eq!(requests[0]["messages"][0]["role"], "system");
        assert_eq!(requests[0]["messages"][1]["role"], "user");
        assert_eq!(
            requests[0]["response_format"]["json_schema"]["name"],
            "security_findings"
        );
        assert_eq!(requests[0]["max_tokens"], 800);
        assert!((requests[0]["temperature"].as_f64().unwrap() - 0.1).abs() < 1e-6);
        assert_eq!(done.raw_answer.as_deref(), Some(ANSWER));
        assert_eq!(done.model, "gpt-4o-2024-11-20");
        assert_eq!(done.finish_reason.as_deref(), Some("stop"));
        assert!(done.tokens_in.unwrap() > 0 && done.tokens_out.is_some());
        assert_eq!(done.attempts, 1);
        assert_all_valid(&fake);
    }

    #[tokio::test]
    async fn rate_limit_with_retry_after_ms_then_success() {
        let fake = FakeAzure::start().await;
        fake.push_status(
            429,
            &[("retry-after-ms", "30"), ("retry-after", "1")],
            r#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}}"#,
        );
        fake.push_answer(ANSWER);
        // A total-wait budget below `retry-after` (1 s) but above `retry-after-ms` proves the
        // millisecond header is the one honoured.
        let client = azure(&fake, API_KEY, "gpt-4o").with_retry(RetryPolicy {
            max_total_wait: Duration::from_millis(500),
            ..FAST
        });
        let done = client
            .complete(&prompt("0.1"), &rendered(), None)
            .await
            .unwrap();
        assert_eq!(done.attempts, 2);
        assert_eq!(fake.requests().len(), 2);
        assert_eq!(fake.requests()[0], fake.requests()[1]);
        assert_all_valid(&fake);
    }

    #[tokio::test]
    async fn rate_limit_longer_than_the_budget_is_returned() {
        let fake = FakeAzure::start().await;
        fake.push_status(
            429,
            &[("retry-after", "30")],
            r#"{"error":{"code":"429","message":"slow down"}}"#,
        );
        let client = azure(&fake, API_KEY, "gpt-4o");
        let error = client
            .complete(&prompt("0.1"), &rendered(), None)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            LlmError::RateLimited {
                retry_after: Some(Duration::from_secs(30))
            }
        );
        assert_eq!(fake.requests().len(), 1);
    }

    #[tokio::test]
    async fn server_errors_stop_after_the_bounded_attempts() {
        let fake = FakeAzure::start().await;
        for _ in 0..5 {
            fake.push_status(500, &[], "upstream exploded");
        }
        let client = azure(&fake, API_KEY, "gpt-4o");
        let error = client
            .complete(&prompt("0.1"), &rendered(), None)
            .await
            .unwrap_err();
        assert_eq!(error, LlmError::Server { status: 500 });
        assert_eq!(fake.requests().len(), FAST.max_attempts as usize);
        assert_all_valid(&fake);
    }

    #[tokio::test]
    async fn reasoning_deployment_rejecting_temperature_is_retried_without_it_and_remembered() {
        let fake = FakeAzure::start().await;
        fake.reject_temperature_for("o3-mini");
        fake.push_answer(ANSWER);
        fake.push_answer(ANSWER);
        let client = azure(&fake, API_KEY, "gpt-4o");
        let done = client
            .complete(&prompt("0.1"), &rendered(), Some("o3-mini"))
            .await
            .unwrap();
        assert_eq!(done.attempts, 2);
        let second = client
            .complete(&prompt("0.1"), &rendered(), Some("o3-mini"))
            .await
            .unwrap();
        assert_eq!(second.attempts, 1, "the quirk is remembered per deployment");
        let requests = fake.requests();
        assert_eq!(requests.len(), 3);
        assert!(requests[0].get("temperature").is_some());
        assert!(requests[1].get("temperature").is_none());
        assert!(requests[2].get("temperature").is_none());
        assert_all_valid(&fake);
    }

    #[tokio::test]
    async fn bad_key_is_unauthorized_without_retries_or_key_in_message() {
        let fake = FakeAzure::start().await;
        let client = azure(&fake, "wrong-key-123", "gpt-4o");
        let error = client
            .complete(&prompt("0.1"), &rendered(), None)
            .await
            .unwrap_err();
        assert_eq!(error, LlmError::Unauthorized);
        assert!(!format!("{error} {error:?}").contains("wrong-key-123"));
    }

    #[tokio::test]
    async fn garbage_body_is_a_decode_error() {
        let fake = FakeAzure::start().await;
        fake.push_garbage();
        let client = azure(&fake, API_KEY, "gpt-4o");
        let error = client
            .complete(&prompt("0.1"), &rendered(), None)
            .await
            .unwrap_err();
        assert!(matches!(error, LlmError::Decode(_)), "{error:?}");
    }

    #[tokio::test]
    async fn openai_compatible_path_sends_model_and_bearer() {
        let fake = FakeAzure::start().await;
        fake.push_answer(ANSWER);
        crate::init();
        let config = ModelConfig::OpenAiCompatible(OpenAiCompatibleConfig {
            base_url: format!("{}/v1", fake.url()).parse().unwrap(),
            api_key: Some(SecretString::from(API_KEY)),
            model: "qwen2.5-coder".into(),
        });
        let client = LlmClient::new(&config)
            .unwrap()
            .with_retry(FAST)
            .with_limit(1);
        let done = client
            .complete_for(7, &prompt("none"), &rendered(), None)
            .await
            .unwrap();
        assert_eq!(done.raw_answer.as_deref(), Some(ANSWER));
        let requests = fake.requests();
        assert_eq!(requests[0]["model"], "qwen2.5-coder");
        assert!(requests[0].get("temperature").is_none());
        assert_all_valid(&fake);
    }

    #[test]
    fn validator_rejects_a_broken_body() {
        let bad = json!({ "messages": [], "temperature": "hot" });
        let errors = validate(
            &json!({ "$ref": "#/components/schemas/createChatCompletionRequest" }),
            &bad,
            "body",
        );
        assert!(errors.len() >= 2, "{errors:?}");
    }
}

//! Model calls: Azure OpenAI (or an OpenAI-compatible server) chat completions with strict
//! structured outputs, bounded retries honouring `Retry-After`/`retry-after-ms`, reasoning-model
//! quirks learnt per deployment, and a per-installation concurrency limit.

mod client;
mod error;

pub use client::{
    BASE_BACKOFF, CALL_TIMEOUT, CONNECT_TIMEOUT, Completion, DEFAULT_INSTALLATION_CONCURRENCY,
    LlmClient, MAX_ATTEMPTS, MAX_BACKOFF, MAX_TOTAL_WAIT, READ_TIMEOUT, RetryPolicy,
};
pub use error::{LlmError, retry_after};

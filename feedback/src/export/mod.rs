//! Fine-tuning datasets from the human verdicts: one example per model call (its exact
//! messages, and as the target the suggestions humans kept), checked and redacted before
//! anything is written. Built in parts: each module below has one job.

pub mod answer_tokens;
pub mod dataset;
pub mod example;
pub mod redact;
pub mod source;
pub mod validate;

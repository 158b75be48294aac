//! Built-in, model-free analyzers.

pub mod secrets;
pub mod security;
pub mod test_gap;

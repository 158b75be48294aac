//! reviewbot: a GitHub App that reviews pull requests with a human in the loop.
//!
//! Webhooks become typed events ([`events`]), events become durable jobs ([`jobs`]) in the
//! store (the `feedback` crate), and workers run them through [`handlers`].

pub mod cli;
pub mod config;
pub mod events;
pub mod export;
pub mod feedback_command;
pub mod github;
pub mod handlers;
pub mod jobs;
pub mod llm;
pub mod repo_config;
pub mod review;
pub mod server;
pub mod shutdown;
pub mod startup;
pub mod telemetry;

//! End-to-end scenarios, one module per feature, compiled into one test binary.

mod cli_review;
mod deployment;
mod exports;
mod feedback;
mod installations;
mod pr_world;
mod processes;
mod reviews;
mod webhook_contract;

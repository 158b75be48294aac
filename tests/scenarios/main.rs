//! End-to-end scenarios, one module per feature, compiled into one test binary.

mod cli_review;
mod deployment;
mod installations;
mod processes;
mod reviews;
mod webhook_contract;

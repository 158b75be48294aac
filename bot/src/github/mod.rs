//! GitHub: our own small types for what GitHub sends and what we send to it.

pub mod app;
pub mod checks;
pub mod client;
pub mod compare;
pub mod contents;
pub mod error;
pub mod ids;
pub mod issue_comments;
pub mod permissions;
pub mod pulls;
pub mod reactions;
pub mod review_comments;
pub mod reviews;
pub mod teams;
pub mod trees;

pub use app::{GitHubApp, InstallationInfo, install_crypto_provider};
pub use client::InstallationClient;
pub use error::GitHubError;

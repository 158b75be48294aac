//! The reviewbot store: webhook deliveries, the durable job queue, installations, model calls,
//! suggestions and append-only feedback events, on SQLite (the default) or Postgres.
//!
//! This crate owns all SQL and both migration folders. It never depends on the bot, so ML
//! engineers can work on exports without building the service.

mod error;
pub mod export;
mod model;
pub mod queue;
pub mod stats;
mod store;
mod time;
pub mod verdict;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::StoreError;
pub use model::*;
pub use stats::{StatsBy, StatsReport, StatsRow};
pub use store::{Dialect, Store};
pub use verdict::{Rejection, Verdict, VerdictState, derive_verdict};

//! The reviewbot store: webhook deliveries, the durable job queue, installations, model calls,
//! suggestions and append-only feedback events, on SQLite (the default) or Postgres.
//!
//! This crate owns all SQL and both migration folders. It never depends on the bot, so ML
//! engineers can work on exports without building the service.

mod error;
mod model;
pub mod queue;
mod store;
mod time;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::StoreError;
pub use model::*;
pub use store::{Dialect, Store};

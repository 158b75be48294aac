//! GitHub: our own small types for what GitHub sends and what we send to it.

pub mod ids;

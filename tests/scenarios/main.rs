//! End-to-end scenarios, one module per feature, compiled into one test binary.

mod webhook_contract;

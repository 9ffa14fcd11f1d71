//! Suture's pure domain: typed ids, run/step states, failure classes, jq runtime expressions,
//! JSON-schema contracts and the workflow definition model (a Serverless Workflow DSL 1.0 subset).
//! Nothing here performs I/O; every other crate builds on these types.

// Tests fail loudly by design.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod contract;
pub mod expr;
pub mod failure;
pub mod ids;
pub mod status;
pub mod workflow;

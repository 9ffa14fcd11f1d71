//! The integration-test binary: every test boots the real server on port 0.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code fails loudly by design

mod api_workflows;
mod browser;
mod healing;
mod runs;
mod tenancy;
mod transient;
mod webhooks;

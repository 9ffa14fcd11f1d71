//! The integration-test binary: every test boots the real server on port 0.

mod api_workflows;
mod browser;
mod healing;
mod runs;
mod tenancy;
mod transient;
mod webhooks;

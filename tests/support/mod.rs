//! Shared helpers: `spawn_app` (SQLite or PostgreSQL), the controllable vendor, the flaky raw
//! TCP vendor, and the skip policy for optional services.

pub mod app;
pub mod defs;
pub mod flaky;
pub mod pg;
pub mod skip;
pub mod vendor;

pub use app::{Backend, TestApp, spawn_app};
pub use skip::skip_or_fail;
pub use vendor::{Vendor, VendorMode};

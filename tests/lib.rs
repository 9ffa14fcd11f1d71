//! Test support for the one integration-test binary (`main.rs`): boots the real server on
//! port 0 against a fresh database, and local vendor servers the tests control.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code fails loudly by design

pub mod support;

//! Test support for the one integration-test binary (`main.rs`): boots the real server on
//! port 0 against a fresh database, and local vendor servers the tests control.

pub mod support;

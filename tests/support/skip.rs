//! Tests that need PostgreSQL or Chromium skip with a printed reason when those are absent;
//! with `SUTURE_TEST_REQUIRE_ALL=1` a skip is a failure.

pub fn require_all() -> bool {
    matches!(
        std::env::var("SUTURE_TEST_REQUIRE_ALL").as_deref(),
        Ok("1") | Ok("true")
    )
}

/// Prints why a test skips, or panics when every test must run.
pub fn skip_or_fail(test: &str, reason: &str) {
    if require_all() {
        panic!("{test}: cannot skip under SUTURE_TEST_REQUIRE_ALL=1: {reason}");
    }
    eprintln!("skipping {test}: {reason}");
}

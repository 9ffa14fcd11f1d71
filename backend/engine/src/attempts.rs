//! One outbound attempt as recorded in a step row (`steps.attempts`), shown in the API and the
//! run timeline.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::classify::Verdict;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// `ok`, `transient`, `auth`, `contract`, `vendor_error`, `error`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Attempt {
    pub fn response(
        n: u32,
        started_at: DateTime<Utc>,
        took: Duration,
        status: u16,
        verdict: Verdict,
    ) -> Self {
        let outcome = match verdict {
            Verdict::Success => "ok",
            Verdict::Transient => "transient",
            Verdict::Auth => "auth",
            Verdict::RequestContract => "contract",
            Verdict::VendorError => "vendor_error",
        };
        Self {
            attempt: n,
            started_at,
            duration_ms: took.as_millis() as u64,
            status_code: Some(status),
            outcome: outcome.into(),
            error: None,
        }
    }

    pub fn error(
        n: u32,
        started_at: DateTime<Utc>,
        took: Duration,
        message: String,
        transient: bool,
    ) -> Self {
        Self {
            attempt: n,
            started_at,
            duration_ms: took.as_millis() as u64,
            status_code: None,
            outcome: if transient { "transient" } else { "error" }.into(),
            error: Some(message),
        }
    }
}

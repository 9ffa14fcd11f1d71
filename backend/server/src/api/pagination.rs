//! Keyset cursors for list endpoints: opaque to clients, `<rfc3339>|<uuid>` inside.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::ApiError;

pub fn encode(created_at: DateTime<Utc>, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        created_at.to_rfc3339(),
        id
    ))
}

pub fn decode(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "pagination.bad_cursor",
            "`cursor` is not a cursor this API returned",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (ts, id) = text.split_once('|').ok_or_else(bad)?;
    let ts = DateTime::parse_from_rfc3339(ts)
        .map_err(|_| bad())?
        .with_timezone(&Utc);
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((ts, id))
}

pub fn limit(requested: Option<u64>) -> Result<u64, ApiError> {
    match requested {
        None => Ok(50),
        Some(n) if (1..=500).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            "pagination.bad_limit",
            "`limit` must be between 1 and 500",
        )),
    }
}

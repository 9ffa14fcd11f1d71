//! Formatting of values for pages: timestamps, durations, short ids, pretty JSON.

use chrono::{DateTime, Utc};
use serde_json::Value;

pub fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn duration_ms(ms: i64) -> String {
    match ms {
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms => format!("{}m {}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

pub fn between(start: Option<&DateTime<Utc>>, end: Option<&DateTime<Utc>>) -> String {
    match (start, end) {
        (Some(s), Some(e)) => duration_ms((*e - *s).num_milliseconds().max(0)),
        (Some(_), None) => "running".into(),
        _ => "—".into(),
    }
}

pub fn short(id: &impl ToString) -> String {
    let s = id.to_string();
    s[s.len().saturating_sub(8)..].to_string()
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_ms(42), "42 ms");
        assert_eq!(duration_ms(1500), "1.5 s");
        assert_eq!(duration_ms(125_000), "2m 5s");
        assert_eq!(short(&"0193b0c2-7a1e-7000-8000-1234567890ab"), "567890ab");
    }
}

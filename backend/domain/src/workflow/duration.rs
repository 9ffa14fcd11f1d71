//! DSL durations: the `{ days, hours, minutes, seconds, milliseconds }` object and the
//! ISO 8601 text form (`PT5S`, `P1DT2H`), without calendar units whose length varies.

use std::time::Duration;

use serde_json::Value;

/// Parse `PnW`, or `P[nD][T[nH][nM][n[.f]S]]`. Years and months are refused: their length
/// depends on the calendar, and a timeout must be exact.
pub fn parse_iso8601_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not an ISO 8601 duration such as `PT30S` or `P1DT2H`");
    let rest = text.strip_prefix('P').ok_or_else(invalid)?;
    if rest.is_empty() {
        return Err(invalid());
    }
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => return Err(invalid()),
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut total_ms: f64 = 0.0;
    for (number, unit) in components(date).ok_or_else(invalid)? {
        let factor = match unit {
            'W' => 7.0 * 86_400_000.0,
            'D' => 86_400_000.0,
            'Y' | 'M' => {
                return Err(format!(
                    "`{text}`: years and months have no fixed length; use days (`P30D`)"
                ));
            }
            _ => return Err(invalid()),
        };
        total_ms += number * factor;
    }
    if let Some(time) = time {
        let mut last_rank = 0;
        for (number, unit) in components(time).ok_or_else(invalid)? {
            let (rank, factor) = match unit {
                'H' => (1, 3_600_000.0),
                'M' => (2, 60_000.0),
                'S' => (3, 1_000.0),
                _ => return Err(invalid()),
            };
            if rank <= last_rank {
                return Err(invalid());
            }
            last_rank = rank;
            total_ms += number * factor;
        }
    }
    Ok(Duration::from_secs_f64(total_ms / 1000.0))
}

/// Split `1D` / `2H30M` into numbers and unit letters.
fn components(text: &str) -> Option<Vec<(f64, char)>> {
    let mut out = Vec::new();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
        } else if c.is_ascii_uppercase() {
            if number.is_empty() {
                return None;
            }
            out.push((number.parse::<f64>().ok()?, c));
            number.clear();
        } else {
            return None;
        }
    }
    number.is_empty().then_some(out)
}

/// Parse a DSL duration (object or ISO 8601 text). Errors are `(relative pointer, message)`.
pub(crate) fn parse_duration(value: &Value) -> Result<Duration, Vec<(String, String)>> {
    match value {
        Value::String(text) => parse_iso8601_duration(text).map_err(|m| vec![(String::new(), m)]),
        Value::Object(map) => {
            let mut problems = Vec::new();
            let mut total_ms: u64 = 0;
            if map.is_empty() {
                problems.push((
                    String::new(),
                    "a duration needs at least one of days, hours, minutes, seconds, milliseconds"
                        .to_owned(),
                ));
            }
            for (key, amount) in map {
                let factor: u64 = match key.as_str() {
                    "days" => 86_400_000,
                    "hours" => 3_600_000,
                    "minutes" => 60_000,
                    "seconds" => 1_000,
                    "milliseconds" => 1,
                    other => {
                        problems.push((
                            format!("/{other}"),
                            format!(
                                "unknown duration unit `{other}` (expected days, hours, minutes, seconds or milliseconds)"
                            ),
                        ));
                        continue;
                    }
                };
                match amount.as_u64() {
                    Some(n) => {
                        total_ms = total_ms.saturating_add(n.saturating_mul(factor));
                    }
                    None => problems.push((
                        format!("/{key}"),
                        format!("`{key}` must be a non-negative integer"),
                    )),
                }
            }
            if problems.is_empty() {
                Ok(Duration::from_millis(total_ms))
            } else {
                Err(problems)
            }
        }
        _ => Err(vec![(
            String::new(),
            "a duration is an object such as `{ seconds: 5 }` or ISO 8601 text such as `PT5S`"
                .to_owned(),
        )]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iso8601() {
        assert_eq!(
            parse_iso8601_duration("PT5S").unwrap(),
            Duration::from_secs(5)
        );
        assert_eq!(
            parse_iso8601_duration("PT1.5S").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_iso8601_duration("P1DT2H3M4S").unwrap(),
            Duration::from_secs(86_400 + 7_200 + 180 + 4)
        );
        assert_eq!(
            parse_iso8601_duration("P2W").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
        assert_eq!(
            parse_iso8601_duration("PT10M").unwrap(),
            Duration::from_secs(600)
        );
        for bad in [
            "", "P", "PT", "5S", "PT5", "PTS", "PT5S3M", "P1M", "P1Y", "pt5s", "PT5X",
        ] {
            assert!(parse_iso8601_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_form() {
        assert_eq!(
            parse_duration(&json!({"minutes": 1, "seconds": 5, "milliseconds": 250})).unwrap(),
            Duration::from_millis(65_250)
        );
        let errors = parse_duration(&json!({"secs": 5, "hours": -1})).unwrap_err();
        let paths: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["/secs", "/hours"]);
        assert!(parse_duration(&json!(5)).is_err());
        assert_eq!(
            parse_duration(&json!("PT2S")).unwrap(),
            Duration::from_secs(2)
        );
    }
}

//! The value coercions a repair script may perform (numeric strings, number↔string, boolean
//! strings, epoch↔ISO-8601, cents→decimal), shared by the mapping planner, which picks one per
//! field, and by the provenance check, which must accept exactly what the scripts produce.

use chrono::{DateTime, SecondsFormat};
use regex::Regex;
use serde_json::{Number, Value};
use std::sync::LazyLock;

use crate::names;
use crate::schema::Schema;

static EXACT_NUMBER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$").ok());

/// Epoch values outside these ranges are not taken for instants (a count of 5 is not a date).
const EPOCH_SECONDS: std::ops::RangeInclusive<f64> = 1e8..=1e10;
const EPOCH_MILLIS: std::ops::RangeInclusive<f64> = 1e11..=1e13;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coercion {
    Keep,
    NumericString { integer: bool },
    NumberToString,
    BoolString,
    BoolToString,
    EpochToIso,
    IsoToEpoch { millis: bool },
    CentsToDecimal,
}

impl Coercion {
    /// The JavaScript expression applying this coercion to `expr`; `field` names it in errors.
    pub(crate) fn js(self, expr: &str, field: &str) -> String {
        let field = crate::js::string(field);
        match self {
            Coercion::Keep => expr.to_string(),
            Coercion::NumericString { integer } => format!("toNumber({expr}, {field}, {integer})"),
            Coercion::NumberToString | Coercion::BoolToString => format!("toText({expr})"),
            Coercion::BoolString => format!("toBool({expr}, {field})"),
            Coercion::EpochToIso => format!("epochToIso({expr}, {field})"),
            Coercion::IsoToEpoch { millis } => format!("isoToEpoch({expr}, {field}, {millis})"),
            Coercion::CentsToDecimal => format!("centsToDecimal({expr}, {field})"),
        }
    }

    /// The helper function the JS expression needs, if any.
    pub(crate) fn helper(self) -> Option<&'static str> {
        match self {
            Coercion::Keep => None,
            Coercion::NumericString { .. } => Some("toNumber"),
            Coercion::NumberToString | Coercion::BoolToString => Some("toText"),
            Coercion::BoolString => Some("toBool"),
            Coercion::EpochToIso => Some("epochToIso"),
            Coercion::IsoToEpoch { .. } => Some("isoToEpoch"),
            Coercion::CentsToDecimal => Some("centsToDecimal"),
        }
    }

    /// What the diagnosis says about the vendor's new representation.
    pub(crate) fn describe(self) -> Option<&'static str> {
        match self {
            Coercion::Keep => None,
            Coercion::NumericString { .. } => Some("a numeric string"),
            Coercion::NumberToString => Some("a number"),
            Coercion::BoolString => Some("a boolean string"),
            Coercion::BoolToString => Some("a boolean"),
            Coercion::EpochToIso => Some("epoch time"),
            Coercion::IsoToEpoch { .. } => Some("an ISO-8601 string"),
            Coercion::CentsToDecimal => Some("cents"),
        }
    }

    /// The same coercion in Rust, used to check a sample value against the contract's `enum`.
    pub(crate) fn apply(self, value: &Value) -> Option<Value> {
        match (self, value) {
            (_, Value::Null) | (Coercion::Keep, _) => Some(value.clone()),
            (Coercion::NumericString { integer }, Value::String(s)) => {
                let n = parse_exact_number(s)?;
                if integer && n.fract() != 0.0 {
                    return None;
                }
                number(n)
            }
            (Coercion::NumberToString, Value::Number(n)) => Some(Value::String(n.to_string())),
            (Coercion::BoolToString, Value::Bool(b)) => Some(Value::String(b.to_string())),
            (Coercion::BoolString, Value::String(s)) => parse_bool(s).map(Value::Bool),
            (Coercion::EpochToIso, v) => {
                let millis = epoch_millis(as_number(v)?)?;
                let instant = DateTime::from_timestamp_millis(millis)?;
                Some(Value::String(
                    instant.to_rfc3339_opts(SecondsFormat::Millis, true),
                ))
            }
            (Coercion::IsoToEpoch { millis }, Value::String(s)) => {
                let ms = parse_instant(s)?;
                Some(Value::from(if millis { ms } else { ms.div_euclid(1000) }))
            }
            (Coercion::CentsToDecimal, v) => number(as_number(v)? / 100.0),
            _ => None,
        }
    }
}

fn number(n: f64) -> Option<Value> {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        return Some(Value::from(n as i64));
    }
    Number::from_f64(n).map(Value::Number)
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_exact_number(s),
        _ => None,
    }
}

/// A string that is a JSON number in full, nothing more ("42", "9.99"; not " 42" or "42abc").
pub(crate) fn parse_exact_number(s: &str) -> Option<f64> {
    EXACT_NUMBER
        .as_ref()
        .filter(|re| re.is_match(s))
        .and_then(|_| s.parse::<f64>().ok())
        .filter(|n| n.is_finite())
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// An RFC 3339 / ISO-8601 date-time as epoch milliseconds.
pub(crate) fn parse_instant(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Epoch seconds or milliseconds (told apart by magnitude, as the scripts do) in milliseconds.
pub(crate) fn epoch_millis(n: f64) -> Option<i64> {
    if EPOCH_MILLIS.contains(&n.abs()) {
        Some(n.round() as i64)
    } else if EPOCH_SECONDS.contains(&n.abs()) {
        Some((n * 1000.0).round() as i64)
    } else {
        None
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The coercion that turns the vendor's `value` (found under `key`) into what the contract field
/// `field` (schema `schema`) expects, or `None` when no coercion can.
pub(crate) fn choose(
    field: &str,
    schema: &Schema<'_>,
    key: &str,
    value: &Value,
) -> Option<Coercion> {
    let coercion = choose_unchecked(field, schema, key, value)?;
    if let Some(allowed) = schema.enumeration() {
        let coerced = coercion.apply(value)?;
        if !allowed.contains(&coerced) {
            return None;
        }
    }
    Some(coercion)
}

fn choose_unchecked(
    field: &str,
    schema: &Schema<'_>,
    key: &str,
    value: &Value,
) -> Option<Coercion> {
    let ty = json_type(value);
    if ty == "null" {
        return schema.allows("null").then_some(Coercion::Keep);
    }
    let wants_date_time = schema.format() == Some("date-time") && schema.allows("string");
    let wants_number = schema.allows("number");
    if matches!(ty, "integer" | "number")
        && wants_number
        && names::says_cents(key)
        && !names::says_cents(field)
    {
        return Some(Coercion::CentsToDecimal);
    }
    if ty == "string" && wants_date_time {
        return parse_instant(value.as_str()?)
            .map(|_| Coercion::Keep)
            .or_else(|| {
                parse_exact_number(value.as_str()?)
                    .and_then(epoch_millis)
                    .map(|_| Coercion::EpochToIso)
            });
    }
    if schema.allows(ty) {
        return Some(Coercion::Keep);
    }
    match ty {
        "integer" | "number" if wants_date_time => {
            epoch_millis(value.as_f64()?).map(|_| Coercion::EpochToIso)
        }
        "integer" | "number" if schema.allows("string") => Some(Coercion::NumberToString),
        "boolean" if schema.allows("string") => Some(Coercion::BoolToString),
        "string" => {
            let s = value.as_str()?;
            if schema.allows("boolean") && parse_bool(s).is_some() {
                return Some(Coercion::BoolString);
            }
            if schema.allows("integer") || wants_number {
                if let Some(n) = parse_exact_number(s) {
                    let integer = !wants_number;
                    return (!integer || n.fract() == 0.0)
                        .then_some(Coercion::NumericString { integer });
                }
                if parse_instant(s).is_some() {
                    return Some(Coercion::IsoToEpoch {
                        millis: names::says_millis(field),
                    });
                }
            }
            None
        }
        _ => None,
    }
}

//! Failure fingerprints: a data-free signature of what went wrong (status, media type, schema
//! violation keywords and paths) and the hash that keys antibodies, so a repair learnt on one run
//! is found again on the next run of the same breakage with different data.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::failure::FailureContext;

struct Rule {
    pattern: Option<Regex>,
    /// `$1`-style template producing the keyword form.
    keyword: &'static str,
}

fn rule(pattern: &str, keyword: &'static str) -> Rule {
    Rule {
        pattern: Regex::new(pattern).ok(),
        keyword,
    }
}

/// Violation messages as `jsonschema` and similar validators word them, reduced to keywords.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(r#"^"?([^"]+?)"? is a required property"#, "required:$1"),
        rule(
            r#"(?i)missing (?:required )?(?:property|field) "?`?([A-Za-z0-9_.$-]+)"#,
            "required:$1",
        ),
        rule(r#"is not of types? ((?:"[a-z]+"(?:, )?)+)"#, "type:$1"),
        rule(r#"is not a "([A-Za-z0-9_-]+)""#, "format:$1"),
        rule(
            r#"(?i)additional properties are not allowed"#,
            "additionalProperties",
        ),
        rule(r#"(?i)is not one of"#, "enum"),
        rule(r#"(?i)is not valid under any of the schemas"#, "anyOf"),
        rule(r#"(?i)(?:is|was) expected"#, "const"),
        rule(
            r#"(?i)is (?:less|greater) than(?: or equal to)? (?:the )?(minimum|maximum)"#,
            "$1",
        ),
        rule(r#"(?i)is (?:shorter|longer) than"#, "length"),
        rule(r#"(?i)does not match"#, "pattern"),
    ]
});

static POINTER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:at\s+)?((?:/[^\s:]*)*|[A-Za-z_$][\w$]*(?:\[\d+\]|\.[\w$]+)*)\s*:\s+"#).ok()
});
static INDEX: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"/\d+\b|\[\d+\]").ok());
static QUOTED: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?"#).ok());

/// Normalised signature of a failure: stable across runs of the same breakage with different
/// data, and free of data values (only status, media type, schema keywords and paths).
pub fn error_signature(failure: &FailureContext) -> String {
    let status = failure
        .response
        .as_ref()
        .map_or_else(|| "no-response".to_string(), |r| r.status.to_string());
    let media = failure
        .response
        .as_ref()
        .and_then(|r| r.media_type())
        .unwrap_or_else(|| "-".into());
    let mut keys: Vec<String> = failure
        .violations
        .iter()
        .map(|v| violation_key(v))
        .collect();
    keys.sort();
    keys.dedup();
    format!("{status}|{media}|{}", keys.join(","))
}

fn violation_key(message: &str) -> String {
    let (path, rest) = match POINTER.as_ref().and_then(|re| re.captures(message)) {
        Some(c) => {
            let whole = c.get(0).map_or(0, |m| m.end());
            let path = c.get(1).map_or("", |m| m.as_str());
            let path = INDEX.as_ref().map_or_else(
                || path.to_string(),
                |re| {
                    re.replace_all(
                        path,
                        |c: &regex::Captures<'_>| {
                            if c[0].starts_with('[') { "[*]" } else { "/*" }
                        },
                    )
                    .into_owned()
                },
            );
            (path, &message[whole..])
        }
        None => (String::new(), message),
    };
    let keyword = RULES
        .iter()
        .find_map(|r| {
            let re = r.pattern.as_ref()?;
            let caps = re.captures(rest)?;
            let mut out = String::new();
            caps.expand(r.keyword, &mut out);
            Some(out.replace('"', "").replace(", ", "|"))
        })
        .unwrap_or_else(|| {
            // Unknown wording: keep its words, drop anything that may be data.
            let words = QUOTED.as_ref().map_or_else(
                || rest.to_string(),
                |re| re.replace_all(rest, "_").into_owned(),
            );
            words
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        });
    if path.is_empty() {
        keyword
    } else {
        format!("{path}:{keyword}")
    }
}

/// The antibody key: SHA-256 (hex) of the five parts, length-prefixed so no two different
/// part lists hash the same input.
pub fn fingerprint(
    tenant: &str,
    tool: &str,
    operation: &str,
    class: &str,
    signature: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [tenant, tool, operation, class, signature] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

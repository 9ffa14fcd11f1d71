//! `heuristic:endpoint_moved`: the vendor answered 404/410/301/308 (or a 400 naming a new path,
//! or flagged the endpoint with `Sunset`/`Deprecation`) and said where the operation went. Emits a
//! script that rewrites the step's own URL by a path transformation, never a fixed URL.
//!
//! The script returns the new endpoint's JSON as is. When that body does not fit the contract,
//! the pipeline asks `heuristic:response_mapping` about it
//! ([`FailureContext::with_response_body`]) and chains both with [`crate::compose`].

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;
use url::Url;

use crate::failure::{Candidate, FailureContext, Generator, ResponseSeen};
use crate::js;

pub const ENDPOINT_MOVED: &str = "heuristic:endpoint_moved";

const MOVED_STATUSES: &[u16] = &[301, 302, 307, 308, 404, 410];
const HINTS: &[&str] = &[
    "moved",
    "use ",
    "replaced",
    "now ",
    "migrat",
    "successor",
    "instead",
    "available at",
    "in favor",
    "in favour",
    "location",
    "new_url",
    "redirect",
    "deprecated",
];

static LINK: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"<([^>]*)>((?:\s*;\s*[^;,]+)*)"#).ok());
static REL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"(?i)rel\s*=\s*"?([^";,]+)"?"#).ok());
static MENTION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"https?://[^\s"'<>]+|(?:^|[\s"'(:=])(/[A-Za-z0-9._~%!$&*+,;=:@{}/-]+)"#).ok()
});
static PLACEHOLDER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(?:%7B|\{)[^/]*(?:%7D|\})|:[A-Za-z_][A-Za-z0-9_]*)$").ok()
});
static ID_LIKE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:[0-9]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,}|[a-z]{0,6}_[a-z0-9]{6,})$").ok()
});

/// Follows a moved endpoint on the same host.
#[derive(Debug, Default, Clone, Copy)]
pub struct EndpointMoved;

#[async_trait::async_trait]
impl Generator for EndpointMoved {
    fn name(&self) -> &'static str {
        ENDPOINT_MOVED
    }

    async fn generate(&self, failure: &FailureContext) -> Vec<Candidate> {
        let Some(response) = &failure.response else {
            return Vec::new();
        };
        let deprecated =
            response.header("sunset").is_some() || response.header("deprecation").is_some();
        let moved_status = MOVED_STATUSES.contains(&response.status);
        if !moved_status && !deprecated && response.status != 400 {
            return Vec::new();
        }
        let Ok(old) = Url::parse(&failure.request.url) else {
            return Vec::new();
        };
        let mut seen: Vec<Transform> = Vec::new();
        let mut out = Vec::new();
        for (text, origin) in locations(response, moved_status || deprecated) {
            let Some(new) = resolve(&old, &text) else {
                continue;
            };
            let Some(transform) = Transform::between(&old, &new, &failure.input) else {
                continue;
            };
            if seen.contains(&transform) {
                continue;
            }
            out.push(transform.candidate(origin, deprecated));
            seen.push(transform);
        }
        out
    }
}

/// Where the vendor says the operation went, best evidence first, with a note on the source.
fn locations(response: &ResponseSeen, trust_headers: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let links: Vec<(String, String)> = response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("link"))
        .flat_map(|(_, v)| parse_links(v))
        .collect();
    if trust_headers {
        for wanted in ["successor-version", "latest-version"] {
            for (target, rel) in &links {
                if rel
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(wanted))
                {
                    out.push((
                        target.clone(),
                        format!("the Link header (rel=\"{wanted}\")"),
                    ));
                }
            }
        }
        if let Some(location) = response.header("location") {
            out.push((location.to_string(), "the Location header".to_string()));
        }
        for wanted in ["alternate", "canonical"] {
            for (target, rel) in &links {
                if rel
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(wanted))
                {
                    out.push((
                        target.clone(),
                        format!("the Link header (rel=\"{wanted}\")"),
                    ));
                }
            }
        }
    }
    let mut texts = Vec::new();
    match &response.body_json {
        Some(body) => collect_strings(body, "", &mut texts),
        None => texts.push(response.body_text.clone()),
    }
    let mut hinted = Vec::new();
    let mut plain = Vec::new();
    for text in &texts {
        for (mention, is_hinted) in mentions(text) {
            if is_hinted {
                hinted.push((mention, "the error body".to_string()));
            } else {
                plain.push((mention, "the error body".to_string()));
            }
        }
    }
    out.extend(hinted);
    // Unhinted mentions in a 400 are too often documentation links to be worth a try.
    if response.status != 400 {
        out.extend(plain);
    }
    out
}

fn parse_links(header: &str) -> Vec<(String, String)> {
    let (Some(link), Some(rel)) = (LINK.as_ref(), REL.as_ref()) else {
        return Vec::new();
    };
    link.captures_iter(header)
        .filter_map(|c| {
            let target = c.get(1)?.as_str().to_string();
            let rel = rel
                .captures(c.get(2)?.as_str())?
                .get(1)?
                .as_str()
                .to_string();
            Some((target, rel))
        })
        .collect()
}

fn collect_strings(value: &Value, key: &str, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(format!("{key}: {s}")),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, key, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| collect_strings(v, k, out)),
        _ => {}
    }
}

/// URLs and absolute paths in `text`, each with whether a "moved to"-like word precedes it.
fn mentions(text: &str) -> Vec<(String, bool)> {
    let Some(re) = MENTION.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter_map(|c| {
            let m = c.get(1).or_else(|| c.get(0))?;
            let found = m
                .as_str()
                .trim_end_matches(['.', ',', ';', ':', ')', '!', '?']);
            let before = text[..m.start()].to_ascii_lowercase();
            let start = before.len().saturating_sub(60);
            let start = (start..before.len())
                .find(|i| before.is_char_boundary(*i))
                .unwrap_or(before.len());
            let window = &before[start..];
            let hinted = HINTS.iter().any(|h| window.contains(h));
            (found.len() > 1).then(|| (found.to_string(), hinted))
        })
        .collect()
}

fn resolve(old: &Url, text: &str) -> Option<Url> {
    let new = old.join(text).ok()?;
    let same_port = new.port_or_known_default() == old.port_or_known_default()
        || (new.port().is_none() && old.port().is_none());
    (new.host_str() == old.host_str() && same_port).then_some(new)
}

/// Ids, UUIDs, hashes and `cus_8a7Hf2`-style keys: path segments that differ between runs.
fn looks_like_id(s: &str) -> bool {
    let mixed = s.len() >= 8
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(|c| c.is_ascii_alphabetic());
    mixed || ID_LIKE.as_ref().is_some_and(|re| re.is_match(s))
}

fn is_placeholder(seg: &str) -> bool {
    PLACEHOLDER.as_ref().is_some_and(|re| re.is_match(seg))
}

fn input_scalars(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| input_scalars(v, out)),
        Value::Object(map) => map.values().for_each(|v| input_scalars(v, out)),
        _ => {}
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// The old path's segment at this index (an id or other per-run value).
    Old(usize),
}

/// The new URL as a function of the old one: same shape in, rewritten path out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transform {
    /// The old path's segments; `None` where the segment varies between runs.
    old_shape: Vec<Option<String>>,
    new_path: Vec<Part>,
    new_scheme: Option<String>,
    extra_query: Vec<(String, String)>,
}

impl Transform {
    fn between(old: &Url, new: &Url, input: &Value) -> Option<Transform> {
        let mut per_run = Vec::new();
        input_scalars(input, &mut per_run);
        let varies = |s: &str| looks_like_id(s) || per_run.iter().any(|v| v == s);
        let old_segs: Vec<&str> = old.path_segments()?.collect();
        let old_shape: Vec<Option<String>> = old_segs
            .iter()
            .map(|s| (!varies(s)).then(|| (*s).to_string()))
            .collect();
        let variable: Vec<usize> = (0..old_segs.len())
            .filter(|i| old_shape[*i].is_none())
            .collect();
        let mut next_placeholder = variable.iter();
        let mut new_path = Vec::new();
        for seg in new.path_segments()? {
            if is_placeholder(seg) {
                new_path.push(Part::Old(*next_placeholder.next()?));
            } else if let Some(i) = variable.iter().find(|i| old_segs[**i] == seg) {
                new_path.push(Part::Old(*i));
            } else if varies(seg) {
                // An id the old URL does not carry: a fixed URL for one record, not a move.
                return None;
            } else {
                new_path.push(Part::Literal(seg.to_string()));
            }
        }
        let old_query: Vec<(String, String)> = old.query_pairs().into_owned().collect();
        let mut extra_query = Vec::new();
        for (k, v) in new.query_pairs().into_owned() {
            if old_query.iter().any(|(ok, _)| *ok == k) {
                continue;
            }
            if varies(&v) || is_placeholder(&v) {
                return None;
            }
            extra_query.push((k, v));
        }
        let new_scheme = (new.scheme() != old.scheme()).then(|| new.scheme().to_string());
        let transform = Transform {
            old_shape,
            new_path,
            new_scheme,
            extra_query,
        };
        (!transform.is_identity()).then_some(transform)
    }

    fn is_identity(&self) -> bool {
        self.new_scheme.is_none()
            && self.extra_query.is_empty()
            && self.new_path.len() == self.old_shape.len()
            && self.new_path.iter().enumerate().all(|(i, p)| match p {
                Part::Old(j) => *j == i,
                Part::Literal(s) => self.old_shape[i].as_deref() == Some(s.as_str()),
            })
    }

    fn old_template(&self) -> String {
        let segs: Vec<String> = self
            .old_shape
            .iter()
            .enumerate()
            .map(|(i, s)| s.clone().unwrap_or_else(|| self.var_name(i)))
            .collect();
        format!("/{}", segs.join("/"))
    }

    fn new_template(&self) -> String {
        let segs: Vec<String> = self
            .new_path
            .iter()
            .map(|p| match p {
                Part::Literal(s) => s.clone(),
                Part::Old(i) => self.var_name(*i),
            })
            .collect();
        let mut out = format!("/{}", segs.join("/"));
        if !self.extra_query.is_empty() {
            let q: Vec<String> = self
                .extra_query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            out.push_str(&format!(" (adding ?{})", q.join("&")));
        }
        if let Some(scheme) = &self.new_scheme {
            out.push_str(&format!(" over {scheme}"));
        }
        out
    }

    fn var_name(&self, i: usize) -> String {
        let n = self.old_shape[..i].iter().filter(|s| s.is_none()).count();
        if n == 0 {
            "{id}".into()
        } else {
            format!("{{id{}}}", n + 1)
        }
    }

    fn candidate(&self, origin: String, deprecated: bool) -> Candidate {
        let mut diagnosis = format!(
            "endpoint `{}` moved to `{}` (from {origin})",
            self.old_template(),
            self.new_template()
        );
        if deprecated {
            diagnosis.push_str("; the vendor flagged the old endpoint with Sunset/Deprecation");
        }
        let checks: Vec<String> = self
            .old_shape
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .map(|s| format!(" || seg[{i}] !== {}", js::string(s)))
            })
            .collect();
        let parts: Vec<String> = self
            .new_path
            .iter()
            .map(|p| match p {
                Part::Literal(s) => js::string(s),
                Part::Old(i) => format!("seg[{i}]"),
            })
            .collect();
        let origin_expr = match &self.new_scheme {
            Some(scheme) => format!("{} + m[1].slice(m[1].indexOf(\":\"))", js::string(scheme)),
            None => "m[1]".into(),
        };
        let query_expr = if self.extra_query.is_empty() {
            "(m[3] || \"\")".to_string()
        } else {
            let q: Vec<String> = self
                .extra_query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            format!(
                "(m[3] ? m[3] + \"&\" : \"?\") + {}",
                js::string(&q.join("&"))
            )
        };
        let definitions = format!(
            r#"function movedUrl(oldUrl) {{
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]+)([^?#]*)(\?[^#]*)?/.exec(oldUrl);
  if (!m) throw new Error("the request URL cannot be parsed");
  const seg = m[2].split("/").slice(1);
  if (seg.length !== {len}{checks}) {{
    throw new Error("the request URL no longer has the shape this repair was made for");
  }}
  return {origin_expr} + "/" + [{parts}].join("/") + {query_expr};
}}"#,
            len = self.old_shape.len(),
            checks = checks.concat(),
            parts = parts.join(", "),
        );
        let body = format!(
            r#"  const req = ctx.request;
  const url = movedUrl(req.url);
  log({step});
  const payload =
    req.body === null || req.body === undefined || typeof req.body === "string"
      ? req.body ?? undefined
      : JSON.stringify(req.body);
  const r = await fetch(url, {{ method: req.method, headers: req.headers, body: payload }});
  log(`the new endpoint answered ${{r.status}}`);
  if (r.status < 200 || r.status > 299) {{
    throw new Error(`the new endpoint answered ${{r.status}}`);
  }}
  return JSON.parse(await r.text());"#,
            step = js::string(&format!(
                "calling {} instead of {}",
                self.new_template(),
                self.old_template()
            )),
        );
        Candidate {
            generator: ENDPOINT_MOVED.to_string(),
            source: js::module(ENDPOINT_MOVED, &diagnosis, &definitions, &body),
            diagnosis,
        }
    }
}

/// Query components as `url` serialises them, so the appended literal is well formed.
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

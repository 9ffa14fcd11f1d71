//! `heuristic:media_type`: JSON was expected but the vendor now answers CSV (a header and one
//! record) or XML (one flat record). Emits a script that parses the text into an object and then
//! maps it onto the contract like `heuristic:response_mapping`.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::failure::{Candidate, FailureContext, Generator};
use crate::js;
use crate::response_mapping::mapping_parts;

pub const MEDIA_TYPE: &str = "heuristic:media_type";

static XML_LEAF: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"<([A-Za-z_][A-Za-z0-9_.-]*)(?:\s[^>]*)?>([^<]*)</([A-Za-z_][A-Za-z0-9_.-]*)\s*>")
        .ok()
});

const PARSE_CSV: &str = r#"function parseCsv(text) {
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); field = "";
      if (row.some((f) => f !== "")) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f !== "")) rows.push(row);
  if (rows.length !== 2 || rows[0].length !== rows[1].length) {
    throw new Error("expected a CSV header and exactly one record");
  }
  const out = {};
  rows[0].forEach((name, i) => { out[name.trim()] = rows[1][i]; });
  return out;
}"#;

const PARSE_XML: &str = r#"function parseXml(text) {
  const out = {};
  const leaf = /<([A-Za-z_][A-Za-z0-9_.-]*)(?:\s[^>]*)?>([^<]*)<\/([A-Za-z_][A-Za-z0-9_.-]*)\s*>/g;
  const entities = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  for (const m of text.matchAll(leaf)) {
    if (m[1] !== m[3]) continue;
    if (m[1] in out) throw new Error("expected one XML record");
    out[m[1]] = m[2].replace(/&(amp|lt|gt|quot|apos);/g, (_, e) => entities[e]);
  }
  return out;
}"#;

/// Reads a CSV or XML answer where JSON was expected.
#[derive(Debug, Default, Clone, Copy)]
pub struct MediaType;

#[async_trait::async_trait]
impl Generator for MediaType {
    fn name(&self) -> &'static str {
        MEDIA_TYPE
    }

    async fn generate(&self, failure: &FailureContext) -> Vec<Candidate> {
        let Some(response) = &failure.response else {
            return Vec::new();
        };
        if response.body_json.is_some() || !(200..300).contains(&response.status) {
            return Vec::new();
        }
        let media = response.media_type().unwrap_or_default();
        let text = response.body_text.trim_start();
        let (kind, parser, parsed) = if media.contains("xml") || text.starts_with('<') {
            ("XML", PARSE_XML, parse_xml(text))
        } else if media.contains("csv") || text.lines().next().is_some_and(|l| l.contains(',')) {
            ("CSV", PARSE_CSV, parse_csv(text))
        } else {
            return Vec::new();
        };
        let Some(record) = parsed else {
            return Vec::new();
        };
        let Some((mapped, rendered)) = mapping_parts(&failure.contract, &record, true) else {
            return Vec::new();
        };
        let parse_fn = if kind == "XML" {
            "parseXml"
        } else {
            "parseCsv"
        };
        let mut diagnosis = format!("the vendor now answers {kind} instead of JSON");
        if !mapped.is_empty() {
            diagnosis.push_str("; ");
            diagnosis.push_str(&mapped);
        }
        let definitions = format!("{parser}\n\n{}", rendered.definitions);
        let entry = format!(
            "  log({});\n  const body = {parse_fn}(ctx.response.text);\n  return {};",
            js::string(&format!("reading the {kind} answer as one record")),
            rendered.call
        );
        vec![Candidate {
            generator: MEDIA_TYPE.to_string(),
            source: js::module(MEDIA_TYPE, &diagnosis, &definitions, &entry),
            diagnosis,
        }]
    }
}

/// The same record the script's `parseCsv` reads, so the plan matches what it will see.
fn parse_csv(text: &str) -> Option<Value> {
    let rows = csv_rows(text);
    let [header, record] = rows.as_slice() else {
        return None;
    };
    if header.len() != record.len() {
        return None;
    }
    let map: Map<String, Value> = header
        .iter()
        .zip(record)
        .map(|(k, v)| (k.trim().to_string(), Value::String(v.clone())))
        .collect();
    Some(Value::Object(map))
}

/// Non-empty rows of a CSV text, with quoted fields and doubled quotes as RFC 4180 has them.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\n' | '\r' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f: &String| !f.is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            _ => field.push(c),
        }
    }
    row.push(field);
    if row.iter().any(|f| !f.is_empty()) {
        rows.push(row);
    }
    rows
}

/// `(element, text)` of every leaf element, entities decoded, as the script's `parseXml` reads.
fn xml_leaves(text: &str) -> Vec<(String, String)> {
    let Some(re) = XML_LEAF.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter(|c| c[1] == c[3])
        .map(|c| {
            let value = c[2]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&");
            (c[1].to_string(), value)
        })
        .collect()
}

/// The same flat record the script's `parseXml` reads.
fn parse_xml(text: &str) -> Option<Value> {
    let mut map = Map::new();
    for (name, value) in xml_leaves(text) {
        if map.contains_key(&name) {
            return None;
        }
        map.insert(name, Value::String(value));
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

/// Every field a CSV or XML text carries, for the provenance check of scripts that parse text.
pub(crate) fn text_fields(text: &str) -> Vec<String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        return xml_leaves(trimmed).into_iter().map(|(_, v)| v).collect();
    }
    if !text.contains('\n') && !text.contains(',') {
        return Vec::new();
    }
    csv_rows(text).into_iter().flatten().collect()
}

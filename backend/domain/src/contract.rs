//! Step contracts: JSON schemas compiled once (formats asserted, not just annotated), the
//! violations an instance has, and a flat list of field expectations for the healer.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A compiled JSON schema. Cheap to clone.
#[derive(Clone)]
pub struct Schema {
    raw: Value,
    validator: Arc<jsonschema::Validator>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema").field("raw", &self.raw).finish()
    }
}

/// One way an instance fails its schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// JSON pointer into the instance (`""` for the root).
    pub instance_path: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.instance_path.is_empty() {
            "/"
        } else {
            &self.instance_path
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// What the contract says about one field, for heuristics that look for a renamed, moved or
/// re-typed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldExpectation {
    /// Property names from the root; an array's items appear as the segment `"[]"`.
    pub path: Vec<String>,
    /// Listed in its parent's `required`.
    pub required: bool,
    /// `"string"`, `"integer"`, `"number"`, `"boolean"`, `"object"`, `"array"`, `"null"`;
    /// empty when the schema does not constrain the type.
    pub types: Vec<String>,
    pub format: Option<String>,
    /// `enum` values (or the single `const`).
    pub enum_values: Option<Vec<Value>>,
}

/// Segment standing for "every item" of an array in [`FieldExpectation::path`].
pub const ARRAY_ITEMS: &str = "[]";

/// `$ref` chains deeper than this are not followed (they are usually recursive schemas).
const MAX_DEPTH: usize = 16;

impl Schema {
    pub fn compile(document: &Value) -> Result<Schema, String> {
        if !document.is_object() && !document.is_boolean() {
            return Err("a JSON schema must be an object or a boolean".to_owned());
        }
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(document)
            .map_err(|error| error.to_string())?;
        Ok(Schema {
            raw: document.clone(),
            validator: Arc::new(validator),
        })
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }

    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }

    pub fn validate(&self, instance: &Value) -> Result<(), Vec<Violation>> {
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(instance)
            .map(|error| Violation {
                instance_path: error.instance_path().as_str().to_owned(),
                message: error.to_string(),
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    pub fn expectations(&self) -> Vec<FieldExpectation> {
        let mut out = Vec::new();
        walk(&self.raw, &self.raw, &mut Vec::new(), &mut out, 0);
        out
    }
}

fn walk(
    root: &Value,
    schema: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<FieldExpectation>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(schema) = resolve(root, schema, depth) else {
        return;
    };
    // `allOf` parts all apply; `anyOf`/`oneOf` alternatives promise no particular field.
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            walk(root, part, path, out, depth + 1);
        }
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            path.push(name.clone());
            let property_schema = resolve(root, property, depth + 1).unwrap_or(property);
            upsert(
                out,
                describe(
                    path.clone(),
                    required.contains(&name.as_str()),
                    property_schema,
                ),
            );
            walk(root, property, path, out, depth + 1);
            path.pop();
        }
    }
    // A name can be required without being described in `properties`.
    for name in required {
        if !out_has(out, path, name) {
            let mut field_path = path.clone();
            field_path.push(name.to_owned());
            upsert(out, describe(field_path, true, &Value::Bool(true)));
        }
    }
    if let Some(items) = schema.get("items").filter(|items| items.is_object()) {
        path.push(ARRAY_ITEMS.to_owned());
        let item_schema = resolve(root, items, depth + 1).unwrap_or(items);
        upsert(out, describe(path.clone(), false, item_schema));
        walk(root, items, path, out, depth + 1);
        path.pop();
    }
}

fn out_has(out: &[FieldExpectation], parent: &[String], name: &str) -> bool {
    out.iter().any(|expectation| {
        expectation.path.len() == parent.len() + 1
            && expectation.path.starts_with(parent)
            && expectation.path.last().is_some_and(|last| last == name)
    })
}

/// Merge repeated mentions (e.g. from `allOf`) into one expectation per path.
fn upsert(out: &mut Vec<FieldExpectation>, expectation: FieldExpectation) {
    if let Some(existing) = out.iter_mut().find(|e| e.path == expectation.path) {
        existing.required |= expectation.required;
        if existing.types.is_empty() {
            existing.types = expectation.types;
        }
        if existing.format.is_none() {
            existing.format = expectation.format;
        }
        if existing.enum_values.is_none() {
            existing.enum_values = expectation.enum_values;
        }
    } else {
        out.push(expectation);
    }
}

fn describe(path: Vec<String>, required: bool, schema: &Value) -> FieldExpectation {
    let mut types: Vec<String> = match schema.get("type") {
        Some(Value::String(name)) => vec![name.clone()],
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if types.is_empty() {
        if schema.get("properties").is_some() {
            types.push("object".to_owned());
        } else if schema.get("items").is_some() {
            types.push("array".to_owned());
        }
    }
    let enum_values = match (schema.get("enum"), schema.get("const")) {
        (Some(Value::Array(values)), _) => Some(values.clone()),
        (_, Some(value)) => Some(vec![value.clone()]),
        _ => None,
    };
    FieldExpectation {
        path,
        required,
        types,
        format: schema
            .get("format")
            .and_then(Value::as_str)
            .map(str::to_owned),
        enum_values,
    }
}

/// Follow local `$ref`s (`#/$defs/…`, `#/definitions/…`); remote ones are not walked.
fn resolve<'a>(root: &'a Value, schema: &'a Value, depth: usize) -> Option<&'a Value> {
    let mut current = schema;
    for _ in depth..=MAX_DEPTH {
        match current.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.strip_prefix('#')?;
                current = root.pointer(pointer)?;
            }
            None => return Some(current),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact_schema() -> Schema {
        Schema::compile(&json!({
            "type": "object",
            "required": ["name", "email"],
            "properties": {
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"}
            }
        }))
        .unwrap()
    }

    #[test]
    fn valid_instance_passes() {
        let schema = contact_schema();
        assert!(
            schema
                .validate(&json!({"name": "Ada", "email": "ada@example.com"}))
                .is_ok()
        );
    }

    #[test]
    fn email_format_is_asserted() {
        let schema = contact_schema();
        let violations = schema
            .validate(&json!({"name": "Ada", "email": "not-an-email"}))
            .unwrap_err();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].instance_path, "/email");
        assert!(
            violations[0].message.contains("email"),
            "{:?}",
            violations[0]
        );
    }

    #[test]
    fn date_time_and_uri_formats_are_asserted() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "properties": {
                "at": {"type": "string", "format": "date-time"},
                "link": {"type": "string", "format": "uri"}
            }
        }))
        .unwrap();
        assert!(
            schema.is_valid(&json!({"at": "2026-01-02T03:04:05Z", "link": "https://x.test/a"}))
        );
        let violations = schema
            .validate(&json!({"at": "yesterday", "link": "not a uri"}))
            .unwrap_err();
        let mut paths: Vec<_> = violations
            .iter()
            .map(|v| v.instance_path.as_str())
            .collect();
        paths.sort_unstable();
        assert_eq!(paths, ["/at", "/link"]);
    }

    #[test]
    fn violations_carry_nested_pointers() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "required": ["contact"],
            "properties": {
                "contact": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "integer"}}
                },
                "tags": {"type": "array", "items": {"type": "string"}}
            }
        }))
        .unwrap();
        let violations = schema
            .validate(&json!({"contact": {"id": "7"}, "tags": ["a", 2]}))
            .unwrap_err();
        let paths: Vec<_> = violations
            .iter()
            .map(|v| v.instance_path.as_str())
            .collect();
        assert!(paths.contains(&"/contact/id"), "{paths:?}");
        assert!(paths.contains(&"/tags/1"), "{paths:?}");
        let missing = schema.validate(&json!({})).unwrap_err();
        assert_eq!(missing[0].instance_path, "");
        assert!(missing[0].message.contains("contact"));
    }

    #[test]
    fn invalid_schema_is_rejected() {
        assert!(Schema::compile(&json!({"type": "strnig"})).is_err());
        assert!(Schema::compile(&json!({"required": "name"})).is_err());
        assert!(Schema::compile(&json!("object")).is_err());
    }

    #[test]
    fn expectations_of_a_nested_schema() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "required": ["contact", "status"],
            "properties": {
                "contact": {
                    "type": "object",
                    "required": ["email"],
                    "properties": {
                        "email": {"type": "string", "format": "email"},
                        "age": {"type": ["integer", "null"]}
                    }
                },
                "status": {"enum": ["open", "closed"]},
                "items": {"type": "array", "items": {"$ref": "#/$defs/item"}}
            },
            "$defs": {
                "item": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}
            }
        }))
        .unwrap();
        let expectations = schema.expectations();
        let find = |path: &[&str]| {
            expectations
                .iter()
                .find(|e| e.path == path)
                .unwrap_or_else(|| panic!("no expectation for {path:?} in {expectations:#?}"))
        };
        let contact = find(&["contact"]);
        assert!(contact.required);
        assert_eq!(contact.types, ["object"]);
        let email = find(&["contact", "email"]);
        assert!(email.required);
        assert_eq!(email.types, ["string"]);
        assert_eq!(email.format.as_deref(), Some("email"));
        let age = find(&["contact", "age"]);
        assert!(!age.required);
        assert_eq!(age.types, ["integer", "null"]);
        let status = find(&["status"]);
        assert_eq!(
            status.enum_values,
            Some(vec![json!("open"), json!("closed")])
        );
        assert_eq!(find(&["items"]).types, ["array"]);
        assert_eq!(find(&["items", "[]"]).types, ["object"]);
        let sku = find(&["items", "[]", "sku"]);
        assert!(sku.required);
        assert_eq!(sku.types, ["string"]);
        assert_eq!(expectations.len(), 7);
    }
}

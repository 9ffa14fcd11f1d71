//! Just enough of JSON Schema to plan a response mapping: the types, format, enum, properties,
//! required list and items of a node, following local `$ref`s and the `anyOf: [X, null]` idiom.

use serde_json::{Map, Value};

const MAX_REF_DEPTH: usize = 16;

/// A schema node together with the document its `$ref`s point into.
#[derive(Clone, Copy)]
pub(crate) struct Schema<'a> {
    root: &'a Value,
    node: &'a Value,
    nullable: bool,
}

impl<'a> Schema<'a> {
    pub(crate) fn root(document: &'a Value) -> Self {
        Self::at(document, document, false)
    }

    fn at(root: &'a Value, node: &'a Value, nullable: bool) -> Self {
        let mut node = node;
        let mut nullable = nullable;
        for _ in 0..MAX_REF_DEPTH {
            if let Some(target) = node
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|p| root.pointer(p))
            {
                node = target;
                continue;
            }
            let branches = node
                .get("anyOf")
                .or_else(|| node.get("oneOf"))
                .and_then(Value::as_array);
            if let Some(branches) = branches {
                let (nulls, others): (Vec<&Value>, Vec<&Value>) = branches
                    .iter()
                    .partition(|b| b.get("type").and_then(Value::as_str) == Some("null"));
                if let [only] = others.as_slice() {
                    nullable |= !nulls.is_empty();
                    node = only;
                    continue;
                }
            }
            break;
        }
        Self {
            root,
            node,
            nullable,
        }
    }

    fn child(&self, node: &'a Value) -> Self {
        Self::at(self.root, node, false)
    }

    /// `None` means "any type".
    pub(crate) fn types(&self) -> Option<Vec<&'a str>> {
        let mut types: Vec<&str> = match self.node.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ if self.properties().is_some() => vec!["object"],
            _ if self.node.get("items").is_some() => vec!["array"],
            _ => return None,
        };
        if self.nullable {
            types.push("null");
        }
        Some(types)
    }

    pub(crate) fn allows(&self, ty: &str) -> bool {
        self.types()
            .is_none_or(|ts| ts.contains(&ty) || (ty == "integer" && ts.contains(&"number")))
    }

    pub(crate) fn allows_only_containers(&self) -> bool {
        self.types()
            .is_some_and(|ts| ts.iter().all(|t| matches!(*t, "object" | "array" | "null")))
    }

    pub(crate) fn is_object(&self) -> bool {
        self.types().is_some_and(|ts| ts.contains(&"object")) && self.properties().is_some()
    }

    pub(crate) fn is_array(&self) -> bool {
        self.types().is_some_and(|ts| ts.contains(&"array"))
    }

    pub(crate) fn format(&self) -> Option<&'a str> {
        self.node.get("format").and_then(Value::as_str)
    }

    pub(crate) fn enumeration(&self) -> Option<&'a Vec<Value>> {
        self.node.get("enum").and_then(Value::as_array)
    }

    pub(crate) fn properties(&self) -> Option<&'a Map<String, Value>> {
        self.node.get("properties").and_then(Value::as_object)
    }

    pub(crate) fn property(&self, name: &str) -> Option<Schema<'a>> {
        self.properties()
            .and_then(|p| p.get(name))
            .map(|n| self.child(n))
    }

    pub(crate) fn required(&self) -> Vec<&'a str> {
        self.node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    pub(crate) fn items(&self) -> Option<Schema<'a>> {
        self.node
            .get("items")
            .filter(|i| i.is_object())
            .map(|n| self.child(n))
    }

    /// Whether vendor fields outside the contract may be carried along.
    pub(crate) fn open(&self) -> bool {
        self.node.get("additionalProperties") != Some(&Value::Bool(false))
            && self.node.get("unevaluatedProperties") != Some(&Value::Bool(false))
    }
}

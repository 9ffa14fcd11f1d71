//! The "no invented data" rule: every scalar a repair returns must be one the vendor sent, as is
//! or under the same coercions the generators perform (string "42" ↔ 42, epoch ↔ ISO-8601 of the
//! same instant, cents ↔ decimal, "true" ↔ true).

use std::collections::HashSet;

use serde_json::Value;

use crate::coerce::{epoch_millis, parse_bool, parse_exact_number, parse_instant};
use crate::media_type::text_fields;

/// Every scalar the vendor sent, indexed by the forms a coercion can turn it into.
#[derive(Default)]
struct VendorLeaves {
    strings: HashSet<String>,
    numbers: Vec<f64>,
    bools: HashSet<bool>,
    /// Epoch milliseconds of every value that reads as an instant.
    instants: HashSet<i64>,
}

impl VendorLeaves {
    fn add(&mut self, value: &Value) {
        match value {
            Value::String(s) => {
                // A CSV or XML answer arrives as one text; its fields are what the vendor said.
                if s.contains('\n') || s.contains(',') || s.starts_with('<') {
                    for field in text_fields(s) {
                        self.add(&Value::String(field));
                    }
                }
                self.strings.insert(s.clone());
                if let Some(n) = parse_exact_number(s) {
                    self.add_number(n);
                }
                if let Some(b) = parse_bool(s) {
                    self.bools.insert(b);
                }
                if let Some(ms) = parse_instant(s) {
                    self.instants.insert(ms);
                }
            }
            Value::Number(n) => {
                if let Some(n) = n.as_f64() {
                    self.add_number(n);
                }
            }
            Value::Bool(b) => {
                self.bools.insert(*b);
            }
            Value::Array(items) => items.iter().for_each(|v| self.add(v)),
            Value::Object(map) => map.values().for_each(|v| self.add(v)),
            Value::Null => {}
        }
    }

    fn add_number(&mut self, n: f64) {
        self.numbers.push(n);
        if let Some(ms) = epoch_millis(n) {
            self.instants.insert(ms);
        }
    }

    fn has_number(&self, n: f64) -> bool {
        self.numbers.iter().any(|v| same(*v, n))
            // cents -> decimal and decimal -> cents
            || self.numbers.iter().any(|v| same(*v / 100.0, n) || same(*v * 100.0, n))
            || self.has_epoch(n)
    }

    fn has_epoch(&self, n: f64) -> bool {
        if epoch_millis(n).is_some_and(|ms| self.instants.contains(&ms)) {
            return true;
        }
        // isoToEpoch rounds down to whole seconds.
        n.fract() == 0.0
            && self
                .instants
                .iter()
                .any(|ms| ms.div_euclid(1000) as f64 == n)
    }

    fn has_string(&self, s: &str) -> bool {
        self.strings.contains(s)
            || parse_exact_number(s).is_some_and(|n| self.numbers.iter().any(|v| same(*v, n)))
            || parse_bool(s).is_some_and(|b| self.bools.contains(&b))
            || parse_instant(s).is_some_and(|ms| self.instants.contains(&ms))
    }

    fn has_bool(&self, b: bool) -> bool {
        self.bools.contains(&b)
    }
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Checks that every leaf of `output` comes from one of `vendor_values` (the original response
/// body and any body the script fetched; for a CSV or XML answer, its text as a JSON string). Nulls and empty containers pass. Errors name the JSON
/// pointer of each invented leaf and never its value, which may be tenant data.
pub fn provenance_check(output: &Value, vendor_values: &[&Value]) -> Result<(), Vec<String>> {
    let mut leaves = VendorLeaves::default();
    for v in vendor_values {
        leaves.add(v);
    }
    let mut problems = Vec::new();
    check(output, &mut String::new(), &leaves, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check(value: &Value, pointer: &mut String, leaves: &VendorLeaves, problems: &mut Vec<String>) {
    let invented = match value {
        Value::Null => None,
        Value::String(s) => (!leaves.has_string(s)).then_some("string"),
        Value::Number(n) => (!n.as_f64().is_some_and(|n| leaves.has_number(n))).then_some("number"),
        Value::Bool(b) => (!leaves.has_bool(*b)).then_some("boolean"),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                check(item, pointer, leaves, problems);
                pointer.truncate(len);
            }
            None
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                check(item, pointer, leaves, problems);
                pointer.truncate(len);
            }
            None
        }
    };
    if let Some(kind) = invented {
        let at = if pointer.is_empty() {
            "/"
        } else {
            pointer.as_str()
        };
        problems.push(format!("{at}: {kind} not found in any vendor response"));
    }
}

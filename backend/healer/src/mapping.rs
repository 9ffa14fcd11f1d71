//! Plans where each field of the output contract now lives in a vendor body (renames, envelopes,
//! type and format changes) and renders the plan as JavaScript functions. The plan holds paths
//! and coercions only, never values, so the script stays valid for later runs.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::coerce::{self, Coercion};
use crate::js;
use crate::names;
use crate::schema::Schema;

/// Bodies are walked this deep, and no further than this many nodes, to bound planning time.
const MAX_DEPTH: usize = 8;
const MAX_NODES: usize = 4000;
/// Nested contract objects deeper than this are not planned.
const MAX_CONTRACT_DEPTH: usize = 6;
/// Names at least this close are "the same name" and outrank renames found in the root object.
const SAME_NAME: u32 = 85;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) type Path = Vec<Seg>;

pub(crate) fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn path_js(path: &[Seg]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => js::string(k),
            Seg::Index(i) => i.to_string(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn child(path: &[Seg], seg: Seg) -> Path {
    let mut p = path.to_vec();
    p.push(seg);
    p
}

/// How one contract node is produced from its scope.
#[derive(Debug, Clone)]
pub(crate) enum Mapping {
    Value { source: Path, coercion: Coercion },
    Object { source: Path, plan: ObjectPlan },
    Objects { source: Path, plan: ObjectPlan },
    Values { source: Path, coercion: Coercion },
}

#[derive(Debug, Clone)]
pub(crate) struct ObjectPlan {
    /// Where the vendor's object sits inside the scope (an envelope such as `data.attributes`).
    base: Path,
    keep_others: bool,
    fields: Vec<(String, Mapping)>,
    /// Every property the contract names, so vendor keys with those names are never copied raw.
    contract_keys: Vec<String>,
}

/// Why a contract could not be satisfied, naming the field (never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unsatisfied {
    Missing(String),
    Ambiguous(String),
    NotAList,
}

impl std::fmt::Display for Unsatisfied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsatisfied::Missing(field) => {
                write!(f, "nothing in the response can satisfy `{field}`")
            }
            Unsatisfied::Ambiguous(field) => {
                write!(f, "more than one vendor field could be `{field}`")
            }
            Unsatisfied::NotAList => {
                write!(f, "the contract wants a list and the response has none")
            }
        }
    }
}

/// A node of the vendor body reachable by the walk.
struct Node<'v> {
    parent: Path,
    key: String,
    value: &'v Value,
}

/// Objects reachable from `scope` (itself included) and every keyed value in them. Arrays are
/// entered only when they hold exactly one element: `{"items":[x]}` is an envelope, a longer
/// list is data that one field cannot stand for.
fn walk(scope: &Value) -> (Vec<(Path, &Value)>, Vec<Node<'_>>) {
    let mut objects = Vec::new();
    let mut nodes = Vec::new();
    let mut queue = std::collections::VecDeque::from([(Path::new(), scope)]);
    while let Some((path, value)) = queue.pop_front() {
        if nodes.len() >= MAX_NODES || path.len() > MAX_DEPTH {
            break;
        }
        match value {
            Value::Object(map) => {
                objects.push((path.clone(), value));
                for (k, v) in map {
                    nodes.push(Node {
                        parent: path.clone(),
                        key: k.clone(),
                        value: v,
                    });
                    queue.push_back((child(&path, Seg::Key(k.clone())), v));
                }
            }
            Value::Array(items) if items.len() == 1 => {
                queue.push_back((child(&path, Seg::Index(0)), &items[0]));
            }
            _ => {}
        }
    }
    (objects, nodes)
}

fn common_prefix(a: &[Seg], b: &[Seg]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Plans the whole output (object or list) from a vendor body.
pub(crate) fn plan(contract: &Value, body: &Value) -> Result<Mapping, Unsatisfied> {
    let schema = Schema::root(contract);
    if schema.is_array() {
        return plan_list(&schema, body);
    }
    let plan = plan_object(&schema, body, 0)?;
    Ok(Mapping::Object {
        source: Path::new(),
        plan,
    })
}

/// A list contract: the shallowest list in the body whose elements fit the item schema.
fn plan_list(schema: &Schema<'_>, body: &Value) -> Result<Mapping, Unsatisfied> {
    let mut lists: Vec<(Path, &Value)> = Vec::new();
    if body.is_array() {
        lists.push((Path::new(), body));
    }
    let (_, nodes) = walk(body);
    for n in &nodes {
        if n.value.is_array() {
            lists.push((child(&n.parent, Seg::Key(n.key.clone())), n.value));
        }
    }
    let mut found: Vec<(usize, u32, Mapping)> = Vec::new();
    for (path, list) in lists {
        if let Some((mapping, quality)) = list_mapping(schema, &path, list, "items", 0) {
            found.push((path.len(), quality, mapping));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    match found.as_slice() {
        [] => Err(Unsatisfied::NotAList),
        [(d1, q1, _), (d2, q2, _), ..] if d1 == d2 && q1 == q2 => {
            Err(Unsatisfied::Ambiguous("items".into()))
        }
        [(_, _, mapping), ..] => Ok(mapping.clone()),
    }
}

/// A mapping for a list found at `path`, with a quality score, when its elements fit.
fn list_mapping(
    schema: &Schema<'_>,
    path: &Path,
    list: &Value,
    field: &str,
    depth: usize,
) -> Option<(Mapping, u32)> {
    let items = list.as_array()?;
    let Some(item_schema) = schema.items() else {
        return Some((
            Mapping::Values {
                source: path.clone(),
                coercion: Coercion::Keep,
            },
            1,
        ));
    };
    if item_schema.is_object() {
        let sample = items.iter().find(|v| v.is_object());
        let Some(sample) = sample else {
            // An empty list fits any item schema; there is nothing to map per element.
            return items.is_empty().then(|| {
                let plan = ObjectPlan {
                    base: Path::new(),
                    keep_others: true,
                    fields: Vec::new(),
                    contract_keys: Vec::new(),
                };
                (
                    Mapping::Objects {
                        source: path.clone(),
                        plan,
                    },
                    1,
                )
            });
        };
        let plan = plan_object(&item_schema, sample, depth + 1).ok()?;
        let quality = plan.quality();
        return Some((
            Mapping::Objects {
                source: path.clone(),
                plan,
            },
            quality,
        ));
    }
    let mut chosen: Option<Coercion> = None;
    for item in items.iter().filter(|v| !v.is_null()) {
        let c = coerce::choose(field, &item_schema, field, item)?;
        if chosen.is_some_and(|prev| prev != c) {
            return None;
        }
        chosen = Some(c);
    }
    Some((
        Mapping::Values {
            source: path.clone(),
            coercion: chosen.unwrap_or(Coercion::Keep),
        },
        1,
    ))
}

impl ObjectPlan {
    fn quality(&self) -> u32 {
        self.fields.len() as u32 * 10 + 1
    }

    pub(crate) fn is_identity(&self) -> bool {
        self.base.is_empty()
            && self.fields.iter().all(|(name, m)| {
                let here = [Seg::Key(name.clone())];
                match m {
                    Mapping::Value { source, coercion } | Mapping::Values { source, coercion } => {
                        source.as_slice() == here && *coercion == Coercion::Keep
                    }
                    Mapping::Object { source, plan } | Mapping::Objects { source, plan } => {
                        source.as_slice() == here && plan.is_identity()
                    }
                }
            })
    }
}

impl Mapping {
    pub(crate) fn is_identity(&self) -> bool {
        match self {
            Mapping::Object { source, plan } | Mapping::Objects { source, plan } => {
                source.is_empty() && plan.is_identity()
            }
            Mapping::Value { source, coercion } | Mapping::Values { source, coercion } => {
                source.is_empty() && *coercion == Coercion::Keep
            }
        }
    }
}

/// The object in `scope` that best carries the contract's properties: the root, or an envelope.
fn choose_base(schema: &Schema<'_>, scope: &Value) -> Result<Path, Unsatisfied> {
    let props: Vec<&String> = schema
        .properties()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    let (objects, _) = walk(scope);
    let mut ranked: Vec<(u32, usize, Path)> = objects
        .into_iter()
        .map(|(path, obj)| {
            let keys: Vec<&String> = obj
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            let quality = props
                .iter()
                .map(|p| {
                    keys.iter()
                        .filter_map(|k| names::name_score(p, k))
                        .max()
                        .unwrap_or(0)
                })
                .sum();
            (quality, path.len(), path)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    match ranked.as_slice() {
        [(0, ..), ..] | [] => Ok(Path::new()),
        [(q1, d1, _), (q2, d2, _), ..] if q1 == q2 && d1 == d2 => {
            Err(Unsatisfied::Ambiguous("the payload object".into()))
        }
        [(_, _, path), ..] => Ok(path.clone()),
    }
}

enum Lookup {
    Found(Mapping),
    Missing,
    Ambiguous,
}

pub(crate) fn plan_object(
    schema: &Schema<'_>,
    scope: &Value,
    depth: usize,
) -> Result<ObjectPlan, Unsatisfied> {
    if depth > MAX_CONTRACT_DEPTH {
        return Err(Unsatisfied::Missing("a deeply nested object".into()));
    }
    let base = choose_base(schema, scope)?;
    let required = schema.required();
    let contract_keys: Vec<String> = schema
        .properties()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut fields: Vec<(String, Mapping)> = Vec::new();
    for name in &contract_keys {
        let Some(prop) = schema.property(name) else {
            continue;
        };
        match find_source(name, &prop, scope, &base, depth) {
            Lookup::Found(m) => fields.push((name.clone(), m)),
            Lookup::Missing if required.contains(&name.as_str()) => {
                return Err(Unsatisfied::Missing(name.clone()));
            }
            Lookup::Ambiguous if required.contains(&name.as_str()) => {
                return Err(Unsatisfied::Ambiguous(name.clone()));
            }
            Lookup::Missing | Lookup::Ambiguous => {}
        }
    }
    // Two fields read from one vendor value: a guess at best, so neither is mapped.
    let sources: Vec<Path> = fields.iter().map(|(_, m)| m.source().clone()).collect();
    let mut kept = Vec::new();
    for (name, m) in fields {
        if sources.iter().filter(|s| *s == m.source()).count() > 1 {
            if required.contains(&name.as_str()) {
                return Err(Unsatisfied::Ambiguous(name));
            }
            continue;
        }
        kept.push((name, m));
    }
    Ok(ObjectPlan {
        base,
        keep_others: schema.open(),
        fields: kept,
        contract_keys,
    })
}

impl Mapping {
    fn source(&self) -> &Path {
        match self {
            Mapping::Value { source, .. }
            | Mapping::Object { source, .. }
            | Mapping::Objects { source, .. }
            | Mapping::Values { source, .. } => source,
        }
    }
}

/// Where the value of contract field `name` now lives relative to `scope`, given that the
/// vendor's object is at `base`.
fn find_source(
    name: &str,
    schema: &Schema<'_>,
    scope: &Value,
    base: &Path,
    depth: usize,
) -> Lookup {
    let (_, nodes) = walk(scope);
    // (band, tier, -score, distance): same-name matches anywhere before renames, the root
    // object before the rest of the tree, nearer before farther.
    let mut ranked: Vec<((u8, u8, i64, usize), Mapping)> = Vec::new();
    for node in &nodes {
        let Some(score) = names::name_score(name, &node.key) else {
            continue;
        };
        let source = child(&node.parent, Seg::Key(node.key.clone()));
        let Some(mapping) = fit(name, schema, &node.key, node.value, source, depth) else {
            continue;
        };
        let band = u8::from(score < SAME_NAME);
        let tier = u8::from(node.parent != *base);
        let shared = common_prefix(&node.parent, base);
        let distance = node.parent.len() + base.len() - 2 * shared;
        ranked.push(((band, tier, -i64::from(score), distance), mapping));
    }
    ranked.sort_by_key(|a| a.0);
    match ranked.as_slice() {
        [] => Lookup::Missing,
        [(k1, _), (k2, _), ..] if k1 == k2 => Lookup::Ambiguous,
        [(_, m), ..] => Lookup::Found(m.clone()),
    }
}

/// The mapping that turns `value` (at `source`) into the contract field, if its shape fits.
fn fit(
    name: &str,
    schema: &Schema<'_>,
    key: &str,
    value: &Value,
    source: Path,
    depth: usize,
) -> Option<Mapping> {
    if value.is_null() {
        return schema.allows("null").then_some(Mapping::Value {
            source,
            coercion: Coercion::Keep,
        });
    }
    if schema.is_object() {
        if !value.is_object() {
            return None;
        }
        let plan = plan_object(schema, value, depth + 1).ok()?;
        return Some(Mapping::Object { source, plan });
    }
    if schema.is_array() && value.is_array() {
        return list_mapping(schema, &source, value, name, depth).map(|(m, _)| m);
    }
    if schema.allows_only_containers() || value.is_object() || value.is_array() {
        // A container where a scalar is expected (or the reverse) cannot be coerced.
        let ty = match value {
            Value::Object(_) => "object",
            Value::Array(_) => "array",
            _ => return None,
        };
        return schema.allows(ty).then_some(Mapping::Value {
            source,
            coercion: Coercion::Keep,
        });
    }
    coerce::choose(name, schema, key, value).map(|coercion| Mapping::Value { source, coercion })
}

/// The human findings of a plan: renames and coercions first, then envelopes.
pub(crate) fn describe(mapping: &Mapping) -> String {
    let mut changes = Vec::new();
    let mut wrappers = Vec::new();
    describe_into(mapping, "", &mut changes, &mut wrappers);
    changes.extend(wrappers);
    changes.join("; ")
}

fn describe_into(
    mapping: &Mapping,
    label: &str,
    changes: &mut Vec<String>,
    wrappers: &mut Vec<String>,
) {
    match mapping {
        Mapping::Object { source, plan } => {
            if !source.is_empty() && label.is_empty() {
                wrappers.push(format!("payload found at `{}`", path_text(source)));
            }
            describe_plan(plan, label, changes, wrappers);
        }
        Mapping::Objects { source, plan } => {
            if label.is_empty() && !source.is_empty() {
                wrappers.push(format!("list wrapped in `{}`", path_text(source)));
            }
            let element = if label.is_empty() {
                String::new()
            } else {
                format!("{label}[]")
            };
            describe_plan(plan, &element, changes, wrappers);
        }
        Mapping::Value { coercion, .. } | Mapping::Values { coercion, .. } => {
            if let Some(what) = coercion.describe() {
                changes.push(format!("`{label}` now arrives as {what}"));
            }
        }
    }
}

fn describe_plan(
    plan: &ObjectPlan,
    label: &str,
    changes: &mut Vec<String>,
    wrappers: &mut Vec<String>,
) {
    if !plan.base.is_empty() {
        if label.is_empty() {
            wrappers.push(format!("payload wrapped in `{}`", path_text(&plan.base)));
        } else {
            wrappers.push(format!("`{label}` wrapped in `{}`", path_text(&plan.base)));
        }
    }
    for (name, m) in &plan.fields {
        let full = if label.is_empty() {
            name.clone()
        } else {
            format!("{label}.{name}")
        };
        let source = m.source();
        let in_base = source.len() == plan.base.len() + 1 && source.starts_with(&plan.base);
        if in_base {
            if source.last() != Some(&Seg::Key(name.clone())) {
                let new = path_text(&source[plan.base.len()..]);
                changes.push(format!("field `{full}` is now `{new}`"));
            }
        } else {
            changes.push(format!("field `{full}` is now at `{}`", path_text(source)));
        }
        match m {
            Mapping::Value { .. } | Mapping::Values { .. } => {
                describe_into(m, &full, changes, wrappers)
            }
            Mapping::Object { plan, .. } => describe_plan(plan, &full, changes, wrappers),
            Mapping::Objects { plan, .. } => {
                describe_plan(plan, &format!("{full}[]"), changes, wrappers)
            }
        }
    }
}

/// JavaScript for a plan: function definitions plus the expression that maps `body_var`.
pub(crate) struct Rendered {
    pub(crate) definitions: String,
    pub(crate) call: String,
}

#[derive(Default)]
struct Renderer {
    functions: Vec<String>,
    helpers: BTreeSet<&'static str>,
    names: BTreeSet<String>,
}

pub(crate) fn render(mapping: &Mapping, body_var: &str) -> Rendered {
    let mut r = Renderer::default();
    let call = r.expression(mapping, body_var, "body", "");
    r.helpers.insert("at");
    let helpers: Vec<&str> = r.helpers.iter().copied().collect();
    let mut parts = vec![js::helpers(&helpers)];
    parts.extend(r.functions);
    Rendered {
        definitions: parts.join("\n\n"),
        call,
    }
}

impl Renderer {
    fn function_name(&mut self, label: &str) -> String {
        let words: String = names::tokens(label)
            .iter()
            .map(|w| {
                let mut cs = w.chars();
                cs.next()
                    .map(|c| c.to_uppercase().chain(cs).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        let stem = format!(
            "map{}",
            if words.is_empty() {
                "Body".into()
            } else {
                words
            }
        );
        let mut name = stem.clone();
        let mut n = 2;
        while !self.names.insert(name.clone()) {
            name = format!("{stem}{n}");
            n += 1;
        }
        name
    }

    /// The JS expression producing `mapping` from the scope held in `scope_var`.
    fn expression(
        &mut self,
        mapping: &Mapping,
        scope_var: &str,
        label: &str,
        shown: &str,
    ) -> String {
        match mapping {
            Mapping::Value { source, coercion } => {
                if let Some(h) = coercion.helper() {
                    self.helpers.insert(h);
                }
                coercion.js(&format!("at({scope_var}, {})", path_js(source)), label)
            }
            Mapping::Values { source, coercion } => {
                let read = format!("at({scope_var}, {})", path_js(source));
                match coercion.helper() {
                    None => read,
                    Some(h) => {
                        self.helpers.insert(h);
                        self.helpers.insert("each");
                        format!("each({read}, (x) => {})", coercion.js("x", label))
                    }
                }
            }
            Mapping::Object { source, plan } => {
                let f = self.function(plan, label, shown);
                format!("{f}(at({scope_var}, {}))", path_js(source))
            }
            Mapping::Objects { source, plan } => {
                self.helpers.insert("each");
                let shown = if shown.is_empty() {
                    "item".to_string()
                } else {
                    format!("{shown}[]")
                };
                let f = self.function(plan, &format!("{label} item"), &shown);
                format!("each(at({scope_var}, {}), {f})", path_js(source))
            }
        }
    }

    fn function(&mut self, plan: &ObjectPlan, label: &str, shown: &str) -> String {
        let name = self.function_name(label);
        let prefix = if shown.is_empty() {
            String::new()
        } else {
            format!("{shown}.")
        };
        let mut lines = vec![format!("function {name}(scope) {{")];
        lines.push("  if (scope === null || scope === undefined) return scope;".into());
        let where_text = if plan.base.is_empty() {
            if shown.is_empty() {
                "the body".to_string()
            } else {
                shown.to_string()
            }
        } else {
            lines.push(format!(
                "  log({});",
                js::string(&format!("unwrapping {prefix}{}", path_text(&plan.base)))
            ));
            format!("{prefix}{}", path_text(&plan.base))
        };
        self.helpers.insert("objectAt");
        lines.push(format!(
            "  const src = objectAt(scope, {}, {});",
            path_js(&plan.base),
            js::string(&where_text)
        ));
        lines.push("  const out = {};".into());
        self.helpers.insert("put");
        let mut moved: Vec<String> = plan.contract_keys.clone();
        for (field, m) in &plan.fields {
            let source = m.source();
            if source.len() == plan.base.len() + 1
                && source.starts_with(&plan.base)
                && let Some(Seg::Key(k)) = source.last()
                && !moved.contains(k)
            {
                moved.push(k.clone());
            }
            let note = match m {
                Mapping::Value { coercion, .. } | Mapping::Values { coercion, .. } => coercion
                    .describe()
                    .map(|d| format!(" (from {d})"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            lines.push(format!(
                "  log({});",
                js::string(&format!(
                    "{prefix}{field} <- {prefix}{}{note}",
                    path_text(source)
                ))
            ));
            let expr = self.expression(
                m,
                "scope",
                &format!("{prefix}{field}"),
                &format!("{prefix}{field}"),
            );
            lines.push(format!("  put(out, {}, {expr});", js::string(field)));
        }
        if plan.keep_others {
            self.helpers.insert("copyRest");
            let moved: Vec<String> = moved.iter().map(|k| js::string(k)).collect();
            lines.push(format!("  copyRest(out, src, [{}]);", moved.join(", ")));
        }
        lines.push("  return out;".into());
        lines.push("}".into());
        self.functions.push(lines.join("\n"));
        name
    }
}

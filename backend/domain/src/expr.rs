//! Runtime expressions: jq (through jaq) compiled once and evaluated per step with the DSL's
//! variables (`$context`, `$input`, `$secrets`, `$task`, `$workflow`), and JSON templates whose
//! `"${ … }"` strings are expressions.

use std::fmt;
use std::sync::{Arc, OnceLock};

use jaq_core::box_iter::box_once;
use jaq_core::data::JustLut;
use jaq_core::load::{Arena, File, Loader, lex, parse};
use jaq_core::{Compiler, Ctx, Cv, Native, ValXs, Vars, compile};
use jaq_json::{Num, Val};
use serde_json::{Map, Number, Value};

type Data = JustLut<Val>;
type JaqFilter = jaq_core::Filter<Data>;

/// Variables every expression may use; the engine fills them through [`Scope`].
const STANDARD_VARS: [&str; 5] = ["$context", "$input", "$secrets", "$task", "$workflow"];

/// An expression that failed to compile or to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression `{expression}`: {message}")]
pub struct ExprError {
    pub expression: String,
    pub message: String,
}

impl ExprError {
    fn new(expression: &str, message: impl Into<String>) -> Self {
        Self {
            expression: expression.to_owned(),
            message: message.into(),
        }
    }
}

/// Values of the variables an expression sees.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub context: Value,
    pub input: Value,
    pub secrets: Value,
    pub task: Value,
    pub workflow: Value,
    /// Further variables by name, without the `$` (e.g. `("request", …)` for `$request`).
    pub extra: Vec<(String, Value)>,
}

impl Scope {
    fn standard(&self, index: usize) -> &Value {
        match index {
            0 => &self.context,
            1 => &self.input,
            2 => &self.secrets,
            3 => &self.task,
            _ => &self.workflow,
        }
    }

    fn extra(&self, name: &str) -> Option<&Value> {
        self.extra
            .iter()
            .find(|(candidate, _)| candidate.trim_start_matches('$') == name)
            .map(|(_, value)| value)
    }
}

struct Compiled {
    source: String,
    filter: JaqFilter,
    /// Which standard variables the source mentions, so eval converts only those.
    uses_standard: [bool; 5],
    /// Variables beyond the standard ones, without `$`, in global-variable order.
    extra_vars: Vec<String>,
}

/// A compiled jq expression. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct Expr(Arc<Compiled>);

// The engine keeps compiled definitions in shared caches across worker threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expr>();
    assert_send_sync::<Template>();
};

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.0.source).finish()
    }
}

impl Expr {
    /// Compile jq source (without the `${ }` wrapper).
    ///
    /// Variables other than the standard five are accepted and must be supplied through
    /// [`Scope::extra`] at evaluation time.
    pub fn compile(src: &str) -> Result<Expr, ExprError> {
        let mut extra: Vec<String> = Vec::new();
        // A free variable is only discovered by compiling; each retry adds the newly found
        // ones, so this ends after at most one pass per distinct variable.
        loop {
            match compile_with(src, &extra) {
                Ok(filter) => {
                    let uses_standard = STANDARD_VARS.map(|name| mentions_var(src, name));
                    return Ok(Expr(Arc::new(Compiled {
                        source: src.to_owned(),
                        filter,
                        uses_standard,
                        extra_vars: extra,
                    })));
                }
                Err(CompileFailure::UndefinedVars(names)) => {
                    let before = extra.len();
                    for name in names {
                        if !extra.contains(&name) {
                            extra.push(name);
                        }
                    }
                    if extra.len() == before {
                        return Err(ExprError::new(src, "undefined variable"));
                    }
                }
                Err(CompileFailure::Other(message)) => return Err(ExprError::new(src, message)),
            }
        }
    }

    pub fn source(&self) -> &str {
        &self.0.source
    }

    /// Variables the expression uses beyond the standard five (names without `$`).
    pub fn extra_variables(&self) -> &[String] {
        &self.0.extra_vars
    }

    /// The first output of the expression; `Value::Null` when it yields nothing.
    pub fn eval(&self, input: &Value, scope: &Scope) -> Result<Value, ExprError> {
        let compiled = &*self.0;
        let mut vars = Vec::with_capacity(STANDARD_VARS.len() + compiled.extra_vars.len());
        for (index, used) in compiled.uses_standard.iter().enumerate() {
            vars.push(if *used {
                to_val(scope.standard(index))
            } else {
                Val::Null
            });
        }
        for name in &compiled.extra_vars {
            let value = scope.extra(name).ok_or_else(|| {
                ExprError::new(
                    &compiled.source,
                    format!("variable `${name}` is not defined"),
                )
            })?;
            vars.push(to_val(value));
        }
        let ctx = Ctx::<Data>::new(&compiled.filter.lut, Vars::new(vars));
        let mut outputs = compiled.filter.id.run((ctx, to_val(input)));
        match outputs.next() {
            None => Ok(Value::Null),
            Some(Ok(value)) => Ok(from_val(&value)),
            Some(Err(exception)) => Err(match exception.get_err() {
                Ok(error) => ExprError::new(&compiled.source, error_message(error.into_val())),
                Err(_) => ExprError::new(&compiled.source, "`halt` is not allowed in expressions"),
            }),
        }
    }
}

/// `error("boom")` should read `boom`, not the JSON string `"boom"`.
fn error_message(value: Val) -> String {
    match value {
        Val::TStr(bytes) | Val::BStr(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        other => other.to_string(),
    }
}

/// The expression inside a `"${ … }"` string, or `None` when the string is a literal.
pub fn strip_expression(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    trimmed
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .map(str::trim)
}

fn mentions_var(src: &str, name: &str) -> bool {
    src.match_indices(name).any(|(at, _)| {
        !src[at + name.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

enum CompileFailure {
    UndefinedVars(Vec<String>),
    Other(String),
}

fn compile_with(src: &str, extra: &[String]) -> Result<JaqFilter, CompileFailure> {
    let arena = Arena::default();
    let modules = Loader::new(library_defs().iter().cloned())
        .load(
            &arena,
            File {
                code: src,
                path: (),
            },
        )
        .map_err(|errors| CompileFailure::Other(describe_load_errors(src, errors)))?;
    let extra_names: Vec<String> = extra.iter().map(|name| format!("${name}")).collect();
    let globals = STANDARD_VARS
        .iter()
        .copied()
        .chain(extra_names.iter().map(String::as_str));
    Compiler::default()
        .with_funs(funs())
        .with_global_vars(globals)
        .compile(modules)
        .map_err(|errors| {
            let undefined: Vec<_> = errors.iter().flat_map(|(_, errs)| errs.iter()).collect();
            if !undefined.is_empty()
                && undefined
                    .iter()
                    .all(|(_, kind)| matches!(kind, compile::Undefined::Var))
            {
                CompileFailure::UndefinedVars(
                    undefined
                        .iter()
                        .map(|(name, _)| name.trim_start_matches('$').to_owned())
                        .collect(),
                )
            } else {
                let messages: Vec<String> = undefined
                    .iter()
                    .map(|(name, kind)| match kind {
                        compile::Undefined::Filter(arity) => {
                            format!("undefined filter `{name}/{arity}`")
                        }
                        other => format!("undefined {} `{name}`", other.as_str()),
                    })
                    .collect();
                CompileFailure::Other(messages.join("; "))
            }
        })
}

fn describe_load_errors(src: &str, errors: jaq_core::load::Errors<&str, ()>) -> String {
    let mut messages = Vec::new();
    for (_, error) in errors {
        match error {
            jaq_core::load::Error::Io(items) => {
                messages.extend(
                    items
                        .into_iter()
                        .map(|(path, msg)| format!("{path}: {msg}")),
                );
            }
            jaq_core::load::Error::Lex(items) => {
                messages.extend(items.into_iter().map(|(expect, rest): lex::Error<&str>| {
                    format!(
                        "expected {} at offset {}",
                        expect.as_str(),
                        src.len().saturating_sub(rest.len())
                    )
                }));
            }
            jaq_core::load::Error::Parse(items) => {
                messages.extend(
                    items
                        .into_iter()
                        .map(|(expect, found): parse::Error<&str>| {
                            if found.is_empty() {
                                format!("expected {}, found end of expression", expect.as_str())
                            } else {
                                format!("expected {}, found `{found}`", expect.as_str())
                            }
                        }),
                );
            }
        }
    }
    if messages.is_empty() {
        "invalid expression".to_owned()
    } else {
        messages.join("; ")
    }
}

/// The jq definitions (`map`, `select`, …) parsed once per process rather than per expression.
fn library_defs() -> &'static [jaq_core::load::parse::Def<&'static str>] {
    static DEFS: OnceLock<Vec<jaq_core::load::parse::Def<&'static str>>> = OnceLock::new();
    DEFS.get_or_init(|| {
        jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .collect()
    })
}

/// The jq library with the filters that reach outside the expression neutralised: `env`
/// would hand the server's environment (database URL, keys) to tenants, and `debug`/`stderr`
/// would write tenant data into the server's logs.
fn funs() -> impl Iterator<Item = jaq_core::native::Fun<Data>> {
    jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .map(|(name, args, native)| match name {
            "env" => (name, args, Native::<Data>::new(empty_env)),
            "debug_empty" | "stderr_empty" => (name, args, Native::<Data>::new(no_output)),
            _ => (name, args, native),
        })
}

fn empty_env<'a>(_: Cv<'a, Data>) -> ValXs<'a, Val> {
    box_once(Ok(Val::obj(jaq_json::Map::default())))
}

fn no_output<'a>(_: Cv<'a, Data>) -> ValXs<'a, Val> {
    Box::new(std::iter::empty())
}

fn to_val(value: &Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Val::Num(Num::from_integral(i))
            } else if let Some(u) = n.as_u64() {
                Val::Num(Num::from_integral(u))
            } else {
                Val::Num(Num::Float(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Value::String(s) => Val::from(s.clone()),
        Value::Array(items) => items.iter().map(to_val).collect(),
        Value::Object(map) => Val::obj(
            map.iter()
                .map(|(key, value)| (Val::from(key.clone()), to_val(value)))
                .collect(),
        ),
    }
}

fn from_val(value: &Val) -> Value {
    match value {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => num_to_json(n),
        Val::BStr(bytes) | Val::TStr(bytes) => {
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
        Val::Arr(items) => Value::Array(items.iter().map(from_val).collect()),
        Val::Obj(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map.iter() {
                let key = match key {
                    Val::BStr(bytes) | Val::TStr(bytes) => {
                        String::from_utf8_lossy(bytes).into_owned()
                    }
                    other => other.to_string(),
                };
                out.insert(key, from_val(value));
            }
            Value::Object(out)
        }
    }
}

fn num_to_json(n: &Num) -> Value {
    match n {
        Num::Int(i) => Value::from(*i as i64),
        // jq prints NaN as null; infinities have no JSON form either.
        Num::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        other => {
            let text = other.to_string();
            serde_json::from_str::<Number>(&text)
                .map(Value::Number)
                .or_else(|_| {
                    text.parse::<f64>()
                        .map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number))
                })
                .unwrap_or(Value::Null)
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    Literal(Value),
    Expr(Expr),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// A JSON value whose strings of the exact form `"${ … }"` are expressions; every other string
/// is a literal (the DSL makes the whole string the expression, so no interpolation).
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Template(Arc<TemplateInner>);

#[derive(Debug)]
struct TemplateInner {
    raw: Value,
    root: Node,
}

impl Template {
    /// Compile every expression in `v`; errors carry the JSON pointer of the string relative
    /// to `v` (`""` when `v` itself is the expression).
    pub fn compile(v: &Value) -> Result<Template, Vec<(String, ExprError)>> {
        let mut errors = Vec::new();
        let root = compile_node(v, &mut String::new(), &mut errors);
        if errors.is_empty() {
            Ok(Template(Arc::new(TemplateInner {
                raw: v.clone(),
                root,
            })))
        } else {
            Err(errors)
        }
    }

    /// A template that is just one expression.
    pub fn from_expr(expr: Expr) -> Template {
        Template(Arc::new(TemplateInner {
            raw: Value::String(format!("${{ {} }}", expr.source())),
            root: Node::Expr(expr),
        }))
    }

    pub fn eval(&self, input: &Value, scope: &Scope) -> Result<Value, ExprError> {
        eval_node(&self.0.root, input, scope)
    }

    /// True when the template contains no expression at all.
    pub fn is_literal(&self) -> bool {
        matches!(self.0.root, Node::Literal(_))
    }

    /// The root is one expression (as opposed to a literal or a structure holding some).
    pub fn as_expr(&self) -> Option<&Expr> {
        match &self.0.root {
            Node::Expr(expr) => Some(expr),
            _ => None,
        }
    }

    /// The value the template was compiled from.
    pub fn raw(&self) -> &Value {
        &self.0.raw
    }
}

fn compile_node(
    value: &Value,
    pointer: &mut String,
    errors: &mut Vec<(String, ExprError)>,
) -> Node {
    match value {
        Value::String(text) => match strip_expression(text) {
            Some(src) => match Expr::compile(src) {
                Ok(expr) => Node::Expr(expr),
                Err(error) => {
                    errors.push((pointer.clone(), error));
                    Node::Literal(Value::Null)
                }
            },
            None => Node::Literal(value.clone()),
        },
        Value::Array(items) => {
            let nodes: Vec<Node> = items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&index.to_string());
                    let node = compile_node(item, pointer, errors);
                    pointer.truncate(len);
                    node
                })
                .collect();
            if nodes.iter().all(|node| matches!(node, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Array(nodes)
            }
        }
        Value::Object(map) => {
            let fields: Vec<(String, Node)> = map
                .iter()
                .map(|(key, item)| {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&escape_pointer_token(key));
                    let node = compile_node(item, pointer, errors);
                    pointer.truncate(len);
                    (key.clone(), node)
                })
                .collect();
            if fields
                .iter()
                .all(|(_, node)| matches!(node, Node::Literal(_)))
            {
                Node::Literal(value.clone())
            } else {
                Node::Object(fields)
            }
        }
        _ => Node::Literal(value.clone()),
    }
}

fn eval_node(node: &Node, input: &Value, scope: &Scope) -> Result<Value, ExprError> {
    match node {
        Node::Literal(value) => Ok(value.clone()),
        Node::Expr(expr) => expr.eval(input, scope),
        Node::Array(items) => items
            .iter()
            .map(|item| eval_node(item, input, scope))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Node::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, item) in fields {
                out.insert(key.clone(), eval_node(item, input, scope)?);
            }
            Ok(Value::Object(out))
        }
    }
}

/// Escape one JSON-pointer reference token (RFC 6901).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(src: &str, input: Value) -> Result<Value, ExprError> {
        Expr::compile(src)?.eval(&input, &Scope::default())
    }

    #[test]
    fn basic_paths_and_arithmetic() {
        assert_eq!(eval(".a + 1", json!({"a": 41})).unwrap(), json!(42));
        assert_eq!(eval(".a.b", json!({"a": {"b": "x"}})).unwrap(), json!("x"));
        assert_eq!(eval(".missing", json!({})).unwrap(), Value::Null);
        assert_eq!(eval("empty", json!(1)).unwrap(), Value::Null);
        assert_eq!(eval(".[]", json!([7, 8])).unwrap(), json!(7));
        assert_eq!(eval(".price", json!({"price": 9.99})).unwrap(), json!(9.99));
    }

    #[test]
    fn standard_library_is_available() {
        let input = json!({"name": "Ada", "n": "12", "tags": ["b", "a"], "o": {"y": 1, "x": 2}});
        assert_eq!(eval(".n | tonumber", input.clone()).unwrap(), json!(12));
        assert_eq!(
            eval(".tags | map(ascii_upcase)", input.clone()).unwrap(),
            json!(["B", "A"])
        );
        assert_eq!(eval(".o | keys", input.clone()).unwrap(), json!(["x", "y"]));
        assert_eq!(
            eval(".name | @base64", input.clone()).unwrap(),
            json!("QWRh")
        );
        assert_eq!(
            eval(".name | test(\"^A\")", input.clone()).unwrap(),
            json!(true)
        );
        assert_eq!(
            eval(".n | tostring | length", input.clone()).unwrap(),
            json!(2)
        );
        assert_eq!(
            eval("[.tags[] | select(. == \"a\")]", input.clone()).unwrap(),
            json!(["a"])
        );
        assert!(eval("now", Value::Null).unwrap().as_f64().unwrap() > 1.6e9);
    }

    #[test]
    fn object_key_order_is_preserved() {
        let out = eval("{z: 1, a: 2, m: .m}", json!({"m": 3})).unwrap();
        let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
        let out = eval(".", json!({"b": 1, "a": 2})).unwrap();
        assert_eq!(serde_json::to_string(&out).unwrap(), r#"{"b":1,"a":2}"#);
    }

    #[test]
    fn variables_come_from_the_scope() {
        let scope = Scope {
            context: json!({"lead": "ctx"}),
            input: json!({"contactId": 7}),
            secrets: json!({"crm": {"token": "s3cr3t"}}),
            task: json!({"name": "getContact"}),
            workflow: json!({"id": "wf"}),
            extra: vec![("request".to_owned(), json!({"headers": {"x": "1"}}))],
        };
        let expr = Expr::compile(
            r#"[$input.contactId, $context.lead, $secrets.crm.token, $task.name, $workflow.id, $request.headers.x, .]"#,
        )
        .unwrap();
        assert_eq!(expr.extra_variables(), ["request"]);
        assert_eq!(
            expr.eval(&json!("dot"), &scope).unwrap(),
            json!([7, "ctx", "s3cr3t", "getContact", "wf", "1", "dot"])
        );
        let err = expr.eval(&Value::Null, &Scope::default()).unwrap_err();
        assert!(err.message.contains("$request"), "{err}");
    }

    #[test]
    fn compile_errors_name_the_expression() {
        let err = Expr::compile(".a +").unwrap_err();
        assert_eq!(err.expression, ".a +");
        assert!(err.to_string().starts_with("expression `.a +`: "), "{err}");
        let err = Expr::compile("nosuchfilter(1)").unwrap_err();
        assert!(err.message.contains("nosuchfilter"), "{err}");
        assert!(Expr::compile("{a: }").is_err());
    }

    #[test]
    fn runtime_errors_are_reported() {
        let err = eval(".a + 1", json!({"a": "x"})).unwrap_err();
        assert!(err.message.contains("cannot"), "{err}");
        let err = eval("error(\"boom\")", Value::Null).unwrap_err();
        assert_eq!(err.message, "boom");
        let err = eval("halt", Value::Null).unwrap_err();
        assert!(err.message.contains("halt"));
    }

    #[test]
    fn environment_is_not_exposed() {
        assert_eq!(eval("env", Value::Null).unwrap(), json!({}));
        assert_eq!(eval("1 | debug", Value::Null).unwrap(), json!(1));
    }

    #[test]
    fn ten_thousand_evals_reuse_one_compiled_filter() {
        let expr = Expr::compile(".a + 1").unwrap();
        let scope = Scope::default();
        let input = json!({"a": 1});
        let started = std::time::Instant::now();
        let mut total = 0;
        for _ in 0..10_000 {
            total += expr.eval(&input, &scope).unwrap().as_i64().unwrap();
        }
        assert_eq!(total, 20_000);
        eprintln!("10k evals of `.a + 1`: {:?}", started.elapsed());
        let started = std::time::Instant::now();
        for _ in 0..20 {
            Expr::compile(".a + 1 | tostring").unwrap();
        }
        eprintln!("one compile: {:?}", started.elapsed() / 20);
    }

    #[test]
    fn strip_expression_requires_the_whole_string() {
        assert_eq!(strip_expression("${ .a }"), Some(".a"));
        assert_eq!(strip_expression("  ${.a}  "), Some(".a"));
        assert_eq!(strip_expression("hello ${ .a }"), None);
        assert_eq!(strip_expression("plain"), None);
    }

    #[test]
    fn template_mixes_literals_and_expressions() {
        let template = Template::compile(&json!({
            "channel": "#sales",
            "text": "${ \"New lead: \" + .name }",
            "meta": {"count": 3, "who": "${ $input.user }", "note": "cost is ${ not an expr"},
            "list": ["a", "${ .n * 2 }"],
        }))
        .unwrap();
        assert!(!template.is_literal());
        let scope = Scope {
            input: json!({"user": "alice"}),
            ..Scope::default()
        };
        let out = template
            .eval(&json!({"name": "Ada", "n": 21}), &scope)
            .unwrap();
        assert_eq!(
            out,
            json!({
                "channel": "#sales",
                "text": "New lead: Ada",
                "meta": {"count": 3, "who": "alice", "note": "cost is ${ not an expr"},
                "list": ["a", 42],
            })
        );
        let literal = Template::compile(&json!({"a": [1, "b"]})).unwrap();
        assert!(literal.is_literal());
        assert_eq!(
            literal.eval(&Value::Null, &scope).unwrap(),
            json!({"a": [1, "b"]})
        );
        let whole = Template::compile(&json!("${ .x }")).unwrap();
        assert!(whole.as_expr().is_some());
    }

    #[test]
    fn template_errors_carry_relative_pointers() {
        let errors = Template::compile(&json!({
            "ok": "${ .a }",
            "bad": {"a/b": ["x", "${ .a + }"]},
            "also": "${ (( }",
        }))
        .unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(pointers, ["/bad/a~1b/1", "/also"]);
        let root = Template::compile(&json!("${ | }")).unwrap_err();
        assert_eq!(root[0].0, "");
    }
}

//! Test helpers: run a generated repair module in QuickJS (with a stub `log` and a `fetch` that
//! answers from a route table instead of the network), build failure contexts, and check an
//! output against the contract (JSON schema, formats on) and the provenance rule.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use rquickjs::{Context, Ctx, Function, Module, Promise, Runtime};
use serde_json::{Value, json};
use suture_healer::{Candidate, Exchange, FailureContext, ResponseSeen, provenance_check};

#[derive(Debug)]
pub struct Execution {
    pub output: Value,
    pub logs: Vec<String>,
    /// `{url, method, body}` of every fetch the script made.
    pub fetches: Vec<Value>,
}

const PRELUDE: &str = r#"
globalThis.__logs = [];
globalThis.__calls = [];
globalThis.log = (...args) => { __logs.push(args.map(String).join(" ")); };
globalThis.fetch = async (url, init) => {
  __calls.push({ url, method: init && init.method, body: init && init.body });
  const route = __routes[url];
  if (!route) return { status: 404, text: async () => "no such route" };
  return { status: route.status, text: async () => JSON.stringify(route.body) };
};
"#;

fn exception(ctx: &Ctx<'_>, e: rquickjs::Error) -> String {
    if matches!(e, rquickjs::Error::Exception) {
        let caught = ctx.catch();
        if let Some(ex) = caught.as_exception() {
            return ex.message().unwrap_or_default();
        }
        return format!("{caught:?}");
    }
    e.to_string()
}

fn read_global(ctx: &Ctx<'_>, name: &str) -> Value {
    let v: rquickjs::Value = ctx.globals().get(name).unwrap();
    let text = ctx.json_stringify(v).unwrap().unwrap().to_string().unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `source` as the sandbox would: `repair(ctx)` with `fetch` answered from `routes`
/// (`{url: {status, body}}`). Err carries the script's error message.
pub fn execute(source: &str, ctx_value: &Value, routes: &Value) -> Result<Execution, String> {
    let rt = Runtime::new().unwrap();
    let context = Context::full(&rt).unwrap();
    context.with(|ctx| {
        let routes = ctx.json_parse(routes.to_string()).unwrap();
        ctx.globals().set("__routes", routes).unwrap();
        ctx.eval::<(), _>(PRELUDE).unwrap();
        let run = || -> rquickjs::Result<Value> {
            let (module, loaded) = Module::declare(ctx.clone(), "repair.js", source)?.eval()?;
            loaded.finish::<()>()?;
            let repair: Function = module.get("default")?;
            let arg = ctx.json_parse(ctx_value.to_string())?;
            let promise: Promise = repair.call((arg,))?;
            let result: rquickjs::Value = promise.finish()?;
            let text = ctx
                .json_stringify(result)?
                .map(|s| s.to_string())
                .transpose()?
                .unwrap_or_else(|| "null".into());
            Ok(serde_json::from_str(&text).unwrap())
        };
        let output = run().map_err(|e| exception(&ctx, e))?;
        let logs = read_global(&ctx, "__logs")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let fetches = read_global(&ctx, "__calls").as_array().unwrap().clone();
        Ok(Execution {
            output,
            logs,
            fetches,
        })
    })
}

/// Runs a candidate against the failure it was made for.
pub fn run(candidate: &Candidate, failure: &FailureContext) -> Execution {
    execute(&candidate.source, &failure.sandbox_ctx(), &json!({}))
        .unwrap_or_else(|e| panic!("script failed: {e}\n{}", candidate.source))
}

pub fn schema_errors(contract: &Value, output: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(contract)
        .unwrap();
    // Worded as the pipeline records violations: "<instance pointer>: <message>".
    validator
        .iter_errors(output)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The acceptance rule of the pipeline: contract-valid and nothing invented.
pub fn assert_accepted(contract: &Value, output: &Value, vendor: &[&Value]) {
    let errors = schema_errors(contract, output);
    assert!(
        errors.is_empty(),
        "contract violated by {output}: {errors:?}"
    );
    provenance_check(output, vendor).unwrap_or_else(|e| panic!("invented data in {output}: {e:?}"));
}

pub fn failure(contract: Value, status: u16, body: Value) -> FailureContext {
    let violations = match schema_errors(&contract, &body) {
        errors if status < 300 => errors,
        _ => Vec::new(),
    };
    FailureContext {
        input: json!({"contact_id": "42"}),
        contract,
        request: Exchange {
            method: "GET".into(),
            url: "https://api.vendor.test/v1/contacts/42".into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
        },
        response: Some(ResponseSeen {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body_text: body.to_string(),
            body_json: Some(body),
        }),
        violations,
    }
}

pub fn text_failure(contract: Value, status: u16, media: &str, text: &str) -> FailureContext {
    let mut f = failure(contract, status, Value::Null);
    let response = f.response.as_mut().unwrap();
    response.headers = vec![("content-type".into(), media.into())];
    response.body_text = text.into();
    response.body_json = None;
    f.violations = Vec::new();
    f
}

pub fn contact_contract() -> Value {
    json!({
        "type": "object",
        "required": ["id", "email", "name"],
        "properties": {
            "id": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "name": {"type": "string"},
            "phone": {"type": "string"}
        }
    })
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

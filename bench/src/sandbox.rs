//! Sandbox figures: context creation (an empty script) and a 50-line repair, many times.

use std::time::{Duration, Instant};

use serde_json::json;
use suture_egress::{EgressClient, EgressPolicy};
use suture_sandbox::{Engine, Limits, QuickJsEngine, ScriptKind, ScriptRequest};

const FIFTY_LINES: &str = r#"
// A typical repair: unwrap an envelope, rename fields, coerce types, keep the rest.
export default async function repair(ctx) {
  const body = ctx.response.body;
  const src = (body && body.data && body.data.attributes) ? body.data.attributes : body;
  const out = {};
  for (const [k, v] of Object.entries(src)) {
    out[k] = v;
  }
  const renames = [
    ["email_address", "email"],
    ["full_name", "name"],
    ["phone_number", "phone"],
  ];
  for (const [from, to] of renames) {
    if (from in out && !(to in out)) {
      out[to] = out[from];
      delete out[from];
      log("renamed " + from + " -> " + to);
    }
  }
  const numeric = ["age", "score", "count"];
  for (const key of numeric) {
    if (typeof out[key] === "string" && /^-?\d+(\.\d+)?$/.test(out[key])) {
      out[key] = Number(out[key]);
    }
  }
  if (typeof out.created === "number") {
    const ms = out.created > 1e12 ? out.created : out.created * 1000;
    out.created = new Date(ms).toISOString();
  }
  const tags = Array.isArray(out.tags) ? out.tags : [];
  out.tags = tags.map((t) => String(t).toLowerCase());
  const required = (ctx.contract && ctx.contract.required) || [];
  const missing = required.filter((k) => !(k in out));
  if (missing.length > 0) {
    throw new Error("still missing: " + missing.join(", "));
  }
  let checksum = 0;
  for (const ch of JSON.stringify(out)) {
    checksum = (checksum * 31 + ch.charCodeAt(0)) >>> 0;
  }
  log("checksum " + checksum);
  return out;
}
"#;

fn stats(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let p = |q: f64| {
        samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
    };
    println!(
        "   {label}: p50 {:.3} ms  p99 {:.3} ms  (n={})",
        p(0.5),
        p(0.99),
        samples.len()
    );
}

pub async fn run() -> anyhow::Result<()> {
    println!("== sandbox (QuickJS via rquickjs)");
    let engine = QuickJsEngine::new(EgressClient::new(EgressPolicy::default())?);
    let ctx = json!({
        "input": {},
        "contract": {"required": ["email", "name"]},
        "request": {},
        "response": {"status": 200, "body": {"data": {"attributes": {"full_name": "Ada", "email_address": "a@example.com", "age": "36", "created": 1733300000, "tags": ["A", "B"]}}}}
    });
    let mut empty = Vec::new();
    let mut fifty = Vec::new();
    for i in 0..400 {
        let t0 = Instant::now();
        let r = engine
            .execute(ScriptRequest {
                kind: ScriptKind::Task,
                source: "return 1;".into(),
                ctx: json!({}),
                allowed_hosts: vec![],
                credentials: vec![],
                limits: Limits::default(),
            })
            .await;
        if i >= 20 && r.is_ok() {
            empty.push(t0.elapsed());
        }
        let t0 = Instant::now();
        let r = engine
            .execute(ScriptRequest {
                kind: ScriptKind::Repair,
                source: FIFTY_LINES.into(),
                ctx: ctx.clone(),
                allowed_hosts: vec![],
                credentials: vec![],
                limits: Limits::default(),
            })
            .await;
        match r {
            Ok(_) if i >= 20 => fifty.push(t0.elapsed()),
            Ok(_) => {}
            Err(e) => anyhow::bail!("the 50-line repair failed: {}", e.error),
        }
    }
    stats("fresh context + trivial script (context ready)", empty);
    stats("fresh context + 50-line repair", fifty);
    Ok(())
}

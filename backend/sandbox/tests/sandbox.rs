//! Behaviour of the QuickJS engine: repairs and tasks, the host API, credential secrecy, and
//! hostile scripts that must end with a clear error without harming the next run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, Instant};

use common::{Upstream, engine, repair, task};
use serde_json::json;
use suture_sandbox::{Engine, InjectedCredential, SandboxError};

const SECRET: &str = "sk-live-0123456789abcdef";

#[tokio::test]
async fn allowed_fetch_returns_upstream_json_and_injects_credentials_unseen() {
    let upstream = Upstream::json(r#"{"items":[{"id":1,"name":"Ada"}]}"#).await;
    let source = format!(
        r#"export default async function repair(ctx) {{
             const res = await fetch("http://127.0.0.1:{port}/v2/users", {{ headers: {{ Accept: "application/json" }} }});
             const body = await res.json();
             log("ctx", ctx, "response", res, "headers", res.headers);
             console.error(JSON.stringify(ctx));
             return {{ ctx: JSON.stringify(ctx), response: JSON.stringify(res), headers: res.headers,
                      status: res.status, ok: res.ok, users: body.items }};
           }}"#,
        port = upstream.port
    );
    let mut req = repair(&source, json!({ "input": { "id": 1 } }));
    req.allowed_hosts = vec![upstream.host()];
    req.credentials = vec![InjectedCredential {
        host: upstream.host(),
        headers: vec![("X-Api-Key".into(), SECRET.into())],
    }];
    let outcome = engine().execute(req).await.unwrap();

    assert_eq!(outcome.output["users"], json!([{ "id": 1, "name": "Ada" }]));
    assert_eq!(outcome.output["status"], 200);
    assert_eq!(outcome.output["ok"], true);
    assert_eq!(outcome.output["headers"]["x-upstream"], "yes");
    let received = upstream.requests()[0].to_ascii_lowercase();
    assert!(received.contains(&format!("x-api-key: {}", SECRET.to_ascii_lowercase())));
    assert!(received.contains("accept: application/json"));

    let everything = format!("{} {:?}", outcome.output, outcome.logs);
    assert!(!everything.contains(SECRET), "secret leaked: {everything}");
    assert_eq!(outcome.logs.len(), 2);
    assert_eq!(outcome.logs[1].level, "error");

    let fetch = &outcome.fetches[0];
    assert_eq!(fetch.method, "GET");
    assert_eq!(fetch.status, Some(200));
    assert_eq!(
        fetch.response_json,
        Some(json!({"items":[{"id":1,"name":"Ada"}]}))
    );
    assert!(fetch.response_body_excerpt.starts_with(r#"{"items""#));
}

#[tokio::test]
async fn an_upstream_echoing_the_credential_is_scrubbed() {
    let upstream = Upstream::json(&format!(r#"{{"echo":"{SECRET}"}}"#)).await;
    let source = format!(
        r#"const r = await fetch("http://127.0.0.1:{}/"); return await r.text();"#,
        upstream.port
    );
    let mut req = task(&source, json!({}));
    req.allowed_hosts = vec![upstream.host()];
    req.credentials = vec![InjectedCredential {
        host: upstream.host(),
        headers: vec![("Authorization".into(), SECRET.into())],
    }];
    let outcome = engine().execute(req).await.unwrap();
    assert_eq!(outcome.output, json!(r#"{"echo":"[redacted]"}"#));
    assert!(!format!("{:?}", outcome.fetches).contains(SECRET));
}

#[tokio::test]
async fn credentials_for_another_host_are_not_sent() {
    let upstream = Upstream::json("{}").await;
    let source = format!(
        r#"await fetch("http://127.0.0.1:{}/"); return 1;"#,
        upstream.port
    );
    let mut req = task(&source, json!({}));
    req.allowed_hosts = vec![upstream.host()];
    req.credentials = vec![InjectedCredential {
        host: "api.example.com:443".into(),
        headers: vec![("X-Api-Key".into(), SECRET.into())],
    }];
    engine().execute(req).await.unwrap();
    assert!(!upstream.requests()[0].contains(SECRET));
}

#[tokio::test]
async fn fetch_count_is_limited() {
    let upstream = Upstream::json("{}").await;
    let source = format!(
        r#"for (let i = 0; i < 5; i++) await fetch("http://127.0.0.1:{}/");
           return "done";"#,
        upstream.port
    );
    let mut req = task(&source, json!({}));
    req.allowed_hosts = vec![upstream.host()];
    req.limits.max_fetches = 2;
    let failure = engine().execute(req).await.unwrap_err();
    assert_eq!(failure.error, SandboxError::TooManyFetches);
    assert_eq!(upstream.accepted(), 2);
    assert_eq!(failure.fetches.len(), 3);
}

#[tokio::test]
async fn task_scripts_see_input_and_may_await_at_top_level() {
    let source = r#"
        const doubled = await Promise.resolve(input.n * 2);
        return { doubled, global: globalThis.input.n };
    "#;
    let outcome = engine()
        .execute(task(source, json!({ "n": 21 })))
        .await
        .unwrap();
    assert_eq!(outcome.output, json!({ "doubled": 42, "global": 21 }));
}

const FIFTY_LINE_REPAIR: &str = r#"
// The vendor renamed fields and nested the list: map v2 back to the step's contract.
const STATUS = { A: "active", S: "suspended", D: "deleted" };

function fullName(person) {
  const parts = [person.given_name, person.family_name];
  return parts.filter((p) => typeof p === "string" && p.length > 0).join(" ");
}

function toCents(amount) {
  if (typeof amount !== "string") return null;
  const [whole, frac = "0"] = amount.split(".");
  return Number(whole) * 100 + Number(frac.padEnd(2, "0").slice(0, 2));
}

function mapCustomer(raw) {
  return {
    id: String(raw.customer_id),
    name: fullName(raw.person),
    email: raw.contact && raw.contact.email ? raw.contact.email.toLowerCase() : null,
    status: STATUS[raw.state] || "unknown",
    balance_cents: toCents(raw.balance),
    tags: (raw.labels || []).map((l) => l.name).sort(),
  };
}

export default async function repair(ctx) {
  const payload = ctx.response.body;
  if (!payload || !payload.data || !Array.isArray(payload.data.customers)) {
    throw new Error("unexpected response shape: " + Object.keys(payload || {}).join(","));
  }
  log("mapping", payload.data.customers.length, "customers for", ctx.input.account);
  const customers = payload.data.customers.map(mapCustomer);
  const active = customers.filter((c) => c.status === "active");
  const total = customers.reduce((sum, c) => sum + (c.balance_cents || 0), 0);
  const byStatus = {};
  for (const c of customers) {
    byStatus[c.status] = (byStatus[c.status] || 0) + 1;
  }
  return {
    account: ctx.input.account,
    customers,
    active_count: active.length,
    total_balance_cents: total,
    by_status: byStatus,
    next_page: payload.data.paging ? payload.data.paging.next_cursor || null : null,
  };
}
"#;

#[tokio::test]
async fn a_fifty_line_repair_maps_the_vendor_response() {
    let ctx = json!({
        "input": { "account": "acme" },
        "contract": {},
        "request": { "method": "GET", "url": "https://api.example.com/v2/customers" },
        "response": { "status": 200, "body": { "data": {
            "customers": [
                { "customer_id": 7, "person": { "given_name": "Ada", "family_name": "Lovelace" },
                  "contact": { "email": "ADA@EXAMPLE.COM" }, "state": "A", "balance": "12.5",
                  "labels": [{ "name": "vip" }, { "name": "early" }] },
                { "customer_id": 8, "person": { "given_name": "Alan" }, "state": "S", "balance": "3" }
            ],
            "paging": { "next_cursor": "c2" }
        } } }
    });
    let outcome = engine()
        .execute(repair(FIFTY_LINE_REPAIR, ctx))
        .await
        .unwrap();
    assert_eq!(
        outcome.output,
        json!({
            "account": "acme",
            "customers": [
                { "id": "7", "name": "Ada Lovelace", "email": "ada@example.com", "status": "active",
                  "balance_cents": 1250, "tags": ["early", "vip"] },
                { "id": "8", "name": "Alan", "email": null, "status": "suspended",
                  "balance_cents": 300, "tags": [] }
            ],
            "active_count": 1,
            "total_balance_cents": 1550,
            "by_status": { "active": 1, "suspended": 1 },
            "next_page": "c2"
        })
    );
    assert_eq!(outcome.logs[0].message, "mapping 2 customers for acme");
}

#[tokio::test]
async fn a_throwing_repair_is_a_script_error_with_its_message() {
    let ctx = json!({ "input": {}, "response": { "body": { "unexpected": true } } });
    let failure = engine()
        .execute(repair(FIFTY_LINE_REPAIR, ctx))
        .await
        .unwrap_err();
    match &failure.error {
        SandboxError::ScriptError { message, stack } => {
            assert_eq!(message, "Error: unexpected response shape: unexpected");
            assert!(
                stack.as_deref().unwrap_or("").contains("repair"),
                "{stack:?}"
            );
        }
        other => panic!("expected ScriptError, got {other:?}"),
    }
    assert!(failure.to_string().contains("unexpected response shape"));
}

#[tokio::test]
async fn a_module_without_default_function_is_reported() {
    let failure = engine()
        .execute(repair("export const x = 1;", json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(&failure.error, SandboxError::ScriptError { message, .. } if message.contains("export default")),
        "{:?}",
        failure.error
    );
}

#[tokio::test]
async fn an_infinite_loop_times_out_and_the_next_run_is_fine() {
    let engine = engine();
    let mut req = task("while (true) {}", json!({}));
    req.limits.wall_time = Duration::from_millis(200);
    let started = Instant::now();
    let failure = engine.execute(req).await.unwrap_err();
    assert_eq!(failure.error, SandboxError::Timeout { after_ms: 200 });
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );

    let outcome = engine
        .execute(task("return 1 + 1;", json!({})))
        .await
        .unwrap();
    assert_eq!(outcome.output, json!(2));
}

#[tokio::test]
async fn a_loop_that_catches_the_interrupt_still_times_out() {
    let mut req = task(
        "for (;;) { try { while (true) {} } catch (e) {} }",
        json!({}),
    );
    req.limits.wall_time = Duration::from_millis(200);
    let failure = engine().execute(req).await.unwrap_err();
    assert_eq!(failure.error, SandboxError::Timeout { after_ms: 200 });
}

#[tokio::test]
async fn a_memory_bomb_runs_out_of_memory_and_the_next_run_is_fine() {
    let engine = engine();
    let bomb = "let a = []; while (true) a.push('x'.repeat(1e6));";
    let failure = engine.execute(task(bomb, json!({}))).await.unwrap_err();
    assert_eq!(failure.error, SandboxError::OutOfMemory);

    let outcome = engine
        .execute(task("return [1, 2, 3].map((x) => x * 2);", json!({})))
        .await
        .unwrap();
    assert_eq!(outcome.output, json!([2, 4, 6]));
}

#[tokio::test]
async fn deep_recursion_is_a_script_error() {
    let failure = engine()
        .execute(task(
            "const f = (n) => f(n + 1) + 1; return f(0);",
            json!({}),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&failure.error, SandboxError::ScriptError { message, .. } if message.contains("call stack")),
        "{:?}",
        failure.error
    );
}

#[tokio::test]
async fn invalid_outputs_are_clear_errors() {
    let engine = engine();
    for (source, expected) in [
        ("return undefined;", "undefined"),
        ("", "undefined"),
        ("return () => 1;", "function"),
        ("return 10n;", "BigInt"),
        ("const a = {}; a.self = a; return a;", "circular"),
    ] {
        let failure = engine.execute(task(source, json!({}))).await.unwrap_err();
        match &failure.error {
            SandboxError::InvalidOutput(message) => {
                assert!(message.contains(expected), "{source}: {message}")
            }
            other => panic!("{source}: expected InvalidOutput, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn oversized_output_is_refused() {
    let mut req = task("return 'x'.repeat(2048);", json!({}));
    req.limits.max_output_bytes = 1024;
    let failure = engine().execute(req).await.unwrap_err();
    assert_eq!(failure.error, SandboxError::OutputTooLarge);
}

#[tokio::test]
async fn logs_are_bounded() {
    let mut req = task(
        "for (let i = 0; i < 1000; i++) console.log('line', i, { i }); return null;",
        json!({}),
    );
    req.limits.max_log_bytes = 200;
    let outcome = engine().execute(req).await.unwrap();
    let total: usize = outcome.logs.iter().map(|l| l.message.len()).sum();
    assert!(total < 300, "{total}");
    assert_eq!(outcome.logs[0].message, "line 0 {\"i\":0}");
    let last = outcome.logs.last().unwrap();
    assert_eq!(last.level, "warn");
    assert!(last.message.contains("log limit"));
}

#[tokio::test]
async fn null_and_thrown_strings_behave() {
    let engine = engine();
    let outcome = engine
        .execute(task("return null;", json!({})))
        .await
        .unwrap();
    assert_eq!(outcome.output, json!(null));
    let failure = engine
        .execute(task("throw 'plain';", json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        failure.error,
        SandboxError::ScriptError {
            message: "plain".into(),
            stack: None
        }
    );
}

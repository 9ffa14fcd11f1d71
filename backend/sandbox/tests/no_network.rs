//! Hermetic proof that the sandbox has no ambient authority (STYLE habit 12): a loopback listener
//! counts connections to show that a denied fetch never leaves the host, with a control test
//! showing the same harness does see an allowed one; and the usual escape hatches are absent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::{Upstream, engine, repair, task};
use serde_json::json;
use suture_sandbox::{Engine, SandboxError};

#[tokio::test]
async fn fetch_to_a_host_not_allowed_never_connects() {
    let upstream = Upstream::json(r#"{"secret":"data"}"#).await;
    let source = format!(
        r#"try {{
             await fetch("http://127.0.0.1:{}/");
             return "reached";
           }} catch (e) {{
             return {{ name: e.name, message: e.message }};
           }}"#,
        upstream.port
    );
    // Another port on the same host is allowed: exact host:port matching is what is tested.
    let mut req = task(&source, json!({}));
    req.allowed_hosts = vec![format!("127.0.0.1:{}", upstream.port + 1)];
    let outcome = engine().execute(req).await.unwrap();
    assert_eq!(outcome.output["name"], "FetchDenied", "{}", outcome.output);
    assert_eq!(
        outcome.output["message"],
        format!(
            "fetch denied: http://127.0.0.1:{}/ is not allowed for this step",
            upstream.port
        )
    );
    assert_eq!(
        upstream.accepted(),
        0,
        "a denied fetch must not open a connection"
    );
    assert_eq!(outcome.fetches.len(), 1, "the denied attempt is recorded");
    assert!(
        outcome.fetches[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("fetch denied")
    );
    assert_eq!(outcome.fetches[0].status, None);
}

#[tokio::test]
async fn control_the_harness_sees_an_allowed_fetch() {
    let upstream = Upstream::json(r#"{"ok":1}"#).await;
    let source = format!(
        r#"const r = await fetch("http://127.0.0.1:{}/"); return r.status;"#,
        upstream.port
    );
    let mut req = task(&source, json!({}));
    req.allowed_hosts = vec![upstream.host()];
    let outcome = engine().execute(req).await.unwrap();
    assert_eq!(outcome.output, json!(200));
    assert_eq!(upstream.accepted(), 1);
}

#[tokio::test]
async fn an_uncaught_denial_is_a_fetch_denied_failure() {
    let upstream = Upstream::json("{}").await;
    let source = format!(
        r#"export default async function repair(ctx) {{
             log("about to fetch");
             return await (await fetch("http://127.0.0.1:{}/steal")).json();
           }}"#,
        upstream.port
    );
    let failure = engine()
        .execute(repair(&source, json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        failure.error,
        SandboxError::FetchDenied {
            url: format!("http://127.0.0.1:{}/steal", upstream.port)
        }
    );
    assert_eq!(failure.logs.len(), 1, "logs survive the failure");
    assert_eq!(failure.fetches.len(), 1, "fetches survive the failure");
    assert_eq!(upstream.accepted(), 0);
}

#[tokio::test]
async fn a_redirect_to_a_host_not_allowed_is_denied_before_connecting() {
    let elsewhere = Upstream::json(r#"{"leak":true}"#).await;
    let allowed = Upstream::redirect(&format!("http://127.0.0.1:{}/x", elsewhere.port)).await;
    let source = format!(
        r#"try {{ await fetch("http://127.0.0.1:{}/"); return "followed"; }}
           catch (e) {{ return e.name; }}"#,
        allowed.port
    );
    let mut req = task(&source, json!({}));
    req.allowed_hosts = vec![allowed.host()];
    let outcome = engine().execute(req).await.unwrap();
    assert_eq!(outcome.output, json!("FetchDenied"));
    assert_eq!(allowed.accepted(), 1);
    assert_eq!(elsewhere.accepted(), 0);
}

#[tokio::test]
async fn no_ambient_globals() {
    let source = r#"return {
        require: typeof require, process: typeof process, std: typeof std, os: typeof os,
        hostFetch: typeof __host_fetch, hostLog: typeof __host_log,
        fetch: typeof fetch, log: typeof log, console: typeof console,
    };"#;
    let outcome = engine().execute(task(source, json!({}))).await.unwrap();
    assert_eq!(
        outcome.output,
        json!({
            "require": "undefined", "process": "undefined", "std": "undefined", "os": "undefined",
            "hostFetch": "undefined", "hostLog": "undefined",
            "fetch": "function", "log": "function", "console": "object",
        })
    );
}

#[tokio::test]
async fn dynamic_import_fails() {
    let source = r#"try { await import("fs"); return "imported"; }
                    catch (e) { return String(e); }"#;
    let outcome = engine().execute(task(source, json!({}))).await.unwrap();
    let text = outcome.output.as_str().unwrap_or_default().to_owned();
    assert!(text.contains("could not load module"), "{text}");
}

#[tokio::test]
async fn static_import_fails() {
    let source = r#"import * as os from "os";
                    export default async function repair() { return typeof os; }"#;
    let failure = engine()
        .execute(repair(source, json!({})))
        .await
        .unwrap_err();
    match failure.error {
        SandboxError::ScriptError { message, .. } => {
            assert!(message.contains("could not load module"), "{message}")
        }
        other => panic!("expected ScriptError, got {other:?}"),
    }
}

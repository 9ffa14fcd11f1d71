//! `POST /hooks/{hook_id}`: bodies become inputs, signatures are checked, redeliveries are
//! de-duplicated.

use reqwest::StatusCode;
use serde_json::{Value, json};
use suture_server::hooks::signature::sign_standard;
use suture_tests::support::{Backend, TestApp, spawn_app};

const ECHO: &str = r#"
document: { dsl: '1.0.0', namespace: hooks, name: echo, version: '1.0.0' }
do:
  - echo:
      set: '${ . }'
"#;

const SIGNED: &str = r#"
document: { dsl: '1.0.0', namespace: hooks, name: signed, version: '1.0.0' }
metadata:
  suture:
    webhook: { signature: standard-webhooks }
do:
  - echo:
      set: '${ . }'
"#;

async fn webhook_bodies(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let wf = app.create_workflow(ECHO).await;
    let hook = wf["webhook_url"].as_str().expect("webhook_url").to_string();

    let resp = app
        .client
        .post(&hook)
        .json(&json!({"user": "alice", "n": 1}))
        .header("authorization", "Bearer leak-me")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let body: Value = resp.json().await.expect("json");
    let run = app.wait_run(body["run_id"].as_str().expect("run_id")).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], json!({"user": "alice", "n": 1}));
    assert_eq!(run["trigger"], "webhook");
    let meta = run["trigger_meta"].to_string();
    assert!(
        meta.contains("[redacted]") && !meta.contains("leak-me"),
        "{meta}"
    );

    let resp = app
        .client
        .post(format!("{hook}?src=form"))
        .form(&[("a", "1"), ("b", "two")])
        .send()
        .await
        .expect("post");
    let body: Value = resp.json().await.expect("json");
    let run = app.wait_run(body["run_id"].as_str().expect("run_id")).await;
    assert_eq!(run["output"], json!({"a": "1", "b": "two"}));
    assert_eq!(run["trigger_meta"]["query"]["src"], "form");

    let resp = app
        .client
        .post(&hook)
        .header("content-type", "text/plain")
        .body("hello there")
        .send()
        .await
        .expect("post");
    let body: Value = resp.json().await.expect("json");
    let run = app.wait_run(body["run_id"].as_str().expect("run_id")).await;
    assert_eq!(run["output"], json!({"raw": "hello there"}));

    let resp = app
        .client
        .post(app.url("/hooks/hk_doesnotexist"))
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    app.shutdown().await;
}

#[tokio::test]
async fn webhook_bodies_become_inputs_sqlite() {
    webhook_bodies(Backend::Sqlite).await;
}

#[tokio::test]
async fn webhook_bodies_become_inputs_postgres() {
    webhook_bodies(Backend::Postgres).await;
}

async fn runs_count(app: &TestApp, wf_id: &str) -> usize {
    let list: Value = app
        .get(&format!("/api/v1/runs?workflow={wf_id}"))
        .await
        .json()
        .await
        .expect("json");
    list["items"].as_array().map(|a| a.len()).unwrap_or(0)
}

async fn signatures(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let wf = app.create_workflow(SIGNED).await;
    let wf_id = wf["id"].as_str().expect("id").to_string();
    let hook = wf["webhook_url"].as_str().expect("webhook_url").to_string();
    let secret = wf["webhook_secret"]
        .as_str()
        .expect("a secret is returned once")
        .to_string();
    assert!(secret.starts_with("whsec_"));
    let body = br#"{"order": 17}"#.to_vec();
    let now = chrono::Utc::now().timestamp();

    let send = |id: &str, ts: i64, sig: Option<String>| {
        let mut req = app
            .client
            .post(&hook)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .body(body.clone());
        if let Some(sig) = sig {
            req = req.header("webhook-signature", sig);
        }
        req.send()
    };
    // Missing, wrong, stale → 401 and nothing starts.
    assert_eq!(
        send("msg_1", now, None).await.expect("post").status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = sign_standard(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_1",
        now,
        &body,
    )
    .expect("sign");
    assert_eq!(
        send("msg_1", now, Some(wrong))
            .await
            .expect("post")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let stale = sign_standard(&secret, "msg_1", now - 301, &body).expect("sign");
    assert_eq!(
        send("msg_1", now - 301, Some(stale))
            .await
            .expect("post")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(runs_count(&app, &wf_id).await, 0);

    // Valid → 202; the same webhook-id again → the first run's id, nothing new.
    let good = sign_standard(&secret, "msg_1", now, &body).expect("sign");
    let resp = send("msg_1", now, Some(good.clone())).await.expect("post");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let first: Value = resp.json().await.expect("json");
    let resp = send("msg_1", now, Some(good)).await.expect("post");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let again: Value = resp.json().await.expect("json");
    assert_eq!(first["run_id"], again["run_id"]);
    assert_eq!(again["duplicate"], json!(true));
    let run = app
        .wait_run(first["run_id"].as_str().expect("run_id"))
        .await;
    assert_eq!(run["output"], json!({"order": 17}));
    assert_eq!(runs_count(&app, &wf_id).await, 1);

    // Rotation: the old secret stops working.
    let resp = app
        .post_json(
            &format!("/api/v1/workflows/{wf_id}/webhook-secret"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let rotated: Value = resp.json().await.expect("json");
    let new_secret = rotated["webhook_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert_ne!(new_secret, secret);
    let old_sig = sign_standard(&secret, "msg_2", now, &body).expect("sign");
    assert_eq!(
        send("msg_2", now, Some(old_sig))
            .await
            .expect("post")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let new_sig = sign_standard(&new_secret, "msg_2", now, &body).expect("sign");
    assert_eq!(
        send("msg_2", now, Some(new_sig))
            .await
            .expect("post")
            .status(),
        StatusCode::ACCEPTED
    );
    app.shutdown().await;
}

#[tokio::test]
async fn signed_webhooks_sqlite() {
    signatures(Backend::Sqlite).await;
}

#[tokio::test]
async fn signed_webhooks_postgres() {
    signatures(Backend::Postgres).await;
}

#[tokio::test]
async fn synchronous_webhooks_answer_with_the_output() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let def = r#"
document: { dsl: '1.0.0', namespace: hooks, name: sync, version: '1.0.0' }
metadata:
  suture:
    webhook: { respond: sync }
do:
  - shape:
      set:
        hello: '${ .user }'
"#;
    let wf = app.create_workflow(def).await;
    let hook = wf["webhook_url"].as_str().expect("hook");
    let resp = app
        .client
        .post(hook)
        .json(&json!({"user": "alice"}))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body, json!({"hello": "alice"}));
    app.shutdown().await;
}

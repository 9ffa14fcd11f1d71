//! Workflow definitions through the API: create (YAML and JSON), validation errors with
//! paths, broken YAML, versions, authentication.

use reqwest::StatusCode;
use serde_json::{Value, json};
use suture_tests::support::app::assert_error;
use suture_tests::support::{Backend, spawn_app};

const VALID: &str = r#"
document: { dsl: '1.0.0', namespace: demo, name: hello, version: '1.0.0' }
do:
  - greet:
      set:
        message: '${ "hello " + .name }'
"#;

async fn create_and_version(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let created = app.create_workflow(VALID).await;
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["version"], json!(1));
    assert!(
        created["webhook_url"]
            .as_str()
            .unwrap_or_default()
            .contains("/hooks/hk_"),
        "{created}"
    );
    assert!(
        created.get("webhook_secret").is_none(),
        "no signature asked, no secret: {created}"
    );

    // JSON definitions are accepted too.
    let as_json = json!({
        "document": {"dsl": "1.0.0", "namespace": "demo", "name": "hello-json", "version": "1.0.0"},
        "do": [{"greet": {"set": {"message": "${ .name }"}}}]
    });
    let resp = app.post_json("/api/v1/workflows", &as_json).await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    // Update → version 2, both versions listed.
    let v2 = VALID.replace("hello \"", "hi \"");
    let resp = app
        .client
        .put(app.url(&format!("/api/v1/workflows/{id}")))
        .bearer_auth(&app.token)
        .header("content-type", "application/yaml")
        .body(v2)
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["version"], json!(2));
    let versions: Value = app
        .get(&format!("/api/v1/workflows/{id}/versions"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        versions["items"].as_array().map(|a| a.len()),
        Some(2),
        "{versions}"
    );

    let run = app.run_and_wait(&id, &json!({"name": "Ada"})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], json!({"message": "hi Ada"}));
    assert_eq!(run["version"], json!(2));

    let list: Value = app
        .get("/api/v1/workflows")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"].as_array().map(|a| a.len()), Some(2));

    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/workflows/{id}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/workflows/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    app.shutdown().await;
}

#[tokio::test]
async fn create_and_version_sqlite() {
    create_and_version(Backend::Sqlite).await;
}

#[tokio::test]
async fn create_and_version_postgres() {
    create_and_version(Backend::Postgres).await;
}

#[tokio::test]
async fn invalid_definitions_list_every_problem_with_its_path() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let bad = r#"
document: { dsl: '1.0.0', namespace: demo, version: '1.0.0' }
do:
  - fanOut:
      fork:
        branches: []
  - broken:
      set:
        x: '${ .a | | }'
  - notify:
      call: chat.post_message
      with: { text: hi }
"#;
    let resp = app.post_yaml("/api/v1/workflows", bad).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = resp.json().await.expect("json");
    assert_error(&body, "workflow.invalid");
    let paths: Vec<String> = body["error"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["path"].as_str().unwrap_or_default().to_string())
        .collect();
    for expected in ["/document/name", "/do/0/fanOut/fork", "/do/2/notify/call"] {
        assert!(
            paths.iter().any(|p| p == expected),
            "missing {expected} in {paths:?}"
        );
    }
    assert!(
        paths.iter().any(|p| p.starts_with("/do/1/broken")),
        "{paths:?}"
    );

    // Broken YAML: a clear 400 and the server keeps serving.
    let resp = app
        .post_yaml("/api/v1/workflows", "document: [unclosed\n  do: {")
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.expect("json");
    assert_error(&body, "workflow.syntax");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("line"),
        "{body}"
    );
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("health")
            .status(),
        StatusCode::OK
    );

    // An oversized body is refused, not buffered.
    let huge = "x".repeat(3 * 1024 * 1024);
    let resp = app.post_yaml("/api/v1/workflows", &huge).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    app.shutdown().await;
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let resp = app
        .client
        .get(app.url("/api/v1/workflows"))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.expect("json");
    assert_error(&body, "auth.unauthorized");
    let resp = app
        .get_as("sut_not-a-real-token", "/api/v1/workflows")
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app.get_as("", "/api/v1/runs").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

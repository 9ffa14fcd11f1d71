//! Runs through the API: the three-step workflow, the run record, listing and filters.

use reqwest::StatusCode;
use serde_json::{Value, json};
use suture_tests::support::defs::three_step;
use suture_tests::support::{Backend, Vendor, spawn_app};

async fn three_step_run(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app.create_workflow(&three_step(&vendor.base)).await;
    let wf_id = wf["id"].as_str().expect("id");
    let run = app
        .run_and_wait(wf_id, &json!({"user": "alice", "n": 1}))
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["input"], json!({"user": "alice", "n": 1}));
    assert_eq!(
        run["output"],
        json!({"posted": true, "message": "New product widget"})
    );
    let steps = run["steps"].as_array().cloned().unwrap_or_default();
    assert_eq!(steps.len(), 3);
    assert_eq!(
        steps[1]["output"],
        json!({"id": 123, "price": 9.99, "tags": ["a", "b"], "product_name": "widget"})
    );
    for s in &steps {
        assert_eq!(s["status"], "succeeded");
        assert!(
            s["started_at"].is_string() && s["duration_ms"].is_number(),
            "{s}"
        );
    }
    assert_eq!(steps[0]["attempts"][0]["status_code"], 200);
    assert_eq!(vendor.posted(), vec![json!({"text": "New product widget"})]);

    // Without ?wait the run is accepted and queued; the worker finishes it.
    let resp = app
        .post_json(&format!("/api/v1/workflows/{wf_id}/runs"), &json!({"n": 2}))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let body: Value = resp.json().await.expect("json");
    let run_id = body["run_id"].as_str().expect("run_id").to_string();
    let status = app.wait_run(&run_id).await["status"].clone();
    assert_eq!(status, "succeeded");

    let list: Value = app
        .get(&format!("/api/v1/runs?workflow={wf_id}&status=succeeded"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"].as_array().map(|a| a.len()), Some(2), "{list}");
    let page: Value = app
        .get("/api/v1/runs?limit=1")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["items"].as_array().map(|a| a.len()), Some(1));
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let page2: Value = app
        .get(&format!("/api/v1/runs?limit=1&cursor={cursor}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page2["items"].as_array().map(|a| a.len()), Some(1));
    assert_ne!(page["items"][0]["id"], page2["items"][0]["id"]);

    let bad = app.get("/api/v1/runs?status=bogus").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    app.shutdown().await;
}

#[tokio::test]
async fn three_step_run_is_recorded_sqlite() {
    three_step_run(Backend::Sqlite).await;
}

#[tokio::test]
async fn three_step_run_is_recorded_postgres() {
    three_step_run(Backend::Postgres).await;
}

#[tokio::test]
async fn invalid_input_fails_the_run_with_a_validation_problem() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app
        .create_workflow(&suture_tests::support::defs::get_contact(
            &vendor.base,
            "auto",
        ))
        .await;
    let run = app
        .run_and_wait(wf["id"].as_str().expect("id"), &json!({"nope": 1}))
        .await;
    assert_eq!(run["status"], "failed");
    assert!(
        run["error"]["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("validation"),
        "{run}"
    );
    assert!(vendor.hits().is_empty(), "nothing was called");
    app.shutdown().await;
}

/// Scale-out: an HTTP-only server queues runs and a separate worker (as `suture worker`)
/// executes them through the shared database queue.
async fn separate_worker_executes_queued_runs(backend: Backend) {
    use suture_server::app::Role;
    let Some(app) =
        suture_tests::support::app::spawn_app_role(backend, Role::ServerOnly, |_| {}).await
    else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app.create_workflow(&three_step(&vendor.base)).await;
    let wf_id = wf["id"].as_str().expect("id");
    // No worker yet: the run stays queued.
    let resp = app
        .post_json(
            &format!("/api/v1/workflows/{wf_id}/runs?wait=1"),
            &json!({"n": 1}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let run: Value = resp.json().await.expect("json");
    assert_eq!(run["status"], "queued", "{run}");
    let run_id = run["id"].as_str().expect("id").to_string();

    let stop = app.start_worker().await;
    let last = app.wait_run(&run_id).await;
    assert_eq!(last["status"], "succeeded", "{last}");
    assert_eq!(last["steps"].as_array().map(|a| a.len()), Some(3));
    // And a new run with ?wait is answered once the other process finishes it.
    let run = app.run_and_wait(wf_id, &json!({"n": 2})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    drop(stop);
    app.shutdown().await;
}

#[tokio::test]
async fn separate_worker_executes_queued_runs_sqlite() {
    separate_worker_executes_queued_runs(Backend::Sqlite).await;
}

#[tokio::test]
async fn separate_worker_executes_queued_runs_postgres() {
    separate_worker_executes_queued_runs(Backend::Postgres).await;
}

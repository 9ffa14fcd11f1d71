//! Tenant isolation: a token of tenant B never sees tenant A's workflows, runs or repairs.

use reqwest::StatusCode;
use serde_json::{Value, json};
use suture_tests::support::defs::get_contact;
use suture_tests::support::{Backend, Vendor, VendorMode, spawn_app};

async fn isolation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app
        .create_workflow(&get_contact(&vendor.base, "auto"))
        .await;
    let wf_id = wf["id"].as_str().expect("id");
    vendor.set_mode(VendorMode::RenamedField);
    let run = app.run_and_wait(wf_id, &json!({"contactId": 9})).await;
    let run_id = run["id"].as_str().expect("id");
    let repair_id = run["repairs"][0]["id"]
        .as_str()
        .expect("a repair")
        .to_string();

    let (_tenant_b, token_b) = app.new_tenant("tenant-b").await;
    for path in [
        format!("/api/v1/workflows/{wf_id}"),
        format!("/api/v1/workflows/{wf_id}/versions"),
        format!("/api/v1/runs/{run_id}"),
        format!("/api/v1/repairs/{repair_id}"),
    ] {
        let resp = app.get_as(&token_b, &path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let resp = app
        .post_json_as(
            &token_b,
            &format!("/api/v1/workflows/{wf_id}/runs"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = app
        .post_json_as(
            &token_b,
            &format!("/api/v1/repairs/{repair_id}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    for path in [
        "/api/v1/workflows",
        "/api/v1/runs",
        "/api/v1/repairs",
        "/api/v1/antibodies",
    ] {
        let body: Value = app.get_as(&token_b, path).await.json().await.expect("json");
        assert_eq!(body["items"], json!([]), "{path}: {body}");
        let mine: Value = app.get(path).await.json().await.expect("json");
        assert!(
            !mine["items"]
                .as_array()
                .map(|a| a.is_empty())
                .unwrap_or(true),
            "control: tenant A sees its own {path}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn tenant_b_cannot_see_tenant_a_sqlite() {
    isolation(Backend::Sqlite).await;
}

#[tokio::test]
async fn tenant_b_cannot_see_tenant_a_postgres() {
    isolation(Backend::Postgres).await;
}

//! The healing path end to end: a vendor changes under a live workflow and the run ends
//! `healed` with the vendor's own data; negative cases fail loudly and invent nothing.

use serde_json::{Value, json};
use suture_tests::support::defs::get_contact;
use suture_tests::support::{Backend, TestApp, Vendor, VendorMode, spawn_app};

async fn repairs_of(app: &TestApp, run_id: &str) -> Vec<Value> {
    let body: Value = app
        .get(&format!("/api/v1/repairs?run={run_id}"))
        .await
        .json()
        .await
        .expect("json");
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn healed_case(backend: Backend, mode: VendorMode, expect_generator: &str) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app
        .create_workflow(&get_contact(&vendor.base, "auto"))
        .await;
    let wf_id = wf["id"].as_str().expect("id");

    // Healthy first: no repair.
    let run = app.run_and_wait(wf_id, &json!({"contactId": 42})).await;
    assert_eq!(run["status"], "succeeded", "{run}");

    vendor.set_mode(mode.clone());
    let run = app.run_and_wait(wf_id, &json!({"contactId": 42})).await;
    assert_eq!(run["status"], "healed", "{mode:?}: {run}");
    // Exactly the vendor's data, mapped to the contract.
    assert_eq!(
        run["output"],
        json!({"who": "Ada Lovelace 42 <ada42@example.com>", "age": 36}),
        "{run}"
    );
    let step = &run["steps"][0];
    assert_eq!(step["status"], "healed");
    assert_eq!(step["output"]["email"], "ada42@example.com");
    let repairs = run["repairs"].as_array().cloned().unwrap_or_default();
    let accepted: Vec<&Value> = repairs
        .iter()
        .filter(|r| r["outcome"] == "accepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{repairs:?}");
    let repair = accepted[0];
    assert!(
        repair["generator"]
            .as_str()
            .unwrap_or_default()
            .starts_with(expect_generator),
        "{repair}"
    );
    assert_eq!(repair["reused"], json!(false));

    // The repair page has the failure, the patch and the verdict.
    let detail: Value = app
        .get(&format!(
            "/api/v1/repairs/{}",
            repair["id"].as_str().expect("id")
        ))
        .await
        .json()
        .await
        .expect("json");
    assert!(
        detail["patch_source"]
            .as_str()
            .unwrap_or_default()
            .contains("export default async function repair"),
        "{detail}"
    );
    assert!(!detail["failure"].is_null());
    assert_eq!(detail["verdict"]["accepted"], json!(true), "{detail}");
    let audit = detail.to_string();
    assert!(
        !audit.contains("vendor-secret-123"),
        "credentials leaked into the audit log: {audit}"
    );

    // Same breakage, different data: the antibody is reused, nothing new is generated.
    let run2 = app.run_and_wait(wf_id, &json!({"contactId": 7})).await;
    assert_eq!(run2["status"], "healed", "{run2}");
    assert_eq!(
        run2["output"],
        json!({"who": "Ada Lovelace 7 <ada7@example.com>", "age": 36})
    );
    let r2 = repairs_of(&app, run2["id"].as_str().expect("id")).await;
    assert_eq!(r2.len(), 1, "{r2:?}");
    assert_eq!(r2[0]["reused"], json!(true));
    assert_eq!(r2[0]["outcome"], "accepted");
    let antibodies: Value = app
        .get("/api/v1/antibodies")
        .await
        .json()
        .await
        .expect("json");
    let active: Vec<&Value> = antibodies["items"]
        .as_array()
        .map(|a| a.iter().filter(|x| x["status"] == "active").collect())
        .unwrap_or_default();
    assert_eq!(active.len(), 1, "{antibodies}");
    assert!(active[0]["uses"].as_i64().unwrap_or(0) >= 1);
    app.shutdown().await;
}

#[tokio::test]
async fn renamed_field_is_healed_and_the_antibody_reused_sqlite() {
    healed_case(Backend::Sqlite, VendorMode::RenamedField, "heuristic:").await;
}

#[tokio::test]
async fn renamed_field_is_healed_and_the_antibody_reused_postgres() {
    healed_case(Backend::Postgres, VendorMode::RenamedField, "heuristic:").await;
}

#[tokio::test]
async fn envelope_is_healed() {
    healed_case(Backend::Sqlite, VendorMode::Envelope, "heuristic:").await;
}

#[tokio::test]
async fn changed_type_is_healed() {
    healed_case(Backend::Sqlite, VendorMode::NumberAsString, "heuristic:").await;
}

#[tokio::test]
async fn endpoint_moved_with_link_header_is_healed() {
    healed_case(
        Backend::Sqlite,
        VendorMode::MovedWithLink,
        "heuristic:endpoint",
    )
    .await;
}

#[tokio::test]
async fn endpoint_moved_with_location_header_is_healed() {
    healed_case(
        Backend::Sqlite,
        VendorMode::MovedWithLocation,
        "heuristic:endpoint",
    )
    .await;
}

#[tokio::test]
async fn endpoint_moved_named_in_error_body_is_healed() {
    healed_case(
        Backend::Sqlite,
        VendorMode::MovedInBody,
        "heuristic:endpoint",
    )
    .await;
}

async fn failing_case(backend: Backend, mode: VendorMode) -> (TestApp, Value) {
    let app = spawn_app(backend).await.expect("sqlite always available");
    let vendor = Vendor::start().await;
    let wf = app
        .create_workflow(&get_contact(&vendor.base, "auto"))
        .await;
    vendor.set_mode(mode);
    let run = app
        .run_and_wait(wf["id"].as_str().expect("id"), &json!({"contactId": 5}))
        .await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["output"].is_null(), "{run}");
    (app, run)
}

#[tokio::test]
async fn a_vanished_field_fails_loudly_and_invents_nothing() {
    let (app, run) = failing_case(Backend::Sqlite, VendorMode::FieldGone).await;
    let detail = run["error"]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        detail.contains("email"),
        "the reason names the missing field: {run}"
    );
    assert!(detail.contains("not healed"), "{run}");
    for r in run["repairs"].as_array().cloned().unwrap_or_default() {
        assert_ne!(r["outcome"], "accepted", "{r}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn revoked_credentials_fail_without_a_repair() {
    for (mode, status, class) in [
        (VendorMode::Unauthorized, 401, "authentication"),
        (VendorMode::Forbidden, 403, "authorization"),
    ] {
        let (app, run) = failing_case(Backend::Sqlite, mode).await;
        assert_eq!(run["error"]["status"], json!(status), "{run}");
        assert!(
            run["error"]["type"]
                .as_str()
                .unwrap_or_default()
                .ends_with(class),
            "{run}"
        );
        assert_eq!(
            run["repairs"],
            json!([]),
            "never heal around revoked access: {run}"
        );
        app.shutdown().await;
    }
}

#[tokio::test]
async fn suggest_mode_waits_for_approval_then_resumes() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app
        .create_workflow(&get_contact(&vendor.base, "suggest"))
        .await;
    vendor.set_mode(VendorMode::RenamedField);
    let run = app
        .run_and_wait(wf["id"].as_str().expect("id"), &json!({"contactId": 3}))
        .await;
    assert_eq!(run["status"], "waiting_approval", "{run}");
    let repairs = run["repairs"].as_array().cloned().unwrap_or_default();
    let pending = repairs
        .iter()
        .find(|r| r["outcome"] == "pending_approval")
        .expect("a pending repair");
    let resp = app
        .post_json(
            &format!(
                "/api/v1/repairs/{}/approve",
                pending["id"].as_str().expect("id")
            ),
            &json!({}),
        )
        .await;
    assert!(
        resp.status().is_success(),
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let run_id = run["id"].as_str().expect("id");
    let last = app.wait_run(run_id).await;
    assert_eq!(last["status"], "healed", "{last}");
    assert_eq!(last["output"]["who"], "Ada Lovelace 3 <ada3@example.com>");
    app.shutdown().await;
}

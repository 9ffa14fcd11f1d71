//! Transient faults are retried with back-off and the run succeeds with every attempt shown.

use serde_json::json;
use suture_tests::support::defs::get_contact;
use suture_tests::support::{Backend, Vendor, VendorMode, flaky, spawn_app};

#[tokio::test]
async fn bursts_of_503_are_retried_through() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app
        .create_workflow(&get_contact(&vendor.base, "auto"))
        .await;
    vendor.set_mode(VendorMode::Burst503(2));
    let run = app
        .run_and_wait(wf["id"].as_str().expect("id"), &json!({"contactId": 1}))
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let attempts = run["steps"][0]["attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(attempts[0]["status_code"], 503);
    assert_eq!(attempts[0]["outcome"], "transient");
    assert_eq!(attempts[2]["outcome"], "ok");
    // Back-off happened: the second attempt started at least ~250 ms (half of 500 ms) later.
    let t0 = chrono::DateTime::parse_from_rfc3339(
        attempts[0]["started_at"].as_str().unwrap_or_default(),
    )
    .expect("ts");
    let t1 = chrono::DateTime::parse_from_rfc3339(
        attempts[1]["started_at"].as_str().unwrap_or_default(),
    )
    .expect("ts");
    assert!(
        (t1 - t0).num_milliseconds() >= 250,
        "no back-off between attempts: {attempts:?}"
    );
    assert_eq!(run["repairs"], json!([]));
    app.shutdown().await;
}

#[tokio::test]
async fn rate_limits_honour_retry_after() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app
        .create_workflow(&get_contact(&vendor.base, "auto"))
        .await;
    vendor.set_mode(VendorMode::RateLimited);
    let run = app
        .run_and_wait(wf["id"].as_str().expect("id"), &json!({"contactId": 1}))
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let attempts = run["steps"][0]["attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["status_code"], 429);
    let t0 = chrono::DateTime::parse_from_rfc3339(
        attempts[0]["started_at"].as_str().unwrap_or_default(),
    )
    .expect("ts");
    let t1 = chrono::DateTime::parse_from_rfc3339(
        attempts[1]["started_at"].as_str().unwrap_or_default(),
    )
    .expect("ts");
    assert!(
        (t1 - t0).num_milliseconds() >= 950,
        "Retry-After: 1 not honoured: {attempts:?}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn connection_resets_are_retried_through() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let upstream = flaky::start(
        2,
        r#"{"id":123,"name":"widget","price":9.99,"tags":["a","b"]}"#,
    )
    .await;
    let def = format!(
        r#"
document: {{ dsl: '1.0.0', namespace: t, name: flaky, version: '1.0.0' }}
do:
  - fetch:
      call: http
      with: {{ method: get, endpoint: '{}/data' }}
"#,
        upstream.base
    );
    let wf = app.create_workflow(&def).await;
    let run = app
        .run_and_wait(wf["id"].as_str().expect("id"), &json!({}))
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"]["name"], "widget");
    let attempts = run["steps"][0]["attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(attempts[0]["error"].is_string(), "{attempts:?}");
    assert_eq!(upstream.connections(), 3);
    app.shutdown().await;
}

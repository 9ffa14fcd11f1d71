//! Webhook intake, `POST /hooks/{hook_id}`: the unguessable hook id fixes the workflow and so
//! the tenant. Checks the signature the definition asks for, de-duplicates redeliveries by
//! `webhook-id` / `Idempotency-Key` for 24 h, turns the body into the run input, records the
//! (redacted) headers and query, and answers 202 — or the run's output when the workflow asks
//! for a synchronous response.

pub mod signature;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use suture_domain::ids::{RunId, TenantId, WorkflowId};
use suture_domain::workflow::{RespondMode, SignatureScheme};
use suture_engine::Disposition;
use suture_engine::runs::{Delivery, StartRun, start, start_delivery};

use crate::api::error::{ApiError, ApiResult};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/hooks/{hook_id}", post(receive))
}

/// How long a delivery id is remembered.
const DEDUP_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization"
            | "proxy-authorization"
            | "cookie"
            | "webhook-signature"
            | "x-hub-signature-256"
            | "x-hub-signature"
    ) || n.contains("token")
        || n.contains("secret")
        || n.contains("api-key")
}

/// Headers and query as recorded with the run and offered to expressions as `$workflow.input`'s
/// companion `trigger_meta` (documented in the README): secrets redacted.
fn trigger_meta(headers: &HeaderMap, query: Option<&str>) -> Value {
    let mut h = BTreeMap::new();
    for (k, v) in headers {
        let value = if is_sensitive_header(k.as_str()) {
            "[redacted]".to_string()
        } else {
            v.to_str().unwrap_or("[binary]").to_string()
        };
        h.insert(k.as_str().to_string(), Value::String(value));
    }
    let mut q = Map::new();
    if let Some(query) = query {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            q.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    json!({ "headers": h, "query": q })
}

/// JSON stays as is; a form becomes an object of its fields; anything else `{"raw": text}`.
fn body_to_input(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let ct = header(headers, "content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    if body.is_empty() {
        return Ok(json!({}));
    }
    if ct.contains("json") {
        return serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(
                "webhook.bad_body",
                format!("the body is not valid JSON: {e}"),
            )
        });
    }
    if ct.starts_with("application/x-www-form-urlencoded") {
        let mut obj = Map::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            obj.insert(k.into_owned(), Value::String(v.into_owned()));
        }
        return Ok(Value::Object(obj));
    }
    Ok(json!({ "raw": String::from_utf8_lossy(body) }))
}

async fn receive(
    State(state): State<AppState>,
    Path(hook_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("webhook.not_found", "webhook");
    if !hook_id.starts_with("hk_") || hook_id.len() > 64 {
        return Err(not_found());
    }
    let wf = state
        .db
        .workflows()
        .find_by_hook(&hook_id)
        .await?
        .ok_or_else(not_found)?;
    let tenant = TenantId::from_uuid(wf.tenant_id);
    let workflow = WorkflowId::from_uuid(wf.id);
    let def = state
        .executor
        .definition(tenant, workflow, wf.current_version)
        .await?;
    let settings = def.suture.webhook.clone().unwrap_or_default();

    if let Some(scheme) = settings.signature {
        let Some(secret) = wf.webhook_secret.as_deref() else {
            return Err(ApiError::unauthorized(
                "this webhook requires a signature but has no secret; rotate it via the API",
            ));
        };
        let now = chrono::Utc::now().timestamp();
        let verdict = match scheme {
            SignatureScheme::StandardWebhooks => signature::verify_standard(
                secret,
                header(&headers, "webhook-id"),
                header(&headers, "webhook-timestamp"),
                header(&headers, "webhook-signature"),
                &body,
                now,
            ),
            SignatureScheme::Github => {
                signature::verify_github(secret, header(&headers, "x-hub-signature-256"), &body)
            }
        };
        if let Err(e) = verdict {
            tracing::info!(workflow.id = %workflow, reason = %e, "webhook signature refused");
            return Err(ApiError::unauthorized(format!(
                "webhook signature check failed: {e}"
            )));
        }
    }

    let delivery_id = header(&headers, "webhook-id")
        .or_else(|| header(&headers, "idempotency-key"))
        .map(str::to_string);
    if delivery_id.as_ref().is_some_and(|d| d.len() > 256) {
        return Err(ApiError::bad_request(
            "webhook.bad_delivery_id",
            "`webhook-id` is longer than 256 characters",
        ));
    }
    let input = body_to_input(&headers, &body)?;
    let sync = settings.respond == RespondMode::Sync;
    let run = StartRun {
        tenant,
        workflow,
        version: wf.current_version,
        input,
        trigger: "webhook",
        trigger_meta: Some(trigger_meta(&headers, query.as_deref())),
    };
    let timeout = Duration::from_millis(settings.sync_timeout_ms);
    let run_id = match &delivery_id {
        // The fast path of a synchronous webhook: the run is created already claimed and
        // executed right here, without a trip through the queue.
        None if sync => {
            let created = state.executor.create_claimed(run).await?;
            let id = created.id;
            let executor = state.executor.clone();
            let execution = tokio::spawn(async move { executor.execute_created(created).await });
            return respond_sync(&state, tenant, id, execution, timeout).await;
        }
        None => start(&state.deps, run).await?,
        Some(d) => {
            let window = chrono::Utc::now() - DEDUP_WINDOW;
            match start_delivery(&state.deps, run, sync, d, window).await? {
                Delivery::Started(id) => id,
                Delivery::Duplicate(first) => {
                    return Ok((
                        StatusCode::ACCEPTED,
                        Json(json!({ "run_id": first.to_string(), "duplicate": true })),
                    )
                        .into_response());
                }
            }
        }
    };
    if !sync {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "run_id": run_id.to_string() })),
        )
            .into_response());
    }
    let executor = state.executor.clone();
    let execution = tokio::spawn(async move { executor.execute(run_id).await });
    respond_sync(&state, tenant, run_id, execution, timeout).await
}

/// Waits for the execution (a spawned task, so a slow run is never dropped half-way) up to the
/// workflow's sync timeout, then answers with the output, the failure, or the run id.
async fn respond_sync(
    state: &AppState,
    tenant: TenantId,
    run_id: RunId,
    execution: tokio::task::JoinHandle<
        Result<suture_engine::Disposition, suture_engine::EngineError>,
    >,
    timeout: Duration,
) -> ApiResult<Response> {
    let disposition = match tokio::time::timeout(timeout, execution).await {
        Ok(Ok(Ok(d))) => d,
        Ok(Ok(Err(e))) => return Err(e.into()),
        Ok(Err(join)) => return Err(ApiError::internal(join)),
        // Still running: it goes on in the background; the caller gets its id.
        Err(_) => {
            return Ok((
                StatusCode::ACCEPTED,
                Json(json!({ "run_id": run_id.to_string(), "status": "running" })),
            )
                .into_response());
        }
    };
    let (status, output, error) = match disposition {
        Disposition::Finished {
            status,
            output,
            error,
        } => (status.as_str().to_string(), output, error),
        // Executed elsewhere (a redelivery raced us) or parked: read what the row says.
        Disposition::NotClaimed => {
            let run = state
                .db
                .runs()
                .find(tenant, run_id)
                .await?
                .ok_or_else(|| ApiError::not_found("run.not_found", "run"))?;
            (run.status, run.output, run.error)
        }
        Disposition::WaitingApproval => ("waiting_approval".to_string(), None, None),
        Disposition::Requeued => ("queued".to_string(), None, None),
    };
    let mut resp = match status.as_str() {
        "succeeded" | "healed" => (StatusCode::OK, Json(output.unwrap_or(Value::Null))).into_response(),
        "failed" => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "error": { "code": "run.failed", "message": "the workflow run failed", "run_id": run_id.to_string(), "problem": error } })),
        )
            .into_response(),
        other => (StatusCode::ACCEPTED, Json(json!({ "run_id": run_id.to_string(), "status": other }))).into_response(),
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&run_id.to_string()) {
        resp.headers_mut().insert("suture-run-id", v);
    }
    Ok(resp)
}

//! `/api/v1/workflows`: create (YAML or JSON), list, read, update (a new immutable version),
//! delete, versions, webhook-secret rotation, and starting runs.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use suture_domain::ids::WorkflowId;
use suture_domain::workflow::{Definition, DefinitionError, SourceFormat, parse_definition};
use suture_engine::runs::{StartRun, start, wait_until_settled};

use super::error::{ApiError, ApiResult, FieldProblem};
use crate::app::AppState;
use crate::auth::ApiAuth;
use crate::auth::secrets::{new_hook_id, new_webhook_secret};
use crate::views_json::{run_json, workflow_json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/workflows", post(create).get(list))
        .route(
            "/api/v1/workflows/{id}",
            get(show).put(update).delete(remove),
        )
        .route("/api/v1/workflows/{id}/versions", get(versions))
        .route("/api/v1/workflows/{id}/webhook-secret", post(rotate_secret))
        .route("/api/v1/workflows/{id}/runs", post(start_run))
}

pub fn parse_workflow_id(raw: &str) -> Result<WorkflowId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("workflow.not_found", "workflow"))
}

/// The body's format from `Content-Type`, else by its first character.
fn source_format(headers: &HeaderMap, body: &str) -> SourceFormat {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.contains("json") {
        SourceFormat::Json
    } else if ct.contains("yaml") || ct.contains("yml") {
        SourceFormat::Yaml
    } else if body.trim_start().starts_with('{') {
        SourceFormat::Json
    } else {
        SourceFormat::Yaml
    }
}

pub fn format_name(f: SourceFormat) -> &'static str {
    match f {
        SourceFormat::Json => "json",
        SourceFormat::Yaml => "yaml",
    }
}

/// Parses and validates a definition body into the API's error shapes.
pub fn parse_body(
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<(Definition, String, SourceFormat)> {
    let text = std::str::from_utf8(body).map_err(|_| {
        ApiError::bad_request("workflow.syntax", "the definition is not UTF-8 text")
    })?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "workflow.syntax",
            "the request body is empty; send the definition as YAML or JSON",
        ));
    }
    let format = source_format(headers, text);
    match parse_definition(text, format) {
        Ok(def) => Ok((def, text.to_string(), format)),
        Err(DefinitionError::Syntax {
            message,
            line,
            column,
        }) => {
            let at = match (line, column) {
                (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
                (Some(l), None) => format!(" at line {l}"),
                _ => String::new(),
            };
            Err(ApiError::bad_request(
                "workflow.syntax",
                format!(
                    "the {} is malformed{at}: {message}",
                    format_name(format).to_uppercase()
                ),
            ))
        }
        Err(DefinitionError::Invalid { problems }) => {
            let n = problems.len();
            Err(ApiError::invalid(
                "workflow.invalid",
                format!(
                    "the definition has {n} problem{}",
                    if n == 1 { "" } else { "s" }
                ),
                problems
                    .into_iter()
                    .map(|p| FieldProblem {
                        path: p.path,
                        message: p.message,
                    })
                    .collect(),
            ))
        }
    }
}

fn wants_secret(def: &Definition) -> bool {
    def.suture
        .webhook
        .as_ref()
        .is_some_and(|w| w.signature.is_some())
}

async fn create(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (def, source, format) = parse_body(&headers, &body)?;
    let name = def.document.name.clone();
    if state
        .db
        .workflows()
        .find_by_name(auth.tenant, &name)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(
            "workflow.exists",
            format!(
                "a workflow named `{name}` already exists; PUT /api/v1/workflows/{{id}} adds a version"
            ),
        ));
    }
    let secret = wants_secret(&def).then(new_webhook_secret);
    let (wf, version) = state
        .db
        .workflows()
        .create(
            auth.tenant,
            suture_storage::NewWorkflow {
                name: &name,
                definition: def.normalized.clone(),
                source: &source,
                source_format: format_name(format),
                hook_id: &new_hook_id(),
                webhook_secret: secret.as_deref(),
            },
        )
        .await?;
    let mut body = json!({
        "id": wf.id.to_string(),
        "version": version.version,
        "webhook_url": format!("{}/hooks/{}", state.public_url, wf.hook_id),
    });
    if let Some(secret) = secret {
        body["webhook_secret"] = json!(secret);
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn list(State(state): State<AppState>, auth: ApiAuth) -> ApiResult<Json<Value>> {
    let items = state.db.workflows().list(auth.tenant).await?;
    Ok(Json(
        json!({ "items": items.iter().map(|w| workflow_json(&state.public_url, w, None)).collect::<Vec<_>>() }),
    ))
}

async fn show(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_workflow_id(&id)?;
    let wf = find(&state, &auth, id).await?;
    let version = state
        .db
        .workflows()
        .version(auth.tenant, id, wf.current_version)
        .await?;
    Ok(Json(workflow_json(
        &state.public_url,
        &wf,
        version.as_ref(),
    )))
}

async fn find(
    state: &AppState,
    auth: &ApiAuth,
    id: WorkflowId,
) -> ApiResult<suture_storage::entities::workflows::Model> {
    state
        .db
        .workflows()
        .find(auth.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow.not_found", "workflow"))
}

async fn update(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = parse_workflow_id(&id)?;
    let wf = find(&state, &auth, id).await?;
    let (def, source, format) = parse_body(&headers, &body)?;
    if def.document.name != wf.name {
        return Err(ApiError::invalid(
            "workflow.invalid",
            "a new version must keep the workflow's name",
            vec![FieldProblem {
                path: "/document/name".into(),
                message: format!("expected `{}`", wf.name),
            }],
        ));
    }
    let version = state
        .db
        .workflows()
        .add_version(
            auth.tenant,
            id,
            suture_storage::NewVersion {
                definition: def.normalized.clone(),
                source: &source,
                source_format: format_name(format),
            },
        )
        .await?;
    // A definition that newly asks for a signature needs a secret; show it this once.
    let mut secret = None;
    if wants_secret(&def) && wf.webhook_secret.is_none() {
        let s = new_webhook_secret();
        state
            .db
            .workflows()
            .set_webhook_secret(auth.tenant, id, Some(&s))
            .await?;
        secret = Some(s);
    }
    let mut body = json!({
        "id": id.to_string(),
        "version": version.version,
        "webhook_url": format!("{}/hooks/{}", state.public_url, wf.hook_id),
    });
    if let Some(s) = secret {
        body["webhook_secret"] = json!(s);
    }
    Ok(Json(body))
}

async fn remove(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_workflow_id(&id)?;
    find(&state, &auth, id).await?;
    state.db.workflows().soft_delete(auth.tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn versions(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_workflow_id(&id)?;
    find(&state, &auth, id).await?;
    let versions = state.db.workflows().versions(auth.tenant, id).await?;
    let items: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "version": v.version, "created_at": v.created_at, "source_format": v.source_format }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn rotate_secret(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_workflow_id(&id)?;
    find(&state, &auth, id).await?;
    let secret = new_webhook_secret();
    state
        .db
        .workflows()
        .set_webhook_secret(auth.tenant, id, Some(&secret))
        .await?;
    Ok(Json(json!({ "webhook_secret": secret })))
}

#[derive(Debug, Deserialize)]
struct RunQuery {
    wait: Option<f64>,
}

/// Longest `?wait=` honoured, so a request cannot pin a connection for ever.
const MAX_WAIT_SECS: f64 = 120.0;

async fn start_run(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(q): Query<RunQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_workflow_id(&id)?;
    let wf = find(&state, &auth, id).await?;
    let input: Value = if body.iter().all(|b| b.is_ascii_whitespace()) {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request("run.bad_input", format!("the run input must be JSON: {e}"))
        })?
    };
    let run_id = start(
        &state.deps,
        StartRun {
            tenant: auth.tenant,
            workflow: id,
            version: wf.current_version,
            input,
            trigger: "api",
            trigger_meta: None,
        },
    )
    .await?;
    match q.wait {
        None => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "run_id": run_id.to_string() })),
        )
            .into_response()),
        Some(secs) => {
            if !(0.0..=MAX_WAIT_SECS).contains(&secs) {
                return Err(ApiError::bad_request(
                    "run.bad_wait",
                    format!("`wait` must be between 0 and {MAX_WAIT_SECS} seconds"),
                ));
            }
            let settled = wait_until_settled(
                &state.executor,
                auth.tenant,
                run_id,
                Duration::from_secs_f64(secs),
            )
            .await?;
            let body = run_json(&state, auth.tenant, run_id).await?;
            let status = if settled {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            Ok((status, Json(body)).into_response())
        }
    }
}

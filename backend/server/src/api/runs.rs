//! `/api/v1/runs`: list with filters and keyset pagination, read, resume, cancel, replay.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use suture_domain::ids::{RunId, WorkflowId};
use suture_domain::status::RunStatus;
use suture_storage::RunFilter;

use super::error::{ApiError, ApiResult};
use super::pagination;
use crate::app::AppState;
use crate::auth::ApiAuth;
use crate::views_json::{run_json, run_summary_json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/runs", get(list))
        .route("/api/v1/runs/replay", post(replay))
        .route("/api/v1/runs/{id}", get(show))
        .route("/api/v1/runs/{id}/resume", post(resume))
        .route("/api/v1/runs/{id}/cancel", post(cancel))
}

pub fn parse_run_id(raw: &str) -> Result<RunId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("run.not_found", "run"))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub workflow: Option<String>,
    pub status: Option<String>,
    pub since: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

pub fn parse_filter(q: &ListQuery) -> ApiResult<RunFilter> {
    let workflow = match q.workflow.as_deref().filter(|s| !s.is_empty()) {
        Some(w) => Some(w.parse::<WorkflowId>().map_err(|_| {
            ApiError::bad_request("run.bad_filter", "`workflow` is not a workflow id")
        })?),
        None => None,
    };
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse::<RunStatus>().map_err(|_| {
            ApiError::bad_request(
                "run.bad_filter",
                format!("`status` must be one of queued, running, succeeded, healed, failed, cancelled, waiting_approval (got `{s}`)"),
            )
        })?),
        None => None,
    };
    let since = match q.since.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    ApiError::bad_request("run.bad_filter", "`since` must be an RFC 3339 timestamp")
                })?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let cursor = q
        .cursor
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(pagination::decode)
        .transpose()?;
    Ok(RunFilter {
        workflow,
        status,
        since,
        limit: pagination::limit(q.limit)?,
        cursor: cursor.map(|(created_at, id)| suture_storage::RunCursor {
            created_at,
            id: RunId::from_uuid(id),
        }),
    })
}

async fn list(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filter = parse_filter(&q)?;
    let limit = filter.limit;
    let runs = state.db.runs().list(auth.tenant, &filter).await?;
    let next = (runs.len() as u64 == limit)
        .then(|| runs.last().map(|r| pagination::encode(r.created_at, r.id)))
        .flatten();
    Ok(Json(
        json!({ "items": runs.iter().map(run_summary_json).collect::<Vec<_>>(), "next_cursor": next }),
    ))
}

async fn show(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_run_id(&id)?;
    Ok(Json(run_json(&state, auth.tenant, id).await?))
}

/// Resumes a failed or cancelled run after a human fix: finished steps are kept, the failed
/// step runs again with a new idempotency attempt group.
async fn resume(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_run_id(&id)?;
    state
        .db
        .runs()
        .find(auth.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run.not_found", "run"))?;
    let resumed = state.db.runs().resume(auth.tenant, id).await?;
    if !resumed {
        return Err(ApiError::conflict(
            "run.not_resumable",
            "only failed, cancelled or waiting runs can be resumed",
        ));
    }
    state.deps.queue.enqueue(id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "run_id": id.to_string(), "status": "queued" })),
    ))
}

async fn cancel(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_run_id(&id)?;
    state
        .db
        .runs()
        .find(auth.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run.not_found", "run"))?;
    let from = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::WaitingApproval,
    ];
    if !state
        .db
        .runs()
        .set_status(auth.tenant, id, &from, RunStatus::Cancelled)
        .await?
    {
        return Err(ApiError::conflict(
            "run.not_cancellable",
            "the run has already ended",
        ));
    }
    state.executor.events().finished(id);
    Ok(Json(
        json!({ "run_id": id.to_string(), "status": "cancelled" }),
    ))
}

#[derive(Debug, Deserialize)]
struct ReplayBody {
    workflow: Option<String>,
    status: Option<String>,
    since: Option<String>,
    limit: Option<u64>,
}

/// Starts a new run with the same input for each run matching the filter (at most 500).
async fn replay(
    State(state): State<AppState>,
    auth: ApiAuth,
    Json(body): Json<ReplayBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let q = ListQuery {
        workflow: body.workflow,
        status: body.status,
        since: body.since,
        limit: body.limit.or(Some(100)),
        cursor: None,
    };
    let filter = parse_filter(&q)?;
    let runs = state.db.runs().list(auth.tenant, &filter).await?;
    let mut started = Vec::new();
    for r in runs {
        let Some(wf) = state
            .db
            .workflows()
            .find(auth.tenant, WorkflowId::from_uuid(r.workflow_id))
            .await?
        else {
            continue;
        };
        let id = suture_engine::runs::start(
            &state.deps,
            suture_engine::runs::StartRun {
                tenant: auth.tenant,
                workflow: WorkflowId::from_uuid(r.workflow_id),
                version: wf.current_version,
                input: r.input.clone(),
                trigger: "replay",
                trigger_meta: Some(json!({ "replay_of": r.id.to_string() })),
            },
        )
        .await?;
        started.push(json!({ "run_id": id.to_string(), "replay_of": r.id.to_string() }));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "items": started }))))
}

//! `/api/v1/repairs` (the repair audit log) and `/api/v1/antibodies`: read, approve or reject
//! a suggested repair, retire an antibody.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use suture_domain::ids::{AntibodyId, RepairId, RunId, TenantId, UserId, WorkflowId};
use suture_domain::status::RunStatus;
use suture_storage::RepairFilter;

use super::error::{ApiError, ApiResult};
use super::pagination;
use crate::app::AppState;
use crate::auth::ApiAuth;
use crate::views_json::{antibody_json, repair_json, repair_summary_json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/repairs", get(list))
        .route("/api/v1/repairs/{id}", get(show))
        .route("/api/v1/repairs/{id}/approve", post(approve))
        .route("/api/v1/repairs/{id}/reject", post(reject))
        .route("/api/v1/antibodies", get(list_antibodies))
        .route("/api/v1/antibodies/{id}/retire", post(retire))
}

fn parse_repair_id(raw: &str) -> Result<RepairId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("repair.not_found", "repair"))
}

#[derive(Debug, Deserialize)]
pub struct RepairQuery {
    pub run: Option<String>,
    pub workflow: Option<String>,
    pub status: Option<String>,
    pub generator: Option<String>,
    pub limit: Option<u64>,
}

pub const OUTCOMES: [&str; 5] = [
    "accepted",
    "rejected",
    "error",
    "pending_approval",
    "approved",
];

pub fn parse_repair_filter(q: &RepairQuery) -> ApiResult<RepairFilter> {
    let run = match q.run.as_deref().filter(|s| !s.is_empty()) {
        Some(r) => Some(
            r.parse::<RunId>()
                .map_err(|_| ApiError::bad_request("repair.bad_filter", "`run` is not a run id"))?,
        ),
        None => None,
    };
    let workflow = match q.workflow.as_deref().filter(|s| !s.is_empty()) {
        Some(w) => Some(w.parse::<WorkflowId>().map_err(|_| {
            ApiError::bad_request("repair.bad_filter", "`workflow` is not a workflow id")
        })?),
        None => None,
    };
    let outcome = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) if OUTCOMES.contains(&s) => Some(s.to_string()),
        Some(s) => {
            return Err(ApiError::bad_request(
                "repair.bad_filter",
                format!(
                    "`status` must be one of {} (got `{s}`)",
                    OUTCOMES.join(", ")
                ),
            ));
        }
        None => None,
    };
    Ok(RepairFilter {
        run,
        workflow,
        outcome,
        generator: q.generator.clone().filter(|s| !s.is_empty()),
        limit: pagination::limit(q.limit)?,
    })
}

async fn list(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(q): Query<RepairQuery>,
) -> ApiResult<Json<Value>> {
    let filter = parse_repair_filter(&q)?;
    let items = state.db.repairs().list(auth.tenant, &filter).await?;
    Ok(Json(
        json!({ "items": items.iter().map(repair_summary_json).collect::<Vec<_>>() }),
    ))
}

async fn show(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_repair_id(&id)?;
    let r = state
        .db
        .repairs()
        .find(auth.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("repair.not_found", "repair"))?;
    Ok(Json(repair_json(&r)))
}

async fn approve(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_repair_id(&id)?;
    decide(&state, auth.tenant, id, Decision::Approve, None).await?;
    Ok(Json(
        json!({ "repair_id": id.to_string(), "outcome": "approved" }),
    ))
}

async fn reject(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_repair_id(&id)?;
    decide(&state, auth.tenant, id, Decision::Reject, None).await?;
    Ok(Json(
        json!({ "repair_id": id.to_string(), "outcome": "rejected" }),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// A human's verdict on a suggested repair, shared by the API and the dashboard. Approval
/// activates the candidate antibody and resumes the parked run (which re-executes the step and
/// applies the antibody, still validated); rejection fails the run with the reason.
pub async fn decide(
    state: &AppState,
    tenant: TenantId,
    id: RepairId,
    decision: Decision,
    by: Option<UserId>,
) -> ApiResult<()> {
    let repair = state
        .db
        .repairs()
        .find(tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("repair.not_found", "repair"))?;
    if repair.outcome != "pending_approval" {
        return Err(ApiError::conflict(
            "repair.not_pending",
            format!("the repair is `{}`, not awaiting approval", repair.outcome),
        ));
    }
    let run_id = RunId::from_uuid(repair.run_id);
    match decision {
        Decision::Approve => {
            state
                .db
                .repairs()
                .set_outcome(tenant, id, "approved", by)
                .await?;
            if let Some(ab) = repair.antibody_id {
                state
                    .db
                    .antibodies()
                    .set_status(tenant, AntibodyId::from_uuid(ab), "active")
                    .await?;
            }
            if state
                .db
                .runs()
                .set_status(
                    tenant,
                    run_id,
                    &[RunStatus::WaitingApproval],
                    RunStatus::Queued,
                )
                .await?
            {
                state.deps.queue.enqueue(run_id).await?;
            }
        }
        Decision::Reject => {
            state
                .db
                .repairs()
                .set_outcome(tenant, id, "rejected", by)
                .await?;
            if let Some(ab) = repair.antibody_id {
                state
                    .db
                    .antibodies()
                    .set_status(tenant, AntibodyId::from_uuid(ab), "rejected")
                    .await?;
            }
            let problem = json!({
                "type": "https://serverlessworkflow.io/spec/1.0.0/errors/validation",
                "status": 502,
                "title": "the suggested repair was rejected",
                "detail": format!("repair {id} was rejected by a human; fix the workflow or the vendor, then resume the run"),
                "instance": format!("/do/{}", repair.task_name),
            });
            if state
                .db
                .runs()
                .fail_waiting(tenant, run_id, problem)
                .await?
            {
                state.executor.events().finished(run_id);
            }
        }
    }
    Ok(())
}

async fn list_antibodies(State(state): State<AppState>, auth: ApiAuth) -> ApiResult<Json<Value>> {
    let items = state.db.antibodies().list(auth.tenant).await?;
    Ok(Json(
        json!({ "items": items.iter().map(antibody_json).collect::<Vec<_>>() }),
    ))
}

async fn retire(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: AntibodyId = id
        .parse()
        .map_err(|_| ApiError::not_found("antibody.not_found", "antibody"))?;
    if !state.db.antibodies().retire(auth.tenant, id).await? {
        return Err(ApiError::not_found("antibody.not_found", "antibody"));
    }
    Ok(Json(
        json!({ "antibody_id": id.to_string(), "status": "retired" }),
    ))
}

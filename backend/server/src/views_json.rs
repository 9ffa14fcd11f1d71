//! JSON shapes of API resources, built from storage rows (never the rows themselves, so a new
//! column cannot leak a secret such as a webhook secret or a token hash).

use serde_json::{Value, json};
use suture_domain::ids::{RunId, TenantId};
use suture_storage::entities::{antibodies, repairs, runs, steps, workflow_versions, workflows};

use crate::api::error::{ApiError, ApiResult};
use crate::app::AppState;

pub fn workflow_json(
    public_url: &str,
    wf: &workflows::Model,
    version: Option<&workflow_versions::Model>,
) -> Value {
    let mut v = json!({
        "id": wf.id.to_string(),
        "name": wf.name,
        "version": wf.current_version,
        "webhook_url": format!("{public_url}/hooks/{}", wf.hook_id),
        "signed_webhooks": wf.webhook_secret.is_some(),
        "created_at": wf.created_at,
        "updated_at": wf.updated_at,
    });
    if let Some(ver) = version {
        v["definition"] = ver.definition.clone();
        v["source_format"] = json!(ver.source_format);
    }
    v
}

pub fn run_summary_json(r: &runs::Model) -> Value {
    json!({
        "id": r.id.to_string(),
        "workflow_id": r.workflow_id.to_string(),
        "version": r.version,
        "status": r.status,
        "trigger": r.trigger,
        "healed": r.healed,
        "created_at": r.created_at,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
    })
}

pub fn step_json(s: &steps::Model) -> Value {
    json!({
        "id": s.id.to_string(),
        "position": s.position,
        "name": s.name,
        "status": s.status,
        "input": s.input,
        "output": s.output,
        "error": s.error,
        "attempts": s.attempts,
        "repair_ids": s.repair_ids,
        "started_at": s.started_at,
        "finished_at": s.finished_at,
        "duration_ms": s.duration_ms,
    })
}

pub fn repair_summary_json(r: &repairs::Model) -> Value {
    json!({
        "id": r.id.to_string(),
        "run_id": r.run_id.to_string(),
        "step_id": r.step_id.map(|s| s.to_string()),
        "workflow_id": r.workflow_id.to_string(),
        "task_name": r.task_name,
        "tool": r.tool,
        "operation": r.operation,
        "failure_class": r.failure_class,
        "fingerprint": r.fingerprint,
        "diagnosis": r.diagnosis,
        "generator": r.generator,
        "outcome": r.outcome,
        "reused": r.reused,
        "antibody_id": r.antibody_id.map(|a| a.to_string()),
        "duration_ms": r.duration_ms,
        "created_at": r.created_at,
    })
}

pub fn repair_json(r: &repairs::Model) -> Value {
    let mut v = repair_summary_json(r);
    v["failure"] = r.failure.clone();
    v["patch_source"] = json!(r.patch_source);
    v["sandbox_log"] = r.sandbox_log.clone();
    v["verdict"] = r.verdict.clone();
    v["approved_by"] = json!(r.approved_by.map(|u| u.to_string()));
    v
}

pub fn antibody_json(a: &antibodies::Model) -> Value {
    json!({
        "id": a.id.to_string(),
        "fingerprint": a.fingerprint,
        "tool": a.tool,
        "operation": a.operation,
        "failure_class": a.failure_class,
        "generator": a.generator,
        "patch_source": a.patch_source,
        "status": a.status,
        "uses": a.uses,
        "source_repair_id": a.source_repair_id.to_string(),
        "created_at": a.created_at,
        "last_used_at": a.last_used_at,
        "retired_at": a.retired_at,
    })
}

/// The full run resource: status, input, output, error, steps with attempts, repairs.
pub async fn run_json(state: &AppState, tenant: TenantId, id: RunId) -> ApiResult<Value> {
    let run = state
        .db
        .runs()
        .find(tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run.not_found", "run"))?;
    let steps = state.db.steps().list_for_run(tenant, id).await?;
    let repairs = state.db.repairs().list_for_run(tenant, id).await?;
    let mut v = run_summary_json(&run);
    v["input"] = run.input.clone();
    v["output"] = run.output.clone().unwrap_or(Value::Null);
    v["error"] = run.error.clone().unwrap_or(Value::Null);
    v["trigger_meta"] = run.trigger_meta.clone().unwrap_or(Value::Null);
    v["steps"] = Value::Array(steps.iter().map(step_json).collect());
    v["repairs"] = Value::Array(repairs.iter().map(repair_summary_json).collect());
    Ok(v)
}

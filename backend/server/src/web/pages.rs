//! Dashboard pages: overview, runs, run timeline, repair audit log, repair page with its
//! decisions, workflows and antibodies. Handlers turn rows into view models (never entities).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use suture_domain::ids::{AntibodyId, RepairId, RunId, WorkflowId};
use suture_domain::status::Role;
use suture_storage::entities::{repairs, runs};
use suture_storage::{RepairFilter, RunFilter};

use super::WebError;
use super::format::{between, duration_ms, pretty, short, when};
use crate::api::repairs::{Decision, decide};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::views::*;

type Page<T> = Result<T, WebError>;

async fn chrome(
    state: &AppState,
    auth: &SessionAuth,
    title: &str,
    nav: &'static str,
) -> Page<Chrome> {
    let tenants = state.db.tenants().list_for_user(auth.user_id).await?;
    Ok(Chrome {
        title: title.to_string(),
        user_email: auth.email.clone(),
        tenant_name: auth.tenant_name.clone(),
        tenants: tenants
            .into_iter()
            .map(|(t, _)| TenantChoice {
                current: t.id == auth.tenant.as_uuid(),
                id: t.id.to_string(),
                name: t.name,
            })
            .collect(),
        csrf_token: auth.csrf_token.clone(),
        nav,
        flash: None,
    })
}

async fn workflow_names(state: &AppState, auth: &SessionAuth) -> Page<Vec<(String, String)>> {
    Ok(state
        .db
        .workflows()
        .list(auth.tenant)
        .await?
        .into_iter()
        .map(|w| (w.id.to_string(), w.name))
        .collect())
}

fn name_of(names: &[(String, String)], id: &uuid::Uuid) -> String {
    let id = id.to_string();
    names
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| "(deleted workflow)".into())
}

fn run_row(r: &runs::Model, names: &[(String, String)]) -> RunRow {
    RunRow {
        id: r.id.to_string(),
        short_id: short(&r.id),
        workflow_id: r.workflow_id.to_string(),
        workflow_name: name_of(names, &r.workflow_id),
        version: r.version,
        status: r.status.clone(),
        trigger: r.trigger.clone(),
        created_at: when(&r.created_at),
        duration: between(r.started_at.as_ref(), r.finished_at.as_ref()),
    }
}

fn repair_row(r: &repairs::Model, names: &[(String, String)]) -> RepairRow {
    RepairRow {
        id: r.id.to_string(),
        short_id: short(&r.id),
        created_at: when(&r.created_at),
        run_id: r.run_id.to_string(),
        workflow_name: name_of(names, &r.workflow_id),
        task_name: r.task_name.clone(),
        tool: r.tool.clone(),
        failure_class: r.failure_class.clone(),
        generator: r.generator.clone(),
        outcome: r.outcome.clone(),
        reused: r.reused,
        diagnosis: r.diagnosis.clone(),
        duration_ms: r.duration_ms,
    }
}

fn problem_view(v: &Value) -> Option<ProblemView> {
    if v.is_null() {
        return None;
    }
    let kind = v["type"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    Some(ProblemView {
        title: v["title"].as_str().unwrap_or("error").to_string(),
        detail: v["detail"].as_str().unwrap_or_default().to_string(),
        kind,
        instance: v["instance"].as_str().unwrap_or_default().to_string(),
    })
}

pub async fn overview(State(state): State<AppState>, auth: SessionAuth) -> Page<OverviewPage> {
    let since = chrono::Utc::now() - chrono::TimeDelta::hours(24);
    let counts = state.db.runs().count_by_status(auth.tenant, since).await?;
    let count = |s: &str| {
        counts
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let healed = count("healed");
    let failed = count("failed");
    let heal_rate = if healed + failed > 0 {
        format!("{:.0} %", healed as f64 * 100.0 / (healed + failed) as f64)
    } else {
        "—".into()
    };
    let names = workflow_names(&state, &auth).await?;
    let recent = state
        .db
        .runs()
        .list(
            auth.tenant,
            &RunFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await?;
    let pending = state
        .db
        .repairs()
        .list(
            auth.tenant,
            &RepairFilter {
                outcome: Some("pending_approval".into()),
                limit: 20,
                ..Default::default()
            },
        )
        .await?;
    Ok(OverviewPage {
        chrome: chrome(&state, &auth, "Overview", "overview").await?,
        stats: vec![
            StatCard {
                label: "Runs (24 h)".into(),
                value: total.to_string(),
                hint: None,
            },
            StatCard {
                label: "Healed".into(),
                value: healed.to_string(),
                hint: Some("finished thanks to a repair".into()),
            },
            StatCard {
                label: "Failed".into(),
                value: failed.to_string(),
                hint: None,
            },
            StatCard {
                label: "Heal rate".into(),
                value: heal_rate,
                hint: Some("healed ÷ (healed + failed)".into()),
            },
            StatCard {
                label: "Awaiting approval".into(),
                value: pending.len().to_string(),
                hint: None,
            },
        ],
        recent_runs: recent.iter().map(|r| run_row(r, &names)).collect(),
        pending_repairs: pending.iter().map(|r| repair_row(r, &names)).collect(),
    })
}

#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    status: Option<String>,
    workflow: Option<String>,
    cursor: Option<String>,
}

pub async fn runs(
    State(state): State<AppState>,
    auth: SessionAuth,
    Query(q): Query<RunsQuery>,
) -> Page<RunsPage> {
    let api_q = crate::api::runs::ListQuery {
        workflow: q.workflow.clone(),
        status: q.status.clone(),
        since: None,
        limit: Some(50),
        cursor: q.cursor.clone(),
    };
    let filter = crate::api::runs::parse_filter(&api_q)?;
    let rows = state.db.runs().list(auth.tenant, &filter).await?;
    let next_cursor = (rows.len() == 50)
        .then(|| {
            rows.last()
                .map(|r| crate::api::pagination::encode(r.created_at, r.id))
        })
        .flatten();
    let names = workflow_names(&state, &auth).await?;
    Ok(RunsPage {
        chrome: chrome(&state, &auth, "Runs", "runs").await?,
        runs: rows.iter().map(|r| run_row(r, &names)).collect(),
        status_filter: q.status.unwrap_or_default(),
        workflow_filter: q.workflow.unwrap_or_default(),
        workflows: names,
        statuses: vec![
            "queued",
            "running",
            "succeeded",
            "healed",
            "failed",
            "cancelled",
            "waiting_approval",
        ],
        next_cursor,
    })
}

pub async fn run(
    State(state): State<AppState>,
    auth: SessionAuth,
    Path(id): Path<String>,
) -> Page<RunPage> {
    let id: RunId = id.parse().map_err(|_| WebError::not_found("run"))?;
    let run = state
        .db
        .runs()
        .find(auth.tenant, id)
        .await?
        .ok_or_else(|| WebError::not_found("run"))?;
    let steps = state.db.steps().list_for_run(auth.tenant, id).await?;
    let repairs = state.db.repairs().list_for_run(auth.tenant, id).await?;
    let names = workflow_names(&state, &auth).await?;
    let repair_rows: Vec<RepairRow> = repairs.iter().map(|r| repair_row(r, &names)).collect();
    let step_views = steps
        .iter()
        .map(|s| {
            let attempts: Vec<AttemptView> = s
                .attempts
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| AttemptView {
                            attempt: x["attempt"].as_u64().unwrap_or(0) as u32,
                            status_code: x["status_code"].as_u64().map(|c| c as u16),
                            outcome: x["outcome"].as_str().unwrap_or_default().to_string(),
                            duration_ms: x["duration_ms"].as_u64().unwrap_or(0),
                            started_at: x["started_at"]
                                .as_str()
                                .unwrap_or_default()
                                .replace('T', " "),
                            error: x["error"].as_str().map(str::to_string),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let step_repairs = repair_rows
                .iter()
                .filter(|r| {
                    repairs
                        .iter()
                        .any(|m| m.id.to_string() == r.id && m.step_id == Some(s.id))
                })
                .cloned()
                .collect();
            StepView {
                position: s.position,
                name: s.name.clone(),
                status: s.status.clone(),
                started_at: when(&s.started_at),
                duration: duration_ms(s.duration_ms),
                input_json: s.input.as_ref().map(pretty).unwrap_or_default(),
                output_json: s.output.as_ref().map(pretty),
                error: s.error.as_ref().and_then(problem_view),
                attempts,
                repairs: step_repairs,
            }
        })
        .collect();
    let detail = RunDetail {
        id: run.id.to_string(),
        workflow_id: run.workflow_id.to_string(),
        workflow_name: name_of(&names, &run.workflow_id),
        version: run.version,
        status: run.status.clone(),
        trigger: run.trigger.clone(),
        created_at: when(&run.created_at),
        finished_at: run.finished_at.as_ref().map(when),
        duration: between(run.started_at.as_ref(), run.finished_at.as_ref()),
        input_json: pretty(&run.input),
        output_json: run.output.as_ref().map(pretty),
        error: run.error.as_ref().and_then(problem_view),
    };
    Ok(RunPage {
        chrome: chrome(&state, &auth, &format!("Run {}", short(&run.id)), "runs").await?,
        run: detail,
        steps: step_views,
        repairs: repair_rows,
    })
}

#[derive(Debug, Deserialize)]
pub struct RepairsQuery {
    outcome: Option<String>,
    workflow: Option<String>,
    generator: Option<String>,
}

pub async fn repairs(
    State(state): State<AppState>,
    auth: SessionAuth,
    Query(q): Query<RepairsQuery>,
) -> Page<RepairsPage> {
    let api_q = crate::api::repairs::RepairQuery {
        run: None,
        workflow: q.workflow.clone(),
        status: q.outcome.clone(),
        generator: q.generator.clone(),
        limit: Some(200),
    };
    let filter = crate::api::repairs::parse_repair_filter(&api_q)?;
    let rows = state.db.repairs().list(auth.tenant, &filter).await?;
    let names = workflow_names(&state, &auth).await?;
    Ok(RepairsPage {
        chrome: chrome(&state, &auth, "Repairs", "repairs").await?,
        repairs: rows.iter().map(|r| repair_row(r, &names)).collect(),
        outcome_filter: q.outcome.unwrap_or_default(),
        workflow_filter: q.workflow.unwrap_or_default(),
        generator_filter: q.generator.unwrap_or_default(),
        workflows: names,
        outcomes: crate::api::repairs::OUTCOMES.to_vec(),
        generators: {
            let mut g: Vec<String> = rows.iter().map(|r| r.generator.clone()).collect();
            g.sort();
            g.dedup();
            g
        },
    })
}

pub async fn repair(
    State(state): State<AppState>,
    auth: SessionAuth,
    Path(id): Path<String>,
) -> Page<RepairPage> {
    let id: RepairId = id.parse().map_err(|_| WebError::not_found("repair"))?;
    let r = state
        .db
        .repairs()
        .find(auth.tenant, id)
        .await?
        .ok_or_else(|| WebError::not_found("repair"))?;
    let names = workflow_names(&state, &auth).await?;
    let logs = r.sandbox_log["logs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| LogLineView {
                    level: l["level"].as_str().unwrap_or("log").to_string(),
                    message: l["message"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let fetches = r.sandbox_log["fetches"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| FetchView {
                    method: f["method"].as_str().unwrap_or_default().to_string(),
                    url: f["url"].as_str().unwrap_or_default().to_string(),
                    status: f["status"].as_u64().map(|s| s as u16),
                    error: f["error"].as_str().map(str::to_string),
                    duration_ms: f["duration_ms"].as_u64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    let antibody_active = match r.antibody_id {
        Some(ab) => state
            .db
            .antibodies()
            .find(auth.tenant, AntibodyId::from_uuid(ab))
            .await?
            .is_some_and(|a| a.status == "active"),
        None => false,
    };
    let editor = auth.role.allows(Role::Editor);
    let detail = RepairDetail {
        row: repair_row(&r, &names),
        fingerprint: r.fingerprint.clone(),
        operation: r.operation.clone(),
        patch_source: r.patch_source.clone(),
        failure_json: pretty(&r.failure),
        logs,
        fetches,
        verdict_accepted: r.verdict["accepted"].as_bool().unwrap_or(false),
        verdict_reasons: r.verdict["reasons"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        antibody_id: r.antibody_id.map(|a| a.to_string()),
        approved_by: r.approved_by.map(|a| a.to_string()),
    };
    Ok(RepairPage {
        chrome: chrome(
            &state,
            &auth,
            &format!("Repair {}", short(&r.id)),
            "repairs",
        )
        .await?,
        can_decide: editor && r.outcome == "pending_approval",
        can_retire: editor && antibody_active,
        repair: detail,
    })
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

async fn decide_form(
    state: AppState,
    auth: SessionAuth,
    id: String,
    form: CsrfForm,
    decision: Decision,
) -> Result<Response, WebError> {
    auth.check_csrf(&form.csrf_token)?;
    auth.require(Role::Editor)?;
    let id: RepairId = id.parse().map_err(|_| WebError::not_found("repair"))?;
    decide(&state, auth.tenant, id, decision, Some(auth.user_id)).await?;
    Ok(Redirect::to(&format!("/repairs/{id}")).into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    auth: SessionAuth,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    decide_form(state, auth, id, form, Decision::Approve).await
}

pub async fn reject(
    State(state): State<AppState>,
    auth: SessionAuth,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    decide_form(state, auth, id, form, Decision::Reject).await
}

pub async fn retire(
    State(state): State<AppState>,
    auth: SessionAuth,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&form.csrf_token)?;
    auth.require(Role::Editor)?;
    let id: AntibodyId = id.parse().map_err(|_| WebError::not_found("antibody"))?;
    if !state.db.antibodies().retire(auth.tenant, id).await? {
        return Err(WebError::not_found("antibody"));
    }
    Ok(Redirect::to("/antibodies").into_response())
}

pub async fn workflows(State(state): State<AppState>, auth: SessionAuth) -> Page<WorkflowsPage> {
    let rows = state.db.workflows().list(auth.tenant).await?;
    let since = chrono::Utc::now() - chrono::TimeDelta::hours(24);
    let mut out = Vec::new();
    for w in rows {
        let version = state
            .db
            .workflows()
            .version(auth.tenant, WorkflowId::from_uuid(w.id), w.current_version)
            .await?;
        let namespace = version
            .as_ref()
            .and_then(|v| {
                v.definition["document"]["namespace"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let runs_24h = state
            .db
            .runs()
            .list(
                auth.tenant,
                &RunFilter {
                    workflow: Some(WorkflowId::from_uuid(w.id)),
                    since: Some(since),
                    limit: 500,
                    ..Default::default()
                },
            )
            .await?
            .len() as i64;
        out.push(WorkflowRow {
            id: w.id.to_string(),
            name: w.name.clone(),
            namespace,
            version: w.current_version,
            updated_at: when(&w.updated_at),
            webhook_url: format!("{}/hooks/{}", state.public_url, w.hook_id),
            runs_24h,
        });
    }
    Ok(WorkflowsPage {
        chrome: chrome(&state, &auth, "Workflows", "workflows").await?,
        workflows: out,
    })
}

pub async fn antibodies(State(state): State<AppState>, auth: SessionAuth) -> Page<AntibodiesPage> {
    let rows = state.db.antibodies().list(auth.tenant).await?;
    Ok(AntibodiesPage {
        chrome: chrome(&state, &auth, "Antibodies", "antibodies").await?,
        antibodies: rows
            .iter()
            .map(|a| AntibodyRow {
                id: a.id.to_string(),
                tool: a.tool.clone(),
                operation: a.operation.clone(),
                failure_class: a.failure_class.clone(),
                generator: a.generator.clone(),
                status: a.status.clone(),
                uses: a.uses as i64,
                created_at: when(&a.created_at),
                last_used_at: a.last_used_at.as_ref().map(when),
            })
            .collect(),
    })
}

//! Task kinds. Each returns a `TaskOutcome`; the executor owns data flow (input.from,
//! output.as, export.as) and persistence around them.

mod call_http;
pub mod http;
mod script;

use chrono::{DateTime, Utc};
use serde_json::Value;
use suture_domain::expr::Scope;
use suture_domain::failure::{FailureClass, Problem};
use suture_domain::ids::{RepairId, RunId, StepId, TenantId, WorkflowId};
use suture_domain::workflow::{HealMode, TaskDef, TaskKind};

use crate::EngineDeps;
use crate::attempts::Attempt;
use crate::executor::{describe_violations, problem};

pub struct TaskEnv<'a> {
    pub deps: &'a EngineDeps,
    pub tenant: TenantId,
    pub run_id: RunId,
    pub workflow_id: WorkflowId,
    pub step_id: StepId,
    pub position: i32,
    pub attempt_group: i32,
    pub heal_mode: HealMode,
    pub scope: &'a Scope,
}

pub enum TaskOutcome {
    Done {
        output: Value,
        attempts: Vec<Attempt>,
        repair_ids: Vec<RepairId>,
        healed: bool,
    },
    Failed {
        problem: Problem,
        attempts: Vec<Attempt>,
        repair_ids: Vec<RepairId>,
    },
    AwaitingApproval {
        repair_id: RepairId,
    },
    Requeue {
        not_before: DateTime<Utc>,
    },
}

impl TaskOutcome {
    fn done(output: Value) -> Self {
        TaskOutcome::Done {
            output,
            attempts: vec![],
            repair_ids: vec![],
            healed: false,
        }
    }
    fn failed(problem: Problem) -> Self {
        TaskOutcome::Failed {
            problem,
            attempts: vec![],
            repair_ids: vec![],
        }
    }
}

pub async fn execute(env: &TaskEnv<'_>, task: &TaskDef, input: &Value) -> TaskOutcome {
    let run = async {
        match &task.kind {
            TaskKind::Set(template) => match template.eval(input, env.scope) {
                Ok(v) => check_contract(task, TaskOutcome::done(v)),
                Err(e) => TaskOutcome::failed(problem(
                    FailureClass::Expression,
                    400,
                    "invalid `set` expression",
                    e.to_string(),
                    &task.pointer,
                )),
            },
            TaskKind::Script(script) => {
                check_contract(task, script::execute(env, task, script, input).await)
            }
            TaskKind::Http(call) => call_http::execute(env, task, call, input).await,
        }
    };
    match task.timeout {
        None => run.await,
        Some(limit) => match tokio::time::timeout(limit, run).await {
            Ok(outcome) => outcome,
            Err(_) => TaskOutcome::failed(problem(
                FailureClass::Timeout,
                408,
                "task timed out",
                format!(
                    "task `{}` did not finish within {} ms",
                    task.name,
                    limit.as_millis()
                ),
                &task.pointer,
            )),
        },
    }
}

/// Non-http tasks have no vendor to heal: a contract miss is a plain validation failure.
fn check_contract(task: &TaskDef, outcome: TaskOutcome) -> TaskOutcome {
    let TaskOutcome::Done { output, .. } = &outcome else {
        return outcome;
    };
    let Some(schema) = task.output.as_ref().and_then(|o| o.schema.as_ref()) else {
        return outcome;
    };
    match schema.validate(output) {
        Ok(()) => outcome,
        Err(v) => TaskOutcome::failed(problem(
            FailureClass::Validation,
            400,
            "task output does not match output.schema",
            describe_violations(&v),
            &task.pointer,
        )),
    }
}

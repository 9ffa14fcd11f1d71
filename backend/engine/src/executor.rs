//! The run executor: claims a run, executes its tasks in order, writes each finished step as
//! the durable record, and finishes the run. Finished steps are never executed twice: a
//! resumed run continues after the last step row.

use std::sync::Arc;

use std::time::{Duration, Instant};
use tracing::Instrument;

use chrono::Utc;
use serde_json::{Value, json};
use suture_domain::expr::Scope;
use suture_domain::failure::{FailureClass, Problem};
use suture_domain::ids::{RepairId, RunId, StepId, TenantId};
use suture_domain::status::{RunStatus, StepStatus};
use suture_domain::workflow::{Definition, FlowDirective, TaskDef};

use crate::attempts::Attempt;
use crate::definitions::DefinitionCache;
use crate::events::RunEvents;
use crate::store::{FinishedStep, LoadedRun, StepState, Store};
use crate::tasks::{self, TaskEnv, TaskOutcome};
use crate::{EngineDeps, EngineError};

/// How a claimed run left the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// The run ended; its output (or error) as written to the run row.
    Finished {
        status: RunStatus,
        output: Option<Value>,
        error: Option<Value>,
    },
    WaitingApproval,
    /// Another worker holds it, it is not due yet, or it already ended.
    NotClaimed,
    /// Given back to the queue with a due time.
    Requeued,
}

/// Well inside the sweeper's staleness limit.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);

/// Guard against `then: <task>` loops that never end.
const MAX_STEPS_PER_RUN: usize = 10_000;

#[derive(Clone)]
pub struct Executor {
    deps: Arc<EngineDeps>,
    store: Store,
    definitions: DefinitionCache,
    events: RunEvents,
    worker_name: Arc<str>,
}

impl Executor {
    pub fn new(deps: Arc<EngineDeps>, events: RunEvents, worker_name: impl Into<Arc<str>>) -> Self {
        let store = Store::new(deps.db.clone());
        Self {
            definitions: DefinitionCache::new(store.clone()),
            deps,
            store,
            events,
            worker_name: worker_name.into(),
        }
    }

    pub fn events(&self) -> &RunEvents {
        &self.events
    }

    pub fn worker_name(&self) -> &str {
        &self.worker_name
    }

    pub fn db(&self) -> &suture_storage::Db {
        self.store.db()
    }

    /// The parsed definition of a workflow version (cached; versions are immutable).
    pub async fn definition(
        &self,
        tenant: TenantId,
        workflow: suture_domain::ids::WorkflowId,
        version: i32,
    ) -> Result<Arc<Definition>, EngineError> {
        self.definitions.get(tenant, workflow, version).await
    }

    /// Executes one run to its end (or to a wait). Idempotent: safe to call for a run that is
    /// finished, running elsewhere or not due — it then returns `NotClaimed`.
    pub async fn execute(&self, run_id: RunId) -> Result<Disposition, EngineError> {
        if !self.store.claim_run(run_id, &self.worker_name).await? {
            return Ok(Disposition::NotClaimed);
        }
        let run = self.store.load_run(run_id, &self.worker_name).await?;
        self.execute_claimed(run, false).await
    }

    /// Records a new run already claimed by this worker and executes it at once — the path of
    /// synchronous webhooks and `suture run`, which skips the queue, the claim and the reload.
    /// Should the process die meanwhile, the sweeper recovers the run by its stale heartbeat.
    pub async fn start_and_execute(
        &self,
        start: crate::runs::StartRun,
    ) -> Result<(RunId, Disposition), EngineError> {
        let run = self.create_claimed(start).await?;
        let id = run.id;
        let disposition = self.execute_created(run).await?;
        Ok((id, disposition))
    }

    /// The first half of `start_and_execute`: the run row, claimed by this worker.
    pub async fn create_claimed(
        &self,
        start: crate::runs::StartRun,
    ) -> Result<LoadedRun, EngineError> {
        self.store
            .insert_claimed_run(start, &self.worker_name)
            .await
    }

    /// The second half: executes a run `create_claimed` returned.
    pub async fn execute_created(&self, run: LoadedRun) -> Result<Disposition, EngineError> {
        self.execute_claimed(run, true).await
    }

    /// `fresh`: the run was just created, so it has no steps to resume from.
    #[tracing::instrument(skip_all, fields(run.id = %run.id, tenant.id = %run.tenant_id))]
    async fn execute_claimed(
        &self,
        run: LoadedRun,
        fresh: bool,
    ) -> Result<Disposition, EngineError> {
        let run_id = run.id;
        // Heartbeats prove this worker alive while the run lasts, so the sweeper leaves it
        // alone; the guard stops them however this function ends (even if its future is dropped).
        let _beat = AbortOnDrop({
            let store = self.store.clone();
            let worker = self.worker_name.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if !matches!(store.heartbeat(run_id, &worker).await, Ok(true)) {
                        return;
                    }
                }
            })
        });
        let disposition = match self.drive(&run, fresh).await {
            Ok(d) => d,
            Err(e) => {
                // An internal error (database down, bug) must not leave the run claimed forever:
                // give it back so the sweeper or another worker picks it up again.
                tracing::error!(error = %e, "run execution failed internally; requeueing");
                self.store
                    .requeue_claimed(
                        run_id,
                        &self.worker_name,
                        Utc::now() + chrono::Duration::seconds(5),
                    )
                    .await
                    .ok();
                return Err(e);
            }
        };
        if !matches!(disposition, Disposition::Requeued | Disposition::NotClaimed) {
            self.events.finished(run_id);
        }
        Ok(disposition)
    }

    async fn drive(&self, run: &LoadedRun, fresh: bool) -> Result<Disposition, EngineError> {
        let def = self
            .definitions
            .get(run.tenant_id, run.workflow_id, run.version)
            .await?;
        let tenant = run.tenant_id;
        let started = Utc::now();

        // Workflow input: validate, then transform.
        let workflow_input = match prepare_workflow_input(&def, &run.input) {
            Ok(v) => v,
            Err(problem) => return self.fail(run, problem, false).await,
        };
        let mut trigger = json!({ "type": run.trigger });
        if let Some(Value::Object(meta)) = &run.trigger_meta {
            for (k, v) in meta {
                trigger[k] = v.clone();
            }
        }
        let workflow_desc = json!({
            "id": run.id.to_string(),
            "definition": { "document": def.normalized.get("document").cloned().unwrap_or(Value::Null) },
            "input": run.input,
            "startedAt": started.to_rfc3339(),
            "trigger": trigger,
        });

        let done = if fresh {
            Vec::new()
        } else {
            self.store.finished_steps(tenant, run.id).await?
        };
        let mut position = done.len() as i32;
        let mut healed = run.healed || done.iter().any(|s| s.status == StepStatus::Healed);
        let (mut current, mut context, mut index) =
            resume_point(&def, &done, workflow_input.clone());

        let mut executed = 0usize;
        while let Some(i) = index {
            let Some(task) = def.tasks.get(i) else { break };
            executed += 1;
            if executed > MAX_STEPS_PER_RUN {
                let problem = problem(
                    FailureClass::Runtime,
                    500,
                    "too many steps",
                    format!(
                        "the run executed more than {MAX_STEPS_PER_RUN} steps; a `then` loop never ends"
                    ),
                    &task.pointer,
                );
                return self.fail(run, problem, healed).await;
            }
            let step = PendingStep {
                id: StepId::new(),
                position,
                task,
                started_at: Utc::now(),
                t0: Instant::now(),
            };
            let scope = Scope {
                context: context.clone(),
                input: workflow_input.clone(),
                secrets: json!({}),
                task: json!({ "name": task.name, "reference": task.pointer }),
                workflow: workflow_desc.clone(),
                extra: Vec::new(),
            };
            let span =
                tracing::info_span!("step", step.name = %task.name, step.position = position);
            match self
                .execute_step(&def, run, &step, &current, &context, &scope)
                .instrument(span)
                .await
            {
                StepEnd::Finished {
                    status,
                    input,
                    output,
                    context: after,
                    attempts,
                    repair_ids,
                    next,
                } => {
                    self.store
                        .insert_step(step.row(
                            run,
                            status,
                            input,
                            Some(output.clone()),
                            &after,
                            None,
                            attempts,
                            repair_ids,
                        ))
                        .await?;
                    healed |= status == StepStatus::Healed;
                    position += 1;
                    current = output;
                    context = after;
                    index = match next {
                        Next::Flow => next_index(&def, i),
                        Next::Sequential => (i + 1 < def.tasks.len()).then_some(i + 1),
                        Next::Stop => None,
                    };
                }
                StepEnd::Failed {
                    input,
                    problem,
                    attempts,
                    repair_ids,
                } => {
                    let error = serde_json::to_value(&problem).unwrap_or(Value::Null);
                    self.store
                        .insert_step(step.row(
                            run,
                            StepStatus::Failed,
                            input,
                            None,
                            &context,
                            Some(error),
                            attempts,
                            repair_ids,
                        ))
                        .await?;
                    return self.fail(run, problem, healed).await;
                }
                StepEnd::AwaitingApproval { repair_id } => {
                    tracing::info!(repair.id = %repair_id, "repair awaits approval; run parked");
                    self.store
                        .park_for_approval(run.id, &self.worker_name, healed)
                        .await?;
                    return Ok(Disposition::WaitingApproval);
                }
                StepEnd::Requeue { not_before } => {
                    self.store
                        .requeue_claimed(run.id, &self.worker_name, not_before)
                        .await?;
                    self.deps.queue.enqueue_at(run.id, not_before).await?;
                    return Ok(Disposition::Requeued);
                }
            }
        }

        // Workflow output: transform, then validate.
        let output = match finish_workflow_output(&def, current) {
            Ok(v) => v,
            Err(p) => return self.fail(run, p, healed).await,
        };
        let status = if healed {
            RunStatus::Healed
        } else {
            RunStatus::Succeeded
        };
        self.store
            .finish_run(
                run.id,
                &self.worker_name,
                status,
                Some(output.clone()),
                None,
                healed,
            )
            .await?;
        Ok(Disposition::Finished {
            status,
            output: Some(output),
            error: None,
        })
    }

    /// Runs one task: `if`, `input.from`, the task kind, `output.as`, `export.as`. Writes nothing.
    async fn execute_step(
        &self,
        def: &Definition,
        run: &LoadedRun,
        step: &PendingStep<'_>,
        current: &Value,
        context: &Value,
        scope: &Scope,
    ) -> StepEnd {
        let task = step.task;
        let failed = |input: &Value, problem: Problem| StepEnd::Failed {
            input: input.clone(),
            problem,
            attempts: vec![],
            repair_ids: vec![],
        };
        // `if`: a false condition skips the task and passes its input through.
        if let Some(cond) = &task.r#if {
            match cond.eval(current, scope) {
                Ok(v) if truthy(&v) => {}
                Ok(_) => {
                    return StepEnd::Finished {
                        status: StepStatus::Skipped,
                        input: current.clone(),
                        output: current.clone(),
                        context: context.clone(),
                        attempts: vec![],
                        repair_ids: vec![],
                        next: Next::Sequential,
                    };
                }
                Err(e) => {
                    let p = problem(
                        FailureClass::Expression,
                        400,
                        "invalid `if` expression",
                        e.to_string(),
                        &task.pointer,
                    );
                    return failed(current, p);
                }
            }
        }
        let input = match apply_input(task, current, scope) {
            Ok(v) => v,
            Err(p) => return failed(current, p),
        };
        let env = TaskEnv {
            deps: &self.deps,
            tenant: run.tenant_id,
            run_id: run.id,
            workflow_id: run.workflow_id,
            step_id: step.id,
            position: step.position,
            attempt_group: run.attempt_group,
            heal_mode: def.heal_mode_for(task),
            scope,
        };
        match tasks::execute(&env, task, &input).await {
            TaskOutcome::Done {
                output: raw,
                attempts,
                repair_ids,
                healed,
            } => {
                let output = match apply_output(task, raw, scope) {
                    Ok(v) => v,
                    Err(problem) => {
                        return StepEnd::Failed {
                            input,
                            problem,
                            attempts,
                            repair_ids,
                        };
                    }
                };
                let context = match &task.export_as {
                    None => context.clone(),
                    Some(export) => match export.eval(&output, scope) {
                        Ok(v) => v,
                        Err(e) => {
                            let problem = problem(
                                FailureClass::Expression,
                                400,
                                "invalid `export.as` expression",
                                e.to_string(),
                                &task.pointer,
                            );
                            return StepEnd::Failed {
                                input,
                                problem,
                                attempts,
                                repair_ids,
                            };
                        }
                    },
                };
                let next = match &task.then {
                    Some(FlowDirective::Exit) | Some(FlowDirective::End) => Next::Stop,
                    _ => Next::Flow,
                };
                let status = if healed {
                    StepStatus::Healed
                } else {
                    StepStatus::Succeeded
                };
                StepEnd::Finished {
                    status,
                    input,
                    output,
                    context,
                    attempts,
                    repair_ids,
                    next,
                }
            }
            TaskOutcome::Failed {
                problem,
                attempts,
                repair_ids,
            } => StepEnd::Failed {
                input,
                problem,
                attempts,
                repair_ids,
            },
            TaskOutcome::AwaitingApproval { repair_id } => StepEnd::AwaitingApproval { repair_id },
            TaskOutcome::Requeue { not_before } => StepEnd::Requeue { not_before },
        }
    }

    async fn fail(
        &self,
        run: &LoadedRun,
        problem: Problem,
        healed: bool,
    ) -> Result<Disposition, EngineError> {
        tracing::info!(error.type = %problem.r#type, error.title = %problem.title, "run failed");
        let error = serde_json::to_value(&problem).unwrap_or(Value::Null);
        self.store
            .finish_run(
                run.id,
                &self.worker_name,
                RunStatus::Failed,
                None,
                Some(error.clone()),
                healed,
            )
            .await?;
        Ok(Disposition::Finished {
            status: RunStatus::Failed,
            output: None,
            error: Some(error),
        })
    }
}

pub(crate) fn problem(
    class: FailureClass,
    status: u16,
    title: &str,
    detail: impl Into<String>,
    pointer: &str,
) -> Problem {
    Problem {
        r#type: class.dsl_type_uri().to_string(),
        status,
        title: title.to_string(),
        detail: detail.into(),
        instance: pointer.to_string(),
    }
}

fn next_index(def: &Definition, i: usize) -> Option<usize> {
    match &def.tasks[i].then {
        None | Some(FlowDirective::Continue) => (i + 1 < def.tasks.len()).then_some(i + 1),
        Some(FlowDirective::Exit) | Some(FlowDirective::End) => None,
        Some(FlowDirective::Goto(name)) => def.tasks.iter().position(|t| &t.name == name),
    }
}

/// `"/email: \"x\" is not a \"email\"; /: \"age\" is a required property"`.
pub(crate) fn describe_violations(violations: &[suture_domain::contract::Violation]) -> String {
    violations
        .iter()
        .map(violation_text)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One violation as `<pointer>: <message>`, the form the healer's error signature parses.
pub(crate) fn violation_text(v: &suture_domain::contract::Violation) -> String {
    let at = if v.instance_path.is_empty() {
        "/"
    } else {
        &v.instance_path
    };
    format!("{at}: {}", v.message)
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

fn prepare_workflow_input(def: &Definition, input: &Value) -> Result<Value, Problem> {
    if let Some(spec) = &def.input {
        if let Some(schema) = &spec.schema
            && let Err(violations) = schema.validate(input)
        {
            return Err(problem(
                FailureClass::Validation,
                400,
                "workflow input does not match input.schema",
                describe_violations(&violations),
                "/input",
            ));
        }
        if let Some(from) = &spec.from {
            return from
                .eval(
                    input,
                    &Scope {
                        input: input.clone(),
                        ..Scope::default()
                    },
                )
                .map_err(|e| {
                    problem(
                        FailureClass::Expression,
                        400,
                        "invalid workflow `input.from` expression",
                        e.to_string(),
                        "/input/from",
                    )
                });
        }
    }
    Ok(input.clone())
}

fn finish_workflow_output(def: &Definition, current: Value) -> Result<Value, Problem> {
    let Some(spec) = &def.output else {
        return Ok(current);
    };
    let out = match &spec.as_ {
        Some(t) => t.eval(&current, &Scope::default()).map_err(|e| {
            problem(
                FailureClass::Expression,
                400,
                "invalid workflow `output.as` expression",
                e.to_string(),
                "/output/as",
            )
        })?,
        None => current,
    };
    if let Some(schema) = &spec.schema
        && let Err(violations) = schema.validate(&out)
    {
        return Err(problem(
            FailureClass::Validation,
            400,
            "workflow output does not match output.schema",
            describe_violations(&violations),
            "/output",
        ));
    }
    Ok(out)
}

fn apply_input(task: &TaskDef, current: &Value, scope: &Scope) -> Result<Value, Problem> {
    let Some(spec) = &task.input else {
        return Ok(current.clone());
    };
    if let Some(schema) = &spec.schema
        && let Err(violations) = schema.validate(current)
    {
        return Err(problem(
            FailureClass::Validation,
            400,
            "task input does not match input.schema",
            describe_violations(&violations),
            &task.pointer,
        ));
    }
    match &spec.from {
        Some(t) => t.eval(current, scope).map_err(|e| {
            problem(
                FailureClass::Expression,
                400,
                "invalid `input.from` expression",
                e.to_string(),
                &task.pointer,
            )
        }),
        None => Ok(current.clone()),
    }
}

fn apply_output(task: &TaskDef, raw: Value, scope: &Scope) -> Result<Value, Problem> {
    match task.output.as_ref().and_then(|o| o.as_.as_ref()) {
        Some(t) => t.eval(&raw, scope).map_err(|e| {
            problem(
                FailureClass::Expression,
                400,
                "invalid `output.as` expression",
                e.to_string(),
                &task.pointer,
            )
        }),
        None => Ok(raw),
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A step being executed: identity and timing of the row it becomes.
struct PendingStep<'a> {
    id: StepId,
    position: i32,
    task: &'a TaskDef,
    started_at: chrono::DateTime<Utc>,
    t0: Instant,
}

impl PendingStep<'_> {
    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        run: &LoadedRun,
        status: StepStatus,
        input: Value,
        output: Option<Value>,
        context: &Value,
        error: Option<Value>,
        attempts: Vec<Attempt>,
        repair_ids: Vec<RepairId>,
    ) -> FinishedStep {
        FinishedStep {
            id: self.id,
            tenant_id: run.tenant_id,
            run_id: run.id,
            position: self.position,
            name: self.task.name.clone(),
            status,
            input: Some(input),
            output,
            context: Some(context.clone()),
            error,
            attempts,
            repair_ids,
            started_at: self.started_at,
            duration_ms: self.t0.elapsed().as_millis() as i64,
        }
    }
}

/// Where the flow goes after a finished step.
enum Next {
    /// Honour the task's `then`.
    Flow,
    /// A skipped task: simply the next one.
    Sequential,
    Stop,
}

/// How one task execution ended, before its row is written.
enum StepEnd {
    Finished {
        status: StepStatus,
        input: Value,
        output: Value,
        context: Value,
        attempts: Vec<Attempt>,
        repair_ids: Vec<RepairId>,
        next: Next,
    },
    Failed {
        input: Value,
        problem: Problem,
        attempts: Vec<Attempt>,
        repair_ids: Vec<RepairId>,
    },
    AwaitingApproval {
        repair_id: RepairId,
    },
    Requeue {
        not_before: chrono::DateTime<Utc>,
    },
}

/// Where a run continues: after its last finished step, or at its last failed step (a run
/// resumed after a human fix re-executes the task that failed, never the ones that finished).
fn resume_point(
    def: &Definition,
    done: &[StepState],
    workflow_input: Value,
) -> (Value, Value, Option<usize>) {
    // The state before the failed step is the last successful (or skipped) step's.
    let last_ok = done.iter().rev().find(|s| s.status != StepStatus::Failed);
    let (current, context) = match last_ok {
        Some(s) => (
            s.output.clone().unwrap_or(Value::Null),
            s.context.clone().unwrap_or_else(|| json!({})),
        ),
        None => (workflow_input, json!({})),
    };
    let index = match done.last() {
        None => Some(0),
        Some(last) => {
            let idx = def.tasks.iter().position(|t| t.name == last.name);
            if last.status == StepStatus::Failed {
                idx
            } else {
                idx.and_then(|i| next_index(def, i))
            }
        }
    };
    (current, context, index)
}

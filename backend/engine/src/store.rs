//! The executor's view of storage: the run protocol (claim, step rows, finish, requeue) over
//! the repositories, in the executor's own terms.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde_json::Value;
use suture_domain::ids::{RepairId, RunId, StepId, TenantId, WorkflowId};
use suture_domain::status::{RunStatus, StepStatus};
use suture_domain::workflow::SourceFormat;
use suture_storage::entities::steps;
use suture_storage::{Backend, Db, NewRun};

use crate::EngineError;
use crate::attempts::Attempt;
use crate::definitions::VersionSource;
use crate::sweeper::STALE_AFTER;

#[derive(Clone)]
pub struct Store {
    db: Db,
}

pub struct LoadedRun {
    pub id: RunId,
    pub tenant_id: TenantId,
    pub workflow_id: WorkflowId,
    pub version: i32,
    pub input: Value,
    pub healed: bool,
    pub attempt_group: i32,
    pub trigger: String,
    /// Recorded webhook headers (redacted) and query, offered as `$workflow.trigger`.
    pub trigger_meta: Option<Value>,
}

/// A finished step as the executor knows it.
pub struct FinishedStep {
    pub id: StepId,
    pub tenant_id: TenantId,
    pub run_id: RunId,
    pub position: i32,
    pub name: String,
    pub status: StepStatus,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub context: Option<Value>,
    pub error: Option<Value>,
    pub attempts: Vec<Attempt>,
    pub repair_ids: Vec<RepairId>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
}

/// What resuming needs of a step row.
pub struct StepState {
    pub name: String,
    pub status: StepStatus,
    pub output: Option<Value>,
    pub context: Option<Value>,
}

pub struct NewRunRow {
    pub id: RunId,
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    pub version: i32,
    pub input: Value,
    pub trigger: &'static str,
    pub trigger_meta: Option<Value>,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn insert_run(&self, row: NewRunRow) -> Result<(), EngineError> {
        let mut new = NewRun::queued(row.workflow, row.version, row.input, row.trigger);
        new.id = row.id;
        new.trigger_meta = row.trigger_meta;
        self.db.runs().create(row.tenant, new).await?;
        Ok(())
    }

    /// Inserts a run already `running` and claimed by `worker`.
    pub async fn insert_claimed_run(
        &self,
        start: crate::runs::StartRun,
        worker: &str,
    ) -> Result<LoadedRun, EngineError> {
        let mut new = NewRun::queued(
            start.workflow,
            start.version,
            start.input.clone(),
            start.trigger,
        );
        new.status = RunStatus::Running;
        new.claimed_by = Some(worker.to_string());
        new.trigger_meta = start.trigger_meta.clone();
        let id = new.id;
        self.db.runs().create(start.tenant, new).await?;
        Ok(LoadedRun {
            id,
            tenant_id: start.tenant,
            workflow_id: start.workflow,
            version: start.version,
            input: start.input,
            healed: false,
            attempt_group: 0,
            trigger: start.trigger.to_string(),
            trigger_meta: start.trigger_meta,
        })
    }

    pub async fn claim_run(&self, id: RunId, worker: &str) -> Result<bool, EngineError> {
        let now = Utc::now();
        Ok(self
            .db
            .runs()
            .claim(id, worker, now, now - STALE_AFTER)
            .await?)
    }

    pub async fn heartbeat(&self, id: RunId, worker: &str) -> Result<bool, EngineError> {
        Ok(self.db.runs().heartbeat(id, worker).await?)
    }

    pub async fn load_run(&self, id: RunId, worker: &str) -> Result<LoadedRun, EngineError> {
        let run = self
            .db
            .runs()
            .claimed(id, worker)
            .await?
            .ok_or_else(|| EngineError::RunNotFound(id.to_string()))?;
        Ok(LoadedRun {
            id,
            tenant_id: TenantId::from_uuid(run.tenant_id),
            workflow_id: WorkflowId::from_uuid(run.workflow_id),
            version: run.version,
            input: run.input,
            healed: run.healed,
            attempt_group: run.attempt_group,
            trigger: run.trigger,
            trigger_meta: run.trigger_meta,
        })
    }

    pub async fn version_source(
        &self,
        tenant: TenantId,
        workflow: WorkflowId,
        version: i32,
    ) -> Result<VersionSource, EngineError> {
        let v = self
            .db
            .workflows()
            .version(tenant, workflow, version)
            .await?
            .ok_or_else(|| {
                EngineError::Internal(format!("workflow {workflow} has no version {version}"))
            })?;
        let format = if v.source_format == "json" {
            SourceFormat::Json
        } else {
            SourceFormat::Yaml
        };
        Ok(VersionSource {
            source: v.source,
            format,
        })
    }

    pub async fn finished_steps(
        &self,
        tenant: TenantId,
        run: RunId,
    ) -> Result<Vec<StepState>, EngineError> {
        let rows = self.db.steps().list_for_run(tenant, run).await?;
        Ok(rows
            .into_iter()
            .map(|s| StepState {
                name: s.name,
                status: s.status.parse().unwrap_or(StepStatus::Failed),
                output: s.output,
                context: s.context,
            })
            .collect())
    }

    pub async fn insert_step(&self, step: FinishedStep) -> Result<(), EngineError> {
        let finished_at = step.started_at + chrono::TimeDelta::milliseconds(step.duration_ms);
        self.db
            .steps()
            .insert_finished(steps::Model {
                id: step.id.as_uuid(),
                tenant_id: step.tenant_id.as_uuid(),
                run_id: step.run_id.as_uuid(),
                position: step.position,
                name: step.name,
                status: step.status.as_str().to_string(),
                input: step.input,
                output: step.output,
                error: step.error,
                context: step.context,
                attempts: serde_json::to_value(&step.attempts).unwrap_or(Value::Array(vec![])),
                repair_ids: Value::Array(
                    step.repair_ids
                        .iter()
                        .map(|r| Value::String(r.to_string()))
                        .collect(),
                ),
                started_at: step.started_at,
                finished_at: Some(finished_at),
                duration_ms: step.duration_ms,
            })
            .await?;
        Ok(())
    }

    pub async fn finish_run(
        &self,
        id: RunId,
        worker: &str,
        status: RunStatus,
        output: Option<Value>,
        error: Option<Value>,
        healed: bool,
    ) -> Result<bool, EngineError> {
        Ok(self
            .db
            .runs()
            .finish(id, worker, status, output, error, healed)
            .await?)
    }

    pub async fn park_for_approval(
        &self,
        id: RunId,
        worker: &str,
        healed: bool,
    ) -> Result<bool, EngineError> {
        Ok(self
            .db
            .runs()
            .finish(id, worker, RunStatus::WaitingApproval, None, None, healed)
            .await?)
    }

    /// Gives a run this worker holds back to the queue, due at `not_before`.
    pub async fn requeue_claimed(
        &self,
        id: RunId,
        worker: &str,
        not_before: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        Ok(self.db.runs().requeue(id, worker, Some(not_before)).await?)
    }

    pub async fn run_is_settled(&self, tenant: TenantId, id: RunId) -> Result<bool, EngineError> {
        let run = self
            .db
            .runs()
            .find(tenant, id)
            .await?
            .ok_or_else(|| EngineError::RunNotFound(id.to_string()))?;
        let status: RunStatus = run.status.parse().unwrap_or(RunStatus::Failed);
        Ok(!matches!(status, RunStatus::Queued | RunStatus::Running))
    }

    /// Runs that lost their worker (stale heartbeat) or their job (queued, due, and older
    /// than `lost_before`); all tenants.
    pub async fn lost_runs(
        &self,
        stale_before: DateTime<Utc>,
        lost_before: DateTime<Utc>,
    ) -> Result<Vec<(RunId, bool)>, EngineError> {
        let mut out: Vec<(RunId, bool)> = self
            .db
            .runs()
            .list_stale_running(stale_before)
            .await?
            .into_iter()
            .map(|r| (RunId::from_uuid(r.id), true))
            .collect();
        for r in self.db.runs().list_due(lost_before, 500).await? {
            if r.created_at < lost_before {
                out.push((RunId::from_uuid(r.id), false));
            }
        }
        Ok(out)
    }

    /// Deletes apalis's finished SQLite jobs older than `before`: acknowledgements scan the
    /// finished jobs, so letting them pile up slows the queue (STACK.md trap 1).
    pub async fn purge_finished_jobs(&self, before: DateTime<Utc>) -> Result<u64, EngineError> {
        if self.db.backend != Backend::Sqlite {
            return Ok(0);
        }
        let stmt = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "DELETE FROM Jobs WHERE status IN ('Done', 'Killed', 'Failed') AND done_at IS NOT NULL AND done_at < ?",
            [before.timestamp().into()],
        );
        let res = self
            .db
            .conn
            .execute_raw(stmt)
            .await
            .map_err(suture_storage::StorageError::from)?;
        Ok(res.rows_affected())
    }
}

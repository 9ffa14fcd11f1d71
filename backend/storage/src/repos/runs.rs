//! Runs: creation, tenant-scoped reads with keyset pagination, and the worker protocol
//! (claim → heartbeat → finish / requeue) as guarded single-statement updates, so two workers
//! can never both own a run on either backend.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value as Json;
use suture_domain::ids::{RunId, TenantId, WorkflowId};
use suture_domain::status::RunStatus;

use crate::db::{now, truncate};
use crate::entities::runs::{self, Column};
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

repo!(RunRepo);

/// A run to insert. `id` is chosen by the caller so it can be referenced (webhook delivery,
/// job payload) in the same transaction.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: RunId,
    pub workflow_id: WorkflowId,
    pub version: i32,
    pub status: RunStatus,
    pub input: Json,
    pub trigger: String,
    pub trigger_meta: Option<Json>,
    pub not_before: Option<DateTime<Utc>>,
    /// Set when the creator executes the run itself (a synchronous webhook) instead of queueing.
    pub claimed_by: Option<String>,
}

impl NewRun {
    pub fn queued(workflow_id: WorkflowId, version: i32, input: Json, trigger: &str) -> Self {
        NewRun {
            id: RunId::new(),
            workflow_id,
            version,
            status: RunStatus::Queued,
            input,
            trigger: trigger.to_owned(),
            trigger_meta: None,
            not_before: None,
            claimed_by: None,
        }
    }
}

/// Position in a newest-first listing: the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCursor {
    pub created_at: DateTime<Utc>,
    pub id: RunId,
}

impl From<&runs::Model> for RunCursor {
    fn from(run: &runs::Model) -> Self {
        RunCursor {
            created_at: run.created_at,
            id: RunId::from_uuid(run.id),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub workflow: Option<WorkflowId>,
    pub status: Option<RunStatus>,
    pub since: Option<DateTime<Utc>>,
    /// 0 means the default page size.
    pub limit: u64,
    pub cursor: Option<RunCursor>,
}

const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 500;

impl<C: ConnectionTrait> RunRepo<'_, C> {
    pub async fn create(&self, tenant: TenantId, new: NewRun) -> Result<runs::Model, StorageError> {
        let at = now();
        let running = new.status == RunStatus::Running;
        let model = runs::Model {
            id: new.id.as_uuid(),
            tenant_id: tenant.as_uuid(),
            workflow_id: new.workflow_id.as_uuid(),
            version: new.version,
            status: new.status.as_str().to_owned(),
            input: new.input,
            output: None,
            error: None,
            trigger: new.trigger,
            trigger_meta: new.trigger_meta,
            healed: false,
            attempt_group: 0,
            claimed_by: new.claimed_by,
            heartbeat_at: running.then_some(at),
            not_before: new.not_before.map(truncate),
            created_at: at,
            started_at: running.then_some(at),
            finished_at: None,
        };
        runs::Entity::insert(runs::ActiveModel::from(model.clone()))
            .exec_without_returning(self.conn)
            .await
            .on_unique(constraints::PRIMARY_KEY)?;
        Ok(model)
    }

    pub async fn find(
        &self,
        tenant: TenantId,
        id: RunId,
    ) -> Result<Option<runs::Model>, StorageError> {
        Ok(runs::Entity::find()
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .one(self.conn)
            .await?)
    }

    /// The run as seen by the worker holding its claim; the claim fixes the tenant.
    pub async fn claimed(
        &self,
        id: RunId,
        worker: &str,
    ) -> Result<Option<runs::Model>, StorageError> {
        Ok(runs::Entity::find()
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::ClaimedBy.eq(worker))
            .filter(Column::Status.eq(RunStatus::Running.as_str()))
            .one(self.conn)
            .await?)
    }

    /// Newest first (created_at, then id), continuing after `filter.cursor`.
    pub async fn list(
        &self,
        tenant: TenantId,
        filter: &RunFilter,
    ) -> Result<Vec<runs::Model>, StorageError> {
        let mut query = runs::Entity::find().filter(Column::TenantId.eq(tenant.as_uuid()));
        if let Some(workflow) = filter.workflow {
            query = query.filter(Column::WorkflowId.eq(workflow.as_uuid()));
        }
        if let Some(status) = filter.status {
            query = query.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(since) = filter.since {
            query = query.filter(Column::CreatedAt.gte(truncate(since)));
        }
        if let Some(cursor) = filter.cursor {
            let at = truncate(cursor.created_at);
            query = query.filter(
                Condition::any().add(Column::CreatedAt.lt(at)).add(
                    Condition::all()
                        .add(Column::CreatedAt.eq(at))
                        .add(Column::Id.lt(cursor.id.as_uuid())),
                ),
            );
        }
        let limit = match filter.limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        Ok(query
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(self.conn)
            .await?)
    }

    /// Takes the run for `worker` if it is queued and due, or if it is running under a worker
    /// whose last heartbeat is older than `stale_before` (that worker is presumed dead).
    /// Exactly one of several concurrent claimers gets `true`.
    pub async fn claim(
        &self,
        id: RunId,
        worker: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let now = truncate(now);
        let due = Condition::all()
            .add(Column::Status.eq(RunStatus::Queued.as_str()))
            .add(
                Condition::any()
                    .add(Column::NotBefore.is_null())
                    .add(Column::NotBefore.lte(now)),
            );
        let abandoned = Condition::all()
            .add(Column::Status.eq(RunStatus::Running.as_str()))
            .add(
                Condition::any()
                    .add(Column::HeartbeatAt.is_null())
                    .add(Column::HeartbeatAt.lt(truncate(stale_before))),
            );
        let res = runs::Entity::update_many()
            .col_expr(Column::Status, Expr::value(RunStatus::Running.as_str()))
            .col_expr(Column::ClaimedBy, Expr::value(worker))
            .col_expr(Column::HeartbeatAt, Expr::value(now))
            .col_expr(
                Column::StartedAt,
                Func::coalesce([Expr::col(Column::StartedAt), Expr::value(now)]).into(),
            )
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Condition::any().add(due).add(abandoned))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Proves `worker` is alive; false means it lost the run (reclaimed or finished).
    pub async fn heartbeat(&self, id: RunId, worker: &str) -> Result<bool, StorageError> {
        let res = runs::Entity::update_many()
            .col_expr(Column::HeartbeatAt, Expr::value(now()))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::ClaimedBy.eq(worker))
            .filter(Column::Status.eq(RunStatus::Running.as_str()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records the outcome if `worker` still holds the run; false otherwise (nothing written).
    pub async fn finish(
        &self,
        id: RunId,
        worker: &str,
        status: RunStatus,
        output: Option<Json>,
        error: Option<Json>,
        healed: bool,
    ) -> Result<bool, StorageError> {
        let res = runs::Entity::update_many()
            .col_expr(Column::Status, Expr::value(status.as_str()))
            .col_expr(Column::Output, Expr::value(output))
            .col_expr(Column::Error, Expr::value(error))
            .col_expr(Column::Healed, Expr::value(healed))
            .col_expr(Column::FinishedAt, Expr::value(now()))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::ClaimedBy.eq(worker))
            .filter(Column::Status.eq(RunStatus::Running.as_str()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives a run `worker` holds back to the queue, due at `not_before` (retry back-off, wait,
    /// parked outage). Guarded by the claim so a worker cannot requeue a run it lost.
    pub async fn requeue(
        &self,
        id: RunId,
        worker: &str,
        not_before: Option<DateTime<Utc>>,
    ) -> Result<bool, StorageError> {
        let res = runs::Entity::update_many()
            .col_expr(Column::Status, Expr::value(RunStatus::Queued.as_str()))
            .col_expr(Column::NotBefore, Expr::value(not_before.map(truncate)))
            .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
            .col_expr(
                Column::HeartbeatAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::ClaimedBy.eq(worker))
            .filter(Column::Status.eq(RunStatus::Running.as_str()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Moves a run of the tenant from one of `from` to `to` (cancel, approval). Moving to a
    /// terminal status stamps `finished_at`; moving to `queued` drops any claim.
    pub async fn set_status(
        &self,
        tenant: TenantId,
        id: RunId,
        from: &[RunStatus],
        to: RunStatus,
    ) -> Result<bool, StorageError> {
        let mut update =
            runs::Entity::update_many().col_expr(Column::Status, Expr::value(to.as_str()));
        if to.is_terminal() {
            update = update.col_expr(Column::FinishedAt, Expr::value(now()));
        }
        if to == RunStatus::Queued {
            update = update
                .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
                .col_expr(
                    Column::HeartbeatAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                );
        }
        let res = update
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Status.is_in(from.iter().map(|s| s.as_str())))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Puts a failed, cancelled or parked run back in the queue after a human fix. The attempt
    /// group moves on, so outbound calls carry new idempotency keys; finished steps stay.
    pub async fn resume(&self, tenant: TenantId, id: RunId) -> Result<bool, StorageError> {
        let from = [
            RunStatus::Failed,
            RunStatus::Cancelled,
            RunStatus::WaitingApproval,
        ];
        let res = runs::Entity::update_many()
            .col_expr(Column::Status, Expr::value(RunStatus::Queued.as_str()))
            .col_expr(
                Column::AttemptGroup,
                sea_orm::sea_query::ExprTrait::add(Expr::col(Column::AttemptGroup), 1),
            )
            .col_expr(Column::Error, Expr::value(Option::<Json>::None))
            .col_expr(
                Column::FinishedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
            .col_expr(
                Column::HeartbeatAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                Column::NotBefore,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Status.is_in(from.iter().map(|s| s.as_str())))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Fails a run parked for approval (its repair was rejected), recording why.
    pub async fn fail_waiting(
        &self,
        tenant: TenantId,
        id: RunId,
        error: Json,
    ) -> Result<bool, StorageError> {
        let res = runs::Entity::update_many()
            .col_expr(Column::Status, Expr::value(RunStatus::Failed.as_str()))
            .col_expr(Column::Error, Expr::value(Some(error)))
            .col_expr(Column::FinishedAt, Expr::value(now()))
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Status.eq(RunStatus::WaitingApproval.as_str()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Running runs whose worker has not beaten since `cutoff` (all tenants; for the sweeper).
    pub async fn list_stale_running(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<runs::Model>, StorageError> {
        Ok(runs::Entity::find()
            .filter(Column::Status.eq(RunStatus::Running.as_str()))
            .filter(
                Condition::any()
                    .add(Column::HeartbeatAt.is_null())
                    .add(Column::HeartbeatAt.lt(truncate(cutoff))),
            )
            .order_by_asc(Column::HeartbeatAt)
            .all(self.conn)
            .await?)
    }

    /// Queued runs due at `now` (all tenants; for whoever pushes their jobs), oldest first.
    pub async fn list_due(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<runs::Model>, StorageError> {
        Ok(runs::Entity::find()
            .filter(Column::Status.eq(RunStatus::Queued.as_str()))
            .filter(
                Condition::any()
                    .add(Column::NotBefore.is_null())
                    .add(Column::NotBefore.lte(truncate(now))),
            )
            .order_by_asc(Column::CreatedAt)
            .limit(limit)
            .all(self.conn)
            .await?)
    }

    /// Number of the tenant's runs per status created at or after `since`.
    pub async fn count_by_status(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>, StorageError> {
        Ok(runs::Entity::find()
            .select_only()
            .column(Column::Status)
            .column_as(Column::Id.count(), "count")
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::CreatedAt.gte(truncate(since)))
            .group_by(Column::Status)
            .order_by_asc(Column::Status)
            .into_tuple::<(String, i64)>()
            .all(self.conn)
            .await?)
    }
}

//! Finished steps: the durable record a resumed run skips over.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use suture_domain::ids::{RunId, TenantId};

use crate::db::truncate;
use crate::entities::steps::{self, Column};
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

repo!(StepRepo);

impl<C: ConnectionTrait> StepRepo<'_, C> {
    /// Inserts the step, or — when a step already holds `(run_id, position)`, e.g. written by a
    /// worker that died before finishing the run — returns that existing row unchanged.
    /// `NotFound` if the run does not exist.
    pub async fn insert_finished(&self, step: steps::Model) -> Result<steps::Model, StorageError> {
        let mut step = step;
        step.started_at = truncate(step.started_at);
        step.finished_at = step.finished_at.map(truncate);
        // No conflict target: any unique clash (position or a repeated id) means "already
        // recorded", and neither backend aborts the surrounding transaction for it.
        let inserted = steps::Entity::insert(steps::ActiveModel::from(step.clone()))
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(self.conn)
            .await
            .on_unique_or_missing_parent(constraints::STEP_POSITION)?;
        if inserted == 1 {
            return Ok(step);
        }
        steps::Entity::find()
            .filter(Column::TenantId.eq(step.tenant_id))
            .filter(Column::RunId.eq(step.run_id))
            .filter(Column::Position.eq(step.position))
            .one(self.conn)
            .await?
            .ok_or_else(|| StorageError::conflict(constraints::PRIMARY_KEY))
    }

    pub async fn list_for_run(
        &self,
        tenant: TenantId,
        run: RunId,
    ) -> Result<Vec<steps::Model>, StorageError> {
        Ok(steps::Entity::find()
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::RunId.eq(run.as_uuid()))
            .order_by_asc(Column::Position)
            .all(self.conn)
            .await?)
    }
}

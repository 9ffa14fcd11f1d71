//! Webhook delivery ids seen per workflow, so a redelivered webhook maps to its first run.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use suture_domain::ids::{RunId, TenantId, WorkflowId};
use uuid::Uuid;

use crate::db::{now, truncate};
use crate::entities::webhook_deliveries::{self, Column};
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

repo!(DeliveryRepo);

impl<C: ConnectionTrait> DeliveryRepo<'_, C> {
    /// `Conflict(DELIVERY_ID)` if the workflow already saw this delivery id.
    pub async fn record(
        &self,
        tenant: TenantId,
        workflow: WorkflowId,
        delivery_id: &str,
        run: RunId,
    ) -> Result<webhook_deliveries::Model, StorageError> {
        let model = webhook_deliveries::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant.as_uuid(),
            workflow_id: workflow.as_uuid(),
            delivery_id: delivery_id.to_owned(),
            run_id: run.as_uuid(),
            created_at: now(),
        };
        webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel::from(model.clone()))
            .exec_without_returning(self.conn)
            .await
            .on_unique(constraints::DELIVERY_ID)?;
        Ok(model)
    }

    /// The earlier delivery with this id, if recorded after `newer_than`.
    pub async fn find(
        &self,
        workflow: WorkflowId,
        delivery_id: &str,
        newer_than: DateTime<Utc>,
    ) -> Result<Option<webhook_deliveries::Model>, StorageError> {
        Ok(webhook_deliveries::Entity::find()
            .filter(Column::WorkflowId.eq(workflow.as_uuid()))
            .filter(Column::DeliveryId.eq(delivery_id))
            .filter(Column::CreatedAt.gt(truncate(newer_than)))
            .one(self.conn)
            .await?)
    }

    pub async fn purge_older_than(&self, cutoff: DateTime<Utc>) -> Result<u64, StorageError> {
        let res = webhook_deliveries::Entity::delete_many()
            .filter(Column::CreatedAt.lt(truncate(cutoff)))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected)
    }
}

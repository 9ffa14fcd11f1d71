//! The repair audit log: one row per healing attempt, whatever its outcome.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use suture_domain::ids::{RepairId, RunId, TenantId, UserId, WorkflowId};

use crate::db::truncate;
use crate::entities::repairs::{self, Column};
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

repo!(RepairRepo);

#[derive(Debug, Clone, Default)]
pub struct RepairFilter {
    pub run: Option<RunId>,
    pub workflow: Option<WorkflowId>,
    /// Matches `outcome` (`accepted`, `rejected`, `error`, `pending_approval`, `approved`).
    pub outcome: Option<String>,
    /// Matches `generator` exactly (`heuristic:response_mapping`, `llm:<model>`, …).
    pub generator: Option<String>,
    /// 0 means the default page size.
    pub limit: u64,
}

const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 500;

impl<C: ConnectionTrait> RepairRepo<'_, C> {
    pub async fn insert(&self, repair: repairs::Model) -> Result<repairs::Model, StorageError> {
        let mut repair = repair;
        repair.created_at = truncate(repair.created_at);
        repairs::Entity::insert(repairs::ActiveModel::from(repair.clone()))
            .exec_without_returning(self.conn)
            .await
            .on_unique(constraints::PRIMARY_KEY)?;
        Ok(repair)
    }

    pub async fn find(
        &self,
        tenant: TenantId,
        id: RepairId,
    ) -> Result<Option<repairs::Model>, StorageError> {
        Ok(repairs::Entity::find()
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .one(self.conn)
            .await?)
    }

    /// Newest first.
    pub async fn list(
        &self,
        tenant: TenantId,
        filter: &RepairFilter,
    ) -> Result<Vec<repairs::Model>, StorageError> {
        let mut query = repairs::Entity::find().filter(Column::TenantId.eq(tenant.as_uuid()));
        if let Some(run) = filter.run {
            query = query.filter(Column::RunId.eq(run.as_uuid()));
        }
        if let Some(workflow) = filter.workflow {
            query = query.filter(Column::WorkflowId.eq(workflow.as_uuid()));
        }
        if let Some(outcome) = &filter.outcome {
            query = query.filter(Column::Outcome.eq(outcome.as_str()));
        }
        if let Some(generator) = &filter.generator {
            query = query.filter(Column::Generator.eq(generator.as_str()));
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

    /// The run's repairs in the order they were attempted.
    pub async fn list_for_run(
        &self,
        tenant: TenantId,
        run: RunId,
    ) -> Result<Vec<repairs::Model>, StorageError> {
        Ok(repairs::Entity::find()
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::RunId.eq(run.as_uuid()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(self.conn)
            .await?)
    }

    pub async fn set_outcome(
        &self,
        tenant: TenantId,
        id: RepairId,
        outcome: &str,
        approved_by: Option<UserId>,
    ) -> Result<bool, StorageError> {
        let res = repairs::Entity::update_many()
            .col_expr(Column::Outcome, Expr::value(outcome))
            .col_expr(
                Column::ApprovedBy,
                Expr::value(approved_by.map(|u| u.as_uuid())),
            )
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }
}

//! Antibodies: validated patches keyed by failure fingerprint, reused across runs of a tenant.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use suture_domain::ids::{AntibodyId, TenantId};

use crate::db::{now, truncate};
use crate::entities::antibodies::{self, Column};
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

repo!(AntibodyRepo);

pub const ACTIVE: &str = "active";
pub const CANDIDATE: &str = "candidate";
pub const RETIRED: &str = "retired";
pub const REJECTED: &str = "rejected";

impl<C: ConnectionTrait> AntibodyRepo<'_, C> {
    /// The newest active antibody for the fingerprint, if any.
    pub async fn find_active(
        &self,
        tenant: TenantId,
        fingerprint: &str,
    ) -> Result<Option<antibodies::Model>, StorageError> {
        Ok(antibodies::Entity::find()
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Fingerprint.eq(fingerprint))
            .filter(Column::Status.eq(ACTIVE))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .one(self.conn)
            .await?)
    }

    pub async fn find(
        &self,
        tenant: TenantId,
        id: AntibodyId,
    ) -> Result<Option<antibodies::Model>, StorageError> {
        Ok(antibodies::Entity::find()
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .one(self.conn)
            .await?)
    }

    pub async fn insert(
        &self,
        antibody: antibodies::Model,
    ) -> Result<antibodies::Model, StorageError> {
        let mut antibody = antibody;
        antibody.created_at = truncate(antibody.created_at);
        antibodies::Entity::insert(antibodies::ActiveModel::from(antibody.clone()))
            .exec_without_returning(self.conn)
            .await
            .on_unique(constraints::PRIMARY_KEY)?;
        Ok(antibody)
    }

    /// Counts one application; the id came from a tenant-scoped `find_active`.
    pub async fn record_use(&self, id: AntibodyId) -> Result<bool, StorageError> {
        let res = antibodies::Entity::update_many()
            .col_expr(Column::Uses, Expr::col(Column::Uses).add(1))
            .col_expr(Column::LastUsedAt, Expr::value(now()))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Newest first.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<antibodies::Model>, StorageError> {
        Ok(antibodies::Entity::find()
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .all(self.conn)
            .await?)
    }

    /// Lifecycle moves other than retiring (candidate → active, → rejected).
    pub async fn set_status(
        &self,
        tenant: TenantId,
        id: AntibodyId,
        status: &str,
    ) -> Result<bool, StorageError> {
        let res = antibodies::Entity::update_many()
            .col_expr(Column::Status, Expr::value(status))
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Retires a candidate or active antibody; false if not the tenant's or already retired.
    pub async fn retire(&self, tenant: TenantId, id: AntibodyId) -> Result<bool, StorageError> {
        let res = antibodies::Entity::update_many()
            .col_expr(Column::Status, Expr::value(RETIRED))
            .col_expr(Column::RetiredAt, Expr::value(now()))
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Status.is_in([CANDIDATE, ACTIVE]))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }
}

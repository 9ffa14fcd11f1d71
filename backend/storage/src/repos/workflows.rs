//! Workflows and their immutable versions. Creating a workflow or a version is one transaction;
//! name uniqueness among non-deleted workflows is checked here under a tenant-row lock.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionSession,
    TransactionTrait,
};
use serde_json::Value as Json;
use suture_domain::ids::{TenantId, WorkflowId};
use uuid::Uuid;

use crate::db::now;
use crate::entities::{tenants, workflow_versions, workflows};
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

repo!(WorkflowRepo);

pub struct NewWorkflow<'a> {
    pub name: &'a str,
    pub definition: Json,
    pub source: &'a str,
    pub source_format: &'a str,
    pub hook_id: &'a str,
    pub webhook_secret: Option<&'a str>,
}

pub struct NewVersion<'a> {
    pub definition: Json,
    pub source: &'a str,
    pub source_format: &'a str,
}

impl<C: ConnectionTrait + TransactionTrait> WorkflowRepo<'_, C> {
    /// Creates the workflow and its version 1 atomically. `Conflict(WORKFLOW_NAME)` if a live
    /// workflow of the tenant has that name, `Conflict(WORKFLOW_HOOK_ID)` on a hook id clash,
    /// `NotFound` if the tenant does not exist.
    pub async fn create(
        &self,
        tenant: TenantId,
        new: NewWorkflow<'_>,
    ) -> Result<(workflows::Model, workflow_versions::Model), StorageError> {
        let txn = self.conn.begin().await?;
        // A no-op write on the tenant row serialises concurrent creates in one tenant on both
        // backends (row lock on PostgreSQL, the write lock on SQLite), so the name check below
        // cannot race; writing first also spares SQLite a read-to-write lock upgrade.
        let locked = tenants::Entity::update_many()
            .col_expr(tenants::Column::Name, Expr::col(tenants::Column::Name))
            .filter(tenants::Column::Id.eq(tenant.as_uuid()))
            .exec(&txn)
            .await?;
        if locked.rows_affected != 1 {
            return Err(StorageError::NotFound);
        }
        let taken = workflows::Entity::find()
            .filter(workflows::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflows::Column::Name.eq(new.name))
            .filter(workflows::Column::DeletedAt.is_null())
            .one(&txn)
            .await?;
        if taken.is_some() {
            return Err(StorageError::conflict(constraints::WORKFLOW_NAME));
        }
        let at = now();
        let workflow = workflows::Model {
            id: WorkflowId::new().as_uuid(),
            tenant_id: tenant.as_uuid(),
            name: new.name.to_owned(),
            current_version: 1,
            hook_id: new.hook_id.to_owned(),
            webhook_secret: new.webhook_secret.map(str::to_owned),
            created_at: at,
            updated_at: at,
            deleted_at: None,
        };
        workflows::Entity::insert(workflows::ActiveModel::from(workflow.clone()))
            .exec_without_returning(&txn)
            .await
            .on_unique(constraints::WORKFLOW_HOOK_ID)?;
        let version = workflow_versions::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant.as_uuid(),
            workflow_id: workflow.id,
            version: 1,
            definition: new.definition,
            source: new.source.to_owned(),
            source_format: new.source_format.to_owned(),
            created_at: at,
        };
        workflow_versions::Entity::insert(workflow_versions::ActiveModel::from(version.clone()))
            .exec_without_returning(&txn)
            .await
            .on_unique(constraints::WORKFLOW_VERSION)?;
        txn.commit().await?;
        Ok((workflow, version))
    }

    /// Appends a version and makes it current, atomically. `NotFound` if the workflow is not
    /// the tenant's or is deleted.
    pub async fn add_version(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        new: NewVersion<'_>,
    ) -> Result<workflow_versions::Model, StorageError> {
        let txn = self.conn.begin().await?;
        let at = now();
        // Bump first: the row lock it takes makes concurrent add_version calls queue up instead
        // of computing the same next number.
        let bumped = workflows::Entity::update_many()
            .col_expr(
                workflows::Column::CurrentVersion,
                Expr::col(workflows::Column::CurrentVersion).add(1),
            )
            .col_expr(workflows::Column::UpdatedAt, Expr::value(at))
            .filter(workflows::Column::Id.eq(id.as_uuid()))
            .filter(workflows::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflows::Column::DeletedAt.is_null())
            .exec(&txn)
            .await?;
        if bumped.rows_affected != 1 {
            return Err(StorageError::NotFound);
        }
        let workflow = workflows::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await?
            .ok_or(StorageError::NotFound)?;
        let version = workflow_versions::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant.as_uuid(),
            workflow_id: workflow.id,
            version: workflow.current_version,
            definition: new.definition,
            source: new.source.to_owned(),
            source_format: new.source_format.to_owned(),
            created_at: at,
        };
        workflow_versions::Entity::insert(workflow_versions::ActiveModel::from(version.clone()))
            .exec_without_returning(&txn)
            .await
            .on_unique(constraints::WORKFLOW_VERSION)?;
        txn.commit().await?;
        Ok(version)
    }
}

impl<C: ConnectionTrait> WorkflowRepo<'_, C> {
    /// A live (non-deleted) workflow of the tenant.
    pub async fn find(
        &self,
        tenant: TenantId,
        id: WorkflowId,
    ) -> Result<Option<workflows::Model>, StorageError> {
        Ok(workflows::Entity::find()
            .filter(workflows::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflows::Column::Id.eq(id.as_uuid()))
            .filter(workflows::Column::DeletedAt.is_null())
            .one(self.conn)
            .await?)
    }

    /// Global lookup for webhook intake: the hook id fixes the tenant.
    pub async fn find_by_hook(
        &self,
        hook_id: &str,
    ) -> Result<Option<workflows::Model>, StorageError> {
        Ok(workflows::Entity::find()
            .filter(workflows::Column::HookId.eq(hook_id))
            .filter(workflows::Column::DeletedAt.is_null())
            .one(self.conn)
            .await?)
    }

    pub async fn find_by_name(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<Option<workflows::Model>, StorageError> {
        Ok(workflows::Entity::find()
            .filter(workflows::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflows::Column::Name.eq(name))
            .filter(workflows::Column::DeletedAt.is_null())
            .one(self.conn)
            .await?)
    }

    /// Live workflows of the tenant, by name.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<workflows::Model>, StorageError> {
        Ok(workflows::Entity::find()
            .filter(workflows::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflows::Column::DeletedAt.is_null())
            .order_by_asc(workflows::Column::Name)
            .all(self.conn)
            .await?)
    }

    pub async fn version(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        version: i32,
    ) -> Result<Option<workflow_versions::Model>, StorageError> {
        Ok(workflow_versions::Entity::find()
            .filter(workflow_versions::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflow_versions::Column::WorkflowId.eq(id.as_uuid()))
            .filter(workflow_versions::Column::Version.eq(version))
            .one(self.conn)
            .await?)
    }

    /// All versions, newest first.
    pub async fn versions(
        &self,
        tenant: TenantId,
        id: WorkflowId,
    ) -> Result<Vec<workflow_versions::Model>, StorageError> {
        Ok(workflow_versions::Entity::find()
            .filter(workflow_versions::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflow_versions::Column::WorkflowId.eq(id.as_uuid()))
            .order_by_desc(workflow_versions::Column::Version)
            .all(self.conn)
            .await?)
    }

    /// Marks the workflow deleted (its runs and versions stay for the record); frees its name.
    pub async fn soft_delete(
        &self,
        tenant: TenantId,
        id: WorkflowId,
    ) -> Result<bool, StorageError> {
        let at = now();
        let res = workflows::Entity::update_many()
            .col_expr(workflows::Column::DeletedAt, Expr::value(at))
            .col_expr(workflows::Column::UpdatedAt, Expr::value(at))
            .filter(workflows::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflows::Column::Id.eq(id.as_uuid()))
            .filter(workflows::Column::DeletedAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn set_webhook_secret(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        secret: Option<&str>,
    ) -> Result<bool, StorageError> {
        let res = workflows::Entity::update_many()
            .col_expr(
                workflows::Column::WebhookSecret,
                Expr::value(secret.map(str::to_owned)),
            )
            .col_expr(workflows::Column::UpdatedAt, Expr::value(now()))
            .filter(workflows::Column::TenantId.eq(tenant.as_uuid()))
            .filter(workflows::Column::Id.eq(id.as_uuid()))
            .filter(workflows::Column::DeletedAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }
}

//! Tenants and the tenants a user belongs to.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use suture_domain::ids::{TenantId, UserId};
use suture_domain::status::Role;
use uuid::Uuid;

use crate::db::now;
use crate::entities::{memberships, tenants};
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

repo!(TenantRepo);

impl<C: ConnectionTrait> TenantRepo<'_, C> {
    /// How many tenants exist (first-start detection).
    pub async fn count(&self) -> Result<u64, StorageError> {
        Ok(tenants::Entity::find().count(self.conn).await?)
    }

    pub async fn create(&self, name: &str) -> Result<tenants::Model, StorageError> {
        let model = tenants::Model {
            id: TenantId::new().as_uuid(),
            name: name.to_owned(),
            created_at: now(),
        };
        tenants::Entity::insert(tenants::ActiveModel::from(model.clone()))
            .exec_without_returning(self.conn)
            .await
            .on_unique(constraints::TENANT_NAME)?;
        Ok(model)
    }

    pub async fn find(&self, id: TenantId) -> Result<Option<tenants::Model>, StorageError> {
        Ok(tenants::Entity::find_by_id(id.as_uuid())
            .one(self.conn)
            .await?)
    }

    pub async fn find_by_name(&self, name: &str) -> Result<Option<tenants::Model>, StorageError> {
        Ok(tenants::Entity::find()
            .filter(tenants::Column::Name.eq(name))
            .one(self.conn)
            .await?)
    }

    /// The tenants `user` is a member of, with the role held in each, by tenant name.
    pub async fn list_for_user(
        &self,
        user: UserId,
    ) -> Result<Vec<(tenants::Model, Role)>, StorageError> {
        let members = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user.as_uuid()))
            .all(self.conn)
            .await?;
        let ids: Vec<Uuid> = members.iter().map(|m| m.tenant_id).collect();
        let tenants = tenants::Entity::find()
            .filter(tenants::Column::Id.is_in(ids))
            .order_by_asc(tenants::Column::Name)
            .all(self.conn)
            .await?;
        let mut out = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            if let Some(m) = members.iter().find(|m| m.tenant_id == tenant.id) {
                out.push((tenant, parse_role(&m.role)?));
            }
        }
        Ok(out)
    }
}

pub(crate) fn parse_role(text: &str) -> Result<Role, StorageError> {
    text.parse()
        .map_err(|e: suture_domain::status::UnknownName| StorageError::Invalid(e.to_string()))
}

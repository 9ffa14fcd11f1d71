//! Users (e-mail stored lower-cased) and their memberships in tenants.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use suture_domain::ids::{TenantId, UserId};
use suture_domain::status::Role;

use crate::db::now;
use crate::entities::{memberships, users};
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::{repo, tenants::parse_role};

repo!(UserRepo);

fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl<C: ConnectionTrait> UserRepo<'_, C> {
    pub async fn create(
        &self,
        email: &str,
        password_hash: &str,
    ) -> Result<users::Model, StorageError> {
        let model = users::Model {
            id: UserId::new().as_uuid(),
            email: normalise_email(email),
            password_hash: password_hash.to_owned(),
            created_at: now(),
        };
        users::Entity::insert(users::ActiveModel::from(model.clone()))
            .exec_without_returning(self.conn)
            .await
            .on_unique(constraints::USER_EMAIL)?;
        Ok(model)
    }

    pub async fn find(&self, id: UserId) -> Result<Option<users::Model>, StorageError> {
        Ok(users::Entity::find_by_id(id.as_uuid())
            .one(self.conn)
            .await?)
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<users::Model>, StorageError> {
        Ok(users::Entity::find()
            .filter(users::Column::Email.eq(normalise_email(email)))
            .one(self.conn)
            .await?)
    }

    pub async fn set_password_hash(
        &self,
        id: UserId,
        password_hash: &str,
    ) -> Result<bool, StorageError> {
        let res = users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, password_hash.into())
            .filter(users::Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Fails with `Conflict(MEMBERSHIP)` if the user is already a member, `NotFound` if the
    /// tenant or user does not exist.
    pub async fn add_membership(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
    ) -> Result<(), StorageError> {
        memberships::Entity::insert(memberships::ActiveModel {
            tenant_id: Set(tenant.as_uuid()),
            user_id: Set(user.as_uuid()),
            role: Set(role.as_str().to_owned()),
            created_at: Set(now()),
        })
        .exec_without_returning(self.conn)
        .await
        .on_unique_or_missing_parent(constraints::MEMBERSHIP)?;
        Ok(())
    }

    pub async fn membership(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<Role>, StorageError> {
        let found = memberships::Entity::find_by_id((tenant.as_uuid(), user.as_uuid()))
            .one(self.conn)
            .await?;
        found.map(|m| parse_role(&m.role)).transpose()
    }

    pub async fn set_role(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
    ) -> Result<bool, StorageError> {
        let res = memberships::Entity::update_many()
            .col_expr(memberships::Column::Role, role.as_str().into())
            .filter(memberships::Column::TenantId.eq(tenant.as_uuid()))
            .filter(memberships::Column::UserId.eq(user.as_uuid()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn remove_membership(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<bool, StorageError> {
        let res = memberships::Entity::delete_many()
            .filter(memberships::Column::TenantId.eq(tenant.as_uuid()))
            .filter(memberships::Column::UserId.eq(user.as_uuid()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Members of `tenant` with their roles, by e-mail.
    pub async fn list_members(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<(users::Model, Role)>, StorageError> {
        let members = memberships::Entity::find()
            .filter(memberships::Column::TenantId.eq(tenant.as_uuid()))
            .all(self.conn)
            .await?;
        let users = users::Entity::find()
            .filter(users::Column::Id.is_in(members.iter().map(|m| m.user_id)))
            .order_by_asc(users::Column::Email)
            .all(self.conn)
            .await?;
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            if let Some(m) = members.iter().find(|m| m.user_id == user.id) {
                out.push((user, parse_role(&m.role)?));
            }
        }
        Ok(out)
    }
}

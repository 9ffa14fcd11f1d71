//! Dashboard login sessions, looked up by the hash of the cookie value.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use suture_domain::ids::{SessionId, TenantId, UserId};

use crate::db::{now, truncate};
use crate::entities::sessions;
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

repo!(SessionRepo);

impl<C: ConnectionTrait> SessionRepo<'_, C> {
    pub async fn create(
        &self,
        user: UserId,
        tenant: TenantId,
        token_hash: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<sessions::Model, StorageError> {
        let model = sessions::Model {
            id: SessionId::new().as_uuid(),
            user_id: user.as_uuid(),
            tenant_id: tenant.as_uuid(),
            token_hash: token_hash.to_owned(),
            csrf_token: csrf_token.to_owned(),
            created_at: now(),
            expires_at: truncate(expires_at),
        };
        sessions::Entity::insert(sessions::ActiveModel::from(model.clone()))
            .exec_without_returning(self.conn)
            .await
            .on_unique(constraints::SESSION_TOKEN_HASH)?;
        Ok(model)
    }

    pub async fn find_valid_by_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<sessions::Model>, StorageError> {
        Ok(sessions::Entity::find()
            .filter(sessions::Column::TokenHash.eq(token_hash))
            .filter(sessions::Column::ExpiresAt.gt(truncate(now)))
            .one(self.conn)
            .await?)
    }

    pub async fn delete(&self, token_hash: &str) -> Result<bool, StorageError> {
        let res = sessions::Entity::delete_many()
            .filter(sessions::Column::TokenHash.eq(token_hash))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Switches the session's current tenant; membership is the caller's check.
    pub async fn set_tenant(
        &self,
        session: SessionId,
        tenant: TenantId,
    ) -> Result<bool, StorageError> {
        let res = sessions::Entity::update_many()
            .col_expr(sessions::Column::TenantId, Expr::value(tenant.as_uuid()))
            .filter(sessions::Column::Id.eq(session.as_uuid()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn delete_expired(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let res = sessions::Entity::delete_many()
            .filter(sessions::Column::ExpiresAt.lte(truncate(now)))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected)
    }
}

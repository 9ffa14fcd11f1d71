//! API tokens: stored only as a hash; the hash lookup is global because the token fixes the tenant.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value as Json;
use suture_domain::ids::{TenantId, TokenId, UserId};

use crate::db::{now, truncate};
use crate::entities::api_tokens;
use crate::error::{DbResultExt, StorageError, constraints};
use crate::repos::repo;

/// `last_used_at` is informational; writing it at most once a minute keeps authentication from
/// turning every API call into a write.
const TOUCH_INTERVAL: TimeDelta = TimeDelta::seconds(60);

repo!(TokenRepo);

impl<C: ConnectionTrait> TokenRepo<'_, C> {
    pub async fn create(
        &self,
        tenant: TenantId,
        name: &str,
        prefix: &str,
        token_hash: &str,
        scopes: Json,
        created_by: Option<UserId>,
    ) -> Result<api_tokens::Model, StorageError> {
        let model = api_tokens::Model {
            id: TokenId::new().as_uuid(),
            tenant_id: tenant.as_uuid(),
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            token_hash: token_hash.to_owned(),
            scopes,
            created_by: created_by.map(|u| u.as_uuid()),
            created_at: now(),
            last_used_at: None,
            revoked_at: None,
        };
        api_tokens::Entity::insert(api_tokens::ActiveModel::from(model.clone()))
            .exec_without_returning(self.conn)
            .await
            .on_unique_or_missing_parent(constraints::TOKEN_HASH)?;
        Ok(model)
    }

    pub async fn find_active_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<api_tokens::Model>, StorageError> {
        Ok(api_tokens::Entity::find()
            .filter(api_tokens::Column::TokenHash.eq(token_hash))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .one(self.conn)
            .await?)
    }

    /// Records a use at `at`, skipped when the stored value is less than a minute old.
    /// Returns whether a write happened.
    pub async fn touch_last_used(
        &self,
        id: TokenId,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let at = truncate(at);
        let res = api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::LastUsedAt, Expr::value(at))
            .filter(api_tokens::Column::Id.eq(id.as_uuid()))
            .filter(
                Condition::any()
                    .add(api_tokens::Column::LastUsedAt.is_null())
                    .add(api_tokens::Column::LastUsedAt.lt(at - TOUCH_INTERVAL)),
            )
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// All tokens of the tenant, revoked ones included, newest first.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<api_tokens::Model>, StorageError> {
        Ok(api_tokens::Entity::find()
            .filter(api_tokens::Column::TenantId.eq(tenant.as_uuid()))
            .order_by_desc(api_tokens::Column::CreatedAt)
            .order_by_desc(api_tokens::Column::Id)
            .all(self.conn)
            .await?)
    }

    /// Returns false if the token is not the tenant's or was already revoked.
    pub async fn revoke(&self, tenant: TenantId, id: TokenId) -> Result<bool, StorageError> {
        let res = api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::RevokedAt, Expr::value(now()))
            .filter(api_tokens::Column::TenantId.eq(tenant.as_uuid()))
            .filter(api_tokens::Column::Id.eq(id.as_uuid()))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }
}

//! The API's bearer-token extractor: resolves the token's hash to its tenant before any
//! handler touches the database. Every tenant-scoped handler takes an `ApiAuth`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use suture_domain::ids::{TenantId, TokenId};

use super::secrets::sha256_hex;
use crate::api::error::ApiError;
use crate::app::AppState;

#[derive(Debug, Clone)]
pub struct ApiAuth {
    pub tenant: TenantId,
    pub token_id: TokenId,
}

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized("missing `Authorization: Bearer <token>` header")
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        let found = state
            .db
            .tokens()
            .find_active_by_hash(&sha256_hex(token))
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked API token"))?;
        let token_id = TokenId::from_uuid(found.id);
        if should_touch(state, token_id) {
            state
                .db
                .tokens()
                .touch_last_used(token_id, chrono::Utc::now())
                .await
                .ok();
        }
        Ok(ApiAuth {
            tenant: TenantId::from_uuid(found.tenant_id),
            token_id,
        })
    }
}

const TOUCH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

fn should_touch(state: &AppState, token: TokenId) -> bool {
    let now = std::time::Instant::now();
    let mut uses = state.token_uses.lock().unwrap_or_else(|p| p.into_inner());
    match uses.get(&token) {
        Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
        _ => {
            if uses.len() > 10_000 {
                uses.clear();
            }
            uses.insert(token, now);
            true
        }
    }
}

//! `/api/v1/tokens`: list (prefixes only), create (the value is shown once), revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use suture_domain::ids::TokenId;

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth::ApiAuth;
use crate::auth::secrets::{new_api_token, sha256_hex, token_prefix};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list).post(create))
        .route("/api/v1/tokens/{id}", delete(revoke))
}

async fn list(State(state): State<AppState>, auth: ApiAuth) -> ApiResult<Json<Value>> {
    let items = state.db.tokens().list(auth.tenant).await?;
    let items: Vec<Value> = items
        .iter()
        .map(|t| {
            json!({
                "id": t.id.to_string(), "name": t.name, "prefix": t.prefix, "scopes": t.scopes,
                "created_at": t.created_at, "last_used_at": t.last_used_at, "revoked_at": t.revoked_at,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
struct CreateToken {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    auth: ApiAuth,
    Json(body): Json<CreateToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::invalid(
            "token.invalid",
            "the token needs a name",
            vec![crate::api::error::FieldProblem {
                path: "/name".into(),
                message: "1 to 100 characters".into(),
            }],
        ));
    }
    let token = new_api_token();
    let row = state
        .db
        .tokens()
        .create(
            auth.tenant,
            name,
            &token_prefix(&token),
            &sha256_hex(&token),
            json!(["*"]),
            None,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "id": row.id.to_string(), "name": row.name, "prefix": row.prefix, "token": token }),
        ),
    ))
}

async fn revoke(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: TokenId = id
        .parse()
        .map_err(|_| ApiError::not_found("token.not_found", "token"))?;
    if !state.db.tokens().revoke(auth.tenant, id).await? {
        return Err(ApiError::not_found("token.not_found", "token"));
    }
    Ok(StatusCode::NO_CONTENT)
}

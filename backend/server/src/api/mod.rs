//! The JSON API under `/api/v1`: every handler takes an `ApiAuth`, so the token's tenant scopes
//! every query.

pub mod error;
pub mod pagination;
pub mod repairs;
pub mod runs;
mod tokens;
pub mod workflows;

pub use workflows::format_name;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(workflows::router())
        .merge(runs::router())
        .merge(repairs::router())
        .merge(tokens::router())
}

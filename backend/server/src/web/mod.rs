//! The dashboard: server-rendered askama pages that work without JavaScript. Every page takes a
//! `SessionAuth` (member of the current tenant, with a role); every form is CSRF-checked.

pub mod assets;
mod error;
mod format;
mod login;
mod pages;

use axum::Router;
use axum::routing::{get, post};

pub use error::WebError;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/switch-tenant", post(login::switch_tenant))
        .route("/", get(pages::overview))
        .route("/runs", get(pages::runs))
        .route("/runs/{id}", get(pages::run))
        .route("/repairs", get(pages::repairs))
        .route("/repairs/{id}", get(pages::repair))
        .route("/repairs/{id}/approve", post(pages::approve))
        .route("/repairs/{id}/reject", post(pages::reject))
        .route("/workflows", get(pages::workflows))
        .route("/antibodies", get(pages::antibodies))
        .route("/antibodies/{id}/retire", post(pages::retire))
        .merge(assets::router())
}

//! The dashboard's static files (stylesheet, optional script, favicon), embedded in the binary
//! at compile time so a deployment is one file and the dashboard never depends on a CDN.

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

pub const APP_CSS: &str = include_str!("../../../../frontend/app.css");
pub const APP_JS: &str = include_str!("../../../../frontend/app.js");
pub const FAVICON_SVG: &str = include_str!("../../../../frontend/favicon.svg");

/// An hour: long enough to spare repeat requests within a session, short enough that an
/// upgrade's new stylesheet reaches everyone the same day without fingerprinted file names.
const CACHE: &str = "public, max-age=3600";

/// Routes under `/static/`; stateless, so it merges into a router of any state type.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/static/app.css",
            get(|| serve("text/css; charset=utf-8", APP_CSS)),
        )
        .route(
            "/static/app.js",
            get(|| serve("text/javascript; charset=utf-8", APP_JS)),
        )
        .route(
            "/static/favicon.svg",
            get(|| serve("image/svg+xml", FAVICON_SVG)),
        )
}

async fn serve(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, CACHE)], body)
}

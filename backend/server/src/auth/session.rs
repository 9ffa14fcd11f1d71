//! Dashboard sessions: an opaque cookie whose hash is stored with the member's current tenant
//! and a per-session CSRF token that every form must echo. Login itself is protected by a
//! double-submit CSRF cookie, since no session exists yet.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use suture_domain::ids::{SessionId, TenantId, UserId};
use suture_domain::status::Role;

use super::secrets::{constant_time_eq, sha256_hex};
use crate::app::AppState;

pub const SESSION_COOKIE: &str = "suture_session";
pub const LOGIN_CSRF_COOKIE: &str = "suture_login_csrf";
pub const SESSION_DAYS: i64 = 7;

#[derive(Debug, Clone)]
pub struct SessionAuth {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub email: String,
    pub tenant: TenantId,
    pub tenant_name: String,
    pub role: Role,
    pub csrf_token: String,
}

impl SessionAuth {
    pub fn check_csrf(&self, submitted: &str) -> Result<(), crate::web::WebError> {
        if constant_time_eq(submitted.as_bytes(), self.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(crate::web::WebError::forbidden(
                "the form expired or did not come from this site; reload the page and try again",
            ))
        }
    }

    pub fn require(&self, needed: Role) -> Result<(), crate::web::WebError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(crate::web::WebError::forbidden(&format!(
                "this needs the `{}` role; you are `{}`",
                needed.as_str(),
                self.role.as_str()
            )))
        }
    }
}

/// Not logged in: HTML requests go to the login page.
pub struct LoginRedirect(String);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        Redirect::to(&format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(self.0.as_bytes()).collect::<String>()
        ))
        .into_response()
    }
}

impl FromRequestParts<AppState> for SessionAuth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(LoginRedirect(next).into_response());
        };
        let found = state
            .db
            .sessions()
            .find_valid_by_hash(&sha256_hex(cookie.value()), chrono::Utc::now())
            .await
            .map_err(|e| crate::web::WebError::internal(e).into_response())?;
        let Some(session) = found else {
            return Err(LoginRedirect(next).into_response());
        };
        let tenant = TenantId::from_uuid(session.tenant_id);
        let user_id = UserId::from_uuid(session.user_id);
        let role = state
            .db
            .users()
            .membership(tenant, user_id)
            .await
            .map_err(|e| crate::web::WebError::internal(e).into_response())?;
        let Some(role) = role else {
            // Membership revoked since login.
            return Err(LoginRedirect(next).into_response());
        };
        let user = state
            .db
            .users()
            .find(user_id)
            .await
            .map_err(|e| crate::web::WebError::internal(e).into_response())?;
        let tenant_row = state
            .db
            .tenants()
            .find(tenant)
            .await
            .map_err(|e| crate::web::WebError::internal(e).into_response())?;
        Ok(SessionAuth {
            session_id: SessionId::from_uuid(session.id),
            user_id,
            email: user.map(|u| u.email).unwrap_or_default(),
            tenant,
            tenant_name: tenant_row.map(|t| t.name).unwrap_or_default(),
            role,
            csrf_token: session.csrf_token,
        })
    }
}

pub fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(time_days(SESSION_DAYS))
        .build()
}

pub fn login_csrf_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((LOGIN_CSRF_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/login")
        .build()
}

fn time_days(days: i64) -> cookie::time::Duration {
    cookie::time::Duration::days(days)
}

//! Login, logout and the tenant switcher. Passwords are checked with argon2id off the async
//! threads; a failed login says nothing about which of email or password was wrong.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;
use suture_domain::ids::{TenantId, UserId};

use super::WebError;
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::auth::secrets::{
    constant_time_eq, new_session_token, random_string, sha256_hex, verify_password,
};
use crate::auth::session::{
    LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_DAYS, login_csrf_cookie, session_cookie,
};
use crate::views::LoginPage;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths: `/runs/…`, never `//evil.example` or a full URL.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

fn render_login(
    jar: CookieJar,
    secure: bool,
    error: Option<String>,
    email: String,
    next: String,
    status: axum::http::StatusCode,
) -> Response {
    let csrf = random_string(32);
    let jar = jar.add(login_csrf_cookie(csrf.clone(), secure));
    let page = LoginPage {
        error,
        csrf_token: csrf,
        email,
        next,
    };
    match askama::Template::render(&page) {
        Ok(html) => (status, jar, axum::response::Html(html)).into_response(),
        Err(e) => WebError::internal(e).into_response(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    render_login(
        jar,
        state.config.secure_cookies,
        None,
        String::new(),
        safe_next(q.next.as_deref()),
        axum::http::StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
    Form(form): Form<LoginForm>,
) -> Response {
    let secure = state.config.secure_cookies;
    let next = safe_next(form.next.as_deref().or(q.next.as_deref()));
    let cookie_ok = jar
        .get(LOGIN_CSRF_COOKIE)
        .is_some_and(|c| constant_time_eq(c.value().as_bytes(), form.csrf_token.as_bytes()));
    if !cookie_ok {
        return render_login(
            jar,
            secure,
            Some("The form expired. Please sign in again.".into()),
            form.email,
            next.clone(),
            axum::http::StatusCode::FORBIDDEN,
        );
    }
    let email = form.email.trim().to_ascii_lowercase();
    let user = match state.db.users().find_by_email(&email).await {
        Ok(u) => u,
        Err(e) => return WebError::internal(e).into_response(),
    };
    // Verify even for an unknown user so timing does not reveal which emails exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let password = form.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        return render_login(
            jar,
            secure,
            Some("Wrong email or password.".into()),
            form.email,
            next.clone(),
            axum::http::StatusCode::UNAUTHORIZED,
        );
    };
    let user_id = UserId::from_uuid(user.id);
    let tenants = match state.db.tenants().list_for_user(user_id).await {
        Ok(t) => t,
        Err(e) => return WebError::internal(e).into_response(),
    };
    let Some((tenant, _)) = tenants.first() else {
        return render_login(
            jar,
            secure,
            Some("This account is not a member of any tenant.".into()),
            form.email,
            next.clone(),
            axum::http::StatusCode::FORBIDDEN,
        );
    };
    let token = new_session_token();
    let expires = chrono::Utc::now() + chrono::TimeDelta::days(SESSION_DAYS);
    if let Err(e) = state
        .db
        .sessions()
        .create(
            user_id,
            TenantId::from_uuid(tenant.id),
            &sha256_hex(&token),
            &random_string(32),
            expires,
        )
        .await
    {
        return WebError::internal(e).into_response();
    }
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/login"))
        .add(session_cookie(token, secure));
    (jar, Redirect::to(&next)).into_response()
}

/// A valid argon2id hash of a random string, verified when the email is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0f3YHcdm4pqG1Hn7mKPRfzSd3Y1jRkN2X6tKyy1u0oU";

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf_token: String,
}

pub async fn logout(
    State(state): State<AppState>,
    auth: SessionAuth,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    auth.check_csrf(&form.csrf_token)?;
    if let Some(c) = jar.get(SESSION_COOKIE) {
        state.db.sessions().delete(&sha256_hex(c.value())).await?;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    csrf_token: String,
    tenant_id: String,
}

pub async fn switch_tenant(
    State(state): State<AppState>,
    auth: SessionAuth,
    Form(form): Form<SwitchForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&form.csrf_token)?;
    let tenant: TenantId = form
        .tenant_id
        .parse()
        .map_err(|_| WebError::bad_request("unknown tenant"))?;
    if state
        .db
        .users()
        .membership(tenant, auth.user_id)
        .await?
        .is_none()
    {
        return Err(WebError::forbidden("you are not a member of that tenant"));
    }
    state
        .db
        .sessions()
        .set_tenant(auth.session_id, tenant)
        .await?;
    Ok(Redirect::to("/").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/runs/1")), "/runs/1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_dummy_hash_parses() {
        assert!(!verify_password("anything", DUMMY_HASH));
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}

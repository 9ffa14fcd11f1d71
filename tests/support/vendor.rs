//! A local "SaaS vendor" on 127.0.0.1:0 whose behaviour each test sets: the normal contacts
//! API, and the breakages of SPEC §9 (renamed field, envelope, type change, moved endpoint,
//! vanished field, revoked credentials, bursts of 503 and 429 with Retry-After).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum VendorMode {
    Normal,
    /// `email` is now `email_address`.
    RenamedField,
    /// `{"data": {"attributes": {...}}}`.
    Envelope,
    /// `age` comes as a string.
    NumberAsString,
    /// `/v1/contacts/{id}` answers 404 with `Link: </v2/contacts/{id}>; rel="successor-version"`.
    MovedWithLink,
    /// 410 with a JSON body that names the new path.
    MovedInBody,
    /// 404 with `Location: /v2/contacts/{id}`.
    MovedWithLocation,
    /// `email` vanished and nothing replaces it.
    FieldGone,
    Unauthorized,
    Forbidden,
    /// The first `n` requests answer 503.
    Burst503(usize),
    /// The first request answers 429 with `Retry-After: 1`.
    RateLimited,
}

#[derive(Default)]
struct Inner {
    mode: Option<VendorMode>,
    hits: Vec<String>,
    auth_seen: Vec<String>,
    posted: Vec<Value>,
}

#[derive(Clone)]
pub struct Vendor {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    counter: Arc<AtomicUsize>,
}

fn contact(id: &str) -> Value {
    let n: u64 = id.parse().unwrap_or(7);
    json!({ "id": n, "name": format!("Ada Lovelace {n}"), "email": format!("ada{n}@example.com"), "age": 36 })
}

impl Vendor {
    pub async fn start() -> Vendor {
        let inner = Arc::new(Mutex::new(Inner {
            mode: Some(VendorMode::Normal),
            ..Default::default()
        }));
        let counter = Arc::new(AtomicUsize::new(0));
        let state = (inner.clone(), counter.clone());
        let app = Router::new()
            .route("/v1/contacts/{id}", get(v1_contact))
            .route("/v2/contacts/{id}", get(v2_contact))
            .route(
                "/data",
                get(|| async {
                    axum::Json(json!({"id":123,"name":"widget","price":9.99,"tags":["a","b"]}))
                }),
            )
            .route("/messages", post(post_message))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind vendor");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Vendor {
            base: format!("http://{addr}"),
            inner,
            counter,
        }
    }

    pub fn set_mode(&self, mode: VendorMode) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.mode = Some(mode);
        self.counter.store(0, Ordering::SeqCst);
    }

    pub fn hits(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hits
            .clone()
    }

    pub fn auth_seen(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .auth_seen
            .clone()
    }

    pub fn posted(&self) -> Vec<Value> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .posted
            .clone()
    }

    pub fn clear_hits(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hits
            .clear();
    }
}

type VState = (Arc<Mutex<Inner>>, Arc<AtomicUsize>);

async fn v1_contact(
    State((inner, counter)): State<VState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mode = {
        let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
        g.hits.push(format!("GET /v1/contacts/{id}"));
        if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
            g.auth_seen.push(a.to_string());
        }
        g.mode.clone().unwrap_or(VendorMode::Normal)
    };
    let n = counter.fetch_add(1, Ordering::SeqCst);
    let c = contact(&id);
    match mode {
        VendorMode::Normal => axum::Json(c).into_response(),
        VendorMode::RenamedField => {
            axum::Json(json!({"id": c["id"], "name": c["name"], "email_address": c["email"], "age": c["age"]})).into_response()
        }
        VendorMode::Envelope => axum::Json(json!({"data": {"type": "contact", "attributes": c}})).into_response(),
        VendorMode::NumberAsString => {
            axum::Json(json!({"id": c["id"], "name": c["name"], "email": c["email"], "age": "36"})).into_response()
        }
        VendorMode::MovedWithLink => (
            StatusCode::NOT_FOUND,
            [("link", format!("</v2/contacts/{id}>; rel=\"successor-version\"")), ("content-type", "application/json".to_string())],
            r#"{"error":"this API version was retired"}"#,
        )
            .into_response(),
        VendorMode::MovedWithLocation => {
            (StatusCode::NOT_FOUND, [("location", format!("/v2/contacts/{id}"))], "not here any more").into_response()
        }
        VendorMode::MovedInBody => (
            StatusCode::GONE,
            axum::Json(json!({"error": "gone", "message": format!("This endpoint moved to /v2/contacts/{id}")})),
        )
            .into_response(),
        VendorMode::FieldGone => axum::Json(json!({"id": c["id"], "name": c["name"], "age": c["age"]})).into_response(),
        VendorMode::Unauthorized => (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "token revoked"}))).into_response(),
        VendorMode::Forbidden => (StatusCode::FORBIDDEN, axum::Json(json!({"error": "missing scope contacts:read"}))).into_response(),
        VendorMode::Burst503(k) => {
            if n < k {
                (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
            } else {
                axum::Json(c).into_response()
            }
        }
        VendorMode::RateLimited => {
            if n == 0 {
                (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response()
            } else {
                axum::Json(c).into_response()
            }
        }
    }
}

async fn v2_contact(State((inner, _)): State<VState>, Path(id): Path<String>) -> Response {
    inner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .hits
        .push(format!("GET /v2/contacts/{id}"));
    axum::Json(contact(&id)).into_response()
}

async fn post_message(
    State((inner, _)): State<VState>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
    g.hits.push("POST /messages".into());
    g.posted.push(body.clone());
    (
        StatusCode::CREATED,
        axum::Json(json!({"ok": true, "id": g.posted.len(), "echo": body})),
    )
        .into_response()
}

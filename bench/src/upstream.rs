//! The local upstream of the benchmarks: SPEC §8's `/data`, a `/messages` sink, and a contacts
//! API that renames a field on demand (for time-to-heal).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub struct Upstream {
    pub base: String,
    renamed: Arc<AtomicBool>,
}

impl Upstream {
    pub fn set_renamed(&self, on: bool) {
        self.renamed.store(on, Ordering::SeqCst);
    }
}

pub async fn start() -> anyhow::Result<Upstream> {
    let renamed = Arc::new(AtomicBool::new(false));
    let app = Router::new()
        .route(
            "/data",
            get(|| async {
                axum::Json(json!({"id":123,"name":"widget","price":9.99,"tags":["a","b"]}))
            }),
        )
        .route(
            "/messages",
            post(|axum::Json(body): axum::Json<Value>| async move {
                axum::Json(json!({"ok": true, "echo": body}))
            }),
        )
        .route("/contacts/{id}", get(contact))
        .with_state(renamed.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The upstream gets its own thread so the load it serves is not counted against the server.
    std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(async move {
                let _ = axum::serve(listener, app).await;
            });
        }
    });
    Ok(Upstream {
        base: format!("http://{addr}"),
        renamed,
    })
}

async fn contact(State(renamed): State<Arc<AtomicBool>>, Path(id): Path<u64>) -> axum::Json<Value> {
    let email = format!("ada{id}@example.com");
    if renamed.load(Ordering::SeqCst) {
        axum::Json(json!({"id": id, "name": "Ada", "email_address": email}))
    } else {
        axum::Json(json!({"id": id, "name": "Ada", "email": email}))
    }
}

pub fn intake_workflow() -> String {
    r#"
document: { dsl: '1.0.0', namespace: bench, name: intake, version: '1.0.0' }
do:
  - keep:
      set: '${ . }'
"#
    .to_string()
}

/// SPEC §8: GET /data, rename `name` to `product_name`, answer synchronously.
pub fn reference_workflow(base: &str) -> String {
    format!(
        r#"
document: {{ dsl: '1.0.0', namespace: bench, name: reference, version: '1.0.0' }}
metadata:
  suture:
    webhook: {{ respond: sync }}
do:
  - fetch:
      call: http
      with: {{ method: get, endpoint: '{base}/data' }}
  - rename:
      set: '${{ with_entries(select(.key != "name")) + {{product_name: .name}} }}'
"#
    )
}

pub fn three_step_workflow(base: &str) -> String {
    format!(
        r#"
document: {{ dsl: '1.0.0', namespace: bench, name: three-step, version: '1.0.0' }}
metadata:
  suture:
    webhook: {{ respond: sync }}
do:
  - fetch:
      call: http
      with: {{ method: get, endpoint: '{base}/data' }}
  - rename:
      set: '${{ with_entries(select(.key != "name")) + {{product_name: .name}} }}'
  - publish:
      call: http
      with:
        method: post
        endpoint: '{base}/messages'
        body: '${{ {{ text: ("New product " + .product_name) }} }}'
"#
    )
}

pub fn contact_workflow(base: &str) -> String {
    format!(
        r#"
document: {{ dsl: '1.0.0', namespace: bench, name: heal, version: '1.0.0' }}
metadata:
  suture:
    heal: auto
do:
  - getContact:
      call: http
      with: {{ method: get, endpoint: '${{ "{base}/contacts/" + (.id | tostring) }}' }}
      output:
        schema:
          format: json
          document:
            type: object
            required: [name, email]
            properties:
              name: {{ type: string }}
              email: {{ type: string, format: email }}
"#
    )
}

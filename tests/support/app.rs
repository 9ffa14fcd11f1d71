//! `spawn_app`: the real `Application` on 127.0.0.1:0 with a fresh SQLite file or a fresh
//! PostgreSQL database, plus typed request helpers.

use std::path::PathBuf;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use suture_server::app::{AppState, Application, Role};
use suture_server::config::{Config, Overrides};
use tokio::sync::oneshot;

use super::pg::{PgDatabase, fresh_database};
use super::skip::skip_or_fail;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub token: String,
    pub admin_password: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub data_dir: PathBuf,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

/// Boots the server; `None` when the backend is unavailable and skipping is allowed.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    spawn_app_role(backend, Role::ServerAndWorkers, tweak).await
}

/// `Role::ServerOnly` leaves execution to separate worker processes (`TestApp::start_worker`).
pub async fn spawn_app_role(
    backend: Backend,
    role: Role,
    tweak: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::load_from(
        &Overrides {
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
        |_| None,
    )
    .expect("default config");
    config.worker_concurrency = 8;
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => match fresh_database().await {
            Ok(db) => {
                config.database_url = Some(suture_server::config::Secret::new(db.url.clone()));
                Some(db)
            }
            Err(reason) => {
                skip_or_fail(
                    "a PostgreSQL test",
                    &format!("PostgreSQL unavailable: {reason}"),
                );
                return None;
            }
        },
    };
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app = Application::build(config.clone(), listener, role)
        .await
        .expect("app builds");
    let boot = app
        .take_bootstrap()
        .expect("first start creates the default tenant");
    let port = app.port();
    let state = app.state();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async move {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    Some(TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        token: boot.api_token,
        admin_password: boot.admin_password,
        client: reqwest::Client::new(),
        state,
        data_dir: dir.path().to_path_buf(),
        config,
        stop: Some(tx),
        server: Some(server),
        pg,
        _dir: dir,
    })
}

impl TestApp {
    /// A `suture worker` equivalent on the same database; stops when the sender is dropped.
    pub async fn start_worker(&self) -> oneshot::Sender<()> {
        let worker = Application::build_workers_only(self.config.clone())
            .await
            .expect("worker builds");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = worker
                .run_until_stopped(async move {
                    let _ = rx.await;
                })
                .await;
        });
        tx
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), h).await;
        }
        if let Some(pg) = self.pg.take() {
            pg.drop_now().await;
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.token, path).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.post_json_as(&self.token, path, body).await
    }

    pub async fn post_json_as(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_yaml(&self, path: &str, yaml: &str) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/yaml")
            .body(yaml.to_string())
            .send()
            .await
            .expect("request")
    }

    /// Creates a workflow from YAML and returns the create response body.
    pub async fn create_workflow(&self, yaml: &str) -> Value {
        let resp = self.post_yaml("/api/v1/workflows", yaml).await;
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, StatusCode::CREATED, "create workflow: {body}");
        body
    }

    /// Starts a run and waits for it (`?wait=30`); returns the finished run.
    pub async fn run_and_wait(&self, workflow_id: &str, input: &Value) -> Value {
        let resp = self
            .post_json(
                &format!("/api/v1/workflows/{workflow_id}/runs?wait=30"),
                input,
            )
            .await;
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert!(status.is_success(), "run: {status} {body}");
        body
    }

    /// Polls the run until it is neither queued nor running (10 s at most) and returns it.
    pub async fn wait_run(&self, run_id: &str) -> Value {
        for _ in 0..200 {
            let r: Value = self
                .get(&format!("/api/v1/runs/{run_id}"))
                .await
                .json()
                .await
                .expect("json");
            if r["status"] != "queued" && r["status"] != "running" {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("run {run_id} did not finish within 10 s");
    }

    /// A second tenant and its token, through the CLI path's admin function.
    pub async fn new_tenant(&self, name: &str) -> (String, String) {
        let out = suture_server::admin::create_tenant_in(&self.state.db, name)
            .await
            .expect("tenant");
        (
            out["tenant_id"].as_str().unwrap_or_default().to_string(),
            out["token"].as_str().unwrap_or_default().to_string(),
        )
    }
}

pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(
        body["error"]["code"],
        json!(code),
        "unexpected body: {body}"
    );
}

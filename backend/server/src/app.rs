//! Booting: `Application::build` wires configuration, database, queue, sandbox, healer and
//! executor, binds the router to an injected listener (port 0 in tests) and starts the
//! in-process workers and the sweeper.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use suture_domain::ids::TokenId;
use suture_egress::{EgressClient, EgressPolicy};
use suture_engine::{EngineDeps, Executor, RunEvents, RunQueue};
use suture_healer::Healer;
use suture_sandbox::QuickJsEngine;
use suture_storage::{Backend, Db};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::bootstrap::{self, Bootstrap};
use crate::config::Config;
use crate::routes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ServerAndWorkers,
    /// Serves HTTP only; runs are executed by `suture worker` processes (and inline for
    /// synchronous webhooks).
    ServerOnly,
}

/// Shared by every handler.
pub struct App {
    pub config: Config,
    pub db: Db,
    pub deps: Arc<EngineDeps>,
    pub executor: Arc<Executor>,
    pub events: RunEvents,
    pub public_url: String,
    /// When this process last recorded each token's use: `last_used_at` is written at most
    /// once a minute per token, so the API's hot path stays free of writes.
    pub token_uses: Mutex<HashMap<TokenId, Instant>>,
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

pub struct Application {
    listener: Option<TcpListener>,
    local_addr: Option<SocketAddr>,
    state: AppState,
    bootstrap: Mutex<Option<Bootstrap>>,
    run_workers: bool,
}

impl Application {
    pub async fn build(config: Config, listener: TcpListener, role: Role) -> anyhow::Result<Self> {
        let local_addr = listener
            .local_addr()
            .context("reading the listener's address")?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let (state, bootstrap) = Self::wire(config, public_url).await?;
        Ok(Self {
            listener: Some(listener),
            local_addr: Some(local_addr),
            state,
            bootstrap: Mutex::new(bootstrap),
            run_workers: role == Role::ServerAndWorkers,
        })
    }

    pub async fn build_workers_only(config: Config) -> anyhow::Result<Self> {
        let public_url = config.public_url.clone().unwrap_or_default();
        let (state, _) = Self::wire(config, public_url).await?;
        Ok(Self {
            listener: None,
            local_addr: None,
            state,
            bootstrap: Mutex::new(None),
            run_workers: true,
        })
    }

    async fn wire(
        config: Config,
        public_url: String,
    ) -> anyhow::Result<(AppState, Option<Bootstrap>)> {
        if config.uses_embedded_sqlite() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("creating the data directory {}", config.data_dir.display())
            })?;
        }
        let db = suture_storage::connect(&config.effective_database_url())
            .await
            .context("connecting to the database")?;
        suture_storage::migrate(&db)
            .await
            .context("migrating the database")?;
        let queue = match db.backend {
            Backend::Sqlite => RunQueue::sqlite(db.conn.get_sqlite_connection_pool()).await?,
            Backend::Postgres => RunQueue::postgres(db.conn.get_postgres_connection_pool()).await?,
        };
        let egress = EgressClient::new(EgressPolicy {
            allow_private: config.egress_allow_private,
        })
        .context("building the outbound HTTP client")?;
        let sandbox: Arc<dyn suture_sandbox::Engine> = Arc::new(QuickJsEngine::new(egress.clone()));
        let healer = Healer::new(db.clone(), sandbox.clone());
        let deps = Arc::new(EngineDeps {
            db: db.clone(),
            egress,
            sandbox,
            healer,
            queue,
        });
        let events = RunEvents::default();
        let worker_name = format!("suture-{}", std::process::id());
        let executor = Arc::new(Executor::new(deps.clone(), events.clone(), worker_name));
        let bootstrap = bootstrap::first_start(&db)
            .await
            .context("creating the default tenant")?;
        let app = App {
            config,
            db,
            deps,
            executor,
            events,
            public_url,
            token_uses: Mutex::default(),
        };
        Ok((AppState(Arc::new(app)), bootstrap))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// What the first start created, for tests; `print_bootstrap` shows it once on stdout.
    pub fn take_bootstrap(&self) -> Option<Bootstrap> {
        self.bootstrap
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub fn print_bootstrap(&self) {
        if let Some(b) = self.take_bootstrap() {
            println!("First start: created tenant `default` with user `admin`.");
            println!(
                "  dashboard login: admin / {}   (shown once; keep it safe)",
                b.admin_password
            );
            println!("  API token:       {}   (shown once)", b.api_token);
        }
    }

    pub async fn run_until_stopped(
        mut self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        if self.run_workers {
            let queue = self.state.deps.queue.clone();
            let executor = self.state.executor.clone();
            let concurrency = self.state.config.worker_concurrency;
            let mut rx = stop_rx.clone();
            tasks.spawn(async move {
                let stop = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                if let Err(e) =
                    suture_engine::queue::run_workers(queue, executor, concurrency, stop).await
                {
                    tracing::error!(error = %e, "run workers stopped");
                }
            });
            let sweeper = suture_engine::sweeper::Sweeper::new(self.state.deps.clone());
            let rx = stop_rx.clone();
            tasks.spawn(async move { sweeper.run(rx).await });
        }
        if let Some(listener) = self.listener.take() {
            let router = routes::router(self.state.clone());
            let mut rx = stop_rx.clone();
            tasks.spawn(async move {
                let graceful = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(graceful)
                .await
                {
                    tracing::error!(error = %e, "HTTP server stopped");
                }
            });
        }
        shutdown.await;
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        Ok(())
    }
}

//! The run queue on apalis: SQLite storage by default, PostgreSQL storage when the database is
//! PostgreSQL. One job per run; the payload carries the run id only and the handler is
//! idempotent (the executor claims the run with a guarded update).

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use suture_domain::ids::RunId;
use uuid::Uuid;

use crate::EngineError;
use crate::executor::Executor;

/// Stable queue name: renaming the Rust type must not orphan queued jobs (STACK.md trap 7).
pub const RUN_QUEUE: &str = "suture.runs";

/// Job payload, versioned and tiny; decoded leniently (unknown fields ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunJob {
    #[serde(default)]
    pub v: u8,
    pub run_id: Uuid,
}

#[derive(Clone)]
pub enum RunQueue {
    Sqlite(SqliteStorage<RunJob>),
    Postgres(PostgresStorage<RunJob>),
    /// For `suture run FILE` and tests that execute inline: pushing is a no-op.
    Inline,
}

impl RunQueue {
    pub async fn sqlite(pool: &apalis_sqlite::SqlitePool) -> Result<Self, EngineError> {
        SqliteStorage::setup(pool)
            .await
            .map_err(|e| EngineError::Queue(e.to_string()))?;
        let config = apalis_sqlite::Config::default()
            .queue(RUN_QUEUE)
            .batch_size(16)
            .heartbeat_interval(Duration::from_secs(10));
        Ok(RunQueue::Sqlite(
            SqliteStorage::new(pool).with_config(config),
        ))
    }

    pub async fn postgres(pool: &apalis_postgres::PgPool) -> Result<Self, EngineError> {
        sqlx::query("CREATE EXTENSION IF NOT EXISTS hstore")
            .execute(pool)
            .await
            .map_err(|e| EngineError::Queue(format!("creating the hstore extension: {e}")))?;
        PostgresStorage::setup(pool)
            .await
            .map_err(|e| EngineError::Queue(e.to_string()))?;
        let config = apalis_postgres::Config::default()
            .queue(RUN_QUEUE)
            .batch_size(16)
            .heartbeat_interval(Duration::from_secs(10));
        Ok(RunQueue::Postgres(
            PostgresStorage::new(pool).with_config(config),
        ))
    }

    pub async fn enqueue(&self, run: RunId) -> Result<(), EngineError> {
        self.push(run, None).await
    }

    pub async fn enqueue_at(&self, run: RunId, when: DateTime<Utc>) -> Result<(), EngineError> {
        self.push(run, Some(when)).await
    }

    async fn push(&self, run: RunId, when: Option<DateTime<Utc>>) -> Result<(), EngineError> {
        let job = RunJob {
            v: 1,
            run_id: run.as_uuid(),
        };
        let mut builder = TaskBuilder::new(job).max_attempts(3);
        if let Some(when) = when {
            let delay = (when - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            builder = builder.run_after(delay);
        }
        let task = builder.build();
        match self {
            RunQueue::Sqlite(s) => s
                .clone()
                .push_task(task)
                .await
                .map_err(|e| EngineError::Queue(e.to_string())),
            RunQueue::Postgres(s) => s
                .clone()
                .push_task(task)
                .await
                .map_err(|e| EngineError::Queue(e.to_string())),
            RunQueue::Inline => Ok(()),
        }
    }
}

async fn handle(job: RunJob, executor: Data<Arc<Executor>>) -> Result<(), BoxDynError> {
    let run = RunId::from_uuid(job.run_id);
    match executor.execute(run).await {
        Ok(_) => Ok(()),
        // The executor already gave the run back (requeued with a due time); the sweeper
        // re-enqueues it, so the job itself is done.
        Err(e) => {
            tracing::warn!(run.id = %run, error = %e, "run job ended with an internal error");
            Ok(())
        }
    }
}

/// Runs `concurrency` run-executions at a time until `shutdown` resolves.
pub async fn run_workers(
    queue: RunQueue,
    executor: Arc<Executor>,
    concurrency: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), EngineError> {
    let shutdown = async move {
        shutdown.await;
        Ok::<(), std::io::Error>(())
    };
    run_workers_until(queue, executor, concurrency, shutdown).await
}

async fn run_workers_until(
    queue: RunQueue,
    executor: Arc<Executor>,
    concurrency: usize,
    shutdown: impl std::future::Future<Output = Result<(), std::io::Error>> + Send + 'static,
) -> Result<(), EngineError> {
    let name = format!("{}-{}", executor.worker_name(), Uuid::now_v7().simple());
    match queue {
        RunQueue::Sqlite(storage) => {
            let worker = WorkerBuilder::new(name)
                .backend(storage.poll_with_interval(Duration::from_millis(10)))
                .data(executor)
                .concurrency(concurrency)
                .build(handle);
            worker
                .run_until(shutdown)
                .await
                .map_err(|e| EngineError::Queue(e.to_string()))
        }
        RunQueue::Postgres(storage) => {
            let worker = WorkerBuilder::new(name)
                .backend(storage.with_pubsub())
                .data(executor)
                .concurrency(concurrency)
                .build(handle);
            worker
                .run_until(shutdown)
                .await
                .map_err(|e| EngineError::Queue(e.to_string()))
        }
        RunQueue::Inline => {
            shutdown.await.ok();
            Ok(())
        }
    }
}

//! Starting runs and waiting for them: the one path every trigger (API, webhook, CLI) takes.

use std::time::Duration;

use serde_json::Value;
use suture_domain::ids::{RunId, TenantId, WorkflowId};
use tokio::time::Instant;

use crate::store::{NewRunRow, Store};
use crate::{EngineDeps, EngineError, Executor};

pub struct StartRun {
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    pub version: i32,
    pub input: Value,
    pub trigger: &'static str,
    pub trigger_meta: Option<Value>,
}

/// Records the run (`queued`) and, unless `inline`, enqueues its job. Inline runs are executed
/// by the caller right away (synchronous webhooks, `suture run`); should the process die in
/// between, the sweeper finds the queued run and enqueues it.
pub async fn start(deps: &EngineDeps, run: StartRun, inline: bool) -> Result<RunId, EngineError> {
    let store = Store::new(deps.db.clone());
    let id = RunId::new();
    store
        .insert_run(NewRunRow {
            id,
            tenant: run.tenant,
            workflow: run.workflow,
            version: run.version,
            input: run.input,
            trigger: run.trigger,
            trigger_meta: run.trigger_meta,
        })
        .await?;
    if !inline {
        deps.queue.enqueue(id).await?;
    }
    Ok(id)
}

/// Waits until the run is no longer queued or running, or the timeout passes. Wakes on the
/// in-process notice and, for runs finished by other processes, polls the row.
pub async fn wait_until_settled(executor: &Executor, tenant: TenantId, run: RunId, timeout: Duration) -> Result<bool, EngineError> {
    let store = Store::new(executor_db(executor));
    let deadline = Instant::now() + timeout;
    let notify = executor.events().subscribe(run);
    let result = loop {
        let notified = notify.notified();
        if store.run_is_settled(tenant, run).await? {
            break true;
        }
        let now = Instant::now();
        if now >= deadline {
            break false;
        }
        let slice = (deadline - now).min(Duration::from_millis(250));
        let _ = tokio::time::timeout(slice, notified).await;
    };
    executor.events().unsubscribe(run);
    Ok(result)
}

fn executor_db(executor: &Executor) -> suture_storage::Db {
    executor.db().clone()
}

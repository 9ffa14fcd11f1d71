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

/// Records the run (`queued`) and enqueues its job. Should the process die in between, the
/// sweeper finds the queued run and enqueues it. (Synchronous webhooks and `suture run` use
/// `Executor::start_and_execute` instead, which skips the queue.)
pub async fn start(deps: &EngineDeps, run: StartRun) -> Result<RunId, EngineError> {
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
    deps.queue.enqueue(id).await?;
    Ok(id)
}

/// What a webhook delivery started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Started(RunId),
    /// The same delivery id was seen within the window: the first delivery's run.
    Duplicate(RunId),
}

/// Like `start`, for a webhook delivery with an id: the run and the delivery record are
/// written in one transaction, so a concurrent redelivery either sees the first run or loses
/// the unique-constraint race and starts nothing.
pub async fn start_delivery(
    deps: &EngineDeps,
    run: StartRun,
    inline: bool,
    delivery_id: &str,
    window_start: chrono::DateTime<chrono::Utc>,
) -> Result<Delivery, EngineError> {
    use sea_orm::TransactionTrait;
    use suture_storage::{DeliveryRepo, NewRun, RunRepo, StorageError, constraints};

    let deliveries = deps.db.deliveries();
    if let Some(first) = deliveries
        .find(run.workflow, delivery_id, window_start)
        .await?
    {
        return Ok(Delivery::Duplicate(RunId::from_uuid(first.run_id)));
    }
    let id = RunId::new();
    // Two tries: the first may collide with a record of the same id from outside the window,
    // which the purge then removes (the sweeper also purges them regularly).
    let mut tries = 0;
    loop {
        tries += 1;
        let txn = deps.db.conn.begin().await.map_err(StorageError::from)?;
        let mut new = NewRun::queued(run.workflow, run.version, run.input.clone(), run.trigger);
        new.id = id;
        new.trigger_meta = run.trigger_meta.clone();
        RunRepo::new(&txn).create(run.tenant, new).await?;
        match DeliveryRepo::new(&txn)
            .record(run.tenant, run.workflow, delivery_id, id)
            .await
        {
            Ok(_) => {
                txn.commit().await.map_err(StorageError::from)?;
                break;
            }
            Err(e) if e.is_conflict(constraints::DELIVERY_ID) => {
                txn.rollback().await.map_err(StorageError::from)?;
                if let Some(first) = deliveries
                    .find(run.workflow, delivery_id, window_start)
                    .await?
                {
                    return Ok(Delivery::Duplicate(RunId::from_uuid(first.run_id)));
                }
                if tries >= 2 {
                    return Err(EngineError::Internal(format!(
                        "webhook delivery `{delivery_id}` keeps colliding with an expired record"
                    )));
                }
                deliveries.purge_older_than(window_start).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !inline {
        deps.queue.enqueue(id).await?;
    }
    Ok(Delivery::Started(id))
}

/// Waits until the run is no longer queued or running, or the timeout passes. Wakes on the
/// in-process notice and, for runs finished by other processes, polls the row.
pub async fn wait_until_settled(
    executor: &Executor,
    tenant: TenantId,
    run: RunId,
    timeout: Duration,
) -> Result<bool, EngineError> {
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

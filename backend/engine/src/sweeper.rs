//! The sweeper: re-enqueues runs that lost their job — left `running` by a process that died,
//! or `queued` but never picked up (a crash between the run insert and the enqueue) — and
//! purges finished apalis jobs so the SQLite queue stays fast (STACK.md trap 1).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::EngineDeps;
use crate::store::Store;

/// A running run whose heartbeat is older than this belonged to a dead worker.
pub const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(90);
/// A queued, due run that nobody claimed for this long has lost its job.
pub const LOST_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
const TICK: Duration = Duration::from_secs(1);
const SWEEP_EVERY_TICKS: u64 = 5;
const PURGE_DELIVERIES_EVERY_TICKS: u64 = 3600;

pub struct Sweeper {
    deps: Arc<EngineDeps>,
    store: Store,
}

impl Sweeper {
    pub fn new(deps: Arc<EngineDeps>) -> Self {
        let store = Store::new(deps.db.clone());
        Self { deps, store }
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(TICK);
        let mut ticks = 0u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            ticks += 1;
            // Finished queue jobs carry nothing we need (the run rows are the record), and
            // apalis's acknowledgements slow down as they pile up: purge them every second.
            if let Err(e) = self
                .store
                .purge_finished_jobs(Utc::now() - chrono::TimeDelta::seconds(2))
                .await
            {
                tracing::warn!(error = %e, "purging finished queue jobs failed");
            }
            if ticks.is_multiple_of(SWEEP_EVERY_TICKS)
                && let Err(e) = self.sweep_once().await
            {
                tracing::warn!(error = %e, "sweep failed");
            }
            // Webhook delivery ids are remembered for 24 h (the de-duplication window).
            if ticks.is_multiple_of(PURGE_DELIVERIES_EVERY_TICKS)
                && let Err(e) = self
                    .deps
                    .db
                    .deliveries()
                    .purge_older_than(Utc::now() - chrono::TimeDelta::hours(24))
                    .await
            {
                tracing::warn!(error = %e, "purging old webhook deliveries failed");
            }
        }
    }

    /// One pass; public so tests can drive it without waiting.
    pub async fn sweep_once(&self) -> Result<usize, crate::EngineError> {
        let now = Utc::now();
        let runs = self
            .store
            .lost_runs(now - STALE_AFTER, now - LOST_AFTER)
            .await?;
        // Enqueueing is enough: the claim takes a queued run, or a running one whose worker
        // stopped beating, and refuses every other case.
        for (run, was_running) in &runs {
            tracing::info!(run.id = %run, was_running, "re-enqueueing a run that lost its worker or job");
            self.deps.queue.enqueue(*run).await?;
        }
        Ok(runs.len())
    }
}

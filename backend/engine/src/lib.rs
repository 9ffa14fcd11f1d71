//! Execution: the run executor, task kinds, the one retry policy, failure classification, the
//! apalis run queue and the sweeper. The server and `suture worker` both drive runs through
//! `Executor`; nothing here knows about HTTP handlers.

pub mod attempts;
pub mod classify;
pub mod definitions;
pub mod events;
pub mod executor;
pub mod queue;
pub mod retry;
pub mod runs;
pub mod store;
pub mod sweeper;
pub mod tasks;

use std::sync::Arc;

use suture_egress::EgressClient;
use suture_healer::Healer;
use suture_sandbox::Engine as ScriptEngine;
use suture_storage::Db;

pub use events::RunEvents;
pub use executor::{Disposition, Executor};
pub use queue::RunQueue;

/// Everything a run needs from the outside world, built once at start-up.
pub struct EngineDeps {
    pub db: Db,
    pub egress: EgressClient,
    pub sandbox: Arc<dyn ScriptEngine>,
    pub healer: Healer,
    pub queue: RunQueue,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("storage: {0}")]
    Storage(#[from] suture_storage::StorageError),
    #[error("queue: {0}")]
    Queue(String),
    #[error("run {0} not found")]
    RunNotFound(String),
    #[error("{0}")]
    Internal(String),
}

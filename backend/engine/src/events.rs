//! In-process notice that a run reached a terminal (or waiting) state, so `?wait=` requests
//! and synchronous webhooks answer as soon as the run ends instead of polling tightly.
//! Runs finished by another process are still seen by the waiter's slower database poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use suture_domain::ids::RunId;
use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct RunEvents {
    waiters: Arc<Mutex<HashMap<RunId, Arc<Notify>>>>,
}

impl RunEvents {
    /// Registers interest before the caller checks the run's state, so no notice is missed.
    pub fn subscribe(&self, run: RunId) -> Arc<Notify> {
        let mut map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(run)
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }

    pub fn unsubscribe(&self, run: RunId) {
        let mut map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(&run) {
            // Only the map and the caller hold it: nobody else waits.
            if Arc::strong_count(n) <= 2 {
                map.remove(&run);
            }
        }
    }

    pub fn finished(&self, run: RunId) {
        let map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(&run) {
            n.notify_waiters();
        }
    }
}

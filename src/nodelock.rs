//! Taking the node's lock from the runtime thread without blocking it.
//!
//! In the real server a long script runs on a blocking thread that holds the node's mutex
//! (see `crate::scripting::busy`), while the runtime thread goes on serving connections with
//! `-BUSY`. Every task on the runtime thread therefore takes the lock through [`lock`]: it
//! tries, and while another thread holds it, sleeps a millisecond and tries again, so one
//! waiting task (the cron, a bus link, a replication feed) never stalls the others.
//!
//! In the simulator no other thread ever holds the lock (scripts run inline there, see
//! `crate::connection`), so [`lock`] takes it at once without yielding: task order, and so
//! every seed's story, stays the same.

use crate::node::Node;
use std::sync::{Mutex, MutexGuard};

/// The node's mutex was poisoned by a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node lock poisoned")]
pub struct Poisoned;

/// How long a task waits between two tries while another thread holds the node.
#[cfg(not(madsim))]
const RETRY: std::time::Duration = std::time::Duration::from_millis(1);

/// The node's lock, awaited without blocking the runtime thread.
pub async fn lock(node: &Mutex<Node>) -> Result<MutexGuard<'_, Node>, Poisoned> {
    #[cfg(not(madsim))]
    loop {
        let held = match node.try_lock() {
            Ok(g) => return Ok(g),
            Err(std::sync::TryLockError::Poisoned(_)) => return Err(Poisoned),
            Err(std::sync::TryLockError::WouldBlock) => true,
        };
        debug_assert!(held);
        tokio::time::sleep(RETRY).await;
    }
    #[cfg(madsim)]
    node.lock().map_err(|_| Poisoned)
}

/// Waits until no other thread holds the node, for a task about to lock it from synchronous
/// code (the bus driver's handlers): taken right after, the lock is then free in practice
/// (only a script's thread takes it from elsewhere, and it starts from a task of this same
/// runtime thread, which cannot run in between).
pub async fn wait_free(node: &Mutex<Node>) {
    #[cfg(not(madsim))]
    loop {
        if node.try_lock().is_ok() {
            return;
        }
        tokio::time::sleep(RETRY).await;
    }
    #[cfg(madsim)]
    let _ = node;
}

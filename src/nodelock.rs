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

/// Woken each time a script's thread lets go of the node: the tasks waiting for the lock
/// retry at once instead of at their next [`RETRY`] (with a polling wait alone, 50 clients
/// running EVALSHA spent most of their time asleep: 0.24x redis-server's throughput).
#[cfg(not(madsim))]
fn released_notify() -> &'static tokio::sync::Notify {
    static RELEASED: std::sync::OnceLock<tokio::sync::Notify> = std::sync::OnceLock::new();
    RELEASED.get_or_init(tokio::sync::Notify::new)
}

/// Called by a script's thread right after it dropped the node's guard.
pub fn released() {
    #[cfg(not(madsim))]
    released_notify().notify_waiters();
}

/// Sleeps until a script's thread lets go of the node, or at most `max` (a release that
/// happens just before the wait starts is caught by the next poll).
pub async fn wait_released(max: std::time::Duration) {
    #[cfg(not(madsim))]
    {
        let _ = tokio::time::timeout(max, released_notify().notified()).await;
    }
    #[cfg(madsim)]
    tokio::time::sleep(max).await;
}

/// The node's lock, awaited without blocking the runtime thread.
pub async fn lock(node: &Mutex<Node>) -> Result<MutexGuard<'_, Node>, Poisoned> {
    #[cfg(not(madsim))]
    loop {
        // Registered before the try, so a release between the try and the wait still wakes.
        let notified = released_notify().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let held = match node.try_lock() {
            Ok(g) => return Ok(g),
            Err(std::sync::TryLockError::Poisoned(_)) => return Err(Poisoned),
            Err(std::sync::TryLockError::WouldBlock) => true,
        };
        debug_assert!(held);
        let _ = tokio::time::timeout(RETRY, notified).await;
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
        let notified = released_notify().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if node.try_lock().is_ok() {
            return;
        }
        let _ = tokio::time::timeout(RETRY, notified).await;
    }
    #[cfg(madsim)]
    let _ = node;
}

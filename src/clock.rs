//! The node's one source of time and of its RNG seed.
//!
//! Every timeout in the node runs on monotonic milliseconds from the runtime's clock (tokio, or
//! madsim's simulated clock under `--cfg madsim`). Wall-clock (unix) milliseconds are read only
//! where Redis shows them or stores them (CLUSTER NODES ping/pong fields, key expiry times), and
//! only through [`Clock::unix_ms`], so the simulator controls both.

use std::sync::atomic::{AtomicI64, Ordering};
use tokio::time::Instant;

/// A node's clock: monotonic time since the node started, and wall-clock time with an offset the
/// simulator may set to model a skewed or stepped system clock.
#[derive(Debug)]
pub struct Clock {
    /// The runtime instant the node started at; monotonic milliseconds count from here.
    origin: Instant,
    /// Milliseconds added to the runtime's wall clock (0 in the real node).
    wall_offset_ms: AtomicI64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock whose monotonic time starts at zero now.
    pub fn new() -> Self {
        Clock {
            origin: Instant::now(),
            wall_offset_ms: AtomicI64::new(0),
        }
    }

    /// The runtime instant monotonic time counts from (the simulator maps node times to its own
    /// timeline with it).
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Monotonic milliseconds since the node started. Never goes backwards.
    pub fn mono_ms(&self) -> u64 {
        Instant::now().duration_since(self.origin).as_millis() as u64
    }

    /// Monotonic microseconds since the node started (short durations Redis reports in
    /// microseconds, e.g. `latest_fork_usec`).
    pub fn mono_us(&self) -> u64 {
        Instant::now().duration_since(self.origin).as_micros() as u64
    }

    /// Wall-clock unix time in milliseconds, as Redis shows it.
    pub fn unix_ms(&self) -> u64 {
        let base = runtime_unix_ms() as i64;
        (base + self.wall_offset_ms.load(Ordering::Relaxed)).max(0) as u64
    }

    /// Shifts this node's wall clock (a simulated NTP step); monotonic time is unaffected.
    pub fn set_wall_offset_ms(&self, offset_ms: i64) {
        self.wall_offset_ms.store(offset_ms, Ordering::Relaxed);
    }
}

/// The real node's wall clock (never compiled into the simulator, whose clock is below).
#[cfg(not(madsim))]
fn runtime_unix_ms() -> u64 {
    #[allow(clippy::disallowed_types)]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(madsim)]
fn runtime_unix_ms() -> u64 {
    madsim::time::TimeHandle::current()
        .now_time()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A seed for the node's RNG: from the OS in the real node, from the simulation's seeded RNG
/// under madsim (so a run replays from its seed).
pub fn rng_seed() -> u64 {
    #[cfg(madsim)]
    {
        madsim::rand::random::<u64>()
    }
    #[cfg(not(madsim))]
    {
        use rand::RngCore;
        rand::rngs::OsRng.next_u64()
    }
}

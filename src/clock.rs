//! The node's one source of time and of its RNG seed.
//!
//! Every timeout in the node runs on monotonic milliseconds from the runtime's clock (tokio, or
//! madsim's simulated clock under `--cfg madsim`). Wall-clock (unix) milliseconds are read only
//! where Redis shows them or stores them (CLUSTER NODES ping/pong fields, key expiry times), and
//! only through [`Clock::unix_ms`], so the simulator controls both.
//!
//! madsim has one global clock for every simulated host. A host's own oscillator is modelled by
//! a [`HostClock`] the simulator shares with every process it starts on that host: a drift in
//! parts per million (which a real oscillator applies to both monotonic and wall time) and wall
//! steps (an NTP jump, which moves wall time only: `CLOCK_MONOTONIC` never goes back). The real
//! node has no `HostClock` and reads the runtime's clocks unchanged.

use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// The largest drift a host clock accepts, in ppm either way. A real oscillator is within
/// 100 ppm and NTP slews at most 500 ppm; the bound keeps monotonic time strictly increasing
/// (a drift of -1,000,000 ppm would stop it).
pub const DRIFT_PPM_MAX: i64 = 200_000;

/// A simulated host's clock error, shared by the world and each process run on the host (so
/// it survives a restart, as a machine's clock does).
#[derive(Debug)]
pub struct HostClock {
    /// The drift model; a mutex because the world changes it while node tasks read it.
    state: Mutex<HostClockState>,
}

#[derive(Debug, Clone, Copy)]
struct HostClockState {
    /// The instant drift is measured from.
    epoch: Instant,
    /// Wall-clock steps so far, in ms (NTP jumps forward and back).
    step_ms: i64,
    /// The current drift in ppm (positive: this host's clock runs fast).
    drift_ppm: i64,
    /// When the current drift took effect, in µs after `epoch`.
    anchor_us: i64,
    /// The drift accumulated by `anchor_us`, in µs.
    anchor_drift_us: i64,
}

impl HostClockState {
    /// Drift accumulated by `at`, in µs (continuous across drift changes).
    fn drift_us(&self, at: Instant) -> i64 {
        let t = at.saturating_duration_since(self.epoch).as_micros() as i64;
        self.anchor_drift_us + (t - self.anchor_us) * self.drift_ppm / 1_000_000
    }
}

/// Why a host clock setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("drift {0} ppm is outside -{max}..={max} ppm", max = DRIFT_PPM_MAX)]
    DriftOutOfRange(i64),
}

impl HostClock {
    /// A host clock with no error yet, its drift measured from now.
    pub fn new() -> Arc<HostClock> {
        Arc::new(HostClock {
            state: Mutex::new(HostClockState {
                epoch: Instant::now(),
                step_ms: 0,
                drift_ppm: 0,
                anchor_us: 0,
                anchor_drift_us: 0,
            }),
        })
    }

    fn read(&self) -> HostClockState {
        match self.state.lock() {
            Ok(s) => *s,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Steps the wall clock by `by_ms` (negative: back). Monotonic time is unaffected.
    pub fn step(&self, by_ms: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.step_ms += by_ms;
        }
    }

    /// Sets the drift from now on; what accumulated so far stays.
    pub fn set_drift_ppm(&self, ppm: i64) -> Result<(), ClockError> {
        self.set_drift_ppm_at(Instant::now(), ppm)
    }

    fn set_drift_ppm_at(&self, now: Instant, ppm: i64) -> Result<(), ClockError> {
        if ppm.abs() > DRIFT_PPM_MAX {
            return Err(ClockError::DriftOutOfRange(ppm));
        }
        if let Ok(mut s) = self.state.lock() {
            s.anchor_drift_us = s.drift_us(now);
            s.anchor_us = now.saturating_duration_since(s.epoch).as_micros() as i64;
            s.drift_ppm = ppm;
        }
        Ok(())
    }

    /// The current drift in ppm.
    pub fn drift_ppm(&self) -> i64 {
        self.read().drift_ppm
    }

    /// How far this host's wall clock is from the runtime's now (steps plus drift), in ms.
    pub fn wall_error_ms(&self) -> i64 {
        self.wall_error_ms_at(Instant::now())
    }

    fn wall_error_ms_at(&self, now: Instant) -> i64 {
        let s = self.read();
        s.step_ms + s.drift_us(now) / 1000
    }

    /// Drift accumulated by `now`, in µs.
    fn drift_us_at(&self, now: Instant) -> i64 {
        self.read().drift_us(now)
    }
}

/// A node's clock: monotonic time since the node started, and wall-clock time, both through
/// the host's clock error when the simulator gives the node one.
#[derive(Debug)]
pub struct Clock {
    /// The runtime instant the node started at; monotonic milliseconds count from here.
    origin: Instant,
    /// The simulated host's clock error (None in the real node).
    host: Option<Arc<HostClock>>,
    /// The host's accumulated drift when this process started, in µs: monotonic time starts
    /// at zero for every process, whatever the host's clock did before.
    origin_drift_us: i64,
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
            host: None,
            origin_drift_us: 0,
        }
    }

    /// A clock on a simulated host whose clock is off by `host`.
    pub fn on_host(host: Arc<HostClock>) -> Self {
        let origin = Instant::now();
        let origin_drift_us = host.drift_us_at(origin);
        Clock {
            origin,
            host: Some(host),
            origin_drift_us,
        }
    }

    /// The runtime instant monotonic time counts from (the simulator maps node times to its own
    /// timeline with it).
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Monotonic milliseconds since the node started. Never goes backwards.
    pub fn mono_ms(&self) -> u64 {
        self.mono_us() / 1000
    }

    /// Monotonic microseconds since the node started (short durations Redis reports in
    /// microseconds, e.g. `latest_fork_usec`).
    pub fn mono_us(&self) -> u64 {
        self.mono_us_at(Instant::now())
    }

    fn mono_us_at(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.origin).as_micros() as i64;
        let drift = match &self.host {
            Some(h) => h.drift_us_at(now) - self.origin_drift_us,
            None => 0,
        };
        (elapsed + drift).max(0) as u64
    }

    /// Milliseconds of the runtime's own clock since the node started, without the host's
    /// drift: only for the simulator's timeline (the story), never for the node's decisions.
    pub fn runtime_elapsed_ms(&self) -> u64 {
        Instant::now().duration_since(self.origin).as_millis() as u64
    }

    /// The runtime instant at which this clock will read `mono_ms` (for sleeping until a
    /// deadline the state machine set in monotonic time), at the current drift.
    pub fn instant_at(&self, mono_ms: u64) -> Instant {
        self.instant_at_from(Instant::now(), mono_ms)
    }

    fn instant_at_from(&self, now: Instant, mono_ms: u64) -> Instant {
        let target = std::time::Duration::from_millis(mono_ms);
        let Some(host) = &self.host else {
            return self.origin + target;
        };
        let ppm = host.drift_ppm();
        let drift_us = host.drift_us_at(now) - self.origin_drift_us;
        if ppm == 0 {
            // Exact while the clock does not drift: the drift so far is a constant offset.
            let at_us = (mono_ms as i64 * 1000 - drift_us).max(0) as u64;
            return self.origin + std::time::Duration::from_micros(at_us);
        }
        let ahead_us = (mono_ms * 1000).saturating_sub(self.mono_us_at(now));
        let real_us = (ahead_us as i128 * 1_000_000 / (1_000_000 + ppm as i128)).max(0) as u64;
        now + std::time::Duration::from_micros(real_us)
    }

    /// Wall-clock unix time in milliseconds, as Redis shows it.
    pub fn unix_ms(&self) -> u64 {
        let base = runtime_unix_ms() as i64;
        let error = self.host.as_ref().map(|h| h.wall_error_ms()).unwrap_or(0);
        (base + error).max(0) as u64
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn drift_runs_both_clocks_fast_and_a_step_moves_only_wall_time() {
        let host = HostClock::new();
        let clock = Clock::on_host(host.clone());
        let t0 = clock.origin();
        host.set_drift_ppm_at(t0, 100_000).unwrap();
        let t10 = t0 + Duration::from_secs(10);
        assert_eq!(clock.mono_us_at(t10), 11_000_000, "10 s at +10% reads 11 s");
        assert_eq!(host.wall_error_ms_at(t10), 1000, "wall time runs fast too");
        host.step(-4000);
        assert_eq!(
            clock.mono_us_at(t10),
            11_000_000,
            "a step leaves monotonic time alone"
        );
        assert_eq!(host.wall_error_ms_at(t10), -3000);
        // 1.1 s of node time ahead is 1 s of runtime ahead.
        assert_eq!(
            clock.instant_at_from(t10, 12_100),
            t10 + Duration::from_secs(1)
        );
        // A drift change keeps what accumulated: 10 s more at -10% takes 1 s back.
        host.set_drift_ppm_at(t10, -100_000).unwrap();
        assert_eq!(clock.mono_us_at(t0 + Duration::from_secs(20)), 20_000_000);
        assert_eq!(
            host.set_drift_ppm(DRIFT_PPM_MAX + 1),
            Err(ClockError::DriftOutOfRange(DRIFT_PPM_MAX + 1))
        );
    }

    #[test]
    fn a_process_started_later_counts_monotonic_time_from_zero() {
        let host = HostClock::new();
        host.set_drift_ppm(-50_000).unwrap();
        let clock = Clock::on_host(host.clone());
        let t0 = clock.origin();
        assert_eq!(clock.mono_us_at(t0), 0);
        let mono = clock.mono_us_at(t0 + Duration::from_secs(2)) as i64;
        assert!(
            (mono - 1_900_000).abs() <= 1,
            "2 s at -5% reads 1.9 s, not {mono} µs"
        );
        let plain = Clock::new();
        let o = plain.origin();
        assert_eq!(
            plain.instant_at_from(o, 250),
            o + Duration::from_millis(250)
        );
    }
}

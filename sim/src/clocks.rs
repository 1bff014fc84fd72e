//! Per-node clocks: madsim has one global clock, so each simulated host's clock error is ours.
//!
//! A host's clock starts off by an offset and runs fast or slow by a drift (ppm), fixed per
//! node by the scenario or drawn from the seed within the scenario's bounds; `clock_jump` steps
//! its wall clock (an NTP step: monotonic time never goes back) and `clock_drift` changes its
//! drift (which moves monotonic and wall time alike, as a real oscillator does). The node reads
//! both through `keyslot::clock::Clock`, so timeouts (monotonic) and the times Redis shows
//! (wall) see exactly the error the scenario asked for.

use crate::world::World;

/// One node's clock at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeClock {
    /// The node's name (`master-0`).
    pub node: String,
    /// Wall-clock offset at start, in ms (negative: behind).
    pub offset_ms: i64,
    /// Drift in ppm (positive: fast).
    pub drift_ppm: i64,
}

/// Every host's clock error at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClockSetup {
    /// Nodes not listed in `nodes` start with a wall offset drawn from the seed in
    /// ±`max_offset_ms` (0: none).
    pub max_offset_ms: u64,
    /// ...and a drift drawn in ±`max_drift_ppm` (0: none).
    pub max_drift_ppm: i64,
    /// Nodes with a fixed offset and drift.
    pub nodes: Vec<NodeClock>,
}

impl ClockSetup {
    /// Whether any host clock is off at start.
    pub fn is_empty(&self) -> bool {
        self.max_offset_ms == 0 && self.max_drift_ppm == 0 && self.nodes.is_empty()
    }
}

/// A signed amount in ms as the story shows it (`+4000 ms`).
fn signed_ms(ms: i64) -> String {
    format!("{ms:+} ms")
}

/// A value drawn uniformly in ±`max` from the run's seeded RNG.
fn draw_within(max: i64) -> i64 {
    if max <= 0 {
        return 0;
    }
    let span = (2 * max + 1) as u64;
    (madsim::rand::random::<u64>() % span) as i64 - max
}

impl World {
    /// Gives each host its clock error at start (no draw at all when the setup is empty, so
    /// runs without clocks consume the seed exactly as before).
    pub(crate) fn set_up_clocks(&mut self) {
        let setup = self.config.clocks.clone();
        if setup.is_empty() {
            return;
        }
        for i in 0..self.nodes.len() {
            let name = self.nodes[i].name.clone();
            let (offset_ms, ppm) = match setup.nodes.iter().find(|n| n.node == name) {
                Some(n) => (n.offset_ms, n.drift_ppm),
                None => (
                    draw_within(setup.max_offset_ms as i64),
                    draw_within(setup.max_drift_ppm),
                ),
            };
            let host = &self.nodes[i].host_clock;
            host.step(offset_ms);
            // The scenario parser bounds the drift; an out-of-range value keeps drift 0.
            let _ = host.set_drift_ppm(ppm);
        }
    }

    /// Every host clock's error now, one line (the story notes it where clocks matter).
    pub fn describe_clocks(&self) -> String {
        let parts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "{} {} {:+} ppm",
                    n.name,
                    signed_ms(n.host_clock.wall_error_ms()),
                    n.host_clock.drift_ppm()
                )
            })
            .collect();
        format!("clocks: {}", parts.join(", "))
    }

    /// Steps node i's wall clock by `by_ms` (an NTP jump; monotonic time is unaffected).
    pub fn clock_jump(&mut self, i: usize, by_ms: i64) {
        let host = self.nodes[i].host_clock.clone();
        host.step(by_ms);
        self.note(format!(
            "{}'s wall clock steps {} (now {} off)",
            self.nodes[i].name,
            signed_ms(by_ms),
            signed_ms(host.wall_error_ms())
        ));
    }

    /// Sets node i's clock drift (monotonic and wall time alike).
    pub fn clock_drift(&mut self, i: usize, ppm: i64) -> Result<(), keyslot::clock::ClockError> {
        self.nodes[i].host_clock.set_drift_ppm(ppm)?;
        self.note(format!(
            "{}'s clock drifts {:+} ppm",
            self.nodes[i].name, ppm
        ));
        Ok(())
    }

    /// Node i's current drift (what undoing a `clock_drift` restores).
    pub fn clock_drift_ppm(&self, i: usize) -> i64 {
        self.nodes[i].host_clock.drift_ppm()
    }
}

//! Fault points: places in node code where the simulator may make a rare failure happen
//! (FoundationDB's BUGGIFY, madsim's `buggify`), so schedules reach paths that network faults
//! alone seldom reach.
//!
//! Each simulated process draws, at start and from the run's seeded RNG, which points are on
//! (each with probability 1/2), so different seeds explore different mixes; an enabled point
//! then fires at each visit with its own probability. Nothing is on unless the simulator turns
//! the points on for the run (scenario option `fault_points`), and in the real node a point
//! never fires: the decision is compiled only into the `--cfg madsim` build.

/// The places that can fail on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultPoint {
    /// A write to a replica's stream is held for up to 500 ms (a slow socket or a stalled
    /// process on the master's side).
    ReplicationWriteDelay,
    /// Saving nodes.conf fails as if the disk refused the write.
    NodesConfSaveFail,
    /// A replica's election step (asking for votes, or claiming the slots once it won) waits
    /// for up to half a node timeout.
    ElectionStall,
    /// The source of an atomic slot migration exits just after the target answered FINISH
    /// (the target owns the slots), before the source deleted the moved keys: the narrowest
    /// window of the handover, which its replicas must survive (see `crate::atomic::handoff`).
    HandoverExit,
}

impl FaultPoint {
    /// Every point, in a fixed order (the order of the per-process draw).
    pub const ALL: [FaultPoint; 4] = [
        FaultPoint::ReplicationWriteDelay,
        FaultPoint::NodesConfSaveFail,
        FaultPoint::ElectionStall,
        FaultPoint::HandoverExit,
    ];

    /// The name the story and the scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            FaultPoint::ReplicationWriteDelay => "replication_write_delay",
            FaultPoint::NodesConfSaveFail => "nodes_conf_save_fail",
            FaultPoint::ElectionStall => "election_stall",
            FaultPoint::HandoverExit => "handover_exit",
        }
    }

    /// A point by its name.
    pub fn parse(name: &str) -> Option<FaultPoint> {
        FaultPoint::ALL.into_iter().find(|p| p.name() == name)
    }

    /// One chance in this many that an enabled point fires at a visit: points visited on every
    /// tick fire more rarely than those visited once per event.
    #[cfg_attr(not(madsim), allow(dead_code))]
    fn odds(self) -> u32 {
        match self {
            FaultPoint::ReplicationWriteDelay => 20,
            FaultPoint::NodesConfSaveFail => 50,
            FaultPoint::ElectionStall => 10,
            // Visited once per migration: when on, it always fires.
            FaultPoint::HandoverExit => 1,
        }
    }
}

/// Which fault points are on in this process (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPoints {
    /// Indexed like [`FaultPoint::ALL`].
    enabled: [bool; FaultPoint::ALL.len()],
}

impl FaultPoints {
    /// Draws, from the runtime's seeded RNG, which of `allowed` are on in this process (each
    /// with probability 1/2). Only the simulator draws: a real node's points are all off.
    #[cfg(madsim)]
    pub fn draw(allowed: &[FaultPoint]) -> FaultPoints {
        let mut enabled = [false; FaultPoint::ALL.len()];
        for (i, p) in FaultPoint::ALL.into_iter().enumerate() {
            enabled[i] = allowed.contains(&p) && madsim::rand::random::<bool>();
        }
        FaultPoints { enabled }
    }

    /// Whether `point` is on in this process.
    pub fn is_enabled(&self, point: FaultPoint) -> bool {
        self.enabled[point as usize]
    }

    /// The points that are on, by name (for the story).
    pub fn names(&self) -> Vec<&'static str> {
        FaultPoint::ALL
            .into_iter()
            .filter(|p| self.is_enabled(*p))
            .map(FaultPoint::name)
            .collect()
    }

    /// Whether `point` fires at this visit. Always false in the real node.
    pub fn fires(&self, point: FaultPoint) -> bool {
        #[cfg(madsim)]
        {
            self.is_enabled(point) && madsim::rand::random::<u32>().is_multiple_of(point.odds())
        }
        #[cfg(not(madsim))]
        {
            let _ = point;
            false
        }
    }

    /// When `point` fires at this visit: a delay in 1..=`max_ms` ms drawn from the runtime's
    /// seeded RNG.
    pub fn delay_ms(&self, point: FaultPoint, max_ms: u64) -> Option<u64> {
        if !self.fires(point) {
            return None;
        }
        #[cfg(madsim)]
        {
            Some(1 + madsim::rand::random::<u64>() % max_ms.max(1))
        }
        #[cfg(not(madsim))]
        {
            Some(max_ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_off_by_default_and_never_fire_in_the_real_node() {
        let p = FaultPoints::default();
        for point in FaultPoint::ALL {
            assert!(!p.is_enabled(point));
            assert!(!p.fires(point));
            assert_eq!(p.delay_ms(point, 100), None);
            assert_eq!(FaultPoint::parse(point.name()), Some(point));
        }
        assert_eq!(FaultPoint::parse("nope"), None);
        // Even an enabled point is compiled out of the real node's decision.
        let on = FaultPoints {
            enabled: [true; FaultPoint::ALL.len()],
        };
        assert_eq!(on.names().len(), FaultPoint::ALL.len());
        assert!(!on.fires(FaultPoint::NodesConfSaveFail));
    }
}

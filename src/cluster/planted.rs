//! Planted protocol bugs: test-only switches that break one rule of the cluster protocol, so the
//! simulator can show that its invariants catch each of them (a checker that never fails proves
//! nothing). Only the simulator and unit tests set them; the real server's configuration has no
//! way to.

use std::fmt;

/// One planted bug. Each names the rule it breaks and the invariant that must catch it
/// (sim/src/check.rs; the numbers are DESIGN.md's and scenarios/README.md's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Planted {
    /// A master may vote twice in one epoch (invariant 3).
    DoubleVote,
    /// A node marks a master FAIL on a single failure report instead of a majority of
    /// masters' (invariant 9).
    FailWithoutQuorum,
    /// A replica takes over after the first vote instead of a majority of masters (invariant 10).
    PromoteWithoutMajority,
    /// A slot claim wins whatever its configEpoch, so an older claim overrides a newer owner
    /// (invariant 11).
    AcceptLowerEpoch,
    /// A node adopts the currentEpoch of any message, also a lower one (though not below its
    /// own configEpoch) (invariant 2).
    EpochRegress,
    /// A replica runs its election in the currentEpoch it has instead of a new one, so it can
    /// win with an epoch another master already holds (invariant 12, or 1).
    ElectionWithoutEpochBump,
    /// A replica that wins keeps its old configEpoch instead of the election's, so it claims
    /// its master's slots with an epoch no newer than the master's (invariant 11).
    PromoteKeepsOldEpoch,
}

impl Planted {
    /// Every planted bug, in the order scenario files and docs list them.
    pub const ALL: [Planted; 7] = [
        Planted::DoubleVote,
        Planted::FailWithoutQuorum,
        Planted::PromoteWithoutMajority,
        Planted::AcceptLowerEpoch,
        Planted::EpochRegress,
        Planted::ElectionWithoutEpochBump,
        Planted::PromoteKeepsOldEpoch,
    ];

    /// The name a scenario file uses (`[config] planted = ["double-vote"]`).
    pub fn name(self) -> &'static str {
        match self {
            Planted::DoubleVote => "double-vote",
            Planted::FailWithoutQuorum => "fail-without-quorum",
            Planted::PromoteWithoutMajority => "promote-without-majority",
            Planted::AcceptLowerEpoch => "accept-lower-epoch",
            Planted::EpochRegress => "epoch-regress",
            Planted::ElectionWithoutEpochBump => "election-without-epoch-bump",
            Planted::PromoteKeepsOldEpoch => "promote-keeps-old-epoch",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A name that is not a planted bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPlanted(pub String);

impl fmt::Display for UnknownPlanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Planted::ALL.iter().map(|p| p.name()).collect();
        write!(
            f,
            "no planted bug named {:?} (there are: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownPlanted {}

impl std::str::FromStr for Planted {
    type Err = UnknownPlanted;
    fn from_str(s: &str) -> Result<Planted, UnknownPlanted> {
        Planted::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPlanted(s.to_string()))
    }
}

/// The planted bugs switched on in one node: a bit set, `Copy` so the hot paths test it for
/// free. Empty by default, and always empty in the real server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlantedSet(u32);

impl PlantedSet {
    /// The set of these bugs.
    pub fn of(bugs: &[Planted]) -> PlantedSet {
        PlantedSet(bugs.iter().fold(0, |acc, b| acc | b.bit()))
    }

    /// Whether `bug` is switched on.
    #[inline]
    pub fn has(self, bug: Planted) -> bool {
        self.0 & bug.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The bugs in the set, in [`Planted::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Planted> {
        Planted::ALL.into_iter().filter(move |b| self.has(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sets_hold_what_was_put_in() {
        for p in Planted::ALL {
            assert_eq!(p.name().parse::<Planted>(), Ok(p));
        }
        assert!("no-such-bug".parse::<Planted>().is_err());
        let set = PlantedSet::of(&[Planted::EpochRegress, Planted::DoubleVote]);
        assert!(set.has(Planted::DoubleVote) && set.has(Planted::EpochRegress));
        assert!(!set.has(Planted::AcceptLowerEpoch));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Planted::DoubleVote, Planted::EpochRegress]
        );
        assert!(PlantedSet::default().is_empty());
    }
}

//! The planted protocol bugs (keyslot::cluster::planted): for each, a random fault schedule
//! over its base scenario (sim/tests/scenarios/planted-<bug>-base.toml) breaks the invariant
//! that must catch it, and `schedule::shrink` cuts that schedule to at most five fault steps
//! that still break the same invariant, written to a file that fails again when run.
//!
//! The seeds are the first failing ones `keyslot-sim explore <base> --seeds N` found (sim/
//! MUTANTS.md and scenarios/README.md record how many seeds each needed); the double vote's
//! own test is in testbed.rs.

use keyslot_sim::scenario::{self, Scenario};
use keyslot_sim::scenarios::{self, Options};
use keyslot_sim::schedule;
use std::path::Path;

/// Runs the shrinker may spend per bug: enough to get under five faults from the seeds below
/// (each took at most 11 when measured), small enough to keep this file near a minute.
const SHRINK_BUDGET: usize = 20;

fn base(bug: &str) -> Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/scenarios/planted-{bug}-base.toml"));
    scenario::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

/// The random schedule of `seed` over the bug's base fails with `invariant`; shrunk, it keeps
/// failing with it in at most five fault steps, also when read back from its file.
fn caught_and_shrunk(bug: &str, seed: u64, invariant: &str) {
    let base = base(bug);
    let random = schedule::random_scenario(&base, seed);
    let failure = scenarios::run(&random, seed, Options::default())
        .expect_err("the planted bug's seed must fail");
    assert_eq!(failure.invariant, invariant, "{}", failure.message);

    let shrunk = schedule::shrink(
        &base,
        seed,
        SHRINK_BUDGET,
        |sc| {
            scenarios::run(sc, seed, Options::default())
                .err()
                .map(|f| f.invariant)
        },
        |_, _| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{bug}: seed {seed} fails invariant {invariant}; shrunk from {} to {} faults in {} runs",
        shrunk.faults_before, shrunk.faults_after, shrunk.runs
    );
    assert_eq!(shrunk.invariant, invariant);
    assert!(
        shrunk.faults_after <= 5,
        "{bug}: {} faults left",
        shrunk.faults_after
    );

    let dir = std::env::temp_dir().join(format!("keyslot-planted-{bug}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("shrunk.toml");
    std::fs::write(&path, shrunk.scenario.to_toml()).unwrap_or_else(|e| panic!("{e}"));
    let again = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        again.world.planted, base.world.planted,
        "the file keeps the bug"
    );
    let failure = scenarios::run(&again, again.seed, Options::default())
        .expect_err("the shrunk scenario file must fail when run");
    assert_eq!(failure.invariant, invariant, "{}", failure.message);
}

#[test]
fn fail_without_quorum_is_caught_by_invariant_9() {
    caught_and_shrunk("fail-without-quorum", 1, "9");
}

#[test]
fn promote_without_majority_is_caught_by_invariant_10() {
    caught_and_shrunk("promote-without-majority", 11, "10");
}

#[test]
fn accept_lower_epoch_is_caught_by_invariant_11() {
    caught_and_shrunk("accept-lower-epoch", 1, "11");
}

#[test]
fn epoch_regress_is_caught_by_invariant_2() {
    caught_and_shrunk("epoch-regress", 2, "2");
}

#[test]
fn promote_keeps_old_epoch_is_caught_by_invariant_10() {
    caught_and_shrunk("promote-keeps-old-epoch", 1, "10");
}

// election-without-epoch-bump is not among them any more: it was caught by invariant 11 at 3
// of 300 seeds (206 the first), through a late packet of the winner's election; since a
// packet claiming its sender replicates an older-epoch master is dropped as stale
// (src/cluster/state.rs), 800 seeds of its base show no violation. The bug stays plantable.

/// Without a planted bug the same schedules pass: the invariants above fail because of the
/// bugs, not because of the schedules.
#[test]
fn the_same_schedules_pass_without_the_bugs() {
    for (bug, seed) in [
        ("fail-without-quorum", 1),
        ("promote-without-majority", 11),
        ("accept-lower-epoch", 1),
        ("epoch-regress", 2),
        ("promote-keeps-old-epoch", 1),
        ("election-without-epoch-bump", 206),
    ] {
        let mut clean = base(bug);
        clean.world.planted = Default::default();
        let random = schedule::random_scenario(&clean, seed);
        if let Err(f) = scenarios::run(&random, seed, Options::default()) {
            panic!("{bug} seed {seed} without the bug: {}", f.message);
        }
    }
}

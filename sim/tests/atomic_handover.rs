//! Seeds explore found in atomic slot migration's handover, replayed as regression tests: each
//! broke invariant 13 (a key on two masters) before its fix.
#![cfg(madsim)]

use keyslot_sim::scenario;
use keyslot_sim::scenarios::{self, Options};
use keyslot_sim::schedule::random_scenario;

/// Runs the random schedule of `seed` over a stock file; a failure names the replay command.
fn random_seed_passes(name: &str, seed: u64) {
    let base = scenario::find(name).unwrap_or_else(|e| panic!("{e}"));
    let sc = random_scenario(&base, seed);
    if let Err(f) = scenarios::run(&sc, seed, Options::default()) {
        panic!("{name} seed {seed}: {f}\nreplay: keyslot-sim replay {name} --seed {seed} --random");
    }
}

/// The source exited on its disk-full AOF after the target took the slots and before its DELs
/// went out; its replica, promoted, kept the moved keys beside the target. Since the fix (the
/// handover mark the replicas acknowledge before FINISH, src/atomic/handoff.rs) this seed's
/// source already fails writing the mark, so nothing is handed over; the window itself is
/// covered by atomic-migration-handover-crash.toml.
#[test]
fn a_source_replica_promoted_mid_handover_does_not_keep_the_moved_keys() {
    random_seed_passes("atomic-migration", 120);
}

/// The source exited (fault point handover_exit) with its DELs and the handover mark still
/// unfsynced; restarted from its AOF it served the moved keys again. Fixed by fsyncing the
/// mark (appendfsync always) before FINISH, so the restarted source settles it.
#[test]
fn a_source_restarted_from_its_aof_after_the_handover_drops_the_moved_keys() {
    random_seed_passes("atomic-migration-handover-crash", 140);
}

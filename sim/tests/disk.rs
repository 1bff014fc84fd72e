//! The simulated disk under the real node: power cuts under each `appendfsync` policy, a full
//! or failing disk, a wiped disk, and the scenario steps that cause them.
//!
//! The persistence scenarios' own stories are pinned by `testbed`'s snapshot test; here each
//! fsync policy's promise is checked over several seeds, with counter-tests showing that the
//! checks can fail (a cluster without persistence loses its keys in the same power cut).
//!
//! Replay one seed: `cd sim && KEYSLOT_SEED=<seed> cargo test --release --test disk <name>`.
#![cfg(madsim)]

use keyslot_sim::check::{crash_loss, DataReport};
use keyslot_sim::faults::{Fault, Target};
use keyslot_sim::run::{run_many, seeds, RunReport};
use keyslot_sim::scenario::{self, Action, Scenario};
use keyslot_sim::scenarios::{self, execute, Options};
use keyslot_sim::schedule;

/// Seeds per policy (the pinned one included).
const SEEDS: u64 = 8;

fn file(name: &str) -> Scenario {
    scenario::find(name).unwrap_or_else(|e| panic!("{e}"))
}

fn over_seeds(test: &str, sc: &Scenario) -> Vec<RunReport> {
    run_many(test, &seeds(sc.seed, SEEDS), |s| {
        execute(sc.clone(), s, Options::default())
    })
}

/// (acknowledged, lost, lost to a crash, oldest lost write's age in ms) over runs.
fn totals(reports: &[RunReport]) -> (usize, usize, usize, u64) {
    let mut t = (0, 0, 0, 0);
    for r in reports {
        let d = r.data.as_ref().expect("a workload ran");
        t.0 += d.acknowledged_writes;
        t.1 += d.lost_writes;
        if let Some(l) = &r.crash_loss {
            t.2 += l.ages_ms.len();
            t.3 = t.3.max(l.max_age_ms().unwrap_or(0));
        }
    }
    t
}

#[test]
fn appendfsync_always_a_power_cut_loses_no_acknowledged_write() {
    let sc = file("crash-fsync-always");
    let r = over_seeds(
        "appendfsync_always_a_power_cut_loses_no_acknowledged_write",
        &sc,
    );
    let (acked, lost, _, _) = totals(&r);
    println!(
        "always: {} seeds, {acked} acknowledged, {lost} lost",
        r.len()
    );
    assert!(
        acked > 1000,
        "the workload wrote too little to mean anything"
    );
    for rep in &r {
        let d = rep.data.as_ref().expect("a workload ran");
        assert_eq!(d.lost_writes, 0, "seed {}: {:?}", rep.seed, d.lost);
    }
}

#[test]
fn appendfsync_everysec_loses_about_the_last_second_before_a_power_cut() {
    let sc = file("crash-fsync-everysec");
    let r = over_seeds(
        "appendfsync_everysec_loses_about_the_last_second_before_a_power_cut",
        &sc,
    );
    let (acked, lost, to_crash, oldest) = totals(&r);
    println!(
        "everysec: {} seeds, {acked} acknowledged, {lost} lost ({to_crash} to the crash), the oldest sent {oldest} ms before it",
        r.len()
    );
    // The promise holds, and the check is not vacuous: unsynced writes were really lost.
    assert_eq!(lost, to_crash, "a write was lost with no crash after it");
    assert!(
        oldest <= 1200,
        "a write {oldest} ms older than the crash was lost"
    );
    assert!(
        lost > 0,
        "no run lost its unsynced second: the crash kept page-cache data"
    );
}

#[test]
fn appendfsync_no_loses_what_was_never_flushed_and_counts_it() {
    let everysec = totals(&over_seeds(
        "appendfsync_no_loses_what_was_never_flushed_and_counts_it",
        &file("crash-fsync-everysec"),
    ));
    let no = totals(&over_seeds(
        "appendfsync_no_loses_what_was_never_flushed_and_counts_it",
        &file("crash-fsync-no"),
    ));
    println!(
        "no: {} lost of {} acknowledged, the oldest {} ms before the crash (everysec: {} lost, {} ms)",
        no.1, no.0, no.3, everysec.1, everysec.3
    );
    // Same seeds, same workload: never fsyncing loses more, and older writes.
    assert!(
        no.1 > everysec.1,
        "no lost {} <= everysec {}",
        no.1,
        everysec.1
    );
    assert!(no.3 > everysec.3);
}

#[test]
fn full_cluster_power_cut_with_aof_brings_every_key_back_and_without_loses_them() {
    let with = file("full-restart-with-data");
    let r = over_seeds(
        "full_cluster_power_cut_with_aof_brings_every_key_back_and_without_loses_them",
        &with,
    );
    for rep in &r {
        let d = rep.data.as_ref().expect("a workload ran");
        assert_eq!(d.lost_writes, 0, "seed {}: {:?}", rep.seed, d.lost);
        assert_eq!(rep.promotions, 0, "seed {}", rep.seed);
    }
    // The same cut without persistence: the nodes come back (nodes.conf is always written)
    // with empty datasets, and the audit sees it.
    let mut without = with.clone();
    without.world.extra_args.clear();
    without.expect.lost_writes = None;
    let report = scenarios::run(&without, without.seed, Options::default())
        .unwrap_or_else(|f| panic!("{f}"));
    let d = report.data.expect("a workload ran");
    println!(
        "without persistence: {} of {} acknowledged writes lost",
        d.lost_writes, d.acknowledged_writes
    );
    assert!(d.lost_writes > 50, "{} lost", d.lost_writes);
}

#[test]
fn full_cluster_power_cut_with_rdb_save_points_loses_only_writes_since_the_last_save() {
    let mut sc = file("full-restart-with-data");
    sc.world.extra_args = vec!["--save".into(), "1 1".into()];
    sc.expect.lost_writes = None;
    let r = over_seeds(
        "full_cluster_power_cut_with_rdb_save_points_loses_only_writes_since_the_last_save",
        &sc,
    );
    let (acked, lost, to_crash, oldest) = totals(&r);
    println!(
        "save 1 1: {} seeds, {acked} acknowledged, {lost} lost, the oldest sent {oldest} ms before the cut",
        r.len()
    );
    // dump.rdb was written about once a second and loaded at restart: what is lost is about
    // the last second, all of it to the cut.
    assert_eq!(lost, to_crash);
    assert!(
        lost > 0,
        "a power cut one save interval after writes lost nothing"
    );
    assert!(
        oldest <= 2000,
        "a write {oldest} ms older than the cut was lost"
    );
}

#[test]
fn a_write_the_disk_refused_under_appendfsync_always_is_never_acknowledged() {
    let sc = file("disk-error-always");
    let r = over_seeds(
        "a_write_the_disk_refused_under_appendfsync_always_is_never_acknowledged",
        &sc,
    );
    for rep in &r {
        assert!(
            rep.story
                .contains("master-0 exited: Can't recover from AOF write error"),
            "seed {}: master-0 did not exit",
            rep.seed
        );
        let d = rep.data.as_ref().expect("a workload ran");
        assert_eq!(d.lost_writes, 0, "seed {}: {:?}", rep.seed, d.lost);
    }
}

#[test]
fn a_torn_crash_replays_the_same_tear_from_its_seed() {
    let sc = file("crash-fsync-everysec");
    let a = scenarios::run(&sc, 41, Options::default()).unwrap_or_else(|f| panic!("{f}"));
    let b = scenarios::run(&sc, 41, Options::default()).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(a.story_hash, b.story_hash);
    assert_eq!(a.snapshot, b.snapshot);
    assert!(a.story.contains("tearing its last write"));
}

#[test]
fn disk_steps_read_and_write_back() {
    let text = r#"
seed = 4
[config]
extra_args = ["--appendonly", "yes"]
[[step]]
at = "1s"
crash = "master-0"
torn = true
for = "2s"
[[step]]
at = "2s"
disk_full = "replica-of:master-1"
for = "3s"
[[step]]
at = "3s"
disk_error = "master-2"
[expect]
lost_writes_within = "1200ms"
"#;
    let sc = scenario::parse(text, "disk.toml", "disk").unwrap_or_else(|e| panic!("{e}"));
    let faults: Vec<&Fault> = sc
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Fault(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(
        faults,
        vec![
            &Fault::Crash {
                target: Target::Name("master-0".into()),
                torn: true
            },
            &Fault::DiskFull(Target::ReplicaOf("master-1".into())),
            &Fault::DiskError(Target::Name("master-2".into())),
        ]
    );
    assert_eq!(sc.steps[0].for_ms, Some(2000));
    assert_eq!(sc.expect.lost_writes_within_ms, Some(1200));
    let again = scenario::parse(&sc.to_toml(), "again.toml", "again")
        .unwrap_or_else(|e| panic!("{e}\n{}", sc.to_toml()));
    assert_eq!(again.steps, sc.steps);
    assert_eq!(again.expect, sc.expect);
}

#[test]
fn bad_disk_steps_name_the_line_and_the_field() {
    let err = |text: &str| match scenario::parse(text, "bad.toml", "bad") {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => e,
    };
    let e = err("seed = 1\n[[step]]\nat = \"1s\"\nkill = \"master-0\"\ntorn = true\n");
    assert_eq!((e.line, e.field.as_str()), (2, "torn"), "{e}");
    assert!(e.to_string().starts_with("bad.toml:2: field `torn`"), "{e}");

    let e = err("seed = 1\n[[step]]\nat = \"1s\"\ndisk_full = \"master-9\"\n");
    assert_eq!((e.line, e.field.as_str()), (4, "disk_full"), "{e}");
    assert!(e.message.contains("no node named \"master-9\""), "{e}");

    let e =
        err("seed = 1\n[[step]]\nat = \"1s\"\ncrash = \"master-0\"\ndisk_error = \"master-1\"\n");
    assert_eq!((e.line, e.field.as_str()), (2, "step"), "{e}");

    let e = err("seed = 1\n[expect]\nlost_writes_within = \"soon\"\n");
    assert_eq!((e.line, e.field.as_str()), (3, "lost_writes_within"), "{e}");
}

#[test]
fn explore_crashes_instead_of_killing_when_the_nodes_persist() {
    let persistent = file("crash-fsync-everysec");
    let plain = file("kill-master");
    assert!(schedule::persists(&persistent.world.extra_args));
    assert!(!schedule::persists(&plain.world.extra_args));
    assert!(schedule::persists(&["--save".into(), "1 1".into()]));
    assert!(!schedule::persists(&["--save".into(), "".into()]));
    let kinds = |sc: &Scenario| {
        let mut crashes = 0;
        let mut kills = 0;
        for seed in 1..40 {
            let r = schedule::random_scenario(sc, seed);
            for s in &r.steps {
                match &s.action {
                    Action::Fault(Fault::Crash { .. }) => crashes += 1,
                    Action::Fault(Fault::Kill(_)) => kills += 1,
                    _ => {}
                }
            }
        }
        (crashes, kills)
    };
    let (crashes, kills) = kinds(&persistent);
    assert!(
        crashes > 0 && kills == 0,
        "{crashes} crashes, {kills} kills"
    );
    let (crashes, kills) = kinds(&plain);
    assert!(
        crashes == 0 && kills > 0,
        "{crashes} crashes, {kills} kills"
    );
}

#[test]
fn crash_loss_matches_each_lost_write_with_the_next_crash() {
    let data = DataReport {
        lost_writes: 3,
        lost_sent_ms: vec![900, 1500, 5000],
        ..DataReport::default()
    };
    let crashes = vec![("master-0".to_string(), 1000), ("master-1".into(), 2000)];
    let loss = crash_loss(&data, &crashes);
    assert_eq!(loss.ages_ms, vec![100, 500]);
    assert_eq!(loss.without_crash, 1);
    assert_eq!(loss.max_age_ms(), Some(500));
}

async fn torn_everysec_crash_at_its_pinned_seed() {
    let sc = file("crash-fsync-everysec");
    let seed = sc.seed;
    if let Err(f) = execute(sc, seed, Options::default()).await {
        panic!("{f}");
    }
}

/// madsim's own check over a run that tears a write, loads AOFs and fsyncs in the background:
/// the same seed run twice draws the same random numbers in the same order.
#[test]
fn madsim_check_determinism_on_a_torn_everysec_crash() {
    madsim::runtime::Runtime::check_determinism(
        3,
        madsim::Config::default(),
        torn_everysec_crash_at_its_pinned_seed,
    );
}

/// Found by explore over crash-fsync-always (random seeds 18 and 21): a replica whose link to
/// its master never came up since it (re)started was promoted with its stale dataset, losing
/// what the master had acknowledged meanwhile. Redis starts with `repl_down_since = 0` ("down
/// since EVER"), so such a replica's data age is unbounded and it refuses to fail over ("data
/// too old"); keyslot now does the same (replication's `down_since_ms` stays 0 until the link
/// has been up, and the cluster reads 0 with the link down as infinitely old data).
#[test]
fn a_replica_restarted_from_a_stale_aof_is_not_promoted_before_it_syncs() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios/stale-replica-promoted.toml");
    let sc = scenario::load(&p).unwrap_or_else(|e| panic!("{e}"));
    if let Err(f) = scenarios::run(&sc, sc.seed, Options::default()) {
        panic!("{f}");
    }
}

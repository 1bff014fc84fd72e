//! Coverage marks in simulated runs: a run reports the rare paths it reached, the counts belong
//! to that run alone (also while other runs share the process), and `[expect] marks` fails a
//! run that missed one.

use keyslot_sim::run::Marks;
use keyslot_sim::scenario::{self, Scenario};
use keyslot_sim::scenarios::{self, Options};
use std::path::Path;

fn file(name: &str) -> Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.toml"));
    scenario::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn marks_of(sc: &Scenario, seed: u64) -> Marks {
    scenarios::run(sc, seed, Options::default())
        .unwrap_or_else(|f| panic!("{f}"))
        .marks
}

#[test]
fn a_failover_hits_the_election_marks_and_the_counts_are_per_run() {
    let sc = file("kill-master");
    let alone = marks_of(&sc, sc.seed);
    for m in [
        "FAIL set by quorum of reports",
        "FAIL learned from a FAIL message",
        "election won",
        "full resync",
    ] {
        assert!(alone.contains_key(m), "{m:?} missing from {alone:?}");
    }
    assert!(
        !alone.contains_key("manual failover timed out"),
        "{alone:?}"
    );
    // The same seed twice at once on two threads, and once more after: identical counts, so
    // runs do not add to each other's registries.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| marks_of(&sc, sc.seed));
        let b = s.spawn(|| marks_of(&sc, sc.seed));
        (a.join(), b.join())
    });
    let (a, b) = (
        a.unwrap_or_else(|_| panic!("run a panicked")),
        b.unwrap_or_else(|_| panic!("run b panicked")),
    );
    assert_eq!(a, alone);
    assert_eq!(b, alone);
    assert_eq!(marks_of(&sc, sc.seed), alone);
}

#[test]
fn expect_marks_fails_a_run_that_missed_one() {
    let mut sc = file("kill-master");
    sc.expect.marks = vec!["election won".into()];
    scenarios::run(&sc, sc.seed, Options::default()).unwrap_or_else(|f| panic!("{f}"));
    sc.expect.marks = vec!["election won".into(), "manual failover timed out".into()];
    let f = scenarios::run(&sc, sc.seed, Options::default())
        .expect_err("a kill never times out a manual failover");
    assert_eq!(f.invariant, "marks");
    assert!(
        f.message.contains("\"manual failover timed out\""),
        "{}",
        f.message
    );
}

#[test]
fn expect_marks_names_are_checked_when_the_file_is_read() {
    let dir = std::env::temp_dir().join(format!("keyslot-marks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("m.toml");
    let text = "name = \"m\"\nseed = 1\n\n[expect]\nmarks = [\"election won\", \"no such path\"]\n";
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let err = scenario::load(&path).expect_err("an unknown mark is an error");
    let _ = std::fs::remove_dir_all(&dir);
    let shown = err.to_string();
    assert!(shown.contains("expect.marks"), "{shown}");
    assert!(shown.contains("no such path"), "{shown}");
}

#[test]
fn planted_names_are_checked_and_the_old_switch_still_reads() {
    let dir = std::env::temp_dir().join(format!("keyslot-planted-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"b\"\nseed = 1\n\n[config]\nplanted = [\"nope\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = scenario::load(&bad).expect_err("an unknown planted bug is an error");
    assert!(err.to_string().contains("config.planted"), "{err}");
    let old = dir.join("old.toml");
    std::fs::write(
        &old,
        "name = \"o\"\nseed = 1\n\n[config]\nplanted_double_vote = true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sc = scenario::load(&old).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(sc
        .world
        .planted
        .has(keyslot::cluster::planted::Planted::DoubleVote));
    assert!(sc.to_toml().contains("planted = [\"double-vote\"]"));
}

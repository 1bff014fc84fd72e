//! Per-node clocks, bus faults and fault points: the scenario options read back from what
//! `to_toml` writes, bad values are located by file, line and field, and runs that draw clock
//! errors and fault points from the seed replay the same story.
#![cfg(madsim)]

use keyslot::faultpoint::FaultPoint;
use keyslot_sim::clocks::NodeClock;
use keyslot_sim::scenario::{self, Scenario, ScenarioError};
use keyslot_sim::scenarios::{self, Options};

fn file(name: &str) -> Scenario {
    scenario::find(name).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(text: &str) -> ScenarioError {
    match scenario::parse(text, "bad.toml", "bad") {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn clock_bus_and_fault_point_options_read_back_from_the_written_file() {
    let drift = file("clock-drift");
    assert_eq!(drift.world.clocks.max_offset_ms, 1000);
    assert_eq!(drift.world.clocks.max_drift_ppm, 100);
    assert_eq!(
        drift.world.clocks.nodes,
        vec![NodeClock {
            node: "master-0".into(),
            offset_ms: -3000,
            drift_ppm: 500
        }]
    );
    let points = file("fault-points");
    assert_eq!(points.world.fault_points, FaultPoint::ALL.to_vec());
    for sc in [
        drift,
        points,
        file("clock-jump-back"),
        file("clock-jump-forward"),
        file("bus-faults"),
    ] {
        let text = sc.to_toml();
        let back = scenario::parse(&text, "round-trip.toml", "x")
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", sc.name));
        assert_eq!(back.steps, sc.steps, "{}", sc.name);
        assert_eq!(back.world.clocks, sc.world.clocks, "{}", sc.name);
        assert_eq!(
            back.world.fault_points, sc.world.fault_points,
            "{}",
            sc.name
        );
    }
}

#[test]
fn bad_clock_bus_and_fault_point_options_name_the_line_and_the_field() {
    let cases: [(&str, usize, &str, &str); 8] = [
        (
            "seed = 1\n[[step]]\nat = \"1s\"\nclock_drift = { node = \"master-0\", ppm = 300000 }\n",
            4,
            "clock_drift.ppm",
            "outside",
        ),
        (
            "seed = 1\n[[step]]\nat = \"1s\"\nclock_jump = { node = \"master-0\", by = \"-4x\" }\n",
            4,
            "clock_jump",
            "invalid signed duration",
        ),
        (
            "seed = 1\n[[step]]\nat = \"1s\"\nclock_jump = { node = \"master-9\", by = \"4s\" }\n",
            4,
            "clock_jump.node",
            "no node named",
        ),
        (
            "seed = 1\n[[step]]\nat = \"1s\"\ndrop_packets = { node = \"master-0\", type = \"PANG\" }\n",
            4,
            "drop_packets.type",
            "PANG",
        ),
        (
            "seed = 1\n[[step]]\nat = \"1s\"\nkill_cluster_link = { node = \"master-0\", peer = \"replica-0\", direction = \"both\" }\n",
            4,
            "kill_cluster_link.direction",
            "not to, from or all",
        ),
        (
            "seed = 1\n[[step]]\nat = \"1s\"\nslow_tick = { node = \"master-0\", every = \"50ms\" }\n",
            4,
            "slow_tick.every",
            "faster",
        ),
        (
            "seed = 1\n\n[clocks]\nmax_offset = \"1s\"\n[clocks.node.master-9]\noffset = \"1s\"\n",
            3,
            "clocks.node",
            "no node named",
        ),
        (
            "seed = 1\n[config]\nfault_points = [\"election_stall\", \"disk_melt\"]\n",
            3,
            "config.fault_points",
            "no fault point \"disk_melt\"",
        ),
    ];
    for (text, line, field, says) in cases {
        let e = parse_err(text);
        assert_eq!((e.line, e.field.as_str()), (line, field), "{e}\n{text}");
        assert!(e
            .to_string()
            .starts_with(&format!("bad.toml:{line}: field `{field}`")));
        assert!(e.message.contains(says), "{e}");
    }
}

#[test]
fn seeded_clock_errors_and_fault_points_replay_the_same_story() {
    for name in ["clock-drift", "fault-points"] {
        let sc = file(name);
        let a = scenarios::run(&sc, 3, Options::default()).unwrap_or_else(|f| panic!("{f}"));
        let b = scenarios::run(&sc, 3, Options::default()).unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(a.story_hash, b.story_hash, "{name}");
        assert_eq!(a.snapshot, b.snapshot, "{name}");
        let other = scenarios::run(&sc, 4, Options::default()).unwrap_or_else(|f| panic!("{f}"));
        assert_ne!(
            a.story, other.story,
            "{name}: another seed should draw other clocks or fault points"
        );
    }
}

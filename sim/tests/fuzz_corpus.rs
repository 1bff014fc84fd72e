//! Replays the committed scenario-file inputs (fuzz/seeds/scenario_file,
//! fuzz/regressions/scenario_file) through `keyslot_sim::fuzzing::scenario_file`, the call the
//! `scenario_file` cargo-fuzz target of sim/fuzz makes: every input gives a scenario that
//! survives the write-back round trip, or an error, never a panic. The stock scenario files among
//! the seeds must still parse.

use std::path::Path;

#[test]
fn every_committed_scenario_fuzz_input_parses_or_errs_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut seen = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join("scenario_file")) else {
            continue;
        };
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).expect("read corpus file");
            let outcome = std::panic::catch_unwind(|| keyslot_sim::fuzzing::scenario_file(&data));
            assert!(outcome.is_ok(), "{} panicked", e.path().display());
            if dir == "seeds" {
                let text = String::from_utf8(data).expect("stock scenario is UTF-8");
                let parsed = keyslot_sim::scenario::parse(&text, "fuzz.toml", "fuzz");
                assert!(
                    parsed.is_ok(),
                    "stock scenario {} no longer parses",
                    e.path().display()
                );
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "no scenario_file inputs found");
}

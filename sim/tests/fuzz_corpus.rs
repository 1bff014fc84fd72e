//! Replays the committed scenario-file inputs (fuzz/seeds/scenario_file,
//! fuzz/regressions/scenario_file) through the scenario parser: every input gives a scenario or
//! an error, never a panic. The stock scenario files among the seeds must still parse. (No
//! cargo-fuzz target runs them yet: the simulator's modules exist only under `--cfg madsim`,
//! and fuzz/ builds without it.)

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
            let Ok(text) = String::from_utf8(data) else {
                continue;
            };
            let parsed = std::panic::catch_unwind(|| {
                keyslot_sim::scenario::parse(&text, "fuzz.toml", "fuzz").is_ok()
            });
            let ok = parsed.unwrap_or_else(|_| panic!("{} panicked", e.path().display()));
            if dir == "seeds" {
                assert!(ok, "stock scenario {} no longer parses", e.path().display());
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "no scenario_file inputs found");
}

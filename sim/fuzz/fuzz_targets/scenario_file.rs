//! Scenario files (scenarios/*.toml): parse, and an accepted scenario must read back the same
//! after `to_toml`. The call lives in `keyslot_sim::fuzzing`, shared with the test that replays
//! the committed corpus (sim/tests/fuzz_corpus.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyslot_sim::fuzzing::scenario_file(data));

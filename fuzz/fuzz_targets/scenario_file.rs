//! Scenario files (TOML): the simulator's parser and its checks of steps, selectors, durations
//! and expectations. The sim crate builds here without `--cfg madsim` (its node code then runs
//! on real tokio, which this target never starts); only `scenario::parse` runs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = keyslot_sim::scenario::parse(text, "fuzz.toml", "fuzz");
    }
});

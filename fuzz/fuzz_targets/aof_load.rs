//! AOF manifests and AOF command streams. The calls live in `keyslot::fuzzing`, shared with the test that
//! replays the committed corpora (tests/fuzz_corpora.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyslot::fuzzing::aof_load(data));

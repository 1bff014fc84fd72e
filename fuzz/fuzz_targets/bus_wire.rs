//! Cluster bus messages, whole and through the frame reader. The calls live in `keyslot::fuzzing`, shared with the test that
//! replays the committed corpora (tests/fuzz_corpora.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyslot::fuzzing::bus_wire(data));

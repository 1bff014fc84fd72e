//! RDB files as loaded at startup / received in a full resync.
#![no_main]
use keyslot::rdb::snapshot::read_snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_snapshot(data);
});

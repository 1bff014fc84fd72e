//! DUMP payloads as RESTORE receives them (footer checked), and raw object bodies.
#![no_main]
use keyslot::rdb::{decode_object, restore_value, verify_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verify_payload(data);
    let _ = restore_value(data);
    // Past the CRC check too: the object decoder alone.
    let _ = decode_object(data);
});

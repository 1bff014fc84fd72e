//! Cluster bus messages: frame cutting (per-type length bounds) and decoding.
#![no_main]
use keyslot::cluster::wire::{decode, FrameReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
    let mut r = FrameReader::new();
    r.push(data);
    while let Ok(Some(frame)) = r.next_frame() {
        let _ = decode(&frame);
    }
});

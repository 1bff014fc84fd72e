//! nodes.conf lines.
#![no_main]
use keyslot::cluster::nodes_conf::parse_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            let _ = parse_line(line);
        }
    }
});

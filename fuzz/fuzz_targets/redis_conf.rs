//! redis.conf text.
#![no_main]
use keyslot::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut c = Config::default();
        let _ = c.load_text(text);
    }
});

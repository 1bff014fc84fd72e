//! AOF loading: the manifest, and the command stream of an AOF file.
#![no_main]
use bytes::BytesMut;
use keyslot::persist::aof::Manifest;
use keyslot::resp::request::{Limits, RequestParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Manifest::parse(text);
    }
    let mut input = BytesMut::from(data);
    let mut parser = RequestParser::new();
    let limits = Limits {
        max_bulk_len: 512 << 20,
        authenticated: true,
    };
    while let Ok(Some(_argv)) = parser.parse(&mut input, &limits) {}
});

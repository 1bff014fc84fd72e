//! Inline commands (a request that does not start with `*`), and redis.conf-style quoting.
#![no_main]
use bytes::BytesMut;
use keyslot::resp::request::{split_args, Limits, RequestParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = split_args(data);
    let mut input = BytesMut::from(&b"P"[..]);
    input.extend_from_slice(data);
    let mut parser = RequestParser::new();
    let limits = Limits {
        max_bulk_len: 1 << 20,
        authenticated: true,
    };
    while let Ok(Some(_argv)) = parser.parse(&mut input, &limits) {}
});

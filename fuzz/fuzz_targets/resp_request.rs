//! RESP requests from an unauthenticated client (the tightest limits): parse every command the
//! bytes hold; any input must yield commands or a protocol error, never a panic.
#![no_main]
use bytes::BytesMut;
use keyslot::resp::request::{Limits, RequestParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for authenticated in [false, true] {
        let mut parser = RequestParser::new();
        let mut input = BytesMut::new();
        // Fed in two pieces, as reads split a stream.
        let cut = data.len() / 2;
        for piece in [&data[..cut], &data[cut..]] {
            input.extend_from_slice(piece);
            let limits = Limits {
                max_bulk_len: 1 << 20,
                authenticated,
            };
            while let Ok(Some(_argv)) = parser.parse(&mut input, &limits) {}
        }
    }
});

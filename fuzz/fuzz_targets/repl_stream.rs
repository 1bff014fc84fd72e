//! The replication stream a replica reads from its master (RESP commands, parsed with the
//! master's limits) and the RESP reply frames of the handshake.
#![no_main]
use bytes::BytesMut;
use keyslot::resp::frame::FrameReader;
use keyslot::resp::request::{Limits, RequestParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = BytesMut::from(data);
    let mut parser = RequestParser::new();
    let limits = Limits {
        max_bulk_len: 512 << 20,
        authenticated: true,
    };
    while let Ok(Some(_argv)) = parser.parse(&mut input, &limits) {}
    let mut buf = BytesMut::from(data);
    let mut frames = FrameReader::new();
    while let Ok(Some(_f)) = frames.parse(&mut buf) {}
});

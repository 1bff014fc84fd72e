//! What each cargo-fuzz target of `fuzz/` feeds its input to: one function per decoder, so the
//! fuzzer and the ordinary test that replays the committed corpora (`tests/fuzz_corpora.rs`)
//! exercise exactly the same calls. Each function must return (never panic, never hang) on any
//! input; the decoders' results are ignored.

use crate::resp::request::{split_args, Limits, RequestParser};
use bytes::BytesMut;

/// Runs every complete request of `input` through a parser with these limits.
fn parse_all(input: &mut BytesMut, parser: &mut RequestParser, limits: &Limits) {
    while let Ok(Some(_argv)) = parser.parse(input, limits) {}
}

/// A stream of commands from a trusted source (a master, an AOF file): Redis's largest bulk
/// length, already authenticated.
fn parse_trusted_commands(data: &[u8]) {
    let limits = Limits {
        max_bulk_len: 512 << 20,
        authenticated: true,
    };
    parse_all(
        &mut BytesMut::from(data),
        &mut RequestParser::new(),
        &limits,
    );
}

/// Client requests (RESP multibulk and inline), before and after authentication, fed in two
/// pieces as reads split a stream.
pub fn resp_request(data: &[u8]) {
    for authenticated in [false, true] {
        let mut parser = RequestParser::new();
        let mut input = BytesMut::new();
        let cut = data.len() / 2;
        for piece in [&data[..cut], &data[cut..]] {
            input.extend_from_slice(piece);
            let limits = Limits {
                max_bulk_len: 1 << 20,
                authenticated,
            };
            parse_all(&mut input, &mut parser, &limits);
        }
    }
}

/// Inline commands: the quote-aware splitter, and the parser on a line that is surely inline.
pub fn resp_inline(data: &[u8]) {
    let _ = split_args(data);
    let mut input = BytesMut::from(&b"P"[..]);
    input.extend_from_slice(data);
    let limits = Limits {
        max_bulk_len: 1 << 20,
        authenticated: true,
    };
    parse_all(&mut input, &mut RequestParser::new(), &limits);
}

/// A master's replication stream: commands, and the reply frames a replica reads.
pub fn repl_stream(data: &[u8]) {
    parse_trusted_commands(data);
    let mut buf = BytesMut::from(data);
    let mut frames = crate::resp::frame::FrameReader::new();
    while let Ok(Some(_f)) = frames.parse(&mut buf) {}
}

/// Cluster bus messages, whole and through the frame reader.
pub fn bus_wire(data: &[u8]) {
    use crate::cluster::wire::{decode, FrameReader};
    let _ = decode(data);
    let mut r = FrameReader::new();
    r.push(data);
    while let Ok(Some(frame)) = r.next_frame() {
        let _ = decode(&frame);
    }
}

/// nodes.conf lines.
pub fn nodes_conf(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            let _ = crate::cluster::nodes_conf::parse_line(line);
        }
    }
}

/// Whole RDB files.
pub fn rdb_file(data: &[u8]) {
    let _ = crate::rdb::snapshot::read_snapshot(data);
}

/// DUMP payloads as RESTORE takes them, and the object decoder past the CRC check.
pub fn dump_payload(data: &[u8]) {
    let _ = crate::rdb::verify_payload(data);
    let _ = crate::rdb::restore_value(data);
    let _ = crate::rdb::decode_object(data);
}

/// AOF: the manifest, and the command stream of an AOF file.
pub fn aof_load(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::persist::aof::Manifest::parse(text);
    }
    parse_trusted_commands(data);
}

/// redis.conf text.
pub fn redis_conf(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut c = crate::config::Config::default();
        let _ = c.load_text(text);
    }
}

/// A target's entry point: it takes the fuzzer's bytes and returns whatever they hold.
pub type Target = fn(&[u8]);

/// Every target of `fuzz/`, by its cargo-fuzz name. Scenario files have no target: the
/// simulator's modules exist only under `--cfg madsim`; their committed inputs
/// (fuzz/seeds/scenario_file) are replayed by sim/tests/fuzz_corpus.rs.
pub const TARGETS: &[(&str, Target)] = &[
    ("resp_request", resp_request),
    ("resp_inline", resp_inline),
    ("repl_stream", repl_stream),
    ("bus_wire", bus_wire),
    ("nodes_conf", nodes_conf),
    ("rdb_file", rdb_file),
    ("dump_payload", dump_payload),
    ("aof_load", aof_load),
    ("redis_conf", redis_conf),
];

//! Codec tests: exact offsets from cluster.h, round trips, and hostile frames.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::cluster::bitmap::SlotBitmap;
use crate::cluster::node_id::NodeId;

fn id(c: u8) -> NodeId {
    NodeId([c; 40])
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// A header whose every field holds a distinct, recognisable value.
fn sample_header() -> Header {
    let mut slots = SlotBitmap::new();
    slots.set(0);
    slots.set(16383);
    Header {
        totlen: 0,
        ver: PROTO_VER,
        port: 0x1B59,
        kind: 0,
        count: 0,
        current_epoch: 0x0102_0304_0506_0708,
        config_epoch: 0x1112_1314_1516_1718,
        offset: 0x2122_2324_2526_2728,
        sender: id(b'a'),
        myslots: slots,
        slaveof: Some(id(b'b')),
        myip: "10.0.0.1".into(),
        extensions: 0,
        pport: 0x0C0D,
        cport: 0x4469,
        flags: flags::SLAVE | flags::MYSELF,
        state: 1,
        mflags: [mflags::PAUSED, 0, 0],
    }
}

fn gossip(i: u8) -> GossipEntry {
    GossipEntry {
        node: id(b'0' + i),
        ping_sent_s: 1000 + u32::from(i),
        pong_received_s: 2000 + u32::from(i),
        ip: format!("127.0.0.{i}"),
        port: 7000 + u16::from(i),
        cport: 17000 + u16::from(i),
        flags: flags::MASTER,
        pport: 0,
    }
}

fn msg(body: Body) -> Message {
    Message {
        header: sample_header(),
        body,
    }
}

fn ping(n: u8, extensions: Vec<Extension>) -> Message {
    msg(Body::Ping {
        gossip: (0..n).map(gossip).collect(),
        extensions,
    })
}

fn enc(m: &Message) -> Vec<u8> {
    try_encode(m).unwrap()
}

/// Encodes, decodes and checks that nothing but the derived header fields changed.
fn round_trip(m: &Message) -> Message {
    let bytes = enc(m);
    let d = decode(&bytes).unwrap();
    assert_eq!(d.body, m.body);
    assert_eq!(d.header.totlen as usize, bytes.len());
    assert_eq!(d.header.kind, m.body.kind());
    let strip = |h: &Header| Header {
        totlen: 0,
        kind: 0,
        count: 0,
        extensions: 0,
        mflags: [h.mflags[0] & !mflags::EXT_DATA, h.mflags[1], h.mflags[2]],
        ..h.clone()
    };
    assert_eq!(strip(&d.header), strip(&m.header));
    assert_eq!(
        enc(&d),
        bytes,
        "re-encoding a decoded message is byte-identical"
    );
    d
}

#[test]
fn header_fields_sit_at_the_cluster_h_offsets() {
    let b = enc(&msg(Body::AuthRequest));
    assert_eq!(b.len(), HEADER_LEN);
    assert_eq!(&b[0..4], b"RCmb");
    assert_eq!(be32(&b, 4), 2256);
    assert_eq!(be16(&b, 8), 1);
    assert_eq!(be16(&b, 10), 0x1B59);
    assert_eq!(be16(&b, 12), types::FAILOVER_AUTH_REQUEST);
    assert_eq!(be16(&b, 14), 0);
    assert_eq!(be64(&b, 16), 0x0102_0304_0506_0708);
    assert_eq!(be64(&b, 24), 0x1112_1314_1516_1718);
    assert_eq!(be64(&b, 32), 0x2122_2324_2526_2728);
    assert_eq!(&b[40..80], &[b'a'; 40]);
    assert_eq!(b[80], 0b0000_0001, "slot 0 is bit 0 of myslots[0]");
    assert_eq!(b[2127], 0b1000_0000, "slot 16383 is bit 7 of myslots[2047]");
    assert!(b[81..2127].iter().all(|&x| x == 0));
    assert_eq!(&b[2128..2168], &[b'b'; 40]);
    assert_eq!(&b[2168..2176], b"10.0.0.1");
    assert!(b[2176..2214].iter().all(|&x| x == 0));
    assert_eq!(be16(&b, 2214), 0);
    assert!(b[2216..2246].iter().all(|&x| x == 0));
    assert_eq!(be16(&b, 2246), 0x0C0D);
    assert_eq!(be16(&b, 2248), 0x4469);
    assert_eq!(be16(&b, 2250), flags::SLAVE | flags::MYSELF);
    assert_eq!(b[2252], 1);
    assert_eq!(&b[2253..2256], &[mflags::PAUSED, 0, 0]);
}

#[test]
fn offset_table_matches_cluster_h() {
    use super::offset::{self as o, gossip as g};
    let header = [
        o::SIG,
        o::TOTLEN,
        o::VER,
        o::PORT,
        o::TYPE,
        o::COUNT,
        o::CURRENT_EPOCH,
        o::CONFIG_EPOCH,
        o::OFFSET,
        o::SENDER,
        o::MYSLOTS,
        o::SLAVEOF,
        o::MYIP,
        o::EXTENSIONS,
        o::NOTUSED,
        o::PPORT,
        o::CPORT,
        o::FLAGS,
        o::STATE,
        o::MFLAGS,
        o::DATA,
    ];
    assert_eq!(
        header,
        [
            0, 4, 8, 10, 12, 14, 16, 24, 32, 40, 80, 2128, 2168, 2214, 2216, 2246, 2248, 2250,
            2252, 2253, 2256
        ]
    );
    assert_eq!(o::DATA, HEADER_LEN);
    let entry = [
        g::NODENAME,
        g::PING_SENT,
        g::PONG_RECEIVED,
        g::IP,
        g::PORT,
        g::CPORT,
        g::FLAGS,
        g::PPORT,
        g::NOTUSED,
    ];
    assert_eq!(entry, [0, 40, 44, 48, 94, 96, 98, 100, 102]);
    assert_eq!(g::NOTUSED + 2, GOSSIP_LEN);
}

#[test]
fn master_header_sends_zero_slaveof_and_empty_ip() {
    let mut m = msg(Body::MfStart);
    m.header.slaveof = None;
    m.header.myip = String::new();
    let b = enc(&m);
    assert!(b[2128..2214].iter().all(|&x| x == 0));
    let d = round_trip(&m);
    assert_eq!(d.header.slaveof, None);
    assert_eq!(d.header.myip, "");
}

#[test]
fn ping_with_three_gossip_entries_is_2568_bytes() {
    let m = ping(3, vec![]);
    let b = enc(&m);
    assert_eq!(b.len(), 2256 + 312);
    assert_eq!(be32(&b, 4), 2568);
    assert_eq!(be16(&b, 14), 3);
    assert_eq!(b[2253] & mflags::EXT_DATA, 0, "no extensions, no EXT_DATA");
    // Second entry, field by field.
    let g = 2256 + 104;
    assert_eq!(&b[g..g + 40], &[b'1'; 40]);
    assert_eq!(be32(&b, g + 40), 1001);
    assert_eq!(be32(&b, g + 44), 2001);
    assert_eq!(&b[g + 48..g + 57], b"127.0.0.1");
    assert!(b[g + 57..g + 94].iter().all(|&x| x == 0));
    assert_eq!(be16(&b, g + 94), 7001);
    assert_eq!(be16(&b, g + 96), 17001);
    assert_eq!(be16(&b, g + 98), flags::MASTER);
    assert_eq!(be16(&b, g + 100), 0);
    assert_eq!(be16(&b, g + 102), 0);
    round_trip(&m);
}

#[test]
fn hostname_extension_is_nul_terminated_and_padded() {
    let m = ping(1, vec![Extension::Hostname("abc".into())]);
    let b = enc(&m);
    let e = 2256 + 104;
    assert_eq!(b.len(), e + 16);
    assert_eq!(be16(&b, 2214), 1, "extensions count");
    assert_ne!(b[2253] & mflags::EXT_DATA, 0, "EXT_DATA set");
    assert_eq!(be32(&b, e), 16);
    assert_eq!(be16(&b, e + 4), ext_type::HOSTNAME);
    assert_eq!(be16(&b, e + 6), 0);
    assert_eq!(&b[e + 8..e + 16], b"abc\0\0\0\0\0");
    round_trip(&m);

    // 7 characters plus NUL fill exactly 8; 8 characters need 16.
    let seven = enc(&ping(0, vec![Extension::Hostname("abcdefg".into())]));
    assert_eq!(seven.len(), 2256 + 16);
    let eight = enc(&ping(0, vec![Extension::Hostname("abcdefgh".into())]));
    assert_eq!(eight.len(), 2256 + 24);
}

#[test]
fn newer_extensions_round_trip() {
    let exts = vec![
        Extension::Hostname("node-1.example".into()),
        Extension::HumanNodename("primary-east".into()),
        Extension::ForgottenNode {
            node: id(b'f'),
            ttl_s: 59,
        },
        Extension::ShardId(id(b'5')),
        Extension::Unknown {
            kind: 200,
            data: vec![1, 2, 3, 4, 5, 6, 7, 8],
        },
    ];
    let m = msg(Body::Pong {
        gossip: vec![gossip(1), gossip(2)],
        extensions: exts,
    });
    let b = enc(&m);
    assert_eq!(
        b.len(),
        2256 + 208 + (8 + 16) + (8 + 16) + (8 + 48) + (8 + 40) + (8 + 8)
    );
    round_trip(&m);
}

#[test]
fn unknown_extension_payload_is_padded_and_kept_with_its_padding() {
    let m = ping(
        0,
        vec![Extension::Unknown {
            kind: 77,
            data: vec![9, 9, 9],
        }],
    );
    let b = enc(&m);
    assert_eq!(b.len(), 2256 + 16);
    let d = decode(&b).unwrap();
    assert_eq!(
        d.body.ping_parts().unwrap().1,
        &[Extension::Unknown {
            kind: 77,
            data: vec![9, 9, 9, 0, 0, 0, 0, 0]
        }]
    );
}

#[test]
fn short_known_extension_payloads_decode_as_unknown() {
    // A forgotten-node extension with only 8 payload bytes cannot hold name + ttl.
    let mut b = enc(&ping(
        0,
        vec![Extension::Unknown {
            kind: ext_type::FORGOTTEN_NODE,
            data: vec![7; 8],
        }],
    ));
    let d = decode(&b).unwrap();
    assert_eq!(
        d.body.ping_parts().unwrap().1,
        &[Extension::Unknown {
            kind: ext_type::FORGOTTEN_NODE,
            data: vec![7; 8]
        }]
    );
    put16(&mut b, 2256 + 4, ext_type::SHARD_ID);
    let d = decode(&b).unwrap();
    assert!(matches!(
        d.body.ping_parts().unwrap().1,
        [Extension::Unknown { kind: 3, .. }]
    ));
}

#[test]
fn ext_data_flag_with_no_extensions_is_kept() {
    let mut m = ping(2, vec![]);
    m.header.mflags[0] |= mflags::EXT_DATA;
    let b = enc(&m);
    assert_eq!(b.len(), 2256 + 208);
    assert_ne!(b[2253] & mflags::EXT_DATA, 0);
    round_trip(&m);
}

#[test]
fn every_message_type_round_trips() {
    let mut slots = SlotBitmap::new();
    slots.set_range(5461, 10922);
    let bodies = vec![
        ping(3, vec![Extension::Hostname("h".into())]).body,
        Body::Pong {
            gossip: vec![],
            extensions: vec![],
        },
        Body::Meet {
            gossip: vec![gossip(7)],
            extensions: vec![],
        },
        Body::Fail { node: id(b'c') },
        Body::Publish {
            channel: Bytes::from_static(b"news"),
            message: Bytes::from_static(b"hello world"),
        },
        Body::PublishShard {
            channel: Bytes::from_static(b"{shard}ch"),
            message: Bytes::new(),
        },
        Body::AuthRequest,
        Body::AuthAck,
        Body::Update {
            config_epoch: 42,
            node: id(b'd'),
            slots,
        },
        Body::MfStart,
        Body::Module {
            module_id: 0xDEAD_BEEF,
            kind: 3,
            payload: Bytes::from_static(b"payload"),
        },
    ];
    let mut kinds = Vec::new();
    for body in bodies {
        let d = round_trip(&msg(body));
        kinds.push(d.header.kind);
    }
    kinds.sort_unstable();
    assert_eq!(kinds, (0..=10).collect::<Vec<u16>>());
}

#[test]
fn fixed_length_bodies_sit_at_their_offsets() {
    let b = enc(&msg(Body::Fail { node: id(b'c') }));
    assert_eq!(b.len(), FAIL_LEN);
    assert_eq!(b.len(), 2296);
    assert_eq!(&b[2256..2296], &[b'c'; 40]);

    let mut slots = SlotBitmap::new();
    slots.set(8);
    let b = enc(&msg(Body::Update {
        config_epoch: 9,
        node: id(b'd'),
        slots,
    }));
    assert_eq!(b.len(), 4352);
    assert_eq!(be64(&b, 2256), 9);
    assert_eq!(&b[2264..2304], &[b'd'; 40]);
    assert_eq!(b[2305], 1, "slot 8 is bit 0 of byte 1 of the UPDATE bitmap");

    let b = enc(&msg(Body::Publish {
        channel: Bytes::from_static(b"ch"),
        message: Bytes::from_static(b"msg"),
    }));
    assert_eq!(b.len(), 2264 + 5);
    assert_eq!(be32(&b, 2256), 2);
    assert_eq!(be32(&b, 2260), 3);
    assert_eq!(&b[2264..], b"chmsg");

    let b = enc(&msg(Body::Module {
        module_id: 5,
        kind: 6,
        payload: Bytes::from_static(b"xyz"),
    }));
    assert_eq!(b.len(), 2269 + 3);
    assert_eq!(be64(&b, 2256), 5);
    assert_eq!(be32(&b, 2264), 3);
    assert_eq!(b[2268], 6);
    assert_eq!(&b[2269..], b"xyz");

    for body in [Body::AuthRequest, Body::AuthAck, Body::MfStart] {
        assert_eq!(enc(&msg(body)).len(), HEADER_LEN);
    }
}

#[test]
fn encode_rejects_counts_the_header_cannot_hold() {
    let m = msg(Body::Ping {
        gossip: vec![gossip(0); 65536],
        extensions: vec![],
    });
    assert_eq!(
        try_encode(&m),
        Err(WireError::TooManyEntries {
            what: "gossip entries",
            count: 65536
        })
    );
    assert_eq!(
        encode(&m),
        Vec::<u8>::new(),
        "unencodable messages send nothing"
    );
}

#[test]
fn truncated_and_misframed_input_is_rejected() {
    let b = enc(&ping(3, vec![]));
    assert!(matches!(decode(&[]), Err(WireError::Truncated { .. })));
    assert!(matches!(decode(&b[..3]), Err(WireError::Truncated { .. })));
    assert!(matches!(decode(&b[..7]), Err(WireError::Truncated { .. })));
    assert_eq!(
        decode(&b[..b.len() - 1]),
        Err(WireError::FrameLength {
            totlen: 2568,
            actual: 2567
        })
    );
    let mut longer = b.clone();
    longer.push(0);
    assert!(matches!(
        decode(&longer),
        Err(WireError::FrameLength { .. })
    ));
    // A self-consistent frame shorter than the header.
    let mut short = b[..100].to_vec();
    put32(&mut short, 4, 100);
    assert_eq!(decode(&short), Err(WireError::TooShort { totlen: 100 }));
}

#[test]
fn wrong_signature_and_version_are_rejected() {
    let mut b = enc(&msg(Body::AuthAck));
    b[0] = b'X';
    assert_eq!(decode(&b), Err(WireError::BadSignature(*b"XCmb")));
    let mut b = enc(&msg(Body::AuthAck));
    put16(&mut b, 8, 2);
    assert_eq!(decode(&b), Err(WireError::UnsupportedVersion(2)));
}

#[test]
fn unknown_types_are_reported_for_the_caller_to_drop() {
    let mut b = enc(&msg(Body::AuthAck));
    put16(&mut b, 12, 11);
    assert_eq!(decode(&b), Err(WireError::UnknownType(11)));
    assert!(!WireError::UnknownType(11).is_fatal());
}

#[test]
fn count_disagreeing_with_length_is_rejected() {
    let b = enc(&ping(3, vec![]));
    let mut more = b.clone();
    put16(&mut more, 14, 4);
    assert_eq!(
        decode(&more),
        Err(WireError::LengthMismatch {
            kind: 0,
            totlen: 2568,
            expected: 2256 + 416
        })
    );
    let mut fewer = b.clone();
    put16(&mut fewer, 14, 2);
    assert_eq!(
        decode(&fewer),
        Err(WireError::LengthMismatch {
            kind: 0,
            totlen: 2568,
            expected: 2256 + 208
        })
    );
    // A huge count is refused before anything is allocated for it.
    let mut huge = b;
    put16(&mut huge, 14, u16::MAX);
    assert!(matches!(
        decode(&huge),
        Err(WireError::LengthMismatch { .. })
    ));
}

/// A PING with one gossip entry and one 16-byte hostname extension; returns (frame, ext offset).
fn ping_with_ext() -> (Vec<u8>, usize) {
    (
        enc(&ping(1, vec![Extension::Hostname("abc".into())])),
        2256 + 104,
    )
}

#[test]
fn bad_extension_lengths_are_rejected() {
    for length in [0u32, 4, 12, 15] {
        let (mut b, e) = ping_with_ext();
        put32(&mut b, e, length);
        assert_eq!(
            decode(&b),
            Err(WireError::BadExtensionLength { index: 0, length }),
            "length {length}"
        );
    }
}

#[test]
fn overrunning_and_wrapping_extensions_are_rejected() {
    for length in [24u32, 0xFFFF_FFF8, 0x8000_0000] {
        let (mut b, e) = ping_with_ext();
        put32(&mut b, e, length);
        assert_eq!(
            decode(&b),
            Err(WireError::ExtensionOverrun {
                index: 0,
                length,
                remaining: 16
            }),
            "length {length}"
        );
    }
    // Claiming a second extension when the message ends after the first.
    let (mut b, _) = ping_with_ext();
    put16(&mut b, 2214, 2);
    assert_eq!(
        decode(&b),
        Err(WireError::ExtensionOverrun {
            index: 1,
            length: 8,
            remaining: 0
        })
    );
}

#[test]
fn extension_bytes_without_ext_data_flag_break_the_length() {
    let (mut b, _) = ping_with_ext();
    b[2253] &= !mflags::EXT_DATA;
    assert_eq!(
        decode(&b),
        Err(WireError::LengthMismatch {
            kind: 0,
            totlen: 2376,
            expected: 2360
        })
    );
}

#[test]
fn extensions_count_is_ignored_without_ext_data_flag() {
    // Redis reads extensions only under EXT_DATA; a stray count is harmless.
    let mut b = enc(&ping(1, vec![]));
    put16(&mut b, 2214, 9);
    let d = decode(&b).unwrap();
    assert_eq!(d.header.extensions, 9);
    assert_eq!(d.body.ping_parts().unwrap().1, &[] as &[Extension]);
}

#[test]
fn publish_and_module_lengths_cannot_wrap() {
    let b = enc(&msg(Body::Publish {
        channel: Bytes::from_static(b"ch"),
        message: Bytes::from_static(b"msg"),
    }));
    for (at, v) in [(2256, u32::MAX), (2260, u32::MAX), (2256, 3), (2260, 0)] {
        let mut bad = b.clone();
        put32(&mut bad, at, v);
        assert!(
            matches!(decode(&bad), Err(WireError::LengthMismatch { kind: 4, .. })),
            "field {at} = {v}"
        );
    }
    // PUBLISH shorter than its two length fields.
    let mut stub = enc(&msg(Body::AuthAck));
    put16(&mut stub, 12, types::PUBLISH);
    assert_eq!(
        decode(&stub),
        Err(WireError::LengthMismatch {
            kind: 4,
            totlen: 2256,
            expected: 2264
        })
    );

    let mut m = enc(&msg(Body::Module {
        module_id: 1,
        kind: 2,
        payload: Bytes::from_static(b"abc"),
    }));
    put32(&mut m, 2264, u32::MAX);
    assert!(matches!(
        decode(&m),
        Err(WireError::LengthMismatch { kind: 9, .. })
    ));
}

#[test]
fn fixed_length_types_must_match_exactly() {
    for (body, kind) in [
        (Body::Fail { node: id(b'x') }, 3u16),
        (Body::AuthRequest, 5),
        (Body::MfStart, 8),
    ] {
        let mut b = enc(&msg(body));
        b.extend_from_slice(&[0; 8]);
        let len = b.len() as u32;
        put32(&mut b, 4, len);
        assert!(
            matches!(decode(&b), Err(WireError::LengthMismatch { kind: k, .. }) if k == kind),
            "type {kind}"
        );
    }
    let mut up = enc(&msg(Body::AuthAck));
    put16(&mut up, 12, types::UPDATE);
    assert_eq!(
        decode(&up),
        Err(WireError::LengthMismatch {
            kind: 7,
            totlen: 2256,
            expected: 4352
        })
    );
}

#[test]
fn long_ips_are_truncated_to_45_bytes() {
    let mut m = msg(Body::AuthAck);
    m.header.myip = "x".repeat(60);
    let b = enc(&m);
    assert_eq!(b[2168 + 44], b'x');
    assert_eq!(b[2168 + 45], 0, "the last IP byte is always NUL");
    assert_eq!(decode(&b).unwrap().header.myip, "x".repeat(45));
}

#[test]
fn frame_len_checks_prefix() {
    let b = enc(&ping(3, vec![]));
    assert_eq!(frame_len(&b[..7]), Ok(None));
    assert_eq!(frame_len(&b[..8]), Ok(Some(2568)));
    assert_eq!(frame_len(&b), Ok(Some(2568)));
    let mut bad = b.clone();
    bad[3] = b'x';
    assert_eq!(frame_len(&bad), Err(WireError::BadSignature(*b"RCmx")));
    assert!(WireError::BadSignature(*b"RCmx").is_fatal());
    let mut short = b.clone();
    put32(&mut short, 4, 2255);
    assert_eq!(frame_len(&short), Err(WireError::TooShort { totlen: 2255 }));
    let mut big = b.clone();
    put32(&mut big, 4, u32::MAX);
    assert_eq!(
        frame_len(&big),
        Err(WireError::TooLarge {
            len: u64::from(u32::MAX),
            max: DEFAULT_MAX_FRAME_LEN as u64
        })
    );
    assert_eq!(
        frame_len_with_max(&b, 2567),
        Err(WireError::TooLarge {
            len: 2568,
            max: 2567
        })
    );
}

#[test]
fn frame_reader_reassembles_split_and_joined_frames() {
    let a = enc(&ping(3, vec![]));
    let b = enc(&msg(Body::Fail { node: id(b'z') }));
    let mut stream = a.clone();
    stream.extend_from_slice(&b);

    // One byte at a time.
    let mut r = FrameReader::new();
    let mut frames = Vec::new();
    for byte in &stream {
        r.push(std::slice::from_ref(byte));
        while let Some(f) = r.next_frame().unwrap() {
            frames.push(f);
        }
    }
    assert_eq!(frames, vec![Bytes::from(a.clone()), Bytes::from(b.clone())]);
    assert_eq!(r.buffered(), 0);

    // Everything at once.
    let mut r = FrameReader::default();
    r.push(&stream);
    assert_eq!(r.next_frame().unwrap().as_deref(), Some(&a[..]));
    assert_eq!(r.next_frame().unwrap().as_deref(), Some(&b[..]));
    assert_eq!(r.next_frame().unwrap(), None);

    // wanted() sizes reads like Redis: first the 8-byte prefix, then the rest.
    let mut r = FrameReader::new();
    assert_eq!(r.wanted(), Ok(8));
    r.push(&a[..3]);
    assert_eq!(r.wanted(), Ok(5));
    r.push(&a[3..100]);
    assert_eq!(r.wanted(), Ok(2568 - 100));
    r.push(&a[100..]);
    assert_eq!(r.wanted(), Ok(0));
}

#[test]
fn frame_reader_reports_fatal_errors() {
    let mut r = FrameReader::with_max_len(4000);
    r.push(b"GET / HTTP/1.1\r\n");
    assert!(matches!(r.next_frame(), Err(e) if e.is_fatal()));
    let mut r = FrameReader::with_max_len(4000);
    r.push(
        &enc(&msg(Body::Update {
            config_epoch: 1,
            node: id(b'u'),
            slots: SlotBitmap::new(),
        }))[..8],
    );
    assert_eq!(
        r.next_frame(),
        Err(WireError::TooLarge {
            len: 4352,
            max: 4000
        })
    );
}

// ---- property tests ----

fn arb_id() -> impl Strategy<Value = NodeId> {
    proptest::collection::vec(proptest::sample::select(b"0123456789abcdef".to_vec()), 40)
        .prop_map(|v| NodeId(v.try_into().unwrap()))
}

fn arb_bitmap() -> impl Strategy<Value = SlotBitmap> {
    proptest::collection::vec(0u16..16384, 0..64).prop_map(|v| v.into_iter().collect())
}

fn arb_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z0-9.:-]{{0,{max}}}")).unwrap()
}

fn arb_header() -> impl Strategy<Value = Header> {
    (
        (any::<u16>(), any::<u64>(), any::<u64>(), any::<u64>()),
        (arb_id(), arb_bitmap(), proptest::option::of(arb_id())),
        "[0-9a-f.:]{0,45}",
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u8>()),
        any::<[u8; 3]>(),
    )
        .prop_map(
            |(
                (port, current_epoch, config_epoch, offset),
                (sender, myslots, slaveof),
                myip,
                (pport, cport, flags, state),
                mflags,
            )| Header {
                totlen: 0,
                ver: PROTO_VER,
                port,
                kind: 0,
                count: 0,
                current_epoch,
                config_epoch,
                offset,
                sender,
                myslots,
                slaveof,
                myip,
                extensions: 0,
                pport,
                cport,
                flags,
                state,
                mflags,
            },
        )
}

fn arb_gossip() -> impl Strategy<Value = GossipEntry> {
    (
        arb_id(),
        any::<u32>(),
        any::<u32>(),
        arb_text(45),
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()),
    )
        .prop_map(
            |(node, ping_sent_s, pong_received_s, ip, (port, cport, flags, pport))| GossipEntry {
                node,
                ping_sent_s,
                pong_received_s,
                ip,
                port,
                cport,
                flags,
                pport,
            },
        )
}

fn arb_extension() -> impl Strategy<Value = Extension> {
    prop_oneof![
        arb_text(40).prop_map(Extension::Hostname),
        arb_text(40).prop_map(Extension::HumanNodename),
        (arb_id(), any::<u64>()).prop_map(|(node, ttl_s)| Extension::ForgottenNode { node, ttl_s }),
        arb_id().prop_map(Extension::ShardId),
        (4u16..1000, proptest::collection::vec(any::<u8>(), 0..5)).prop_map(|(kind, n)| {
            Extension::Unknown {
                kind,
                data: n.iter().flat_map(|&b| [b; 8]).collect(),
            }
        }),
    ]
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_body() -> impl Strategy<Value = Body> {
    let ping_parts = || {
        (
            proptest::collection::vec(arb_gossip(), 0..6),
            proptest::collection::vec(arb_extension(), 0..4),
        )
    };
    prop_oneof![
        ping_parts().prop_map(|(gossip, extensions)| Body::Ping { gossip, extensions }),
        ping_parts().prop_map(|(gossip, extensions)| Body::Pong { gossip, extensions }),
        ping_parts().prop_map(|(gossip, extensions)| Body::Meet { gossip, extensions }),
        arb_id().prop_map(|node| Body::Fail { node }),
        (arb_bytes(64), arb_bytes(256))
            .prop_map(|(channel, message)| Body::Publish { channel, message }),
        (arb_bytes(64), arb_bytes(256))
            .prop_map(|(channel, message)| Body::PublishShard { channel, message }),
        Just(Body::AuthRequest),
        Just(Body::AuthAck),
        Just(Body::MfStart),
        (any::<u64>(), arb_id(), arb_bitmap()).prop_map(|(config_epoch, node, slots)| {
            Body::Update {
                config_epoch,
                node,
                slots,
            }
        }),
        (any::<u64>(), any::<u8>(), arb_bytes(256)).prop_map(|(module_id, kind, payload)| {
            Body::Module {
                module_id,
                kind,
                payload,
            }
        }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let _ = decode(&bytes);
        let _ = frame_len(&bytes);
        let mut r = FrameReader::new();
        r.push(&bytes);
        let _ = r.next_frame();
        let _ = r.wanted();
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_prefix_never_panic(
        kind in 0u16..12,
        count in any::<u16>(),
        extensions in any::<u16>(),
        ext_flag in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..3000),
    ) {
        let mut frame = vec![0u8; HEADER_LEN];
        frame[..4].copy_from_slice(&SIGNATURE);
        put16(&mut frame, 8, PROTO_VER);
        put16(&mut frame, 12, kind);
        put16(&mut frame, 14, count % 8);
        put16(&mut frame, 2214, extensions % 8);
        if ext_flag {
            frame[2253] = mflags::EXT_DATA;
        }
        frame.extend_from_slice(&body);
        let len = frame.len() as u32;
        put32(&mut frame, 4, len);
        let _ = decode(&frame);
    }

    #[test]
    fn corrupted_valid_messages_never_panic(
        header in arb_header(),
        body in arb_body(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut b = encode(&Message { header, body });
        for (at, v) in edits {
            // Leave the signature and totlen alone so the damage reaches the body parsers.
            let i = 8 + at.index(b.len() - 8);
            b[i] = v;
        }
        let _ = decode(&b);
    }

    #[test]
    fn random_messages_round_trip(header in arb_header(), body in arb_body()) {
        let m = Message { header, body };
        let bytes = encode(&m);
        prop_assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())));
        let d = decode(&bytes).unwrap();
        prop_assert_eq!(&d.body, &m.body);
        prop_assert_eq!(d.header.sender, m.header.sender);
        prop_assert_eq!(&d.header.myslots, &m.header.myslots);
        prop_assert_eq!(d.header.slaveof, m.header.slaveof);
        prop_assert_eq!(&d.header.myip, &m.header.myip);
        prop_assert_eq!(
            (d.header.port, d.header.pport, d.header.cport, d.header.flags, d.header.state),
            (m.header.port, m.header.pport, m.header.cport, m.header.flags, m.header.state)
        );
        prop_assert_eq!(
            (d.header.current_epoch, d.header.config_epoch, d.header.offset),
            (m.header.current_epoch, m.header.config_epoch, m.header.offset)
        );
        prop_assert_eq!(encode(&d), bytes);
    }
}

// ---- per-type length bounds (a declared length its type cannot have closes the link) ----

/// The first 16 bytes of a frame: signature, `totlen`, version, port, type and gossip count.
fn prefix(totlen: u32, kind: u16, count: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&SIGNATURE);
    b.extend_from_slice(&totlen.to_be_bytes());
    b.extend_from_slice(&PROTO_VER.to_be_bytes());
    b.extend_from_slice(&7000u16.to_be_bytes());
    b.extend_from_slice(&kind.to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b
}

fn too_large(totlen: usize, max: usize) -> Result<Option<usize>, WireError> {
    Err(WireError::TooLarge {
        len: totlen as u64,
        max: max as u64,
    })
}

#[test]
fn fixed_size_types_may_not_declare_more() {
    for (kind, exact) in [
        (types::FAIL, FAIL_LEN),
        (types::UPDATE, UPDATE_LEN),
        (types::FAILOVER_AUTH_REQUEST, HEADER_LEN),
        (types::FAILOVER_AUTH_ACK, HEADER_LEN),
        (types::MFSTART, HEADER_LEN),
    ] {
        assert_eq!(
            frame_len(&prefix(exact as u32, kind, 0)),
            Ok(Some(exact)),
            "type {kind}"
        );
        assert_eq!(
            frame_len(&prefix(exact as u32 + 1, kind, 0)),
            too_large(exact + 1, exact),
            "type {kind}"
        );
    }
}

#[test]
fn ping_length_is_bounded_by_its_gossip_count() {
    use super::frame::MAX_PING_EXT_BYTES;
    for kind in [types::PING, types::PONG, types::MEET] {
        let bound = HEADER_LEN + 3 * GOSSIP_LEN + MAX_PING_EXT_BYTES;
        assert_eq!(frame_len(&prefix(bound as u32, kind, 3)), Ok(Some(bound)));
        assert_eq!(
            frame_len(&prefix(bound as u32 + 1, kind, 3)),
            too_large(bound + 1, bound)
        );
        // A count of 0 declaring 100 MB: refused before any body byte is buffered.
        assert_eq!(
            frame_len(&prefix(100 << 20, kind, 0)),
            too_large(100 << 20, HEADER_LEN + MAX_PING_EXT_BYTES)
        );
    }
}

#[test]
fn publish_keeps_the_query_buffer_bound_and_unknown_types_a_small_one() {
    assert_eq!(
        frame_len(&prefix(100 << 20, types::PUBLISH, 0)),
        Ok(Some(100 << 20))
    );
    assert_eq!(
        frame_len(&prefix(100 << 20, types::PUBLISHSHARD, 0)),
        Ok(Some(100 << 20))
    );
    let unknown = HEADER_LEN + super::frame::MAX_UNKNOWN_BODY_BYTES;
    assert_eq!(
        frame_len(&prefix(10 << 20, 99, 0)),
        too_large(10 << 20, unknown)
    );
}

#[test]
fn frame_reader_refuses_an_oversized_fail_from_its_prefix_alone() {
    let mut r = FrameReader::new();
    r.push(&prefix(200 << 20, types::FAIL, 0));
    assert_eq!(r.next_frame(), too_large(200 << 20, FAIL_LEN).map(|_| None));
    // The prefix is read before the body, so the bound applies to the first 16 bytes.
    let mut r = FrameReader::new();
    r.push(&prefix(FAIL_LEN as u32, types::FAIL, 0)[..8]);
    assert_eq!(r.wanted(), Ok(8));
}

#[test]
fn gossip_count_disagreeing_with_length_and_overrunning_extensions_do_not_decode() {
    // Three gossip entries sent, five declared.
    let mut b = enc(&ping(3, vec![]));
    put16(&mut b, 14, 5);
    assert!(frame_len(&b).is_ok());
    assert!(matches!(
        decode(&b),
        Err(WireError::LengthMismatch { .. }) | Err(WireError::Truncated { .. })
    ));
    // One extension declared, none present.
    let mut b = enc(&ping(1, vec![]));
    let ext_at = offset::EXTENSIONS;
    put16(&mut b, ext_at, 1);
    b[offset::MFLAGS] |= mflags::EXT_DATA;
    assert!(matches!(
        decode(&b),
        Err(WireError::ExtensionOverrun { .. })
    ));
    // Random garbage after a valid prefix never panics.
    let mut b = prefix(HEADER_LEN as u32 + 16, types::PING, 0);
    b.resize(HEADER_LEN + 16, 0xff);
    assert!(decode(&b).is_err());
}

//! Unit and property tests of the codec against bytes measured on redis-server 7.0.15.

use super::object::types;
use super::*;
use crate::db::Entry;
use bytes::Bytes;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// 100 bytes LZF cannot shrink by 4 (so Redis stores them raw).
const RANDOM_100: &str = "u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vUCsMe";

/// (value, `DUMP` reply of redis-server 7.0.15 for it).
const REDIS_STRING_DUMPS: &[(&str, &str)] = &[
    ("hello", "000568656c6c6f0a006372df766534200a"),
    ("12345", "00c139300a009d94ea2793fc08b9"),
    ("-1", "00c0ff0a000c937e2485089dc5"),
    ("300", "00c12c010a00954261f265825c10"),
    ("-70000", "00c290eefeff0a002875de7b13eb2800"),
    ("", "00000a005d9b5c400f7fa2da"),
    ("12345678901", "000b31323334353637383930310a00304e52d727176510"),
    (RANDOM_100, "00406475386a7a506465304967784c6436476e636642416570664a4264304b68386f4f4f4c38644b4c7a646f634a326973416a49684b744a30526c674c4b4f6d78674a54654b644e6e465249425875444c3744787470596c535870664b74484634765543734d650a00a1350d1ece38397e"),
];

#[test]
fn string_dumps_equal_redis() {
    for (value, redis) in REDIS_STRING_DUMPS {
        let v = Value::Str(b(value));
        assert_eq!(dump_value(&v), hex(redis), "DUMP of {value:?}");
        assert_eq!(restore_value(&hex(redis)).unwrap(), v);
    }
}

#[test]
fn restores_redis_compressed_string() {
    // DUMP of "a" x 100: liblzf output, which our own compressor need not reproduce.
    let redis = hex("00c3094064016161e057000161610a00e8a3b507b06df271");
    assert_eq!(
        restore_value(&redis).unwrap(),
        Value::Str(Bytes::from(vec![b'a'; 100]))
    );
    let ours = dump_value(&Value::Str(Bytes::from(vec![b'a'; 100])));
    assert!(ours.len() < 30, "compressed: {}", ours.len());
    assert_eq!(
        restore_value(&ours).unwrap(),
        Value::Str(Bytes::from(vec![b'a'; 100]))
    );
}

#[test]
fn footer_checks() {
    let good = dump_value(&Value::Str(b("hello")));
    assert!(restore_value(&good).is_ok());
    // Flipped body byte, flipped CRC byte, newer version, too short.
    for i in [1, good.len() - 1] {
        let mut bad = good.clone();
        bad[i] ^= 1;
        assert_eq!(restore_value(&bad), Err(RdbError::BadFooter));
    }
    let mut newer = good[..good.len() - 10].to_vec();
    newer.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64(0, &newer);
    newer.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(restore_value(&newer), Err(RdbError::BadFooter));
    assert_eq!(restore_value(&good[..9]), Err(RdbError::BadFooter));
    // A correct footer around a bad body is a decode error, not a footer error.
    let mut body = vec![0x63u8, 1, 2];
    body.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(0, &body);
    body.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(restore_value(&body), Err(RdbError::UnknownType(0x63)));
}

/// Collections as redis-server 7.0.15 DUMPs them, decoded to plain form.
#[test]
fn decodes_redis_collection_dumps() {
    let cases: Vec<(&str, Object)> = vec![
        (
            "120102282800000007008161020101dffb02c12c028568656c6c6f06f270110104f4ffffff7fffffffff09ff0a007b8e7dadde1e714b",
            Object::List(
                ["a", "1", "-5", "300", "hello", "70000", "-2147483649"].map(b).to_vec(),
            ),
        ),
        (
            "10151500000004008266310382763103826632030201ff0a005c5ea813feec1ff5",
            Object::Hash(vec![(b("f1"), b("v1")), (b("f2"), b("2"))]),
        ),
        (
            "0b180400000004000000fdffffff0100000002000000a08601000a00e56f68d5ee10feb5",
            Object::Set(["-3", "1", "2", "100000"].map(b).to_vec()),
        ),
        ("0202016201610a0075d99d835ef85f65", Object::Set(["b", "a"].map(b).to_vec())),
        (
            "111a1a0000000600816302dffd02816102010181620283322e3504ff0a00a68a1ab1a9f2dcc2",
            Object::ZSet(vec![(b("c"), -3.0), (b("a"), 1.0), (b("b"), 2.5)]),
        ),
    ];
    for (payload, want) in cases {
        assert_eq!(restore_object(&hex(payload)).unwrap(), want, "{payload}");
    }
    // LZF-compressed listpack (HSET h2 f0 v0 .. f199 v199).
    let Object::Hash(h) = restore_object(&hex(include_str!("testdata/h2.hex"))).unwrap() else {
        panic!("not a hash");
    };
    assert_eq!(h.len(), 200);
    assert!(h.contains(&(b("f123"), b("v123"))));
    // ZSET_2 with binary scores (ZADD z2 0 m0 1.5 m1 ... 298.5 m199).
    let Object::ZSet(z) = restore_object(&hex(include_str!("testdata/z2.hex"))).unwrap() else {
        panic!("not a zset");
    };
    assert_eq!(z.len(), 200);
    assert!(z.contains(&(b("m199"), 298.5)));
}

#[test]
fn objects_round_trip_and_split_list_nodes() {
    let big: Vec<Bytes> = (0..5000)
        .map(|i| Bytes::from(format!("item-{i}")))
        .collect();
    let objs = vec![
        Object::Str(b("x")),
        Object::List(big.clone()),
        Object::List(vec![Bytes::from(vec![b'q'; 20000]), b("1")]),
        Object::Hash(vec![
            (b("a"), b("1")),
            (b("b"), Bytes::from(vec![b'z'; 500])),
        ]),
        Object::Set(big),
        Object::ZSet(vec![
            (b("a"), f64::INFINITY),
            (b("b"), -0.5),
            (b("c"), 1e300),
        ]),
    ];
    for o in objs {
        let payload = dump_object(&o);
        assert_eq!(restore_object(&payload).unwrap(), o);
    }
    // 5000 short items need several 8 KiB listpack nodes.
    let payload = dump_object(&Object::List(
        (0..5000)
            .map(|i| Bytes::from(format!("item-{i}")))
            .collect(),
    ));
    assert_eq!(payload[0], types::LIST_QUICKLIST_2);
    assert!(payload[1] > 1, "node count {}", payload[1]);
}

#[test]
fn empty_and_duplicate_collections_are_refused() {
    assert_eq!(
        restore_object(&dump_object(&Object::Set(vec![]))),
        Err(RdbError::EmptyKey)
    );
    assert!(restore_object(&dump_object(&Object::Set(vec![b("a"), b("a")]))).is_err());
    assert!(restore_object(&dump_object(&Object::ZSet(vec![(b("a"), f64::NAN)]))).is_err());
}

fn entry(v: &str, expire_ms: Option<u64>) -> Entry {
    Entry::new(Value::Str(b(v)), expire_ms)
}

#[test]
fn snapshot_round_trip() {
    let data = [
        (b("k1"), entry("v1", None)),
        (b("k2"), entry("12345", Some(1_900_000_000_000))),
        (Bytes::from(vec![b'k'; 100]), entry(&"v".repeat(1000), None)),
    ];
    let mut out = Vec::new();
    let aux = [
        ("repl-id", "a".repeat(40)),
        ("repl-offset", "123".to_string()),
        ("ctime", "1700000000".to_string()),
    ];
    write_snapshot(data.iter().map(|(k, e)| (k, e)), &aux, &mut out);
    assert!(out.starts_with(b"REDIS0010"));
    let snap = read_snapshot(&out).unwrap();
    assert_eq!(snap.aux["redis-ver"], "7.0.15");
    assert_eq!(snap.aux["repl-id"], "a".repeat(40));
    assert_eq!(snap.aux["repl-offset"], "123");
    assert_eq!(snap.aux["ctime"], "1700000000");
    assert_eq!(snap.aux["aof-base"], "0");
    let got: Vec<_> = snap.entries.into_iter().collect();
    let want: Vec<_> = data
        .iter()
        .map(|(k, e)| (k.clone(), e.value.clone(), e.expire_ms()))
        .collect();
    assert_eq!(got, want);
    // A flipped byte is caught by the checksum.
    let mut bad = out.clone();
    bad[20] ^= 0x40;
    assert!(read_snapshot(&bad).is_err());
    // Checksum 0 means "not computed".
    let mut unchecked = out.clone();
    let n = unchecked.len();
    unchecked[n - 8..].fill(0);
    assert!(read_snapshot(&unchecked).is_ok());
    assert_eq!(read_snapshot(b"REDIS"), Err(RdbError::BadMagic));
    assert_eq!(
        read_snapshot(b"REDIS0012\xff"),
        Err(RdbError::BadVersion(12))
    );
    assert_eq!(
        read_snapshot(&out[..out.len() - 3]),
        Err(RdbError::Truncated)
    );
}

#[test]
fn snapshot_reader_handles_old_opcodes_and_skips_empty_keys() {
    // Version 9 file: EXPIRETIME (seconds), IDLE, FREQ, an empty set (skipped), a string.
    let mut f = b"REDIS0009".to_vec();
    f.extend_from_slice(&[0xfe, 0x00, 0xfb, 0x02, 0x01]);
    f.push(0xfd);
    f.extend_from_slice(&1_900_000_000u32.to_le_bytes());
    f.extend_from_slice(&[0xf8, 0x05, 0xf9, 0x07]);
    f.extend_from_slice(&[0x00, 0x01, b'a', 0x01, b'x']);
    f.extend_from_slice(&[types::SET, 0x01, b's', 0x00]);
    f.push(0xff);
    let crc = crc64(0, &f);
    f.extend_from_slice(&crc.to_le_bytes());
    let snap = read_snapshot(&f).unwrap();
    assert_eq!(
        snap.entries,
        vec![(b("a"), Value::Str(b("x")), Some(1_900_000_000_000))]
    );
    // Keys in database 1 are refused.
    let mut f = b"REDIS0010\xfe\x01\x00\x01a\x01x\xff".to_vec();
    let crc = crc64(0, &f);
    f.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(read_snapshot(&f), Err(RdbError::NonZeroDb(1)));
}

fn arb_bytes() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from),
        any::<i64>().prop_map(|i| Bytes::from(i.to_string())),
        (any::<u8>(), 0usize..3000).prop_map(|(c, n)| Bytes::from(vec![c; n])),
        proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..400)
            .prop_map(Bytes::from),
    ]
}

fn arb_object() -> impl Strategy<Value = Object> {
    let unique = |v: Vec<Bytes>| {
        let mut seen = std::collections::HashSet::new();
        v.into_iter()
            .filter(|x| seen.insert(x.clone()))
            .collect::<Vec<_>>()
    };
    prop_oneof![
        arb_bytes().prop_map(Object::Str),
        proptest::collection::vec(arb_bytes(), 1..50).prop_map(Object::List),
        proptest::collection::vec(arb_bytes(), 1..50).prop_map(move |v| Object::Set(unique(v))),
        proptest::collection::vec((arb_bytes(), arb_bytes()), 1..30).prop_map(move |v| {
            let keys = unique(v.iter().map(|p| p.0.clone()).collect());
            Object::Hash(keys.into_iter().zip(v.into_iter().map(|p| p.1)).collect())
        }),
        proptest::collection::vec((arb_bytes(), any::<f64>()), 1..30).prop_map(move |v| {
            let keys = unique(v.iter().map(|p| p.0.clone()).collect());
            let scores = v.into_iter().map(|p| if p.1.is_nan() { 0.0 } else { p.1 });
            Object::ZSet(keys.into_iter().zip(scores).collect())
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_payloads_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = restore_value(&data);
        let _ = decode_object(&data);
        let _ = read_snapshot(&data);
        // With a valid footer / header so the decoders get past the checks.
        let mut p = data.clone();
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = crc64(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        let _ = restore_object(&p);
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&data);
        let _ = read_snapshot_objects(&f);
    }

    #[test]
    fn mutated_payloads_never_panic(
        o in arb_object(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut body = vec![o.rdb_type()];
        o.write_body(&mut body, true);
        for (i, x) in flips {
            let at = i.index(body.len());
            body[at] = x;
        }
        let _ = decode_object(&body);
        let mut f = b"REDIS0010".to_vec();
        f.push(o.rdb_type());
        f.extend_from_slice(&[1, b'k']);
        f.extend_from_slice(&body[1..]);
        f.push(0xff);
        f.extend_from_slice(&[0; 8]);
        let _ = read_snapshot_objects(&f);
    }

    #[test]
    fn objects_round_trip(o in arb_object()) {
        prop_assert_eq!(restore_object(&dump_object(&o)).unwrap(), o.clone());
        let mut plain = vec![o.rdb_type()];
        o.write_body(&mut plain, false);
        prop_assert_eq!(decode_object(&plain).unwrap(), o);
    }

    #[test]
    fn values_round_trip(o in arb_object(), expire in proptest::option::of(0u64..u64::MAX)) {
        let v = object_to_value(o.clone()).unwrap();
        prop_assert_eq!(object_to_value(value_to_object(&v)).unwrap(), v.clone());
        prop_assert_eq!(restore_value(&dump_value(&v)).unwrap(), v.clone());
        let key = Bytes::from_static(b"key");
        let e = Entry::new(v.clone(), expire);
        let mut out = Vec::new();
        write_snapshot([(&key, &e)].into_iter(), &[], &mut out);
        let snap = read_snapshot(&out).unwrap();
        prop_assert_eq!(snap.entries, vec![(key, v, expire)]);
    }

    #[test]
    fn lzf_round_trips(data in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..5000)) {
        if let Some(z) = lzf::compress(&data, data.len() + 64) {
            prop_assert_eq!(lzf::decompress(&z, data.len()), Some(data));
        }
    }
}

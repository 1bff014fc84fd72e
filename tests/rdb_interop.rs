//! The RDB codec against a real redis-server 7.0.15: DUMP payloads both ways through real
//! keyslot-server and redis-server processes, snapshots written by `keyslot::rdb` loaded by
//! redis-server (and accepted by redis-check-rdb), and `dump.rdb` files written by redis-server
//! read by `keyslot::rdb::read_snapshot`.

mod common;

use bytes::Bytes;
use common::{require_tools, Server, TempDir};
use keyslot::db::value::{HashMapValue, SetValue, ZSet};
use keyslot::db::{Entry, Value};
use keyslot::rdb;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn conn(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
    let c = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn list(items: impl IntoIterator<Item = Bytes>) -> Value {
    Value::List(items.into_iter().collect())
}

fn hash(pairs: impl IntoIterator<Item = (Bytes, Bytes)>) -> Value {
    let mut h = HashMapValue::default();
    h.extend(pairs);
    Value::Hash(Box::new(h))
}

fn set(members: impl IntoIterator<Item = Bytes>) -> Value {
    let mut s = SetValue::default();
    s.extend(members);
    Value::Set(Box::new(s))
}

fn zset(members: impl IntoIterator<Item = (Bytes, f64)>) -> Value {
    let mut z = ZSet::new();
    for (m, s) in members {
        z.insert(m, s);
    }
    Value::ZSet(Box::new(z))
}

/// One value of every type and of every encoding redis-server picks for it (small and big,
/// integer-like and not, compressible and not).
fn sample_values() -> Vec<(String, Value)> {
    let n = |i: usize| Bytes::from(i.to_string());
    let s = |i: usize| Bytes::from(format!("member:{i}"));
    let blob: Bytes = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    vec![
        ("str:plain".into(), Value::Str(b("hello"))),
        ("str:int".into(), Value::Str(b("12345"))),
        ("str:neg".into(), Value::Str(b("-70000"))),
        ("str:bigint".into(), Value::Str(b("12345678901"))),
        ("str:empty".into(), Value::Str(Bytes::new())),
        ("str:zeros".into(), Value::Str(Bytes::from(vec![0u8; 5000]))),
        (
            "str:text".into(),
            Value::Str(Bytes::from("abc".repeat(1000))),
        ),
        ("str:binary".into(), Value::Str(blob.clone())),
        (
            "list:small".into(),
            list(["a", "1", "-5", "300", "hello", "70000", "-2147483649"].map(b)),
        ),
        ("list:big".into(), list((0..5000).map(s))),
        (
            "list:blobs".into(),
            list([blob.clone(), b("x"), Bytes::from(vec![7u8; 20000])]),
        ),
        (
            "hash:small".into(),
            hash([(b("f1"), b("v1")), (b("f2"), b("2"))]),
        ),
        ("hash:big".into(), hash((0..300).map(|i| (s(i), n(i))))),
        ("hash:longval".into(), hash([(b("f"), blob.clone())])),
        ("set:ints".into(), set(["1", "2", "-3", "100000"].map(b))),
        ("set:strs".into(), set(["a", "b", "c"].map(b))),
        ("set:big".into(), set((0..1000).map(s))),
        ("set:bigints".into(), set((0..1000).map(n))),
        (
            "zset:small".into(),
            zset([
                (b("a"), 1.0),
                (b("b"), 2.5),
                (b("c"), -3.0),
                (b("d"), f64::INFINITY),
            ]),
        ),
        (
            "zset:big".into(),
            zset((0..300).map(|i| (s(i), i as f64 * 1.5 - 7.25))),
        ),
        (
            "zset:neginf".into(),
            zset([(b("x"), f64::NEG_INFINITY), (b("y"), 1e-300)]),
        ),
    ]
}

/// Stores a value in a server with its ordinary write commands.
fn put_value(c: &mut redis::Connection, key: &str, v: &Value) {
    let _: () = redis::cmd("DEL").arg(key).query(c).unwrap();
    let mut cmd;
    match v {
        Value::Str(s) => {
            cmd = redis::cmd("SET");
            cmd.arg(key).arg(&s[..]);
        }
        Value::List(l) => {
            cmd = redis::cmd("RPUSH");
            cmd.arg(key);
            for e in l {
                cmd.arg(&e[..]);
            }
        }
        Value::Hash(h) => {
            cmd = redis::cmd("HSET");
            cmd.arg(key);
            for (f, v) in h.iter() {
                cmd.arg(&f[..]).arg(&v[..]);
            }
        }
        Value::Set(s) => {
            cmd = redis::cmd("SADD");
            cmd.arg(key);
            for m in s.iter() {
                cmd.arg(&m[..]);
            }
        }
        Value::ZSet(z) => {
            cmd = redis::cmd("ZADD");
            cmd.arg(key);
            for (m, s) in z.iter() {
                cmd.arg(score_text(s)).arg(&m[..]);
            }
        }
        Value::Stream(_) => panic!("no stream samples here: tests/streams_compat.rs has them"),
    }
    let _: redis::Value = cmd.query(c).unwrap_or_else(|e| panic!("store {key}: {e}"));
}

fn score_text(s: f64) -> String {
    if s == f64::INFINITY {
        "+inf".into()
    } else if s == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        format!("{s:e}")
    }
}

/// Reads a value back with TYPE and GET / LRANGE / HGETALL / SMEMBERS / ZRANGE WITHSCORES.
fn fetch_value(c: &mut redis::Connection, key: &str) -> Option<Value> {
    let t: String = redis::cmd("TYPE").arg(key).query(c).unwrap();
    let bytes_list = |c: &mut redis::Connection, cmd: &mut redis::Cmd| -> Vec<Bytes> {
        let v: Vec<Vec<u8>> = cmd.query(c).unwrap();
        v.into_iter().map(Bytes::from).collect()
    };
    Some(match t.as_str() {
        "none" => return None,
        "string" => {
            let v: Vec<u8> = redis::cmd("GET").arg(key).query(c).unwrap();
            Value::Str(Bytes::from(v))
        }
        "list" => list(bytes_list(c, redis::cmd("LRANGE").arg(key).arg(0).arg(-1))),
        "hash" => {
            let flat = bytes_list(c, redis::cmd("HGETALL").arg(key));
            hash(flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())))
        }
        "set" => set(bytes_list(c, redis::cmd("SMEMBERS").arg(key))),
        "zset" => {
            let flat = bytes_list(
                c,
                redis::cmd("ZRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES"),
            );
            zset(flat.chunks(2).map(|p| {
                let text = std::str::from_utf8(&p[1]).unwrap();
                (p[0].clone(), text.parse::<f64>().unwrap())
            }))
        }
        other => panic!("unexpected type {other} for {key}"),
    })
}

fn dump(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    let v: Option<Vec<u8>> = redis::cmd("DUMP").arg(key).query(c).unwrap();
    v.unwrap_or_else(|| panic!("DUMP {key}: no such key"))
}

fn restore(
    c: &mut redis::Connection,
    key: &str,
    ttl: i64,
    payload: &[u8],
) -> redis::RedisResult<()> {
    redis::cmd("RESTORE")
        .arg(key)
        .arg(ttl)
        .arg(payload)
        .arg("REPLACE")
        .query(c)
}

/// True when keyslot knows the command (collection commands land separately).
fn keyslot_has(c: &mut redis::Connection, name: &str) -> bool {
    let v: redis::Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg(name)
        .query(c)
        .unwrap();
    matches!(v, redis::Value::Array(ref a) if a.first().is_some_and(|x| *x != redis::Value::Nil))
}

fn read_command_for(v: &Value) -> &'static str {
    match v {
        Value::Str(_) => "get",
        Value::List(_) => "lrange",
        Value::Hash(_) => "hgetall",
        Value::Set(_) => "smembers",
        Value::ZSet(_) => "zrange",
        Value::Stream(_) => "xrange",
    }
}

#[test]
fn dump_payloads_move_both_ways_between_keyslot_and_redis() {
    if !require_tools("rdb_interop", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("rdb-dump");
    let ks = Server::keyslot(&dir, &[]);
    let rs = Server::redis(&dir, &[]);
    let mut k = conn(ks.port);
    let mut r = conn(rs.port);
    for (key, v) in sample_values() {
        // keyslot's encoder, decoded by redis-server.
        let ours = rdb::dump_value(&v);
        restore(&mut r, &format!("{key}:ours"), 0, &ours)
            .unwrap_or_else(|e| panic!("redis RESTORE of keyslot's payload for {key}: {e}"));
        assert_eq!(
            fetch_value(&mut r, &format!("{key}:ours")).as_ref(),
            Some(&v),
            "{key}"
        );

        // redis-server DUMP -> keyslot RESTORE -> keyslot DUMP -> redis-server RESTORE.
        put_value(&mut r, &key, &v);
        let theirs = dump(&mut r, &key);
        assert_eq!(
            rdb::restore_value(&theirs).as_ref(),
            Ok(&v),
            "decode redis DUMP of {key}"
        );
        restore(&mut k, &key, 0, &theirs)
            .unwrap_or_else(|e| panic!("keyslot RESTORE of redis payload for {key}: {e}"));
        if keyslot_has(&mut k, read_command_for(&v)) {
            assert_eq!(
                fetch_value(&mut k, &key).as_ref(),
                Some(&v),
                "keyslot view of {key}"
            );
        }
        let back = dump(&mut k, &key);
        restore(&mut r, &format!("{key}:back"), 0, &back)
            .unwrap_or_else(|e| panic!("redis RESTORE of keyslot DUMP for {key}: {e}"));
        assert_eq!(
            fetch_value(&mut r, &format!("{key}:back")).as_ref(),
            Some(&v),
            "{key}"
        );

        // Strings stored natively in keyslot DUMP to the very bytes redis-server produces.
        if let Value::Str(s) = &v {
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg(&s[..])
                .query(&mut k)
                .unwrap();
            let native = dump(&mut k, &key);
            if s.len() <= 20 || theirs[1] & 0xc0 != 0xc0 {
                assert_eq!(native, theirs, "DUMP bytes of {key}");
            }
        }
    }
    // TTLs and errors side by side.
    let p = rdb::dump_value(&Value::Str(b("v")));
    for c in [&mut k, &mut r] {
        let _: () = redis::cmd("RESTORE")
            .arg("t")
            .arg(100_000)
            .arg(&p[..])
            .query(c)
            .unwrap();
        let pttl: i64 = redis::cmd("PTTL").arg("t").query(c).unwrap();
        assert!((90_000..=100_000).contains(&pttl), "{pttl}");
    }
    let mut bad = p.clone();
    bad[1] ^= 1;
    let cases: Vec<(Vec<&[u8]>, &str)> = vec![
        (vec![b"t", b"0", &p], "BUSYKEY"),
        (vec![b"u", b"-1", &p], "Invalid TTL"),
        (vec![b"u", b"0", &bad], "checksum"),
        (vec![b"u", b"0", &p, b"BOGUS"], "syntax"),
    ];
    for (args, want) in cases {
        let mut replies = Vec::new();
        for c in [&mut k, &mut r] {
            let mut cmd = redis::cmd("RESTORE");
            for a in &args {
                cmd.arg(*a);
            }
            let e = cmd.query::<()>(c).expect_err("RESTORE should fail");
            replies.push(format!("{:?} {}", e.code(), e.detail().unwrap_or("")));
        }
        assert_eq!(replies[0], replies[1], "{want}");
        assert!(replies[0].contains(want), "{}", replies[0]);
    }
}

fn entries_of(values: &[(String, Value)], expire: Option<u64>) -> Vec<(Bytes, Entry)> {
    values
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let e = Entry::new(v.clone(), if i % 3 == 0 { expire } else { None });
            (Bytes::from(k.clone()), e)
        })
        .collect()
}

#[test]
fn snapshot_written_by_keyslot_loads_in_redis_and_passes_redis_check_rdb() {
    if !require_tools("rdb_interop", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("rdb-snap");
    let values = sample_values();
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 3_600_000;
    let entries = entries_of(&values, Some(far));
    let mut out = Vec::new();
    let aux = [
        ("repl-stream-db", "0".to_string()),
        (
            "repl-id",
            "0123456789abcdef0123456789abcdef01234567".to_string(),
        ),
        ("repl-offset", "4242".to_string()),
    ];
    rdb::write_snapshot(entries.iter().map(|(k, e)| (k, e)), &aux, &mut out);
    let d = dir.path().join("load");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("dump.rdb"), &out).unwrap();

    if common::have("redis-check-rdb") {
        let o = Command::new("redis-check-rdb")
            .arg(d.join("dump.rdb"))
            .output()
            .expect("redis-check-rdb");
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success() && text.contains("RDB looks OK"),
            "{text}"
        );
        assert!(
            text.contains(&format!("{} keys read", values.len())),
            "{text}"
        );
    } else {
        println!("redis-check-rdb not installed: skipped that check");
    }

    let port = common::free_port();
    let rs = Server::start_in(
        Path::new("redis-server"),
        port,
        &d,
        &[
            "--save",
            "",
            "--appendonly",
            "no",
            "--dbfilename",
            "dump.rdb",
        ],
    );
    let mut r = conn(rs.port);
    let dbsize: usize = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(dbsize, values.len(), "{}", rs.log());
    for (key, entry) in &entries {
        let key = std::str::from_utf8(key).unwrap();
        assert_eq!(
            fetch_value(&mut r, key).as_ref(),
            Some(&entry.value),
            "{key}"
        );
        let pexpiretime: i64 = redis::cmd("PEXPIRETIME").arg(key).query(&mut r).unwrap();
        let want = entry.expire_ms().map_or(-1, |t| t as i64);
        assert_eq!(pexpiretime, want, "{key}");
    }
}

#[test]
fn snapshot_saved_by_redis_reads_back_with_the_same_contents() {
    if !require_tools("rdb_interop", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("rdb-save");
    let rs = Server::redis(&dir, &[]);
    let mut r = conn(rs.port);
    let values = sample_values();
    let far = 4_102_444_800_000u64; // 2100-01-01
    let entries = entries_of(&values, Some(far));
    for (key, e) in &entries {
        let key = std::str::from_utf8(key).unwrap();
        put_value(&mut r, key, &e.value);
        if let Some(t) = e.expire_ms() {
            let _: i64 = redis::cmd("PEXPIREAT")
                .arg(key)
                .arg(t)
                .query(&mut r)
                .unwrap();
        }
    }
    // A function library makes redis write a FUNCTION2 record, which the reader skips.
    let _: redis::Value = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg("#!lua name=rdbtest\nredis.register_function('f', function() return 1 end)")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SAVE").query(&mut r).unwrap();
    let bytes = std::fs::read(rs.dir.join("dump.rdb")).expect("dump.rdb");
    let snap = rdb::read_snapshot(&bytes).unwrap_or_else(|e| panic!("read_snapshot: {e}"));
    assert_eq!(
        snap.aux.get("redis-ver").map(String::as_str),
        Some("7.0.15")
    );
    assert!(snap.aux.contains_key("ctime"));
    assert_eq!(snap.entries.len(), entries.len());
    let mut got: Vec<_> = snap.entries;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<_> = entries
        .into_iter()
        .map(|(k, e)| {
            let (value, expire_ms) = e.into_parts();
            (k, value, expire_ms)
        })
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{:?}", String::from_utf8_lossy(&w.0));
    }
}

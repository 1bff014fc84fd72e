//! Keyspace notifications side by side with the reference: a keyslot-server and a real
//! redis-server 7.0.15 get the same `notify-keyspace-events` mask and the same script of
//! commands (every command family that notifies, lazy and active expiry, eviction, blocking pops
//! served by a push, MULTI/EXEC, a script), while one client on each is subscribed to
//! `__key*__:*`. The messages each subscriber received must be the same sequence, message for
//! message: a missing, extra, misnamed or reordered event fails the test.
//!
//! Script lines: `CMD args` is sent on connection 1 and its reply read. `@2 CMD` sends on
//! connection 2 without reading (a blocking command); `@2 <` reads connection 2's pending reply;
//! `sleep MS` waits (lazy expiry, the active expiry cycle, a client really blocked);
//! `restore SRC DST [REPLACE] [PX ms]` DUMPs SRC and RESTOREs the payload at DST (with a TTL of
//! `ms` in the past when PX is given, so the restored key is already expired).
//!
//! Each run ends with a PUBLISH on `__keymark__:end` (which the pattern matches): the
//! subscriber's messages are read up to it, so nothing still in flight is missed.

mod common;
mod compare_util;

use common::{require_tools, resp_command, RawConn, Resp, Server, TempDir};
use compare_util::{split_quoted, start_debug};
use std::time::Duration;

/// The commands: every family, each event kind at least once.
const SCRIPT: &str = "
# strings
SET s1 v
SET s1 v2 EX 100
SETNX s2 x
SETEX s3 100 x
PSETEX s4 100000 x
GETSET s1 v3
MSET m1 a m2 b
MSETNX m3 a m4 b
APPEND s5 hello
APPEND s5 world
SETRANGE s6 3 abc
SETRANGE s6 0 xy
INCR n1
INCRBY n1 5
DECR n1
DECRBY n1 2
INCRBYFLOAT f1 1.5
GETDEL s2
GETEX s3 EX 200
GETEX s3 PERSIST
GETEX s3 PXAT 1
SET s7 v GET
GET nokey
STRLEN nokey
MGET nokey m1
# keys
DEL m1 nokey m2
UNLINK m3
EXPIRE m4 100
PEXPIRE m4 100000
EXPIREAT m4 99999999999
PERSIST m4
EXPIRE m4 -1
SET r1 v
RENAME r1 r2
SET r3 x
RENAME r2 r3
RENAMENX r3 r4
COPY r4 r5
COPY r4 r5 REPLACE
EXISTS nokey
TYPE nokey
TTL nokey
SET d1 v
restore d1 d2
restore d1 d2 REPLACE
restore d1 d2 REPLACE PX 1
restore d1 d3 PX 1
# lists
RPUSH l1 a b c d e
LPUSH l1 z
LPUSHX l1 y
RPUSHX l1 w
LPUSHX nolist y
LINSERT l1 BEFORE a q
LSET l1 0 k
LREM l1 1 q
LTRIM l1 0 4
LPOP l1
RPOP l1 2
LMOVE l1 l2 LEFT RIGHT
RPOPLPUSH l1 l2
LMOVE l2 l2 LEFT LEFT
LMPOP 2 nolist l2 RIGHT COUNT 5
LRANGE nolist 0 -1
LINDEX nolist 0
LLEN nolist
RPUSH l3 a b c
SORT l3 ALPHA STORE l4
SORT nolist STORE l4
LTRIM l3 5 10
# blocking pops served by a push from another client
@2 BLPOP bl1 0
sleep 100
LPUSH bl1 x
@2 <
@2 BLMOVE bl2 bl3 LEFT RIGHT 0
sleep 100
RPUSH bl2 a
@2 <
@2 BZPOPMIN bz1 0
sleep 100
ZADD bz1 1 a 2 b
@2 <
@2 BLMPOP 0 1 bl4 LEFT COUNT 3
sleep 100
RPUSH bl4 a b
@2 <
# sets
SADD st1 a b c d
SADD st1 a
SREM st1 a nomember
SMOVE st1 st2 b
SMOVE st1 st2 c
SADD st3 x y
SINTERSTORE st4 st2 st3
SADD st3 b
SINTERSTORE st4 st2 st3
SUNIONSTORE st5 st2 st3
SDIFFSTORE st6 st3 st2
SDIFFSTORE st6 st2 st2
SPOP st5 10
SPOP st6
SMEMBERS noset
SISMEMBER noset a
SCARD noset
# sorted sets
ZADD z1 1 a 2 b 3 c 4 d 5 e
ZADD z1 1 a
ZADD z1 XX CH 10 a
ZINCRBY z1 2 b
ZADD z1 INCR 1 c
ZREM z1 a nomember
ZREMRANGEBYSCORE z1 0 4
ZREMRANGEBYRANK z1 0 0
ZADD z2 0 a 0 b 0 c 0 d
ZREMRANGEBYLEX z2 [a [b
ZUNIONSTORE z3 2 z1 z2
ZINTERSTORE z4 2 z1 z2
ZDIFFSTORE z5 2 z2 z1
ZRANGESTORE z6 z2 0 0
ZRANGESTORE z6 nozset 0 -1
ZPOPMIN z2
ZPOPMAX z3 10
ZMPOP 1 z5 MIN COUNT 10
ZRANGE nozset 0 -1
ZSCORE nozset a
ZCARD nozset
# hashes
HSET h1 a 1 b 2
HSET h1 a 3
HMSET h1 c 4
HSETNX h1 d 5
HSETNX h1 d 6
HINCRBY h1 a 10
HINCRBYFLOAT h1 b 1.5
HDEL h1 a nofield
HDEL h1 b c d
HGET nohash f
HGETALL nohash
HLEN nohash
# streams
XADD x1 1-1 f v
XADD x1 2-1 f v
XADD x1 MAXLEN 2 3-1 f v
XADD x1 NOMKSTREAM 4-1 f v
XADD nostream NOMKSTREAM 1-1 f v
XGROUP CREATE x1 g1 0
XGROUP CREATE x2 g1 $ MKSTREAM
XREADGROUP GROUP g1 c1 COUNT 1 STREAMS x1 >
XREADGROUP GROUP g1 c1 COUNT 1 STREAMS x1 >
XGROUP CREATECONSUMER x1 g1 c2
XGROUP CREATECONSUMER x1 g1 c2
XGROUP DELCONSUMER x1 g1 c2
XGROUP DELCONSUMER x1 g1 nocons
XGROUP SETID x1 g1 0
XCLAIM x1 g1 c3 0 2-1
XAUTOCLAIM x1 g1 c4 0 0
XACK x1 g1 2-1
XDEL x1 3-1 9-9
XTRIM x1 MAXLEN 0
XSETID x1 10-0
XGROUP DESTROY x1 g1
XGROUP DESTROY x1 g1
XRANGE nostream - +
XLEN nostream
@2 XREADGROUP GROUP g1 c9 BLOCK 0 STREAMS x2 >
sleep 100
XADD x2 5-1 f v
@2 <
# bits and HyperLogLog
SETBIT b1 7 1
SETBIT b1 7 1
SETBIT b1 100 0
BITFIELD b2 SET u8 0 255
BITFIELD b2 GET u8 0
SET b3 abc
BITOP AND b4 b1 b3
BITOP OR b5 nokey
GETBIT nokey 0
BITCOUNT nokey
PFADD p1 a b c
PFADD p1 a
PFADD p2 x
PFMERGE p3 p1 p2
PFCOUNT nohll
# geo
GEOADD g1 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEOADD g1 13.361389 38.115556 Palermo
GEOSEARCHSTORE g2 g1 FROMLONLAT 15 37 BYRADIUS 200 km ASC
GEORADIUS g1 15 37 200 km STORE g3
GEORADIUSBYMEMBER g1 Palermo 1 km STORE g4
GEOSEARCHSTORE g2 g1 FROMLONLAT 0 0 BYRADIUS 1 km
GEOSEARCHSTORE g5 nogeo FROMLONLAT 0 0 BYRADIUS 1 km
GEOPOS nogeo a
# reads of missing keys (keymiss) and of existing ones (nothing)
SET rs abc
RPUSH rl a
SADD rset a
ZADD rz 1 a
HSET rh f v
GETRANGE nokey 0 1
SUBSTR nokey 0 1
GETRANGE rs 0 1
LPOS nolist a
LPOS rl a
SMISMEMBER noset a
SRANDMEMBER noset
SINTER noset rset
SUNION noset rset
SDIFF rset noset
SINTERCARD 2 noset rset
HSTRLEN nohash f
HEXISTS nohash f
HMGET nohash f g
HKEYS nohash
HVALS nohash
HRANDFIELD nohash
ZRANK nozset a
ZCOUNT nozset 0 1
ZRANGEBYSCORE nozset 0 1
ZRANDMEMBER nozset
ZMSCORE nozset a
ZUNION 2 nozset rz
ZINTERCARD 2 nozset rz
GEODIST nogeo a b
GEOHASH nogeo a
GEOSEARCH nogeo FROMLONLAT 0 0 BYRADIUS 1 km
BITPOS nokey 1
BITFIELD_RO nokey GET u8 0
LCS nokey rs
DUMP nokey
OBJECT ENCODING nokey
PTTL nokey
EXPIRETIME nokey
TOUCH nokey rs
SORT_RO nolist
XREAD STREAMS nostream 0
XINFO STREAM nostream
XPENDING nostream g
RANDOMKEY
# transactions and scripts
MULTI
SET t1 a
LPUSH t2 b
INCR t3
DEL t1
EXEC
EVAL \"redis.call('set', KEYS[1], 'v'); redis.call('expire', KEYS[1], 100); return redis.call('get', KEYS[2])\" 2 e1 nokey
# expiry: lazy on access (Redis's fast expire cycle would race the reads: off meanwhile),
# then the active cycle
DEBUG SET-ACTIVE-EXPIRE 0
SET e2 v PX 1
SET e3 v PX 1
HSET e4 f v
PEXPIRE e4 1
sleep 20
GET e2
SET e3 new
HGET e4 f
DEBUG SET-ACTIVE-EXPIRE 1
SET e5 v PX 50
sleep 600
EXISTS e5
# eviction: one key, a limit under any use
FLUSHALL
SET big xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
CONFIG SET maxmemory-policy allkeys-lru
CONFIG SET maxmemory 1
PING
CONFIG SET maxmemory 0
CONFIG SET maxmemory-policy noeviction
FLUSHALL
";

/// One script step.
enum Step {
    /// Send on a connection, and read the reply unless it is a blocking command.
    Send {
        conn: usize,
        args: Vec<String>,
        read: bool,
    },
    /// Read a pending reply on a connection.
    Read(usize),
    Sleep(u64),
    /// DUMP a key and RESTORE it under another name.
    Restore {
        src: String,
        dst: String,
        replace: bool,
        expired: bool,
    },
}

/// An argument's bytes, `\xHH` decoded.
fn arg_bytes(a: &str) -> Vec<u8> {
    let b = a.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b.get(i + 1) == Some(&b'x') {
            if let Ok(v) = u8::from_str_radix(&a[i + 2..i + 4], 16) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn parse(script: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for line in script.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("restore ") {
            let words = split_quoted(rest, '"');
            steps.push(Step::Restore {
                src: words[0].clone(),
                dst: words[1].clone(),
                replace: words.iter().any(|w| w == "REPLACE"),
                expired: words.iter().any(|w| w == "PX"),
            });
        } else if let Some(ms) = line.strip_prefix("sleep ") {
            steps.push(Step::Sleep(ms.parse().expect("sleep ms")));
        } else if line == "@2 <" {
            steps.push(Step::Read(1));
        } else if let Some(rest) = line.strip_prefix("@2 ") {
            steps.push(Step::Send {
                conn: 1,
                args: split_quoted(rest, '"'),
                read: false,
            });
        } else {
            steps.push(Step::Send {
                conn: 0,
                args: split_quoted(line, '"'),
                read: true,
            });
        }
    }
    steps
}

/// A pub/sub message as the subscriber saw it: (channel, payload).
fn message(reply: &Resp) -> Option<(String, String)> {
    let items = match reply {
        Resp::Array(Some(items)) | Resp::Push(items) => items,
        _ => return None,
    };
    let text = |r: &Resp| String::from_utf8_lossy(r.as_bytes().unwrap_or_default()).into_owned();
    if items.len() == 4 && text(&items[0]) == "pmessage" {
        return Some((text(&items[2]), text(&items[3])));
    }
    None
}

/// Runs the script on one server with `mask` and returns the messages its subscriber got.
fn events(port: u16, mask: &str, steps: &[Step]) -> Vec<(String, String)> {
    let mut admin = RawConn::connect(port);
    admin.call(&["FLUSHALL"]);
    let (r, _) = admin.call(&["CONFIG", "SET", "notify-keyspace-events", mask]);
    assert_eq!(r, Resp::Simple(b"OK".to_vec()), "CONFIG SET {mask}");
    let mut sub = RawConn::connect(port);
    sub.call(&["PSUBSCRIBE", "__key*__:*"]);
    let mut conns = [RawConn::connect(port), RawConn::connect(port)];
    for step in steps {
        match step {
            Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Step::Read(c) => {
                conns[*c].read_reply();
            }
            Step::Restore {
                src,
                dst,
                replace,
                expired,
            } => {
                let (dump, _) = conns[0].call(&["DUMP", src.as_str()]);
                let payload = dump.as_bytes().expect("DUMP payload").to_vec();
                let mut argv: Vec<Vec<u8>> = vec![b"RESTORE".to_vec(), dst.as_bytes().to_vec()];
                // An absolute time in the past: the key is expired as it is restored.
                argv.push(if *expired {
                    b"1".to_vec()
                } else {
                    b"0".to_vec()
                });
                argv.push(payload);
                if *replace {
                    argv.push(b"REPLACE".to_vec());
                }
                if *expired {
                    argv.push(b"ABSTTL".to_vec());
                }
                conns[0].send(&resp_command(&argv));
                conns[0].read_reply();
            }
            Step::Send { conn, args, read } => {
                let argv: Vec<Vec<u8>> = args.iter().map(|a| arg_bytes(a)).collect();
                conns[*conn].send(&resp_command(&argv));
                if *read {
                    conns[*conn].read_reply();
                }
            }
        }
    }
    admin.call(&["PUBLISH", "__keymark__:end", "end"]);
    let mut out = Vec::new();
    loop {
        let (reply, _) = sub.read_reply();
        let Some(m) = message(&reply) else { continue };
        if m.0 == "__keymark__:end" {
            break;
        }
        out.push(m);
    }
    admin.call(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    out
}

/// The first difference between two message sequences, shown with its neighbourhood.
fn first_difference(ks: &[(String, String)], rs: &[(String, String)]) -> Option<String> {
    let at = ks
        .iter()
        .zip(rs)
        .position(|(a, b)| a != b)
        .or_else(|| (ks.len() != rs.len()).then(|| ks.len().min(rs.len())))?;
    let from = at.saturating_sub(3);
    let show = |v: &[(String, String)]| {
        v.iter()
            .enumerate()
            .skip(from)
            .take(8)
            .map(|(i, (c, m))| format!("      {i}: {c} {m}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Some(format!(
        "first difference at message {at} (keyslot {} messages, redis {}):\n   keyslot:\n{}\n   redis:\n{}",
        ks.len(),
        rs.len(),
        show(ks),
        show(rs)
    ))
}

#[test]
fn keyspace_events_match_redis() {
    let Some(p) = start_debug("keyspace-events") else {
        return;
    };
    let steps = parse(SCRIPT);
    let mut failures = Vec::new();
    for (mask, at_least) in [
        ("KEA", 300),
        ("KEAnm", 350),
        ("Kl", 20),
        ("Ex", 3),
        ("KEn", 40),
        ("Em", 30),
        ("Eg$", 50),
        ("Kzt", 30),
        ("Eshe", 20),
    ] {
        let ks = events(p.keyslot.port, mask, &steps);
        let rs = events(p.redis.port, mask, &steps);
        if let Some(d) = first_difference(&ks, &rs) {
            failures.push(format!("mask {mask}: {d}"));
        } else if rs.len() < at_least {
            failures.push(format!(
                "mask {mask}: only {} messages (the script should produce {at_least}+)",
                rs.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn notify_keyspace_events_config_matches_redis() {
    let Some(p) = start_debug("keyspace-events-config") else {
        return;
    };
    let mut ks = RawConn::connect(p.keyslot.port);
    let mut rs = RawConn::connect(p.redis.port);
    for value in [
        "KEA",
        "AKE",
        "g$lshzxetd",
        "g$lshzxetdKE",
        "Elg",
        "mKEn",
        "AKEmn",
        "x",
        "K",
        "E",
        "",
        "KEw",
        "a",
        "KE A",
    ] {
        let set = ["CONFIG", "SET", "notify-keyspace-events", value];
        let get = ["CONFIG", "GET", "notify-keyspace-events"];
        let (_, k) = ks.call(&set);
        let (_, r) = rs.call(&set);
        assert_eq!(
            String::from_utf8_lossy(&k),
            String::from_utf8_lossy(&r),
            "CONFIG SET {value:?}"
        );
        let (_, k) = ks.call(&get);
        let (_, r) = rs.call(&get);
        assert_eq!(
            String::from_utf8_lossy(&k),
            String::from_utf8_lossy(&r),
            "CONFIG GET after {value:?}"
        );
    }
}

#[test]
fn notify_keyspace_events_flag_at_startup() {
    if !require_tools("keyspace-events-startup", &[]) {
        return;
    }
    let dir = TempDir::new("keyspace-events-startup");
    let ks = Server::keyslot(&dir, &["--notify-keyspace-events", "Elx"]);
    let mut c = RawConn::connect(ks.port);
    let (r, _) = c.call(&["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(
        r,
        Resp::Array(Some(vec![
            Resp::Bulk(Some(b"notify-keyspace-events".to_vec())),
            Resp::Bulk(Some(b"lxE".to_vec())),
        ]))
    );
    let mut sub = RawConn::connect(ks.port);
    sub.call(&["SUBSCRIBE", "__keyevent@0__:lpush"]);
    c.call(&["LPUSH", "mylist", "a"]);
    let (r, _) = sub.read_reply();
    assert_eq!(
        message_of_subscribe(&r),
        Some(("__keyevent@0__:lpush".into(), "mylist".into()))
    );
}

/// A `message` push (SUBSCRIBE): (channel, payload).
fn message_of_subscribe(reply: &Resp) -> Option<(String, String)> {
    let items = match reply {
        Resp::Array(Some(items)) | Resp::Push(items) => items,
        _ => return None,
    };
    let text = |r: &Resp| String::from_utf8_lossy(r.as_bytes().unwrap_or_default()).into_owned();
    (items.len() == 3 && text(&items[0]) == "message").then(|| (text(&items[1]), text(&items[2])))
}

/// The writes a replica applies from its master notify the replica's subscribers, as in Redis
/// (the commands as the master replicates them: INCRBYFLOAT arrives as SET, an expired key as
/// DEL...).
#[test]
fn replicas_notify_the_writes_they_apply() {
    if !require_tools("keyspace-events-replica", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("keyspace-events-replica");
    let ks_master = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let ks_replica = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let rs_master = Server::redis(&dir, &[]);
    let rs_replica = Server::redis(&dir, &[]);
    let script = parse(
        "
SET a 1
SET a 2 EX 100
PERSIST a
INCRBYFLOAT f 1.5
LPUSH l x y
LPOP l
RPOPLPUSH l l2
HSET h f v
HDEL h f
SADD s a b
SPOP s 5
ZADD z 1 a
ZINCRBY z 1 a
XADD x 1-1 f v
RENAME a b
DEL b
MULTI
SET t 1
INCR t
EXEC
SET e v PX 1
sleep 200
GET e
",
    );
    let run = |master: &Server, replica: &Server| -> Vec<(String, String)> {
        let mut r = RawConn::connect(replica.port);
        r.call(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        let port = master.port.to_string();
        r.call(&["REPLICAOF", "127.0.0.1", port.as_str()]);
        let up = common::wait_until(Duration::from_secs(20), || {
            replica
                .cli(&["INFO", "replication"])
                .contains("master_link_status:up")
        });
        assert!(up, "replica link up");
        let mut sub = RawConn::connect(replica.port);
        sub.call(&["PSUBSCRIBE", "__key*__:*"]);
        let mut m = RawConn::connect(master.port);
        for step in &script {
            match step {
                Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
                Step::Send { args, .. } => {
                    m.call(args);
                }
                _ => {}
            }
        }
        m.call(&["WAIT", "1", "5000"]);
        r.call(&["PUBLISH", "__keymark__:end", "end"]);
        let mut out = Vec::new();
        loop {
            let (reply, _) = sub.read_reply();
            let Some(msg) = message(&reply) else { continue };
            if msg.0 == "__keymark__:end" {
                break;
            }
            out.push(msg);
        }
        out
    };
    let ks = run(&ks_master, &ks_replica);
    let rs = run(&rs_master, &rs_replica);
    if let Some(d) = first_difference(&ks, &rs) {
        panic!("replica events: {d}");
    }
    assert!(rs.len() >= 40, "only {} replica messages", rs.len());
}

//! Transactions, pub/sub, blocking pops and OBJECT ENCODING side by side with the reference: the
//! same scripts go to a keyslot-server and to a real redis-server 7.0.15, each over several raw
//! connections, in RESP2 and in RESP3, and every reply must be identical byte for byte.
//!
//! Script lines: `CMD args` is sent on connection 1 and one reply is read. Prefixes:
//! - `@N ` sends on connection N (1..4);
//! - `+K ` reads K replies instead of one (SUBSCRIBE a b c answers three; a blocking command
//!   that blocks answers none: `+0`);
//! - `<` alone (after an optional `@N`) sends nothing and reads one reply (a message pushed to
//!   a subscriber, the reply that ends a blocked command).
//! - `sleep MS` waits (so a blocked client really is blocked before the push arrives).

mod common;

use common::{require_tools, resp_command, RawConn, Server, TempDir};
use std::time::Duration;

struct Step {
    conn: usize,
    replies: usize,
    args: Option<Vec<String>>,
    sleep_ms: u64,
}

fn parse(line: &str) -> Step {
    let mut rest = line.trim();
    let mut conn = 1;
    let mut replies = 1;
    if let Some(r) = rest.strip_prefix('@') {
        let (n, r) = r.split_once(' ').unwrap_or((r, ""));
        conn = n.parse().expect("connection number");
        rest = r.trim();
    }
    if let Some(r) = rest.strip_prefix('+') {
        let (n, r) = r.split_once(' ').expect("+K CMD");
        replies = n.parse().expect("reply count");
        rest = r.trim();
    }
    if let Some(ms) = rest.strip_prefix("sleep ") {
        return Step {
            conn,
            replies: 0,
            args: None,
            sleep_ms: ms.parse().expect("sleep ms"),
        };
    }
    if rest == "<" {
        return Step {
            conn,
            replies,
            args: None,
            sleep_ms: 0,
        };
    }
    Step {
        conn,
        replies,
        args: Some(rest.split(' ').map(str::to_string).collect()),
        sleep_ms: 0,
    }
}

/// Runs `script` on both servers in RESP2 and RESP3 (FLUSHALL first); returns the differences.
fn compare(keyslot: &Server, redis: &Server, script: &str) -> Vec<String> {
    let mut diffs = Vec::new();
    for proto in [2, 3] {
        let mut ks: Vec<RawConn> = (0..4).map(|_| RawConn::connect(keyslot.port)).collect();
        let mut rs: Vec<RawConn> = (0..4).map(|_| RawConn::connect(redis.port)).collect();
        for c in ks.iter_mut().chain(rs.iter_mut()) {
            c.call(&["FLUSHALL"]);
            if proto == 3 {
                c.call(&["HELLO", "3"]);
            }
        }
        for line in script.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let step = parse(line);
            if step.sleep_ms > 0 {
                std::thread::sleep(Duration::from_millis(step.sleep_ms));
                continue;
            }
            let (k, r) = (&mut ks[step.conn - 1], &mut rs[step.conn - 1]);
            if let Some(args) = &step.args {
                k.send(&resp_command(args));
                r.send(&resp_command(args));
            }
            for i in 0..step.replies {
                let (_, kraw) = k.read_reply();
                let (_, rraw) = r.read_reply();
                if kraw != rraw {
                    diffs.push(format!(
                        "RESP{proto} {line} (reply {i})\n   keyslot: {:?}\n   redis:   {:?}",
                        String::from_utf8_lossy(&kraw),
                        String::from_utf8_lossy(&rraw)
                    ));
                }
            }
        }
    }
    diffs
}

struct Pair {
    keyslot: Server,
    redis: Server,
    _dir: TempDir,
}

fn start(tag: &str) -> Option<Pair> {
    if !require_tools(tag, &["redis-server"]) {
        return None;
    }
    let dir = TempDir::new(tag);
    let keyslot = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let redis = Server::redis(&dir, &[]);
    Some(Pair {
        keyslot,
        redis,
        _dir: dir,
    })
}

fn run(tag: &str, script: &str) {
    let Some(p) = start(tag) else {
        return;
    };
    let diffs = compare(&p.keyslot, &p.redis, script);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn transactions_match_redis() {
    run(
        "tx",
        "
# basics
MULTI
SET a 1
INCR a
LPUSH l x
GET a
EXEC
EXEC
DISCARD
MULTI
DISCARD
GET a
# nested MULTI and WATCH inside MULTI are errors but do not abort
MULTI
MULTI
WATCH a
INCR a
EXEC
# queueing errors abort with EXECABORT
MULTI
SET a
INCR a
EXEC
GET a
MULTI
NOSUCHCOMMAND x
EXEC
# runtime errors do not abort: each reply in the array
MULTI
SET s str
LPUSH s x
INCR s
SET s ok
EXEC
# WATCH: a key modified by another client aborts with a null array
SET w 1
WATCH w
@2 SET w 2
MULTI
INCR w
EXEC
GET w
# not modified: runs
WATCH w
MULTI
INCR w
EXEC
# SET to the same value still touches
WATCH w
@2 SET w 3
MULTI
GET w
EXEC
# a missing key deleted is not a change; created is
WATCH nokey
@2 DEL nokey
MULTI
PING
EXEC
WATCH nokey
@2 SET nokey 1
MULTI
PING
EXEC
# UNWATCH forgets
WATCH w
@2 INCR w
UNWATCH
MULTI
GET w
EXEC
# DISCARD unwatches
WATCH w
MULTI
DISCARD
@2 INCR w
MULTI
GET w
EXEC
# FLUSHALL touches watched keys that exist
WATCH w
@2 FLUSHALL
MULTI
PING
EXEC
# a key that expires after WATCH aborts
SET e 1 PX 50
WATCH e
sleep 120
MULTI
PING
EXEC
# a transaction's own writes do not abort a later EXEC of another watcher unless watched
@2 WATCH q
MULTI
SET q 1
EXEC
@2 MULTI
@2 GET q
@2 EXEC
# blocking commands inside MULTI answer at once
MULTI
BLPOP empty 0
BRPOP empty 0
BLMOVE empty dst LEFT RIGHT 0
BRPOPLPUSH empty dst 0
BZPOPMIN emptyz 0
BZPOPMAX emptyz 0
EXEC
# arity errors of the transaction commands
MULTI x
WATCH
EXEC x
",
    );
}

#[test]
fn pubsub_matches_redis() {
    run(
        "pubsub",
        "
@2 +3 SUBSCRIBE a b c
@2 +2 PSUBSCRIBE h?llo news.*
PUBLISH a hi
@2 <
PUBLISH hello world
@2 <
PUBLISH news.tech x
@2 <
PUBLISH nobody x
PUBSUB CHANNELS a*
PUBSUB CHANNELS b
PUBSUB NUMSUB a b z
PUBSUB NUMPAT
PUBSUB NUMSUB
PUBSUB SHARDCHANNELS
PUBSUB SHARDNUMSUB x
PUBSUB FOO
PUBSUB CHANNELS a b
# subscribe mode: only some commands
@2 +2 UNSUBSCRIBE a b
@2 +1 PUNSUBSCRIBE hello
@2 +1 UNSUBSCRIBE nosub
@2 +1 PING
@2 +1 PING msg
@2 +2 PUNSUBSCRIBE
@2 +1 UNSUBSCRIBE
@2 +1 UNSUBSCRIBE
@2 +1 PUNSUBSCRIBE
@2 +1 SUNSUBSCRIBE
@2 GET x
@2 +1 SSUBSCRIBE s1
SPUBLISH s1 m
@2 <
PUBSUB SHARDCHANNELS
PUBSUB SHARDNUMSUB s1 s2
@2 +1 SUNSUBSCRIBE s1
@2 +1 SUBSCRIBE x
@2 RESET
@2 PING
PUBLISH x y
# arity
SUBSCRIBE
PUBLISH a
SPUBLISH a
",
    );
}

/// In RESP2 a subscribed client may only send (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET.
#[test]
fn subscribe_mode_errors_match_redis() {
    run(
        "submode",
        "
@2 +1 SUBSCRIBE a
@2 SET x 1
@2 +1 PING
@2 +1 SUBSCRIBE b
PUBLISH b 1
@2 <
",
    );
}

#[test]
fn blocking_matches_redis() {
    run(
        "blocking",
        "
# data present: served at once
RPUSH l a b c
BLPOP l 0
BRPOP l 0
BLPOP nothing l 0
BLPOP l 0.05
ZADD z 1 a 2 b 3 c
BZPOPMIN z 0
BZPOPMAX z 0
BZPOPMIN z 0
BZPOPMIN z 0.05
RPUSH src x y
BLMOVE src dst LEFT RIGHT 0
BRPOPLPUSH src dst 0
LRANGE dst 0 -1
BLMOVE src dst LEFT RIGHT 0.05
# errors
SET str v
BLPOP str 0
BZPOPMIN str 0
BLMOVE str dst LEFT LEFT 0
BLPOP l abc
BLPOP l -1
BLMOVE a b UP LEFT 0
BLPOP l
# a blocked client is woken by a push from another client
@2 +0 BLPOP k1 k2 0
sleep 100
RPUSH k2 v
@2 <
# clients are served in the order they blocked
@2 +0 BRPOP q 0
sleep 50
@3 +0 BRPOP q 0
sleep 50
@4 +0 BLPOP q 0
sleep 100
RPUSH q 1 2
@2 <
@3 <
RPUSH q 3
@4 <
# a push inside MULTI wakes after EXEC
@2 +0 BLPOP m 0
sleep 100
MULTI
RPUSH m a
LLEN m
EXEC
@2 <
LLEN m
# BLMOVE woken, its destination wakes another
@2 +0 BLMOVE s1 s2 LEFT LEFT 0
sleep 50
@3 +0 BLPOP s2 0
sleep 100
RPUSH s1 v
@2 <
@3 <
# sorted sets
@2 +0 BZPOPMIN zz 0
sleep 100
ZADD zz 5 m 1 n
@2 <
ZRANGE zz 0 -1 WITHSCORES
# timeouts answer nil
@2 BLPOP t 0.2
@2 BZPOPMAX t 0.1
@2 BLMOVE t u LEFT LEFT 0.1
# a wrong-type push does not wake a list waiter
@2 +0 BLPOP w 0
sleep 100
SET w str
DEL w
RPUSH w ok
@2 <
",
    );
}

fn encoding_script() -> String {
    let mut s = String::new();
    let big = |n: usize, prefix: &str| -> String {
        (0..n)
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let pairs = |n: usize| -> String {
        (0..n)
            .map(|i| format!("f{i} v{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let scored = |n: usize| -> String {
        (0..n)
            .map(|i| format!("{i} m{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for v in [
        "1".to_string(),
        "-123".to_string(),
        "9223372036854775807".to_string(),
        "12345678901234567890".to_string(),
        "007".to_string(),
        "1.5".to_string(),
        "hello".to_string(),
        "x".repeat(44),
        "x".repeat(45),
    ] {
        s.push_str(&format!("SET s {v}\nOBJECT ENCODING s\n"));
    }
    s.push_str("OBJECT ENCODING missing\n");
    s.push_str("RPUSH l a\nOBJECT ENCODING l\n");
    s.push_str(&format!("RPUSH lb {}\nOBJECT ENCODING lb\n", big(200, "e")));
    s.push_str(&format!("HSET h {}\nOBJECT ENCODING h\n", pairs(512)));
    s.push_str(&format!("HSET h2 {}\nOBJECT ENCODING h2\n", pairs(513)));
    s.push_str(&format!(
        "HSET h3 f {}\nOBJECT ENCODING h3\n",
        "v".repeat(64)
    ));
    s.push_str(&format!(
        "HSET h4 f {}\nOBJECT ENCODING h4\n",
        "v".repeat(65)
    ));
    s.push_str(&format!("SADD i {}\nOBJECT ENCODING i\n", big(512, "")));
    s.push_str(&format!("SADD i2 {}\nOBJECT ENCODING i2\n", big(513, "")));
    s.push_str("SADD st a b\nOBJECT ENCODING st\n");
    s.push_str(&format!("ZADD z {}\nOBJECT ENCODING z\n", scored(128)));
    s.push_str(&format!("ZADD z2 {}\nOBJECT ENCODING z2\n", scored(129)));
    s.push_str(&format!(
        "ZADD z3 1 {}\nOBJECT ENCODING z3\n",
        "m".repeat(64)
    ));
    s.push_str(&format!(
        "ZADD z4 1 {}\nOBJECT ENCODING z4\n",
        "m".repeat(65)
    ));
    s.push_str("SET n 100\nOBJECT REFCOUNT n\nSET n 10000\nOBJECT REFCOUNT n\n");
    s.push_str("OBJECT REFCOUNT h\nOBJECT IDLETIME missing\nOBJECT FREQ missing\nOBJECT FREQ h\n");
    s.push_str("OBJECT\nOBJECT FOO\nOBJECT ENCODING\nMEMORY USAGE missing\nMEMORY FOO\n");
    s
}

#[test]
fn object_encoding_matches_redis() {
    run("encoding", &encoding_script());
}

/// MEMORY USAGE is an estimate: it answers an integer that grows with the value.
#[test]
fn memory_usage_grows_with_the_value() {
    let Some(p) = start("memusage") else {
        return;
    };
    let mut k = RawConn::connect(p.keyslot.port);
    k.call(&["SET", "small", "x"]);
    k.call(&["SET", "big", &"x".repeat(10_000)]);
    let small = k.call(&["MEMORY", "USAGE", "small"]).0.as_int().unwrap();
    let big = k.call(&["MEMORY", "USAGE", "big"]).0.as_int().unwrap();
    assert!(small > 0 && big > 10_000 && big < 20_000, "{small} {big}");
}

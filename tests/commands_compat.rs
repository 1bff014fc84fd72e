//! The commands Redis's own test suite needed (issue 13) side by side with redis-server 7.0.15:
//! LCS, LMPOP / ZMPOP / BLMPOP / BZMPOP, ZRANDMEMBER, SORT / SORT_RO, CLIENT REPLY, CLIENT
//! UNBLOCK, DEBUG PROTOCOL, DEBUG QUICKLIST-PACKED-THRESHOLD, min-replicas-to-write. The same
//! command lines go to a keyslot-server and to a redis-server over raw RESP2 and RESP3
//! connections, and every reply must be identical byte for byte (errors included), except
//! where a line says otherwise (see `compare_util`):
//!
//! - standalone replies and errors;
//! - cluster rules on one-node clusters: CROSSSLOT, SORT's refused BY / GET patterns,
//!   COMMAND GETKEYS;
//! - what is replicated: the append-only files of both servers after the same writes
//!   (including blocked pops served later) are identical;
//! - replies that are not one reply per command (CLIENT REPLY OFF / SKIP, DEBUG PROTOCOL
//!   push) compared as the raw bytes of a whole pipelined exchange.

mod common;
mod compare_util;

use common::{RawConn, Server, TempDir};
use std::time::Duration;

/// Ports of this binary (bus ports +10000), apart from other suites'.
const PORT_LOW: u16 = 26020;
const PORT_HIGH: u16 = 26099;

fn ports() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
}

/// Runs `script` on a standalone pair started with `extra` flags; fails on any difference.
fn run_with(tag: &str, extra: &[&str], script: &str) {
    ports();
    if !common::require_tools(tag, &["redis-server"]) {
        return;
    }
    let dir = TempDir::new(tag);
    let mut flags = vec!["--save", "", "--appendonly", "no"];
    flags.extend_from_slice(extra);
    let k = Server::keyslot(&dir, &flags);
    let r = Server::redis(&dir, extra);
    let diffs = compare_util::compare(&k, &r, script);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn run(tag: &str, script: &str) {
    run_with(tag, &[], script)
}

#[test]
fn lcs_matches_redis() {
    run(
        "lcs",
        "
SET a ohmytext
SET b mynewtext
LCS a b
LCS a b LEN
LCS a b IDX
LCS a b IDX WITHMATCHLEN
LCS a b IDX MINMATCHLEN 4
LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN
LCS a b IDX MINMATCHLEN -5 WITHMATCHLEN
LCS a b idx len
LCS a b LEN IDX
LCS a b MINMATCHLEN
LCS a b MINMATCHLEN x
LCS a b BOGUS
LCS a nokey
LCS nokey nokey2 IDX
LCS nokey nokey2 LEN
SET c rhcondorrhcondor
SET d thedoorthecondor
LCS c d
LCS c d IDX WITHMATCHLEN
SET e ''
LCS e a IDX
RPUSH l x
LCS a l
LCS l nokey LEN
LCS nokey l BOGUS
SET n1 12345
SET n2 2345
LCS n1 n2 IDX WITHMATCHLEN
LCS a
",
    );
}

#[test]
fn mpop_matches_redis() {
    run(
        "mpop",
        "
RPUSH l a b c d e
LMPOP 1 l LEFT
LMPOP 1 l RIGHT COUNT 2
LMPOP 2 nol l left count 10
EXISTS l
LMPOP 2 nol l LEFT
LMPOP 0 l LEFT
LMPOP -1 l LEFT
LMPOP x l LEFT
LMPOP 2 l LEFT
LMPOP 1 l MIDDLE
LMPOP 1 l LEFT COUNT
LMPOP 1 l LEFT COUNT 0
LMPOP 1 l LEFT COUNT -1
LMPOP 1 l LEFT COUNT x
LMPOP 1 l LEFT COUNT 1 COUNT 1
LMPOP 1 l LEFT FOO
LMPOP 1 l
SET s v
RPUSH l2 x
LMPOP 2 s l2 LEFT
LMPOP 2 l2 s LEFT
RPUSH l2 x y z
ZADD z 1 a 2 b 3 c 4 d
ZMPOP 1 z MIN
ZMPOP 1 z MAX COUNT 2
ZMPOP 2 noz z min count 10
ZMPOP 1 noz MIN
ZMPOP 0 z MIN
ZMPOP 1 z TOP
ZMPOP 1 z MIN COUNT 0
ZMPOP 1 z MIN COUNT 1 x
ZMPOP 2 s z MIN
ZADD z 1.5 a 2.25 b
ZMPOP 1 z MAX COUNT 1
BLMPOP 0 1 l2 LEFT
BLMPOP 0 1 l2 LEFT COUNT 0
BLMPOP -1 1 l2 LEFT
BLMPOP x 1 l2 LEFT
BLMPOP 0 0 l2 LEFT
BLMPOP 0.01 1 nol LEFT
BLMPOP 0 2 s l2 RIGHT
BZMPOP 0 1 z MIN
BZMPOP 0.01 1 noz MIN
BZMPOP 0 1 z MIDDLE
BZMPOP 0 2 s z MAX
BZMPOP abc 1 z MAX COUNT 0
RPUSH q 1 2 3
ZADD zq 1 a 2 b
MULTI
BLMPOP 0 1 nol LEFT
BZMPOP 0 1 noz MIN COUNT 3
BLMPOP 0 1 q RIGHT COUNT 2
BZMPOP 0 1 zq MAX COUNT 5
EXEC
COMMAND GETKEYS LMPOP 2 a b LEFT
COMMAND GETKEYS BLMPOP 0 2 a b LEFT COUNT 3
COMMAND GETKEYS ZMPOP 1 a MIN
COMMAND GETKEYS BZMPOP 0 3 a b c MAX
",
    );
}

#[test]
fn zrandmember_matches_redis() {
    run(
        "zrandmember",
        "
ZADD z 1 a 2 b 3 c
? ZRANDMEMBER z
ZRANDMEMBER noz
ZRANDMEMBER noz 3
ZRANDMEMBER noz 3 WITHSCORES
ZRANDMEMBER z 0
ZRANDMEMBER z 0 WITHSCORES
~ ZRANDMEMBER z 3
~ ZRANDMEMBER z 10
~ ZRANDMEMBER z 10 WITHSCORES
? ZRANDMEMBER z 2
? ZRANDMEMBER z -5
? ZRANDMEMBER z -5 WITHSCORES
ZRANDMEMBER z x
ZRANDMEMBER z 1 WITHVALUES
ZRANDMEMBER z 1 WITHSCORES x
ZRANDMEMBER z -9223372036854775808
ZRANDMEMBER z -9223372036854770000 WITHSCORES
ZRANDMEMBER z 9223372036854770000 WITHSCORES
SET s v
ZRANDMEMBER s
ZRANDMEMBER s 1
ZRANDMEMBER s x
",
    );
}

#[test]
fn sort_matches_redis() {
    run(
        "sort",
        "
RPUSH l 3 1 2 10 -1.5 0x10
SORT l
RPUSH n 3 1 2 10 -1.5 2.5e1 ' 7' '' inf -inf
SORT n
SORT n DESC
SORT n LIMIT 1 3
SORT n LIMIT -5 2
SORT n LIMIT 8 100
SORT n LIMIT 100 1
SORT n LIMIT 0 0
SORT n LIMIT 0 -1
SORT n LIMIT x 1
SORT n LIMIT 0
SORT n ALPHA
SORT n ALPHA DESC LIMIT 2 3
SORT n ASC DESC ASC
SORT l ALPHA
RPUSH words banana apple Cherry apple ''
SORT words
SORT words ALPHA
SORT words ALPHA DESC
SORT words BY nosort
SORT words BY nosort DESC
SORT words BY nosort LIMIT 1 2
SORT words BY nosort DESC LIMIT 1 2
SORT words BY nosort LIMIT 10 2
SET w_3 30
SET w_1 10
SET w_2 20
SET w_10 x
HSET h_1 f one
HSET h_2 f two
HSET h_3 g three
RPUSH k 1 2 3
SORT k BY w_*
SORT k BY w_* DESC
SORT k BY w_* GET #
SORT k BY w_* GET # GET w_* GET h_*->f
SORT k GET h_*->f GET h_*->g GET h_*-> GET nostar GET #
SORT k BY h_*->f ALPHA
SORT k BY h_*->f ALPHA DESC
SORT k BY h_*->f
SORT k BY nosuch_* 
SORT k BY nosuch_* ALPHA
RPUSH k2 1 2 10
SORT k2 BY w_*
SORT k2 BY w_* ALPHA
SORT k BY w_* LIMIT 1 1 GET h_*->f
SADD st 5 3 9 1
SORT st
SORT st DESC LIMIT 1 2
SORT st ALPHA
~ SORT st BY nosort
SORT st BY nosort STORE dst
LRANGE dst 0 -1
SADD sw b a c
SORT sw ALPHA
SORT sw
ZADD z 3 c 1 a 2 b 4 d
SORT z ALPHA
SORT z BY nosort
SORT z BY nosort DESC
SORT z BY nosort LIMIT 1 2
SORT z BY nosort DESC LIMIT 1 2
SORT z BY nosort DESC LIMIT 10 2
SORT z
SORT k STORE dst
LRANGE dst 0 -1
TYPE dst
SORT k BY w_* GET h_*->f STORE dst
LRANGE dst 0 -1
SORT nokey
SORT nokey STORE dst
EXISTS dst
SORT k LIMIT 5 5 STORE dst
EXISTS dst
SET str v
SORT str
HSET hash f v
SORT hash
SORT k BOGUS
SORT k STORE
SORT k GET
SORT k BY
SORT_RO k
SORT_RO k BY w_* GET #
SORT_RO k STORE dst
SORT_RO z BY nosort DESC
COMMAND GETKEYS SORT a
COMMAND GETKEYS SORT a STORE b
COMMAND GETKEYS SORT a STORE b LIMIT 0 1 STORE c
COMMAND GETKEYS SORT a GET store BY x
COMMAND GETKEYS SORT_RO a BY x
",
    );
}

/// CROSSSLOT, SORT's cluster-mode refusals and the keys COMMAND GETKEYS finds, on one-node
/// clusters that own every slot.
#[test]
fn cluster_rules_match_redis() {
    ports();
    if !common::require_tools("cmd_cluster", &["redis-server", "redis-cli"]) {
        return;
    }
    let dir = TempDir::new("cmd_cluster");
    let flags = ["--cluster-enabled", "yes"];
    let k = Server::keyslot(
        &dir,
        &[&flags[..], &["--save", "", "--appendonly", "no"]].concat(),
    );
    let r = Server::redis(&dir, &flags);
    for s in [&k, &r] {
        s.cli(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
        assert!(
            common::wait_until(Duration::from_secs(20), || s
                .cli(&["CLUSTER", "INFO"])
                .contains("cluster_state:ok")),
            "cluster on port {} never ok",
            s.port
        );
    }
    let script = "
RPUSH {t}l 3 1 2
SET {t}w_1 5
SORT {t}l
SORT {t}l BY nosort
SORT {t}l BY {t}w_*
SORT {t}l BY w_*
SORT {t}l GET #
SORT {t}l GET {t}w_*
SORT {t}l LIMIT 0 1 BY {t}w_* GET #
SORT {t}l STORE {t}dst
LRANGE {t}dst 0 -1
SORT {t}l STORE other
SORT_RO {t}l BY {t}w_*
SORT_RO {t}l BY nosort DESC
LMPOP 2 {t}l {t}m LEFT
LMPOP 2 {t}l other LEFT
BLMPOP 0 2 {t}l other LEFT
ZADD {t}z 1 a
ZMPOP 2 {t}z other MIN
BZMPOP 0 2 {t}z other MIN
ZMPOP 2 {t}z {t}y MIN
SET {t}a ohmytext
SET {t}b mynewtext
LCS {t}a {t}b
LCS {t}a b
COMMAND GETKEYS LCS a b
COMMAND GETKEYS SORT a STORE b
";
    let diffs = compare_util::compare(&k, &r, script);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The pop commands replicate their effect (LPOP/RPOP/ZPOPMIN/ZPOPMAX with the number of
/// elements popped, nothing when nothing was popped), a blocked BLMPOP / BZMPOP served later
/// replicates the same way, and SORT is replicated only with STORE and only when it changed
/// something: the append-only files of both servers are identical.
#[test]
fn effects_replicate_like_redis() {
    ports();
    if !common::require_tools("cmd_aof", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("cmd_aof");
    let flags = ["--appendonly", "yes", "--save", ""];
    let k = Server::keyslot(&dir, &flags);
    let r = Server::redis(&dir, &flags);
    let script = "
RPUSH l a b c d
LMPOP 1 l LEFT
LMPOP 2 nol l RIGHT COUNT 10
LMPOP 1 l LEFT
ZADD z 1 a 2 b 3 c
ZMPOP 1 z MIN
ZMPOP 1 z MAX COUNT 10
ZMPOP 1 z MAX COUNT 10
RPUSH l2 x y
BLMPOP 0 1 l2 RIGHT COUNT 5
ZADD z2 1 a 2 b
BZMPOP 0 1 z2 MIN COUNT 1
RPUSH s 3 1 2
SORT s
SORT s STORE dst
SORT nokey STORE nodst
SORT nokey STORE dst
SET marker-1 1
";
    for s in [&k, &r] {
        let mut c = RawConn::connect(s.port);
        for line in script.lines().filter(|l| !l.trim().is_empty()) {
            c.call(&compare_util::split(line));
        }
        // Blocked pops served by a later write.
        let mut b1 = RawConn::connect(s.port);
        let mut b2 = RawConn::connect(s.port);
        b1.send(&common::resp_command(&[
            "BLMPOP", "0", "2", "bl", "bl2", "LEFT", "COUNT", "3",
        ]));
        b2.send(&common::resp_command(&[
            "BZMPOP", "0", "1", "bz", "MAX", "COUNT", "2",
        ]));
        assert!(common::wait_until(Duration::from_secs(10), || {
            let info = s.cli(&["INFO", "clients"]);
            info.contains("blocked_clients:2")
        }));
        c.call(&["RPUSH", "bl2", "1", "2"]);
        c.call(&["ZADD", "bz", "1", "a", "2", "b", "3", "c"]);
        b1.read_reply();
        b2.read_reply();
        c.call(&["SET", "marker-2", "1"]);
    }
    let read = |s: &Server| -> String {
        let d = s.dir.join("appendonlydir");
        let mut body = Vec::new();
        let done = common::wait_until(Duration::from_secs(10), || {
            let mut incr: Vec<std::path::PathBuf> = std::fs::read_dir(&d)
                .map(|it| it.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            incr.retain(|p| p.to_string_lossy().ends_with(".incr.aof"));
            body = incr
                .first()
                .and_then(|p| std::fs::read(p).ok())
                .unwrap_or_default();
            body.windows(8).any(|w| w == b"marker-2")
        });
        assert!(done, "AOF of port {} incomplete", s.port);
        String::from_utf8_lossy(&body).into_owned()
    };
    assert_eq!(read(&k), read(&r));
}

/// Sends `commands` pipelined on a fresh connection and returns every byte that comes back.
fn exchange(port: u16, commands: &[&[&str]]) -> String {
    let mut bytes = Vec::new();
    for c in commands {
        bytes.extend_from_slice(&common::resp_command(c));
    }
    let (out, _) = common::raw_exchange(port, &bytes, Duration::from_millis(500));
    String::from_utf8_lossy(&out).into_owned()
}

/// An exchange with HELLO's client id cut out (the servers number their clients apart).
fn without_client_id(s: &str) -> String {
    const BEFORE: &str = "$2\r\nid\r\n:";
    match s.split_once(BEFORE) {
        Some((head, tail)) => {
            let rest = tail.split_once("\r\n").map_or("", |(_, r)| r);
            format!("{head}{BEFORE}N\r\n{rest}")
        }
        None => s.to_string(),
    }
}

/// CLIENT REPLY OFF / SKIP / ON, errors, and pub/sub messages (which are sent even with
/// replies off), compared as whole exchanges.
#[test]
fn client_reply_matches_redis() {
    ports();
    if !common::require_tools("client_reply", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("client_reply");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let r = Server::redis(&dir, &[]);
    let scripts: &[&[&[&str]]] = &[
        &[
            &["CLIENT", "REPLY", "OFF"],
            &["SET", "a", "1"],
            &["GET", "a"],
            &["NOSUCHCOMMAND"],
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "ON"],
            &["GET", "a"],
            &["CLIENT", "REPLY", "SKIP"],
            &["GET", "a"],
            &["PING"],
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "ON"],
            &["PING", "x"],
            &["CLIENT", "REPLY", "MAYBE"],
            &["CLIENT", "REPLY"],
            &["CLIENT", "REPLY", "ON", "x"],
        ],
        &[
            &["HELLO", "3"],
            &["CLIENT", "REPLY", "OFF"],
            &["SUBSCRIBE", "ch"],
            &["PSUBSCRIBE", "c*"],
            &["PING"],
            &["UNSUBSCRIBE", "ch"],
            &["PUNSUBSCRIBE"],
            &["CLIENT", "REPLY", "ON"],
            &["PING"],
        ],
        &[
            &["CLIENT", "REPLY", "SKIP"],
            &["SUBSCRIBE", "ch"],
            &["PING"],
        ],
        &[
            &["MULTI"],
            &["CLIENT", "REPLY", "OFF"],
            &["SET", "b", "2"],
            &["EXEC"],
            &["GET", "b"],
            &["CLIENT", "REPLY", "ON"],
            &["GET", "b"],
        ],
    ];
    for script in scripts {
        for s in [&k, &r] {
            s.cli(&["FLUSHALL"]);
        }
        let (ko, ro) = (exchange(k.port, script), exchange(r.port, script));
        assert_eq!(
            without_client_id(&ko),
            without_client_id(&ro),
            "script {script:?}"
        );
    }
    // Messages reach a subscriber whose replies are off.
    let mut transcripts = Vec::new();
    for s in [&k, &r] {
        let mut sub = RawConn::connect(s.port);
        sub.send(&common::resp_command(&["CLIENT", "REPLY", "OFF"]));
        let mut t = vec![sub.call(&["SUBSCRIBE", "news"]).1];
        let mut publisher = RawConn::connect(s.port);
        t.push(publisher.call(&["PUBLISH", "news", "hello"]).1);
        t.push(sub.read_reply().1);
        transcripts.push(t);
    }
    assert_eq!(transcripts[0], transcripts[1]);
}

/// CLIENT UNBLOCK of clients blocked in BLPOP, BLMPOP, BZMPOP and XREAD, with TIMEOUT and
/// ERROR, and its errors.
#[test]
fn client_unblock_matches_redis() {
    ports();
    if !common::require_tools("client_unblock", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("client_unblock");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let r = Server::redis(&dir, &[]);
    let blockers: &[&[&str]] = &[
        &["BLPOP", "nol", "0"],
        &["BLMPOP", "0", "1", "nol", "LEFT", "COUNT", "2"],
        &["BZMPOP", "0", "1", "noz", "MIN"],
        &["XREAD", "BLOCK", "0", "STREAMS", "nos", "$"],
    ];
    let mut transcripts = Vec::new();
    for s in [&k, &r] {
        let mut t = Vec::new();
        let mut c = RawConn::connect(s.port);
        for reason in [None, Some("TIMEOUT"), Some("ERROR")] {
            for cmd in blockers {
                let mut b = RawConn::connect(s.port);
                let id = b.call(&["CLIENT", "ID"]).0.as_int().expect("id");
                b.send(&common::resp_command(cmd));
                assert!(common::wait_until(Duration::from_secs(10), || {
                    s.cli(&["INFO", "clients"]).contains("blocked_clients:1")
                }));
                let id = id.to_string();
                let mut args = vec!["CLIENT", "UNBLOCK", id.as_str()];
                args.extend(reason);
                t.push(c.call(&args).1);
                t.push(b.read_reply().1);
                t.push(c.call(&["CLIENT", "UNBLOCK", id.as_str()]).1);
            }
        }
        t.push(c.call(&["CLIENT", "UNBLOCK", "x"]).1);
        t.push(c.call(&["CLIENT", "UNBLOCK", "1", "MAYBE"]).1);
        t.push(c.call(&["CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"]).1);
        t.push(c.call(&["CLIENT", "UNBLOCK", "999999"]).1);
        t.push(c.call(&["CLIENT", "UNBLOCK"]).1);
        transcripts.push(
            t.iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(transcripts[0], transcripts[1]);
}

/// DEBUG PROTOCOL's samples, also through a script's redis.call in RESP2 and RESP3 (the big
/// number and verbatim tables, the attribute hidden from the script) and back out of a script
/// as `{big_number = ...}` (CR LF made spaces), as unit scripting's "protocol parsing" tests do.
#[test]
fn debug_protocol_matches_redis() {
    let script = "
DEBUG PROTOCOL string
DEBUG PROTOCOL integer
DEBUG PROTOCOL double
DEBUG PROTOCOL bignum
DEBUG PROTOCOL null
DEBUG PROTOCOL array
DEBUG PROTOCOL set
DEBUG PROTOCOL map
DEBUG PROTOCOL attrib
DEBUG PROTOCOL verbatim
DEBUG PROTOCOL true
DEBUG PROTOCOL false
DEBUG PROTOCOL STRING
DEBUG PROTOCOL nosuch
DEBUG PROTOCOL
DEBUG PROTOCOL string extra
DEBUG QUICKLIST-PACKED-THRESHOLD 100
DEBUG QUICKLIST-PACKED-THRESHOLD 1k
DEBUG QUICKLIST-PACKED-THRESHOLD 1KB
DEBUG QUICKLIST-PACKED-THRESHOLD 0
DEBUG QUICKLIST-PACKED-THRESHOLD 4093mb
DEBUG QUICKLIST-PACKED-THRESHOLD 4gb
DEBUG QUICKLIST-PACKED-THRESHOLD -1
DEBUG QUICKLIST-PACKED-THRESHOLD 1x
DEBUG QUICKLIST-PACKED-THRESHOLD 1.5
DEBUG QUICKLIST-PACKED-THRESHOLD
DEBUG SET-DISABLE-DENY-SCRIPTS 1
EVAL 'redis.setresp(2) return redis.call(\"debug\", \"protocol\", \"bignum\")' 0
EVAL 'redis.setresp(3) return redis.call(\"debug\", \"protocol\", \"bignum\")' 0
EVAL 'redis.setresp(3) return redis.call(\"debug\", \"protocol\", \"attrib\")' 0
EVAL 'redis.setresp(3) return redis.call(\"debug\", \"protocol\", \"verbatim\")' 0
EVAL 'redis.setresp(2) return redis.call(\"debug\", \"protocol\", \"verbatim\")' 0
EVAL 'redis.setresp(3) return redis.call(\"debug\", \"protocol\", \"map\")' 0
EVAL 'redis.setresp(3) return redis.call(\"debug\", \"protocol\", \"double\")' 0
EVAL 'redis.setresp(3) return redis.call(\"debug\", \"protocol\", \"false\")' 0
EVAL 'return {big_number=\"123\\r\\n123\"}' 0
EVAL 'redis.setresp(3) local r = redis.call(\"debug\", \"protocol\", \"bignum\") return type(r) .. \" \" .. r.big_number' 0
EVAL 'return {verbatim_string={format=\"txt\", string=\"hi\"}}' 0
PING
";
    let debug = ["--enable-debug-command", "yes"];
    run_with("debug_protocol", &debug, script);
    // The push sample is two replies (the push, then a real reply); RESP2 refuses it.
    ports();
    let dir = TempDir::new("debug_push");
    let k = Server::keyslot(
        &dir,
        &[&debug[..], &["--save", "", "--appendonly", "no"]].concat(),
    );
    let r = Server::redis(&dir, &debug);
    let script: &[&[&str]] = &[
        &["DEBUG", "PROTOCOL", "push"],
        &["HELLO", "3"],
        &["DEBUG", "PROTOCOL", "push"],
        &["DEBUG", "PROTOCOL", "attrib"],
        &["DEBUG", "PROTOCOL", "bignum"],
        &["PING"],
    ];
    let (ko, ro) = (exchange(k.port, script), exchange(r.port, script));
    // HELLO's reply names the server's id and version: compare what follows it.
    let after_hello = |s: &str| -> String {
        s.split_once("$7\r\nmodules\r\n*0\r\n")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    };
    assert!(!after_hello(&ro).is_empty(), "{ro:?}");
    assert_eq!(after_hello(&ko), after_hello(&ro));
    assert_eq!(ko.split("%7").next(), ro.split("%7").next());
}

/// min-replicas-to-write refuses writes (and EXEC of queued writes) on a master without enough
/// replicas, with Redis's error texts; reads and read-only transactions still run.
#[test]
fn min_replicas_to_write_matches_redis() {
    run(
        "min_replicas",
        "
CONFIG SET min-replicas-to-write 1
CONFIG GET min-replicas-to-write
CONFIG GET min-slaves-max-lag
SET a 1
GET a
MULTI
INCR a
EXEC
MULTI
GET a
EXEC
CONFIG SET min-replicas-max-lag 0
SET a 1
CONFIG SET min-replicas-max-lag 10
CONFIG SET min-slaves-to-write 0
SET a 1
CONFIG SET min-replicas-to-write -1
CONFIG SET min-replicas-to-write x
",
    );
}

/// SAVE / SHUTDOWN / SYNC / PSYNC are refused inside MULTI (and the transaction aborts), and a
/// replica whose link is down with replica-serve-stale-data no refuses all but STALE commands
/// (PING included, ECHO not), and EXEC of a queued non-STALE command.
#[test]
fn transaction_and_stale_rules_match_redis() {
    run(
        "tx_stale",
        "
MULTI
SET foo bar
SAVE
SHUTDOWN
EXEC
GET foo
MULTI
SYNC
DISCARD
CONFIG SET replica-serve-stale-data no
SET a 1
REPLICAOF 127.0.0.1 1
GET a
PING
ECHO x
INFO nosuchsection
MULTI
GET a
EXEC
MULTI
ECHO y
EXEC
CONFIG SET replica-serve-stale-data yes
GET a
REPLICAOF NO ONE
CONFIG SET replica-serve-stale-data no
GET a
",
    );
}

/// COMMAND DOCS `since`, and COMMAND INFO's arity, flags and key range, of the added commands
/// and of the blocking ones (which now show `blocking`).
#[test]
fn command_introspection_matches_redis() {
    ports();
    if !common::require_tools("cmd_docs", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("cmd_docs");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let r = Server::redis(&dir, &[]);
    for name in [
        "sort",
        "sort_ro",
        "lmpop",
        "blmpop",
        "zmpop",
        "bzmpop",
        "zrandmember",
        "lcs",
        "client|reply",
        "client|unblock",
        "blpop",
        "bzpopmin",
        "blmove",
        "xread",
        "xreadgroup",
    ] {
        let since = |s: &Server| -> String {
            let docs = s.cli(&["COMMAND", "DOCS", name]);
            docs.lines()
                .skip_while(|l| *l != "since")
                .nth(1)
                .unwrap_or_default()
                .to_string()
        };
        // keyslot's `since` table covers the commands of this file, not every older one.
        let older = ["blpop", "bzpopmin", "blmove", "xread", "xreadgroup"];
        if !older.contains(&name) {
            assert_eq!(since(&k), since(&r), "COMMAND DOCS {name} since");
        }
        // Name, arity, flags, first key, last key, step.
        let head = |s: &Server| -> Vec<String> {
            let info = s.cli(&["COMMAND", "INFO", name]);
            // keyslot does not model the noscript and loading flags.
            info.lines()
                .take_while(|l| !l.starts_with('@'))
                .filter(|l| !matches!(*l, "noscript" | "loading"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(head(&k), head(&r), "COMMAND INFO {name}");
    }
}

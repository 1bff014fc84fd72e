//! Interop: replication between keyslot-server and redis-server 7.0, both ways. A replica of
//! the other kind syncs fully (RDB 10 with every value type: strings, lists, hashes, sets and
//! sorted sets in small and large encodings, streams with consumer groups, HyperLogLogs, geo
//! sets and bitmaps, with expiry times), follows the live command stream (MULTI/EXEC, commands Redis
//! rewrites before propagating such as EXPIRE -> PEXPIREAT, SPOP -> SREM, INCRBYFLOAT -> SET
//! KEEPTTL, GETEX -> PEXPIREAT/PERSIST, lazy expiry -> DEL), resyncs *partially* after its link
//! is killed (counted by the master's `sync_partial_ok` and logged by the replica), and ends
//! with the same dataset, compared key by key (type, value and absolute expiry time) because
//! the two implementations' DEBUG DIGEST bytes differ by design.

mod cluster_util;
mod common;
mod interop_util;

use common::{cli, Server, TempDir};
use interop_util::{in_sync, info, snapshot, snapshot_diff, Kind};
use std::path::Path;
use std::time::{Duration, Instant};

const PORT_LOW: u16 = 52500;
const PORT_HIGH: u16 = 53490;

fn start(dir: &TempDir, kind: Kind) -> Server {
    let flags = ["--enable-debug-command", "yes"];
    match kind {
        Kind::Keyslot => Server::keyslot(dir, &flags),
        Kind::Redis => {
            let port = common::free_port();
            let d = dir.path().join(format!("redis-{port}"));
            std::fs::create_dir_all(&d).expect("dir");
            let mut f = vec!["--save", "", "--appendonly", "no"];
            f.extend_from_slice(&flags);
            Server::start_in(Path::new("redis-server"), port, &d, &f)
        }
    }
}

fn run(c: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// One key of every value type both servers support, each in a small (listpack / intset) and a
/// large (hashtable / quicklist / skiplist) encoding, some with a TTL, and binary data.
fn populate(port: u16, p: &str) {
    let mut c = cluster_util::conn(port).expect("connect");
    let big: String = "x".repeat(100_000);
    run(&mut c, &["SET", &format!("{p}:str"), "hello"]);
    run(&mut c, &["SET", &format!("{p}:int"), "12345"]);
    run(&mut c, &["SET", &format!("{p}:big"), &big]);
    run(&mut c, &["SET", &format!("{p}:ex"), "v", "EX", "1000"]);
    run(&mut c, &["SET", &format!("{p}:px"), "v", "PX", "900000"]);
    run(
        &mut c,
        &["SET", &format!("{p}:pxat"), "v", "PXAT", "4102444800000"],
    );
    redis::cmd("SET")
        .arg(format!("{p}:bin"))
        .arg(&[0u8, 1, 2, 255, 13, 10][..])
        .query::<()>(&mut c)
        .expect("SET bin");
    run(&mut c, &["HSET", &format!("{p}:hash"), "a", "1", "b", "2"]);
    run(&mut c, &["RPUSH", &format!("{p}:list"), "a", "b", "c"]);
    run(&mut c, &["SADD", &format!("{p}:intset"), "1", "2", "3"]);
    run(&mut c, &["SADD", &format!("{p}:set"), "a", "b", "c"]);
    run(
        &mut c,
        &[
            "ZADD",
            &format!("{p}:zset"),
            "1",
            "a",
            "2.5",
            "b",
            "-3",
            "c",
        ],
    );
    for i in 0..300 {
        let (f, v) = (format!("f{i}"), format!("{i}"));
        run(&mut c, &["HSET", &format!("{p}:hash:big"), &f, &v]);
        run(&mut c, &["RPUSH", &format!("{p}:list:big"), &f]);
        run(&mut c, &["SADD", &format!("{p}:set:big"), &f]);
        run(&mut c, &["SADD", &format!("{p}:intset:big"), &v]);
        run(&mut c, &["ZADD", &format!("{p}:zset:big"), &v, &f]);
    }
    run(&mut c, &["EXPIRE", &format!("{p}:hash:big"), "5000"]);
    run(&mut c, &["PEXPIRE", &format!("{p}:zset"), "6000000"]);
    for i in 0..500 {
        run(&mut c, &["SET", &format!("{p}:k:{i}"), &format!("v{i}")]);
    }
    populate_newer_types(&mut c, p);
}

/// Streams (several listpack nodes, consumer groups with pending entries, deleted entries),
/// HyperLogLogs (sparse and dense), a geo set and bitmaps: the RDB payloads these travel in
/// (stream listpacks and groups, HLL and bitmap strings, the geo zset) must load on the other
/// kind of server.
fn populate_newer_types(c: &mut redis::Connection, p: &str) {
    let k = |s: &str| format!("{p}:{s}");
    for i in 1..=250 {
        let id = format!("{i}-1");
        run(
            c,
            &["XADD", &k("stream"), &id, "n", &i.to_string(), "pad", "xyz"],
        );
    }
    run(c, &["XDEL", &k("stream"), "7-1", "120-1"]);
    run(c, &["XGROUP", "CREATE", &k("stream"), "g1", "0"]);
    run(
        c,
        &[
            "XGROUP",
            "CREATE",
            &k("stream"),
            "g2",
            "100-1",
            "ENTRIESREAD",
            "99",
        ],
    );
    run(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "10",
            "STREAMS",
            &k("stream"),
            ">",
        ],
    );
    run(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "3",
            "STREAMS",
            &k("stream"),
            ">",
        ],
    );
    run(c, &["XACK", &k("stream"), "g1", "1-1", "2-1"]);
    run(
        c,
        &["XGROUP", "CREATECONSUMER", &k("stream"), "g2", "carol"],
    );
    run(c, &["XADD", &k("stream:small"), "1-1", "a", "1"]);
    run(c, &["PFADD", &k("hll"), "a", "b", "c"]);
    let many: Vec<String> = (0..3000).map(|i| format!("e{i}")).collect();
    let mut args = vec!["PFADD".to_string(), k("hll:dense")];
    args.extend(many);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(c, &args);
    run(c, &["PFCOUNT", &k("hll:dense")]);
    run(
        c,
        &[
            "GEOADD",
            &k("geo"),
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
    );
    run(c, &["SETBIT", &k("bits"), "1000", "1"]);
    run(
        c,
        &[
            "BITFIELD",
            &k("bitfield"),
            "SET",
            "u8",
            "0",
            "200",
            "SET",
            "i16",
            "8",
            "-5",
        ],
    );
}

/// Commands of the newer types whose effects Redis propagates in another form: XADD with an
/// auto ID (the ID goes out), group reads and claims (XCLAIM ... / XGROUP SETID), approximate
/// trims (exact ones go out), PFCOUNT storing its cache, GEOSEARCHSTORE, BITOP.
fn mutate_newer_types(c: &mut redis::Connection, p: &str) {
    let k = |s: &str| format!("{p}:{s}");
    run(c, &["XADD", &k("m:s"), "*", "f", "v"]);
    run(
        c,
        &["XADD", &k("m:s"), "MAXLEN", "~", "1000", "*", "f", "w"],
    );
    run(c, &["XGROUP", "CREATE", &k("m:s"), "g", "0"]);
    run(
        c,
        &["XREADGROUP", "GROUP", "g", "c1", "STREAMS", &k("m:s"), ">"],
    );
    run(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c2",
            "NOACK",
            "STREAMS",
            &k("m:s"),
            "0",
        ],
    );
    run(c, &["XAUTOCLAIM", &k("m:s"), "g", "c3", "0", "0"]);
    run(c, &["XTRIM", &k("stream"), "MAXLEN", "~", "200"]);
    run(c, &["XGROUP", "SETID", &k("stream"), "g2", "150-1"]);
    run(c, &["XGROUP", "DELCONSUMER", &k("stream"), "g1", "bob"]);
    run(c, &["PFADD", &k("m:hll"), "x", "y"]);
    run(c, &["PFMERGE", &k("m:hll:merged"), &k("m:hll"), &k("hll")]);
    run(c, &["PFCOUNT", &k("m:hll:merged")]);
    run(c, &["GEOADD", &k("geo"), "2.35", "48.85", "Paris"]);
    run(
        c,
        &[
            "GEOSEARCHSTORE",
            &k("m:geo:near"),
            &k("geo"),
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "300",
            "km",
            "ASC",
        ],
    );
    run(c, &["SETBIT", &k("m:b1"), "3", "1"]);
    run(c, &["SETBIT", &k("m:b2"), "5", "1"]);
    run(c, &["BITOP", "OR", &k("m:bor"), &k("m:b1"), &k("m:b2")]);
    run(c, &["BITFIELD", &k("bitfield"), "INCRBY", "u8", "0", "100"]);
}

/// Commands whose effects Redis propagates in another form, in a transaction and outside one.
fn mutate(port: u16, p: &str) {
    let mut c = cluster_util::conn(port).expect("connect");
    let k = |s: &str| format!("{p}:{s}");
    run(&mut c, &["SET", &k("m:counter"), "10"]);
    run(&mut c, &["INCRBYFLOAT", &k("m:counter"), "1.5"]);
    run(&mut c, &["EXPIRE", &k("m:counter"), "3000"]);
    run(&mut c, &["SET", &k("m:getex"), "v"]);
    run(&mut c, &["GETEX", &k("m:getex"), "EX", "4000"]);
    run(&mut c, &["SET", &k("m:persist"), "v", "EX", "100"]);
    run(&mut c, &["PERSIST", &k("m:persist")]);
    run(&mut c, &["SADD", &k("m:spop"), "a", "b", "c", "d"]);
    run(&mut c, &["SPOP", &k("m:spop")]);
    run(&mut c, &["SRANDMEMBER", &k("m:spop")]);
    run(&mut c, &["HSET", &k("m:h"), "f", "1.5"]);
    run(&mut c, &["HINCRBYFLOAT", &k("m:h"), "f", "2.25"]);
    run(&mut c, &["RPUSH", &k("m:l"), "a", "b", "c"]);
    run(&mut c, &["LMOVE", &k("m:l"), &k("m:l"), "LEFT", "RIGHT"]);
    run(&mut c, &["ZADD", &k("m:z"), "1", "a", "2", "b"]);
    run(&mut c, &["ZINCRBY", &k("m:z"), "3", "a"]);
    run(&mut c, &["ZPOPMIN", &k("m:z")]);
    run(&mut c, &["APPEND", &k("str"), " world"]);
    run(&mut c, &["SETRANGE", &k("str"), "0", "J"]);
    run(&mut c, &["RENAME", &k("set"), &k("set:renamed")]);
    run(&mut c, &["COPY", &k("list"), &k("list:copy")]);
    run(&mut c, &["DEL", &k("k:0"), &k("k:1")]);
    // A transaction: Redis propagates it wrapped in MULTI/EXEC.
    run(&mut c, &["MULTI"]);
    run(&mut c, &["SET", &k("tx:a"), "1"]);
    run(&mut c, &["INCR", &k("tx:a")]);
    run(&mut c, &["LPUSH", &k("tx:l"), "x", "y"]);
    run(&mut c, &["EXPIRE", &k("tx:l"), "7000"]);
    run(&mut c, &["EXEC"]);
    // Lazy expiry on the master becomes a DEL in the stream.
    run(&mut c, &["SET", &k("m:short"), "v", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(120));
    run(&mut c, &["GET", &k("m:short")]);
    mutate_newer_types(&mut c, p);
    // A big batch so the backlog carries real data across a link break.
    for i in 0..500 {
        run(&mut c, &["SET", &k(&format!("live:{i}")), &format!("{i}")]);
    }
}

fn wait_sync(master: &Server, replica: &Server, what: &str) {
    let ok = common::wait_until(Duration::from_secs(30), || {
        in_sync(master.port, replica.port)
    });
    assert!(
        ok,
        "{what}: replica {} never caught up with {}\nmaster log:\n{}\nreplica log:\n{}",
        replica.port,
        master.port,
        master.log(),
        replica.log()
    );
}

fn assert_same_dataset(master: &Server, replica: &Server, what: &str) {
    let (a, b) = (snapshot(master.port), snapshot(replica.port));
    let diff = snapshot_diff(&a, &b, 10);
    assert!(
        diff.is_empty(),
        "{what}: datasets differ ({} vs {} keys): {diff:#?}",
        a.len(),
        b.len()
    );
    eprintln!("{what}: {} keys equal (type, value, expiry)", a.len());
}

fn stat(port: u16, name: &str) -> u64 {
    info(port, "stats", name).parse().unwrap_or(0)
}

fn full_then_partial(master_kind: Kind, replica_kind: Kind) {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let t0 = Instant::now();
    let dir = TempDir::new("interop-repl");
    let master = start(&dir, master_kind);
    let replica = start(&dir, replica_kind);
    populate(master.port, "pre");

    // Full sync.
    let r = replica.cli(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    assert_eq!(r, "OK");
    wait_sync(&master, &replica, "full sync");
    assert_eq!(
        stat(master.port, "sync_full"),
        1,
        "{master_kind:?} master's sync_full"
    );
    assert_same_dataset(&master, &replica, "after full sync");
    if master_kind == Kind::Redis {
        // The keyslot replica announces `capa eof`, so Redis streams the RDB diskless (the
        // `$EOF:<mark>` form) instead of forking a dump to disk for it.
        assert!(
            master
                .log()
                .contains("Starting BGSAVE for SYNC with target: replicas sockets"),
            "redis-server did not use a diskless sync for the keyslot replica:\n{}",
            master.log()
        );
    }

    // The live stream.
    populate(master.port, "live");
    mutate(master.port, "live");
    wait_sync(&master, &replica, "stream");
    assert_same_dataset(&master, &replica, "after the command stream");
    assert_eq!(cli(replica.port, &["EXISTS", "live:m:short"]), "0");

    // Break the link from the replica's side (Redis's and keyslot's CLIENT KILL TYPE master),
    // write while it is down, and expect a partial resync.
    let partial_before = stat(master.port, "sync_partial_ok");
    let killed = replica.cli(&["CLIENT", "KILL", "TYPE", "master"]);
    assert_eq!(killed, "1", "CLIENT KILL of the replication link");
    populate(master.port, "gap");
    mutate(master.port, "gap");
    wait_sync(&master, &replica, "partial resync");
    assert!(
        common::wait_until(Duration::from_secs(5), || stat(
            master.port,
            "sync_partial_ok"
        ) == partial_before + 1),
        "{master_kind:?} master's sync_partial_ok did not go {partial_before} -> +1:\n{}",
        master.log()
    );
    assert_eq!(
        stat(master.port, "sync_full"),
        1,
        "the resync after the link break was a full one"
    );
    assert!(
        replica
            .log()
            .contains("Successful partial resynchronization with master"),
        "the {replica_kind:?} replica's log shows no partial resync:\n{}",
        replica.log()
    );
    assert_same_dataset(&master, &replica, "after the partial resync");
    eprintln!(
        "{master_kind:?} master -> {replica_kind:?} replica: full, stream, partial OK in {} ms",
        t0.elapsed().as_millis()
    );
}

#[test]
fn redis_replica_of_keyslot_master_full_then_partial() {
    if !interop_util::tools_present("redis_replica_of_keyslot_master_full_then_partial") {
        return;
    }
    full_then_partial(Kind::Keyslot, Kind::Redis);
}

#[test]
fn keyslot_replica_of_redis_master_full_then_partial() {
    if !interop_util::tools_present("keyslot_replica_of_redis_master_full_then_partial") {
        return;
    }
    full_then_partial(Kind::Redis, Kind::Keyslot);
}

/// A Redis master streams commands keyslot does not implement (here `MOVE`, as keyslot has one
/// database, as Redis Cluster does): the
/// keyslot replica cannot apply them, says so in its log as Redis does for a command its master
/// sent that failed, keeps the link up, and applies what follows (bitmap and HyperLogLog
/// commands included).
#[test]
fn keyslot_replica_logs_commands_it_cannot_apply() {
    if !interop_util::tools_present("keyslot_replica_logs_commands_it_cannot_apply") {
        return;
    }
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let dir = TempDir::new("interop-repl-unknown");
    let master = start(&dir, Kind::Redis);
    let replica = start(&dir, Kind::Keyslot);
    let r = replica.cli(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    assert_eq!(r, "OK");
    wait_sync(&master, &replica, "full sync");
    master.cli(&["SET", "moved", "1"]);
    wait_sync(&master, &replica, "stream");
    assert_eq!(replica.cli(&["EXISTS", "moved"]), "1");
    master.cli(&["MOVE", "moved", "1"]);
    master.cli(&["SETBIT", "bits", "7", "1"]);
    master.cli(&["PFADD", "hll", "a", "b"]);
    master.cli(&["SET", "after", "1"]);
    wait_sync(&master, &replica, "stream");
    assert_eq!(replica.cli(&["GET", "after"]), "1");
    assert_eq!(replica.cli(&["GET", "bits"]), master.cli(&["GET", "bits"]));
    assert_eq!(replica.cli(&["PFCOUNT", "hll"]), "2");
    let log = replica.log();
    assert!(
        log.lines()
            .any(|l| l.contains("== CRITICAL ==") && l.to_ascii_uppercase().contains("'MOVE'")),
        "no CRITICAL line for MOVE in the replica's log:\n{log}"
    );
    // The key MOVE took out of database 0 is still on the replica: the divergence the log line
    // announces.
    assert_eq!(replica.cli(&["EXISTS", "moved"]), "1");
    assert_eq!(master.cli(&["EXISTS", "moved"]), "0");
}

//! maxmemory and eviction with real keyslot-server processes, driven with the `redis` crate and
//! the real redis-cli; redis-server 7.0.15 is the reference for reply bytes and for the
//! used_memory comparison.
//!
//! Ports come from this file's own range (43000 + 20 per process id modulo 50, bus ports at
//! +10000), away from the other test binaries' 20000-29000.

mod cluster_util;
mod common;

use cluster_util::info_field;
use common::{raw_exchange, wait_until, Server, TempDir};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// A free port (and port + 10000) from 43000 up.
fn port() -> u16 {
    if NEXT_PORT.load(Ordering::SeqCst) == 0 {
        let base = 43000 + (std::process::id() % 50) as u16 * 20;
        let _ = NEXT_PORT.compare_exchange(0, base, Ordering::SeqCst, Ordering::SeqCst);
    }
    loop {
        let p = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
        if p > 44990 {
            NEXT_PORT.store(43000, Ordering::SeqCst);
            continue;
        }
        let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free(p) && free(p + 10000) {
            return p;
        }
    }
}

fn keyslot(dir: &TempDir, extra: &[&str]) -> Server {
    let p = port();
    let d = dir.path().join(p.to_string());
    std::fs::create_dir_all(&d).expect("node dir");
    let mut flags = vec!["--save", "", "--enable-debug-command", "yes"];
    flags.extend_from_slice(extra);
    Server::start_in(&common::keyslot_bin(), p, &d, &flags)
}

fn redis_server(dir: &TempDir, extra: &[&str]) -> Server {
    let p = port();
    let d = dir.path().join(format!("redis-{p}"));
    std::fs::create_dir_all(&d).expect("node dir");
    let mut flags = vec!["--save", "", "--appendonly", "no"];
    flags.extend_from_slice(extra);
    Server::start_in(std::path::Path::new("redis-server"), p, &d, &flags)
}

fn tools_present(test: &str) -> bool {
    common::require_tools(test, &["redis-cli", "redis-server"])
}

fn conn(s: &Server) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{}/", s.port))
        .and_then(|c| c.get_connection())
        .expect("connect")
}

fn info_u64(c: &mut redis::Connection, section: &str, name: &str) -> u64 {
    let text: String = redis::cmd("INFO").arg(section).query(c).expect("INFO");
    info_field(&text, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has no {name}"))
}

fn used(c: &mut redis::Connection) -> u64 {
    info_u64(c, "memory", "used_memory")
}

fn dbsize(c: &mut redis::Connection) -> u64 {
    redis::cmd("DBSIZE").query(c).expect("DBSIZE")
}

fn exists(c: &mut redis::Connection, key: &str) -> bool {
    let n: i64 = redis::cmd("EXISTS").arg(key).query(c).expect("EXISTS");
    n == 1
}

/// Sets maxmemory to what the node uses now plus `room` bytes, and the policy.
fn limit(c: &mut redis::Connection, room: u64, policy: &str) -> u64 {
    let max = used(c) + room;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(max)
        .arg("maxmemory-policy")
        .arg(policy)
        .query(c)
        .expect("CONFIG SET");
    max
}

/// SETs `prefix:i` for i in range (with `EX ttl` when given) in pipelined batches; every reply
/// must be OK, and used_memory is checked against `max` after each batch.
fn fill(
    c: &mut redis::Connection,
    prefix: &str,
    range: std::ops::Range<u64>,
    ttl: Option<u64>,
    max: u64,
) {
    let value = "v".repeat(100);
    let ids: Vec<u64> = range.collect();
    for batch in ids.chunks(200) {
        let mut p = redis::pipe();
        for i in batch {
            let cmd = p.cmd("SET").arg(format!("{prefix}:{i}")).arg(&value);
            if let Some(t) = ttl {
                cmd.arg("EX").arg(t);
            }
        }
        let r: redis::RedisResult<()> = p.query(c);
        if let Err(e) = r {
            let u = used(c);
            let n = dbsize(c);
            panic!("{prefix} {batch:?}: SET over the limit must evict, not fail: {e:?} (used_memory {u}, maxmemory {max}, {n} keys)");
        }
        let u = used(c);
        assert!(u <= max, "used_memory {u} over maxmemory {max}");
    }
}

/// Counts the keys `prefix:i` of `range` that still exist.
fn surviving(c: &mut redis::Connection, prefix: &str, range: std::ops::Range<u64>) -> usize {
    let mut p = redis::pipe();
    for i in range {
        p.cmd("EXISTS").arg(format!("{prefix}:{i}"));
    }
    let found: Vec<i64> = p.query(c).expect("EXISTS");
    found.iter().filter(|&&n| n == 1).count()
}

const OOM: &[u8] = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";

#[test]
fn noeviction_answers_oom_while_reads_and_deletes_work() {
    if !tools_present("noeviction") {
        return;
    }
    let dir = TempDir::new("mm-noevict");
    let s = keyslot(&dir, &[]);
    let mut c = conn(&s);
    let max = limit(&mut c, 200_000, "noeviction");
    let value = "v".repeat(100);
    let mut written = 0u64;
    let mut refused = false;
    for i in 0..100_000u64 {
        let r: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("k:{i}"))
            .arg(&value)
            .query(&mut c);
        match r {
            Ok(()) => written += 1,
            Err(e) => {
                assert_eq!(e.code(), Some("OOM"), "{e:?}");
                refused = true;
                break;
            }
        }
    }
    assert!(refused, "never refused after {written} keys");
    let u = used(&mut c);
    println!("noeviction: {written} keys written, used_memory {u}, maxmemory {max}");
    // The last accepted write may cross the limit (Redis checks before a command), never more.
    assert!(u <= max + 400, "{u} > {max}");
    // The exact bytes, for a deny-oom command, inside MULTI and for an EXEC of a write.
    let (reply, _) = raw_exchange(s.port, b"SET another v\r\n", Duration::from_secs(2));
    assert_eq!(reply, OOM);
    // Inside MULTI every command but EXEC / DISCARD is refused, which dooms the transaction.
    let multi = b"MULTI\r\nGET k:0\r\nEXEC\r\nDEL k:1\r\n";
    let (ks_multi, _) = raw_exchange(s.port, multi, Duration::from_secs(2));
    // Reads and deletions still work, and no key was evicted.
    let v: String = redis::cmd("GET").arg("k:0").query(&mut c).expect("GET");
    assert_eq!(v, value);
    // (The MULTI exchange deleted k:1.)
    assert_eq!(dbsize(&mut c), written - 1);
    assert_eq!(info_u64(&mut c, "stats", "evicted_keys"), 0);
    let mut p = redis::pipe();
    for i in 0..written / 4 {
        p.cmd("DEL").arg(format!("k:{i}"));
    }
    let _: Vec<i64> = p.query(&mut c).expect("DEL");
    let r: redis::RedisResult<()> = redis::cmd("SET").arg("after-del").arg("v").query(&mut c);
    assert!(r.is_ok(), "{r:?}");

    // redis-server 7.0.15 answers the same bytes.
    let r = redis_server(&dir, &[]);
    assert_eq!(r.cli(&["MSET", "k:0", "v", "k:1", "v"]), "OK");
    assert_eq!(r.cli(&["CONFIG", "SET", "maxmemory", "1"]), "OK");
    let (reply, _) = raw_exchange(r.port, b"SET another v\r\n", Duration::from_secs(2));
    assert_eq!(reply, OOM);
    let (redis_multi, _) = raw_exchange(r.port, multi, Duration::from_secs(2));
    assert_eq!(
        String::from_utf8_lossy(&ks_multi),
        String::from_utf8_lossy(&redis_multi)
    );
}

#[test]
fn allkeys_policies_stay_under_the_limit_and_count_evictions() {
    if !tools_present("allkeys") {
        return;
    }
    let dir = TempDir::new("mm-allkeys");
    for policy in ["allkeys-random", "allkeys-lru", "allkeys-lfu"] {
        let s = keyslot(&dir, &[]);
        let mut c = conn(&s);
        let max = limit(&mut c, 500_000, policy);
        fill(&mut c, "k", 0..6000, None, max);
        let n = dbsize(&mut c);
        let evicted = info_u64(&mut c, "stats", "evicted_keys");
        let u = used(&mut c);
        println!(
            "{policy}: 6000 written, {n} kept, evicted_keys {evicted}, used_memory {u} <= {max}"
        );
        assert!(n < 6000 && n > 1000, "{n}");
        assert_eq!(evicted, 6000 - n);
        assert!(u <= max);
    }
}

#[test]
fn volatile_policies_never_evict_keys_without_ttl() {
    if !tools_present("volatile") {
        return;
    }
    let dir = TempDir::new("mm-volatile");
    for policy in [
        "volatile-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-ttl",
    ] {
        let s = keyslot(&dir, &[]);
        let mut c = conn(&s);
        let max = limit(&mut c, 600_000, policy);
        // Persistent keys first, then keys with a TTL interleaved with more persistent ones.
        fill(&mut c, "keep", 0..500, None, max);
        for round in 0..8u64 {
            fill(
                &mut c,
                "ttl",
                round * 500..(round + 1) * 500,
                Some(100_000),
                max,
            );
            fill(
                &mut c,
                "keep",
                500 + round * 50..500 + (round + 1) * 50,
                None,
                max,
            );
        }
        let kept = surviving(&mut c, "keep", 0..900);
        let ttl_left = surviving(&mut c, "ttl", 0..4000);
        let evicted = info_u64(&mut c, "stats", "evicted_keys");
        println!("{policy}: persistent kept {kept}/900, with TTL kept {ttl_left}/4000, evicted_keys {evicted}");
        assert_eq!(kept, 900, "{policy} evicted a key without TTL");
        assert!(evicted > 0);
        assert_eq!(evicted as usize, 4000 - ttl_left);
        // Only persistent keys left over the limit: writes are refused.
        let _: () = redis::cmd("DEL").arg("nothing").query(&mut c).expect("DEL");
        let mut p = redis::pipe();
        for i in 0..4000 {
            p.cmd("PERSIST").arg(format!("ttl:{i}"));
        }
        let _: Vec<i64> = p.query(&mut c).expect("PERSIST");
        let value = "v".repeat(100);
        let mut refused = None;
        for i in 0..5000 {
            let r: redis::RedisResult<()> = redis::cmd("SET")
                .arg(format!("more:{i}"))
                .arg(&value)
                .query(&mut c);
            if let Err(e) = r {
                refused = Some(e);
                break;
            }
        }
        let e = refused.expect("no volatile key left: SET must be refused");
        assert_eq!(e.code(), Some("OOM"), "{e:?}");
        assert_eq!(surviving(&mut c, "keep", 0..900), 900);
    }
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    if !tools_present("volatile-ttl") {
        return;
    }
    let dir = TempDir::new("mm-ttl");
    let s = keyslot(&dir, &[]);
    let mut c = conn(&s);
    let max = limit(&mut c, 600_000, "volatile-ttl");
    // Key i expires in 10000 + i seconds: the low indexes expire first.
    let value = "v".repeat(100);
    for batch in (0..6000u64).collect::<Vec<_>>().chunks(200) {
        let mut p = redis::pipe();
        for i in batch {
            p.cmd("SET")
                .arg(format!("t:{i}"))
                .arg(&value)
                .arg("EX")
                .arg(10_000 + i);
        }
        let _: () = p.query(&mut c).expect("SET");
    }
    assert!(used(&mut c) <= max);
    let total = surviving(&mut c, "t", 0..6000);
    let late_half = surviving(&mut c, "t", 3000..6000);
    let first_tenth = surviving(&mut c, "t", 0..600);
    println!("volatile-ttl: {total} of 6000 kept, {late_half} of them in the later-expiring half, {first_tenth} of the first 600");
    assert!(total < 6000);
    // Sampled, not exact: nearly every survivor is among the later expiries.
    assert!(
        late_half as f64 >= total as f64 * 0.9,
        "{late_half} of {total}"
    );
    assert!(first_tenth <= 30, "{first_tenth}");
}

/// used_memory taken by one key as [`fill`] writes them (stored, measured, deleted).
fn key_cost(c: &mut redis::Connection, ttl: Option<u64>) -> u64 {
    let before = used(c);
    fill(c, "probe", 0..100, ttl, u64::MAX);
    let cost = used(c).saturating_sub(before) / 100;
    let _: () = redis::cmd("FLUSHALL").query(c).expect("FLUSHALL");
    assert!(cost > 0, "SETs must take memory");
    cost
}

/// Runs `GET` on the hot keys `rounds` times.
fn touch_hot(c: &mut redis::Connection, hot: std::ops::Range<u64>, rounds: usize) {
    for _ in 0..rounds {
        let mut p = redis::pipe();
        for i in hot.clone() {
            p.cmd("GET").arg(format!("hot:{i}"));
        }
        let _: Vec<Option<String>> = p.query(c).expect("GET");
    }
}

#[test]
fn lru_keeps_the_recently_touched_hot_set() {
    if !tools_present("lru hot set") {
        return;
    }
    let dir = TempDir::new("mm-lru");
    for (policy, ttl) in [("allkeys-lru", None), ("volatile-lru", Some(100_000))] {
        let s = keyslot(&dir, &[]);
        let mut c = conn(&s);
        // Room for about 4000 keys of this shape, so that the 3600 hot and cold keys fill
        // most of it and the 2500 new ones must evict (sized from the server's own per-key
        // cost, which follows its memory layout).
        let room = 4000 * key_cost(&mut c, ttl);
        let max = limit(&mut c, room, policy);
        // The hot keys and a cold set that fills most of the room.
        fill(&mut c, "hot", 0..100, ttl, max);
        fill(&mut c, "cold", 0..3500, ttl, max);
        assert_eq!(
            info_u64(&mut c, "stats", "evicted_keys"),
            0,
            "the first fill fits"
        );
        // The LRU clock counts seconds: let the cold set age, then touch the hot keys.
        std::thread::sleep(Duration::from_millis(2200));
        touch_hot(&mut c, 0..100, 1);
        let idle: i64 = redis::cmd("OBJECT")
            .arg("IDLETIME")
            .arg("cold:0")
            .query(&mut c)
            .expect("IDLETIME");
        assert!(idle >= 2, "cold idle {idle}");
        fill(&mut c, "new", 0..2500, ttl, max);
        let hot = surviving(&mut c, "hot", 0..100);
        let new = surviving(&mut c, "new", 0..2500);
        let cold = surviving(&mut c, "cold", 0..3500);
        let evicted = info_u64(&mut c, "stats", "evicted_keys");
        println!("{policy}: hot kept {hot}/100, new kept {new}/2500, cold kept {cold}/3500, evicted_keys {evicted}");
        assert!(evicted > 1000);
        assert!(hot >= 97, "{policy}: only {hot} hot keys kept");
        assert!(new >= 2400, "{policy}: only {new} new keys kept");
    }
}

#[test]
fn lfu_keeps_the_frequently_read_keys() {
    if !tools_present("lfu") {
        return;
    }
    let dir = TempDir::new("mm-lfu");
    for (policy, ttl) in [("allkeys-lfu", None), ("volatile-lfu", Some(100_000))] {
        let s = keyslot(&dir, &[]);
        let mut c = conn(&s);
        let max = limit(&mut c, 800_000, policy);
        fill(&mut c, "hot", 0..100, ttl, max);
        touch_hot(&mut c, 0..100, 100);
        let freq: i64 = redis::cmd("OBJECT")
            .arg("FREQ")
            .arg("hot:0")
            .query(&mut c)
            .expect("FREQ");
        let cold_freq: i64 = {
            let _: () = redis::cmd("SET")
                .arg("probe")
                .arg("v")
                .query(&mut c)
                .expect("SET");
            redis::cmd("OBJECT")
                .arg("FREQ")
                .arg("probe")
                .query(&mut c)
                .expect("FREQ")
        };
        println!(
            "{policy}: OBJECT FREQ of a hot key after 100 reads {freq}, of a new key {cold_freq}"
        );
        assert!(freq > 5 && cold_freq == 5, "{freq} {cold_freq}");
        fill(&mut c, "cold", 0..8000, ttl, max);
        let hot = surviving(&mut c, "hot", 0..100);
        let cold = surviving(&mut c, "cold", 0..8000);
        let evicted = info_u64(&mut c, "stats", "evicted_keys");
        println!("{policy}: hot kept {hot}/100, cold kept {cold}/8000, evicted_keys {evicted}");
        assert!(evicted > 3000);
        assert!(hot >= 97, "{policy}: only {hot} hot keys kept");
    }
}

#[test]
fn replica_of_an_evicting_master_ends_with_the_same_keys() {
    if !tools_present("replica") {
        return;
    }
    let dir = TempDir::new("mm-replica");
    let master = keyslot(&dir, &[]);
    let replica = keyslot(&dir, &[]);
    let mut m = conn(&master);
    let mut r = conn(&replica);
    let max = limit(&mut m, 500_000, "allkeys-lru");
    // The replica has a smaller limit but ignores it (replica-ignore-maxmemory yes).
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(max / 2)
        .query(&mut r)
        .expect("CONFIG SET");
    let ok: String = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port)
        .query(&mut r)
        .expect("REPLICAOF");
    assert_eq!(ok, "OK");
    assert!(wait_until(Duration::from_secs(20), || {
        info_field(&replica.cli(&["INFO", "replication"]), "master_link_status").as_deref()
            == Some("up")
    }));
    fill(&mut m, "k", 0..6000, None, max);
    fill(&mut m, "e", 0..1000, Some(100_000), max);
    let offset = |c: &mut redis::Connection| info_u64(c, "replication", "master_repl_offset");
    assert!(wait_until(Duration::from_secs(20), || offset(&mut r) == offset(&mut m)));
    let md: String = redis::cmd("DEBUG")
        .arg("DIGEST")
        .query(&mut m)
        .expect("DIGEST");
    let rd: String = redis::cmd("DEBUG")
        .arg("DIGEST")
        .query(&mut r)
        .expect("DIGEST");
    let (mn, rn) = (dbsize(&mut m), dbsize(&mut r));
    let (me, re) = (
        info_u64(&mut m, "stats", "evicted_keys"),
        info_u64(&mut r, "stats", "evicted_keys"),
    );
    println!("master: {mn} keys, evicted {me}, digest {md}; replica: {rn} keys, evicted {re}, digest {rd}");
    assert!(me > 0);
    assert_eq!(re, 0, "the replica evicts nothing on its own");
    assert_eq!((mn, &md), (rn, &rd));
    assert!(exists(&mut r, "e:999"));
}

#[test]
fn config_and_object_replies_match_redis() {
    if !tools_present("config") {
        return;
    }
    let dir = TempDir::new("mm-config");
    let flags = [
        "--maxmemory",
        "100mb",
        "--maxmemory-samples",
        "7",
        "--lfu-log-factor",
        "3",
    ];
    let k = keyslot(&dir, &flags);
    let r = redis_server(&dir, &flags);
    let same = |args: &[&str]| {
        let a = k.cli(args);
        let b = r.cli(args);
        assert_eq!(a, b, "{args:?}");
        a
    };
    // CONFIG GET pairs come in hash order from Redis: compared as sorted pairs.
    let same_pairs = |args: &[&str]| {
        let pairs = |text: String| {
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            let mut v: Vec<(String, String)> = lines
                .chunks(2)
                .map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or_default()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(pairs(k.cli(args)), pairs(r.cli(args)), "{args:?}");
    };
    same_pairs(&["CONFIG", "GET", "maxmemory*"]);
    same_pairs(&["CONFIG", "GET", "lfu-*"]);
    same_pairs(&["CONFIG", "GET", "*ignore-maxmemory"]);
    same(&["CONFIG", "SET", "maxmemory", "2gb"]);
    same(&["CONFIG", "GET", "maxmemory"]);
    same(&["CONFIG", "SET", "maxmemory-policy", "bogus"]);
    same(&["CONFIG", "SET", "maxmemory-samples", "0"]);
    same(&["CONFIG", "SET", "maxmemory-eviction-tenacity", "101"]);
    same(&["SET", "k", "v"]);
    same(&["OBJECT", "FREQ", "k"]);
    same(&["OBJECT", "IDLETIME", "k"]);
    same(&["OBJECT", "FREQ", "missing"]);
    same(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    same(&["OBJECT", "IDLETIME", "k"]);
    same(&["SET", "fresh", "v"]);
    same(&["OBJECT", "FREQ", "fresh"]);
    for name in ["maxmemory", "maxmemory_human", "maxmemory_policy"] {
        let a = info_field(&k.cli(&["INFO", "memory"]), name);
        let b = info_field(&r.cli(&["INFO", "memory"]), name);
        assert_eq!(a, b, "{name}");
    }
    for name in [
        "used_memory",
        "used_memory_human",
        "mem_fragmentation_ratio",
        "evicted_keys",
    ] {
        let section = if name == "evicted_keys" {
            "stats"
        } else {
            "memory"
        };
        assert!(
            info_field(&k.cli(&["INFO", section]), name).is_some(),
            "{name}"
        );
    }
}

/// used_memory for the same 100,000 keys on keyslot and on redis-server 7.0.15, both cluster
/// nodes owning every slot (printed for the report; the check is only that both are sane).
#[test]
fn used_memory_of_100k_keys_beside_redis() {
    if !tools_present("100k") {
        return;
    }
    let dir = TempDir::new("mm-100k");
    let cluster = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
    ];
    let k = keyslot(&dir, &cluster);
    let r = redis_server(&dir, &cluster);
    let mut rows = Vec::new();
    for (name, s) in [("keyslot", &k), ("redis-server", &r)] {
        assert_eq!(s.cli(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]), "OK");
        let mut c = conn(s);
        assert!(wait_until(Duration::from_secs(10), || {
            info_field(&s.cli(&["CLUSTER", "INFO"]), "cluster_state").as_deref() == Some("ok")
        }));
        let empty = used(&mut c);
        let rss_empty = info_u64(&mut c, "memory", "used_memory_rss");
        let value = "x".repeat(16);
        for batch in (0..100_000u64).collect::<Vec<_>>().chunks(1000) {
            let mut p = redis::pipe();
            for i in batch {
                p.cmd("SET").arg(format!("key:{i}")).arg(&value);
            }
            let _: () = p.query(&mut c).expect("SET");
        }
        let mut p = redis::pipe();
        for i in 0..10_000u64 {
            p.cmd("EXPIRE").arg(format!("key:{i}")).arg(100_000);
        }
        let _: Vec<i64> = p.query(&mut c).expect("EXPIRE");
        assert_eq!(dbsize(&mut c), 100_000);
        let loaded = used(&mut c);
        let rss = info_u64(&mut c, "memory", "used_memory_rss");
        let usage: i64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg("key:50000")
            .query(&mut c)
            .expect("MEMORY USAGE");
        rows.push((name, empty, loaded, rss_empty, rss, usage));
    }
    println!("used_memory for 100,000 keys key:0..key:99999 -> 16-byte values, 10,000 with a TTL, cluster mode");
    println!(
        "{:<14}{:>10}{:>10}{:>9}{:>11}{:>11}{:>9}{:>7}",
        "server", "used empty", "loaded", "per key", "rss empty", "rss loaded", "rss/key", "USAGE"
    );
    for (name, empty, loaded, rss_empty, rss, usage) in &rows {
        println!(
            "{:<14}{:>10}{:>10}{:>9.1}{:>11}{:>11}{:>9.1}{:>7}",
            name,
            empty,
            loaded,
            (loaded - empty) as f64 / 100_000.0,
            rss_empty,
            rss,
            (*rss as f64 - *rss_empty as f64) / 100_000.0,
            usage
        );
    }
    for (_, empty, loaded, _, _, _) in &rows {
        assert!(loaded > empty);
    }
}

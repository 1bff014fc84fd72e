//! Transactions, pub/sub and blocking pops on a six-node keyslot cluster (three masters with a
//! replica each, made by `redis-cli --cluster create`):
//!
//! - `redis-benchmark --cluster -q` with its default test list runs clean;
//! - a PUBLISH on one node reaches subscribers on other nodes (cluster bus PUBLISH), an
//!   SPUBLISH on a master reaches an SSUBSCRIBE on its replica (PUBLISHSHARD), SPUBLISH to a node
//!   outside the shard is redirected;
//! - MULTI/EXEC: MOVED and CROSSSLOT while queueing abort with EXECABORT, commands on two slots
//!   of one node get CROSSSLOT at EXEC, a same-slot transaction runs and reaches the replica;
//! - a BRPOP blocked on a master gets -MOVED when CLUSTER FAILOVER on its replica takes the slot
//!   over, and a BRPOP blocked on the new master gets -CLUSTERDOWN once another shard is lost.

mod cluster_util;
mod common;

use cluster_util::{key_slot, query_str, run_with_timeout, Cluster, NodeLine};
use common::{resp_command, wait_until, RawConn, Resp};
use std::process::Command;
use std::time::{Duration, Instant};

const NODE_TIMEOUT_MS: u64 = 2000;

fn tools_present() -> bool {
    let ok = common::have("redis-cli") && common::have("redis-benchmark");
    if !ok {
        eprintln!("skipping: redis-cli / redis-benchmark not installed");
    }
    ok
}

/// (master index, replica index, master line) of the shard serving `slot`.
fn shard_of(c: &Cluster, slot: u16) -> (usize, usize, NodeLine) {
    let view = c.view(0).expect("CLUSTER NODES");
    let master = view
        .iter()
        .find(|n| n.is_master() && n.owns(slot))
        .unwrap_or_else(|| panic!("no owner of slot {slot}:\n{}", c.dump()))
        .clone();
    let replica = view
        .iter()
        .find(|n| n.master.as_deref() == Some(master.id.as_str()))
        .unwrap_or_else(|| panic!("master of slot {slot} has no replica:\n{}", c.dump()));
    (
        c.index_of_port(master.port),
        c.index_of_port(replica.port),
        master,
    )
}

fn text(r: &Resp) -> String {
    match r {
        Resp::Simple(b) | Resp::Error(b) | Resp::Bulk(Some(b)) => {
            String::from_utf8_lossy(b).into_owned()
        }
        other => format!("{other:?}"),
    }
}

fn bulk(s: &str) -> Resp {
    Resp::Bulk(Some(s.as_bytes().to_vec()))
}

fn conn_with_timeout(port: u16, secs: u64) -> RawConn {
    let c = RawConn::connect(port);
    c.stream
        .set_read_timeout(Some(Duration::from_secs(secs)))
        .expect("timeout");
    c
}

#[test]
fn benchmark_pubsub_and_transactions_on_a_cluster() {
    if !tools_present() {
        return;
    }
    let _g = cluster_util::serial();
    let c = Cluster::six_node("txps", NODE_TIMEOUT_MS);

    // --- redis-benchmark --cluster with its default test list.
    let mut cmd = Command::new("redis-benchmark");
    cmd.args(["--cluster", "-q", "-n", "2000", "-p"])
        .arg(c.port(0).to_string());
    let (out, killed) = run_with_timeout(&mut cmd, Duration::from_secs(180));
    let stdout = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("[txps] redis-benchmark --cluster:\n{stdout}\n{stderr}");
    assert!(!killed, "redis-benchmark did not finish:\n{}", c.dump());
    assert!(out.status.success(), "redis-benchmark failed: {stderr}");
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "LPUSH",
        "RPUSH",
        "LPOP",
        "RPOP",
        "SADD",
        "HSET",
        "SPOP",
        "ZADD",
        "ZPOPMIN",
        "LPUSH (needed to benchmark LRANGE)",
        "LRANGE_100 (first 100 elements)",
        "LRANGE_300 (first 300 elements)",
        "LRANGE_500 (first 500 elements)",
        "LRANGE_600 (first 600 elements)",
        "MSET (10 keys)",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{test}: ")) && l.contains("requests per second")),
            "no result line for {test} in:\n{stdout}"
        );
    }
    for bad in ["ERR", "MOVED", "CLUSTERDOWN", "Error"] {
        assert!(
            !stdout.contains(bad) && !stderr.contains(bad),
            "{bad} in redis-benchmark output:\n{stdout}\n{stderr}"
        );
    }

    // --- PUBLISH on node 0 reaches subscribers on every other node.
    let mut subs: Vec<RawConn> = (1..6).map(|i| conn_with_timeout(c.port(i), 10)).collect();
    for (n, s) in subs.iter_mut().enumerate() {
        if n % 2 == 0 {
            s.call(&["SUBSCRIBE", "news"]);
        } else {
            s.call(&["HELLO", "3"]);
            s.call(&["PSUBSCRIBE", "ne*"]);
        }
    }
    let mut publisher = RawConn::connect(c.port(0));
    let t0 = Instant::now();
    let (r, _) = publisher.call(&["PUBLISH", "news", "hello"]);
    assert_eq!(r, Resp::Int(0), "no local subscribers on node 0");
    for (n, s) in subs.iter_mut().enumerate() {
        let (msg, _) = s.read_reply();
        if n % 2 == 0 {
            assert_eq!(
                msg,
                Resp::Array(Some(vec![bulk("message"), bulk("news"), bulk("hello")]))
            );
        } else {
            assert_eq!(
                msg,
                Resp::Push(vec![
                    bulk("pmessage"),
                    bulk("ne*"),
                    bulk("news"),
                    bulk("hello")
                ])
            );
        }
    }
    eprintln!(
        "[txps] PUBLISH on node 0 reached 5 subscribers on 5 other nodes in {} ms",
        t0.elapsed().as_millis()
    );
    // A local subscriber counts in the reply.
    let (r, _) = subs[0].call(&["PING"]);
    assert_eq!(r, Resp::Array(Some(vec![bulk("pong"), bulk("")])));
    let mut local = RawConn::connect(c.port(1));
    let (r, _) = local.call(&["PUBLISH", "news", "again"]);
    assert_eq!(r, Resp::Int(1));
    drop(subs);

    // --- SPUBLISH on a master reaches SSUBSCRIBE on its replica.
    let chan = "orders";
    let slot = key_slot(chan.as_bytes());
    let (m, r_idx, _) = shard_of(&c, slot);
    let mut on_replica = conn_with_timeout(c.port(r_idx), 10);
    let (conf, _) = on_replica.call(&["SSUBSCRIBE", chan]);
    assert_eq!(
        conf,
        Resp::Array(Some(vec![bulk("ssubscribe"), bulk(chan), Resp::Int(1)]))
    );
    let mut on_master = RawConn::connect(c.port(m));
    let (r, _) = on_master.call(&["SPUBLISH", chan, "paid"]);
    assert_eq!(r, Resp::Int(0));
    let (msg, _) = on_replica.read_reply();
    assert_eq!(
        msg,
        Resp::Array(Some(vec![bulk("smessage"), bulk(chan), bulk("paid")]))
    );
    // SPUBLISH on the replica itself is served there (and reaches its own subscriber).
    let mut replica_pub = RawConn::connect(c.port(r_idx));
    let (r, _) = replica_pub.call(&["SPUBLISH", chan, "local"]);
    assert_eq!(r, Resp::Int(1));
    let (msg, _) = on_replica.read_reply();
    assert_eq!(
        msg,
        Resp::Array(Some(vec![bulk("smessage"), bulk(chan), bulk("local")]))
    );
    // Outside the shard: MOVED to the master.
    let other = (0..6).find(|&i| i != m && i != r_idx).unwrap();
    let mut elsewhere = RawConn::connect(c.port(other));
    let (r, _) = elsewhere.call(&["SPUBLISH", chan, "x"]);
    assert_eq!(
        text(&r),
        format!("MOVED {slot} 127.0.0.1:{}", c.port(m)),
        "SPUBLISH outside the shard"
    );
    let (r, _) = elsewhere.call(&["SSUBSCRIBE", chan]);
    assert!(text(&r).starts_with("MOVED "), "{r:?}");

    // --- MULTI / EXEC routing.
    let key = "account";
    let kslot = key_slot(key.as_bytes());
    let (km, kr, kline) = shard_of(&c, kslot);
    let mut tx = RawConn::connect(c.port(km));
    // A key served elsewhere: MOVED while queueing, then EXECABORT.
    let far = (0..10_000)
        .map(|i| format!("far{i}"))
        .find(|k| !kline.owns(key_slot(k.as_bytes())))
        .unwrap();
    assert_eq!(text(&tx.call(&["MULTI"]).0), "OK");
    assert_eq!(text(&tx.call(&["SET", key, "1"]).0), "QUEUED");
    assert!(text(&tx.call(&["SET", &far, "1"]).0).starts_with("MOVED "));
    assert_eq!(
        text(&tx.call(&["EXEC"]).0),
        "EXECABORT Transaction discarded because of previous errors."
    );
    // CROSSSLOT inside one command while queueing.
    assert_eq!(text(&tx.call(&["MULTI"]).0), "OK");
    assert_eq!(
        text(&tx.call(&["MSET", key, "1", &far, "2"]).0),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    assert_eq!(
        text(&tx.call(&["EXEC"]).0),
        "EXECABORT Transaction discarded because of previous errors."
    );
    // Two slots of this node across two commands: CROSSSLOT at EXEC, nothing ran.
    let near = (0..10_000)
        .map(|i| format!("near{i}"))
        .find(|k| {
            let s = key_slot(k.as_bytes());
            s != kslot && kline.owns(s)
        })
        .unwrap();
    assert_eq!(text(&tx.call(&["MULTI"]).0), "OK");
    assert_eq!(text(&tx.call(&["SET", key, "x"]).0), "QUEUED");
    assert_eq!(text(&tx.call(&["SET", &near, "y"]).0), "QUEUED");
    assert_eq!(
        text(&tx.call(&["EXEC"]).0),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    assert_eq!(tx.call(&["GET", key]).0, Resp::Bulk(None));
    assert_eq!(text(&tx.call(&["EXEC"]).0), "ERR EXEC without MULTI");
    // Same slot (hash tags): runs, and the replica gets both writes.
    let k1 = format!("{{{key}}}:balance");
    let k2 = format!("{{{key}}}:history");
    assert_eq!(text(&tx.call(&["WATCH", &k1]).0), "OK");
    assert_eq!(text(&tx.call(&["MULTI"]).0), "OK");
    assert_eq!(text(&tx.call(&["INCRBY", &k1, "100"]).0), "QUEUED");
    assert_eq!(text(&tx.call(&["RPUSH", &k2, "deposit"]).0), "QUEUED");
    assert_eq!(
        tx.call(&["EXEC"]).0,
        Resp::Array(Some(vec![Resp::Int(100), Resp::Int(1)]))
    );
    let replicated = wait_until(Duration::from_secs(5), || {
        let mut r = RawConn::connect(c.port(kr));
        r.call(&["READONLY"]);
        r.call(&["GET", &k1]).0 == bulk("100")
            && r.call(&["LRANGE", &k2, "0", "-1"]).0 == Resp::Array(Some(vec![bulk("deposit")]))
    });
    assert!(replicated, "the transaction did not reach the replica");
}

#[test]
fn blocked_brpop_gets_moved_after_failover_and_clusterdown_when_the_cluster_fails() {
    if !tools_present() {
        return;
    }
    let _g = cluster_util::serial();
    let mut c = Cluster::six_node("blockredir", NODE_TIMEOUT_MS);
    let key = "jobs";
    let slot = key_slot(key.as_bytes());
    let (m, r, _) = shard_of(&c, slot);

    // Blocked on the master; the replica takes over with CLUSTER FAILOVER.
    let mut blocked = conn_with_timeout(c.port(m), 20);
    blocked.send(&resp_command(&["BRPOP", key, "0"]));
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    assert_eq!(
        query_str(c.port(r), &["CLUSTER", "FAILOVER"]).expect("CLUSTER FAILOVER"),
        "OK"
    );
    let (reply, _) = blocked.read_reply();
    eprintln!(
        "[blockredir] blocked BRPOP answered {:?} {} ms after CLUSTER FAILOVER",
        text(&reply),
        t0.elapsed().as_millis()
    );
    assert_eq!(
        text(&reply),
        format!("MOVED {slot} 127.0.0.1:{}", c.port(r)),
        "{}",
        c.dump()
    );
    let all: Vec<usize> = (0..6).collect();
    assert!(
        c.wait_converged(&all, Duration::from_secs(15)),
        "no convergence after the failover:\n{}",
        c.dump()
    );

    // A push on the new master wakes a client blocked there (and the old master, now its
    // replica, gets the pop replicated).
    let mut waiter = conn_with_timeout(c.port(r), 20);
    waiter.send(&resp_command(&["BRPOP", key, "0"]));
    std::thread::sleep(Duration::from_millis(200));
    let mut pusher = RawConn::connect(c.port(r));
    assert_eq!(pusher.call(&["LPUSH", key, "a", "b"]).0, Resp::Int(2));
    assert_eq!(
        waiter.read_reply().0,
        Resp::Array(Some(vec![bulk(key), bulk("a")]))
    );
    assert!(wait_until(Duration::from_secs(5), || {
        let mut o = RawConn::connect(c.port(m));
        o.call(&["READONLY"]);
        o.call(&["LRANGE", key, "0", "-1"]).0 == Resp::Array(Some(vec![bulk("b")]))
    }));

    // Blocked on the new master, then another shard dies whole: the slots it served are
    // uncovered, the cluster fails, the blocked client gets CLUSTERDOWN.
    let mut blocked = conn_with_timeout(c.port(r), 30);
    blocked.send(&resp_command(&["BRPOP", "empty{jobs}", "0"]));
    std::thread::sleep(Duration::from_millis(200));
    let other_slot = (0..16384u16)
        .find(|&s| c.owner_in_view(r, s).is_none_or(|n| n.port != c.port(r)))
        .unwrap();
    let (om, or, _) = shard_of(&c, other_slot);
    assert!(om != r && or != r && om != m && or != m);
    let t0 = Instant::now();
    c.nodes[om].kill();
    c.nodes[or].kill();
    let (reply, _) = blocked.read_reply();
    eprintln!(
        "[blockredir] blocked BRPOP answered {:?} {} ms after its cluster lost a shard",
        text(&reply),
        t0.elapsed().as_millis()
    );
    assert_eq!(text(&reply), "CLUSTERDOWN The cluster is down");
}

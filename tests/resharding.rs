//! Resharding with the real redis-cli 7.0.15: `--cluster add-node`, `reshard`, `rebalance`,
//! `del-node`, `fix` and `check` against keyslot nodes while a client keeps writing and reading
//! through MOVED / ASK redirects.
//!
//! The client here is deliberately small and strict: it follows MOVED (updating its slot map)
//! and ASK (ASKING first, without updating the map), counts both, and records every other error
//! reply as a failure. So "no error reaches the client except retried redirects" is checked
//! literally. Ports come from 41000+ (bus 51000+), away from the other test suites.

mod cluster_util;
mod common;

use cluster_util::reshard::{
    assert_check_ok, cli_cluster, load_keys, node_id, verify_keys, writer,
};
use cluster_util::{key_slot, serial, Cluster};
use common::Server;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEYS: usize = 10_000;
const PORT_LOW: u16 = 41000;
const PORT_HIGH: u16 = 44990;

/// Keys below this index share ten hash tags whose slots are among the first ones every master
/// gives away in the reshard (redis-cli takes a source's slots from its lowest), so those slots
/// hold 200 keys each and stay open long enough for the client to meet ASK redirects.
const HOT_KEYS: usize = 2000;

fn hot_tags() -> &'static [String] {
    static TAGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TAGS.get_or_init(|| {
        let mut tags: Vec<String> = Vec::new();
        let mut used = std::collections::BTreeSet::new();
        for n in 0.. {
            let t = format!("h{n}");
            let slot = key_slot(t.as_bytes());
            if slot < 300 && used.insert(slot) {
                tags.push(t);
                if tags.len() == 10 {
                    break;
                }
            }
        }
        tags
    })
}

fn key(i: usize) -> String {
    if i < HOT_KEYS {
        format!("{{{}}}:{i}", hot_tags()[i % 10])
    } else {
        format!("key:{i}")
    }
}

/// Total DBSIZE of the masters in a node's view.
fn masters_dbsize(port: u16) -> i64 {
    let view = cluster_util::parse_nodes(
        &cluster_util::query_str(port, &["CLUSTER", "NODES"]).expect("nodes"),
    );
    view.iter()
        .filter(|n| n.is_master() && !n.ranges().is_empty())
        .map(|n| {
            cluster_util::query_str(n.port, &["DBSIZE"])
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(-1)
        })
        .sum()
}

fn wait_known_by_all(c: &Cluster, extra: &[&Server], id: &str) {
    let mut ports: Vec<u16> = (0..c.nodes.len()).map(|i| c.port(i)).collect();
    ports.extend(extra.iter().map(|s| s.port));
    let ok = common::wait_until(Duration::from_secs(30), || {
        ports.iter().all(|&p| {
            cluster_util::query_str(p, &["CLUSTER", "NODES"])
                .map(|t| {
                    t.lines()
                        .any(|l| l.starts_with(id) && !l.contains("handshake"))
                })
                .unwrap_or(false)
        })
    });
    assert!(ok, "node {id} not known by all:\n{}", c.dump());
}

#[test]
fn reshard_rebalance_del_node_under_client_load() {
    if !common::require_tools(
        "reshard_rebalance_del_node_under_client_load",
        &["redis-cli"],
    ) {
        return;
    }
    let _guard = serial();
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let mut c = Cluster::six_node("reshard", 5000);
    let seed = c.port(0);
    let last = Arc::new(Mutex::new(BTreeMap::new()));
    load_keys(seed, KEYS, key, &last);
    assert_eq!(masters_dbsize(seed), KEYS as i64);

    let stop = Arc::new(AtomicBool::new(false));
    let w = {
        let (stop, last) = (stop.clone(), last.clone());
        std::thread::spawn(move || {
            writer(
                seed,
                stop,
                last,
                key,
                (0..KEYS).filter(|i| *i < HOT_KEYS || i % 7 == 0).collect(),
            )
        })
    };

    // add-node: a fourth, empty master.
    let args = Cluster::node_args(5000);
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let new_master = Server::keyslot(&c.dir, &args);
    let nm = format!("127.0.0.1:{}", new_master.port);
    let seed_addr = format!("127.0.0.1:{seed}");
    let (ok, out) = cli_cluster(&["add-node", &nm, &seed_addr], 60);
    assert!(
        ok && out.contains("[OK] New node added correctly."),
        "{out}"
    );
    let nm_id = node_id(new_master.port);
    wait_known_by_all(&c, &[&new_master], &nm_id);

    // add-node --cluster-slave --cluster-master-id: a replica for it.
    let new_replica = Server::keyslot(&c.dir, &args);
    let nr = format!("127.0.0.1:{}", new_replica.port);
    let (ok, out) = cli_cluster(
        &[
            "add-node",
            &nr,
            &seed_addr,
            "--cluster-slave",
            "--cluster-master-id",
            &nm_id,
        ],
        60,
    );
    assert!(
        ok && out.contains("[OK] New node added correctly."),
        "{out}"
    );
    let nr_id = node_id(new_replica.port);
    wait_known_by_all(&c, &[&new_master, &new_replica], &nr_id);
    let replica_of = common::wait_until(Duration::from_secs(20), || {
        cluster_util::query_str(seed, &["CLUSTER", "NODES"])
            .map(|t| {
                t.lines()
                    .any(|l| l.starts_with(&nr_id) && l.contains(&format!("slave {nm_id}")))
            })
            .unwrap_or(false)
    });
    assert!(replica_of, "replica not attached:\n{}", c.dump());
    assert_check_ok(seed, &c);

    // reshard 1000 slots from every master to the new one.
    let (ok, out) = cli_cluster(
        &[
            "reshard",
            &seed_addr,
            "--cluster-from",
            "all",
            "--cluster-to",
            &nm_id,
            "--cluster-slots",
            "1000",
            "--cluster-yes",
        ],
        600,
    );
    assert!(
        ok && !out.contains("[ERR]"),
        "reshard failed:\n{out}\n{}",
        c.dump()
    );
    let owned = cluster_util::parse_nodes(
        &cluster_util::query_str(new_master.port, &["CLUSTER", "NODES"]).expect("nodes"),
    )
    .into_iter()
    .find(|n| n.id == nm_id)
    .map(|n| {
        n.ranges()
            .iter()
            .map(|(a, b)| (b - a + 1) as usize)
            .sum::<usize>()
    })
    .unwrap_or(0);
    assert_eq!(owned, 1000, "new master's slots after reshard");
    let moved_keys = cluster_util::query_str(new_master.port, &["DBSIZE"]).expect("dbsize");
    eprintln!("after reshard: new master owns {owned} slots, {moved_keys} keys");
    assert_check_ok(seed, &c);

    // rebalance (the new master takes its share).
    let (ok, out) = cli_cluster(
        &["rebalance", &seed_addr, "--cluster-use-empty-masters"],
        600,
    );
    assert!(
        ok && !out.contains("[ERR]"),
        "rebalance failed:\n{out}\n{}",
        c.dump()
    );
    assert_check_ok(seed, &c);

    // Empty the new master again: rebalance with weight 0 for it.
    let (ok, out) = cli_cluster(
        &[
            "rebalance",
            &seed_addr,
            "--cluster-weight",
            &format!("{nm_id}=0"),
        ],
        600,
    );
    assert!(
        ok && !out.contains("[ERR]"),
        "rebalance to zero failed:\n{out}\n{}",
        c.dump()
    );
    // Having given its last slot away it owns nothing; like Redis 7.0
    // (cluster-allow-replica-migration yes) it turned into a replica of the last slot's taker.
    let view = cluster_util::parse_nodes(
        &cluster_util::query_str(new_master.port, &["CLUSTER", "NODES"]).expect("nodes"),
    );
    let line = view
        .iter()
        .find(|n| n.id == nm_id)
        .expect("new master in view");
    assert!(
        line.ranges().is_empty(),
        "emptied master still owns slots: {line:?}"
    );
    eprintln!(
        "emptied master is now: {:?} of {:?}",
        line.flags, line.master
    );

    stop.store(true, Ordering::SeqCst);
    let tally = w.join().expect("writer thread");
    eprintln!(
        "client: {} ops, {} MOVED, {} ASK, {} errors",
        tally.ops,
        tally.moved,
        tally.ask,
        tally.errors.len()
    );
    assert!(
        tally.errors.is_empty(),
        "errors reached the client: {:?}",
        &tally.errors[..tally.errors.len().min(20)]
    );
    assert!(
        tally.ask > 0,
        "the client never saw an ASK during the migrations"
    );
    assert_eq!(verify_keys(seed, key, &last), KEYS);
    assert_eq!(masters_dbsize(seed), KEYS as i64);
    assert_check_ok(seed, &c);

    // del-node the emptied master (its replica, if still attached, is moved by redis-cli).
    let (ok, out) = cli_cluster(&["del-node", &seed_addr, &nm_id], 60);
    assert!(
        ok && out.contains("Sending CLUSTER RESET SOFT to the deleted node."),
        "del-node: {out}"
    );
    let forgotten = common::wait_until(Duration::from_secs(10), || {
        (0..c.nodes.len()).all(|i| {
            cluster_util::query_str(c.port(i), &["CLUSTER", "NODES"])
                .map(|t| !t.contains(&nm_id))
                .unwrap_or(false)
        })
    });
    assert!(forgotten, "del-node left the node known:\n{}", c.dump());
    assert_check_ok(seed, &c);
    assert_eq!(verify_keys(seed, key, &last), KEYS);
    drop(new_replica);
    drop(new_master);
    c.assert_alive();
}

/// The port of the master that owns `slot` in `port`'s view, and its id.
fn owner_of(port: u16, slot: u16) -> (u16, String) {
    let view = cluster_util::parse_nodes(
        &cluster_util::query_str(port, &["CLUSTER", "NODES"]).expect("nodes"),
    );
    let n = view
        .iter()
        .find(|n| n.is_master() && n.owns(slot))
        .unwrap_or_else(|| panic!("no owner of slot {slot}"));
    (n.port, n.id.clone())
}

fn dbsize(port: u16) -> i64 {
    cluster_util::query_str(port, &["DBSIZE"])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1)
}

/// The open-slot tokens (`[slot->-id]`, `[slot-<-id]`) of a node's myself line.
fn open_slots(port: u16) -> Vec<String> {
    cluster_util::parse_nodes(
        &cluster_util::query_str(port, &["CLUSTER", "NODES"]).unwrap_or_else(|_| "x\n".into()),
    )
    .into_iter()
    .find(|n| n.has_flag("myself"))
    .map(|n| n.slots.into_iter().filter(|t| t.starts_with('[')).collect())
    .unwrap_or_default()
}

#[test]
fn reshard_killed_by_sigkill_of_source_then_fix() {
    if !common::require_tools(
        "reshard_killed_by_sigkill_of_source_then_fix",
        &["redis-cli"],
    ) {
        return;
    }
    let _guard = serial();
    common::use_port_range(PORT_LOW, PORT_HIGH);
    // AOF with fsync always: what a node acknowledged (RESTOREs, MIGRATE's DELs) survives the
    // SIGKILL. DEBUG is on because `fix` compares values with DEBUG DIGEST-VALUE when a key
    // landed on both sides.
    let mut c = Cluster::six_node_with(
        "reshard-kill",
        5000,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--enable-debug-command",
            "yes",
        ],
    );
    let seed = c.port(0);
    let last = Mutex::new(BTreeMap::new());
    load_keys(seed, KEYS, key, &last);
    let (src_port, src_id) = owner_of(seed, 0);
    let (dst_port, dst_id) = owner_of(seed, 5461);
    let src = c.index_of_port(src_port);
    let before_dst = dbsize(dst_port);

    // Move 1000 slots from the owner of slot 0 (its hot slots first) and SIGKILL it mid-way.
    let out_path = c.dir.path().join("reshard.out");
    let out_file = std::fs::File::create(&out_path).expect("reshard.out");
    let mut reshard = Command::new("redis-cli")
        .args([
            "--cluster",
            "reshard",
            &format!("127.0.0.1:{seed}"),
            "--cluster-from",
            &src_id,
            "--cluster-to",
            &dst_id,
            "--cluster-slots",
            "1000",
            "--cluster-yes",
        ])
        .stdout(out_file)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("redis-cli reshard");
    let midway = common::wait_until(Duration::from_secs(60), || {
        dbsize(dst_port) >= before_dst + 1000
    });
    assert!(midway, "the reshard never moved 1000 keys");
    let open_before_kill = open_slots(src_port);
    c.nodes[src].kill();
    let moved_at_kill = dbsize(dst_port) - before_dst;
    let _ = reshard.kill();
    let _ = reshard.wait();
    eprintln!(
        "SIGKILL of the source {src_port} after {moved_at_kill} keys moved; its open slots \
         just before: {open_before_kill:?}"
    );

    // Restart it from its nodes.conf (and AOF).
    c.nodes[src].restart();
    let open_after_restart = open_slots(src_port);
    eprintln!("after restart the source shows open slots {open_after_restart:?}");
    let all: Vec<usize> = (0..c.nodes.len()).collect();
    let ok = common::wait_until(Duration::from_secs(30), || {
        all.iter()
            .all(|&i| c.cluster_state(i).as_deref() == Some("ok"))
    });
    assert!(ok, "cluster not ok after the restart:\n{}", c.dump());
    let (ok, check) = cli_cluster(&["check", &format!("127.0.0.1:{seed}")], 60);
    eprintln!(
        "check before fix: exit ok={ok}, open slot warnings: {}",
        check.matches("open slot").count()
    );

    let (ok, out) = cli_cluster(&["fix", &format!("127.0.0.1:{seed}"), "--cluster-yes"], 300);
    assert!(ok, "fix failed:\n{out}\n{}", c.dump());
    assert_check_ok(seed, &c);
    assert!(open_slots(src_port).is_empty() && open_slots(dst_port).is_empty());
    assert_eq!(verify_keys(seed, key, &last), KEYS);
    assert_eq!(masters_dbsize(seed), KEYS as i64, "keys duplicated or lost");
    c.assert_alive();
}

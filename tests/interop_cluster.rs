//! Interop: keyslot-server and redis-server 7.0 nodes in one cluster, made and resharded by the
//! real redis-cli. Both arrangements of a six-node cluster (keyslot masters with Redis replicas,
//! and the reverse) pass `--cluster check` and redirect from every node; `--cluster reshard`
//! moves slots from a Redis master to a keyslot master and back without losing a key.

mod cluster_util;
mod common;
mod interop_util;

use cluster_util::{key_slot, query_str};
use common::cli;
use interop_util::{assert_check_ok, cli_cluster, missing_keys, Client, Kind, Mixed};
use std::collections::BTreeMap;
use std::time::Duration;

const PORT_LOW: u16 = 50000;
const PORT_HIGH: u16 = 51490;

use Kind::{Keyslot as K, Redis as R};

/// Checks that nodes 0..3 are the masters, nodes 3..6 the replicas, every replica follows a
/// master of the other kind, and each master has exactly one replica.
fn assert_arrangement(m: &Mixed, master_kind: Kind) {
    let mut replicas_per_master = [0; 3];
    for i in 0..3 {
        let me = m.myself(i);
        assert!(
            me.is_master() && me.ranges().len() == 1,
            "node {i} should be a master with one range:\n{}",
            m.dump()
        );
        assert_eq!(m.kinds[i], master_kind);
    }
    for i in 3..6 {
        let master = m.master_of(i);
        assert!(master < 3, "replica {i} follows {master}:\n{}", m.dump());
        assert_ne!(
            m.kinds[i], m.kinds[master],
            "replica {i} and master {master}"
        );
        replicas_per_master[master] += 1;
        eprintln!(
            "node {i} ({:?}, port {}) replicates node {master} ({:?}, port {})",
            m.kinds[i],
            m.port(i),
            m.kinds[master],
            m.port(master)
        );
    }
    assert_eq!(replicas_per_master, [1, 1, 1], "{}", m.dump());
}

/// `redis-cli -c` SET through every node lands in slot 9189's owner; GET through every node
/// (masters and replicas, both kinds) follows the redirect to the value; a plain GET on a
/// node that does not own the slot answers MOVED with the owner's address.
fn assert_redirects(m: &Mixed) {
    assert_eq!(key_slot(b"key1"), 9189);
    for i in 0..6 {
        assert_eq!(
            cli(m.port(i), &["CLUSTER", "KEYSLOT", "key1"]),
            "9189",
            "node {i}"
        );
    }
    let owner = (0..3)
        .find(|&i| m.myself(i).owns(9189))
        .expect("an owner of 9189");
    for i in 0..6 {
        let v = format!("hello{i}");
        let out = cli(m.port(i), &["-c", "set", "key1", &v]);
        assert_eq!(out, "OK", "redis-cli -c -p {} set key1 {v}", m.port(i));
        for j in 0..6 {
            let got = cli(m.port(j), &["-c", "get", "key1"]);
            assert_eq!(
                got,
                v,
                "redis-cli -c -p {} get key1 after SET via node {i}",
                m.port(j)
            );
        }
    }
    for i in (0..6).filter(|&i| i != owner) {
        let r = cli(m.port(i), &["get", "key1"]);
        assert_eq!(
            r.trim_end(),
            format!("MOVED 9189 127.0.0.1:{}", m.port(owner)),
            "plain GET on node {i} ({:?})",
            m.kinds[i]
        );
    }
}

/// Every node's CLUSTER NODES shows every node's announced hostname, whichever kind sent it.
fn assert_hostnames(m: &Mixed) {
    let ok = common::wait_until(Duration::from_secs(15), || {
        (0..6).all(|i| {
            let text = query_str(m.port(i), &["CLUSTER", "NODES"]).unwrap_or_default();
            (0..6).all(|j| {
                let want = format!(
                    "127.0.0.1:{}@{},node{j}.example ",
                    m.port(j),
                    m.port(j) + 10000
                );
                text.contains(&want)
            })
        })
    });
    assert!(ok, "announced hostnames not seen everywhere:\n{}", m.dump());
}

fn arrangement(tag: &str, kinds: [Kind; 6]) {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let _serial = cluster_util::serial();
    // Every node announces a hostname: Redis 7.0 sends it in the hostname ping extension and
    // prints it in CLUSTER NODES as `ip:port@cport,hostname`.
    let m = Mixed::create_with(tag, &kinds, 3000, &|i| {
        vec![
            "--cluster-announce-hostname".into(),
            format!("node{i}.example"),
        ]
    });
    assert_arrangement(&m, kinds[0]);
    assert_hostnames(&m);
    // --cluster check through a node of each kind, master and replica.
    for i in [0, 3] {
        assert_check_ok(m.port(i), &m);
    }
    assert_redirects(&m);
    // The replicas hold what their masters hold (key1 went through replication both ways).
    for i in 3..6 {
        let master = m.master_of(i);
        let ok = common::wait_until(Duration::from_secs(10), || {
            interop_util::in_sync(m.port(master), m.port(i))
        });
        assert!(ok, "replica {i} not in sync with {master}:\n{}", m.dump());
        assert_eq!(
            cli(m.port(i), &["DBSIZE"]),
            cli(m.port(master), &["DBSIZE"]),
            "replica {i} vs master {master}"
        );
    }
}

#[test]
fn create_keyslot_masters_with_redis_replicas() {
    if !interop_util::tools_present("create_keyslot_masters_with_redis_replicas") {
        return;
    }
    arrangement("interop-km", [K, K, K, R, R, R]);
}

#[test]
fn create_redis_masters_with_keyslot_replicas() {
    if !interop_util::tools_present("create_redis_masters_with_keyslot_replicas") {
        return;
    }
    arrangement("interop-rm", [R, R, R, K, K, K]);
}

/// Slots owned by node `port` per its own CLUSTER NODES line.
fn slots_owned(m: &Mixed, i: usize) -> usize {
    m.myself(i)
        .ranges()
        .iter()
        .map(|&(a, b)| (b - a + 1) as usize)
        .sum()
}

#[test]
fn reshard_redis_master_to_keyslot_master_and_back() {
    if !interop_util::tools_present("reshard_redis_master_to_keyslot_master_and_back") {
        return;
    }
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let _serial = cluster_util::serial();
    // Masters: node 0 (Redis), node 1 (keyslot), node 2 (Redis).
    let m = Mixed::create("interop-reshard", &[R, K, R, K, R, K], 3000);
    let seeds: Vec<u16> = (0..6).map(|i| m.port(i)).collect();
    assert!(m.myself(0).is_master() && m.myself(1).is_master());
    let (redis_id, keyslot_id) = (m.c.id(0), m.c.id(1));

    // A few thousand keys, some of them collections, in every slot range.
    let mut expect = BTreeMap::new();
    let mut c = Client::new(&seeds);
    for i in 0..4000 {
        let (k, v) = (format!("k:{i}"), format!("v{i}"));
        assert!(c.set(&k, &v), "SET {k}: {:?}", c.errors);
        expect.insert(k, v);
    }
    for i in 0..200 {
        let k = format!("h:{i}");
        let r = c.call(
            k.as_bytes(),
            &[b"HSET", k.as_bytes(), b"f1", b"a", b"f2", b"b"],
        );
        assert!(matches!(r, Some(common::Resp::Int(2))), "HSET {k}: {r:?}");
    }
    let total = expect.len() + 200;
    let in_node0 = query_str(m.port(0), &["DBSIZE"]).expect("DBSIZE");
    eprintln!("loaded {total} keys; the Redis master holds {in_node0}");

    for (from, to, label) in [
        (&redis_id, &keyslot_id, "redis -> keyslot"),
        (&keyslot_id, &redis_id, "keyslot -> redis"),
    ] {
        let before = (slots_owned(&m, 0), slots_owned(&m, 1));
        let (ok, out) = cli_cluster(
            &[
                "reshard",
                &format!("127.0.0.1:{}", m.port(2)),
                "--cluster-from",
                from,
                "--cluster-to",
                to,
                "--cluster-slots",
                "500",
                "--cluster-yes",
            ],
            120,
        );
        assert!(
            ok && !out.contains("[ERR]"),
            "reshard {label}:\n{out}\n{}",
            m.dump()
        );
        let after = (slots_owned(&m, 0), slots_owned(&m, 1));
        eprintln!("reshard {label}: slots (redis, keyslot) {before:?} -> {after:?}");
        if from == &redis_id {
            assert_eq!((after.0 + 500, after.1), (before.0, before.1 + 500));
        } else {
            assert_eq!((after.0, after.1 + 500), (before.0 + 500, before.1));
        }
        assert_check_ok(m.port(0), &m);
        assert_check_ok(m.port(1), &m);
        let bad = missing_keys(&seeds, &expect);
        assert!(
            bad.is_empty(),
            "after {label}: {} keys lost: {:?}",
            bad.len(),
            &bad[..bad.len().min(10)]
        );
        // No key left behind on a node that no longer owns its slot: the masters' DBSIZEs
        // add up to the total.
        let sum: i64 = (0..3)
            .map(|i| cli(m.port(i), &["DBSIZE"]).parse::<i64>().expect("DBSIZE"))
            .sum();
        assert_eq!(sum as usize, total, "masters' DBSIZE after {label}");
        for i in 0..200 {
            let k = format!("h:{i}");
            let r = c.call(k.as_bytes(), &[b"HGET", k.as_bytes(), b"f2"]);
            assert_eq!(
                r,
                Some(common::Resp::Bulk(Some(b"b".to_vec()))),
                "{k} after {label}"
            );
        }
    }
    assert!(c.errors.is_empty(), "client errors: {:?}", c.errors);
    assert!(m.wait_converged(Duration::from_secs(20)), "{}", m.dump());
}

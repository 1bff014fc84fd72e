//! Interop: a rolling replacement of an all-Redis six-node cluster by keyslot nodes, one node at a
//! time, under continuous client load. For each redis-server node: a keyslot node joins as a
//! replica of the right master (`redis-cli --cluster add-node --cluster-slave
//! --cluster-master-id`), syncs, takes over with `CLUSTER FAILOVER` if the Redis node was a
//! master, and the Redis node is removed with `redis-cli --cluster del-node`. At the end no
//! Redis node is left, every acknowledged write is readable, and the client saw no error that
//! its retries (redirects, TRYAGAIN, CLUSTERDOWN, reconnects during failovers) did not absorb.

mod cluster_util;
mod common;
mod interop_util;

use interop_util::{
    assert_check_ok, cli_cluster, missing_keys, start_node, wait_caught_up, Client, Kind, Mixed,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PORT_LOW: u16 = 53500;
const PORT_HIGH: u16 = 54490;
const NODE_TIMEOUT_MS: u64 = 3000;
const KEYS: usize = 2000;
const WAIT_S: u64 = 40;

/// What the load thread reports when stopped.
struct LoadReport {
    ops: u64,
    redirects: u64,
    retries: u64,
    errors: Vec<String>,
}

/// SET then GET round-robin over KEYS keys until `stop`, recording the last acknowledged value
/// of each key in `acked`. Seeds are re-read from `seeds` as nodes come and go.
fn load(
    seeds: Arc<Mutex<Vec<u16>>>,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<BTreeMap<String, String>>>,
) -> LoadReport {
    let mut c = Client::new(&seeds.lock().expect("seeds").clone());
    let mut round = 0u64;
    'outer: loop {
        round += 1;
        for i in 0..KEYS {
            if stop.load(Ordering::SeqCst) {
                break 'outer;
            }
            if i % 50 == 0 {
                c.seeds = seeds.lock().expect("seeds").clone();
            }
            let (k, v) = (format!("load:{i}"), format!("v{i}:{round}"));
            if !c.set(&k, &v) {
                continue; // counted in c.errors
            }
            acked.lock().expect("acked").insert(k.clone(), v.clone());
            match c.get(&k) {
                Some(b) if b == v.as_bytes() => {}
                other => c.errors.push(format!(
                    "GET {k} right after SET {v}: {:?}",
                    other.map(|b| String::from_utf8_lossy(&b).into_owned())
                )),
            }
        }
    }
    LoadReport {
        ops: c.ops,
        redirects: c.redirects,
        retries: c.retries,
        errors: c.errors,
    }
}

/// Replaces Redis node `old` with a new keyslot node; returns the new node's index.
fn replace(m: &mut Mixed, old: usize, seeds: &Mutex<Vec<u16>>) -> usize {
    let t0 = Instant::now();
    let was_master = m.myself(old).is_master();
    let master = if was_master { old } else { m.master_of(old) };
    let master_id = m.c.id(master);
    let old_id = m.c.id(old);
    let stable = (0..m.c.nodes.len())
        .find(|&i| m.c.is_up(i) && i != old)
        .expect("another live node");

    let node = start_node(&m.c.dir, Kind::Keyslot, NODE_TIMEOUT_MS);
    m.c.nodes.push(node);
    m.kinds.push(Kind::Keyslot);
    let new = m.c.nodes.len() - 1;
    let (ok, out) = cli_cluster(
        &[
            "add-node",
            &format!("127.0.0.1:{}", m.port(new)),
            &format!("127.0.0.1:{}", m.port(stable)),
            "--cluster-slave",
            "--cluster-master-id",
            &master_id,
        ],
        60,
    );
    assert!(ok, "add-node failed:\n{out}\n{}", m.dump());
    seeds.lock().expect("seeds").push(m.port(new));
    assert!(
        m.wait_replica_of(new, master, Duration::from_secs(WAIT_S)),
        "new keyslot node {new} did not become a replica of {master}:\n{}",
        m.dump()
    );
    let (mp, np) = (m.port(master), m.port(new));
    assert!(
        wait_caught_up(mp, np, Duration::from_secs(WAIT_S)),
        "new keyslot node {new} never synced from Redis master {master}:\n{}",
        m.dump()
    );

    if was_master {
        let r = common::cli(m.port(new), &["CLUSTER", "FAILOVER"]);
        assert_eq!(r, "OK", "CLUSTER FAILOVER on the new keyslot node");
        assert!(
            m.wait_master(new, Duration::from_secs(WAIT_S)),
            "keyslot node {new} not master after CLUSTER FAILOVER:\n{}",
            m.dump()
        );
        assert!(
            m.wait_replica_of(old, new, Duration::from_secs(WAIT_S)),
            "old Redis master {old} did not become a replica of {new}:\n{}",
            m.dump()
        );
    }

    let (ok, out) = cli_cluster(
        &[
            "del-node",
            &format!("127.0.0.1:{}", m.port(stable)),
            &old_id,
        ],
        60,
    );
    assert!(ok, "del-node failed:\n{out}\n{}", m.dump());
    seeds.lock().expect("seeds").retain(|&p| p != m.c.port(old));
    m.c.nodes[old].kill();
    assert!(
        m.wait_converged(Duration::from_secs(WAIT_S)),
        "no convergence after removing node {old}:\n{}",
        m.dump()
    );
    for i in m.c.live() {
        let view = m.c.view(i).expect("view");
        assert!(
            view.iter().all(|n| n.id != old_id),
            "node {i} still knows the removed node {old_id}"
        );
    }
    eprintln!(
        "replaced Redis {} node {old} by keyslot node {new} in {} ms",
        if was_master { "master" } else { "replica" },
        t0.elapsed().as_millis()
    );
    new
}

#[test]
fn rolling_replacement_of_redis_by_keyslot_under_load() {
    if !interop_util::tools_present("rolling_replacement_of_redis_by_keyslot_under_load") {
        return;
    }
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let t0 = Instant::now();
    let mut m = Mixed::create("interop-rolling", &[Kind::Redis; 6], NODE_TIMEOUT_MS);
    let seeds = Arc::new(Mutex::new((0..6).map(|i| m.port(i)).collect::<Vec<u16>>()));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeMap::new()));
    let loader = {
        let (seeds, stop, acked) = (seeds.clone(), stop.clone(), acked.clone());
        std::thread::spawn(move || load(seeds, stop, acked))
    };
    // Let the load get going on the all-Redis cluster.
    assert!(common::wait_until(Duration::from_secs(20), || acked
        .lock()
        .expect("acked")
        .len()
        >= 500));

    // Masters first (each gets a keyslot replica that takes over), then the replicas.
    let order: Vec<usize> = (0..6).collect();
    for old in order {
        replace(&mut m, old, &seeds);
    }
    // Keep the load on the all-keyslot cluster for a moment.
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    let report = loader.join().expect("load thread");

    let live = m.c.live();
    assert_eq!(live.len(), 6, "{}", m.dump());
    assert!(
        live.iter().all(|&i| m.kinds[i] == Kind::Keyslot),
        "a Redis node is still in the cluster:\n{}",
        m.dump()
    );
    let masters = live.iter().filter(|&&i| m.myself(i).is_master()).count();
    assert_eq!(masters, 3, "{}", m.dump());
    assert_check_ok(m.port(live[0]), &m);

    let expect = acked.lock().expect("acked").clone();
    let live_ports: Vec<u16> = live.iter().map(|&i| m.port(i)).collect();
    let bad = missing_keys(&live_ports, &expect);
    println!(
        "rolling replacement: {} ops, {} redirects, {} retried attempts, client errors: {}, \
         {} acknowledged keys checked, {} lost, {} ms",
        report.ops,
        report.redirects,
        report.retries,
        report.errors.len(),
        expect.len(),
        bad.len(),
        t0.elapsed().as_millis()
    );
    assert!(
        report.errors.is_empty(),
        "client errors: {:?}",
        &report.errors[..report.errors.len().min(10)]
    );
    assert_eq!(expect.len(), KEYS, "every key was written at least once");
    assert!(
        bad.is_empty(),
        "{} acknowledged keys lost or stale: {:?}",
        bad.len(),
        &bad[..bad.len().min(10)]
    );
}

//! The seed workflow: a six-node keyslot cluster built and driven by the real `redis-cli`
//! 7.0.15, `redis-benchmark --cluster`, and the Rust `redis` crate's cluster client — create,
//! redirects, check, benchmark, automatic failover after SIGKILL, rejoin after restart, and
//! CLUSTER FAILOVER under client load.

mod cluster_util;
mod common;

use cluster_util::{cluster_slots, key_slot, query_str, Cluster, NodeLine, RANGES};
use common::{cli_output, raw_exchange, wait_until};
use redis::Commands;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODE_TIMEOUT_MS: u64 = 2000;

fn tools_present() -> bool {
    let ok = common::have("redis-cli") && common::have("redis-benchmark");
    if !ok {
        eprintln!("skipping: redis-cli / redis-benchmark not installed");
    }
    ok
}

/// The index of the master of the range containing `slot` (as node 0 sees it) and of its
/// replica.
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

/// True when every node in `idx` sees `new_master_id` as the master owning exactly `range` and
/// reports `cluster_state:ok`.
fn all_see_owner(c: &Cluster, idx: &[usize], new_master_id: &str, range: (u16, u16)) -> bool {
    idx.iter().all(|&i| {
        let Ok(view) = c.view(i) else {
            return false;
        };
        let owner_ok = view.iter().any(|n| {
            n.id == new_master_id && n.is_master() && !n.is_failing() && n.ranges() == vec![range]
        });
        owner_ok && c.cluster_state(i).as_deref() == Some("ok")
    })
}

// ----- 1. create ---------------------------------------------------------------------------------

#[test]
fn cli_create_gives_three_masters_the_standard_ranges_and_every_node_agrees() {
    if !tools_present() {
        return;
    }
    let _g = cluster_util::serial();
    let c = Cluster::six_node("create", NODE_TIMEOUT_MS);
    assert!(
        c.create_stdout.contains("[OK] All 16384 slots covered"),
        "{}",
        c.create_stdout
    );
    assert!(
        c.create_stdout
            .contains("[OK] All nodes agree about slots configuration."),
        "{}",
        c.create_stdout
    );

    let ids: Vec<String> = (0..6).map(|i| c.id(i)).collect();
    let mut reference: Option<Vec<String>> = None;
    for i in 0..6 {
        let view = c.view(i).unwrap();
        assert_eq!(
            view.len(),
            6,
            "node {i} knows {} nodes:\n{}",
            view.len(),
            c.dump()
        );
        let me: Vec<&NodeLine> = view.iter().filter(|n| n.has_flag("myself")).collect();
        assert_eq!(me.len(), 1, "node {i}: exactly one myself line");
        assert_eq!(me[0].id, ids[i], "node {i}: myself line is CLUSTER MYID");
        for n in &view {
            assert_eq!(n.ip, "127.0.0.1", "node {i} view: {n:?}");
            assert_eq!(n.cport, n.port + 10000, "node {i} view: {n:?}");
            assert_eq!(n.link, "connected", "node {i} view: {n:?}");
            assert!(!n.is_failing(), "node {i} view: {n:?}");
            assert_eq!(n.id, ids[c.index_of_port(n.port)], "node {i} view: {n:?}");
        }
        // Masters are the first three arguments, with the ranges in argument order.
        let masters: Vec<&NodeLine> = view.iter().filter(|n| n.is_master()).collect();
        assert_eq!(masters.len(), 3, "node {i}:\n{}", c.dump());
        for (k, range) in RANGES.iter().enumerate() {
            let m = view.iter().find(|n| n.port == c.port(k)).unwrap();
            assert!(
                m.is_master(),
                "node {i}: port {} should be a master; create said:\n{}\n{}",
                m.port,
                c.create_stdout,
                c.dump()
            );
            assert_eq!(m.master, None);
            assert_eq!(m.ranges(), vec![*range], "node {i}: slots of {}", m.port);
            let tok = format!("{}-{}", range.0, range.1);
            assert_eq!(m.slots, vec![tok], "node {i}: slot tokens of {}", m.port);
        }
        // Each replica follows one master; each master has exactly one replica.
        let replicas: Vec<&NodeLine> = view.iter().filter(|n| n.is_replica()).collect();
        assert_eq!(replicas.len(), 3, "node {i}");
        let mut followed: Vec<&str> = replicas
            .iter()
            .map(|r| {
                assert!(r.slots.is_empty(), "replica with slots: {r:?}");
                r.master.as_deref().expect("replica master field")
            })
            .collect();
        followed.sort();
        let mut master_ids: Vec<&str> = masters.iter().map(|m| m.id.as_str()).collect();
        master_ids.sort();
        assert_eq!(followed, master_ids, "node {i}: one replica per master");

        let sig = Cluster::signature(&view);
        match &reference {
            None => reference = Some(sig),
            Some(r) => assert_eq!(&sig, r, "node {i} disagrees with node 0"),
        }

        let info = query_str(c.port(i), &["CLUSTER", "INFO"]).unwrap();
        for (f, v) in [
            ("cluster_state", "ok"),
            ("cluster_slots_assigned", "16384"),
            ("cluster_slots_ok", "16384"),
            ("cluster_known_nodes", "6"),
            ("cluster_size", "3"),
        ] {
            assert_eq!(
                cluster_util::info_field(&info, f).as_deref(),
                Some(v),
                "node {i} CLUSTER INFO:\n{info}"
            );
        }
    }

    // CLUSTER SLOTS: identical on every node, three runs with the right master ip/port/id.
    let s0 = cluster_slots(c.port(0)).unwrap();
    let summary: Vec<(i64, i64, String, i64, String)> = s0
        .iter()
        .map(|e| (e.0, e.1, e.2 .0.clone(), e.2 .1, e.2 .2.clone()))
        .collect();
    let expected: Vec<(i64, i64, String, i64, String)> = RANGES
        .iter()
        .enumerate()
        .map(|(k, r)| {
            (
                r.0 as i64,
                r.1 as i64,
                "127.0.0.1".to_string(),
                c.port(k) as i64,
                ids[k].clone(),
            )
        })
        .collect();
    assert_eq!(summary, expected, "CLUSTER SLOTS on node 0");
    for i in 1..6 {
        assert_eq!(
            cluster_slots(c.port(i)).unwrap(),
            s0,
            "CLUSTER SLOTS differs between node {i} and node 0"
        );
    }
}

// ----- 2. redirects ------------------------------------------------------------------------------

#[test]
fn key1_lands_in_slot_9189_on_its_owner_and_other_nodes_answer_moved() {
    if !tools_present() {
        return;
    }
    let _g = cluster_util::serial();
    let c = Cluster::six_node("moved", NODE_TIMEOUT_MS);

    assert_eq!(c.nodes[0].cli(&["cluster", "keyslot", "key1"]), "9189");
    assert_eq!(key_slot(b"key1"), 9189);

    assert_eq!(c.nodes[0].cli(&["-c", "set", "key1", "hello1"]), "OK");
    assert_eq!(c.nodes[0].cli(&["-c", "get", "key1"]), "hello1");

    let (owner, replica, owner_line) = shard_of(&c, 9189);
    assert_eq!(owner_line.ranges(), vec![(5461, 10922)]);
    assert_eq!(owner, 1, "the second create argument owns 5461-10922");
    let owner_port = c.port(owner);
    // The key is stored on the owner and only there.
    assert_eq!(
        query_str(owner_port, &["CLUSTER", "COUNTKEYSINSLOT", "9189"]).unwrap(),
        "1"
    );
    assert_eq!(query_str(owner_port, &["GET", "key1"]).unwrap(), "hello1");
    assert_eq!(query_str(owner_port, &["DBSIZE"]).unwrap(), "1");
    // Only the owner and its replica (replication) hold it.
    let owner_id = c.id(owner);
    for i in (0..6).filter(|&i| i != owner) {
        let holds = query_str(c.port(i), &["DBSIZE"]).unwrap();
        let is_owners_replica = c
            .view(i)
            .ok()
            .and_then(|v| v.into_iter().find(|l| l.has_flag("myself")))
            .is_some_and(|me| me.master.as_deref() == Some(owner_id.as_str()));
        if is_owners_replica {
            assert!(
                wait_until(Duration::from_secs(5), || query_str(c.port(i), &["DBSIZE"])
                    .unwrap()
                    == "1"),
                "the owner's replica (node {i}) must hold key1"
            );
        } else {
            assert_eq!(holds, "0", "node {i} must not hold key1");
        }
    }

    // redis-cli -c on every non-owner (masters and replicas) follows MOVED.
    for i in (0..6).filter(|&i| i != owner) {
        assert_eq!(
            c.nodes[i].cli(&["-c", "get", "key1"]),
            "hello1",
            "via node {i}"
        );
    }
    assert_eq!(c.nodes[2].cli(&["-c", "set", "key1", "hello2"]), "OK");
    assert_eq!(query_str(owner_port, &["GET", "key1"]).unwrap(), "hello2");
    assert_eq!(c.nodes[2].cli(&["-c", "set", "key1", "hello1"]), "OK");

    // Without -c, a non-owner answers with the exact MOVED error.
    let moved = format!("MOVED 9189 127.0.0.1:{owner_port}");
    for i in [0usize, 2, replica] {
        let (bytes, _) = raw_exchange(
            c.port(i),
            b"*3\r\n$3\r\nset\r\n$4\r\nkey1\r\n$6\r\nhello1\r\n",
            Duration::from_millis(300),
        );
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            format!("-{moved}\r\n"),
            "SET key1 on node {i}"
        );
        let out = cli_output(c.port(i), &["set", "key1", "hello1"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.trim_end(), moved, "redis-cli set key1 on node {i}");
    }
    // The owner serves it without -c.
    assert_eq!(c.nodes[owner].cli(&["get", "key1"]), "hello1");
    assert_eq!(c.nodes[0].cli(&["-c", "get", "key1"]), "hello1");
}

// ----- 3. check and benchmark --------------------------------------------------------------------

#[test]
fn cli_check_is_clean_and_redis_benchmark_cluster_runs_without_errors() {
    if !tools_present() {
        return;
    }
    let _g = cluster_util::serial();
    let c = Cluster::six_node("check", NODE_TIMEOUT_MS);
    let p0 = c.port(0);

    let out = cli_output(p0, &["--cluster", "check", &format!("127.0.0.1:{p0}")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "check failed:\n{stdout}\n{}",
        c.dump()
    );
    assert!(stdout.contains("[OK] All nodes agree about slots configuration."));
    assert!(stdout.contains("[OK] All 16384 slots covered."));
    assert!(
        !stdout.contains("[ERR]") && !stdout.contains("[WARNING]"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("M: ").count(), 3, "{stdout}");
    assert_eq!(stdout.matches("S: ").count(), 3, "{stdout}");

    let t0 = Instant::now();
    let (out, killed) = cluster_util::run_with_timeout(
        Command::new("redis-benchmark").args([
            "--cluster",
            "-p",
            &p0.to_string(),
            "-t",
            "set,get",
            "-n",
            "20000",
            "-q",
        ]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "[check] redis-benchmark took {} ms:\n{}",
        t0.elapsed().as_millis(),
        stdout.replace('\r', "\n")
    );
    assert!(!killed, "redis-benchmark hung:\n{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "redis-benchmark failed:\n{stdout}\n{stderr}"
    );
    let all = format!("{stdout}\n{stderr}");
    for bad in ["rror", "ERR", "MOVED", "ASK", "CLUSTERDOWN", "WARN"] {
        assert!(!all.contains(bad), "benchmark printed {bad:?}:\n{all}");
    }
    assert!(
        stdout.contains("SET: ") && stdout.contains("GET: "),
        "{stdout}"
    );
    // The keys were spread over all three masters.
    for k in 0..3 {
        let n: i64 = query_str(c.port(k), &["DBSIZE"]).unwrap().parse().unwrap();
        assert!(n > 0, "master {k} got no benchmark keys");
    }
}

// ----- 4. automatic failover and rejoin ----------------------------------------------------------

#[test]
fn failover_kill_master_promotes_replica_within_node_timeout_plus_2s_and_it_rejoins_as_replica() {
    if !tools_present() {
        return;
    }
    let _g = cluster_util::serial();
    let mut c = Cluster::six_node("failover", NODE_TIMEOUT_MS);
    let (victim, heir, victim_line) = shard_of(&c, 9189);
    let heir_id = c.id(heir);
    let range = victim_line.ranges()[0];

    let t0 = Instant::now();
    c.nodes[victim].kill();
    let live = c.live();
    let promoted = wait_until(Duration::from_secs(10), || {
        all_see_owner(&c, &live, &heir_id, range)
    });
    let elapsed = t0.elapsed();
    eprintln!(
        "[failover] SIGKILL of the master of slot 9189 (port {}) -> replica {} promoted and \
         cluster_state:ok on all 5 live nodes after {} ms",
        c.port(victim),
        c.port(heir),
        elapsed.as_millis()
    );
    assert!(promoted, "replica never took over:\n{}", c.dump());
    // It won an election: its configEpoch is now the largest in the cluster.
    let view = c.view(heir).unwrap();
    let heir_epoch = view.iter().find(|n| n.id == heir_id).unwrap().config_epoch;
    let others_max = view
        .iter()
        .filter(|n| n.id != heir_id && n.is_master())
        .map(|n| n.config_epoch)
        .max()
        .unwrap();
    assert!(
        heir_epoch > others_max,
        "promoted replica has configEpoch {heir_epoch}, another master has {others_max}"
    );
    assert!(
        elapsed < Duration::from_millis(NODE_TIMEOUT_MS + 2000),
        "failover took {} ms (limit {} ms):\n{}",
        elapsed.as_millis(),
        NODE_TIMEOUT_MS + 2000,
        c.dump()
    );
    // Every live node marks the dead master as failed, and the heir serves the slot.
    assert!(
        wait_until(Duration::from_secs(3), || live.iter().all(|&i| c
            .view(i)
            .map(|v| v
                .iter()
                .any(|n| n.id == victim_line.id && n.has_flag("fail")))
            .unwrap_or(false))),
        "dead master not flagged fail everywhere:\n{}",
        c.dump()
    );
    assert_eq!(c.nodes[0].cli(&["-c", "set", "key1", "after"]), "OK");
    assert_eq!(c.nodes[heir].cli(&["get", "key1"]), "after");

    // Restart the killed node with its nodes.conf: it must come back as the heir's replica.
    let t1 = Instant::now();
    c.nodes[victim].restart();
    let all: Vec<usize> = (0..6).collect();
    let rejoined = wait_until(Duration::from_secs(15), || {
        all_see_owner(&c, &all, &heir_id, range)
            && all.iter().all(|&i| {
                c.view(i)
                    .map(|v| {
                        v.iter().any(|n| {
                            n.id == victim_line.id
                                && n.is_replica()
                                && !n.is_master()
                                && n.master.as_deref() == Some(heir_id.as_str())
                                && n.slots.is_empty()
                                && !n.is_failing()
                        })
                    })
                    .unwrap_or(false)
            })
    });
    eprintln!(
        "[failover] restarted node rejoined as replica of its successor in {} ms (ok={rejoined})",
        t1.elapsed().as_millis()
    );
    assert!(
        rejoined,
        "restarted master did not rejoin as a replica of {heir_id}:\n{}",
        c.dump()
    );
    assert!(
        c.wait_converged(&all, Duration::from_secs(5)),
        "{}",
        c.dump()
    );
    // The rejoined node redirects to its new master.
    let (bytes, _) = raw_exchange(
        c.port(victim),
        b"*2\r\n$3\r\nGET\r\n$4\r\nkey1\r\n",
        Duration::from_millis(300),
    );
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        format!("-MOVED 9189 127.0.0.1:{}\r\n", c.port(heir))
    );
}

// ----- 5. manual failover under load -------------------------------------------------------------

fn cluster_client(c: &Cluster) -> redis::cluster::ClusterClient {
    let addrs: Vec<String> = c
        .nodes
        .iter()
        .map(|s| format!("redis://127.0.0.1:{}/", s.port))
        .collect();
    redis::cluster::ClusterClientBuilder::new(addrs)
        .build()
        .expect("cluster client")
}

#[test]
fn manual_cluster_failover_under_write_load_swaps_roles_with_zero_client_errors() {
    if !tools_present() {
        return;
    }
    let _g = cluster_util::serial();
    let c = Cluster::six_node("manual", NODE_TIMEOUT_MS);
    let (master, replica, master_line) = shard_of(&c, 9189);
    let master_id = master_line.id.clone();
    let replica_id = c.id(replica);
    let range = master_line.ranges()[0];

    let client = cluster_client(&c);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let ok_in_range = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let max_latency_ms = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, ok, ok_in_range, errors, max_latency_ms) = (
            stop.clone(),
            ok.clone(),
            ok_in_range.clone(),
            errors.clone(),
            max_latency_ms.clone(),
        );
        let mut con = client.get_connection().expect("cluster connection");
        std::thread::spawn(move || {
            let mut i: u64 = 0;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("load:{i}");
                let t = Instant::now();
                let r: redis::RedisResult<()> = con.set(&key, i);
                max_latency_ms.fetch_max(t.elapsed().as_millis() as u64, Ordering::SeqCst);
                match r {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::SeqCst);
                        let s = key_slot(key.as_bytes());
                        if range.0 <= s && s <= range.1 {
                            ok_in_range.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Err(e) => errors.lock().unwrap().push(format!("{key}: {e}")),
                }
                i += 1;
            }
        })
    };

    assert!(
        wait_until(Duration::from_secs(5), || ok.load(Ordering::SeqCst) > 500),
        "writer made no progress: errors {:?}",
        errors.lock().unwrap()
    );
    let before = ok.load(Ordering::SeqCst);
    let t0 = Instant::now();
    assert_eq!(c.nodes[replica].cli(&["cluster", "failover"]), "OK");
    let all: Vec<usize> = (0..6).collect();
    let swapped = wait_until(Duration::from_secs(10), || {
        all_see_owner(&c, &all, &replica_id, range)
            && all.iter().all(|&i| {
                c.view(i)
                    .map(|v| {
                        v.iter().any(|n| {
                            n.id == master_id
                                && n.is_replica()
                                && n.master.as_deref() == Some(replica_id.as_str())
                        })
                    })
                    .unwrap_or(false)
            })
    });
    let elapsed = t0.elapsed();
    eprintln!(
        "[manual] CLUSTER FAILOVER to port {}: roles swapped on all 6 nodes after {} ms \
         (ok={swapped})",
        c.port(replica),
        elapsed.as_millis()
    );
    let in_range_at_swap = ok_in_range.load(Ordering::SeqCst);
    // Keep writing for a while on the new topology.
    let after_swap = ok.load(Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || {
        ok.load(Ordering::SeqCst) > after_swap + 1000
            && ok_in_range.load(Ordering::SeqCst) > in_range_at_swap + 300
    });
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let total = ok.load(Ordering::SeqCst);
    let errors = errors.lock().unwrap().clone();
    let max_latency_ms = max_latency_ms.load(Ordering::SeqCst);
    eprintln!(
        "[manual] writes ok: {total} ({} before the failover, {} after the swap), errors: {}, \
         slowest write {max_latency_ms} ms",
        before,
        total - after_swap,
        errors.len()
    );
    assert!(swapped, "roles did not swap:\n{}", c.dump());
    assert!(
        elapsed < Duration::from_secs(5),
        "manual failover took {} ms",
        elapsed.as_millis()
    );
    assert!(
        errors.is_empty(),
        "{} writes failed, first: {:?}",
        errors.len(),
        &errors[..errors.len().min(10)]
    );
    // A write paused on the old master must be released when it is demoted (and then get
    // MOVED), not wait out the whole 10 s manual-failover pause.
    assert!(
        total > after_swap + 1000,
        "writes stalled after the failover (slowest write so far {max_latency_ms} ms):\n{}",
        c.dump()
    );
    assert!(
        max_latency_ms < 3000,
        "a write was blocked for {max_latency_ms} ms during the manual failover"
    );
    assert!(
        ok_in_range.load(Ordering::SeqCst) > in_range_at_swap,
        "no write reached the failed-over slots after the swap"
    );
    // The demoted master now redirects the range to its former replica.
    let (bytes, _) = raw_exchange(
        c.port(master),
        b"*2\r\n$3\r\nGET\r\n$4\r\nkey1\r\n",
        Duration::from_millis(300),
    );
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        format!("-MOVED 9189 127.0.0.1:{}\r\n", c.port(replica))
    );
}

// ----- 6. redis-rs cluster client across a failover ----------------------------------------------

/// Runs `op` until it succeeds (up to `deadline`), replacing the connection after each
/// failure; returns how many attempts failed.
fn with_retries<T>(
    client: &redis::cluster::ClusterClient,
    con: &mut redis::cluster::ClusterConnection,
    deadline: Instant,
    what: &str,
    mut op: impl FnMut(&mut redis::cluster::ClusterConnection) -> redis::RedisResult<T>,
) -> (T, u64) {
    let mut failures = 0;
    loop {
        match op(con) {
            Ok(v) => return (v, failures),
            Err(e) => {
                failures += 1;
                assert!(
                    Instant::now() < deadline,
                    "{what} still failing at the deadline: {e}"
                );
                std::thread::sleep(Duration::from_millis(50));
                if let Ok(fresh) = client.get_connection() {
                    *con = fresh;
                }
            }
        }
    }
}

#[test]
fn redis_rs_cluster_client_routes_10k_keys_before_and_after_a_failover() {
    if !tools_present() {
        return;
    }
    let _g = cluster_util::serial();
    let mut c = Cluster::six_node("redisrs", NODE_TIMEOUT_MS);
    const N: usize = 10_000;
    let client = cluster_client(&c);
    let mut con = client.get_connection().expect("cluster connection");

    let t0 = Instant::now();
    for i in 0..N {
        let () = con
            .set(format!("k:{i}"), format!("v{i}"))
            .unwrap_or_else(|e| panic!("SET k:{i}: {e}"));
    }
    for i in 0..N {
        let v: String = con
            .get(format!("k:{i}"))
            .unwrap_or_else(|e| panic!("GET k:{i}: {e}"));
        assert_eq!(v, format!("v{i}"));
    }
    eprintln!(
        "[redisrs] {N} SET + {N} GET in {} ms",
        t0.elapsed().as_millis()
    );
    // Every key is on the master its slot belongs to, and nowhere else.
    let mut expected = [0i64; 3];
    for i in 0..N {
        let s = key_slot(format!("k:{i}").as_bytes());
        let k = RANGES.iter().position(|r| r.0 <= s && s <= r.1).unwrap();
        expected[k] += 1;
    }
    for (k, want) in expected.iter().enumerate() {
        let got: i64 = query_str(c.port(k), &["DBSIZE"]).unwrap().parse().unwrap();
        assert_eq!(got, *want, "DBSIZE of master {k}");
    }
    let on_masters: i64 = (0..3)
        .map(|k| {
            query_str(c.port(k), &["DBSIZE"])
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(on_masters, N as i64);

    // Kill the master of 5461-10922 and wait for its replica to take over.
    let (victim, heir, victim_line) = shard_of(&c, 9189);
    let heir_id = c.id(heir);
    let range = victim_line.ranges()[0];
    let t1 = Instant::now();
    c.nodes[victim].kill();
    let live = c.live();
    assert!(
        wait_until(Duration::from_secs(10), || all_see_owner(
            &c, &live, &heir_id, range
        )),
        "no promotion:\n{}",
        c.dump()
    );
    eprintln!(
        "[redisrs] promotion seen on all live nodes {} ms after SIGKILL",
        t1.elapsed().as_millis()
    );

    // Same client: everything must work again once it has refreshed its slot map.
    let deadline = Instant::now() + Duration::from_secs(20);
    let t2 = Instant::now();
    let mut failures = 0;
    for i in 0..N {
        let key = format!("after:{i}");
        let ((), f) = with_retries(&client, &mut con, deadline, &key, |con| {
            con.set(&key, format!("w{i}"))
        });
        failures += f;
    }
    for i in 0..N {
        let key = format!("after:{i}");
        let (v, f): (Option<String>, u64) =
            with_retries(&client, &mut con, deadline, &key, |con| con.get(&key));
        failures += f;
        assert_eq!(v, Some(format!("w{i}")), "{key} after the failover");
    }
    // Keys on the surviving masters are intact; keys of the dead master's slots were replicated
    // long before the kill, so they survive too (an asynchronous-replication loss would only
    // touch writes in flight at the kill).
    let mut lost = 0;
    for i in 0..N {
        let key = format!("k:{i}");
        let (v, f): (Option<String>, u64) =
            with_retries(&client, &mut con, deadline, &key, |con| con.get(&key));
        failures += f;
        let s = key_slot(key.as_bytes());
        if range.0 <= s && s <= range.1 {
            if v.is_none() {
                lost += 1;
            }
        } else {
            assert_eq!(v, Some(format!("v{i}")), "{key} on a surviving master");
        }
    }
    eprintln!(
        "[redisrs] after failover: {N} SET + {} GET in {} ms, {failures} failed attempts before \
         the client refreshed, {lost} keys of the dead master lost",
        2 * N,
        t2.elapsed().as_millis()
    );
    // The heir holds the moved range's keys from before (replicated) and after the failover.
    let heir_keys: i64 = query_str(c.port(heir), &["DBSIZE"])
        .unwrap()
        .parse()
        .unwrap();
    let in_range = |prefix: &str| {
        (0..N)
            .filter(|i| {
                let s = key_slot(format!("{prefix}{i}").as_bytes());
                range.0 <= s && s <= range.1
            })
            .count() as i64
    };
    let want = in_range("after:") + in_range("k:");
    assert_eq!(lost, 0, "keys written long before the kill were replicated");
    assert_eq!(
        heir_keys, want,
        "the heir holds the range's keys from before and after the failover"
    );
}

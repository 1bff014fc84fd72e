//! Interop: failovers across the two implementations in one cluster. A keyslot master's Redis
//! replica is promoted after SIGKILL; a Redis master's keyslot replica is promoted after SIGKILL
//! with the votes of a Redis master and a keyslot master (the only two voters, so both are
//! needed); `CLUSTER FAILOVER` works from a Redis replica of a keyslot master and from a keyslot
//! replica of a Redis master; restarted old masters come back as replicas; and no write that
//! `WAIT 1` confirmed before a kill is lost.

mod cluster_util;
mod common;
mod interop_util;

use common::cli;
use interop_util::{assert_check_ok, cluster_stat, missing_keys, write_confirmed, Kind, Mixed};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const PORT_LOW: u16 = 51500;
const PORT_HIGH: u16 = 52490;

use Kind::{Keyslot as K, Redis as R};

const WAIT_S: u64 = 40;

fn live_seeds(m: &Mixed) -> Vec<u16> {
    m.c.live().iter().map(|&i| m.port(i)).collect()
}

fn assert_all_present(m: &Mixed, expect: &BTreeMap<String, String>, when: &str) {
    let bad = missing_keys(&live_seeds(m), expect);
    assert!(
        bad.is_empty(),
        "{when}: {} of {} WAIT-confirmed keys lost, first: {:?}\n{}",
        bad.len(),
        expect.len(),
        &bad[..bad.len().min(10)],
        m.dump()
    );
    eprintln!("{when}: all {} WAIT-confirmed keys present", expect.len());
}

/// SIGKILLs `master`, waits for `replica` to be promoted, restarts the old master and waits
/// until it is a replica of its successor and in sync. Returns the promotion time.
fn kill_and_promote(m: &mut Mixed, master: usize, replica: usize) -> Duration {
    let t0 = Instant::now();
    m.c.nodes[master].kill();
    assert!(
        m.wait_master(replica, Duration::from_secs(WAIT_S)),
        "node {replica} ({:?}) not promoted after SIGKILL of {master} ({:?}):\n{}",
        m.kinds[replica],
        m.kinds[master],
        m.dump()
    );
    let promoted = t0.elapsed();
    eprintln!(
        "SIGKILL of node {master} ({:?}) -> node {replica} ({:?}) promoted in {} ms",
        m.kinds[master],
        m.kinds[replica],
        promoted.as_millis()
    );
    m.c.nodes[master].restart();
    assert!(
        m.wait_replica_of(master, replica, Duration::from_secs(WAIT_S)),
        "restarted node {master} did not become a replica of {replica}:\n{}",
        m.dump()
    );
    let (mp, rp) = (m.port(replica), m.port(master));
    assert!(
        common::wait_until(Duration::from_secs(WAIT_S), || interop_util::in_sync(
            mp, rp
        )),
        "restarted node {master} never synced from {replica}:\n{}",
        m.dump()
    );
    assert!(
        m.wait_converged(Duration::from_secs(WAIT_S)),
        "{}",
        m.dump()
    );
    promoted
}

/// CLUSTER FAILOVER on `replica`; waits until it is the master and `master` its replica.
fn manual_failover(m: &Mixed, replica: usize, master: usize) {
    let r = cli(m.port(replica), &["CLUSTER", "FAILOVER"]);
    assert_eq!(r, "OK", "CLUSTER FAILOVER on node {replica}");
    assert!(
        m.wait_master(replica, Duration::from_secs(WAIT_S)),
        "CLUSTER FAILOVER on {replica} ({:?}) did not make it master:\n{}",
        m.kinds[replica],
        m.dump()
    );
    assert!(
        m.wait_replica_of(master, replica, Duration::from_secs(WAIT_S)),
        "old master {master} did not become a replica of {replica}:\n{}",
        m.dump()
    );
    assert!(
        m.wait_converged(Duration::from_secs(WAIT_S)),
        "{}",
        m.dump()
    );
    eprintln!(
        "CLUSTER FAILOVER: node {replica} ({:?}) took over from node {master} ({:?})",
        m.kinds[replica], m.kinds[master]
    );
}

#[test]
fn failovers_both_ways_lose_no_confirmed_write() {
    if !interop_util::tools_present("failovers_both_ways_lose_no_confirmed_write") {
        return;
    }
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let mut m = Mixed::create("interop-failover", &[K, K, K, R, R, R], 3000);
    // Keyslot masters A, B, C (0, 1, 2) and their Redis replicas a, b, c.
    let (a_master, b_master, c_master) = (0, 1, 2);
    let replica_of = |m: &Mixed, master: usize| (3..6).find(|&r| m.master_of(r) == master);
    let a = replica_of(&m, a_master).expect("replica of A");
    let b = replica_of(&m, b_master).expect("replica of B");
    let mut expect = BTreeMap::new();

    // 1. SIGKILL of keyslot master A promotes its Redis replica a (votes from keyslot B, C).
    expect.extend(write_confirmed(&live_seeds(&m), "one", 300));
    kill_and_promote(&mut m, a_master, a);
    assert_all_present(&m, &expect, "after SIGKILL of keyslot master");

    // 2. CLUSTER FAILOVER on the Redis replica b of keyslot master B.
    expect.extend(write_confirmed(&live_seeds(&m), "two", 300));
    manual_failover(&m, b, b_master);
    assert_all_present(&m, &expect, "after CLUSTER FAILOVER on a Redis replica");

    // 3. Masters now: a (Redis, replica A keyslot), b (Redis), C (keyslot). SIGKILL of a: A
    //    needs two votes of the two other masters, one of each kind.
    let voters = [b, c_master];
    let sent_before: Vec<u64> = voters
        .iter()
        .map(|&v| cluster_stat(m.port(v), "auth-ack_sent"))
        .collect();
    let received_before = cluster_stat(m.port(a_master), "auth-ack_received");
    expect.extend(write_confirmed(&live_seeds(&m), "three", 300));
    kill_and_promote(&mut m, a, a_master);
    for (i, &v) in voters.iter().enumerate() {
        let after = cluster_stat(m.port(v), "auth-ack_sent");
        assert!(
            after > sent_before[i],
            "master {v} ({:?}) sent no FAILOVER_AUTH_ACK ({} -> {after}):\n{}",
            m.kinds[v],
            sent_before[i],
            m.dump()
        );
    }
    let received = cluster_stat(m.port(a_master), "auth-ack_received") - received_before;
    assert!(received >= 2, "keyslot replica got {received} votes");
    let a_id = m.c.id(a_master);
    assert!(
        m.c.nodes[b]
            .log()
            .contains(&format!("Failover auth granted to {a_id}")),
        "the Redis master's log shows no vote for the keyslot replica:\n{}",
        m.c.nodes[b].log()
    );
    assert_all_present(&m, &expect, "after SIGKILL of Redis master");

    // 4. CLUSTER FAILOVER on the keyslot replica B of Redis master b.
    expect.extend(write_confirmed(&live_seeds(&m), "four", 300));
    manual_failover(&m, b_master, b);
    assert_all_present(&m, &expect, "after CLUSTER FAILOVER on a keyslot replica");

    assert_check_ok(m.port(0), &m);
    assert_check_ok(m.port(a), &m);
}

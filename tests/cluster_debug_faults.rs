//! DEBUG's cluster-bus faults on real keyslot-server processes (Redis 7.0's syntax), as a
//! Redis-style test uses them: `DEBUG CLUSTERLINK KILL to|from|all <id>` frees links that
//! CLUSTER LINKS then no longer shows and that come back by themselves, and
//! `DEBUG DROP-CLUSTER-PACKET-FILTER <type>` makes a node count but ignore one packet type.

mod cluster_util;
mod common;

use cluster_util::{conn, info_field, query_str, Cluster};
use common::wait_until;
use std::time::Duration;

const NODE_TIMEOUT_MS: u64 = 2000;

/// (direction, node id) of every entry of a CLUSTER LINKS reply (RESP2: flat key/value arrays).
fn link_entries(v: &redis::Value) -> Vec<(String, String)> {
    let redis::Value::Array(items) = v else {
        panic!("CLUSTER LINKS is not an array: {v:?}");
    };
    items
        .iter()
        .map(|item| {
            let pairs: Vec<(String, String)> = match item {
                redis::Value::Array(flat) => flat
                    .chunks(2)
                    .map(|kv| {
                        (
                            redis::from_redis_value::<String>(kv[0].clone()).unwrap_or_default(),
                            redis::from_redis_value::<String>(kv[1].clone()).unwrap_or_default(),
                        )
                    })
                    .collect(),
                redis::Value::Map(m) => m
                    .iter()
                    .map(|(k, v)| {
                        (
                            redis::from_redis_value::<String>(k.clone()).unwrap_or_default(),
                            redis::from_redis_value::<String>(v.clone()).unwrap_or_default(),
                        )
                    })
                    .collect(),
                other => panic!("a link entry is not a map: {other:?}"),
            };
            let get = |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (get("direction"), get("node"))
        })
        .collect()
}

fn links(port: u16) -> Vec<(String, String)> {
    let mut c = conn(port).expect("connect");
    let v: redis::Value = redis::cmd("CLUSTER")
        .arg("LINKS")
        .query(&mut c)
        .expect("CLUSTER LINKS");
    link_entries(&v)
}

fn has(links: &[(String, String)], direction: &str, id: &str) -> bool {
    links.iter().any(|(d, n)| d == direction && n == id)
}

/// Both links with every peer are up in `port`'s view.
fn all_links_up(port: u16, peers: &[String]) -> bool {
    let l = links(port);
    peers.iter().all(|p| has(&l, "to", p) && has(&l, "from", p))
}

/// Runs `DEBUG CLUSTERLINK KILL <direction> <id>` and CLUSTER LINKS in one MULTI, so the
/// links are seen before anything reconnects; returns the EXEC reply's links.
fn kill_and_look(port: u16, direction: &str, id: &str) -> Vec<(String, String)> {
    let mut c = conn(port).expect("connect");
    let (ok, after): (String, redis::Value) = redis::pipe()
        .atomic()
        .cmd("DEBUG")
        .arg("CLUSTERLINK")
        .arg("KILL")
        .arg(direction)
        .arg(id)
        .cmd("CLUSTER")
        .arg("LINKS")
        .query(&mut c)
        .expect("MULTI DEBUG CLUSTERLINK KILL; CLUSTER LINKS; EXEC");
    assert_eq!(ok, "OK");
    link_entries(&after)
}

/// CLUSTER NODES's ping-sent field (ms; 0 = no ping waiting for its pong) for `id` as `port`
/// sees it.
fn ping_sent(port: u16, id: &str) -> u64 {
    let text = query_str(port, &["CLUSTER", "NODES"]).expect("CLUSTER NODES");
    text.lines()
        .find(|l| l.starts_with(id))
        .and_then(|l| l.split(' ').nth(4))
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| panic!("no ping-sent for {id} in:\n{text}"))
}

fn stat(port: u16, field: &str) -> u64 {
    let info = query_str(port, &["CLUSTER", "INFO"]).expect("CLUSTER INFO");
    info_field(&info, field)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn debug_clusterlink_kill_and_drop_cluster_packet_filter_break_the_bus_as_in_redis() {
    if !common::have("redis-cli") {
        eprintln!("skipping: redis-cli not installed");
        return;
    }
    let _g = cluster_util::serial();
    let mut c = Cluster::start_with(
        "debug-bus",
        3,
        NODE_TIMEOUT_MS,
        &["--enable-debug-command", "yes"],
    );
    let out = c.create(0);
    assert!(out.status.success(), "create failed:\n{}", c.dump());
    let all = [0, 1, 2];
    assert!(
        c.wait_converged(&all, Duration::from_secs(15)),
        "no convergence:\n{}",
        c.dump()
    );
    let (p0, p2) = (c.port(0), c.port(2));
    let (id1, id2) = (c.id(1), c.id(2));
    let peers = [id1.clone(), id2.clone()];
    assert!(
        wait_until(Duration::from_secs(10), || all_links_up(p0, &peers)),
        "node 0 never had both links with each peer: {:?}",
        links(p0)
    );

    // 1. KILL TO frees only our link to node 1; KILL FROM only its link to us; ALL both.
    let after = kill_and_look(p0, "to", &id1);
    assert!(
        !has(&after, "to", &id1) && has(&after, "from", &id1),
        "{after:?}"
    );
    assert!(
        has(&after, "to", &id2) && has(&after, "from", &id2),
        "{after:?}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || all_links_up(p0, &peers)),
        "links to node 1 did not come back after KILL TO: {:?}",
        links(p0)
    );
    let after = kill_and_look(p0, "from", &id1);
    assert!(
        has(&after, "to", &id1) && !has(&after, "from", &id1),
        "{after:?}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || all_links_up(p0, &peers)),
        "node 1 did not reconnect after KILL FROM: {:?}",
        links(p0)
    );
    let after = kill_and_look(p0, "all", &id1);
    assert!(
        !has(&after, "to", &id1) && !has(&after, "from", &id1),
        "{after:?}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || all_links_up(p0, &peers)),
        "links with node 1 did not come back after KILL ALL: {:?}",
        links(p0)
    );
    let bad = query_str(p0, &["DEBUG", "CLUSTERLINK", "KILL", "to", &"0".repeat(40)]);
    assert!(
        bad.as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("Unknown node")),
        "{bad:?}"
    );

    // 2. Node 2 drops incoming PINGs: it counts them but never answers, so node 0's ping to it
    // stays pending; node 2's own pings keep it alive (Redis's data_delay rule), so it is not
    // suspected. With the filter off again, pings are answered.
    assert_eq!(
        query_str(p2, &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "0"]).expect("filter"),
        "OK"
    );
    let (pings_before, pongs_before) = (
        stat(p2, "cluster_stats_messages_ping_received"),
        stat(p2, "cluster_stats_messages_pong_sent"),
    );
    assert!(
        wait_until(Duration::from_secs(5), || ping_sent(p0, &id2) != 0),
        "node 0 never had a ping to node 2 pending"
    );
    std::thread::sleep(Duration::from_millis(2 * NODE_TIMEOUT_MS));
    assert_ne!(
        ping_sent(p0, &id2),
        0,
        "a pong came back through the filter"
    );
    let view = c.view(0).expect("CLUSTER NODES");
    let n2 = view.iter().find(|n| n.id == id2).expect("node 2 in view");
    assert!(
        !n2.has_flag("fail?") && !n2.has_flag("fail"),
        "node 2 was suspected although it keeps sending: {:?}",
        n2.flags
    );
    assert!(
        stat(p2, "cluster_stats_messages_ping_received") > pings_before,
        "dropped pings are still counted as received"
    );
    assert_eq!(
        stat(p2, "cluster_stats_messages_pong_sent"),
        pongs_before,
        "node 2 answered a ping it should have dropped"
    );
    assert_eq!(
        query_str(p2, &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"]).expect("filter off"),
        "OK"
    );
    // As in Redis, node 0 re-pings only on a new link, and it keeps the link while node 2's own
    // pings keep arriving (data delay under node-timeout/2), so the pending ping could stay
    // pending for as long as node 2 talks. A fresh link sends a fresh PING at once.
    assert_eq!(
        query_str(p0, &["DEBUG", "CLUSTERLINK", "KILL", "to", &id2]).expect("kill link"),
        "OK"
    );
    assert!(
        wait_until(Duration::from_secs(5), || ping_sent(p0, &id2) == 0),
        "node 0's ping to node 2 was never answered after the filter was cleared"
    );
    assert!(stat(p2, "cluster_stats_messages_pong_sent") > pongs_before);
    c.assert_alive();
}

//! Replication with real processes: full and partial resync, digests after continuous writes,
//! and WAIT-confirmed writes surviving a master's SIGKILL in the seed's cluster.

mod cluster_util;
mod common;

use cluster_util::{info_field, key_slot, Cluster};
use common::{cli, wait_until, Server, TempDir};
use std::process::Command;
use std::time::{Duration, Instant};

fn tools_present(test: &str) -> bool {
    common::require_tools(test, &["redis-cli", "redis-benchmark"])
}

fn debug_flags() -> Vec<&'static str> {
    vec!["--enable-debug-command", "yes"]
}

fn info(port: u16, section: &str) -> String {
    cli(port, &["INFO", section])
}

fn field(port: u16, section: &str, name: &str) -> String {
    info_field(&info(port, section), name).unwrap_or_default()
}

fn offset(port: u16) -> u64 {
    field(port, "replication", "master_repl_offset")
        .parse()
        .unwrap_or(0)
}

fn link_up(port: u16) -> bool {
    field(port, "replication", "master_link_status") == "up"
}

fn digest(port: u16) -> String {
    cli(port, &["DEBUG", "DIGEST"])
}

/// Waits until every replica's offset equals the master's and reports the digests.
fn wait_in_sync(master: u16, replicas: &[u16]) -> bool {
    wait_until(Duration::from_secs(20), || {
        let m = offset(master);
        replicas.iter().all(|r| link_up(*r) && offset(*r) == m)
    })
}

fn replicaof(replica: &Server, master: &Server) {
    let r = replica.cli(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    assert_eq!(r, "OK");
}

/// The id of the connection that feeds a replica, from the master's CLIENT LIST.
fn feed_client_id(master: u16) -> Option<String> {
    cli(master, &["CLIENT", "LIST"])
        .lines()
        .find(|l| l.contains("cmd=psync"))
        .and_then(|l| l.split(' ').next())
        .and_then(|f| f.strip_prefix("id="))
        .map(str::to_string)
}

#[test]
fn replicas_match_the_master_digest_after_continuous_writes() {
    if !tools_present("replicas_match_the_master_digest_after_continuous_writes") {
        return;
    }
    let dir = TempDir::new("repl-digest");
    let flags = debug_flags();
    let master = Server::keyslot(&dir, &flags);
    let r1 = Server::keyslot(&dir, &flags);
    let r2 = Server::keyslot(&dir, &flags);
    // Some data before the replicas attach (full sync), more while they stream.
    for i in 0..200 {
        cli(master.port, &["SET", &format!("pre:{i}"), &format!("v{i}")]);
    }
    cli(master.port, &["SET", "ttl:key", "x", "EX", "1000"]);
    let bench = Command::new("redis-benchmark")
        .args([
            "-p",
            &master.port.to_string(),
            "-t",
            "set,incr",
            "-n",
            "30000",
            "-r",
            "5000",
            "-q",
            "-P",
            "8",
        ])
        .output();
    replicaof(&r1, &master);
    replicaof(&r2, &master);
    let bench = bench.expect("redis-benchmark runs");
    assert!(bench.status.success());
    for i in 0..100 {
        cli(
            master.port,
            &["SET", &format!("post:{i}"), "after", "PX", "500000"],
        );
        cli(master.port, &["DEL", &format!("pre:{i}")]);
    }
    assert!(
        wait_in_sync(master.port, &[r1.port, r2.port]),
        "replicas did not catch up: master {} r1 {} r2 {}\n{}\n{}",
        offset(master.port),
        offset(r1.port),
        offset(r2.port),
        r1.log(),
        info(r1.port, "replication")
    );
    let d = digest(master.port);
    assert_ne!(d, "0000000000000000000000000000000000000000");
    assert_eq!(digest(r1.port), d, "replica 1 differs from the master");
    assert_eq!(digest(r2.port), d, "replica 2 differs from the master");
    // Expire times replicate as absolute times.
    let ttl: i64 = cli(r1.port, &["PTTL", "ttl:key"]).parse().unwrap_or(-5);
    assert!(ttl > 990_000, "replica TTL {ttl}");
    // Replicas refuse writes.
    assert!(cli(r1.port, &["SET", "x", "1"]).starts_with("READONLY"));
    assert_eq!(field(master.port, "replication", "connected_slaves"), "2");
    assert_eq!(field(r1.port, "replication", "role"), "slave");
}

#[test]
fn a_broken_link_resyncs_partially_from_the_backlog() {
    if !tools_present("a_broken_link_resyncs_partially_from_the_backlog") {
        return;
    }
    let dir = TempDir::new("repl-partial");
    let flags = debug_flags();
    let master = Server::keyslot(&dir, &flags);
    let replica = Server::keyslot(&dir, &flags);
    for i in 0..100 {
        cli(master.port, &["SET", &format!("k{i}"), "v"]);
    }
    replicaof(&replica, &master);
    assert!(wait_in_sync(master.port, &[replica.port]));
    assert_eq!(field(master.port, "stats", "sync_full"), "1");
    // The link broken three ways, as Redis's clients can: by the feed's id and by TYPE replica
    // on the master, by TYPE master on the replica. Each time the replica continues from the
    // backlog.
    let id = feed_client_id(master.port).expect("the replica's connection is listed");
    let listed = cli(master.port, &["CLIENT", "LIST", "TYPE", "replica"]);
    assert!(
        listed.contains(&format!("id={id} ")) && listed.contains(" flags=S "),
        "{listed}"
    );
    let kills: [(u16, Vec<&str>); 3] = [
        (master.port, vec!["CLIENT", "KILL", "ID", &id]),
        (master.port, vec!["CLIENT", "KILL", "TYPE", "replica"]),
        (replica.port, vec!["CLIENT", "KILL", "TYPE", "master"]),
    ];
    for (round, (port, kill)) in kills.iter().enumerate() {
        assert!(wait_in_sync(master.port, &[replica.port]));
        assert_eq!(cli(*port, kill), "1", "{kill:?}");
        for i in 0..100 {
            cli(master.port, &["SET", &format!("later{round}:{i}"), "v"]);
        }
        assert!(
            wait_in_sync(master.port, &[replica.port]),
            "{}",
            replica.log()
        );
        assert!(
            wait_until(Duration::from_secs(5), || field(
                master.port,
                "stats",
                "sync_partial_ok"
            ) == (round + 1).to_string()),
            "{kill:?}: the +CONTINUE path\n{}",
            replica.log()
        );
    }
    assert_eq!(
        field(master.port, "stats", "sync_full"),
        "1",
        "no second full sync"
    );
    assert_eq!(cli(master.port, &["CLIENT", "KILL", "TYPE", "master"]), "0");
    assert_eq!(digest(replica.port), digest(master.port));
}

#[test]
fn a_replica_away_longer_than_the_backlog_resyncs_fully() {
    if !tools_present("a_replica_away_longer_than_the_backlog_resyncs_fully") {
        return;
    }
    let dir = TempDir::new("repl-full");
    let mut flags = debug_flags();
    flags.extend(["--repl-backlog-size", "16kb"]);
    let master = Server::keyslot(&dir, &flags);
    let replica = Server::keyslot(&dir, &flags);
    replicaof(&replica, &master);
    cli(master.port, &["SET", "a", "1"]);
    assert!(wait_in_sync(master.port, &[replica.port]));
    let pid = replica
        .child
        .as_ref()
        .map(|c| c.id())
        .expect("replica runs");
    let stop = |sig: &str| {
        Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .expect("kill")
    };
    stop("-STOP");
    let id = feed_client_id(master.port).expect("the replica's connection is listed");
    cli(master.port, &["CLIENT", "KILL", "ID", &id]);
    let big = "x".repeat(1000);
    for i in 0..100 {
        cli(master.port, &["SET", &format!("big{i}"), &big]);
    }
    stop("-CONT");
    assert!(
        wait_in_sync(master.port, &[replica.port]),
        "{}",
        replica.log()
    );
    assert_eq!(
        field(master.port, "stats", "sync_full"),
        "2",
        "the backlog no longer had it"
    );
    assert_eq!(digest(replica.port), digest(master.port));
}

#[test]
fn wait_confirmed_writes_survive_a_master_sigkill_and_the_old_master_catches_up() {
    if !tools_present(
        "wait_confirmed_writes_survive_a_master_sigkill_and_the_old_master_catches_up",
    ) {
        return;
    }
    let _serial = cluster_util::serial();
    let mut c = Cluster::six_node_with("repl-wait", 2000, &["--enable-debug-command", "yes"]);
    // Keys on the master of slot 9189 (key1's slot), each confirmed by WAIT 1.
    let owner = c.owner_in_view(0, 9189).expect("slot 9189 has an owner");
    let master = c.index_of_port(owner.port);
    let port = c.port(master);
    let mut confirmed = Vec::new();
    let mut i = 0;
    while confirmed.len() < 200 {
        i += 1;
        let key = format!("{{key1}}:{i}");
        assert_eq!(key_slot(key.as_bytes()), 9189);
        let mut conn = cluster_util::conn(port).expect("connect");
        let set: String = redis::cmd("SET")
            .arg(&key)
            .arg(i)
            .query(&mut conn)
            .expect("SET");
        assert_eq!(set, "OK");
        let acked: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(2000)
            .query(&mut conn)
            .expect("WAIT");
        if acked >= 1 {
            confirmed.push(key);
        }
    }
    let t0 = Instant::now();
    c.nodes[master].kill();
    let promoted = wait_until(Duration::from_secs(10), || {
        c.live()
            .iter()
            .all(|&n| c.cluster_state(n).as_deref() == Some("ok"))
            && c.owner_in_view(c.live()[0], 9189).map(|o| o.port) != Some(port)
    });
    assert!(promoted, "no promotion:\n{}", c.dump());
    let new_owner = c.owner_in_view(c.live()[0], 9189).expect("an owner");
    eprintln!(
        "promoted {} after {} ms",
        new_owner.port,
        t0.elapsed().as_millis()
    );
    for key in &confirmed {
        let v = cli(new_owner.port, &["GET", key]);
        assert!(
            !v.is_empty(),
            "WAIT-confirmed key {key} lost after failover"
        );
    }
    c.nodes[master].restart();
    let rejoined = wait_until(Duration::from_secs(15), || {
        link_up(port) && offset(port) == offset(new_owner.port)
    });
    assert!(
        rejoined,
        "old master did not catch up:\n{}",
        info(port, "replication")
    );
    assert_eq!(field(port, "replication", "role"), "slave");
    assert_eq!(cli(port, &["DBSIZE"]), cli(new_owner.port, &["DBSIZE"]));
    assert_eq!(
        digest(port),
        digest(new_owner.port),
        "the old master ends with its successor's dataset"
    );
    // The old master, now a replica, serves the confirmed keys to a READONLY client.
    let mut replica_conn = cluster_util::conn(port).expect("connect to the old master");
    let ok: String = redis::cmd("READONLY")
        .query(&mut replica_conn)
        .expect("READONLY");
    assert_eq!(ok, "OK");
    for key in confirmed.iter().take(50) {
        let v: Option<String> = redis::cmd("GET")
            .arg(key)
            .query(&mut replica_conn)
            .expect("GET");
        assert!(
            v.is_some(),
            "{key} missing on the old master after it caught up"
        );
    }
}

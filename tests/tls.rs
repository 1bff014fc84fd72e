//! TLS (issue 15): the real `redis-cli --tls` against keyslot's tls-port, a plaintext client on
//! the TLS port, a six-node cluster with `port 0`, tls-cluster and tls-replication created by
//! `redis-cli --tls --cluster create` and failing over after SIGKILL, and replication from a
//! redis-server 7.0 TLS master. The test CA and certificates come from scripts/gen-tls-certs.sh
//! (the openssl command) in a scratch directory.

mod cluster_util;
mod common;

use cluster_util::run_with_timeout;
use common::{free_port, have, wait_until, TempDir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const NODE_TIMEOUT_MS: u64 = 2000;

fn tools_present(test: &str) -> bool {
    let ok = have("redis-cli") && have("openssl") && have("redis-server");
    if !ok {
        eprintln!("skipping {test}: redis-cli, redis-server or openssl not installed");
    }
    ok
}

/// The test CA and certificates, made once per test in `dir`.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn make(dir: &Path) -> Certs {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-tls-certs.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(dir)
            .output()
            .expect("run gen-tls-certs.sh");
        assert!(
            out.status.success(),
            "gen-tls-certs.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Certs {
            dir: dir.to_path_buf(),
        }
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The server-side flags: certificate, key and CA.
    fn server_args(&self) -> Vec<String> {
        vec![
            "--tls-cert-file".into(),
            self.file("server.crt"),
            "--tls-key-file".into(),
            self.file("server.key"),
            "--tls-ca-cert-file".into(),
            self.file("ca.crt"),
        ]
    }

    /// redis-cli's TLS flags with the client certificate.
    fn cli_args(&self) -> Vec<String> {
        vec![
            "--tls".into(),
            "--cacert".into(),
            self.file("ca.crt"),
            "--cert".into(),
            self.file("client.crt"),
            "--key".into(),
            self.file("client.key"),
        ]
    }
}

/// A server process (keyslot or redis-server) listening for TLS, killed on drop.
struct TlsServer {
    child: Option<Child>,
    dir: PathBuf,
}

impl TlsServer {
    /// Starts `bin` in `dir` with `args`, and waits until `redis-cli --tls PING` answers.
    fn start(bin: &Path, dir: &Path, tls_port: u16, args: &[String], certs: &Certs) -> TlsServer {
        std::fs::create_dir_all(dir).expect("node dir");
        let log = std::fs::File::create(dir.join("log.txt")).expect("log file");
        let child = Command::new(bin)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let s = TlsServer {
            child: Some(child),
            dir: dir.to_path_buf(),
        };
        let up = wait_until(Duration::from_secs(10), || {
            tls_cli(certs, tls_port, &["PING"]).0 == "PONG"
        });
        assert!(up, "no TLS PONG on {tls_port}; log:\n{}", s.log());
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `redis-cli --tls ... -p PORT args`: (stdout trimmed, stderr).
fn tls_cli(certs: &Certs, port: u16, args: &[&str]) -> (String, String) {
    let mut cmd = Command::new("redis-cli");
    cmd.args(certs.cli_args())
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args);
    let (out, _) = run_with_timeout(&mut cmd, Duration::from_secs(10));
    (
        String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
        String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
    )
}

/// A keyslot node with only a TLS port (`port 0`).
fn keyslot_tls_only(certs: &Certs, dir: &Path, tls_port: u16, extra: &[&str]) -> TlsServer {
    tls_only(&common::keyslot_bin(), certs, dir, tls_port, extra)
}

/// `bin` (keyslot-server or redis-server) with only a TLS port.
fn tls_only(bin: &Path, certs: &Certs, dir: &Path, tls_port: u16, extra: &[&str]) -> TlsServer {
    let mut args: Vec<String> = vec![
        "--port".into(),
        "0".into(),
        "--tls-port".into(),
        tls_port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--dir".into(),
        dir.display().to_string(),
    ];
    args.extend(certs.server_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    TlsServer::start(bin, dir, tls_port, &args, certs)
}

#[test]
fn redis_cli_tls_set_get_and_plaintext_client_fails_cleanly() {
    if !tools_present("redis_cli_tls_set_get") {
        return;
    }
    let tmp = TempDir::new("tls-cli");
    let certs = Certs::make(&tmp.path().join("certs"));
    let port = free_port();
    let node = keyslot_tls_only(&certs, &tmp.path().join("node"), port, &[]);

    // (1) The real redis-cli over TLS, with the test CA and a client certificate.
    let (set, err) = tls_cli(&certs, port, &["SET", "greeting", "hello over tls"]);
    assert_eq!(set, "OK", "SET over TLS: stderr {err}");
    let (get, _) = tls_cli(&certs, port, &["GET", "greeting"]);
    assert_eq!(get, "hello over tls");
    let (info, _) = tls_cli(&certs, port, &["INFO", "server"]);
    assert!(
        info.contains(&format!("tcp_port:{port}")),
        "INFO tcp_port is the TLS port with port 0:\n{info}"
    );

    // tls-auth-clients defaults to yes: without a client certificate the handshake fails.
    let mut cmd = Command::new("redis-cli");
    cmd.args(["--tls", "--cacert", &certs.file("ca.crt")])
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"]);
    let (out, _) = run_with_timeout(&mut cmd, Duration::from_secs(10));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("PONG"),
        "a client without a certificate was served: {text}"
    );

    // (2) A plaintext client on the TLS port: no Redis reply, the connection closes.
    let mut raw = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.write_all(b"PING\r\n").expect("write");
    let mut buf = Vec::new();
    let _ = raw.read_to_end(&mut buf);
    assert!(
        !String::from_utf8_lossy(&buf).contains("PONG"),
        "plaintext PING answered on the TLS port: {buf:?}"
    );
    // The real redis-cli without --tls fails the same way.
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"]);
    let (out, killed) = run_with_timeout(&mut cmd, Duration::from_secs(10));
    assert!(!killed, "plaintext redis-cli hung on the TLS port");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("PONG"),
        "plaintext redis-cli was answered on the TLS port"
    );
    // The node logged the failed handshakes and still serves TLS clients.
    assert!(
        wait_until(Duration::from_secs(5), || node
            .log()
            .contains("Error accepting a client connection")),
        "no log line for the failed handshake:\n{}",
        node.log()
    );
    let (get, _) = tls_cli(&certs, port, &["GET", "greeting"]);
    assert_eq!(get, "hello over tls", "TLS client after the plaintext ones");
}

/// Six keyslot nodes with only TLS ports, tls-cluster and tls-replication, created by
/// `redis-cli --tls --cluster create --cluster-replicas 1`; written keys reach the replicas,
/// one slot moves with MIGRATE (source to target over TLS) and one with CLUSTER MIGRATESLOTS
/// (the SYNCSLOTS link over TLS), a master is SIGKILLed, its replica is promoted, and every key
/// is still readable.
#[test]
fn tls_cluster_forms_replicates_and_fails_over() {
    if !tools_present("tls_cluster") {
        return;
    }
    tls_cluster_run("tls-cluster", false);
}

/// The same with redis-server 7.0.15 as every other node: keyslot's rustls bus and
/// replication links and redis-server's OpenSSL ones talk to each other (the atomic migration
/// step is left out: Redis 7.0 has no CLUSTER MIGRATESLOTS).
#[test]
fn mixed_tls_cluster_with_redis_server_nodes() {
    if !tools_present("mixed_tls_cluster") {
        return;
    }
    tls_cluster_run("tls-mixed", true);
}

/// Six TLS-only nodes (keyslot, or keyslot and redis-server alternating when `mixed`) through
/// create, replication, MIGRATE, atomic migration (keyslot only), SIGKILL and failover.
fn tls_cluster_run(tag: &str, mixed: bool) {
    let tmp = TempDir::new(tag);
    let certs = Certs::make(&tmp.path().join("certs"));
    let mut nodes = Vec::new();
    let mut ports = Vec::new();
    for i in 0..6 {
        let port = free_port();
        let dir = tmp.path().join(format!("node{i}"));
        let timeout = NODE_TIMEOUT_MS.to_string();
        let bin = if mixed && i % 2 == 1 {
            PathBuf::from("redis-server")
        } else {
            common::keyslot_bin()
        };
        let node = tls_only(
            &bin,
            &certs,
            &dir,
            port,
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                &timeout,
                "--tls-cluster",
                "yes",
                "--tls-replication",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        );
        ports.push(port);
        nodes.push(node);
    }
    let mut create = Command::new("redis-cli");
    create.args(certs.cli_args()).args(["--cluster", "create"]);
    for p in &ports {
        create.arg(format!("127.0.0.1:{p}"));
    }
    create.args(["--cluster-replicas", "1", "--cluster-yes"]);
    let (out, killed) = run_with_timeout(&mut create, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !killed && out.status.success() && stdout.contains("[OK] All 16384 slots covered"),
        "redis-cli --tls --cluster create failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all_ok = |nodes: &[usize]| {
        nodes.iter().all(|&i| {
            tls_cli(&certs, ports[i], &["CLUSTER", "INFO"])
                .0
                .contains("cluster_state:ok")
        })
    };
    assert!(
        wait_until(Duration::from_secs(30), || all_ok(&[0, 1, 2, 3, 4, 5])),
        "the TLS cluster never reported cluster_state:ok"
    );
    // CLUSTER NODES over TLS announces the TLS ports with the bus at tls-port + 10000.
    let (nodes_text, _) = tls_cli(&certs, ports[0], &["CLUSTER", "NODES"]);
    for p in &ports {
        assert!(
            nodes_text.contains(&format!("127.0.0.1:{}@{}", p, p + 10000)),
            "CLUSTER NODES lacks 127.0.0.1:{p}@{}:\n{nodes_text}",
            p + 10000
        );
    }

    // Writes through the cluster client mode (-c follows MOVED over TLS).
    let keys: Vec<String> = (0..60).map(|i| format!("tls-key-{i}")).collect();
    for k in &keys {
        let (r, e) = tls_cli(&certs, ports[0], &["-c", "SET", k, &format!("v-{k}")]);
        assert_eq!(r, "OK", "SET {k}: {e}");
    }
    // Every replica caught up: its master_link_status is up and its offset matches.
    let view = |port: u16| tls_cli(&certs, port, &["CLUSTER", "NODES"]).0;
    let lines = view(ports[0]);
    let replicas: Vec<u16> = lines
        .lines()
        .filter(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("slave")))
        .filter_map(|l| {
            let addr = l.split(' ').nth(1)?;
            addr.split('@').next()?.rsplit(':').next()?.parse().ok()
        })
        .collect();
    assert_eq!(replicas.len(), 3, "three replicas:\n{lines}");
    for r in &replicas {
        assert!(
            wait_until(Duration::from_secs(20), || {
                tls_cli(&certs, *r, &["INFO", "replication"])
                    .0
                    .contains("master_link_status:up")
            }),
            "replica {r} has no TLS link to its master"
        );
    }
    // Reads on the replicas (READONLY is per connection: one redis-cli per key would lose it,
    // so check the keyspace size instead).
    assert!(
        wait_until(Duration::from_secs(20), || {
            let total: u64 = replicas
                .iter()
                .map(|r| {
                    tls_cli(&certs, *r, &["DBSIZE"])
                        .0
                        .parse::<u64>()
                        .unwrap_or(0)
                })
                .sum();
            total == keys.len() as u64
        }),
        "the replicas do not hold all {} keys",
        keys.len()
    );

    // MIGRATE over TLS (tls-cluster): move tls-key-1's slot by hand, as redis-cli reshard does.
    let slot_of = |key: &str| -> u16 {
        let (s, _) = tls_cli(&certs, ports[0], &["CLUSTER", "KEYSLOT", key]);
        s.parse().expect("slot")
    };
    let s1 = slot_of("tls-key-1");
    let (src_id, src_port) = owner_of(&lines, s1);
    let (dst_id, dst_port) = other_master(&lines, &src_id);
    let (s1t, dstt) = (s1.to_string(), dst_port.to_string());
    let ok = |port: u16, args: &[&str]| {
        let (r, e) = tls_cli(&certs, port, args);
        assert_eq!(r, "OK", "{args:?} on {port}: {e}");
    };
    ok(
        dst_port,
        &["CLUSTER", "SETSLOT", &s1t, "IMPORTING", &src_id],
    );
    ok(
        src_port,
        &["CLUSTER", "SETSLOT", &s1t, "MIGRATING", &dst_id],
    );
    let (in_slot, _) = tls_cli(&certs, src_port, &["CLUSTER", "GETKEYSINSLOT", &s1t, "100"]);
    let in_slot: Vec<&str> = in_slot.lines().collect();
    assert!(in_slot.contains(&"tls-key-1"), "{in_slot:?}");
    let mut migrate = vec!["MIGRATE", "127.0.0.1", &dstt, "", "0", "5000", "KEYS"];
    migrate.extend(in_slot.iter().copied());
    ok(src_port, &migrate);
    // Target first, then the source, then the other master (SETSLOT is for masters only).
    let mut masters: Vec<u16> = lines
        .lines()
        .filter(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("master")))
        .map(|l| id_port(l).1)
        .filter(|p| *p != dst_port && *p != src_port)
        .collect();
    masters.splice(0..0, [dst_port, src_port]);
    for p in &masters {
        ok(*p, &["CLUSTER", "SETSLOT", &s1t, "NODE", &dst_id]);
    }
    let (n, _) = tls_cli(&certs, dst_port, &["CLUSTER", "COUNTKEYSINSLOT", &s1t]);
    assert_eq!(
        n,
        in_slot.len().to_string(),
        "keys of slot {s1} on the target"
    );

    // Atomic slot migration (SYNCSLOTS link over TLS): tls-key-2's slot.
    if !mixed {
        atomic_migration_over_tls(&certs, &ports, slot_of("tls-key-2"));
    }
    assert!(
        wait_until(Duration::from_secs(20), || all_ok(&[0, 1, 2, 3, 4, 5])),
        "cluster not ok after the migrations"
    );

    // SIGKILL the master of tls-key-0's slot; its replica takes over.
    let lines = view(ports[0]);
    let slot = slot_of("tls-key-0");
    let (owner_id, owner_port) = owner_of(&lines, slot);
    let replica_line = lines
        .lines()
        .find(|l| l.split(' ').nth(3) == Some(owner_id.as_str()))
        .unwrap_or_else(|| panic!("no replica of {owner_id}:\n{lines}"))
        .to_string();
    let replica_id = replica_line.split(' ').next().unwrap().to_string();
    let victim = ports.iter().position(|p| *p == owner_port).unwrap();
    nodes[victim].kill();
    let survivors: Vec<usize> = (0..6).filter(|i| *i != victim).collect();
    let promoted = wait_until(Duration::from_secs(30), || {
        survivors.iter().all(|&i| {
            let text = view(ports[i]);
            text.lines().any(|l| {
                l.starts_with(&replica_id)
                    && l.split(' ').nth(2).is_some_and(|f| f.contains("master"))
            })
        }) && all_ok(&survivors)
    });
    assert!(
        promoted,
        "replica {replica_id} was not promoted everywhere; node 0 sees:\n{}",
        view(ports[survivors[0]])
    );
    // Every key is still readable through the cluster.
    let entry = ports[survivors[0]];
    for k in &keys {
        let (v, e) = tls_cli(&certs, entry, &["-c", "GET", k]);
        assert_eq!(v, format!("v-{k}"), "GET {k} after failover: {e}");
    }
    // A plaintext client of this TLS-only cluster has no port to use: none listens.
    drop(nodes);
}

/// CLUSTER MIGRATESLOTS of `slot` from its owner to another master; the SYNCSLOTS link goes to
/// the target's announced (TLS) port.
fn atomic_migration_over_tls(certs: &Certs, ports: &[u16], slot: u16) {
    let ok = |port: u16, args: &[&str]| {
        let (r, e) = tls_cli(certs, port, args);
        assert_eq!(r, "OK", "{args:?} on {port}: {e}");
    };
    let s2 = slot;
    let lines = tls_cli(certs, ports[0], &["CLUSTER", "NODES"]).0;
    let (src2_id, src2_port) = owner_of(&lines, s2);
    let (dst2_id, dst2_port) = other_master(&lines, &src2_id);
    let s2t = s2.to_string();
    ok(
        src2_port,
        &[
            "CLUSTER",
            "MIGRATESLOTS",
            "SLOTSRANGE",
            &s2t,
            &s2t,
            "NODE",
            &dst2_id,
        ],
    );
    assert!(
        wait_until(Duration::from_secs(30), || {
            tls_cli(certs, src2_port, &["CLUSTER", "GETSLOTMIGRATIONS"])
                .0
                .lines()
                .any(|l| l == "success")
        }),
        "atomic migration over TLS did not succeed: {}",
        tls_cli(certs, src2_port, &["CLUSTER", "GETSLOTMIGRATIONS"]).0
    );
    assert!(
        wait_until(Duration::from_secs(10), || {
            tls_cli(certs, dst2_port, &["CLUSTER", "COUNTKEYSINSLOT", &s2t]).0 != "0"
        }),
        "slot {s2} keys did not reach the target"
    );
}

/// The (id, port) of the master owning `slot` in a CLUSTER NODES text.
fn owner_of(nodes: &str, slot: u16) -> (String, u16) {
    let line = nodes
        .lines()
        .find(|l| {
            l.split(' ').nth(2).is_some_and(|f| f.contains("master"))
                && l.split(' ').skip(8).any(|r| match r.split_once('-') {
                    Some((a, b)) => {
                        a.parse::<u16>().is_ok_and(|a| a <= slot)
                            && b.parse::<u16>().is_ok_and(|b| slot <= b)
                    }
                    None => r.parse::<u16>() == Ok(slot),
                })
        })
        .unwrap_or_else(|| panic!("no owner of slot {slot}:\n{nodes}"));
    id_port(line)
}

/// A master of the CLUSTER NODES text other than `id` that owns slots.
fn other_master(nodes: &str, id: &str) -> (String, u16) {
    let line = nodes
        .lines()
        .find(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f[0] != id && f[2].contains("master") && !f[2].contains("fail") && f.len() > 8
        })
        .unwrap_or_else(|| panic!("no other master than {id}:\n{nodes}"));
    id_port(line)
}

/// (id, client port) of a CLUSTER NODES line.
fn id_port(line: &str) -> (String, u16) {
    let f: Vec<&str> = line.split(' ').collect();
    let port = f[1]
        .split('@')
        .next()
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (f[0].to_string(), port)
}

/// A keyslot replica replicates from a redis-server 7.0.15 master over TLS (tls-replication
/// on the replica, the master's tls-port).
#[test]
fn keyslot_replica_of_redis_server_tls_master() {
    if !tools_present("keyslot_replica_of_redis_tls_master") {
        return;
    }
    let tmp = TempDir::new("tls-interop");
    let certs = Certs::make(&tmp.path().join("certs"));
    let master_port = free_port();
    let mut margs: Vec<String> = vec![
        "--port".into(),
        "0".into(),
        "--tls-port".into(),
        master_port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        "".into(),
        "--appendonly".into(),
        "no".into(),
    ];
    margs.extend(certs.server_args());
    let master_dir = tmp.path().join("master");
    let master = TlsServer::start(
        Path::new("redis-server"),
        &master_dir,
        master_port,
        &margs,
        &certs,
    );
    for i in 0..50 {
        let (r, _) = tls_cli(
            &certs,
            master_port,
            &["SET", &format!("k{i}"), &format!("v{i}")],
        );
        assert_eq!(r, "OK");
    }
    let replica_port = free_port();
    let mport = master_port.to_string();
    let replica = keyslot_tls_only(
        &certs,
        &tmp.path().join("replica"),
        replica_port,
        &["--tls-replication", "yes"],
    );
    let (r, e) = tls_cli(&certs, replica_port, &["REPLICAOF", "127.0.0.1", &mport]);
    assert_eq!(r, "OK", "REPLICAOF: {e}");
    assert!(
        wait_until(Duration::from_secs(20), || {
            tls_cli(&certs, replica_port, &["INFO", "replication"])
                .0
                .contains("master_link_status:up")
        }),
        "keyslot replica never linked to the redis-server TLS master; log:\n{}",
        replica.log()
    );
    // The snapshot, then the live stream.
    tls_cli(&certs, master_port, &["SET", "after-sync", "streamed"]);
    assert!(
        wait_until(Duration::from_secs(10), || {
            tls_cli(&certs, replica_port, &["GET", "after-sync"]).0 == "streamed"
        }),
        "the live stream did not arrive over TLS"
    );
    assert_eq!(tls_cli(&certs, replica_port, &["DBSIZE"]).0, "51");
    assert_eq!(tls_cli(&certs, replica_port, &["GET", "k7"]).0, "v7");
    // The master lists the replica under its TLS port (tls-replication announces it).
    let (info, _) = tls_cli(&certs, master_port, &["INFO", "replication"]);
    assert!(
        info.contains(&format!("port={replica_port}")),
        "master's INFO does not list the replica's TLS port {replica_port}:\n{info}"
    );
    drop(master);
}

/// The other way: a redis-server 7.0.15 replica (tls-replication) of a keyslot TLS-only master.
#[test]
fn redis_server_replica_of_keyslot_tls_master() {
    if !tools_present("redis_server_replica_of_keyslot_tls_master") {
        return;
    }
    let tmp = TempDir::new("tls-interop-rev");
    let certs = Certs::make(&tmp.path().join("certs"));
    let master_port = free_port();
    let master = keyslot_tls_only(&certs, &tmp.path().join("master"), master_port, &[]);
    for i in 0..50 {
        let (r, _) = tls_cli(
            &certs,
            master_port,
            &["SET", &format!("k{i}"), &format!("v{i}")],
        );
        assert_eq!(r, "OK");
    }
    let replica_port = free_port();
    let mut rargs: Vec<String> = vec![
        "--port".into(),
        "0".into(),
        "--tls-port".into(),
        replica_port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        "".into(),
        "--appendonly".into(),
        "no".into(),
        "--tls-replication".into(),
        "yes".into(),
        "--replicaof".into(),
        "127.0.0.1".into(),
        master_port.to_string(),
    ];
    rargs.extend(certs.server_args());
    let replica = TlsServer::start(
        Path::new("redis-server"),
        &tmp.path().join("replica"),
        replica_port,
        &rargs,
        &certs,
    );
    assert!(
        wait_until(Duration::from_secs(20), || {
            tls_cli(&certs, replica_port, &["INFO", "replication"])
                .0
                .contains("master_link_status:up")
        }),
        "redis-server replica never linked to the keyslot TLS master; its log:\n{}\nmaster log:\n{}",
        replica.log(),
        master.log()
    );
    tls_cli(&certs, master_port, &["SET", "after-sync", "streamed"]);
    assert!(
        wait_until(Duration::from_secs(10), || {
            tls_cli(&certs, replica_port, &["GET", "after-sync"]).0 == "streamed"
        }),
        "the live stream did not reach redis-server over TLS"
    );
    assert_eq!(tls_cli(&certs, replica_port, &["DBSIZE"]).0, "51");
    let (info, _) = tls_cli(&certs, master_port, &["INFO", "replication"]);
    assert!(
        info.contains(&format!("port={replica_port}")),
        "keyslot's INFO does not list redis-server's TLS port {replica_port}:\n{info}"
    );
}

/// Ports in a tls-cluster node with both a plaintext and a TLS port, keyslot against
/// redis-server 7.0.15 configured alike: plaintext clients are given the plaintext port in
/// CLUSTER SLOTS and NODES, TLS clients the TLS port; CLUSTER SHARDS lists both; the bus is on
/// tls-port + 10000.
#[test]
fn tls_cluster_ports_as_redis_server() {
    if !tools_present("tls_cluster_ports_as_redis_server") {
        return;
    }
    let tmp = TempDir::new("tls-ports");
    let certs = Certs::make(&tmp.path().join("certs"));
    let mut seen = Vec::new();
    for (name, bin) in [
        ("keyslot", common::keyslot_bin()),
        ("redis", PathBuf::from("redis-server")),
    ] {
        let (port, tls_port) = (free_port(), free_port());
        let dir = tmp.path().join(name);
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--tls-port",
            &tls_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--tls-cluster",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(certs.server_args());
        let _server = TlsServer::start(&bin, &dir, tls_port, &args, &certs);
        let plain = |a: &[&str]| common::cli(port, a);
        assert_eq!(plain(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]), "OK");
        let id = plain(&["CLUSTER", "MYID"]);
        let scrub = |text: String| {
            text.replace(&id, "ID")
                .replace(&(tls_port + 10000).to_string(), "BUSPORT")
                .replace(&tls_port.to_string(), "TLSPORT")
                .replace(&port.to_string(), "PORT")
        };
        let nodes_addr = |text: String| {
            text.lines()
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .unwrap_or("")
                .to_string()
        };
        let shards_ports: Vec<String> = {
            let text = tls_cli(&certs, tls_port, &["CLUSTER", "SHARDS"]).0;
            let lines: Vec<&str> = text.lines().collect();
            lines
                .windows(2)
                .filter(|w| w[0].ends_with("port"))
                .map(|w| format!("{} {}", w[0], w[1]))
                .collect()
        };
        let view = vec![
            scrub(plain(&["CLUSTER", "SLOTS"])),
            scrub(tls_cli(&certs, tls_port, &["CLUSTER", "SLOTS"]).0),
            scrub(nodes_addr(plain(&["CLUSTER", "NODES"]))),
            scrub(nodes_addr(
                tls_cli(&certs, tls_port, &["CLUSTER", "NODES"]).0,
            )),
            scrub(shards_ports.join("\n")),
        ];
        println!("{name}: {view:?}");
        seen.push((name, view));
    }
    let (k, r) = (&seen[0].1, &seen[1].1);
    for (i, what) in [
        "CLUSTER SLOTS (plaintext client)",
        "CLUSTER SLOTS (TLS client)",
        "CLUSTER NODES address (plaintext client)",
        "CLUSTER NODES address (TLS client)",
        "CLUSTER SHARDS ports",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(k[i], r[i], "{what}: keyslot vs redis-server");
    }
    assert!(
        k[0].contains("PORT") && !k[0].contains("TLSPORT"),
        "{}",
        k[0]
    );
    assert!(k[1].contains("TLSPORT"), "{}", k[1]);
    // A node that met nobody has no IP yet (both servers print `:port@cport`).
    assert_eq!(k[2], ":PORT@BUSPORT");
    assert_eq!(k[3], ":TLSPORT@BUSPORT");
    assert!(
        k[4].contains("port PORT") && k[4].contains("tls-port TLSPORT"),
        "{}",
        k[4]
    );
}

/// `tls-auth-clients optional` and `no`: a client without a certificate is served; with
/// `optional` a certificate, when given, is still checked (the CA's client certificate works).
#[test]
fn tls_auth_clients_optional_and_no() {
    if !tools_present("tls_auth_clients_optional_and_no") {
        return;
    }
    let tmp = TempDir::new("tls-auth");
    let certs = Certs::make(&tmp.path().join("certs"));
    for mode in ["optional", "no"] {
        let port = free_port();
        let _node = keyslot_tls_only(
            &certs,
            &tmp.path().join(mode),
            port,
            &["--tls-auth-clients", mode],
        );
        let mut cmd = Command::new("redis-cli");
        cmd.args(["--tls", "--cacert", &certs.file("ca.crt")])
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"]);
        let (out, _) = run_with_timeout(&mut cmd, Duration::from_secs(10));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "PONG",
            "tls-auth-clients {mode}, no client certificate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            tls_cli(&certs, port, &["PING"]).0,
            "PONG",
            "{mode}, with a certificate"
        );
    }
}

/// -MOVED in a tls-cluster whose nodes also have a plaintext port: a plaintext client is sent
/// to the plaintext port, a TLS client to the TLS port; keyslot against a pair of
/// redis-server 7.0.15 nodes set up alike.
#[test]
fn moved_names_the_port_of_the_clients_kind_as_redis_server() {
    if !tools_present("moved_names_the_port_of_the_clients_kind") {
        return;
    }
    let tmp = TempDir::new("tls-moved");
    let certs = Certs::make(&tmp.path().join("certs"));
    let mut seen = Vec::new();
    for (name, bin) in [
        ("keyslot", common::keyslot_bin()),
        ("redis", PathBuf::from("redis-server")),
    ] {
        let mut servers = Vec::new();
        let mut pairs = Vec::new();
        for i in 0..2 {
            let (port, tls_port) = (free_port(), free_port());
            let dir = tmp.path().join(format!("{name}{i}"));
            let mut args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--tls-port",
                &tls_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--tls-cluster",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.extend(certs.server_args());
            servers.push(TlsServer::start(&bin, &dir, tls_port, &args, &certs));
            pairs.push((port, tls_port));
        }
        let (a, b) = (pairs[0], pairs[1]);
        let meet = common::cli(a.0, &["CLUSTER", "MEET", "127.0.0.1", &b.1.to_string()]);
        assert_eq!(meet, "OK");
        assert_eq!(
            common::cli(a.0, &["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]),
            "OK"
        );
        assert_eq!(
            common::cli(b.0, &["CLUSTER", "ADDSLOTSRANGE", "8192", "16383"]),
            "OK"
        );
        let b_id = common::cli(b.0, &["CLUSTER", "MYID"]);
        let knows_b = wait_until(Duration::from_secs(20), || {
            common::cli(a.0, &["CLUSTER", "NODES"])
                .lines()
                .any(|l| l.starts_with(&b_id) && l.contains("connected 8192-16383"))
        });
        assert!(
            knows_b,
            "{name}: node a never learned b's slots over the TLS bus:\n{}",
            common::cli(a.0, &["CLUSTER", "NODES"])
        );
        assert!(
            wait_until(Duration::from_secs(20), || common::cli(
                a.0,
                &["CLUSTER", "INFO"]
            )
            .contains("cluster_state:ok")),
            "{name}: cluster_state never ok"
        );
        // "foo" hashes to slot 12182, b's.
        let scrub = |t: String| {
            t.replace(&b.1.to_string(), "B_TLS_PORT")
                .replace(&b.0.to_string(), "B_PORT")
        };
        let plain = scrub(common::cli(a.0, &["GET", "foo"]).trim_end().to_string());
        let tls = scrub(tls_cli(&certs, a.1, &["GET", "foo"]).0);
        println!("{name}: plaintext {plain:?}, TLS {tls:?}");
        seen.push((plain, tls));
        drop(servers);
    }
    assert_eq!(seen[0], seen[1], "keyslot vs redis-server");
    assert_eq!(seen[0].0, "MOVED 12182 127.0.0.1:B_PORT");
    assert_eq!(seen[0].1, "MOVED 12182 127.0.0.1:B_TLS_PORT");
}

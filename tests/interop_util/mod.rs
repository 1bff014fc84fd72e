//! Helpers for the interop tests (`tests/interop_*.rs`): clusters that mix keyslot-server and
//! redis-server 7.0 processes, a cluster client that follows MOVED/ASK and retries through
//! failover windows, and a logical dataset snapshot (type, value, TTL per key) to compare the
//! two implementations, whose DEBUG DIGEST bytes differ by design.
//!
//! Used through `mod common; mod cluster_util; mod interop_util;`.
#![allow(dead_code)]

use crate::cluster_util::{self, info_field, key_slot, parse_nodes, query_str, Cluster, NodeLine};
use crate::common::{self, cli, parse_resp, resp_command, Resp, Server, TempDir};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// Which program a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Keyslot,
    Redis,
}

/// Fails (or skips with KEYSLOT_ALLOW_SKIP=1) when the reference tools are missing, as the other
/// redis-server tests do.
pub fn tools_present(test: &str) -> bool {
    common::require_tools(test, &["redis-cli", "redis-server"])
}

/// The cluster flags both programs get (redis-server's own names; keyslot accepts the same).
pub fn node_flags(node_timeout_ms: u64) -> Vec<String> {
    let mut f = Cluster::node_args(node_timeout_ms);
    f.extend(["--enable-debug-command".into(), "yes".into()]);
    f
}

/// Starts one node of `kind` in its own directory under `dir`. redis-server gets
/// `--save "" --appendonly no` (from [`Server::redis`]) so a restart comes back empty and must
/// resync from its master, like a keyslot node started without persistence.
pub fn start_node(dir: &TempDir, kind: Kind, node_timeout_ms: u64) -> Server {
    start_node_with(dir, kind, node_timeout_ms, &[])
}

/// [`start_node`] with extra flags.
pub fn start_node_with(
    dir: &TempDir,
    kind: Kind,
    node_timeout_ms: u64,
    extra: &[String],
) -> Server {
    let mut flags = node_flags(node_timeout_ms);
    flags.extend_from_slice(extra);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    match kind {
        Kind::Keyslot => Server::keyslot(dir, &flags),
        Kind::Redis => Server::redis(dir, &flags),
    }
}

/// A cluster of both kinds of node: `c.nodes[i]` runs `kinds[i]`.
pub struct Mixed {
    pub kinds: Vec<Kind>,
    pub c: Cluster,
}

impl Mixed {
    /// Starts one node per entry of `kinds` (no cluster yet).
    pub fn start(tag: &str, kinds: &[Kind], node_timeout_ms: u64) -> Mixed {
        Mixed::start_with(tag, kinds, node_timeout_ms, &|_| Vec::new())
    }

    /// [`Mixed::start`] with extra flags for node `i` from `extra(i)`.
    pub fn start_with(
        tag: &str,
        kinds: &[Kind],
        node_timeout_ms: u64,
        extra: &dyn Fn(usize) -> Vec<String>,
    ) -> Mixed {
        let dir = TempDir::new(tag);
        let nodes = kinds
            .iter()
            .enumerate()
            .map(|(i, &k)| start_node_with(&dir, k, node_timeout_ms, &extra(i)))
            .collect();
        Mixed {
            kinds: kinds.to_vec(),
            c: Cluster {
                nodes,
                node_timeout_ms,
                create_stdout: String::new(),
                dir,
            },
        }
    }

    /// Starts the nodes and runs `redis-cli --cluster create <all, in order> --cluster-replicas 1
    /// --cluster-yes`. With every node on one host, redis-cli makes the first three arguments
    /// the masters (its replica-to-master pairing is shuffled by its anti-affinity pass, so
    /// callers look the pairing up rather than assume it). Waits for convergence.
    pub fn create(tag: &str, kinds: &[Kind], node_timeout_ms: u64) -> Mixed {
        Mixed::create_with(tag, kinds, node_timeout_ms, &|_| Vec::new())
    }

    /// [`Mixed::create`] with extra flags for node `i` from `extra(i)`.
    pub fn create_with(
        tag: &str,
        kinds: &[Kind],
        node_timeout_ms: u64,
        extra: &dyn Fn(usize) -> Vec<String>,
    ) -> Mixed {
        let t0 = Instant::now();
        let mut m = Mixed::start_with(tag, kinds, node_timeout_ms, extra);
        let out = m.c.create(1);
        assert!(
            out.status.success() && m.c.create_stdout.contains("[OK] All 16384 slots covered"),
            "redis-cli --cluster create failed ({:?}):\nstdout:\n{}\nstderr:\n{}\n{}",
            out.status,
            m.c.create_stdout,
            String::from_utf8_lossy(&out.stderr),
            m.dump()
        );
        m.c.assert_alive();
        assert!(
            m.wait_converged(Duration::from_secs(30)),
            "mixed cluster did not converge after create:\n{}",
            m.dump()
        );
        eprintln!(
            "[{tag}] mixed cluster {:?} created and converged in {} ms",
            kinds,
            t0.elapsed().as_millis()
        );
        m
    }

    pub fn port(&self, i: usize) -> u16 {
        self.c.port(i)
    }

    /// Every live node agrees (roles, slots, links, cluster_state:ok).
    pub fn wait_converged(&self, timeout: Duration) -> bool {
        let live = self.c.live();
        self.c.wait_converged(&live, timeout)
    }

    /// CLUSTER NODES of every node, INFO replication, and log tails (with the kind of each).
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for (i, k) in self.kinds.iter().enumerate() {
            s.push_str(&format!("node {i} port {} is {k:?}\n", self.port(i)));
        }
        s + &self.c.dump()
    }

    /// Node `i`'s line in its own CLUSTER NODES.
    pub fn myself(&self, i: usize) -> NodeLine {
        let view = self.c.view(i).expect("CLUSTER NODES");
        view.into_iter()
            .find(|n| n.has_flag("myself"))
            .expect("myself line")
    }

    pub fn index_of_id(&self, id: &str) -> usize {
        (0..self.c.nodes.len())
            .find(|&i| self.c.is_up(i) && self.c.id(i) == id)
            .unwrap_or_else(|| panic!("no live node with id {id}"))
    }

    /// The index of the master node `replica` replicates, from the replica's own view.
    pub fn master_of(&self, replica: usize) -> usize {
        let me = self.myself(replica);
        let id = me
            .master
            .unwrap_or_else(|| panic!("node {replica} is not a replica:\n{}", self.dump()));
        self.index_of_id(&id)
    }

    /// Waits until every live node's view says `replica` replicates `master`.
    pub fn wait_replica_of(&self, replica: usize, master: usize, timeout: Duration) -> bool {
        let (rid, mid) = (self.c.id(replica), self.c.id(master));
        common::wait_until(timeout, || {
            self.c.live().iter().all(|&i| {
                self.c.view(i).is_ok_and(|v| {
                    v.iter().any(|n| {
                        n.id == rid && n.is_replica() && n.master.as_deref() == Some(mid.as_str())
                    })
                })
            })
        })
    }

    /// Waits until every live node's view says `i` is a master with slots.
    pub fn wait_master(&self, i: usize, timeout: Duration) -> bool {
        let id = self.c.id(i);
        common::wait_until(timeout, || {
            self.c.live().iter().all(|&j| {
                self.c.view(j).is_ok_and(|v| {
                    v.iter()
                        .any(|n| n.id == id && n.is_master() && !n.ranges().is_empty())
                })
            })
        })
    }
}

/// `field` of `INFO section` on a port ("" when absent).
pub fn info(port: u16, section: &str, field: &str) -> String {
    info_field(&cli(port, &["INFO", section]), field).unwrap_or_default()
}

/// The replica's link is up and its offset equals the master's.
pub fn in_sync(master: u16, replica: u16) -> bool {
    let m = info(master, "replication", "master_repl_offset");
    info(replica, "replication", "master_link_status") == "up"
        && !m.is_empty()
        && info(replica, "replication", "master_repl_offset") == m
}

/// Waits until the replica's link is up and its offset has reached what the master's offset was
/// when the wait began (an exact match never holds for long under continuous writes).
pub fn wait_caught_up(master: u16, replica: u16, timeout: Duration) -> bool {
    let target: u64 = info(master, "replication", "master_repl_offset")
        .parse()
        .unwrap_or(u64::MAX);
    common::wait_until(timeout, || {
        info(replica, "replication", "master_link_status") == "up"
            && info(replica, "replication", "master_repl_offset")
                .parse::<u64>()
                .is_ok_and(|o| o >= target)
    })
}

/// Runs `redis-cli --cluster <args>` (stdin closed, so nothing waits on a prompt) and returns
/// (exit success, stdout + stderr); panics after `secs`.
pub fn cli_cluster(args: &[&str], secs: u64) -> (bool, String) {
    let mut cmd = Command::new("redis-cli");
    cmd.arg("--cluster").args(args);
    let t0 = Instant::now();
    let (out, killed) = cluster_util::run_with_timeout(&mut cmd, Duration::from_secs(secs));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !killed,
        "redis-cli --cluster {args:?} did not finish in {secs} s:\n{text}"
    );
    eprintln!(
        "redis-cli --cluster {} -> {:?} in {} ms",
        args.join(" "),
        out.status.code(),
        t0.elapsed().as_millis()
    );
    (out.status.success(), text)
}

/// `redis-cli --cluster check` through `port` passes (retried up to 20 s: replicas learn slot
/// moves from gossip).
pub fn assert_check_ok(port: u16, m: &Mixed) {
    let t0 = Instant::now();
    loop {
        let (ok, out) = cli_cluster(&["check", &format!("127.0.0.1:{port}")], 60);
        if ok
            && out.contains("[OK] All nodes agree about slots configuration.")
            && out.contains("[OK] All 16384 slots covered.")
            && !out.contains("[ERR]")
            && !out.contains("[WARNING]")
        {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "--cluster check via {port} failed:\n{out}\n{}",
            m.dump()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// A cluster client over raw RESP2 connections: follows MOVED and ASK, and rides out failover
/// windows (connection errors, TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN) by re-reading the
/// slot map and retrying until `retry_for` has passed. Only failures that outlast the retries
/// are counted in `errors`.
pub struct Client {
    /// Ports to learn the slot map from when the one we used fails.
    pub seeds: Vec<u16>,
    /// Slot -> port.
    slots: Vec<u16>,
    conns: HashMap<u16, (TcpStream, Vec<u8>)>,
    pub retry_for: Duration,
    pub ops: u64,
    pub redirects: u64,
    /// Attempts that failed and were retried.
    pub retries: u64,
    /// Failures that outlasted the retries.
    pub errors: Vec<String>,
}

impl Client {
    pub fn new(seeds: &[u16]) -> Client {
        let mut c = Client {
            seeds: seeds.to_vec(),
            slots: vec![seeds[0]; 16384],
            conns: HashMap::new(),
            retry_for: Duration::from_secs(30),
            ops: 0,
            redirects: 0,
            retries: 0,
            errors: Vec::new(),
        };
        c.refresh();
        c
    }

    /// Reloads the slot map from the first seed that answers CLUSTER SLOTS.
    pub fn refresh(&mut self) {
        for &p in &self.seeds.clone() {
            let Ok(entries) = cluster_util::cluster_slots(p) else {
                continue;
            };
            if entries.is_empty() {
                continue;
            }
            for (a, b, (_, port, _), _) in entries {
                for s in a..=b {
                    self.slots[s as usize] = port as u16;
                }
            }
            return;
        }
    }

    fn call_on(&mut self, port: u16, args: &[&[u8]]) -> std::io::Result<Resp> {
        let (s, buf) = match self.conns.entry(port) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let s = TcpStream::connect_timeout(
                    &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                    Duration::from_secs(1),
                )?;
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.set_nodelay(true)?;
                e.insert((s, Vec::new()))
            }
        };
        s.write_all(&resp_command(args))?;
        loop {
            if let Some((r, used)) = parse_resp(buf) {
                buf.drain(..used);
                return Ok(r);
            }
            let mut chunk = [0u8; 16384];
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::other("EOF"));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Runs a single-key command where the cluster says, retrying transient failures; None
    /// (and an entry in `errors`) only when it never succeeded within `retry_for`.
    pub fn call(&mut self, key: &[u8], args: &[&[u8]]) -> Option<Resp> {
        let slot = key_slot(key) as usize;
        let deadline = Instant::now() + self.retry_for;
        let mut asking_port: Option<u16> = None;
        let mut last = String::new();
        while Instant::now() < deadline {
            let port = asking_port.unwrap_or(self.slots[slot]);
            let reply = if asking_port.take().is_some() {
                self.call_on(port, &[b"ASKING"])
                    .and_then(|_| self.call_on(port, args))
            } else {
                self.call_on(port, args)
            };
            let reply = match reply {
                Ok(r) => r,
                Err(e) => {
                    self.conns.remove(&port);
                    last = format!("port {port}: {e}");
                    self.retries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                    self.refresh();
                    continue;
                }
            };
            if let Resp::Error(raw) = &reply {
                let text = String::from_utf8_lossy(raw).into_owned();
                let mut words = text.split(' ');
                let kind = words.next().unwrap_or("");
                let target = words.nth(1).and_then(|a| a.rsplit_once(':'));
                match (kind, target) {
                    ("MOVED", Some((_, p))) => {
                        self.redirects += 1;
                        self.slots[slot] = p.parse().unwrap_or(port);
                        continue;
                    }
                    ("ASK", Some((_, p))) => {
                        self.redirects += 1;
                        asking_port = p.parse().ok();
                        continue;
                    }
                    ("TRYAGAIN" | "CLUSTERDOWN" | "LOADING" | "MASTERDOWN", _) => {
                        last = text;
                        self.retries += 1;
                        std::thread::sleep(Duration::from_millis(100));
                        self.refresh();
                        continue;
                    }
                    _ => {
                        self.errors.push(format!("{text} (port {port})"));
                        return None;
                    }
                }
            }
            self.ops += 1;
            return Some(reply);
        }
        self.errors
            .push(format!("gave up after {:?}: {last}", self.retry_for));
        None
    }

    /// SET that must answer OK.
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        matches!(
            self.call(key.as_bytes(), &[b"SET", key.as_bytes(), value.as_bytes()]),
            Some(Resp::Simple(ok)) if ok == b"OK"
        )
    }

    pub fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        match self.call(key.as_bytes(), &[b"GET", key.as_bytes()]) {
            Some(Resp::Bulk(b)) => b,
            _ => None,
        }
    }
}

/// Reads back every key of `expect` through a fresh client; returns the keys that are missing
/// or hold another value.
pub fn missing_keys(seeds: &[u16], expect: &BTreeMap<String, String>) -> Vec<String> {
    let mut c = Client::new(seeds);
    let mut bad = Vec::new();
    for (k, v) in expect {
        match c.get(k) {
            Some(b) if b == v.as_bytes() => {}
            other => bad.push(format!(
                "{k}: {:?}, want {v}",
                other.map(|b| String::from_utf8_lossy(&b).into_owned())
            )),
        }
    }
    bad
}

/// Writes `n` keys `{prefix}:{i}` to the node that owns each (following redirects) and confirms
/// each with `WAIT 1 2000` on the same connection; returns the written key/values. Panics if a
/// write was not acknowledged by a replica.
pub fn write_confirmed(seeds: &[u16], prefix: &str, n: usize) -> BTreeMap<String, String> {
    let mut c = Client::new(seeds);
    let mut out = BTreeMap::new();
    for i in 0..n {
        let (k, v) = (format!("{prefix}:{i}"), format!("v{i}"));
        assert!(c.set(&k, &v), "SET {k}: {:?}", c.errors);
        let port = c.slots[key_slot(k.as_bytes()) as usize];
        let acked = c.call_on(port, &[b"WAIT", b"1", b"2000"]);
        assert!(
            matches!(acked, Ok(Resp::Int(n)) if n >= 1),
            "WAIT 1 2000 after SET {k} on {port}: {acked:?}"
        );
        out.insert(k, v);
    }
    out
}

/// A logical snapshot of a node's keyspace: key -> "type value ttl-bucket", with every
/// collection read in a canonical order. TTLs are compared as absolute expiry times
/// (PEXPIRETIME), which a master and its replica must agree on exactly.
pub fn snapshot(port: u16) -> BTreeMap<String, String> {
    let mut c = cluster_util::conn(port).expect("connect");
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).expect("KEYS");
    let mut out = BTreeMap::new();
    for k in keys {
        let ty: String = redis::cmd("TYPE").arg(&k).query(&mut c).expect("TYPE");
        let value = match ty.as_str() {
            "string" => {
                let v: Vec<u8> = redis::cmd("GET").arg(&k).query(&mut c).expect("GET");
                format!("{v:?}")
            }
            "list" => {
                let v: Vec<Vec<u8>> = redis::cmd("LRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .query(&mut c)
                    .expect("LRANGE");
                format!("{v:?}")
            }
            "hash" => {
                let mut v: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL")
                    .arg(&k)
                    .query(&mut c)
                    .expect("HGETALL");
                v.sort();
                format!("{v:?}")
            }
            "set" => {
                let mut v: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
                    .arg(&k)
                    .query(&mut c)
                    .expect("SMEMBERS");
                v.sort();
                format!("{v:?}")
            }
            "zset" => {
                let v: Vec<(Vec<u8>, String)> = redis::cmd("ZRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(&mut c)
                    .expect("ZRANGE");
                format!("{v:?}")
            }
            "stream" => stream_value(&mut c, &k),
            "none" => continue, // expired between KEYS and TYPE
            other => format!("unsupported type {other}"),
        };
        let at: i64 = redis::cmd("PEXPIRETIME")
            .arg(&k)
            .query(&mut c)
            .expect("PEXPIRETIME");
        out.insert(
            String::from_utf8_lossy(&k).into_owned(),
            format!("{ty} {value} expire_at={at}"),
        );
    }
    out
}

/// The keys whose entries differ between two snapshots (at most `limit` described).
pub fn snapshot_diff(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
    limit: usize,
) -> Vec<String> {
    let mut diff = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            Some(w) if w == v => {}
            other => diff.push(format!("{k}: {v} vs {other:?}")),
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        diff.push(format!("{k}: only in the second"));
    }
    diff.truncate(limit);
    diff
}

/// A stream as both kinds must agree on: its entries, its XINFO STREAM counters, and per group
/// the XINFO GROUPS line and every pending entry (id, consumer, deliveries). Times (delivery,
/// seen) are left out: a replica stamps them when it applies the stream. `entries-read` of a
/// group is left out too: Redis does not propagate it with XCLAIM ... LASTID, so a redis-server
/// replica differs from its redis-server master there as well.
fn stream_value(c: &mut redis::Connection, k: &[u8]) -> String {
    use redis::Value;
    fn text(v: &Value) -> String {
        match v {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            Value::Int(i) => i.to_string(),
            Value::Nil => "nil".into(),
            Value::SimpleString(s) => s.clone(),
            Value::Array(items) => {
                format!("[{}]", items.iter().map(text).collect::<Vec<_>>().join(" "))
            }
            other => format!("{other:?}"),
        }
    }
    /// The fields of a flat name/value reply, without the ones named in `skip`.
    fn fields(v: &Value, skip: &[&str]) -> Vec<(String, String)> {
        let Value::Array(items) = v else {
            return vec![("?".into(), text(v))];
        };
        items
            .chunks(2)
            .filter_map(|p| {
                let name = text(&p[0]);
                (!skip.contains(&name.as_str()))
                    .then(|| (name, p.get(1).map(text).unwrap_or_default()))
            })
            .collect()
    }
    let q = |c: &mut redis::Connection, args: &[&[u8]]| -> Value {
        let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap_or("PING"));
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(c)
            .unwrap_or_else(|e| Value::SimpleString(format!("error {e}")))
    };
    let entries = q(c, &[b"XRANGE", k, b"-", b"+"]);
    let info = fields(
        &q(c, &[b"XINFO", b"STREAM", k]),
        &["first-entry", "last-entry"],
    );
    let mut out = format!("entries {} info {:?}", text(&entries), info);
    if let Value::Array(groups) = q(c, &[b"XINFO", b"GROUPS", k]) {
        for g in &groups {
            let g = fields(g, &["entries-read", "lag"]);
            let name = g
                .iter()
                .find(|(n, _)| n == "name")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let pending = q(c, &[b"XPENDING", k, name.as_bytes(), b"-", b"+", b"1000"]);
            let pending: Vec<String> = match pending {
                Value::Array(items) => items
                    .iter()
                    .map(|e| match e {
                        // [id, consumer, idle ms, deliveries]: the idle time is left out.
                        Value::Array(f) if f.len() == 4 => {
                            format!("{} {} {}", text(&f[0]), text(&f[1]), text(&f[3]))
                        }
                        other => text(other),
                    })
                    .collect(),
                other => vec![text(&other)],
            };
            out.push_str(&format!(" group {g:?} pending {pending:?}"));
        }
    }
    out
}

/// Every line of CLUSTER NODES as node `port` sees it.
pub fn nodes_of(port: u16) -> Vec<NodeLine> {
    parse_nodes(&query_str(port, &["CLUSTER", "NODES"]).expect("CLUSTER NODES"))
}

/// `cluster_stats_messages_<name>` from CLUSTER INFO (0 when absent).
pub fn cluster_stat(port: u16, name: &str) -> u64 {
    query_str(port, &["CLUSTER", "INFO"])
        .ok()
        .and_then(|t| info_field(&t, &format!("cluster_stats_messages_{name}")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

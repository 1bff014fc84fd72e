//! Helpers for the cluster integration tests: build a six-node keyslot cluster with the real
//! `redis-cli --cluster create`, read every node's CLUSTER NODES / CLUSTER SLOTS / CLUSTER INFO,
//! and wait for the nodes to agree. Used from the `tests/cluster_*.rs` files through
//! `mod common; mod cluster_util;`.
#![allow(dead_code)]

pub mod redirect_client;
pub mod reshard;

use crate::common::{Server, TempDir};
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The standard layout `redis-cli --cluster create` gives three masters.
pub const RANGES: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];

/// Cluster tests inside one test binary run one at a time: each starts six servers and some
/// measure failover times, which a machine with two cores busy with another cluster would skew.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// CRC16-XMODEM of the key (or of its non-empty `{tag}`), modulo 16384: Redis's key slot.
pub fn key_slot(key: &[u8]) -> u16 {
    let mut k = key;
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(close) = key[open + 1..].iter().position(|&b| b == b'}') {
            if close > 0 {
                k = &key[open + 1..open + 1 + close];
            }
        }
    }
    let mut crc: u16 = 0;
    for &b in k {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc & 16383
}

/// One line of CLUSTER NODES.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLine {
    pub id: String,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub flags: Vec<String>,
    pub master: Option<String>,
    pub config_epoch: u64,
    pub link: String,
    /// Slot tokens as printed (`N`, `A-B`, and on the myself line `[..]` open slots).
    pub slots: Vec<String>,
}

impl NodeLine {
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }
    pub fn is_master(&self) -> bool {
        self.has_flag("master")
    }
    pub fn is_replica(&self) -> bool {
        self.has_flag("slave")
    }
    pub fn is_failing(&self) -> bool {
        self.has_flag("fail") || self.has_flag("fail?")
    }
    /// The slot ranges this line claims (open-slot brackets ignored).
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        self.slots
            .iter()
            .filter(|t| !t.starts_with('['))
            .map(|t| match t.split_once('-') {
                Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                None => {
                    let s = t.parse().unwrap();
                    (s, s)
                }
            })
            .collect()
    }
    pub fn owns(&self, slot: u16) -> bool {
        self.ranges().iter().any(|&(a, b)| a <= slot && slot <= b)
    }
}

/// Parses a CLUSTER NODES reply; panics with the text on a malformed line. Every line must end
/// with `\n` (redis-cli silently drops an unterminated last line).
pub fn parse_nodes(text: &str) -> Vec<NodeLine> {
    assert!(
        text.ends_with('\n'),
        "CLUSTER NODES must end with \\n:\n{text:?}"
    );
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            assert!(f.len() >= 8, "short CLUSTER NODES line: {line:?}");
            assert_eq!(f[0].len(), 40, "node id in {line:?}");
            let addr = f[1].split(',').next().unwrap();
            let (hostport, cport) = addr.split_once('@').expect("ip:port@cport");
            let (ip, port) = hostport.rsplit_once(':').expect("ip:port");
            NodeLine {
                id: f[0].to_string(),
                ip: ip.to_string(),
                port: port.parse().expect("port"),
                cport: cport.parse().expect("cport"),
                flags: f[2].split(',').map(String::from).collect(),
                master: (f[3] != "-").then(|| f[3].to_string()),
                config_epoch: f[6].parse().expect("configEpoch"),
                link: f[7].to_string(),
                slots: f[8..].iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

/// A direct (non-cluster) connection to one node, with short timeouts.
pub fn conn(port: u16) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let c = client.get_connection_with_timeout(Duration::from_millis(500))?;
    c.set_read_timeout(Some(Duration::from_secs(2)))?;
    c.set_write_timeout(Some(Duration::from_secs(2)))?;
    Ok(c)
}

/// Runs one command on a node and returns the reply as a string (status, bulk or integer).
pub fn query_str(port: u16, args: &[&str]) -> redis::RedisResult<String> {
    let mut c = conn(port)?;
    query_on(&mut c, args)
}

pub fn query_on(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<String> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let v: redis::Value = cmd.query(c)?;
    Ok(match v {
        redis::Value::Int(i) => i.to_string(),
        redis::Value::Nil => String::new(),
        other => redis::from_redis_value::<String>(other)?,
    })
}

/// `field:value` from an INFO-style reply.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim_end().to_string())
    })
}

/// One CLUSTER SLOTS entry: (start, end, master (ip, port, id), replicas).
pub type SlotsEntry = (i64, i64, (String, i64, String), Vec<(String, i64, String)>);

/// CLUSTER SLOTS, sorted by start slot.
pub fn cluster_slots(port: u16) -> redis::RedisResult<Vec<SlotsEntry>> {
    let mut c = conn(port)?;
    let v: redis::Value = redis::cmd("CLUSTER").arg("SLOTS").query(&mut c)?;
    let redis::Value::Array(entries) = v else {
        panic!("CLUSTER SLOTS on {port} is not an array: {v:?}");
    };
    let node = |v: &redis::Value| -> (String, i64, String) {
        let redis::Value::Array(items) = v else {
            panic!("CLUSTER SLOTS node entry is not an array: {v:?}");
        };
        assert!(items.len() >= 3, "node entry needs ip, port, id: {items:?}");
        (
            redis::from_redis_value::<String>(items[0].clone()).unwrap(),
            redis::from_redis_value::<i64>(items[1].clone()).unwrap(),
            redis::from_redis_value::<String>(items[2].clone()).unwrap(),
        )
    };
    let mut out: Vec<SlotsEntry> = entries
        .iter()
        .map(|e| {
            let redis::Value::Array(items) = e else {
                panic!("CLUSTER SLOTS entry is not an array: {e:?}");
            };
            assert!(items.len() >= 3, "CLUSTER SLOTS entry too short: {items:?}");
            (
                redis::from_redis_value::<i64>(items[0].clone()).unwrap(),
                redis::from_redis_value::<i64>(items[1].clone()).unwrap(),
                node(&items[2]),
                items[3..].iter().map(node).collect(),
            )
        })
        .collect();
    out.sort_by_key(|e| e.0);
    Ok(out)
}

/// Runs a command with a deadline, reading stdout and stderr on threads so a chatty child
/// cannot block on a full pipe. Returns the output and whether it was killed at the deadline.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> (Output, bool) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t2 = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + timeout;
    let mut killed = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            killed = true;
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    };
    (out, killed)
}

/// Six (or `n`) keyslot-server processes in cluster mode, each in its own directory.
pub struct Cluster {
    pub nodes: Vec<Server>,
    pub node_timeout_ms: u64,
    /// The stdout of `redis-cli --cluster create`.
    pub create_stdout: String,
    // Last: dropped after the servers are killed.
    pub dir: TempDir,
}

impl Cluster {
    /// The flags every node gets (the seed issue's command line).
    pub fn node_args(node_timeout_ms: u64) -> Vec<String> {
        vec![
            "--cluster-enabled".into(),
            "yes".into(),
            "--cluster-config-file".into(),
            "nodes.conf".into(),
            "--cluster-node-timeout".into(),
            node_timeout_ms.to_string(),
        ]
    }

    /// Starts `n` empty nodes (no create yet).
    pub fn start(tag: &str, n: usize, node_timeout_ms: u64) -> Cluster {
        Cluster::start_with(tag, n, node_timeout_ms, &[])
    }

    /// Starts `n` empty nodes with extra flags (e.g. `--enable-debug-command yes`).
    pub fn start_with(tag: &str, n: usize, node_timeout_ms: u64, extra: &[&str]) -> Cluster {
        let dir = TempDir::new(tag);
        let mut args = Cluster::node_args(node_timeout_ms);
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let nodes = (0..n).map(|_| Server::keyslot(&dir, &args)).collect();
        Cluster {
            nodes,
            node_timeout_ms,
            create_stdout: String::new(),
            dir,
        }
    }

    /// Runs `redis-cli --cluster create ... --cluster-replicas R --cluster-yes` (60 s deadline).
    pub fn create(&mut self, replicas: usize) -> Output {
        let mut cmd = Command::new("redis-cli");
        cmd.arg("--cluster").arg("create");
        for s in &self.nodes {
            cmd.arg(format!("127.0.0.1:{}", s.port));
        }
        cmd.arg("--cluster-replicas")
            .arg(replicas.to_string())
            .arg("--cluster-yes");
        let (out, killed) = run_with_timeout(&mut cmd, Duration::from_secs(60));
        self.create_stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !killed,
            "redis-cli --cluster create did not finish in 60 s; stdout:\n{}\n{}",
            self.create_stdout,
            self.dump()
        );
        out
    }

    /// Six nodes, `redis-cli --cluster create --cluster-replicas 1`, then waits until every node
    /// reports `cluster_state:ok` and the same view of roles and slots.
    pub fn six_node(tag: &str, node_timeout_ms: u64) -> Cluster {
        Cluster::six_node_with(tag, node_timeout_ms, &[])
    }

    /// [`Cluster::six_node`] with extra flags for every node.
    pub fn six_node_with(tag: &str, node_timeout_ms: u64, extra: &[&str]) -> Cluster {
        let t0 = Instant::now();
        let mut c = Cluster::start_with(tag, 6, node_timeout_ms, extra);
        let out = c.create(1);
        assert!(
            out.status.success() && c.create_stdout.contains("[OK] All 16384 slots covered"),
            "redis-cli --cluster create failed ({:?}):\nstdout:\n{}\nstderr:\n{}\n{}",
            out.status,
            c.create_stdout,
            String::from_utf8_lossy(&out.stderr),
            c.dump()
        );
        c.assert_alive();
        let all: Vec<usize> = (0..c.nodes.len()).collect();
        assert!(
            c.wait_converged(&all, Duration::from_secs(15)),
            "cluster did not converge after create:\n{}",
            c.dump()
        );
        eprintln!(
            "[{tag}] six-node cluster created and converged in {} ms",
            t0.elapsed().as_millis()
        );
        c
    }

    /// Panics if a started node's process has exited (for instance because its port was
    /// taken by another process between the free-port probe and the bind, in which case PING
    /// may have been answered by someone else's server).
    pub fn assert_alive(&mut self) {
        for (i, s) in self.nodes.iter_mut().enumerate() {
            if let Some(child) = s.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "node {i} (port {}) exited with {status}; log:\n{}",
                        s.port,
                        s.log()
                    );
                }
            }
        }
    }

    pub fn port(&self, i: usize) -> u16 {
        self.nodes[i].port
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    pub fn live(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.is_up(i)).collect()
    }

    /// CLUSTER NODES as node `i` sees it.
    pub fn view(&self, i: usize) -> redis::RedisResult<Vec<NodeLine>> {
        query_str(self.port(i), &["CLUSTER", "NODES"]).map(|t| parse_nodes(&t))
    }

    /// Node `i`'s own id (CLUSTER MYID).
    pub fn id(&self, i: usize) -> String {
        query_str(self.port(i), &["CLUSTER", "MYID"]).expect("CLUSTER MYID")
    }

    pub fn index_of_port(&self, port: u16) -> usize {
        self.nodes
            .iter()
            .position(|s| s.port == port)
            .unwrap_or_else(|| panic!("no node on port {port}"))
    }

    pub fn cluster_state(&self, i: usize) -> Option<String> {
        query_str(self.port(i), &["CLUSTER", "INFO"])
            .ok()
            .and_then(|t| info_field(&t, "cluster_state"))
    }

    /// The master that owns `slot` in node `i`'s view.
    pub fn owner_in_view(&self, i: usize, slot: u16) -> Option<NodeLine> {
        self.view(i)
            .ok()?
            .into_iter()
            .find(|n| n.is_master() && n.owns(slot))
    }

    /// What every node must agree on: for each known node its id, port, role, master and slot
    /// ranges (sorted); failure flags and link state are left out.
    pub fn signature(view: &[NodeLine]) -> Vec<String> {
        let mut sig: Vec<String> = view
            .iter()
            .map(|n| {
                format!(
                    "{} {} {} {} {:?}",
                    n.id,
                    n.port,
                    if n.is_master() { "master" } else { "slave" },
                    n.master.as_deref().unwrap_or("-"),
                    n.ranges()
                )
            })
            .collect();
        sig.sort();
        sig
    }

    /// True once every node in `idx` reports `cluster_state:ok`, every view has a link to every
    /// other node in `idx`, no node in `idx` is flagged failing, and all views are identical.
    pub fn converged(&self, idx: &[usize]) -> bool {
        let mut first: Option<Vec<String>> = None;
        let ports: Vec<u16> = idx.iter().map(|&i| self.port(i)).collect();
        for &i in idx {
            if self.cluster_state(i).as_deref() != Some("ok") {
                return false;
            }
            let Ok(view) = self.view(i) else {
                return false;
            };
            let healthy = view
                .iter()
                .filter(|n| ports.contains(&n.port))
                .all(|n| n.link == "connected" && !n.is_failing() && !n.has_flag("handshake"));
            if !healthy {
                return false;
            }
            let sig = Cluster::signature(&view);
            match &first {
                None => first = Some(sig),
                Some(f) if *f != sig => return false,
                _ => {}
            }
        }
        true
    }

    pub fn wait_converged(&self, idx: &[usize], timeout: Duration) -> bool {
        crate::common::wait_until(timeout, || self.converged(idx))
    }

    /// Every live node's CLUSTER NODES and CLUSTER INFO state, and the tail of every log, for
    /// failure messages.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            s.push_str(&format!("--- node {i} port {} ", n.port));
            if self.is_up(i) {
                let nodes =
                    query_str(n.port, &["CLUSTER", "NODES"]).unwrap_or_else(|e| e.to_string());
                let state = self.cluster_state(i).unwrap_or_default();
                s.push_str(&format!("cluster_state:{state}\n{nodes}"));
            } else {
                s.push_str("(down)\n");
            }
            let log = n.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            s.push_str(&format!("  log tail:\n    {}\n", tail.join("\n    ")));
        }
        s
    }
}

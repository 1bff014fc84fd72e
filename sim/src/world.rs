//! A simulated cluster of real keyslot nodes, each on its own madsim host.
//!
//! | name        | IP          | client port | role at formation         |
//! |-------------|-------------|-------------|---------------------------|
//! | `master-i`  | 10.0.0.(i+1)| 7000+i      | master of the i-th range  |
//! | `replica-j` | 10.0.0.(M+j+1) | 7000+M+j | replica of master j % M   |
//! | admin       | 10.0.9.1    | —           | forms the cluster         |
//! | `client-k`  | 10.0.8.(k+1)| —           | workload clients          |
//!
//! Every node runs the unchanged `keyslot::server::run`; its disk is a `MemStorage` owned by the
//! world, so a restarted node finds its nodes.conf. The world drives time in small steps
//! (`run_for`), collecting every node's `ClusterEvent`s into the story and checking the safety
//! invariants after each step.

use crate::check::{Checker, Violation};
use crate::resp_client::{frame_text, Conn};
use crate::trace::{Actor, Trace};
use keyslot::clock::{Clock, HostClock};
use keyslot::cluster::planted::PlantedSet;
use keyslot::config::Config;
use keyslot::faultpoint::{FaultPoint, FaultPoints};
use keyslot::log::Logger;
use keyslot::node::Node;
use keyslot::server::{self, NodeEnv};
use keyslot::storage::{DiskFault, MemStorage};
use madsim::runtime::{Handle, NodeHandle};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Client port of the first node; node i listens on BASE_PORT + i (the seed's 7000-7005).
pub const BASE_PORT: u16 = 7000;
/// How often the world collects events and checks safety.
pub const STEP_MS: u64 = 50;

/// The shape and settings of a simulated cluster.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub masters: usize,
    /// Replicas in all; replica j follows master j % masters.
    pub replicas: usize,
    pub node_timeout_ms: u64,
    /// Extra `--name value` flags for every node.
    pub extra_args: Vec<String>,
    /// Test-only planted protocol bugs (keyslot::cluster::planted), in every node.
    pub planted: PlantedSet,
    /// Each host's clock error at start (the scenario's `[clocks]`); none by default.
    pub clocks: crate::clocks::ClockSetup,
    /// Fault points each node process may turn on (drawn per process from the seed); empty,
    /// the default, leaves node code untouched.
    pub fault_points: Vec<FaultPoint>,
    /// The scenario's `tls = true`: every node also listens for TLS on [`TLS_PORT_OFFSET`]
    /// above its client port and runs the bus and replication over TLS (tls-cluster,
    /// tls-replication), with the test certificates of [`tls_fixture`]. The workload and the
    /// admin stay on the plaintext port, which a tls-cluster node gives plaintext clients in
    /// its redirects, as Redis does.
    pub tls: bool,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            masters: 3,
            replicas: 3,
            node_timeout_ms: 2000,
            extra_args: Vec::new(),
            planted: PlantedSet::default(),
            clocks: Default::default(),
            fault_points: Vec::new(),
            tls: false,
        }
    }
}

/// A replica promoted to master: when, who, and whose slots it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub at_ms: u64,
    pub node: String,
    pub previous_master: String,
}

/// What one node looked like at one moment (the html timeline's lanes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSample {
    /// `down`, `paused`, `master`, `replica` or `alone` (no cluster state yet).
    pub role: &'static str,
    /// The master's name for a replica.
    pub master: Option<String>,
    pub current_epoch: u64,
    pub config_epoch: u64,
    /// Slots this node serves.
    pub slots: usize,
    /// The same as ranges.
    pub ranges: Vec<(u16, u16)>,
    pub state_ok: bool,
}

/// A running node's state and when it started on the world's timeline.
type LiveSlot = Arc<Mutex<Option<(Arc<Mutex<Node>>, Instant)>>>;

/// Set by a node that exited on its own (Redis's `exit(1)` when `appendfsync always` cannot
/// write): the message, for the world to mark the node down and tell the story.
type ExitSlot = Arc<Mutex<Option<String>>>;

/// One simulated keyslot node.
pub struct SimNode {
    pub name: String,
    pub ip: IpAddr,
    pub port: u16,
    handle: NodeHandle,
    /// The node's disk; survives restarts, can be wiped.
    pub storage: MemStorage,
    live: LiveSlot,
    /// Filled when the node exits by itself (a fatal persistence error).
    exited: ExitSlot,
    pub alive: bool,
    pub paused: bool,
    /// The write fault its disk has now (`disk_full`, `disk_error`), if any.
    pub disk_fault: Option<DiskFault>,
    /// The host's clock (offset, drift, steps), shared with every process started on it.
    pub host_clock: Arc<HostClock>,
}

impl SimNode {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    pub fn madsim_id(&self) -> madsim::task::NodeId {
        self.handle.id()
    }
}

/// The simulated cluster.
pub struct World {
    pub config: WorldConfig,
    pub nodes: Vec<SimNode>,
    handle: Handle,
    t0: Instant,
    pub trace: Trace,
    pub checker: Checker,
    /// Directed links cut by faults (madsim node ids), so heal can undo exactly them.
    clogged: BTreeSet<(usize, usize)>,
    /// Nodes clogged whole.
    clogged_nodes: BTreeSet<usize>,
    next_client: usize,
    /// Each node's id as last seen while it ran (names in the story for nodes that are down).
    known_ids: Vec<Option<keyslot::cluster::NodeId>>,
    /// Every promotion seen so far (failover times, expectations).
    pub promotions: Vec<Promotion>,
    /// Set to sample every node's role, epochs and slots each step (the html timeline).
    pub record_samples: bool,
    /// Per node: (time, sample) at each change.
    pub samples: Vec<Vec<(u64, NodeSample)>>,
    /// The host that sends scenario commands, created on first use.
    admin: Option<NodeHandle>,
    /// nodes.conf texts saved by `stash_nodes_conf`, per node.
    stashed: Vec<Option<Vec<u8>>>,
    /// Set once the cluster formed, when the scenario turns fault points on: from then on each
    /// node process draws its fault points as it starts.
    fault_points_armed: Arc<AtomicBool>,
}

impl World {
    /// Creates the nodes (not yet a cluster). Must run inside a madsim runtime.
    pub fn new(config: WorldConfig) -> World {
        let handle = Handle::current();
        let t0 = Instant::now();
        let total = config.masters + config.replicas;
        let mut nodes = Vec::with_capacity(total);
        let fault_points_armed = Arc::new(AtomicBool::new(false));
        for i in 0..total {
            let name = if i < config.masters {
                format!("master-{}", i)
            } else {
                format!("replica-{}", i - config.masters)
            };
            let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, (i + 1) as u8));
            let port = BASE_PORT + i as u16;
            let storage = MemStorage::new();
            let live: LiveSlot = Arc::new(Mutex::new(None));
            let exited: ExitSlot = Arc::new(Mutex::new(None));
            // The madsim id is known once the node is built; the exit hook reads it then.
            let own_id: Arc<Mutex<Option<madsim::task::NodeId>>> = Arc::new(Mutex::new(None));
            let args = node_args(&config, port);
            let host_clock = HostClock::new();
            let (hc, points) = (host_clock.clone(), config.fault_points.clone());
            let armed = fault_points_armed.clone();
            let (st, lv, planted) = (storage.clone(), live.clone(), config.planted);
            let (ex, id_cell) = (exited.clone(), own_id.clone());
            let node_handle = handle
                .create_node()
                .name(name.clone())
                .ip(ip)
                .init(move || {
                    let args = args.clone();
                    let storage = st.clone();
                    let live = lv.clone();
                    let on_fatal = exit_hook(ex.clone(), id_cell.clone());
                    let (host_clock, points) = (hc.clone(), points.clone());
                    let armed = armed.clone();
                    async move {
                        let config = match Config::from_args(&args) {
                            Ok(c) => c,
                            Err(e) => panic!("bad simulated node config: {e}"),
                        };
                        let env = NodeEnv {
                            clock: Arc::new(Clock::on_host(host_clock)),
                            logger: Arc::new(Logger::silent()),
                            seed: keyslot::clock::rng_seed(),
                            storage: Arc::new(storage),
                            on_start: Some(Box::new(move |node: Arc<Mutex<Node>>| {
                                let origin = match node.lock() {
                                    Ok(mut n) => {
                                        n.rest.cluster_events = Some(Vec::new());
                                        // The dataset loads after this hook, so the AOF
                                        // opened then calls the world's hook instead of
                                        // panicking the whole simulation.
                                        n.rest.persist.on_fatal = on_fatal;
                                        if let Some(c) = n.rest.cluster.as_mut() {
                                            c.config.planted = planted;
                                        }
                                        // A process started after formation draws its
                                        // own fault points.
                                        if armed.load(Ordering::Relaxed) {
                                            n.rest.fault_points = FaultPoints::draw(&points);
                                        }
                                        n.rest.clock.origin()
                                    }
                                    Err(_) => Instant::now(),
                                };
                                if let Ok(mut l) = live.lock() {
                                    *l = Some((node, origin));
                                }
                            })),
                        };
                        if let Err(e) = server::run(config, env).await {
                            panic!("simulated node failed: {e}");
                        }
                    }
                })
                .build();
            if let Ok(mut cell) = own_id.lock() {
                *cell = Some(node_handle.id());
            }
            nodes.push(SimNode {
                name,
                ip,
                port,
                handle: node_handle,
                storage,
                live,
                exited,
                alive: true,
                paused: false,
                disk_fault: None,
                host_clock,
            });
        }
        let mut world = World {
            config,
            nodes,
            handle,
            t0,
            trace: Trace::default(),
            checker: Checker::default(),
            clogged: BTreeSet::new(),
            clogged_nodes: BTreeSet::new(),
            next_client: 0,
            known_ids: vec![None; total],
            promotions: Vec::new(),
            record_samples: false,
            samples: vec![Vec::new(); total],
            admin: None,
            stashed: vec![None; total],
            fault_points_armed,
        };
        world.set_up_clocks();
        world
    }

    /// Simulated milliseconds since the world was created.
    pub fn now_ms(&self) -> u64 {
        Instant::now().duration_since(self.t0).as_millis() as u64
    }

    /// Index of a node by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Runs `f` on a live node's state.
    pub fn with_node<R>(&self, i: usize, f: impl FnOnce(&Node) -> R) -> Option<R> {
        let live = self.nodes.get(i)?.live.lock().ok()?;
        let (node, _) = live.as_ref()?;
        let guard = node.lock().ok()?;
        Some(f(&guard))
    }

    /// Runs `f` on a live node's state, mutably (the simulator's bus and clock faults).
    pub fn with_node_mut<R>(&self, i: usize, f: impl FnOnce(&mut Node) -> R) -> Option<R> {
        let live = self.nodes.get(i)?.live.lock().ok()?;
        let (node, _) = live.as_ref()?;
        let mut guard = node.lock().ok()?;
        Some(f(&mut guard))
    }

    /// Turns the scenario's fault points on (after formation: a node that exits on a failed
    /// nodes.conf save while the cluster forms would only test the formation script): every
    /// running node draws its points now, and each process started later draws its own.
    pub fn arm_fault_points(&mut self) {
        if self.config.fault_points.is_empty() {
            return;
        }
        self.fault_points_armed.store(true, Ordering::Relaxed);
        let points = self.config.fault_points.clone();
        for i in 0..self.nodes.len() {
            self.with_node_mut(i, |n| n.rest.fault_points = FaultPoints::draw(&points));
        }
    }

    /// Which fault points each running node turned on, one line for the story.
    pub fn describe_fault_points(&self) -> String {
        let parts: Vec<String> = (0..self.nodes.len())
            .map(|i| {
                let names = self
                    .with_node(i, |n| n.rest.fault_points.names().join("+"))
                    .unwrap_or_else(|| "down".to_string());
                let names = if names.is_empty() {
                    "none".to_string()
                } else {
                    names
                };
                format!("{} {}", self.nodes[i].name, names)
            })
            .collect();
        format!("fault points: {}", parts.join(", "))
    }

    /// Indexes of nodes that are running (not killed, not paused).
    pub fn live_nodes(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && !self.nodes[i].paused)
            .collect()
    }

    fn world_event(&mut self, text: String) {
        let at = self.now_ms();
        self.trace.push(at, Actor::World, text);
    }

    /// Adds a line to the story from the world.
    pub fn note(&mut self, text: String) {
        self.world_event(text);
    }

    // ----- driving time ---------------------------------------------------------------------

    /// Lets simulated time pass, collecting events and checking safety every step.
    pub async fn run_for(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        loop {
            let now = Instant::now();
            if now >= end {
                break;
            }
            let step = Duration::from_millis(STEP_MS).min(end - now);
            tokio::time::sleep(step).await;
            self.step();
        }
        self.step();
    }

    /// Runs until `pred` holds (checked every step) or `timeout` passes; returns whether it held.
    pub async fn run_until(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&World) -> bool,
    ) -> bool {
        let end = Instant::now() + timeout;
        loop {
            self.step();
            if pred(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(STEP_MS)).await;
        }
    }

    /// Collects events and runs the safety checks once.
    pub fn step(&mut self) {
        // Events first: a node that exited (a failed nodes.conf save) may have granted a vote
        // or won an election since the last step, and its events die with it otherwise.
        self.collect_events();
        self.collect_exits();
        let at = self.now_ms();
        let mut checker = std::mem::take(&mut self.checker);
        checker.check_safety(self, at);
        self.checker = checker;
        if self.record_samples {
            self.sample(at);
        }
    }

    /// Records every node's state where it changed.
    fn sample(&mut self, at: u64) {
        for i in 0..self.nodes.len() {
            let s = self.node_sample(i);
            let lane = &mut self.samples[i];
            if lane.last().map(|(_, last)| last != &s).unwrap_or(true) {
                lane.push((at, s));
            }
        }
    }

    /// One node's state now.
    pub fn node_sample(&self, i: usize) -> NodeSample {
        let down = NodeSample {
            role: "down",
            master: None,
            current_epoch: 0,
            config_epoch: 0,
            slots: 0,
            ranges: Vec::new(),
            state_ok: false,
        };
        if !self.nodes[i].alive {
            return down;
        }
        if self.nodes[i].paused {
            return NodeSample {
                role: "paused",
                ..down
            };
        }
        let view = self.with_node(i, |n| {
            n.rest.cluster.as_ref().map(|c| {
                let me = c.me();
                (
                    me.is_master(),
                    me.master,
                    c.current_epoch,
                    me.config_epoch,
                    me.numslots(),
                    me.slots.ranges(),
                    c.state_ok,
                )
            })
        });
        match view.flatten() {
            Some((master, of, current_epoch, config_epoch, slots, ranges, state_ok)) => {
                NodeSample {
                    role: if master { "master" } else { "replica" },
                    master: of.map(|id| self.name_of(&id)),
                    current_epoch,
                    config_epoch,
                    slots,
                    ranges,
                    state_ok,
                }
            }
            None => NodeSample {
                role: "alone",
                ..down
            },
        }
    }

    /// Moves every live node's recorded events into the story, names instead of ids.
    pub fn collect_events(&mut self) {
        for i in 0..self.nodes.len() {
            if let Some(id) = self
                .with_node(i, |node| node.rest.cluster.as_ref().map(|c| c.myself))
                .flatten()
            {
                if let Some(old) = self.known_ids[i] {
                    if old != id {
                        let at = self.now_ms();
                        let detail = format!(
                            "{} restarted from its nodes.conf as {} (was {})",
                            self.nodes[i].name,
                            &id.as_str()[..8],
                            &old.as_str()[..8]
                        );
                        self.checker
                            .violation("identity: a restart keeps the node id", at, detail);
                    }
                }
                self.known_ids[i] = Some(id);
            }
        }
        let names = self.id_names();
        let mut batch = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let Ok(live) = n.live.lock() else { continue };
            let Some((node, origin)) = live.as_ref() else {
                continue;
            };
            let base = origin.duration_since(self.t0).as_millis() as u64;
            // A node that exited panicked holding its lock (madsim's stand-in for exit(1));
            // what it recorded before is still its history.
            let mut g = match node.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            let Some(events) = g.rest.cluster_events.as_mut() else {
                continue;
            };
            for (mono, e) in events.drain(..) {
                batch.push((base + mono, i, e));
            }
        }
        for (at, i, e) in batch {
            if let Some(id) = self.known_ids[i] {
                self.checker.protocol.set_id(&self.nodes[i].name, id);
            }
            self.checker.observe_event(&self.nodes[i].name, &e, at);
            if let keyslot::cluster::event::ClusterEvent::Promoted {
                previous_master, ..
            } = &e
            {
                let prefix = &previous_master.as_str()[..8];
                let previous = names
                    .iter()
                    .find(|(p, _)| p == prefix)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| prefix.to_string());
                self.promotions.push(Promotion {
                    at_ms: at,
                    node: self.nodes[i].name.clone(),
                    previous_master: previous,
                });
            }
            let mut text = e.to_string();
            for (short, name) in &names {
                text = text.replace(short.as_str(), name);
            }
            self.trace
                .push(at, Actor::Node(self.nodes[i].name.clone()), text);
        }
    }

    /// Every node's id as (8-char prefix, name): from the running node, else as last seen.
    pub fn id_names(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let live = self
                .with_node(i, |node| node.rest.cluster.as_ref().map(|c| c.myself))
                .flatten();
            if let Some(id) = live.or(self.known_ids[i]) {
                out.push((id.as_str()[..8].to_string(), n.name.clone()));
            }
        }
        out
    }

    /// The name of the node with a given id.
    pub fn name_of(&self, id: &keyslot::cluster::NodeId) -> String {
        let prefix = &id.as_str()[..8];
        self.id_names()
            .into_iter()
            .find(|(p, _)| p == prefix)
            .map(|(_, n)| n)
            .unwrap_or_else(|| prefix.to_string())
    }

    /// Marks down every node that exited by itself since the last step (its process is gone:
    /// the hook killed its madsim node), with the reason in the story.
    fn collect_exits(&mut self) {
        for i in 0..self.nodes.len() {
            let message = match self.nodes[i].exited.lock() {
                Ok(mut m) => m.take(),
                Err(_) => None,
            };
            let Some(message) = message else { continue };
            self.nodes[i].alive = false;
            self.nodes[i].paused = false;
            if let Ok(mut l) = self.nodes[i].live.lock() {
                *l = None;
            }
            self.world_event(format!("{} exited: {}", self.nodes[i].name, message));
        }
    }

    // ----- forming the cluster --------------------------------------------------------------

    /// Forms the cluster the way `redis-cli --cluster create` does, over RESP from an admin
    /// host: ADDSLOTS on masters, SET-CONFIG-EPOCH, MEET the first node, wait for agreement,
    /// REPLICATE. Returns when every node reports cluster_state:ok.
    pub async fn form_cluster(&mut self) -> Result<(), String> {
        let masters = self.config.masters;
        let addrs: Vec<SocketAddr> = self.nodes.iter().map(|n| n.addr()).collect();
        let admin = self
            .handle
            .create_node()
            .name("admin")
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 9, 1)))
            .build();
        self.world_event("redis-cli --cluster create".to_string());
        let task = admin.spawn(async move { form(addrs, masters).await });
        let result = loop {
            if task.is_finished() {
                break task.await.map_err(|e| format!("admin task: {e:?}"))?;
            }
            tokio::time::sleep(Duration::from_millis(STEP_MS)).await;
            self.step();
        };
        result?;
        let ok = self
            .run_until(Duration::from_secs(30), |w| w.all_ok_and_agree())
            .await;
        if !ok {
            return Err(format!(
                "cluster did not converge after formation:\n{}",
                self.views()
            ));
        }
        self.world_event("cluster formed".to_string());
        Ok(())
    }

    /// Every live node says cluster_state ok and all agree on slot owners and roles.
    pub fn all_ok_and_agree(&self) -> bool {
        crate::check::liveness(self).is_ok()
    }

    /// CLUSTER NODES of every live node, for failure reports.
    pub fn views(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let view = self.with_node(i, |node| {
                let now = node.rest.clock.mono_ms();
                let unix = node.rest.clock.unix_ms();
                node.rest.cluster.as_ref().map(|c| {
                    let state = if c.state_ok { "ok" } else { "fail" };
                    format!(
                        "state {} epoch {}\n{}",
                        state,
                        c.current_epoch,
                        keyslot::cmd::cluster::nodes_text(c, now, unix, true)
                    )
                })
            });
            out.push_str(&format!("--- {} ({}):\n", n.name, n.ip));
            match view.flatten() {
                Some(v) => out.push_str(&v),
                None => out.push_str("(down)\n"),
            }
        }
        out
    }

    // ----- faults ---------------------------------------------------------------------------

    /// SIGKILL: the process stops; its disk stays.
    pub fn kill(&mut self, i: usize) {
        self.handle.kill(self.nodes[i].madsim_id());
        self.nodes[i].alive = false;
        self.nodes[i].paused = false;
        if let Ok(mut l) = self.nodes[i].live.lock() {
            *l = None;
        }
        self.world_event(format!("kill {}", self.nodes[i].name));
    }

    /// A power cut: the process stops and its disk loses every write not fsynced; with `torn`,
    /// the last file appended to keeps a prefix of its unsynced bytes (the length drawn from
    /// the run's seeded RNG, so a seed replays the same tear).
    pub fn crash(&mut self, i: usize, torn: bool) {
        self.handle.kill(self.nodes[i].madsim_id());
        self.nodes[i].alive = false;
        self.nodes[i].paused = false;
        if let Ok(mut l) = self.nodes[i].live.lock() {
            *l = None;
        }
        let storage = &self.nodes[i].storage;
        let lost: usize = storage
            .file_names()
            .iter()
            .map(|f| storage.unsynced_len(f))
            .sum();
        if torn {
            storage.crash_torn(madsim::rand::random::<u64>());
        } else {
            storage.crash();
        }
        self.checker
            .crashed(&self.nodes[i].name.clone(), self.now_ms());
        self.world_event(format!(
            "crash {}{} ({} unsynced bytes on its disk)",
            self.nodes[i].name,
            if torn { ", tearing its last write" } else { "" },
            lost
        ));
    }

    /// Makes every write to a node's disk fail with `fault` (ENOSPC, EIO) until called with
    /// None; reads keep working.
    pub fn disk_fault(&mut self, i: usize, fault: Option<DiskFault>) {
        self.nodes[i].storage.fail_writes(fault);
        self.nodes[i].disk_fault = fault;
        let what = match fault {
            Some(DiskFault::NoSpace) => "disk full (ENOSPC)".to_string(),
            Some(DiskFault::Io) => "disk errors (EIO)".to_string(),
            None => "disk healthy again".to_string(),
        };
        self.world_event(format!("{}: {}", self.nodes[i].name, what));
    }

    /// Starts a killed node again from its disk (or restarts a running one).
    pub fn restart(&mut self, i: usize) {
        if let Ok(mut l) = self.nodes[i].live.lock() {
            *l = None;
        }
        // An exit the world has not noticed yet belongs to the process being replaced.
        self.collect_exits();
        // madsim's restart of a running host keeps its sockets (the new process could not
        // bind its port): kill it first, which closes them.
        self.handle.kill(self.nodes[i].madsim_id());
        self.handle.restart(self.nodes[i].madsim_id());
        self.nodes[i].alive = true;
        self.nodes[i].paused = false;
        self.checker.forget_node(&self.nodes[i].name.clone(), false);
        self.world_event(format!("restart {}", self.nodes[i].name));
    }

    /// Restarts a node with an empty disk: a new identity.
    pub fn restart_wiped(&mut self, i: usize) {
        self.collect_exits();
        self.nodes[i].storage.wipe();
        if let Ok(mut l) = self.nodes[i].live.lock() {
            *l = None;
        }
        self.handle.kill(self.nodes[i].madsim_id());
        self.handle.restart(self.nodes[i].madsim_id());
        self.nodes[i].alive = true;
        self.nodes[i].paused = false;
        self.checker.forget_node(&self.nodes[i].name.clone(), true);
        self.known_ids[i] = None;
        self.world_event(format!("restart {} with a wiped disk", self.nodes[i].name));
    }

    /// Stops a node's timers and sockets (SIGSTOP) until `resume`.
    pub fn pause(&mut self, i: usize) {
        self.handle.pause(self.nodes[i].madsim_id());
        self.nodes[i].paused = true;
        self.world_event(format!("pause {}", self.nodes[i].name));
    }

    pub fn resume(&mut self, i: usize) {
        self.handle.resume(self.nodes[i].madsim_id());
        self.nodes[i].paused = false;
        self.world_event(format!("resume {}", self.nodes[i].name));
    }

    fn net(&self) -> Arc<madsim::net::NetSim> {
        madsim::net::NetSim::current()
    }

    /// Cuts the link from `a` to `b` (one way).
    pub fn cut(&mut self, a: usize, b: usize) {
        let net = self.net();
        net.clog_link(self.nodes[a].madsim_id(), self.nodes[b].madsim_id());
        self.clogged.insert((a, b));
    }

    /// Cuts both directions between a and b.
    pub fn cut_both(&mut self, a: usize, b: usize) {
        self.cut(a, b);
        self.cut(b, a);
    }

    /// Splits the nodes into groups that cannot talk to each other (nodes in no group keep
    /// every link). Returns the directed links it cut that were not cut before (what undoing
    /// this partition restores).
    pub fn partition(&mut self, groups: &[Vec<usize>]) -> Vec<(usize, usize)> {
        let mut cut = Vec::new();
        for (gi, g) in groups.iter().enumerate() {
            for h in groups.iter().skip(gi + 1) {
                for &a in g {
                    for &b in h {
                        for (x, y) in [(a, b), (b, a)] {
                            if x != y && !self.clogged.contains(&(x, y)) {
                                self.cut(x, y);
                                cut.push((x, y));
                            }
                        }
                    }
                }
            }
        }
        let text: Vec<String> = groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|&i| self.nodes[i].name.clone())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        self.world_event(format!("partition [{}]", text.join("] | [")));
        cut
    }

    /// Isolates one node from every other cluster node; returns the links it cut.
    pub fn isolate(&mut self, i: usize) -> Vec<(usize, usize)> {
        let others: Vec<usize> = (0..self.nodes.len()).filter(|&j| j != i).collect();
        self.partition(&[vec![i], others])
    }

    /// Restores the given directed links (undoing one partition).
    pub fn uncut_all(&mut self, links: &[(usize, usize)]) {
        for &(a, b) in links {
            self.uncut(a, b);
        }
    }

    /// Saves a node's nodes.conf as it is now.
    pub fn stash_nodes_conf(&mut self, i: usize) {
        use keyslot::storage::Storage;
        self.stashed[i] = self.nodes[i].storage.read("nodes.conf").ok().flatten();
        self.world_event(format!("save {}'s nodes.conf", self.nodes[i].name));
    }

    /// Writes a node's stashed (now stale) nodes.conf back to its disk. The disk went back in
    /// time, so the checker forgets the epochs and votes it saw from this node.
    pub fn restore_nodes_conf(&mut self, i: usize) -> Result<(), String> {
        let Some(text) = self.stashed[i].clone() else {
            return Err(format!("no nodes.conf of {} was saved", self.nodes[i].name));
        };
        self.nodes[i].storage.put("nodes.conf", &text);
        self.checker.forget_node(&self.nodes[i].name.clone(), true);
        self.world_event(format!(
            "write the saved (stale) nodes.conf back to {}'s disk",
            self.nodes[i].name
        ));
        Ok(())
    }

    /// Restarts every killed node, resumes every paused one, heals every link and every disk,
    /// and turns the fault points off (in running nodes and in the ones it restarts): the
    /// liveness phase that follows judges convergence without new faults.
    pub fn recover(&mut self) {
        self.fault_points_armed.store(false, Ordering::Relaxed);
        for i in 0..self.nodes.len() {
            self.with_node_mut(i, |n| n.rest.fault_points = FaultPoints::default());
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].disk_fault.is_some() {
                self.disk_fault(i, None);
            }
            if !self.nodes[i].alive {
                self.restart(i);
            } else if self.nodes[i].paused {
                self.resume(i);
            }
        }
        self.heal();
    }

    /// The host `command` and `call` talk from (made on first use), as redis-cli's machine.
    fn admin_host(&mut self) -> NodeHandle {
        if let Some(a) = &self.admin {
            return a.clone();
        }
        let a = self
            .handle
            .create_node()
            .name("redis-cli")
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 9, 4)))
            .build();
        self.admin = Some(a.clone());
        a
    }

    /// Sends one command to node i from the admin host (as redis-cli would) and waits for the
    /// reply while the world runs; `follow` follows MOVED/ASK like `redis-cli -c`.
    pub async fn command(&mut self, i: usize, args: Vec<String>, follow: bool) -> String {
        let admin = self.admin_host();
        let addr = self.nodes[i].addr();
        let task = admin.spawn(async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            // redis-cli -c: send to the given node, follow MOVED and ASK (at most 5 hops).
            let mut target = addr;
            let mut asking = false;
            let mut hops = Vec::new();
            for _ in 0..=5 {
                let conn =
                    tokio::time::timeout(Duration::from_secs(2), Conn::connect(target)).await;
                let Ok(Ok(mut conn)) = conn else {
                    return format!("(connection to {target} refused)");
                };
                if asking {
                    let _ = conn.call_str(&["ASKING"]).await;
                }
                let reply = match tokio::time::timeout(Duration::from_secs(2), conn.call_str(&refs))
                    .await
                {
                    Ok(Ok(f)) => frame_text(&f),
                    Ok(Err(e)) => return format!("(error: {e})"),
                    Err(_) => return "(timeout)".to_string(),
                };
                let redirect = reply
                    .strip_prefix("MOVED ")
                    .map(|r| (r, false))
                    .or_else(|| reply.strip_prefix("ASK ").map(|r| (r, true)));
                match redirect.and_then(|(r, ask)| {
                    r.split(' ')
                        .nth(1)?
                        .parse::<SocketAddr>()
                        .ok()
                        .map(|a| (a, ask))
                }) {
                    Some((next, ask)) if follow => {
                        hops.push(format!("-> Redirected to {next}"));
                        target = next;
                        asking = ask;
                    }
                    _ => {
                        hops.push(reply);
                        return hops.join(" ");
                    }
                }
            }
            hops.join(" ")
        });
        loop {
            if task.is_finished() {
                return task
                    .await
                    .unwrap_or_else(|e| format!("(task failed: {e:?})"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.step();
        }
    }

    /// Sends one command to node i from the admin host and returns the reply frame (no
    /// redirects followed), driving the world while it waits: what a `migrate_slot` step needs
    /// to read GETKEYSINSLOT's keys.
    pub async fn call(
        &mut self,
        i: usize,
        args: Vec<Vec<u8>>,
    ) -> Result<keyslot::resp::frame::Frame, String> {
        let admin = self.admin_host();
        let addr = self.nodes[i].addr();
        let task = admin.spawn(async move {
            let conn = tokio::time::timeout(Duration::from_secs(2), Conn::connect(addr)).await;
            let Ok(Ok(mut conn)) = conn else {
                return Err(format!("connection to {addr} refused"));
            };
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            match tokio::time::timeout(Duration::from_secs(10), conn.call(&refs)).await {
                Ok(Ok(f)) => Ok(f),
                Ok(Err(e)) => Err(format!("error: {e}")),
                Err(_) => Err("timeout".to_string()),
            }
        });
        loop {
            if task.is_finished() {
                return task
                    .await
                    .unwrap_or_else(|e| Err(format!("task failed: {e:?}")));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.step();
        }
    }

    /// A node's id as last seen (for `{id:NAME}` in commands).
    pub fn id_of(&self, i: usize) -> Option<keyslot::cluster::NodeId> {
        self.with_node(i, |n| n.rest.cluster.as_ref().map(|c| c.myself))
            .flatten()
            .or(self.known_ids[i])
    }

    /// Restores every link cut by `cut`/`partition`, every clogged node, and the default
    /// latency.
    pub fn heal(&mut self) {
        let net = self.net();
        for (a, b) in std::mem::take(&mut self.clogged) {
            net.unclog_link(self.nodes[a].madsim_id(), self.nodes[b].madsim_id());
        }
        for i in std::mem::take(&mut self.clogged_nodes) {
            net.unclog_node(self.nodes[i].madsim_id());
        }
        net.update_config(|c| {
            c.send_latency = Duration::from_millis(1)..Duration::from_millis(10);
        });
        self.world_event("heal all links".to_string());
    }

    /// Holds every byte a node sends or receives until `unclog_node`.
    pub fn clog_node(&mut self, i: usize) {
        self.net().clog_node(self.nodes[i].madsim_id());
        self.clogged_nodes.insert(i);
        self.world_event(format!("clog {}", self.nodes[i].name));
    }

    pub fn unclog_node(&mut self, i: usize) {
        self.net().unclog_node(self.nodes[i].madsim_id());
        self.clogged_nodes.remove(&i);
        self.world_event(format!("unclog {}", self.nodes[i].name));
    }

    /// Heals one direction of a link.
    pub fn uncut(&mut self, a: usize, b: usize) {
        if self.clogged.remove(&(a, b)) {
            let net = self.net();
            net.unclog_link(self.nodes[a].madsim_id(), self.nodes[b].madsim_id());
        }
    }

    // ----- clients --------------------------------------------------------------------------

    /// Starts a workload client on its own host; it runs until `stop` is set.
    pub fn spawn_client(
        &mut self,
        workload: crate::client::Workload,
    ) -> crate::client::ClientHandle {
        let k = self.next_client;
        self.next_client += 1;
        let host = self
            .handle
            .create_node()
            .name(format!("client-{}", k))
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 8, (k + 1) as u8)))
            .build();
        let seeds: Vec<SocketAddr> = self.nodes.iter().map(|n| n.addr()).collect();
        crate::client::spawn(&host, k, seeds, workload, self.t0)
    }

    /// A violation found so far, if any.
    pub fn first_violation(&self) -> Option<&Violation> {
        self.checker.violations.first()
    }

    /// Master index of slot `slot` by the view of live node `viewer`.
    pub fn owner_of_slot(&self, viewer: usize, slot: u16) -> Option<usize> {
        let id = self.with_node(viewer, |n| {
            n.rest.cluster.as_ref().and_then(|c| c.slot_owner_id(slot))
        })??;
        let name = self.name_of(&id);
        self.index_of(&name)
    }

    /// Whether node i is a master in its own view.
    pub fn is_master(&self, i: usize) -> Option<bool> {
        self.with_node(i, |n| n.rest.cluster.as_ref().map(|c| c.is_master()))?
    }

    /// The name of node i's master in its own view.
    pub fn master_of(&self, i: usize) -> Option<String> {
        let id = self.with_node(i, |n| n.rest.cluster.as_ref().and_then(|c| c.me().master))??;
        Some(self.name_of(&id))
    }
}

/// A run's world must not outlive its run: madsim does not free a runtime's node tasks when the
/// runtime is dropped, and each node holds megabytes (keyspace and slot tables), so explore
/// over thousands of seeds grew without bound (24 GB at 3400 runs). Killing every node and
/// dropping our handles to their state frees them at the end of each run.
impl Drop for World {
    fn drop(&mut self) {
        for n in &self.nodes {
            if let Ok(mut l) = n.live.lock() {
                *l = None;
            }
            self.handle.kill(n.madsim_id());
        }
    }
}

/// The hook a simulated node calls where the real one calls `exit(1)` (a persistence error
/// `appendfsync always` cannot survive): it records the message and kills the node's madsim
/// host at once, so the write that failed is never acknowledged (killing resets the host's
/// sockets before the reply is written).
fn exit_hook(
    exited: ExitSlot,
    own_id: Arc<Mutex<Option<madsim::task::NodeId>>>,
) -> Arc<dyn Fn(&str) + Send + Sync> {
    Arc::new(move |message: &str| {
        if let Ok(mut m) = exited.lock() {
            if m.is_none() {
                *m = Some(message.to_string());
            }
        }
        let id = own_id.lock().ok().and_then(|c| *c);
        if let Some(id) = id {
            Handle::current().kill(id);
        }
    })
}

/// The command line of a simulated node.
fn node_args(config: &WorldConfig, port: u16) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        &config.node_timeout_ms.to_string(),
        "--save",
        "",
        // Simulated hosts reach each other on 10.0.x.y, as containers do: protected mode off,
        // as in the official redis image.
        "--protected-mode",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if config.tls {
        let file = |name: &str| tls_fixture(name);
        let tls_args = [
            ("--tls-port", (port + TLS_PORT_OFFSET).to_string()),
            ("--tls-cluster", "yes".to_string()),
            ("--tls-replication", "yes".to_string()),
            // The bus keeps port+10000 (a tls-cluster would derive it from the TLS port).
            ("--cluster-port", (port + 10000).to_string()),
            ("--tls-cert-file", file("server.crt")),
            ("--tls-key-file", file("server.key")),
            ("--tls-ca-cert-file", file("ca.crt")),
        ];
        for (name, value) in tls_args {
            args.push(name.to_string());
            args.push(value);
        }
    }
    args.extend(config.extra_args.iter().cloned());
    args
}

/// A node's TLS port is this far above its client port in a `tls = true` scenario.
pub const TLS_PORT_OFFSET: u16 = 100;

/// The path of a committed test certificate file (sim/tls/, made by
/// scripts/gen-tls-certs.sh with Ed25519 keys, valid 2000-2199 so madsim's clock, which starts
/// near 2022, falls inside). One certificate serves every node: peers check the chain, not the
/// name, as Redis does.
pub fn tls_fixture(name: &str) -> String {
    format!("{}/tls/{}", env!("CARGO_MANIFEST_DIR"), name)
}

/// The admin's work: redis-cli --cluster create's sequence.
async fn form(addrs: Vec<SocketAddr>, masters: usize) -> Result<(), String> {
    let mut conns = Vec::new();
    for a in &addrs {
        let mut tries = 0;
        let conn = loop {
            match Conn::connect(*a).await {
                Ok(c) => break c,
                Err(e) if tries < 50 => {
                    let _ = e;
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        conns.push(conn);
    }
    let mut ids = Vec::new();
    for c in conns.iter_mut() {
        let id = c
            .call_str(&["CLUSTER", "MYID"])
            .await
            .map_err(|e| e.to_string())?;
        ids.push(frame_text(&id));
    }
    // Master i gets [first, last] as redis-cli computes it.
    let per = 16384.0 / masters as f64;
    let mut cursor = 0.0f64;
    for (i, conn) in conns.iter_mut().enumerate().take(masters) {
        let first = cursor.round() as u32;
        let last = if i == masters - 1 {
            16383
        } else {
            (cursor + per - 1.0).round() as u32
        };
        cursor += per;
        let mut args: Vec<String> = vec!["CLUSTER".into(), "ADDSLOTS".into()];
        args.extend((first..=last).map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = conn.call_str(&refs).await.map_err(|e| e.to_string())?;
        if r.is_error() {
            return Err(format!("ADDSLOTS: {}", frame_text(&r)));
        }
    }
    for (i, conn) in conns.iter_mut().enumerate() {
        let epoch = (i + 1).to_string();
        let _ = conn
            .call_str(&["CLUSTER", "SET-CONFIG-EPOCH", &epoch])
            .await
            .map_err(|e| e.to_string())?;
    }
    let first = addrs[0];
    for conn in conns.iter_mut().skip(1) {
        let r = conn
            .call_str(&[
                "CLUSTER",
                "MEET",
                &first.ip().to_string(),
                &first.port().to_string(),
            ])
            .await
            .map_err(|e| e.to_string())?;
        if r.is_error() {
            return Err(format!("MEET: {}", frame_text(&r)));
        }
    }
    // Wait for every node to know every other, then attach replicas (redis-cli retries
    // REPLICATE until the master is known).
    let total = addrs.len();
    for _ in 0..200 {
        let mut all = true;
        for c in conns.iter_mut() {
            let info = c
                .call_str(&["CLUSTER", "INFO"])
                .await
                .map_err(|e| e.to_string())?;
            if !frame_text(&info).contains(&format!("cluster_known_nodes:{}\r\n", total)) {
                all = false;
            }
        }
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for j in masters..total {
        let master = &ids[(j - masters) % masters];
        let mut done = false;
        for _ in 0..100 {
            let r = conns[j]
                .call_str(&["CLUSTER", "REPLICATE", master])
                .await
                .map_err(|e| e.to_string())?;
            if !r.is_error() {
                done = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !done {
            return Err(format!("REPLICATE {} never succeeded", master));
        }
    }
    Ok(())
}

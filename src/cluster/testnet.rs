//! An in-memory network of cluster state machines with virtual time, for tests.
//!
//! The shape of quinn-proto's `tests/util.rs`: every node is a bare [`ClusterState`], the
//! network is a queue of timed actions (ticks every 100 ms per node, connect results, message
//! deliveries, link closes), and [`Net::step`] jumps to the earliest one. Outputs are performed
//! the way `bus.rs` performs them, in order, right after the input that produced them: a
//! `Connect` becomes a connection pair (an outbound link on the connecting node, an inbound link
//! from `on_inbound_link` on the target, then `on_link_connected`), a `Send` is delivered to the
//! peer end after a latency, a `Close` closes both ends, and a `SaveConfig` writes the node's
//! nodes.conf text to its in-memory "disk", which is what a restart loads.
//!
//! Faults: partitions (one way or both), killing and restarting nodes, random drops, random
//! per-message latency and reordering, all driven by one seeded `ChaCha8Rng` so a run replays
//! exactly from its seed. With `check_safety` on, the safety invariants are checked after every
//! step and violations are collected in [`Net::violations`].
//!
//! | node | ip          | port | cport |
//! |------|-------------|------|-------|
//! | i    | 10.0.0.(i+1)| 6379 | 16379 |

use super::event::ClusterEvent;
use super::nodes_conf::NodesConf;
use super::state::{ClusterConfig, ClusterState, LinkId, Output};
use super::wire;
use super::{NodeId, SlotBitmap};
use crate::slot::SLOT_COUNT;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

/// clusterCron period.
pub const TICK_MS: u64 = 100;
/// Wall-clock time at virtual time 0 (the state machine turns gossip times into unix seconds).
pub const UNIX_BASE_MS: u64 = 1_700_000_000_000;
/// Client port of every node (they differ by IP).
pub const PORT: u16 = 6379;
/// Bus port of every node.
pub const CPORT: u16 = 16379;

/// How the network misbehaves. The default is a perfect 1 ms network.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Smallest one-way latency of a message or connect.
    pub latency_min_ms: u64,
    /// Largest one-way latency (each message draws uniformly in between).
    pub latency_max_ms: u64,
    /// Probability that a message is lost.
    pub drop_probability: f64,
    /// Whether messages on one connection may overtake each other (otherwise FIFO, as TCP).
    pub reorder: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_min_ms: 1,
            latency_max_ms: 1,
            drop_probability: 0.0,
            reorder: false,
        }
    }
}

/// Something a node did besides networking, or a fault applied to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Event(ClusterEvent),
    SaveConfig,
    DropSlotKeys(Vec<u16>),
    ReplicateFrom(NodeId),
    StopReplication,
    PauseWrites(u64),
    Killed,
    Restarted,
}

/// One effect with the virtual time and the node index it happened on.
#[derive(Debug, Clone)]
pub struct Record {
    pub time_ms: u64,
    pub node: usize,
    pub effect: Effect,
}

/// One simulated node.
pub struct SimNode {
    /// The state machine; `None` while the node is dead.
    pub state: Option<ClusterState>,
    pub ip: String,
    /// The configuration a restart starts from.
    pub config: ClusterConfig,
    /// The nodes.conf text of the last `SaveConfig` (the node's disk).
    pub saved_conf: Option<String>,
    /// The master it replicates from (ReplicateFrom / StopReplication).
    pub replicating_from: Option<NodeId>,
    /// Client writes are paused until this monotonic ms (PauseWrites).
    pub write_pause_until_ms: u64,
    /// Bumped on kill and restart so actions of an old incarnation are ignored.
    generation: u64,
}

/// A timed action of the network.
#[derive(Debug)]
enum Action {
    Tick {
        node: usize,
        generation: u64,
    },
    /// The answer to an outbound connect.
    Connect {
        from: usize,
        link: LinkId,
        to: Option<usize>,
        generation: u64,
    },
    Deliver {
        conn: u64,
        to: usize,
        link: LinkId,
        bytes: Vec<u8>,
    },
    /// The peer closed this link (EOF).
    Closed {
        node: usize,
        link: LinkId,
        generation: u64,
    },
}

/// An established connection: two (node, link) ends and, per direction, the latest scheduled
/// delivery (to keep FIFO order when reordering is off).
struct Conn {
    ends: [(usize, LinkId); 2],
    last_delivery_ms: [u64; 2],
}

/// The network.
pub struct Net {
    pub nodes: Vec<SimNode>,
    pub now_ms: u64,
    pub faults: Faults,
    rng: ChaCha8Rng,
    /// Seed of the run, printed on failures.
    pub seed: u64,
    /// Actions by (time, sequence).
    queue: BTreeMap<(u64, u64), Action>,
    seq: u64,
    conns: BTreeMap<u64, Conn>,
    link_conn: BTreeMap<(usize, LinkId), u64>,
    next_conn: u64,
    pending_connects: BTreeSet<(usize, LinkId)>,
    /// Directed (from, to) pairs whose messages are lost.
    blocked: BTreeSet<(usize, usize)>,
    /// Every non-network effect, in order.
    pub records: Vec<Record>,
    /// Check the safety invariants after every step.
    pub check_safety: bool,
    /// Safety violations found (with time).
    pub violations: Vec<String>,
    /// Highest currentEpoch seen per node id (must never go down, restarts included).
    epochs_seen: BTreeMap<NodeId, u64>,
    /// (voter, epoch) of every granted vote.
    votes: BTreeSet<(NodeId, u64)>,
    /// Messages sent / lost, for curiosity and for asserting that faults did something.
    pub sent: u64,
    pub lost: u64,
}

impl Net {
    /// `n` fresh nodes (each a master alone in its cluster), not yet introduced.
    pub fn new(n: usize, config: ClusterConfig, seed: u64) -> Net {
        let mut net = Net {
            nodes: Vec::new(),
            now_ms: 0,
            faults: Faults::default(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            queue: BTreeMap::new(),
            seq: 0,
            conns: BTreeMap::new(),
            link_conn: BTreeMap::new(),
            next_conn: 1,
            pending_connects: BTreeSet::new(),
            blocked: BTreeSet::new(),
            records: Vec::new(),
            check_safety: true,
            violations: Vec::new(),
            epochs_seen: BTreeMap::new(),
            votes: BTreeSet::new(),
            sent: 0,
            lost: 0,
        };
        for i in 0..n {
            let mut cfg = config.clone();
            cfg.port = PORT;
            cfg.cport = CPORT;
            let node_seed = net.rng.gen::<u64>();
            let mut state = ClusterState::new(cfg.clone(), node_seed);
            state.mark_dirty();
            net.nodes.push(SimNode {
                state: Some(state),
                ip: format!("10.0.0.{}", i + 1),
                config: cfg,
                saved_conf: None,
                replicating_from: None,
                write_pause_until_ms: 0,
                generation: 0,
            });
            // Stagger the nodes' crons inside the 100 ms period.
            let first = 1 + (i as u64 * 17) % TICK_MS;
            net.schedule(
                first,
                Action::Tick {
                    node: i,
                    generation: 0,
                },
            );
            net.drain(i);
        }
        net
    }

    /// Forms a cluster as redis-cli does: ADDSLOTS an even split on the first `masters` nodes,
    /// SET-CONFIG-EPOCH i+1 on every node, MEET node 0 from every other node, wait until all
    /// know all, then CLUSTER REPLICATE: node `masters + j` replicates master `replica_of[j]`.
    /// Returns the virtual ms it took until every node agreed and reported ok.
    pub fn create_cluster(&mut self, masters: usize, replica_of: &[usize]) -> Result<u64, String> {
        let epochs: Vec<u64> = (1..=self.nodes.len() as u64).collect();
        self.create_cluster_with_epochs(masters, replica_of, &epochs)
    }

    /// [`Net::create_cluster`] with the configEpoch each node gets (0: no SET-CONFIG-EPOCH).
    pub fn create_cluster_with_epochs(
        &mut self,
        masters: usize,
        replica_of: &[usize],
        epochs: &[u64],
    ) -> Result<u64, String> {
        let n = self.nodes.len();
        assert_eq!(
            masters + replica_of.len(),
            n,
            "layout must cover every node"
        );
        assert_eq!(epochs.len(), n, "one configEpoch per node");
        let start = self.now_ms;
        for m in 0..masters {
            let (first, last) = Self::slot_range(m, masters);
            self.command(m, |s, now, _| {
                let me = s.myself;
                for slot in first..=last {
                    s.set_slot(slot, me);
                }
                s.mark_dirty();
                s.update_state(now);
            });
        }
        for (i, &epoch) in epochs.iter().enumerate() {
            if epoch != 0 {
                self.command(i, |s, _, _| {
                    s.set_config_epoch(epoch as i64)
                        .expect("SET-CONFIG-EPOCH on a fresh node");
                });
            }
        }
        let (ip0, port0, cport0) = (self.nodes[0].ip.clone(), PORT, CPORT);
        for i in 1..n {
            self.command(i, |s, now, _| s.meet(now, &ip0, port0, cport0));
        }
        self.run_until(|net| net.all_know_all(), 20_000)
            .ok_or_else(|| format!("nodes did not meet: {}", self.describe()))?;
        for (j, &m) in replica_of.iter().enumerate() {
            let master = self.id(m);
            self.command(masters + j, |s, now, unix| {
                s.set_my_master(now, unix, master)
            });
        }
        self.run_until(|net| net.converged().is_ok(), 20_000)
            .ok_or_else(|| {
                format!(
                    "cluster did not converge: {:?}\n{}",
                    self.converged(),
                    self.describe()
                )
            })?;
        Ok(self.now_ms - start)
    }

    /// The inclusive slot range master `m` of `masters` gets at formation.
    pub fn slot_range(m: usize, masters: usize) -> (u16, u16) {
        let first = m * SLOT_COUNT / masters;
        let last = (m + 1) * SLOT_COUNT / masters - 1;
        (first as u16, last as u16)
    }

    // ----- access ----------------------------------------------------------------------------

    /// The state of a live node.
    pub fn state(&self, i: usize) -> &ClusterState {
        self.nodes[i]
            .state
            .as_ref()
            .unwrap_or_else(|| panic!("node {} is dead", i))
    }

    /// Mutable state of a live node (outputs are performed at the next input or `command`).
    pub fn state_mut(&mut self, i: usize) -> &mut ClusterState {
        self.nodes[i]
            .state
            .as_mut()
            .unwrap_or_else(|| panic!("node {} is dead", i))
    }

    /// The node id of node `i` (also of a dead one: the id it had when it died or was saved).
    pub fn id(&self, i: usize) -> NodeId {
        match &self.nodes[i].state {
            Some(s) => s.myself,
            None => {
                let text = self.nodes[i].saved_conf.as_deref().unwrap_or("");
                let conf = NodesConf::parse(text).expect("saved nodes.conf parses");
                conf.myself().expect("saved conf has myself").id
            }
        }
    }

    pub fn alive(&self, i: usize) -> bool {
        self.nodes[i].state.is_some()
    }

    pub fn live(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.alive(i)).collect()
    }

    pub fn unix_ms(&self) -> u64 {
        UNIX_BASE_MS + self.now_ms
    }

    /// Runs a command on a live node at the current time and performs its outputs.
    pub fn command<R>(&mut self, i: usize, f: impl FnOnce(&mut ClusterState, u64, u64) -> R) -> R {
        let (now, unix) = (self.now_ms, self.unix_ms());
        let r = f(self.state_mut(i), now, unix);
        self.drain(i);
        r
    }

    /// Delivers a crafted message to node `to` now, as if `from` sent it on its outbound link
    /// (or on a detached link when there is none), and performs the outputs.
    pub fn inject(&mut self, to: usize, from: usize, bytes: &[u8]) {
        let link = self
            .link_conn
            .iter()
            .filter(|((node, _), _)| *node == to)
            .find_map(|((_, link), conn)| {
                let c = &self.conns[conn];
                let peer = if c.ends[0] == (to, *link) {
                    c.ends[1]
                } else {
                    c.ends[0]
                };
                (peer.0 == from).then_some(*link)
            })
            .unwrap_or(LinkId(u64::MAX));
        let (now, unix) = (self.now_ms, self.unix_ms());
        let ip = self.nodes[to].ip.clone();
        self.state_mut(to).on_message(now, unix, link, &ip, bytes);
        self.drain(to);
    }

    /// Effects recorded on node `i`.
    pub fn effects(&self, i: usize) -> impl Iterator<Item = &Record> + '_ {
        self.records.iter().filter(move |r| r.node == i)
    }

    /// Cluster events recorded on node `i` since `since_ms`.
    pub fn events(&self, i: usize, since_ms: u64) -> Vec<(u64, ClusterEvent)> {
        self.records
            .iter()
            .filter(|r| r.node == i && r.time_ms >= since_ms)
            .filter_map(|r| match &r.effect {
                Effect::Event(e) => Some((r.time_ms, e.clone())),
                _ => None,
            })
            .collect()
    }

    /// The first recorded event on node `i` since `since_ms` that matches.
    pub fn first_event(
        &self,
        i: usize,
        since_ms: u64,
        pred: impl Fn(&ClusterEvent) -> bool,
    ) -> Option<(u64, ClusterEvent)> {
        self.events(i, since_ms).into_iter().find(|(_, e)| pred(e))
    }

    // ----- faults ----------------------------------------------------------------------------

    /// Loses every message between the two groups, both directions; new connects across fail.
    pub fn partition(&mut self, side_a: &[usize], side_b: &[usize]) {
        for &a in side_a {
            for &b in side_b {
                self.blocked.insert((a, b));
                self.blocked.insert((b, a));
            }
        }
    }

    /// Loses messages from `from` to `to` only.
    pub fn block_one_way(&mut self, from: usize, to: usize) {
        self.blocked.insert((from, to));
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Kills a node: its links close (peers read EOF), it stops ticking, its state is gone.
    /// Its disk (the last saved nodes.conf) remains.
    pub fn kill(&mut self, i: usize) {
        if self.nodes[i].state.take().is_none() {
            return;
        }
        self.nodes[i].generation += 1;
        self.nodes[i].replicating_from = None;
        self.record(i, Effect::Killed);
        let conns: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.ends.iter().any(|e| e.0 == i))
            .map(|(id, _)| *id)
            .collect();
        for id in conns {
            let c = self.conns.remove(&id).expect("listed");
            for end in c.ends {
                self.link_conn.remove(&end);
                if end.0 != i {
                    let generation = self.nodes[end.0].generation;
                    let at = self.faults.latency_min_ms;
                    self.schedule(
                        at,
                        Action::Closed {
                            node: end.0,
                            link: end.1,
                            generation,
                        },
                    );
                }
            }
        }
        self.pending_connects.retain(|(node, _)| *node != i);
    }

    /// Restarts a dead node from its saved nodes.conf (a fresh node if it never saved).
    pub fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].state.is_none(), "node {} is alive", i);
        let seed = self.rng.gen::<u64>();
        let mut state = ClusterState::new(self.nodes[i].config.clone(), seed);
        match self.nodes[i].saved_conf.as_deref() {
            Some(text) => {
                let conf = NodesConf::parse(text).expect("saved nodes.conf parses");
                state.load(&conf).expect("saved nodes.conf loads");
            }
            None => state.mark_dirty(),
        }
        self.nodes[i].state = Some(state);
        self.nodes[i].generation += 1;
        self.record(i, Effect::Restarted);
        let generation = self.nodes[i].generation;
        self.schedule(
            TICK_MS,
            Action::Tick {
                node: i,
                generation,
            },
        );
        self.drain(i);
    }

    // ----- running ---------------------------------------------------------------------------

    /// Performs the earliest action. False when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), action)) = self.queue.pop_first() else {
            return false;
        };
        debug_assert!(at >= self.now_ms, "time never goes backwards");
        self.now_ms = at;
        self.perform(action);
        if self.check_safety {
            self.check_invariants();
        }
        true
    }

    /// Runs every action due in the next `ms`, then sets the clock to the end.
    pub fn run_for(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        while self.next_at().is_some_and(|t| t <= end) {
            self.step();
        }
        self.now_ms = end;
    }

    /// Runs until `pred` holds (checked every 10 virtual ms at most), at most `max_ms`.
    /// Returns the time it held at.
    pub fn run_until(&mut self, mut pred: impl FnMut(&Net) -> bool, max_ms: u64) -> Option<u64> {
        let end = self.now_ms + max_ms;
        let mut last_check = None;
        loop {
            if last_check.is_none_or(|t| self.now_ms >= t + 10) {
                last_check = Some(self.now_ms);
                if pred(self) {
                    return Some(self.now_ms);
                }
            }
            match self.next_at() {
                Some(t) if t <= end => {
                    self.step();
                }
                _ => {
                    self.now_ms = end;
                    return pred(self).then_some(self.now_ms);
                }
            }
        }
    }

    fn next_at(&self) -> Option<u64> {
        self.queue.first_key_value().map(|((t, _), _)| *t)
    }

    fn schedule(&mut self, delay_ms: u64, action: Action) {
        self.seq += 1;
        self.queue
            .insert((self.now_ms + delay_ms, self.seq), action);
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = (self.faults.latency_min_ms, self.faults.latency_max_ms);
        if hi <= lo {
            lo
        } else {
            self.rng.gen_range(lo..=hi)
        }
    }

    fn perform(&mut self, action: Action) {
        let (now, unix) = (self.now_ms, self.unix_ms());
        match action {
            Action::Tick { node, generation } => {
                if self.nodes[node].generation != generation {
                    return;
                }
                let Some(s) = self.nodes[node].state.as_mut() else {
                    return;
                };
                s.on_tick(now, unix);
                self.drain(node);
                self.schedule(TICK_MS, Action::Tick { node, generation });
            }
            Action::Connect {
                from,
                link,
                to,
                generation,
            } => {
                if self.nodes[from].generation != generation
                    || !self.pending_connects.remove(&(from, link))
                {
                    return; // closed while connecting, or the node died
                }
                let reachable = to.filter(|&t| {
                    self.alive(t)
                        && !self.blocked.contains(&(from, t))
                        && !self.blocked.contains(&(t, from))
                });
                let Some(to) = reachable else {
                    // Connection refused.
                    if let Some(s) = self.nodes[from].state.as_mut() {
                        s.on_link_closed(link);
                    }
                    self.drain(from);
                    return;
                };
                let peer_ip = self.nodes[from].ip.clone();
                let inbound = self.state_mut(to).on_inbound_link(peer_ip);
                let id = self.next_conn;
                self.next_conn += 1;
                self.conns.insert(
                    id,
                    Conn {
                        ends: [(from, link), (to, inbound)],
                        last_delivery_ms: [0, 0],
                    },
                );
                self.link_conn.insert((from, link), id);
                self.link_conn.insert((to, inbound), id);
                self.drain(to);
                self.state_mut(from).on_link_connected(now, unix, link);
                self.drain(from);
            }
            Action::Deliver {
                conn,
                to,
                link,
                bytes,
            } => {
                if !self.conns.contains_key(&conn) {
                    self.lost += 1;
                    return;
                }
                let ip = self.nodes[to].ip.clone();
                let Some(s) = self.nodes[to].state.as_mut() else {
                    return;
                };
                s.on_message(now, unix, link, &ip, &bytes);
                self.drain(to);
            }
            Action::Closed {
                node,
                link,
                generation,
            } => {
                if self.nodes[node].generation != generation {
                    return;
                }
                if let Some(s) = self.nodes[node].state.as_mut() {
                    s.on_link_closed(link);
                    self.drain(node);
                }
            }
        }
    }

    /// Performs a node's outputs in order, as bus.rs does.
    fn drain(&mut self, i: usize) {
        loop {
            let unix = self.unix_ms();
            let Some(s) = self.nodes[i].state.as_mut() else {
                return;
            };
            let Some(out) = s.poll_output() else {
                return;
            };
            match out {
                Output::Connect { link, ip, cport } => {
                    let to =
                        (0..self.nodes.len()).find(|&t| self.nodes[t].ip == ip && cport == CPORT);
                    self.pending_connects.insert((i, link));
                    let generation = self.nodes[i].generation;
                    let at = self.latency();
                    self.schedule(
                        at,
                        Action::Connect {
                            from: i,
                            link,
                            to,
                            generation,
                        },
                    );
                }
                Output::Send { link, message } => self.send(i, link, message),
                Output::Close { link } => self.close(i, link),
                Output::SaveConfig => {
                    let text = crate::cmd::cluster::nodes_conf_text(s, unix);
                    self.nodes[i].saved_conf = Some(text);
                    self.record(i, Effect::SaveConfig);
                }
                Output::DropSlotKeys { slots } => self.record(i, Effect::DropSlotKeys(slots)),
                Output::ReplicateFrom { master, .. } => {
                    self.nodes[i].replicating_from = Some(master);
                    self.record(i, Effect::ReplicateFrom(master));
                }
                Output::StopReplication => {
                    self.nodes[i].replicating_from = None;
                    self.record(i, Effect::StopReplication);
                }
                Output::PauseWrites { until_ms } => {
                    self.nodes[i].write_pause_until_ms = until_ms;
                    self.record(i, Effect::PauseWrites(until_ms));
                }
                Output::Event(e) => {
                    if let ClusterEvent::VoteGranted { epoch, .. } = &e {
                        let voter = s.myself;
                        if !self.votes.insert((voter, *epoch)) {
                            self.violations.push(format!(
                                "t={} node {} ({:?}) granted a second vote in epoch {}",
                                self.now_ms, i, voter, epoch
                            ));
                        }
                    }
                    self.record(i, Effect::Event(e));
                }
            }
        }
    }

    fn record(&mut self, node: usize, effect: Effect) {
        self.records.push(Record {
            time_ms: self.now_ms,
            node,
            effect,
        });
    }

    fn send(&mut self, from: usize, link: LinkId, message: Vec<u8>) {
        self.sent += 1;
        // A vote is on disk before it leaves.
        // The type sits after the signature, totlen, version and port (offset 12).
        let kind = message
            .get(12..14)
            .map(|b| u16::from_be_bytes([b[0], b[1]]));
        if self.check_safety && kind == Some(wire::types::FAILOVER_AUTH_ACK) {
            if let Ok(msg) = wire::decode(&message) {
                if msg.header.kind == wire::types::FAILOVER_AUTH_ACK {
                    let saved = self.nodes[from]
                        .saved_conf
                        .as_deref()
                        .and_then(|t| NodesConf::parse(t).ok())
                        .map_or(0, |c| c.last_vote_epoch);
                    if saved < msg.header.current_epoch {
                        self.violations.push(format!(
                            "t={} node {} sent a vote for epoch {} with lastVoteEpoch {} on disk",
                            self.now_ms, from, msg.header.current_epoch, saved
                        ));
                    }
                }
            }
        }
        let Some(&conn) = self.link_conn.get(&(from, link)) else {
            self.lost += 1;
            return;
        };
        let (to, to_link, dir) = {
            let c = &self.conns[&conn];
            if c.ends[0] == (from, link) {
                (c.ends[1].0, c.ends[1].1, 0)
            } else {
                (c.ends[0].0, c.ends[0].1, 1)
            }
        };
        if self.blocked.contains(&(from, to)) {
            self.lost += 1;
            return;
        }
        if self.faults.drop_probability > 0.0 && self.rng.gen_bool(self.faults.drop_probability) {
            self.lost += 1;
            return;
        }
        let mut at = self.now_ms + self.latency();
        let reorder = self.faults.reorder;
        let c = self.conns.get_mut(&conn).expect("exists");
        if !reorder {
            at = at.max(c.last_delivery_ms[dir]);
        }
        c.last_delivery_ms[dir] = at;
        let delay = at - self.now_ms;
        self.schedule(
            delay,
            Action::Deliver {
                conn,
                to,
                link: to_link,
                bytes: message,
            },
        );
    }

    fn close(&mut self, node: usize, link: LinkId) {
        self.pending_connects.remove(&(node, link));
        let Some(conn) = self.link_conn.remove(&(node, link)) else {
            return;
        };
        let c = self.conns.remove(&conn).expect("indexed");
        let peer = if c.ends[0] == (node, link) {
            c.ends[1]
        } else {
            c.ends[0]
        };
        self.link_conn.remove(&peer);
        let generation = self.nodes[peer.0].generation;
        let at = self.latency();
        self.schedule(
            at,
            Action::Closed {
                node: peer.0,
                link: peer.1,
                generation,
            },
        );
    }

    // ----- invariants and convergence ------------------------------------------------------

    /// Safety: no two masters claim one slot with the same configEpoch; currentEpoch never goes
    /// down (a restart included). Votes are checked as they are granted.
    fn check_invariants(&mut self) {
        let masters: Vec<(usize, u64, &SlotBitmap)> = (0..self.nodes.len())
            .filter_map(|i| self.nodes[i].state.as_ref().map(|s| (i, s)))
            .filter(|(_, s)| s.is_master() && s.me().numslots() > 0)
            .map(|(i, s)| (i, s.me().config_epoch, &s.me().slots))
            .collect();
        let mut found = Vec::new();
        for (x, a) in masters.iter().enumerate() {
            for b in &masters[x + 1..] {
                if a.1 == b.1 && intersects(a.2, b.2) {
                    found.push(format!(
                        "t={} masters {} and {} both claim slots with configEpoch {}",
                        self.now_ms, a.0, b.0, a.1
                    ));
                }
            }
        }
        for i in 0..self.nodes.len() {
            let Some(s) = self.nodes[i].state.as_ref() else {
                continue;
            };
            let seen = self.epochs_seen.entry(s.myself).or_insert(0);
            if s.current_epoch < *seen {
                found.push(format!(
                    "t={} node {} currentEpoch went from {} down to {}",
                    self.now_ms, i, seen, s.current_epoch
                ));
            }
            *seen = (*seen).max(s.current_epoch);
        }
        // Report each distinct problem once, not at every later step.
        for f in found {
            let key = &f[f.find(' ').unwrap_or(0)..];
            if !self.violations.iter().any(|v| v.ends_with(key)) {
                self.violations.push(f);
            }
        }
    }

    /// Every live node knows every node (none in handshake).
    pub fn all_know_all(&self) -> bool {
        let n = self.nodes.len();
        self.live().iter().all(|&i| {
            let s = self.state(i);
            s.nodes.len() == n && s.nodes.values().all(|x| !x.in_handshake())
        })
    }

    /// Liveness: every live node reports ok, and every live node's view of every live node
    /// (role, master, slots) matches that node's own; all slots are served by live masters.
    pub fn converged(&self) -> Result<(), String> {
        let live = self.live();
        for &i in &live {
            let s = self.state(i);
            if !s.state_ok {
                return Err(format!("node {} reports cluster state fail", i));
            }
        }
        for &i in &live {
            let observer = self.state(i);
            let mut served = 0;
            for &j in &live {
                let truth = self.state(j).me();
                let Some(seen) = observer.nodes.get(&truth.id) else {
                    return Err(format!("node {} does not know node {}", i, j));
                };
                if seen.in_handshake()
                    || seen.is_master() != truth.is_master()
                    || seen.master != truth.master
                    || seen.slots != truth.slots
                {
                    return Err(format!(
                        "node {} sees node {} as master={} of {:?} with {} slots; it is master={} of {:?} with {}",
                        i,
                        j,
                        seen.is_master(),
                        seen.master,
                        seen.numslots(),
                        truth.is_master(),
                        truth.master,
                        truth.numslots()
                    ));
                }
                if truth.is_master() {
                    served += truth.numslots();
                }
            }
            if served != SLOT_COUNT {
                return Err(format!("node {}: live masters serve {} slots", i, served));
            }
        }
        Ok(())
    }

    /// Asserts no safety violation was found, printing the seed.
    pub fn assert_safe(&self) {
        assert!(
            self.violations.is_empty(),
            "seed {}: safety violations:\n{}",
            self.seed,
            self.violations.join("\n")
        );
    }

    /// A compact picture of every node, for failure messages.
    pub fn describe(&self) -> String {
        let mut out = format!("seed {} t={}\n", self.seed, self.now_ms);
        for i in 0..self.nodes.len() {
            match &self.nodes[i].state {
                None => out.push_str(&format!("  node {}: dead\n", i)),
                Some(s) => {
                    let me = s.me();
                    out.push_str(&format!(
                        "  node {} {:?} {} epoch cur={} cfg={} ok={} slots={} knows={}\n",
                        i,
                        me.id,
                        if me.is_master() {
                            "master".to_string()
                        } else {
                            format!("replica of {:?}", me.master)
                        },
                        s.current_epoch,
                        me.config_epoch,
                        s.state_ok,
                        me.numslots(),
                        s.nodes.len()
                    ));
                }
            }
        }
        out
    }

    /// The recorded story, one line per effect (for debugging a failing test).
    pub fn story(&self) -> String {
        self.records
            .iter()
            .map(|r| {
                let what = match &r.effect {
                    Effect::Event(e) => e.to_string(),
                    other => format!("{:?}", other),
                };
                format!("{:>7} n{} {}\n", r.time_ms, r.node, what)
            })
            .collect()
    }
}

fn intersects(a: &SlotBitmap, b: &SlotBitmap) -> bool {
    a.as_bytes()
        .iter()
        .zip(b.as_bytes().iter())
        .any(|(x, y)| x & y != 0)
}

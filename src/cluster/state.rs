//! The cluster state machine: node table, slot map, epochs, failure detection, elections.
//!
//! Deterministic and without I/O. The caller feeds it three kinds of input, each with the
//! current monotonic time:
//! - [`ClusterState::on_tick`] every 100 ms (Redis's clusterCron);
//! - [`ClusterState::on_message`] for each decoded bus message, with the link it came on;
//! - link events ([`ClusterState::on_link_connected`], [`ClusterState::on_link_closed`],
//!   [`ClusterState::on_inbound_link`]) and CLUSTER commands (methods in `commands.rs`).
//!
//! After any input the caller drains [`ClusterState::poll_output`] until it returns None and
//! performs each output in order (a `SaveConfig` before the `Send`s that follow it: a vote is on
//! disk before it leaves). Randomness comes only from the RNG seeded at construction.

use super::event::ClusterEvent;
use super::planted::{Planted, PlantedSet};
use super::wire::{self, Body, GossipEntry, Header, Message};
use super::{NodeId, SlotBitmap};
use crate::slot::SLOT_COUNT;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use wire::flags as node_flags;
use wire::flags::*;

/// Failure reports are valid for this many node timeouts.
pub const FAIL_REPORT_VALIDITY_MULT: u64 = 2;
/// A master that still owns slots has its FAIL cleared after this many node timeouts.
pub const FAIL_UNDO_TIME_MULT: u64 = 2;
/// A master waits this long after startup before reporting cluster state ok.
pub const WRITABLE_DELAY_MS: u64 = 2000;
/// Manual failover gives up after this long.
pub const MF_TIMEOUT_MS: u64 = 5000;
/// A master must be orphaned this long before a replica migrates to it.
pub const REPLICA_MIGRATION_DELAY_MS: u64 = 5000;
/// FORGET keeps a node from being re-added by gossip this long.
pub const BLACKLIST_TTL_MS: u64 = 60_000;
/// Ticks between the "ping the oldest of 5 random nodes" rounds.
const RANDOM_PING_EVERY_TICKS: u64 = 10;

/// A bus connection, named by the state machine (outbound) or assigned on accept (inbound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u64);

/// What the state machine asks its driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a bus connection for `link` to `ip:cport`; answer with `on_link_connected` or
    /// `on_link_closed`.
    Connect {
        link: LinkId,
        ip: String,
        cport: u16,
    },
    /// Send an encoded message on a link.
    Send { link: LinkId, message: Vec<u8> },
    /// Close a link (no callback needed).
    Close { link: LinkId },
    /// Write nodes.conf now (before performing any later output).
    SaveConfig,
    /// Delete the keys of slots this node no longer serves.
    DropSlotKeys { slots: Vec<u16> },
    /// Start replicating from a master (the replication layer connects to `ip:port`).
    ReplicateFrom {
        master: NodeId,
        ip: String,
        port: u16,
    },
    /// Stop replicating: this node is a master now.
    StopReplication,
    /// Pause (or with 0, unpause) client writes until the given monotonic ms (manual failover).
    PauseWrites { until_ms: u64 },
    /// Something happened (log line / story event).
    Event(ClusterEvent),
}

/// The state of our outbound link to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    /// No link; the next tick connects.
    Down,
    /// Connect requested, not answered yet.
    Connecting { link: LinkId, since_ms: u64 },
    /// Connected.
    Up { link: LinkId, since_ms: u64 },
}

/// One node of the table, as this node sees it.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    pub id: NodeId,
    /// Wire flag bits (MASTER, SLAVE, PFAIL, FAIL, MYSELF, HANDSHAKE, NOADDR, MEET, ...).
    pub flags: u16,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub pport: u16,
    pub hostname: Option<String>,
    /// The master, for a replica.
    pub master: Option<NodeId>,
    /// The config epoch (for a replica, what its packets said its master had).
    pub config_epoch: u64,
    /// Slots this node claims (masters).
    pub slots: SlotBitmap,
    /// Monotonic ms the pending PING was sent, 0 when none is pending.
    pub ping_sent_ms: u64,
    /// Monotonic ms of the last PONG.
    pub pong_received_ms: u64,
    /// Monotonic ms of the last data on any link from this node.
    pub data_received_ms: u64,
    /// Monotonic ms it was marked FAIL.
    pub fail_time_ms: u64,
    /// Monotonic ms this master last voted for one of this node's replicas.
    pub voted_time_ms: u64,
    /// Monotonic ms the node was created (handshake expiry).
    pub ctime_ms: u64,
    /// Monotonic ms since when this master is orphaned (0 when not).
    pub orphaned_since_ms: u64,
    /// Last replication offset it advertised.
    pub repl_offset: u64,
    /// The highest currentEpoch this node's own packets carried. A node's currentEpoch never
    /// goes down, so a packet below it was sent earlier and arrived late (an old connection's
    /// bytes delivered after a partition healed).
    pub current_epoch_seen: u64,
    /// Failure reports: reporter -> monotonic ms of the latest report.
    pub fail_reports: BTreeMap<NodeId, u64>,
    link: LinkState,
}

impl ClusterNode {
    fn new(id: NodeId, flags: u16, now_ms: u64) -> ClusterNode {
        ClusterNode {
            id,
            flags,
            ip: String::new(),
            port: 0,
            cport: 0,
            pport: 0,
            hostname: None,
            master: None,
            config_epoch: 0,
            slots: SlotBitmap::new(),
            ping_sent_ms: 0,
            pong_received_ms: 0,
            data_received_ms: 0,
            fail_time_ms: 0,
            voted_time_ms: 0,
            ctime_ms: now_ms,
            orphaned_since_ms: 0,
            repl_offset: 0,
            current_epoch_seen: 0,
            fail_reports: BTreeMap::new(),
            link: LinkState::Down,
        }
    }

    pub fn is_master(&self) -> bool {
        self.flags & MASTER != 0
    }
    pub fn is_replica(&self) -> bool {
        self.flags & SLAVE != 0
    }
    pub fn in_handshake(&self) -> bool {
        self.flags & HANDSHAKE != 0
    }
    pub fn is_failed(&self) -> bool {
        self.flags & FAIL != 0
    }
    pub fn is_pfail(&self) -> bool {
        self.flags & PFAIL != 0
    }
    pub fn is_myself(&self) -> bool {
        self.flags & MYSELF != 0
    }
    pub fn has_addr(&self) -> bool {
        self.flags & NOADDR == 0
    }
    /// True when our outbound link to it is connected (CLUSTER NODES `connected`).
    pub fn link_up(&self) -> bool {
        self.is_myself() || matches!(self.link, LinkState::Up { .. })
    }
    pub fn numslots(&self) -> usize {
        self.slots.count()
    }
}

/// Tunables read from the config (refreshed by the driver on CONFIG SET).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub node_timeout_ms: u64,
    pub replica_validity_factor: u64,
    pub repl_ping_replica_period_s: u64,
    pub require_full_coverage: bool,
    pub allow_reads_when_down: bool,
    pub migration_barrier: u64,
    pub allow_replica_migration: bool,
    pub replica_no_failover: bool,
    pub announce_ip: Option<String>,
    pub announce_hostname: Option<String>,
    /// Our client port and bus port, as announced.
    pub port: u16,
    pub cport: u16,
    /// With tls-cluster, `port` is the TLS port and this the plaintext one (0 when there is
    /// none), announced so plaintext clients can be redirected to it (Redis's pport).
    pub pport: u16,
    /// Planted protocol bugs for the simulator to catch (see [`super::planted`]). Only tests
    /// set them; empty in the real server.
    pub planted: PlantedSet,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            node_timeout_ms: 15000,
            replica_validity_factor: 10,
            repl_ping_replica_period_s: 10,
            require_full_coverage: true,
            allow_reads_when_down: false,
            migration_barrier: 1,
            allow_replica_migration: true,
            replica_no_failover: false,
            announce_ip: None,
            announce_hostname: None,
            port: 6379,
            cport: 16379,
            pport: 0,
            planted: PlantedSet::default(),
        }
    }
}

/// Counters for CLUSTER INFO and for dropped messages.
#[derive(Debug, Clone, Default)]
pub struct BusStats {
    /// Messages sent, by type.
    pub sent: BTreeMap<u16, u64>,
    /// Messages received, by type.
    pub received: BTreeMap<u16, u64>,
    /// Messages dropped as malformed or from unknown senders.
    pub dropped: u64,
    /// Messages dropped because they were older than what the node already knew of the sender.
    pub stale: u64,
    /// Messages dropped by `DEBUG DROP-CLUSTER-PACKET-FILTER`.
    pub debug_filtered: u64,
}

/// Which of the two links with a peer `DEBUG CLUSTERLINK KILL` frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkDirection {
    /// The link we opened to the peer (Redis's `node->link`).
    To,
    /// The link the peer opened to us (Redis's `node->inbound_link`).
    From,
    /// Both.
    All,
}

/// An election in progress (replica side): Redis's failover_auth_* fields.
#[derive(Debug, Clone, Default)]
struct Election {
    /// Monotonic ms at which votes are (or were) requested; 0 = none scheduled.
    auth_time_ms: u64,
    /// Votes received.
    auth_count: usize,
    /// Masters that voted (one vote each).
    voters: BTreeSet<NodeId>,
    /// Whether the request was sent.
    auth_sent: bool,
    /// The request went unanswered past the auth timeout. Redis keeps `failover_auth_sent`
    /// set until the retry time schedules a new election (with the count reset); clearing it
    /// here instead let a rank change re-open the old election in a new epoch with the old
    /// epoch's votes still counted (swarm seed 4302 over stale-packets-after-heal: a promotion
    /// with one vote of the new epoch).
    expired: bool,
    /// Rank when scheduled.
    rank: u32,
    /// Epoch of the request.
    auth_epoch: u64,
    /// Whether the "can't failover" reason was already reported (once per reason).
    cant_reason: Option<&'static str>,
}

/// Manual failover state (both sides).
#[derive(Debug, Clone, Default)]
struct ManualFailover {
    /// Monotonic ms at which it is aborted; 0 = none running.
    end_ms: u64,
    /// Replica side: may start the election (offsets matched or FORCE).
    can_start: bool,
    /// Replica side: the master's offset from its PAUSED ping, if received.
    master_offset: Option<u64>,
    /// Master side: the replica doing the failover.
    replica: Option<NodeId>,
}

/// An inbound link's state.
#[derive(Debug, Clone)]
struct Inbound {
    /// The sender, once known.
    node: Option<NodeId>,
    /// The peer's IP as the socket saw it.
    peer_ip: String,
}

/// The cluster as this node sees it.
pub struct ClusterState {
    pub myself: NodeId,
    pub nodes: BTreeMap<NodeId, ClusterNode>,
    /// Owner of each slot.
    slots: Vec<Option<NodeId>>,
    /// Open slots (resharding): slot -> target / source node.
    pub migrating: BTreeMap<u16, NodeId>,
    pub importing: BTreeMap<u16, NodeId>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    /// Cluster state as computed by `update_state`.
    pub state_ok: bool,
    pub config: ClusterConfig,
    pub stats: BusStats,
    /// PUBLISH (false) / PUBLISHSHARD (true) messages received from known nodes, with channel
    /// and message, for the driver to deliver to local subscribers.
    pub received_publish: VecDeque<(bool, bytes::Bytes, bytes::Bytes)>,
    /// Our replication offset (set by the replication layer).
    pub repl_offset: u64,
    /// Monotonic ms the replica's master link went down (data age for the validity check);
    /// 0 while it is up.
    pub master_link_down_since_ms: u64,
    /// Whether the replication link to our master is up (set by the replication layer every
    /// tick; true by default so the state machine alone, in unit tests, ages data by the bus).
    pub master_link_up: bool,
    rng: ChaCha8Rng,
    outputs: VecDeque<Output>,
    inbound: BTreeMap<LinkId, Inbound>,
    /// Outbound link -> the node it was opened for.
    outbound: BTreeMap<LinkId, NodeId>,
    next_link: u64,
    election: Election,
    manual: ManualFailover,
    /// FORGET blacklist: node -> monotonic ms it expires.
    blacklist: BTreeMap<NodeId, u64>,
    /// Ticks seen (random ping rounds).
    ticks: u64,
    /// Monotonic ms of the first tick (writable delay).
    start_ms: Option<u64>,
    /// Monotonic ms the node last found itself in the minority.
    among_minority_ms: u64,
    /// Set when something changed that nodes.conf must reflect.
    save_pending: bool,
    /// `DEBUG DROP-CLUSTER-PACKET-FILTER`: incoming packets of this type are dropped unread,
    /// as if never received (-1, the default, drops none). A test's fault, kept here so the
    /// real node and the simulator drop at the same point.
    pub drop_packet_filter: i64,
    /// A fault point's hold (simulator only): a replica's election neither asks for votes nor
    /// claims the slots before this monotonic ms; 0 holds nothing.
    pub election_stall_until_ms: u64,
}

/// Redis's wording when a state-changing command is refused.
pub type CmdError = String;

impl ClusterState {
    /// A fresh node alone in its cluster, with a new random id.
    pub fn new(config: ClusterConfig, seed: u64) -> ClusterState {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let myself = NodeId::random(&mut rng);
        let mut me = ClusterNode::new(myself, MYSELF | MASTER, 0);
        me.port = config.port;
        me.cport = config.cport;
        me.pport = config.pport;
        if let Some(ip) = &config.announce_ip {
            me.ip = ip.clone();
        }
        me.hostname = config.announce_hostname.clone();
        let mut nodes = BTreeMap::new();
        nodes.insert(myself, me);
        ClusterState {
            myself,
            nodes,
            slots: vec![None; SLOT_COUNT],
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            state_ok: false,
            config,
            stats: BusStats::default(),
            received_publish: VecDeque::new(),
            repl_offset: 0,
            master_link_down_since_ms: 0,
            master_link_up: true,
            rng,
            outputs: VecDeque::new(),
            inbound: BTreeMap::new(),
            outbound: BTreeMap::new(),
            next_link: 1,
            election: Election::default(),
            manual: ManualFailover::default(),
            blacklist: BTreeMap::new(),
            ticks: 0,
            start_ms: None,
            among_minority_ms: 0,
            save_pending: false,
            drop_packet_filter: -1,
            election_stall_until_ms: 0,
        }
    }

    // ----- queries -------------------------------------------------------------------------

    /// The next output to perform, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.outputs.is_empty() && self.save_pending {
            self.save_pending = false;
            return Some(Output::SaveConfig);
        }
        self.outputs.pop_front()
    }

    /// True when outputs are waiting.
    pub fn has_output(&self) -> bool {
        !self.outputs.is_empty() || self.save_pending
    }

    pub fn me(&self) -> &ClusterNode {
        &self.nodes[&self.myself]
    }

    fn me_mut(&mut self) -> &mut ClusterNode {
        self.nodes
            .get_mut(&self.myself)
            .expect("myself is always in the node table")
    }

    /// The owner of a slot.
    pub fn slot_owner(&self, slot: u16) -> Option<&ClusterNode> {
        self.slots
            .get(slot as usize)
            .and_then(|o| o.as_ref())
            .and_then(|id| self.nodes.get(id))
    }

    /// The owner id of a slot.
    pub fn slot_owner_id(&self, slot: u16) -> Option<NodeId> {
        self.slots.get(slot as usize).copied().flatten()
    }

    /// True when this node is a master.
    pub fn is_master(&self) -> bool {
        self.me().is_master()
    }

    /// This node's master, if it is a replica.
    pub fn my_master(&self) -> Option<&ClusterNode> {
        self.me().master.and_then(|m| self.nodes.get(&m))
    }

    /// Masters that own at least one slot ("cluster size").
    pub fn size(&self) -> usize {
        self.nodes
            .values()
            .filter(|n| n.is_master() && n.numslots() > 0)
            .count()
    }

    /// The replicas of a master, sorted by id.
    pub fn replicas_of(&self, master: &NodeId) -> Vec<&ClusterNode> {
        self.nodes
            .values()
            .filter(|n| n.master.as_ref() == Some(master) && n.is_replica())
            .collect()
    }

    /// The IP this node announces (empty until learned).
    pub fn my_ip(&self) -> &str {
        &self.me().ip
    }

    /// The config epoch shown for a node: a replica shows its master's.
    pub fn shown_config_epoch(&self, n: &ClusterNode) -> u64 {
        if n.is_replica() {
            if let Some(m) = n.master.and_then(|m| self.nodes.get(&m)) {
                return m.config_epoch;
            }
        }
        n.config_epoch
    }

    /// Number of failure reports about a node.
    pub fn failure_report_count(&self, id: &NodeId) -> usize {
        self.nodes.get(id).map_or(0, |n| n.fail_reports.len())
    }

    /// Whether manual failover has paused writes on this master (CLUSTER FAILOVER).
    pub fn manual_failover_running(&self) -> bool {
        self.manual.end_ms != 0
    }

    fn push(&mut self, o: Output) {
        self.outputs.push_back(o);
    }

    pub(crate) fn event(&mut self, e: ClusterEvent) {
        self.outputs.push_back(Output::Event(e));
    }

    fn save(&mut self) {
        self.save_pending = true;
    }

    fn new_link(&mut self) -> LinkId {
        let l = LinkId(self.next_link);
        self.next_link += 1;
        l
    }

    // ----- slot bookkeeping ------------------------------------------------------------------

    /// Gives a slot to a node (removing it from its previous owner).
    pub(crate) fn set_slot(&mut self, slot: u16, owner: NodeId) {
        if let Some(prev) = self.slots[slot as usize] {
            if let Some(p) = self.nodes.get_mut(&prev) {
                p.slots.clear(slot);
            }
        }
        self.slots[slot as usize] = Some(owner);
        if let Some(n) = self.nodes.get_mut(&owner) {
            n.slots.set(slot);
        }
    }

    /// Unassigns a slot.
    pub(crate) fn del_slot(&mut self, slot: u16) -> bool {
        match self.slots[slot as usize].take() {
            Some(prev) => {
                if let Some(p) = self.nodes.get_mut(&prev) {
                    p.slots.clear(slot);
                }
                true
            }
            None => false,
        }
    }

    /// Unassigns every slot of a node.
    fn del_node_slots(&mut self, id: &NodeId) -> usize {
        let owned: Vec<u16> = match self.nodes.get(id) {
            Some(n) => n.slots.iter().collect(),
            None => return 0,
        };
        for s in &owned {
            self.del_slot(*s);
        }
        owned.len()
    }

    // ----- headers and messages --------------------------------------------------------------

    /// The header of a message from this node: a replica sends its master's slots and epoch.
    fn header(&self, kind: u16) -> Header {
        let me = self.me();
        let master = if me.is_replica() {
            me.master.and_then(|m| self.nodes.get(&m))
        } else {
            None
        };
        let (slots, config_epoch) = match master {
            Some(m) => (m.slots.clone(), m.config_epoch),
            None => (me.slots.clone(), me.config_epoch),
        };
        let mut h = Header::new(kind, self.myself);
        h.port = self.config.port;
        h.cport = self.config.cport;
        h.pport = self.config.pport;
        h.current_epoch = self.current_epoch;
        h.config_epoch = config_epoch;
        h.offset = self.repl_offset;
        h.myslots = slots;
        h.slaveof = if me.is_replica() { me.master } else { None };
        h.myip = self.config.announce_ip.clone().unwrap_or_default();
        h.flags = me.flags;
        h.state = if self.state_ok { 0 } else { 1 };
        if self.manual.end_ms != 0 && me.is_master() {
            h.mflags[0] |= wire::mflags::PAUSED;
        }
        h
    }

    fn encode(&mut self, header: Header, body: Body) -> Vec<u8> {
        *self.stats.sent.entry(header.kind).or_default() += 1;
        wire::encode(&Message { header, body })
    }

    /// A gossip entry describing a node.
    fn gossip_entry(&self, n: &ClusterNode, now_ms: u64, unix_ms: u64) -> GossipEntry {
        let to_unix_s = |mono: u64| -> u32 {
            if mono == 0 {
                0
            } else {
                (unix_ms.saturating_sub(now_ms.saturating_sub(mono)) / 1000) as u32
            }
        };
        GossipEntry {
            node: n.id,
            ping_sent_s: to_unix_s(n.ping_sent_ms),
            pong_received_s: to_unix_s(n.pong_received_ms),
            ip: n.ip.clone(),
            port: n.port,
            cport: n.cport,
            flags: n.flags,
            pport: n.pport,
        }
    }

    /// Builds a PING, PONG or MEET with Redis's gossip selection: about a tenth of the nodes at
    /// random (at least 3, at most N-2), skipping myself, handshake and no-address nodes and
    /// slotless disconnected ones, plus every PFAIL node.
    fn build_ping(&mut self, kind: u16, now_ms: u64, unix_ms: u64) -> Vec<u8> {
        let total = self.nodes.len();
        let fresh = total.saturating_sub(2);
        let wanted = (total / 10).max(3).min(fresh);
        let candidates: Vec<NodeId> = self.nodes.keys().copied().collect();
        let mut chosen: BTreeSet<NodeId> = BTreeSet::new();
        let mut order: Vec<NodeId> = Vec::new();
        let mut iterations = wanted * 3;
        while order.len() < wanted && iterations > 0 && !candidates.is_empty() {
            iterations -= 1;
            let id = candidates[self.rng.gen_range(0..candidates.len())];
            let n = &self.nodes[&id];
            if n.is_myself() || n.is_pfail() || n.in_handshake() || !n.has_addr() {
                continue;
            }
            if !n.link_up() && n.numslots() == 0 {
                continue;
            }
            if chosen.insert(id) {
                order.push(id);
            }
        }
        let pfail: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| {
                n.is_pfail() && !n.in_handshake() && n.has_addr() && !chosen.contains(&n.id)
            })
            .map(|n| n.id)
            .collect();
        order.extend(pfail);
        let gossip: Vec<GossipEntry> = order
            .iter()
            .map(|id| self.gossip_entry(&self.nodes[id], now_ms, unix_ms))
            .collect();
        let mut extensions = Vec::new();
        if let Some(h) = &self.config.announce_hostname {
            if !h.is_empty() {
                extensions.push(wire::Extension::Hostname(h.clone()));
            }
        }
        let header = self.header(kind);
        let body = match kind {
            wire::types::PONG => Body::Pong { gossip, extensions },
            wire::types::MEET => Body::Meet { gossip, extensions },
            _ => Body::Ping { gossip, extensions },
        };
        self.encode(header, body)
    }

    /// Sends a PING or MEET to a node over its outbound link.
    fn send_ping(&mut self, id: NodeId, kind: u16, now_ms: u64, unix_ms: u64) {
        let Some(link) = self.nodes.get(&id).and_then(|n| match n.link {
            LinkState::Up { link, .. } => Some(link),
            _ => None,
        }) else {
            return;
        };
        let msg = self.build_ping(kind, now_ms, unix_ms);
        if let Some(n) = self.nodes.get_mut(&id) {
            if n.ping_sent_ms == 0 && kind != wire::types::PONG {
                n.ping_sent_ms = now_ms;
            }
        }
        self.push(Output::Send { link, message: msg });
    }

    /// Sends an already encoded message to every node with an outbound link (not handshake).
    fn broadcast(&mut self, message: Vec<u8>) {
        let links: Vec<LinkId> = self
            .nodes
            .values()
            .filter(|n| !n.is_myself() && !n.in_handshake())
            .filter_map(|n| match n.link {
                LinkState::Up { link, .. } => Some(link),
                _ => None,
            })
            .collect();
        for link in links {
            self.push(Output::Send {
                link,
                message: message.clone(),
            });
        }
    }

    /// Sends a PUBLISH to every node (`shard` false), or a PUBLISHSHARD to the other nodes of
    /// my shard: my master (or me) and its replicas (Redis's clusterPropagatePublish /
    /// clusterPropagatePublishShard).
    pub fn publish(&mut self, channel: &bytes::Bytes, message: &bytes::Bytes, shard: bool) {
        let (kind, body) = if shard {
            (
                wire::types::PUBLISHSHARD,
                Body::PublishShard {
                    channel: channel.clone(),
                    message: message.clone(),
                },
            )
        } else {
            (
                wire::types::PUBLISH,
                Body::Publish {
                    channel: channel.clone(),
                    message: message.clone(),
                },
            )
        };
        let header = self.header(kind);
        let msg = self.encode(header, body);
        if !shard {
            self.broadcast(msg);
            return;
        }
        let master = if self.me().is_replica() {
            self.me().master
        } else {
            Some(self.myself)
        };
        let Some(master) = master else { return };
        let links: Vec<LinkId> = self
            .nodes
            .values()
            .filter(|n| !n.is_myself() && !n.in_handshake())
            .filter(|n| n.id == master || (n.is_replica() && n.master == Some(master)))
            .filter_map(|n| match n.link {
                LinkState::Up { link, .. } => Some(link),
                _ => None,
            })
            .collect();
        for link in links {
            self.push(Output::Send {
                link,
                message: msg.clone(),
            });
        }
    }

    /// PONG to every node at once (SETSLOT NODE after an import tells everybody early).
    pub(crate) fn broadcast_pong_all(&mut self, now_ms: u64, unix_ms: u64) {
        self.broadcast_pong(false, now_ms, unix_ms);
    }

    /// PONG to every node (after a promotion), or only to my master's other replicas.
    fn broadcast_pong(&mut self, only_siblings: bool, now_ms: u64, unix_ms: u64) {
        let my_master = self.me().master;
        let targets: Vec<(NodeId, LinkId)> = self
            .nodes
            .values()
            .filter(|n| !n.is_myself() && !n.in_handshake())
            .filter(|n| !only_siblings || (n.is_replica() && n.master == my_master))
            .filter_map(|n| match n.link {
                LinkState::Up { link, .. } => Some((n.id, link)),
                _ => None,
            })
            .collect();
        for (_, link) in targets {
            let msg = self.build_ping(wire::types::PONG, now_ms, unix_ms);
            self.push(Output::Send { link, message: msg });
        }
    }

    // ----- links -----------------------------------------------------------------------------

    /// A new inbound connection was accepted from `peer_ip`.
    pub fn on_inbound_link(&mut self, peer_ip: String) -> LinkId {
        let link = self.new_link();
        self.inbound.insert(
            link,
            Inbound {
                node: None,
                peer_ip,
            },
        );
        link
    }

    /// An outbound connection requested by `Output::Connect` is up: greet with MEET or PING.
    pub fn on_link_connected(&mut self, now_ms: u64, unix_ms: u64, link: LinkId) {
        let Some(id) = self.outbound.get(&link).copied() else {
            self.push(Output::Close { link });
            return;
        };
        let Some(n) = self.nodes.get_mut(&id) else {
            self.push(Output::Close { link });
            return;
        };
        n.link = LinkState::Up {
            link,
            since_ms: now_ms,
        };
        let meet = n.flags & MEET != 0;
        // Keep the time of a ping that was pending before the link broke: a node that keeps
        // dropping links must still reach PFAIL.
        let old_ping = n.ping_sent_ms;
        n.flags &= !MEET;
        self.event(ClusterEvent::LinkUp { node: id });
        let kind = if meet {
            wire::types::MEET
        } else {
            wire::types::PING
        };
        self.send_ping(id, kind, now_ms, unix_ms);
        if old_ping != 0 {
            if let Some(n) = self.nodes.get_mut(&id) {
                n.ping_sent_ms = old_ping;
            }
        }
    }

    /// A link closed (or a connect failed).
    pub fn on_link_closed(&mut self, link: LinkId) {
        if let Some(id) = self.outbound.remove(&link) {
            if let Some(n) = self.nodes.get_mut(&id) {
                let was_up = matches!(n.link, LinkState::Up { link: l, .. } if l == link);
                let mine = match n.link {
                    LinkState::Up { link: l, .. } | LinkState::Connecting { link: l, .. } => {
                        l == link
                    }
                    LinkState::Down => false,
                };
                if mine {
                    n.link = LinkState::Down;
                }
                if was_up {
                    self.event(ClusterEvent::LinkDown { node: id });
                }
            }
        }
        self.inbound.remove(&link);
    }

    /// Whether this replica has an election scheduled or running (what an election-stall fault
    /// point waits for).
    pub fn election_pending(&self) -> bool {
        self.election.auth_time_ms != 0
    }

    /// Nodes whose inbound link to us is open and identified (CLUSTER LINKS `from` entries).
    pub fn inbound_peers(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self.inbound.values().filter_map(|i| i.node).collect();
        out.sort();
        out.dedup();
        out
    }

    /// `DEBUG CLUSTERLINK KILL`: frees the chosen links with `id` (Redis frees them the same
    /// way a broken connection is freed: the next tick reconnects ours, the peer reconnects
    /// its own). Returns false when the node is unknown.
    pub fn kill_links(&mut self, id: &NodeId, direction: LinkDirection) -> bool {
        let Some(n) = self.nodes.get(id) else {
            return false;
        };
        if direction != LinkDirection::From {
            if matches!(n.link, LinkState::Up { .. }) {
                self.event(ClusterEvent::LinkDown { node: *id });
            }
            self.free_outbound_link(id);
        }
        if direction != LinkDirection::To {
            let links: Vec<LinkId> = self
                .inbound
                .iter()
                .filter(|(_, i)| i.node == Some(*id))
                .map(|(l, _)| *l)
                .collect();
            for link in links {
                self.inbound.remove(&link);
                self.push(Output::Close { link });
            }
        }
        true
    }

    fn free_outbound_link(&mut self, id: &NodeId) {
        if let Some(n) = self.nodes.get_mut(id) {
            let link = match n.link {
                LinkState::Up { link, .. } | LinkState::Connecting { link, .. } => Some(link),
                LinkState::Down => None,
            };
            n.link = LinkState::Down;
            if let Some(link) = link {
                self.outbound.remove(&link);
                self.push(Output::Close { link });
            }
        }
    }

    // ----- messages --------------------------------------------------------------------------

    /// Handles one raw bus message that arrived on `link`. `local_ip` is our address on that
    /// socket (to learn our own IP from MEET, as Redis does).
    pub fn on_message(
        &mut self,
        now_ms: u64,
        unix_ms: u64,
        link: LinkId,
        local_ip: &str,
        bytes: &[u8],
    ) {
        match wire::decode(bytes) {
            Ok(msg) => self.process(now_ms, unix_ms, link, local_ip, msg),
            Err(e) => self.on_malformed(link, &e),
        }
    }

    /// A peer that sends what does not decode (or a frame whose declared length its type
    /// cannot have) is broken or hostile: count the message in `dropped` and close the link
    /// (the next tick reconnects if it is ours).
    pub fn on_malformed(&mut self, link: LinkId, error: &wire::WireError) {
        self.stats.dropped += 1;
        self.event(ClusterEvent::MessageDropped {
            reason: error.to_string(),
        });
        self.push(Output::Close { link });
        self.on_link_closed(link);
    }

    /// Why a packet from `sender` carrying `current_epoch` is older than what we know of it,
    /// or None when it is not. A node's currentEpoch never goes down, and a master's is at
    /// least its configEpoch, so a packet below either was sent before news we already have:
    /// for example a replica's pings queued on a connection that stalled in a partition and
    /// delivered after the partition healed, saying it is still a replica of the master it
    /// has since replaced.
    ///
    /// A packet that says its sender replicates a master of configEpoch `replica_of_epoch`,
    /// from a sender we know owns slots at a higher configEpoch, is old too: a master that
    /// owns slots becomes a replica only of a node that took them with a higher configEpoch
    /// (its replica's failover, or a newer claim), so the packet was sent before it was
    /// promoted (during its election, its currentEpoch already the new one) and overtook
    /// nothing but arrived late on the other link.
    fn stale_reason(
        &self,
        sender: NodeId,
        current_epoch: u64,
        replica_of_epoch: Option<u64>,
    ) -> Option<String> {
        let n = self.nodes.get(&sender)?;
        if let Some(e) = replica_of_epoch {
            if n.is_master() && n.numslots() > 0 && e < n.config_epoch {
                return Some(format!(
                    "stale packet from {}: a replica of a configEpoch {} master, but it owns slots at configEpoch {}",
                    &sender.as_str()[..8],
                    e,
                    n.config_epoch
                ));
            }
        }
        if current_epoch < n.current_epoch_seen {
            return Some(format!(
                "stale packet from {}: currentEpoch {} after {}",
                &sender.as_str()[..8],
                current_epoch,
                n.current_epoch_seen
            ));
        }
        if n.is_master() && current_epoch < n.config_epoch {
            return Some(format!(
                "stale packet from {}: currentEpoch {} below its configEpoch {}",
                &sender.as_str()[..8],
                current_epoch,
                n.config_epoch
            ));
        }
        None
    }

    /// Handles one decoded message.
    pub fn process(
        &mut self,
        now_ms: u64,
        unix_ms: u64,
        link: LinkId,
        local_ip: &str,
        msg: Message,
    ) {
        let h = &msg.header;
        let kind = h.kind;
        *self.stats.received.entry(kind).or_default() += 1;
        if i64::from(kind) == self.drop_packet_filter {
            // As Redis: counted as received, then dropped before it tells us anything (not
            // even that the sender is alive).
            self.stats.debug_filtered += 1;
            return;
        }
        let sender_id = h.sender;
        let sender_known = self
            .nodes
            .get(&sender_id)
            .map(|n| !n.in_handshake() && !n.is_myself())
            .unwrap_or(false);
        let sender = if sender_known { Some(sender_id) } else { None };
        let outbound_node = self.outbound.get(&link).copied();
        let link_node = outbound_node.or_else(|| self.inbound.get(&link).and_then(|i| i.node));
        if let Some(n) = link_node.and_then(|id| self.nodes.get_mut(&id)) {
            n.data_received_ms = now_ms;
        }
        let claims_replica_of = h.slaveof.map(|_| h.config_epoch);
        if let Some(why) =
            sender.and_then(|s| self.stale_reason(s, h.current_epoch, claims_replica_of))
        {
            crate::mark!("stale packet dropped");
            // Old news: acting on it would undo what we learned since. It still shows the
            // peer alive, and a PONG on our own link still answers our PING (a pong sent just
            // before the peer's epoch moved can be overtaken by a ping on the other link).
            if kind == wire::types::PONG && outbound_node == sender {
                if let Some(n) = sender.and_then(|s| self.nodes.get_mut(&s)) {
                    n.pong_received_ms = now_ms;
                    n.ping_sent_ms = 0;
                }
            }
            self.stats.stale += 1;
            self.event(ClusterEvent::MessageDropped { reason: why });
            return;
        }

        if let Some(s) = sender {
            if let Some(n) = self.nodes.get_mut(&s) {
                n.current_epoch_seen = n.current_epoch_seen.max(h.current_epoch);
            }
            // Remember which node an inbound link belongs to.
            if let Some(i) = self.inbound.get_mut(&link) {
                if i.node.is_none() {
                    i.node = Some(s);
                }
            }
            // The planted bug takes a lower epoch too, though never below our own configEpoch
            // (below it our packets would be dropped as stale and the cluster would not form).
            let adopted = if self.config.planted.has(Planted::EpochRegress) {
                h.current_epoch.max(self.me().config_epoch)
            } else {
                h.current_epoch.max(self.current_epoch)
            };
            if adopted != self.current_epoch {
                self.current_epoch = adopted;
                self.event(ClusterEvent::CurrentEpoch {
                    epoch: self.current_epoch,
                });
                self.save();
            }
            let n = self.nodes.get_mut(&s).expect("sender is known");
            if h.config_epoch > n.config_epoch {
                n.config_epoch = h.config_epoch;
                self.save();
            }
            let n = self.nodes.get_mut(&s).expect("sender is known");
            n.repl_offset = h.offset;
            n.data_received_ms = now_ms;
            // Manual failover, replica side: the master paused and told us its offset.
            if self.manual.end_ms != 0
                && self.me().master == Some(s)
                && h.mflags[0] & wire::mflags::PAUSED != 0
                && self.manual.master_offset.is_none()
            {
                self.manual.master_offset = Some(h.offset);
            }
        }

        match kind {
            wire::types::PING | wire::types::MEET | wire::types::PONG => {
                self.process_ping_like(now_ms, unix_ms, link, local_ip, sender, &msg)
            }
            wire::types::FAIL => {
                if let (Some(_), Body::Fail { node }) = (sender, &msg.body) {
                    self.apply_fail_message(now_ms, *node);
                }
            }
            wire::types::UPDATE => {
                if let (
                    Some(_),
                    Body::Update {
                        config_epoch,
                        node,
                        slots,
                    },
                ) = (sender, &msg.body)
                {
                    self.apply_update(now_ms, *node, *config_epoch, slots.clone());
                }
            }
            wire::types::FAILOVER_AUTH_REQUEST => {
                if let Some(s) = sender {
                    self.handle_vote_request(now_ms, s, &msg.header);
                }
            }
            wire::types::FAILOVER_AUTH_ACK => {
                if let Some(s) = sender {
                    self.handle_vote(now_ms, unix_ms, s, msg.header.current_epoch);
                }
            }
            wire::types::MFSTART => {
                if let Some(s) = sender {
                    self.handle_mfstart(now_ms, unix_ms, s);
                }
            }
            wire::types::PUBLISH | wire::types::PUBLISHSHARD => {
                // Delivered by the driver to local subscribers; from unknown nodes ignored,
                // as Redis does.
                match &msg.body {
                    Body::Publish { channel, message } if sender.is_some() => self
                        .received_publish
                        .push_back((false, channel.clone(), message.clone())),
                    Body::PublishShard { channel, message } if sender.is_some() => self
                        .received_publish
                        .push_back((true, channel.clone(), message.clone())),
                    _ => {}
                }
            }
            _ => {
                // MODULE: not handled by the state machine.
            }
        }
        self.update_state(now_ms);
    }

    fn process_ping_like(
        &mut self,
        now_ms: u64,
        unix_ms: u64,
        link: LinkId,
        local_ip: &str,
        sender: Option<NodeId>,
        msg: &Message,
    ) {
        let h = &msg.header;
        let kind = h.kind;
        if kind == wire::types::PING || kind == wire::types::MEET {
            // Learn our own IP from the socket, as Redis does, unless it is announced.
            if (kind == wire::types::MEET || self.me().ip.is_empty())
                && self.config.announce_ip.is_none()
                && !local_ip.is_empty()
                && self.me().ip != local_ip
            {
                self.me_mut().ip = local_ip.to_string();
                self.save();
            }
            if sender.is_none() && kind == wire::types::MEET {
                let peer_ip = self
                    .inbound
                    .get(&link)
                    .map(|i| i.peer_ip.clone())
                    .unwrap_or_default();
                let ip = if h.myip.is_empty() {
                    peer_ip
                } else {
                    h.myip.clone()
                };
                let id = NodeId::random(&mut self.rng);
                let mut n = ClusterNode::new(id, HANDSHAKE, now_ms);
                n.ip = ip;
                n.port = h.port;
                n.cport = h.cport;
                n.pport = h.pport;
                self.nodes.insert(id, n);
                self.event(ClusterEvent::NodeAdded {
                    node: id,
                    via: "MEET received",
                });
                self.save();
                self.process_gossip(now_ms, unix_ms, None, msg);
            }
            // Anyway, answer with a PONG on the same link.
            let pong = self.build_ping(wire::types::PONG, now_ms, unix_ms);
            self.push(Output::Send {
                link,
                message: pong,
            });
        }

        let outbound_node = self.outbound.get(&link).copied();
        if let (Some(target), true) = (outbound_node, kind == wire::types::PONG) {
            let in_handshake = self
                .nodes
                .get(&target)
                .map(|n| n.in_handshake())
                .unwrap_or(false);
            if in_handshake {
                if sender.is_some() || self.nodes.contains_key(&h.sender) {
                    // We already know this node under its real name: drop the handshake one.
                    self.remove_node(&target, "duplicate handshake");
                    return;
                }
                self.rename_node(&target, h.sender, link);
                if let Some(n) = self.nodes.get_mut(&h.sender) {
                    n.flags &= !HANDSHAKE;
                    n.flags |= h.flags & (MASTER | SLAVE);
                }
                self.event(ClusterEvent::HandshakeDone { node: h.sender });
                self.save();
            } else if target != h.sender {
                // The address now answers with another id: the node we knew there is gone.
                if let Some(n) = self.nodes.get_mut(&target) {
                    n.flags |= NOADDR;
                    n.ip.clear();
                    n.port = 0;
                    n.cport = 0;
                }
                self.free_outbound_link(&target);
                self.save();
                return;
            }
        }
        // Handshake completion may have made the sender known.
        let sender = sender.or_else(|| {
            self.nodes
                .get(&h.sender)
                .filter(|n| !n.in_handshake() && !n.is_myself())
                .map(|n| n.id)
        });

        if let Some(s) = sender {
            if let Some(n) = self.nodes.get_mut(&s) {
                n.flags = (n.flags & !NOFAILOVER) | (h.flags & NOFAILOVER);
            }
            // A PING on an inbound link tells us the sender's current address.
            if kind == wire::types::PING {
                self.update_address_if_needed(&s, link, h);
            }
        }

        // Re-read the link's node: completing a handshake above renamed it.
        let outbound_node = self.outbound.get(&link).copied();
        if let (Some(target), true) = (outbound_node, kind == wire::types::PONG) {
            if let Some(n) = self.nodes.get_mut(&target) {
                n.pong_received_ms = now_ms;
                n.ping_sent_ms = 0;
            }
            let (pfail, failed) = self
                .nodes
                .get(&target)
                .map(|n| (n.is_pfail(), n.is_failed()))
                .unwrap_or((false, false));
            if pfail {
                if let Some(n) = self.nodes.get_mut(&target) {
                    n.flags &= !PFAIL;
                }
                self.save();
            } else if failed {
                self.clear_failure_if_needed(now_ms, &target);
            }
        }

        let Some(s) = sender else {
            return;
        };
        // Role switch.
        match h.slaveof {
            None => self.set_node_as_master(&s),
            Some(master_id) => {
                let was_master = self.nodes.get(&s).map(|n| n.is_master()).unwrap_or(false);
                if was_master {
                    self.del_node_slots(&s);
                    if let Some(n) = self.nodes.get_mut(&s) {
                        n.flags &= !(MASTER | MIGRATE_TO);
                        n.flags |= SLAVE;
                    }
                    self.save();
                }
                if self.nodes.contains_key(&master_id) {
                    let n = self.nodes.get_mut(&s).expect("sender is known");
                    if n.master != Some(master_id) {
                        n.master = Some(master_id);
                        // clusterNodeAddSlave: a master that has had replicas is a migration
                        // target once orphaned.
                        if let Some(m) = self.nodes.get_mut(&master_id) {
                            m.flags |= MIGRATE_TO;
                        }
                        self.save();
                    }
                }
            }
        }

        // Slots.
        let sender_is_master = self.nodes.get(&s).map(|n| n.is_master()).unwrap_or(false);
        let sender_master = if sender_is_master {
            Some(s)
        } else {
            self.nodes.get(&s).and_then(|n| n.master)
        };
        let dirty = sender_master
            .and_then(|m| self.nodes.get(&m))
            .map(|m| m.slots != h.myslots)
            .unwrap_or(false);
        if sender_is_master && dirty {
            self.update_slots_with(now_ms, unix_ms, s, h.config_epoch, &h.myslots);
        }
        if dirty {
            // The sender claims a slot we know has a newer owner: tell it with an UPDATE.
            for slot in h.myslots.iter() {
                let Some(owner) = self.slot_owner_id(slot) else {
                    continue;
                };
                if owner == s {
                    continue;
                }
                let owner_epoch = self.nodes.get(&owner).map(|n| n.config_epoch).unwrap_or(0);
                if owner_epoch > h.config_epoch {
                    crate::mark!("UPDATE sent for a stale slot claim");
                    self.send_update(&s, &owner);
                    break;
                }
            }
        }
        if sender_is_master && self.is_master() && h.config_epoch == self.me().config_epoch {
            self.handle_epoch_collision(&s);
        }
        self.process_gossip(now_ms, unix_ms, Some(s), msg);
        self.process_ping_extensions(&s, msg);
    }

    /// Applies a known sender's ping extensions, as Redis 7.0's clusterProcessPingExt does: the
    /// hostname extension sets the hostname CLUSTER NODES / SLOTS / SHARDS print for the sender,
    /// and a PING, PONG or MEET without one means the sender announces no hostname (so a node
    /// that drops `cluster-announce-hostname` stops being shown with its old one). Without
    /// this, a keyslot node printed no hostname for any peer while redis-server printed them.
    /// The 7.2 extensions (human nodename, forgotten node, shard id) decode but are not acted
    /// on: 7.0 peers never send them.
    fn process_ping_extensions(&mut self, sender: &NodeId, msg: &Message) {
        let extensions = match &msg.body {
            Body::Ping { extensions, .. }
            | Body::Pong { extensions, .. }
            | Body::Meet { extensions, .. } => extensions,
            _ => return,
        };
        // The last hostname extension wins, as in Redis's loop over the extensions.
        let hostname = extensions
            .iter()
            .rev()
            .find_map(|e| match e {
                wire::Extension::Hostname(h) if !h.is_empty() => Some(Some(h.clone())),
                wire::Extension::Hostname(_) => Some(None),
                _ => None,
            })
            .flatten();
        let Some(n) = self.nodes.get_mut(sender) else {
            return;
        };
        if n.is_myself() || n.hostname == hostname {
            return;
        }
        n.hostname = hostname;
        self.save();
    }

    fn update_address_if_needed(&mut self, id: &NodeId, link: LinkId, h: &Header) {
        let Some(inb) = self.inbound.get(&link) else {
            return;
        };
        if inb.node != Some(*id) {
            return;
        }
        let ip = if h.myip.is_empty() {
            inb.peer_ip.clone()
        } else {
            h.myip.clone()
        };
        if ip.is_empty() {
            return;
        }
        let changed = match self.nodes.get(id) {
            // pport too, as Redis's nodeUpdateAddressIfNeeded: a node met through its TLS port
            // learns its plaintext one here.
            Some(n) => n.ip != ip || n.port != h.port || n.cport != h.cport || n.pport != h.pport,
            None => false,
        };
        if changed {
            if let Some(n) = self.nodes.get_mut(id) {
                n.ip = ip;
                n.port = h.port;
                n.cport = h.cport;
                n.pport = h.pport;
                n.flags &= !NOADDR;
            }
            self.free_outbound_link(id);
            self.save();
        }
    }

    fn rename_node(&mut self, old: &NodeId, new: NodeId, link: LinkId) {
        if let Some(mut n) = self.nodes.remove(old) {
            n.id = new;
            self.nodes.insert(new, n);
            self.outbound.insert(link, new);
            for s in self.slots.iter_mut() {
                if *s == Some(*old) {
                    *s = Some(new);
                }
            }
        }
    }

    /// Removes a node and everything that refers to it.
    fn remove_node(&mut self, id: &NodeId, reason: &'static str) {
        self.free_outbound_link(id);
        self.del_node_slots(id);
        self.nodes.remove(id);
        for n in self.nodes.values_mut() {
            n.fail_reports.remove(id);
            if n.master == Some(*id) {
                n.master = None;
            }
        }
        for i in self.inbound.values_mut() {
            if i.node == Some(*id) {
                i.node = None;
            }
        }
        self.migrating.retain(|_, n| n != id);
        self.importing.retain(|_, n| n != id);
        self.event(ClusterEvent::NodeRemoved { node: *id, reason });
        self.save();
    }

    fn set_node_as_master(&mut self, id: &NodeId) {
        let myself = self.myself;
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        if n.is_master() {
            return;
        }
        n.master = None;
        n.flags &= !SLAVE;
        n.flags |= MASTER;
        if *id != myself {
            n.flags |= MIGRATE_TO;
        }
        self.save();
    }

    fn process_gossip(&mut self, now_ms: u64, unix_ms: u64, sender: Option<NodeId>, msg: &Message) {
        let gossip = match &msg.body {
            Body::Ping { gossip, .. } | Body::Pong { gossip, .. } | Body::Meet { gossip, .. } => {
                gossip
            }
            _ => return,
        };
        let sender_is_master = sender
            .and_then(|s| self.nodes.get(&s))
            .map(|n| n.is_master())
            .unwrap_or(false);
        let timeout = self.config.node_timeout_ms;
        for g in gossip {
            if g.node == self.myself {
                continue;
            }
            if self.nodes.contains_key(&g.node) {
                let id = g.node;
                if let Some(s) = sender.filter(|_| sender_is_master) {
                    if g.flags & (FAIL | PFAIL) != 0 {
                        let n = self.nodes.get_mut(&id).expect("known");
                        n.fail_reports.insert(s, now_ms);
                        self.mark_failing_if_needed(now_ms, unix_ms, &id);
                    } else if let Some(n) = self.nodes.get_mut(&id) {
                        n.fail_reports.remove(&s);
                    }
                }
                // Adopt a fresher pong time when we have no better knowledge.
                let n = self.nodes.get_mut(&id).expect("known");
                if g.flags & (FAIL | PFAIL) == 0
                    && n.ping_sent_ms == 0
                    && n.fail_reports.is_empty()
                    && g.pong_received_s != 0
                {
                    let pong_unix_ms = g.pong_received_s as u64 * 1000;
                    if pong_unix_ms <= unix_ms + 500 {
                        let pong_mono = now_ms.saturating_sub(unix_ms.saturating_sub(pong_unix_ms));
                        if pong_mono > n.pong_received_ms {
                            n.pong_received_ms = pong_mono;
                        }
                    }
                }
                // A node we cannot reach that gossip says lives elsewhere now.
                let n = self.nodes.get(&id).expect("known");
                if n.flags & (FAIL | PFAIL) != 0
                    && !n.link_up()
                    && g.flags & NOADDR == 0
                    && (n.ip != g.ip || n.port != g.port || n.cport != g.cport)
                    && !g.ip.is_empty()
                {
                    let n = self.nodes.get_mut(&id).expect("known");
                    n.ip = g.ip.clone();
                    n.port = g.port;
                    n.cport = g.cport;
                    n.pport = g.pport;
                    n.flags &= !NOADDR;
                    self.free_outbound_link(&id);
                }
                let _ = timeout;
            } else if sender.is_some()
                && g.flags & NOADDR == 0
                && !g.ip.is_empty()
                && !self.blacklisted(&g.node, now_ms)
            {
                let mut n =
                    ClusterNode::new(g.node, g.flags & (MASTER | SLAVE | NOFAILOVER), now_ms);
                n.ip = g.ip.clone();
                n.port = g.port;
                n.cport = g.cport;
                n.pport = g.pport;
                if n.flags & (MASTER | SLAVE) == 0 {
                    n.flags |= MASTER;
                }
                self.nodes.insert(g.node, n);
                self.event(ClusterEvent::NodeAdded {
                    node: g.node,
                    via: "gossip",
                });
                self.save();
            }
        }
    }

    fn blacklisted(&mut self, id: &NodeId, now_ms: u64) -> bool {
        self.blacklist.retain(|_, expire| *expire > now_ms);
        self.blacklist.contains_key(id)
    }

    fn send_update(&mut self, to: &NodeId, about: &NodeId) {
        let Some(link) = self.nodes.get(to).and_then(|n| match n.link {
            LinkState::Up { link, .. } => Some(link),
            _ => None,
        }) else {
            return;
        };
        let Some(a) = self.nodes.get(about) else {
            return;
        };
        let body = Body::Update {
            config_epoch: a.config_epoch,
            node: a.id,
            slots: a.slots.clone(),
        };
        let header = self.header(wire::types::UPDATE);
        let message = self.encode(header, body);
        self.push(Output::Send { link, message });
    }

    /// Redis's clusterUpdateSlotsConfigWith: adopt the slots `sender` claims with
    /// `config_epoch` where its claim beats what we know.
    fn update_slots_with(
        &mut self,
        now_ms: u64,
        unix_ms: u64,
        sender: NodeId,
        config_epoch: u64,
        claimed: &SlotBitmap,
    ) {
        if sender == self.myself {
            return;
        }
        let cur_master = if self.is_master() {
            Some(self.myself)
        } else {
            self.me().master
        };
        let mut new_master = None;
        let mut dirty: Vec<u16> = Vec::new();
        let mut changed: Vec<u16> = Vec::new();
        for slot in claimed.iter() {
            let owner = self.slot_owner_id(slot);
            if owner == Some(sender) || self.importing.contains_key(&slot) {
                continue;
            }
            let owner_epoch = owner
                .and_then(|o| self.nodes.get(&o))
                .map(|n| n.config_epoch)
                .unwrap_or(0);
            let newer =
                owner_epoch < config_epoch || self.config.planted.has(Planted::AcceptLowerEpoch);
            if owner.is_none() || newer {
                if owner == Some(self.myself) {
                    dirty.push(slot);
                }
                if owner.is_some() && owner == cur_master {
                    new_master = Some(sender);
                }
                self.set_slot(slot, sender);
                changed.push(slot);
            }
        }
        if changed.is_empty() {
            return;
        }
        self.emit_slot_ranges(sender, &changed);
        self.save();
        let cur_master_empty = cur_master
            .and_then(|m| self.nodes.get(&m))
            .map(|m| m.numslots() == 0)
            .unwrap_or(false);
        if let Some(nm) = new_master {
            if cur_master_empty && (self.config.allow_replica_migration || !self.is_master()) {
                crate::mark!("replica follows the new owner of its master's slots");
                self.set_my_master(now_ms, unix_ms, nm);
                return;
            }
        }
        if !dirty.is_empty() {
            crate::mark!("slots lost to a newer claim");
            self.event(ClusterEvent::SlotsLost { count: dirty.len() });
            self.push(Output::DropSlotKeys { slots: dirty });
        }
    }

    fn emit_slot_ranges(&mut self, owner: NodeId, slots: &[u16]) {
        let bitmap: SlotBitmap = slots.iter().copied().collect();
        for (start, end) in bitmap.ranges() {
            self.event(ClusterEvent::SlotsChanged { owner, start, end });
        }
    }

    fn handle_epoch_collision(&mut self, sender: &NodeId) {
        // The node with the smaller id takes a new epoch; the other does nothing.
        if sender.0 <= self.myself.0 {
            return;
        }
        crate::mark!("configEpoch collision resolved");
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        self.me_mut().config_epoch = epoch;
        self.event(ClusterEvent::EpochCollision { epoch });
        self.save();
    }

    fn apply_fail_message(&mut self, now_ms: u64, failing: NodeId) {
        let Some(n) = self.nodes.get_mut(&failing) else {
            return;
        };
        if n.is_failed() || n.is_myself() {
            return;
        }
        n.flags |= FAIL;
        n.flags &= !PFAIL;
        n.fail_time_ms = now_ms;
        crate::mark!("FAIL learned from a FAIL message");
        self.event(ClusterEvent::Fail {
            node: failing,
            reports: 0,
            by_message: true,
            quorum: 0,
        });
        self.save();
    }

    fn apply_update(&mut self, now_ms: u64, id: NodeId, config_epoch: u64, slots: SlotBitmap) {
        let Some(n) = self.nodes.get(&id) else {
            return;
        };
        if n.config_epoch >= config_epoch {
            return;
        }
        if n.is_replica() {
            self.set_node_as_master(&id);
        }
        if let Some(n) = self.nodes.get_mut(&id) {
            n.config_epoch = config_epoch;
        }
        crate::mark!("UPDATE applied");
        self.event(ClusterEvent::UpdateApplied {
            node: id,
            epoch: config_epoch,
        });
        // UPDATE carries no wall-clock fields; the unix time only matters for gossip.
        self.update_slots_with(now_ms, 0, id, config_epoch, &slots);
    }

    // ----- failure detection -----------------------------------------------------------------

    fn mark_failing_if_needed(&mut self, now_ms: u64, unix_ms: u64, id: &NodeId) {
        let quorum = self.size() / 2 + 1;
        let validity = self.config.node_timeout_ms * FAIL_REPORT_VALIDITY_MULT;
        let i_am_master = self.is_master();
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        if !n.is_pfail() || n.is_failed() {
            return;
        }
        let reports_before = n.fail_reports.len();
        n.fail_reports
            .retain(|_, t| now_ms.saturating_sub(*t) <= validity);
        if n.fail_reports.len() < reports_before {
            crate::mark!("failure report expired");
        }
        let mut failures = n.fail_reports.len();
        if i_am_master {
            failures += 1;
        }
        let rule_quorum = quorum;
        let quorum = if self.config.planted.has(Planted::FailWithoutQuorum) {
            1
        } else {
            quorum
        };
        if failures < quorum {
            return;
        }
        n.flags &= !PFAIL;
        n.flags |= FAIL;
        n.fail_time_ms = now_ms;
        crate::mark!("FAIL set by quorum of reports");
        self.event(ClusterEvent::Fail {
            node: *id,
            reports: failures,
            by_message: false,
            quorum: rule_quorum,
        });
        let header = self.header(wire::types::FAIL);
        let msg = self.encode(header, Body::Fail { node: *id });
        self.broadcast(msg);
        let _ = unix_ms;
        self.update_state(now_ms);
        self.save();
    }

    fn clear_failure_if_needed(&mut self, now_ms: u64, id: &NodeId) {
        let undo = self.config.node_timeout_ms * FAIL_UNDO_TIME_MULT;
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        if !n.is_failed() {
            return;
        }
        let clear =
            n.is_replica() || n.numslots() == 0 || now_ms.saturating_sub(n.fail_time_ms) > undo;
        if clear {
            crate::mark!("FAIL cleared (node reachable again)");
            n.flags &= !FAIL;
            self.event(ClusterEvent::FailCleared { node: *id });
            self.save();
        }
    }

    // ----- cluster state ---------------------------------------------------------------------

    /// Redis's clusterUpdateState: ok when every slot is served by a reachable master (with
    /// full coverage required) and a majority of slot-owning masters is reachable.
    pub fn update_state(&mut self, now_ms: u64) {
        let start = *self.start_ms.get_or_insert(now_ms);
        if self.is_master() && !self.state_ok && now_ms.saturating_sub(start) < WRITABLE_DELAY_MS {
            return;
        }
        let mut ok = true;
        if self.config.require_full_coverage {
            // Every slot sits in exactly one node's bitmap (set_slot keeps them exclusive), so
            // the slots served by non-failed nodes add up to 16384 exactly when all are covered.
            let served: usize = self
                .nodes
                .values()
                .filter(|n| !n.is_failed())
                .map(|n| n.numslots())
                .sum();
            if served != SLOT_COUNT {
                ok = false;
            }
        }
        let size = self.size();
        let reachable = self
            .nodes
            .values()
            .filter(|n| n.is_master() && n.numslots() > 0 && n.flags & (FAIL | PFAIL) == 0)
            .count();
        if reachable < size / 2 + 1 {
            ok = false;
            self.among_minority_ms = now_ms;
        }
        if ok != self.state_ok {
            let rejoin_delay = self.config.node_timeout_ms.clamp(500, 5000);
            if ok
                && self.is_master()
                && self.among_minority_ms != 0
                && now_ms.saturating_sub(self.among_minority_ms) < rejoin_delay
            {
                return;
            }
            self.state_ok = ok;
            self.event(ClusterEvent::StateChanged { ok });
        }
    }

    // ----- the tick --------------------------------------------------------------------------

    /// Redis's clusterCron, every 100 ms.
    pub fn on_tick(&mut self, now_ms: u64, unix_ms: u64) {
        self.ticks += 1;
        let timeout = self.config.node_timeout_ms;
        let handshake_timeout = timeout.max(1000);

        // Handshake expiry and (re)connection.
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in &ids {
            let Some(n) = self.nodes.get(id) else {
                continue;
            };
            if n.is_myself() || !n.has_addr() {
                continue;
            }
            if n.in_handshake() && now_ms.saturating_sub(n.ctime_ms) > handshake_timeout {
                self.remove_node(id, "handshake timeout");
                continue;
            }
            if n.link == LinkState::Down && !n.ip.is_empty() && n.cport != 0 {
                let (ip, cport) = (n.ip.clone(), n.cport);
                let link = self.new_link();
                self.outbound.insert(link, *id);
                if let Some(n) = self.nodes.get_mut(id) {
                    n.link = LinkState::Connecting {
                        link,
                        since_ms: now_ms,
                    };
                    // A node we cannot even connect to must still time out.
                    if n.ping_sent_ms == 0 {
                        n.ping_sent_ms = now_ms;
                    }
                }
                self.push(Output::Connect { link, ip, cport });
            } else if let LinkState::Connecting { since_ms, link } = n.link {
                // A connect that never answers counts as a failed one after node-timeout.
                if now_ms.saturating_sub(since_ms) > timeout {
                    self.outbound.remove(&link);
                    self.push(Output::Close { link });
                    if let Some(n) = self.nodes.get_mut(id) {
                        n.link = LinkState::Down;
                    }
                }
            }
        }

        // Every second: ping the node with the oldest pong among five random ones.
        if self.ticks.is_multiple_of(RANDOM_PING_EVERY_TICKS) && self.nodes.len() > 1 {
            let candidates: Vec<NodeId> = self.nodes.keys().copied().collect();
            let mut best: Option<(NodeId, u64)> = None;
            for _ in 0..5 {
                let id = candidates[self.rng.gen_range(0..candidates.len())];
                let n = &self.nodes[&id];
                if n.is_myself()
                    || n.in_handshake()
                    || n.ping_sent_ms != 0
                    || !matches!(n.link, LinkState::Up { .. })
                {
                    continue;
                }
                if best.map(|(_, p)| n.pong_received_ms < p).unwrap_or(true) {
                    best = Some((id, n.pong_received_ms));
                }
            }
            if let Some((id, _)) = best {
                self.send_ping(id, wire::types::PING, now_ms, unix_ms);
            }
        }

        // Per node: drop stale links, ping half-timeout nodes, detect PFAIL, orphaned masters.
        let mut orphaned_masters = 0;
        let mut max_replicas = 0;
        let mut my_ok_siblings = 0;
        let my_master = self.me().master;
        for id in &ids {
            let Some(n) = self.nodes.get(id) else {
                continue;
            };
            if n.is_myself() || !n.has_addr() || n.in_handshake() {
                continue;
            }
            if n.is_master() {
                let ok_replicas = self
                    .replicas_of(id)
                    .iter()
                    .filter(|r| r.flags & (FAIL | PFAIL) == 0)
                    .count();
                if ok_replicas == 0 && n.numslots() > 0 && n.flags & MIGRATE_TO != 0 {
                    orphaned_masters += 1;
                }
                max_replicas = max_replicas.max(ok_replicas);
                if Some(*id) == my_master {
                    my_ok_siblings = ok_replicas;
                }
            }
            let ping_delay = if n.ping_sent_ms != 0 {
                now_ms.saturating_sub(n.ping_sent_ms)
            } else {
                0
            };
            let data_delay = now_ms.saturating_sub(n.data_received_ms);
            if let LinkState::Up { since_ms, .. } = n.link {
                if now_ms.saturating_sub(since_ms) > timeout
                    && n.ping_sent_ms != 0
                    && ping_delay > timeout / 2
                    && data_delay > timeout / 2
                {
                    self.free_outbound_link(id);
                }
            }
            let n = &self.nodes[id];
            if matches!(n.link, LinkState::Up { .. })
                && n.ping_sent_ms == 0
                && now_ms.saturating_sub(n.pong_received_ms) > timeout / 2
            {
                self.send_ping(*id, wire::types::PING, now_ms, unix_ms);
                continue;
            }
            // Manual failover, master side: keep pinging the replica doing it.
            if self.manual.end_ms != 0
                && self.is_master()
                && self.manual.replica == Some(*id)
                && matches!(n.link, LinkState::Up { .. })
            {
                self.send_ping(*id, wire::types::PING, now_ms, unix_ms);
                continue;
            }
            let n = &self.nodes[id];
            if n.ping_sent_ms == 0 {
                continue;
            }
            let node_delay = ping_delay.min(data_delay);
            if node_delay > timeout && n.flags & (PFAIL | FAIL) == 0 {
                let n = self.nodes.get_mut(id).expect("known");
                n.flags |= PFAIL;
                self.event(ClusterEvent::PFail { node: *id });
            }
        }
        let _ = my_ok_siblings;

        // Replica duties.
        if !self.is_master() {
            self.manual_failover_check_timeout(now_ms);
            self.handle_manual_failover(now_ms);
            self.handle_replica_failover(now_ms, unix_ms);
            if orphaned_masters > 0 && max_replicas >= 2 {
                self.handle_replica_migration(now_ms, unix_ms, max_replicas);
            }
        } else {
            self.manual_failover_check_timeout(now_ms);
        }
        self.update_state(now_ms);
    }

    // ----- elections -------------------------------------------------------------------------

    /// The monotonic ms at which this node wants to run before its next tick: a scheduled
    /// election's start. The election delay's random 0-500 ms exists to keep sibling replicas
    /// from asking for votes at the same moment; rounding it to the 100 ms tick would undo that
    /// (Redis checks it on every event-loop turn).
    pub fn poll_timeout(&self) -> Option<u64> {
        let waiting =
            !self.is_master() && self.election.auth_time_ms != 0 && !self.election.auth_sent;
        waiting.then_some(self.election.auth_time_ms)
    }

    /// Runs what [`ClusterState::poll_timeout`] asked for.
    pub fn on_timeout(&mut self, now_ms: u64, unix_ms: u64) {
        if !self.is_master() {
            self.handle_manual_failover(now_ms);
            self.handle_replica_failover(now_ms, unix_ms);
        }
        self.update_state(now_ms);
    }

    /// This replica's rank among its master's replicas: how many have a better offset (or the
    /// same offset and a smaller id).
    fn my_rank(&self) -> u32 {
        let Some(master) = self.me().master else {
            return 0;
        };
        let my_offset = self.repl_offset;
        self.replicas_of(&master)
            .iter()
            .filter(|r| !r.is_myself() && r.flags & NOFAILOVER == 0)
            .filter(|r| {
                r.repl_offset > my_offset || (r.repl_offset == my_offset && r.id < self.myself)
            })
            .count() as u32
    }

    fn cant_failover(&mut self, reason: &'static str) {
        if self.election.cant_reason != Some(reason) {
            self.election.cant_reason = Some(reason);
        }
    }

    /// Redis's clusterHandleSlaveFailover.
    fn handle_replica_failover(&mut self, now_ms: u64, unix_ms: u64) {
        let timeout = self.config.node_timeout_ms;
        let auth_timeout = (timeout * 2).max(2000);
        let auth_retry = auth_timeout * 2;
        let manual = self.manual.end_ms != 0 && self.manual.can_start;
        let Some(master_id) = self.me().master else {
            return;
        };
        let Some(master) = self.nodes.get(&master_id) else {
            return;
        };
        if self.is_master()
            || (!master.is_failed() && !manual)
            || (self.config.replica_no_failover && !manual)
            || master.numslots() == 0
        {
            self.election.cant_reason = None;
            return;
        }
        // Data age: how long since we last heard from the master, beyond node-timeout. With the
        // replication link down, since it went down; a link that never came up (0) makes the
        // data as old as can be, as Redis's repl_down_since of 0 ("since ever") does.
        let mut data_age = if self.master_link_up {
            now_ms.saturating_sub(master.data_received_ms.max(master.pong_received_ms))
        } else if self.master_link_down_since_ms == 0 {
            u64::MAX
        } else {
            now_ms.saturating_sub(self.master_link_down_since_ms)
        };
        if data_age > timeout {
            data_age -= timeout;
        }
        let factor = self.config.replica_validity_factor;
        if factor != 0
            && !manual
            && data_age > self.config.repl_ping_replica_period_s * 1000 + timeout * factor
        {
            crate::mark!("election refused: data too old");
            self.cant_failover("data too old");
            return;
        }
        if now_ms.saturating_sub(self.election.auth_time_ms) > auth_retry
            || self.election.auth_time_ms == 0
        {
            let rank = self.my_rank();
            let delay = if manual {
                0
            } else {
                500 + self.rng.gen_range(0..500u64) + rank as u64 * 1000
            };
            self.election = Election {
                auth_time_ms: now_ms + delay,
                rank: if manual { 0 } else { rank },
                ..Election::default()
            };
            if self.election.rank > 0 {
                crate::mark!("election scheduled with rank above zero");
            }
            self.event(ClusterEvent::ElectionScheduled {
                rank: self.election.rank,
                delay_ms: delay,
            });
            self.broadcast_pong(true, now_ms, unix_ms);
            return;
        }
        if !self.election.auth_sent && !manual {
            let rank = self.my_rank();
            if rank > self.election.rank {
                crate::mark!("election delayed by a rank change");
                let added = (rank - self.election.rank) as u64 * 1000;
                self.election.auth_time_ms += added;
                self.election.rank = rank;
            }
        }
        if now_ms < self.election.auth_time_ms {
            return;
        }
        if now_ms < self.election_stall_until_ms
            && now_ms - self.election.auth_time_ms <= auth_timeout
        {
            return;
        }
        if now_ms - self.election.auth_time_ms > auth_timeout {
            if self.election.auth_sent && !self.election.expired {
                crate::mark!("election expired without a majority");
                let epoch = self.election.auth_epoch;
                self.event(ClusterEvent::ElectionExpired { epoch });
                self.election.expired = true;
            }
            return;
        }
        if !self.election.auth_sent {
            if !self.config.planted.has(Planted::ElectionWithoutEpochBump) {
                self.current_epoch += 1;
            }
            self.election.auth_epoch = self.current_epoch;
            self.election.auth_sent = true;
            self.event(ClusterEvent::ElectionStarted {
                epoch: self.current_epoch,
            });
            let mut header = self.header(wire::types::FAILOVER_AUTH_REQUEST);
            if manual {
                header.mflags[0] |= wire::mflags::FORCEACK;
            }
            let msg = self.encode(header, Body::AuthRequest);
            self.broadcast(msg);
            self.save();
            return;
        }
        if self.election.auth_count >= self.votes_needed() {
            self.failover_replace_master(now_ms, unix_ms, self.election.auth_epoch);
        }
    }

    /// Votes an election needs: a majority of the slot-owning masters.
    fn votes_needed(&self) -> usize {
        if self.config.planted.has(Planted::PromoteWithoutMajority) {
            return 1;
        }
        self.size() / 2 + 1
    }

    fn handle_vote(&mut self, now_ms: u64, unix_ms: u64, voter: NodeId, voter_epoch: u64) {
        let Some(v) = self.nodes.get(&voter) else {
            return;
        };
        if !v.is_master() || v.numslots() == 0 || self.is_master() {
            return;
        }
        if voter_epoch < self.election.auth_epoch
            || !self.election.auth_sent
            || self.election.expired
        {
            crate::mark!("vote ignored: older than our election");
            return;
        }
        if !self.election.voters.insert(voter) {
            return;
        }
        self.election.auth_count += 1;
        let needed = self.votes_needed();
        self.event(ClusterEvent::VoteReceived {
            from: voter,
            count: self.election.auth_count,
            needed,
        });
        if self.election.auth_count >= needed {
            self.failover_replace_master(now_ms, unix_ms, self.election.auth_epoch);
        }
    }

    /// Redis's clusterSendFailoverAuthIfNeeded: one vote per epoch, only for a replica of a
    /// failed master, never against a newer slot owner.
    fn handle_vote_request(&mut self, now_ms: u64, requester: NodeId, h: &Header) {
        if !self.is_master() || self.me().numslots() == 0 {
            return;
        }
        let deny = |s: &mut Self, reason: &'static str| {
            s.event(ClusterEvent::VoteDenied {
                to: requester,
                reason,
            });
        };
        if h.current_epoch < self.current_epoch {
            crate::mark!("vote refused: request epoch older than currentEpoch");
            return deny(self, "request epoch older than currentEpoch");
        }
        if self.last_vote_epoch == self.current_epoch
            && !self.config.planted.has(Planted::DoubleVote)
        {
            crate::mark!("vote refused: already voted in this epoch");
            return deny(self, "already voted in this epoch");
        }
        let force = h.mflags[0] & wire::mflags::FORCEACK != 0;
        let Some(req) = self.nodes.get(&requester) else {
            return;
        };
        let master_id = h.slaveof.or(req.master);
        if req.is_master() || h.slaveof.is_none() {
            return deny(self, "requester is a master");
        }
        let Some(master) = master_id.and_then(|m| self.nodes.get(&m)) else {
            return deny(self, "requester's master is unknown");
        };
        if !master.is_failed() && !force {
            crate::mark!("vote refused: master not failed");
            return deny(self, "requester's master is not failed");
        }
        let timeout2 = self.config.node_timeout_ms * 2;
        if master.voted_time_ms != 0 && now_ms.saturating_sub(master.voted_time_ms) < timeout2 {
            crate::mark!("vote refused: voted for this master recently");
            return deny(self, "voted for a replica of this master recently");
        }
        let master_id = master.id;
        for slot in h.myslots.iter() {
            let Some(owner) = self.slot_owner(slot) else {
                continue;
            };
            if owner.config_epoch > h.config_epoch {
                crate::mark!("vote refused: slot owner has a newer configEpoch");
                return deny(self, "a slot owner has a newer configEpoch");
            }
        }
        // Persist the vote before it leaves: SaveConfig is queued ahead of the Send.
        self.last_vote_epoch = self.current_epoch;
        if let Some(m) = self.nodes.get_mut(&master_id) {
            m.voted_time_ms = now_ms;
        }
        self.save_pending = false;
        self.push(Output::SaveConfig);
        let Some(link) = self.nodes.get(&requester).and_then(|n| match n.link {
            LinkState::Up { link, .. } => Some(link),
            _ => None,
        }) else {
            return;
        };
        let header = self.header(wire::types::FAILOVER_AUTH_ACK);
        let msg = self.encode(header, Body::AuthAck);
        self.push(Output::Send { link, message: msg });
        self.event(ClusterEvent::VoteGranted {
            to: requester,
            epoch: self.current_epoch,
        });
    }

    /// The replica takes over: becomes master with `epoch`, claims its old master's slots,
    /// saves, and tells everyone at once with a PONG.
    fn failover_replace_master(&mut self, now_ms: u64, unix_ms: u64, epoch: u64) {
        let Some(old) = self.me().master else {
            return;
        };
        if self.is_master() {
            return;
        }
        // Before the slots move: the majority the election needed (the rule, planted bugs aside).
        let quorum = self.size() / 2 + 1;
        if self.me().config_epoch < epoch && !self.config.planted.has(Planted::PromoteKeepsOldEpoch)
        {
            self.me_mut().config_epoch = epoch;
            self.event(ClusterEvent::ConfigEpoch {
                epoch,
                reason: "failover won",
            });
        }
        crate::mark!("election won");
        let myself = self.myself;
        self.set_node_as_master(&myself);
        self.me_mut().flags &= !MIGRATE_TO;
        self.push(Output::StopReplication);
        let slots: Vec<u16> = self
            .nodes
            .get(&old)
            .map(|n| n.slots.iter().collect())
            .unwrap_or_default();
        for s in &slots {
            self.set_slot(*s, myself);
        }
        self.emit_slot_ranges(myself, &slots);
        self.event(ClusterEvent::Promoted {
            epoch: self.me().config_epoch,
            previous_master: old,
            quorum,
        });
        self.election = Election::default();
        self.reset_manual_failover();
        // The election epoch is already ours; skip the startup writable delay.
        self.start_ms = Some(0);
        self.update_state(now_ms);
        self.save_pending = false;
        self.push(Output::SaveConfig);
        self.broadcast_pong(false, now_ms, unix_ms);
    }

    // ----- manual failover -------------------------------------------------------------------

    fn reset_manual_failover(&mut self) {
        // Redis's resetManualFailover unpauses whenever mf_slave is set (master side), even
        // when called from clusterSetMaster after this node was already demoted: clients
        // paused during the failover must wake up and get MOVED, not wait out the pause.
        if self.manual.replica.is_some() {
            self.push(Output::PauseWrites { until_ms: 0 });
        }
        self.manual = ManualFailover::default();
    }

    fn manual_failover_check_timeout(&mut self, now_ms: u64) {
        if self.manual.end_ms != 0 && self.manual.end_ms < now_ms {
            crate::mark!("manual failover timed out");
            self.event(ClusterEvent::ManualFailover { phase: "timed out" });
            self.reset_manual_failover();
        }
    }

    fn handle_manual_failover(&mut self, _now_ms: u64) {
        if self.manual.end_ms == 0 || self.manual.can_start {
            return;
        }
        if let Some(master_offset) = self.manual.master_offset {
            if master_offset == self.repl_offset {
                self.manual.can_start = true;
                crate::mark!("manual failover: replica caught up");
                self.event(ClusterEvent::ManualFailover {
                    phase: "replica caught up, starting election",
                });
            }
        }
    }

    fn handle_mfstart(&mut self, now_ms: u64, unix_ms: u64, sender: NodeId) {
        let is_my_replica = self
            .nodes
            .get(&sender)
            .map(|n| n.master == Some(self.myself))
            .unwrap_or(false);
        if !is_my_replica || !self.is_master() {
            return;
        }
        self.reset_manual_failover();
        self.manual.end_ms = now_ms + MF_TIMEOUT_MS;
        self.manual.replica = Some(sender);
        self.push(Output::PauseWrites {
            until_ms: now_ms + MF_TIMEOUT_MS * 2,
        });
        self.event(ClusterEvent::ManualFailover {
            phase: "master paused writes",
        });
        self.send_ping(sender, wire::types::PING, now_ms, unix_ms);
    }

    /// Replica side of CLUSTER FAILOVER [FORCE|TAKEOVER].
    pub fn start_manual_failover(
        &mut self,
        now_ms: u64,
        unix_ms: u64,
        mode: FailoverMode,
    ) -> Result<(), CmdError> {
        let Some(master_id) = self.me().master else {
            return Err("ERR You should send CLUSTER FAILOVER to a replica".into());
        };
        if self.is_master() {
            return Err("ERR You should send CLUSTER FAILOVER to a replica".into());
        }
        let Some(master) = self.nodes.get(&master_id) else {
            return Err("ERR I'm a replica but my master is unknown to me".into());
        };
        if mode == FailoverMode::Default && (master.is_failed() || !master.link_up()) {
            return Err("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE".into());
        }
        self.reset_manual_failover();
        self.manual.end_ms = now_ms + MF_TIMEOUT_MS;
        match mode {
            FailoverMode::Takeover => {
                self.event(ClusterEvent::ManualFailover { phase: "takeover" });
                self.bump_epoch_without_consensus("takeover");
                self.failover_replace_master(now_ms, unix_ms, self.me().config_epoch);
            }
            FailoverMode::Force => {
                self.manual.can_start = true;
                self.election.auth_time_ms = 0;
                self.event(ClusterEvent::ManualFailover { phase: "forced" });
            }
            FailoverMode::Default => {
                self.event(ClusterEvent::ManualFailover {
                    phase: "requested, asking master to pause",
                });
                self.election.auth_time_ms = 0;
                let header = self.header(wire::types::MFSTART);
                let msg = self.encode(header, Body::MfStart);
                if let Some(LinkState::Up { link, .. }) = self.nodes.get(&master_id).map(|n| n.link)
                {
                    self.push(Output::Send { link, message: msg });
                }
            }
        }
        Ok(())
    }

    /// Takes a new configEpoch without agreement if ours is 0 or not the largest (TAKEOVER,
    /// BUMPEPOCH, SETSLOT NODE on an importing slot). True if it changed.
    pub fn bump_epoch_without_consensus(&mut self, reason: &'static str) -> bool {
        let max = self
            .nodes
            .values()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0);
        let mine = self.me().config_epoch;
        if mine == 0 || mine != max {
            self.current_epoch += 1;
            let epoch = self.current_epoch;
            self.me_mut().config_epoch = epoch;
            self.event(ClusterEvent::ConfigEpoch { epoch, reason });
            self.save();
            true
        } else {
            false
        }
    }

    // ----- replica migration -----------------------------------------------------------------

    fn handle_replica_migration(&mut self, now_ms: u64, unix_ms: u64, max_replicas: usize) {
        if !self.state_ok || !self.config.allow_replica_migration {
            return;
        }
        let Some(my_master) = self.me().master else {
            return;
        };
        let ok_siblings: Vec<NodeId> = self
            .replicas_of(&my_master)
            .iter()
            .filter(|r| r.flags & (FAIL | PFAIL) == 0)
            .map(|r| r.id)
            .collect();
        if ok_siblings.len() as u64 <= self.config.migration_barrier {
            return;
        }
        // Only the replica with the smallest id among replicas of the best-served masters moves.
        let mut candidate = self.myself;
        let mut target = None;
        let masters: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.is_master() && n.numslots() > 0 && !n.is_failed())
            .map(|n| n.id)
            .collect();
        for m in masters {
            let ok: Vec<NodeId> = self
                .replicas_of(&m)
                .iter()
                .filter(|r| r.flags & (FAIL | PFAIL) == 0)
                .map(|r| r.id)
                .collect();
            if ok.is_empty() {
                let mnode = self.nodes.get_mut(&m).expect("known");
                if mnode.flags & MIGRATE_TO != 0 {
                    if mnode.orphaned_since_ms == 0 {
                        mnode.orphaned_since_ms = now_ms;
                    }
                    if target.is_none() {
                        target = Some(m);
                    }
                }
            } else {
                if let Some(n) = self.nodes.get_mut(&m) {
                    n.orphaned_since_ms = 0;
                }
                if ok.len() == max_replicas {
                    if let Some(smallest) = ok.iter().min() {
                        if *smallest < candidate {
                            candidate = *smallest;
                        }
                    }
                }
            }
        }
        let Some(t) = target else { return };
        if candidate != self.myself {
            return;
        }
        let orphaned_since = self.nodes.get(&t).map(|n| n.orphaned_since_ms).unwrap_or(0);
        if orphaned_since != 0 && now_ms.saturating_sub(orphaned_since) > REPLICA_MIGRATION_DELAY_MS
        {
            crate::mark!("replica migrated to an orphaned master");
            self.event(ClusterEvent::ReplicaMigrated { to: t });
            self.set_my_master(now_ms, unix_ms, t);
        }
    }

    /// Makes this node a replica of `master` (CLUSTER REPLICATE, lost all slots, migration).
    pub fn set_my_master(&mut self, _now_ms: u64, _unix_ms: u64, master: NodeId) {
        if master == self.myself {
            return;
        }
        let myself = self.myself;
        if self.is_master() {
            self.del_node_slots(&myself);
            let me = self.me_mut();
            me.flags &= !(MASTER | MIGRATE_TO);
            me.flags |= SLAVE;
            self.migrating.clear();
            self.importing.clear();
        }
        self.me_mut().master = Some(master);
        if let Some(m) = self.nodes.get_mut(&master) {
            m.flags |= MIGRATE_TO;
        }
        self.reset_manual_failover();
        self.election = Election::default();
        if let Some(m) = self.nodes.get(&master) {
            let (ip, port) = (m.ip.clone(), m.port);
            self.push(Output::ReplicateFrom { master, ip, port });
        }
        self.event(ClusterEvent::BecameReplica { master });
        self.save();
    }

    // ----- commands --------------------------------------------------------------------------

    /// CLUSTER MEET ip port [cport]: start a handshake (answered at once; the handshake runs
    /// in the background).
    pub fn meet(&mut self, now_ms: u64, ip: &str, port: u16, cport: u16) {
        let exists = self
            .nodes
            .values()
            .any(|n| n.in_handshake() && n.ip == ip && n.port == port && n.cport == cport);
        if exists {
            return;
        }
        let id = NodeId::random(&mut self.rng);
        let mut n = ClusterNode::new(id, HANDSHAKE | MEET, now_ms);
        n.ip = ip.to_string();
        n.port = port;
        n.cport = cport;
        self.nodes.insert(id, n);
        self.event(ClusterEvent::NodeAdded {
            node: id,
            via: "CLUSTER MEET",
        });
    }

    /// CLUSTER FORGET: remove a node and keep it out for a minute.
    pub fn forget(&mut self, now_ms: u64, id: &NodeId) -> Result<(), CmdError> {
        if *id == self.myself {
            return Err("ERR I tried hard but I can't forget myself...".into());
        }
        if !self.nodes.contains_key(id) {
            return Err(format!("ERR Unknown node {}", id));
        }
        if self.me().master == Some(*id) {
            return Err("ERR Can't forget my master!".into());
        }
        self.blacklist.insert(*id, now_ms + BLACKLIST_TTL_MS);
        self.remove_node(id, "CLUSTER FORGET");
        self.update_state(now_ms);
        Ok(())
    }

    /// CLUSTER SET-CONFIG-EPOCH: only on a node that knows no one else and has epoch 0.
    pub fn set_config_epoch(&mut self, epoch: i64) -> Result<(), CmdError> {
        if epoch < 0 {
            return Err(format!("ERR Invalid config epoch specified: {}", epoch));
        }
        if self.nodes.len() > 1 {
            return Err(
                "ERR The user can assign a config epoch only when the node does not know any other node."
                    .into(),
            );
        }
        if self.me().config_epoch != 0 {
            return Err("ERR Node config epoch is already non-zero".into());
        }
        let epoch = epoch as u64;
        self.me_mut().config_epoch = epoch;
        if self.current_epoch < epoch {
            self.current_epoch = epoch;
        }
        self.event(ClusterEvent::ConfigEpoch {
            epoch,
            reason: "SET-CONFIG-EPOCH",
        });
        self.save();
        Ok(())
    }

    /// CLUSTER RESET SOFT|HARD. `has_keys`: a master with keys refuses.
    pub fn reset(&mut self, now_ms: u64, hard: bool) {
        let myself = self.myself;
        if !self.is_master() {
            self.set_node_as_master(&myself);
            self.push(Output::StopReplication);
        }
        self.me_mut().flags &= !MIGRATE_TO;
        let all: Vec<u16> = (0..SLOT_COUNT as u16).collect();
        for s in all {
            self.del_slot(s);
        }
        self.migrating.clear();
        self.importing.clear();
        let others: Vec<NodeId> = self
            .nodes
            .keys()
            .filter(|id| **id != myself)
            .copied()
            .collect();
        for id in others {
            self.remove_node(&id, "CLUSTER RESET");
        }
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            let new_id = NodeId::random(&mut self.rng);
            if let Some(mut me) = self.nodes.remove(&myself) {
                me.id = new_id;
                me.config_epoch = 0;
                self.nodes.insert(new_id, me);
            }
            self.myself = new_id;
        }
        self.reset_manual_failover();
        self.election = Election::default();
        self.update_state(now_ms);
        self.save();
    }

    /// Marks nodes.conf dirty (commands that changed state through `set_slot`).
    pub fn mark_dirty(&mut self) {
        self.save();
    }

    /// The caller just wrote nodes.conf from the current state (SETSLOT saves before it
    /// replies): the pending save would write the same bytes again, with another fsync.
    pub fn config_saved(&mut self) {
        self.save_pending = false;
    }

    /// Restores state from nodes.conf contents (at startup).
    pub fn load(&mut self, conf: &super::nodes_conf::NodesConf) -> Result<(), String> {
        let Some(me_line) = conf
            .nodes
            .iter()
            .find(|l| l.flags.contains(&super::nodes_conf::NodeFlag::Myself))
        else {
            return Err("no 'myself' line".into());
        };
        self.nodes.clear();
        self.slots = vec![None; SLOT_COUNT];
        self.myself = me_line.id;
        for line in &conf.nodes {
            let mut flags = 0u16;
            for f in &line.flags {
                flags |= f.bit();
            }
            // Loaded nodes are not suspected or pending until we hear from them again.
            let mut n = ClusterNode::new(line.id, flags & !(PFAIL | HANDSHAKE), 0);
            n.ip = line.ip.clone();
            n.port = line.port;
            n.cport = line.cport;
            n.hostname = line.hostname.clone();
            n.master = line.master;
            n.config_epoch = if flags & SLAVE != 0 {
                0
            } else {
                line.config_epoch
            };
            self.nodes.insert(line.id, n);
        }
        for line in &conf.nodes {
            if let Some(m) = line.master.and_then(|m| self.nodes.get_mut(&m)) {
                m.flags |= MIGRATE_TO;
            }
            for slot in line.slots.iter() {
                self.set_slot(slot, line.id);
            }
            for (slot, to) in &line.migrating {
                self.migrating.insert(*slot, *to);
            }
            for (slot, from) in &line.importing {
                self.importing.insert(*slot, *from);
            }
        }
        self.current_epoch = conf.current_epoch;
        self.last_vote_epoch = conf.last_vote_epoch;
        let (port, cport, pport) = (self.config.port, self.config.cport, self.config.pport);
        let announce = self.config.announce_ip.clone();
        let me = self.me_mut();
        me.flags |= MYSELF;
        me.port = port;
        me.cport = cport;
        me.pport = pport;
        if let Some(ip) = announce {
            me.ip = ip;
        }
        if me.flags & SLAVE != 0 {
            let master = me.master;
            if let Some(m) = master.and_then(|m| self.nodes.get(&m)) {
                let (ip, port, id) = (m.ip.clone(), m.port, m.id);
                self.push(Output::ReplicateFrom {
                    master: id,
                    ip,
                    port,
                });
            }
        }
        Ok(())
    }

    /// Whether a node is in my table.
    pub fn knows(&self, id: &NodeId) -> bool {
        self.nodes.contains_key(id)
    }

    /// Whether a node is the one being migrated to/from in an open slot.
    pub fn is_open_slot(&self, slot: u16) -> bool {
        self.migrating.contains_key(&slot) || self.importing.contains_key(&slot)
    }
}

/// The three forms of CLUSTER FAILOVER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverMode {
    Default,
    Force,
    Takeover,
}

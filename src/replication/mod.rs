//! Replication in Redis's shape: a replica connects to its master's client port, says
//! `REPLCONF listening-port/capa` and `PSYNC replid offset`; the master answers `+FULLRESYNC`
//! with an RDB snapshot or `+CONTINUE` with the missing part of its backlog, then streams every
//! write as the command it executed (made deterministic: relative expire times become absolute).
//!
//! Two replication ids (PSYNC2): when a replica is promoted it keeps the old id as `replid2` up
//! to the offset where the histories diverge, so its old master and its sibling replicas can
//! continue from it with a partial resync.
//!
//! This module holds the bookkeeping ([`ReplState`]) and the node-side operations; the master's
//! per-replica feeder is in [`primary`], the replica's link to its master in [`replica`].

pub mod backlog;
pub mod primary;
pub mod replica;
pub mod rewrite;
pub mod snapshot;

use crate::node::NodeView;
use backlog::Backlog;
use bytes::Bytes;
use rand::RngCore;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};

/// The all-zero replication id Redis shows when there is no second id.
pub const NULL_REPLID: &str = "0000000000000000000000000000000000000000";

/// What this node is in replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica(MasterLink),
}

/// A replica's view of its link to the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// Node monotonic ms the link went down; 0 while it is up, and 0 when it never came up
    /// (Redis's `repl_down_since`: "down since ever"). Failover reads it: a replica that never
    /// synced has data of unknown age and must not be promoted (the cluster's "data too old").
    pub down_since_ms: u64,
    /// Node monotonic ms of the last byte from the master.
    pub last_io_ms: u64,
}

/// Redis's replication link states, as ROLE and INFO name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Sync,
    Connected,
}

impl LinkState {
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// One replica attached to this node (master side).
#[derive(Debug)]
pub struct ReplicaLink {
    /// The replica's IP as seen on the socket.
    pub ip: String,
    /// REPLCONF listening-port.
    pub listening_port: u16,
    /// Last offset the replica acknowledged (REPLCONF ACK).
    pub ack_offset: u64,
    /// Node monotonic ms of the last ACK.
    pub ack_ms: u64,
    /// Where new stream bytes go (the feeder task writes them to the socket).
    pub tx: mpsc::UnboundedSender<Bytes>,
    /// Stream bytes handed to the feeder and not yet written to the socket: the replica's
    /// output buffer, which `client-output-buffer-limit replica` bounds.
    pub queued: Arc<AtomicU64>,
    /// Woken when `queued` reaches the replica class's hard limit: the feeder drops the link
    /// at once instead of buffering without end for a replica that stopped reading.
    pub over_limit: Arc<Notify>,
}

/// A stream handed to a connection that just became a replica feeder (see `primary`).
pub struct PendingFeed {
    /// `+FULLRESYNC ...` and the snapshot, or `+CONTINUE ...` and the backlog tail.
    pub initial: Vec<u8>,
    pub rx: mpsc::UnboundedReceiver<Bytes>,
}

/// A node's replication state.
pub struct ReplState {
    /// Current replication id (40 hex).
    pub replid: String,
    /// Previous id, valid up to `second_offset` (PSYNC2); NULL_REPLID when none.
    pub replid2: String,
    /// Offset up to which `replid2` is valid, -1 when none.
    pub second_offset: i64,
    /// master_repl_offset: stream bytes produced (master) or applied (replica).
    pub offset: u64,
    pub backlog: Backlog,
    pub role: Role,
    /// Replicas attached to this node, by client id.
    pub replicas: BTreeMap<u64, ReplicaLink>,
    /// Feeds prepared by PSYNC for their connections to pick up, by client id.
    pub pending_feeds: BTreeMap<u64, PendingFeed>,
    /// Whether the stream has selected db 0 since the last full sync (Redis emits SELECT before
    /// the first command a replica sees).
    select_sent: bool,
    /// Commands held back while a script runs (see [`ReplState::hold`]); None otherwise.
    held: Option<Vec<Vec<u8>>>,
    /// Where each propagated command is encoded before it is fed (kept, so encoding a command
    /// allocates nothing).
    scratch: Vec<u8>,
    /// A MULTI went out and its EXEC not yet (a transaction's commands are being sent).
    multi_open: bool,
    /// Bumped whenever the role changes: a replica task of an older generation stops.
    pub generation: u64,
    /// A replica task of this generation must be started (done by whoever holds the node's Arc).
    pub task_needed: Option<u64>,
    /// Woken on every REPLCONF ACK (WAIT).
    pub ack_notify: Arc<Notify>,
    /// `client-output-buffer-limit replica`'s hard limit (0: none), kept here by the node's
    /// cron so [`ReplState::feed`] can check it where the bytes are queued.
    pub replica_hard_limit: u64,
    /// Full and partial syncs served (INFO stats).
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// Persistence's view of the stream: the dirty counter and the AOF (see `crate::persist`).
    pub tap: crate::persist::Tap,
    /// The write streams of slots being exported atomically (see `crate::atomic`).
    pub capture: crate::atomic::capture::Captures,
}

impl ReplState {
    pub fn new(rng: &mut impl RngCore, backlog_bytes: usize) -> ReplState {
        ReplState {
            replid: random_replid(rng),
            replid2: NULL_REPLID.to_string(),
            second_offset: -1,
            offset: 0,
            backlog: Backlog::new(backlog_bytes, 1),
            role: Role::Master,
            replicas: BTreeMap::new(),
            pending_feeds: BTreeMap::new(),
            select_sent: false,
            held: None,
            scratch: Vec::new(),
            multi_open: false,
            generation: 0,
            task_needed: None,
            ack_notify: Arc::new(Notify::new()),
            replica_hard_limit: 0,
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            tap: Default::default(),
            capture: Default::default(),
        }
    }

    pub fn is_replica(&self) -> bool {
        matches!(self.role, Role::Replica(_))
    }

    /// Replicas whose acknowledged offset reached `offset` (WAIT).
    pub fn acked(&self, offset: u64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.ack_offset >= offset)
            .count()
    }

    /// Appends stream bytes: backlog, offset, and every attached replica.
    pub fn feed(&mut self, bytes: &[u8]) {
        // The AOF receives exactly the stream (with appendfsync always, fsynced before return).
        self.tap.on_feed(bytes);
        self.backlog.append(bytes);
        self.offset += bytes.len() as u64;
        if !self.replicas.is_empty() {
            let shared = Bytes::copy_from_slice(bytes);
            let len = bytes.len() as u64;
            for r in self.replicas.values() {
                let _ = r.tx.send(shared.clone());
                let queued = r.queued.fetch_add(len, Ordering::Relaxed) + len;
                if self.replica_hard_limit != 0 && queued >= self.replica_hard_limit {
                    r.over_limit.notify_one();
                }
            }
        }
    }

    /// Propagates one command (master side).
    /// `CLIENT KILL TYPE master`: drops a connected replica's link to its master (as Redis
    /// frees its master client) so the replica task of a new generation reconnects and asks
    /// for a partial resync. The data's age counts from now. False when there was no
    /// connected link (Redis has no master client before the first sync completes).
    pub fn restart_master_link(&mut self, now_ms: u64) -> bool {
        let Role::Replica(link) = &mut self.role else {
            return false;
        };
        if link.state != LinkState::Connected {
            return false;
        }
        link.state = LinkState::Connect;
        link.down_since_ms = now_ms;
        self.generation += 1;
        self.task_needed = Some(self.generation);
        true
    }

    pub fn propagate(&mut self, argv: &[&[u8]]) {
        self.propagate_parts(argv);
    }

    /// [`ReplState::propagate`] for a command's own arguments.
    pub fn propagate_args(&mut self, argv: &[Bytes]) {
        self.propagate_parts(argv);
    }

    fn propagate_parts<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        if let [only] = argv {
            let only = only.as_ref();
            if only.eq_ignore_ascii_case(b"multi") {
                self.multi_open = true;
            } else if only.eq_ignore_ascii_case(b"exec") {
                self.multi_open = false;
            }
        }
        // An atomic slot migration streams the writes to its slots from here (a script's
        // held effects included: they are applied whatever the replication stream does).
        if !self.capture.is_empty() {
            let refs: Vec<&[u8]> = argv.iter().map(AsRef::as_ref).collect();
            self.capture.on_command(&refs);
        }
        let mut encoded = std::mem::take(&mut self.scratch);
        encoded.clear();
        encode_command_into(&mut encoded, argv);
        if let Some(held) = self.held.as_mut() {
            held.push(encoded.clone());
        } else {
            self.feed_command(&encoded);
        }
        self.scratch = encoded;
        if self.scratch.capacity() > SCRATCH_KEEP_BYTES {
            self.scratch = Vec::new();
        }
    }

    fn feed_command(&mut self, encoded: &[u8]) {
        if !self.select_sent {
            self.select_sent = true;
            self.feed(&encode_command(&[b"SELECT", b"0"]));
        }
        self.feed(encoded);
    }

    /// Starts holding propagated commands back (a script's effects go out together at its
    /// end). False when something already holds them (a script inside a script cannot run).
    pub fn hold(&mut self) -> bool {
        if self.held.is_some() {
            return false;
        }
        self.held = Some(Vec::new());
        true
    }

    /// Redis's checkGoodReplicasStatus: false when this master has `min-replicas-to-write`
    /// set and fewer replicas acknowledged within `min-replicas-max-lag` seconds (writes are
    /// then refused with [`NOREPLICAS`]).
    pub fn enough_good_replicas(&self, config: &crate::config::Config, now_mono_ms: u64) -> bool {
        let (need, lag_s) = (config.min_replicas_to_write, config.min_replicas_max_lag_s);
        if need == 0 || lag_s == 0 || self.is_replica() {
            return true;
        }
        let good = self
            .replicas
            .values()
            .filter(|r| r.ack_ms > 0 && now_mono_ms.saturating_sub(r.ack_ms) / 1000 <= lag_s)
            .count() as u64;
        good >= need
    }

    /// Whether the commands propagated now are already grouped (a transaction's MULTI went
    /// out, or a script's effects are held to be wrapped at its end).
    pub fn in_block(&self) -> bool {
        self.multi_open || self.held.is_some()
    }

    /// How many commands are held (0 when not holding).
    pub fn held_len(&self) -> usize {
        self.held.as_ref().map_or(0, Vec::len)
    }

    /// Drops the commands held after the first `len` (redis.set_repl turned replication off).
    pub fn held_truncate(&mut self, len: usize) {
        if let Some(h) = self.held.as_mut() {
            h.truncate(len);
        }
    }

    /// Sends what was held: wrapped in MULTI / EXEC when there is more than one command and
    /// `wrap` is set (Redis wraps a script's effects so replicas apply them atomically).
    pub fn release(&mut self, wrap: bool) {
        let Some(held) = self.held.take() else {
            return;
        };
        let wrap = wrap && held.len() > 1;
        if wrap {
            self.feed_command(&encode_command(&[b"MULTI"]));
        }
        for c in &held {
            self.feed_command(c);
        }
        if wrap {
            self.feed_command(&encode_command(&[b"EXEC"]));
        }
    }

    /// Starts a new history after a full sync or on promotion.
    pub fn shift_replid(&mut self, rng: &mut impl RngCore) {
        self.replid2 = std::mem::replace(&mut self.replid, random_replid(rng));
        self.second_offset = self.offset as i64 + 1;
    }

    /// Whether a PSYNC for (`replid`, `from`) can continue from the backlog.
    pub fn can_continue(&self, replid: &str, from: u64) -> bool {
        let id_ok = replid == self.replid
            || (replid == self.replid2
                && self.second_offset >= 0
                && from <= self.second_offset as u64);
        id_ok && self.backlog.since(from).is_some()
    }

    /// Forces a SELECT before the next propagated command (after a full sync starts).
    pub fn reset_select(&mut self) {
        self.select_sent = false;
    }
}

/// The error of a write refused for want of good replicas (see
/// [`ReplState::enough_good_replicas`]).
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

/// 40 random hex characters.
pub fn random_replid(rng: &mut impl RngCore) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..40)
        .map(|_| HEX[(rng.next_u32() & 15) as usize] as char)
        .collect()
}

/// RESP multibulk encoding of a command.
pub fn encode_command(argv: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command_into(&mut out, argv);
    out
}

/// The propagation scratch buffers (master and replica side) are freed after a command bigger
/// than this.
pub(super) const SCRATCH_KEEP_BYTES: usize = 64 * 1024;

/// [`encode_command`] appended to `out`.
pub fn encode_command_into<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.reserve(16 + argv.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(argv.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl NodeView<'_> {
    /// Becomes a replica of `host:port` (CLUSTER REPLICATE, REPLICAOF, startup from nodes.conf).
    /// The replica task is started by the caller that holds the node's `Arc` (see
    /// [`ReplState::task_needed`]).
    pub fn become_replica_of(&mut self, host: &str, port: u16) {
        let now = self.rest.clock.mono_ms();
        if let Role::Replica(link) = &self.rest.repl.role {
            if link.host == host && link.port == port {
                return;
            }
        }
        // As Redis: leaving a connected master starts the down time now; a link that was
        // already down keeps its time; a master (or a node that just started) has never synced
        // with anyone, so its data counts as old until its first sync.
        let down_since_ms = match &self.rest.repl.role {
            Role::Replica(l) if l.state == LinkState::Connected => now,
            Role::Replica(l) => l.down_since_ms,
            Role::Master => 0,
        };
        self.drop_replicas();
        let repl = &mut self.rest.repl;
        repl.generation += 1;
        repl.role = Role::Replica(MasterLink {
            host: host.to_string(),
            port,
            state: LinkState::Connect,
            down_since_ms,
            last_io_ms: 0,
        });
        repl.task_needed = Some(repl.generation);
        self.db.expiry = crate::db::ExpiryMode::HideOnly;
        self.rest
            .logger
            .role
            .store(b'S', std::sync::atomic::Ordering::Relaxed);
        self.log(
            crate::log::Level::Notice,
            &format!("Connecting to MASTER {}:{}", host, port),
        );
    }

    /// Stops replicating and becomes a master with the data it has; a new replication id
    /// starts, the old one stays valid as replid2 for partial resyncs.
    pub fn become_master(&mut self) {
        if !self.rest.repl.is_replica() {
            return;
        }
        let repl = &mut self.rest.repl;
        repl.generation += 1;
        repl.role = Role::Master;
        repl.task_needed = None;
        repl.shift_replid(&mut self.rest.rng);
        self.db.expiry = crate::db::ExpiryMode::Delete;
        self.rest
            .logger
            .role
            .store(b'M', std::sync::atomic::Ordering::Relaxed);
        self.log(
            crate::log::Level::Notice,
            "MASTER MODE enabled (user request from 'id=0 addr= laddr= fd=-1 name= ')",
        );
    }

    /// Disconnects every attached replica (their feeders end when the channel closes).
    pub fn drop_replicas(&mut self) {
        self.rest.repl.replicas.clear();
        self.rest.repl.pending_feeds.clear();
    }

    /// Replicates the effects of a write command that just ran (master only), in the form
    /// Redis 7.0 sends (see [`rewrite`]): relative expire times become PXAT / PEXPIREAT,
    /// SPOP becomes SREM of what it popped, a command that changed nothing is not sent.
    pub fn propagate_write(&mut self, name: &str, argv: &[Bytes], reply: &crate::resp::Reply) {
        if self.rest.repl.is_replica() {
            return;
        }
        // Two config lookups, only for the commands that can delete through an option.
        let lazy = if rewrite::may_delete(name) {
            rewrite::Lazy {
                user_del: self.rest.config.bool("lazyfree-lazy-user-del"),
                expire: self.rest.config.bool("lazyfree-lazy-expire"),
            }
        } else {
            rewrite::Lazy::default()
        };
        match name {
            // Without STORE they only read: nothing to replicate.
            "georadius" | "georadiusbymember" if !crate::cmd::geo::radius_stores(argv) => {}
            _ => match rewrite::effects(name, argv, reply, self.db, lazy) {
                rewrite::Effects::Verbatim => self.rest.repl.propagate_args(argv),
                rewrite::Effects::Nothing => {}
                rewrite::Effects::Commands(cmds) => {
                    let wrap = cmds.len() > 1 && !self.rest.repl.in_block();
                    if wrap {
                        self.rest.repl.propagate(&[b"MULTI"]);
                    }
                    for c in &cmds {
                        self.rest.repl.propagate_args(c);
                    }
                    if wrap {
                        self.rest.repl.propagate(&[b"EXEC"]);
                    }
                }
            },
        }
    }

    /// Replicates deletions made by expiry (lazy or active) as DELs (master only).
    pub fn propagate_expired(&mut self) {
        crate::notify::flush(self.db, self.rest);
        let expired = self.db.take_expired();
        if expired.is_empty() || self.rest.repl.is_replica() {
            return;
        }
        // UNLINK when lazyfree-lazy-expire is on, as Redis's propagateDeletion.
        let del: &[u8] = if self.rest.config.bool("lazyfree-lazy-expire") {
            b"UNLINK"
        } else {
            b"DEL"
        };
        for k in expired {
            self.rest.repl.propagate(&[del, &k]);
        }
    }
}

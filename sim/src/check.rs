//! The invariants of shared/DESIGN.md.
//!
//! Safety (checked after every world step): one owner per slot per configEpoch, currentEpoch
//! never decreasing, one vote per master per epoch, no phantom reads. Liveness (once faults are
//! healed and the cluster had time to settle): every slot owned by exactly one live master that
//! every node agrees on, and cluster_state ok everywhere. Lost acknowledged writes are counted,
//! not failed: Redis Cluster documents that window.

use crate::client::{Op, OpKind, Outcome};
use crate::protocol_check::{Broken, ProtocolChecker};
use crate::world::World;
use keyslot::cluster::event::ClusterEvent;
use keyslot::cluster::SlotBitmap;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A broken invariant: which, when, and what the nodes saw.
#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: &'static str,
    pub at_ms: u64,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant violated: {} at {}.{:03}s: {}",
            self.invariant,
            self.at_ms / 1000,
            self.at_ms % 1000,
            self.detail
        )
    }
}

/// Safety state carried across steps.
#[derive(Debug, Default)]
pub struct Checker {
    /// Highest currentEpoch seen per node name.
    epochs: BTreeMap<String, u64>,
    /// (voter, epoch) pairs granted.
    votes: BTreeSet<(String, u64)>,
    pub violations: Vec<Violation>,
    /// Every power cut (`crash`): (node, world ms), in time order. A write lost to a crash
    /// is judged by how long before the crash it was acknowledged (the fsync policy's promise).
    pub crashes: Vec<(String, u64)>,
    /// Invariants 9-11 (failure quorum, election majority, no older slot owner).
    pub protocol: ProtocolChecker,
}

impl Checker {
    /// A node restarted: with a wiped disk its epochs legitimately start over.
    pub fn forget_node(&mut self, name: &str, wiped: bool) {
        self.protocol.restarted(name);
        if wiped {
            self.epochs.remove(name);
            self.votes.retain(|(n, _)| n != name);
        }
    }

    /// A node lost its unsynced writes in a power cut at `at_ms`.
    pub fn crashed(&mut self, name: &str, at_ms: u64) {
        self.crashes.push((name.to_string(), at_ms));
    }

    /// Records a violation found outside the checker (the world's identity check).
    pub fn violation(&mut self, invariant: &'static str, at_ms: u64, detail: String) {
        self.violate(invariant, at_ms, detail);
    }

    fn broken(&mut self, (invariant, at_ms, detail): Broken) {
        self.violate(invariant, at_ms, detail);
    }

    fn violate(&mut self, invariant: &'static str, at_ms: u64, detail: String) {
        // One report per invariant is enough to fail a run; keep the first.
        if self.violations.iter().any(|v| v.invariant == invariant) {
            return;
        }
        self.violations.push(Violation {
            invariant,
            at_ms,
            detail,
        });
    }

    /// Invariant 3 is checked on the events themselves: a master granting two votes in one
    /// epoch is caught the moment the second is recorded.
    pub fn observe_event(&mut self, node: &str, e: &ClusterEvent, at_ms: u64) {
        if let Some(b) = self.protocol.observe_event(node, e, at_ms) {
            self.broken(b);
        }
        if let ClusterEvent::VoteGranted { epoch, .. } = e {
            if !self.votes.insert((node.to_string(), *epoch)) {
                self.violate(
                    "3: one vote per epoch",
                    at_ms,
                    format!("{} voted twice in epoch {}", node, epoch),
                );
            }
        }
    }

    /// Invariants 1 and 2 over the live nodes' current views.
    pub fn check_safety(&mut self, world: &World, at_ms: u64) {
        // 1: no two masters claim the same slot with the same configEpoch. Claims are grouped
        // by configEpoch; within a group the slot bitmaps must not overlap.
        let mut claims: BTreeMap<u64, Vec<(String, SlotBitmap)>> = BTreeMap::new();
        let mut quorum = 0;
        for i in world.live_nodes() {
            let name = world.nodes[i].name.clone();
            let view = world.with_node(i, |n| {
                n.rest.cluster.as_ref().map(|c| {
                    let me = c.me();
                    let slots = if me.is_master() {
                        Some(me.slots.clone())
                    } else {
                        None
                    };
                    let owners: Vec<_> = c
                        .nodes
                        .values()
                        .filter(|n| n.numslots() > 0)
                        .map(|n| (n.id, n.config_epoch, n.slots.clone()))
                        .collect();
                    (c.current_epoch, me.config_epoch, slots, c.size(), owners)
                })
            });
            let Some(Some((current_epoch, config_epoch, slots, size, owners))) = view else {
                continue;
            };
            quorum = quorum.max(size / 2 + 1);
            if let Some(b) = self.protocol.check_view(&name, owners, at_ms) {
                self.broken(b);
            }
            // 2: currentEpoch never decreases.
            let prev = self.epochs.get(&name).copied().unwrap_or(0);
            if current_epoch < prev {
                self.violate(
                    "2: currentEpoch never decreases",
                    at_ms,
                    format!("{} went from {} to {}", name, prev, current_epoch),
                );
            }
            self.epochs.insert(name.clone(), current_epoch.max(prev));
            if let Some(slots) = slots.filter(|s| !s.is_empty()) {
                claims.entry(config_epoch).or_default().push((name, slots));
            }
        }
        let mut conflict = None;
        'outer: for (epoch, group) in &claims {
            for (a, (name_a, slots_a)) in group.iter().enumerate() {
                for (name_b, slots_b) in &group[a + 1..] {
                    let overlap = slots_a
                        .as_bytes()
                        .iter()
                        .zip(slots_b.as_bytes().iter())
                        .position(|(x, y)| x & y != 0);
                    if let Some(byte) = overlap {
                        let slot = (byte * 8..byte * 8 + 8)
                            .find(|&s| slots_a.get(s as u16) && slots_b.get(s as u16))
                            .unwrap_or(byte * 8);
                        conflict = Some(format!(
                            "{} and {} both claim slot {} with configEpoch {}",
                            name_a, name_b, slot, epoch
                        ));
                        break 'outer;
                    }
                }
            }
        }
        if let Some(b) = self.protocol.after_events(quorum) {
            self.broken(b);
        }
        let by_epoch: BTreeMap<u64, Vec<String>> = claims
            .iter()
            .map(|(e, g)| (*e, g.iter().map(|(n, _)| n.clone()).collect()))
            .collect();
        if let Some(b) = self.protocol.check_unique_epochs(&by_epoch, at_ms) {
            self.broken(b);
        }
        if let Some(detail) = conflict {
            let views = world.views();
            self.violate(
                "1: one owner per slot and configEpoch",
                at_ms,
                format!("{}\n{}", detail, views),
            );
        }
    }
}

/// Invariants 5 and 6: every live node has cluster_state ok, every slot has one owner, and all
/// live nodes agree on the owner of every slot, its configEpoch, and every node's role; and
/// the slot owners' configEpochs are distinct (two elections of one epoch can both be won
/// while views lag, see invariant 12; a converged cluster has separated them).
pub fn liveness(world: &World) -> Result<(), String> {
    /// A node's view: for each slot-owning master its id, configEpoch and slot ranges; and the
    /// role of every node it considers healthy.
    type View = (
        Vec<(String, u64, Vec<(u16, u16)>)>,
        BTreeMap<String, String>,
    );
    let mut reference: Option<(String, View)> = None;
    for i in world.live_nodes() {
        let name = world.nodes[i].name.clone();
        let view = world.with_node(i, |n| {
            n.rest.cluster.as_ref().map(|c| {
                let mut covered = 0;
                let mut owners = Vec::new();
                for node in c.nodes.values() {
                    let count = node.numslots();
                    if count > 0 {
                        covered += count;
                        owners.push((node.id.to_string(), node.config_epoch, node.slots.ranges()));
                    }
                }
                let roles: BTreeMap<String, String> = c
                    .nodes
                    .values()
                    .filter(|n| !n.in_handshake() && !n.is_failed())
                    .map(|n| {
                        let role = if n.is_master() {
                            "master".to_string()
                        } else {
                            format!(
                                "replica of {}",
                                n.master.map(|m| m.to_string()).unwrap_or_default()
                            )
                        };
                        (n.id.to_string(), role)
                    })
                    .collect();
                (c.state_ok, covered, (owners, roles))
            })
        });
        let Some(Some((ok, covered, view))) = view else {
            return Err(format!("{} has no cluster state", name));
        };
        if !ok {
            return Err(format!("{} reports cluster_state:fail", name));
        }
        if covered != 16384 {
            return Err(format!("{} sees only {} slots assigned", name, covered));
        }
        let mut epochs: Vec<u64> = view.0.iter().map(|(_, e, _)| *e).collect();
        epochs.sort_unstable();
        if let Some(pair) = epochs.windows(2).find(|p| p[0] == p[1]) {
            return Err(format!(
                "{} sees two slot owners with configEpoch {}",
                name, pair[0]
            ));
        }
        match &reference {
            None => reference = Some((name, view)),
            Some((ref_name, (ref_owners, ref_roles))) => {
                if *ref_owners != view.0 {
                    return Err(format!(
                        "{} and {} disagree on slot owners: {:?} vs {:?}",
                        ref_name, name, ref_owners, view.0
                    ));
                }
                for (id, role) in &view.1 {
                    if let Some(r) = ref_roles.get(id) {
                        if r != role {
                            return Err(format!(
                                "{} and {} disagree on the role of {}: {} vs {}",
                                ref_name, name, id, r, role
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Invariant 7: every live replica has applied exactly its master's stream (same replication
/// offset) and holds the same dataset (same digest). Meaningful once writes stopped.
pub fn replicas_in_sync(world: &World) -> Result<(), String> {
    let view = |i: usize| {
        world.with_node(i, |n| {
            let now = n.rest.clock.unix_ms();
            let digest = keyslot::cmd::digest::hex(&keyslot::cmd::digest::dataset(&n.db, now));
            (n.rest.repl.offset, digest, n.rest.repl.is_replica())
        })
    };
    for i in world.live_nodes() {
        let Some((offset, digest, true)) = view(i) else {
            continue;
        };
        let Some(master_name) = world.master_of(i) else {
            continue;
        };
        let Some(m) = world.index_of(&master_name) else {
            continue;
        };
        if !world.live_nodes().contains(&m) {
            continue;
        }
        let Some((m_offset, m_digest, _)) = view(m) else {
            continue;
        };
        if offset != m_offset || digest != m_digest {
            return Err(format!(
                "{} (offset {}, digest {}) differs from its master {} (offset {}, digest {})",
                world.nodes[i].name,
                offset,
                &digest[..8],
                master_name,
                m_offset,
                &m_digest[..8]
            ));
        }
    }
    Ok(())
}

/// Invariant 13: every key a client wrote lives on at most one master, and that master owns
/// its slot, so a client following MOVED/ASK reaches the one copy. A second copy on another
/// master (a migration that copied a key and lost track of it, a demoted master that kept
/// keys of slots it gave up) could come back as the truth after a later ownership change.
/// Keys on no master are invariant 4's and the lost-writes budget's business.
pub fn keys_in_one_place<'a>(
    world: &World,
    keys: impl IntoIterator<Item = &'a String>,
) -> Result<(), String> {
    let masters: Vec<usize> = world
        .live_nodes()
        .into_iter()
        .filter(|&i| world.is_master(i) == Some(true))
        .collect();
    for key in keys {
        let holders: Vec<usize> = masters
            .iter()
            .copied()
            .filter(|&i| {
                world
                    .with_node(i, |n| {
                        // A target's copy of a slot it is importing atomically is in flight:
                        // it becomes the one copy only when the target takes the slot (and
                        // is deleted if it does not).
                        let slot = keyslot::slot::key_slot(key.as_bytes());
                        let in_flight = n.rest.atomic.marked(slot)
                            && n.rest.cluster.as_ref().map(|c| c.slot_owner_id(slot))
                                != n.rest.cluster.as_ref().map(|c| Some(c.me().id));
                        !in_flight && n.db.peek(key.as_bytes()).is_some()
                    })
                    .unwrap_or(false)
            })
            .collect();
        let names = || {
            holders
                .iter()
                .map(|&i| world.nodes[i].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if holders.len() > 1 {
            return Err(format!(
                "key {key:?} is on {} masters: {}",
                holders.len(),
                names()
            ));
        }
        let Some(&holder) = holders.first() else {
            continue;
        };
        let slot = keyslot::slot::key_slot(key.as_bytes());
        let owns = world
            .with_node(holder, |n| {
                n.rest
                    .cluster
                    .as_ref()
                    // An importing node holds keys a client reaches by ASK.
                    .map(|c| {
                        c.slot_owner_id(slot) == Some(c.me().id) || c.importing.contains_key(&slot)
                    })
            })
            .flatten()
            .unwrap_or(false);
        if !owns {
            return Err(format!(
                "key {key:?} (slot {slot}) is only on {}, which does not own the slot",
                names()
            ));
        }
    }
    Ok(())
}

/// What the history says about the data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataReport {
    pub operations: usize,
    pub acknowledged_writes: usize,
    pub failed: usize,
    pub unknown: usize,
    /// Keys whose final value is not their last acknowledged write (nor a later unknown one).
    pub lost_writes: usize,
    /// Those keys, with the acknowledged value that was lost.
    pub lost: Vec<String>,
    /// For each lost key, when its last acknowledged write was sent (world ms): the node
    /// acknowledged it after this, and a reply can still be on the wire when a crash comes,
    /// so the send time is the one to compare with a crash's.
    pub lost_sent_ms: Vec<u64>,
    /// Reads that returned a value no client ever tried to write (invariant 4).
    pub phantom_reads: Vec<String>,
}

/// Analyses the history against the final values read after the run.
pub fn analyse(history: &[Op], finals: &BTreeMap<String, Option<String>>) -> DataReport {
    let mut r = DataReport {
        operations: history.len(),
        ..Default::default()
    };
    let mut attempted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for op in history {
        if let OpKind::Set { value } = &op.kind {
            attempted.entry(&op.key).or_default().insert(value);
        }
        match &op.outcome {
            Outcome::Written => r.acknowledged_writes += 1,
            Outcome::Failed(_) => r.failed += 1,
            Outcome::Unknown => r.unknown += 1,
            Outcome::Read(_) => {}
        }
    }
    for op in history {
        if let Outcome::Read(Some(v)) = &op.outcome {
            let known = attempted
                .get(op.key.as_str())
                .is_some_and(|s| s.contains(v.as_str()));
            if !known {
                r.phantom_reads
                    .push(format!("{} read {:?} that nobody wrote", op.key, v));
            }
        }
    }
    // Per key: the writes in order; the final value must be the last acknowledged write or a
    // write after it whose outcome is unknown.
    let mut per_key: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in history {
        if matches!(op.kind, OpKind::Set { .. }) {
            per_key.entry(&op.key).or_default().push(op);
        }
    }
    for (key, ops) in per_key {
        let Some(last_ack) = ops.iter().rposition(|o| o.outcome == Outcome::Written) else {
            continue;
        };
        let acceptable: BTreeSet<&str> = ops[last_ack..]
            .iter()
            .enumerate()
            .filter(|(i, o)| *i == 0 || o.outcome == Outcome::Unknown)
            .filter_map(|(_, o)| match &o.kind {
                OpKind::Set { value } => Some(value.as_str()),
                _ => None,
            })
            .collect();
        let final_value = finals.get(key).cloned().flatten();
        let ok = final_value
            .as_deref()
            .map(|v| acceptable.contains(v))
            .unwrap_or(false);
        if !ok {
            r.lost_writes += 1;
            r.lost_sent_ms.push(ops[last_ack].start_ms);
            if let Some(OpKind::Set { value }) = ops.get(last_ack).map(|o| &o.kind) {
                r.lost
                    .push(format!("{} = {} (now {:?})", key, value, final_value));
            }
        }
    }
    r
}

/// How lost writes relate to power cuts: what `appendfsync` promises is about the writes
/// acknowledged shortly before a crash (always: none lost; everysec: about the last second;
/// no: whatever the OS had not flushed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashLoss {
    /// Lost writes sent before some crash: ms from the write's send to the first crash at
    /// or after it (an upper bound of how long before the crash it was acknowledged), in
    /// ascending order.
    pub ages_ms: Vec<u64>,
    /// Lost writes sent after the last crash (lost some other way: the asynchronous
    /// replication window of a failover, a wiped disk).
    pub without_crash: usize,
}

impl CrashLoss {
    /// The oldest write a crash lost, in ms before the crash.
    pub fn max_age_ms(&self) -> Option<u64> {
        self.ages_ms.last().copied()
    }
}

/// Matches each lost write of `data` with the first crash at or after it was sent.
pub fn crash_loss(data: &DataReport, crashes: &[(String, u64)]) -> CrashLoss {
    let mut out = CrashLoss::default();
    for &sent in &data.lost_sent_ms {
        match crashes
            .iter()
            .map(|(_, at)| *at)
            .filter(|&at| at >= sent)
            .min()
        {
            Some(at) => out.ages_ms.push(at - sent),
            None => out.without_crash += 1,
        }
    }
    out.ages_ms.sort_unstable();
    out
}

//! Invariants 9-11: the protocol rules behind failure detection, elections and slot ownership,
//! checked from the nodes' events and views (scenarios/README.md lists them with 1-8).
//!
//! 9. A node marks a master FAIL on its own only with failure reports from a majority of the
//!    slot-owning masters (Redis's `clusterMarkFailingIfNeeded`), counted in its own view as
//!    Redis counts them (a view that lags, e.g. just reloaded from an old nodes.conf, has fewer).
//! 10. A replica takes over only after a majority of the slot-owning masters (of its own view)
//!     granted it a vote in its election's epoch (`CLUSTER FAILOVER TAKEOVER` excepted, which
//!     needs no agreement).
//! 11. In one node's view a slot never passes to an owner with a lower configEpoch than an owner
//!     it had before (Redis's `clusterUpdateSlotsConfigWith` only yields to newer claims).
//!     Commands (SETSLOT, ADDSLOTS, FORGET, RESET, ...) move slots by fiat and restart the
//!     comparison, as does a node's restart (it reloads an older nodes.conf).
//!
//! 12. No two slot-owning masters hold the same configEpoch, except after a command bumped an
//!     epoch without agreement (TAKEOVER, BUMPEPOCH, SETSLOT) until the collision rule separates
//!     them, and except when two elections of one epoch were both won. Each master grants one
//!     vote per epoch, but each candidate counts its majority against the cluster size of its
//!     own view (Redis's `needed_quorum` from `cluster->size`, evaluated again on every cron);
//!     a view that already saw a failed master's old peers demoted (their slots dropped) but
//!     not yet their successors' claims counts fewer slot-owning masters, and two disjoint
//!     "majorities" can win the same epoch (swarm seed 933 over majority-loss: 5 masters, a
//!     replica that needed 2 of its view's 3). Redis has the same arithmetic and relies on the
//!     collision rule; so the checker lets such a pair share the epoch while faults run, and
//!     convergence (invariants 5/6) requires every slot owner's configEpoch to be distinct
//!     again. (DESIGN.md's invariant 2 says configEpochs "become unique".)
//!
//! They exist because the planted bugs (keyslot::cluster::planted) showed that invariants 1-3
//! alone do not see a FAIL without quorum, a promotion without a majority, or an older claim
//! winning: each of those breaks the protocol without two masters sharing a configEpoch.

use keyslot::cluster::event::ClusterEvent;
use keyslot::cluster::{NodeId, SlotBitmap};
use std::collections::BTreeMap;

/// Slots in the cluster.
const SLOTS: usize = keyslot::slot::SLOT_COUNT;

/// A promotion waiting to be judged once the votes recorded with it are in.
#[derive(Debug, Clone)]
struct PendingPromotion {
    node: String,
    epoch: u64,
    at_ms: u64,
    /// The majority of votes its own view asked for.
    quorum: usize,
}

/// What one node's view of slot ownership looked like when last checked (invariant 11).
#[derive(Debug, Clone)]
struct SlotMemory {
    /// The owners seen last time (id, configEpoch, slots); unchanged views skip the per-slot
    /// comparison.
    last: Vec<(NodeId, u64, SlotBitmap)>,
    /// The highest owner configEpoch seen per slot since the last reset.
    highest: Vec<u64>,
}

/// The state invariants 9-11 carry across steps.
#[derive(Debug, Default)]
pub struct ProtocolChecker {
    /// Node ids by name, as the world learns them (votes name the candidate by id).
    ids: BTreeMap<String, NodeId>,
    /// Voters per (candidate, epoch).
    votes: BTreeMap<(NodeId, u64), Vec<String>>,
    /// Nodes whose next promotion is a TAKEOVER.
    takeovers: BTreeMap<String, ()>,
    pending: Vec<PendingPromotion>,
    /// The nodes that won an election, per epoch (TAKEOVERs not included).
    winners: BTreeMap<u64, Vec<String>>,
    /// A majority of the slot-owning masters, as the nodes count them (the largest count any
    /// live node had at the last check).
    quorum: usize,
    memory: BTreeMap<String, SlotMemory>,
    /// Until then invariants 11 and 12 are not judged (a command's slot moves are still
    /// spreading).
    quiet_until_ms: u64,
    /// Formation is over: redis-cli's create hands out configEpochs one command at a time, so
    /// masters share epoch 0 until it ends.
    formed: bool,
}

/// How long after a command invariant 11 looks away: a few node timeouts of gossip.
const COMMAND_QUIET_MS: u64 = 10_000;

/// A broken rule: the invariant's label, when, and what happened.
pub type Broken = (&'static str, u64, String);

pub const FAIL_QUORUM: &str = "9: FAIL needs a majority of masters";
pub const PROMOTION_MAJORITY: &str = "10: a promotion needs a majority of votes";
pub const NO_OLDER_OWNER: &str = "11: a slot never passes to an older configEpoch";
pub const UNIQUE_CONFIG_EPOCH: &str = "12: masters hold distinct configEpochs";

impl ProtocolChecker {
    /// The world learned (or re-learned) the id of `node`.
    pub fn set_id(&mut self, node: &str, id: NodeId) {
        self.ids.insert(node.to_string(), id);
    }

    /// A node restarted: its view starts again from its nodes.conf.
    pub fn restarted(&mut self, node: &str) {
        self.memory.remove(node);
    }

    /// The cluster formed: from now on invariant 12 holds.
    pub fn formed(&mut self) {
        self.formed = true;
    }

    /// A command may have moved slots by fiat, and its effects spread by gossip for a while:
    /// views are not compared for [`COMMAND_QUIET_MS`], then every view's history starts again.
    pub fn commands_ran(&mut self, at_ms: u64) {
        self.memory.clear();
        self.quiet_until_ms = at_ms + COMMAND_QUIET_MS;
    }

    /// Invariants 9 and 10's evidence, from one node's event.
    pub fn observe_event(&mut self, node: &str, e: &ClusterEvent, at_ms: u64) -> Option<Broken> {
        match e {
            // The majority Redis's rule asks of this node: of the masters owning slots in its
            // own view (a node whose view lags, e.g. just restarted from an old nodes.conf,
            // legitimately counts fewer).
            ClusterEvent::Fail {
                reports,
                by_message: false,
                quorum,
                ..
            } if *reports < *quorum => Some((
                FAIL_QUORUM,
                at_ms,
                format!(
                    "{} marked a node FAIL with {} failure reports; a majority of its view is {}",
                    node, reports, quorum
                ),
            )),
            ClusterEvent::VoteGranted { to, epoch } => {
                self.votes
                    .entry((*to, *epoch))
                    .or_default()
                    .push(node.to_string());
                None
            }
            ClusterEvent::ManualFailover { phase: "takeover" } => {
                self.takeovers.insert(node.to_string(), ());
                None
            }
            ClusterEvent::Promoted { epoch, quorum, .. } => {
                if self.takeovers.remove(node).is_none() {
                    let won = self.winners.entry(*epoch).or_default();
                    if !won.iter().any(|n| n == node) {
                        won.push(node.to_string());
                    }
                    self.pending.push(PendingPromotion {
                        node: node.to_string(),
                        epoch: *epoch,
                        at_ms,
                        quorum: *quorum,
                    });
                }
                None
            }
            _ => None,
        }
    }

    /// Judges the promotions recorded so far (every vote granted before one is recorded with
    /// it or earlier), and remembers the quorum for the next events.
    pub fn after_events(&mut self, quorum: usize) -> Option<Broken> {
        if quorum > 0 {
            self.quorum = quorum;
        }
        let mut broken = None;
        for p in std::mem::take(&mut self.pending) {
            let Some(id) = self.ids.get(&p.node) else {
                continue;
            };
            let voters = self
                .votes
                .get(&(*id, p.epoch))
                .map(|v| v.len())
                .unwrap_or(0);
            if voters < p.quorum && broken.is_none() {
                broken = Some((
                    PROMOTION_MAJORITY,
                    p.at_ms,
                    format!(
                        "{} took over in epoch {} with {} votes granted; a majority of its view is {}",
                        p.node, p.epoch, voters, p.quorum
                    ),
                ));
            }
        }
        broken
    }

    /// Invariant 12 over the masters' own claims: `by_epoch` lists, per configEpoch, the
    /// masters claiming slots with it.
    pub fn check_unique_epochs(
        &self,
        by_epoch: &BTreeMap<u64, Vec<String>>,
        at_ms: u64,
    ) -> Option<Broken> {
        if !self.formed || at_ms < self.quiet_until_ms {
            return None;
        }
        // Two winners of one epoch's elections may share it until the collision rule (or a
        // newer failover) separates them; invariant 10 judged each win on its own view.
        let won_twice = |epoch: &u64, masters: &[String]| {
            self.winners.get(epoch).is_some_and(|w| {
                w.len() > 1 && masters.iter().filter(|m| w.contains(m)).count() == masters.len()
            })
        };
        let (epoch, masters) = by_epoch
            .iter()
            .find(|(e, m)| m.len() > 1 && !won_twice(e, m))?;
        Some((
            UNIQUE_CONFIG_EPOCH,
            at_ms,
            format!("{} all hold configEpoch {}", masters.join(" and "), epoch),
        ))
    }

    /// Invariant 11 over one node's current view: `owners` are (owner id, configEpoch, slots)
    /// of every node holding slots in it. Views that did not change since the last call cost
    /// one comparison.
    pub fn check_view(
        &mut self,
        node: &str,
        owners: Vec<(NodeId, u64, SlotBitmap)>,
        at_ms: u64,
    ) -> Option<Broken> {
        if at_ms < self.quiet_until_ms {
            self.memory.clear();
            return None;
        }
        let m = self
            .memory
            .entry(node.to_string())
            .or_insert_with(|| SlotMemory {
                last: Vec::new(),
                highest: vec![0; SLOTS],
            });
        if m.last == owners {
            return None;
        }
        let mut broken = None;
        for (owner, epoch, slots) in &owners {
            // A slot this owner held with this epoch in the last view was checked then and
            // its highest epoch is at least this one: only slots new to the pair are looked at.
            let before_view = m
                .last
                .iter()
                .find(|(o, e, _)| o == owner && e == epoch)
                .map(|(_, _, s)| s);
            for slot in new_slots(slots, before_view) {
                let slot = slot as usize;
                let Some(before) = m.highest.get(slot).copied() else {
                    continue;
                };
                if *epoch < before && broken.is_none() {
                    broken = Some((
                        NO_OLDER_OWNER,
                        at_ms,
                        format!(
                            "{} gave slot {} to {} with configEpoch {} after an owner with configEpoch {}",
                            node,
                            slot,
                            &owner.as_str()[..8],
                            epoch,
                            before
                        ),
                    ));
                }
                m.highest[slot] = before.max(*epoch);
            }
        }
        m.last = owners;
        broken
    }
}

/// The slots set in `now` and not in `before` (all of `now` when there is no `before`),
/// word by word so an unchanged bitmap costs a few hundred instructions, not 16384 probes.
fn new_slots<'a>(
    now: &'a SlotBitmap,
    before: Option<&'a SlotBitmap>,
) -> impl Iterator<Item = u16> + 'a {
    let now = now.as_bytes();
    let before = before.map(SlotBitmap::as_bytes);
    now.iter()
        .enumerate()
        .map(move |(i, &byte)| (i as u16, byte & !before.map_or(0, |b| b[i])))
        .filter(|&(_, fresh)| fresh != 0)
        .flat_map(|(i, fresh)| {
            (0..8u16)
                .filter(move |bit| fresh & (1 << bit) != 0)
                .map(move |bit| i * 8 + bit)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    fn slots(list: &[u16]) -> SlotBitmap {
        list.iter().copied().collect()
    }

    #[test]
    fn new_slots_are_the_ones_not_held_before() {
        let before = slots(&[1, 2, 3, 9000]);
        let now = slots(&[2, 3, 4, 9000, 16383]);
        assert_eq!(
            new_slots(&now, Some(&before)).collect::<Vec<_>>(),
            vec![4, 16383]
        );
        assert_eq!(new_slots(&now, None).count(), 5);
    }

    /// A slot going back to an owner of an older configEpoch is caught, also when that
    /// owner kept other slots with the same epoch in the previous view.
    #[test]
    fn an_older_owner_taking_a_slot_back_is_caught() {
        let mut p = ProtocolChecker::default();
        let first = vec![(id(b'a'), 1, slots(&[1, 2])), (id(b'b'), 2, slots(&[3]))];
        assert!(p.check_view("n", first, 10).is_none());
        let second = vec![(id(b'a'), 1, slots(&[1])), (id(b'b'), 2, slots(&[2, 3]))];
        assert!(p.check_view("n", second, 20).is_none());
        let third = vec![(id(b'a'), 1, slots(&[1, 2])), (id(b'b'), 2, slots(&[3]))];
        let broken = p.check_view("n", third, 30).map(|b| b.0);
        assert_eq!(broken, Some(NO_OLDER_OWNER));
    }
}

//! What the cluster state machine tells the world it did.
//!
//! Every noteworthy transition becomes one [`ClusterEvent`]. The real node logs them (in Redis's
//! words); the simulator records them with the simulated time as the cluster's story. Nothing
//! parses log text to learn what happened.

use super::NodeId;
use std::fmt;

/// One thing that happened in a node's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    /// A new node entered the table (MEET, gossip, or handshake completion).
    NodeAdded {
        node: NodeId,
        via: &'static str,
    },
    /// A node left the table (FORGET, handshake timeout, duplicate handshake).
    NodeRemoved {
        node: NodeId,
        reason: &'static str,
    },
    /// A handshake node got its real name from its first PONG.
    HandshakeDone {
        node: NodeId,
    },
    /// The outbound bus link to a node came up or went down.
    LinkUp {
        node: NodeId,
    },
    LinkDown {
        node: NodeId,
    },
    /// This node suspects a node is down (no PONG for node-timeout).
    PFail {
        node: NodeId,
    },
    /// A node is marked FAIL, with the number of failure reports that made the quorum (0 when
    /// learned from a FAIL message) and the quorum Redis's rule asks of this node: a majority
    /// of the masters owning slots in its own view (0 when learned from a FAIL message).
    Fail {
        node: NodeId,
        reports: usize,
        by_message: bool,
        quorum: usize,
    },
    /// A FAIL flag was cleared (the node is reachable again).
    FailCleared {
        node: NodeId,
    },
    /// The cluster state of this node changed.
    StateChanged {
        ok: bool,
    },
    /// This node's currentEpoch moved.
    CurrentEpoch {
        epoch: u64,
    },
    /// This node's configEpoch changed, and why.
    ConfigEpoch {
        epoch: u64,
        reason: &'static str,
    },
    /// A replica scheduled an election: its rank and the delay before asking for votes.
    ElectionScheduled {
        rank: u32,
        delay_ms: u64,
    },
    /// A replica asked the masters for votes in `epoch`.
    ElectionStarted {
        epoch: u64,
    },
    /// This master granted its vote to a replica.
    VoteGranted {
        to: NodeId,
        epoch: u64,
    },
    /// This master refused a vote, with Redis's reason.
    VoteDenied {
        to: NodeId,
        reason: &'static str,
    },
    /// A replica received a vote.
    VoteReceived {
        from: NodeId,
        count: usize,
        needed: usize,
    },
    /// The election timed out without a majority.
    ElectionExpired {
        epoch: u64,
    },
    /// This replica was promoted and took its old master's slots; `quorum` is the majority of
    /// votes Redis's rule asks of it (of the slot-owning masters in its own view).
    Promoted {
        epoch: u64,
        previous_master: NodeId,
        quorum: usize,
    },
    /// This node became a replica of a master.
    BecameReplica {
        master: NodeId,
    },
    /// A slot range changed owner in this node's view.
    SlotsChanged {
        owner: NodeId,
        start: u16,
        end: u16,
    },
    /// Slots this node served were taken by a newer claim of another master; the node drops
    /// whatever keys they still hold (and logs how many, when there were any: after a
    /// migration the slot is usually empty).
    SlotsLost {
        count: usize,
    },
    /// Two masters had the same configEpoch; this one took a new one.
    EpochCollision {
        epoch: u64,
    },
    /// A manual failover started (replica side) or the master paused writes for it.
    ManualFailover {
        phase: &'static str,
    },
    /// A replica migrated to an orphaned master.
    ReplicaMigrated {
        to: NodeId,
    },
    /// An UPDATE message corrected this node's view.
    UpdateApplied {
        node: NodeId,
        epoch: u64,
    },
    /// A bus message was dropped as malformed or unexpected.
    MessageDropped {
        reason: String,
    },
    /// A fault point fired (simulator only): which, and what it did.
    FaultInjected {
        point: &'static str,
        detail: String,
    },
    /// An atomic slot migration (CLUSTER MIGRATESLOTS) started, handed over or rolled back.
    SlotMigration {
        detail: String,
    },
}

impl fmt::Display for ClusterEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ClusterEvent::*;
        let short = |n: &NodeId| n.as_str()[..8].to_string();
        match self {
            NodeAdded { node, via } => write!(f, "node {} added ({})", short(node), via),
            NodeRemoved { node, reason } => write!(f, "node {} removed ({})", short(node), reason),
            HandshakeDone { node } => write!(f, "handshake with {} done", short(node)),
            LinkUp { node } => write!(f, "link to {} up", short(node)),
            LinkDown { node } => write!(f, "link to {} down", short(node)),
            PFail { node } => write!(f, "PFAIL {}", short(node)),
            Fail {
                node,
                reports,
                by_message,
                ..
            } => {
                if *by_message {
                    write!(f, "FAIL {} (FAIL message)", short(node))
                } else {
                    write!(f, "FAIL {} (quorum {} reports)", short(node), reports)
                }
            }
            FailCleared { node } => write!(f, "FAIL cleared for {}", short(node)),
            StateChanged { ok } => {
                write!(f, "cluster state {}", if *ok { "ok" } else { "fail" })
            }
            CurrentEpoch { epoch } => write!(f, "currentEpoch {}", epoch),
            ConfigEpoch { epoch, reason } => write!(f, "configEpoch {} ({})", epoch, reason),
            ElectionScheduled { rank, delay_ms } => {
                write!(f, "election scheduled rank {} in {} ms", rank, delay_ms)
            }
            ElectionStarted { epoch } => write!(f, "election started epoch {}", epoch),
            VoteGranted { to, epoch } => write!(f, "vote granted to {} epoch {}", short(to), epoch),
            VoteDenied { to, reason } => write!(f, "vote denied to {}: {}", short(to), reason),
            VoteReceived {
                from,
                count,
                needed,
            } => write!(f, "vote from {} ({}/{})", short(from), count, needed),
            ElectionExpired { epoch } => write!(f, "election epoch {} expired", epoch),
            Promoted {
                epoch,
                previous_master,
                ..
            } => write!(
                f,
                "promoted to master epoch {} (was replica of {})",
                epoch,
                short(previous_master)
            ),
            BecameReplica { master } => write!(f, "became replica of {}", short(master)),
            SlotsChanged { owner, start, end } => {
                if start == end {
                    write!(f, "slot {} -> {}", start, short(owner))
                } else {
                    write!(f, "slots {}-{} -> {}", start, end, short(owner))
                }
            }
            SlotsLost { count } => write!(f, "{} of its slots taken by a newer claim", count),
            EpochCollision { epoch } => write!(f, "configEpoch collision, took {}", epoch),
            ManualFailover { phase } => write!(f, "manual failover: {}", phase),
            ReplicaMigrated { to } => write!(f, "migrated to orphaned master {}", short(to)),
            UpdateApplied { node, epoch } => {
                write!(f, "UPDATE for {} epoch {} applied", short(node), epoch)
            }
            MessageDropped { reason } => write!(f, "bus message dropped: {}", reason),
            FaultInjected { point, detail } => write!(f, "fault point {}: {}", point, detail),
            SlotMigration { detail } => write!(f, "slot migration: {}", detail),
        }
    }
}

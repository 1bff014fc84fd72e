//! Atomic slot migration: Valkey 9's `CLUSTER MIGRATESLOTS`, `CLUSTER GETSLOTMIGRATIONS` and
//! `CLUSTER CANCELSLOTMIGRATIONS`.
//!
//! The legacy way (redis-cli's reshard) moves keys one MIGRATE at a time while the slot is open
//! on both sides, so a failure in the middle leaves a slot half here and half there. The atomic
//! way moves a whole set of slots as one job, driven by the source master:
//!
//! 1. **snapshot**: under the node lock, every key of the slots becomes a `RESTORE ... ABSTTL`
//!    command, and from that instant every write the node replicates for those slots is captured
//!    too ([`capture`]), so snapshot + captured stream = the slots' current contents;
//! 2. **stream** ([`export`]): a task without the lock sends that to the target master over an
//!    ordinary client connection opened with `CLUSTER SYNCSLOTS START`; the target ([`import`])
//!    executes it as it would its master's stream, replicating it to its own replicas and AOF,
//!    while it still does not own the slots (its clients are redirected to the source);
//! 3. **handover**: when little is left to send, the source pauses writes to those slots (only
//!    those), sends the rest and `CLUSTER SYNCSLOTS FINISH`; the target takes the slots with a
//!    configEpoch bump (as `SETSLOT NODE` on an importing node does) and answers; the source then
//!    binds the slots to the target, deletes their keys and unpauses: the waiting clients get
//!    MOVED.
//!
//! Anything else cancels and rolls back: the source keeps the slots and its keys; the target
//! deletes what it received. Which slots a target is importing is itself written to the
//! target's replication stream (`CLUSTER SYNCSLOTS MARK/UNMARK`), so a target replica promoted
//! in the middle, or a target restarted from its AOF, knows which keys are partial and drops
//! them ([`import::cron`]).

pub mod capture;
pub mod export;
pub mod handoff;
pub mod import;

use crate::cluster::NodeId;
use crate::resp::Reply;
use std::collections::BTreeMap;

/// Slot ranges, both ends inclusive, in the order given.
pub type Ranges = Vec<(u16, u16)>;

/// Valkey's `cluster-slot-migration-log-max-len` default: finished jobs kept for
/// GETSLOTMIGRATIONS (active ones are always kept).
pub const LOG_MAX_LEN: usize = 1000;

/// Whether `slot` is in one of `ranges`.
pub fn ranges_contain(ranges: &[(u16, u16)], slot: u16) -> bool {
    ranges.iter().any(|&(s, e)| s <= slot && slot <= e)
}

/// Every slot of `ranges`, in order.
pub fn slots_of(ranges: &[(u16, u16)]) -> impl Iterator<Item = u16> + '_ {
    ranges.iter().flat_map(|&(s, e)| s..=e)
}

/// `0-10 20-29`: GETSLOTMIGRATIONS's slot_ranges text.
pub fn ranges_text(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|(s, e)| format!("{}-{}", s, e))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Appends `start end` arguments for every range (the wire form of MARK, HANDOFF and START).
pub fn push_ranges(argv: &mut Vec<Vec<u8>>, ranges: &[(u16, u16)]) {
    for &(s, e) in ranges {
        argv.push(s.to_string().into_bytes());
        argv.push(e.to_string().into_bytes());
    }
}

/// Which side of the job this node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Export,
    Import,
}

/// A job's state; the last three are terminal (Valkey's names for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Export: opening the connection to the target.
    Connecting,
    /// Sending the snapshot and the captured writes (import: receiving them).
    Streaming,
    /// Export: writes to the slots are paused while the rest is sent.
    Paused,
    /// Export: FINISH was sent, the answer is awaited. Import: the slots are taken, the source
    /// has not said it let go of them yet.
    Handover,
    Success,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            JobState::Connecting => "connecting",
            JobState::Streaming => "streaming",
            JobState::Paused => "waiting-for-handover",
            JobState::Handover => "handover",
            JobState::Success => "success",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn is_active(self) -> bool {
        !matches!(
            self,
            JobState::Success | JobState::Failed | JobState::Cancelled
        )
    }
}

/// One migration job, as this node sees it.
#[derive(Debug, Clone)]
pub struct Job {
    /// 40 hex characters, chosen by the source, the same on both sides.
    pub name: String,
    pub op: Operation,
    pub ranges: Ranges,
    pub source: NodeId,
    pub target: NodeId,
    pub create_unix_ms: u64,
    pub update_unix_ms: u64,
    pub ack_unix_ms: u64,
    pub state: JobState,
    pub message: String,
    /// Export: CANCELSLOTMIGRATIONS asked the driver task to stop.
    pub cancel_requested: bool,
    /// Import: the client id of the source's connection.
    pub link_client: Option<u64>,
    /// Node monotonic ms of the last sign of life from the other side (timeouts).
    pub last_io_ms: u64,
    /// Export: node monotonic ms writes were paused at (0: not paused).
    pub paused_since_ms: u64,
}

/// The node's atomic-migration state.
#[derive(Debug, Default)]
pub struct AtomicState {
    /// Jobs in creation order: the active ones and the last finished ones.
    pub jobs: Vec<Job>,
    /// Export jobs whose driver task must be started (by whoever holds the node's Arc).
    pub spawn: Vec<String>,
    /// Slots being imported atomically, by job name, as written to the replication stream:
    /// keys of these slots on a master that does not own them are partial copies.
    pub marks: BTreeMap<String, Ranges>,
    /// Exports whose handover began, by job name, as written to the replication stream
    /// (`CLUSTER SYNCSLOTS HANDOFF`) before FINISH went to the target: a replica promoted (or
    /// this node restarted from its AOF) before the source deleted the moved keys learns from
    /// it that the copies it holds may now belong to the target ([`export::settle_handoffs`]).
    pub handoffs: BTreeMap<String, Handoff>,
}

/// A handover in progress on the source, as its replicas know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    pub target: NodeId,
    pub ranges: Ranges,
}

impl AtomicState {
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }

    pub fn job_mut(&mut self, name: &str) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|j| j.name == name)
    }

    /// An active job (either side) that covers `slot`.
    pub fn active_for_slot(&self, slot: u16) -> Option<&Job> {
        self.jobs
            .iter()
            .find(|j| j.state.is_active() && ranges_contain(&j.ranges, slot))
    }

    /// Whether writes to `slot` wait: an export of it is in its final pause.
    pub fn write_paused(&self, slot: u16) -> bool {
        self.jobs.iter().any(|j| {
            j.op == Operation::Export
                && matches!(j.state, JobState::Paused | JobState::Handover)
                && ranges_contain(&j.ranges, slot)
        })
    }

    /// Whether any export is paused (the fast path of `write_paused`).
    pub fn any_paused(&self) -> bool {
        self.jobs.iter().any(|j| {
            j.op == Operation::Export && matches!(j.state, JobState::Paused | JobState::Handover)
        })
    }

    /// Whether `slot` is marked as being imported atomically here.
    pub fn marked(&self, slot: u16) -> bool {
        self.marks.values().any(|r| ranges_contain(r, slot))
    }

    /// The active import whose link is client `id`, if it covers `slot`.
    pub fn link_covers(&self, id: u64, slot: u16) -> bool {
        self.jobs.iter().any(|j| {
            j.op == Operation::Import
                && j.state.is_active()
                && j.link_client == Some(id)
                && ranges_contain(&j.ranges, slot)
        })
    }

    /// Adds a job, dropping the oldest finished ones past [`LOG_MAX_LEN`].
    pub fn push(&mut self, job: Job) {
        self.jobs.push(job);
        while self.jobs.len() > LOG_MAX_LEN {
            match self.jobs.iter().position(|j| !j.state.is_active()) {
                Some(i) => {
                    self.jobs.remove(i);
                }
                None => break,
            }
        }
    }

    /// Moves a job to `state` with `message`.
    pub fn set_state(&mut self, name: &str, state: JobState, message: &str, unix_ms: u64) {
        if let Some(j) = self.job_mut(name) {
            j.state = state;
            j.message = message.to_string();
            j.update_unix_ms = unix_ms;
        }
    }

    /// CLUSTER GETSLOTMIGRATIONS: one map per job, oldest first, in Valkey's field order.
    pub fn reply(&self) -> Reply {
        let s = |t: &str| Reply::bulk(t.as_bytes());
        Reply::Array(
            self.jobs
                .iter()
                .map(|j| {
                    Reply::Map(vec![
                        (s("name"), s(&j.name)),
                        (
                            s("operation"),
                            s(match j.op {
                                Operation::Export => "EXPORT",
                                Operation::Import => "IMPORT",
                            }),
                        ),
                        (s("slot_ranges"), s(&ranges_text(&j.ranges))),
                        (s("target_node"), s(&j.target.to_string())),
                        (s("source_node"), s(&j.source.to_string())),
                        (
                            s("create_time"),
                            Reply::Integer((j.create_unix_ms / 1000) as i64),
                        ),
                        (
                            s("last_update_time"),
                            Reply::Integer((j.update_unix_ms / 1000) as i64),
                        ),
                        (
                            s("last_ack_time"),
                            Reply::Integer((j.ack_unix_ms / 1000) as i64),
                        ),
                        (s("state"), s(j.state.name())),
                        (s("message"), s(&j.message)),
                        // keyslot takes the snapshot without forking: no copy-on-write.
                        (s("cow_size"), Reply::Integer(0)),
                    ])
                })
                .collect(),
        )
    }
}

/// Parses `start end [start end ...]` (slot numbers); `Err` names the bad argument.
pub fn parse_ranges(args: &[bytes::Bytes]) -> Result<Ranges, String> {
    if args.is_empty() || !args.len().is_multiple_of(2) {
        return Err("ERR syntax error".into());
    }
    let mut out = Vec::new();
    for pair in args.chunks(2) {
        let parse = |a: &[u8]| -> Result<u16, String> {
            std::str::from_utf8(a)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .filter(|n| (0..crate::slot::SLOT_COUNT as i64).contains(n))
                .map(|n| n as u16)
                .ok_or_else(|| "ERR Invalid or out of range slot".to_string())
        };
        let (s, e) = (parse(&pair[0])?, parse(&pair[1])?);
        if s > e {
            return Err(format!(
                "ERR start slot number {} is greater than end slot number {}",
                s, e
            ));
        }
        if out.iter().any(|&(a, b): &(u16, u16)| !(e < a || b < s)) {
            return Err("ERR Slot ranges overlap".into());
        }
        out.push((s, e));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn ranges_parse_and_print() {
        let r = parse_ranges(&b(&["0", "10", "20", "29"])).unwrap();
        assert_eq!(r, vec![(0, 10), (20, 29)]);
        assert_eq!(ranges_text(&r), "0-10 20-29");
        assert!(ranges_contain(&r, 25) && !ranges_contain(&r, 15));
        assert!(parse_ranges(&b(&["5", "1"])).is_err());
        assert!(parse_ranges(&b(&["0", "16384"])).is_err());
        assert!(parse_ranges(&b(&["0", "10", "5", "6"])).is_err());
        assert!(parse_ranges(&b(&["0"])).is_err());
    }
}

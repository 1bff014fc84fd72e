//! Faults as values: each can be written down, printed in the story, and applied to a world.
//!
//! Nodes are named by a [`Target`] resolved against the world when the fault is applied
//! (`master-0`, `replica-of:master-1`, `owner-of-slot:9189`), so a schedule written before the
//! run still means the same thing after failovers moved roles around.

use crate::world::World;
use std::fmt;
use std::time::Duration;

/// A node chosen when a fault is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A node by its world name (`master-0`, `replica-2`).
    Name(String),
    /// The node that serves slot N now (in the view of the first live node).
    OwnerOfSlot(u16),
    /// The first live replica of the named node (by the replica's own view).
    ReplicaOf(String),
}

impl Target {
    /// Parses `master-0`, `owner-of-slot:9189`, `replica-of:master-1`.
    pub fn parse(s: &str) -> Option<Target> {
        if let Some(slot) = s.strip_prefix("owner-of-slot:") {
            return slot.parse().ok().map(Target::OwnerOfSlot);
        }
        if let Some(master) = s.strip_prefix("replica-of:") {
            return Some(Target::ReplicaOf(master.to_string()));
        }
        if s.is_empty() {
            None
        } else {
            Some(Target::Name(s.to_string()))
        }
    }

    /// The node index this target means now.
    pub fn resolve(&self, world: &World) -> Option<usize> {
        match self {
            Target::Name(n) => world.index_of(n),
            Target::OwnerOfSlot(slot) => {
                let viewer = *world.live_nodes().first()?;
                world.owner_of_slot(viewer, *slot)
            }
            Target::ReplicaOf(master) => world
                .live_nodes()
                .into_iter()
                .find(|&i| world.master_of(i).as_deref() == Some(master.as_str())),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Name(n) => write!(f, "{n}"),
            Target::OwnerOfSlot(s) => write!(f, "owner-of-slot:{s}"),
            Target::ReplicaOf(m) => write!(f, "replica-of:{m}"),
        }
    }
}

/// One fault (or its healing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL: the process stops, its disk stays.
    Kill(Target),
    /// Start a killed node from its disk.
    Restart(Target),
    /// Start a node with an empty disk (a new identity).
    RestartWiped(Target),
    /// SIGSTOP: timers and sockets freeze.
    Pause(Target),
    /// SIGCONT.
    Resume(Target),
    /// Cut a node off from every other cluster node (both directions).
    Isolate(Target),
    /// Split the nodes into groups that cannot reach each other.
    Partition(Vec<Vec<Target>>),
    /// Cut the link from one node to another (one way).
    Cut { from: Target, to: Target },
    /// Restore one cut direction.
    Uncut { from: Target, to: Target },
    /// Every byte a node sends or receives is held (madsim's clog) until unclogged.
    Clog(Target),
    Unclog(Target),
    /// Network latency for every message, in ms (madsim's TCP is reliable: loss is modelled
    /// by cuts and clogs).
    Latency { min_ms: u64, max_ms: u64 },
    /// Restore every link cut or clogged by earlier faults, and default latency.
    Heal,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Kill(t) => write!(f, "kill {t}"),
            Fault::Restart(t) => write!(f, "restart {t}"),
            Fault::RestartWiped(t) => write!(f, "restart {t} with a wiped disk"),
            Fault::Pause(t) => write!(f, "pause {t}"),
            Fault::Resume(t) => write!(f, "resume {t}"),
            Fault::Isolate(t) => write!(f, "isolate {t}"),
            Fault::Partition(groups) => {
                let g: Vec<String> = groups
                    .iter()
                    .map(|g| g.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(","))
                    .collect();
                write!(f, "partition [{}]", g.join("] | ["))
            }
            Fault::Cut { from, to } => write!(f, "cut {from} -> {to}"),
            Fault::Uncut { from, to } => write!(f, "uncut {from} -> {to}"),
            Fault::Clog(t) => write!(f, "clog {t}"),
            Fault::Unclog(t) => write!(f, "unclog {t}"),
            Fault::Latency { min_ms, max_ms } => write!(f, "latency {min_ms}-{max_ms} ms"),
            Fault::Heal => write!(f, "heal"),
        }
    }
}

/// Why a fault could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("no node matches {0}")]
    NoTarget(String),
}

impl World {
    fn target(&self, t: &Target) -> Result<usize, FaultError> {
        t.resolve(self).ok_or_else(|| FaultError::NoTarget(t.to_string()))
    }

    /// Applies one fault now.
    pub fn apply(&mut self, fault: &Fault) -> Result<(), FaultError> {
        match fault {
            Fault::Kill(t) => {
                let i = self.target(t)?;
                self.kill(i);
            }
            Fault::Restart(t) => {
                let i = self.target(t)?;
                self.restart(i);
            }
            Fault::RestartWiped(t) => {
                let i = self.target(t)?;
                self.restart_wiped(i);
            }
            Fault::Pause(t) => {
                let i = self.target(t)?;
                self.pause(i);
            }
            Fault::Resume(t) => {
                let i = self.target(t)?;
                self.resume(i);
            }
            Fault::Isolate(t) => {
                let i = self.target(t)?;
                self.isolate(i);
            }
            Fault::Partition(groups) => {
                let mut resolved = Vec::new();
                for g in groups {
                    let mut v = Vec::new();
                    for t in g {
                        v.push(self.target(t)?);
                    }
                    resolved.push(v);
                }
                self.partition(&resolved);
            }
            Fault::Cut { from, to } => {
                let (a, b) = (self.target(from)?, self.target(to)?);
                self.cut(a, b);
                self.note(fault.to_string());
            }
            Fault::Uncut { from, to } => {
                let (a, b) = (self.target(from)?, self.target(to)?);
                self.uncut(a, b);
                self.note(fault.to_string());
            }
            Fault::Clog(t) => {
                let i = self.target(t)?;
                self.clog_node(i);
            }
            Fault::Unclog(t) => {
                let i = self.target(t)?;
                self.unclog_node(i);
            }
            Fault::Latency { min_ms, max_ms } => {
                let (lo, hi) = (*min_ms, (*max_ms).max(*min_ms + 1));
                madsim::net::NetSim::current().update_config(|c| {
                    c.send_latency = Duration::from_millis(lo)..Duration::from_millis(hi);
                });
                self.note(fault.to_string());
            }
            Fault::Heal => self.heal(),
        }
        Ok(())
    }
}

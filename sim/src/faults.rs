//! Faults as values: each can be written down, printed in the story, and applied to a world.
//!
//! Nodes are named by a [`Target`] resolved against the world when the fault is applied
//! (`master-0`, `replica-of:master-1`, `owner-of-slot:9189`), so a schedule written before the
//! run still means the same thing after failovers moved roles around.

use crate::bus_faults::{direction_name, packet_type_name};
use crate::world::World;
use keyslot::cluster::state::LinkDirection;
use std::collections::BTreeSet;
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
    /// In a partition: every node not named in another group.
    Rest,
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
        if s == "rest" {
            return Some(Target::Rest);
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
            Target::ReplicaOf(master) => {
                let master = Target::parse(master)?.resolve(world)?;
                let name = world.nodes[master].name.clone();
                world
                    .live_nodes()
                    .into_iter()
                    .find(|&i| world.master_of(i).as_deref() == Some(name.as_str()))
            }
            Target::Rest => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Name(n) => write!(f, "{n}"),
            Target::OwnerOfSlot(s) => write!(f, "owner-of-slot:{s}"),
            Target::ReplicaOf(m) => write!(f, "replica-of:{m}"),
            Target::Rest => write!(f, "rest"),
        }
    }
}

/// One fault (or its healing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL: the process stops, its disk stays.
    Kill(Target),
    /// A power cut: the process stops and its disk loses every write not fsynced; `torn`
    /// keeps a seeded prefix of the last unsynced write.
    Crash {
        target: Target,
        torn: bool,
    },
    /// Every write to the node's disk fails with ENOSPC until undone.
    DiskFull(Target),
    /// Every write to the node's disk fails with EIO until undone.
    DiskError(Target),
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
    Cut {
        from: Target,
        to: Target,
    },
    /// Restore one cut direction.
    Uncut {
        from: Target,
        to: Target,
    },
    /// Every byte a node sends or receives is held (madsim's clog) until unclogged.
    Clog(Target),
    Unclog(Target),
    /// Network latency for every message, in ms (madsim's TCP is reliable: loss is modelled
    /// by cuts and clogs).
    Latency {
        min_ms: u64,
        max_ms: u64,
    },
    /// Step a node's wall clock by this many ms (an NTP jump; negative: back).
    ClockJump {
        target: Target,
        by_ms: i64,
    },
    /// Set a node's clock drift in ppm (monotonic and wall time alike).
    ClockDrift {
        target: Target,
        ppm: i64,
    },
    /// `DEBUG CLUSTERLINK KILL` on `target` for its links with `peer`.
    KillClusterLink {
        target: Target,
        peer: Target,
        direction: LinkDirection,
    },
    /// `DEBUG DROP-CLUSTER-PACKET-FILTER`: `target` drops incoming bus packets of this type.
    DropPackets {
        target: Target,
        kind: u16,
    },
    /// The node's cluster cron runs every this many ms (a process starved of CPU).
    SlowTick {
        target: Target,
        every_ms: u64,
    },
    /// Restore every link cut or clogged by earlier faults, and default latency.
    Heal,
    /// Heal, and also restart every killed node and resume every paused one.
    Recover,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Kill(t) => write!(f, "kill {t}"),
            Fault::Crash { target, torn } => {
                write!(f, "crash {target}{}", if *torn { " (torn)" } else { "" })
            }
            Fault::DiskFull(t) => write!(f, "disk full on {t}"),
            Fault::DiskError(t) => write!(f, "disk errors on {t}"),
            Fault::Restart(t) => write!(f, "restart {t}"),
            Fault::RestartWiped(t) => write!(f, "restart {t} with a wiped disk"),
            Fault::Pause(t) => write!(f, "pause {t}"),
            Fault::Resume(t) => write!(f, "resume {t}"),
            Fault::Isolate(t) => write!(f, "isolate {t}"),
            Fault::Partition(groups) => {
                let g: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|t| t.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .collect();
                write!(f, "partition [{}]", g.join("] | ["))
            }
            Fault::Cut { from, to } => write!(f, "cut {from} -> {to}"),
            Fault::Uncut { from, to } => write!(f, "uncut {from} -> {to}"),
            Fault::Clog(t) => write!(f, "clog {t}"),
            Fault::Unclog(t) => write!(f, "unclog {t}"),
            Fault::Latency { min_ms, max_ms } => write!(f, "latency {min_ms}-{max_ms} ms"),
            Fault::ClockJump { target, by_ms } => write!(f, "clock jump {target} {by_ms:+} ms"),
            Fault::ClockDrift { target, ppm } => write!(f, "clock drift {target} {ppm:+} ppm"),
            Fault::KillClusterLink {
                target,
                peer,
                direction,
            } => write!(
                f,
                "kill cluster link {target} {} {peer}",
                direction_name(*direction)
            ),
            Fault::DropPackets { target, kind } => {
                write!(f, "drop {} packets at {target}", packet_type_name(*kind))
            }
            Fault::SlowTick { target, every_ms } => {
                write!(f, "slow tick {target} every {every_ms} ms")
            }
            Fault::Heal => write!(f, "heal"),
            Fault::Recover => write!(f, "recover (heal, restart, resume all)"),
        }
    }
}

/// Why a fault could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("no node matches {0}")]
    NoTarget(String),
    #[error(transparent)]
    Clock(#[from] keyslot::clock::ClockError),
}

/// How to take back one applied fault (a fault with a duration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    Restart(usize),
    Resume(usize),
    /// Restore exactly the directed links the fault cut.
    Uncut(Vec<(usize, usize)>),
    Unclog(usize),
    Latency,
    /// Writes to this node's disk succeed again.
    DiskHealthy(usize),
    /// Step this node's wall clock back by what the fault stepped it.
    ClockStep(usize, i64),
    /// Restore this node's earlier drift.
    ClockDrift(usize, i64),
    /// The node drops no bus packets again.
    DropNone(usize),
    /// The node's cron runs every 100 ms again.
    NormalTick(usize),
    Nothing,
}

impl World {
    fn target(&self, t: &Target) -> Result<usize, FaultError> {
        t.resolve(self)
            .ok_or_else(|| FaultError::NoTarget(t.to_string()))
    }

    /// Applies one fault now; returns how to undo it.
    pub fn apply(&mut self, fault: &Fault) -> Result<Undo, FaultError> {
        let undo = match fault {
            Fault::Kill(t) => {
                let i = self.target(t)?;
                self.kill(i);
                Undo::Restart(i)
            }
            Fault::Crash { target, torn } => {
                let i = self.target(target)?;
                self.crash(i, *torn);
                Undo::Restart(i)
            }
            Fault::DiskFull(t) => {
                let i = self.target(t)?;
                self.disk_fault(i, Some(keyslot::storage::DiskFault::NoSpace));
                Undo::DiskHealthy(i)
            }
            Fault::DiskError(t) => {
                let i = self.target(t)?;
                self.disk_fault(i, Some(keyslot::storage::DiskFault::Io));
                Undo::DiskHealthy(i)
            }
            Fault::Restart(t) => {
                let i = self.target(t)?;
                self.restart(i);
                Undo::Nothing
            }
            Fault::RestartWiped(t) => {
                let i = self.target(t)?;
                self.restart_wiped(i);
                Undo::Nothing
            }
            Fault::Pause(t) => {
                let i = self.target(t)?;
                self.pause(i);
                Undo::Resume(i)
            }
            Fault::Resume(t) => {
                let i = self.target(t)?;
                self.resume(i);
                Undo::Nothing
            }
            Fault::Isolate(t) => {
                let i = self.target(t)?;
                Undo::Uncut(self.isolate(i))
            }
            Fault::Partition(groups) => {
                let mut resolved: Vec<Vec<usize>> = Vec::new();
                let mut rest_at = None;
                for g in groups {
                    let mut v = Vec::new();
                    for t in g {
                        if *t == Target::Rest {
                            rest_at = Some(resolved.len());
                        } else {
                            v.push(self.target(t)?);
                        }
                    }
                    resolved.push(v);
                }
                if let Some(r) = rest_at {
                    let named: Vec<usize> = resolved.iter().flatten().copied().collect();
                    let rest = (0..self.nodes.len()).filter(|i| !named.contains(i));
                    resolved[r].extend(rest);
                }
                Undo::Uncut(self.partition(&resolved))
            }
            Fault::Cut { from, to } => {
                let (a, b) = (self.target(from)?, self.target(to)?);
                self.cut(a, b);
                self.note(fault.to_string());
                Undo::Uncut(vec![(a, b)])
            }
            Fault::Uncut { from, to } => {
                let (a, b) = (self.target(from)?, self.target(to)?);
                self.uncut(a, b);
                self.note(fault.to_string());
                Undo::Nothing
            }
            Fault::Clog(t) => {
                let i = self.target(t)?;
                self.clog_node(i);
                Undo::Unclog(i)
            }
            Fault::Unclog(t) => {
                let i = self.target(t)?;
                self.unclog_node(i);
                Undo::Nothing
            }
            Fault::Latency { min_ms, max_ms } => {
                let (lo, hi) = (*min_ms, (*max_ms).max(*min_ms + 1));
                madsim::net::NetSim::current().update_config(|c| {
                    c.send_latency = Duration::from_millis(lo)..Duration::from_millis(hi);
                });
                self.note(fault.to_string());
                Undo::Latency
            }
            Fault::ClockJump { target, by_ms } => {
                let i = self.target(target)?;
                self.clock_jump(i, *by_ms);
                Undo::ClockStep(i, -by_ms)
            }
            Fault::ClockDrift { target, ppm } => {
                let i = self.target(target)?;
                let before = self.clock_drift_ppm(i);
                self.clock_drift(i, *ppm)?;
                Undo::ClockDrift(i, before)
            }
            Fault::KillClusterLink {
                target,
                peer,
                direction,
            } => {
                let (i, p) = (self.target(target)?, self.target(peer)?);
                self.kill_cluster_link(i, p, *direction);
                Undo::Nothing
            }
            Fault::DropPackets { target, kind } => {
                let i = self.target(target)?;
                self.drop_packets(i, Some(*kind));
                Undo::DropNone(i)
            }
            Fault::SlowTick { target, every_ms } => {
                let i = self.target(target)?;
                self.slow_tick(i, *every_ms);
                Undo::NormalTick(i)
            }
            Fault::Heal => {
                self.heal();
                Undo::Nothing
            }
            Fault::Recover => {
                self.recover();
                Undo::Nothing
            }
        };
        Ok(undo)
    }

    /// Takes back a fault whose duration ended (if it still applies: a node killed meanwhile
    /// is not resumed, a node restarted meanwhile is not restarted again).
    pub fn undo(&mut self, undo: &Undo) {
        match undo {
            Undo::Restart(i) => {
                if !self.nodes[*i].alive {
                    self.restart(*i);
                }
            }
            Undo::Resume(i) => {
                if self.nodes[*i].alive && self.nodes[*i].paused {
                    self.resume(*i);
                }
            }
            Undo::Uncut(links) => {
                self.uncut_all(links);
                let names: BTreeSet<String> = links
                    .iter()
                    .flat_map(|(a, b)| [*a, *b])
                    .map(|i| self.nodes[i].name.clone())
                    .collect();
                let names: Vec<String> = names.into_iter().collect();
                self.note(format!("reconnect {}", names.join(",")));
            }
            Undo::Unclog(i) => self.unclog_node(*i),
            Undo::DiskHealthy(i) => {
                if self.nodes[*i].disk_fault.is_some() {
                    self.disk_fault(*i, None);
                }
            }
            Undo::Latency => {
                madsim::net::NetSim::current().update_config(|c| {
                    c.send_latency = Duration::from_millis(1)..Duration::from_millis(10);
                });
                self.note("default latency".to_string());
            }
            Undo::ClockStep(i, by_ms) => self.clock_jump(*i, *by_ms),
            Undo::ClockDrift(i, ppm) => {
                // The drift was accepted before; restoring it cannot be out of range.
                let _ = self.clock_drift(*i, *ppm);
            }
            Undo::DropNone(i) => self.drop_packets(*i, None),
            Undo::NormalTick(i) => self.slow_tick(*i, 0),
            Undo::Nothing => {}
        }
    }
}

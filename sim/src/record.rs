//! One explore run as a record: what the summary table needs, and nothing that depends on the
//! machine (no wall time in what the table reads), so a table merged from shards run on many
//! machines equals the table one process prints for the same seeds.
//!
//! Records travel as JSON lines (`explore --json FILE`, read back by `keyslot-sim merge`).

use crate::faults::Fault;
use crate::run::{RunFailure, RunReport};
use crate::scenario::{Action, Scenario};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// How explore built a run's scenario from its base file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The file's own timeline at every seed.
    AsWritten,
    /// A random fault schedule inside the file's world ([`crate::schedule`]).
    Random,
    /// A world and a schedule both drawn from the seed ([`crate::swarm`]).
    Swarm,
}

impl Mode {
    /// The replay flags for this mode.
    pub fn flags(self) -> &'static str {
        match self {
            Mode::AsWritten => "",
            Mode::Random => " --random",
            Mode::Swarm => " --random --swarm",
        }
    }
}

/// The failure classes, kept apart because each means something different: a safety violation
/// is a wrong answer, a liveness failure a cluster that did not recover within its budget once
/// the faults were gone, a panic a crash of the node or of the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    /// Invariants 1-4, 9-13 and node identity.
    Safety,
    /// Invariants 5-8: convergence, cluster_state, replicas in sync, failover bounds.
    Liveness,
    Panic,
    /// A scenario expectation, a command or formation (the run did not test what it meant to).
    Other,
}

impl Verdict {
    /// The class of a failed run's invariant.
    pub fn of_invariant(invariant: &str) -> Verdict {
        match invariant {
            // 9-12: the protocol checks (sim/src/protocol_check.rs); 13: every key in one place.
            "1" | "2" | "3" | "4" | "9" | "10" | "11" | "12" | "13" | "identity" => Verdict::Safety,
            "5/6" | "5" | "6" | "7" | "8" => Verdict::Liveness,
            _ => Verdict::Other,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::Safety => "safety",
            Verdict::Liveness => "liveness",
            Verdict::Panic => "panic",
            Verdict::Other => "other",
        })
    }
}

/// One run, as explore's table and `merge` see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The base file's scenario name (the table's row).
    pub scenario: String,
    /// The base file's path as explore was given it (for the replay command).
    pub path: String,
    pub mode: Mode,
    pub seed: u64,
    pub verdict: Verdict,
    /// The broken invariant ("1".."8", "5/6", "identity", ...) or the panic's "panic".
    pub invariant: Option<String>,
    /// The first line of the failure message or the panic payload.
    pub message: Option<String>,
    /// `masters x replicas-per-master` of the world that ran.
    pub topology: String,
    /// The kind of every fault the run injected (one per drawn fault).
    pub fault_kinds: Vec<String>,
    pub acknowledged_writes: usize,
    pub lost_writes: usize,
    /// Fault-to-promotion times of the masters the schedule faulted.
    pub failovers_ms: Vec<u64>,
    pub promotions: usize,
    pub simulated_ms: u64,
    /// Wall time of the run on its machine: reported in notes, never in the table.
    pub wall_ms: u64,
    /// Coverage marks the run hit, with how often (keyslot::marks); a panic's run has none.
    #[serde(default)]
    pub marks: std::collections::BTreeMap<String, u64>,
}

/// What a run ended with, panics included.
pub enum Outcome {
    Report(RunReport),
    Failure(RunFailure),
    Panic(String),
}

impl Outcome {
    /// A caught panic's payload as text.
    pub fn panic(payload: Box<dyn std::any::Any + Send>) -> Outcome {
        let text = if let Some(s) = payload.downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "(a panic without a message)".to_string()
        };
        Outcome::Panic(text)
    }
}

/// A run's marks with owned names (records travel as JSON).
fn owned_marks(m: &crate::run::Marks) -> std::collections::BTreeMap<String, u64> {
    m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The label of a timeline fault, for runs whose faults were not drawn by a swarm model.
pub fn fault_label(f: &Fault) -> &'static str {
    match f {
        Fault::Kill(_) => "kill",
        Fault::Crash { .. } => "crash",
        Fault::DiskFull(_) => "disk-full",
        Fault::DiskError(_) => "disk-error",
        Fault::Pause(_) => "pause",
        Fault::Isolate(_) => "isolate",
        Fault::Partition(groups) if groups.len() == 2 && groups.iter().all(|g| g.len() == 1) => {
            "cut-pair"
        }
        Fault::Partition(_) => "partition",
        Fault::Cut { .. } => "one-way",
        Fault::Clog(_) => "clog",
        Fault::Latency { .. } => "latency",
        Fault::RestartWiped(_) => "wipe",
        _ => "heal",
    }
}

/// The fault labels of a scenario's timeline (healing steps left out).
pub fn timeline_labels(sc: &Scenario) -> Vec<String> {
    sc.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Fault(f) => Some(fault_label(f)),
            _ => None,
        })
        .filter(|l| *l != "heal")
        .map(str::to_string)
        .collect()
}

impl RunRecord {
    /// The record of one run of `sc` (built from `base` in `mode`).
    pub fn new(
        base: &Scenario,
        sc: &Scenario,
        mode: Mode,
        seed: u64,
        fault_kinds: Vec<String>,
        outcome: Outcome,
        wall_ms: u64,
    ) -> RunRecord {
        let replicas_per_master = sc.world.replicas / sc.world.masters.max(1);
        let mut r = RunRecord {
            scenario: base.name.clone(),
            path: base.path.clone(),
            mode,
            seed,
            verdict: Verdict::Ok,
            invariant: None,
            message: None,
            topology: format!("{}x{}", sc.world.masters, replicas_per_master),
            fault_kinds,
            acknowledged_writes: 0,
            lost_writes: 0,
            failovers_ms: Vec::new(),
            promotions: 0,
            simulated_ms: 0,
            wall_ms,
            marks: Default::default(),
        };
        match outcome {
            Outcome::Report(rep) => {
                if let Some(d) = &rep.data {
                    r.acknowledged_writes = d.acknowledged_writes;
                    r.lost_writes = d.lost_writes;
                }
                r.failovers_ms = rep.failovers_ms;
                r.promotions = rep.promotions;
                r.simulated_ms = rep.simulated_ms;
                r.marks = owned_marks(&rep.marks);
            }
            Outcome::Failure(f) => {
                r.verdict = Verdict::of_invariant(&f.invariant);
                r.marks = owned_marks(&f.marks);
                r.message = Some(f.message.lines().next().unwrap_or("").to_string());
                r.invariant = Some(f.invariant);
            }
            Outcome::Panic(text) => {
                r.verdict = Verdict::Panic;
                r.invariant = Some("panic".into());
                r.message = Some(text.lines().next().unwrap_or("").to_string());
            }
        }
        r
    }

    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        format!(
            "keyslot-sim replay {} --seed {}{}",
            self.path,
            self.seed,
            self.mode.flags()
        )
    }

    /// The command that shrinks this run's schedule (random and swarm runs).
    pub fn shrink_command(&self) -> Option<String> {
        match self.mode {
            Mode::AsWritten => None,
            Mode::Random => Some(format!(
                "keyslot-sim shrink {} --seed {}",
                self.path, self.seed
            )),
            Mode::Swarm => Some(format!(
                "keyslot-sim shrink {} --seed {} --swarm",
                self.path, self.seed
            )),
        }
    }
}

/// A JSON-lines file that could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: not a run record: {source}")]
    Parse {
        file: String,
        line: usize,
        source: serde_json::Error,
    },
}

/// One record as a JSON line (no newline).
pub fn to_json_line(r: &RunRecord) -> String {
    // A struct of strings, numbers and enums always serialises.
    serde_json::to_string(r).unwrap_or_default()
}

/// Reads the records of one JSON-lines file (blank lines skipped).
pub fn read_records(path: &Path) -> Result<Vec<RunRecord>, RecordError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RecordError::Io {
        file: file.clone(),
        source,
    })?;
    parse_records(&text, &file)
}

/// Parses JSON lines; `file` names them in errors.
pub fn parse_records(text: &str, file: &str) -> Result<Vec<RunRecord>, RecordError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r = serde_json::from_str(line).map_err(|source| RecordError::Parse {
            file: file.to_string(),
            line: n + 1,
            source,
        })?;
        out.push(r);
    }
    Ok(out)
}

/// Which seeds a shard runs: `--shard I/N` takes the seeds s with
/// `(s - first_seed) % N == I`, so every shard gets a mix of early and late seeds (and the
/// same share of slow worlds) and N shards together run each seed exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// A `--shard` argument that is not `I/N` with I < N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shard {0:?}: write I/N with 0 <= I < N (e.g. 0/4)")]
pub struct ShardError(pub String);

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The whole range as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn owns(&self, seed: u64, first_seed: u64) -> bool {
        seed.wrapping_sub(first_seed) % self.count == self.index
    }

    /// This shard's seeds of `first_seed .. first_seed + seeds`.
    pub fn seeds(&self, first_seed: u64, seeds: u64) -> Vec<u64> {
        (first_seed..first_seed.saturating_add(seeds))
            .filter(|&s| self.owns(s, first_seed))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_seeds() {
        let all: Vec<u64> = (0..4)
            .flat_map(|i| Shard { index: i, count: 4 }.seeds(1, 10))
            .collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=10).collect::<Vec<_>>());
        assert_eq!(Shard { index: 1, count: 4 }.seeds(1, 10), vec![2, 6, 10]);
        assert!("4/4".parse::<Shard>().is_err());
        assert!("x/2".parse::<Shard>().is_err());
        assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
    }

    #[test]
    fn a_bad_line_names_file_and_line() {
        let e = parse_records("\n{\"nope\": 1}\n", "f.jsonl").unwrap_err();
        assert!(
            e.to_string().starts_with("f.jsonl:2: not a run record"),
            "{e}"
        );
    }
}

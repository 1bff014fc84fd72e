//! Scenario files: `scenarios/*.toml` parsed into a [`Scenario`], and written back (what
//! `keyslot-sim shrink` produces). The format is documented with an example per field in
//! `scenarios/README.md`.
//!
//! Every error names the file, the line and the field: toml's spans locate syntax and type
//! errors, and the fields whose meaning depends on the topology (node names) keep their spans
//! until they are checked.

use crate::bus_faults::{direction_name, parse_direction, parse_packet_type};
use crate::client::Workload;
use crate::clocks::{ClockSetup, NodeClock};
use crate::faults::{Fault, Target};
use crate::world::WorldConfig;
use keyslot::clock::DRIFT_PPM_MAX;
use keyslot::cluster::planted::{Planted, PlantedSet};
use keyslot::faultpoint::FaultPoint;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};
use std::path::Path;
use toml::Spanned;

/// A parsed, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The seed `cargo test` and `run` use when no other is given.
    pub seed: u64,
    /// Where it was read from (error messages, replay commands).
    pub path: String,
    pub world: WorldConfig,
    /// Workload clients started once the cluster formed; they run until the timeline ends.
    pub clients: usize,
    pub workload: Workload,
    /// In time order (stable for equal times).
    pub steps: Vec<Step>,
    pub expect: Expect,
    /// Whether the snapshot keeps the nodes' events during formation (only `form` needs them).
    pub snapshot_formation: bool,
}

/// One timeline entry: at `at_ms` after the cluster formed, do `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub at_ms: u64,
    pub action: Action,
    /// Undo the fault after this long (restart a killed node, reconnect, resume, unclog).
    pub for_ms: Option<u64>,
    /// Invariant 8 for this step's node: a replica replaces it within this bound.
    pub failover_within_ms: Option<u64>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Fault(Fault),
    /// Send a command to nodes, as redis-cli would; `expect` is a prefix of the reply text.
    Command {
        nodes: Vec<Target>,
        args: Vec<String>,
        expect: Option<String>,
        follow_redirects: bool,
    },
    /// Move one slot's keys the way `redis-cli --cluster reshard` does: IMPORTING on `to`,
    /// MIGRATING on `from`, GETKEYSINSLOT + MIGRATE ... KEYS in batches of `pipeline`, then
    /// SETSLOT NODE on `to`, `from` and every other master.
    MigrateSlot {
        slot: u16,
        from: Target,
        to: Target,
        pipeline: usize,
    },
    /// Start an atomic slot migration: `CLUSTER MIGRATESLOTS SLOTSRANGE ... NODE to` on
    /// `from`; with `wait`, poll `CLUSTER GETSLOTMIGRATIONS` on `from` until the job ends.
    MigrateSlotsAtomic {
        ranges: Vec<(u16, u16)>,
        from: Target,
        to: Target,
        wait: bool,
    },
    /// Keep a copy of a node's nodes.conf (to write it back later, stale).
    SaveNodesConf(Target),
    /// Write the saved copy back to the node's disk (a stale nodes.conf for its next start).
    RestoreNodesConf(Target),
    Check(Check),
}

/// What a node's role should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleWant {
    Master,
    Replica,
    ReplicaOf(Target),
    Down,
}

/// Assertions about the cluster at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    pub roles: Vec<(Target, RoleWant)>,
    /// cluster_state: true = ok.
    pub state: Vec<(Target, bool)>,
    /// Slot ranges a master serves (its own view).
    pub slots: Vec<(Target, Vec<(u16, u16)>)>,
    /// Number of live replicas that follow a node.
    pub replicas: Vec<(Target, usize)>,
    /// (viewer, node, whether the viewer has it in its table).
    pub knows: Vec<(Target, Target, bool)>,
    /// Invariants 5 and 6 hold now.
    pub converged: bool,
    /// Every master serves the slots it served right after formation, with the same
    /// configEpoch and id.
    pub slot_map_as_formed: bool,
}

/// What a run must show besides the safety invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// After the last step, invariants 5 and 6 must hold within this bound.
    pub liveness_within_ms: u64,
    /// Acknowledged writes that may be lost (None: counted, not limited).
    pub lost_writes: Option<usize>,
    /// Every lost write must have been acknowledged at most this long before a `crash`
    /// (appendfsync everysec's promise); a write lost with no crash after it fails.
    pub lost_writes_within_ms: Option<u64>,
    /// Exactly this many promotions after formation.
    pub promotions: Option<usize>,
    /// Which invariants are checked (1-8 of DESIGN.md, 9-13 of scenarios/README.md).
    pub invariants: BTreeSet<u8>,
    /// The run must fail with this invariant (a planted bug's scenario).
    pub fails_with: Option<String>,
    /// Coverage marks (keyslot::marks) the run must hit: proof that it reached the rare path it
    /// claims to test.
    pub marks: Vec<String>,
    /// Checked at the end, after liveness.
    pub final_check: Option<Check>,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            liveness_within_ms: 15_000,
            lost_writes: None,
            lost_writes_within_ms: None,
            promotions: None,
            invariants: (1..=13).collect(),
            fails_with: None,
            marks: Vec::new(),
            final_check: None,
        }
    }
}

impl Expect {
    pub fn checks(&self, invariant: u8) -> bool {
        self.invariants.contains(&invariant)
    }
}

/// A scenario file that could not be read: file, line, field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: field `{}`: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

impl std::error::Error for ScenarioError {}

// ----- the file's shape (serde) --------------------------------------------------------------

/// A duration written as `"10s"`, `"500ms"`, `"1.5s"` or `"2m"`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dur(u64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(Dur).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid duration {s:?} (write e.g. \"10s\", \"500ms\", \"1.5s\", \"2m\")"
            ))
        })
    }
}

/// Parses `"10s"`, `"500ms"`, `"1.5s"`, `"2m"` into milliseconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    let v: f64 = number.trim().parse().ok()?;
    if !(0.0..1e12).contains(&v) {
        return None;
    }
    Some((v * scale).round() as u64)
}

/// A signed duration, `"-4s"` or `"+500ms"` or `"4s"`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SignedDur(i64);

impl<'de> Deserialize<'de> for SignedDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SignedDur, D::Error> {
        let s = String::deserialize(d)?;
        parse_signed_duration(&s).map(SignedDur).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid signed duration {s:?} (write e.g. \"-4s\", \"+500ms\", \"4s\")"
            ))
        })
    }
}

/// Parses `"-4s"`, `"+500ms"`, `"4s"` into signed milliseconds.
pub fn parse_signed_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    parse_duration(rest).map(|ms| sign * ms as i64)
}

/// Renders signed milliseconds the way files write them (`"-4s"`, `"+500ms"`).
pub fn format_signed_duration(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "+" };
    format!("{sign}{}", format_duration(ms.unsigned_abs()))
}

/// Renders milliseconds the way files write them.
pub fn format_duration(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}ms", ms)
    }
}

/// One name or a list of names.
#[derive(Debug, Clone)]
struct Names(Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node (\"master-0\") or a list of nodes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Names, E> {
                Ok(Names(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Names(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScenario {
    name: Option<String>,
    description: Option<String>,
    seed: u64,
    #[serde(default)]
    topology: Option<Spanned<TopologyFile>>,
    #[serde(default)]
    config: Option<ConfigFile>,
    #[serde(default)]
    workload: Option<WorkloadFile>,
    #[serde(default)]
    step: Vec<Spanned<StepFile>>,
    #[serde(default)]
    expect: Option<Spanned<ExpectFile>>,
    #[serde(default)]
    snapshot: Option<SnapshotFile>,
    #[serde(default)]
    clocks: Option<Spanned<ClocksFile>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClocksFile {
    max_offset: Option<Dur>,
    max_drift_ppm: Option<i64>,
    #[serde(default)]
    node: BTreeMap<String, NodeClockFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NodeClockFile {
    offset: Option<SignedDur>,
    drift_ppm: Option<i64>,
}

/// `fault_points = true` (all of them) or a list of names.
#[derive(Deserialize)]
#[serde(untagged)]
enum FaultPointsFile {
    All(bool),
    Some(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopologyFile {
    masters: Option<usize>,
    replicas: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    node_timeout: Option<Dur>,
    #[serde(default)]
    extra_args: Vec<String>,
    /// Kept for files written before `planted`: the same as `planted = ["double-vote"]`.
    #[serde(default)]
    planted_double_vote: bool,
    #[serde(default)]
    planted: Vec<String>,
    fault_points: Option<Spanned<FaultPointsFile>>,
    /// Bus and replication over TLS (see `WorldConfig::tls`).
    #[serde(default)]
    tls: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WorkloadFile {
    clients: Option<usize>,
    keys: Option<usize>,
    rate: Option<u64>,
    write_percent: Option<u32>,
    op_timeout: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    at: Dur,
    kill: Option<Spanned<String>>,
    crash: Option<Spanned<String>>,
    torn: Option<bool>,
    disk_full: Option<Spanned<String>>,
    disk_error: Option<Spanned<String>>,
    restart: Option<Spanned<String>>,
    restart_wiped: Option<Spanned<String>>,
    pause: Option<Spanned<String>>,
    resume: Option<Spanned<String>>,
    isolate: Option<Spanned<String>>,
    clog: Option<Spanned<String>>,
    unclog: Option<Spanned<String>>,
    partition: Option<Spanned<Vec<Vec<String>>>>,
    cut: Option<Spanned<LinkFile>>,
    uncut: Option<Spanned<LinkFile>>,
    latency: Option<[Dur; 2]>,
    heal: Option<bool>,
    recover: Option<bool>,
    command: Option<Spanned<CommandFile>>,
    migrate_slot: Option<Spanned<MigrateSlotFile>>,
    migrate_slots_atomic: Option<Spanned<MigrateSlotsAtomicFile>>,
    save_nodes_conf: Option<Spanned<String>>,
    restore_nodes_conf: Option<Spanned<String>>,
    check: Option<Spanned<CheckFile>>,
    clock_jump: Option<Spanned<ClockJumpFile>>,
    clock_drift: Option<Spanned<ClockDriftFile>>,
    kill_cluster_link: Option<Spanned<KillLinkFile>>,
    drop_packets: Option<Spanned<DropPacketsFile>>,
    slow_tick: Option<Spanned<SlowTickFile>>,
    #[serde(rename = "for")]
    for_: Option<Dur>,
    failover_within: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockJumpFile {
    node: String,
    by: SignedDur,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockDriftFile {
    node: String,
    ppm: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KillLinkFile {
    node: String,
    peer: String,
    direction: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DropPacketsFile {
    node: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowTickFile {
    node: String,
    every: Dur,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkFile {
    from: String,
    to: String,
    #[serde(default)]
    both: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandFile {
    node: Names,
    args: Vec<String>,
    expect: Option<String>,
    #[serde(default)]
    follow_redirects: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrateSlotFile {
    slot: u16,
    from: String,
    to: String,
    pipeline: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrateSlotsAtomicFile {
    slots: String,
    from: String,
    to: String,
    wait: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    #[serde(default)]
    roles: BTreeMap<String, String>,
    #[serde(default)]
    state: BTreeMap<String, String>,
    #[serde(default)]
    slots: BTreeMap<String, String>,
    #[serde(default)]
    replicas: BTreeMap<String, usize>,
    #[serde(default)]
    knows: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    forgot: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    converged: bool,
    slot_map: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    liveness_within: Option<Dur>,
    lost_writes: Option<usize>,
    lost_writes_within: Option<Dur>,
    promotions: Option<usize>,
    invariants: Option<Vec<u8>>,
    fails_with: Option<String>,
    #[serde(default)]
    marks: Vec<String>,
    #[serde(rename = "final")]
    final_: Option<CheckFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SnapshotFile {
    #[serde(default)]
    formation: bool,
}

// ----- parsing and checking ------------------------------------------------------------------

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: 0,
        field: "-".into(),
        message: e.to_string(),
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse(&text, &file, &stem)
}

/// Line (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The key written on a line (`at = "10s"` -> `at`), for toml's own errors.
fn key_on_line(text: &str, line: usize) -> String {
    let l = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let l = l.trim();
    if l.starts_with('[') {
        return l.trim_matches(|c| c == '[' || c == ']').to_string();
    }
    l.split('=').next().unwrap_or("").trim().to_string()
}

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
    names: Vec<String>,
}

impl Ctx<'_> {
    fn err(&self, span: std::ops::Range<usize>, field: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: line_of(self.text, span.start),
            field: field.to_string(),
            message,
        }
    }

    fn target(
        &self,
        s: &str,
        span: std::ops::Range<usize>,
        field: &str,
        allow_rest: bool,
    ) -> Result<Target, ScenarioError> {
        let bad = |m: String| self.err(span.clone(), field, m);
        let t = Target::parse(s).ok_or_else(|| bad(format!("empty node selector {s:?}")))?;
        match &t {
            Target::Name(n) if !self.names.contains(n) => Err(bad(format!(
                "no node named {n:?} (this topology has {})",
                self.names.join(", ")
            ))),
            Target::OwnerOfSlot(slot) if *slot > 16383 => {
                Err(bad(format!("slot {slot} is out of range 0-16383")))
            }
            Target::ReplicaOf(m) => {
                self.target(m, span.clone(), field, false)?;
                Ok(t)
            }
            Target::Rest if !allow_rest => Err(bad(
                "`rest` (every other node) is only meaningful in a partition".into(),
            )),
            _ => Ok(t),
        }
    }

    fn check(
        &self,
        c: &CheckFile,
        span: std::ops::Range<usize>,
        field: &str,
    ) -> Result<Check, ScenarioError> {
        let mut out = Check {
            converged: c.converged,
            ..Check::default()
        };
        let sub = |k: &str| format!("{field}.{k}");
        for (node, want) in &c.roles {
            let t = self.target(node, span.clone(), &sub("roles"), false)?;
            let w = match want.as_str() {
                "master" => RoleWant::Master,
                "replica" => RoleWant::Replica,
                "down" => RoleWant::Down,
                other => match other.strip_prefix("replica-of:") {
                    Some(m) => RoleWant::ReplicaOf(self.target(m, span.clone(), &sub("roles"), false)?),
                    None => {
                        return Err(self.err(
                            span,
                            &sub("roles"),
                            format!("role {other:?} for {node} is not master, replica, replica-of:NODE or down"),
                        ))
                    }
                },
            };
            out.roles.push((t, w));
        }
        for (node, want) in &c.state {
            let t = self.target(node, span.clone(), &sub("state"), false)?;
            let ok = match want.as_str() {
                "ok" => true,
                "fail" => false,
                other => {
                    return Err(self.err(
                        span,
                        &sub("state"),
                        format!("cluster state {other:?} for {node} is not ok or fail"),
                    ))
                }
            };
            out.state.push((t, ok));
        }
        for (node, ranges) in &c.slots {
            let t = self.target(node, span.clone(), &sub("slots"), false)?;
            let r = parse_ranges(ranges).ok_or_else(|| {
                self.err(
                    span.clone(),
                    &sub("slots"),
                    format!(
                        "slot ranges {ranges:?} for {node} are not like \"0-5460\" or \"none\""
                    ),
                )
            })?;
            out.slots.push((t, r));
        }
        for (node, n) in &c.replicas {
            let t = self.target(node, span.clone(), &sub("replicas"), false)?;
            out.replicas.push((t, *n));
        }
        for (map, known, key) in [(&c.knows, true, "knows"), (&c.forgot, false, "forgot")] {
            for (viewer, nodes) in map {
                let v = self.target(viewer, span.clone(), &sub(key), false)?;
                for n in nodes {
                    let t = self.target(n, span.clone(), &sub(key), false)?;
                    out.knows.push((v.clone(), t, known));
                }
            }
        }
        match c.slot_map.as_deref() {
            None => {}
            Some("as-formed") => out.slot_map_as_formed = true,
            Some(other) => {
                return Err(self.err(
                    span,
                    &sub("slot_map"),
                    format!("{other:?}: the only slot_map check is \"as-formed\""),
                ))
            }
        }
        Ok(out)
    }
}

/// `"0-5460,6000"` or `"none"`.
fn parse_ranges(s: &str) -> Option<Vec<(u16, u16)>> {
    if s.trim() == "none" {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let v = part.parse().ok()?;
                (v, v)
            }
        };
        if a > b || b > 16383 {
            return None;
        }
        out.push((a, b));
    }
    Some(out)
}

fn format_ranges(r: &[(u16, u16)]) -> String {
    if r.is_empty() {
        return "none".into();
    }
    r.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The names a topology gives its nodes.
pub fn node_names(masters: usize, replicas: usize) -> Vec<String> {
    (0..masters)
        .map(|i| format!("master-{i}"))
        .chain((0..replicas).map(|j| format!("replica-{j}")))
        .collect()
}

/// Parses a scenario from text; `file` names it in errors, `default_name` is used when the
/// file has no `name`.
pub fn parse(text: &str, file: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
    let f: FileScenario = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        let message = e.message().to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| {
                message.starts_with("unknown field") || message.starts_with("missing field")
            })
            .map(str::to_string)
            .unwrap_or_else(|| key_on_line(text, line));
        ScenarioError {
            file: file.to_string(),
            line,
            field,
            message,
        }
    })?;
    let (masters, replicas, topo_span) = match &f.topology {
        Some(t) => {
            let m = t.get_ref().masters.unwrap_or(3);
            (m, t.get_ref().replicas.unwrap_or(m), t.span())
        }
        None => (3, 3, 0..0),
    };
    let ctx = Ctx {
        text,
        file,
        names: node_names(masters, replicas),
    };
    if masters == 0 || masters + replicas > 200 {
        return Err(ctx.err(
            topo_span,
            "topology.masters",
            format!(
                "{masters} masters and {replicas} replicas: need 1 master and at most 200 nodes"
            ),
        ));
    }
    let config = f.config.unwrap_or_default();
    let planted = planted_set(&ctx, &config)?;
    let fault_points = match &config.fault_points {
        None => Vec::new(),
        Some(s) => match s.get_ref() {
            FaultPointsFile::All(true) => FaultPoint::ALL.to_vec(),
            FaultPointsFile::All(false) => Vec::new(),
            FaultPointsFile::Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    let p = FaultPoint::parse(n).ok_or_else(|| {
                        let known: Vec<&str> = FaultPoint::ALL.iter().map(|p| p.name()).collect();
                        ctx.err(
                            s.span(),
                            "config.fault_points",
                            format!("no fault point {n:?} (there are {})", known.join(", ")),
                        )
                    })?;
                    out.push(p);
                }
                out
            }
        },
    };
    let clocks = match &f.clocks {
        Some(c) => clock_setup(&ctx, c)?,
        None => ClockSetup::default(),
    };
    let world = WorldConfig {
        masters,
        replicas,
        node_timeout_ms: config.node_timeout.map(|d| d.0).unwrap_or(2000),
        extra_args: config.extra_args,
        planted,
        clocks,
        fault_points,
        tls: config.tls,
    };
    let w = f.workload.unwrap_or_default();
    let workload = Workload {
        keys: w.keys.unwrap_or(20),
        interval_ms: 1000 / w.rate.unwrap_or(50).clamp(1, 1000),
        write_percent: w.write_percent.unwrap_or(60).min(100),
        op_timeout_ms: w.op_timeout.map(|d| d.0).unwrap_or(1000),
        ..Workload::default()
    };
    let mut steps = Vec::new();
    for s in &f.step {
        steps.push(step(&ctx, s)?);
    }
    steps.sort_by_key(|s| s.at_ms);
    let mut expect = Expect::default();
    if let Some(e) = &f.expect {
        let span = e.span();
        let e = e.get_ref();
        if let Some(d) = e.liveness_within {
            expect.liveness_within_ms = d.0;
        }
        expect.lost_writes = e.lost_writes;
        expect.lost_writes_within_ms = e.lost_writes_within.map(|d| d.0);
        expect.promotions = e.promotions;
        if let Some(inv) = &e.invariants {
            if let Some(bad) = inv.iter().find(|i| !(1..=13).contains(*i)) {
                return Err(ctx.err(
                    span,
                    "expect.invariants",
                    format!("invariant {bad} does not exist (1-13, see DESIGN.md and scenarios/README.md)"),
                ));
            }
            expect.invariants = inv.iter().copied().collect();
        }
        expect.fails_with = e.fails_with.clone();
        if let Some(bad) = e
            .marks
            .iter()
            .find(|m| !keyslot::marks::ALL.contains(&m.as_str()))
        {
            return Err(ctx.err(
                span,
                "expect.marks",
                format!("no coverage mark named {bad:?} (keyslot::marks::ALL lists them)"),
            ));
        }
        expect.marks = e.marks.clone();
        if let Some(c) = &e.final_ {
            expect.final_check = Some(ctx.check(c, span, "expect.final")?);
        }
    }
    Ok(Scenario {
        name: f.name.unwrap_or_else(|| default_name.to_string()),
        description: f.description.unwrap_or_default(),
        seed: f.seed,
        path: file.to_string(),
        world,
        clients: w.clients.unwrap_or(0),
        workload,
        steps,
        expect,
        snapshot_formation: f.snapshot.map(|s| s.formation).unwrap_or(false),
    })
}

/// A drift the host clock accepts, or an error naming the field.
fn check_drift(
    ctx: &Ctx,
    ppm: i64,
    span: std::ops::Range<usize>,
    field: &str,
) -> Result<i64, ScenarioError> {
    if ppm.abs() > DRIFT_PPM_MAX {
        return Err(ctx.err(
            span,
            field,
            format!("drift {ppm} ppm is outside -{DRIFT_PPM_MAX}..={DRIFT_PPM_MAX}"),
        ));
    }
    Ok(ppm)
}

/// The `[clocks]` table.
fn clock_setup(ctx: &Ctx, c: &Spanned<ClocksFile>) -> Result<ClockSetup, ScenarioError> {
    let span = c.span();
    let f = c.get_ref();
    let mut out = ClockSetup {
        max_offset_ms: f.max_offset.map(|d| d.0).unwrap_or(0),
        max_drift_ppm: check_drift(
            ctx,
            f.max_drift_ppm.unwrap_or(0),
            span.clone(),
            "clocks.max_drift_ppm",
        )?,
        nodes: Vec::new(),
    };
    if out.max_drift_ppm < 0 {
        return Err(ctx.err(
            span,
            "clocks.max_drift_ppm",
            "a bound is not negative: the drift is drawn in ±max_drift_ppm".into(),
        ));
    }
    for (name, n) in &f.node {
        if !ctx.names.contains(name) {
            return Err(ctx.err(
                span,
                "clocks.node",
                format!(
                    "no node named {name:?} (this topology has {})",
                    ctx.names.join(", ")
                ),
            ));
        }
        out.nodes.push(NodeClock {
            node: name.clone(),
            offset_ms: n.offset.map(|d| d.0).unwrap_or(0),
            drift_ppm: check_drift(
                ctx,
                n.drift_ppm.unwrap_or(0),
                span.clone(),
                "clocks.node.drift_ppm",
            )?,
        });
    }
    Ok(out)
}

fn step(ctx: &Ctx, s: &Spanned<StepFile>) -> Result<Step, ScenarioError> {
    let span = s.span();
    let st = s.get_ref();
    let mut actions: Vec<(&str, Action)> = Vec::new();
    let one = |v: &Option<Spanned<String>>, field: &str| -> Result<Option<Target>, ScenarioError> {
        match v {
            Some(t) => Ok(Some(ctx.target(t.get_ref(), t.span(), field, false)?)),
            None => Ok(None),
        }
    };
    type Single<'a> = (&'a Option<Spanned<String>>, &'a str, fn(Target) -> Fault);
    let singles: [Single; 10] = [
        (&st.kill, "kill", Fault::Kill),
        (&st.disk_full, "disk_full", Fault::DiskFull),
        (&st.disk_error, "disk_error", Fault::DiskError),
        (&st.restart, "restart", Fault::Restart),
        (&st.restart_wiped, "restart_wiped", Fault::RestartWiped),
        (&st.pause, "pause", Fault::Pause),
        (&st.resume, "resume", Fault::Resume),
        (&st.isolate, "isolate", Fault::Isolate),
        (&st.clog, "clog", Fault::Clog),
        (&st.unclog, "unclog", Fault::Unclog),
    ];
    for (v, field, make) in singles {
        if let Some(t) = one(v, field)? {
            actions.push((field, Action::Fault(make(t))));
        }
    }
    let torn = st.torn.unwrap_or(false);
    if let Some(target) = one(&st.crash, "crash")? {
        actions.push(("crash", Action::Fault(Fault::Crash { target, torn })));
    } else if st.torn.is_some() {
        return Err(ctx.err(
            span,
            "torn",
            "`torn` goes with `crash` (crash = \"master-0\", torn = true)".into(),
        ));
    }
    if let Some(p) = &st.partition {
        let mut groups = Vec::new();
        for g in p.get_ref() {
            let mut v = Vec::new();
            for n in g {
                v.push(ctx.target(n, p.span(), "partition", true)?);
            }
            groups.push(v);
        }
        if groups.len() < 2 {
            return Err(ctx.err(
                p.span(),
                "partition",
                "a partition needs at least two groups, e.g. [[\"master-0\"], [\"rest\"]]".into(),
            ));
        }
        actions.push(("partition", Action::Fault(Fault::Partition(groups))));
    }
    for (v, field) in [(&st.cut, "cut"), (&st.uncut, "uncut")] {
        if let Some(l) = v {
            let link = l.get_ref();
            let from = ctx.target(&link.from, l.span(), field, false)?;
            let to = ctx.target(&link.to, l.span(), field, false)?;
            if link.both {
                let groups = vec![vec![from], vec![to]];
                let a = if field == "cut" {
                    Fault::Partition(groups)
                } else {
                    return Err(ctx.err(
                        l.span(),
                        field,
                        "`both` is for cut; uncut one direction at a time or heal".into(),
                    ));
                };
                actions.push((field, Action::Fault(a)));
            } else if field == "cut" {
                actions.push((field, Action::Fault(Fault::Cut { from, to })));
            } else {
                actions.push((field, Action::Fault(Fault::Uncut { from, to })));
            }
        }
    }
    if let Some([lo, hi]) = st.latency {
        actions.push((
            "latency",
            Action::Fault(Fault::Latency {
                min_ms: lo.0,
                max_ms: hi.0,
            }),
        ));
    }
    if st.heal == Some(true) {
        actions.push(("heal", Action::Fault(Fault::Heal)));
    }
    if st.recover == Some(true) {
        actions.push(("recover", Action::Fault(Fault::Recover)));
    }
    if let Some(c) = &st.command {
        let cmd = c.get_ref();
        let mut nodes = Vec::new();
        for n in &cmd.node.0 {
            nodes.push(ctx.target(n, c.span(), "command.node", false)?);
        }
        if nodes.is_empty() || cmd.args.is_empty() {
            return Err(ctx.err(
                c.span(),
                "command",
                "a command needs a node and args, e.g. { node = \"master-0\", args = [\"PING\"] }"
                    .into(),
            ));
        }
        actions.push((
            "command",
            Action::Command {
                nodes,
                args: cmd.args.clone(),
                expect: cmd.expect.clone(),
                follow_redirects: cmd.follow_redirects,
            },
        ));
    }
    if let Some(m) = &st.migrate_slot {
        let f = m.get_ref();
        if f.slot > 16383 {
            return Err(ctx.err(
                m.span(),
                "migrate_slot.slot",
                format!("slot {} is out of range (0-16383)", f.slot),
            ));
        }
        let pipeline = f.pipeline.unwrap_or(10);
        if pipeline == 0 {
            return Err(ctx.err(
                m.span(),
                "migrate_slot.pipeline",
                "pipeline must be at least 1".into(),
            ));
        }
        let from = ctx.target(&f.from, m.span(), "migrate_slot.from", false)?;
        let to = ctx.target(&f.to, m.span(), "migrate_slot.to", false)?;
        actions.push((
            "migrate_slot",
            Action::MigrateSlot {
                slot: f.slot,
                from,
                to,
                pipeline,
            },
        ));
    }
    if let Some(m) = &st.migrate_slots_atomic {
        let f = m.get_ref();
        let ranges = parse_ranges(&f.slots)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                ctx.err(
                    m.span(),
                    "migrate_slots_atomic.slots",
                    format!(
                        "{:?} is not a list of slot ranges such as \"100-200,300\"",
                        f.slots
                    ),
                )
            })?;
        let from = ctx.target(&f.from, m.span(), "migrate_slots_atomic.from", false)?;
        let to = ctx.target(&f.to, m.span(), "migrate_slots_atomic.to", false)?;
        actions.push((
            "migrate_slots_atomic",
            Action::MigrateSlotsAtomic {
                ranges,
                from,
                to,
                wait: f.wait.unwrap_or(false),
            },
        ));
    }
    if let Some(t) = one(&st.save_nodes_conf, "save_nodes_conf")? {
        actions.push(("save_nodes_conf", Action::SaveNodesConf(t)));
    }
    if let Some(t) = one(&st.restore_nodes_conf, "restore_nodes_conf")? {
        actions.push(("restore_nodes_conf", Action::RestoreNodesConf(t)));
    }
    if let Some(j) = &st.clock_jump {
        let f = j.get_ref();
        let target = ctx.target(&f.node, j.span(), "clock_jump.node", false)?;
        actions.push((
            "clock_jump",
            Action::Fault(Fault::ClockJump {
                target,
                by_ms: f.by.0,
            }),
        ));
    }
    if let Some(d) = &st.clock_drift {
        let f = d.get_ref();
        let target = ctx.target(&f.node, d.span(), "clock_drift.node", false)?;
        let ppm = check_drift(ctx, f.ppm, d.span(), "clock_drift.ppm")?;
        actions.push((
            "clock_drift",
            Action::Fault(Fault::ClockDrift { target, ppm }),
        ));
    }
    if let Some(k) = &st.kill_cluster_link {
        let f = k.get_ref();
        let target = ctx.target(&f.node, k.span(), "kill_cluster_link.node", false)?;
        let peer = ctx.target(&f.peer, k.span(), "kill_cluster_link.peer", false)?;
        let direction = match &f.direction {
            None => keyslot::cluster::state::LinkDirection::All,
            Some(d) => parse_direction(d).ok_or_else(|| {
                ctx.err(
                    k.span(),
                    "kill_cluster_link.direction",
                    format!("direction {d:?} is not to, from or all"),
                )
            })?,
        };
        actions.push((
            "kill_cluster_link",
            Action::Fault(Fault::KillClusterLink {
                target,
                peer,
                direction,
            }),
        ));
    }
    if let Some(d) = &st.drop_packets {
        let f = d.get_ref();
        let target = ctx.target(&f.node, d.span(), "drop_packets.node", false)?;
        let kind = parse_packet_type(&f.kind).ok_or_else(|| {
            ctx.err(
                d.span(),
                "drop_packets.type",
                format!(
                    "packet type {:?} is not a name (PING, PONG, MEET, FAIL, PUBLISH, AUTH-REQ, AUTH-ACK, UPDATE, MFSTART, MODULE, PUBLISHSHARD) or a number 0-10",
                    f.kind
                ),
            )
        })?;
        actions.push((
            "drop_packets",
            Action::Fault(Fault::DropPackets { target, kind }),
        ));
    }
    if let Some(t) = &st.slow_tick {
        let f = t.get_ref();
        let target = ctx.target(&f.node, t.span(), "slow_tick.node", false)?;
        if f.every.0 < 100 {
            return Err(ctx.err(
                t.span(),
                "slow_tick.every",
                format!(
                    "{} ms is faster than the normal 100 ms cron; a slow tick is slower",
                    f.every.0
                ),
            ));
        }
        actions.push((
            "slow_tick",
            Action::Fault(Fault::SlowTick {
                target,
                every_ms: f.every.0,
            }),
        ));
    }
    if let Some(c) = &st.check {
        actions.push((
            "check",
            Action::Check(ctx.check(c.get_ref(), c.span(), "check")?),
        ));
    }
    if actions.len() != 1 {
        let names: Vec<&str> = actions.iter().map(|(n, _)| *n).collect();
        return Err(ctx.err(
            span,
            "step",
            format!(
                "a step does exactly one thing (kill, crash, disk_full, disk_error, restart, restart_wiped, pause, resume, isolate, clog, unclog, partition, cut, uncut, latency, heal, recover, command, migrate_slot, migrate_slots_atomic, save_nodes_conf, restore_nodes_conf, clock_jump, clock_drift, kill_cluster_link, drop_packets, slow_tick, check); this one has {}",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ),
        ));
    }
    let (_, action) = actions.remove(0);
    if st.for_.is_some() && !matches!(action, Action::Fault(_) | Action::Check(_)) {
        return Err(ctx.err(
            span,
            "for",
            "`for` undoes a fault or holds a check; this step is neither".into(),
        ));
    }
    Ok(Step {
        at_ms: st.at.0,
        action,
        for_ms: st.for_.map(|d| d.0),
        failover_within_ms: st.failover_within.map(|d| d.0),
    })
}

// ----- writing back --------------------------------------------------------------------------

/// `s` as a TOML string. (Rust's `{:?}` is not one: it writes control characters as
/// `\u{1}`, which TOML refuses; the fuzzer found that.)
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn q_target(t: &Target) -> String {
    q(&t.to_string())
}

fn write_check(c: &Check) -> String {
    let mut parts = Vec::new();
    let table = |items: Vec<(String, String)>| {
        let inner: Vec<String> = items
            .into_iter()
            .map(|(k, v)| format!("{} = {}", q(&k), v))
            .collect();
        format!("{{ {} }}", inner.join(", "))
    };
    if !c.roles.is_empty() {
        let items = c
            .roles
            .iter()
            .map(|(t, w)| {
                let v = match w {
                    RoleWant::Master => "master".to_string(),
                    RoleWant::Replica => "replica".to_string(),
                    RoleWant::Down => "down".to_string(),
                    RoleWant::ReplicaOf(m) => format!("replica-of:{m}"),
                };
                (t.to_string(), q(&v))
            })
            .collect();
        parts.push(format!("roles = {}", table(items)));
    }
    if !c.state.is_empty() {
        let items = c
            .state
            .iter()
            .map(|(t, ok)| (t.to_string(), q(if *ok { "ok" } else { "fail" })))
            .collect();
        parts.push(format!("state = {}", table(items)));
    }
    if !c.slots.is_empty() {
        let items = c
            .slots
            .iter()
            .map(|(t, r)| (t.to_string(), q(&format_ranges(r))))
            .collect();
        parts.push(format!("slots = {}", table(items)));
    }
    if !c.replicas.is_empty() {
        let items = c
            .replicas
            .iter()
            .map(|(t, n)| (t.to_string(), n.to_string()))
            .collect();
        parts.push(format!("replicas = {}", table(items)));
    }
    for (known, key) in [(true, "knows"), (false, "forgot")] {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (v, n, k) in &c.knows {
            if *k == known {
                m.entry(v.to_string()).or_default().push(q_target(n));
            }
        }
        if !m.is_empty() {
            let items = m
                .into_iter()
                .map(|(k, v)| (k, format!("[{}]", v.join(", "))))
                .collect();
            parts.push(format!("{key} = {}", table(items)));
        }
    }
    if c.converged {
        parts.push("converged = true".into());
    }
    if c.slot_map_as_formed {
        parts.push("slot_map = \"as-formed\"".into());
    }
    format!("{{ {} }}", parts.join(", "))
}

fn write_action(a: &Action) -> String {
    match a {
        Action::Fault(f) => match f {
            Fault::Kill(t) => format!("kill = {}", q_target(t)),
            Fault::Crash { target, torn } => {
                let mut s = format!("crash = {}", q_target(target));
                if *torn {
                    s.push_str("\ntorn = true");
                }
                s
            }
            Fault::DiskFull(t) => format!("disk_full = {}", q_target(t)),
            Fault::DiskError(t) => format!("disk_error = {}", q_target(t)),
            Fault::Restart(t) => format!("restart = {}", q_target(t)),
            Fault::RestartWiped(t) => format!("restart_wiped = {}", q_target(t)),
            Fault::Pause(t) => format!("pause = {}", q_target(t)),
            Fault::Resume(t) => format!("resume = {}", q_target(t)),
            Fault::Isolate(t) => format!("isolate = {}", q_target(t)),
            Fault::Clog(t) => format!("clog = {}", q_target(t)),
            Fault::Unclog(t) => format!("unclog = {}", q_target(t)),
            Fault::Partition(groups) => {
                let g: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        format!(
                            "[{}]",
                            g.iter().map(q_target).collect::<Vec<_>>().join(", ")
                        )
                    })
                    .collect();
                format!("partition = [{}]", g.join(", "))
            }
            Fault::Cut { from, to } => {
                format!(
                    "cut = {{ from = {}, to = {} }}",
                    q_target(from),
                    q_target(to)
                )
            }
            Fault::Uncut { from, to } => {
                format!(
                    "uncut = {{ from = {}, to = {} }}",
                    q_target(from),
                    q_target(to)
                )
            }
            Fault::Latency { min_ms, max_ms } => format!(
                "latency = [{}, {}]",
                q(&format_duration(*min_ms)),
                q(&format_duration(*max_ms))
            ),
            Fault::ClockJump { target, by_ms } => format!(
                "clock_jump = {{ node = {}, by = {} }}",
                q_target(target),
                q(&format_signed_duration(*by_ms))
            ),
            Fault::ClockDrift { target, ppm } => format!(
                "clock_drift = {{ node = {}, ppm = {} }}",
                q_target(target),
                ppm
            ),
            Fault::KillClusterLink {
                target,
                peer,
                direction,
            } => format!(
                "kill_cluster_link = {{ node = {}, peer = {}, direction = {} }}",
                q_target(target),
                q_target(peer),
                q(direction_name(*direction))
            ),
            Fault::DropPackets { target, kind } => format!(
                "drop_packets = {{ node = {}, type = {} }}",
                q_target(target),
                q(&kind.to_string())
            ),
            Fault::SlowTick { target, every_ms } => format!(
                "slow_tick = {{ node = {}, every = {} }}",
                q_target(target),
                q(&format_duration(*every_ms))
            ),
            Fault::Heal => "heal = true".into(),
            Fault::Recover => "recover = true".into(),
        },
        Action::Command {
            nodes,
            args,
            expect,
            follow_redirects,
        } => {
            let node = if nodes.len() == 1 {
                q_target(&nodes[0])
            } else {
                format!(
                    "[{}]",
                    nodes.iter().map(q_target).collect::<Vec<_>>().join(", ")
                )
            };
            let args: Vec<String> = args.iter().map(|a| q(a)).collect();
            let mut s = format!("command = {{ node = {}, args = [{}]", node, args.join(", "));
            if let Some(e) = expect {
                let _ = write!(s, ", expect = {}", q(e));
            }
            if *follow_redirects {
                s.push_str(", follow_redirects = true");
            }
            s.push_str(" }");
            s
        }
        Action::MigrateSlot {
            slot,
            from,
            to,
            pipeline,
        } => format!(
            "migrate_slot = {{ slot = {}, from = {}, to = {}, pipeline = {} }}",
            slot,
            q_target(from),
            q_target(to),
            pipeline
        ),
        Action::MigrateSlotsAtomic {
            ranges,
            from,
            to,
            wait,
        } => format!(
            "migrate_slots_atomic = {{ slots = \"{}\", from = {}, to = {}, wait = {} }}",
            format_ranges(ranges),
            q_target(from),
            q_target(to),
            wait
        ),
        Action::SaveNodesConf(t) => format!("save_nodes_conf = {}", q_target(t)),
        Action::RestoreNodesConf(t) => format!("restore_nodes_conf = {}", q_target(t)),
        Action::Check(c) => format!("check = {}", write_check(c)),
    }
}

impl Scenario {
    /// The scenario as a file that `parse` reads back to the same scenario.
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "name = {}", q(&self.name));
        if !self.description.is_empty() {
            let _ = writeln!(s, "description = {}", q(&self.description));
        }
        let _ = writeln!(s, "seed = {}", self.seed);
        let _ = writeln!(
            s,
            "\n[topology]\nmasters = {}\nreplicas = {}",
            self.world.masters, self.world.replicas
        );
        let _ = writeln!(
            s,
            "\n[config]\nnode_timeout = {}",
            q(&format_duration(self.world.node_timeout_ms))
        );
        if self.world.tls {
            let _ = writeln!(s, "tls = true");
        }
        if !self.world.extra_args.is_empty() {
            let a: Vec<String> = self.world.extra_args.iter().map(|a| q(a)).collect();
            let _ = writeln!(s, "extra_args = [{}]", a.join(", "));
        }
        if !self.world.planted.is_empty() {
            let names: Vec<String> = self.world.planted.iter().map(|p| q(p.name())).collect();
            let _ = writeln!(s, "planted = [{}]", names.join(", "));
        }
        if !self.world.fault_points.is_empty() {
            let names: Vec<String> = self
                .world
                .fault_points
                .iter()
                .map(|p| q(p.name()))
                .collect();
            let _ = writeln!(s, "fault_points = [{}]", names.join(", "));
        }
        let c = &self.world.clocks;
        if !c.is_empty() {
            let _ = writeln!(
                s,
                "\n[clocks]\nmax_offset = {}\nmax_drift_ppm = {}",
                q(&format_duration(c.max_offset_ms)),
                c.max_drift_ppm
            );
            for n in &c.nodes {
                let _ = writeln!(
                    s,
                    "\n[clocks.node.{}]\noffset = {}\ndrift_ppm = {}",
                    q(&n.node),
                    q(&format_signed_duration(n.offset_ms)),
                    n.drift_ppm
                );
            }
        }
        let _ = writeln!(
            s,
            "\n[workload]\nclients = {}\nkeys = {}\nrate = {}\nwrite_percent = {}\nop_timeout = {}",
            self.clients,
            self.workload.keys,
            1000 / self.workload.interval_ms.max(1),
            self.workload.write_percent,
            q(&format_duration(self.workload.op_timeout_ms))
        );
        for st in &self.steps {
            let _ = writeln!(s, "\n[[step]]\nat = {}", q(&format_duration(st.at_ms)));
            let _ = writeln!(s, "{}", write_action(&st.action));
            if let Some(f) = st.for_ms {
                let _ = writeln!(s, "for = {}", q(&format_duration(f)));
            }
            if let Some(f) = st.failover_within_ms {
                let _ = writeln!(s, "failover_within = {}", q(&format_duration(f)));
            }
        }
        let e = &self.expect;
        let _ = writeln!(
            s,
            "\n[expect]\nliveness_within = {}",
            q(&format_duration(e.liveness_within_ms))
        );
        if let Some(l) = e.lost_writes {
            let _ = writeln!(s, "lost_writes = {l}");
        }
        if let Some(w) = e.lost_writes_within_ms {
            let _ = writeln!(s, "lost_writes_within = {}", q(&format_duration(w)));
        }
        if let Some(p) = e.promotions {
            let _ = writeln!(s, "promotions = {p}");
        }
        let inv: Vec<String> = e.invariants.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(s, "invariants = [{}]", inv.join(", "));
        if let Some(f) = &e.fails_with {
            let _ = writeln!(s, "fails_with = {}", q(f));
        }
        if !e.marks.is_empty() {
            let m: Vec<String> = e.marks.iter().map(|m| q(m)).collect();
            let _ = writeln!(s, "marks = [{}]", m.join(", "));
        }
        if let Some(c) = &e.final_check {
            let _ = writeln!(s, "final = {}", write_check(c));
        }
        if self.snapshot_formation {
            let _ = writeln!(s, "\n[snapshot]\nformation = true");
        }
        s
    }
}

/// Every `*.toml` in a directory, by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ScenarioError {
            file: dir.display().to_string(),
            line: 0,
            field: "-".into(),
            message: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().map(|x| x == "toml").unwrap_or(false))
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

/// The scenarios/ directory: `$KEYSLOT_SCENARIOS` when set (the container image installs the
/// files away from the source tree this binary was built in), else the repository's.
pub fn scenarios_dir() -> std::path::PathBuf {
    match std::env::var_os("KEYSLOT_SCENARIOS") {
        Some(dir) if !dir.is_empty() => std::path::PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"),
    }
}

/// A scenario by path, or by name in scenarios/ (`kill-master`).
pub fn find(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    let p = Path::new(name_or_path);
    if p.exists() {
        return load(p);
    }
    let in_dir = scenarios_dir().join(format!("{name_or_path}.toml"));
    if in_dir.exists() {
        return load(&in_dir);
    }
    Err(ScenarioError {
        file: name_or_path.to_string(),
        line: 0,
        field: "-".into(),
        message: format!("no such file, and no scenarios/{name_or_path}.toml"),
    })
}

/// `[config] planted` (and the older `planted_double_vote`) as a set; an unknown name is an
/// error at the line that names it.
fn planted_set(ctx: &Ctx, config: &ConfigFile) -> Result<PlantedSet, ScenarioError> {
    let mut bugs = Vec::new();
    if config.planted_double_vote {
        bugs.push(Planted::DoubleVote);
    }
    for name in &config.planted {
        match name.parse::<Planted>() {
            Ok(p) => bugs.push(p),
            Err(e) => {
                let at = ctx.text.find(&format!("\"{name}\"")).unwrap_or(0);
                return Err(ctx.err(at..at, "config.planted", e.to_string()));
            }
        }
    }
    Ok(PlantedSet::of(&bugs))
}

//! Swarm testing: each seed draws its own world before its faults.
//!
//! A plain random schedule ([`crate::schedule`]) varies only *when* and *where* faults strike,
//! inside the base file's world. With `--swarm` the seed first draws a [`SwarmModel`]: the
//! topology (3x0 up to 5x2 masters x replicas), node-timeout, which fault kinds are switched on
//! at all, how many faults, how long each lasts and how dense they are, the partition modes
//! (symmetric split, majority/minority split, one-way cut, a cut pair) and the client load. Most
//! bugs hide behind a *combination* of settings that a fixed world rarely reaches (VOPR's
//! `options_swarm`, FoundationDB's randomized workloads): leaving kinds out is as important as
//! putting them in, because a world without kills is the one where partitions alone run long.
//!
//! The run is a safety phase (the drawn faults, each undone after its duration), then a
//! liveness phase: a final `recover` restarts every killed node (so a master without replicas
//! comes back: topologies without replicas cannot fail over and the model expects no failover
//! there), resumes every paused one and heals every link and disk. Only a *core* stays healed:
//! when the world has replicas, the model may leave up to a minority of shards out of it, one
//! node each (the shard's current master, or a node by name), and those nodes go down for good
//! once the cluster had time to resync. The core must then converge within the model's budget
//! (invariants 5, 6 and 7 over the live nodes): a healed majority of masters has to finish the
//! failovers the lost nodes leave behind, as VOPR's liveness mode asks of a core of replicas.
//! The base file keeps its node flags (persistence) and its name; its timeline, topology and
//! workload are replaced.
//!
//! The model comes from its own ChaCha stream (the seed xor [`MODEL_STREAM`]), the schedule from
//! a proptest strategy the model parameterises, seeded as [`crate::schedule::runner`] does, so
//! one seed names both and `shrink --swarm` can shrink the schedule inside the same world.

use crate::client::Workload;
use crate::faults::{Fault, Target};
use crate::scenario::{Action, Expect, Scenario, Step};
use crate::schedule::{persists, runner, RandomFault, UNIT_MS};
use proptest::prelude::*;
use proptest::strategy::{NewTree, ValueTree};
use rand::{Rng, SeedableRng};
use std::fmt;

/// Xored into the seed for the model's stream, so the model and the schedule (drawn from the
/// seed itself) are independent.
pub const MODEL_STREAM: u64 = 0x5357_4152_4d5f_4d4f; // "SWARM_MO"

/// One kind of fault a swarm world may switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SwarmKind {
    /// SIGKILL (a power cut, half of them torn, when the nodes persist).
    Kill,
    /// SIGSTOP, then SIGCONT.
    Pause,
    /// One node cut off both ways.
    Isolate,
    /// A symmetric split into a random side and the rest.
    Partition,
    /// A symmetric split whose small side is a minority of the nodes (at most (n-1)/2).
    MajorityMinority,
    /// One-way cuts: a node cannot send to (or, drawn the other way, receive from) a set of
    /// others; the reverse direction still works, which is what confuses failure detection.
    OneWay,
    /// Two nodes cannot reach each other; everybody else can reach both.
    CutPair,
    /// Every byte a node sends or receives is held until unclogged.
    Clog,
    /// Network latency for every message.
    Latency,
    /// Writes to a node's disk fail with ENOSPC (only when the nodes persist).
    DiskFull,
}

/// Every kind, in the order the model draws them.
pub const ALL_KINDS: [SwarmKind; 10] = [
    SwarmKind::Kill,
    SwarmKind::Pause,
    SwarmKind::Isolate,
    SwarmKind::Partition,
    SwarmKind::MajorityMinority,
    SwarmKind::OneWay,
    SwarmKind::CutPair,
    SwarmKind::Clog,
    SwarmKind::Latency,
    SwarmKind::DiskFull,
];

impl SwarmKind {
    /// The label explore's summary counts.
    pub fn label(self) -> &'static str {
        match self {
            SwarmKind::Kill => "kill",
            SwarmKind::Pause => "pause",
            SwarmKind::Isolate => "isolate",
            SwarmKind::Partition => "partition",
            SwarmKind::MajorityMinority => "partition-minority",
            SwarmKind::OneWay => "one-way",
            SwarmKind::CutPair => "cut-pair",
            SwarmKind::Clog => "clog",
            SwarmKind::Latency => "latency",
            SwarmKind::DiskFull => "disk-full",
        }
    }
}

/// The world one seed draws: everything `--swarm` varies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmModel {
    /// 3 to 5.
    pub masters: usize,
    /// 0 to 2 per master; 0 means no failover is possible (killed masters come back in the
    /// liveness phase).
    pub replicas_per_master: usize,
    /// 1 to 5 s in 500 ms steps.
    pub node_timeout_ms: u64,
    /// The kinds switched on (never empty), in [`ALL_KINDS`] order.
    pub kinds: Vec<SwarmKind>,
    /// At most this many faults (1 to 12); the schedule draws 1..=faults_max.
    pub faults_max: usize,
    /// Faults start within this many 500 ms units after formation (the safety phase's fault
    /// window, 5 to 30 s).
    pub horizon_units: u64,
    /// Each fault lasts between these many units (inclusive).
    pub duration_units: (u64, u64),
    /// Latency faults draw their upper bound up to this (20 to 500 ms).
    pub latency_max_ms: u64,
    /// Whether kills are power cuts and disks can fill (the base file's nodes persist).
    pub persists: bool,
    /// 0 to 4 clients.
    pub clients: usize,
    /// Operations per second per client.
    pub rate_per_client: u64,
    pub write_percent: u32,
    pub keys: usize,
    /// The liveness phase's budget after the settle period.
    pub liveness_within_ms: u64,
    /// The nodes left out of the liveness core: each goes down for good after the final
    /// `recover` (at most one per shard, in a minority of the shards, none without replicas).
    pub core_out: Vec<Target>,
}

impl SwarmModel {
    /// The model a seed names.
    pub fn draw(seed: u64, persists: bool) -> SwarmModel {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ MODEL_STREAM);
        let masters = rng.gen_range(3..=5);
        let replicas_per_master = rng.gen_range(0..=2);
        let node_timeout_ms = 500 * rng.gen_range(2..=10u64);
        // Every kind is drawn, used or not, so switching persistence does not shift the stream.
        let switched: Vec<bool> = ALL_KINDS.iter().map(|_| rng.gen_bool(0.5)).collect();
        let mut kinds: Vec<SwarmKind> = ALL_KINDS
            .iter()
            .zip(&switched)
            .filter(|(k, on)| **on && (persists || **k != SwarmKind::DiskFull))
            .map(|(k, _)| *k)
            .collect();
        if kinds.is_empty() {
            kinds.push(SwarmKind::Kill);
        }
        let faults_max = rng.gen_range(1..=12);
        let horizon_units = rng.gen_range(10..=60);
        let shortest = rng.gen_range(1..=4u64);
        // Up to four node-timeouts: long enough for a failure to be detected and acted on.
        let longest_cap = (4 * node_timeout_ms / UNIT_MS).clamp(shortest, 40);
        let longest = rng.gen_range(shortest..=longest_cap);
        let latency_max_ms = rng.gen_range(20..=500);
        let clients = rng.gen_range(0..=4);
        let rate_per_client = [10, 20, 50, 100][rng.gen_range(0..4usize)];
        let write_percent = rng.gen_range(10..=90);
        let keys = rng.gen_range(5..=50);
        // Drawn last, so the fields above keep the values earlier versions drew for a seed.
        let core_out = draw_core_out(&mut rng, masters, replicas_per_master);
        SwarmModel {
            masters,
            replicas_per_master,
            node_timeout_ms,
            kinds,
            faults_max,
            horizon_units,
            duration_units: (shortest, longest),
            latency_max_ms,
            persists,
            clients,
            rate_per_client,
            write_percent,
            keys,
            // Enough for failure reports to expire and elections to run a few rounds on the
            // slowest timeout; a healthy run converges in a few node-timeouts.
            liveness_within_ms: 20_000 + 10 * node_timeout_ms,
            core_out,
        }
    }

    /// How long after the final `recover` the nodes outside the core go down: long enough
    /// for restarted nodes to rejoin, FAIL flags to clear and replicas to resync, so that a
    /// replica of a lost master has fresh enough data to be elected (Redis refuses a replica
    /// whose link was down too long, and that refusal is not a liveness bug).
    pub fn core_settle_ms(&self) -> u64 {
        3 * self.node_timeout_ms + 2000
    }

    pub fn nodes(&self) -> usize {
        self.masters * (1 + self.replicas_per_master)
    }

    /// The strategy for one fault of this world.
    fn fault_strategy(&self) -> impl Strategy<Value = RandomFault> {
        (
            0..self.horizon_units,
            0..self.kinds.len() as u8,
            0..self.nodes(),
            any::<u32>(),
            self.duration_units.0..=self.duration_units.1,
        )
            .prop_map(|(at, kind, target, mask, duration)| RandomFault {
                at,
                kind,
                target,
                mask,
                duration,
            })
    }

    /// The strategy for this world's schedule (`kind` indexes [`SwarmModel::kinds`]).
    pub fn schedule_strategy(&self) -> BoxedStrategy<Vec<RandomFault>> {
        proptest::collection::vec(self.fault_strategy(), 1..=self.faults_max).boxed()
    }
}

impl fmt::Display for SwarmModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = self.kinds.iter().map(|k| k.label()).collect();
        write!(
            f,
            "{} masters x {} replicas, node-timeout {} ms; faults [{}], 1-{} of them within {} ms, {}-{} ms each, latency up to {} ms{}; {} clients at {} ops/s, {}% writes, {} keys; liveness within {} ms, core {}",
            self.masters,
            self.replicas_per_master,
            self.node_timeout_ms,
            kinds.join(","),
            self.faults_max,
            self.horizon_units * UNIT_MS,
            self.duration_units.0 * UNIT_MS,
            self.duration_units.1 * UNIT_MS,
            self.latency_max_ms,
            if self.persists { ", kills are power cuts" } else { "" },
            self.clients,
            self.rate_per_client,
            self.write_percent,
            self.keys,
            self.liveness_within_ms,
            if self.core_out.is_empty() {
                "all nodes".to_string()
            } else {
                let out: Vec<String> = self.core_out.iter().map(|t| t.to_string()).collect();
                format!("without {}", out.join(", "))
            }
        )
    }
}

/// The nodes a world leaves out of its liveness core. Up to `(masters - 1) / 2` shards lose
/// one node each, so a majority of the slot-owning masters stays to vote for the replicas that
/// take over; half the time that node is whoever owns the shard then (a failover the core must
/// finish), otherwise a member picked by name (the master or one of its replicas).
fn draw_core_out(rng: &mut impl Rng, masters: usize, replicas_per_master: usize) -> Vec<Target> {
    if replicas_per_master == 0 {
        return Vec::new();
    }
    let count = rng.gen_range(0..=(masters - 1) / 2);
    let mut shards: Vec<usize> = (0..masters).collect();
    let mut out = Vec::new();
    for _ in 0..count {
        let shard = shards.remove(rng.gen_range(0..shards.len()));
        if rng.gen_bool(0.5) {
            // A slot in the middle of the shard's range (slots never move in a swarm world).
            let slot = ((2 * shard + 1) * keyslot::slot::SLOT_COUNT / (2 * masters)) as u16;
            out.push(Target::OwnerOfSlot(slot));
        } else {
            let member = rng.gen_range(0..=replicas_per_master);
            out.push(Target::Name(if member == 0 {
                format!("master-{shard}")
            } else {
                format!("replica-{}", shard + (member - 1) * masters)
            }));
        }
    }
    out
}

/// The value tree of the schedule `seed` names inside `model`.
pub fn tree(model: &SwarmModel, seed: u64) -> NewTree<BoxedStrategy<Vec<RandomFault>>> {
    model.schedule_strategy().new_tree(&mut runner(seed))
}

/// The model and schedule a seed names over `base`.
pub fn draw(base: &Scenario, seed: u64) -> (SwarmModel, Vec<RandomFault>) {
    let model = SwarmModel::draw(seed, persists(&base.world.extra_args));
    let faults = tree(&model, seed).map(|t| t.current()).unwrap_or_default();
    (model, faults)
}

/// The swarm scenario a seed names over `base`.
pub fn swarm_scenario(base: &Scenario, seed: u64) -> Scenario {
    let (model, faults) = draw(base, seed);
    to_scenario(base, seed, &model, &faults)
}

/// The labels of the kinds a schedule uses, one per drawn fault.
pub fn fault_labels(model: &SwarmModel, faults: &[RandomFault]) -> Vec<&'static str> {
    faults.iter().map(|f| kind(model, f).label()).collect()
}

fn kind(model: &SwarmModel, f: &RandomFault) -> SwarmKind {
    model.kinds[f.kind as usize % model.kinds.len()]
}

/// The nodes of one side of a split: `target` and the nodes whose bit is set in `mask`,
/// limited to `most` nodes (node order).
fn side(n: usize, target: usize, mask: u32, most: usize) -> Vec<usize> {
    let mut v = vec![target];
    for i in 0..n.min(32) {
        if v.len() >= most {
            break;
        }
        if i != target && mask & (1 << i) != 0 {
            v.push(i);
        }
    }
    v.sort_unstable();
    v
}

/// A drawn fault as timeline faults (a one-way split is one `cut` per directed link).
fn faults_of(model: &SwarmModel, f: &RandomFault, names: &[String]) -> Vec<Fault> {
    let n = names.len();
    let name = |i: usize| Target::Name(names[i % n].clone());
    let target = f.target % n;
    match kind(model, f) {
        SwarmKind::Kill if model.persists => vec![Fault::Crash {
            target: name(target),
            torn: f.mask & 1 != 0,
        }],
        SwarmKind::Kill => vec![Fault::Kill(name(target))],
        SwarmKind::Pause => vec![Fault::Pause(name(target))],
        SwarmKind::Isolate => vec![Fault::Isolate(name(target))],
        SwarmKind::Clog => vec![Fault::Clog(name(target))],
        SwarmKind::DiskFull => vec![Fault::DiskFull(name(target))],
        SwarmKind::Partition => {
            let s = side(n, target, f.mask, n);
            vec![Fault::Partition(vec![
                s.into_iter().map(name).collect(),
                vec![Target::Rest],
            ])]
        }
        SwarmKind::MajorityMinority => {
            let most = ((n - 1) / 2).max(1);
            let s = side(n, target, f.mask, 1 + (f.mask >> 24) as usize % most);
            vec![Fault::Partition(vec![
                s.into_iter().map(name).collect(),
                vec![Target::Rest],
            ])]
        }
        SwarmKind::OneWay => {
            // The cut-off side: the target alone or with a few others; bit 31 picks the
            // direction (the side cannot send, or cannot receive).
            let s = side(
                n,
                target,
                f.mask & 0x7fff_ffff,
                1 + (f.mask >> 28) as usize % 2,
            );
            let outward = f.mask & (1 << 31) == 0;
            let mut out = Vec::new();
            for &a in &s {
                for b in (0..n).filter(|b| !s.contains(b)) {
                    let (from, to) = if outward { (a, b) } else { (b, a) };
                    out.push(Fault::Cut {
                        from: name(from),
                        to: name(to),
                    });
                }
            }
            out
        }
        SwarmKind::CutPair => {
            let mut other = (f.mask as usize) % n;
            if other == target {
                other = (target + 1) % n;
            }
            vec![Fault::Partition(vec![
                vec![name(target)],
                vec![name(other)],
            ])]
        }
        SwarmKind::Latency => vec![Fault::Latency {
            min_ms: 20,
            max_ms: 20 + (f.mask as u64) % model.latency_max_ms.max(1),
        }],
    }
}

/// A swarm world and its schedule as a scenario: the safety phase's faults (each undone after
/// its duration), then `recover` one second after the last one ends, then the liveness phase
/// (the expectations' budget).
pub fn to_scenario(
    base: &Scenario,
    seed: u64,
    model: &SwarmModel,
    faults: &[RandomFault],
) -> Scenario {
    let mut world = base.world.clone();
    world.masters = model.masters;
    world.replicas = model.masters * model.replicas_per_master;
    world.node_timeout_ms = model.node_timeout_ms;
    let names = crate::scenario::node_names(world.masters, world.replicas);
    let mut steps = Vec::new();
    let mut end = 0;
    for f in faults {
        let at_ms = f.at * UNIT_MS;
        let for_ms = f.duration * UNIT_MS;
        end = end.max(at_ms + for_ms);
        for fault in faults_of(model, f, &names) {
            steps.push(Step {
                at_ms,
                action: Action::Fault(fault),
                for_ms: Some(for_ms),
                failover_within_ms: None,
            });
        }
    }
    let recover_at = crate::schedule::end_with_recover(&mut steps, end);
    for target in &model.core_out {
        steps.push(Step {
            at_ms: recover_at + model.core_settle_ms(),
            action: Action::Fault(Fault::Kill(target.clone())),
            for_ms: None,
            failover_within_ms: None,
        });
    }
    let workload = Workload {
        keys: model.keys,
        interval_ms: 1000 / model.rate_per_client.max(1),
        write_percent: model.write_percent,
        ..base.workload.clone()
    };
    Scenario {
        name: format!("{}-swarm-{}", base.name, seed),
        description: format!(
            "swarm world {} over {} ({} faults): {}",
            seed,
            base.name,
            faults.len(),
            model
        ),
        seed,
        path: base.path.clone(),
        world,
        clients: model.clients,
        workload,
        steps,
        expect: Expect {
            liveness_within_ms: model.liveness_within_ms,
            ..Expect::default()
        },
        snapshot_formation: false,
    }
}

//! Random fault schedules over a base scenario, and shrinking a failing one.
//!
//! A schedule is a list of [`RandomFault`]s (kind, target, time, duration) drawn by a proptest
//! strategy. `explore` draws it from a seed: the strategy's value tree is built with a
//! `TestRng` whose ChaCha state comes from rand_chacha seeded with the run's seed, so the seed
//! alone names the schedule, and the same strategy shrinks it (proptest removes faults, then
//! moves them earlier, shortens them and picks simpler kinds and lower-numbered nodes).
//!
//! The schedule replaces the base scenario's timeline; topology, config and workload stay. Every
//! fault ends after its duration, a final `recover` restarts, resumes and reconnects everything,
//! and the generic expectations apply: safety throughout, liveness within 30 s after recovery,
//! replicas in sync, no phantom reads; lost writes and failover times are measured.

use crate::faults::{Fault, Target};
use crate::scenario::{Action, Expect, Scenario, Step};
use proptest::prelude::*;
use proptest::strategy::{NewTree, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::{Rng, SeedableRng};

/// Time unit of schedules: faults start and end on a 500 ms grid, so faults on different nodes
/// often coincide (two masters failing at once is the interesting case).
pub const UNIT_MS: u64 = 500;
/// Faults start within the first 24 units (12 s) after formation.
pub const HORIZON_UNITS: u64 = 24;
/// At most this many faults per schedule.
pub const FAULTS_MAX: usize = 8;

/// One drawn fault. Kind: 0 kill, 1 pause, 2 isolate, 3 partition (the target plus the nodes
/// in `mask` against the rest), 4 clog, 5 cut both ways between target and another node, 6
/// latency. When the scenario persists its data ([`persists`]), a kill is a `crash` and some
/// latency faults are a full disk. Every fault lasts `duration` units. Kills are drawn more often than the others
/// (crashes are what elections are about), see [`kind_of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomFault {
    pub at: u64,
    pub kind: u8,
    pub target: usize,
    pub mask: u32,
    pub duration: u64,
}

/// The strategy for one fault in a cluster of `nodes` nodes.
pub fn fault_strategy(nodes: usize) -> impl Strategy<Value = RandomFault> {
    (
        0..HORIZON_UNITS,
        0u8..12,
        0..nodes.max(1),
        any::<u32>(),
        1u64..=16,
    )
        .prop_map(|(at, kind, target, mask, duration)| RandomFault {
            at,
            kind: kind_of(kind),
            target,
            mask,
            duration,
        })
}

/// Draws 0-11 onto kinds: 0-3 and 10 kill, 4-5 pause, 6 isolate, 7 partition, 8 clog, 9 cut,
/// 11 latency. Shrinking moves the draw toward 0, so toward a kill.
pub fn kind_of(draw: u8) -> u8 {
    match draw {
        0..=3 | 10 => 0,
        4 | 5 => 1,
        6 => 2,
        7 => 3,
        8 => 4,
        9 => 5,
        _ => 6,
    }
}

/// The strategy for a schedule.
pub fn schedule_strategy(nodes: usize) -> impl Strategy<Value = Vec<RandomFault>> {
    proptest::collection::vec(fault_strategy(nodes), 1..=FAULTS_MAX)
}

/// A proptest runner whose randomness is rand_chacha seeded with `seed`.
pub fn runner(seed: u64) -> TestRunner {
    let mut chacha = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let bytes: [u8; 32] = chacha.gen();
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// The value tree of the schedule `seed` names (current() is the schedule; simplify() shrinks).
pub fn tree(nodes: usize, seed: u64) -> NewTree<BoxedStrategy<Vec<RandomFault>>> {
    schedule_strategy(nodes).boxed().new_tree(&mut runner(seed))
}

/// The schedule a seed names.
pub fn generate(nodes: usize, seed: u64) -> Vec<RandomFault> {
    match tree(nodes, seed) {
        Ok(t) => t.current(),
        Err(_) => Vec::new(),
    }
}

/// Whether nodes with these extra flags persist their dataset (`--appendonly yes` or a
/// `--save` point): then explore's kills are crashes that lose unsynced writes.
pub fn persists(extra_args: &[String]) -> bool {
    extra_args.windows(2).any(|w| {
        (w[0] == "--appendonly" && w[1] == "yes") || (w[0] == "--save" && !w[1].trim().is_empty())
    })
}

/// A schedule as timeline steps over `base`, ending with a recover step.
pub fn to_scenario(base: &Scenario, seed: u64, faults: &[RandomFault]) -> Scenario {
    let names = crate::scenario::node_names(base.world.masters, base.world.replicas);
    let n = names.len();
    let name = |i: usize| Target::Name(names[i % n].clone());
    let mut steps = Vec::new();
    let mut end = 0;
    let persists = persists(&base.world.extra_args);
    for f in faults {
        let target = f.target % n;
        let fault = match f.kind {
            // With a persistent dataset a kill is a power cut (half of them tearing the last
            // write), so explore tests what the AOF keeps, not only what the page cache does.
            0 if persists => Fault::Crash {
                target: name(target),
                torn: f.mask & 1 != 0,
            },
            0 => Fault::Kill(name(target)),
            // And a quarter of its latency faults become a full disk.
            6 if persists && f.mask & 6 == 6 => Fault::DiskFull(name(target)),
            1 => Fault::Pause(name(target)),
            2 => Fault::Isolate(name(target)),
            3 => {
                let side: Vec<Target> = (0..n)
                    .filter(|&i| i == target || (i < 32 && f.mask & (1 << i) != 0))
                    .map(name)
                    .collect();
                Fault::Partition(vec![side, vec![Target::Rest]])
            }
            4 => Fault::Clog(name(target)),
            5 => {
                let mut other = (f.mask as usize) % n;
                if other == target {
                    other = (target + 1) % n;
                }
                Fault::Partition(vec![vec![name(target)], vec![name(other)]])
            }
            _ => Fault::Latency {
                min_ms: 20,
                max_ms: 20 + (f.mask % 400) as u64,
            },
        };
        let at_ms = f.at * UNIT_MS;
        let for_ms = f.duration * UNIT_MS;
        end = end.max(at_ms + for_ms);
        steps.push(Step {
            at_ms,
            action: Action::Fault(fault),
            for_ms: Some(for_ms),
            failover_within_ms: None,
        });
    }
    // The file's atomic slot migrations start at their times among the random faults (without
    // waiting for the end), so explore tests their rollback against every kind of fault.
    for st in &base.steps {
        if let Action::MigrateSlotsAtomic {
            ranges, from, to, ..
        } = &st.action
        {
            steps.push(Step {
                at_ms: st.at_ms,
                action: Action::MigrateSlotsAtomic {
                    ranges: ranges.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    wait: false,
                },
                for_ms: None,
                failover_within_ms: None,
            });
        }
    }
    let _ = end_with_recover(&mut steps, end);
    Scenario {
        name: format!("{}-random-{}", base.name, seed),
        description: format!(
            "random schedule {} over {} ({} faults)",
            seed,
            base.name,
            faults.len()
        ),
        seed,
        path: base.path.clone(),
        world: base.world.clone(),
        clients: base.clients,
        workload: base.workload.clone(),
        steps,
        expect: Expect {
            liveness_within_ms: 30_000,
            ..Expect::default()
        },
        snapshot_formation: false,
    }
}

/// Puts drawn fault steps in time order and ends the timeline one second after the last fault
/// with `recover` (every node back, every link and disk healed): the run's liveness phase.
pub fn end_with_recover(steps: &mut Vec<Step>, last_fault_end_ms: u64) -> u64 {
    steps.sort_by_key(|s| s.at_ms);
    let at_ms = last_fault_end_ms + 1000;
    steps.push(Step {
        at_ms,
        action: Action::Fault(Fault::Recover),
        for_ms: None,
        failover_within_ms: None,
    });
    at_ms
}

/// The random scenario a seed names over `base`.
pub fn random_scenario(base: &Scenario, seed: u64) -> Scenario {
    let nodes = base.world.masters + base.world.replicas;
    to_scenario(base, seed, &generate(nodes, seed))
}

/// The result of shrinking.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The smallest failing schedule found, as a scenario.
    pub scenario: Scenario,
    /// The invariant it breaks (the same as the original's).
    pub invariant: String,
    /// Faults in the original schedule and in the shrunk one.
    pub faults_before: usize,
    pub faults_after: usize,
    /// Runs spent.
    pub runs: usize,
}

/// Shrinks the schedule `seed` names over `base` while it keeps failing with the same
/// invariant. `fails` runs a scenario and returns the invariant it broke, if any. At most
/// `budget` runs.
pub fn shrink(
    base: &Scenario,
    seed: u64,
    budget: usize,
    fails: impl FnMut(&Scenario) -> Option<String>,
    progress: impl FnMut(usize, usize),
) -> Result<Shrunk, String> {
    let nodes = base.world.masters + base.world.replicas;
    let t = tree(nodes, seed).map_err(|e| format!("no schedule: {e}"))?;
    shrink_tree(
        t,
        |faults| to_scenario(base, seed, faults),
        &format!("random schedule {} over {}", seed, base.name),
        &format!("{}-shrunk-{}", base.name, seed),
        budget,
        fails,
        progress,
    )
}

/// Shrinks the schedule in `t` (any schedule strategy's value tree) while the scenario
/// `build` makes of it keeps failing with the same invariant; `what` says what the original
/// was (for the description), `name` names the result.
pub fn shrink_tree(
    mut t: impl ValueTree<Value = Vec<RandomFault>>,
    build: impl Fn(&[RandomFault]) -> Scenario,
    what: &str,
    name: &str,
    budget: usize,
    mut fails: impl FnMut(&Scenario) -> Option<String>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Shrunk, String> {
    let original = t.current();
    let invariant = fails(&build(&original)).ok_or_else(|| format!("the {what} passes"))?;
    let mut best = original.clone();
    let mut runs = 1;
    if t.simplify() {
        while runs < budget {
            runs += 1;
            let candidate = t.current();
            let failed = fails(&build(&candidate)).as_deref() == Some(&invariant);
            if failed {
                best = candidate;
                progress(runs, best.len());
                if !t.simplify() {
                    break;
                }
            } else if !t.complicate() {
                break;
            }
        }
    }
    let mut scenario = build(&best);
    scenario.name = name.to_string();
    scenario.description = format!(
        "shrunk from {} ({} faults -> {}); fails invariant {}",
        what,
        original.len(),
        best.len(),
        invariant
    );
    Ok(Shrunk {
        scenario,
        invariant,
        faults_before: original.len(),
        faults_after: best.len(),
        runs,
    })
}

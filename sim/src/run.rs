//! Running a scenario at a seed, and over many seeds.

use crate::check::DataReport;
use crate::html::Timeline;
use std::future::Future;

/// What one run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub seed: u64,
    /// The full story, one line per event (link up/down included).
    pub story: String,
    /// Hash of the full story: replaying the seed must reproduce it.
    pub story_hash: u64,
    /// The compact story the snapshot holds: no link up/down lines, formation summarised
    /// unless the scenario asks for it, then the final slot map and the results.
    pub snapshot: String,
    /// The first failover's time (fault to promotion), when the run had one.
    pub failover_ms: Option<u64>,
    /// Every failover of a master that a step faulted (fault to its replica's promotion).
    pub failovers_ms: Vec<u64>,
    /// Promotions after formation.
    pub promotions: usize,
    pub data: Option<DataReport>,
    /// How the lost writes relate to the run's power cuts (runs with a `crash` and a workload).
    pub crash_loss: Option<crate::check::CrashLoss>,
    /// Simulated milliseconds the run covered.
    pub simulated_ms: u64,
    /// Per-node samples for the html timeline (when asked for).
    pub timeline: Option<Box<Timeline>>,
    /// CLUSTER NODES of every node after each step (replay --verbose).
    pub views: Vec<(u64, String)>,
    /// Coverage marks the run hit, with how often (keyslot::marks).
    pub marks: Marks,
}

/// Hits per coverage mark in one run.
pub type Marks = std::collections::BTreeMap<&'static str, u64>;

/// A failed run: what broke and how to replay it.
#[derive(Debug, Clone)]
pub struct RunFailure {
    pub seed: u64,
    /// Which invariant or expectation broke: "1".."8", "identity", "expectation", "command",
    /// "formation".
    pub invariant: String,
    pub message: String,
    pub story: String,
    pub timeline: Option<Box<Timeline>>,
    pub views: Vec<(u64, String)>,
    /// Coverage marks the run hit before it failed (boxed: a failure travels in `Err`, which
    /// stays small).
    pub marks: Box<Marks>,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} failed: {}\n--- story ---\n{}",
            self.seed, self.message, self.story
        )
    }
}

/// Runs `scenario` in a fresh simulated runtime at `seed`, on a thread of its own: std's
/// `RandomState` draws its keys once per thread and then counts up, so a run sharing a thread
/// with earlier runs would hash (and iterate HashMaps) differently from the same seed run alone;
/// a fresh thread draws them inside the runtime, from the seed.
pub fn run_seed<F, Fut>(seed: u64, scenario: F) -> Result<RunReport, RunFailure>
where
    F: FnOnce(u64) -> Fut + Send,
    Fut: Future<Output = Result<RunReport, RunFailure>> + 'static,
{
    std::thread::scope(|s| {
        let t = s.spawn(move || {
            let rt =
                madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
            rt.block_on(scenario(seed))
        });
        match t.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The seeds a test runs: `KEYSLOT_SEED=N` replays one seed; otherwise `pinned` and then
/// `count - 1` more.
pub fn seeds(pinned: u64, count: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("KEYSLOT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let mut v = vec![pinned];
    v.extend((1..count).map(|i| pinned.wrapping_add(i * 7919)));
    v
}

/// Runs a scenario over seeds; panics at the first failure with the seed and the replay
/// command.
pub fn run_many<F, Fut>(test: &str, seeds: &[u64], scenario: F) -> Vec<RunReport>
where
    F: Fn(u64) -> Fut + Sync,
    Fut: Future<Output = Result<RunReport, RunFailure>> + 'static,
{
    let mut out = Vec::new();
    for &seed in seeds {
        match run_seed(seed, &scenario) {
            Ok(r) => out.push(r),
            Err(f) => panic!(
                "{}\nreplay: cd sim && KEYSLOT_SEED={} cargo test --release --test testbed {} -- --nocapture",
                f, f.seed, test
            ),
        }
    }
    out
}

//! The testbed's must-show scenarios, each at a pinned seed and across 20 seeds.
//! Replay one seed: `cd sim && KEYSLOT_SEED=<seed> cargo test --test testbed <name>`.
#![cfg(madsim)]

use keyslot_sim::run::{run_many, run_seed, seeds};
use keyslot_sim::scenarios;

/// Seeds per scenario (the pinned one included).
const SEEDS: u64 = 20;

fn summary(name: &str, reports: &[keyslot_sim::run::RunReport]) {
    let mut failovers: Vec<u64> = reports.iter().filter_map(|r| r.failover_ms).collect();
    failovers.sort_unstable();
    let lost: usize = reports
        .iter()
        .filter_map(|r| r.data.as_ref())
        .map(|d| d.lost_writes)
        .sum();
    let acked: usize = reports
        .iter()
        .filter_map(|r| r.data.as_ref())
        .map(|d| d.acknowledged_writes)
        .sum();
    println!(
        "{name}: {} seeds ok; failover ms min/median/max {:?}/{:?}/{:?}; acknowledged writes {acked}, lost {lost}",
        reports.len(),
        failovers.first(),
        failovers.get(failovers.len() / 2),
        failovers.last()
    );
}

#[test]
fn cluster_forms_like_redis_cli_create() {
    let r = run_many(
        "cluster_forms_like_redis_cli_create",
        &seeds(1, SEEDS),
        scenarios::form,
    );
    summary("form", &r);
}

#[test]
fn failover_kill_master_under_load_promotes_replica_within_timeout_plus_2s() {
    let r = run_many(
        "failover_kill_master_under_load_promotes_replica_within_timeout_plus_2s",
        &seeds(2, SEEDS),
        scenarios::kill_master_under_load,
    );
    for rep in &r {
        let ms = rep.failover_ms.unwrap_or(u64::MAX);
        assert!(ms <= 4000, "seed {}: failover took {} ms", rep.seed, ms);
    }
    summary("kill-master", &r);
}

#[test]
fn failover_partition_isolated_master_steps_down_and_rejoins_as_replica() {
    let r = run_many(
        "failover_partition_isolated_master_steps_down_and_rejoins_as_replica",
        &seeds(3, SEEDS),
        scenarios::partition_master,
    );
    summary("partition-master", &r);
}

#[test]
fn failover_two_masters_killed_at_once_both_replicas_promoted() {
    let r = run_many(
        "failover_two_masters_killed_at_once_both_replicas_promoted",
        &seeds(4, SEEDS),
        |s| scenarios::two_masters_fail(s, false),
    );
    summary("two-masters-fail", &r);
}

#[test]
fn failover_paused_master_resumes_as_replica() {
    let r = run_many(
        "failover_paused_master_resumes_as_replica",
        &seeds(5, SEEDS),
        scenarios::pause_master,
    );
    summary("pause-master", &r);
}

#[test]
fn flapping_link_between_masters_promotes_nobody() {
    let r = run_many(
        "flapping_link_between_masters_promotes_nobody",
        &seeds(6, SEEDS),
        scenarios::flapping_link,
    );
    summary("flapping-link", &r);
}

#[test]
fn replaying_a_seed_gives_the_same_story() {
    let a = run_seed(77, scenarios::kill_master_under_load).unwrap_or_else(|f| panic!("{f}"));
    let b = run_seed(77, scenarios::kill_master_under_load).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(a.story, b.story);
    assert_eq!(a.story_hash, b.story_hash);
    println!("story hash {:016x}", a.story_hash);
}

/// The planted bug (masters may vote twice in one epoch) must be caught: two masters fail at
/// once, their replicas start elections in the same epoch, and a buggy master votes for both.
#[test]
fn planted_double_vote_is_caught_with_its_replay_seed() {
    let mut caught = None;
    for (n, seed) in (1000..1200u64).enumerate() {
        if let Err(f) = run_seed(seed, |s| scenarios::two_masters_fail(s, true)) {
            caught = Some((n + 1, f));
            break;
        }
    }
    let (runs, failure) = caught.expect("200 seeds of the planted double vote found no violation");
    assert!(
        failure.message.contains("3: one vote per epoch"),
        "{}",
        failure.message
    );
    println!(
        "planted double vote caught after {runs} seeds: {}\nreplay: cd sim && KEYSLOT_SEED={} cargo test --test testbed planted",
        failure.message.lines().next().unwrap_or(""),
        failure.seed
    );
}

#[test]
#[ignore]
fn print_story() {
    let seed = std::env::var("KEYSLOT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let name = std::env::var("KEYSLOT_SCENARIO").unwrap_or_else(|_| "kill-master".into());
    match run_seed(seed, |s| async move { scenarios::by_name(&name, s).await }) {
        Ok(r) => println!("{}\nhash {:016x}\n{:?}", r.story, r.story_hash, r.data),
        Err(f) => panic!("{f}"),
    }
}

fn kill_master_at_fixed_seed() -> impl std::future::Future<Output = ()> {
    async {
        if let Err(f) = scenarios::kill_master_under_load(9).await {
            panic!("{f}");
        }
    }
}

/// madsim's own check: the same seed run twice draws the same random numbers in the same order.
#[test]
fn madsim_check_determinism_on_kill_master() {
    madsim::runtime::Runtime::check_determinism(9, madsim::Config::default(), kill_master_at_fixed_seed);
}

/// Regression: sibling elections started on the same 100 ms tick even with different random
/// delays, so the replicas of two failed masters split the three remaining votes in every
/// epoch and neither was ever promoted (found at seed 102951 of two-masters-fail). Elections
/// now start at their exact deadline.
#[test]
fn election_delays_are_not_rounded_to_the_tick() {
    let mut all = vec![102951];
    all.extend(seeds(20000, 100));
    let r = run_many("election_delays_are_not_rounded_to_the_tick", &all, |s| {
        scenarios::two_masters_fail(s, false)
    });
    summary("two-masters-fail x100", &r);
}

//! `keyslot-sim`: run the simulator's scenarios from the command line.
//!
//! ```text
//! keyslot-sim list
//! keyslot-sim run kill-master --seed 42          # story, verdict, story hash
//! keyslot-sim explore kill-master --seeds 100    # many seeds, summary
//! keyslot-sim bench                              # simulated seconds per wall second
//! ```

#[cfg(madsim)]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(madsim))]
fn main() {
    eprintln!("keyslot-sim must be built with --cfg madsim (run it from sim/: cargo run --release -- ...)");
    std::process::exit(2);
}

#[cfg(madsim)]
mod cli {
    use clap::{Parser, Subcommand};
    use keyslot_sim::run::{run_seed, RunReport};
    use keyslot_sim::scenarios;
    use std::process::ExitCode;
    use std::time::Instant;

    #[derive(Parser)]
    #[command(
        name = "keyslot-sim",
        about = "Deterministic simulation of a keyslot Redis Cluster"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// List the built-in scenarios.
        List,
        /// Run one scenario at one seed and print its story.
        Run {
            scenario: String,
            #[arg(long, default_value_t = 1)]
            seed: u64,
        },
        /// Run a scenario over many seeds and summarise.
        Explore {
            scenario: String,
            #[arg(long, default_value_t = 100)]
            seeds: u64,
            #[arg(long, default_value_t = 1)]
            first_seed: u64,
        },
        /// Measure simulator speed: simulated seconds per wall second and seeds per minute of
        /// the kill-master scenario.
        Bench {
            #[arg(long, default_value_t = 10)]
            seeds: u64,
        },
    }

    fn run(scenario: &str, seed: u64) -> Result<RunReport, keyslot_sim::run::RunFailure> {
        let name = scenario.to_string();
        run_seed(
            seed,
            move |s| async move { scenarios::by_name(&name, s).await },
        )
    }

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        match cli.command {
            Command::List => {
                for n in scenarios::NAMES {
                    println!("{n}");
                }
                ExitCode::SUCCESS
            }
            Command::Run { scenario, seed } => {
                println!("scenario {scenario} seed {seed}");
                match run(&scenario, seed) {
                    Ok(r) => {
                        print!("{}", r.story);
                        if let Some(ms) = r.failover_ms {
                            println!("failover: {ms} ms");
                        }
                        if let Some(d) = &r.data {
                            println!(
                                "data: {} ops, {} acknowledged writes, {} lost, {} failed, {} unknown",
                                d.operations, d.acknowledged_writes, d.lost_writes, d.failed, d.unknown
                            );
                            for l in &d.lost {
                                println!("  lost: {l}");
                            }
                        }
                        println!("verdict: ok; story hash {:016x}", r.story_hash);
                        ExitCode::SUCCESS
                    }
                    Err(f) => {
                        println!("{f}");
                        println!(
                            "verdict: FAILED; replay: keyslot-sim run {scenario} --seed {}",
                            f.seed
                        );
                        ExitCode::FAILURE
                    }
                }
            }
            Command::Explore {
                scenario,
                seeds,
                first_seed,
            } => {
                let started = Instant::now();
                let mut failures = Vec::new();
                let mut failovers = Vec::new();
                let (mut acked, mut lost) = (0, 0);
                for seed in first_seed..first_seed + seeds {
                    match run(&scenario, seed) {
                        Ok(r) => {
                            failovers.extend(r.failover_ms);
                            if let Some(d) = r.data {
                                acked += d.acknowledged_writes;
                                lost += d.lost_writes;
                            }
                        }
                        Err(f) => {
                            println!("seed {seed}: {}", f.message.lines().next().unwrap_or(""));
                            failures.push(seed);
                        }
                    }
                }
                failovers.sort_unstable();
                let pct = |p: usize| {
                    failovers
                        .get((failovers.len().max(1) - 1) * p / 100)
                        .copied()
                };
                println!(
                    "{scenario}: {seeds} seeds, {} failed, failover ms p50 {:?} p99 {:?}, writes acknowledged {acked} lost {lost}, {:.1} s wall",
                    failures.len(),
                    pct(50),
                    pct(99),
                    started.elapsed().as_secs_f64()
                );
                for s in &failures {
                    println!("replay: keyslot-sim run {scenario} --seed {s}");
                }
                if failures.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Command::Bench { seeds } => {
                let started = Instant::now();
                let mut simulated_ms = 0;
                for seed in 0..seeds {
                    match run("kill-master", seed) {
                        Ok(r) => simulated_ms += r.simulated_ms,
                        Err(f) => {
                            println!("{f}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                let wall = started.elapsed().as_secs_f64();
                println!(
                    "kill-master (6 nodes, 2 clients): {} seeds, {:.1} simulated s in {:.2} wall s: {:.0} simulated s per wall s, {:.1} seeds per minute",
                    seeds,
                    simulated_ms as f64 / 1000.0,
                    wall,
                    simulated_ms as f64 / 1000.0 / wall,
                    seeds as f64 * 60.0 / wall
                );
                ExitCode::SUCCESS
            }
        }
    }
}

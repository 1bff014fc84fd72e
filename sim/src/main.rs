//! `keyslot-sim`: run scenario files on the simulator.
//!
//! ```text
//! keyslot-sim list                                         # scenarios/*.toml
//! keyslot-sim run scenarios/*.toml                         # each at its pinned seed, a table
//! keyslot-sim run scenarios/kill-master.toml --seed 42     # story + verdict
//! keyslot-sim run kill-master --html out.html              # the run as a timeline page
//! keyslot-sim replay kill-master --seed 42 --verbose       # full per-node event log
//! keyslot-sim explore kill-master --seeds 200 --jobs 2     # random fault schedules, a table
//! keyslot-sim shrink kill-master --seed 17                 # minimal failing schedule -> file
//! keyslot-sim bench                                        # simulated seconds per wall second
//! ```
//!
//! A scenario is named by its path or by its name in scenarios/.

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
    use keyslot_sim::run::{RunFailure, RunReport};
    use keyslot_sim::scenario::{self, Scenario};
    use keyslot_sim::scenarios::{self, Options};
    use keyslot_sim::{html, schedule};
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::process::ExitCode;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Instant;

    #[derive(Parser)]
    #[command(
        name = "keyslot-sim",
        about = "Deterministic simulation of a keyslot Redis Cluster: scenario files, seeds, random fault schedules"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// List the scenarios in scenarios/.
        List,
        /// Run scenarios (each at its pinned seed unless --seed): story and verdict for one,
        /// a table for several.
        Run {
            #[arg(required = true)]
            files: Vec<String>,
            #[arg(long)]
            seed: Option<u64>,
            /// Run the random fault schedule of the seed over the file instead of its timeline.
            #[arg(long)]
            random: bool,
            /// Print each story even when running several files.
            #[arg(long)]
            story: bool,
            /// Write the run as an html timeline (one file only).
            #[arg(long)]
            html: Option<String>,
        },
        /// Replay one seed with the full story (every event, link changes included).
        Replay {
            file: String,
            #[arg(long)]
            seed: u64,
            #[arg(long)]
            random: bool,
            /// Also print each node's own event log and every node's CLUSTER NODES after each
            /// step.
            #[arg(long)]
            verbose: bool,
        },
        /// Run random fault schedules over scenarios and summarise.
        Explore {
            #[arg(required = true)]
            files: Vec<String>,
            #[arg(long, default_value_t = 100)]
            seeds: u64,
            #[arg(long, default_value_t = 1)]
            first_seed: u64,
            #[arg(long, default_value_t = 1)]
            jobs: usize,
            /// Run each file's own timeline at every seed instead of random schedules.
            #[arg(long)]
            as_written: bool,
        },
        /// Shrink the failing random schedule of a seed and write it as a scenario file.
        Shrink {
            file: String,
            #[arg(long)]
            seed: u64,
            /// Where to write it (default: <name>-shrunk-<seed>.toml in the current directory).
            #[arg(long)]
            out: Option<String>,
            /// Runs to spend at most.
            #[arg(long, default_value_t = 400)]
            budget: usize,
        },
        /// Simulator speed: simulated seconds per wall second over the kill-master scenario.
        Bench {
            #[arg(long, default_value_t = 10)]
            seeds: u64,
        },
    }

    fn load(name: &str) -> Result<Scenario, String> {
        scenario::find(name).map_err(|e| e.to_string())
    }

    fn scenario_for(base: &Scenario, seed: u64, random: bool) -> Scenario {
        if random {
            schedule::random_scenario(base, seed)
        } else {
            base.clone()
        }
    }

    fn data_line(r: &RunReport) -> Option<String> {
        r.data.as_ref().map(|d| {
            format!(
                "data: {} ops, {} acknowledged writes, {} lost, {} failed, {} unknown",
                d.operations, d.acknowledged_writes, d.lost_writes, d.failed, d.unknown
            )
        })
    }

    fn replay_cmd(sc: &Scenario, seed: u64, random: bool) -> String {
        format!(
            "keyslot-sim replay {} --seed {}{}",
            sc.path,
            seed,
            if random { " --random" } else { "" }
        )
    }

    fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
        if sorted.is_empty() {
            return None;
        }
        let rank = (p * sorted.len()).div_ceil(100).max(1);
        sorted.get(rank - 1).copied()
    }

    fn ms(v: Option<u64>) -> String {
        v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into())
    }

    fn cmd_run(
        files: Vec<String>,
        seed: Option<u64>,
        random: bool,
        story: bool,
        html_out: Option<String>,
    ) -> ExitCode {
        if html_out.is_some() && files.len() != 1 {
            eprintln!("--html draws one run: give one file");
            return ExitCode::from(2);
        }
        let mut scenarios = Vec::new();
        for f in &files {
            match load(f) {
                Ok(s) => scenarios.push(s),
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            }
        }
        let single = scenarios.len() == 1;
        let mut rows = Vec::new();
        let mut failed = 0;
        let started = Instant::now();
        for base in &scenarios {
            let seed = seed.unwrap_or(base.seed);
            let sc = scenario_for(base, seed, random);
            let options = Options {
                timeline: html_out.is_some(),
                views: false,
            };
            let t0 = Instant::now();
            let result = scenarios::run(&sc, seed, options);
            let wall = t0.elapsed().as_secs_f64();
            if single || story {
                println!("=== {} (seed {}): {}", sc.name, seed, sc.description);
            }
            let timeline = match &result {
                Ok(r) => r.timeline.clone(),
                Err(f) => f.timeline.clone(),
            };
            match &result {
                Ok(r) => {
                    if single || story {
                        print!("{}", r.snapshot);
                        println!(
                            "verdict: ok; story hash {:016x}; {:.1} simulated s in {:.2} wall s",
                            r.story_hash,
                            r.simulated_ms as f64 / 1000.0,
                            wall
                        );
                    }
                    rows.push((
                        sc.name.clone(),
                        seed,
                        "ok".to_string(),
                        r.promotions,
                        r.failovers_ms.clone(),
                        r.data
                            .as_ref()
                            .map(|d| (d.acknowledged_writes, d.lost_writes)),
                        r.simulated_ms,
                    ));
                }
                Err(f) => {
                    failed += 1;
                    if single || story {
                        println!("{f}");
                    } else {
                        println!(
                            "{}: FAILED ({}): {}",
                            sc.name,
                            f.invariant,
                            f.message.lines().next().unwrap_or("")
                        );
                    }
                    println!("verdict: FAILED; replay: {}", replay_cmd(&sc, seed, random));
                    rows.push((
                        sc.name.clone(),
                        seed,
                        format!("FAILED {}", f.invariant),
                        0,
                        Vec::new(),
                        None,
                        0,
                    ));
                }
            }
            if let (Some(path), Some(t)) = (&html_out, timeline) {
                let page = html::render(&format!("{} (seed {})", sc.name, seed), &t);
                if let Err(e) = std::fs::write(path, page) {
                    eprintln!("writing {path}: {e}");
                    return ExitCode::FAILURE;
                }
                println!("timeline written to {path}");
            }
        }
        if !single {
            println!();
            println!(
                "{:<28} {:>6}  {:<12} {:>10} {:>14} {:>18} {:>9}",
                "scenario",
                "seed",
                "verdict",
                "promotions",
                "failover",
                "writes acked/lost",
                "sim s"
            );
            for (name, seed, verdict, promotions, failovers, data, sim) in &rows {
                let f = if failovers.is_empty() {
                    "-".to_string()
                } else {
                    failovers
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                        + " ms"
                };
                let d = data
                    .map(|(a, l)| format!("{a}/{l}"))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<28} {:>6}  {:<12} {:>10} {:>14} {:>18} {:>9.1}",
                    name,
                    seed,
                    verdict,
                    promotions,
                    f,
                    d,
                    *sim as f64 / 1000.0
                );
            }
            println!(
                "{} scenarios, {} passed, {} failed, {:.1} s wall",
                rows.len(),
                rows.len() - failed,
                failed,
                started.elapsed().as_secs_f64()
            );
        }
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn cmd_replay(file: String, seed: u64, random: bool, verbose: bool) -> ExitCode {
        let base = match load(&file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let sc = scenario_for(&base, seed, random);
        println!("=== {} (seed {}): {}", sc.name, seed, sc.description);
        if random {
            println!("--- schedule ---\n{}", sc.to_toml());
        }
        let options = Options {
            timeline: false,
            views: verbose,
        };
        let result = scenarios::run(&sc, seed, options);
        let (story, views) = match &result {
            Ok(r) => (r.story.clone(), r.views.clone()),
            Err(f) => (f.story.clone(), f.views.clone()),
        };
        println!("--- story (every event) ---");
        print!("{story}");
        if verbose {
            let mut per_node: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for line in story.lines() {
                let who = line.split_whitespace().nth(1).unwrap_or("").to_string();
                per_node.entry(who).or_default().push(line);
            }
            for (node, lines) in &per_node {
                println!("--- {node}: {} events ---", lines.len());
                for l in lines {
                    println!("{l}");
                }
            }
            for (at, v) in &views {
                println!(
                    "--- views after the step at {}.{:03}s ---\n{v}",
                    at / 1000,
                    at % 1000
                );
            }
        }
        match result {
            Ok(r) => {
                if let Some(d) = data_line(&r) {
                    println!("{d}");
                    if let Some(d) = &r.data {
                        for l in &d.lost {
                            println!("  lost: {l}");
                        }
                    }
                }
                println!("verdict: ok; story hash {:016x}", r.story_hash);
                ExitCode::SUCCESS
            }
            Err(f) => {
                println!("verdict: FAILED ({}): {}", f.invariant, f.message);
                ExitCode::FAILURE
            }
        }
    }

    /// One explore row's totals.
    #[derive(Default)]
    struct Tally {
        runs: u64,
        passed: u64,
        violations: BTreeMap<String, u64>,
        acked: usize,
        lost: usize,
        runs_with_loss: u64,
        failovers: Vec<u64>,
        failures: Vec<(u64, String, String)>,
        wall: f64,
        marks: keyslot_sim::marks::Coverage,
    }

    fn explore_one(
        base: &Scenario,
        seeds: u64,
        first_seed: u64,
        jobs: usize,
        as_written: bool,
    ) -> Tally {
        let started = Instant::now();
        let next = Arc::new(AtomicU64::new(first_seed));
        let end = first_seed + seeds;
        let (tx, rx) = mpsc::channel::<(u64, Result<RunReport, RunFailure>)>();
        let mut handles = Vec::new();
        for _ in 0..jobs.max(1) {
            let (next, tx, base) = (next.clone(), tx.clone(), base.clone());
            handles.push(std::thread::spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= end {
                    break;
                }
                let sc = scenario_for(&base, seed, !as_written);
                let r = scenarios::run(&sc, seed, Options::default());
                if tx.send((seed, r)).is_err() {
                    break;
                }
            }));
        }
        drop(tx);
        let mut t = Tally::default();
        for (seed, r) in rx {
            t.runs += 1;
            t.marks.add(match &r {
                Ok(r) => &r.marks,
                Err(f) => &f.marks,
            });
            match r {
                Ok(r) => {
                    t.passed += 1;
                    t.failovers.extend(r.failovers_ms.iter().copied());
                    if let Some(d) = r.data {
                        t.acked += d.acknowledged_writes;
                        t.lost += d.lost_writes;
                        if d.lost_writes > 0 {
                            t.runs_with_loss += 1;
                        }
                    }
                }
                Err(f) => {
                    *t.violations.entry(f.invariant.clone()).or_default() += 1;
                    let first = f.message.lines().next().unwrap_or("").to_string();
                    t.failures.push((seed, f.invariant, first));
                }
            }
            eprint!(
                "\r  {}: {}/{} runs, {} failed   ",
                base.name,
                t.runs,
                seeds,
                t.runs - t.passed
            );
            let _ = std::io::stderr().flush();
        }
        eprint!("\r{:70}\r", "");
        for h in handles {
            let _ = h.join();
        }
        t.failovers.sort_unstable();
        t.failures.sort();
        t.wall = started.elapsed().as_secs_f64();
        t
    }

    fn cmd_explore(
        files: Vec<String>,
        seeds: u64,
        first_seed: u64,
        jobs: usize,
        as_written: bool,
    ) -> ExitCode {
        let mut bases = Vec::new();
        for f in &files {
            match load(f) {
                Ok(s) => bases.push(s),
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            }
        }
        println!(
            "explore: {} over seeds {}..{}, {} jobs",
            if as_written {
                "each file's own timeline"
            } else {
                "random fault schedules"
            },
            first_seed,
            first_seed + seeds - 1,
            jobs
        );
        let mut all = Vec::new();
        for base in &bases {
            let t = explore_one(base, seeds, first_seed, jobs, as_written);
            all.push((base, t));
        }
        println!(
            "{:<28} {:>5} {:>6} {:<22} {:>16} {:>9} {:>9} {:>8}",
            "scenario", "runs", "passed", "violations", "lost/acked", "fo p50", "fo p99", "wall s"
        );
        let mut total = Tally::default();
        for (base, t) in &all {
            let v = if t.violations.is_empty() {
                "-".to_string()
            } else {
                t.violations
                    .iter()
                    .map(|(k, n)| format!("{k}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            println!(
                "{:<28} {:>5} {:>6} {:<22} {:>16} {:>9} {:>9} {:>8.1}",
                base.name,
                t.runs,
                t.passed,
                v,
                format!("{}/{}", t.lost, t.acked),
                ms(percentile(&t.failovers, 50)),
                ms(percentile(&t.failovers, 99)),
                t.wall
            );
            total.runs += t.runs;
            total.passed += t.passed;
            for (k, n) in &t.violations {
                *total.violations.entry(k.clone()).or_default() += n;
            }
            total.acked += t.acked;
            total.lost += t.lost;
            total.runs_with_loss += t.runs_with_loss;
            total.failovers.extend(t.failovers.iter().copied());
            total.wall += t.wall;
            total.marks.merge(&t.marks);
        }
        total.failovers.sort_unstable();
        println!("summary:");
        println!("  runs                {}", total.runs);
        println!("  passed              {}", total.passed);
        if total.violations.is_empty() {
            println!("  violations          none");
        } else {
            println!("  violations by invariant:");
            for (k, n) in &total.violations {
                println!("    {k:<17} {n}");
            }
        }
        println!(
            "  lost writes         {} of {} acknowledged, in {} runs",
            total.lost, total.acked, total.runs_with_loss
        );
        println!(
            "  failover time       {} measured: p50 {}, p99 {}, max {}",
            total.failovers.len(),
            ms(percentile(&total.failovers, 50)),
            ms(percentile(&total.failovers, 99)),
            ms(total.failovers.last().copied())
        );
        println!("  wall                {:.1} s", total.wall);
        print!("{}", total.marks.render());
        let mut failed = false;
        for (base, t) in &all {
            for (seed, inv, msg) in &t.failures {
                failed = true;
                println!("{} seed {seed}: {inv}: {msg}", base.name);
                println!("  replay: {}", replay_cmd(base, *seed, !as_written));
                if !as_written {
                    println!("  shrink: keyslot-sim shrink {} --seed {seed}", base.path);
                }
            }
        }
        if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }

    fn cmd_shrink(file: String, seed: u64, out: Option<String>, budget: usize) -> ExitCode {
        let base = match load(&file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let started = Instant::now();
        let result = schedule::shrink(
            &base,
            seed,
            budget,
            |sc| {
                scenarios::run(sc, seed, Options::default())
                    .err()
                    .map(|f| f.invariant)
            },
            |runs, faults| {
                eprint!("\r  shrinking: {runs} runs, {faults} faults   ");
                let _ = std::io::stderr().flush();
            },
        );
        eprint!("\r{:60}\r", "");
        let shrunk = match result {
            Ok(s) => s,
            Err(e) => {
                println!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let path = out.unwrap_or_else(|| format!("{}.toml", shrunk.scenario.name));
        let text = format!(
            "# Written by `keyslot-sim shrink {} --seed {}`.\n{}",
            file,
            seed,
            shrunk.scenario.to_toml()
        );
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("writing {path}: {e}");
            return ExitCode::FAILURE;
        }
        println!(
            "shrunk the schedule of seed {} over {} from {} faults to {} in {} runs ({:.1} s); it still fails invariant {}",
            seed,
            base.name,
            shrunk.faults_before,
            shrunk.faults_after,
            shrunk.runs,
            started.elapsed().as_secs_f64(),
            shrunk.invariant
        );
        println!("written to {path}:\n{text}");
        println!("reproduce: keyslot-sim run {path}");
        ExitCode::SUCCESS
    }

    fn cmd_bench(seeds: u64) -> ExitCode {
        let base = match load("kill-master") {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let started = Instant::now();
        let mut simulated_ms = 0;
        for seed in 0..seeds {
            match scenarios::run(&base, seed, Options::default()) {
                Ok(r) => simulated_ms += r.simulated_ms,
                Err(f) => {
                    println!("{f}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let wall = started.elapsed().as_secs_f64();
        println!(
            "kill-master ({} nodes, {} clients): {} seeds, {:.1} simulated s in {:.2} wall s: {:.0} simulated s per wall s, {:.1} seeds per minute",
            base.world.masters + base.world.replicas,
            base.clients,
            seeds,
            simulated_ms as f64 / 1000.0,
            wall,
            simulated_ms as f64 / 1000.0 / wall,
            seeds as f64 * 60.0 / wall
        );
        ExitCode::SUCCESS
    }

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        match cli.command {
            Command::List => match scenario::load_dir(&scenario::scenarios_dir()) {
                Ok(list) => {
                    for s in list {
                        println!("{:<28} seed {:<6} {}", s.name, s.seed, s.description);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            },
            Command::Run {
                files,
                seed,
                random,
                story,
                html,
            } => cmd_run(files, seed, random, story, html),
            Command::Replay {
                file,
                seed,
                random,
                verbose,
            } => cmd_replay(file, seed, random, verbose),
            Command::Explore {
                files,
                seeds,
                first_seed,
                jobs,
                as_written,
            } => cmd_explore(files, seeds, first_seed, jobs, as_written),
            Command::Shrink {
                file,
                seed,
                out,
                budget,
            } => cmd_shrink(file, seed, out, budget),
            Command::Bench { seeds } => cmd_bench(seeds),
        }
    }
}

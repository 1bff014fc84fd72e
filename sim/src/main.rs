//! `keyslot-sim`: run scenario files on the simulator.
//!
//! ```text
//! keyslot-sim list                                         # scenarios/*.toml
//! keyslot-sim run scenarios/*.toml                         # each at its pinned seed, a table
//! keyslot-sim run scenarios/kill-master.toml --seed 42     # story + verdict
//! keyslot-sim run kill-master --html out.html              # the run as a timeline page
//! keyslot-sim replay kill-master --seed 42 --verbose       # full per-node event log
//! keyslot-sim explore kill-master --seeds 200 --jobs 2     # random fault schedules, a table
//! keyslot-sim explore ../scenarios/*.toml --swarm --seeds 100   # a world per seed, too
//! keyslot-sim explore kill-master --swarm --shard 1/4 --json s1.jsonl   # a quarter of the seeds
//! keyslot-sim merge s0.jsonl s1.jsonl s2.jsonl s3.jsonl   # the table of the whole range
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
    use keyslot_sim::record::{self, Mode, Outcome, RunRecord, Shard};
    use keyslot_sim::run::RunReport;
    use keyslot_sim::scenario::{self, Scenario};
    use keyslot_sim::scenarios::{self, Options};
    use keyslot_sim::{html, schedule, summary, swarm};
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::process::ExitCode;
    use std::sync::atomic::{AtomicUsize, Ordering};
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
            /// With --random: the seed also draws the world (topology, timeouts, fault kinds,
            /// load); see `explore --swarm`.
            #[arg(long, requires = "random")]
            swarm: bool,
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
            /// With --random: the seed also draws the world (explore --swarm's runs).
            #[arg(long, requires = "random")]
            swarm: bool,
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
            #[arg(long, conflicts_with = "swarm")]
            as_written: bool,
            /// Each seed draws its own world before its schedule: topology (3x0 to 5x2),
            /// node-timeout, which fault kinds are on, their number and durations, partition
            /// modes, client load; a safety phase, then a liveness phase with a budget. With
            /// several files the seeds are dealt out to them in turn (seed s runs file
            /// (s - first_seed) % files), so --seeds N is N runs in all.
            #[arg(long)]
            swarm: bool,
            /// Run only the seeds s of shard I of N: (s - first_seed) % N == I.
            #[arg(long)]
            shard: Option<Shard>,
            /// Also write one JSON line per run to this file (for `merge`).
            #[arg(long)]
            json: Option<String>,
        },
        /// Combine explore --json files (shards) into the table one explore prints.
        Merge {
            #[arg(required = true)]
            files: Vec<String>,
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
            /// Shrink the schedule of the seed's swarm world (explore --swarm's runs); the
            /// world stays as drawn.
            #[arg(long)]
            swarm: bool,
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

    fn mode_of(random: bool, swarm: bool) -> Mode {
        match (random, swarm) {
            (_, true) => Mode::Swarm,
            (true, false) => Mode::Random,
            (false, false) => Mode::AsWritten,
        }
    }

    /// The scenario a seed runs in `mode`, and the kinds of the faults it injects.
    fn scenario_for(base: &Scenario, seed: u64, mode: Mode) -> (Scenario, Vec<String>) {
        match mode {
            Mode::AsWritten => (base.clone(), record::timeline_labels(base)),
            Mode::Random => {
                let sc = schedule::random_scenario(base, seed);
                let labels = record::timeline_labels(&sc);
                (sc, labels)
            }
            Mode::Swarm => {
                let (model, faults) = swarm::draw(base, seed);
                let labels = swarm::fault_labels(&model, &faults)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                (swarm::to_scenario(base, seed, &model, &faults), labels)
            }
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

    fn replay_cmd(sc: &Scenario, seed: u64, mode: Mode) -> String {
        format!(
            "keyslot-sim replay {} --seed {}{}",
            sc.path,
            seed,
            mode.flags()
        )
    }

    fn cmd_run(
        files: Vec<String>,
        seed: Option<u64>,
        mode: Mode,
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
            let (sc, _) = scenario_for(base, seed, mode);
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
                    println!("verdict: FAILED; replay: {}", replay_cmd(&sc, seed, mode));
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

    fn cmd_replay(file: String, seed: u64, mode: Mode, verbose: bool) -> ExitCode {
        let base = match load(&file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let (sc, _) = scenario_for(&base, seed, mode);
        println!("=== {} (seed {}): {}", sc.name, seed, sc.description);
        if mode == Mode::Swarm {
            let (model, _) = swarm::draw(&base, seed);
            println!("--- swarm world ---\n{model}");
        }
        if mode != Mode::AsWritten {
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

    /// Runs one seed, a panic caught and reported as such.
    fn explore_run(base: &Scenario, seed: u64, mode: Mode) -> RunRecord {
        let (sc, labels) = scenario_for(base, seed, mode);
        let started = Instant::now();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            scenarios::run(&sc, seed, Options::default())
        }));
        let outcome = match caught {
            Ok(Ok(r)) => Outcome::Report(r),
            Ok(Err(f)) => Outcome::Failure(f),
            Err(payload) => Outcome::panic(payload),
        };
        let wall_ms = started.elapsed().as_millis() as u64;
        RunRecord::new(base, &sc, mode, seed, labels, outcome, wall_ms)
    }

    /// Runs `seeds` of one base file on `jobs` threads; records in seed order.
    fn explore_one(base: &Scenario, seeds: &[u64], jobs: usize, mode: Mode) -> Vec<RunRecord> {
        let next = Arc::new(AtomicUsize::new(0));
        let seeds: Arc<Vec<u64>> = Arc::new(seeds.to_vec());
        let (tx, rx) = mpsc::channel::<RunRecord>();
        let mut handles = Vec::new();
        for _ in 0..jobs.max(1) {
            let (next, tx, base, seeds) = (next.clone(), tx.clone(), base.clone(), seeds.clone());
            handles.push(std::thread::spawn(move || {
                while let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if tx.send(explore_run(&base, seed, mode)).is_err() {
                        break;
                    }
                }
            }));
        }
        drop(tx);
        let mut out = Vec::new();
        let mut failed = 0;
        for r in rx {
            if r.verdict != record::Verdict::Ok {
                failed += 1;
            }
            out.push(r);
            eprint!(
                "\r  {}: {}/{} runs, {} failed   ",
                base.name,
                out.len(),
                seeds.len(),
                failed
            );
            let _ = std::io::stderr().flush();
        }
        eprint!("\r{:70}\r", "");
        for h in handles {
            let _ = h.join();
        }
        out.sort_by_key(|r| r.seed);
        out
    }

    /// Options of one explore.
    struct Explore {
        seeds: u64,
        first_seed: u64,
        jobs: usize,
        mode: Mode,
        shard: Shard,
        json: Option<String>,
    }

    fn cmd_explore(files: Vec<String>, e: Explore) -> ExitCode {
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
        let mut json = match &e.json {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => Some((path.clone(), std::io::BufWriter::new(f))),
                Err(err) => {
                    eprintln!("creating {path}: {err}");
                    return ExitCode::from(2);
                }
            },
            None => None,
        };
        let seeds = e.shard.seeds(e.first_seed, e.seeds);
        println!(
            "explore: {} over seeds {}..{}{}, {} jobs",
            match e.mode {
                Mode::AsWritten => "each file's own timeline",
                Mode::Random => "random fault schedules",
                Mode::Swarm => "swarm worlds and their fault schedules",
            },
            e.first_seed,
            e.first_seed + e.seeds.max(1) - 1,
            if e.shard == Shard::ALL {
                String::new()
            } else {
                format!(
                    " (shard {}/{}: {} seeds)",
                    e.shard.index,
                    e.shard.count,
                    seeds.len()
                )
            },
            e.jobs
        );
        let started = Instant::now();
        let mut all = Vec::new();
        let files = bases.len() as u64;
        for (k, base) in bases.iter().enumerate() {
            // A swarm seed draws the whole world; the file gives only its node flags and its
            // name. So the seeds are dealt out to the files in turn (seed s runs file
            // (s - first_seed) % files) rather than every file running every seed: N seeds are
            // N distinct worlds, not the same worlds once per file.
            let mine: Vec<u64> = if e.mode == Mode::Swarm {
                seeds
                    .iter()
                    .copied()
                    .filter(|s| s.wrapping_sub(e.first_seed) % files == k as u64)
                    .collect()
            } else {
                seeds.clone()
            };
            let records = explore_one(base, &mine, e.jobs, e.mode);
            if let Some((path, w)) = &mut json {
                // Written per file, so a long explore that is stopped keeps what it finished.
                let written = records
                    .iter()
                    .try_for_each(|r| writeln!(w, "{}", record::to_json_line(r)))
                    .and_then(|_| w.flush());
                if let Err(err) = written {
                    eprintln!("writing {path}: {err}");
                    return ExitCode::FAILURE;
                }
            }
            all.extend(records);
        }
        print!("{}", summary::render(&all));
        let wall = started.elapsed().as_secs_f64();
        println!(
            "wall {:.1} s: {:.2} runs per second on {} jobs",
            wall,
            all.len() as f64 / wall.max(1e-9),
            e.jobs
        );
        if summary::all_passed(&all) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn cmd_merge(files: Vec<String>) -> ExitCode {
        let mut all = Vec::new();
        for f in &files {
            match record::read_records(std::path::Path::new(f)) {
                Ok(r) => all.extend(r),
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            }
        }
        println!("merge: {} runs from {} files", all.len(), files.len());
        print!("{}", summary::render(&all));
        let wall_ms: u64 = all.iter().map(|r| r.wall_ms).sum();
        println!(
            "wall {:.1} s of runs in all (summed over the shards' runs)",
            wall_ms as f64 / 1000.0
        );
        if summary::all_passed(&all) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn cmd_shrink(
        file: String,
        seed: u64,
        out: Option<String>,
        budget: usize,
        swarm: bool,
    ) -> ExitCode {
        let base = match load(&file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let started = Instant::now();
        let fails = |sc: &Scenario| {
            scenarios::run(sc, seed, Options::default())
                .err()
                .map(|f| f.invariant)
        };
        let progress = |runs, faults| {
            eprint!("\r  shrinking: {runs} runs, {faults} faults   ");
            let _ = std::io::stderr().flush();
        };
        let result = if swarm {
            let (model, _) = swarm::draw(&base, seed);
            match swarm::tree(&model, seed) {
                Ok(t) => schedule::shrink_tree(
                    t,
                    |faults| swarm::to_scenario(&base, seed, &model, faults),
                    &format!("swarm world {} over {} ({})", seed, base.name, model),
                    &format!("{}-swarm-shrunk-{}", base.name, seed),
                    budget,
                    fails,
                    progress,
                ),
                Err(e) => Err(format!("no schedule: {e}")),
            }
        } else {
            schedule::shrink(&base, seed, budget, fails, progress)
        };
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
            "# Written by `keyslot-sim shrink {} --seed {}{}`.\n{}",
            file,
            seed,
            if swarm { " --swarm" } else { "" },
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
                swarm,
                story,
                html,
            } => cmd_run(files, seed, mode_of(random, swarm), story, html),
            Command::Replay {
                file,
                seed,
                random,
                swarm,
                verbose,
            } => cmd_replay(file, seed, mode_of(random, swarm), verbose),
            Command::Explore {
                files,
                seeds,
                first_seed,
                jobs,
                as_written,
                swarm,
                shard,
                json,
            } => cmd_explore(
                files,
                Explore {
                    seeds,
                    first_seed,
                    jobs,
                    mode: mode_of(!as_written, swarm),
                    shard: shard.unwrap_or(Shard::ALL),
                    json,
                },
            ),
            Command::Merge { files } => cmd_merge(files),
            Command::Shrink {
                file,
                seed,
                out,
                budget,
                swarm,
            } => cmd_shrink(file, seed, out, budget, swarm),
            Command::Bench { seeds } => cmd_bench(seeds),
        }
    }
}

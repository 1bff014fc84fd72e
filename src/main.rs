//! `keyslot-server`: takes redis-server's arguments (`[configfile] [--name value ...]`) and
//! serves until killed.

use keyslot::config::Config;
use keyslot::log::{Level, Logger, Sink};
use keyslot::node::Node;
use keyslot::server::{self, NodeEnv};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// jemalloc, as redis-server is built. A free there touches only the allocator's own metadata,
/// where glibc's reads and writes the freed chunk: dropping an overwritten value (every SET on a
/// master and on its replicas) was a cache miss in `free` for each (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    keyslot::cmd::info::set_mem_allocator("jemalloc-5.3.0");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--version")
        || args.first().map(String::as_str) == Some("-v")
    {
        println!(
            "keyslot-server v={} (Redis server v=7.0.15 compatible)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    // Container images set KEYSLOT_PROTECTED_MODE_DEFAULT=no, as the official redis image
    // builds redis-server with protected mode off: the nodes are reached from other containers.
    // The config file and flags still override it.
    let mut defaults = Config::default();
    if let Ok(v) = std::env::var("KEYSLOT_PROTECTED_MODE_DEFAULT") {
        if let Err(e) = defaults.set_startup("protected-mode", &[v]) {
            eprintln!("KEYSLOT_PROTECTED_MODE_DEFAULT: {}", e);
            return ExitCode::FAILURE;
        }
    }
    let config = match Config::from_args_over(defaults, &args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e);
            return ExitCode::FAILURE;
        }
    };
    if config.bool("daemonize") {
        eprintln!("keyslot-server does not daemonize; run it under a supervisor (daemonize no).");
        return ExitCode::FAILURE;
    }
    let level = config
        .get("loglevel")
        .and_then(Level::parse)
        .unwrap_or(Level::Notice);
    let sink = match config.get("logfile").filter(|f| !f.is_empty()) {
        None => Sink::Stdout,
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Sink::File(f),
            Err(e) => {
                eprintln!("Can't open the log file: {}", e);
                return ExitCode::FAILURE;
            }
        },
    };
    if let Some(dir) = config.get("dir").filter(|d| !d.is_empty()) {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("Can't chdir to '{}': {}", dir, e);
            return ExitCode::FAILURE;
        }
    }
    let mut env = NodeEnv::real(Logger::new(level, sink));
    // Keep a handle on the node: SIGTERM saves the dataset before exiting, as Redis does.
    let started: Arc<Mutex<Option<Arc<Mutex<Node>>>>> = Arc::new(Mutex::new(None));
    let slot = started.clone();
    env.on_start = Some(Box::new(move |node| {
        if let Ok(mut s) = slot.lock() {
            *s = Some(node);
        }
    }));
    env.logger.log(
        Level::Notice,
        env.clock.unix_ms(),
        &format!(
            "keyslot {} (Redis 7.0.15 compatible) starting, PID: {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ),
    );
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("can't start the runtime: {}", e);
            return ExitCode::FAILURE;
        }
    };
    let logger = env.logger.clone();
    let clock = env.clock.clone();
    let result = runtime.block_on(async move {
        let serving = server::run(config, env);
        tokio::pin!(serving);
        loop {
            tokio::select! {
                r = &mut serving => return r,
                _ = shutdown_signal() => {
                    logger.log(Level::Warning, clock.unix_ms(), "Received SIGTERM scheduling shutdown...");
                    let node = started.lock().ok().and_then(|s| s.clone());
                    let Some(node) = node else { return Ok(()) };
                    let saved = match keyslot::nodelock::lock(&node).await {
                        Ok(mut n) => keyslot::persist::prepare_shutdown(
                            &mut n.view(),
                            keyslot::persist::ShutdownSave::Default,
                        ),
                        Err(_) => Ok(()),
                    };
                    // A failed save keeps the node running (Redis: "can't exit").
                    if saved.is_ok() {
                        return Ok(());
                    }
                }
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e);
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

//! `redis-benchmark` against a standalone keyslot-server: every test runs to the end, reports
//! requests per second, and nothing reports an error. The data it leaves behind is checked too.

mod common;

use common::{require_tools, RawConn, Server, TempDir};
use std::process::Command;
use std::time::Instant;

/// The tests the issue names, and the lines `redis-benchmark -q` prints for them.
const TESTS: &str = "ping,set,get,incr,mset";
const EXPECTED: [&str; 6] = [
    "PING_INLINE",
    "PING_MBULK",
    "SET",
    "GET",
    "INCR",
    "MSET (10 keys)",
];

fn run_benchmark(port: u16, requests: u32, extra: &[&str]) -> (String, String, bool) {
    let out = Command::new("redis-benchmark")
        .arg("-p")
        .arg(port.to_string())
        .args(["-t", TESTS, "-n", &requests.to_string(), "-q"])
        .args(extra)
        .output()
        .expect("run redis-benchmark (apt-get install redis-tools)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// `-q` prints each result as `\r<progress>\r<NAME>: <n> requests per second, p50=...`; returns
/// the final (name, rest) pairs.
fn results(stdout: &str) -> Vec<(String, String)> {
    stdout
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| l.contains("requests per second"))
        .filter_map(|l| {
            let (name, rest) = l.split_once(": ")?;
            Some((name.to_string(), rest.to_string()))
        })
        .collect()
}

fn check(stdout: &str, stderr: &str, ok: bool, what: &str) {
    assert!(
        ok,
        "{what}: redis-benchmark failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for (label, text) in [("stdout", stdout), ("stderr", stderr)] {
        let lower = text.to_ascii_lowercase();
        assert!(
            !text.contains("ERR") && !lower.contains("error"),
            "{what}: {label} reports an error:\n{text}"
        );
    }
    let found = results(stdout);
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, EXPECTED, "{what}: result lines\n{stdout}");
    for (name, rest) in &found {
        let rps: f64 = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{what}: no number in {name}: {rest}"));
        assert!(
            rps > 0.0,
            "{what}: {name} reports {rps} requests per second"
        );
    }
}

#[test]
fn redis_benchmark_runs_clean() {
    if !require_tools("redis_benchmark", &["redis-benchmark"]) {
        return;
    }
    let dir = TempDir::new("bench");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let started = Instant::now();
    let (stdout, stderr, ok) = run_benchmark(k.port, 100_000, &[]);
    let elapsed = started.elapsed();
    println!("redis-benchmark -n 100000 took {elapsed:?}\n{stdout}");
    check(&stdout, &stderr, ok, "-n 100000");

    // What the benchmark wrote is really there: SET / MSET store a 3-byte value (random letters
    // in redis-benchmark 7) under key:__rand_int__, INCR counts counter:__rand_int__ to 100000.
    let mut c = RawConn::connect(k.port);
    assert_eq!(c.call(&["STRLEN", "key:__rand_int__"]).1, b":3\r\n");
    assert_eq!(
        c.call(&["GET", "counter:__rand_int__"]).1,
        b"$6\r\n100000\r\n"
    );
    assert_eq!(c.call(&["DBSIZE"]).1, b":2\r\n");
    assert!(
        k.cli(&["INFO", "stats"])
            .contains("total_commands_processed:"),
        "INFO stats"
    );
}

/// Pipelined (-P 16), with random keys (-r) and 1 KB values: more keys, bigger writes.
#[test]
fn redis_benchmark_pipelined_random_keys() {
    if !require_tools("redis_benchmark_pipelined", &["redis-benchmark"]) {
        return;
    }
    let dir = TempDir::new("bench-p");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let started = Instant::now();
    let (stdout, stderr, ok) =
        run_benchmark(k.port, 100_000, &["-P", "16", "-r", "1000", "-d", "1024"]);
    println!(
        "redis-benchmark -P 16 took {:?}\n{stdout}",
        started.elapsed()
    );
    check(&stdout, &stderr, ok, "-P 16 -r 1000 -d 1024");
    let mut c = RawConn::connect(k.port);
    let (reply, raw) = c.call(&["DBSIZE"]);
    let n = reply.as_int().unwrap_or_else(|| panic!("DBSIZE {raw:?}"));
    assert!(
        (100..=2001).contains(&n),
        "DBSIZE after random-key benchmark: {n}"
    );
    let (reply, _) = c.call(&["STRLEN", "key:000000000001"]);
    assert!(
        matches!(reply.as_int(), Some(0) | Some(1024)),
        "STRLEN of a benchmark key: {reply:?}"
    );
}

/// Resident memory of a process in KB (VmRSS).
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// 100,000 small keys written by 50 clients must cost about what their bytes cost. Stored values
/// used to be slices of the connection's 16 KB read buffers, so each kept a whole buffer alive:
/// this run grew the process to about 600 MB (redis-server: about 23 MB).
#[test]
fn small_keys_do_not_pin_read_buffers() {
    if !require_tools("small_keys_memory", &["redis-benchmark"]) {
        return;
    }
    let dir = TempDir::new("bench-mem");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let pid = k.child.as_ref().map(|c| c.id()).expect("server pid");
    let before = rss_kb(pid);
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &k.port.to_string(),
            "-t",
            "set",
            "-n",
            "200000",
            "-r",
            "100000",
        ])
        .args(["-c", "50", "-q"])
        .output()
        .expect("run redis-benchmark");
    assert!(out.status.success(), "redis-benchmark failed");
    let mut c = RawConn::connect(k.port);
    let keys = c.call(&["DBSIZE"]).0.as_int().unwrap_or(0);
    assert!(keys > 80_000, "DBSIZE {keys}");
    let grown_kb = rss_kb(pid).saturating_sub(before);
    println!(
        "{keys} keys: RSS grew by {grown_kb} KB ({} bytes per key)",
        grown_kb * 1024 / keys as u64
    );
    // About 80 bytes of payload per key; 1 KB per key would already be a leak.
    assert!(
        grown_kb * 1024 < keys as u64 * 1024,
        "RSS grew by {grown_kb} KB for {keys} keys"
    );
}

//! What the resharding tests (tests/resharding.rs, redis-cli reshard) and the atomic migration
//! tests (tests/atomic_migration.rs) share: a writer that keeps writing and reading back through
//! the MOVED/ASK-following client, loading and verifying the keys, and redis-cli --cluster
//! calls. Each file names its keys with its own `key` function.

use super::redirect_client::{Client, Tally};
use super::{run_with_timeout, Cluster};
use crate::common::Resp;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The last value written per key index (what the verification expects).
pub type Last = Mutex<BTreeMap<usize, String>>;

/// Writes then reads back the keys `indexes` round-robin until `stop`; records every
/// acknowledged write in `last` and returns what the client saw. A read that differs from the
/// write just before is an error.
pub fn writer(
    seed_port: u16,
    stop: Arc<AtomicBool>,
    last: Arc<Last>,
    key: fn(usize) -> String,
    indexes: Vec<usize>,
) -> Tally {
    let mut c = Client::new(seed_port);
    let mut round = 1u64;
    while !stop.load(Ordering::SeqCst) {
        for &i in &indexes {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let k = key(i);
            let v = format!("v{i}:{round}");
            match c.call(k.as_bytes(), &[b"SET", k.as_bytes(), v.as_bytes()]) {
                Some(Resp::Simple(ok)) if ok == b"OK" => {
                    last.lock().expect("last").insert(i, v.clone());
                }
                Some(other) => {
                    c.tally.errors.push(format!("SET {k}: {other:?}"));
                    continue;
                }
                // The write may or may not have happened: nothing to read back.
                None => continue,
            }
            match c.call(k.as_bytes(), &[b"GET", k.as_bytes()]) {
                Some(Resp::Bulk(Some(b))) if b == v.as_bytes() => {}
                Some(other) => c.tally.errors.push(format!("GET {k}: {other:?}, want {v}")),
                None => {}
            }
        }
        round += 1;
    }
    c.tally
}

/// Runs a redis-cli --cluster subcommand (stdin closed, so no prompt waits), returning its
/// exit success and stdout; panics after `secs`.
pub fn cli_cluster(args: &[&str], secs: u64) -> (bool, String) {
    let mut cmd = Command::new("redis-cli");
    cmd.arg("--cluster").args(args);
    let t0 = Instant::now();
    let (out, killed) = run_with_timeout(&mut cmd, Duration::from_secs(secs));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !killed,
        "redis-cli --cluster {args:?} did not finish in {secs} s:\n{stdout}"
    );
    eprintln!(
        "redis-cli --cluster {} -> {:?} in {} ms",
        args.join(" "),
        out.status.code(),
        t0.elapsed().as_millis()
    );
    (out.status.success(), stdout)
}

/// `--cluster check` passes: exit 0, every slot covered, no open slot, no error. Replicas
/// learn an ownership change from gossip (redis-cli sends SETSLOT NODE to masters only), so
/// the check is retried for up to 15 s, once a second.
pub fn assert_check_ok(port: u16, c: &Cluster) {
    let t0 = Instant::now();
    loop {
        let (ok, out) = cli_cluster(&["check", &format!("127.0.0.1:{port}")], 60);
        let passed = ok
            && out.contains("[OK] All nodes agree about slots configuration.")
            && out.contains("[OK] All 16384 slots covered.")
            && !out.contains("[ERR]")
            && !out.contains("[WARNING]");
        if passed {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "--cluster check failed:\n{out}\n{}",
            c.dump()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

pub fn node_id(port: u16) -> String {
    super::query_str(port, &["CLUSTER", "MYID"]).expect("CLUSTER MYID")
}

/// Loads keys 0..n through the redirecting client (each value `v{i}:0`).
pub fn load_keys(seed_port: u16, n: usize, key: fn(usize) -> String, last: &Last) {
    let mut c = Client::new(seed_port);
    for i in 0..n {
        let (k, v) = (key(i), format!("v{i}:0"));
        let r = c.call(k.as_bytes(), &[b"SET", k.as_bytes(), v.as_bytes()]);
        assert!(
            matches!(&r, Some(Resp::Simple(s)) if s == b"OK"),
            "load {k}: {r:?}"
        );
        last.lock().expect("last").insert(i, v);
    }
    assert!(c.tally.errors.is_empty(), "load: {:?}", c.tally.errors);
}

/// Every key has its last written value (read through the redirecting client); returns how
/// many keys were checked.
pub fn verify_keys(seed_port: u16, key: fn(usize) -> String, last: &Last) -> usize {
    let mut c = Client::new(seed_port);
    let mut bad = Vec::new();
    let expected = last.lock().expect("last").clone();
    for (i, v) in &expected {
        let k = key(*i);
        match c.call(k.as_bytes(), &[b"GET", k.as_bytes()]) {
            Some(Resp::Bulk(Some(b))) if b == v.as_bytes() => {}
            other => bad.push(format!("{k}: {other:?}, want {v}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{} keys lost or stale, first: {:?}",
        bad.len(),
        &bad[..bad.len().min(10)]
    );
    assert!(c.tally.errors.is_empty(), "verify: {:?}", c.tally.errors);
    expected.len()
}

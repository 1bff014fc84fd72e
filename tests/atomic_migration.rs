//! Atomic slot migration (CLUSTER MIGRATESLOTS, Valkey 9's command set) between real
//! keyslot-server processes on loopback: a 3-master cluster under continuous client load moves
//! a slot range from one master to another, clients keep being served and follow MOVED after
//! the handover, every key keeps its last value, and `redis-cli --cluster check` passes; a
//! cancelled migration leaves everything where it was. Ports 45000+ (bus 55000+).

mod cluster_util;
mod common;

use cluster_util::reshard::{assert_check_ok, load_keys, node_id, verify_keys, writer};
use cluster_util::{key_slot, serial, Cluster};
use common::{parse_resp, resp_command, Resp};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEYS: usize = 20_000;
const PORT_LOW: u16 = 45000;
const PORT_HIGH: u16 = 45990;

fn key(i: usize) -> String {
    format!("key:{i}")
}

/// CLUSTER GETSLOTMIGRATIONS as a list of field maps (RESP2 flat arrays).
fn migrations(port: u16) -> Vec<BTreeMap<String, String>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(&resp_command(&[
        b"CLUSTER".as_slice(),
        b"GETSLOTMIGRATIONS",
    ]))
    .expect("write");
    let mut buf = Vec::new();
    let reply = loop {
        if let Some((r, _)) = parse_resp(&buf) {
            break r;
        }
        let mut chunk = [0u8; 16384];
        let n = s.read(&mut chunk).expect("read");
        assert!(n > 0, "EOF");
        buf.extend_from_slice(&chunk[..n]);
    };
    let Resp::Array(Some(jobs)) = reply else {
        panic!("GETSLOTMIGRATIONS: {reply:?}");
    };
    let text = |r: &Resp| match r {
        Resp::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
        Resp::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    };
    jobs.iter()
        .map(|j| {
            let Resp::Array(Some(fields)) = j else {
                panic!("job {j:?}");
            };
            fields
                .chunks(2)
                .map(|kv| (text(&kv[0]), text(&kv[1])))
                .collect()
        })
        .collect()
}

fn dbsize(port: u16) -> i64 {
    cluster_util::query_str(port, &["DBSIZE"])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1)
}

fn three_masters(tag: &str) -> Cluster {
    let mut c = Cluster::start(tag, 3, 5000);
    let out = c.create(0);
    assert!(
        out.status.success(),
        "create failed:\n{}\n{}",
        c.create_stdout,
        c.dump()
    );
    c.assert_alive();
    assert!(
        c.wait_converged(&[0, 1, 2], Duration::from_secs(15)),
        "no convergence:\n{}",
        c.dump()
    );
    c
}

/// The first `n` slots node `port` owns, as one range start (create gives contiguous ranges).
fn first_slot(c: &Cluster, i: usize) -> u16 {
    let view = c.view(i).expect("view");
    let me = view.iter().find(|n| n.port == c.port(i)).expect("myself");
    me.ranges()[0].0
}

#[test]
fn migrateslots_under_client_load() {
    if !common::require_tools("migrateslots_under_client_load", &["redis-cli"]) {
        return;
    }
    let _guard = serial();
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let c = three_masters("atomic-load");
    let seed = c.port(0);
    let last = Arc::new(Mutex::new(BTreeMap::new()));
    load_keys(seed, KEYS, key, &last);
    let (src, dst) = (c.port(0), c.port(1));
    let start = first_slot(&c, 0);
    let end = start + 999;
    let moving = (0..KEYS)
        .filter(|i| (start..=end).contains(&key_slot(key(*i).as_bytes())))
        .count();
    assert!(moving > 500, "{moving} keys in the range");
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, last) = (stop.clone(), last.clone());
            std::thread::spawn(move || {
                writer(seed, stop, last, key, (0..KEYS).step_by(5).collect())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let dst_id = node_id(dst);
    let (s, e) = (start.to_string(), end.to_string());
    let ok = cluster_util::query_str(
        src,
        &[
            "CLUSTER",
            "MIGRATESLOTS",
            "SLOTSRANGE",
            &s,
            &e,
            "NODE",
            &dst_id,
        ],
    )
    .expect("MIGRATESLOTS");
    assert_eq!(ok, "OK");
    let t0 = Instant::now();
    let job = loop {
        let jobs = migrations(src);
        let job = jobs.last().cloned().expect("one job");
        if ["success", "failed", "cancelled"].contains(&job["state"].as_str()) {
            break job;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "stuck: {job:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("migration done in {} ms: {job:?}", t0.elapsed().as_millis());
    assert_eq!(job["state"], "success", "{job:?}");
    assert_eq!(job["operation"], "EXPORT");
    assert_eq!(job["slot_ranges"], format!("{start}-{end}"));
    assert_eq!(job["target_node"], dst_id);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let mut moved = 0;
    for w in writers {
        let t = w.join().expect("writer");
        assert!(
            t.errors.is_empty(),
            "client errors: {:?}",
            &t.errors[..t.errors.len().min(10)]
        );
        assert!(t.ops > 0);
        moved += t.moved;
    }
    assert!(moved > 0, "the clients never met MOVED");
    // The target lists the import too.
    let imports = migrations(dst);
    assert!(
        imports.iter().any(|j| j["operation"] == "IMPORT"
            && j["state"] == "success"
            && j["name"] == job["name"]),
        "{imports:?}"
    );
    verify_keys(seed, key, &last);
    assert_eq!(
        dbsize(c.port(0)) + dbsize(c.port(1)) + dbsize(c.port(2)),
        KEYS as i64
    );
    assert_eq!(
        cluster_util::query_str(src, &["CLUSTER", "COUNTKEYSINSLOT", &s]).expect("count"),
        "0"
    );
    assert_check_ok(seed, &c);
}

#[test]
fn cancelled_migration_rolls_back() {
    if !common::require_tools("cancelled_migration_rolls_back", &["redis-cli"]) {
        return;
    }
    let _guard = serial();
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let c = three_masters("atomic-cancel");
    let seed = c.port(0);
    let last = Arc::new(Mutex::new(BTreeMap::new()));
    load_keys(seed, KEYS, key, &last);
    let (src, dst) = (c.port(0), c.port(1));
    let before = (dbsize(src), dbsize(dst));
    let start = first_slot(&c, 0);
    let (s, e) = (start.to_string(), (start + 2000).to_string());
    let dst_id = node_id(dst);
    // Refusals: nothing starts.
    let err = |args: &[&str]| -> String {
        match cluster_util::query_str(src, args) {
            Ok(v) => panic!("{args:?} answered {v}"),
            Err(e) => e.to_string(),
        }
    };
    let src_id = node_id(src);
    let other = c.owner_in_view(0, 16383).expect("owner of 16383");
    assert!(err(&[
        "CLUSTER",
        "MIGRATESLOTS",
        "SLOTSRANGE",
        "1",
        "NODE",
        &dst_id
    ])
    .contains("syntax error"));
    assert!(
        err(&["CLUSTER", "MIGRATESLOTS", "NODE", &dst_id]).contains("wrong number of arguments")
    );
    assert!(err(&[
        "CLUSTER",
        "MIGRATESLOTS",
        "SLOTSRANGE",
        &s,
        &e,
        "NODE",
        &src_id
    ])
    .contains("can not be this node"));
    assert!(
        err(&[
            "CLUSTER",
            "MIGRATESLOTS",
            "SLOTSRANGE",
            "16383",
            "16383",
            "NODE",
            &dst_id
        ])
        .contains("not the owner of hash slot 16383"),
        "{}",
        other.port
    );
    assert!(err(&[
        "CLUSTER",
        "MIGRATESLOTS",
        "SLOTSRANGE",
        &e,
        &s,
        "NODE",
        &dst_id
    ])
    .contains("greater than end slot"));
    assert!(err(&[
        "CLUSTER",
        "MIGRATESLOTS",
        "SLOTSRANGE",
        &s,
        &e,
        "NODE",
        "ffffffffffffffffffffffffffffffffffffffff"
    ])
    .contains("Unknown node"));
    assert!(migrations(src).is_empty());
    // MIGRATESLOTS and CANCELSLOTMIGRATIONS in one pipeline: the cancel lands before the
    // export task's first step.
    let mut conn = TcpStream::connect(("127.0.0.1", src)).expect("connect");
    let mut out = resp_command(&[
        b"CLUSTER".as_slice(),
        b"MIGRATESLOTS",
        b"SLOTSRANGE",
        s.as_bytes(),
        e.as_bytes(),
        b"NODE",
        dst_id.as_bytes(),
    ]);
    out.extend_from_slice(&resp_command(&[
        b"CLUSTER".as_slice(),
        b"CANCELSLOTMIGRATIONS",
    ]));
    conn.write_all(&out).expect("write");
    let mut buf = Vec::new();
    let mut replies = Vec::new();
    while replies.len() < 2 {
        if let Some((r, used)) = parse_resp(&buf) {
            buf.drain(..used);
            replies.push(r);
            continue;
        }
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).expect("read");
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(replies[0], Resp::Simple(b"OK".to_vec()));
    assert_eq!(replies[1], Resp::Simple(b"OK".to_vec()));
    let t0 = Instant::now();
    loop {
        let jobs = migrations(src);
        if jobs.last().is_some_and(|j| j["state"] == "cancelled") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{jobs:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Nothing moved: the source owns the slots and every key, the target holds none of them.
    let owner = c.owner_in_view(0, start).expect("owner");
    assert_eq!(owner.port, src);
    assert_eq!((dbsize(src), dbsize(dst)), before);
    // A cancel reached mid-stream on the target side: start a second migration of a range
    // with keys and cancel it on the target; the target deletes what it got, the source keeps it.
    let ok = cluster_util::query_str(
        src,
        &[
            "CLUSTER",
            "MIGRATESLOTS",
            "SLOTSRANGE",
            &s,
            &e,
            "NODE",
            &dst_id,
        ],
    )
    .expect("MIGRATESLOTS");
    assert_eq!(ok, "OK");
    let _ = cluster_util::query_str(dst, &["CLUSTER", "CANCELSLOTMIGRATIONS"]);
    let t0 = Instant::now();
    loop {
        let jobs = migrations(src);
        let state = jobs.last().map(|j| j["state"].clone()).unwrap_or_default();
        if ["success", "failed", "cancelled"].contains(&state.as_str()) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "{jobs:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let jobs = migrations(src);
    if jobs.last().is_some_and(|j| j["state"] != "success") {
        // Rolled back: as before.
        assert!(
            common::wait_until(Duration::from_secs(10), || {
                (dbsize(src), dbsize(dst)) == before
            }),
            "{:?} vs {before:?}",
            (dbsize(src), dbsize(dst))
        );
        assert_eq!(c.owner_in_view(0, start).expect("owner").port, src);
    }
    verify_keys(seed, key, &last);
    assert_check_ok(seed, &c);
}

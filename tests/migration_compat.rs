//! Slot migration replies compared byte for byte with redis-server 7.0.15: the same script of
//! CLUSTER SETSLOT, ASK / ASKING / TRYAGAIN, MIGRATE (OK, NOKEY, IOERR, the target's errors,
//! COPY, REPLACE, KEYS), MULTI on an importing slot and a blocked client whose slot moves, run
//! on a three-master keyslot cluster and on a three-master redis-server cluster, with node ids
//! and ports replaced by names before comparing.

mod cluster_util;
mod common;

use cluster_util::{run_with_timeout, serial, Cluster};
use common::{RawConn, Server, TempDir};
use std::process::Command;
use std::time::Duration;

/// Keys: `{06S}*` hash to slot 0 and `b`, `{b}*` to slot 3300, both on the first master.
const SCRIPT: &[(&str, &[&str])] = &[
    ("A", &["CLUSTER", "SETSLOT", "0", "MIGRATING", "nonexist"]),
    ("A", &["CLUSTER", "SETSLOT", "20000", "MIGRATING", "IDB"]),
    ("A", &["CLUSTER", "SETSLOT", "abc", "MIGRATING", "IDB"]),
    ("A", &["CLUSTER", "SETSLOT", "0", "foo", "IDB"]),
    ("A", &["CLUSTER", "SETSLOT", "0", "STABLE", "x"]),
    ("A", &["CLUSTER", "SETSLOT", "0"]),
    ("B", &["CLUSTER", "SETSLOT", "0", "MIGRATING", "IDA"]),
    ("A", &["CLUSTER", "SETSLOT", "0", "IMPORTING", "IDB"]),
    ("B", &["CLUSTER", "SETSLOT", "0", "NODE", "nonexist"]),
    ("A", &["SET", "{06S}a", "1"]),
    ("A", &["SET", "{06S}b", "2"]),
    ("B", &["CLUSTER", "SETSLOT", "0", "IMPORTING", "IDA"]),
    ("A", &["CLUSTER", "SETSLOT", "0", "MIGRATING", "IDB"]),
    ("A", &["#slots"]),
    ("B", &["#slots"]),
    ("A", &["GET", "{06S}c"]),
    ("A", &["MGET", "{06S}a", "{06S}c"]),
    ("A", &["MGET", "{06S}a", "{06S}b"]),
    ("B", &["GET", "{06S}a"]),
    ("A", &["CLUSTER", "SETSLOT", "0", "NODE", "IDB"]),
    ("A", &["MIGRATE", "127.0.0.1", "PB", "{06S}a", "0", "1000"]),
    ("A", &["MIGRATE", "127.0.0.1", "PB", "{06S}zz", "0", "1000"]),
    (
        "A",
        &[
            "MIGRATE",
            "127.0.0.1",
            "PB",
            "{06S}a",
            "0",
            "1000",
            "KEYS",
            "x",
        ],
    ),
    ("A", &["MIGRATE", "127.0.0.1", "PB", "", "0", "1000", "foo"]),
    (
        "A",
        &[
            "MIGRATE",
            "127.0.0.1",
            "PB",
            "",
            "0",
            "abc",
            "KEYS",
            "{06S}b",
        ],
    ),
    (
        "A",
        &[
            "MIGRATE",
            "127.0.0.1",
            "PB",
            "",
            "x",
            "10",
            "KEYS",
            "{06S}b",
        ],
    ),
    (
        "A",
        &["MIGRATE", "127.0.0.1", "PB", "", "0", "1000", "AUTH"],
    ),
    ("A", &["GET", "{06S}a"]),
    ("A", &["MGET", "{06S}a", "{06S}b"]),
    ("A", &["SET", "{06S}a", "5"]),
    ("B", &["GET", "{06S}a"]),
    ("B", &["ASKING"]),
    ("B", &["GET", "{06S}a"]),
    ("B", &["GET", "{06S}a"]),
    ("B", &["ASKING"]),
    ("B", &["MGET", "{06S}a", "{06S}b"]),
    ("B", &["ASKING"]),
    ("B", &["MULTI"]),
    ("B", &["GET", "{06S}a"]),
    ("B", &["SET", "{06S}new", "1"]),
    ("B", &["EXEC"]),
    ("B", &["ASKING"]),
    ("B", &["MULTI"]),
    ("B", &["GET", "{06S}a"]),
    ("B", &["EXEC"]),
    ("A", &["SET", "{06S}q", "5"]),
    (
        "A",
        &[
            "MIGRATE",
            "127.0.0.1",
            "PB",
            "",
            "0",
            "1000",
            "KEYS",
            "{06S}q",
        ],
    ),
    (
        "A",
        &[
            "MIGRATE",
            "127.0.0.1",
            "PB",
            "",
            "0",
            "1000",
            "REPLACE",
            "KEYS",
            "{06S}q",
            "{06S}b",
        ],
    ),
    ("A", &["CLUSTER", "COUNTKEYSINSLOT", "0"]),
    ("B", &["CLUSTER", "COUNTKEYSINSLOT", "0"]),
    ("A", &["SET", "b", "1"]),
    ("A", &["MIGRATE", "127.0.0.1", "1", "b", "0", "200"]),
    ("A", &["MIGRATE", "127.0.0.1", "PB", "b", "0", "1000"]),
    ("A", &["GET", "b"]),
    ("B", &["CLUSTER", "SETSLOT", "3300", "IMPORTING", "IDA"]),
    (
        "A",
        &["MIGRATE", "127.0.0.1", "PB", "b", "0", "1000", "COPY"],
    ),
    ("A", &["GET", "b"]),
    ("A", &["MIGRATE", "127.0.0.1", "PB", "b", "0", "1000"]),
    (
        "A",
        &["MIGRATE", "127.0.0.1", "PB", "b", "0", "1000", "REPLACE"],
    ),
    ("A", &["GET", "b"]),
    // One cached connection to B now, as Redis keeps it for 10 s.
    ("A", &["#info", "migrate_cached_sockets"]),
    ("A", &["CLUSTER", "GETKEYSINSLOT", "3300", "10"]),
    ("B", &["CLUSTER", "SETSLOT", "3300", "STABLE"]),
    ("B", &["CLUSTER", "SETSLOT", "0", "NODE", "IDB"]),
    ("A", &["CLUSTER", "SETSLOT", "0", "NODE", "IDB"]),
    ("A", &["CLUSTER", "SETSLOT", "0", "NODE", "IDB"]),
    ("A", &["GET", "{06S}a"]),
    ("B", &["GET", "{06S}a"]),
    ("A", &["#slots"]),
    ("B", &["#slots"]),
    // Slot 3300 moves while a client is blocked on it (the reply is read at the end).
    ("A", &["#block", "BLPOP", "{b}list", "0"]),
    (
        "A",
        &["#block", "XREAD", "BLOCK", "0", "STREAMS", "{b}stream", "$"],
    ),
    ("B", &["CLUSTER", "SETSLOT", "3300", "IMPORTING", "IDA"]),
    ("A", &["CLUSTER", "SETSLOT", "3300", "MIGRATING", "IDB"]),
    ("B", &["CLUSTER", "SETSLOT", "3300", "NODE", "IDB"]),
    ("A", &["CLUSTER", "SETSLOT", "3300", "NODE", "IDB"]),
    ("A", &["#unblock"]),
    ("A", &["#unblock"]),
];

/// Three masters of one kind with the ports and ids the script names.
struct Side {
    ports: [u16; 3],
    ids: [String; 3],
}

fn run_script(side: &Side) -> Vec<String> {
    let mut conns = [
        RawConn::connect(side.ports[0]),
        RawConn::connect(side.ports[1]),
    ];
    // Blocked clients, answered in the order they blocked.
    let mut blocked: Vec<RawConn> = Vec::new();
    let names = [("IDA", &side.ids[0]), ("IDB", &side.ids[1])];
    let normalize = |text: &str| -> String {
        let mut t = text.to_string();
        for (i, name) in ["A", "B", "C"].iter().enumerate() {
            t = t.replace(&side.ids[i], &format!("ID{name}"));
            t = t.replace(&side.ports[i].to_string(), &format!("P{name}"));
        }
        t
    };
    let mut out = Vec::new();
    for (node, words) in SCRIPT {
        let i = if *node == "A" { 0 } else { 1 };
        let args: Vec<String> = words
            .iter()
            .map(|w| match *w {
                "PB" => side.ports[1].to_string(),
                w => names
                    .iter()
                    .find(|(n, _)| *n == w)
                    .map(|(_, id)| id.to_string())
                    .unwrap_or_else(|| w.to_string()),
            })
            .collect();
        let shown = format!("{node}> {}", words.join(" "));
        let reply = match args[0].as_str() {
            "#slots" => {
                let text = cluster_util::query_str(side.ports[i], &["CLUSTER", "NODES"])
                    .expect("CLUSTER NODES");
                let mine = text
                    .lines()
                    .find(|l| l.contains("myself"))
                    .expect("myself line")
                    .split(' ')
                    .skip(8)
                    .collect::<Vec<_>>()
                    .join(" ");
                mine
            }
            "#info" => {
                let text =
                    cluster_util::query_str(side.ports[i], &["INFO", "stats"]).expect("INFO stats");
                text.lines()
                    .find(|l| l.starts_with(&format!("{}:", args[1])))
                    .unwrap_or("(missing)")
                    .to_string()
            }
            "#block" => {
                let mut c = RawConn::connect(side.ports[i]);
                c.send(&common::resp_command(&args[1..]));
                // Let the command reach the server and block before the slot moves.
                std::thread::sleep(Duration::from_millis(200));
                blocked.push(c);
                "(blocked)".into()
            }
            "#unblock" => {
                assert!(!blocked.is_empty(), "a blocked client");
                let mut c = blocked.remove(0);
                String::from_utf8_lossy(&c.read_reply().1).into_owned()
            }
            _ => {
                let (_, raw) = conns[i].call(&args);
                String::from_utf8_lossy(&raw).into_owned()
            }
        };
        out.push(format!("{shown}\n{}", normalize(&reply)));
    }
    out
}

fn redis_cluster(dir: &TempDir) -> (Vec<Server>, Side) {
    let flags = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "5000",
    ];
    let nodes: Vec<Server> = (0..3).map(|_| Server::redis(dir, &flags)).collect();
    let mut cmd = Command::new("redis-cli");
    cmd.arg("--cluster").arg("create");
    for s in &nodes {
        cmd.arg(format!("127.0.0.1:{}", s.port));
    }
    cmd.arg("--cluster-yes");
    let (out, killed) = run_with_timeout(&mut cmd, Duration::from_secs(60));
    assert!(
        !killed && out.status.success(),
        "redis cluster create failed"
    );
    let ok = common::wait_until(Duration::from_secs(20), || {
        nodes.iter().all(|s| {
            cluster_util::query_str(s.port, &["CLUSTER", "INFO"])
                .map(|t| t.contains("cluster_state:ok"))
                .unwrap_or(false)
        })
    });
    assert!(ok, "redis cluster not ok");
    let side = side_of(&nodes.iter().map(|s| s.port).collect::<Vec<_>>());
    (nodes, side)
}

/// Orders the three masters by their first slot (A owns 0, B 5461, C 10923).
fn side_of(ports: &[u16]) -> Side {
    let owner = |slot: u16| -> (u16, String) {
        let view = cluster_util::parse_nodes(
            &cluster_util::query_str(ports[0], &["CLUSTER", "NODES"]).expect("nodes"),
        );
        let n = view
            .into_iter()
            .find(|n| n.is_master() && n.owns(slot))
            .expect("owner");
        (n.port, n.id)
    };
    let (a, b, c) = (owner(0), owner(5461), owner(10923));
    Side {
        ports: [a.0, b.0, c.0],
        ids: [a.1, b.1, c.1],
    }
}

#[test]
fn migration_replies_match_redis_server() {
    if !common::require_tools(
        "migration_replies_match_redis_server",
        &["redis-cli", "redis-server"],
    ) {
        return;
    }
    let _guard = serial();
    common::use_port_range(45000, 47990);
    let mut ks = Cluster::start("mig-compat", 3, 5000);
    let out = ks.create(0);
    assert!(out.status.success(), "keyslot cluster create failed");
    assert!(
        ks.wait_converged(&[0, 1, 2], Duration::from_secs(20)),
        "{}",
        ks.dump()
    );
    let ks_side = side_of(&[ks.port(0), ks.port(1), ks.port(2)]);
    let dir = TempDir::new("mig-compat-redis");
    let (_redis, redis_side) = redis_cluster(&dir);

    let mine = run_script(&ks_side);
    let theirs = run_script(&redis_side);
    let mut diffs = Vec::new();
    for (m, t) in mine.iter().zip(&theirs) {
        if m != t {
            diffs.push(format!("keyslot:\n{m:?}\nredis:\n{t:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n---\n")
    );
    assert_eq!(mine.len(), SCRIPT.len());
    for step in &mine {
        eprintln!("{}", step.trim_end());
    }
    eprintln!("{} steps, every reply identical", mine.len());
    ks.assert_alive();
}

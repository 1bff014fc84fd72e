//! Standalone mode, side by side with the reference: the same command sequences go to a
//! keyslot-server and to a real redis-server 7.0.15, through `redis-cli` (default output, which
//! is raw when stdout is not a terminal, `--no-raw`, and `-3`) and through raw RESP2 / RESP3 on a
//! socket, and every reply must be identical. TTL / PTTL replies may differ by the time between
//! the two calls and are compared with a tolerance.

mod common;

use common::{cli, require_tools, resp_command, RawConn, Resp, Server, TempDir};
use std::collections::BTreeSet;

/// How a reply is compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cmp {
    /// Byte for byte.
    Exact,
    /// A TTL-like integer; may differ by up to the given amount.
    Near(i64),
    /// Same lines in any order (KEYS *, SMEMBERS...).
    Unordered,
}

/// One command of a sequence.
struct Step {
    args: Vec<String>,
    cmp: Cmp,
}

fn step(line: &str) -> Step {
    let args = split(line);
    let name = args[0].to_ascii_uppercase();
    let cmp = match name.as_str() {
        "TTL" => Cmp::Near(1),
        "PTTL" => Cmp::Near(1500),
        "KEYS" => Cmp::Unordered,
        _ => Cmp::Exact,
    };
    Step { args, cmp }
}

/// Splits a line on spaces; `''` is an empty argument and `'a b'` one argument with a space.
fn split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// The ways a command is sent.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `redis-cli ARGS` (stdout is a pipe, so redis-cli prints raw replies).
    CliDefault,
    /// `redis-cli --no-raw ARGS`: `(integer) 1`, `"bar"`, `(nil)`, `(error) ...`.
    CliNoRaw,
    /// `redis-cli -3 --no-raw ARGS`: RESP3 types as redis-cli shows them.
    CliResp3,
    /// Multibulk on one long-lived socket; the exact reply bytes are compared.
    RawResp2,
    /// The same after `HELLO 3`.
    RawResp3,
}

const MODES: [Mode; 5] = [
    Mode::CliDefault,
    Mode::CliNoRaw,
    Mode::CliResp3,
    Mode::RawResp2,
    Mode::RawResp3,
];

/// A keyslot-server and a redis-server to compare.
struct Pair {
    keyslot: Server,
    redis: Server,
    _dir: TempDir,
}

impl Pair {
    fn start(tag: &str) -> Pair {
        Pair::start_with(tag, &["--save", "", "--appendonly", "no"], &[])
    }

    /// Starts keyslot with `keyslot_flags` and redis with `redis_flags` (on top of the
    /// `--save "" --appendonly no` that `Server::redis` always passes).
    fn start_with(tag: &str, keyslot_flags: &[&str], redis_flags: &[&str]) -> Pair {
        let dir = TempDir::new(tag);
        let keyslot = Server::keyslot(&dir, keyslot_flags);
        let redis = Server::redis(&dir, redis_flags);
        Pair {
            keyslot,
            redis,
            _dir: dir,
        }
    }
}

/// Runs one step in one mode; for the raw modes `conn` is the long-lived connection.
fn run(port: u16, conn: &mut Option<RawConn>, mode: Mode, args: &[String]) -> String {
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    match mode {
        Mode::CliDefault => cli(port, &argv),
        Mode::CliNoRaw => cli(port, &[&["--no-raw"], &argv[..]].concat()),
        Mode::CliResp3 => cli(port, &[&["-3", "--no-raw"], &argv[..]].concat()),
        Mode::RawResp2 | Mode::RawResp3 => {
            let c = conn.get_or_insert_with(|| {
                let mut c = RawConn::connect(port);
                if matches!(mode, Mode::RawResp3) {
                    let (reply, _) = c.call(&["HELLO", "3"]);
                    assert!(matches!(reply, Resp::Map(_)), "HELLO 3: {reply:?}");
                }
                c
            });
            let (_, raw) = c.call(&argv);
            String::from_utf8_lossy(&raw).into_owned()
        }
    }
}

/// The last integer in a reply as printed by any mode (`:57\r\n`, `(integer) 57`, `57`).
fn last_int(s: &str) -> Option<i64> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .rfind(|t| !t.is_empty())
        .and_then(|t| t.parse().ok())
}

/// Whether two outputs match under `cmp`.
fn same(cmp: Cmp, k: &str, r: &str) -> bool {
    match cmp {
        Cmp::Exact => k == r,
        Cmp::Unordered => {
            let lines = |s: &str| {
                let mut v: Vec<String> = s.lines().map(strip_index).collect();
                v.sort();
                v
            };
            lines(k) == lines(r)
        }
        Cmp::Near(tolerance) => match (last_int(k), last_int(r)) {
            (Some(a), Some(b)) if a >= 0 && b >= 0 => {
                let shape = |s: &str, n: i64| s.replacen(&n.to_string(), "N", 1);
                (a - b).abs() <= tolerance && shape(k, a) == shape(r, b)
            }
            _ => k == r,
        },
    }
}

/// `1) "a"` -> `"a"`, so that lines of a reordered array compare equal.
fn strip_index(line: &str) -> String {
    let t = line.trim_start();
    match t.find(") ") {
        Some(i) if t[..i].chars().all(|c| c.is_ascii_digit()) => t[i + 2..].to_string(),
        _ => t.to_string(),
    }
}

/// Runs `script` (one command a line; `#` comments) in every mode against both servers, after a
/// FLUSHALL, and returns a description of each difference.
fn compare_script(pair: &Pair, script: &str) -> Vec<String> {
    let steps: Vec<Step> = script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(step)
        .collect();
    let mut diffs = Vec::new();
    for mode in MODES {
        assert_eq!(pair.keyslot.cli(&["FLUSHALL"]), "OK");
        assert_eq!(pair.redis.cli(&["FLUSHALL"]), "OK");
        let mut kconn = None;
        let mut rconn = None;
        for s in &steps {
            let k = run(pair.keyslot.port, &mut kconn, mode, &s.args);
            let r = run(pair.redis.port, &mut rconn, mode, &s.args);
            if !same(s.cmp, &k, &r) {
                diffs.push(format!(
                    "[{mode:?}] {}\n    keyslot: {k:?}\n    redis:   {r:?}",
                    s.args.join(" ")
                ));
            }
        }
    }
    diffs
}

fn assert_no_diffs(what: &str, diffs: Vec<String>) {
    assert!(
        diffs.is_empty(),
        "{what}: {} replies differ from redis-server 7.0.15:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn must_show_set_get_incr_expire_ttl_mset_mget() {
    if !require_tools("must_show", &["redis-cli", "redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-basic");
    let script = "
        SET foo bar
        GET foo
        GET missing
        INCR counter
        INCR counter
        GET counter
        EXPIRE foo 100
        TTL foo
        TTL missing
        TTL counter
        MSET a 1 b 2 c 3
        MGET a b c missing foo
        DBSIZE
    ";
    assert_no_diffs("must-show", compare_script(&pair, script));
}

#[test]
fn string_commands_and_options() {
    if !require_tools("string_commands", &["redis-cli", "redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-strings");
    let script = "
        # SET options
        SET s v EX 100
        TTL s
        SET s v PX 100000
        PTTL s
        SET s v NX
        SET fresh v NX
        SET s v2 XX
        SET missing v XX
        GET missing
        SET s v3 GET
        SET nothere v GET
        SET s v4 KEEPTTL
        TTL s
        SET s v5 EX 100 KEEPTTL
        SET s v5
        TTL s
        SET s v PXAT 99999999999999
        PTTL s
        SET s v EXAT 9999999999
        TTL s
        SET s v NX XX
        SET s v EX 10 PX 100
        SET s v EX
        SET s v FOO
        SET s v EX 0
        SET s v EX -1
        SET s v PX 0
        SET s v EX abc
        SET s v EX 9223372036854775807
        SET s v PX 9223372036854775807
        SET s v GET NX
        SET s v GET XX
        SET s '' GET
        GET s
        SET s v ex 10 get
        # GETEX / GETDEL
        GETEX s
        GETEX s EX 100
        TTL s
        GETEX s PERSIST
        TTL s
        GETEX s PX 50000
        PTTL s
        GETEX s EXAT 9999999999
        TTL s
        GETEX s EX 10 PX 10
        GETEX s EX 0
        GETEX s EX abc
        GETEX s FOO
        GETEX missing
        GETEX missing EX 10
        GETDEL s
        GETDEL s
        EXISTS s
        # APPEND / STRLEN / GETRANGE / SETRANGE
        APPEND ap hello
        APPEND ap ' world'
        GET ap
        STRLEN ap
        STRLEN missing
        GETRANGE ap 0 4
        GETRANGE ap -5 -1
        GETRANGE ap 5 1
        GETRANGE ap 0 100
        GETRANGE ap -100 2
        GETRANGE missing 0 1
        GETRANGE ap a b
        SETRANGE ap 6 WORLD
        GET ap
        SETRANGE sr 5 x
        GET sr
        STRLEN sr
        SETRANGE sr2 0 ''
        EXISTS sr2
        SETRANGE ap -1 x
        SETRANGE ap 536870912 x
        SETRANGE ap abc x
        # Counters
        INCRBY n 10
        DECRBY n 3
        DECR n
        INCRBY n -100
        INCRBY n abc
        INCRBY n 9223372036854775808
        SET big 9223372036854775807
        INCR big
        INCRBY big 0
        SET small -9223372036854775808
        DECR small
        DECRBY n -9223372036854775808
        INCR ap
        SET sp ' 1'
        INCR sp
        SET lz 01
        INCR lz
        INCRBYFLOAT fl 1.5
        INCRBYFLOAT fl 0.1
        INCRBYFLOAT fl -1.6
        INCRBYFLOAT fl abc
        INCRBYFLOAT ap 1
        SET fe 5.0e3
        INCRBYFLOAT fe 2.0e2
        INCRBYFLOAT fe 1e308
        INCRBYFLOAT fe 1e308
        INCRBYFLOAT fe inf
        INCRBYFLOAT fe nan
        INCRBYFLOAT n 3
        GET n
        INCRBYFLOAT ints 10
        GET ints
        SET f3 3.0
        INCRBYFLOAT f3 0
        # MSETNX
        MSET a 1 b 2
        MSETNX a 9 d 4
        MSETNX d 4 e 5
        MGET a b d e
        MSETNX d
        MSET a
        MSET a 1 b
        MGET
        # Generic key commands
        DEL a b missing
        EXISTS a b d d missing
        TYPE d
        TYPE missing
        RENAME d d2
        RENAME missing x
        RENAME d2 d2
        GET d2
        RENAME d2 e
        GET e
        EXPIRE e 100
        TTL e
        PERSIST e
        PERSIST e
        PERSIST missing
        TTL e
        PEXPIRE e 50000
        PTTL e
        PTTL missing
        PTTL fresh
        EXPIRE e 100 NX
        EXPIRE e 200 XX
        TTL e
        EXPIRE e 50 GT
        EXPIRE e 50 LT
        TTL e
        EXPIRE e 10 NX XX
        EXPIRE e 10 FOO
        EXPIRE e abc
        EXPIRE e 9223372036854775807
        PEXPIRE e 9223372036854775807
        EXPIRE missing 10
        PEXPIRE e -1
        EXISTS e
        EXPIRE fresh 0
        EXISTS fresh
        DBSIZE
    ";
    assert_no_diffs("string commands", compare_script(&pair, script));
}

#[test]
fn errors_arity_unknown_and_syntax() {
    if !require_tools("errors", &["redis-cli", "redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-errors");
    let script = "
        GET
        GET a b
        SET x
        MGET
        INCR
        INCRBY x
        EXPIRE x
        TTL
        GETRANGE x 0
        SETRANGE x 0
        APPEND x
        DEL
        EXISTS
        RENAME x
        GETEX
        GETDEL
        DBSIZE x
        FOO
        FOO bar baz
        foobar 'a b'
        SET x 1
        INCRBY x 1.5
        EXPIRE x 1.5
        SET x 1 EX 1.5
        GETRANGE x 0 1.5
        MSETNX x
        PING a b
        ECHO
        ECHO a b
        SELECT 16
        SELECT abc
        SELECT 0
        CONFIG GET
        CONFIG FOO
        CLIENT FOO
        CLUSTER INFO
    ";
    assert_no_diffs("errors", compare_script(&pair, script));
}

#[test]
fn config_dbsize_keys_and_scan() {
    if !require_tools("config_dbsize_keys_scan", &["redis-cli", "redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-keys");
    let script = "
        CONFIG GET save
        CONFIG GET appendonly
        DBSIZE
        KEYS *
        MSET k1 a k2 b k3 c other d 'with space' e
        DBSIZE
        KEYS *
        KEYS k*
        KEYS k[12]
        KEYS *space*
        KEYS nomatch*
    ";
    assert_no_diffs("config/keys", compare_script(&pair, script));

    // CONFIG GET with several patterns: Redis 7.0 answers in its dict's (seeded, random) order,
    // so compare the name -> value pairs.
    for proto in ["2", "3"] {
        let pairs = |port: u16| {
            let mut c = RawConn::connect(port);
            c.call(&["HELLO", proto]);
            let (reply, raw) = c.call(&["CONFIG", "GET", "appendonly", "save", "appendonly"]);
            let flat: Vec<Resp> = match reply {
                Resp::Array(Some(items)) => items,
                Resp::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
                _ => panic!("CONFIG GET reply {:?}", String::from_utf8_lossy(&raw)),
            };
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = flat
                .chunks(2)
                .map(|kv| {
                    (
                        kv[0].as_bytes().unwrap().to_vec(),
                        kv[1].as_bytes().unwrap().to_vec(),
                    )
                })
                .collect();
            pairs.sort();
            (pairs, raw[0])
        };
        assert_eq!(
            pairs(pair.keyslot.port),
            pairs(pair.redis.port),
            "CONFIG GET with several patterns, RESP{proto}"
        );
    }

    // SCAN: a full iteration returns the same set of keys, with and without MATCH / COUNT.
    for (port, name) in [(pair.keyslot.port, "keyslot"), (pair.redis.port, "redis")] {
        let mut c = RawConn::connect(port);
        assert_eq!(c.call(&["FLUSHALL"]).1, b"+OK\r\n", "{name}");
        let mut args = vec!["MSET".to_string()];
        for i in 0..700 {
            args.push(format!("key:{i}"));
            args.push(i.to_string());
        }
        assert_eq!(c.call(&args).1, b"+OK\r\n", "{name}");
    }
    for extra in [
        vec![],
        vec!["COUNT", "3"],
        vec!["COUNT", "1000"],
        vec!["MATCH", "key:1*"],
        vec!["MATCH", "key:1*", "COUNT", "50"],
        vec!["TYPE", "string"],
        vec!["TYPE", "list"],
    ] {
        let k = scan_all(pair.keyslot.port, &extra);
        let r = scan_all(pair.redis.port, &extra);
        assert_eq!(k.len(), r.len(), "SCAN {extra:?}: number of keys");
        assert_eq!(k, r, "SCAN {extra:?}: key sets differ");
    }
    // SCAN syntax errors.
    let script = "
        SCAN
        SCAN abc
        SCAN 0 COUNT 0
        SCAN 0 COUNT abc
        SCAN 0 MATCH
        SCAN 0 FOO bar
    ";
    assert_no_diffs("scan errors", compare_script(&pair, script));
}

/// A full SCAN iteration; panics if it does not end within 100,000 calls.
fn scan_all(port: u16, extra: &[&str]) -> BTreeSet<Vec<u8>> {
    let mut c = RawConn::connect(port);
    let mut cursor = b"0".to_vec();
    let mut keys = BTreeSet::new();
    for _ in 0..100_000 {
        let mut args: Vec<Vec<u8>> = vec![b"SCAN".to_vec(), cursor.clone()];
        args.extend(extra.iter().map(|s| s.as_bytes().to_vec()));
        let (reply, raw) = c.call(&args);
        let Resp::Array(Some(items)) = reply else {
            panic!("SCAN reply {:?}", String::from_utf8_lossy(&raw));
        };
        assert_eq!(items.len(), 2, "SCAN reply shape");
        cursor = items[0].as_bytes().expect("cursor").to_vec();
        let Resp::Array(Some(batch)) = &items[1] else {
            panic!("SCAN keys {:?}", items[1]);
        };
        for k in batch {
            keys.insert(k.as_bytes().expect("key").to_vec());
        }
        if cursor == b"0" {
            return keys;
        }
    }
    panic!("SCAN {extra:?} did not finish on port {port}");
}

/// Replaces the value of the `id` field, which is the connection number, with 0.
fn without_id(reply: Resp) -> Resp {
    let fix = |k: &Resp, v: Resp| {
        if k.as_bytes() == Some(b"id") {
            Resp::Int(0)
        } else {
            v
        }
    };
    match reply {
        Resp::Map(pairs) => Resp::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.clone(), fix(&k, v)))
                .collect(),
        ),
        Resp::Array(Some(items)) => {
            let mut out = Vec::new();
            let mut it = items.into_iter();
            while let Some(k) = it.next() {
                let v = it.next().expect("HELLO RESP2 reply has pairs");
                let v = fix(&k, v);
                out.push(k);
                out.push(v);
            }
            Resp::Array(Some(out))
        }
        other => other,
    }
}

#[test]
fn hello_reply_shapes() {
    if !require_tools("hello", &["redis-cli", "redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-hello");
    let seqs: &[&[&[&str]]] = &[
        &[&["HELLO", "3"]],
        &[&["HELLO", "2"]],
        &[&["HELLO"]],
        &[&["HELLO", "3"], &["HELLO"]],
        &[&["HELLO", "3"], &["HELLO", "2"]],
        &[&["HELLO", "3", "SETNAME", "myname"], &["CLIENT", "GETNAME"]],
        &[&["HELLO", "2", "AUTH", "default", "x"]],
        &[&["HELLO", "3", "AUTH", "default"]],
        &[&["HELLO", "3", "SETNAME", "a b"]],
        &[&["HELLO", "3", "FOO"]],
        &[&["HELLO", "abc"]],
        &[&["HELLO", "4"]],
        &[&["HELLO", "1"]],
        &[
            &["HELLO", "3"],
            &["PING"],
            &["GET", "missing"],
            &["MGET", "a", "b"],
        ],
        &[&["HELLO", "3"], &["CONFIG", "GET", "save"]],
        &[&["HELLO", "3"], &["INCRBYFLOAT", "f", "1.5"]],
        &[&["HELLO", "3"], &["EXISTS", "a"]],
        &[&["HELLO", "3"], &["GETEX", "nope"]],
    ];
    let mut diffs = Vec::new();
    for seq in seqs {
        let mut kc = RawConn::connect(pair.keyslot.port);
        let mut rc = RawConn::connect(pair.redis.port);
        for cmd in seq.iter() {
            let (k, kraw) = kc.call(cmd);
            let (r, rraw) = rc.call(cmd);
            let (k, r) = (without_id(k), without_id(r));
            if k != r {
                diffs.push(format!(
                    "{seq:?} at {cmd:?}\n    keyslot: {:?}\n    redis:   {:?}",
                    String::from_utf8_lossy(&kraw),
                    String::from_utf8_lossy(&rraw)
                ));
            }
        }
    }
    // The HELLO 3 map in detail: same keys in the same order.
    let mut kc = RawConn::connect(pair.keyslot.port);
    let (reply, raw) = kc.call(&["HELLO", "3"]);
    let Resp::Map(pairs) = reply else {
        panic!("HELLO 3 is not a map: {:?}", String::from_utf8_lossy(&raw));
    };
    let keys: Vec<String> = pairs
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k.as_bytes().unwrap_or(b"?")).into_owned())
        .collect();
    assert_eq!(
        keys,
        ["server", "version", "proto", "id", "mode", "role", "modules"],
        "HELLO 3 fields"
    );
    assert_no_diffs("HELLO", diffs);
}

#[test]
fn config_get_defaults_match_redis() {
    if !require_tools("config_defaults", &["redis-cli", "redis-server"]) {
        return;
    }
    // Both started with no persistence flags: the defaults must agree.
    let dir = TempDir::new("compat-defaults");
    let keyslot = Server::keyslot(&dir, &[]);
    let rport = common::free_port();
    let rdir = dir.path().join("redis");
    std::fs::create_dir_all(&rdir).expect("dir");
    let redis = Server::start_in(std::path::Path::new("redis-server"), rport, &rdir, &[]);
    for args in [
        &["CONFIG", "GET", "save"][..],
        &["CONFIG", "GET", "appendonly"],
        &["--no-raw", "CONFIG", "GET", "save"],
        &["--no-raw", "CONFIG", "GET", "appendonly"],
    ] {
        assert_eq!(keyslot.cli(args), redis.cli(args), "{args:?}");
    }
}

#[test]
fn info_sections_and_keyspace() {
    if !require_tools("info", &["redis-cli", "redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-info");
    let headers = |s: &Server, args: &[&str]| -> Vec<String> {
        s.cli(args)
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| l.trim_end().to_string())
            .collect()
    };
    for args in [
        &["INFO"][..],
        &["INFO", "default"],
        &["INFO", "server"],
        &["INFO", "keyspace"],
        &["INFO", "server", "clients"],
        &["INFO", "nosuchsection"],
    ] {
        let k = headers(&pair.keyslot, args);
        let r = headers(&pair.redis, args);
        // Redis lists module sections after Modules; keyslot has none, and neither has redis here.
        assert_eq!(k, r, "section headers of {args:?}");
    }
    let info = pair.keyslot.cli(&["INFO"]);
    assert!(
        info.lines().any(|l| l.trim_end() == "redis_version:7.0.15"),
        "INFO has no redis_version:7.0.15:\n{info}"
    );
    assert!(
        !info.lines().any(|l| l.starts_with("db0:")),
        "db0 listed while empty:\n{info}"
    );
    assert_eq!(pair.keyslot.cli(&["SET", "x", "1"]), "OK");
    assert_eq!(pair.redis.cli(&["SET", "x", "1"]), "OK");
    let db0 = |s: &Server| {
        s.cli(&["INFO", "keyspace"])
            .lines()
            .find(|l| l.starts_with("db0:"))
            .map(|l| l.trim_end().to_string())
    };
    let k = db0(&pair.keyslot);
    assert_eq!(k.as_deref(), Some("db0:keys=1,expires=0,avg_ttl=0"));
    assert_eq!(k, db0(&pair.redis));
    // Lines are CRLF-terminated in the raw reply, like Redis's.
    let mut c = RawConn::connect(pair.keyslot.port);
    let (reply, _) = c.call(&["INFO", "keyspace"]);
    let body = reply.as_bytes().expect("INFO is a bulk string").to_vec();
    assert_eq!(
        String::from_utf8_lossy(&body),
        "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"
    );
}

/// `INFO all` / `INFO everything` list the same sections as Redis 7.0 (which has Latencystats).
#[test]
fn info_all_sections() {
    if !require_tools("info_all", &["redis-cli", "redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-info-all");
    for args in [&["INFO", "all"][..], &["INFO", "everything"]] {
        let headers = |s: &Server| -> Vec<String> {
            s.cli(args)
                .lines()
                .filter(|l| l.starts_with('#'))
                .map(|l| l.trim_end().to_string())
                .collect()
        };
        assert_eq!(
            headers(&pair.keyslot),
            headers(&pair.redis),
            "section headers of {args:?} (keyslot left, redis right)"
        );
    }
}

/// SUBSTR, the deprecated alias of GETRANGE that Redis 7.0 still serves.
#[test]
fn substr_alias() {
    if !require_tools("substr", &["redis-cli", "redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-substr");
    let script = "
        SET ap hello
        SUBSTR ap 0 2
        SUBSTR ap -3 -1
        SUBSTR missing 0 1
        SUBSTR ap 0
    ";
    assert_no_diffs("SUBSTR", compare_script(&pair, script));
}

#[test]
fn raw_resp_inline_and_pipelined_sequences() {
    if !require_tools("raw_sequences", &["redis-server"]) {
        return;
    }
    let pair = Pair::start("compat-raw");
    // A mix of inline and multibulk commands in one write; the exact byte stream must match.
    let mut req = Vec::new();
    req.extend_from_slice(
        b"SET a 1\r\nINCR a\r\nGET a\r\nset \"q k\" \"x\\ty\"\r\nGET \"q k\"\r\n",
    );
    req.extend_from_slice(&resp_command(&["MSET", "b", "2", "c", ""]));
    req.extend_from_slice(&resp_command(&["MGET", "a", "b", "c", "d"]));
    req.extend_from_slice(b"EXPIRE a 100\r\nPERSIST a\r\nTTL a\r\nSTRLEN c\r\nTYPE c\r\n");
    req.extend_from_slice(b"PING\r\nPING hello\r\nECHO 'x y'\r\nDBSIZE\r\n");
    let mut out = Vec::new();
    for port in [pair.keyslot.port, pair.redis.port] {
        let mut c = RawConn::connect(port);
        c.send(&req);
        let mut all = Vec::new();
        for _ in 0..16 {
            all.extend_from_slice(&c.read_reply().1);
        }
        out.push(String::from_utf8_lossy(&all).into_owned());
    }
    assert_eq!(out[0], out[1], "keyslot vs redis");
}

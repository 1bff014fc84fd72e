//! The append-only file with real keyslot-server processes: acknowledged writes survive SIGKILL
//! under `appendfsync always`, the `everysec` loss is measured, a truncated AOF loads, a
//! corrupt one is refused with the file and offset named, BGREWRITEAOF and CONFIG SET
//! appendonly yes produce Redis 7's multi-part layout, and redis-server 7.0.15 loads it.

mod common;

use common::{free_port, keyslot_bin, require_tools, Server, TempDir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Writers doing `SET w<t>:<i> <i>` one at a time; every key whose +OK arrived is recorded.
fn write_under_load(
    port: u16,
    threads: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..threads)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                    return acked;
                };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 64];
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let key = format!("w{t}:{i}");
                    let cmd = common::resp_command(&["SET", key.as_str(), &i.to_string()]);
                    if s.write_all(&cmd).is_err() {
                        break;
                    }
                    let mut got = Vec::new();
                    while !got.ends_with(b"\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => return acked,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    if got != b"+OK\r\n" {
                        break;
                    }
                    acked.push(key);
                }
                acked
            })
        })
        .collect()
}

/// Keys of `acked` missing from the server.
fn missing(port: u16, acked: &[String]) -> Vec<String> {
    let mut conn = common::RawConn::connect(port);
    let mut out = Vec::new();
    for chunk in acked.chunks(500) {
        let mut args: Vec<&str> = vec!["EXISTS"];
        for k in chunk {
            conn.send(&common::resp_command(&["EXISTS", k.as_str()]));
        }
        args.clear();
        for k in chunk {
            if conn.read_reply().0.as_int() != Some(1) {
                out.push(k.clone());
            }
        }
    }
    out
}

/// Runs writers for `secs`, SIGKILLs the server under load, restarts it; returns
/// (acknowledged keys, missing keys, writes per second).
fn kill_under_load(server: &mut Server, secs: f64) -> (Vec<String>, Vec<String>, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let writers = write_under_load(server.port, 8, stop.clone());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let elapsed = t0.elapsed().as_secs_f64();
    let acked: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    server.restart();
    let lost = missing(server.port, &acked);
    let rate = acked.len() as f64 / elapsed;
    (acked, lost, rate)
}

#[test]
fn appendfsync_always_keeps_every_acknowledged_write_across_sigkill() {
    if !require_tools("appendfsync_always", &["redis-cli"]) {
        return;
    }
    let dir = TempDir::new("aof-always");
    let mut s = Server::keyslot(
        &dir,
        &[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ],
    );
    let (acked, lost, rate) = kill_under_load(&mut s, 1.5);
    println!(
        "appendfsync always: {} writes acknowledged ({:.0}/s), {} missing after SIGKILL + restart",
        acked.len(),
        rate,
        lost.len()
    );
    assert!(acked.len() > 100, "too few writes: {}", acked.len());
    assert!(
        lost.is_empty(),
        "acknowledged writes lost: {:?}",
        &lost[..lost.len().min(10)]
    );
    assert!(
        s.log().contains("DB loaded from append only file"),
        "{}",
        s.log()
    );
}

#[test]
fn appendfsync_everysec_loss_is_measured() {
    if !require_tools("appendfsync_everysec", &["redis-cli"]) {
        return;
    }
    let dir = TempDir::new("aof-everysec");
    let mut s = Server::keyslot(
        &dir,
        &[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
        ],
    );
    let (acked, lost, rate) = kill_under_load(&mut s, 2.0);
    let lost_ms = lost.len() as f64 / rate.max(1.0) * 1000.0;
    // SIGKILL kills the process, not the machine: bytes written before the kill are in the
    // page cache and survive. The machine-crash case (unsynced bytes lost) is measured on the
    // simulated disk in persist::tests::everysec_crash_loses_at_most_about_a_second.
    println!(
        "appendfsync everysec: {} writes acknowledged ({:.0}/s), {} lost after SIGKILL (= {:.0} ms of writes)",
        acked.len(),
        rate,
        lost.len(),
        lost_ms
    );
    assert!(
        lost_ms <= 1500.0,
        "lost {} writes = {lost_ms:.0} ms",
        lost.len()
    );
}

fn incr_file(node_dir: &Path) -> std::path::PathBuf {
    node_dir
        .join("appendonlydir")
        .join("appendonly.aof.1.incr.aof")
}

/// Starts a server that is expected to fail; returns its exit status and output.
fn start_failing(dir: &Path, extra: &[&str]) -> (std::process::ExitStatus, String) {
    let port = free_port();
    let mut cmd = std::process::Command::new(keyslot_bin());
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        .args(extra)
        .current_dir(dir);
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status, text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server with a corrupt AOF kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn truncated_aof_loads_up_to_the_last_whole_command_and_corrupt_one_fails() {
    if !require_tools("truncated_aof", &["redis-cli"]) {
        return;
    }
    let dir = TempDir::new("aof-trunc");
    let flags = [
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let mut s = Server::keyslot(&dir, &flags);
    for i in 0..50 {
        assert_eq!(s.cli(&["SET", &format!("k{i}"), &format!("v{i}")]), "OK");
    }
    s.cli(&["RPUSH", "list", "a", "b", "c"]);
    s.kill();
    let incr = incr_file(&s.dir);
    let whole = std::fs::read(&incr).unwrap();
    // A crash in the middle of a write: half a command at the end.
    let mut torn = whole.clone();
    torn.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$5\r\nva");
    std::fs::write(&incr, &torn).unwrap();
    s.restart();
    assert_eq!(s.cli(&["DBSIZE"]), "51");
    assert_eq!(s.cli(&["GET", "k49"]), "v49");
    assert_eq!(s.cli(&["EXISTS", "lost"]), "0");
    let log = s.log();
    assert!(
        log.contains("short read while loading the AOF file appendonly.aof.1.incr.aof"),
        "{log}"
    );
    assert!(
        log.contains(
            "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"
        ),
        "{log}"
    );
    // The torn tail was cut off: new writes append after whole commands.
    assert_eq!(s.cli(&["SET", "after", "1"]), "OK");
    s.kill();
    s.restart();
    assert_eq!(s.cli(&["GET", "after"]), "1");
    assert_eq!(s.cli(&["DBSIZE"]), "52");
    s.kill();

    // A damaged byte in the middle: a startup error naming the file and the offset.
    let mut bad = std::fs::read(&incr).unwrap();
    let second_cmd = bad.windows(4).skip(1).position(|w| w == b"*3\r\n").unwrap() + 1;
    bad[second_cmd] = b'!';
    std::fs::write(&incr, &bad).unwrap();
    let (status, out) = start_failing(&s.dir, &flags);
    assert!(!status.success());
    println!("corrupt AOF start: {out}");
    assert!(
        out.contains(&format!("Bad file format reading the append only file appendonly.aof.1.incr.aof at offset {second_cmd}")),
        "{out}"
    );
}

#[test]
fn rewrite_and_config_set_appendonly_use_the_multi_part_layout_redis_loads() {
    if !require_tools("aof_rewrite", &["redis-cli", "redis-server"]) {
        return;
    }
    let dir = TempDir::new("aof-rewrite");
    let mut s = Server::keyslot(&dir, &["--save", ""]);
    s.cli(&["SET", "before", "1"]);
    s.cli(&["HSET", "h", "f", "v", "g", "w"]);
    assert_eq!(s.cli(&["CONFIG", "SET", "appendonly", "yes"]), "OK");
    let aof_dir = s.dir.join("appendonlydir");
    let manifest = aof_dir.join("appendonly.aof.manifest");
    assert!(common::wait_until(Duration::from_secs(5), || manifest.exists()));
    s.cli(&["SET", "after", "2"]);
    s.cli(&["ZADD", "z", "1.5", "m"]);
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert_eq!(text, "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    assert!(s.cli(&["INFO", "persistence"]).contains("aof_enabled:1"));
    assert_eq!(
        s.cli(&["BGREWRITEAOF"]),
        "Background append only file rewriting started"
    );
    assert!(common::wait_until(Duration::from_secs(5), || {
        s.cli(&["INFO", "persistence"])
            .contains("aof_rewrite_in_progress:0")
            && std::fs::read_to_string(&manifest)
                .unwrap()
                .contains("seq 2 type b")
    }));
    s.cli(&["SADD", "s", "x", "y"]);
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert_eq!(text, "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    let mut files: Vec<String> = std::fs::read_dir(&aof_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "appendonly.aof.2.base.rdb",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    s.kill();

    // redis-server 7.0.15 loads keyslot's AOF directory.
    let rdir = TempDir::new("aof-redis");
    let port = free_port();
    let copy = rdir.path().join("appendonlydir");
    std::fs::create_dir_all(&copy).unwrap();
    for f in &files {
        std::fs::copy(aof_dir.join(f), copy.join(f)).unwrap();
    }
    let r = Server::start_in(
        Path::new("redis-server"),
        port,
        rdir.path(),
        &["--save", "", "--appendonly", "yes"],
    );
    assert_eq!(r.cli(&["DBSIZE"]), "5");
    assert_eq!(r.cli(&["GET", "after"]), "2");
    assert_eq!(r.cli(&["HGET", "h", "g"]), "w");
    assert_eq!(r.cli(&["ZSCORE", "z", "m"]), "1.5");
    assert_eq!(r.cli(&["SCARD", "s"]), "2");
    // And keyslot loads what redis-server appends.
    r.cli(&["SET", "from-redis", "yes"]);
    r.cli(&["SHUTDOWN", "NOSAVE"]);
    let k = Server::start_in(
        &keyslot_bin(),
        free_port(),
        rdir.path(),
        &["--save", "", "--appendonly", "yes"],
    );
    assert_eq!(k.cli(&["GET", "from-redis"]), "yes");
    assert_eq!(k.cli(&["DBSIZE"]), "6");
    drop(r);
}

#[test]
fn loading_is_observable() {
    if !require_tools("loading", &["redis-cli"]) {
        return;
    }
    // A big AOF: clients connecting during the load see loading:1 and -LOADING.
    let dir = TempDir::new("aof-loading");
    let mut s = Server::keyslot(
        &dir,
        &["--save", "", "--appendonly", "yes", "--appendfsync", "no"],
    );
    let mut conn = common::RawConn::connect(s.port);
    let value = "x".repeat(100);
    for batch in 0..60 {
        let mut req = Vec::new();
        for i in 0..5000 {
            req.extend(common::resp_command(&[
                "SET",
                &format!("key:{batch}:{i}"),
                &value,
            ]));
        }
        conn.send(&req);
        for _ in 0..5000 {
            conn.read_reply();
        }
    }
    drop(conn);
    s.kill();
    let seen = Arc::new(Mutex::new((false, false)));
    let port = s.port;
    let stop = Arc::new(AtomicBool::new(false));
    let (seen2, stop2) = (seen.clone(), stop.clone());
    let watcher = std::thread::spawn(move || {
        while !stop2.load(Ordering::SeqCst) {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = c.write_all(
                    b"*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
                );
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_millis(300) {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                    let text = String::from_utf8_lossy(&got);
                    if text.contains("-LOADING") || text.ends_with("$-1\r\n") {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&got);
                let mut s = seen2.lock().unwrap();
                s.0 |= text.contains("loading:1");
                s.1 |= text.contains("-LOADING Redis is loading the dataset in memory");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    s.restart();
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    assert_eq!(s.cli(&["DBSIZE"]), "300000");
    let (info, loading) = *seen.lock().unwrap();
    println!("during the load of 300000 keys: INFO loading:1 seen={info}, -LOADING seen={loading}");
    assert!(info && loading, "the load was not observable");
}

/// `CONFIG SET appendonly yes` starts the AOF at once, as Redis's startAppendOnly does inside
/// CONFIG SET: a client that waits for `aof_rewrite_in_progress:0` (the suite's
/// waitForBgrewriteaof) and then writes and runs DEBUG LOADAOF gets its data back, on keyslot
/// as on redis-server (units type/stream "XADD with MAXLEN > xlen can propagate correctly"
/// and type/stream-cgroups "XREADGROUP with NOACK creates consumer"). Twice, with the AOF
/// turned off in between, as the suite's consecutive servers do.
#[test]
fn config_set_appendonly_then_debug_loadaof_matches_redis() {
    if !require_tools("aof_loadaof", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("aof-loadaof");
    let debug = ["--enable-debug-command", "yes"];
    let keyslot = Server::keyslot(&dir, &["--save", "", debug[0], debug[1]]);
    let redis = Server::redis(&dir, &debug);
    for server in [&keyslot, &redis] {
        let mut c = common::RawConn::connect(server.port);
        for round in 0..2 {
            c.call(&["FLUSHALL"]);
            c.call(&["CONFIG", "SET", "appendonly", "yes"]);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let (info, _) = c.call(&["INFO", "persistence"]);
                let text =
                    String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
                if text.contains("aof_rewrite_in_progress:0") {
                    break;
                }
                assert!(Instant::now() < deadline, "the first rewrite never ended");
                std::thread::sleep(Duration::from_millis(20));
            }
            for _ in 0..100 {
                c.call(&["XADD", "mystream", "*", "xitem", "v"]);
            }
            c.call(&["XADD", "mystream", "MAXLEN", "200", "*", "xitem", "v"]);
            c.call(&["XGROUP", "CREATE", "mystream", "g", "0"]);
            c.call(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "c1",
                "NOACK",
                "COUNT",
                "1",
                "STREAMS",
                "mystream",
                ">",
            ]);
            let (reply, raw) = c.call(&["DEBUG", "LOADAOF"]);
            assert_eq!(
                reply,
                common::Resp::Simple(b"OK".to_vec()),
                "port {} round {round}: {}",
                server.port,
                String::from_utf8_lossy(&raw)
            );
            assert_eq!(
                c.call(&["XLEN", "mystream"]).0,
                common::Resp::Int(101),
                "port {} round {round}: the stream after DEBUG LOADAOF",
                server.port
            );
            let (groups, raw) = c.call(&["XINFO", "GROUPS", "mystream"]);
            assert!(
                matches!(groups, common::Resp::Array(Some(ref g)) if g.len() == 1),
                "port {} round {round}: {}",
                server.port,
                String::from_utf8_lossy(&raw)
            );
            c.call(&["CONFIG", "SET", "appendonly", "no"]);
        }
    }
}

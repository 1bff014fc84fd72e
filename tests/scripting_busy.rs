//! Busy scripts side by side with redis-server 7.0.15: a script that loops past
//! busy-reply-threshold makes other clients get -BUSY, SCRIPT KILL / FUNCTION KILL end it (or
//! answer -UNKILLABLE once it wrote, or the other -BUSY for the wrong kind), SHUTDOWN NOSAVE
//! stops the server anyway; and FUNCTION libraries survive a restart (RDB), DEBUG RELOAD and
//! a full sync to a replica. Every reply is compared byte for byte.

mod common;

use common::{RawConn, Server, TempDir};
use std::time::Duration;

/// What one server answered along a busy-script story (raw replies, in order).
fn busy_story(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    let mut record = |(_, raw): (common::Resp, Vec<u8>)| {
        out.push(String::from_utf8_lossy(&raw).into_owned());
    };
    let mut admin = RawConn::connect(port);
    record(admin.call(&["CONFIG", "SET", "busy-reply-threshold", "100"]));
    // A read-only endless script: -BUSY for others, FUNCTION KILL refused, SCRIPT KILL ends it.
    let mut looper = RawConn::connect(port);
    looper.send(&common::resp_command(&["EVAL", "while true do end", "0"]));
    std::thread::sleep(Duration::from_millis(400));
    record(admin.call(&["PING"]));
    // A client that connects while the script runs is answered too.
    let mut late = RawConn::connect(port);
    record(late.call(&["GET", "x"]));
    record(admin.call(&["FUNCTION", "KILL"]));
    record(admin.call(&["SCRIPT", "KILL"]));
    record(looper.read_reply());
    record(admin.call(&["PING"]));
    record(late.call(&["PING"]));
    // A function: SCRIPT KILL refused, FUNCTION KILL ends it.
    record(admin.call(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=busylib\nredis.register_function('spin', function() while true do end end)",
    ]));
    looper.send(&common::resp_command(&["FCALL", "spin", "0"]));
    std::thread::sleep(Duration::from_millis(400));
    record(admin.call(&["SET", "k", "v"]));
    record(admin.call(&["SCRIPT", "KILL"]));
    record(admin.call(&["FUNCTION", "KILL"]));
    record(looper.read_reply());
    // A transaction opened during a busy script is aborted.
    looper.send(&common::resp_command(&["EVAL", "while true do end", "0"]));
    std::thread::sleep(Duration::from_millis(400));
    record(late.call(&["MULTI"]));
    record(late.call(&["INCR", "n"]));
    record(admin.call(&["SCRIPT", "KILL"]));
    record(looper.read_reply());
    record(late.call(&["EXEC"]));
    record(late.call(&["GET", "n"]));
    // A script that wrote cannot be killed; SHUTDOWN (saving) is refused, NOSAVE stops all.
    looper.send(&common::resp_command(&[
        "EVAL",
        "redis.call('set', KEYS[1], 'y') while true do end",
        "1",
        "x",
    ]));
    std::thread::sleep(Duration::from_millis(400));
    record(admin.call(&["SCRIPT", "KILL"]));
    record(admin.call(&["PING"]));
    record(admin.call(&["SHUTDOWN"]));
    admin.send(&common::resp_command(&["SHUTDOWN", "NOSAVE"]));
    out
}

#[test]
fn busy_scripts_match_redis() {
    if !common::require_tools("busy_scripts", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("busy_scripts");
    let keyslot = Server::keyslot(&dir, &["--save", ""]);
    let redis = Server::redis(&dir, &[]);
    let k = busy_story(keyslot.port);
    let r = busy_story(redis.port);
    assert_eq!(k, r, "keyslot (left) and redis-server (right) differ");
    assert!(
        k.iter()
            .any(|l| l.starts_with("-BUSY Redis is busy running a script")),
        "{k:?}"
    );
    for s in [&keyslot, &redis] {
        assert!(
            common::wait_until(Duration::from_secs(10), || !common::ping(s.port)),
            "SHUTDOWN NOSAVE stopped the server on port {}",
            s.port
        );
    }
}

/// Libraries after a restart (RDB), DEBUG RELOAD, and on a replica after its full sync, for a
/// keyslot master with a keyslot and a redis-server replica.
#[test]
fn functions_survive_restart_reload_and_full_sync() {
    if !common::require_tools("functions_persist", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("functions_persist");
    let mut master = Server::keyslot(&dir, &["--save", "", "--enable-debug-command", "yes"]);
    let lib = "#!lua name=keep\nredis.register_function{function_name='twice', callback=function(keys, args) return tonumber(args[1]) * 2 end, flags={'no-writes'}}";
    assert_eq!(master.cli(&["FUNCTION", "LOAD", lib]), "keep");
    assert_eq!(master.cli(&["SET", "plain", "1"]), "OK");
    assert_eq!(master.cli(&["DEBUG", "RELOAD"]), "OK");
    assert_eq!(master.cli(&["FCALL", "twice", "0", "21"]), "42");
    assert_eq!(master.cli(&["GET", "plain"]), "1");
    assert_eq!(master.cli(&["SAVE"]), "OK");
    master.kill();
    master.restart();
    assert_eq!(master.cli(&["FCALL", "twice", "0", "5"]), "10");
    let replica_k = Server::keyslot(&dir, &["--save", ""]);
    let replica_r = Server::redis(&dir, &[]);
    for r in [&replica_k, &replica_r] {
        r.cli(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
        assert!(
            common::wait_until(Duration::from_secs(20), || {
                r.cli(&["INFO", "replication"])
                    .contains("master_link_status:up")
            }),
            "replica on port {} synced",
            r.port
        );
        assert_eq!(r.cli(&["FCALL_RO", "twice", "0", "4"]).trim(), "8");
        assert!(r.cli(&["FUNCTION", "LIST"]).contains("keep"));
    }
    // redis-server reads the library from keyslot's RDB file too.
    let dump = master.dir.join("dump.rdb");
    let rdir = dir.path().join("redis-reads-keyslot");
    std::fs::create_dir_all(&rdir).expect("dir");
    std::fs::copy(&dump, rdir.join("dump.rdb")).expect("copy dump");
    let port = common::free_port();
    let reader = Server::start_in(
        std::path::Path::new("redis-server"),
        port,
        &rdir,
        &["--save", "", "--appendonly", "no"],
    );
    assert_eq!(reader.cli(&["FCALL", "twice", "0", "3"]), "6");
}

/// DEBUG LOADAOF reloads the dataset from the AOF (the functions in its RDB preamble base
/// and the commands after it).
#[test]
fn debug_loadaof_reloads_the_aof() {
    let dir = TempDir::new("debug_loadaof");
    let s = Server::keyslot(
        &dir,
        &[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--enable-debug-command",
            "yes",
        ],
    );
    let lib = "#!lua name=aoflib\nredis.register_function('one', function() return 1 end)";
    assert_eq!(s.cli(&["FUNCTION", "LOAD", lib]), "aoflib");
    assert_eq!(s.cli(&["RPUSH", "l", "a", "b", "c"]), "3");
    assert_eq!(
        s.cli(&["BGREWRITEAOF"]),
        "Background append only file rewriting started"
    );
    assert!(common::wait_until(Duration::from_secs(10), || {
        s.cli(&["INFO", "persistence"])
            .contains("aof_rewrite_in_progress:0")
    }));
    assert_eq!(s.cli(&["INCR", "n"]), "1");
    assert_eq!(s.cli(&["DEBUG", "LOADAOF"]), "OK");
    assert_eq!(s.cli(&["LRANGE", "l", "0", "-1"]), "a\nb\nc");
    assert_eq!(s.cli(&["GET", "n"]), "1");
    assert_eq!(s.cli(&["FCALL", "one", "0"]), "1");
    assert_eq!(s.cli(&["DBSIZE"]), "2");
}

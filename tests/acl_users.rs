//! ACL users across restarts and nodes: ACL SAVE then a restart brings the users back, ACL
//! LOAD of a hand-written file (its result and its errors as redis-server 7.0.15 gives them),
//! `user` directives, clients of a deleted user disconnected, CLIENT KILL USER, and
//! replication with masteruser/masterauth to a master whose default user is off.

mod common;

use common::{cli, cli_output, require_tools, wait_until, RawConn, Resp, Server, TempDir};
use std::time::Duration;

/// Ports of this binary (bus ports +10000), apart from other suites'.
const PORT_LOW: u16 = 23600;
const PORT_HIGH: u16 = 23990;

fn text(r: &(Resp, Vec<u8>)) -> String {
    String::from_utf8_lossy(&r.1).into_owned()
}

/// `redis-cli --user U --pass P args...` (stdout).
fn cli_as(port: u16, user: &str, pass: &str, args: &[&str]) -> String {
    let mut all = vec!["--no-auth-warning", "--user", user, "--pass", pass];
    all.extend_from_slice(args);
    let out = cli_output(port, &all);
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// Sends PING and tells whether the server closed the connection (EOF or reset) rather than
/// answering.
fn closed(c: &mut RawConn) -> bool {
    use std::io::{Read, Write};
    let _ = c.stream.write_all(b"PING\r\n");
    let _ = c.stream.set_read_timeout(Some(Duration::from_millis(300)));
    let mut buf = [0u8; 256];
    let r = c.stream.read(&mut buf);
    let _ = c.stream.set_read_timeout(Some(Duration::from_secs(10)));
    match r {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

const INITIAL_ACL: &str = "user default on nopass ~* &* +@all\n";

#[test]
fn acl_save_then_restart_brings_the_users_back() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    if !require_tools("acl-save", &["redis-server", "redis-cli"]) {
        return;
    }
    let dir = TempDir::new("acl-save");
    let mut files = Vec::new();
    for redis in [false, true] {
        let sub = dir.path().join(if redis { "redis" } else { "keyslot" });
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("users.acl"), INITIAL_ACL).unwrap();
        let port = common::free_port();
        let bin = if redis {
            std::path::PathBuf::from("redis-server")
        } else {
            common::keyslot_bin()
        };
        let mut s = Server::start_in(
            &bin,
            port,
            &sub,
            &["--save", "", "--appendonly", "no", "--aclfile", "users.acl"],
        );
        let mut c = RawConn::connect(port);
        for cmd in [
            &[
                "ACL",
                "SETUSER",
                "app",
                "on",
                ">apppw",
                "~app:*",
                "%R~ro:*",
                "resetchannels",
                "&news",
                "+@read",
                "+set",
            ][..],
            &[
                "ACL",
                "SETUSER",
                "ops",
                "off",
                "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
                "~*",
                "+@all",
                "-@dangerous",
            ],
            &[
                "ACL", "SETUSER", "sel", "on", "nopass", "~a:*", "+get", "(~b:*", "+set)",
            ],
        ] {
            assert_eq!(text(&c.call(cmd)), "+OK\r\n", "{cmd:?} on {port}");
        }
        let before = text(&c.call(&["ACL", "LIST"]));
        assert_eq!(text(&c.call(&["ACL", "SAVE"])), "+OK\r\n");
        let saved = std::fs::read_to_string(sub.join("users.acl")).unwrap();
        s.kill();
        s.restart();
        let mut c = RawConn::connect(port);
        assert_eq!(
            text(&c.call(&["ACL", "LIST"])),
            before,
            "users after restart ({port})"
        );
        assert_eq!(
            cli_as(port, "app", "apppw", &["ACL", "WHOAMI"]),
            "NOPERM this user has no permissions to run the 'acl|whoami' command"
        );
        assert_eq!(cli_as(port, "app", "apppw", &["SET", "app:1", "v"]), "OK");
        assert_eq!(cli_as(port, "app", "apppw", &["GET", "app:1"]), "v");
        assert_eq!(cli_as(port, "ops", "password", &["GET", "x"]), "");
        files.push(saved);
    }
    println!("saved aclfile:\n{}", files[0]);
    assert_eq!(
        files[0], files[1],
        "keyslot's and redis-server's ACL SAVE differ"
    );
}

const HAND_WRITTEN: &str = "user default on nopass ~* &* +@all\n\
user reader on >r3ad ~cache:* resetchannels -@all +@read +@connection\n\
user writer on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 %W~w:* %R~r:* resetchannels &events.* -@all +@write +@read -flushall\n\
user locked off >x ~* +@all\n";

const BROKEN: &str = "user default on nopass ~* &* +@all\n\
user a on +nosuchcommand\n\
user b on #abc\n\
nonsense line\n\
user a on\n";

#[test]
fn acl_load_of_a_hand_written_file_matches_redis() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    if !require_tools("acl-load", &["redis-server", "redis-cli"]) {
        return;
    }
    let dir = TempDir::new("acl-load");
    let mut outs = Vec::new();
    for redis in [false, true] {
        let sub = dir.path().join(if redis { "redis" } else { "keyslot" });
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("users.acl"), INITIAL_ACL).unwrap();
        let port = common::free_port();
        let bin = if redis {
            std::path::PathBuf::from("redis-server")
        } else {
            common::keyslot_bin()
        };
        let _s = Server::start_in(
            &bin,
            port,
            &sub,
            &["--save", "", "--appendonly", "no", "--aclfile", "users.acl"],
        );
        let mut out = Vec::new();
        let mut c = RawConn::connect(port);
        // A client of a user the load replaces is disconnected.
        c.call(&["ACL", "SETUSER", "temp", "on", "nopass", "+@all"]);
        let mut temp = RawConn::connect(port);
        out.push(text(&temp.call(&["AUTH", "temp", "x"])));
        std::fs::write(sub.join("users.acl"), HAND_WRITTEN).unwrap();
        out.push(text(&c.call(&["ACL", "LOAD"])));
        out.push(text(&c.call(&["ACL", "LIST"])));
        out.push(text(&c.call(&["ACL", "GETUSER", "writer"])));
        out.push(cli_as(port, "reader", "r3ad", &["GET", "cache:1"]));
        out.push(cli_as(port, "reader", "r3ad", &["GET", "other"]));
        out.push(cli_as(port, "writer", "password", &["SET", "w:1", "v"]));
        out.push(cli_as(port, "writer", "password", &["GET", "w:1"]));
        out.push(cli_as(port, "locked", "x", &["PING"]));
        // The broken file changes nothing and every error is reported.
        std::fs::write(sub.join("users.acl"), BROKEN).unwrap();
        out.push(text(&c.call(&["ACL", "LOAD"])));
        out.push(text(&c.call(&["ACL", "USERS"])));
        out.push(format!(
            "temp client closed: {}",
            wait_until(Duration::from_secs(3), || { closed(&mut temp) })
        ));
        outs.push(out);
    }
    for (k, r) in outs[0].iter().zip(&outs[1]) {
        assert_eq!(k, r, "keyslot (left) and redis (right) differ");
    }
    println!("ACL LOAD replies identical:\n{:#?}", outs[0]);
}

#[test]
fn user_directives_define_users_at_startup() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    if !require_tools("acl-user-directive", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("acl-directive");
    let flags = [
        "--save",
        "",
        "--appendonly",
        "no",
        "--user",
        "app",
        "on",
        ">pw",
        "~app:*",
        "+@read",
        "--user",
        "default",
        "on",
        "nopass",
        "~*",
        "&*",
        "+@all",
        "-debug",
    ];
    let k = Server::keyslot(&dir, &flags);
    let r = Server::redis(&dir, &flags[4..]);
    assert_eq!(cli(k.port, &["ACL", "LIST"]), cli(r.port, &["ACL", "LIST"]));
    assert_eq!(
        cli_as(k.port, "app", "pw", &["GET", "x"]),
        cli_as(r.port, "app", "pw", &["GET", "x"])
    );
    // Both at once is refused at startup, as by Redis.
    let port = common::free_port();
    let out = std::process::Command::new(common::keyslot_bin())
        .args([
            "--port",
            &port.to_string(),
            "--aclfile",
            "x.acl",
            "--user",
            "a",
            "on",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("users defined in redis.conf and at the same setting an ACL file"),
        "{log}"
    );
}

#[test]
fn deleting_a_user_disconnects_its_clients_and_client_kill_user() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    if !require_tools("acl-kill", &["redis-cli"]) {
        return;
    }
    let dir = TempDir::new("acl-kill");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let mut admin = RawConn::connect(k.port);
    admin.call(&["ACL", "SETUSER", "u1", "on", "nopass", "+@all", "~*"]);
    admin.call(&["ACL", "SETUSER", "u2", "on", "nopass", "+@all", "~*"]);
    let mut a = RawConn::connect(k.port);
    let mut b = RawConn::connect(k.port);
    assert_eq!(text(&a.call(&["AUTH", "u1", "x"])), "+OK\r\n");
    assert_eq!(text(&b.call(&["AUTH", "u2", "x"])), "+OK\r\n");
    let list = text(&admin.call(&["CLIENT", "LIST"]));
    assert!(
        list.contains("user=u1") && list.contains("user=u2") && list.contains("user=default"),
        "{list}"
    );
    assert_eq!(
        text(&admin.call(&["CLIENT", "KILL", "USER", "nosuch"])),
        "-ERR No such user 'nosuch'\r\n"
    );
    assert_eq!(
        text(&admin.call(&["CLIENT", "KILL", "USER", "u2"])),
        ":1\r\n"
    );
    assert_eq!(text(&admin.call(&["ACL", "DELUSER", "u1"])), ":1\r\n");
    for c in [&mut a, &mut b] {
        assert!(wait_until(Duration::from_secs(3), || { closed(c) }));
    }
    // A user deleting itself gets its reply, then the connection closes.
    admin.call(&["ACL", "SETUSER", "self", "on", "nopass", "+@all"]);
    let mut s = RawConn::connect(k.port);
    s.call(&["AUTH", "self", "x"]);
    assert_eq!(text(&s.call(&["ACL", "DELUSER", "self"])), ":1\r\n");
    assert!(wait_until(Duration::from_secs(3), || closed(&mut s)));
}

fn wait_key(port: u16, user: &str, pass: &str, key: &str, want: &str) -> bool {
    wait_until(Duration::from_secs(20), || {
        cli_as(port, user, pass, &["GET", key]) == want
    })
}

/// The must-show: a keyslot replica of a keyslot master whose default user is off replicates
/// through a replication user (masteruser/masterauth); redis-server replicates from the same
/// master the same way.
#[test]
fn replication_with_masteruser_and_masterauth() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    if !require_tools("acl-repl", &["redis-server", "redis-cli"]) {
        return;
    }
    let dir = TempDir::new("acl-repl");
    let master = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let mut admin = RawConn::connect(master.port);
    for cmd in [
        &[
            "ACL",
            "SETUSER",
            "repl",
            "on",
            ">replpw",
            "+psync",
            "+replconf",
            "+ping",
        ][..],
        &[
            "ACL", "SETUSER", "admin", "on", ">adminpw", "~*", "&*", "+@all",
        ],
        &["SET", "before", "1"],
        &["ACL", "SETUSER", "default", "off", "resetpass"],
    ] {
        assert_eq!(text(&admin.call(cmd)), "+OK\r\n", "{cmd:?}");
    }
    // A fresh connection cannot run anything without logging in.
    assert_eq!(
        cli(master.port, &["GET", "before"]).trim_end(),
        "NOAUTH Authentication required."
    );
    let mp = master.port.to_string();
    let replica = Server::keyslot(
        &dir,
        &[
            "--save",
            "",
            "--appendonly",
            "no",
            "--masteruser",
            "repl",
            "--masterauth",
            "replpw",
        ],
    );
    assert_eq!(cli(replica.port, &["REPLICAOF", "127.0.0.1", &mp]), "OK");
    let reference = Server::redis(&dir, &["--masteruser", "repl", "--masterauth", "replpw"]);
    assert_eq!(cli(reference.port, &["REPLICAOF", "127.0.0.1", &mp]), "OK");
    assert_eq!(
        cli_as(master.port, "admin", "adminpw", &["SET", "after", "2"]),
        "OK"
    );
    for port in [replica.port, reference.port] {
        assert!(
            wait_key(port, "default", "x", "before", "1"),
            "replica {port}: {}",
            cli(port, &["INFO", "replication"])
        );
        assert!(
            wait_key(port, "default", "x", "after", "2"),
            "replica {port}"
        );
    }
    // The replication user cannot read data itself.
    assert_eq!(
        cli_as(master.port, "repl", "replpw", &["GET", "before"]),
        "NOPERM this user has no permissions to run the 'get' command"
    );
    // A wrong masterauth never syncs.
    let bad = Server::keyslot(
        &dir,
        &[
            "--save",
            "",
            "--appendonly",
            "no",
            "--masteruser",
            "repl",
            "--masterauth",
            "wrong",
        ],
    );
    assert_eq!(cli(bad.port, &["REPLICAOF", "127.0.0.1", &mp]), "OK");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(cli(bad.port, &["GET", "before"]), "");
    let info = cli(replica.port, &["INFO", "replication"]);
    assert!(info.contains("master_link_status:up"), "{info}");
    println!(
        "replica of a default-off master via masteruser: {}",
        info.lines()
            .filter(|l| l.starts_with("master_link_status"))
            .collect::<String>()
    );
}

/// Taking a channel away from a user closes its subscribers to that channel at once (they are
/// idle, waiting for messages), and only those; as redis-server does.
#[test]
fn revoking_a_channel_closes_its_subscribers() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    if !require_tools("acl-pubsub", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("acl-pubsub");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let r = Server::redis(&dir, &[]);
    let mut outcomes = Vec::new();
    for port in [k.port, r.port] {
        let mut admin = RawConn::connect(port);
        admin.call(&[
            "ACL",
            "SETUSER",
            "sub",
            "on",
            "nopass",
            "+@all",
            "resetchannels",
            "&news.*",
            "&sport",
        ]);
        let mut news = RawConn::connect(port);
        news.call(&["AUTH", "sub", "x"]);
        news.call(&["SUBSCRIBE", "news.1"]);
        let mut sport = RawConn::connect(port);
        sport.call(&["AUTH", "sub", "x"]);
        sport.call(&["PSUBSCRIBE", "sport"]);
        // Widening the rules closes nobody.
        admin.call(&["ACL", "SETUSER", "sub", "&extra"]);
        // Dropping news.* closes the news subscriber only.
        admin.call(&["ACL", "SETUSER", "sub", "resetchannels", "&sport", "&extra"]);
        let news_closed = wait_until(Duration::from_secs(3), || {
            use std::io::Read;
            let _ = news
                .stream
                .set_read_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 64];
            matches!(news.stream.read(&mut buf), Ok(0))
                || matches!(news.stream.read(&mut buf), Err(ref e) if e.kind() == std::io::ErrorKind::ConnectionReset)
        });
        let (_, raw) = admin.call(&["PUBLISH", "sport", "goal"]);
        let (msg, _) = sport.read_reply();
        outcomes.push(format!(
            "news closed: {news_closed}, PUBLISH sport -> {}, sport got {msg:?}",
            String::from_utf8_lossy(&raw).trim_end()
        ));
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "keyslot (left) and redis (right) differ"
    );
    assert!(
        outcomes[0].starts_with("news closed: true, PUBLISH sport -> :1"),
        "{}",
        outcomes[0]
    );
}

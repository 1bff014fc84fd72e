//! ACL users against redis-server 7.0.15: the same scripts on both (replies compared byte for
//! byte, errors included), the permission must-shows (a `~app:*` `+@read` user, a disabled
//! user), categories, ACL LOG, and AUTH/NOAUTH on fresh connections.

mod common;
mod compare_util;

use common::{require_tools, RawConn, Resp};

/// Ports of this binary (bus ports +10000), apart from other suites'.
const PORT_LOW: u16 = 23100;
const PORT_HIGH: u16 = 23590;

const USERS_SCRIPT: &str = r#"
ACL DELUSER app off1 sel rw
ACL SETUSER app on >apppw ~app:* +@read
ACL GETUSER app
ACL LIST
ACL USERS
ACL WHOAMI
ACL SETUSER app +nosuchcmd
ACL SETUSER app +@nosuchcat
ACL SETUSER app #abc
ACL SETUSER app !abc
ACL SETUSER app <notapassword
ACL SETUSER app bogus
ACL SETUSER 'a b' on
ACL SETUSER app (~x +get
ACL SETUSER app +client|kill|x
ACL SETUSER app +select|
ACL SETUSER off1 off >pw1 ~* &* +@all
ACL GETUSER off1
ACL GETUSER nosuch
ACL SETUSER allk allkeys ~foo
ACL SETUSER allk allchannels &foo
ACL DELUSER allk
ACL CAT
ACL CAT nosuch
ACL CAT read extra
ACL DRYRUN app get app:1
ACL DRYRUN app get other
ACL DRYRUN app set app:1 x
ACL DRYRUN app mget app:1 app:2 other
ACL DRYRUN nosuch get x
ACL DRYRUN app nosuchcmd
ACL DRYRUN app get
ACL DRYRUN app config get maxmemory
ACL DRYRUN app config nosuchsub
ACL SETUSER rw on nopass %R~r:* %W~w:* ~b:* resetchannels &news.* +@all -flushall
ACL GETUSER rw
ACL DRYRUN rw get r:1
ACL DRYRUN rw get w:1
ACL DRYRUN rw set w:1 v
ACL DRYRUN rw set r:1 v
ACL DRYRUN rw incr w:1
ACL DRYRUN rw sunionstore w:d r:a r:b
ACL DRYRUN rw sunionstore r:d r:a
ACL DRYRUN rw publish news.1 m
ACL DRYRUN rw publish other m
ACL DRYRUN rw subscribe news.1 other
ACL DRYRUN rw psubscribe news.*
ACL DRYRUN rw psubscribe news.a*
ACL DRYRUN rw flushall
ACL SETUSER sel on nopass ~a:* +get (~b:* +set)
ACL GETUSER sel
ACL DRYRUN sel set b:1 v
ACL DRYRUN sel set a:1 v
ACL SETUSER sel clearselectors
ACL GETUSER sel
ACL SETUSER sel reset
ACL GETUSER sel
ACL SETUSER sel +@all -@dangerous -@admin
ACL SETUSER sel -@all +@read +@write -@keyspace
# Single commands come out in Redis's hash-table order (random per process): one at a time.
ACL SETUSER sel nocommands +select|0
ACL GETUSER sel
ACL SETUSER sel nocommands +client|id
ACL LIST
ACL SETUSER sel +@all -get
ACL GETUSER sel
ACL DELUSER default
ACL GENPASS 0
ACL GENPASS 4097
ACL GENPASS abc
ACL LOG 1 2
ACL LOAD
ACL SAVE
ACL NOSUCH
ACL GETUSER
ACL HELP
AUTH wrongpass
AUTH app wrongpass
AUTH off1 pw1
AUTH nosuch x
AUTH a b c
AUTH app apppw
ACL WHOAMI
GET app:1
GET other
SET app:1 x
MGET app:1 other
PUBLISH ch x
MULTI
GET app:1
GET other
EXEC
HELLO 3 AUTH app wrongpass
AUTH default anything
ACL WHOAMI
CONFIG SET requirepass secret
ACL GETUSER default
AUTH wrong
AUTH secret
AUTH default secret
CONFIG SET requirepass ''
ACL GETUSER default
ACL DELUSER app off1 sel rw nosuch
ACL USERS
"#;

#[test]
fn users_rules_and_errors_match_redis() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    compare_util::run("acl-users", USERS_SCRIPT);
}

/// The must-show: a user limited to `~app:*` and `+@read` reads app:* keys, cannot read other
/// keys and cannot write at all; a disabled user cannot log in. On both servers, over fresh
/// connections, with the replies compared.
const MUST_SHOW_SETUP: &[&[&str]] = &[
    &["ACL", "SETUSER", "reader", "on", ">rpw", "~app:*", "+@read"],
    &["ACL", "SETUSER", "disabled", "off", ">dpw", "~*", "+@all"],
    &["SET", "app:1", "hello"],
    &["SET", "secret", "s3"],
];

const MUST_SHOW: &[(&[&str], &str)] = &[
    (
        &["AUTH", "disabled", "dpw"],
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    ),
    (&["AUTH", "reader", "rpw"], "+OK\r\n"),
    (
        &["ACL", "WHOAMI"],
        "-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n",
    ),
    (&["GET", "app:1"], "$5\r\nhello\r\n"),
    (&["STRLEN", "app:1"], ":5\r\n"),
    (
        &["GET", "secret"],
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
    ),
    (
        &["SET", "app:1", "x"],
        "-NOPERM this user has no permissions to run the 'set' command\r\n",
    ),
    (
        &["SET", "secret", "x"],
        "-NOPERM this user has no permissions to run the 'set' command\r\n",
    ),
    (
        &["DEL", "app:1"],
        "-NOPERM this user has no permissions to run the 'del' command\r\n",
    ),
    (
        &["EVAL", "return redis.call('get', KEYS[1])", "1", "app:1"],
        "-NOPERM this user has no permissions to run the 'eval' command\r\n",
    ),
    (&["GET", "app:1"], "$5\r\nhello\r\n"),
];

#[test]
fn read_only_user_and_disabled_user() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let Some(p) = compare_util::start("acl-must") else {
        return;
    };
    for server in [&p.keyslot, &p.redis] {
        let mut admin = RawConn::connect(server.port);
        for cmd in MUST_SHOW_SETUP {
            let (_, raw) = admin.call(cmd);
            assert!(
                !raw.starts_with(b"-"),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&raw)
            );
        }
        let mut c = RawConn::connect(server.port);
        for (cmd, want) in MUST_SHOW {
            let (_, raw) = c.call(cmd);
            assert_eq!(
                String::from_utf8_lossy(&raw),
                *want,
                "{cmd:?} on port {} (redis is {})",
                server.port,
                p.redis.port
            );
        }
        // The data is untouched.
        assert_eq!(admin.call(&["GET", "app:1"]).1, b"$5\r\nhello\r\n");
        assert_eq!(admin.call(&["GET", "secret"]).1, b"$2\r\ns3\r\n");
    }
}

/// Scripts run as their caller: redis.call is checked, and redis.acl_check_cmd answers.
#[test]
fn scripts_check_the_callers_rules() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    compare_util::run(
        "acl-scripts",
        r#"
ACL DELUSER scripter
ACL SETUSER scripter on nopass ~s:* +@scripting +get
SET s:1 v
SET other v
AUTH scripter x
EVAL 'return redis.call("get", KEYS[1])' 1 s:1
EVAL 'return redis.call("get", "other")' 0
EVAL 'return redis.call("set", "s:1", "x")' 0
EVAL 'return redis.pcall("set", "s:1", "x")' 0
EVAL 'return redis.acl_check_cmd("get", "s:2")' 0
EVAL 'return redis.acl_check_cmd("get", "other")' 0
EVAL 'return redis.acl_check_cmd("set", "s:2", "v")' 0
EVAL 'return redis.acl_check_cmd("nosuch")' 0
AUTH default x
ACL DELUSER scripter
"#,
    );
}

fn bulk_text(r: &Resp) -> String {
    String::from_utf8_lossy(r.as_bytes().unwrap_or_default()).into_owned()
}

/// Fresh connections: -NOAUTH before AUTH, AUTH with and without a user name, HELLO AUTH with
/// SETNAME, and CLIENT LIST's user= field.
#[test]
fn noauth_and_hello_auth_on_fresh_connections() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let Some(p) = compare_util::start("acl-noauth") else {
        return;
    };
    let mut outs = Vec::new();
    for server in [&p.keyslot, &p.redis] {
        let mut admin = RawConn::connect(server.port);
        admin.call(&["ACL", "SETUSER", "app", "on", ">apppw", "~*", "+@all"]);
        admin.call(&["CONFIG", "SET", "requirepass", "secret"]);
        let mut c = RawConn::connect(server.port);
        let mut out = Vec::new();
        for cmd in [
            &["GET", "x"][..],
            &["ACL", "WHOAMI"],
            &["AUTH", "secret"],
            &["ACL", "WHOAMI"],
            &["AUTH", "app", "apppw"],
            &["ACL", "WHOAMI"],
            &["RESET"],
            &["GET", "x"],
            &["HELLO", "2", "AUTH", "app", "nope"],
            &["GET", "x"],
        ] {
            out.push(String::from_utf8_lossy(&c.call(cmd).1).into_owned());
        }
        // HELLO AUTH + SETNAME: the reply carries the client id, so only its shape is compared.
        let (hello, _) = c.call(&["HELLO", "3", "AUTH", "app", "apppw", "SETNAME", "conn1"]);
        out.push(format!("hello is map: {}", matches!(hello, Resp::Map(_))));
        out.push(String::from_utf8_lossy(&c.call(&["ACL", "WHOAMI"]).1).into_owned());
        out.push(String::from_utf8_lossy(&c.call(&["CLIENT", "GETNAME"]).1).into_owned());
        let (info, _) = c.call(&["CLIENT", "INFO"]);
        let info = bulk_text(&info);
        out.push(
            info.split(' ')
                .filter(|f| f.starts_with("user=") || f.starts_with("name="))
                .collect::<Vec<_>>()
                .join(" "),
        );
        admin.call(&["CONFIG", "SET", "requirepass", ""]);
        outs.push(out);
    }
    assert_eq!(outs[0], outs[1], "keyslot (left) and redis (right) differ");
    assert_eq!(outs[0][0], "-NOAUTH Authentication required.\r\n");
    assert_eq!(outs[0][5], "$3\r\napp\r\n");
}

/// ACL LOG entries for denied commands, keys, channels and failed logins (the fields that do
/// not depend on the connection: count, reason, context, object, username).
#[test]
fn acl_log_entries_match_redis() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    let Some(p) = compare_util::start("acl-log") else {
        return;
    };
    let mut logs = Vec::new();
    for server in [&p.keyslot, &p.redis] {
        let mut admin = RawConn::connect(server.port);
        admin.call(&["ACL", "LOG", "RESET"]);
        admin.call(&[
            "ACL",
            "SETUSER",
            "lim",
            "on",
            "nopass",
            "~k:*",
            "resetchannels",
            "&c:*",
            "+get",
            "+publish",
            "+multi",
            "+exec",
            "+discard",
            "+eval",
        ]);
        let mut c = RawConn::connect(server.port);
        c.call(&["AUTH", "lim", "x"]);
        c.call(&["SET", "k:1", "v"]);
        c.call(&["GET", "z"]);
        c.call(&["GET", "z"]);
        c.call(&["PUBLISH", "other", "m"]);
        c.call(&["MULTI"]);
        c.call(&["GET", "y"]);
        c.call(&["DISCARD"]);
        c.call(&["EVAL", "return redis.pcall('get', 'w')", "0"]);
        c.call(&["AUTH", "nosuchuser", "pw"]);
        let (log, _) = admin.call(&["ACL", "LOG"]);
        let Resp::Array(Some(entries)) = log else {
            panic!("ACL LOG on {}: {log:?}", server.port);
        };
        let mut summary = Vec::new();
        for e in entries {
            let fields: Vec<Resp> = match e {
                Resp::Array(Some(f)) => f,
                Resp::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
                other => panic!("entry {other:?}"),
            };
            let mut line = Vec::new();
            for pair in fields.chunks(2) {
                let key = bulk_text(&pair[0]);
                if matches!(
                    key.as_str(),
                    "count" | "reason" | "context" | "object" | "username"
                ) {
                    let v = match &pair[1] {
                        Resp::Int(n) => n.to_string(),
                        other => bulk_text(other),
                    };
                    line.push(format!("{key}={v}"));
                }
            }
            summary.push(line.join(" "));
        }
        let (reset, _) = admin.call(&["ACL", "LOG", "RESET"]);
        assert_eq!(bulk_text(&reset), "OK");
        let (after, _) = admin.call(&["ACL", "LOG"]);
        assert!(matches!(after, Resp::Array(Some(ref v)) if v.is_empty()));
        logs.push(summary);
    }
    assert_eq!(logs[0], logs[1], "keyslot (left) and redis (right) differ");
    assert!(logs[0].len() >= 6, "{:?}", logs[0]);
    println!("ACL LOG entries identical: {:#?}", logs[0]);
}

/// Each category holds the same commands as in Redis (over the commands both servers have).
#[test]
fn categories_match_redis() {
    common::use_port_range(PORT_LOW, PORT_HIGH);
    if !require_tools("acl-cat", &["redis-server"]) {
        return;
    }
    let Some(p) = compare_util::start("acl-cat") else {
        return;
    };
    let names = |port: u16, args: &[&str]| -> Vec<String> {
        let mut c = RawConn::connect(port);
        match c.call(args).0 {
            Resp::Array(Some(v)) => v.iter().map(bulk_text).collect(),
            other => panic!("{args:?}: {other:?}"),
        }
    };
    let cats = names(p.redis.port, &["ACL", "CAT"]);
    assert_eq!(cats, names(p.keyslot.port, &["ACL", "CAT"]));
    // Every command and subcommand is in @fast or @slow: the union of the categories is the
    // whole table of each server; compare over the names both have.
    let table = |port: u16| -> std::collections::BTreeSet<String> {
        cats.iter()
            .flat_map(|c| names(port, &["ACL", "CAT", c]))
            .collect()
    };
    let (all_k, all_r) = (table(p.keyslot.port), table(p.redis.port));
    let both: std::collections::BTreeSet<&String> = all_k.intersection(&all_r).collect();
    println!(
        "keyslot {} commands, redis {}, both {}",
        all_k.len(),
        all_r.len(),
        both.len()
    );
    let mut total = 0;
    for cat in &cats {
        let filter = |v: Vec<String>| -> std::collections::BTreeSet<String> {
            v.into_iter().filter(|n| both.contains(n)).collect()
        };
        let k = filter(names(p.keyslot.port, &["ACL", "CAT", cat]));
        let r = filter(names(p.redis.port, &["ACL", "CAT", cat]));
        assert_eq!(k, r, "category {cat}");
        total += k.len();
    }
    println!(
        "{} categories, {total} (command, category) pairs identical",
        cats.len()
    );
}

//! Connection and server commands: PING ECHO QUIT SELECT HELLO AUTH ROLE TIME DEBUG (LASTSAVE
//! and the other persistence commands are in `persist.rs`).
//!
//! INFO, CONFIG, CLIENT and COMMAND live in their own files beside this one.

use super::KeySpec;
use super::{arg_i64, eq_ignore_case, flags, parse_i64, CmdError, CmdResult, CommandSpec, Ctx};
use crate::resp::{Protocol, Reply};
use bytes::Bytes;

/// The version every tool compares against (redis-cli, redis-benchmark, client libraries).
pub const REDIS_VERSION: &str = "7.0.15";

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "ping",
        -1,
        // Not STALE: a replica with replica-serve-stale-data no refuses PING, as Redis's does.
        flags::FAST,
        "connection",
        "Ping the server",
        ping,
    ),
    spec(
        "echo",
        2,
        flags::FAST | flags::STALE,
        "connection",
        "Echo the given string",
        echo,
    ),
    spec(
        "quit",
        -1,
        flags::NO_AUTH | flags::FAST | flags::STALE,
        "connection",
        "Close the connection",
        quit,
    ),
    spec(
        "select",
        2,
        flags::FAST | flags::STALE,
        "connection",
        "Change the selected database for the current connection",
        select,
    ),
    spec(
        "hello",
        -1,
        flags::NO_AUTH | flags::FAST | flags::STALE,
        "connection",
        "Handshake with Redis",
        hello,
    ),
    spec(
        "auth",
        -2,
        flags::NO_AUTH | flags::FAST | flags::STALE,
        "connection",
        "Authenticate to the server",
        auth,
    ),
    spec(
        "time",
        1,
        flags::FAST | flags::STALE,
        "server",
        "Return the current server time",
        time,
    ),
    spec(
        "debug",
        -2,
        flags::ADMIN | flags::STALE,
        "server",
        "A container for debugging commands",
        debug,
    ),
];

/// A keyless command of this family.
const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    group: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys: KeySpec::NONE,
        group,
        summary,
        handler,
    }
}

/// `PING` answers `+PONG`, `PING msg` the message as a bulk string (same in RESP2 and RESP3).
fn ping(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match argv {
        [_] => Ok(Reply::simple("PONG")),
        [_, msg] => Ok(Reply::Bulk(msg.clone())),
        _ => Err(CmdError::WrongArity("ping".into())),
    }
}

fn echo(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(argv[1].clone()))
}

/// The connection writes the `+OK` and then closes.
fn quit(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    Ok(Reply::ok())
}

/// keyslot has database 0 only, as Redis Cluster; other indexes are out of range.
fn select(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let db = arg_i64(&argv[1])?;
    if ctx.node.config.cluster_enabled && db != 0 {
        return Err(CmdError::other("ERR SELECT is not allowed in cluster mode"));
    }
    if db != 0 {
        return Err(CmdError::other("ERR DB index is out of range"));
    }
    Ok(Reply::ok())
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Logs the client in as `user` if the pair is valid (Redis's ACLAuthenticateUser); a failure
/// is logged in ACL LOG under the command's name as typed (`cmd`).
fn authenticate(ctx: &mut Ctx<'_>, cmd: &Bytes, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    if ctx.node.acl.credentials_ok(user, pass) {
        ctx.client.authenticated = true;
        ctx.client.user = Bytes::copy_from_slice(user);
        Ok(())
    } else {
        crate::acl::node_hooks::log_auth_failure(ctx.node, ctx.client, cmd, user);
        Err(CmdError::other(WRONGPASS))
    }
}

/// `AUTH pass` (the default user) or `AUTH user pass`.
fn auth(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (user, pass): (&[u8], &[u8]) = match argv {
        [_, pass] => {
            if ctx.node.acl.default_user().nopass {
                return Err(CmdError::other(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            (crate::acl::DEFAULT_USER, pass)
        }
        [_, user, pass] => (user, pass),
        _ => return Err(CmdError::Syntax),
    };
    authenticate(ctx, &argv[0], user, pass)?;
    Ok(Reply::ok())
}

/// Client names are printable ASCII without spaces (`!` to `~`), as Redis requires.
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// The error for a name [`valid_client_name`] refuses.
pub fn bad_client_name() -> CmdError {
    CmdError::other("ERR Client names cannot contain spaces, newlines or special characters.")
}

/// Sets (or, when empty, clears) the client's name.
pub fn set_client_name(ctx: &mut Ctx<'_>, name: &Bytes) -> Result<(), CmdError> {
    if !valid_client_name(name) {
        return Err(bad_client_name());
    }
    ctx.client.name = if name.is_empty() {
        None
    } else {
        Some(name.clone())
    };
    Ok(())
}

/// `HELLO [protover [AUTH user pass] [SETNAME name]]`: options apply in order, as Redis does;
/// the protocol switches only once everything succeeded.
fn hello(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut proto = ctx.client.proto;
    if let Some(ver) = argv.get(1) {
        let v = parse_i64(ver).ok_or_else(|| {
            CmdError::other("ERR Protocol version is not an integer or out of range")
        })?;
        proto = match v {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CmdError::other("NOPROTO unsupported protocol version")),
        };
    }
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if eq_ignore_case(&argv[j], "auth") && more >= 2 {
            authenticate(ctx, &argv[0], &argv[j + 1], &argv[j + 2])?;
            j += 3;
        } else if eq_ignore_case(&argv[j], "setname") && more >= 1 {
            set_client_name(ctx, &argv[j + 1])?;
            j += 2;
        } else {
            return Err(CmdError::other(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&argv[j])
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::other(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    ctx.client.proto = proto;
    let proto_num = if proto == Protocol::Resp3 { 3 } else { 2 };
    let mode = if ctx.node.config.cluster_enabled {
        "cluster"
    } else {
        "standalone"
    };
    Ok(Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (Reply::bulk("proto"), Reply::Integer(proto_num)),
        (Reply::bulk("id"), Reply::Integer(ctx.client.id as i64)),
        (Reply::bulk("mode"), Reply::bulk(mode)),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

/// `[unix seconds, microseconds]`, both as bulk strings. The node clock has millisecond
/// resolution, so the microseconds are whole milliseconds.
fn time(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let ms = ctx.node.clock.unix_ms();
    Ok(Reply::Array(vec![
        Reply::bulk((ms / 1000).to_string()),
        Reply::bulk(((ms % 1000) * 1000).to_string()),
    ]))
}

const DEBUG_HELP: &[&str] = &[
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not accessed.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
];

/// True when `enable-debug-command` lets this client run DEBUG: `yes`, or `local` from a
/// loopback address.
fn debug_allowed(ctx: &Ctx<'_>) -> bool {
    match ctx.node.config.get("enable-debug-command") {
        Some("yes") => true,
        Some("local") => is_local_addr(&ctx.client.addr),
        _ => false,
    }
}

/// Loopback peers (`127.x.x.x:port`, `[::1]:port`, `::1:port`) and Unix sockets (no port).
fn is_local_addr(addr: &str) -> bool {
    addr.starts_with("127.")
        || addr.starts_with("[::1]")
        || addr.starts_with("::1:")
        || !addr.contains(':')
}

fn debug(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if !debug_allowed(ctx) {
        return Err(CmdError::other(
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        ));
    }
    let sub = &argv[1];
    let argc = argv.len();
    if eq_ignore_case(sub, "help") && argc == 2 {
        Ok(super::subcmd::help_reply("debug", DEBUG_HELP))
    } else if eq_ignore_case(sub, "digest") && argc == 2 {
        Ok(Reply::Simple(
            super::digest::hex(&super::digest::dataset(ctx.db, ctx.now_ms)).into(),
        ))
    } else if eq_ignore_case(sub, "digest-value") && argc >= 2 {
        let replies = argv[2..]
            .iter()
            .map(|key| {
                let d = super::digest::key_value(ctx.db, key, ctx.now_ms);
                Reply::Simple(super::digest::hex(&d).into())
            })
            .collect();
        Ok(Reply::Array(replies))
    } else if eq_ignore_case(sub, "set-active-expire") && argc == 3 {
        // Redis reads the flag with atoi: any non-zero number enables.
        ctx.node.active_expire_enabled = parse_i64(&argv[2]).unwrap_or(0) != 0;
        Ok(Reply::ok())
    } else if eq_ignore_case(sub, "protocol") && argc == 3 {
        super::debug_test::protocol(ctx.proto(), &argv[2])
    } else if eq_ignore_case(sub, "quicklist-packed-threshold") && argc == 3 {
        super::debug_test::quicklist_packed_threshold(&argv[2])
    } else if eq_ignore_case(sub, "set-disable-deny-scripts") && argc == 3 {
        ctx.node.scripting.deny_disabled = parse_i64(&argv[2]).unwrap_or(0) != 0;
        Ok(Reply::ok())
    } else if eq_ignore_case(sub, "sleep") && argc == 3 {
        debug_sleep(&argv[2]);
        Ok(Reply::ok())
    } else if eq_ignore_case(sub, "error") && argc == 3 {
        Ok(Reply::Error(
            String::from_utf8_lossy(&argv[2]).into_owned().into(),
        ))
    } else if eq_ignore_case(sub, "object") && argc == 3 {
        super::object::debug_object(ctx, &argv[2])
    } else if eq_ignore_case(sub, "reload") {
        let o =
            crate::persist::reload::ReloadOptions::parse(&argv[2..]).map_err(CmdError::other)?;
        crate::persist::reload::debug_reload(ctx.db, ctx.node, o).map_err(CmdError::other)?;
        Ok(Reply::ok())
    } else if eq_ignore_case(sub, "loadaof") && argc == 2 {
        crate::persist::reload::debug_loadaof(ctx.db, ctx.node).map_err(CmdError::other)?;
        Ok(Reply::ok())
    } else if eq_ignore_case(sub, "populate") && (3..=5).contains(&argc) {
        debug_populate(ctx, argv)
    } else if eq_ignore_case(sub, "clusterlink") {
        super::debug_cluster::clusterlink(ctx, argv)
    } else if eq_ignore_case(sub, "drop-cluster-packet-filter") && argc == 3 {
        super::debug_cluster::drop_packet_filter(ctx, argv)
    } else if eq_ignore_case(sub, "log") && argc == 3 {
        let msg = format!("DEBUG LOG: {}", String::from_utf8_lossy(&argv[2]));
        ctx.node
            .logger
            .log(crate::log::Level::Warning, ctx.node.clock.unix_ms(), &msg);
        Ok(Reply::ok())
    } else {
        Err(CmdError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(sub)
        )))
    }
}

/// `DEBUG SLEEP seconds`: the node stops for that long (Redis sleeps on its only thread; the
/// suite uses it to let keys expire in the middle of a script). The argument is read as
/// strtod reads it: what does not parse is 0. In the simulator it returns at once (a blocking
/// sleep would stall madsim's single thread without moving its clock).
fn debug_sleep(arg: &[u8]) {
    let text = String::from_utf8_lossy(arg);
    let secs = text.trim().parse::<f64>().unwrap_or(0.0);
    let micros = (secs * 1_000_000.0) as i64;
    #[cfg(not(madsim))]
    if micros > 0 {
        std::thread::sleep(std::time::Duration::from_micros(micros as u64));
    }
    #[cfg(madsim)]
    let _ = micros;
}

/// `DEBUG POPULATE count [prefix] [size]`: the bulk loader Redis's own test suites and
/// benchmarks use. Keys are `prefix:N` (default prefix `key`), values `value:N`, cut or padded
/// with zero bytes to `size` when given; keys that already exist are left alone. Like Redis, the
/// keys are not propagated to replicas and slot ownership is not checked.
fn debug_populate(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let count = positive_arg(&argv[2])?;
    let size = match argv.get(4) {
        Some(a) => positive_arg(a)?,
        None => 0,
    };
    let prefix: &[u8] = argv.get(3).map(|b| &b[..]).unwrap_or(b"key");
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut value = Vec::new();
    let mut digits = itoa::Buffer::new();
    for n in 0..count as u64 {
        let num = digits.format(n).as_bytes();
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(num);
        if ctx.db.contains(&key, ctx.now_ms) {
            continue;
        }
        value.clear();
        value.extend_from_slice(b"value:");
        value.extend_from_slice(num);
        if size > 0 {
            value.resize(size as usize, 0);
        }
        let k = Bytes::copy_from_slice(&key);
        ctx.db.insert(
            k,
            crate::db::Value::Str(Bytes::copy_from_slice(&value)),
            None,
        );
    }
    Ok(Reply::ok())
}

/// A non-negative integer argument with Redis's two error texts.
fn positive_arg(arg: &[u8]) -> Result<i64, CmdError> {
    match parse_i64(arg) {
        Some(v) if v >= 0 => Ok(v),
        Some(_) => Err(CmdError::other(
            "ERR value is out of range, must be positive",
        )),
        None => Err(CmdError::other(
            "ERR value is not an integer or out of range",
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::node::testing::TestNode;
    use crate::resp::Protocol;

    const HELLO3_TAIL: &str =
        "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";

    #[test]
    fn ping_and_echo_match_redis() {
        let mut t = TestNode::new();
        assert_eq!(t.run_text(&["PING"]), "+PONG\r\n");
        assert_eq!(t.run_text(&["PING", "a"]), "$1\r\na\r\n");
        assert_eq!(
            t.run_text(&["PING", "x", "y"]),
            "-ERR wrong number of arguments for 'ping' command\r\n"
        );
        assert_eq!(t.run_text(&["ECHO", "hi"]), "$2\r\nhi\r\n");
        assert_eq!(
            t.run_text(&["ECHO"]),
            "-ERR wrong number of arguments for 'echo' command\r\n"
        );
        t.client.proto = Protocol::Resp3;
        assert_eq!(t.run_text(&["PING"]), "+PONG\r\n");
    }

    #[test]
    fn hello_matches_redis() {
        let mut t = TestNode::new();
        let id = t.client.id;
        assert_eq!(
            t.run_text(&["HELLO", "4"]),
            "-NOPROTO unsupported protocol version\r\n"
        );
        assert_eq!(
            t.run_text(&["HELLO", "x"]),
            "-ERR Protocol version is not an integer or out of range\r\n"
        );
        assert_eq!(
            t.run_text(&["HELLO", "2", "foo"]),
            "-ERR Syntax error in HELLO option 'foo'\r\n"
        );
        assert_eq!(
            t.run_text(&["HELLO", "2", "AUTH", "a"]),
            "-ERR Syntax error in HELLO option 'AUTH'\r\n"
        );
        assert_eq!(
            t.run_text(&["HELLO", "2", "SETNAME", "a b"]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
        let reply = t.run_text(&["HELLO", "3"]);
        assert_eq!(
            reply,
            format!("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n{HELLO3_TAIL}")
        );
        assert_eq!(t.client.proto, Protocol::Resp3);
        let reply = t.run_text(&["HELLO", "2", "SETNAME", "cc"]);
        assert!(reply.starts_with("*14\r\n"), "{reply}");
        assert_eq!(t.run_text(&["CLIENT", "GETNAME"]), "$2\r\ncc\r\n");
        // HELLO without a version keeps the current protocol.
        assert!(t.run_text(&["HELLO"]).contains("$5\r\nproto\r\n:2\r\n"));
    }

    #[test]
    fn auth_without_password_matches_redis() {
        let mut t = TestNode::new();
        assert_eq!(
            t.run_text(&["AUTH", "x"]),
            "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
        );
        assert_eq!(
            t.run_text(&["AUTH", "a", "b"]),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        assert_eq!(t.run_text(&["AUTH", "default", "x"]), "+OK\r\n");
        assert_eq!(
            t.run_text(&["AUTH", "a", "b", "c"]),
            "-ERR syntax error\r\n"
        );
    }

    #[test]
    fn auth_with_requirepass_matches_redis() {
        let mut c = Config::default();
        c.set("requirepass", "pw").unwrap();
        let mut t = TestNode::with_config(c);
        assert_eq!(
            t.run_text(&["PING"]),
            "-NOAUTH Authentication required.\r\n"
        );
        let wrong = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
        assert_eq!(t.run_text(&["AUTH", "x"]), wrong);
        assert_eq!(t.run_text(&["AUTH", "default", "x"]), wrong);
        assert_eq!(t.run_text(&["AUTH", "foo", "pw"]), wrong);
        assert_eq!(t.run_text(&["HELLO", "3", "AUTH", "default", "x"]), wrong);
        assert_eq!(
            t.run_text(&["HELLO", "3"]),
            "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
        );
        assert_eq!(t.run_text(&["AUTH", "pw"]), "+OK\r\n");
        assert_eq!(t.run_text(&["PING"]), "+PONG\r\n");

        let mut c = Config::default();
        c.set("requirepass", "pw").unwrap();
        let mut t = TestNode::with_config(c);
        let reply = t.run_text(&["HELLO", "3", "AUTH", "default", "pw"]);
        assert!(reply.starts_with("%7\r\n"), "{reply}");
        assert!(t.client.authenticated);
    }

    #[test]
    fn select_quit_role_time_lastsave() {
        let mut t = TestNode::new();
        assert_eq!(t.run_text(&["SELECT", "0"]), "+OK\r\n");
        assert_eq!(
            t.run_text(&["SELECT", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            t.run_text(&["SELECT", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(t.run_text(&["ROLE"]), "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
        let time = t.run_text(&["TIME"]);
        assert!(time.starts_with("*2\r\n$10\r\n"), "{time}");
        assert!(t.run_text(&["LASTSAVE"]).starts_with(':'));
        assert_eq!(t.run_text(&["QUIT"]), "+OK\r\n");
        assert!(t.client.close_after_reply);
    }

    fn debug_node() -> TestNode {
        let mut c = Config::default();
        c.set_startup("enable-debug-command", &["yes".to_string()])
            .unwrap();
        TestNode::with_config(c)
    }

    #[test]
    fn debug_is_gated_like_redis() {
        let mut t = TestNode::new();
        assert_eq!(
            t.run_text(&["DEBUG", "DIGEST"]),
            "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n"
        );
        let mut c = Config::default();
        c.set_startup("enable-debug-command", &["local".to_string()])
            .unwrap();
        let mut t = TestNode::with_config(c);
        assert_eq!(t.run_text(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), "+OK\r\n");
        t.client.addr = "10.0.0.1:5000".into();
        assert!(t
            .run_text(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"])
            .starts_with("-ERR DEBUG command not allowed"));
    }

    #[test]
    fn debug_populate_matches_redis() {
        let mut t = debug_node();
        assert_eq!(t.run_text(&["SET", "key:1", "mine"]), "+OK\r\n");
        assert_eq!(t.run_text(&["DEBUG", "POPULATE", "3"]), "+OK\r\n");
        assert_eq!(t.run_text(&["DBSIZE"]), ":3\r\n");
        assert_eq!(t.run_text(&["GET", "key:0"]), "$7\r\nvalue:0\r\n");
        // Existing keys are kept.
        assert_eq!(t.run_text(&["GET", "key:1"]), "$4\r\nmine\r\n");
        assert_eq!(
            t.run_text(&["DEBUG", "POPULATE", "2", "p", "10"]),
            "+OK\r\n"
        );
        assert_eq!(t.run_text(&["GET", "p:1"]), "$10\r\nvalue:1\0\0\0\r\n");
        assert_eq!(t.run_text(&["DEBUG", "POPULATE", "1", "q", "3"]), "+OK\r\n");
        assert_eq!(t.run_text(&["GET", "q:0"]), "$3\r\nval\r\n");
        assert_eq!(
            t.run_text(&["DEBUG", "POPULATE", "-1"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            t.run_text(&["DEBUG", "POPULATE", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
    }

    #[test]
    fn debug_subcommands_match_redis() {
        let mut t = debug_node();
        let zeros = "0".repeat(40);
        assert_eq!(t.run_text(&["DEBUG", "DIGEST"]), format!("+{zeros}\r\n"));
        assert_eq!(
            t.run_text(&["DEBUG", "DIGEST-VALUE", "a", "b"]),
            format!("*2\r\n+{zeros}\r\n+{zeros}\r\n")
        );
        assert_eq!(t.run_text(&["DEBUG", "DIGEST-VALUE"]), "*0\r\n");
        t.node.db.insert(
            bytes::Bytes::from("a"),
            crate::db::Value::Str(bytes::Bytes::from("1")),
            None,
        );
        let d = t.run_text(&["DEBUG", "DIGEST"]);
        assert_eq!(d.len(), 43);
        assert_ne!(d, format!("+{zeros}\r\n"));
        let v = t.run_text(&["DEBUG", "DIGEST-VALUE", "a", "b"]);
        assert!(
            v.ends_with(&format!("+{zeros}\r\n")) && !v.starts_with(&format!("*2\r\n+{zeros}"))
        );
        assert_eq!(t.run_text(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
        assert!(!t.node.rest.active_expire_enabled);
        assert_eq!(t.run_text(&["DEBUG", "SET-ACTIVE-EXPIRE", "2"]), "+OK\r\n");
        assert!(t.node.rest.active_expire_enabled);
        assert_eq!(
            t.run_text(&["DEBUG", "SET-ACTIVE-EXPIRE"]),
            "-ERR unknown subcommand or wrong number of arguments for 'SET-ACTIVE-EXPIRE'. Try DEBUG HELP.\r\n"
        );
        assert_eq!(
            t.run_text(&["DEBUG", "foo"]),
            "-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.\r\n"
        );
        assert_eq!(
            t.run_text(&["DEBUG"]),
            "-ERR wrong number of arguments for 'debug' command\r\n"
        );
        assert_eq!(
            t.run_text(&["DEBUG", "ERROR", "MYERR foo"]),
            "-MYERR foo\r\n"
        );
        let help = t.run_text(&["DEBUG", "HELP"]);
        assert!(
            help.contains("+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n")
        );
    }
}

//! CLIENT: ID, SETNAME, GETNAME, LIST, INFO, KILL, PAUSE, UNPAUSE, NO-EVICT, NO-TOUCH, HELP.
//!
//! Other connections are seen through the registry (`NodeRest::clients`, refreshed by each
//! connection task); the caller's own live state is `ctx.client`. CLIENT KILL cannot reach into
//! another task, so it records the id in `NodeRest::killed_clients` and the owning task closes
//! the connection after its current batch; listings already leave killed clients out.

use super::subcmd::{self, SubSpec};
use super::{eq_ignore_case, flags, parse_i64, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::node::Client;
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use std::fmt::Write;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "client",
    arity: -2,
    flags: 0,
    keys: KeySpec::NONE,
    group: "connection",
    summary: "A container for client connection commands",
    handler: client,
}];

const CONN: u32 = flags::STALE;

pub const SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "client|id",
        arity: 2,
        flags: CONN,
        summary: "Returns the client ID for the current connection",
        handler: id,
    },
    SubSpec {
        name: "client|setname",
        arity: 3,
        flags: CONN,
        summary: "Set the current connection name",
        handler: setname,
    },
    SubSpec {
        name: "client|getname",
        arity: 2,
        flags: CONN,
        summary: "Get the current connection name",
        handler: getname,
    },
    SubSpec {
        name: "client|list",
        arity: -2,
        flags: flags::ADMIN | CONN,
        summary: "Get the list of client connections",
        handler: list,
    },
    SubSpec {
        name: "client|info",
        arity: 2,
        flags: CONN,
        summary: "Returns information about the current client connection.",
        handler: info,
    },
    SubSpec {
        name: "client|kill",
        arity: -3,
        flags: flags::ADMIN | CONN,
        summary: "Kill the connection of a client",
        handler: kill,
    },
    SubSpec {
        name: "client|pause",
        arity: -3,
        flags: flags::ADMIN | CONN,
        summary: "Stop processing commands from clients for some time",
        handler: pause,
    },
    SubSpec {
        name: "client|unpause",
        arity: 2,
        flags: flags::ADMIN | CONN,
        summary: "Resume processing of clients that were paused",
        handler: unpause,
    },
    SubSpec {
        name: "client|no-evict",
        arity: 3,
        flags: flags::ADMIN | CONN,
        summary: "Set client eviction mode for the current connection",
        handler: on_off,
    },
    SubSpec {
        name: "client|no-touch",
        arity: 3,
        flags: CONN,
        summary: "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.",
        handler: on_off,
    },
    SubSpec {
        name: "client|reply",
        arity: 3,
        flags: CONN,
        summary: "Instruct the server whether to reply to commands",
        handler: reply,
    },
    SubSpec {
        name: "client|unblock",
        arity: -3,
        flags: flags::ADMIN | CONN,
        summary: "Unblock a client blocked in a blocking command from a different connection",
        handler: unblock,
    },
    SubSpec {
        name: "client|help",
        arity: 2,
        flags: CONN,
        summary: "Show helpful text about the different subcommands",
        handler: help,
    },
];

fn client(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subcmd::dispatch(ctx, argv, SUBCOMMANDS)
}

/// `CLIENT REPLY ON|OFF|SKIP`: ON answers OK; OFF and SKIP answer nothing (SKIP while OFF
/// changes nothing). The mode is applied to each reply by `Node::filter_reply`.
fn reply(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    use crate::node::ReplyMode;
    let mode = &mut ctx.client.reply_mode;
    if eq_ignore_case(&argv[2], "on") {
        *mode = ReplyMode::On;
        Ok(Reply::ok())
    } else if eq_ignore_case(&argv[2], "off") {
        *mode = ReplyMode::Off;
        Ok(Reply::NoReply)
    } else if eq_ignore_case(&argv[2], "skip") {
        if *mode != ReplyMode::Off {
            *mode = ReplyMode::SkipNext;
        }
        Ok(Reply::NoReply)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: ends the wait of a client blocked on keys (BLPOP,
/// BZMPOP, XREAD ... BLOCK) as if its timeout had passed, or with an -UNBLOCKED error; answers
/// 1 if that client was blocked, else 0. The reply reaches the client through its push
/// channel, as a served blocked client's does.
fn unblock(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 4 {
        return Err(CmdError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            super::error::quote_arg(&argv[1], 128)
        )));
    }
    let error = match argv.get(3) {
        None => false,
        Some(a) if eq_ignore_case(a, "timeout") => false,
        Some(a) if eq_ignore_case(a, "error") => true,
        Some(_) => {
            return Err(CmdError::other(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let id = parse_i64(&argv[2]).ok_or(CmdError::NotInteger)?;
    let Some(req) = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.node.blocking.unblock(id))
    else {
        return Ok(Reply::Integer(0));
    };
    let reply = if error {
        let stats = &mut ctx.node.stats;
        stats.total_error_replies += 1;
        *stats.errors.entry("UNBLOCKED".to_string()).or_default() += 1;
        Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    } else {
        req.op.timeout_reply()
    };
    let woff = ctx.node.repl.offset;
    ctx.node
        .hub
        .send(id as u64, crate::pubsub::ClientMsg::Unblock { reply, woff });
    Ok(Reply::Integer(1))
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`: until `timeout` ms from now, commands of normal
/// clients wait (ALL) or only those that may write or replicate (WRITE; expiry and eviction
/// stop too). A second pause keeps the later end and the stricter mode, as Redis.
fn pause(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 4 {
        // Redis's addReplySubcommandSyntaxError.
        return Err(CmdError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            super::error::quote_arg(&argv[1], 128)
        )));
    }
    let all = match argv.get(3) {
        None => true,
        Some(m) if eq_ignore_case(m, "all") => true,
        Some(m) if eq_ignore_case(m, "write") => false,
        Some(_) => {
            return Err(CmdError::other(
                "ERR CLIENT PAUSE mode must be WRITE or ALL",
            ));
        }
    };
    let timeout = parse_i64(&argv[2])
        .ok_or_else(|| CmdError::other("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::other("ERR timeout is negative"));
    }
    let now = ctx.node.clock.mono_ms();
    let until = now.saturating_add(timeout as u64);
    let pause = &mut ctx.node.client_pause;
    let active = pause.until_ms > now;
    pause.all = all || (active && pause.all);
    pause.until_ms = if active {
        pause.until_ms.max(until)
    } else {
        until
    };
    Ok(Reply::ok())
}

/// `CLIENT UNPAUSE`: ends a CLIENT PAUSE at once.
fn unpause(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.node.client_pause = Default::default();
    Ok(Reply::ok())
}

fn id(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.client.id as i64))
}

fn setname(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    super::server::set_client_name(ctx, &argv[2])?;
    Ok(Reply::ok())
}

fn getname(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(ctx.client.name.clone().map_or(Reply::Null, Reply::Bulk))
}

/// Accepts `ON` / `OFF`; keyslot neither evicts clients nor tracks LRU, so there is no state.
fn on_off(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if eq_ignore_case(&argv[2], "on") || eq_ignore_case(&argv[2], "off") {
        Ok(Reply::ok())
    } else {
        Err(CmdError::Syntax)
    }
}

/// CLIENT LIST's flags= letters, in Redis's order (`S` feeds a replica, `P` subscribe mode,
/// `x` in MULTI, `b` blocked, `r` READONLY; `N` for none).
fn client_flags(c: &Client) -> String {
    let mut f = String::new();
    if c.replica_feed {
        f.push('S');
    }
    if c.subs > 0 {
        f.push('P');
    }
    if c.multi.is_some() {
        f.push('x');
    }
    if c.blocked {
        f.push('b');
    }
    if c.readonly {
        f.push('r');
    }
    if f.is_empty() {
        f.push('N');
    }
    f
}

/// The CLIENT LIST line of one client (ending with `\n`), in Redis 7.0's field order. `argv` is
/// the command being run when `c` is the caller (its query buffer and argv sizes), else empty.
pub fn client_line(c: &Client, now_mono_ms: u64, argv: &[Bytes]) -> String {
    let age = now_mono_ms.saturating_sub(c.created_ms) / 1000;
    let idle = now_mono_ms.saturating_sub(c.last_interaction_ms) / 1000;
    let flags = client_flags(c);
    let name = c
        .name
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    // The command being run is still in the query buffer while it executes, as in Redis.
    let qbuf: usize = if argv.is_empty() {
        0
    } else {
        let header = |n: usize| n.to_string().len() + 3;
        header(argv.len())
            + argv
                .iter()
                .map(|a| header(a.len()) + a.len() + 2)
                .sum::<usize>()
    };
    let argv_mem: usize = argv.iter().map(|a| a.len()).sum();
    let resp = if c.proto == Protocol::Resp3 { 3 } else { 2 };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db=0 sub=0 psub=0 ssub=0 \
         multi=-1 qbuf={} qbuf-free=0 argv-mem={} multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 \
         tot-mem=0 events=r cmd={} user={} redir=-1 resp={}",
        c.id,
        c.addr,
        c.laddr,
        name,
        age,
        idle,
        flags,
        qbuf,
        argv_mem,
        c.last_cmd,
        String::from_utf8_lossy(&c.user),
        resp
    );
    s
}

/// Text as CLIENT LIST / CLIENT INFO send it: a bulk string, verbatim under RESP3.
fn text_reply(ctx: &Ctx<'_>, text: String) -> Reply {
    match ctx.proto() {
        Protocol::Resp3 => Reply::Verbatim(Bytes::from(text)),
        Protocol::Resp2 => Reply::Bulk(Bytes::from(text)),
    }
}

fn info(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let line = client_line(ctx.client, ctx.node.clock.mono_ms(), argv);
    Ok(text_reply(ctx, line))
}

/// Which clients a CLIENT LIST selects.
enum ListFilter {
    All,
    Type(ClientType),
    Ids(Vec<u64>),
}

/// Redis's client classes (`getClientType`): a connection that feeds a replica, one in
/// subscribe mode, the replica's own link to its master, or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

impl ClientType {
    fn parse(kind: &[u8]) -> Result<ClientType, CmdError> {
        match String::from_utf8_lossy(kind).to_ascii_lowercase().as_str() {
            "normal" => Ok(ClientType::Normal),
            "replica" | "slave" => Ok(ClientType::Replica),
            "pubsub" => Ok(ClientType::Pubsub),
            "master" => Ok(ClientType::Master),
            _ => Err(CmdError::other(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(kind)
            ))),
        }
    }

    /// The class of a connection (keyslot's link to its master is not a client entry).
    fn of(c: &Client) -> ClientType {
        if c.replica_feed {
            ClientType::Replica
        } else if c.subs > 0 {
            ClientType::Pubsub
        } else {
            ClientType::Normal
        }
    }
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]`.
fn list_filter(args: &[Bytes]) -> Result<ListFilter, CmdError> {
    match args {
        [] => Ok(ListFilter::All),
        [kw, kind] if eq_ignore_case(kw, "type") => Ok(ListFilter::Type(ClientType::parse(kind)?)),
        [kw, ids @ ..] if eq_ignore_case(kw, "id") && !ids.is_empty() => {
            let parsed: Option<Vec<u64>> = ids
                .iter()
                .map(|a| parse_i64(a).filter(|&n| n > 0).map(|n| n as u64))
                .collect();
            parsed
                .map(ListFilter::Ids)
                .ok_or_else(|| CmdError::other("ERR Invalid client ID"))
        }
        _ => Err(CmdError::Syntax),
    }
}

fn list(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let filter = list_filter(&argv[2..])?;
    let now = ctx.node.clock.mono_ms();
    let me = ctx.client.id;
    let mut ids: Vec<u64> = ctx.node.clients.keys().copied().collect();
    if !ids.contains(&me) {
        ids.push(me);
        ids.sort_unstable();
    }
    let mut text = String::new();
    for id in ids {
        if ctx.node.killed_clients.contains(&id) {
            continue;
        }
        let (c, c_argv) = if id == me {
            (&*ctx.client, argv)
        } else if let Some(c) = ctx.node.clients.get(&id) {
            (c, &[][..])
        } else {
            continue;
        };
        let selected = match &filter {
            ListFilter::All => true,
            ListFilter::Type(t) => ClientType::of(c) == *t,
            ListFilter::Ids(want) => want.contains(&id),
        };
        if selected {
            text.push_str(&client_line(c, now, c_argv));
        }
    }
    Ok(text_reply(ctx, text))
}

/// What CLIENT KILL's filters select.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    /// `TYPE`: only clients of this class.
    kind: Option<ClientType>,
    /// `USER`: only clients authenticated as this user.
    user: Option<Bytes>,
    skipme: bool,
}

impl KillFilter {
    fn selects(&self, c: &Client, me: u64) -> bool {
        !(self.kind.is_some_and(|k| k != ClientType::of(c))
            || self.user.as_ref().is_some_and(|u| *u != c.user)
            || (self.skipme && c.id == me)
            || self.id.is_some_and(|id| id != c.id)
            || self.addr.as_ref().is_some_and(|a| *a != c.addr)
            || self.laddr.as_ref().is_some_and(|a| *a != c.laddr))
    }
}

/// Parses the `<filter> <value> ...` form.
fn kill_filter(args: &[Bytes], acl: &crate::acl::Acl) -> Result<KillFilter, CmdError> {
    let mut f = KillFilter {
        skipme: true,
        ..KillFilter::default()
    };
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    for pair in args.chunks_exact(2) {
        let (kw, v) = (&pair[0], &pair[1]);
        let text = String::from_utf8_lossy(v).into_owned();
        if eq_ignore_case(kw, "id") {
            let id = parse_i64(v)
                .filter(|&n| n > 0)
                .ok_or_else(|| CmdError::other("ERR client-id should be greater than 0"))?;
            f.id = Some(id as u64);
        } else if eq_ignore_case(kw, "addr") {
            f.addr = Some(text);
        } else if eq_ignore_case(kw, "laddr") {
            f.laddr = Some(text);
        } else if eq_ignore_case(kw, "type") {
            f.kind = Some(ClientType::parse(v)?);
        } else if eq_ignore_case(kw, "user") {
            if !acl.users.contains_key(&v[..]) {
                return Err(CmdError::other(format!("ERR No such user '{text}'")));
            }
            f.user = Some(v.clone());
        } else if eq_ignore_case(kw, "skipme") {
            f.skipme = match text.to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err(CmdError::Syntax),
            };
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(f)
}

/// `CLIENT KILL ip:port` (old form: `+OK` or `No such client`) or `CLIENT KILL <filter> <value>
/// ...` (new form: the number of clients killed; the caller is skipped unless `SKIPME no`).
fn kill(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let old_form = argv.len() == 3;
    let filter = if old_form {
        KillFilter {
            addr: Some(String::from_utf8_lossy(&argv[2]).into_owned()),
            ..KillFilter::default()
        }
    } else {
        kill_filter(&argv[2..], &ctx.node.acl)?
    };
    let me = ctx.client.id;
    let mut victims: Vec<u64> = ctx
        .node
        .clients
        .values()
        .filter(|c| c.id != me && filter.selects(c, me))
        .map(|c| c.id)
        .filter(|id| !ctx.node.killed_clients.contains(id))
        .collect();
    if filter.selects(ctx.client, me) {
        // Redis lets the caller read this reply and then closes its connection.
        ctx.client.close_after_reply = true;
        victims.push(me);
    }
    for id in &victims {
        if *id != me {
            ctx.node.killed_clients.insert(*id);
        }
    }
    // The replica's link to its master is Redis's one "master" client: killing it drops the
    // link, and the replica reconnects and continues with a partial resync.
    let master_link = filter.kind == Some(ClientType::Master)
        && filter.id.is_none()
        && filter.addr.is_none()
        && filter.laddr.is_none()
        && filter.user.is_none()
        && ctx.node.repl.restart_master_link(ctx.node.clock.mono_ms());
    if old_form {
        if victims.is_empty() {
            return Err(CmdError::other("ERR No such client"));
        }
        return Ok(Reply::ok());
    }
    Ok(Reply::Integer(
        victims.len() as i64 + i64::from(master_link),
    ))
}

const HELP: &[&str] = &[
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients of specified IDs only.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(subcmd::help_reply("client", HELP))
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;
    use crate::resp::{Protocol, Reply};

    fn text(t: &mut TestNode, words: &[&str]) -> String {
        match t.run(words) {
            Reply::Bulk(b) | Reply::Verbatim(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn list_line_format_matches_redis() {
        let mut t = TestNode::new();
        let id = t.client.id;
        assert_eq!(t.run_text(&["CLIENT", "SETNAME", "foo"]), "+OK\r\n");
        let line = text(&mut t, &["CLIENT", "LIST"]);
        assert_eq!(
            line,
            format!("id={id} addr=127.0.0.1:50000 laddr=127.0.0.1:6379 fd=-1 name=foo age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=0 argv-mem=10 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|list user=default redir=-1 resp=2\n")
        );
        let info = text(&mut t, &["CLIENT", "INFO"]);
        assert!(info.contains(" cmd=client|info ") && info.ends_with("resp=2\n"));
        assert_eq!(
            text(&mut t, &["CLIENT", "LIST", "TYPE", "normal"])
                .lines()
                .count(),
            1
        );
        assert_eq!(text(&mut t, &["CLIENT", "LIST", "TYPE", "pubsub"]), "");
        assert_eq!(text(&mut t, &["CLIENT", "LIST", "ID", "999"]), "");
        assert_eq!(
            text(&mut t, &["CLIENT", "LIST", "ID", &id.to_string()])
                .lines()
                .count(),
            1
        );
        assert_eq!(
            t.run_text(&["CLIENT", "LIST", "TYPE", "foo"]),
            "-ERR Unknown client type 'foo'\r\n"
        );
        assert_eq!(
            t.run_text(&["CLIENT", "LIST", "ID", "x"]),
            "-ERR Invalid client ID\r\n"
        );
        t.client.proto = Protocol::Resp3;
        assert!(t.run_text(&["CLIENT", "INFO"]).starts_with('='));
    }

    #[test]
    fn names_and_ids_match_redis() {
        let mut t = TestNode::new();
        assert_eq!(
            t.run_text(&["CLIENT", "ID"]),
            format!(":{}\r\n", t.client.id)
        );
        assert_eq!(t.run_text(&["CLIENT", "GETNAME"]), "$-1\r\n");
        assert_eq!(
            t.run_text(&["CLIENT", "SETNAME", "a b"]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
        assert_eq!(t.run_text(&["CLIENT", "SETNAME", "x"]), "+OK\r\n");
        assert_eq!(t.run_text(&["CLIENT", "GETNAME"]), "$1\r\nx\r\n");
        assert_eq!(t.run_text(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
        assert_eq!(t.run_text(&["CLIENT", "GETNAME"]), "$-1\r\n");
        assert_eq!(
            t.run_text(&["CLIENT", "foo"]),
            "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"
        );
        assert_eq!(t.run_text(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
        assert_eq!(
            t.run_text(&["CLIENT", "NO-EVICT", "x"]),
            "-ERR syntax error\r\n"
        );
        assert!(t.run_text(&["CLIENT", "HELP"]).starts_with("*"));
    }

    #[test]
    fn kill_matches_redis() {
        let mut t = TestNode::new();
        let other = t
            .node
            .connect_client("127.0.0.1:50001".into(), "127.0.0.1:6379".into());
        assert_eq!(
            t.run_text(&["CLIENT", "KILL", "1.2.3.4:5"]),
            "-ERR No such client\r\n"
        );
        assert_eq!(t.run_text(&["CLIENT", "KILL", "ID", "999"]), ":0\r\n");
        assert_eq!(
            t.run_text(&["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]),
            ":0\r\n"
        );
        assert_eq!(
            t.run_text(&["CLIENT", "KILL", "foo", "bar"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            t.run_text(&["CLIENT", "KILL", "ID", "x"]),
            "-ERR client-id should be greater than 0\r\n"
        );
        assert_eq!(text(&mut t, &["CLIENT", "LIST"]).lines().count(), 2);
        assert_eq!(
            t.run_text(&["CLIENT", "KILL", "ID", &other.id.to_string()]),
            ":1\r\n"
        );
        assert!(t.node.rest.killed_clients.contains(&other.id));
        assert_eq!(text(&mut t, &["CLIENT", "LIST"]).lines().count(), 1);
        // The caller is skipped by default, killed with SKIPME no, and by the old form.
        assert_eq!(
            t.run_text(&["CLIENT", "KILL", "ADDR", "127.0.0.1:50000"]),
            ":0\r\n"
        );
        assert!(!t.client.close_after_reply);
        assert_eq!(
            t.run_text(&["CLIENT", "KILL", "127.0.0.1:50000"]),
            "+OK\r\n"
        );
        assert!(t.client.close_after_reply);
    }
}

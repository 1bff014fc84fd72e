//! COMMAND and its subcommands: COUNT, INFO, DOCS, LIST, GETKEYS, HELP.
//!
//! The entries are built from the command table ([`super::CommandSpec`]) and the container
//! tables ([`super::subcmd`]). Key specs are the simple Redis 7 form derived from each command's
//! legacy (first, last, step); redis-cli reads COMMAND DOCS at startup for its help and hints.

use super::subcmd::{self, SubSpec};
use super::{
    all_commands, eq_ignore_case, flags, lookup, CmdError, CmdResult, CommandSpec, Ctx, KeySpec,
};
use crate::resp::Reply;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "command",
    arity: -1,
    flags: flags::STALE,
    keys: KeySpec::NONE,
    group: "server",
    summary: "Get array of Redis command details",
    handler: command,
}];

pub const SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "command|count",
        arity: 2,
        flags: flags::STALE,
        summary: "Get total number of Redis commands",
        handler: count,
    },
    SubSpec {
        name: "command|docs",
        arity: -2,
        flags: flags::STALE,
        summary: "Get array of specific Redis command documentation",
        handler: docs,
    },
    SubSpec {
        name: "command|getkeys",
        arity: -4,
        flags: flags::STALE,
        summary: "Extract keys given a full Redis command",
        handler: getkeys,
    },
    SubSpec {
        name: "command|info",
        arity: -2,
        flags: flags::STALE,
        summary: "Get array of specific Redis command details, or all when no argument is given",
        handler: info,
    },
    SubSpec {
        name: "command|list",
        arity: -2,
        flags: flags::STALE,
        summary: "Get an array of Redis command names",
        handler: list,
    },
    SubSpec {
        name: "command|help",
        arity: 2,
        flags: flags::STALE,
        summary: "Show helpful text about the different subcommands",
        handler: help,
    },
];

/// `COMMAND` alone lists every command's info; otherwise a subcommand.
fn command(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 1 {
        let all = all_commands().into_iter().map(spec_info).collect();
        return Ok(Reply::Array(all));
    }
    subcmd::dispatch(ctx, argv, SUBCOMMANDS)
}

fn count(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(all_commands().len() as i64))
}

/// A command or subcommand named as COMMAND INFO / DOCS take it: `get`, `config|get`.
enum Found {
    Top(&'static CommandSpec),
    Sub(&'static SubSpec),
}

fn find(name: &[u8]) -> Option<Found> {
    let text = String::from_utf8_lossy(name).to_ascii_lowercase();
    match text.split_once('|') {
        None => lookup(name).map(Found::Top),
        Some((container, sub)) => subcmd::subcommands_of(container)
            .iter()
            .find(|s| s.short_name() == sub)
            .map(Found::Sub),
    }
}

/// Status-reply flag words in Redis's order.
fn flag_words(bits: u32) -> Vec<Reply> {
    const NAMES: &[(u32, &str)] = &[
        (flags::WRITE, "write"),
        (flags::READONLY, "readonly"),
        (flags::DENYOOM, "denyoom"),
        (flags::ADMIN, "admin"),
        (flags::BLOCKING, "blocking"),
        (flags::STALE, "stale"),
        (flags::FAST, "fast"),
        (flags::NO_AUTH, "no_auth"),
        (flags::MOVABLE_KEYS, "movablekeys"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| Reply::simple(name))
        .collect()
}

/// ACL categories (`@read`, `@string`, ...) in Redis's category order: the ACL registry's
/// (Redis's own), or derived from the flags and the group.
fn acl_categories(name: &str, bits: u32, group: &str) -> Vec<String> {
    // The ACL registry holds Redis's own categories for every command Redis has.
    let reg = crate::acl::categories::registry();
    if let Some(id) = reg.id(name) {
        let cats = reg.cmds[id].categories;
        return crate::acl::categories::NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| cats & (1 << i) != 0)
            .map(|(_, n)| format!("@{n}"))
            .collect();
    }
    derived_categories(bits, group)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Categories from flags and group, for a name the ACL registry does not know.
fn derived_categories(bits: u32, group: &str) -> Vec<&'static str> {
    let group_cat = match group {
        "generic" => Some("@keyspace"),
        "string" => Some("@string"),
        "list" => Some("@list"),
        "hash" => Some("@hash"),
        "set" => Some("@set"),
        "sorted-set" => Some("@sortedset"),
        "bitmap" => Some("@bitmap"),
        "hyperloglog" => Some("@hyperloglog"),
        "geo" => Some("@geo"),
        "stream" => Some("@stream"),
        "pubsub" => Some("@pubsub"),
        "connection" => Some("@connection"),
        "transactions" => Some("@transaction"),
        "scripting" => Some("@scripting"),
        _ => None,
    };
    // (category, present) in the order Redis numbers its categories.
    let order: [(&'static str, bool); 21] = [
        ("@keyspace", group_cat == Some("@keyspace")),
        ("@read", bits & flags::READONLY != 0),
        ("@write", bits & flags::WRITE != 0),
        ("@set", group_cat == Some("@set")),
        ("@sortedset", group_cat == Some("@sortedset")),
        ("@list", group_cat == Some("@list")),
        ("@hash", group_cat == Some("@hash")),
        ("@string", group_cat == Some("@string")),
        ("@bitmap", group_cat == Some("@bitmap")),
        ("@hyperloglog", group_cat == Some("@hyperloglog")),
        ("@geo", group_cat == Some("@geo")),
        ("@stream", group_cat == Some("@stream")),
        ("@pubsub", group_cat == Some("@pubsub")),
        ("@admin", bits & flags::ADMIN != 0),
        ("@fast", bits & flags::FAST != 0),
        ("@slow", bits & flags::FAST == 0),
        ("@blocking", false),
        ("@dangerous", bits & flags::ADMIN != 0),
        ("@connection", group_cat == Some("@connection")),
        ("@transaction", group_cat == Some("@transaction")),
        ("@scripting", group_cat == Some("@scripting")),
    ];
    order
        .iter()
        .filter(|(_, on)| *on)
        .map(|(c, _)| *c)
        .collect()
}

/// The one key spec of a command with keys, in Redis 7's shape.
fn key_specs(spec: &CommandSpec) -> Vec<Reply> {
    let k = spec.keys;
    if k.first <= 0 {
        return Vec::new();
    }
    let access: &[&'static str] = if spec.flags & flags::WRITE != 0 {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    };
    let begin = Reply::Map(vec![
        (Reply::bulk("type"), Reply::bulk("index")),
        (
            Reply::bulk("spec"),
            Reply::Map(vec![(Reply::bulk("index"), Reply::Integer(k.first as i64))]),
        ),
    ]);
    let find = if spec.flags & flags::MOVABLE_KEYS != 0 {
        Reply::Map(vec![
            (Reply::bulk("type"), Reply::bulk("keynum")),
            (
                Reply::bulk("spec"),
                Reply::Map(vec![
                    (Reply::bulk("keynumidx"), Reply::Integer(0)),
                    (Reply::bulk("firstkey"), Reply::Integer(1)),
                    (Reply::bulk("keystep"), Reply::Integer(k.step.max(1) as i64)),
                ]),
            ),
        ])
    } else {
        let last = if k.last < 0 { k.last } else { k.last - k.first };
        Reply::Map(vec![
            (Reply::bulk("type"), Reply::bulk("range")),
            (
                Reply::bulk("spec"),
                Reply::Map(vec![
                    (Reply::bulk("lastkey"), Reply::Integer(last as i64)),
                    (Reply::bulk("keystep"), Reply::Integer(k.step as i64)),
                    (Reply::bulk("limit"), Reply::Integer(0)),
                ]),
            ),
        ])
    };
    vec![Reply::Map(vec![
        (
            Reply::bulk("flags"),
            Reply::Array(access.iter().map(|f| Reply::simple(f)).collect()),
        ),
        (Reply::bulk("begin_search"), begin),
        (Reply::bulk("find_keys"), find),
    ])]
}

/// One COMMAND INFO entry: name, arity, flags, first, last, step, ACL categories, tips, key
/// specs, subcommands.
fn spec_info(spec: &'static CommandSpec) -> Reply {
    let subs = subcmd::subcommands_of(spec.name)
        .iter()
        .map(|s| sub_info(s, spec.group))
        .collect();
    // SORT's sorted key has a fixed place (its STORE key and BY / GET keys do not): Redis
    // prints 1 1 1 for SORT and SORT_RO.
    let fixed_first = matches!(spec.name, "sort" | "sort_ro");
    let (first, last, step) = if spec.flags & flags::MOVABLE_KEYS != 0 && !fixed_first {
        (0, 0, 0)
    } else {
        (spec.keys.first, spec.keys.last, spec.keys.step)
    };
    Reply::Array(vec![
        Reply::bulk(spec.name),
        Reply::Integer(spec.arity as i64),
        Reply::Array(flag_words(spec.flags)),
        Reply::Integer(first as i64),
        Reply::Integer(last as i64),
        Reply::Integer(step as i64),
        categories(spec.name, spec.flags, spec.group),
        Reply::Array(Vec::new()),
        Reply::Array(key_specs(spec)),
        Reply::Array(subs),
    ])
}

fn categories(name: &str, bits: u32, group: &str) -> Reply {
    Reply::Array(
        acl_categories(name, bits, group)
            .into_iter()
            .map(|c| Reply::Simple(c.into()))
            .collect(),
    )
}

fn sub_info(sub: &'static SubSpec, group: &str) -> Reply {
    Reply::Array(vec![
        Reply::bulk(sub.name),
        Reply::Integer(sub.arity as i64),
        Reply::Array(flag_words(sub.flags)),
        Reply::Integer(0),
        Reply::Integer(0),
        Reply::Integer(0),
        categories(sub.name, sub.flags, group),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
    ])
}

/// `COMMAND INFO [name ...]`: every command without names; a null for unknown names.
fn info(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 2 {
        return Ok(Reply::Array(
            all_commands().into_iter().map(spec_info).collect(),
        ));
    }
    let entries = argv[2..]
        .iter()
        .map(|name| match find(name) {
            Some(Found::Top(spec)) => spec_info(spec),
            Some(Found::Sub(sub)) => {
                let group = container_group(sub);
                sub_info(sub, group)
            }
            None => Reply::Null,
        })
        .collect();
    Ok(Reply::Array(entries))
}

/// The group of a subcommand's container.
fn container_group(sub: &SubSpec) -> &'static str {
    let container = sub.name.split('|').next().unwrap_or("");
    lookup(container.as_bytes()).map_or("server", |s| s.group)
}

/// The Redis version that introduced a command, for COMMAND DOCS `since`.
fn since(name: &str) -> &'static str {
    match name {
        "hello" | "acl" | "client|info" | "client|no-evict" => "6.0.0",
        "command|docs" | "command|list" | "lcs" | "expiretime" | "pexpiretime" | "sort_ro"
        | "lmpop" | "blmpop" | "zmpop" | "bzmpop" => "7.0.0",
        "zrandmember" => "6.2.0",
        "client|unblock" => "5.0.0",
        "client|reply" => "3.2.0",
        "client|no-touch" => "7.2.0",
        "client" | "client|list" | "client|kill" | "client|getname" | "client|setname"
        | "config" | "config|get" | "config|set" | "config|resetstat" => "2.0.0",
        "config|rewrite" | "cluster" | "readonly" | "readwrite" | "asking" | "wait" => "3.0.0",
        "command" | "command|count" | "command|getkeys" | "command|info" | "time" | "dump"
        | "restore" | "migrate" | "client|help" | "config|help" | "command|help" => "2.8.13",
        "client|id" | "unlink" | "swapdb" | "touch" => "4.0.0",
        "role" => "2.8.12",
        "debug" => "1.0.0",
        _ => "1.0.0",
    }
}

/// The DOCS map of one command: summary, since, group, and its subcommands when it has any.
fn doc_entry(name: &'static str, summary: &'static str, group: &'static str) -> Reply {
    let mut fields = vec![
        (Reply::bulk("summary"), Reply::bulk(summary)),
        (Reply::bulk("since"), Reply::bulk(since(name))),
        (Reply::bulk("group"), Reply::bulk(group)),
    ];
    let subs = subcmd::subcommands_of(name);
    if !subs.is_empty() {
        fields.push((
            Reply::bulk("complexity"),
            Reply::bulk("Depends on subcommand."),
        ));
        let docs = subs
            .iter()
            .map(|s| (Reply::bulk(s.name), doc_entry(s.name, s.summary, group)))
            .collect();
        fields.push((Reply::bulk("subcommands"), Reply::Map(docs)));
    }
    Reply::Map(fields)
}

/// `COMMAND DOCS [name ...]`: a map from command name to its docs; unknown names are left out.
fn docs(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let pairs = if argv.len() == 2 {
        all_commands()
            .into_iter()
            .map(|s| (Reply::bulk(s.name), doc_entry(s.name, s.summary, s.group)))
            .collect()
    } else {
        argv[2..]
            .iter()
            .filter_map(|name| match find(name)? {
                Found::Top(s) => Some((Reply::bulk(s.name), doc_entry(s.name, s.summary, s.group))),
                Found::Sub(s) => Some((
                    Reply::bulk(s.name),
                    doc_entry(s.name, s.summary, container_group(s)),
                )),
            })
            .collect()
    };
    Ok(Reply::Map(pairs))
}

/// Every command name, subcommands included (`config|get`).
fn all_names() -> Vec<(&'static str, u32, &'static str)> {
    let mut out = Vec::new();
    for spec in all_commands() {
        out.push((spec.name, spec.flags, spec.group));
        for sub in subcmd::subcommands_of(spec.name) {
            out.push((sub.name, sub.flags, spec.group));
        }
    }
    out
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`.
fn list(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let names = all_names();
    let selected: Vec<&'static str> = match &argv[2..] {
        [] => names.iter().map(|(n, _, _)| *n).collect(),
        [by, kind, value] if eq_ignore_case(by, "filterby") => {
            if eq_ignore_case(kind, "module") {
                Vec::new()
            } else if eq_ignore_case(kind, "aclcat") {
                let cat = format!("@{}", String::from_utf8_lossy(value).to_ascii_lowercase());
                names
                    .iter()
                    .filter(|(n, f, g)| acl_categories(n, *f, g).contains(&cat))
                    .map(|(n, _, _)| *n)
                    .collect()
            } else if eq_ignore_case(kind, "pattern") {
                names
                    .iter()
                    .filter(|(n, _, _)| crate::glob::matches(value, n.as_bytes(), true))
                    .map(|(n, _, _)| *n)
                    .collect()
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    Ok(Reply::Array(
        selected.into_iter().map(Reply::bulk).collect(),
    ))
}

/// `COMMAND GETKEYS cmd arg ...`: the key arguments of a command as this node's key table sees
/// them (numkeys commands: a count at `first`, the keys after it).
fn getkeys(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let args = &argv[2..];
    let Some(spec) = lookup(&args[0]) else {
        return Err(CmdError::other("ERR Invalid command specified"));
    };
    if spec.keys.first <= 0 && spec.flags & super::flags::MOVABLE_KEYS == 0 {
        return Err(CmdError::other("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(args.len()) {
        return Err(CmdError::other(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys: Vec<Reply> = super::key_positions(spec, args)
        .into_iter()
        .map(|i| Reply::Bulk(args[i].clone()))
        .collect();
    if keys.is_empty() {
        return Err(CmdError::other(
            "ERR Invalid arguments specified for command",
        ));
    }
    Ok(Reply::Array(keys))
}

const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
    "    Return a list of all commands in this Redis server.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(subcmd::help_reply("command", HELP))
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;
    use crate::resp::Protocol;

    #[test]
    fn info_entries_have_redis_shape() {
        let mut t = TestNode::new();
        assert_eq!(
            t.run_text(&["COMMAND", "INFO", "ping", "nosuch"]),
            "*2\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n$-1\r\n"
        );
        assert_eq!(
            t.run_text(&["COMMAND", "INFO", "config|get"]),
            "*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*2\r\n+admin\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n"
        );
        let config = t.run_text(&["COMMAND", "INFO", "config"]);
        assert!(config.starts_with("*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*5\r\n"), "{config}");
        let count = t.run_text(&["COMMAND", "COUNT"]);
        let n: usize = count[1..count.len() - 2].parse().unwrap();
        assert_eq!(n, crate::cmd::all_commands().len());
        assert!(t
            .run_text(&["COMMAND"])
            .starts_with(&format!("*{n}\r\n*10\r\n")));
    }

    #[test]
    fn docs_have_redis_shape() {
        let mut t = TestNode::new();
        assert_eq!(
            t.run_text(&["COMMAND", "DOCS", "echo", "nosuch"]),
            "*2\r\n$4\r\necho\r\n*6\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
        );
        assert_eq!(t.run_text(&["COMMAND", "DOCS", "nosuch"]), "*0\r\n");
        let client = t.run_text(&["COMMAND", "DOCS", "client"]);
        assert!(
            client.contains(
                "$11\r\nsubcommands\r\n*26\r\n$9\r\nclient|id\r\n*6\r\n$7\r\nsummary\r\n"
            ),
            "{client}"
        );
        t.client.proto = Protocol::Resp3;
        let all = t.run_text(&["COMMAND", "DOCS"]);
        assert!(all.starts_with(&format!("%{}\r\n", crate::cmd::all_commands().len())));
    }

    #[test]
    fn list_and_getkeys_match_redis() {
        let mut t = TestNode::new();
        let list = t.run_text(&["COMMAND", "LIST"]);
        assert!(list.contains("$10\r\nconfig|get\r\n") && list.contains("$4\r\nping\r\n"));
        assert_eq!(
            t.run_text(&["COMMAND", "LIST", "FILTERBY", "pattern", "config|g*"]),
            "*1\r\n$10\r\nconfig|get\r\n"
        );
        assert_eq!(
            t.run_text(&["COMMAND", "LIST", "FILTERBY", "module", "x"]),
            "*0\r\n"
        );
        assert_eq!(
            t.run_text(&["COMMAND", "GETKEYS", "ping"]),
            "-ERR wrong number of arguments for 'command|getkeys' command\r\n"
        );
        assert_eq!(
            t.run_text(&["COMMAND", "GETKEYS", "ping", "x"]),
            "-ERR The command has no key arguments\r\n"
        );
        assert_eq!(
            t.run_text(&["COMMAND", "GETKEYS", "nosuch", "a"]),
            "-ERR Invalid command specified\r\n"
        );
        assert_eq!(
            t.run_text(&["COMMAND", "nosuch"]),
            "-ERR unknown subcommand 'nosuch'. Try COMMAND HELP.\r\n"
        );
    }

    #[test]
    fn getkeys_follows_the_key_table() {
        use crate::cmd::{flags, CommandSpec, KeySpec};
        let fake = CommandSpec {
            name: "fake",
            arity: -3,
            flags: flags::WRITE,
            keys: KeySpec::PAIRS,
            group: "string",
            summary: "",
            handler: |_, _| Ok(crate::resp::Reply::ok()),
        };
        let words: Vec<bytes::Bytes> = ["fake", "a", "1", "c", "2"]
            .iter()
            .map(|w| bytes::Bytes::from(*w))
            .collect();
        let keys: Vec<usize> = fake.keys.key_indexes(words.len()).collect();
        assert_eq!(keys, vec![1, 3]);
        let specs = super::key_specs(&fake);
        assert_eq!(specs.len(), 1);
        let enc = String::from_utf8_lossy(&specs[0].to_bytes(Protocol::Resp2)).into_owned();
        assert!(
            enc.contains("$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:2\r\n"),
            "{enc}"
        );
        let mut t = crate::node::testing::TestNode::new();
        assert_eq!(
            t.run_text(&["COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"]),
            "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            t.run_text(&["COMMAND", "GETKEYS", "sintercard", "2", "a", "b"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
    }
}

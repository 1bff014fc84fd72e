//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the option table in `crate::config`.

use super::subcmd::{self, SubSpec};
use super::{flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::config::{find_option, ConfigError};
use crate::resp::Reply;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "config",
    arity: -2,
    flags: 0,
    keys: KeySpec::NONE,
    group: "server",
    summary: "A container for server configuration commands",
    handler: config,
}];

const ADMIN: u32 = flags::ADMIN | flags::STALE;

pub const SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "config|get",
        arity: -3,
        flags: ADMIN,
        summary: "Get the values of configuration parameters",
        handler: get,
    },
    SubSpec {
        name: "config|set",
        arity: -4,
        flags: ADMIN,
        summary: "Set configuration parameters to the given values",
        handler: set,
    },
    SubSpec {
        name: "config|resetstat",
        arity: 2,
        flags: ADMIN,
        summary: "Reset the stats returned by INFO",
        handler: resetstat,
    },
    SubSpec {
        name: "config|rewrite",
        arity: 2,
        flags: ADMIN,
        summary: "Rewrite the configuration file with the in memory configuration",
        handler: rewrite,
    },
    SubSpec {
        name: "config|help",
        arity: 2,
        flags: flags::STALE,
        summary: "Show helpful text about the different subcommands",
        handler: help,
    },
];

fn config(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subcmd::dispatch(ctx, argv, SUBCOMMANDS)
}

/// `CONFIG GET pattern [pattern ...]`: name/value pairs of every option matching any pattern,
/// each option once (a map under RESP3).
fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut pairs: Vec<(&'static str, String)> = Vec::new();
    for pattern in &argv[2..] {
        for (name, value) in ctx.node.config.matching(pattern) {
            if !pairs.iter().any(|(n, _)| *n == name) {
                pairs.push((name, value.to_string()));
            }
        }
    }
    Ok(Reply::Map(
        pairs
            .into_iter()
            .map(|(n, v)| (Reply::bulk(n), Reply::bulk(v)))
            .collect(),
    ))
}

/// `CONFIG SET name value [name value ...]`: all or nothing. Every pair is applied to a copy of
/// the configuration and the copy replaces the live one only if all succeeded.
fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let args = &argv[2..];
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut seen: Vec<&'static str> = Vec::new();
    let mut next = ctx.node.config.clone();
    for pair in args.chunks_exact(2) {
        let name = String::from_utf8_lossy(&pair[0]).into_owned();
        let Some(spec) = find_option(&name) else {
            return Err(CmdError::other(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            )));
        };
        if seen.contains(&spec.name) {
            return Err(set_failed(&name, "duplicate parameter"));
        }
        seen.push(spec.name);
        let value = String::from_utf8_lossy(&pair[1]);
        next.set(&name, &value).map_err(|e| match e {
            ConfigError::UnknownOption(_) => CmdError::other(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            )),
            other => set_failed(&name, &other.to_string()),
        })?;
    }
    ctx.node.config = next;
    Ok(Reply::ok())
}

/// `ERR CONFIG SET failed (possibly related to argument 'x') - <reason>`.
fn set_failed(name: &str, reason: &str) -> CmdError {
    CmdError::other(format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
    ))
}

/// Clears the counters INFO prints (commandstats, errorstats and the stats section).
fn resetstat(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let stats = &mut ctx.node.stats;
    *stats = crate::node::Stats::default();
    Ok(Reply::ok())
}

/// Writes the in-memory configuration back to the file the node was started with.
fn rewrite(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let Some(path) = ctx.node.config.file.clone() else {
        return Err(CmdError::other(
            "ERR The server is running without a config file",
        ));
    };
    let text = ctx.node.config.rewrite_text();
    write_file(&path, &text)
        .map_err(|e| CmdError::other(format!("ERR Rewriting config file: {e}")))?;
    Ok(Reply::ok())
}

/// Writes through a temporary file and a rename, so a crash never leaves half a config.
#[cfg(not(madsim))]
fn write_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp-rewrite");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The simulator has no disk for config files.
#[cfg(madsim)]
fn write_file(_path: &std::path::Path, _text: &str) -> std::io::Result<()> {
    Ok(())
}

const HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(subcmd::help_reply("config", HELP))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::node::testing::TestNode;
    use crate::resp::Protocol;

    #[test]
    fn get_matches_redis() {
        let mut t = TestNode::new();
        t.run(&["CONFIG", "SET", "save", ""]);
        assert_eq!(
            t.run_text(&["CONFIG", "GET", "save", "appendonly"]),
            "*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        );
        assert_eq!(t.run_text(&["CONFIG", "GET", "nosuch"]), "*0\r\n");
        assert_eq!(
            t.run_text(&["CONFIG", "GET", "maxmemory", "maxmemory"]),
            "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
        );
        assert_eq!(
            t.run_text(&["CONFIG", "GET"]),
            "-ERR wrong number of arguments for 'config|get' command\r\n"
        );
        t.client.proto = Protocol::Resp3;
        assert_eq!(
            t.run_text(&["CONFIG", "GET", "appendonly"]),
            "%1\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        );
    }

    #[test]
    fn set_errors_match_redis() {
        let mut t = TestNode::new();
        let cases = [
            (vec!["foo", "1"], "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"),
            (vec!["maxclients", "x"], "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n"),
            (vec!["appendonly", "maybe"], "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'\r\n"),
            (vec!["maxmemory-policy", "x"], "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n"),
            (vec!["maxmemory", "1x"], "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"),
            (vec!["save", "1 2 3"], "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters\r\n"),
            (vec!["hz", "5", "hz", "6"], "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n"),
            (vec!["hz"], "-ERR wrong number of arguments for 'config|set' command\r\n"),
            (vec!["hz", "5", "foo"], "-ERR syntax error\r\n"),
            (vec!["daemonize", "yes"], "-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config\r\n"),
        ];
        for (args, want) in cases {
            let mut words = vec!["CONFIG", "SET"];
            words.extend(args.iter());
            assert_eq!(t.run_text(&words), want, "{args:?}");
        }
    }

    #[test]
    fn set_is_all_or_nothing() {
        let mut t = TestNode::new();
        assert!(t
            .run_text(&["CONFIG", "SET", "hz", "5", "maxclients", "x"])
            .starts_with("-ERR"));
        assert_eq!(t.node.rest.config.get("hz"), Some("10"));
        assert_eq!(
            t.run_text(&["CONFIG", "SET", "hz", "5", "maxclients", "20"]),
            "+OK\r\n"
        );
        assert_eq!(t.node.rest.config.get("hz"), Some("5"));
        assert_eq!(t.node.rest.config.maxclients, 20);
    }

    #[test]
    fn resetstat_rewrite_and_unknown() {
        let mut t = TestNode::new();
        t.run(&["NOSUCH"]);
        assert_eq!(t.run_text(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
        assert_eq!(t.node.rest.stats.total_error_replies, 0);
        assert_eq!(
            t.run_text(&["CONFIG", "REWRITE"]),
            "-ERR The server is running without a config file\r\n"
        );
        assert_eq!(
            t.run_text(&["CONFIG", "foo"]),
            "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n"
        );
        assert_eq!(
            t.run_text(&["CONFIG"]),
            "-ERR wrong number of arguments for 'config' command\r\n"
        );
        assert!(t
            .run_text(&["CONFIG", "HELP"])
            .starts_with("*11\r\n+CONFIG <subcommand>"));
    }

    #[test]
    fn rewrite_writes_the_config_file() {
        let dir = std::env::temp_dir().join(format!("keyslot-rewrite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.conf");
        std::fs::write(&path, "port 7000\n").unwrap();
        let mut c = Config::from_args(&[path.display().to_string()]).unwrap();
        c.file = Some(path.clone());
        let mut t = TestNode::with_config(c);
        assert_eq!(t.run_text(&["CONFIG", "SET", "hz", "7"]), "+OK\r\n");
        assert_eq!(t.run_text(&["CONFIG", "REWRITE"]), "+OK\r\n");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("hz 7\n") && text.contains("port 7000\n"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

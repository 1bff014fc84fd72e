//! EVAL / EVALSHA / EVAL_RO / EVALSHA_RO and SCRIPT.
//!
//! The EVAL family runs in the node itself (`Node::call` hands it to `crate::scripting::run`),
//! since a script's commands take the node's whole command path; their table entries here give
//! arity, flags and keys. SCRIPT manages the cache.

use super::subcmd::{self, SubSpec};
use super::{flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;
use bytes::Bytes;

/// EVAL's keys follow numkeys (see `cmd::key_positions`).
const EVAL_KEYS: KeySpec = KeySpec {
    first: 3,
    last: 3,
    step: 1,
};

const fn eval_spec(name: &'static str, summary: &'static str) -> CommandSpec {
    CommandSpec {
        name,
        arity: -3,
        flags: flags::MOVABLE_KEYS | flags::STALE,
        keys: EVAL_KEYS,
        group: "scripting",
        summary,
        handler: not_here,
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    eval_spec("eval", "Execute a Lua script server side"),
    eval_spec(
        "evalsha",
        "Execute a Lua script server side by its SHA1 digest",
    ),
    eval_spec("eval_ro", "Execute a read-only Lua script server side"),
    eval_spec(
        "evalsha_ro",
        "Execute a read-only Lua script server side by its SHA1 digest",
    ),
    CommandSpec {
        name: "script",
        arity: -2,
        flags: 0,
        keys: KeySpec::NONE,
        group: "scripting",
        summary: "A container for Lua scripts management commands",
        handler: script,
    },
];

/// The EVAL family never reaches a handler: the node runs it.
fn not_here(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Err(CmdError::other("ERR scripts run in the node"))
}

pub static SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "script|debug",
        arity: 3,
        flags: 0,
        summary: "Set the debug mode for executed scripts.",
        handler: script_debug,
    },
    SubSpec {
        name: "script|exists",
        arity: -3,
        flags: 0,
        summary: "Check existence of scripts in the script cache.",
        handler: script_exists,
    },
    SubSpec {
        name: "script|flush",
        arity: -2,
        flags: 0,
        summary: "Remove all the scripts from the script cache.",
        handler: script_flush,
    },
    SubSpec {
        name: "script|help",
        arity: 2,
        flags: 0,
        summary: "Show helpful text about the different subcommands",
        handler: script_help,
    },
    SubSpec {
        name: "script|kill",
        arity: 2,
        flags: 0,
        summary: "Kill the script currently in execution.",
        handler: script_kill,
    },
    SubSpec {
        name: "script|load",
        arity: 3,
        flags: 0,
        summary: "Load the specified Lua script into the script cache.",
        handler: script_load,
    },
];

fn script(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subcmd::dispatch(ctx, argv, SUBCOMMANDS)
}

const HELP: &[&str] = &[
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
];

/// SCRIPT HELP ends with "Prints this help." (Redis's eval.c words it so, unlike the others).
fn script_help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let mut reply = subcmd::help_reply("script", HELP);
    if let Reply::Array(lines) = &mut reply {
        if let Some(last) = lines.last_mut() {
            *last = Reply::simple("    Prints this help.");
        }
    }
    Ok(reply)
}

fn script_load(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let sha = ctx
        .node
        .scripting
        .create(&argv[2])
        .map_err(|e| CmdError::other(e.0))?;
    Ok(Reply::bulk(sha))
}

fn script_exists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let scripts = &ctx.node.scripting.scripts;
    Ok(Reply::Array(
        argv[2..]
            .iter()
            .map(|sha| {
                let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
                Reply::Integer(scripts.contains_key(&sha) as i64)
            })
            .collect(),
    ))
}

fn script_flush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let ok = match argv.len() {
        2 => true,
        3 => super::eq_ignore_case(&argv[2], "sync") || super::eq_ignore_case(&argv[2], "async"),
        _ => false,
    };
    if !ok {
        return Err(CmdError::other(
            "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
        ));
    }
    ctx.node.scripting.flush();
    Ok(Reply::ok())
}

/// No script can be running while a command is served: the node runs one command at a time.
fn script_kill(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Err(CmdError::other(
        "NOTBUSY No scripts in execution right now.",
    ))
}

/// The Lua debugger (LDB) is not there: SCRIPT DEBUG NO is accepted, YES / SYNC refused.
fn script_debug(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if super::eq_ignore_case(&argv[2], "no") {
        Ok(Reply::ok())
    } else if super::eq_ignore_case(&argv[2], "yes") || super::eq_ignore_case(&argv[2], "sync") {
        Err(CmdError::other(
            "ERR SCRIPT DEBUG is not supported by keyslot",
        ))
    } else {
        Err(CmdError::other("ERR Use SCRIPT DEBUG YES/SYNC/NO"))
    }
}

//! EVAL / EVALSHA / EVAL_RO / EVALSHA_RO, FCALL / FCALL_RO, SCRIPT and FUNCTION.
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
    eval_spec("fcall", "Invoke a function"),
    eval_spec("fcall_ro", "Invoke a read-only function"),
    CommandSpec {
        name: "function",
        arity: -2,
        flags: 0,
        keys: KeySpec::NONE,
        group: "scripting",
        summary: "A container for function commands",
        handler: function,
    },
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

const fn fsub(
    name: &'static str,
    arity: i32,
    summary: &'static str,
    handler: super::Handler,
) -> SubSpec {
    SubSpec {
        name,
        arity,
        flags: 0,
        summary,
        handler,
    }
}

pub static FUNCTION_SUBCOMMANDS: &[SubSpec] = &[
    fsub(
        "function|delete",
        3,
        "Delete a function by name",
        function_delete,
    ),
    fsub(
        "function|dump",
        2,
        "Dump all functions into a serialized binary payload",
        function_dump,
    ),
    fsub(
        "function|flush",
        -2,
        "Deleting all functions",
        function_flush,
    ),
    fsub(
        "function|help",
        2,
        "Show helpful text about the different subcommands",
        function_help,
    ),
    fsub(
        "function|kill",
        2,
        "Kill the function currently in execution.",
        function_kill,
    ),
    fsub(
        "function|list",
        -2,
        "List information about all the functions",
        function_list,
    ),
    fsub(
        "function|load",
        -3,
        "Create a function with the given arguments (name, code, description)",
        function_load,
    ),
    fsub(
        "function|restore",
        -3,
        "Restore all the functions on the given payload",
        function_restore,
    ),
    fsub(
        "function|stats",
        2,
        "Return information about the function currently running (name, description, duration)",
        function_stats,
    ),
];

fn function(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subcmd::dispatch(ctx, argv, FUNCTION_SUBCOMMANDS)
}

/// Replicates a FUNCTION command that changed the libraries (master side), as Redis does.
fn propagate(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut view = crate::node::NodeView {
        db: ctx.db,
        rest: ctx.node,
    };
    view.propagate_write("function", argv, &Reply::ok());
    ctx.client.woff = view.rest.repl.offset;
}

/// FUNCTION LOAD and FUNCTION RESTORE are deny-oom in Redis: past maxmemory, once eviction
/// freed nothing more (the node evicts before every command), they are refused. Clients
/// only: the master's stream and the AOF (client id 0) apply them whatever the memory.
fn deny_oom(ctx: &Ctx<'_>) -> Result<(), CmdError> {
    if ctx.client.id != 0
        && !ctx.node.repl.is_replica()
        && crate::evict::used_memory(ctx.db) > ctx.node.config.maxmemory_limit
    {
        return Err(CmdError::other(crate::evict::OOM_ERROR));
    }
    Ok(())
}

fn function_load(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    deny_oom(ctx)?;
    let mut replace = false;
    let mut at = 2;
    while at < argv.len() - 1 {
        if super::eq_ignore_case(&argv[at], "replace") {
            replace = true;
            at += 1;
            continue;
        }
        return Err(CmdError::other(format!(
            "ERR Unknown option given: {}",
            String::from_utf8_lossy(&argv[at])
        )));
    }
    let name = ctx
        .node
        .scripting
        .load_library_timed(&argv[at], replace, LOAD_TIMEOUT_MS)
        .map_err(|e| CmdError::other(format!("ERR {e}")))?;
    propagate(ctx, argv);
    Ok(Reply::bulk(name))
}

/// How long FUNCTION LOAD lets a library's body run (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

fn function_delete(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let name = String::from_utf8_lossy(&argv[2]).into_owned();
    if !ctx.node.scripting.functions.delete(&name) {
        return Err(CmdError::other("ERR Library not found"));
    }
    propagate(ctx, argv);
    Ok(Reply::ok())
}

fn function_flush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        // Redis's FUNCTION FLUSH takes at most one argument (arity -2, max 3).
        return Err(CmdError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
            String::from_utf8_lossy(&argv[1])
        )));
    }
    let ok = match argv.len() {
        2 => true,
        3 => super::eq_ignore_case(&argv[2], "sync") || super::eq_ignore_case(&argv[2], "async"),
        _ => false,
    };
    if !ok {
        return Err(CmdError::other(
            "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    ctx.node.scripting.functions.flush();
    propagate(ctx, argv);
    Ok(Reply::ok())
}

fn function_kill(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Err(CmdError::other(
        "NOTBUSY No scripts in execution right now.",
    ))
}

fn function_list(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&Bytes> = None;
    let mut i = 2;
    while i < argv.len() {
        if !with_code && super::eq_ignore_case(&argv[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && super::eq_ignore_case(&argv[i], "libraryname") {
            if i >= argv.len() - 1 {
                return Err(CmdError::other("ERR library name argument was not given"));
            }
            i += 1;
            pattern = Some(&argv[i]);
        } else {
            return Err(CmdError::other(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(&argv[i])
            )));
        }
        i += 1;
    }
    let mut out = Vec::new();
    for (name, lib) in &ctx.node.scripting.functions.libraries {
        if let Some(p) = pattern {
            if !crate::glob::matches(p, name.as_bytes(), true) {
                continue;
            }
        }
        let functions = lib
            .functions
            .iter()
            .map(|(fname, f)| {
                Reply::Map(vec![
                    (Reply::bulk("name"), Reply::bulk(fname)),
                    (
                        Reply::bulk("description"),
                        f.description.clone().map_or(Reply::Null, Reply::Bulk),
                    ),
                    (
                        Reply::bulk("flags"),
                        Reply::Set(f.flags.names().into_iter().map(Reply::simple).collect()),
                    ),
                ])
            })
            .collect();
        let mut fields = vec![
            (Reply::bulk("library_name"), Reply::bulk(name)),
            (Reply::bulk("engine"), Reply::bulk("LUA")),
            (Reply::bulk("functions"), Reply::Array(functions)),
        ];
        if with_code {
            fields.push((Reply::bulk("library_code"), Reply::Bulk(lib.code.clone())));
        }
        out.push(Reply::Map(fields));
    }
    Ok(Reply::Array(out))
}

fn function_stats(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let fx = &ctx.node.scripting.functions;
    Ok(Reply::Map(vec![
        (Reply::bulk("running_script"), Reply::Null),
        (
            Reply::bulk("engines"),
            Reply::Map(vec![(
                Reply::bulk("LUA"),
                Reply::Map(vec![
                    (
                        Reply::bulk("libraries_count"),
                        Reply::Integer(fx.libraries.len() as i64),
                    ),
                    (
                        Reply::bulk("functions_count"),
                        Reply::Integer(fx.index.len() as i64),
                    ),
                ]),
            )]),
        ),
    ]))
}

fn function_dump(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let codes: Vec<&[u8]> = ctx
        .node
        .scripting
        .functions
        .libraries
        .values()
        .map(|l| &l.code[..])
        .collect();
    Ok(Reply::bulk_owned(crate::rdb::dump_functions(&codes)))
}

fn function_restore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    deny_oom(ctx)?;
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    if argv.len() > 4 {
        return Err(CmdError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
            String::from_utf8_lossy(&argv[1])
        )));
    }
    let policy =
        match argv.get(3) {
            None => Policy::Append,
            Some(p) if argv.len() == 4 && super::eq_ignore_case(p, "flush") => Policy::Flush,
            Some(p) if argv.len() == 4 && super::eq_ignore_case(p, "append") => Policy::Append,
            Some(p) if argv.len() == 4 && super::eq_ignore_case(p, "replace") => Policy::Replace,
            Some(_) => return Err(CmdError::other(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            )),
        };
    let codes = crate::rdb::restore_functions(&argv[2]).map_err(|e| match e {
        None => CmdError::other("ERR DUMP payload version or checksum are wrong"),
        Some(text) => CmdError::other(format!("ERR {text}")),
    })?;
    let sc = &mut ctx.node.scripting;
    // Load into a scratch set first: a bad payload leaves the libraries as they were.
    let saved_libs = std::mem::take(&mut sc.functions.libraries);
    let saved_index = std::mem::take(&mut sc.functions.index);
    let mut loaded = Vec::new();
    for code in &codes {
        match sc.load_library(code, false) {
            Ok(name) => loaded.push(name),
            Err(e) => {
                sc.functions.libraries = saved_libs;
                sc.functions.index = saved_index;
                return Err(CmdError::other(format!("ERR {e}")));
            }
        }
    }
    let new_libs = std::mem::replace(&mut sc.functions.libraries, saved_libs);
    let new_index = std::mem::replace(&mut sc.functions.index, saved_index);
    if policy == Policy::Flush {
        sc.functions.flush();
    }
    for (name, lib) in &new_libs {
        if sc.functions.libraries.contains_key(name) && policy != Policy::Replace {
            return Err(CmdError::other(format!(
                "ERR Library {name} already exists"
            )));
        }
        let _ = lib;
    }
    for (fname, (lib, _)) in &new_index {
        if let Some((owner, _)) = sc.functions.index.get(fname) {
            if owner != lib && !(policy == Policy::Replace && new_libs.contains_key(owner)) {
                return Err(CmdError::other(format!(
                    "ERR Function {fname} already exists"
                )));
            }
        }
    }
    for (name, lib) in new_libs {
        sc.functions.delete(&name);
        for fname in lib.functions.keys() {
            sc.functions
                .index
                .insert(fname.to_lowercase(), (name.clone(), fname.clone()));
        }
        sc.functions.libraries.insert(name, lib);
    }
    propagate(ctx, argv);
    Ok(Reply::ok())
}

const FUNCTION_HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];

fn function_help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let mut reply = subcmd::help_reply("function", FUNCTION_HELP);
    if let Reply::Array(lines) = &mut reply {
        if let Some(last) = lines.last_mut() {
            *last = Reply::simple("    Prints this help.");
        }
    }
    Ok(reply)
}

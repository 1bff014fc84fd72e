//! Running a script: EVAL / EVALSHA / *_RO, and `redis.call` through the node's command path.
//!
//! The script runs inside the node's own call of EVAL (the node lock is held, as Redis's
//! single thread is busy). A per-run [`Run`] borrows the node; the Lua hooks `cmd`, `setresp`,
//! `set_repl` and `acl_check_cmd` are scoped closures over it, so they cannot outlive the run.
//! The commands a script runs are replicated as effects: held back while it runs and sent
//! together, inside MULTI / EXEC when there are several.

use super::convert;
use super::numfmt::fmt_g;
use super::shebang::ScriptFlags;
use crate::cmd::{self, flags, CmdError, CommandSpec};
use crate::node::{Client, Node};
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use mlua::{Lua, Table, Value, Variadic};
use std::cell::RefCell;

/// The chunk name of FUNCTION libraries.
pub const USER_FUNCTION: &str = "@user_function";

/// Commands a script may not run (Redis's `noscript` flag), by name or `container|sub`.
const DENIED: &[&str] = &[
    "acl",
    "auth",
    "bgrewriteaof",
    "bgsave",
    "blmove",
    "blpop",
    "brpop",
    "brpoplpush",
    "bzpopmax",
    "bzpopmin",
    "client|caching",
    "client|getname",
    "client|getredir",
    "client|id",
    "client|info",
    "client|kill",
    "client|list",
    "client|no-evict",
    "client|pause",
    "client|reply",
    "client|setname",
    "client|tracking",
    "client|trackinginfo",
    "client|unblock",
    "client|unpause",
    "cluster|reset",
    "config|get",
    "config|resetstat",
    "config|rewrite",
    "config|set",
    "debug",
    "discard",
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "exec",
    "failover",
    "fcall",
    "fcall_ro",
    "function",
    "hello",
    "latency",
    "module",
    "monitor",
    "multi",
    "psubscribe",
    "psync",
    "punsubscribe",
    "quit",
    "replconf",
    "replicaof",
    "reset",
    "role",
    "save",
    "script",
    "shutdown",
    "slaveof",
    "ssubscribe",
    "subscribe",
    "sunsubscribe",
    "sync",
    "unsubscribe",
    "unwatch",
    "wait",
    "watch",
];

/// Whether a script may not run `argv`.
fn denied(spec: &CommandSpec, argv: &[Bytes]) -> bool {
    if DENIED.contains(&spec.name) {
        return true;
    }
    let Some(sub) = argv.get(1) else {
        return false;
    };
    let full = format!(
        "{}|{}",
        spec.name,
        String::from_utf8_lossy(sub).to_ascii_lowercase()
    );
    DENIED.contains(&full.as_str())
}

/// Whether a command is one of the script runners (the node runs them, not a handler).
pub fn is_script_command(name: &str) -> bool {
    matches!(
        name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// One script run's state, shared by its hooks.
struct Run<'a> {
    node: &'a mut Node,
    /// The fake client the script's commands run as.
    client: Client,
    /// The caller's READONLY / ASKING (copied to `client` before each command).
    caller_readonly: bool,
    caller_asking: bool,
    read_only: bool,
    allow_oom: bool,
    allow_cross_slot: bool,
    /// Used memory was over maxmemory when the script started.
    oom_at_start: bool,
    /// A write command ran.
    dirty: bool,
    /// The slot the script's keys are in (cluster mode), once known.
    slot: Option<u16>,
    resp3: bool,
    /// redis.set_repl flags: bit 0 AOF, bit 1 replicas.
    repl: u8,
    /// Where redis.call leaves the command's argv.
    mailbox: super::Mailbox,
}

impl Run<'_> {
    /// redis.call / redis.pcall: (true, reply) or (false, error table).
    fn command(&mut self, lua: &Lua) -> mlua::Result<(bool, Value)> {
        let fail = |text: &str| -> mlua::Result<(bool, Value)> {
            Ok((false, convert::error_table(lua, text.as_bytes())?))
        };
        let taken = self
            .mailbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(argv) = taken else {
            return fail("ERR Please specify at least one argument for this redis lib call");
        };
        let spec = match self.check(&argv) {
            Ok(spec) => spec,
            Err(text) => {
                // Refused by the script checks: a rejected call of that command (Redis's
                // incrCommandStatsOnError with ERROR_COMMAND_REJECTED).
                if let Some(spec) = cmd::lookup(&argv[0]) {
                    *self.node.rest.stats.rejected.entry(spec.name).or_default() += 1;
                }
                // The refusal is an error reply of its own in the error stats; the script's
                // error, if it ends with it, is then not counted again.
                self.node.count_error(&Reply::error(text.clone()));
                let (ok, v) = fail(&text)?;
                mark_counted(&v)?;
                return Ok((ok, v));
            }
        };
        self.client.proto = if self.resp3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        self.client.readonly = self.caller_readonly;
        self.client.asking = self.caller_asking;
        let held_before = self.node.rest.repl.held_len();
        let reply = self.node.call(&mut self.client, spec, &argv);
        if self.repl & 2 == 0 {
            // redis.set_repl without REPL_REPLICA: the effects stay here.
            self.node.rest.repl.held_truncate(held_before);
        }
        let v = convert::reply_to_lua(lua, &reply, self.resp3)?;
        if reply.is_error() {
            // node.call counted it already.
            mark_counted(&v)?;
        }
        Ok((!reply.is_error(), v))
    }

    /// Redis's scriptCall checks, in its order; the error is the text of the error table.
    fn check(&mut self, argv: &[Bytes]) -> Result<&'static CommandSpec, String> {
        let Some(spec) = cmd::lookup(&argv[0]) else {
            return Err("ERR Unknown Redis command called from script".into());
        };
        if !spec.arity_ok(argv.len()) {
            return Err("ERR Wrong number of args calling Redis command from script".into());
        }
        if !self.node.rest.scripting.deny_disabled && denied(spec, argv) {
            return Err("ERR This Redis command is not allowed from script".into());
        }
        let client = &self.client;
        if let Some(d) = self
            .node
            .acl_denied(client, spec, argv, crate::acl::log::Context::Lua)
        {
            return Err(format!(
                "ERR The user executing the script {}",
                d.script_text()
            ));
        }
        let rest = &self.node.rest;
        if self.read_only && spec.is_write() {
            return Err("ERR Write commands are not allowed from read-only scripts.".into());
        }
        if spec.is_write() && !self.dirty {
            if rest.repl.is_replica() && rest.config.bool("replica-read-only") {
                return Err("READONLY You can't write against a read only replica.".into());
            }
            if let Some(e) = crate::persist::refuse(rest, spec) {
                return Err(e.to_string());
            }
            if !rest
                .repl
                .enough_good_replicas(&rest.config, rest.clock.mono_ms())
            {
                return Err(crate::replication::NOREPLICAS.into());
            }
        }
        if !self.allow_oom && !self.dirty && self.oom_at_start && spec.flags & flags::DENYOOM != 0 {
            return Err(crate::evict::OOM_ERROR.to_string());
        }
        if spec.is_write() {
            self.dirty = true;
            self.node.rest.scripting.busy.wrote();
        }
        if rest.cluster.is_some() {
            self.client.readonly = self.caller_readonly;
            self.client.asking = self.caller_asking;
            if let Some(e) = self.node.route(spec, argv, &self.client) {
                let text = e.to_string();
                return Err(
                    if text.starts_with("CLUSTERDOWN") && text.contains("read") {
                        "ERR Script attempted to execute a write command while the cluster is down and readonly".into()
                    } else if text.starts_with("CLUSTERDOWN") {
                        "ERR Script attempted to execute a command while the cluster is down".into()
                    } else {
                        "ERR Script attempted to access a non local key in a cluster node".into()
                    },
                );
            }
            let first_key = cmd::key_positions(spec, argv)
                .into_iter()
                .find_map(|i| argv.get(i));
            if let (Some(k), false) = (first_key, self.allow_cross_slot) {
                let slot = crate::slot::key_slot(k);
                match self.slot {
                    None => self.slot = Some(slot),
                    Some(s) if s != slot => {
                        return Err(
                            "ERR Script attempted to access keys that do not hash to the same slot"
                                .into(),
                        )
                    }
                    _ => {}
                }
            }
        }
        // XREAD / XREADGROUP with BLOCK is refused from scripts (Redis checks it while
        // parsing the options, before STREAMS), whatever the timeout.
        if matches!(spec.name, "xread" | "xreadgroup")
            && argv
                .iter()
                .skip(1)
                .take_while(|a| !a.eq_ignore_ascii_case(b"streams"))
                .any(|a| a.eq_ignore_ascii_case(b"block"))
        {
            return Err(format!(
                "ERR {} command is not allowed with BLOCK option from scripts",
                String::from_utf8_lossy(&argv[0])
            ));
        }
        Ok(spec)
    }

    /// redis.acl_check_cmd: whether the script's user may run the command with these arguments.
    fn acl_check(&mut self, lua: &Lua, args: Variadic<Value>) -> mlua::Result<(bool, Value)> {
        let fail = |text: &str| -> mlua::Result<(bool, Value)> {
            Ok((false, convert::error_table(lua, text.as_bytes())?))
        };
        if args.is_empty() {
            return fail("ERR Please specify at least one argument for this redis lib call");
        }
        let name = match &args[0] {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Number(n) => fmt_g(*n, 17).into_bytes(),
            _ => return fail("ERR Lua redis lib command arguments must be strings or integers"),
        };
        let Some(spec) = cmd::lookup(&name).filter(|s| s.arity_ok(args.len())) else {
            return fail("ERR Invalid command passed to redis.acl_check_cmd()");
        };
        let mut argv = Vec::with_capacity(args.len());
        for a in args.iter() {
            match a {
                Value::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
                Value::Number(n) => argv.push(Bytes::from(fmt_g(*n, 17))),
                Value::Integer(n) => argv.push(Bytes::from(n.to_string())),
                _ => {
                    return fail("ERR Lua redis lib command arguments must be strings or integers")
                }
            }
        }
        let allowed = self
            .node
            .rest
            .acl
            .check(&self.client.user, spec, &argv)
            .is_ok();
        Ok((true, Value::Boolean(allowed)))
    }
}

/// A Lua array of byte strings (KEYS, ARGV).
fn string_array(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// What to run: a cached script's compiled function and its flags, and the name errors cite.
pub struct Target {
    pub func: mlua::Function,
    pub flags: ScriptFlags,
    pub name: String,
    /// EVAL (globals KEYS / ARGV) or FCALL (arguments).
    pub eval_mode: bool,
    /// The FCALL command (FUNCTION STATS shows it while the function runs); empty for EVAL.
    pub argv: Vec<Bytes>,
}

/// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO.
pub fn eval(
    node: &mut Node,
    caller: &mut Client,
    spec: &CommandSpec,
    argv: &[Bytes],
) -> Result<Reply, CmdError> {
    if spec.name.starts_with("fcall") {
        return fcall(node, caller, spec, argv);
    }
    let evalsha = spec.name.starts_with("evalsha");
    let ro = spec.name.ends_with("_ro");
    if evalsha && argv[1].len() != 40 {
        return Err(CmdError::other(
            "NOSCRIPT No matching script. Please use EVAL.",
        ));
    }
    let numkeys = cmd::arg_i64(&argv[2])?;
    if numkeys > argv.len() as i64 - 3 {
        return Err(CmdError::other(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CmdError::other("ERR Number of keys can't be negative"));
    }
    let sha = if evalsha {
        String::from_utf8_lossy(&argv[1]).to_ascii_lowercase()
    } else {
        super::sha1::sha1_hex(&argv[1])
    };
    let scripting = &mut node.rest.scripting;
    if !scripting.scripts.contains_key(&sha) {
        if evalsha {
            return Err(CmdError::other(
                "NOSCRIPT No matching script. Please use EVAL.",
            ));
        }
        scripting
            .create(&argv[1])
            .map_err(|e| CmdError::other(e.0))?;
    }
    let Some(script) = scripting.scripts.get(&sha) else {
        return Err(CmdError::other(
            "NOSCRIPT No matching script. Please use EVAL.",
        ));
    };
    let target = Target {
        func: script.func.clone(),
        flags: script.flags,
        name: sha,
        eval_mode: true,
        argv: Vec::new(),
    };
    let n = numkeys as usize;
    run_script(node, caller, target, &argv[3..3 + n], &argv[3 + n..], ro)
}

/// FCALL, FCALL_RO.
fn fcall(
    node: &mut Node,
    caller: &mut Client,
    spec: &CommandSpec,
    argv: &[Bytes],
) -> Result<Reply, CmdError> {
    let name = String::from_utf8_lossy(&argv[1]).into_owned();
    let Some(def) = node.rest.scripting.functions.find(&name) else {
        return Err(CmdError::other("ERR Function not found"));
    };
    let target = Target {
        func: def.func.clone(),
        flags: def.flags,
        name,
        eval_mode: false,
        argv: argv.to_vec(),
    };
    let numkeys = cmd::parse_i64(&argv[2])
        .ok_or_else(|| CmdError::other("ERR Bad number of keys provided"))?;
    if numkeys > argv.len() as i64 - 3 {
        return Err(CmdError::other(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CmdError::other("ERR Number of keys can't be negative"));
    }
    let n = numkeys as usize;
    let ro = spec.name == "fcall_ro";
    run_script(node, caller, target, &argv[3..3 + n], &argv[3 + n..], ro)
}

/// Redis's scriptPrepareForRun checks for a script that declared its flags.
fn prepare(node: &Node, flags: &ScriptFlags, ro: bool, oom: bool) -> Result<(), CmdError> {
    if flags.compat {
        return Ok(());
    }
    if flags.no_cluster && node.rest.cluster.is_some() {
        return Err(CmdError::other(
            "ERR Can not run script on cluster, 'no-cluster' flag is set.",
        ));
    }
    if !flags.no_writes {
        if node.rest.repl.is_replica() && node.rest.config.bool("replica-read-only") {
            return Err(CmdError::other(
                "READONLY Can not run script with write flag on readonly replica",
            ));
        }
        if ro {
            return Err(CmdError::other(
                "ERR Can not execute a script with write flag using *_ro command.",
            ));
        }
        let now = node.rest.clock.mono_ms();
        if !node.rest.repl.enough_good_replicas(&node.rest.config, now) {
            return Err(CmdError::other(crate::replication::NOREPLICAS));
        }
    }
    if oom && !(flags.allow_oom || flags.no_writes) {
        return Err(CmdError::other(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
        ));
    }
    Ok(())
}

/// Runs a script or function with its keys and arguments; the reply to the caller.
pub fn run_script(
    node: &mut Node,
    caller: &mut Client,
    target: Target,
    keys: &[Bytes],
    args: &[Bytes],
    ro: bool,
) -> Result<Reply, CmdError> {
    let oom = node.rest.config.maxmemory_limit != u64::MAX
        && crate::evict::used_memory(&node.db) > node.rest.config.maxmemory_limit;
    prepare(node, &target.flags, ro, oom)?;
    let sc = &node.rest.scripting;
    let (lua, runner, hooks, hidden) = (
        sc.lua.clone(),
        sc.runner.clone(),
        sc.hooks.clone(),
        sc.hidden.clone(),
    );
    let lua_err = |e: mlua::Error| CmdError::other(format!("ERR {}", super::lua_error_text(&e)));
    let keys_t = string_array(&lua, keys).map_err(lua_err)?;
    let args_t = string_array(&lua, args).map_err(lua_err)?;
    let slot = match (node.rest.cluster.is_some(), keys.first()) {
        (true, Some(k)) => Some(crate::slot::key_slot(k)),
        _ => None,
    };
    let mut client = Client::new(u64::MAX, String::new(), String::new(), 0, true);
    // The script runs as its caller's user: redis.call is checked against its rules.
    client.user = caller.user.clone();
    client.in_exec = true;
    client.last_cmd = "eval";
    let mailbox = node.rest.scripting.mailbox.clone();
    let busy = node.rest.scripting.busy.clone();
    let fx = &node.rest.scripting.functions;
    busy.start(
        target.eval_mode,
        node.rest.clock.mono_ms(),
        node.rest.config.int("busy-reply-threshold").max(0) as u64,
        &target.name,
        &target.argv,
        (fx.libraries.len(), fx.index.len()),
    );
    busy.set_auth_required(node.rest.config.requirepass.is_some());
    let held = node.rest.repl.hold();
    // Redis's scriptTimeSnapshot: the commands a script runs see the time it started, so a
    // key expires before the script or after it, never in its middle.
    node.rest.scripting.time_snapshot_ms = Some(node.rest.clock.unix_ms());
    let flags = target.flags;
    let run = RefCell::new(Run {
        node,
        client,
        caller_readonly: caller.readonly,
        caller_asking: caller.asking,
        read_only: ro || (!flags.compat && flags.no_writes),
        allow_oom: !flags.compat && flags.allow_oom,
        allow_cross_slot: flags.compat || flags.allow_cross_slot,
        oom_at_start: oom,
        dirty: false,
        slot,
        resp3: false,
        repl: 3,
        mailbox,
    });
    let outcome = lua.scope(|scope| {
        hooks.raw_set(
            "cmd",
            scope.create_function(|lua, ()| run.borrow_mut().command(lua))?,
        )?;
        hooks.raw_set(
            "setresp",
            scope.create_function(|_, v: i64| {
                run.borrow_mut().resp3 = v == 3;
                Ok(())
            })?,
        )?;
        hooks.raw_set(
            "set_repl",
            scope.create_function(|_, v: i64| {
                run.borrow_mut().repl = v as u8;
                Ok(())
            })?,
        )?;
        hooks.raw_set(
            "acl_check_cmd",
            scope.create_function(|lua, args: Variadic<Value>| {
                run.borrow_mut().acl_check(lua, args)
            })?,
        )?;
        let (ok, v): (bool, Value) = if target.eval_mode {
            hidden.raw_set("KEYS", keys_t)?;
            hidden.raw_set("ARGV", args_t)?;
            runner.call(target.func.clone())?
        } else {
            runner.call((target.func.clone(), keys_t, args_t))?
        };
        let resp3 = run.borrow().resp3;
        let reply = if ok {
            convert::lua_to_reply(&v, resp3)
        } else {
            failure_reply(&v, &target.name)
        };
        Ok((reply, counted(&v)))
    });
    for name in ["cmd", "setresp", "set_repl", "acl_check_cmd"] {
        let _ = hooks.raw_set(name, Value::Nil);
    }
    let Run { node, dirty, .. } = run.into_inner();
    node.rest.scripting.time_snapshot_ms = None;
    if busy.end() {
        node.rest.scripting.restore_hook();
    }
    if held {
        node.rest.repl.release(!caller.in_exec);
    }
    if dirty {
        caller.woff = node.rest.repl.offset;
    }
    let (reply, counted) = outcome.map_err(lua_err)?;
    if counted && reply.is_error() {
        // Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE: the error was counted when the command
        // the script called failed; the script's reply still counts as a failed call.
        node.rest.stats.skip_error_count = true;
    }
    Ok(reply)
}

/// The field Redis sets on the error tables of redis.call / redis.pcall: the error was
/// already counted in the error stats (scripts can see it, as in Redis).
const COUNTED: &str = "ignore_error_stats_update";

fn mark_counted(v: &Value) -> mlua::Result<()> {
    if let Value::Table(t) = v {
        t.raw_set(COUNTED, true)?;
    }
    Ok(())
}

fn counted(v: &Value) -> bool {
    matches!(v, Value::Table(t) if t.raw_get::<Value>(COUNTED).ok() == Some(Value::Boolean(true)))
}

/// The reply for a script that raised an error: its message, where it came from.
fn failure_reply(v: &Value, name: &str) -> Reply {
    let Value::Table(t) = v else {
        let msg = super::lua_bytes(v).unwrap_or_default();
        return Reply::ErrorBytes(Bytes::from(
            format!(
                "ERR Error running script {name}, {:.100}",
                String::from_utf8_lossy(&msg)
            )
            .into_bytes(),
        ));
    };
    let get = |k: &str| super::lua_bytes(&t.raw_get::<Value>(k).unwrap_or(Value::Nil));
    let mut out = get("err").unwrap_or_default();
    if let (Some(source), Some(line)) = (get("source"), get("line")) {
        out.extend_from_slice(format!(" script: {name}, on ").as_bytes());
        out.extend_from_slice(&source);
        out.push(b':');
        out.extend_from_slice(&line);
        out.push(b'.');
    }
    Reply::ErrorBytes(Bytes::from(out))
}

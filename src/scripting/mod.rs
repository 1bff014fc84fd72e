//! Lua scripting: EVAL / EVALSHA and the SCRIPT cache, with Redis 7.0's semantics.
//!
//! One Lua 5.1 state per node (the version Redis embeds, through mlua) holds the libraries
//! Redis loads, the `redis` API and every cached script as a compiled function, named by the
//! SHA-1 of its body. The globals are locked as Redis locks them: a script can read what is
//! there and nothing else, and can write nothing. `redis.call` reaches the node through a
//! per-run hook (see [`run`]), so the commands a script runs take the node's normal path.

pub mod busy;
pub mod convert;
pub mod functions;
pub mod lazy;
pub mod libs;
pub mod numfmt;
pub mod rand48;
pub mod run;
pub mod sha1;
pub mod shebang;

use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value, Variadic};
use shebang::ScriptFlags;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The chunk name of user scripts: errors read `user_script:1: ...`.
pub const USER_SCRIPT: &str = "@user_script";
/// The chunk name of keyslot's own Lua code, skipped when an error is located.
const INTERNAL: &str = "@redis_internal";

/// One cached script.
pub struct Script {
    /// The body as sent (shebang included): SCRIPT LOAD / EVAL replicate it.
    pub body: Bytes,
    pub flags: ScriptFlags,
    /// The compiled chunk.
    pub func: Function,
}

/// A script that could not be created; the text is the whole error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateError(pub String);

/// The node's Lua engine and script cache.
pub struct Scripting {
    pub lua: Lua,
    /// Where the globals really live (the globals table itself stays empty and locked).
    pub hidden: Table,
    /// Per-run functions (`cmd`, `setresp`...) set while a script runs, nil otherwise.
    pub hooks: Table,
    /// `function(f) return xpcall(f, handler) end`.
    pub runner: Function,
    /// Cached scripts by lowercase hex SHA-1.
    pub scripts: BTreeMap<String, Script>,
    /// The scripts' math.random generator.
    pub rand: Arc<Mutex<rand48::Rand48>>,
    /// The argv redis.call hands to the running script's command hook (passed aside so a call
    /// with thousands of arguments never goes back through the Lua stack).
    pub mailbox: Mailbox,
    /// FUNCTION libraries, their functions, and the environment they run in.
    pub functions: functions::Functions,
    /// The running script's state, read by connections that do not hold the node.
    pub busy: Arc<busy::Busy>,
    /// The logger and clock the instruction hook uses.
    sink: LogSink,
}

/// See [`Scripting::mailbox`].
pub type Mailbox = Arc<Mutex<Option<Vec<Bytes>>>>;

/// What `redis.log` writes through: the node's logger and clock.
#[derive(Clone)]
pub struct LogSink {
    pub logger: Arc<crate::log::Logger>,
    pub clock: Arc<crate::clock::Clock>,
}

impl Scripting {
    /// A fresh engine: the libraries Redis loads, the redis API, the locked globals.
    /// `busy` is the node's (see [`lazy::LazyScripting::busy`]).
    pub fn new(sink: LogSink, busy: Arc<busy::Busy>) -> Scripting {
        match Self::build(sink, busy) {
            Ok(s) => s,
            // Building runs only keyslot's own fixed Lua code; failing is a bug, not input.
            Err(e) => panic!("building the Lua engine failed: {e}"),
        }
    }

    fn build(sink: LogSink, busy: Arc<busy::Busy>) -> mlua::Result<Scripting> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        let g = lua.globals();
        let rawpcall: Function = g.raw_get("pcall")?;
        for name in [
            "dofile", "loadfile", "print", "module", "require", "package",
        ] {
            g.raw_set(name, Value::Nil)?;
        }
        libs::register(&lua, &g)?;
        let redis = lua.create_table()?;
        redis.raw_set("REDIS_VERSION_NUM", 0x0007_000f)?;
        redis.raw_set("REDIS_VERSION", "7.0.15")?;
        for (name, level) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
        ] {
            redis.raw_set(name, level)?;
        }
        for (name, v) in [
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
        ] {
            redis.raw_set(name, v)?;
        }
        g.raw_set("redis", redis)?;
        let hooks = lua.create_table()?;
        let rand = Arc::new(Mutex::new(rand48::Rand48::default()));
        let mailbox: Mailbox = Arc::new(Mutex::new(None));
        install_hook(&lua, count_hook(), busy.clone(), sink.clone());
        let rust = Self::rust_helpers(&lua, sink.clone(), rand.clone(), &hooks, &mailbox)?;
        let runner: Function = lua
            .load(include_str!("prelude.lua"))
            .set_name(INTERNAL)
            .call((g.clone(), hooks.clone(), rust.clone()))?;
        // Move every global into the hidden table and lock the now empty globals.
        let hidden = lua.create_table()?;
        let mut names = Vec::new();
        for pair in g.pairs::<Value, Value>() {
            let (k, v) = pair?;
            hidden.raw_set(k.clone(), v)?;
            names.push(k);
        }
        for k in names {
            g.raw_set(k, Value::Nil)?;
        }
        // setmetatable as scripts see it refuses the locked tables (see [`guarded_setmetatable`]).
        let original: Function = hidden.raw_get("setmetatable")?;
        lua.set_named_registry_value(SETMETATABLE_KEY, original)?;
        let original: Function = hidden.raw_get("getmetatable")?;
        lua.set_named_registry_value(GETMETATABLE_KEY, original)?;
        // SAFETY: the guards only use the Lua C API on the state they are given.
        let (set_guard, get_guard) = unsafe {
            (
                lua.create_c_function(guarded_setmetatable)?,
                lua.create_c_function(guarded_getmetatable)?,
            )
        };
        let locked: Table = lua
            .load(include_str!("protect.lua"))
            .set_name(INTERNAL)
            .call((g, hidden.clone(), set_guard, get_guard))?;
        lua.set_named_registry_value(LOCKED_KEY, locked)?;
        let cwrap: Function = rust.raw_get("cwrap")?;
        let (env, state): (Table, Table) = lua
            .load(include_str!("functions.lua"))
            .set_name(INTERNAL)
            .call((hidden.clone(), cwrap))?;
        let functions = functions::Functions::new(env, state, rawpcall);
        Ok(Scripting {
            functions,
            lua,
            hidden,
            hooks,
            runner,
            scripts: BTreeMap::new(),
            rand,
            mailbox,
            busy,
            sink,
        })
    }

    /// After a killed script: the hook goes back to counting instructions.
    pub fn restore_hook(&self) {
        install_hook(
            &self.lua,
            count_hook(),
            self.busy.clone(),
            self.sink.clone(),
        );
    }

    /// The helpers the prelude wraps: sha1hex, log, random, randomseed, the error handler.
    fn rust_helpers(
        lua: &Lua,
        sink: LogSink,
        rand: Arc<Mutex<rand48::Rand48>>,
        hooks: &Table,
        mailbox: &Mailbox,
    ) -> mlua::Result<Table> {
        let t = lua.create_table()?;
        // redis.call / redis.pcall are raw C functions ([`call_entry`], [`pcall_entry`]): they
        // take the arguments off the Lua stack themselves, so a call with ~8000 arguments
        // (`unpack` of a big table) never needs the stack room mlua's callbacks ask for, then
        // run the Rust side below with the argv in the mailbox.
        for (name, inner_key, raise_errors) in
            [("call", CALL_INNER, true), ("pcall", PCALL_INNER, false)]
        {
            let (hooks, mailbox) = (hooks.clone(), mailbox.clone());
            let inner = lua.create_function(move |lua, bad: bool| {
                let fail = |text: &str| -> mlua::Result<Value> {
                    let v = convert::error_table(lua, text.as_bytes())?;
                    if raise_errors {
                        Err(mlua::Error::external(Raised(v)))
                    } else {
                        Ok(v)
                    }
                };
                let argv = mailbox
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .unwrap_or_default();
                let Some(cmd) = hooks.raw_get::<Option<Function>>("cmd")? else {
                    let v = convert::error_table(
                        lua,
                        b"ERR redis.call/pcall can only be called inside a script invocation",
                    )?;
                    return Err(mlua::Error::external(Raised(v)));
                };
                if argv.is_empty() && !bad {
                    return fail(
                        "ERR Please specify at least one argument for this redis lib call",
                    );
                }
                if bad {
                    return fail("ERR Lua redis lib command arguments must be strings or integers");
                }
                *mailbox.lock().unwrap_or_else(|p| p.into_inner()) = Some(argv);
                let (ok, v): (bool, Value) = cmd.call(())?;
                if !ok && raise_errors {
                    return Err(mlua::Error::external(Raised(v)));
                }
                Ok(v)
            })?;
            lua.set_named_registry_value(inner_key, inner)?;
            // SAFETY: the entry points only use the Lua C API on the state they are given.
            let entry = unsafe {
                lua.create_c_function(if raise_errors {
                    call_entry
                } else {
                    pcall_entry
                })?
            };
            t.raw_set(name, entry)?;
        }
        // The entry points find the mailbox through the registry (one per engine: several
        // nodes share a process in the tests and the simulator). The Arc lives as long as
        // the engine, so the pointer does too.
        lua.set_named_registry_value(
            MAILBOX_KEY,
            mlua::LightUserData(Arc::as_ptr(mailbox) as *mut std::ffi::c_void),
        )?;
        t.raw_set(
            "sha1hex",
            lua.create_function(|lua, v: Value| {
                let bytes = lua_bytes(&v).unwrap_or_default();
                lua.create_string(sha1::sha1_hex(&bytes))
            })?,
        )?;
        t.raw_set(
            "log",
            lua.create_function(move |_, (level, parts): (f64, Variadic<Value>)| {
                let level = match level as i64 {
                    0 => crate::log::Level::Debug,
                    1 => crate::log::Level::Verbose,
                    2 => crate::log::Level::Notice,
                    _ => crate::log::Level::Warning,
                };
                let words: Vec<String> = parts
                    .iter()
                    .filter_map(lua_bytes)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .collect();
                sink.logger
                    .log(level, sink.clock.unix_ms(), &words.join(" "));
                Ok(())
            })?,
        )?;
        let r = rand.clone();
        t.raw_set(
            "random",
            lua.create_function(move |_, ()| {
                let mut g = r.lock().unwrap_or_else(|p| p.into_inner());
                let max = rand48::LRAND48_MAX;
                Ok((g.draw() % max) as f64 / max as f64)
            })?,
        )?;
        t.raw_set(
            "randomseed",
            lua.create_function(move |_, seed: f64| {
                let mut g = rand.lock().unwrap_or_else(|p| p.into_inner());
                g.seed(seed as i64 as i32);
                Ok(())
            })?,
        )?;
        t.raw_set("handler", lua.create_function(error_handler)?)?;
        t.raw_set(
            "unraise",
            lua.create_function(|_, v: Value| Ok(unraise(v)))?,
        )?;
        let rawpcall: Function = lua.globals().raw_get("pcall")?;
        t.raw_set(
            "cwrap",
            lua.create_function(move |lua, f: Function| {
                let rawpcall = rawpcall.clone();
                lua.create_function(move |lua, args: MultiValue| {
                    let mut call = MultiValue::with_capacity(args.len() + 1);
                    call.push_back(Value::Function(f.clone()));
                    call.extend(args);
                    let mut res: MultiValue = rawpcall.call(call)?;
                    if res.pop_front() == Some(Value::Boolean(true)) {
                        return Ok(res);
                    }
                    let err = match res.pop_front().unwrap_or(Value::Nil) {
                        Value::String(s) => {
                            // luaL_error's position: the caller of this C function.
                            let mut msg = caller_position(lua).into_bytes();
                            msg.extend_from_slice(&s.as_bytes());
                            Value::String(lua.create_string(&msg)?)
                        }
                        other => other,
                    };
                    Err(mlua::Error::external(Raised(err)))
                })
            })?,
        )?;
        Ok(t)
    }

    /// Compiles and caches `body` (or finds it cached): its SHA-1, or the error reply text.
    pub fn create(&mut self, body: &Bytes) -> Result<String, CreateError> {
        let sha = sha1::sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = shebang::parse(body).map_err(|e| CreateError(format!("ERR {e}")))?;
        let func = self
            .lua
            .load(&body[skip..])
            .set_name(USER_SCRIPT)
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(self.lua.globals())
            .into_function()
            .map_err(|e| {
                CreateError(format!(
                    "ERR Error compiling script (new function): {}",
                    lua_error_text(&e)
                ))
            })?;
        self.scripts.insert(
            sha.clone(),
            Script {
                body: body.clone(),
                flags,
                func,
            },
        );
        Ok(sha)
    }

    /// SCRIPT FLUSH: forgets every script.
    pub fn flush(&mut self) {
        self.scripts.clear();
        let _ = self.lua.gc_collect();
    }

    /// Bytes the Lua state uses (INFO used_memory_lua).
    pub fn memory(&self) -> usize {
        self.lua.used_memory()
    }
}

/// The hook's usual trigger: every [`busy::HOOK_PERIOD`] instructions.
fn count_hook() -> mlua::HookTriggers {
    mlua::HookTriggers::new().every_nth_instruction(busy::HOOK_PERIOD)
}

/// The instruction hook (Redis's luaMaskCountHook): notes when a script passes
/// busy-reply-threshold and stops a script that SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE
/// asked to stop. Once killed it runs on every line, so a script that catches the error with
/// pcall meets it again on its next line. Only user code is stopped: keyslot's own Lua
/// (the runner that turns the error into the reply) finishes.
fn install_hook(lua: &Lua, triggers: mlua::HookTriggers, busy: Arc<busy::Busy>, sink: LogSink) {
    lua.set_hook(triggers, move |lua, debug| {
        if busy.load_timed_out(sink.clock.mono_ms()) {
            // As Redis's luaEngineLoadHook: from now on every line raises, so a pcall in the
            // loop cannot swallow the error.
            if !busy.line_hook_set() {
                busy.mark_line_hook();
                install_hook(
                    lua,
                    mlua::HookTriggers::EVERY_LINE,
                    busy.clone(),
                    sink.clone(),
                );
            }
            let v = convert::error_table(lua, LOAD_TIMEOUT.as_bytes())?;
            return Err(mlua::Error::external(Raised(v)));
        }
        let (stop, log) = busy.check(sink.clock.mono_ms());
        if let Some(line) = log {
            sink.logger
                .log(crate::log::Level::Warning, sink.clock.unix_ms(), &line);
        }
        if !stop {
            return Ok(mlua::VmState::Continue);
        }
        let user = matches!(
            debug.source().source.as_deref(),
            Some(USER_SCRIPT) | Some(run::USER_FUNCTION)
        );
        if !user {
            return Ok(mlua::VmState::Continue);
        }
        if !busy.line_hook_set() {
            sink.logger.log(
                crate::log::Level::Warning,
                sink.clock.unix_ms(),
                "Lua script killed by user with SCRIPT KILL.",
            );
            busy.mark_line_hook();
            install_hook(
                lua,
                mlua::HookTriggers::EVERY_LINE,
                busy.clone(),
                sink.clone(),
            );
        }
        let v = convert::error_table(lua, busy::KILLED.as_bytes())?;
        Err(mlua::Error::external(Raised(v)))
    });
}

/// The error a library's body gets past its time (see [`busy::Busy::start_load`]).
const LOAD_TIMEOUT: &str = "ERR FUNCTION LOAD timeout";

/// Registry keys of the Rust halves of redis.call / redis.pcall and of the mailbox.
const CALL_INNER: &str = "keyslot.call";
const PCALL_INNER: &str = "keyslot.pcall";
const MAILBOX_KEY: &str = "keyslot.mailbox";

/// Registry keys of the original setmetatable / getmetatable and of the locked tables.
const SETMETATABLE_KEY: &str = "keyslot.setmetatable";
const GETMETATABLE_KEY: &str = "keyslot.getmetatable";
const LOCKED_KEY: &str = "keyslot.locked";

/// Pushes what the locked-tables registry says about argument 1 (nil: not locked).
unsafe fn push_locked(l: *mut mlua::ffi::lua_State) {
    use mlua::ffi;
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, c"keyslot.locked".as_ptr());
    if ffi::lua_type(l, -1) == ffi::LUA_TTABLE && ffi::lua_gettop(l) > 1 {
        ffi::lua_pushvalue(l, 1);
        ffi::lua_rawget(l, -2);
        ffi::lua_remove(l, -2);
    } else {
        ffi::lua_settop(l, -2);
        ffi::lua_pushnil(l);
    }
}

/// Runs the original C function saved under `key` on the same stack: its argument errors
/// then name the function and the script line as Redis's do.
unsafe fn call_original(l: *mut mlua::ffi::lua_State, key: &std::ffi::CStr) -> std::ffi::c_int {
    use mlua::ffi;
    let top = ffi::lua_gettop(l);
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, key.as_ptr());
    let original = ffi::lua_tocfunction(l, -1);
    ffi::lua_settop(l, top);
    match original {
        Some(f) => f(l),
        None => 0,
    }
}

/// setmetatable for scripts: Redis's Lua marks the globals and the library tables read-only,
/// and its lua_setmetatable raises on them (without a script position). Other tables go to
/// the original C function.
unsafe extern "C-unwind" fn guarded_setmetatable(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    let top = ffi::lua_gettop(l);
    push_locked(l);
    let locked = ffi::lua_toboolean(l, -1) != 0;
    ffi::lua_settop(l, top);
    if locked {
        ffi::lua_pushstring(l, c"Attempt to modify a readonly table".as_ptr());
        ffi::lua_error(l);
    }
    call_original(l, c"keyslot.setmetatable")
}

/// getmetatable for scripts: the globals' metatable comes back as a read-only view (editing
/// it raises, as in Redis), the library tables have none (in Redis they are plain tables).
unsafe extern "C-unwind" fn guarded_getmetatable(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    let top = ffi::lua_gettop(l);
    push_locked(l);
    match ffi::lua_type(l, -1) {
        ffi::LUA_TTABLE => 1,
        ffi::LUA_TBOOLEAN => {
            ffi::lua_pushnil(l);
            1
        }
        _ => {
            ffi::lua_settop(l, top);
            call_original(l, c"keyslot.getmetatable")
        }
    }
}

/// redis.call's C entry point (see [`Scripting::rust_helpers`]).
unsafe extern "C-unwind" fn call_entry(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    entry(l, c"keyslot.call")
}

/// redis.pcall's C entry point.
unsafe extern "C-unwind" fn pcall_entry(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    entry(l, c"keyslot.pcall")
}

/// Takes the arguments (strings, numbers as Redis formats them) off the stack into the
/// engine's mailbox, then calls the Rust half with one argument: whether one was of another
/// type. Nothing that needs dropping is alive when the Rust half raises through here.
unsafe fn entry(l: *mut mlua::ffi::lua_State, inner: &std::ffi::CStr) -> std::ffi::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(l);
    let mut bad = false;
    let mut argv: Vec<Bytes> = Vec::with_capacity(n.max(0) as usize);
    for i in 1..=n {
        match ffi::lua_type(l, i) {
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(l, i, &mut len);
                argv.push(Bytes::copy_from_slice(std::slice::from_raw_parts(
                    p as *const u8,
                    len,
                )));
            }
            ffi::LUA_TNUMBER => {
                // Redis formats a number argument with "%.17g".
                argv.push(Bytes::from(numfmt::fmt_g(ffi::lua_tonumber(l, i), 17)));
            }
            _ => {
                bad = true;
                break;
            }
        }
    }
    let key = std::ffi::CString::new(MAILBOX_KEY).unwrap_or_default();
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, key.as_ptr());
    let mb = ffi::lua_touserdata(l, -1) as *const Mutex<Option<Vec<Bytes>>>;
    if !mb.is_null() {
        *(*mb).lock().unwrap_or_else(|p| p.into_inner()) = Some(argv);
    } else {
        drop(argv);
    }
    drop(key);
    ffi::lua_settop(l, 0);
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, inner.as_ptr());
    ffi::lua_pushboolean(l, bad as std::ffi::c_int);
    ffi::lua_call(l, 1, 1);
    1
}

/// The text of an mlua error as Lua itself would print it (no mlua decorations).
pub fn lua_error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_error_text(cause),
        other => other.to_string(),
    }
}

/// A Lua string or number as bytes (lua_tolstring's conversion, numbers as `%.14g`).
pub fn lua_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Number(n) => Some(numfmt::fmt_g(*n, 14).into_bytes()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

/// A Lua error value raised from a Rust function (mlua raises Rust errors as its own
/// userdata; this carries the value Redis would have raised, a table or a string).
#[derive(Debug)]
pub struct Raised(pub Value);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match lua_bytes(&self.0) {
            Some(b) => f.write_str(&String::from_utf8_lossy(&b)),
            None => f.write_str("error object"),
        }
    }
}

impl std::error::Error for Raised {}

fn find_raised(e: &mlua::Error) -> Option<&Raised> {
    match e {
        mlua::Error::CallbackError { cause, .. } => find_raised(cause),
        other => other.downcast_ref::<Raised>(),
    }
}

/// The value inside an error a Rust function raised ([`Raised`]), or `v` itself.
pub fn unraise(mut v: Value) -> Value {
    loop {
        let inner = match &v {
            Value::Error(e) => match find_raised(e) {
                Some(r) => r.0.clone(),
                None => return v,
            },
            _ => return v,
        };
        v = inner;
    }
}

/// `short_src:line: ` of the function that called the running C function (luaL_where(L, 1)).
pub fn caller_position(lua: &Lua) -> String {
    let Some(frame) = lua.inspect_stack(1) else {
        return String::new();
    };
    let line = frame.curr_line();
    let src = frame.source();
    match (src.short_src.as_deref(), line > 0) {
        (Some(short), true) => format!("{short}:{line}: "),
        _ => String::new(),
    }
}

/// A Lua error `msg` raised the way luaL_error raises it from a C function: a string
/// prefixed with the caller's position.
pub fn raise(lua: &Lua, msg: &str) -> mlua::Error {
    let text = format!("{}{msg}", caller_position(lua));
    match lua.create_string(&text) {
        Ok(s) => mlua::Error::external(Raised(Value::String(s))),
        Err(e) => e,
    }
}

/// The xpcall message handler (Redis's `__redis__err__handler`): turns any error into an
/// `{err=...}` table and records the script line that raised it.
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Value> {
    let t = match unraise(err) {
        Value::Table(t) => t,
        other => {
            let text = match lua_bytes(&other) {
                Some(b) => b,
                None => match &other {
                    Value::Error(e) => lua_error_text(e).into_bytes(),
                    Value::Nil => b"nil".to_vec(),
                    Value::Boolean(b) => b.to_string().into_bytes(),
                    v => format!("{}: {:p}", v.type_name(), v.to_pointer()).into_bytes(),
                },
            };
            let t = lua.create_table()?;
            let mut msg = b"ERR ".to_vec();
            msg.extend_from_slice(&text);
            t.raw_set("err", lua.create_string(&msg)?)?;
            t
        }
    };
    for level in 0..64 {
        let Some(frame) = lua.inspect_stack(level) else {
            break;
        };
        let src = frame.source();
        let Some(source) = src.source.as_deref() else {
            continue;
        };
        if source == USER_SCRIPT || source == run::USER_FUNCTION {
            t.raw_set("source", source)?;
            t.raw_set("line", frame.curr_line())?;
            break;
        }
    }
    Ok(Value::Table(t))
}

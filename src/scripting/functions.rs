//! FUNCTION libraries (Redis 7 functions): FUNCTION LOAD runs a library's body once, with
//! `redis.register_function` as its API, and keeps the functions it registered; FCALL runs one
//! of them with its keys and arguments (see `run::fcall`).

use super::shebang::ScriptFlags;
use super::{lua_bytes, lua_error_text, Scripting};
use bytes::Bytes;
use mlua::{Function, MultiValue, Table, Value};
use std::collections::BTreeMap;

/// One registered function.
pub struct FunctionDef {
    pub func: Function,
    pub flags: ScriptFlags,
    pub description: Option<Bytes>,
}

/// One loaded library.
pub struct Library {
    /// The code as loaded (shebang included): FUNCTION LIST WITHCODE, DUMP, replication.
    pub code: Bytes,
    pub functions: BTreeMap<String, FunctionDef>,
}

/// The libraries and the Lua side of loading them.
pub struct Functions {
    /// Libraries by name.
    pub libraries: BTreeMap<String, Library>,
    /// Lowercased function name -> (its library, its name as registered): FCALL finds
    /// functions case-insensitively, as Redis's function dictionary does.
    pub index: BTreeMap<String, (String, String)>,
    env: Table,
    state: Table,
    rawpcall: Function,
}

/// `letters, digits, _`, at least one: the names Redis accepts for libraries and functions.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// functionExtractLibMetaData: (engine, library name, offset of the body in the code). The
/// shebang line is split as Redis's sdssplitargs splits it, so `name="foo"` names `foo`.
fn metadata(code: &[u8]) -> Result<(String, String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let parts = match crate::resp::request::split_args(&code[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("Invalid library metadata".into()),
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let engine = text(parts[0].get(2..).unwrap_or_default());
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(text(&part[5..]));
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", text(part)));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok((engine, name, end))
}

impl Functions {
    pub fn new(env: Table, state: Table, rawpcall: Function) -> Functions {
        Functions {
            libraries: BTreeMap::new(),
            index: BTreeMap::new(),
            env,
            state,
            rawpcall,
        }
    }

    /// Forgets every library (FUNCTION FLUSH, FUNCTION RESTORE FLUSH).
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.index.clear();
    }

    /// Removes a library; false when there is none by that name.
    pub fn delete(&mut self, name: &str) -> bool {
        let Some(lib) = self.libraries.remove(name) else {
            return false;
        };
        for f in lib.functions.keys() {
            self.index.remove(&f.to_lowercase());
        }
        true
    }

    /// The function called `name` and its library's name.
    pub fn find(&self, name: &str) -> Option<&FunctionDef> {
        let (lib, original) = self.index.get(&name.to_lowercase())?;
        self.libraries.get(lib)?.functions.get(original)
    }
}

impl Scripting {
    /// Loads a library with no time limit (RDB files, the AOF, FUNCTION RESTORE: Redis gives
    /// those no timeout). See [`Scripting::load_library_timed`].
    pub fn load_library(&mut self, code: &Bytes, replace: bool) -> Result<String, String> {
        self.load_library_timed(code, replace, 0)
    }

    /// FUNCTION LOAD: compiles and runs the library, links its functions. The library name, or
    /// the error text (after `ERR `). A body that runs longer than `timeout_ms` (0: no limit)
    /// is stopped with `FUNCTION LOAD timeout`, as Redis stops it.
    pub fn load_library_timed(
        &mut self,
        code: &Bytes,
        replace: bool,
        timeout_ms: u64,
    ) -> Result<String, String> {
        let (engine, name, body_at) = metadata(code)?;
        if !valid_name(name.as_bytes()) {
            return Err(BAD_NAME.into());
        }
        if !engine.eq_ignore_ascii_case("lua") {
            return Err(format!("Engine '{engine}' not found"));
        }
        let fx = &self.functions;
        if fx.libraries.contains_key(&name) && !replace {
            return Err(format!("Library '{name}' already exists"));
        }
        let chunk = self
            .lua
            .load(&code[body_at..])
            .set_name(super::run::USER_FUNCTION)
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(fx.env.clone())
            .into_function()
            .map_err(|e| format!("Error compiling function: {}", lua_error_text(&e)))?;
        let registered = self.lua.create_table().map_err(|e| e.to_string())?;
        let set = |k: &str, v: Value| fx.state.raw_set(k, v).map_err(|e| e.to_string());
        set("registered", Value::Table(registered.clone()))?;
        set("loading", Value::Boolean(true))?;
        if timeout_ms > 0 {
            self.busy
                .start_load(self.sink.clock.mono_ms().saturating_add(timeout_ms));
        }
        let outcome: mlua::Result<MultiValue> = fx.rawpcall.call(chunk);
        if timeout_ms > 0 && self.busy.end_load() {
            self.restore_hook();
        }
        set("loading", Value::Boolean(false))?;
        set("registered", Value::Nil)?;
        let mut outcome = outcome.map_err(|e| lua_error_text(&e))?;
        if outcome.pop_front() != Some(Value::Boolean(true)) {
            let err = super::unraise(outcome.pop_front().unwrap_or(Value::Nil));
            let msg = match &err {
                Value::Table(t) => lua_bytes(&t.raw_get::<Value>("err").unwrap_or(Value::Nil))
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default(),
                other => format!(
                    "ERR {}",
                    String::from_utf8_lossy(&lua_bytes(other).unwrap_or_default())
                ),
            };
            return Err(format!("Error registering functions: {msg}"));
        }
        let mut functions = BTreeMap::new();
        for pair in registered.pairs::<String, Table>() {
            let (fname, def) = pair.map_err(|e| e.to_string())?;
            let mut flags = ScriptFlags::default();
            if let Ok(list) = def.raw_get::<Table>("flags") {
                for f in list.sequence_values::<String>().flatten() {
                    flags.set(f.as_bytes());
                }
            }
            let description = def
                .raw_get::<Option<mlua::String>>("description")
                .ok()
                .flatten()
                .map(|s| Bytes::copy_from_slice(&s.as_bytes()));
            let func: Function = def.raw_get("callback").map_err(|e| e.to_string())?;
            functions.insert(
                fname,
                FunctionDef {
                    func,
                    flags,
                    description,
                },
            );
        }
        if functions.is_empty() {
            return Err("No functions registered".into());
        }
        let fx = &mut self.functions;
        for fname in functions.keys() {
            if let Some((owner, _)) = fx.index.get(&fname.to_lowercase()) {
                if *owner != name {
                    return Err(format!("Function {fname} already exists"));
                }
            }
        }
        fx.delete(&name);
        for fname in functions.keys() {
            fx.index
                .insert(fname.to_lowercase(), (name.clone(), fname.clone()));
        }
        fx.libraries.insert(
            name.clone(),
            Library {
                code: code.clone(),
                functions,
            },
        );
        Ok(name)
    }
}

impl Scripting {
    /// The libraries' codes in name order: what an RDB file (RDB_OPCODE_FUNCTION2) carries.
    pub fn library_codes(&self) -> Vec<Bytes> {
        self.functions
            .libraries
            .values()
            .map(|l| l.code.clone())
            .collect()
    }

    /// Replaces every library with those of a loaded RDB file (startup, full sync, DEBUG
    /// RELOAD); the error names the first library that does not load.
    pub fn load_snapshot_libraries(&mut self, codes: &[Bytes]) -> Result<(), String> {
        self.functions.flush();
        for code in codes {
            self.load_library(code, false)?;
        }
        Ok(())
    }
}

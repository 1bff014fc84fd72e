//! `cjson.encode` / `cjson.decode` with the behaviour of the lua-cjson Redis bundles (default
//! configuration): numbers as `%.14g`, `/` escaped, tables as arrays only when every key is a
//! positive integer and the array is not excessively sparse, `cjson.null` for JSON null, and
//! its error messages.

use crate::scripting::numfmt::fmt_g;
use crate::scripting::raise;
use mlua::{LightUserData, Lua, Table, Value};
use std::sync::{Arc, Mutex};

/// The settings scripts may change (cjson.encode_max_depth(n) ...); they last for the node's
/// life, as in Redis, whose cjson keeps them in the module.
#[derive(Debug, Clone, Copy)]
struct Config {
    encode_max_depth: usize,
    decode_max_depth: usize,
    encode_invalid_numbers: bool,
    encode_keep_buffer: bool,
    precision: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: false,
            encode_keep_buffer: true,
            precision: 14,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

fn cfg(c: &Shared) -> Config {
    *c.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `cjson` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let shared: Shared = Arc::new(Mutex::new(Config::default()));
    let c = shared.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, v: Value| {
            let mut out = Vec::new();
            encode(lua, &cfg(&c), &v, 0, &mut out)?;
            lua.create_string(&out)
        })?,
    )?;
    let c = shared.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, s: mlua::String| {
            let bytes = s.as_bytes().to_vec();
            let mut p = Parser {
                lua,
                s: &bytes,
                pos: 0,
                depth: 0,
                max_depth: cfg(&c).decode_max_depth,
            };
            let v = p.value()?;
            p.skip_ws();
            if p.pos < p.s.len() {
                let found = p.token_name();
                return Err(p.expected("the end", found));
            }
            Ok(v)
        })?,
    )?;
    type Setter = fn(&mut Config, Option<f64>) -> Value;
    let setters: [(&str, Setter); 5] = [
        ("encode_max_depth", |c, v| {
            if let Some(v) = v {
                c.encode_max_depth = v.max(1.0) as usize;
            }
            Value::Number(c.encode_max_depth as f64)
        }),
        ("decode_max_depth", |c, v| {
            if let Some(v) = v {
                c.decode_max_depth = v.max(1.0) as usize;
            }
            Value::Number(c.decode_max_depth as f64)
        }),
        ("encode_number_precision", |c, v| {
            if let Some(v) = v {
                c.precision = v.clamp(1.0, 14.0) as usize;
            }
            Value::Number(c.precision as f64)
        }),
        ("encode_invalid_numbers", |c, v| {
            if let Some(v) = v {
                c.encode_invalid_numbers = v != 0.0;
            }
            Value::Boolean(c.encode_invalid_numbers)
        }),
        ("encode_keep_buffer", |c, v| {
            if let Some(v) = v {
                c.encode_keep_buffer = v != 0.0;
            }
            Value::Boolean(c.encode_keep_buffer)
        }),
    ];
    for (name, set) in setters {
        let c = shared.clone();
        t.raw_set(
            name,
            lua.create_function(move |_, v: Option<Value>| {
                let arg = match v {
                    Some(Value::Boolean(b)) => Some(b as i64 as f64),
                    Some(Value::Number(n)) => Some(n),
                    Some(Value::Integer(n)) => Some(n as f64),
                    Some(Value::String(s)) => Some(match &*s.as_bytes() {
                        b"on" | b"true" => 1.0,
                        b"off" | b"false" => 0.0,
                        other => std::str::from_utf8(other)
                            .ok()
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0.0),
                    }),
                    _ => None,
                };
                let mut g = c.lock().unwrap_or_else(|p| p.into_inner());
                Ok(set(&mut g, arg))
            })?,
        )?;
    }
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Integer(_) => "number",
        other => other.type_name(),
    }
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

fn encode_number(lua: &Lua, c: &Config, n: f64, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() && !c.encode_invalid_numbers {
        return Err(raise(
            lua,
            "Cannot serialise number: must not be NaN or Inf",
        ));
    }
    out.extend_from_slice(fmt_g(n, c.precision).as_bytes());
    Ok(())
}

/// lua-cjson's lua_array_length: Some(max index) for an array, None for an object.
fn array_length(lua: &Lua, t: &Table) -> mlua::Result<Option<usize>> {
    let (mut max, mut items) = (0usize, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => return Ok(None),
        };
        if n < 1.0 || n.floor() != n {
            return Ok(None);
        }
        max = max.max(n as usize);
        items += 1;
    }
    if max > 10 && max > items * 2 {
        return Err(raise(
            lua,
            "Cannot serialise table: excessively sparse array",
        ));
    }
    Ok(Some(max))
}

fn encode(lua: &Lua, c: &Config, v: &Value, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => encode_number(lua, c, *n, out)?,
        Value::Integer(n) => encode_number(lua, c, *n as f64, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > c.encode_max_depth {
                return Err(raise(
                    lua,
                    &format!("Cannot serialise, excessive nesting ({depth})"),
                ));
            }
            match array_length(lua, t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item: Value = t.raw_get(i)?;
                        encode(lua, c, &item, depth, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, item) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Number(n) => {
                                out.push(b'"');
                                encode_number(lua, c, *n, out)?;
                                out.push(b'"');
                            }
                            Value::Integer(n) => {
                                out.extend_from_slice(format!("\"{n}\"").as_bytes());
                            }
                            other => {
                                return Err(raise(
                                    lua,
                                    &format!(
                                        "Cannot serialise {}: table key must be a number or string",
                                        type_name(other)
                                    ),
                                ))
                            }
                        }
                        out.push(b':');
                        encode(lua, c, &item, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(raise(
                lua,
                &format!("Cannot serialise {}: type not supported", type_name(other)),
            ))
        }
    }
    Ok(())
}

struct Parser<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// The name lua-cjson prints for the token at the current position.
    fn token_name(&self) -> &'static str {
        match self.s.get(self.pos) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b'"') => "T_STRING",
            Some(b':') => "T_COLON",
            Some(b',') => "T_COMMA",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            Some(_) if self.s[self.pos..].starts_with(b"true") => "T_BOOLEAN",
            Some(_) if self.s[self.pos..].starts_with(b"false") => "T_BOOLEAN",
            Some(_) if self.s[self.pos..].starts_with(b"null") => "T_NULL",
            Some(_) => "invalid token",
        }
    }

    fn expected(&self, what: &str, found: &str) -> mlua::Error {
        raise(
            self.lua,
            &format!(
                "Expected {what} but found {found} at character {}",
                self.pos + 1
            ),
        )
    }

    fn descend(&mut self) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(raise(
                self.lua,
                &format!(
                    "Found too many nested data structures ({}) at character {}",
                    self.depth, self.pos
                ),
            ));
        }
        Ok(())
    }

    fn value(&mut self) -> mlua::Result<Value> {
        self.skip_ws();
        let rest = &self.s[self.pos..];
        match rest.first() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ if rest.starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            _ if rest.starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            _ if rest.starts_with(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            _ => {
                let found = self.token_name();
                Err(self.expected("value", found))
            }
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        let mut end = start;
        while end < self.s.len()
            && matches!(self.s[end], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        {
            end += 1;
        }
        let text = std::str::from_utf8(&self.s[start..end]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) => {
                self.pos = end;
                Ok(Value::Number(n))
            }
            Err(_) => Err(self.expected("value", "invalid number")),
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    fn string(&mut self) -> mlua::Result<mlua::String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                self.pos = start;
                return Err(self.expected("value", "unexpected end of string"));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        self.pos = start;
                        return Err(self.expected("value", "unexpected end of string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let bad = |p: &mut Self| {
                                p.pos = start;
                                p.expected("value", "invalid unicode escape code")
                            };
                            let Some(mut cp) = self.hex4(self.pos) else {
                                return Err(bad(self));
                            };
                            self.pos += 4;
                            if (0xD800..0xDC00).contains(&cp) {
                                let low = if self.s.get(self.pos..self.pos + 2) == Some(b"\\u") {
                                    self.hex4(self.pos + 2)
                                } else {
                                    None
                                };
                                match low {
                                    Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                        self.pos += 6;
                                    }
                                    _ => return Err(bad(self)),
                                }
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Err(bad(self));
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.pos = start;
                            return Err(self.expected("value", "invalid escape code"));
                        }
                    }
                }
                _ => out.push(c),
            }
        }
        self.lua.create_string(&out)
    }

    fn array(&mut self) -> mlua::Result<Value> {
        self.descend()?;
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let v = self.value()?;
            t.raw_set(i, v)?;
            i += 1;
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    let found = self.token_name();
                    return Err(self.expected("comma or array end", found));
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn object(&mut self) -> mlua::Result<Value> {
        self.descend()?;
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                let found = self.token_name();
                return Err(self.expected("object key string", found));
            }
            let k = self.string()?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b':') {
                let found = self.token_name();
                return Err(self.expected("colon", found));
            }
            self.pos += 1;
            let v = self.value()?;
            t.raw_set(k, v)?;
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    let found = self.token_name();
                    return Err(self.expected("comma or object end", found));
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }
}

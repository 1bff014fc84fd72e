//! `cmsgpack.pack` / `unpack` / `unpack_one` / `unpack_limit` as Redis's lua_cmsgpack encodes
//! and decodes: integers in the smallest form, floats as float32 when exact, tables as arrays
//! only when their keys are exactly 1..n, nesting beyond 16 levels packed as nil.

use crate::scripting::raise;
use mlua::{Lua, MultiValue, Table, Value};

const MAX_NESTING: usize = 16;

/// The `cmsgpack` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(raise(
                    lua,
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                ));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode(v, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, s: mlua::String| unpack(lua, &s.as_bytes(), 0, 0))?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, (s, offset): (mlua::String, Option<i64>)| {
            unpack(lua, &s.as_bytes(), 1, offset.unwrap_or(0))
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(
            |lua, (s, limit, offset): (mlua::String, Option<i64>, Option<i64>)| {
                unpack(lua, &s.as_bytes(), limit.unwrap_or(0), offset.unwrap_or(0))
            },
        )?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && (n as i64) as f64 == n {
        encode_int(n as i64, out);
    } else if (n as f32) as f64 == n || n.is_nan() {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(n: usize, fix: u8, fix_max: usize, b16: u8, b32: u8, out: &mut Vec<u8>) {
    if n <= fix_max {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// lua_cmsgpack's table_is_an_array: every key a positive integer, and as many keys as the
/// largest one.
fn is_array(t: &Table) -> mlua::Result<bool> {
    let (mut max, mut count) = (0f64, 0f64);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => return Ok(false),
        };
        if n <= 0.0 || !n.is_finite() || (n as i64) as f64 != n {
            return Ok(false);
        }
        max = f64::max(max, n);
        count += 1.0;
    }
    Ok(max == count)
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            if b.len() < 32 {
                out.push(0xa0 | b.len() as u8);
            } else if b.len() <= 0xff {
                out.extend_from_slice(&[0xd9, b.len() as u8]);
            } else if b.len() <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(b.len() as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            }
            out.extend_from_slice(&b);
        }
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => encode_number(*n, out),
        Value::Integer(n) => encode_int(*n, out),
        Value::Table(t) if level < MAX_NESTING => {
            if is_array(t)? {
                let len = t.raw_len();
                encode_len(len, 0x90, 15, 0xdc, 0xdd, out);
                for i in 1..=len {
                    let item: Value = t.get(i)?;
                    encode(&item, level + 1, out)?;
                }
            } else {
                // Two passes rather than collecting: every Lua value held from Rust takes a
                // slot of mlua's reference stack, which a big table would overflow.
                let len = t.pairs::<Value, Value>().count();
                encode_len(len, 0x80, 15, 0xde, 0xdf, out);
                for pair in t.pairs::<Value, Value>() {
                    let (k, item) = pair?;
                    encode(&k, level + 1, out)?;
                    encode(&item, level + 1, out)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

/// A decoding failure: missing bytes or a byte that starts no known type.
enum Bad {
    Eof,
    Format,
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Bad> {
        if self.s.len() - self.pos < n {
            return Err(Bad::Eof);
        }
        let b = &self.s[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn uint(&mut self, n: usize) -> Result<u64, Bad> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }

    fn decode(&mut self, lua: &Lua) -> Result<Value, Bad> {
        let lua_err = |_| Bad::Format;
        let tag = self.take(1)?[0];
        let num = |n: f64| Ok(Value::Number(n));
        match tag {
            0x00..=0x7f => num(tag as f64),
            0xe0..=0xff => num(tag as i8 as f64),
            0xcc => num(self.uint(1)? as f64),
            0xcd => num(self.uint(2)? as f64),
            0xce => num(self.uint(4)? as f64),
            0xcf => num(self.uint(8)? as f64),
            0xd0 => num(self.uint(1)? as u8 as i8 as f64),
            0xd1 => num(self.uint(2)? as u16 as i16 as f64),
            0xd2 => num(self.uint(4)? as u32 as i32 as f64),
            0xd3 => num(self.uint(8)? as i64 as f64),
            0xc0 => Ok(Value::Nil),
            0xc3 => Ok(Value::Boolean(true)),
            0xc2 => Ok(Value::Boolean(false)),
            0xca => num(f32::from_bits(self.uint(4)? as u32) as f64),
            0xcb => num(f64::from_bits(self.uint(8)?)),
            0xa0..=0xbf | 0xd9 | 0xda | 0xdb => {
                let len = match tag {
                    0xd9 => self.uint(1)? as usize,
                    0xda => self.uint(2)? as usize,
                    0xdb => self.uint(4)? as usize,
                    _ => (tag & 0x1f) as usize,
                };
                let b = self.take(len)?;
                Ok(Value::String(lua.create_string(b).map_err(lua_err)?))
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                let len = match tag {
                    0xdc => self.uint(2)? as usize,
                    0xdd => self.uint(4)? as usize,
                    _ => (tag & 0x0f) as usize,
                };
                let t = lua.create_table().map_err(lua_err)?;
                for i in 1..=len {
                    let v = self.decode(lua)?;
                    t.raw_set(i, v).map_err(lua_err)?;
                }
                Ok(Value::Table(t))
            }
            0x80..=0x8f | 0xde | 0xdf => {
                let len = match tag {
                    0xde => self.uint(2)? as usize,
                    0xdf => self.uint(4)? as usize,
                    _ => (tag & 0x0f) as usize,
                };
                let t = lua.create_table().map_err(lua_err)?;
                for _ in 0..len {
                    let k = self.decode(lua)?;
                    let v = self.decode(lua)?;
                    if !k.is_nil() {
                        t.raw_set(k, v).map_err(lua_err)?;
                    }
                }
                Ok(Value::Table(t))
            }
            _ => Err(Bad::Format),
        }
    }
}

/// mp_unpack_full: every value (limit 0, offset 0), or up to `limit` values from `offset`
/// preceded by the next offset (-1 at the end).
fn unpack(lua: &Lua, s: &[u8], limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    if offset < 0 || limit < 0 {
        return Err(raise(
            lua,
            &format!(
                "Invalid request to unpack with offset of {offset} and limit of {}.",
                s.len()
            ),
        ));
    }
    if offset as usize > s.len() {
        return Err(raise(
            lua,
            &format!(
                "Start offset {offset} greater than input length {}.",
                s.len()
            ),
        ));
    }
    let all = limit == 0 && offset == 0;
    let limit = if all { i64::MAX } else { limit };
    let mut c = Cursor {
        s,
        pos: offset as usize,
    };
    let mut out = MultiValue::new();
    let mut n = 0;
    while c.pos < s.len() && n < limit {
        match c.decode(lua) {
            Ok(v) => out.push_back(v),
            Err(Bad::Eof) => return Err(raise(lua, "Missing bytes in input.")),
            Err(Bad::Format) => return Err(raise(lua, "Bad data format in input.")),
        }
        n += 1;
    }
    if !all {
        let next = if c.pos == s.len() { -1 } else { c.pos as i64 };
        out.push_front(Value::Number(next as f64));
    }
    Ok(out)
}

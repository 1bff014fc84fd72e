//! `struct.pack` / `struct.unpack` / `struct.size` (Roberto Ierusalimschy's lstrlib-style
//! struct library that Redis bundles): binary packing with `<` `>` `!` endianness and
//! alignment, `b B h H l L T i[n] I[n]` integers, `f d` floats, `c[n]` and `s` strings, `x`
//! padding.

use crate::scripting::raise;
use mlua::{Lua, MultiValue, Table, Value, Variadic};

const MAXINTSIZE: usize = 32;

struct Fmt<'a> {
    f: &'a [u8],
    pos: usize,
    little: bool,
    align: usize,
}

/// One item of a format.
enum Item {
    Int { size: usize, signed: bool },
    Float,
    Double,
    Chars(usize),
    ZString,
    Pad,
    None,
}

impl Fmt<'_> {
    fn number(&mut self, default: usize) -> usize {
        let start = self.pos;
        while self.pos < self.f.len() && self.f[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        std::str::from_utf8(&self.f[start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    }

    fn next(&mut self, lua: &Lua) -> mlua::Result<Option<(Item, usize)>> {
        let Some(&c) = self.f.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let item = match c {
            b'b' => Item::Int {
                size: 1,
                signed: true,
            },
            b'B' => Item::Int {
                size: 1,
                signed: false,
            },
            b'h' => Item::Int {
                size: 2,
                signed: true,
            },
            b'H' => Item::Int {
                size: 2,
                signed: false,
            },
            b'l' => Item::Int {
                size: 8,
                signed: true,
            },
            b'L' | b'T' => Item::Int {
                size: 8,
                signed: false,
            },
            b'i' | b'I' => {
                let size = self.number(4);
                if size > MAXINTSIZE {
                    return Err(raise(
                        lua,
                        &format!("integral size {size} is larger than limit of {MAXINTSIZE}"),
                    ));
                }
                Item::Int {
                    size,
                    signed: c == b'i',
                }
            }
            b'f' => Item::Float,
            b'd' => Item::Double,
            b'c' => Item::Chars(self.number(1)),
            b's' => Item::ZString,
            b'x' => Item::Pad,
            b' ' => Item::None,
            b'<' => {
                self.little = true;
                Item::None
            }
            b'>' => {
                self.little = false;
                Item::None
            }
            b'!' => {
                let a = self.number(8);
                if !a.is_power_of_two() {
                    return Err(raise(lua, &format!("alignment {a} is not a power of 2")));
                }
                self.align = a;
                Item::None
            }
            other => {
                return Err(raise(
                    lua,
                    &format!("invalid format option '{}'", other as char),
                ))
            }
        };
        let size = match &item {
            Item::Int { size, .. } => *size,
            Item::Float => 4,
            Item::Double => 8,
            Item::Chars(n) => *n,
            Item::Pad => 1,
            _ => 0,
        };
        Ok(Some((item, size)))
    }

    /// Padding before an item of `size` at `at` (its natural alignment, capped by `!`).
    fn padding(&self, item: &Item, size: usize, at: usize) -> usize {
        let natural = matches!(item, Item::Int { .. } | Item::Float | Item::Double);
        if !natural || size <= 1 {
            return 0;
        }
        let align = size.min(self.align);
        if !align.is_power_of_two() {
            return 0;
        }
        (align - (at & (align - 1))) & (align - 1)
    }
}

fn fmt(f: &[u8]) -> Fmt<'_> {
    Fmt {
        f,
        pos: 0,
        little: cfg!(target_endian = "little"),
        align: 1,
    }
}

fn number_arg(lua: &Lua, v: Option<&Value>, i: usize) -> mlua::Result<f64> {
    match v {
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::String(s)) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| {
                raise(
                    lua,
                    &format!("bad argument #{i} to 'pack' (number expected, got string)"),
                )
            }),
        other => Err(raise(
            lua,
            &format!(
                "bad argument #{i} to 'pack' (number expected, got {})",
                other.map_or("no value", |v| v.type_name())
            ),
        )),
    }
}

fn string_arg(lua: &Lua, v: Option<&Value>, i: usize) -> mlua::Result<Vec<u8>> {
    match v {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Number(_) | Value::Integer(_))) => {
            Ok(crate::scripting::lua_bytes(v).unwrap_or_default())
        }
        other => Err(raise(
            lua,
            &format!(
                "bad argument #{i} to 'pack' (string expected, got {})",
                other.map_or("no value", |v| v.type_name())
            ),
        )),
    }
}

fn put_int(out: &mut Vec<u8>, v: u64, size: usize, little: bool) {
    let mut bytes = vec![0u8; size];
    for (i, b) in bytes.iter_mut().enumerate().take(size.min(8)) {
        *b = (v >> (8 * i)) as u8;
    }
    if size > 8 && (v as i64) < 0 {
        for b in bytes.iter_mut().skip(8) {
            *b = 0xff;
        }
    }
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn pack(lua: &Lua, f: &[u8], args: &[Value]) -> mlua::Result<Vec<u8>> {
    let mut fm = fmt(f);
    let mut out = Vec::new();
    let mut arg = 0;
    while let Some((item, size)) = fm.next(lua)? {
        let pad = fm.padding(&item, size, out.len());
        out.resize(out.len() + pad, 0);
        match item {
            Item::Int { size, signed } => {
                let n = number_arg(lua, args.get(arg), arg + 2)?;
                arg += 1;
                let v = if signed { n as i64 as u64 } else { n as u64 };
                put_int(&mut out, v, size, fm.little);
            }
            Item::Float => {
                let n = number_arg(lua, args.get(arg), arg + 2)? as f32;
                arg += 1;
                let b = if fm.little {
                    n.to_le_bytes()
                } else {
                    n.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            Item::Double => {
                let n = number_arg(lua, args.get(arg), arg + 2)?;
                arg += 1;
                let b = if fm.little {
                    n.to_le_bytes()
                } else {
                    n.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            Item::Chars(n) => {
                let s = string_arg(lua, args.get(arg), arg + 2)?;
                arg += 1;
                let n = if n == 0 { s.len() } else { n };
                if s.len() < n {
                    return Err(raise(
                        lua,
                        &format!("bad argument #{} to 'pack' (string too short)", arg + 1),
                    ));
                }
                out.extend_from_slice(&s[..n]);
            }
            Item::ZString => {
                let s = string_arg(lua, args.get(arg), arg + 2)?;
                arg += 1;
                if s.contains(&0) {
                    return Err(raise(
                        lua,
                        &format!(
                            "bad argument #{} to 'pack' (string contains zeros)",
                            arg + 1
                        ),
                    ));
                }
                out.extend_from_slice(&s);
                out.push(0);
            }
            Item::Pad => out.push(0),
            Item::None => {}
        }
    }
    Ok(out)
}

fn unpack(lua: &Lua, f: &[u8], data: &[u8], start: usize) -> mlua::Result<MultiValue> {
    let mut fm = fmt(f);
    let mut pos = start;
    let mut out = MultiValue::new();
    let short = |lua: &Lua| raise(lua, "bad argument #2 to 'unpack' (data string too short)");
    while let Some((item, size)) = fm.next(lua)? {
        pos += fm.padding(&item, size, pos);
        match item {
            Item::Int { size, signed } => {
                let b = data.get(pos..pos + size).ok_or_else(|| short(lua))?;
                let mut bytes = b.to_vec();
                if !fm.little {
                    bytes.reverse();
                }
                let mut v: u64 = 0;
                for (i, byte) in bytes.iter().enumerate().take(8) {
                    v |= (*byte as u64) << (8 * i);
                }
                let n = if signed && size < 8 && size > 0 {
                    let shift = 64 - 8 * size as u32;
                    ((v << shift) as i64 >> shift) as f64
                } else if signed {
                    v as i64 as f64
                } else {
                    v as f64
                };
                out.push_back(Value::Number(n));
                pos += size;
            }
            Item::Float => {
                let b = data.get(pos..pos + 4).ok_or_else(|| short(lua))?;
                let a = [b[0], b[1], b[2], b[3]];
                let n = if fm.little {
                    f32::from_le_bytes(a)
                } else {
                    f32::from_be_bytes(a)
                };
                out.push_back(Value::Number(n as f64));
                pos += 4;
            }
            Item::Double => {
                let b = data.get(pos..pos + 8).ok_or_else(|| short(lua))?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let n = if fm.little {
                    f64::from_le_bytes(a)
                } else {
                    f64::from_be_bytes(a)
                };
                out.push_back(Value::Number(n));
                pos += 8;
            }
            Item::Chars(n) => {
                let n = if n == 0 {
                    // The length is the number unpacked just before.
                    match out.pop_back() {
                        Some(Value::Number(l)) if l >= 0.0 => l as usize,
                        _ => return Err(raise(lua, "format 'c0' needs a previous size")),
                    }
                } else {
                    n
                };
                let b = data.get(pos..pos + n).ok_or_else(|| short(lua))?;
                out.push_back(Value::String(lua.create_string(b)?));
                pos += n;
            }
            Item::ZString => {
                let rest = data.get(pos..).unwrap_or_default();
                let Some(end) = rest.iter().position(|&c| c == 0) else {
                    return Err(raise(lua, "unfinished string in data"));
                };
                out.push_back(Value::String(lua.create_string(&rest[..end])?));
                pos += end + 1;
            }
            Item::Pad => pos += 1,
            Item::None => {}
        }
    }
    out.push_back(Value::Number((pos + 1) as f64));
    Ok(out)
}

/// The `struct` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, (f, args): (mlua::String, Variadic<Value>)| {
            let out = pack(lua, &f.as_bytes(), &args)?;
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(
            |lua, (f, data, init): (mlua::String, mlua::String, Option<i64>)| {
                let start = init.unwrap_or(1).max(1) as usize - 1;
                unpack(lua, &f.as_bytes(), &data.as_bytes(), start)
            },
        )?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|lua, f: mlua::String| {
            let bytes = f.as_bytes().to_vec();
            let mut fm = fmt(&bytes);
            let mut total = 0usize;
            while let Some((item, size)) = fm.next(lua)? {
                if matches!(item, Item::ZString) {
                    return Err(raise(
                        lua,
                        "bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)",
                    ));
                }
                total += fm.padding(&item, size, total) + size;
            }
            Ok(total as f64)
        })?,
    )?;
    Ok(t)
}

//! The conversions between Redis replies and Lua values, by Redis's rules.
//!
//! A command's reply becomes a Lua value for `redis.call` as the script's protocol (RESP2 unless
//! the script called `redis.setresp(3)`) would encode it; a script's return value becomes the
//! reply to the caller. Both directions are lossy in the ways scripts rely on: RESP2 nulls turn
//! into `false`, Lua numbers into truncated integers, tables stop at their first nil.

use crate::resp::reply::format_double;
use crate::resp::Reply;
use bytes::Bytes;
use mlua::{Lua, Table, Value};

/// How deep a returned table may nest before the reply says so instead (Redis runs out of Lua
/// stack at about this depth; a table that contains itself would never end).
const MAX_DEPTH: usize = 1000;

/// A one-field table `{name = value}`: status, error, double... replies in Lua.
fn single(lua: &Lua, name: &str, value: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(name, value)?;
    Ok(Value::Table(t))
}

/// The `{err = text}` table redis.pcall returns for an error reply.
pub fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Value> {
    let trimmed = trim_crlf(text);
    single(lua, "err", Value::String(lua.create_string(trimmed)?))
}

fn trim_crlf(mut s: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b'\r' | b'\n'] = s {
        s = rest;
    }
    s
}

/// A command's reply as the Lua value `redis.call` returns, for a script speaking RESP3 or not.
pub fn reply_to_lua(lua: &Lua, reply: &Reply, resp3: bool) -> mlua::Result<Value> {
    let string = |b: &[u8]| -> mlua::Result<Value> { Ok(Value::String(lua.create_string(b)?)) };
    Ok(match reply {
        Reply::Simple(s) => single(lua, "ok", string(s.as_bytes())?)?,
        Reply::Error(s) => error_table(lua, s.as_bytes())?,
        Reply::ErrorBytes(b) => error_table(lua, b)?,
        Reply::Integer(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => string(b)?,
        Reply::Null | Reply::NullArray | Reply::NoReply => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Array(items) | Reply::Push(items) => list(lua, items, resp3)?,
        Reply::Set(items) if !resp3 => list(lua, items, resp3)?,
        Reply::Set(items) => {
            let t = lua.create_table()?;
            for item in items {
                t.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            single(lua, "set", Value::Table(t))?
        }
        Reply::Map(pairs) if !resp3 => {
            let t = lua.create_table()?;
            let mut i = 1;
            for (k, v) in pairs {
                t.raw_set(i, reply_to_lua(lua, k, resp3)?)?;
                t.raw_set(i + 1, reply_to_lua(lua, v, resp3)?)?;
                i += 2;
            }
            Value::Table(t)
        }
        Reply::Map(pairs) => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                t.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            single(lua, "map", Value::Table(t))?
        }
        Reply::Double(d) if resp3 => single(lua, "double", Value::Number(*d))?,
        Reply::Double(d) => string(format_double(*d).as_bytes())?,
        // GEOPOS / WITHCOORD coordinates: a double in RESP3, their printed text otherwise.
        Reply::HumanDouble(d) if resp3 => single(lua, "double", Value::Number(*d))?,
        Reply::HumanDouble(d) => string(crate::cmd::geo::text::human(*d).as_bytes())?,
        Reply::Boolean(b) if resp3 => Value::Boolean(*b),
        Reply::Boolean(b) => Value::Number(*b as i64 as f64),
        Reply::Verbatim(b) if resp3 => {
            let t = lua.create_table()?;
            t.raw_set("format", "txt")?;
            t.raw_set("string", lua.create_string(b)?)?;
            single(lua, "verbatim_string", Value::Table(t))?
        }
        Reply::Verbatim(b) => string(b)?,
        Reply::BigNumber(b) if resp3 => single(lua, "big_number", string(b)?)?,
        Reply::BigNumber(b) => string(b)?,
        // Redis does not show a script the attributes, only the reply they annotate.
        Reply::Attribute(_, reply) => reply_to_lua(lua, reply, resp3)?,
        // A pre-encoded push + reply (DEBUG PROTOCOL push): the script gets the bytes.
        Reply::Raw(b) => string(b)?,
    })
}

fn list(lua: &Lua, items: &[Reply], resp3: bool) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
    }
    Ok(Value::Table(t))
}

/// C's `(long long)` of a Lua number: truncation, and the x86 "integer indefinite" value for
/// what does not fit (NaN, infinities, out of range), which is what redis-server answers.
pub fn number_to_i64(n: f64) -> i64 {
    // 2^63: the first double past i64::MAX; -2^63 is i64::MIN itself.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// A script's return value as the reply to its caller. `script_resp3` is the protocol the
/// script chose with redis.setresp (it decides how booleans convert).
pub fn lua_to_reply(v: &Value, script_resp3: bool) -> Reply {
    to_reply(v, script_resp3, 0)
}

fn field(t: &Table, name: &str) -> Value {
    t.raw_get::<Value>(name).unwrap_or(Value::Nil)
}

fn to_reply(v: &Value, script_resp3: bool, depth: usize) -> Reply {
    if depth > MAX_DEPTH {
        return Reply::error("ERR reached lua stack limit");
    }
    match v {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) if script_resp3 => Reply::Boolean(*b),
        Value::Boolean(true) => Reply::Integer(1),
        Value::Boolean(false) => Reply::Null,
        Value::Integer(n) => Reply::Integer(*n),
        Value::Number(n) => Reply::Integer(number_to_i64(*n)),
        Value::Table(t) => table_to_reply(t, script_resp3, depth),
        _ => Reply::Null,
    }
}

fn table_to_reply(t: &Table, script_resp3: bool, depth: usize) -> Reply {
    if let Value::String(e) = field(t, "err") {
        return Reply::ErrorBytes(Bytes::copy_from_slice(&e.as_bytes()));
    }
    if let Value::String(s) = field(t, "ok") {
        let text = String::from_utf8_lossy(&s.as_bytes()).replace(['\r', '\n'], " ");
        return Reply::Simple(text.into());
    }
    match field(t, "double") {
        Value::Number(d) => return Reply::Double(d),
        Value::Integer(d) => return Reply::Double(d as f64),
        _ => {}
    }
    if let Value::String(n) = field(t, "big_number") {
        // As Redis: CR and LF become spaces, nothing else is checked.
        let text: Vec<u8> = n
            .as_bytes()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        return Reply::BigNumber(text.into());
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        if let (Value::String(format), Value::String(text)) =
            (field(&v, "format"), field(&v, "string"))
        {
            if format.as_bytes().as_ref() == b"txt" {
                return Reply::Verbatim(Bytes::copy_from_slice(&text.as_bytes()));
            }
        }
    }
    if let Value::Table(m) = field(t, "map") {
        let mut pairs = Vec::new();
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            pairs.push((
                to_reply(&k, script_resp3, depth + 1),
                to_reply(&v, script_resp3, depth + 1),
            ));
        }
        return Reply::Map(pairs);
    }
    if let Value::Table(s) = field(t, "set") {
        let mut items = Vec::new();
        for (k, _) in s.pairs::<Value, Value>().flatten() {
            items.push(to_reply(&k, script_resp3, depth + 1));
        }
        return Reply::Set(items);
    }
    let mut items = Vec::new();
    for i in 1.. {
        let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
        if v.is_nil() {
            break;
        }
        items.push(to_reply(&v, script_resp3, depth + 1));
    }
    Reply::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_truncate_like_c() {
        assert_eq!(number_to_i64(3.99), 3);
        assert_eq!(number_to_i64(-3.99), -3);
        assert_eq!(number_to_i64(f64::NAN), i64::MIN);
        assert_eq!(number_to_i64(1e300), i64::MIN);
    }

    #[test]
    fn round_trip_shapes() {
        let lua = Lua::new();
        let v = reply_to_lua(&lua, &Reply::Null, false).unwrap();
        assert_eq!(v, Value::Boolean(false));
        let v = reply_to_lua(
            &lua,
            &Reply::Array(vec![Reply::Integer(1), Reply::bulk("a")]),
            false,
        )
        .unwrap();
        assert_eq!(
            lua_to_reply(&v, false),
            Reply::Array(vec![Reply::Integer(1), Reply::bulk("a")])
        );
        let v = reply_to_lua(&lua, &Reply::ok(), false).unwrap();
        assert_eq!(lua_to_reply(&v, false), Reply::ok());
    }
}

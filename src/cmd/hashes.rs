//! Hash commands: HSET HSETNX HGET HMGET HMSET HDEL HLEN HEXISTS HGETALL HKEYS HVALS HINCRBY
//! HINCRBYFLOAT HSTRLEN HRANDFIELD HSCAN.
//!
//! A hash is an insertion-ordered map (see `db::value`), so HGETALL / HKEYS / HVALS of a small
//! hash list fields in Redis's listpack order. An emptied hash is deleted.

use super::keys::{expire_key, lookup_read};
use super::sets::{parse_scan_opts, scan_window};
use super::{arg_i64, flags, parse_i64, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::format::LongDouble;
use crate::db::value::{own, own_all, HashMapValue};
use crate::db::Value;
use crate::notify;
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use rand::Rng;

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys: KeySpec::FIRST,
        group: "hash",
        summary,
        handler,
    }
}

const W_FAST: u32 = flags::WRITE | flags::DENYOOM | flags::FAST;
const R_FAST: u32 = flags::READONLY | flags::FAST;

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "hset",
        -4,
        W_FAST,
        "Set the string value of a hash field",
        hset,
    ),
    spec(
        "hmset",
        -4,
        W_FAST,
        "Set multiple hash fields to multiple values",
        hmset,
    ),
    spec(
        "hsetnx",
        4,
        W_FAST,
        "Set the value of a hash field, only if the field does not exist",
        hsetnx,
    ),
    spec("hget", 3, R_FAST, "Get the value of a hash field", hget),
    spec(
        "hmget",
        -3,
        R_FAST,
        "Get the values of all the given hash fields",
        hmget,
    ),
    spec(
        "hdel",
        -3,
        flags::WRITE | flags::FAST,
        "Delete one or more hash fields",
        hdel,
    ),
    spec(
        "hlen",
        2,
        R_FAST,
        "Get the number of fields in a hash",
        hlen,
    ),
    spec(
        "hexists",
        3,
        R_FAST,
        "Determine if a hash field exists",
        hexists,
    ),
    spec(
        "hgetall",
        2,
        flags::READONLY,
        "Get all the fields and values in a hash",
        hgetall,
    ),
    spec(
        "hkeys",
        2,
        flags::READONLY,
        "Get all the fields in a hash",
        hkeys,
    ),
    spec(
        "hvals",
        2,
        flags::READONLY,
        "Get all the values in a hash",
        hvals,
    ),
    spec(
        "hincrby",
        4,
        W_FAST,
        "Increment the integer value of a hash field by the given number",
        hincrby,
    ),
    spec(
        "hincrbyfloat",
        4,
        W_FAST,
        "Increment the float value of a hash field by the given amount",
        hincrbyfloat,
    ),
    spec(
        "hstrlen",
        3,
        R_FAST,
        "Get the length of the value of a hash field",
        hstrlen,
    ),
    spec(
        "hrandfield",
        -2,
        flags::READONLY,
        "Get one or multiple random fields from a hash",
        hrandfield,
    ),
    spec(
        "hscan",
        -3,
        flags::READONLY,
        "Incrementally iterate hash fields and associated values",
        hscan,
    ),
];

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A read lookup of a hash key (hit/miss counted).
fn read_hash<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c HashMapValue>, CmdError> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Hash(h) => Ok(Some(h)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// A write lookup of a hash key (lazy expiry, no stats).
fn write_hash<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'c mut HashMapValue>, CmdError> {
    expire_key(ctx, key);
    match ctx.db.get_mut(key, ctx.now_ms) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The hash at `key`, created empty if missing.
fn hash_or_create<'c>(ctx: &'c mut Ctx<'_>, key: &Bytes) -> Result<&'c mut HashMapValue, CmdError> {
    expire_key(ctx, key);
    // After the expiry check a plain look says whether the key is there; the write lookup
    // below then counts the access once.
    if ctx.db.peek(key).is_none() {
        // The keyspace copies the key's bytes into its own node.
        ctx.db.insert(key.clone(), Value::new_hash(), None);
    }
    match ctx.db.get_mut(key, ctx.now_ms) {
        Some(Value::Hash(h)) => Ok(h),
        Some(_) => Err(CmdError::WrongType),
        None => Err(CmdError::NoSuchKey),
    }
}

fn arity_error(argv: &[Bytes]) -> CmdError {
    CmdError::WrongArity(String::from_utf8_lossy(&argv[0]).to_ascii_lowercase())
}

/// Sets fields from `pairs`; the number of new fields.
fn set_pairs(h: &mut HashMapValue, pairs: &[Bytes]) -> i64 {
    // One pair (the usual HSET): the field's name is copied only if it is new.
    if let [field, value] = pairs {
        return i64::from(h.set(field, own(value)));
    }
    let mut added = 0;
    let mut owned = own_all(pairs).into_iter();
    while let (Some(f), Some(v)) = (owned.next(), owned.next()) {
        if h.insert(f, v).is_none() {
            added += 1;
        }
    }
    added
}

// ---------------------------------------------------------------------------------------------
// HSET HMSET HSETNX HGET HMGET HDEL HLEN HEXISTS HSTRLEN

/// HSET key field value [field value ...]: the number of fields added.
fn hset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if !argv.len().is_multiple_of(2) {
        return Err(arity_error(argv));
    }
    let h = hash_or_create(ctx, &argv[1])?;
    let added = set_pairs(h, &argv[2..]);
    ctx.notify(notify::HASH, "hset", &argv[1]);
    Ok(Reply::Integer(added))
}

/// HMSET key field value [field value ...]
fn hmset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    hset(ctx, argv)?;
    Ok(Reply::ok())
}

/// HSETNX key field value
fn hsetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let h = hash_or_create(ctx, &argv[1])?;
    if h.contains_key(&argv[2]) {
        return Ok(Reply::Integer(0));
    }
    h.insert(own(&argv[2]), own(&argv[3]));
    ctx.notify(notify::HASH, "hset", &argv[1]);
    Ok(Reply::Integer(1))
}

/// HGET key field
fn hget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let v = read_hash(ctx, &argv[1])?.and_then(|h| h.get(&argv[2]).cloned());
    Ok(v.map_or(Reply::Null, Reply::Bulk))
}

/// HMGET key field [field ...]
fn hmget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let h = read_hash(ctx, &argv[1])?;
    Ok(Reply::Array(
        argv[2..]
            .iter()
            .map(|f| {
                h.and_then(|h| h.get(f).cloned())
                    .map_or(Reply::Null, Reply::Bulk)
            })
            .collect(),
    ))
}

/// HDEL key field [field ...]: how many were removed.
fn hdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let Some(h) = write_hash(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let mut n = 0;
    for f in &argv[2..] {
        if h.remove(f).is_some() {
            n += 1;
        }
    }
    let empty = h.is_empty();
    if n > 0 {
        ctx.notify(notify::HASH, "hdel", key);
    }
    if empty {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    Ok(Reply::Integer(n))
}

/// HLEN key
fn hlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(
        read_hash(ctx, &argv[1])?.map_or(0, |h| h.len()) as i64,
    ))
}

/// HEXISTS key field
fn hexists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let found = read_hash(ctx, &argv[1])?.is_some_and(|h| h.contains_key(&argv[2]));
    Ok(Reply::Integer(found as i64))
}

/// HSTRLEN key field
fn hstrlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let n = read_hash(ctx, &argv[1])?
        .and_then(|h| h.get(&argv[2]))
        .map_or(0, |v| v.len());
    Ok(Reply::Integer(n as i64))
}

// ---------------------------------------------------------------------------------------------
// HGETALL HKEYS HVALS

/// HGETALL key: a map (flat array in RESP2).
fn hgetall(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let pairs = read_hash(ctx, &argv[1])?
        .map(|h| {
            h.iter()
                .map(|(k, v)| (Reply::Bulk(k.clone()), Reply::Bulk(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply::Map(pairs))
}

/// HKEYS key
fn hkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let keys = read_hash(ctx, &argv[1])?
        .map(|h| h.keys().map(|k| Reply::Bulk(k.clone())).collect())
        .unwrap_or_default();
    Ok(Reply::Array(keys))
}

/// HVALS key
fn hvals(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let vals = read_hash(ctx, &argv[1])?
        .map(|h| h.values().map(|v| Reply::Bulk(v.clone())).collect())
        .unwrap_or_default();
    Ok(Reply::Array(vals))
}

// ---------------------------------------------------------------------------------------------
// HINCRBY HINCRBYFLOAT

/// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_i64(&argv[3])?;
    let h = hash_or_create(ctx, &argv[1])?;
    let cur = match h.get(&argv[2]) {
        None => 0,
        Some(v) => {
            parse_i64(v).ok_or_else(|| CmdError::other("ERR hash value is not an integer"))?
        }
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    let text = Bytes::copy_from_slice(itoa::Buffer::new().format(new).as_bytes());
    h.set(&argv[2], text);
    ctx.notify(notify::HASH, "hincrby", &argv[1]);
    Ok(Reply::Integer(new))
}

/// HINCRBYFLOAT key field increment: computed in long double as Redis does.
fn hincrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let incr = LongDouble::parse(&argv[3]).map_err(|_| CmdError::NotFloat)?;
    if incr.is_infinite() {
        return Err(CmdError::other("ERR value is NaN or Infinity"));
    }
    let key = &argv[1];
    let created = write_hash(ctx, key)?.is_none();
    let h = hash_or_create(ctx, key)?;
    let cur = match h.get(&argv[2]) {
        None => LongDouble::parse(b"0").map_err(|_| CmdError::NotFloat)?,
        Some(v) => match LongDouble::parse(v) {
            Ok(v) => v,
            Err(_) => {
                if created {
                    ctx.db.remove(key);
                }
                return Err(CmdError::other("ERR hash value is not a float"));
            }
        },
    };
    let sum = cur.plus(incr);
    if sum.is_infinite() {
        if created {
            ctx.db.remove(key);
        }
        return Err(CmdError::other(
            "ERR increment would produce NaN or Infinity",
        ));
    }
    let text = Bytes::from(sum.to_human_string());
    h.set(&argv[2], text.clone());
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    Ok(Reply::Bulk(text))
}

// ---------------------------------------------------------------------------------------------
// HRANDFIELD HSCAN

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let proto = ctx.proto();
    if argv.len() == 2 {
        let Some(h) = read_hash(ctx, &argv[1])? else {
            return Ok(Reply::Null);
        };
        let len = h.len();
        let i = ctx.node.rng.gen_range(0..len);
        let h = read_hash_again(ctx, &argv[1]);
        return Ok(h
            .and_then(|h| h.get_index(i))
            .map_or(Reply::Null, |(k, _)| Reply::Bulk(k.clone())));
    }
    let l = arg_i64(&argv[2])?;
    if l == i64::MIN {
        return Err(CmdError::other(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withvalues = match argv.len() {
        3 => false,
        4 if super::eq_ignore_case(&argv[3], "withvalues") => {
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
                return Err(CmdError::other("ERR value is out of range"));
            }
            true
        }
        _ => return Err(CmdError::Syntax),
    };
    let Some(h) = read_hash(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let len = h.len();
    if l == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let picks = super::pick::positions(&mut ctx.node.rng, len, l);
    let Some(h) = read_hash_again(ctx, &argv[1]) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let mut out = Vec::with_capacity(picks.len() * if withvalues { 2 } else { 1 });
    for i in picks {
        let Some((k, v)) = h.get_index(i) else {
            continue;
        };
        if !withvalues {
            out.push(Reply::Bulk(k.clone()));
        } else if proto == Protocol::Resp3 {
            out.push(Reply::Array(vec![
                Reply::Bulk(k.clone()),
                Reply::Bulk(v.clone()),
            ]));
        } else {
            out.push(Reply::Bulk(k.clone()));
            out.push(Reply::Bulk(v.clone()));
        }
    }
    Ok(Reply::Array(out))
}

/// The hash again after a first (counted) lookup, without counting another hit.
fn read_hash_again<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c HashMapValue> {
    match ctx.db.get(key, ctx.now_ms) {
        Some(e) => match &e.value {
            Value::Hash(h) => Some(h),
            _ => None,
        },
        None => None,
    }
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cursor =
        super::keys::parse_cursor(&argv[2]).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let Some(h) = read_hash(ctx, &argv[1])? else {
        return Ok(super::sets::empty_scan());
    };
    let opts = parse_scan_opts(argv, 3)?;
    let (next, window) = scan_window(h.len(), h.is_small(), cursor, opts.count);
    let mut out = Vec::new();
    for i in window {
        if let Some((k, v)) = h.get_index(i) {
            if opts.matches(k) {
                out.push(Reply::Bulk(k.clone()));
                out.push(Reply::Bulk(v.clone()));
            }
        }
    }
    Ok(super::sets::scan_reply(next, out))
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    fn check(t: &mut TestNode, cases: &[(&[&str], &str)]) {
        for (cmd, want) in cases {
            assert_eq!(t.run_text(cmd), *want, "{cmd:?}");
        }
    }

    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn set_get_del() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (&["HSET", "h", "a", "1", "b", "2"], ":2\r\n"),
                (&["HSET", "h", "a", "3", "c", "4"], ":1\r\n"),
                (
                    &["HSET", "h", "a"],
                    "-ERR wrong number of arguments for 'hset' command\r\n",
                ),
                (
                    &["HSET", "h", "a", "1", "b"],
                    "-ERR wrong number of arguments for 'hset' command\r\n",
                ),
                (&["HMSET", "h", "d", "5"], "+OK\r\n"),
                (&["HSETNX", "h", "d", "6"], ":0\r\n"),
                (&["HSETNX", "h", "e", "6"], ":1\r\n"),
                (&["HGET", "h", "a"], "$1\r\n3\r\n"),
                (&["HGET", "h", "zz"], "$-1\r\n"),
                (&["HGET", "noh", "zz"], "$-1\r\n"),
                (
                    &["HMGET", "h", "a", "zz", "b"],
                    "*3\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n",
                ),
                (&["HMGET", "noh", "a"], "*1\r\n$-1\r\n"),
                (&["HLEN", "h"], ":5\r\n"),
                (&["HEXISTS", "h", "e"], ":1\r\n"),
                (&["HSTRLEN", "h", "e"], ":1\r\n"),
                (&["HDEL", "h", "b", "zz", "c"], ":2\r\n"),
                (&["HKEYS", "h"], "*3\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n"),
                (&["HVALS", "h"], "*3\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n6\r\n"),
                (
                    &["HGETALL", "h"],
                    "*6\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n5\r\n$1\r\ne\r\n$1\r\n6\r\n",
                ),
                (&["HDEL", "h", "a", "d", "e"], ":3\r\n"),
                (&["EXISTS", "h"], ":0\r\n"),
                (&["HGETALL", "h"], "*0\r\n"),
                (&["SET", "s", "v"], "+OK\r\n"),
                (&["HSET", "s", "a", "1"], WRONGTYPE),
                (&["HGET", "s", "a"], WRONGTYPE),
                (&["HSET", "h", "a", "1"], ":1\r\n"),
                (&["TYPE", "h"], "+hash\r\n"),
                (&["GET", "h"], WRONGTYPE),
            ],
        );
    }

    #[test]
    fn incr_and_random() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (&["HINCRBY", "h", "n", "5"], ":5\r\n"),
                (&["HINCRBY", "h", "n", "x"], "-ERR value is not an integer or out of range\r\n"),
                (&["HINCRBY", "h", "n", "9223372036854775807"], "-ERR increment or decrement would overflow\r\n"),
                (&["HSET", "h", "s", "abc"], ":1\r\n"),
                (&["HINCRBY", "h", "s", "1"], "-ERR hash value is not an integer\r\n"),
                (&["HINCRBYFLOAT", "h", "s", "1"], "-ERR hash value is not a float\r\n"),
                (&["HINCRBYFLOAT", "h", "f", "10.5"], "$4\r\n10.5\r\n"),
                (&["HINCRBYFLOAT", "h", "f", "0.1"], "$4\r\n10.6\r\n"),
                (&["HINCRBYFLOAT", "h", "f", "x"], "-ERR value is not a valid float\r\n"),
                (&["HINCRBYFLOAT", "h", "n", "5.0e3"], "$4\r\n5005\r\n"),
                (&["HRANDFIELD", "noh"], "$-1\r\n"),
                (&["HRANDFIELD", "noh", "2"], "*0\r\n"),
                (&["HRANDFIELD", "h", "0"], "*0\r\n"),
                (&["HRANDFIELD", "h", "1", "foo"], "-ERR syntax error\r\n"),
                (&["HRANDFIELD", "h", "10"], "*3\r\n$1\r\nn\r\n$1\r\ns\r\n$1\r\nf\r\n"),
                (&["HSCAN", "h", "0"], "*2\r\n$1\r\n0\r\n*6\r\n$1\r\nn\r\n$4\r\n5005\r\n$1\r\ns\r\n$3\r\nabc\r\n$1\r\nf\r\n$4\r\n10.6\r\n"),
                (&["HSCAN", "h", "0", "MATCH", "s*"], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\ns\r\n$3\r\nabc\r\n"),
                (&["HSCAN", "h", "x"], "-ERR invalid cursor\r\n"),
                (&["HSCAN", "h", "0", "COUNT", "0"], "-ERR syntax error\r\n"),
                (&["HSCAN", "noh", "0", "COUNT", "0"], "*2\r\n$1\r\n0\r\n*0\r\n"),
            ],
        );
        let r = t.run_text(&["HRANDFIELD", "h", "-5", "WITHVALUES"]);
        assert!(r.starts_with("*10\r\n"), "{r}");
        let r = t.run_text(&["HRANDFIELD", "h", "2"]);
        assert!(r.starts_with("*2\r\n"), "{r}");
    }
}

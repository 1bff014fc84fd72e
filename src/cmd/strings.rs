//! String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX APPEND STRLEN GETRANGE
//! SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT MGET MSET MSETNX.

use super::keys::{as_str, exists_write, expire_key, lookup_read, lookup_write};
use super::KeySpec;
use super::{arg_i64, eq_ignore_case, flags, parse_i64, CmdError, CmdResult, CommandSpec, Ctx};
use crate::db::format::LongDouble;
use crate::db::Value;
use crate::notify;
use crate::resp::Reply;
use bytes::{Bytes, BytesMut};

const STRING_FAST_WRITE: u32 = flags::WRITE | flags::DENYOOM | flags::FAST;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "get",
        arity: 2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Get the value of a key",
        handler: get,
    },
    CommandSpec {
        name: "set",
        arity: -3,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Set the string value of a key",
        handler: set,
    },
    CommandSpec {
        name: "setnx",
        arity: 3,
        flags: STRING_FAST_WRITE,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Set the value of a key, only if the key does not exist",
        handler: setnx,
    },
    CommandSpec {
        name: "setex",
        arity: 4,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Set the value and expiration of a key",
        handler: setex,
    },
    CommandSpec {
        name: "psetex",
        arity: 4,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Set the value and expiration in milliseconds of a key",
        handler: psetex,
    },
    CommandSpec {
        name: "getset",
        arity: 3,
        flags: STRING_FAST_WRITE,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Set the string value of a key and return its old value",
        handler: getset,
    },
    CommandSpec {
        name: "getdel",
        arity: 2,
        flags: flags::WRITE | flags::FAST,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Get the value of a key and delete the key",
        handler: getdel,
    },
    CommandSpec {
        name: "getex",
        arity: -2,
        flags: flags::WRITE | flags::FAST,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Get the value of a key and optionally set its expiration",
        handler: getex,
    },
    CommandSpec {
        name: "append",
        arity: 3,
        flags: STRING_FAST_WRITE,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Append a value to a key",
        handler: append,
    },
    CommandSpec {
        name: "strlen",
        arity: 2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Get the length of the value stored in a key",
        handler: strlen,
    },
    CommandSpec {
        name: "getrange",
        arity: 4,
        flags: flags::READONLY,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Get a substring of the string stored at a key",
        handler: getrange,
    },
    CommandSpec {
        name: "substr",
        arity: 4,
        flags: flags::READONLY,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Get a substring of the string stored at a key (old name of GETRANGE)",
        handler: getrange,
    },
    CommandSpec {
        name: "setrange",
        arity: 4,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Overwrite part of a string at key starting at the specified offset",
        handler: setrange,
    },
    CommandSpec {
        name: "incr",
        arity: 2,
        flags: STRING_FAST_WRITE,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Increment the integer value of a key by one",
        handler: incr,
    },
    CommandSpec {
        name: "decr",
        arity: 2,
        flags: STRING_FAST_WRITE,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Decrement the integer value of a key by one",
        handler: decr,
    },
    CommandSpec {
        name: "incrby",
        arity: 3,
        flags: STRING_FAST_WRITE,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Increment the integer value of a key by the given amount",
        handler: incrby,
    },
    CommandSpec {
        name: "decrby",
        arity: 3,
        flags: STRING_FAST_WRITE,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Decrement the integer value of a key by the given number",
        handler: decrby,
    },
    CommandSpec {
        name: "incrbyfloat",
        arity: 3,
        flags: STRING_FAST_WRITE,
        keys: KeySpec::FIRST,
        group: "string",
        summary: "Increment the float value of a key by the given amount",
        handler: incrbyfloat,
    },
    CommandSpec {
        name: "mget",
        arity: -2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::ALL,
        group: "string",
        summary: "Get the values of all the given keys",
        handler: mget,
    },
    CommandSpec {
        name: "mset",
        arity: -3,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::PAIRS,
        group: "string",
        summary: "Set multiple keys to multiple values",
        handler: mset,
    },
    CommandSpec {
        name: "msetnx",
        arity: -3,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::PAIRS,
        group: "string",
        summary: "Set multiple keys to multiple values, only if none of the keys exist",
        handler: msetnx,
    },
];

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The command's name as Redis prints it in errors (lowercase).
fn cmd_name(argv: &[Bytes]) -> String {
    String::from_utf8_lossy(&argv[0]).to_ascii_lowercase()
}

/// A read lookup of a string key: None when missing, WRONGTYPE for another type. Counts a
/// keyspace hit or miss.
fn read_str(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CmdError> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => as_str(&e.value).cloned().map(Some),
    }
}

/// A write lookup of a string key (no stats).
fn write_str(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CmdError> {
    match lookup_write(ctx, key) {
        None => Ok(None),
        Some(e) => as_str(&e.value).cloned().map(Some),
    }
}

/// Replaces a string key's value, keeping its TTL (Redis's dbOverwrite / in-place edits).
fn overwrite(ctx: &mut Ctx<'_>, key: &Bytes, value: Bytes) {
    let ttl = ctx.db.get(key, ctx.now_ms).and_then(|e| e.expire_ms());
    ctx.db.insert(key.clone(), Value::Str(value), ttl);
}

/// Sets a string key, dropping any TTL (Redis's setKey; an expired old value counts as expired).
/// The value is stored as a copy of its own: cloning the argument would give it a shared
/// header for as long as the key lives (see `db::unshared`; big arguments are not copied).
fn set_plain(ctx: &mut Ctx<'_>, key: &Bytes, value: &Bytes) {
    expire_key(ctx, key);
    let value = if value.len() < crate::resp::request::BIG_ARG_BYTES {
        Bytes::copy_from_slice(value)
    } else {
        value.clone()
    };
    ctx.db.insert(key.clone(), Value::Str(value), None);
}

/// A bulk reply for an optional value (nil when missing).
fn bulk_or_nil(v: Option<Bytes>) -> Reply {
    v.map_or(Reply::Null, Reply::Bulk)
}

/// Redis's checkStringLength: a string may not grow past proto-max-bulk-len.
fn check_len(ctx: &Ctx<'_>, size: u64, append: u64) -> Result<(), CmdError> {
    match size.checked_add(append) {
        Some(total) if total <= ctx.node.config.proto_max_bulk_len => Ok(()),
        _ => Err(CmdError::other(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// How an expire argument is read: its unit and whether it is absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Converts an expire argument to an absolute unix-ms time, with Redis's checks: an integer,
/// positive, and no overflow once converted to ms and made absolute.
fn expire_at_ms(ctx: &Ctx<'_>, arg: &[u8], kind: ExpireKind, cmd: &str) -> Result<u64, CmdError> {
    let invalid = || CmdError::InvalidExpire(cmd.to_string());
    let v = arg_i64(arg)?;
    if v <= 0 {
        return Err(invalid());
    }
    let ms = match kind {
        ExpireKind::Ex | ExpireKind::ExAt => v.checked_mul(1000).ok_or_else(invalid)?,
        ExpireKind::Px | ExpireKind::PxAt => v,
    };
    let at = match kind {
        ExpireKind::Ex | ExpireKind::Px => ms.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?,
        ExpireKind::ExAt | ExpireKind::PxAt => ms,
    };
    Ok(at as u64)
}

/// The options SET and GETEX share (Redis's parseExtendedStringArguments).
#[derive(Debug, Default)]
struct ExtOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpireKind, &'a Bytes)>,
}

impl<'a> ExtOpts<'a> {
    /// Parses `args`; `getex` selects GETEX's option set (PERSIST, no NX/XX/GET/KEEPTTL). A
    /// repeated option is accepted (the last expire wins); conflicting ones are a syntax error.
    fn parse(args: &'a [Bytes], getex: bool) -> Result<ExtOpts<'a>, CmdError> {
        let mut o = ExtOpts::default();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let next = args.get(i + 1);
            let expire_kind = if eq_ignore_case(a, "ex") {
                Some(ExpireKind::Ex)
            } else if eq_ignore_case(a, "px") {
                Some(ExpireKind::Px)
            } else if eq_ignore_case(a, "exat") {
                Some(ExpireKind::ExAt)
            } else if eq_ignore_case(a, "pxat") {
                Some(ExpireKind::PxAt)
            } else {
                None
            };
            if let Some(kind) = expire_kind {
                let other_expire = o.expire.is_some_and(|(k, _)| k != kind);
                match next {
                    Some(v) if !o.keepttl && !o.persist && !other_expire => {
                        o.expire = Some((kind, v));
                        i += 1;
                    }
                    _ => return Err(CmdError::Syntax),
                }
            } else if !getex && eq_ignore_case(a, "nx") && !o.xx {
                o.nx = true;
            } else if !getex && eq_ignore_case(a, "xx") && !o.nx {
                o.xx = true;
            } else if !getex && eq_ignore_case(a, "get") {
                o.get = true;
            } else if !getex && eq_ignore_case(a, "keepttl") && o.expire.is_none() {
                o.keepttl = true;
            } else if getex && eq_ignore_case(a, "persist") && o.expire.is_none() {
                o.persist = true;
            } else {
                return Err(CmdError::Syntax);
            }
            i += 1;
        }
        Ok(o)
    }
}

/// What [`set_generic`] replies when NX/XX stops it (without GET).
enum Abort {
    Nil,
    Zero,
}

/// The body of SET, SETNX, SETEX, PSETEX: the flow of Redis's setGenericCommand.
fn set_generic(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    value: &Bytes,
    opts: &ExtOpts<'_>,
    cmd: &str,
    abort: Abort,
) -> CmdResult {
    let expire = match opts.expire {
        Some((kind, arg)) => Some(expire_at_ms(ctx, arg, kind, cmd)?),
        None => None,
    };
    let old = if opts.get {
        Some(read_str(ctx, key)?)
    } else {
        None
    };
    let found = exists_write(ctx, key);
    if (opts.nx && found) || (opts.xx && !found) {
        return Ok(match (old, abort) {
            (Some(old), _) => bulk_or_nil(old),
            (None, Abort::Nil) => Reply::Null,
            (None, Abort::Zero) => Reply::Integer(0),
        });
    }
    let ttl = if opts.keepttl {
        ctx.db.get(key, ctx.now_ms).and_then(|e| e.expire_ms())
    } else {
        expire
    };
    ctx.db.insert(key.clone(), Value::Str(value.clone()), ttl);
    ctx.notify(notify::STRING, "set", key);
    if expire.is_some() {
        ctx.notify(notify::GENERIC, "expire", key);
    }
    Ok(match (old, abort) {
        (Some(old), _) => bulk_or_nil(old),
        (None, Abort::Zero) => Reply::Integer(1),
        (None, Abort::Nil) => Reply::ok(),
    })
}

// ---------------------------------------------------------------------------------------------
// GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX

/// GET key
fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(bulk_or_nil(read_str(ctx, &argv[1])?))
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]
fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opts = ExtOpts::parse(&argv[3..], false)?;
    set_generic(ctx, &argv[1], &argv[2], &opts, "set", Abort::Nil)
}

/// SETNX key value: 1 if set, 0 if the key exists.
fn setnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opts = ExtOpts {
        nx: true,
        ..ExtOpts::default()
    };
    set_generic(ctx, &argv[1], &argv[2], &opts, "setnx", Abort::Zero)
}

/// SETEX key seconds value
fn setex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opts = ExtOpts {
        expire: Some((ExpireKind::Ex, &argv[2])),
        ..ExtOpts::default()
    };
    set_generic(ctx, &argv[1], &argv[3], &opts, "setex", Abort::Nil)
}

/// PSETEX key milliseconds value
fn psetex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opts = ExtOpts {
        expire: Some((ExpireKind::Px, &argv[2])),
        ..ExtOpts::default()
    };
    set_generic(ctx, &argv[1], &argv[3], &opts, "psetex", Abort::Nil)
}

/// GETSET key value: sets the value (dropping the TTL) and replies the old one.
fn getset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let old = read_str(ctx, &argv[1])?;
    set_plain(ctx, &argv[1], &argv[2]);
    ctx.notify(notify::STRING, "set", &argv[1]);
    Ok(bulk_or_nil(old))
}

/// GETDEL key
fn getdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let old = read_str(ctx, &argv[1])?;
    if old.is_some() {
        ctx.db.remove(&argv[1]);
        ctx.notify(notify::GENERIC, "del", &argv[1]);
    }
    Ok(bulk_or_nil(old))
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]
fn getex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let opts = ExtOpts::parse(&argv[2..], true)?;
    let Some(value) = read_str(ctx, key)? else {
        return Ok(Reply::Null);
    };
    if let Some((kind, arg)) = opts.expire {
        let at = expire_at_ms(ctx, arg, kind, "getex")?;
        let absolute = matches!(kind, ExpireKind::ExAt | ExpireKind::PxAt);
        if absolute && at <= ctx.now_ms {
            ctx.db.remove(key);
            ctx.notify(notify::GENERIC, "del", key);
        } else {
            ctx.db.set_expire(key, Some(at), ctx.now_ms);
            ctx.notify(notify::GENERIC, "expire", key);
        }
    } else if opts.persist {
        if ctx.db.peek(key).and_then(|e| e.expire_ms()).is_some() {
            ctx.db.set_expire(key, None, ctx.now_ms);
            ctx.notify(notify::GENERIC, "persist", key);
        } else {
            // No TTL to remove: nothing changed, nothing to replicate (Redis's getexCommand).
            ctx.client.rewrite = Some(Vec::new());
        }
    }
    Ok(Reply::Bulk(value))
}

// ---------------------------------------------------------------------------------------------
// APPEND STRLEN GETRANGE SETRANGE

/// APPEND key value: the new length.
fn append(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (key, tail) = (&argv[1], &argv[2]);
    match write_str(ctx, key)? {
        None => {
            set_plain(ctx, key, tail);
            ctx.notify(notify::STRING, "append", key);
            Ok(Reply::Integer(tail.len() as i64))
        }
        Some(cur) => {
            check_len(ctx, cur.len() as u64, tail.len() as u64)?;
            let mut buf = BytesMut::with_capacity(cur.len() + tail.len());
            buf.extend_from_slice(&cur);
            buf.extend_from_slice(tail);
            let len = buf.len();
            overwrite(ctx, key, buf.freeze());
            ctx.notify(notify::STRING, "append", key);
            Ok(Reply::Integer(len as i64))
        }
    }
}

/// STRLEN key
fn strlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let len = read_str(ctx, &argv[1])?.map_or(0, |v| v.len());
    Ok(Reply::Integer(len as i64))
}

/// GETRANGE key start end: the inclusive substring, negative offsets counting from the end.
fn getrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut start = arg_i64(&argv[2])?;
    let mut end = arg_i64(&argv[3])?;
    let empty = Reply::Bulk(Bytes::new());
    let Some(s) = read_str(ctx, &argv[1])? else {
        return Ok(empty);
    };
    if start < 0 && end < 0 && start > end {
        return Ok(empty);
    }
    let len = s.len() as i64;
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    let start = start.max(0);
    let end = end.max(0).min(len - 1);
    if len == 0 || start > end {
        return Ok(empty);
    }
    Ok(Reply::Bulk(s.slice(start as usize..=end as usize)))
}

/// SETRANGE key offset value: overwrites from `offset`, zero-padding; the new length.
fn setrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (key, value) = (&argv[1], &argv[3]);
    let offset = arg_i64(&argv[2])?;
    if offset < 0 {
        return Err(CmdError::other("ERR offset is out of range"));
    }
    let offset = offset as u64;
    let cur = write_str(ctx, key)?;
    let cur_len = cur.as_ref().map_or(0, |c| c.len());
    if value.is_empty() {
        return Ok(Reply::Integer(cur_len as i64));
    }
    check_len(ctx, offset, value.len() as u64)?;
    let offset = offset as usize;
    let new_len = cur_len.max(offset + value.len());
    let mut buf = BytesMut::with_capacity(new_len);
    buf.extend_from_slice(cur.as_deref().unwrap_or_default());
    buf.resize(new_len, 0);
    buf[offset..offset + value.len()].copy_from_slice(value);
    overwrite(ctx, key, buf.freeze());
    ctx.notify(notify::STRING, "setrange", key);
    Ok(Reply::Integer(new_len as i64))
}

// ---------------------------------------------------------------------------------------------
// INCR DECR INCRBY DECRBY INCRBYFLOAT

/// Adds `by` to the integer at `key` (missing: 0), keeping its TTL; the new value.
/// The counter is changed in place: one lookup of the key (after the expiry check) instead of
/// a read, a TTL look and an insert, which made INCR the dearest string write per request.
fn incr_by(ctx: &mut Ctx<'_>, key: &Bytes, by: i64) -> CmdResult {
    let text = |n: i64| Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes());
    expire_key(ctx, key);
    let new = match ctx.db.get_mut(key, ctx.now_ms) {
        Some(Value::Str(v)) => {
            let cur = parse_i64(v).ok_or(CmdError::NotInteger)?;
            let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
            overwrite_digits(v, new);
            new
        }
        Some(_) => return Err(CmdError::WrongType),
        None => {
            ctx.db.insert(key.clone(), Value::Str(text(by)), None);
            by
        }
    };
    ctx.notify(notify::STRING, "incrby", key);
    Ok(Reply::Integer(new))
}

/// Stores `n`'s digits in `v`, in its own buffer when no one else holds it and the length is
/// unchanged (a counter's usual step): no allocation and no free per INCR, as Redis changes an
/// integer-encoded object in place. Else a fresh copy.
fn overwrite_digits(v: &mut Bytes, n: i64) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n).as_bytes();
    if digits.len() == v.len() {
        match std::mem::take(v).try_into_mut() {
            Ok(mut unique) => {
                unique.copy_from_slice(digits);
                *v = unique.freeze();
                return;
            }
            Err(shared) => drop(shared),
        }
    }
    *v = Bytes::copy_from_slice(digits);
}

/// INCR key
fn incr(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], 1)
}

/// DECR key
fn decr(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], -1)
}

/// INCRBY key increment
fn incrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_i64(&argv[2])?;
    incr_by(ctx, &argv[1], by)
}

/// DECRBY key decrement
fn decrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_i64(&argv[2])?;
    let neg = by
        .checked_neg()
        .ok_or_else(|| CmdError::other("ERR decrement would overflow"))?;
    incr_by(ctx, &argv[1], neg)
}

/// INCRBYFLOAT key increment: computed in 80-bit long double and stored as Redis prints it.
fn incrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let cur = write_str(ctx, key)?;
    let parse = |b: &[u8]| LongDouble::parse(b).map_err(|_| CmdError::NotFloat);
    let cur = match cur {
        None => parse(b"0")?,
        Some(v) => parse(&v)?,
    };
    let sum = cur.plus(parse(&argv[2])?);
    if sum.is_infinite() {
        return Err(CmdError::other(
            "ERR increment would produce NaN or Infinity",
        ));
    }
    let text = Bytes::from(sum.to_human_string());
    overwrite(ctx, key, text.clone());
    ctx.notify(notify::STRING, "incrbyfloat", key);
    Ok(Reply::Bulk(text))
}

// ---------------------------------------------------------------------------------------------
// MGET MSET MSETNX

/// MGET key [key ...]: values, nil for missing keys and keys of other types.
fn mget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(argv.len() - 1);
    for key in &argv[1..] {
        let v = lookup_read(ctx, key).and_then(|e| as_str(&e.value).ok().cloned());
        out.push(bulk_or_nil(v));
    }
    Ok(Reply::Array(out))
}

/// MSET key value [key value ...]
fn mset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(cmd_name(argv)));
    }
    for pair in argv[1..].chunks_exact(2) {
        set_plain(ctx, &pair[0], &pair[1]);
        ctx.notify(notify::STRING, "set", &pair[0]);
    }
    Ok(Reply::ok())
}

/// MSETNX key value [key value ...]: sets all (1) only if none exists, else nothing (0).
fn msetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(cmd_name(argv)));
    }
    for key in argv[1..].iter().step_by(2) {
        if exists_write(ctx, key) {
            return Ok(Reply::Integer(0));
        }
    }
    for pair in argv[1..].chunks_exact(2) {
        set_plain(ctx, &pair[0], &pair[1]);
        ctx.notify(notify::STRING, "set", &pair[0]);
    }
    Ok(Reply::Integer(1))
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    /// The in-place path never writes into bytes someone else still holds (a reply, a
    /// replication copy), and a length change takes a fresh buffer.
    #[test]
    fn overwrite_digits_respects_sharing_and_length() {
        use bytes::Bytes;
        let mut v = Bytes::copy_from_slice(b"41");
        let held = v.clone();
        super::overwrite_digits(&mut v, 42);
        assert_eq!((&v[..], &held[..]), (&b"42"[..], &b"41"[..]));
        drop(held);
        let before = v.as_ptr();
        super::overwrite_digits(&mut v, 43);
        assert_eq!(
            (&v[..], v.as_ptr()),
            (&b"43"[..], before),
            "unique and same length: in place"
        );
        super::overwrite_digits(&mut v, 100);
        assert_eq!(&v[..], b"100");
        super::overwrite_digits(&mut v, -5);
        assert_eq!(&v[..], b"-5");
    }

    /// Runs each command and compares its RESP2 reply with what redis-server 7.0.15 sent.
    fn check(t: &mut TestNode, cases: &[(&[&str], &str)]) {
        for (cmd, want) in cases {
            assert_eq!(t.run_text(cmd), *want, "{cmd:?}");
        }
    }

    const OK: &str = "+OK\r\n";
    const NIL: &str = "$-1\r\n";
    const SYNTAX: &str = "-ERR syntax error\r\n";
    const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
    const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";

    #[test]
    fn set_options_and_errors() {
        let mut t = TestNode::new();
        let inv = "-ERR invalid expire time in 'set' command\r\n";
        check(
            &mut t,
            &[
                (&["SET", "k", "v", "EX", "0"], inv),
                (&["SET", "k", "v", "EX", "-1"], inv),
                (&["SET", "k", "v", "EX", "abc"], NOT_INT),
                (&["SET", "k", "v", "EX", "1.5"], NOT_INT),
                (&["SET", "k", "v", "EX", "01"], NOT_INT),
                (&["SET", "k", "v", "NX", "XX"], SYNTAX),
                (&["SET", "k", "v", "XX", "NX"], SYNTAX),
                (&["SET", "k", "v", "EX", "10", "PX", "10"], SYNTAX),
                (&["SET", "k", "v", "EX"], SYNTAX),
                (&["SET", "k", "v", "KEEPTTL", "EX", "10"], SYNTAX),
                (&["SET", "k", "v", "EX", "10", "KEEPTTL"], SYNTAX),
                (&["SET", "k", "v", "PERSIST"], SYNTAX),
                (&["SET", "k", "v", "foo"], SYNTAX),
                (&["SET", "k", "v", "EX", "abc", "NX", "XX"], SYNTAX),
                (&["SET", "k", "v", "EX", "9223372036854775"], inv),
                (&["SET", "k", "v", "EX", "9223372036854776"], inv),
                (&["SET", "k", "v", "PX", "9223372036854775807"], inv),
                (&["SET", "k", "v", "EXAT", "0"], inv),
                (&["SET", "k", "v", "PXAT", "-5"], inv),
                (&["SET", "k", "v", "EXAT", "9223372036854775"], OK),
                (&["SET", "k", "v", "PXAT", "9223372036854775807"], OK),
                (&["SET", "k", "v", "PXAT", "1"], OK),
                (&["GET", "k"], NIL),
                (
                    &["SET", "k"],
                    "-ERR wrong number of arguments for 'set' command\r\n",
                ),
            ],
        );
    }

    #[test]
    fn set_get_nx_xx_keepttl() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (&["SET", "k", "v", "GET"], NIL),
                (&["SET", "k", "w", "NX", "GET"], "$1\r\nv\r\n"),
                (&["GET", "k"], "$1\r\nv\r\n"),
                (&["SET", "k2", "w", "NX", "GET"], NIL),
                (&["SET", "k3", "w", "XX", "GET"], NIL),
                (&["EXISTS", "k3"], ":0\r\n"),
                (&["SET", "k", "x", "XX", "GET"], "$1\r\nv\r\n"),
                (&["SET", "k", "v", "ex", "10", "GET"], "$1\r\nx\r\n"),
                (&["TTL", "k"], ":10\r\n"),
                (&["SET", "k", "y", "KEEPTTL"], OK),
                (&["TTL", "k"], ":10\r\n"),
                (&["SET", "k", "z"], OK),
                (&["TTL", "k"], ":-1\r\n"),
                (&["SET", "k", "v", "EX", "10", "EX", "20"], OK),
                (&["TTL", "k"], ":20\r\n"),
                (&["SET", "k", "v", "nx", "nx"], NIL),
                (&["SET", "k", "v", "get", "get"], "$1\r\nv\r\n"),
                (&["SET", "new", "v", "XX"], NIL),
                (&["SET", "new", "v", "NX"], OK),
            ],
        );
    }

    #[test]
    fn setnx_setex_psetex_getset_getdel() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (
                    &["SETEX", "k", "0", "v"],
                    "-ERR invalid expire time in 'setex' command\r\n",
                ),
                (
                    &["SETEX", "k", "-1", "v"],
                    "-ERR invalid expire time in 'setex' command\r\n",
                ),
                (&["SETEX", "k", "abc", "v"], NOT_INT),
                (
                    &["PSETEX", "k", "0", "v"],
                    "-ERR invalid expire time in 'psetex' command\r\n",
                ),
                (
                    &["SETEX", "k", "9223372036854775", "v"],
                    "-ERR invalid expire time in 'setex' command\r\n",
                ),
                (&["SETEX", "k", "100", "v"], OK),
                (&["TTL", "k"], ":100\r\n"),
                (&["PSETEX", "k", "100000", "v"], OK),
                (&["TTL", "k"], ":100\r\n"),
                (&["SETNX", "k", "v"], ":0\r\n"),
                (&["SETNX", "n", "v"], ":1\r\n"),
                (&["GETSET", "k", "x"], "$1\r\nv\r\n"),
                (&["TTL", "k"], ":-1\r\n"),
                (&["GETSET", "nn", "x"], NIL),
                (&["GETDEL", "k"], "$1\r\nx\r\n"),
                (&["GETDEL", "k"], NIL),
                (
                    &["SETEX", "k", "1"],
                    "-ERR wrong number of arguments for 'setex' command\r\n",
                ),
            ],
        );
    }

    #[test]
    fn getex_options() {
        let mut t = TestNode::new();
        let inv = "-ERR invalid expire time in 'getex' command\r\n";
        let v = "$1\r\nv\r\n";
        check(
            &mut t,
            &[
                (&["GETEX", "nokey"], NIL),
                (&["GETEX", "nokey", "EX", "0"], NIL),
                (&["GETEX", "nokey", "EX", "abc"], NIL),
                (&["GETEX", "nokey", "foo"], SYNTAX),
                (&["SET", "k", "v"], OK),
                (&["GETEX", "k"], v),
                (&["GETEX", "k", "EX", "0"], inv),
                (&["GETEX", "k", "EX", "-1"], inv),
                (&["GETEX", "k", "PX", "0"], inv),
                (&["GETEX", "k", "EX", "abc"], NOT_INT),
                (&["GETEX", "k", "EX", "9223372036854775"], inv),
                (&["GETEX", "k", "EX", "10", "PX", "10"], SYNTAX),
                (&["GETEX", "k", "EX", "10", "PERSIST"], SYNTAX),
                (&["GETEX", "k", "PERSIST", "EX", "10"], SYNTAX),
                (&["GETEX", "k", "PERSIST", "PERSIST"], v),
                (&["GETEX", "k", "EX"], SYNTAX),
                (&["GETEX", "k", "NX"], SYNTAX),
                (&["GETEX", "k", "EX", "100"], v),
                (&["TTL", "k"], ":100\r\n"),
                (&["GETEX", "k", "PERSIST"], v),
                (&["TTL", "k"], ":-1\r\n"),
                (&["GETEX", "k", "EX", "10", "EX", "20"], v),
                (&["TTL", "k"], ":20\r\n"),
                (&["GETEX", "k", "EXAT", "1"], v),
                (&["EXISTS", "k"], ":0\r\n"),
                (&["SET", "k", "v"], OK),
                (&["GETEX", "k", "PXAT", "9223372036854775807"], v),
                (&["PEXPIRETIME", "k"], ":9223372036854775807\r\n"),
            ],
        );
    }

    #[test]
    fn append_strlen_getrange_setrange() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (&["APPEND", "k", "Hello"], ":5\r\n"),
                (&["APPEND", "k", " World"], ":11\r\n"),
                (&["STRLEN", "k"], ":11\r\n"),
                (&["STRLEN", "nokey"], ":0\r\n"),
                (&["GETRANGE", "k", "0", "4"], "$5\r\nHello\r\n"),
                (&["GETRANGE", "k", "-5", "-1"], "$5\r\nWorld\r\n"),
                (&["GETRANGE", "k", "-1", "-5"], "$0\r\n\r\n"),
                (&["GETRANGE", "k", "5", "3"], "$0\r\n\r\n"),
                (&["GETRANGE", "k", "0", "100"], "$11\r\nHello World\r\n"),
                (&["GETRANGE", "k", "-100", "2"], "$3\r\nHel\r\n"),
                (&["GETRANGE", "k", "20", "30"], "$0\r\n\r\n"),
                (&["GETRANGE", "k", "a", "1"], NOT_INT),
                (&["GETRANGE", "nokey", "0", "1"], "$0\r\n\r\n"),
                (&["SETRANGE", "k", "6", "Redis"], ":11\r\n"),
                (&["GET", "k"], "$11\r\nHello Redis\r\n"),
                (
                    &["SETRANGE", "k", "-1", "x"],
                    "-ERR offset is out of range\r\n",
                ),
                (&["SETRANGE", "k", "x", "x"], NOT_INT),
                (&["SETRANGE", "k", "0", ""], ":11\r\n"),
                (&["SETRANGE", "nokey", "5", ""], ":0\r\n"),
                (&["EXISTS", "nokey"], ":0\r\n"),
                (&["SETRANGE", "pad", "3", "ab"], ":5\r\n"),
                (&["GET", "pad"], "$5\r\n\0\0\0ab\r\n"),
                (
                    &["SETRANGE", "big", "536870911", "ab"],
                    "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
                ),
                (
                    &["SETRANGE", "k", "9223372036854775807", "ab"],
                    "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
                ),
                (&["EXISTS", "big"], ":0\r\n"),
            ],
        );
    }

    #[test]
    fn in_place_edits_keep_the_ttl() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (&["SET", "k", "1", "EX", "100"], OK),
                (&["APPEND", "k", "0"], ":2\r\n"),
                (&["INCR", "k"], ":11\r\n"),
                (&["INCRBYFLOAT", "k", "0.5"], "$4\r\n11.5\r\n"),
                (&["SETRANGE", "k", "0", "2"], ":4\r\n"),
                (&["TTL", "k"], ":100\r\n"),
                (&["MSET", "k", "v"], OK),
                (&["TTL", "k"], ":-1\r\n"),
            ],
        );
    }

    #[test]
    fn incr_family() {
        let mut t = TestNode::new();
        let overflow = "-ERR increment or decrement would overflow\r\n";
        check(
            &mut t,
            &[
                (&["INCR", "x"], ":1\r\n"),
                (&["DECR", "x"], ":0\r\n"),
                (&["INCRBY", "x", "10"], ":10\r\n"),
                (&["DECRBY", "x", "3"], ":7\r\n"),
                (&["INCRBY", "x", "abc"], NOT_INT),
                (&["DECRBY", "x", "1.5"], NOT_INT),
                (&["SET", "n", "9223372036854775807"], OK),
                (&["INCR", "n"], overflow),
                (&["INCRBY", "n", "1"], overflow),
                (&["INCRBY", "n", "-1"], ":9223372036854775806\r\n"),
                (&["SET", "m", "-9223372036854775808"], OK),
                (&["DECR", "m"], overflow),
                (&["DECRBY", "m", "1"], overflow),
                (
                    &["DECRBY", "y", "-9223372036854775808"],
                    "-ERR decrement would overflow\r\n",
                ),
                (
                    &["DECRBY", "y", "9223372036854775807"],
                    ":-9223372036854775807\r\n",
                ),
                (&["INCR", "y"], ":-9223372036854775806\r\n"),
                (&["SET", "s", "1 "], OK),
                (&["INCR", "s"], NOT_INT),
                (&["SET", "s", "01"], OK),
                (&["INCR", "s"], NOT_INT),
                (&["SET", "s", "+1"], OK),
                (&["INCR", "s"], NOT_INT),
                (&["SET", "s", "1.0"], OK),
                (&["INCR", "s"], NOT_INT),
                (&["SET", "s", ""], OK),
                (&["INCR", "s"], NOT_INT),
                (
                    &["INCR", "a", "b"],
                    "-ERR wrong number of arguments for 'incr' command\r\n",
                ),
            ],
        );
    }

    #[test]
    fn incrbyfloat_matches_long_double_output() {
        let mut t = TestNode::new();
        let nan_inf = "-ERR increment would produce NaN or Infinity\r\n";
        check(
            &mut t,
            &[
                (&["SET", "f", "0.1"], OK),
                (&["INCRBYFLOAT", "f", "0.2"], "$3\r\n0.3\r\n"),
                (
                    &["INCRBYFLOAT", "f", "1e3"],
                    "$22\r\n1000.29999999999999999\r\n",
                ),
                (&["INCRBYFLOAT", "f", " 1"], NOT_FLOAT),
                (&["INCRBYFLOAT", "f", "1 "], NOT_FLOAT),
                (
                    &["INCRBYFLOAT", "f", "0x10"],
                    "$22\r\n1016.29999999999999999\r\n",
                ),
                (
                    &["INCRBYFLOAT", "f", "+5"],
                    "$22\r\n1021.29999999999999999\r\n",
                ),
                (
                    &["INCRBYFLOAT", "f", ".5"],
                    "$22\r\n1021.79999999999999999\r\n",
                ),
                (
                    &["INCRBYFLOAT", "f", "5."],
                    "$22\r\n1026.80000000000000004\r\n",
                ),
                (&["INCRBYFLOAT", "f", "1e"], NOT_FLOAT),
                (&["INCRBYFLOAT", "f", "inf"], nan_inf),
                (&["INCRBYFLOAT", "f", "-inf"], nan_inf),
                (&["INCRBYFLOAT", "f", "infinity"], nan_inf),
                (&["INCRBYFLOAT", "f", "nan"], NOT_FLOAT),
                (&["INCRBYFLOAT", "f", "1e5000"], NOT_FLOAT),
                (&["INCRBYFLOAT", "f", "1e-5000"], NOT_FLOAT),
                (&["SET", "h", "100000"], OK),
                (
                    &["INCRBYFLOAT", "h", "0.1"],
                    "$24\r\n100000.10000000000000142\r\n",
                ),
                (
                    &["INCRBYFLOAT", "h", "0.1"],
                    "$24\r\n100000.20000000000000284\r\n",
                ),
                (&["SET", "h", "-0"], OK),
                (&["INCRBYFLOAT", "h", "-0.0"], "$1\r\n0\r\n"),
                (&["INCRBYFLOAT", "z", "3.0e3"], "$4\r\n3000\r\n"),
                (&["SET", "y", "10.5"], OK),
                (&["INCRBYFLOAT", "y", "5.0e3"], "$6\r\n5010.5\r\n"),
                (&["GET", "y"], "$6\r\n5010.5\r\n"),
                (&["SET", "y", " 1"], OK),
                (&["INCRBYFLOAT", "y", "1"], NOT_FLOAT),
                (&["SET", "y", ""], OK),
                (&["INCRBYFLOAT", "y", "1"], NOT_FLOAT),
                (&["INCRBYFLOAT", "q", "-1.5"], "$4\r\n-1.5\r\n"),
                (
                    &["INCRBYFLOAT", "q2", "0.30000000000000004"],
                    "$19\r\n0.30000000000000004\r\n",
                ),
            ],
        );
    }

    #[test]
    fn mget_mset_msetnx() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (
                    &["MSET", "a", "1", "b"],
                    "-ERR wrong number of arguments for 'mset' command\r\n",
                ),
                (
                    &["MSETNX", "a", "1", "b"],
                    "-ERR wrong number of arguments for 'msetnx' command\r\n",
                ),
                (&["MSETNX", "a", "1", "b", "2"], ":1\r\n"),
                (&["MSETNX", "a", "3", "c", "4"], ":0\r\n"),
                (
                    &["MGET", "a", "b", "c"],
                    "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n",
                ),
                (&["MSET", "a", "x", "c", "y"], OK),
                (&["MGET", "a", "c"], "*2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
                (
                    &["MGET"],
                    "-ERR wrong number of arguments for 'mget' command\r\n",
                ),
            ],
        );
    }

    #[test]
    fn keyspace_hit_and_miss_stats() {
        let mut t = TestNode::new();
        t.run(&["SET", "s", "v"]);
        t.run(&["SET", "n", "1"]);
        let cases: &[(&[&str], u64, u64)] = &[
            (&["GET", "s"], 1, 0),
            (&["GET", "zz"], 0, 1),
            (&["STRLEN", "s"], 1, 0),
            (&["GETRANGE", "zz", "0", "1"], 0, 1),
            (&["MGET", "s", "zz"], 1, 1),
            (&["GETEX", "s"], 1, 0),
            (&["GETSET", "zz", "v"], 0, 1),
            (&["SET", "s", "v", "GET"], 1, 0),
            (&["SET", "y", "v", "NX", "GET"], 0, 1),
            (&["SET", "s", "v"], 0, 0),
            (&["APPEND", "s", "x"], 0, 0),
            (&["INCR", "n"], 0, 0),
            (&["INCRBYFLOAT", "n", "1"], 0, 0),
            (&["SETRANGE", "s", "0", "a"], 0, 0),
            (&["SETNX", "s", "v"], 0, 0),
            (&["MSETNX", "s", "v"], 0, 0),
            (&["GETDEL", "s"], 1, 0),
            (&["GETDEL", "s"], 0, 1),
        ];
        for (cmd, hits, misses) in cases {
            let (h0, m0) = (
                t.node.rest.stats.keyspace_hits,
                t.node.rest.stats.keyspace_misses,
            );
            t.run(cmd);
            let s = &t.node.rest.stats;
            assert_eq!(
                (s.keyspace_hits - h0, s.keyspace_misses - m0),
                (*hits, *misses),
                "{cmd:?}"
            );
        }
    }

    #[test]
    fn command_table_metadata() {
        use crate::cmd::{flags, lookup};
        let get = lookup(b"get").unwrap();
        assert_eq!((get.arity, get.flags), (2, flags::READONLY | flags::FAST));
        let set = lookup(b"SET").unwrap();
        assert_eq!((set.arity, set.flags), (-3, flags::WRITE | flags::DENYOOM));
        let mset = lookup(b"mset").unwrap();
        assert_eq!(mset.arity, -3);
        assert_eq!(mset.keys.key_indexes(5).collect::<Vec<_>>(), vec![1, 3]);
        let mget = lookup(b"mget").unwrap();
        assert_eq!(mget.keys.key_indexes(4).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(lookup(b"getex").unwrap().arity, -2);
    }
}

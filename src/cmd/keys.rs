//! Keyspace commands: DEL UNLINK EXISTS TOUCH TYPE, the EXPIRE and TTL families, PERSIST,
//! RENAME RENAMENX COPY, RANDOMKEY KEYS SCAN, DBSIZE FLUSHALL FLUSHDB.
//!
//! Also the lookup helpers every command family shares: Redis's read lookups count keyspace
//! hits and misses, and a lookup that finds an expired key deletes it and counts it in
//! `expired_keys`.

use super::{arg_i64, eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::{Entry, Value};
use crate::notify;
use crate::resp::Reply;
use bytes::Bytes;
use rand::RngCore;

const RENAME_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "del",
        arity: -2,
        flags: flags::WRITE,
        keys: KeySpec::ALL,
        group: "generic",
        summary: "Delete a key",
        handler: del,
    },
    CommandSpec {
        name: "unlink",
        arity: -2,
        flags: flags::WRITE | flags::FAST,
        keys: KeySpec::ALL,
        group: "generic",
        summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        handler: del,
    },
    CommandSpec {
        name: "exists",
        arity: -2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::ALL,
        group: "generic",
        summary: "Determine if a key exists",
        handler: exists,
    },
    CommandSpec {
        name: "touch",
        arity: -2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::ALL,
        group: "generic",
        summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        handler: exists,
    },
    CommandSpec {
        name: "type",
        arity: 2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Determine the type stored at key",
        handler: type_cmd,
    },
    CommandSpec {
        name: "expire",
        arity: -3,
        flags: flags::WRITE | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Set a key's time to live in seconds",
        handler: expire,
    },
    CommandSpec {
        name: "pexpire",
        arity: -3,
        flags: flags::WRITE | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Set a key's time to live in milliseconds",
        handler: pexpire,
    },
    CommandSpec {
        name: "expireat",
        arity: -3,
        flags: flags::WRITE | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Set the expiration for a key as a UNIX timestamp",
        handler: expireat,
    },
    CommandSpec {
        name: "pexpireat",
        arity: -3,
        flags: flags::WRITE | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        handler: pexpireat,
    },
    CommandSpec {
        name: "ttl",
        arity: 2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Get the time to live for a key in seconds",
        handler: ttl,
    },
    CommandSpec {
        name: "pttl",
        arity: 2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Get the time to live for a key in milliseconds",
        handler: pttl,
    },
    CommandSpec {
        name: "expiretime",
        arity: 2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Get the expiration Unix timestamp for a key",
        handler: expiretime,
    },
    CommandSpec {
        name: "pexpiretime",
        arity: 2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Get the expiration Unix timestamp for a key in milliseconds",
        handler: pexpiretime,
    },
    CommandSpec {
        name: "persist",
        arity: 2,
        flags: flags::WRITE | flags::FAST,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Remove the expiration from a key",
        handler: persist,
    },
    CommandSpec {
        name: "rename",
        arity: 3,
        flags: flags::WRITE,
        keys: RENAME_KEYS,
        group: "generic",
        summary: "Rename a key",
        handler: rename,
    },
    CommandSpec {
        name: "renamenx",
        arity: 3,
        flags: flags::WRITE | flags::FAST,
        keys: RENAME_KEYS,
        group: "generic",
        summary: "Rename a key, only if the new key does not exist",
        handler: renamenx,
    },
    CommandSpec {
        name: "copy",
        arity: -3,
        flags: flags::WRITE | flags::DENYOOM,
        keys: RENAME_KEYS,
        group: "generic",
        summary: "Copy a key",
        handler: copy,
    },
    CommandSpec {
        name: "randomkey",
        arity: 1,
        flags: flags::READONLY,
        keys: KeySpec::NONE,
        group: "generic",
        summary: "Return a random key from the keyspace",
        handler: randomkey,
    },
    CommandSpec {
        name: "keys",
        arity: 2,
        flags: flags::READONLY,
        keys: KeySpec::NONE,
        group: "generic",
        summary: "Find all keys matching the given pattern",
        handler: keys,
    },
    CommandSpec {
        name: "scan",
        arity: -2,
        flags: flags::READONLY,
        keys: KeySpec::NONE,
        group: "generic",
        summary: "Incrementally iterate the keys space",
        handler: scan,
    },
    CommandSpec {
        name: "dbsize",
        arity: 1,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::NONE,
        group: "server",
        summary: "Return the number of keys in the selected database",
        handler: dbsize,
    },
    CommandSpec {
        name: "flushall",
        arity: -1,
        flags: flags::WRITE,
        keys: KeySpec::NONE,
        group: "server",
        summary: "Remove all keys from all databases",
        handler: flush,
    },
    CommandSpec {
        name: "flushdb",
        arity: -1,
        flags: flags::WRITE,
        keys: KeySpec::NONE,
        group: "server",
        summary: "Remove all keys from the current database",
        handler: flush,
    },
];

// ---------------------------------------------------------------------------------------------
// Lookups shared by the command families.

/// Deletes `key` if its TTL has passed, counting it in INFO's `expired_keys`; true if deleted.
pub(crate) fn expire_key(ctx: &mut Ctx<'_>, key: &[u8]) -> bool {
    let expired = ctx.db.remove_if_expired(key, ctx.now_ms);
    if expired {
        ctx.node.stats.expired_keys += 1;
    }
    expired
}

/// A lookup for writing (Redis's lookupKeyWrite): lazy expiry, no hit/miss stats.
pub(crate) fn lookup_write<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c Entry> {
    expire_key(ctx, key);
    ctx.db.get(key, ctx.now_ms)
}

/// A lookup for reading (Redis's lookupKeyRead): lazy expiry, and a keyspace hit or miss.
pub(crate) fn lookup_read<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c Entry> {
    expire_key(ctx, key);
    let found = ctx.db.get(key, ctx.now_ms).is_some();
    if found {
        ctx.node.stats.keyspace_hits += 1;
    } else {
        ctx.node.stats.keyspace_misses += 1;
        ctx.notify(crate::notify::KEY_MISS, "keymiss", key);
    }
    // The access was counted by the first look.
    ctx.db.get_untouched(key, ctx.now_ms)
}

/// True if the live key exists (write lookup: no stats).
pub(crate) fn exists_write(ctx: &mut Ctx<'_>, key: &[u8]) -> bool {
    lookup_write(ctx, key).is_some()
}

// ---------------------------------------------------------------------------------------------
// DEL UNLINK EXISTS TOUCH TYPE

/// DEL key [key ...] / UNLINK key [key ...]: deletes the keys; replies how many existed.
fn del(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut deleted = 0;
    for key in &argv[1..] {
        expire_key(ctx, key);
        if ctx.db.remove(key).is_some() {
            deleted += 1;
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    Ok(Reply::Integer(deleted))
}

/// EXISTS key [key ...] / TOUCH key [key ...]: how many of the arguments name a live key (a key
/// named twice counts twice for EXISTS; TOUCH's access time is not tracked).
fn exists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for key in &argv[1..] {
        if lookup_read(ctx, key).is_some() {
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

/// TYPE key: `string`, ..., or `none`.
fn type_cmd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let name = lookup_read(ctx, &argv[1]).map_or("none", |e| e.value.type_name());
    Ok(Reply::simple(name))
}

// ---------------------------------------------------------------------------------------------
// EXPIRE PEXPIRE EXPIREAT PEXPIREAT

/// The NX / XX / GT / LT options of the EXPIRE family.
#[derive(Debug, Default, Clone, Copy)]
struct ExpireCond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireCond {
    fn parse(args: &[Bytes]) -> Result<ExpireCond, CmdError> {
        let mut c = ExpireCond::default();
        for arg in args {
            if eq_ignore_case(arg, "nx") {
                c.nx = true;
            } else if eq_ignore_case(arg, "xx") {
                c.xx = true;
            } else if eq_ignore_case(arg, "gt") {
                c.gt = true;
            } else if eq_ignore_case(arg, "lt") {
                c.lt = true;
            } else {
                return Err(CmdError::other(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(arg)
                )));
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CmdError::other(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(CmdError::other(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// True if the new absolute time `when` may replace `current` (None: no TTL, i.e. infinite).
    fn allows(&self, current: Option<u64>, when: i64) -> bool {
        let current = current.map(|t| t.min(i64::MAX as u64) as i64);
        if self.nx && current.is_some() {
            return false;
        }
        if self.xx && current.is_none() {
            return false;
        }
        if self.gt && current.is_none_or(|cur| when <= cur) {
            return false;
        }
        if self.lt && current.is_some_and(|cur| when >= cur) {
            return false;
        }
        true
    }
}

/// The shared body of the EXPIRE family: `base_ms` is added to the (unit-converted) argument.
fn expire_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], base_ms: i64, seconds: bool) -> CmdResult {
    let name = argv[0].to_ascii_lowercase();
    let invalid = || CmdError::InvalidExpire(String::from_utf8_lossy(&name).into_owned());
    let cond = ExpireCond::parse(&argv[3..])?;
    let mut when = arg_i64(&argv[2])?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    let when = when.checked_add(base_ms).ok_or_else(invalid)?;
    let key = &argv[1];
    let Some(entry) = lookup_write(ctx, key) else {
        return Ok(Reply::Integer(0));
    };
    if !cond.allows(entry.expire_ms(), when) {
        return Ok(Reply::Integer(0));
    }
    if when <= ctx.now_ms as i64 {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.db.set_expire(key, Some(when as u64), ctx.now_ms);
        ctx.notify(notify::GENERIC, "expire", key);
    }
    Ok(Reply::Integer(1))
}

/// EXPIRE key seconds [NX | XX | GT | LT]
fn expire(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms as i64;
    expire_generic(ctx, argv, now, true)
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT]
fn pexpire(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms as i64;
    expire_generic(ctx, argv, now, false)
}

/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
fn expireat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, 0, true)
}

/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
fn pexpireat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, 0, false)
}

// ---------------------------------------------------------------------------------------------
// TTL PTTL EXPIRETIME PEXPIRETIME PERSIST

/// The shared body of TTL and friends: -2 no key, -1 no TTL, else the remaining time (or the
/// absolute deadline), in ms or in seconds rounded to nearest.
fn ttl_generic(ctx: &mut Ctx<'_>, key: &[u8], millis: bool, absolute: bool) -> CmdResult {
    let now = ctx.now_ms as i64;
    let Some(entry) = lookup_read(ctx, key) else {
        return Ok(Reply::Integer(-2));
    };
    let Some(at) = entry.expire_ms() else {
        return Ok(Reply::Integer(-1));
    };
    let at = at.min(i64::MAX as u64) as i64;
    let ms = if absolute { at } else { (at - now).max(0) };
    Ok(Reply::Integer(if millis { ms } else { (ms + 500) / 1000 }))
}

/// TTL key
fn ttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &argv[1], false, false)
}

/// PTTL key
fn pttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &argv[1], true, false)
}

/// EXPIRETIME key
fn expiretime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &argv[1], false, true)
}

/// PEXPIRETIME key
fn pexpiretime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &argv[1], true, true)
}

/// PERSIST key: 1 if a TTL was removed, else 0.
fn persist(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let had_ttl = lookup_write(ctx, key).is_some_and(|e| e.expire_ms().is_some());
    if had_ttl {
        ctx.db.set_expire(key, None, ctx.now_ms);
        ctx.notify(notify::GENERIC, "persist", key);
    }
    Ok(Reply::Integer(had_ttl as i64))
}

// ---------------------------------------------------------------------------------------------
// RENAME RENAMENX COPY

/// The shared body of RENAME and RENAMENX; the value keeps its TTL.
fn rename_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&argv[1], &argv[2]);
    if lookup_write(ctx, src).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    let done = |renamed: bool| {
        if nx {
            Reply::Integer(renamed as i64)
        } else {
            Reply::ok()
        }
    };
    if src == dst {
        return Ok(done(false));
    }
    if nx && exists_write(ctx, dst) {
        return Ok(Reply::Integer(0));
    }
    let Some(entry) = ctx.db.remove(src) else {
        return Err(CmdError::NoSuchKey);
    };
    let (value, expire_ms) = entry.into_parts();
    // Redis deletes an existing destination and adds the key anew (a `new` event).
    ctx.db.remove(dst);
    ctx.db.insert(dst.clone(), value, expire_ms);
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    Ok(done(true))
}

/// RENAME key newkey
fn rename(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, false)
}

/// RENAMENX key newkey
fn renamenx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, true)
}

/// COPY source destination [DB destination-db] [REPLACE]: 1 if copied (with its TTL), 0 if the
/// source is missing or the destination exists without REPLACE. Only DB 0 exists here: another
/// DB index is out of range.
fn copy(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (src, dst) = (&argv[1], &argv[2]);
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        if eq_ignore_case(&argv[i], "replace") {
            replace = true;
        } else if eq_ignore_case(&argv[i], "db") && i + 1 < argv.len() {
            // keyslot has database 0 only (as Redis Cluster clients see it).
            if arg_i64(&argv[i + 1])? != 0 {
                return Err(CmdError::other("ERR DB index is out of range"));
            }
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if src == dst {
        return Err(CmdError::other(
            "ERR source and destination objects are the same",
        ));
    }
    let Some(entry) = lookup_read(ctx, src).cloned() else {
        return Ok(Reply::Integer(0));
    };
    if exists_write(ctx, dst) && !replace {
        return Ok(Reply::Integer(0));
    }
    let (value, expire_ms) = entry.into_parts();
    // REPLACE deletes the destination and adds the copy anew (a `new` event), as Redis.
    ctx.db.remove(dst);
    ctx.db.insert(dst.clone(), value, expire_ms);
    ctx.notify(notify::GENERIC, "copy_to", dst);
    Ok(Reply::Integer(1))
}

// ---------------------------------------------------------------------------------------------
// RANDOMKEY KEYS SCAN DBSIZE FLUSHALL FLUSHDB

/// RANDOMKEY: a random live key, or nil when the keyspace is empty. Expired keys met on the way
/// are deleted.
fn randomkey(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    loop {
        let pick = ctx.node.rng.next_u64();
        let Some(key) = ctx.db.random_key(pick) else {
            return Ok(Reply::Null);
        };
        if !expire_key(ctx, &key) {
            return Ok(Reply::Bulk(key));
        }
    }
}

/// KEYS pattern: every live key matching the glob pattern.
fn keys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let pattern = &argv[1];
    let all = pattern.as_ref() == b"*";
    let now = ctx.now_ms;
    let db = &*ctx.db;
    let out: Vec<Reply> = db
        .keys()
        .filter(|k| all || crate::glob::matches(pattern, k, false))
        .filter(|k| {
            db.peek(k)
                .is_some_and(|e| e.expire_ms().is_none_or(|t| t > now))
        })
        .map(|k| Reply::Bulk(Bytes::copy_from_slice(k)))
        .collect();
    Ok(Reply::Array(out))
}

/// A SCAN cursor as Redis's strtoul reads it: optional sign (a `-` wraps), decimal digits, no
/// leading space, nothing after; the empty string is cursor 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        Some(_) => (false, arg),
        None => return Some(0),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: `[next cursor, [keys]]`.
fn scan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&argv[1]).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let mut count = 10usize;
    let mut pattern: Option<&Bytes> = None;
    let mut type_name: Option<&Bytes> = None;
    let mut i = 2;
    while i < argv.len() {
        let has_arg = i + 1 < argv.len();
        if eq_ignore_case(&argv[i], "count") && has_arg {
            let n = arg_i64(&argv[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ignore_case(&argv[i], "match") && has_arg {
            pattern = Some(&argv[i + 1]).filter(|p| p.as_ref() != b"*");
        } else if eq_ignore_case(&argv[i], "type") && has_arg {
            type_name = Some(&argv[i + 1]);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let (next, found) = ctx.db.scan_keys(cursor, count);
    let mut out = Vec::with_capacity(found.len());
    for key in found {
        if pattern.is_some_and(|p| !crate::glob::matches(p, &key, false)) {
            continue;
        }
        if let Some(want) = type_name {
            let have = lookup_read(ctx, &key).map_or("none", |e| e.value.type_name());
            if !want.eq_ignore_ascii_case(have.as_bytes()) {
                continue;
            }
        }
        if expire_key(ctx, &key) {
            continue;
        }
        out.push(Reply::Bulk(key));
    }
    let next = Reply::bulk(itoa::Buffer::new().format(next));
    Ok(Reply::Array(vec![next, Reply::Array(out)]))
}

/// DBSIZE: the number of keys (expired ones not yet collected included).
fn dbsize(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.db.len() as i64))
}

/// FLUSHALL [ASYNC | SYNC] / FLUSHDB [ASYNC | SYNC]: deletes every key.
fn flush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        1 => {}
        2 if eq_ignore_case(&argv[1], "sync") || eq_ignore_case(&argv[1], "async") => {}
        _ => return Err(CmdError::Syntax),
    }
    ctx.db.clear();
    Ok(Reply::ok())
}

/// A string value, or WRONGTYPE for any other type.
pub(crate) fn as_str(value: &Value) -> Result<&Bytes, CmdError> {
    match value {
        Value::Str(b) => Ok(b),
        _ => Err(CmdError::WrongType),
    }
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    fn run(t: &mut TestNode, cmds: &[&[&str]]) -> Vec<String> {
        cmds.iter().map(|c| t.run_text(c)).collect()
    }

    #[test]
    fn del_exists_touch_type() {
        let mut t = TestNode::new();
        t.run(&["MSET", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(t.run_text(&["EXISTS", "a", "a", "zz", "b"]), ":3\r\n");
        assert_eq!(t.run_text(&["TOUCH", "a", "a", "zz"]), ":2\r\n");
        assert_eq!(t.run_text(&["UNLINK", "a", "zz"]), ":1\r\n");
        assert_eq!(t.run_text(&["DEL", "b", "c", "b"]), ":2\r\n");
        assert_eq!(t.run_text(&["DBSIZE"]), ":0\r\n");
        t.run(&["SET", "s", "v"]);
        assert_eq!(t.run_text(&["TYPE", "s"]), "+string\r\n");
        assert_eq!(t.run_text(&["TYPE", "zz"]), "+none\r\n");
        assert_eq!(
            t.run_text(&["DEL"]),
            "-ERR wrong number of arguments for 'del' command\r\n"
        );
        assert_eq!(
            t.run_text(&["TYPE", "a", "b"]),
            "-ERR wrong number of arguments for 'type' command\r\n"
        );
    }

    #[test]
    fn expire_options_and_errors() {
        let mut t = TestNode::new();
        t.run(&["SET", "k", "v"]);
        let got = run(
            &mut t,
            &[
                &["EXPIRE", "k", "100", "NX", "XX"],
                &["EXPIRE", "k", "100", "GT", "LT"],
                &["EXPIRE", "k", "100", "NX", "GT"],
                &["EXPIRE", "k", "100", "foo"],
                &["EXPIRE", "k", "abc", "foo"],
                &["EXPIRE", "k", "abc"],
                &["EXPIRE", "k", "100", "nx"],
                &["EXPIRE", "k", "200", "NX"],
                &["EXPIRE", "k", "50", "GT"],
                &["EXPIRE", "k", "500", "GT"],
                &["EXPIRE", "k", "600", "LT"],
                &["EXPIRE", "k", "60", "LT"],
                &["TTL", "k"],
                &["PERSIST", "k"],
                &["EXPIRE", "k", "60", "XX"],
                &["EXPIRE", "k", "60", "GT"],
                &["EXPIRE", "k", "60", "LT"],
                &["TTL", "k"],
                &["EXPIRE", "k", "100", "NX", "NX"],
                &["EXPIRE", "k"],
            ],
        );
        let want = [
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
            "-ERR GT and LT options at the same time are not compatible\r\n",
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
            "-ERR Unsupported option foo\r\n",
            "-ERR Unsupported option foo\r\n",
            "-ERR value is not an integer or out of range\r\n",
            ":1\r\n",
            ":0\r\n",
            ":0\r\n",
            ":1\r\n",
            ":0\r\n",
            ":1\r\n",
            ":60\r\n",
            ":1\r\n",
            ":0\r\n",
            ":0\r\n",
            ":1\r\n",
            ":60\r\n",
            ":0\r\n",
            "-ERR wrong number of arguments for 'expire' command\r\n",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn expire_overflow_and_past_times() {
        let mut t = TestNode::new();
        t.run(&["SET", "k", "v"]);
        let got = run(
            &mut t,
            &[
                &["EXPIRE", "k", "9223372036854776"],
                &["EXPIRE", "k", "-9223372036854776"],
                &["EXPIRE", "k", "9223372036854775"],
                &["PEXPIRE", "k", "9223372036854775807"],
                &["EXPIRE", "k", "-9223372036854775808"],
                &["EXPIREAT", "k", "9223372036854775"],
                &["EXPIRETIME", "k"],
                &["PEXPIRETIME", "k"],
                &["EXPIRE", "nokey", "100"],
                &["EXPIRE", "nokey", "100", "foo"],
                &["EXPIRE", "nokey", "abc"],
                &["EXPIRE", "k", "-1", "NX"],
                &["EXPIRE", "k", "-1"],
                &["EXISTS", "k"],
                &["TTL", "k"],
                &["PTTL", "k"],
                &["EXPIRETIME", "k"],
                &["SET", "k", "v"],
                &["EXPIRETIME", "k"],
                &["TTL", "k"],
                &["PTTL", "k"],
                &["EXPIRE", "k", "0"],
                &["EXISTS", "k"],
                &["SET", "k", "v"],
                &["PEXPIREAT", "k", "1"],
                &["EXISTS", "k"],
                &["SET", "k", "v"],
                &["PEXPIRE", "k", "-9223372036854775808"],
                &["EXISTS", "k"],
                &["SET", "k", "v"],
                &["EXPIRE", "k", "-5", "LT"],
                &["EXISTS", "k"],
                &["PERSIST", "k"],
                &["PERSIST", "nokey"],
            ],
        );
        let invalid = |c: &str| format!("-ERR invalid expire time in '{c}' command\r\n");
        let want = [
            invalid("expire"),
            invalid("expire"),
            invalid("expire"),
            invalid("pexpire"),
            invalid("expire"),
            ":1\r\n".into(),
            ":9223372036854775\r\n".into(),
            ":9223372036854775000\r\n".into(),
            ":0\r\n".into(),
            "-ERR Unsupported option foo\r\n".into(),
            "-ERR value is not an integer or out of range\r\n".into(),
            ":0\r\n".into(),
            ":1\r\n".into(),
            ":0\r\n".into(),
            ":-2\r\n".into(),
            ":-2\r\n".into(),
            ":-2\r\n".into(),
            "+OK\r\n".into(),
            ":-1\r\n".into(),
            ":-1\r\n".into(),
            ":-1\r\n".into(),
            ":1\r\n".into(),
            ":0\r\n".into(),
            "+OK\r\n".into(),
            ":1\r\n".into(),
            ":0\r\n".into(),
            "+OK\r\n".into(),
            ":1\r\n".into(),
            ":0\r\n".into(),
            "+OK\r\n".into(),
            ":1\r\n".into(),
            ":0\r\n".into(),
            ":0\r\n".into(),
            ":0\r\n".into(),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn ttl_rounds_to_nearest_second() {
        let mut t = TestNode::new();
        t.run(&["SET", "k", "v"]);
        assert_eq!(t.run_text(&["PEXPIRE", "k", "100000"]), ":1\r\n");
        let pttl = t.run_text(&["PTTL", "k"]);
        let ms: i64 = pttl[1..pttl.len() - 2].parse().unwrap();
        assert!((99_000..=100_000).contains(&ms), "{pttl}");
        assert_eq!(t.run_text(&["TTL", "k"]), ":100\r\n");
        t.run(&["PEXPIRE", "k", "1499"]);
        assert_eq!(t.run_text(&["TTL", "k"]), ":1\r\n");
        t.run(&["PEXPIRE", "k", "400"]);
        assert_eq!(t.run_text(&["TTL", "k"]), ":0\r\n");
    }

    #[test]
    fn rename_renamenx_keep_ttl() {
        let mut t = TestNode::new();
        let got = run(
            &mut t,
            &[
                &["RENAME", "a", "b"],
                &["RENAMENX", "a", "b"],
                &["RENAME", "a", "a"],
                &["SET", "a", "1"],
                &["RENAME", "a", "a"],
                &["RENAMENX", "a", "a"],
                &["EXPIRE", "a", "100"],
                &["RENAME", "a", "b"],
                &["TTL", "b"],
                &["EXISTS", "a"],
                &["SET", "c", "2"],
                &["RENAMENX", "b", "c"],
                &["RENAME", "c", "b"],
                &["TTL", "b"],
                &["GET", "b"],
                &["RENAMENX", "b", "d"],
                &["GET", "d"],
            ],
        );
        let want = [
            "-ERR no such key\r\n",
            "-ERR no such key\r\n",
            "-ERR no such key\r\n",
            "+OK\r\n",
            "+OK\r\n",
            ":0\r\n",
            ":1\r\n",
            "+OK\r\n",
            ":100\r\n",
            ":0\r\n",
            "+OK\r\n",
            ":0\r\n",
            "+OK\r\n",
            ":-1\r\n",
            "$1\r\n2\r\n",
            ":1\r\n",
            "$1\r\n2\r\n",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn copy_options() {
        let mut t = TestNode::new();
        t.run(&["MSET", "a", "1", "b", "2"]);
        let got = run(
            &mut t,
            &[
                &["COPY", "a", "b"],
                &["COPY", "a", "b", "REPLACE"],
                &["GET", "b"],
                &["COPY", "a", "a"],
                &["COPY", "zz", "q"],
                &["COPY", "a", "b", "DB", "0"],
                &["COPY", "a", "b", "DB", "x"],
                &["COPY", "a", "b", "foo"],
                &["COPY", "a", "b", "DB"],
                &["COPY", "a", "b", "DB", "1"],
                &["COPY", "a"],
            ],
        );
        let want = [
            ":0\r\n",
            ":1\r\n",
            "$1\r\n1\r\n",
            "-ERR source and destination objects are the same\r\n",
            ":0\r\n",
            ":0\r\n",
            "-ERR value is not an integer or out of range\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            "-ERR DB index is out of range\r\n",
            "-ERR wrong number of arguments for 'copy' command\r\n",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn copy_keeps_ttl() {
        let mut t = TestNode::new();
        t.run(&["SET", "a", "1", "EX", "100"]);
        assert_eq!(t.run_text(&["COPY", "a", "b"]), ":1\r\n");
        assert_eq!(t.run_text(&["TTL", "b"]), ":100\r\n");
    }

    #[test]
    fn scan_keys_randomkey_flush() {
        let mut t = TestNode::new();
        assert_eq!(t.run_text(&["RANDOMKEY"]), "$-1\r\n");
        assert_eq!(t.run_text(&["KEYS", "*"]), "*0\r\n");
        assert_eq!(t.run_text(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        t.run(&["SET", "b", "2"]);
        let got = run(
            &mut t,
            &[
                &["KEYS", "*"],
                &["KEYS", "[bc]"],
                &["KEYS", "x*"],
                &["SCAN", "0"],
                &["SCAN", ""],
                &["SCAN", "+0"],
                &["SCAN", "-1"],
                &["SCAN", "18446744073709551615"],
                &["SCAN", "abc"],
                &["SCAN", " 0"],
                &["SCAN", "18446744073709551616"],
                &["SCAN", "0", "COUNT", "0"],
                &["SCAN", "0", "COUNT", "-1"],
                &["SCAN", "0", "COUNT", "abc"],
                &["SCAN", "0", "COUNT"],
                &["SCAN", "0", "MATCH"],
                &["SCAN", "0", "foo", "bar"],
                &["SCAN", "0", "MATCH", "b"],
                &["SCAN", "0", "MATCH", "c"],
                &["SCAN", "0", "TYPE", "list"],
                &["SCAN", "0", "TYPE", "nonsense"],
                &["SCAN", "0", "count", "5", "match", "*", "type", "STRING"],
                &["RANDOMKEY"],
                &["DBSIZE"],
                &["FLUSHDB", "foo"],
                &["FLUSHDB", "ASYNC", "SYNC"],
                &["FLUSHALL", "x"],
                &["FLUSHDB", "sync"],
                &["DBSIZE"],
                &["SET", "b", "2"],
                &["FLUSHALL", "async"],
                &["FLUSHALL"],
                &["DBSIZE"],
            ],
        );
        let one = "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nb\r\n";
        let none = "*2\r\n$1\r\n0\r\n*0\r\n";
        let want = [
            "*1\r\n$1\r\nb\r\n",
            "*1\r\n$1\r\nb\r\n",
            "*0\r\n",
            one,
            one,
            one,
            none,
            none,
            "-ERR invalid cursor\r\n",
            "-ERR invalid cursor\r\n",
            "-ERR invalid cursor\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            "-ERR value is not an integer or out of range\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            one,
            none,
            none,
            none,
            one,
            "$1\r\nb\r\n",
            ":1\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            "+OK\r\n",
            ":0\r\n",
            "+OK\r\n",
            "+OK\r\n",
            "+OK\r\n",
            ":0\r\n",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn scan_visits_every_key_once() {
        let mut t = TestNode::new();
        for i in 0..300 {
            t.run(&["SET", &format!("key:{i}"), "v"]);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let reply = t.run(&["SCAN", &cursor, "COUNT", "20"]);
            let crate::resp::Reply::Array(parts) = reply else {
                panic!("not an array");
            };
            let (crate::resp::Reply::Bulk(c), crate::resp::Reply::Array(keys)) =
                (&parts[0], &parts[1])
            else {
                panic!("bad shape");
            };
            for k in keys {
                let crate::resp::Reply::Bulk(k) = k else {
                    panic!("key is not a bulk string");
                };
                assert!(seen.insert(k.clone()));
            }
            cursor = String::from_utf8(c.to_vec()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 300);
    }

    #[test]
    fn expired_keys_are_hidden_and_counted() {
        let mut t = TestNode::new();
        t.run(&["SET", "e", "v", "PXAT", "1"]);
        t.run(&["SET", "s", "v"]);
        assert_eq!(t.run_text(&["DBSIZE"]), ":2\r\n");
        assert_eq!(t.run_text(&["KEYS", "*"]), "*1\r\n$1\r\ns\r\n");
        assert_eq!(t.run_text(&["DBSIZE"]), ":2\r\n");
        assert_eq!(
            t.run_text(&["SCAN", "0"]),
            "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n"
        );
        assert_eq!(t.node.rest.stats.expired_keys, 1);
        assert_eq!(t.run_text(&["DBSIZE"]), ":1\r\n");
        t.run(&["SET", "e", "v", "PXAT", "1"]);
        assert_eq!(t.run_text(&["DEL", "e"]), ":0\r\n");
        assert_eq!(t.node.rest.stats.expired_keys, 2);
    }

    #[test]
    fn keyspace_hit_and_miss_stats() {
        let mut t = TestNode::new();
        t.run(&["SET", "s", "v"]);
        let cases: &[(&[&str], u64, u64)] = &[
            (&["EXISTS", "s", "zz"], 1, 1),
            (&["TYPE", "zz"], 0, 1),
            (&["TTL", "s"], 1, 0),
            (&["PEXPIRETIME", "zz"], 0, 1),
            (&["TOUCH", "s", "zz"], 1, 1),
            (&["EXPIRE", "s", "100"], 0, 0),
            (&["PERSIST", "s"], 0, 0),
            (&["KEYS", "*"], 0, 0),
            (&["SCAN", "0"], 0, 0),
            (&["SCAN", "0", "TYPE", "string"], 1, 0),
            (&["RANDOMKEY"], 0, 0),
            (&["COPY", "s", "c"], 1, 0),
            (&["RENAME", "c", "d"], 0, 0),
            (&["DEL", "zz"], 0, 0),
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
        let del = lookup(b"DEL").unwrap();
        assert_eq!((del.arity, del.flags), (-2, flags::WRITE));
        let rename = lookup(b"rename").unwrap();
        assert_eq!(rename.keys.key_indexes(3).collect::<Vec<_>>(), vec![1, 2]);
        let expire = lookup(b"expire").unwrap();
        assert_eq!(expire.arity, -3);
        assert_eq!(lookup(b"scan").unwrap().keys.key_indexes(5).count(), 0);
    }
}

//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER
//! SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SINTERCARD SSCAN.
//!
//! Also the cursor walk HSCAN / SSCAN / ZSCAN share (see [`scan_window`]).

use super::keys::{expire_key, lookup_read, lookup_write};
use super::lists::arg_positive;
use super::{arg_i64, eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::value::{own, own_all, SetValue};
use crate::db::Value;
use crate::notify;
use crate::resp::Reply;
use bytes::Bytes;
use rand::Rng;

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        group: "set",
        summary,
        handler,
    }
}

const R_FAST: u32 = flags::READONLY | flags::FAST;
const W_OOM: u32 = flags::WRITE | flags::DENYOOM;

const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

/// SINTERCARD numkeys key [key ...]: routed on its first key (argv[2]); see the module note in
/// the final report: the dispatcher does not yet read numkeys for CROSSSLOT.
const NUMKEYS_AT_1: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "sadd",
        -3,
        W_OOM | flags::FAST,
        KeySpec::FIRST,
        "Add one or more members to a set",
        sadd,
    ),
    spec(
        "srem",
        -3,
        flags::WRITE | flags::FAST,
        KeySpec::FIRST,
        "Remove one or more members from a set",
        srem,
    ),
    spec(
        "smembers",
        2,
        flags::READONLY,
        KeySpec::FIRST,
        "Get all the members in a set",
        smembers,
    ),
    spec(
        "sismember",
        3,
        R_FAST,
        KeySpec::FIRST,
        "Determine if a given value is a member of a set",
        sismember,
    ),
    spec(
        "smismember",
        -3,
        R_FAST,
        KeySpec::FIRST,
        "Returns the membership associated with the given elements for a set",
        smismember,
    ),
    spec(
        "scard",
        2,
        R_FAST,
        KeySpec::FIRST,
        "Get the number of members in a set",
        scard,
    ),
    spec(
        "spop",
        -2,
        flags::WRITE | flags::FAST,
        KeySpec::FIRST,
        "Remove and return one or multiple random members from a set",
        spop,
    ),
    spec(
        "srandmember",
        -2,
        flags::READONLY,
        KeySpec::FIRST,
        "Get one or multiple random members from a set",
        srandmember,
    ),
    spec(
        "smove",
        4,
        flags::WRITE | flags::FAST,
        TWO_KEYS,
        "Move a member from one set to another",
        smove,
    ),
    spec(
        "sinter",
        -2,
        flags::READONLY,
        KeySpec::ALL,
        "Intersect multiple sets",
        sinter,
    ),
    spec(
        "sunion",
        -2,
        flags::READONLY,
        KeySpec::ALL,
        "Add multiple sets",
        sunion,
    ),
    spec(
        "sdiff",
        -2,
        flags::READONLY,
        KeySpec::ALL,
        "Subtract multiple sets",
        sdiff,
    ),
    spec(
        "sinterstore",
        -3,
        W_OOM,
        KeySpec::ALL,
        "Intersect multiple sets and store the resulting set in a key",
        sinterstore,
    ),
    spec(
        "sunionstore",
        -3,
        W_OOM,
        KeySpec::ALL,
        "Add multiple sets and store the resulting set in a key",
        sunionstore,
    ),
    spec(
        "sdiffstore",
        -3,
        W_OOM,
        KeySpec::ALL,
        "Subtract multiple sets and store the resulting set in a key",
        sdiffstore,
    ),
    spec(
        "sintercard",
        -3,
        flags::READONLY | flags::MOVABLE_KEYS,
        NUMKEYS_AT_1,
        "Intersect multiple sets and return the cardinality of the result",
        sintercard,
    ),
    spec(
        "sscan",
        -3,
        flags::READONLY,
        KeySpec::FIRST,
        "Incrementally iterate Set elements",
        sscan,
    ),
];

// ---------------------------------------------------------------------------------------------
// SCAN helpers shared with HSCAN and ZSCAN.

/// The MATCH / COUNT options of HSCAN / SSCAN / ZSCAN.
pub(crate) struct ScanOpts {
    pub count: usize,
    pub pattern: Option<Bytes>,
}

impl ScanOpts {
    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| crate::glob::matches(p, item, false))
    }
}

/// Parses `[MATCH pattern] [COUNT count]` from `argv[from..]` (as Redis's scanGenericCommand:
/// TYPE is SCAN's only).
pub(crate) fn parse_scan_opts(argv: &[Bytes], from: usize) -> Result<ScanOpts, CmdError> {
    let mut opts = ScanOpts {
        count: 10,
        pattern: None,
    };
    let mut i = from;
    while i < argv.len() {
        let has_arg = i + 1 < argv.len();
        if eq_ignore_case(&argv[i], "count") && has_arg {
            let n = arg_i64(&argv[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ignore_case(&argv[i], "match") && has_arg {
            opts.pattern = Some(argv[i + 1].clone()).filter(|p| p.as_ref() != b"*");
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

/// One step of a collection scan over index positions `0..len` of an insertion-ordered
/// collection. A collection in its compact form (`small`) is returned whole with cursor 0, as
/// Redis does for its compact encodings. A bigger one is walked from the top index down: the
/// cursor is the number of positions still to visit. Deletes move an entry from the end (or
/// shift entries down), so an entry present for the whole scan can only move from the visited
/// region into the unvisited one, never the other way: it is returned at least once, as Redis
/// promises.
pub(crate) fn scan_window(
    len: usize,
    small: bool,
    cursor: u64,
    count: usize,
) -> (u64, std::ops::Range<usize>) {
    if small {
        return (0, 0..len);
    }
    let hi = if cursor == 0 {
        len
    } else {
        usize::try_from(cursor).unwrap_or(usize::MAX).min(len)
    };
    let lo = hi.saturating_sub(count);
    (lo as u64, lo..hi)
}

/// `[cursor, items]`.
pub(crate) fn scan_reply(next: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::bulk(itoa::Buffer::new().format(next)),
        Reply::Array(items),
    ])
}

/// The reply to a scan of a missing key.
pub(crate) fn empty_scan() -> Reply {
    scan_reply(0, Vec::new())
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A read lookup of a set key (hit/miss counted).
fn read_set<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c SetValue>, CmdError> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// A write lookup of a set key (lazy expiry, no stats).
fn write_set<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut SetValue>, CmdError> {
    expire_key(ctx, key);
    match ctx.db.get_mut(key, ctx.now_ms) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The set again after a first lookup, without counting another hit.
fn set_again<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c mut SetValue> {
    match ctx.db.get_mut(key, ctx.now_ms) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

fn members_reply<'a>(it: impl Iterator<Item = &'a Bytes>) -> Reply {
    Reply::Set(it.map(|m| Reply::Bulk(m.clone())).collect())
}

/// Stores `members` as a set at `dst` (or deletes `dst` when empty); the reply is the size.
fn store_set(ctx: &mut Ctx<'_>, dst: &Bytes, members: SetValue, event: &str) -> CmdResult {
    expire_key(ctx, dst);
    let n = members.len();
    if n == 0 {
        if ctx.db.remove(dst).is_some() {
            ctx.notify(notify::GENERIC, "del", dst);
        }
    } else {
        ctx.db.insert(own(dst), Value::Set(Box::new(members)), None);
        ctx.notify(notify::SET, event, dst);
    }
    Ok(Reply::Integer(n as i64))
}

fn new_set() -> SetValue {
    SetValue::new()
}

// ---------------------------------------------------------------------------------------------
// SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD

/// SADD key member [member ...]: how many were added.
fn sadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    if write_set(ctx, key)?.is_none() {
        ctx.db.insert(own(key), Value::new_set(), None);
    }
    // Checked and expired above: the set again, without a second expiry check.
    let s = set_again(ctx, key).ok_or(CmdError::NoSuchKey)?;
    // Only members not there yet are copied out of the read buffer: a SADD of a member the
    // set holds (most of them once a set is full) allocates nothing.
    let mut added = 0;
    match &argv[2..] {
        [m] => {
            if !s.contains(m) && s.insert(own(m)) {
                added = 1;
            }
        }
        members => {
            let fresh: Vec<Bytes> = members.iter().filter(|m| !s.contains(m)).cloned().collect();
            for m in own_all(&fresh) {
                if s.insert(m) {
                    added += 1;
                }
            }
        }
    }
    if added > 0 {
        ctx.notify(notify::SET, "sadd", key);
    }
    Ok(Reply::Integer(added))
}

/// SREM key member [member ...]: how many were removed.
fn srem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let Some(s) = write_set(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let mut n = 0;
    for m in &argv[2..] {
        if s.remove(m) {
            n += 1;
        }
    }
    let empty = s.is_empty();
    if n > 0 {
        ctx.notify(notify::SET, "srem", key);
    }
    if empty {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    Ok(Reply::Integer(n))
}

/// SMEMBERS key
fn smembers(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(match read_set(ctx, &argv[1])? {
        Some(s) => members_reply(s.iter()),
        None => Reply::Set(Vec::new()),
    })
}

/// SISMEMBER key member
fn sismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let found = read_set(ctx, &argv[1])?.is_some_and(|s| s.contains(&argv[2]));
    Ok(Reply::Integer(found as i64))
}

/// SMISMEMBER key member [member ...]
fn smismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let s = read_set(ctx, &argv[1])?;
    Ok(Reply::Array(
        argv[2..]
            .iter()
            .map(|m| Reply::Integer(s.is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    ))
}

/// SCARD key
fn scard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(
        read_set(ctx, &argv[1])?.map_or(0, |s| s.len()) as i64,
    ))
}

// ---------------------------------------------------------------------------------------------
// SPOP SRANDMEMBER SMOVE

/// SPOP key [count]
fn spop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if argv.len() == 2 {
        let Some(s) = write_set(ctx, key)? else {
            return Ok(Reply::Null);
        };
        let len = s.len();
        let i = ctx.node.rng.gen_range(0..len);
        let s = set_again(ctx, key).ok_or(CmdError::NoSuchKey)?;
        let m = s.remove_index(i).unwrap_or_default();
        let empty = s.is_empty();
        ctx.notify(notify::SET, "spop", key);
        if empty {
            ctx.db.remove(key);
            ctx.notify(notify::GENERIC, "del", key);
        }
        return Ok(Reply::Bulk(m));
    }
    let count = arg_positive(&argv[2])? as usize;
    let Some(s) = write_set(ctx, key)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    if count >= s.len() {
        let reply = members_reply(s.iter());
        ctx.notify(notify::SET, "spop", key);
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
        return Ok(reply);
    }
    ctx.notify(notify::SET, "spop", key);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let len = set_again(ctx, key).map_or(0, |s| s.len());
        let i = ctx.node.rng.gen_range(0..len);
        let s = set_again(ctx, key).ok_or(CmdError::NoSuchKey)?;
        if let Some(m) = s.remove_index(i) {
            out.push(Reply::Bulk(m));
        }
    }
    Ok(Reply::Set(out))
}

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if argv.len() == 2 {
        let Some(s) = read_set(ctx, key)? else {
            return Ok(Reply::Null);
        };
        let len = s.len();
        let i = ctx.node.rng.gen_range(0..len);
        let m = set_again(ctx, key).and_then(|s| s.get_index(i).cloned());
        return Ok(m.map_or(Reply::Null, Reply::Bulk));
    }
    let l = arg_i64(&argv[2])?;
    if l == i64::MIN {
        return Err(CmdError::other(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let Some(s) = read_set(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let len = s.len();
    if l == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    if l > 0 && l as usize >= len {
        return Ok(Reply::Array(
            s.iter().map(|m| Reply::Bulk(m.clone())).collect(),
        ));
    }
    let picks = super::pick::positions(&mut ctx.node.rng, len, l);
    let s = set_again(ctx, key).ok_or(CmdError::NoSuchKey)?;
    Ok(Reply::Array(
        picks
            .into_iter()
            .filter_map(|i| s.get_index(i).cloned().map(Reply::Bulk))
            .collect(),
    ))
}

/// SMOVE source destination member: 1 if moved.
fn smove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (src, dst, m) = (&argv[1], &argv[2], &argv[3]);
    let src_type = lookup_write(ctx, src).map(|e| matches!(e.value, Value::Set(_)));
    let dst_type = lookup_write(ctx, dst).map(|e| matches!(e.value, Value::Set(_)));
    match src_type {
        None => return Ok(Reply::Integer(0)),
        Some(false) => return Err(CmdError::WrongType),
        Some(true) => {}
    }
    if dst_type == Some(false) {
        return Err(CmdError::WrongType);
    }
    if src == dst {
        let found = set_again(ctx, src).is_some_and(|s| s.contains(m));
        return Ok(Reply::Integer(found as i64));
    }
    let s = set_again(ctx, src).ok_or(CmdError::NoSuchKey)?;
    if !s.remove(m) {
        return Ok(Reply::Integer(0));
    }
    let empty = s.is_empty();
    ctx.notify(notify::SET, "srem", src);
    if empty {
        ctx.db.remove(src);
        ctx.notify(notify::GENERIC, "del", src);
    }
    if dst_type.is_none() {
        ctx.db.insert(own(dst), Value::new_set(), None);
    }
    if set_again(ctx, dst).is_some_and(|d| d.insert(own(m))) {
        ctx.notify(notify::SET, "sadd", dst);
    }
    Ok(Reply::Integer(1))
}

// ---------------------------------------------------------------------------------------------
// SINTER SUNION SDIFF and their STORE forms, SINTERCARD

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// Looks every key up (read or write lookups: expiry, stats), WRONGTYPE if any is not a set.
fn check_keys(ctx: &mut Ctx<'_>, keys: &[Bytes], write: bool) -> Result<(), CmdError> {
    for k in keys {
        let e = if write {
            lookup_write(ctx, k)
        } else {
            lookup_read(ctx, k)
        };
        if let Some(e) = e {
            if !matches!(e.value, Value::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    Ok(())
}

/// The sets at `keys` (already checked), None for missing keys.
fn refs<'d>(db: &'d crate::db::Db, keys: &[Bytes]) -> Vec<Option<&'d SetValue>> {
    keys.iter()
        .map(|k| match db.peek(k) {
            Some(crate::db::Entry {
                value: Value::Set(s),
                ..
            }) => Some(&**s),
            _ => None,
        })
        .collect()
}

/// The result of a set operation over sets looked up at `keys`.
fn set_op(ctx: &mut Ctx<'_>, keys: &[Bytes], op: SetOp, write: bool) -> Result<SetValue, CmdError> {
    check_keys(ctx, keys, write)?;
    Ok(combine(&refs(ctx.db, keys), op, usize::MAX))
}

/// Combines sets; for Inter, stops after `limit` members.
fn combine(sets: &[Option<&SetValue>], op: SetOp, limit: usize) -> SetValue {
    let mut out = new_set();
    match op {
        SetOp::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return out;
            }
            let mut sets: Vec<&SetValue> = sets.iter().flatten().copied().collect();
            sets.sort_by_key(|s| s.len());
            let (first, rest) = sets.split_first().expect("at least one key");
            for m in first.iter() {
                if out.len() >= limit {
                    break;
                }
                if rest.iter().all(|s| s.contains(m)) {
                    out.insert(m.clone());
                }
            }
        }
        SetOp::Union => {
            for s in sets.iter().flatten() {
                out.extend(s.iter().cloned());
            }
        }
        SetOp::Diff => {
            let Some(Some(first)) = sets.first() else {
                return out;
            };
            for m in first.iter() {
                if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                    out.insert(m.clone());
                }
            }
        }
    }
    out
}

/// SINTER key [key ...]
fn sinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let s = set_op(ctx, &argv[1..], SetOp::Inter, false)?;
    Ok(members_reply(s.iter()))
}

/// SUNION key [key ...]
fn sunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let s = set_op(ctx, &argv[1..], SetOp::Union, false)?;
    Ok(members_reply(s.iter()))
}

/// SDIFF key [key ...]
fn sdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let s = set_op(ctx, &argv[1..], SetOp::Diff, false)?;
    Ok(members_reply(s.iter()))
}

/// SINTERSTORE destination key [key ...]
fn sinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let s = set_op(ctx, &argv[2..], SetOp::Inter, true)?;
    store_set(ctx, &argv[1], s, "sinterstore")
}

/// SUNIONSTORE destination key [key ...]
fn sunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let s = set_op(ctx, &argv[2..], SetOp::Union, true)?;
    store_set(ctx, &argv[1], s, "sunionstore")
}

/// SDIFFSTORE destination key [key ...]
fn sdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let s = set_op(ctx, &argv[2..], SetOp::Diff, true)?;
    store_set(ctx, &argv[1], s, "sdiffstore")
}

/// Parses `numkeys key [key ...]` at `argv[at]`, as SINTERCARD / ZINTERCARD do; the keys and
/// the index after them.
pub(crate) fn numkeys_args(argv: &[Bytes], at: usize) -> Result<(&[Bytes], usize), CmdError> {
    let n = match super::parse_i64(&argv[at]) {
        None => return Err(CmdError::other("ERR numkeys should be greater than 0")),
        Some(n) if n < 1 => return Err(CmdError::other("ERR numkeys should be greater than 0")),
        Some(n) => n as u64,
    };
    if n > (argv.len() - at - 1) as u64 {
        return Err(CmdError::other(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let end = at + 1 + n as usize;
    Ok((&argv[at + 1..end], end))
}

/// Parses SINTERCARD / ZINTERCARD's `[LIMIT limit]` from `argv[from..]`; 0 means no limit.
pub(crate) fn limit_arg(argv: &[Bytes], from: usize) -> Result<usize, CmdError> {
    let mut limit = 0usize;
    let mut i = from;
    while i < argv.len() {
        if eq_ignore_case(&argv[i], "limit") && i + 1 < argv.len() {
            i += 1;
            limit = match super::parse_i64(&argv[i]) {
                Some(n) if n >= 0 => n as usize,
                _ => return Err(CmdError::other("ERR LIMIT can't be negative")),
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(limit)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (keys, after) = numkeys_args(argv, 1)?;
    let limit = limit_arg(argv, after)?;
    check_keys(ctx, keys, false)?;
    let limit = if limit == 0 { usize::MAX } else { limit };
    let n = combine(&refs(ctx.db, keys), SetOp::Inter, limit).len();
    Ok(Reply::Integer(n as i64))
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cursor =
        super::keys::parse_cursor(&argv[2]).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let Some(s) = read_set(ctx, &argv[1])? else {
        return Ok(empty_scan());
    };
    let opts = parse_scan_opts(argv, 3)?;
    let (next, window) = scan_window(s.len(), s.is_small(), cursor, opts.count);
    let mut out = Vec::new();
    for i in window {
        if let Some(m) = s.get_index(i) {
            if opts.matches(m) {
                out.push(Reply::Bulk(m.clone()));
            }
        }
    }
    Ok(scan_reply(next, out))
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
    fn add_rem_members() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (&["SADD", "s", "a", "b", "a", "c"], ":3\r\n"),
                (&["SADD", "s", "c", "d"], ":1\r\n"),
                (&["SCARD", "s"], ":4\r\n"),
                (&["SREM", "s", "b", "zz"], ":1\r\n"),
                (
                    &["SMEMBERS", "s"],
                    "*3\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nd\r\n",
                ),
                (&["SISMEMBER", "s", "a"], ":1\r\n"),
                (&["SISMEMBER", "nos", "a"], ":0\r\n"),
                (&["SMISMEMBER", "s", "a", "b"], "*2\r\n:1\r\n:0\r\n"),
                (&["SMISMEMBER", "nos", "a"], "*1\r\n:0\r\n"),
                (&["SMEMBERS", "nos"], "*0\r\n"),
                (&["SREM", "s", "a", "c", "d"], ":3\r\n"),
                (&["EXISTS", "s"], ":0\r\n"),
                (&["SET", "str", "v"], "+OK\r\n"),
                (&["SADD", "str", "a"], WRONGTYPE),
                (&["SMEMBERS", "str"], WRONGTYPE),
                (&["SADD", "s", "x"], ":1\r\n"),
                (&["TYPE", "s"], "+set\r\n"),
                (&["SPOP", "s"], "$1\r\nx\r\n"),
                (&["EXISTS", "s"], ":0\r\n"),
                (&["SPOP", "nos"], "$-1\r\n"),
                (&["SPOP", "nos", "3"], "*0\r\n"),
                (
                    &["SPOP", "str", "-1"],
                    "-ERR value is out of range, must be positive\r\n",
                ),
                (&["SPOP", "s", "1", "2"], "-ERR syntax error\r\n"),
                (&["SRANDMEMBER", "nos"], "$-1\r\n"),
                (&["SRANDMEMBER", "nos", "-3"], "*0\r\n"),
            ],
        );
    }

    #[test]
    fn algebra_and_move() {
        let mut t = TestNode::new();
        t.run(&["SADD", "a", "1", "2", "3", "4"]);
        t.run(&["SADD", "b", "3", "4", "5"]);
        t.run(&["SET", "str", "v"]);
        check(
            &mut t,
            &[
                (&["SINTER", "a", "b"], "*2\r\n$1\r\n3\r\n$1\r\n4\r\n"),
                (&["SDIFF", "a", "b"], "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
                (
                    &["SUNION", "a", "b"],
                    "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n",
                ),
                (&["SINTER", "a", "nos"], "*0\r\n"),
                (&["SINTER", "a", "str"], WRONGTYPE),
                (&["SINTERSTORE", "d", "a", "b"], ":2\r\n"),
                (&["SINTERSTORE", "d", "a", "nos"], ":0\r\n"),
                (&["EXISTS", "d"], ":0\r\n"),
                (&["SUNIONSTORE", "str", "a", "b"], ":5\r\n"),
                (&["TYPE", "str"], "+set\r\n"),
                (&["SDIFFSTORE", "d", "b", "a"], ":1\r\n"),
                (&["SINTERCARD", "2", "a", "b"], ":2\r\n"),
                (&["SINTERCARD", "2", "a", "b", "LIMIT", "1"], ":1\r\n"),
                (
                    &["SINTERCARD", "0", "a"],
                    "-ERR numkeys should be greater than 0\r\n",
                ),
                (
                    &["SINTERCARD", "3", "a", "b"],
                    "-ERR Number of keys can't be greater than number of args\r\n",
                ),
                (
                    &["SINTERCARD", "2", "a", "b", "LIMIT", "-1"],
                    "-ERR LIMIT can't be negative\r\n",
                ),
                (&["SINTERCARD", "1", "a", "foo"], "-ERR syntax error\r\n"),
                (&["SMOVE", "a", "b", "1"], ":1\r\n"),
                (&["SMOVE", "a", "b", "1"], ":0\r\n"),
                (&["SMOVE", "a", "a", "2"], ":1\r\n"),
                (&["SMOVE", "nos", "a", "2"], ":0\r\n"),
                (&["SET", "str2", "v"], "+OK\r\n"),
                (&["SMOVE", "a", "str2", "2"], WRONGTYPE),
                (
                    &["SSCAN", "a", "0"],
                    "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
                ),
                (
                    &["SSCAN", "a", "0", "MATCH", "3"],
                    "*2\r\n$1\r\n0\r\n*1\r\n$1\r\n3\r\n",
                ),
            ],
        );
    }

    #[test]
    fn big_set_scan_and_random() {
        let mut t = TestNode::new();
        let members: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
        let mut cmd = vec!["SADD", "s"];
        cmd.extend(members.iter().map(String::as_str));
        t.run(&cmd);
        // SSCAN visits every member.
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let crate::resp::Reply::Array(parts) = t.run(&["SSCAN", "s", &cursor, "COUNT", "37"])
            else {
                panic!("shape");
            };
            let (crate::resp::Reply::Bulk(c), crate::resp::Reply::Array(items)) =
                (&parts[0], &parts[1])
            else {
                panic!("shape");
            };
            for i in items {
                if let crate::resp::Reply::Bulk(b) = i {
                    seen.insert(b.clone());
                }
            }
            cursor = String::from_utf8(c.to_vec()).unwrap();
            // Deleting while scanning must not hide members that stay.
            t.run(&["SREM", "s", "m0"]);
            if cursor == "0" {
                break;
            }
        }
        assert!(seen.len() >= 499, "{}", seen.len());
        assert!(t
            .run_text(&["SRANDMEMBER", "s", "-1000"])
            .starts_with("*1000\r\n"));
        assert!(t
            .run_text(&["SRANDMEMBER", "s", "10"])
            .starts_with("*10\r\n"));
        assert!(t.run_text(&["SPOP", "s", "10"]).starts_with("*10\r\n"));
        assert_eq!(t.run_text(&["SCARD", "s"]), ":489\r\n");
    }
}

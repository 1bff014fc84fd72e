//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT
//! LPOS LMOVE RPOPLPUSH (the blocking variants live elsewhere).
//!
//! A list is a `VecDeque<Bytes>` (see `db::value`); an emptied list is deleted, as in Redis.
//! Argument checks run in the order Redis runs them, so the same bad command gets the same error
//! whether or not the key exists.

use super::keys::{expire_key, lookup_read};
use super::{arg_i64, eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::value::{own, own_all, ListValue};
use crate::db::Value;
use crate::notify;
use crate::resp::Reply;
use bytes::Bytes;
use std::collections::VecDeque;

const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

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
        group: "list",
        summary,
        handler,
    }
}

const W_FAST: u32 = flags::WRITE | flags::DENYOOM | flags::FAST;
const W_OOM: u32 = flags::WRITE | flags::DENYOOM;
const R_FAST: u32 = flags::READONLY | flags::FAST;

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "lpush",
        -3,
        W_FAST,
        KeySpec::FIRST,
        "Prepend one or multiple elements to a list",
        lpush,
    ),
    spec(
        "rpush",
        -3,
        W_FAST,
        KeySpec::FIRST,
        "Append one or multiple elements to a list",
        rpush,
    ),
    spec(
        "lpushx",
        -3,
        W_FAST,
        KeySpec::FIRST,
        "Prepend an element to a list, only if the list exists",
        lpushx,
    ),
    spec(
        "rpushx",
        -3,
        W_FAST,
        KeySpec::FIRST,
        "Append an element to a list, only if the list exists",
        rpushx,
    ),
    spec(
        "lpop",
        -2,
        flags::WRITE | flags::FAST,
        KeySpec::FIRST,
        "Remove and get the first elements in a list",
        lpop,
    ),
    spec(
        "rpop",
        -2,
        flags::WRITE | flags::FAST,
        KeySpec::FIRST,
        "Remove and get the last elements in a list",
        rpop,
    ),
    spec(
        "llen",
        2,
        R_FAST,
        KeySpec::FIRST,
        "Get the length of a list",
        llen,
    ),
    spec(
        "lrange",
        4,
        flags::READONLY,
        KeySpec::FIRST,
        "Get a range of elements from a list",
        lrange,
    ),
    spec(
        "lindex",
        3,
        flags::READONLY,
        KeySpec::FIRST,
        "Get an element from a list by its index",
        lindex,
    ),
    spec(
        "lset",
        4,
        W_OOM,
        KeySpec::FIRST,
        "Set the value of an element in a list by its index",
        lset,
    ),
    spec(
        "lrem",
        4,
        flags::WRITE,
        KeySpec::FIRST,
        "Remove elements from a list",
        lrem,
    ),
    spec(
        "ltrim",
        4,
        flags::WRITE,
        KeySpec::FIRST,
        "Trim a list to the specified range",
        ltrim,
    ),
    spec(
        "linsert",
        5,
        W_OOM,
        KeySpec::FIRST,
        "Insert an element before or after another element in a list",
        linsert,
    ),
    spec(
        "lpos",
        -3,
        flags::READONLY,
        KeySpec::FIRST,
        "Return the index of matching elements on a list",
        lpos,
    ),
    spec(
        "lmove",
        5,
        W_OOM,
        TWO_KEYS,
        "Pop an element from a list, push it to another list and return it",
        lmove,
    ),
    spec(
        "rpoplpush",
        3,
        W_OOM,
        TWO_KEYS,
        "Remove the last element in a list, prepend it to another list and return it",
        rpoplpush,
    ),
];

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A read lookup of a list key (hit/miss counted): None when missing, WRONGTYPE for another type.
fn read_list<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'c VecDeque<Bytes>>, CmdError> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// A write lookup of a list key (lazy expiry, no stats).
fn write_list<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut ListValue>, CmdError> {
    expire_key(ctx, key);
    match ctx.db.get_mut(key, ctx.now_ms) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// After elements left a list: the command's event, then `del` when the list became empty
/// and was deleted (Redis's listElementsRemoved order).
pub(crate) fn elements_removed(ctx: &mut Ctx<'_>, key: &[u8], event: &str) {
    ctx.notify(notify::LIST, event, key);
    let empty = matches!(ctx.db.get(key, ctx.now_ms), Some(e) if matches!(&e.value, Value::List(l) if l.is_empty()));
    if empty {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

/// The event of a pop from `end`.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

/// The event of a push to `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Left,
    Right,
}

fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if eq_ignore_case(arg, "left") {
        Ok(End::Left)
    } else if eq_ignore_case(arg, "right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

fn push(l: &mut ListValue, end: End, v: Bytes) {
    match end {
        End::Left => l.push_front(v),
        End::Right => l.push_back(v),
    }
}

fn pop(l: &mut ListValue, end: End) -> Option<Bytes> {
    match end {
        End::Left => l.pop_front(),
        End::Right => l.pop_back(),
    }
}

/// Redis's `getPositiveLongFromObjectOrReply` with its default message.
pub(crate) fn arg_positive(arg: &[u8]) -> Result<i64, CmdError> {
    match super::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::other(
            "ERR value is out of range, must be positive",
        )),
    }
}

/// Normalizes an inclusive `start..=end` index pair against `len` as LRANGE / ZRANGE do; None
/// when the range is empty.
pub(crate) fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut end = if end < 0 { end + len } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

// ---------------------------------------------------------------------------------------------
// LPUSH RPUSH LPUSHX RPUSHX

fn push_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let key = &argv[1];
    if write_list(ctx, key)?.is_none() {
        if only_existing {
            return Ok(Reply::Integer(0));
        }
        ctx.db.insert(
            own(key),
            Value::List(ListValue::with_capacity(argv.len() - 2)),
            None,
        );
    }
    let l = write_list(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
    for v in own_all(&argv[2..]) {
        push(l, end, v);
    }
    let len = l.len();
    ctx.notify(notify::LIST, push_event(end), key);
    Ok(Reply::Integer(len as i64))
}

/// LPUSH key element [element ...]
fn lpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Left, false)
}

/// RPUSH key element [element ...]
fn rpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Right, false)
}

/// LPUSHX key element [element ...]
fn lpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Left, true)
}

/// RPUSHX key element [element ...]
fn rpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Right, true)
}

// ---------------------------------------------------------------------------------------------
// LPOP RPOP

/// LPOP / RPOP key [count]: one element (nil when missing), or with a count an array (a null
/// array when the key is missing).
fn pop_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], end: End) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::WrongArity(
            String::from_utf8_lossy(&argv[0]).to_ascii_lowercase(),
        ));
    }
    let count = match argv.get(2) {
        Some(a) => Some(arg_positive(a)?),
        None => None,
    };
    let key = &argv[1];
    let Some(l) = write_list(ctx, key)? else {
        return Ok(if count.is_some() {
            Reply::NullArray
        } else {
            Reply::Null
        });
    };
    let reply = match count {
        None => Reply::Bulk(pop(l, end).unwrap_or_default()),
        Some(n) => {
            let n = (n as usize).min(l.len());
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                if let Some(v) = pop(l, end) {
                    out.push(Reply::Bulk(v));
                }
            }
            Reply::Array(out)
        }
    };
    if count != Some(0) {
        elements_removed(ctx, key, pop_event(end));
    }
    Ok(reply)
}

/// LPOP key [count]
fn lpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    pop_generic(ctx, argv, End::Left)
}

/// RPOP key [count]
fn rpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    pop_generic(ctx, argv, End::Right)
}

// ---------------------------------------------------------------------------------------------
// LLEN LRANGE LINDEX LSET

/// LLEN key
fn llen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let n = read_list(ctx, &argv[1])?.map_or(0, |l| l.len());
    Ok(Reply::Integer(n as i64))
}

/// LRANGE key start stop
fn lrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let start = arg_i64(&argv[2])?;
    let end = arg_i64(&argv[3])?;
    let Some(l) = read_list(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let Some((s, e)) = clamp_range(start, end, l.len()) else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(Reply::Array(
        l.range(s..=e).map(|v| Reply::Bulk(v.clone())).collect(),
    ))
}

/// The position of a possibly negative index in a list of `len`, if inside.
fn list_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { index + len as i64 } else { index };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

/// LINDEX key index
fn lindex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let Some(l) = read_list(ctx, &argv[1])? else {
        return Ok(Reply::Null);
    };
    let index = arg_i64(&argv[2])?;
    Ok(list_index(index, l.len()).map_or(Reply::Null, |i| Reply::Bulk(l[i].clone())))
}

/// LSET key index element
fn lset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let Some(l) = write_list(ctx, &argv[1])? else {
        return Err(CmdError::NoSuchKey);
    };
    let index = arg_i64(&argv[2])?;
    let i = list_index(index, l.len()).ok_or_else(|| CmdError::other("ERR index out of range"))?;
    l.set(i, own(&argv[3]));
    ctx.notify(notify::LIST, "lset", &argv[1]);
    Ok(Reply::ok())
}

// ---------------------------------------------------------------------------------------------
// LREM LTRIM LINSERT

/// LREM key count element: removes up to |count| matches from the head (count > 0), the tail
/// (count < 0), or all (0).
fn lrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let count = arg_i64(&argv[2])?;
    let key = &argv[1];
    let elem = &argv[3];
    let Some(l) = write_list(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs().min(usize::MAX as u64) as usize
    };
    let mut removed = 0usize;
    if count >= 0 {
        let mut i = 0;
        while i < l.len() && removed < limit {
            if l[i] == elem {
                l.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.len();
        while i > 0 && removed < limit {
            i -= 1;
            if l[i] == elem {
                l.remove(i);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        elements_removed(ctx, key, "lrem");
    }
    Ok(Reply::Integer(removed as i64))
}

/// LTRIM key start stop
fn ltrim(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let start = arg_i64(&argv[2])?;
    let end = arg_i64(&argv[3])?;
    let key = &argv[1];
    let Some(l) = write_list(ctx, key)? else {
        return Ok(Reply::ok());
    };
    match clamp_range(start, end, l.len()) {
        None => l.clear(),
        Some((s, e)) => l.keep_range(s, e),
    }
    elements_removed(ctx, key, "ltrim");
    Ok(Reply::ok())
}

/// LINSERT key BEFORE | AFTER pivot element: the new length, -1 if the pivot is missing, 0 if
/// the key is.
fn linsert(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let after = if eq_ignore_case(&argv[2], "after") {
        true
    } else if eq_ignore_case(&argv[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let Some(l) = write_list(ctx, &argv[1])? else {
        return Ok(Reply::Integer(0));
    };
    let Some(pos) = l.iter().position(|e| *e == argv[3]) else {
        return Ok(Reply::Integer(-1));
    };
    l.insert(if after { pos + 1 } else { pos }, own(&argv[4]));
    let len = l.len();
    ctx.notify(notify::LIST, "linsert", &argv[1]);
    Ok(Reply::Integer(len as i64))
}

// ---------------------------------------------------------------------------------------------
// LPOS

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        let opt = &argv[i];
        if eq_ignore_case(opt, "rank") && more {
            i += 1;
            rank = arg_i64(&argv[i])?;
            if rank == 0 {
                return Err(CmdError::other(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ignore_case(opt, "count") && more {
            i += 1;
            count = Some(
                super::parse_i64(&argv[i])
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| CmdError::other("ERR COUNT can't be negative"))?,
            );
        } else if eq_ignore_case(opt, "maxlen") && more {
            i += 1;
            maxlen = super::parse_i64(&argv[i])
                .filter(|n| *n >= 0)
                .ok_or_else(|| CmdError::other("ERR MAXLEN can't be negative"))?;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let elem = &argv[2];
    let Some(l) = read_list(ctx, &argv[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Null
        });
    };
    let want = match count {
        Some(0) => usize::MAX,
        Some(n) => n as usize,
        None => 1,
    };
    let maxlen = if maxlen == 0 {
        usize::MAX
    } else {
        maxlen as usize
    };
    // Redis negates the rank in a C long: LONG_MIN stays negative, and every match then counts
    // (as RANK -1 does).
    let mut skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let mut found = Vec::new();
    let mut check = |idx: usize, e: &Bytes| -> bool {
        if e == elem {
            if skip > 0 {
                skip -= 1;
            } else {
                found.push(Reply::Integer(idx as i64));
                if found.len() >= want {
                    return false;
                }
            }
        }
        true
    };
    if rank > 0 {
        for (idx, e) in l.iter().enumerate().take(maxlen) {
            if !check(idx, e) {
                break;
            }
        }
    } else {
        for (idx, e) in l.iter().enumerate().rev().take(maxlen) {
            if !check(idx, e) {
                break;
            }
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(found),
        None => found.pop().unwrap_or(Reply::Null),
    })
}

// ---------------------------------------------------------------------------------------------
// LMOVE RPOPLPUSH

fn lmove_generic(ctx: &mut Ctx<'_>, src: &Bytes, dst: &Bytes, from: End, to: End) -> CmdResult {
    if write_list(ctx, src)?.is_none() {
        return Ok(Reply::Null);
    }
    // The destination's type is checked before anything moves.
    write_list(ctx, dst)?;
    if src == dst {
        let l = write_list(ctx, src)?.ok_or(CmdError::NoSuchKey)?;
        let v = pop(l, from).unwrap_or_default();
        push(l, to, v.clone());
        ctx.notify(notify::LIST, push_event(to), dst);
        ctx.notify(notify::LIST, pop_event(from), src);
        return Ok(Reply::Bulk(v));
    }
    let v = pop(write_list(ctx, src)?.ok_or(CmdError::NoSuchKey)?, from).unwrap_or_default();
    if write_list(ctx, dst)?.is_none() {
        ctx.db
            .insert(own(dst), Value::List(ListValue::default()), None);
    }
    if let Some(l) = write_list(ctx, dst)? {
        push(l, to, v.clone());
    }
    ctx.notify(notify::LIST, push_event(to), dst);
    elements_removed(ctx, src, pop_event(from));
    Ok(Reply::Bulk(v))
}

/// LMOVE source destination LEFT | RIGHT LEFT | RIGHT
fn lmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    lmove_generic(ctx, &argv[1], &argv[2], from, to)
}

/// RPOPLPUSH source destination
fn rpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    lmove_generic(ctx, &argv[1], &argv[2], End::Right, End::Left)
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    /// Runs each command and compares its RESP2 reply with what redis-server 7.0.15 sent.
    fn check(t: &mut TestNode, cases: &[(&[&str], &str)]) {
        for (cmd, want) in cases {
            assert_eq!(t.run_text(cmd), *want, "{cmd:?}");
        }
    }

    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn push_pop_range() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (&["LPUSH", "l", "a", "b", "c"], ":3\r\n"),
                (&["RPUSH", "l", "d"], ":4\r\n"),
                (
                    &["LRANGE", "l", "0", "-1"],
                    "*4\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n",
                ),
                (
                    &["LRANGE", "l", "-2", "100"],
                    "*2\r\n$1\r\na\r\n$1\r\nd\r\n",
                ),
                (&["LRANGE", "l", "3", "1"], "*0\r\n"),
                (
                    &["LRANGE", "l", "x", "1"],
                    "-ERR value is not an integer or out of range\r\n",
                ),
                (&["LRANGE", "nol", "0", "1"], "*0\r\n"),
                (&["LPUSHX", "nol", "a"], ":0\r\n"),
                (&["RPUSHX", "l", "e", "f"], ":6\r\n"),
                (&["LLEN", "l"], ":6\r\n"),
                (&["LPOP", "l"], "$1\r\nc\r\n"),
                (&["RPOP", "l", "2"], "*2\r\n$1\r\nf\r\n$1\r\ne\r\n"),
                (&["LPOP", "l", "0"], "*0\r\n"),
                (
                    &["LPOP", "l", "-1"],
                    "-ERR value is out of range, must be positive\r\n",
                ),
                (&["LPOP", "nol"], "$-1\r\n"),
                (&["LPOP", "nol", "1"], "*-1\r\n"),
                (
                    &["LPOP", "l", "1", "2"],
                    "-ERR wrong number of arguments for 'lpop' command\r\n",
                ),
                (
                    &["RPOP", "l", "10"],
                    "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n",
                ),
                (&["EXISTS", "l"], ":0\r\n"),
                (&["SET", "s", "v"], "+OK\r\n"),
                (&["LPUSH", "s", "a"], WRONGTYPE),
                (&["LPOP", "s"], WRONGTYPE),
                (&["LRANGE", "s", "0", "1"], WRONGTYPE),
                (&["TYPE", "s"], "+string\r\n"),
                (&["RPUSH", "l", "x"], ":1\r\n"),
                (&["TYPE", "l"], "+list\r\n"),
                (&["GET", "l"], WRONGTYPE),
                (
                    &["LPUSH", "l"],
                    "-ERR wrong number of arguments for 'lpush' command\r\n",
                ),
            ],
        );
    }

    #[test]
    fn index_set_rem_trim_insert() {
        let mut t = TestNode::new();
        t.run(&["RPUSH", "l", "a", "b", "a", "c", "a"]);
        check(
            &mut t,
            &[
                (&["LINDEX", "l", "-1"], "$1\r\na\r\n"),
                (&["LINDEX", "l", "5"], "$-1\r\n"),
                (&["LINDEX", "nol", "x"], "$-1\r\n"),
                (
                    &["LINDEX", "l", "x"],
                    "-ERR value is not an integer or out of range\r\n",
                ),
                (&["LSET", "l", "1", "B"], "+OK\r\n"),
                (&["LSET", "l", "9", "B"], "-ERR index out of range\r\n"),
                (&["LSET", "nol", "0", "B"], "-ERR no such key\r\n"),
                (&["LREM", "l", "-2", "a"], ":2\r\n"),
                (
                    &["LRANGE", "l", "0", "-1"],
                    "*3\r\n$1\r\na\r\n$1\r\nB\r\n$1\r\nc\r\n",
                ),
                (&["LINSERT", "l", "BEFORE", "c", "x"], ":4\r\n"),
                (&["LINSERT", "l", "after", "c", "y"], ":5\r\n"),
                (&["LINSERT", "l", "after", "zz", "y"], ":-1\r\n"),
                (
                    &["LINSERT", "l", "middle", "c", "y"],
                    "-ERR syntax error\r\n",
                ),
                (&["LINSERT", "nol", "after", "c", "y"], ":0\r\n"),
                (&["LTRIM", "l", "1", "-2"], "+OK\r\n"),
                (
                    &["LRANGE", "l", "0", "-1"],
                    "*3\r\n$1\r\nB\r\n$1\r\nx\r\n$1\r\nc\r\n",
                ),
                (&["LTRIM", "l", "5", "1"], "+OK\r\n"),
                (&["EXISTS", "l"], ":0\r\n"),
            ],
        );
    }

    #[test]
    fn lpos_and_lmove() {
        let mut t = TestNode::new();
        t.run(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
        check(
            &mut t,
            &[
                (&["LPOS", "l", "c"], ":2\r\n"),
                (&["LPOS", "l", "c", "RANK", "2"], ":6\r\n"),
                (&["LPOS", "l", "c", "RANK", "-1"], ":7\r\n"),
                (&["LPOS", "l", "c", "COUNT", "0"], "*3\r\n:2\r\n:6\r\n:7\r\n"),
                (&["LPOS", "l", "c", "COUNT", "2", "RANK", "-1"], "*2\r\n:7\r\n:6\r\n"),
                (&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "3"], "*1\r\n:2\r\n"),
                (&["LPOS", "l", "zz"], "$-1\r\n"),
                (&["LPOS", "l", "c", "RANK", "0"], "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
                (&["LPOS", "l", "c", "COUNT", "-1"], "-ERR COUNT can't be negative\r\n"),
                (&["LPOS", "l", "c", "MAXLEN", "-1"], "-ERR MAXLEN can't be negative\r\n"),
                (&["LPOS", "l", "c", "FOO"], "-ERR syntax error\r\n"),
                (&["LPOS", "nol", "c", "COUNT", "1"], "*0\r\n"),
                (&["LMOVE", "l", "m", "LEFT", "RIGHT"], "$1\r\na\r\n"),
                (&["RPOPLPUSH", "l", "m"], "$1\r\nc\r\n"),
                (&["LRANGE", "m", "0", "-1"], "*2\r\n$1\r\nc\r\n$1\r\na\r\n"),
                (&["LMOVE", "m", "m", "LEFT", "RIGHT"], "$1\r\nc\r\n"),
                (&["LRANGE", "m", "0", "-1"], "*2\r\n$1\r\na\r\n$1\r\nc\r\n"),
                (&["LMOVE", "m", "m", "UP", "RIGHT"], "-ERR syntax error\r\n"),
                (&["LMOVE", "nol", "m", "LEFT", "RIGHT"], "$-1\r\n"),
                (&["SET", "s", "v"], "+OK\r\n"),
                (&["LMOVE", "m", "s", "LEFT", "RIGHT"], WRONGTYPE),
                (&["LLEN", "m"], ":2\r\n"),
            ],
        );
    }
}

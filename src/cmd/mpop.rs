//! LMPOP / ZMPOP and their blocking forms BLMPOP / BZMPOP: pop up to COUNT elements from the
//! first non-empty key of several.
//!
//! The reply names the key once: `[key, [elements]]` (for a sorted set each element is
//! `[member, score]`), or a null array when every key is empty. What is replicated is the
//! effect, as Redis does: `LPOP|RPOP key n` / `ZPOPMIN|ZPOPMAX key n`, with `n` the number of
//! elements actually popped. The blocking forms block like BLPOP (see `blocking`), and a
//! waiter served later replicates the same way.

use super::blocking::{self, Op};
use super::keys::expire_key;
use super::{eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::Value;
use crate::notify;
use crate::resp::Reply;
use bytes::Bytes;

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    first_key: i32,
    group: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        // The keys follow numkeys; `key_positions` reads them all (cluster routing, GETKEYS).
        keys: KeySpec {
            first: first_key,
            last: first_key,
            step: 1,
        },
        group,
        summary,
        handler,
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "lmpop",
        -4,
        flags::WRITE | flags::MOVABLE_KEYS,
        2,
        "list",
        "Pop elements from a list",
        lmpop,
    ),
    spec(
        "blmpop",
        -5,
        flags::WRITE | flags::BLOCKING | flags::MOVABLE_KEYS,
        3,
        "list",
        "Pop elements from a list, or block until one is available",
        blmpop,
    ),
    spec(
        "zmpop",
        -4,
        flags::WRITE | flags::MOVABLE_KEYS,
        2,
        "sorted-set",
        "Remove and return members with scores in a sorted set",
        zmpop,
    ),
    spec(
        "bzmpop",
        -5,
        flags::WRITE | flags::BLOCKING | flags::MOVABLE_KEYS,
        3,
        "sorted-set",
        "Remove and return members with scores in a sorted set or block until one is available",
        bzmpop,
    ),
];

/// What `numkeys key... WHERE [COUNT n]` says.
struct MpopArgs<'a> {
    keys: &'a [Bytes],
    /// LEFT / MIN (true) or RIGHT / MAX.
    first_end: bool,
    count: usize,
}

/// Parses `numkeys key [key ...] <end> [COUNT count]` from `argv[at]`, with Redis's errors in
/// Redis's order. `ends` are the two words for the ends (LEFT/RIGHT or MIN/MAX).
fn parse<'a>(argv: &'a [Bytes], at: usize, ends: [&str; 2]) -> Result<MpopArgs<'a>, CmdError> {
    let numkeys = match super::parse_i64(&argv[at]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::other("ERR numkeys should be greater than 0")),
    };
    let where_at = (at as u64).saturating_add(numkeys).saturating_add(1);
    if where_at >= argv.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_at = where_at as usize;
    let first_end = if eq_ignore_case(&argv[where_at], ends[0]) {
        true
    } else if eq_ignore_case(&argv[where_at], ends[1]) {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut i = where_at + 1;
    while i < argv.len() {
        if count.is_none() && eq_ignore_case(&argv[i], "count") && i + 1 < argv.len() {
            i += 1;
            count = match super::parse_i64(&argv[i]) {
                Some(n) if n >= 1 => Some(n as usize),
                _ => return Err(CmdError::other("ERR count should be greater than 0")),
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(MpopArgs {
        keys: &argv[at + 1..where_at],
        first_end,
        count: count.unwrap_or(1),
    })
}

/// Pops up to `count` elements from the list at `key` (known to be a non-empty list): the
/// `[key, [elements]]` reply and the `LPOP|RPOP key n` to replicate.
pub fn pop_list(ctx: &mut Ctx<'_>, key: &Bytes, left: bool, count: usize) -> (Reply, Vec<Bytes>) {
    let mut items = Vec::new();
    let mut emptied = false;
    if let Some(Value::List(l)) = ctx.db.get_mut(key, ctx.now_ms) {
        let n = count.min(l.len());
        items.reserve(n);
        for _ in 0..n {
            let v = if left { l.pop_front() } else { l.pop_back() };
            match v {
                Some(v) => items.push(Reply::Bulk(v)),
                None => break,
            }
        }
        emptied = l.is_empty();
    }
    ctx.notify(notify::LIST, if left { "lpop" } else { "rpop" }, key);
    if emptied {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    popped(if left { b"LPOP" } else { b"RPOP" }, key, items)
}

/// Pops up to `count` members from the sorted set at `key` (known to be a sorted set): the
/// `[key, [[member, score], ...]]` reply and the `ZPOPMIN|ZPOPMAX key n` to replicate.
pub fn pop_zset(ctx: &mut Ctx<'_>, key: &Bytes, min: bool, count: usize) -> (Reply, Vec<Bytes>) {
    let mut items = Vec::new();
    let mut emptied = false;
    if let Some(Value::ZSet(z)) = ctx.db.get_mut(key, ctx.now_ms) {
        let n = count.min(z.len());
        items.reserve(n);
        for _ in 0..n {
            match z.pop(!min) {
                Some((m, s)) => items.push(Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])),
                None => break,
            }
        }
        emptied = z.is_empty();
    }
    if !items.is_empty() {
        ctx.notify(notify::ZSET, if min { "zpopmin" } else { "zpopmax" }, key);
    }
    if emptied {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    popped(if min { b"ZPOPMIN" } else { b"ZPOPMAX" }, key, items)
}

/// The `[key, items]` reply of a pop and the `POPCMD key n` that replicates it (n: how many
/// were popped, so the replica pops exactly those).
fn popped(name: &'static [u8], key: &Bytes, items: Vec<Reply>) -> (Reply, Vec<Bytes>) {
    let rewrite = vec![
        Bytes::from_static(name),
        key.clone(),
        Bytes::from(items.len().to_string()),
    ];
    (
        Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(items)]),
        rewrite,
    )
}

/// The first key holding a value (lazy expiry on the way), or WRONGTYPE when that value is not
/// of the wanted type. Like Redis, an existing key of the wrong type fails even when a later
/// key would serve.
fn first_present(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    wanted: fn(&Value) -> bool,
) -> Result<Option<Bytes>, CmdError> {
    for key in keys {
        expire_key(ctx, key);
        let Some(e) = ctx.db.get(key, ctx.now_ms) else {
            continue;
        };
        if !wanted(&e.value) {
            return Err(CmdError::WrongType);
        }
        return Ok(Some(crate::db::value::own(key)));
    }
    Ok(None)
}

fn is_list(v: &Value) -> bool {
    matches!(v, Value::List(_))
}

fn is_zset(v: &Value) -> bool {
    matches!(v, Value::ZSet(_))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let a = parse(argv, 1, ["left", "right"])?;
    let Some(key) = first_present(ctx, a.keys, is_list)? else {
        // Nothing popped: nothing to replicate.
        ctx.client.rewrite = Some(Vec::new());
        return Ok(Reply::NullArray);
    };
    let (reply, rewrite) = pop_list(ctx, &key, a.first_end, a.count);
    ctx.client.rewrite = Some(rewrite);
    Ok(reply)
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let a = parse(argv, 1, ["min", "max"])?;
    let Some(key) = first_present(ctx, a.keys, is_zset)? else {
        // Nothing popped: nothing to replicate.
        ctx.client.rewrite = Some(Vec::new());
        return Ok(Reply::NullArray);
    };
    let (reply, rewrite) = pop_zset(ctx, &key, a.first_end, a.count);
    ctx.client.rewrite = Some(rewrite);
    Ok(reply)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let a = parse(argv, 2, ["left", "right"])?;
    let op = Op::Pop {
        left: a.first_end,
        count: Some(a.count),
    };
    blocking::pop_or_block(ctx, a.keys, &argv[1], op)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let a = parse(argv, 2, ["min", "max"])?;
    let op = Op::ZPop {
        max: !a.first_end,
        count: Some(a.count),
    };
    blocking::pop_or_block(ctx, a.keys, &argv[1], op)
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    #[test]
    fn mpop_replies_match_redis() {
        let mut t = TestNode::new();
        t.run_text(&["RPUSH", "l", "a", "b", "c"]);
        assert_eq!(
            t.run_text(&["LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "2"]),
            "*2\r\n$1\r\nl\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
        );
        assert_eq!(t.run_text(&["LMPOP", "1", "nokey", "LEFT"]), "*-1\r\n");
        assert_eq!(
            t.run_text(&["LMPOP", "0", "l", "LEFT"]),
            "-ERR numkeys should be greater than 0\r\n"
        );
        assert_eq!(
            t.run_text(&["LMPOP", "1", "l", "LEFT", "COUNT", "0"]),
            "-ERR count should be greater than 0\r\n"
        );
        assert_eq!(
            t.run_text(&["LMPOP", "2", "l", "LEFT"]),
            "-ERR syntax error\r\n"
        );
        t.run_text(&["ZADD", "z", "1", "a", "2", "b"]);
        assert_eq!(
            t.run_text(&["ZMPOP", "1", "z", "MAX", "COUNT", "10"]),
            "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        assert_eq!(t.run_text(&["EXISTS", "z"]), ":0\r\n");
    }
}

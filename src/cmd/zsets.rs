//! Sorted set commands: ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK
//! ZRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE ZRANGESTORE
//! ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZUNIONSTORE ZINTERSTORE
//! ZDIFFSTORE ZUNION ZINTER ZDIFF ZINTERCARD ZSCAN.
//!
//! The value is [`ZSet`] (a member map plus a B-tree in score order; see `db::zset`). Scores
//! print as Redis 7.0 prints them, `%.17g` (RESP2 bulk strings); RESP3 clients get doubles.

use super::keys::{expire_key, lookup_read};
use super::lists::{arg_positive, clamp_range};
use super::sets::{empty_scan, limit_arg, parse_scan_opts, scan_reply, scan_window};
use super::{arg_i64, eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::value::zset::{
    fmt_score, fmt_score_d2string, parse_range_number, parse_score, LexBound, LexRange, ScoreRange,
};
use crate::db::value::{own, FixedState, SetValue, ZSet};
use crate::db::{Db, Entry, Value};
use crate::notify;
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use indexmap::IndexMap;

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
        group: "sorted-set",
        summary,
        handler,
    }
}

const R_FAST: u32 = flags::READONLY | flags::FAST;
const W_OOM: u32 = flags::WRITE | flags::DENYOOM;
const ONE: KeySpec = KeySpec::FIRST;
const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};
/// `numkeys key ...` at argv[1]: routed on the first key (argv[2]). The dispatcher does not read
/// numkeys yet, so the other keys are not checked for CROSSSLOT.
const NUMKEYS_AT_1: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub const COMMANDS: &[CommandSpec] = &[
    spec("zadd", -4, W_OOM | flags::FAST, ONE, "Add one or more members to a sorted set, or update its score if it already exists", zadd),
    spec("zincrby", 4, W_OOM | flags::FAST, ONE, "Increment the score of a member in a sorted set", zincrby),
    spec("zrem", -3, flags::WRITE | flags::FAST, ONE, "Remove one or more members from a sorted set", zrem),
    spec("zscore", 3, R_FAST, ONE, "Get the score associated with the given member in a sorted set", zscore),
    spec("zmscore", -3, R_FAST, ONE, "Get the score associated with the given members in a sorted set", zmscore),
    spec("zcard", 2, R_FAST, ONE, "Get the number of members in a sorted set", zcard),
    spec("zcount", 4, R_FAST, ONE, "Count the members in a sorted set with scores within the given values", zcount),
    spec("zlexcount", 4, R_FAST, ONE, "Count the number of members in a sorted set between a given lexicographical range", zlexcount),
    spec("zrank", 3, R_FAST, ONE, "Determine the index of a member in a sorted set", zrank),
    spec("zrevrank", 3, R_FAST, ONE, "Determine the index of a member in a sorted set, with scores ordered from high to low", zrevrank),
    spec("zrange", -4, flags::READONLY, ONE, "Return a range of members in a sorted set", zrange),
    spec("zrangebyscore", -4, flags::READONLY, ONE, "Return a range of members in a sorted set, by score", zrangebyscore),
    spec("zrevrangebyscore", -4, flags::READONLY, ONE, "Return a range of members in a sorted set, by score, with scores ordered from high to low", zrevrangebyscore),
    spec("zrangebylex", -4, flags::READONLY, ONE, "Return a range of members in a sorted set, by lexicographical range", zrangebylex),
    spec("zrevrangebylex", -4, flags::READONLY, ONE, "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", zrevrangebylex),
    spec("zrevrange", -4, flags::READONLY, ONE, "Return a range of members in a sorted set, by index, with scores ordered from high to low", zrevrange),
    spec("zrangestore", -5, W_OOM, TWO_KEYS, "Store a range of members from sorted set into another key", zrangestore),
    spec("zremrangebyrank", 4, flags::WRITE, ONE, "Remove all members in a sorted set within the given indexes", zremrangebyrank),
    spec("zremrangebyscore", 4, flags::WRITE, ONE, "Remove all members in a sorted set within the given scores", zremrangebyscore),
    spec("zremrangebylex", 4, flags::WRITE, ONE, "Remove all members in a sorted set between the given lexicographical range", zremrangebylex),
    spec("zpopmin", -2, flags::WRITE | flags::FAST, ONE, "Remove and return members with the lowest scores in a sorted set", zpopmin),
    spec("zpopmax", -2, flags::WRITE | flags::FAST, ONE, "Remove and return members with the highest scores in a sorted set", zpopmax),
    spec("zunionstore", -4, W_OOM | flags::MOVABLE_KEYS, ONE, "Add multiple sorted sets and store the resulting sorted set in a new key", zunionstore),
    spec("zinterstore", -4, W_OOM | flags::MOVABLE_KEYS, ONE, "Intersect multiple sorted sets and store the resulting sorted set in a new key", zinterstore),
    spec("zdiffstore", -4, W_OOM | flags::MOVABLE_KEYS, ONE, "Subtract multiple sorted sets and store the resulting sorted set in a new key", zdiffstore),
    spec("zunion", -3, flags::READONLY | flags::MOVABLE_KEYS, NUMKEYS_AT_1, "Add multiple sorted sets", zunion),
    spec("zinter", -3, flags::READONLY | flags::MOVABLE_KEYS, NUMKEYS_AT_1, "Intersect multiple sorted sets", zinter),
    spec("zdiff", -3, flags::READONLY | flags::MOVABLE_KEYS, NUMKEYS_AT_1, "Subtract multiple sorted sets", zdiff),
    spec("zintercard", -3, flags::READONLY | flags::MOVABLE_KEYS, NUMKEYS_AT_1, "Intersect multiple sorted sets and return the cardinality of the result", zintercard),
    spec("zscan", -3, flags::READONLY, ONE, "Incrementally iterate sorted sets elements and associated scores", zscan),
];

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A read lookup of a sorted set key (hit/miss counted).
pub(crate) fn read_zset<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'c ZSet>, CmdError> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// A write lookup of a sorted set key (lazy expiry, no stats).
fn write_zset<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut ZSet>, CmdError> {
    expire_key(ctx, key);
    match ctx.db.get_mut(key, ctx.now_ms) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn drop_if_empty(ctx: &mut Ctx<'_>, key: &[u8]) {
    let empty =
        matches!(ctx.db.peek(key), Some(Entry { value: Value::ZSet(z), .. }) if z.is_empty());
    if empty {
        ctx.db.remove(key);
    }
}

/// After members left a sorted set: the command's event (when any left), then `del` when it
/// became empty and was deleted.
fn members_removed(ctx: &mut Ctx<'_>, key: &[u8], event: &str, removed: usize) {
    if removed > 0 {
        ctx.notify(notify::ZSET, event, key);
    }
    let empty =
        matches!(ctx.db.peek(key), Some(Entry { value: Value::ZSet(z), .. }) if z.is_empty());
    if empty {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

/// Stores `z` at `dst` (deleting `dst` when empty); the reply is its size. `event` is the
/// storing command's event (`zunionstore`, `georadiusstore`...).
pub(crate) fn store_zset(ctx: &mut Ctx<'_>, dst: &Bytes, z: ZSet, event: &str) -> CmdResult {
    expire_key(ctx, dst);
    let n = z.len();
    if n == 0 {
        if ctx.db.remove(dst).is_some() {
            ctx.notify(notify::GENERIC, "del", dst);
        }
    } else {
        ctx.db.insert(own(dst), Value::ZSet(Box::new(z)), None);
        ctx.notify(notify::ZSET, event, dst);
    }
    Ok(Reply::Integer(n as i64))
}

/// A score in a reply: `%.17g` bulk string in RESP2, a double in RESP3.
fn score_reply(proto: Protocol, d: f64) -> Reply {
    match proto {
        Protocol::Resp2 => Reply::Bulk(Bytes::from(fmt_score(d))),
        Protocol::Resp3 => Reply::Double(d),
    }
}

fn arg_score(arg: &[u8]) -> Result<f64, CmdError> {
    parse_score(arg).ok_or(CmdError::NotFloat)
}

/// Members (and scores) as ZRANGE replies them: flat in RESP2, `[member, score]` pairs in RESP3.
fn range_reply(proto: Protocol, items: Vec<(Bytes, f64)>, withscores: bool) -> Reply {
    if !withscores {
        return Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect());
    }
    if proto == Protocol::Resp3 {
        return Reply::Array(
            items
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        );
    }
    let mut out = Vec::with_capacity(items.len() * 2);
    for (m, s) in items {
        out.push(Reply::Bulk(m));
        out.push(score_reply(proto, s));
    }
    Reply::Array(out)
}

/// Parses a score range (`(1.5`, `-inf`, ...) as zslParseRange does.
fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let bad = || CmdError::other("ERR min or max is not a float");
    let one = |b: &[u8]| -> Option<(f64, bool)> {
        match b.first() {
            Some(b'(') => Some((parse_range_number(&b[1..])?, true)),
            _ => Some((parse_range_number(b)?, false)),
        }
    };
    let (min, minex) = one(min).ok_or_else(bad)?;
    let (max, maxex) = one(max).ok_or_else(bad)?;
    Ok(ScoreRange {
        min,
        minex,
        max,
        maxex,
    })
}

/// Parses a lex range (`-`, `+`, `[a`, `(a`).
fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    let one = |b: &[u8]| -> Option<LexBound> {
        match b.first()? {
            b'+' if b.len() == 1 => Some(LexBound::PosInf),
            b'-' if b.len() == 1 => Some(LexBound::NegInf),
            b'(' => Some(LexBound::Excl(Bytes::copy_from_slice(&b[1..]))),
            b'[' => Some(LexBound::Incl(Bytes::copy_from_slice(&b[1..]))),
            _ => None,
        }
    };
    match (one(min), one(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(CmdError::other(
            "ERR min or max not valid string range item",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// ZADD ZINCRBY

#[derive(Debug, Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What adding one element did.
enum AddOutcome {
    Added(f64),
    Updated(f64),
    /// Present and unchanged (still "processed": INCR replies the score).
    Same(f64),
    Nop,
}

/// Redis's zsetAdd for one element.
fn zset_add(z: &mut ZSet, member: &Bytes, score: f64, f: AddFlags) -> Result<AddOutcome, CmdError> {
    match z.score(member) {
        Some(cur) => {
            if f.nx {
                return Ok(AddOutcome::Nop);
            }
            let new = if f.incr {
                let s = cur + score;
                if s.is_nan() {
                    return Err(CmdError::other("ERR resulting score is not a number (NaN)"));
                }
                s
            } else {
                score
            };
            if (f.gt && new <= cur) || (f.lt && new >= cur) {
                return Ok(AddOutcome::Nop);
            }
            if new != cur {
                z.insert(member.clone(), new);
                Ok(AddOutcome::Updated(new))
            } else {
                Ok(AddOutcome::Same(new))
            }
        }
        None => {
            if f.xx {
                return Ok(AddOutcome::Nop);
            }
            z.insert(own(member), score);
            Ok(AddOutcome::Added(score))
        }
    }
}

/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
pub(crate) fn zadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if eq_ignore_case(a, "nx") {
            f.nx = true;
        } else if eq_ignore_case(a, "xx") {
            f.xx = true;
        } else if eq_ignore_case(a, "ch") {
            f.ch = true;
        } else if eq_ignore_case(a, "incr") {
            f.incr = true;
        } else if eq_ignore_case(a, "gt") {
            f.gt = true;
        } else if eq_ignore_case(a, "lt") {
            f.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &argv[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::other(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return Err(CmdError::other(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CmdError::other(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores: Vec<f64> = pairs
        .iter()
        .step_by(2)
        .map(|s| arg_score(s))
        .collect::<Result<_, _>>()?;
    zadd_generic(ctx, &argv[1], pairs, &scores, f)
}

fn zadd_generic(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    pairs: &[Bytes],
    scores: &[f64],
    f: AddFlags,
) -> CmdResult {
    let proto = ctx.proto();
    let nothing = || {
        if f.incr {
            Reply::Null
        } else {
            Reply::Integer(0)
        }
    };
    if write_zset(ctx, key)?.is_none() {
        if f.xx {
            return Ok(nothing());
        }
        ctx.db.insert(own(key), Value::ZSet(Box::default()), None);
    }
    let z = write_zset(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
    let (mut added, mut updated) = (0, 0);
    let mut last: Option<f64> = None;
    let mut err = None;
    for (member, &score) in pairs.iter().skip(1).step_by(2).zip(scores) {
        match zset_add(z, member, score, f) {
            Ok(AddOutcome::Added(s)) => {
                added += 1;
                last = Some(s);
            }
            Ok(AddOutcome::Updated(s)) => {
                updated += 1;
                last = Some(s);
            }
            Ok(AddOutcome::Same(s)) => last = Some(s),
            Ok(AddOutcome::Nop) => last = None,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    drop_if_empty(ctx, key);
    if added + updated > 0 {
        ctx.notify(notify::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
    if let Some(e) = err {
        return Err(e);
    }
    Ok(if f.incr {
        last.map_or(Reply::Null, |s| score_reply(proto, s))
    } else if f.ch {
        Reply::Integer(added + updated)
    } else {
        Reply::Integer(added)
    })
}

/// ZINCRBY key increment member
fn zincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_score(&argv[2])?;
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, &argv[1], &argv[2..4], &[by], f)
}

// ---------------------------------------------------------------------------------------------
// ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK

/// ZREM key member [member ...]
fn zrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let Some(z) = write_zset(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let n = argv[2..].iter().filter(|m| z.remove(m).is_some()).count();
    members_removed(ctx, key, "zrem", n);
    Ok(Reply::Integer(n as i64))
}

/// ZSCORE key member
fn zscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let proto = ctx.proto();
    let s = read_zset(ctx, &argv[1])?.and_then(|z| z.score(&argv[2]));
    Ok(s.map_or(Reply::Null, |s| score_reply(proto, s)))
}

/// ZMSCORE key member [member ...]
fn zmscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let proto = ctx.proto();
    let z = read_zset(ctx, &argv[1])?;
    Ok(Reply::Array(
        argv[2..]
            .iter()
            .map(|m| {
                z.and_then(|z| z.score(m))
                    .map_or(Reply::Null, |s| score_reply(proto, s))
            })
            .collect(),
    ))
}

/// ZCARD key
fn zcard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(
        read_zset(ctx, &argv[1])?.map_or(0, |z| z.len()) as i64,
    ))
}

/// ZCOUNT key min max
fn zcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = parse_score_range(&argv[2], &argv[3])?;
    let n = read_zset(ctx, &argv[1])?.map_or(0, |z| z.count_by_score(&r));
    Ok(Reply::Integer(n as i64))
}

/// ZLEXCOUNT key min max
fn zlexcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = parse_lex_range(&argv[2], &argv[3])?;
    let n = read_zset(ctx, &argv[1])?.map_or(0, |z| z.range_by_lex(&r, false, 0, None).len());
    Ok(Reply::Integer(n as i64))
}

fn rank_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], rev: bool) -> CmdResult {
    let Some(z) = read_zset(ctx, &argv[1])? else {
        return Ok(Reply::Null);
    };
    let len = z.len();
    Ok(match z.rank(&argv[2]) {
        Some(r) => Reply::Integer(if rev { len - 1 - r } else { r } as i64),
        None => Reply::Null,
    })
}

/// ZRANK key member
fn zrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rank_generic(ctx, argv, false)
}

/// ZREVRANK key member
fn zrevrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rank_generic(ctx, argv, true)
}

// ---------------------------------------------------------------------------------------------
// The ZRANGE family

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// A parsed range request.
enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// The elements a range request selects.
fn select(z: &ZSet, spec: &RangeSpec, rev: bool, offset: i64, limit: i64) -> Vec<(Bytes, f64)> {
    let limit = (limit >= 0).then_some(limit as usize);
    match spec {
        RangeSpec::Rank(start, end) => match clamp_range(*start, *end, z.len()) {
            Some((s, e)) => z.range_by_rank(s, e, rev),
            None => Vec::new(),
        },
        _ if offset < 0 => Vec::new(),
        RangeSpec::Score(r) => z.range_by_score(r, rev, offset as usize, limit),
        RangeSpec::Lex(r) => z.range_by_lex(r, rev, offset as usize, limit),
    }
}

/// Redis's zrangeGenericCommand: `argv[start]` is the source key, then min/max, then options.
/// `store` is ZRANGESTORE's destination.
fn zrange_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    start: usize,
    store: Option<&Bytes>,
    mut rangetype: RangeType,
    mut direction: Direction,
) -> CmdResult {
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if store.is_none() && eq_ignore_case(a, "withscores") {
            withscores = true;
        } else if eq_ignore_case(a, "limit") && left >= 2 {
            offset = arg_i64(&argv[j + 1])?;
            limit = arg_i64(&argv[j + 2])?;
            j += 2;
        } else if direction == Direction::Auto && eq_ignore_case(a, "rev") {
            direction = Direction::Reverse;
        } else if rangetype == RangeType::Auto && eq_ignore_case(a, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && eq_ignore_case(a, "byscore") {
            rangetype = RangeType::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if direction == Direction::Auto {
        direction = Direction::Forward;
    }
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    let has_limit = limit != -1 || offset != 0;
    if has_limit && rangetype == RangeType::Rank {
        return Err(CmdError::other(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rangetype == RangeType::Lex {
        return Err(CmdError::other(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let rev = direction == Direction::Reverse;
    let (mut lo, mut hi) = (&argv[start + 1], &argv[start + 2]);
    if rev && rangetype != RangeType::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let spec = match rangetype {
        RangeType::Score => RangeSpec::Score(parse_score_range(lo, hi)?),
        RangeType::Lex => RangeSpec::Lex(parse_lex_range(lo, hi)?),
        _ => RangeSpec::Rank(arg_i64(lo)?, arg_i64(hi)?),
    };
    let key = &argv[start];
    let proto = ctx.proto();
    // A read lookup for ZRANGESTORE's source too (hit/miss, `keymiss`), as Redis.
    let z = read_zset(ctx, key)?;
    let items = z.map_or_else(Vec::new, |z| select(z, &spec, rev, offset, limit));
    match store {
        Some(dst) => {
            let mut out = ZSet::new();
            for (m, s) in items {
                out.insert(m, s);
            }
            store_zset(ctx, dst, out, "zrangestore")
        }
        None => Ok(range_reply(proto, items, withscores)),
    }
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn zrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeType::Auto, Direction::Auto)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeType::Score, Direction::Forward)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeType::Score, Direction::Reverse)
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
fn zrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeType::Lex, Direction::Forward)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn zrevrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeType::Lex, Direction::Reverse)
}

/// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeType::Rank, Direction::Reverse)
}

/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
fn zrangestore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let dst = argv[1].clone();
    zrange_generic(ctx, argv, 2, Some(&dst), RangeType::Auto, Direction::Auto)
}

/// The shared body of ZREMRANGEBY*: parse, then remove what the range selects.
fn zremrange(ctx: &mut Ctx<'_>, argv: &[Bytes], spec: RangeSpec) -> CmdResult {
    let key = &argv[1];
    let Some(z) = write_zset(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let victims = select(z, &spec, false, 0, -1);
    for (m, _) in &victims {
        z.remove(m);
    }
    let event = match spec {
        RangeSpec::Rank(..) => "zremrangebyrank",
        RangeSpec::Score(_) => "zremrangebyscore",
        RangeSpec::Lex(_) => "zremrangebylex",
    };
    members_removed(ctx, key, event, victims.len());
    Ok(Reply::Integer(victims.len() as i64))
}

/// ZREMRANGEBYRANK key start stop
fn zremrangebyrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let spec = RangeSpec::Rank(arg_i64(&argv[2])?, arg_i64(&argv[3])?);
    zremrange(ctx, argv, spec)
}

/// ZREMRANGEBYSCORE key min max
fn zremrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let spec = RangeSpec::Score(parse_score_range(&argv[2], &argv[3])?);
    zremrange(ctx, argv, spec)
}

/// ZREMRANGEBYLEX key min max
fn zremrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let spec = RangeSpec::Lex(parse_lex_range(&argv[2], &argv[3])?);
    zremrange(ctx, argv, spec)
}

// ---------------------------------------------------------------------------------------------
// ZPOPMIN ZPOPMAX

fn zpop(ctx: &mut Ctx<'_>, argv: &[Bytes], max: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match argv.get(2) {
        Some(a) => Some(arg_positive(a)? as usize),
        None => None,
    };
    let proto = ctx.proto();
    let key = &argv[1];
    let Some(z) = write_zset(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let n = count.unwrap_or(1);
    let mut items = Vec::with_capacity(n.min(z.len()));
    for _ in 0..n {
        match z.pop(max) {
            Some(p) => items.push(p),
            None => break,
        }
    }
    let event = if max { "zpopmax" } else { "zpopmin" };
    members_removed(ctx, key, event, items.len());
    let nested = count.is_some() && proto == Protocol::Resp3;
    Ok(if nested {
        range_reply(proto, items, true)
    } else {
        let mut out = Vec::with_capacity(items.len() * 2);
        for (m, s) in items {
            out.push(Reply::Bulk(m));
            out.push(score_reply(proto, s));
        }
        Reply::Array(out)
    })
}

/// ZPOPMIN key [count]
fn zpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zpop(ctx, argv, false)
}

/// ZPOPMAX key [count]
fn zpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zpop(ctx, argv, true)
}

// ---------------------------------------------------------------------------------------------
// ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZUNION ZINTER ZDIFF ZINTERCARD

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
    /// ZINTERCARD: the intersection's size only, with LIMIT.
    InterCard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// One input of a union / intersection: a sorted set, or a plain set (every score 1).
#[derive(Clone, Copy)]
enum Src<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a SetValue),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&Bytes, f64)) {
        match self {
            Src::Missing => {}
            Src::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Src::S(s) => s.iter().for_each(|m| f(m, 1.0)),
        }
    }
}

fn src_of<'d>(db: &'d Db, key: &[u8]) -> Src<'d> {
    match db.peek(key) {
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Src::Z(z),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Src::S(s),
        _ => Src::Missing,
    }
}

fn aggregate(acc: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *acc += v;
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Aggregate::Min => *acc = acc.min(v),
        Aggregate::Max => *acc = acc.max(v),
    }
}

fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// Computes the operation over `srcs` (with weights), in Redis's element order.
fn combine(srcs: &[Src<'_>], weights: &[f64], op: SetOp, how: Aggregate) -> Vec<(Bytes, f64)> {
    let mut acc: IndexMap<Bytes, f64, FixedState> = IndexMap::with_hasher(FixedState);
    match op {
        SetOp::Inter | SetOp::InterCard => {
            let mut order: Vec<usize> = (0..srcs.len()).collect();
            order.sort_by_key(|&i| srcs[i].len());
            if srcs.iter().any(|s| s.len() == 0) {
                return Vec::new();
            }
            let (first, rest) = order.split_first().expect("at least one key");
            srcs[*first].for_each(|m, s| {
                let mut score = weighted(s, weights[*first]);
                for &o in rest {
                    match srcs[o].score(m) {
                        Some(v) => aggregate(&mut score, weighted(v, weights[o]), how),
                        None => return,
                    }
                }
                acc.insert(m.clone(), score);
            });
        }
        SetOp::Union => {
            let mut order: Vec<usize> = (0..srcs.len()).collect();
            order.sort_by_key(|&i| srcs[i].len());
            for &i in &order {
                srcs[i].for_each(|m, s| {
                    let v = weighted(s, weights[i]);
                    match acc.get_mut(m) {
                        Some(cur) => aggregate(cur, v, how),
                        None => {
                            acc.insert(m.clone(), v);
                        }
                    }
                });
            }
        }
        SetOp::Diff => {
            srcs[0].for_each(|m, s| {
                if !srcs[1..].iter().any(|o| o.score(m).is_some()) {
                    acc.insert(m.clone(), s);
                }
            });
        }
    }
    acc.into_iter().collect()
}

/// Redis's zunionInterDiffGenericCommand: `numkeys` at `argv[at]`, then keys and options.
fn zsetop_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    dst: Option<&Bytes>,
    at: usize,
    op: SetOp,
) -> CmdResult {
    let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
    let setnum = arg_i64(&argv[at])?;
    if setnum < 1 {
        return Err(CmdError::other(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if setnum as u64 > (argv.len() - at - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let keys = &argv[at + 1..at + 1 + setnum];
    for k in keys {
        // Read lookups even for the STORE forms (a `keymiss` for a missing source), as Redis.
        if let Some(e) = lookup_read(ctx, k) {
            if !matches!(e.value, Value::ZSet(_) | Value::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    let mut weights = vec![1.0; setnum];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let card = op == SetOp::InterCard;
    let mut j = at + 1 + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let a = &argv[j];
        if card {
            if remaining >= 2 && eq_ignore_case(a, "limit") {
                limit = limit_arg(&argv[j..j + 2], 0)?;
                j += 2;
                continue;
            }
            return Err(CmdError::Syntax);
        }
        if op != SetOp::Diff && remaining > setnum && eq_ignore_case(a, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = parse_score(&argv[j])
                    .ok_or_else(|| CmdError::other("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && remaining >= 2 && eq_ignore_case(a, "aggregate") {
            let v = &argv[j + 1];
            how = if eq_ignore_case(v, "sum") {
                Aggregate::Sum
            } else if eq_ignore_case(v, "min") {
                Aggregate::Min
            } else if eq_ignore_case(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && eq_ignore_case(a, "withscores") {
            withscores = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let srcs: Vec<Src<'_>> = keys.iter().map(|k| src_of(ctx.db, k)).collect();
    let mut items = combine(&srcs, &weights, op, how);
    if card {
        let n = if limit > 0 {
            items.len().min(limit)
        } else {
            items.len()
        };
        return Ok(Reply::Integer(n as i64));
    }
    match dst {
        Some(dst) => {
            let mut z = ZSet::new();
            for (m, s) in items {
                z.insert(m, s);
            }
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter | SetOp::InterCard => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_zset(ctx, dst, z, event)
        }
        None => {
            // Replies are in score order.
            let mut z = ZSet::new();
            for (m, s) in items.drain(..) {
                z.insert(m, s);
            }
            let all: Vec<(Bytes, f64)> = z.iter().map(|(m, s)| (m.clone(), s)).collect();
            Ok(range_reply(ctx.proto(), all, withscores))
        }
    }
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
fn zunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let dst = argv[1].clone();
    zsetop_generic(ctx, argv, Some(&dst), 2, SetOp::Union)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
fn zinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let dst = argv[1].clone();
    zsetop_generic(ctx, argv, Some(&dst), 2, SetOp::Inter)
}

/// ZDIFFSTORE destination numkeys key [key ...]
fn zdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let dst = argv[1].clone();
    zsetop_generic(ctx, argv, Some(&dst), 2, SetOp::Diff)
}

/// ZUNION numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]
fn zunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop_generic(ctx, argv, None, 1, SetOp::Union)
}

/// ZINTER numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]
fn zinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop_generic(ctx, argv, None, 1, SetOp::Inter)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
fn zdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop_generic(ctx, argv, None, 1, SetOp::Diff)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop_generic(ctx, argv, None, 1, SetOp::InterCard)
}

// ---------------------------------------------------------------------------------------------
// ZSCAN

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: members and their scores as strings. A
/// small set answers whole, in score order (Redis's listpack order).
fn zscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cursor =
        super::keys::parse_cursor(&argv[2]).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let Some(z) = read_zset(ctx, &argv[1])? else {
        return Ok(empty_scan());
    };
    let opts = parse_scan_opts(argv, 3)?;
    let mut out = Vec::new();
    let mut push = |m: &Bytes, s: f64| {
        if opts.matches(m) {
            out.push(Reply::Bulk(m.clone()));
            out.push(Reply::Bulk(Bytes::from(fmt_score_d2string(s))));
        }
    };
    if z.is_small() {
        z.iter().for_each(|(m, s)| push(m, s));
        return Ok(scan_reply(0, out));
    }
    let (next, window) = scan_window(z.len(), false, cursor, opts.count);
    for i in window {
        if let Some((m, s)) = z.get_index(i) {
            push(m, s);
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
    fn zadd_options_and_errors() {
        let mut t = TestNode::new();
        check(
            &mut t,
            &[
                (&["ZADD", "z", "1", "a", "2", "b"], ":2\r\n"),
                (
                    &["ZADD", "z", "NX", "XX", "1", "a"],
                    "-ERR XX and NX options at the same time are not compatible\r\n",
                ),
                (
                    &["ZADD", "z", "NX", "GT", "1", "a"],
                    "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
                ),
                (
                    &["ZADD", "z", "INCR", "1", "a", "2", "b"],
                    "-ERR INCR option supports a single increment-element pair\r\n",
                ),
                (&["ZADD", "z", "1", "a", "2"], "-ERR syntax error\r\n"),
                (
                    &["ZADD", "z", "x", "a"],
                    "-ERR value is not a valid float\r\n",
                ),
                (
                    &["ZADD", "z", "nan", "a"],
                    "-ERR value is not a valid float\r\n",
                ),
                (&["ZADD", "z", "CH", "5", "a", "2", "b", "3", "c"], ":2\r\n"),
                (&["ZADD", "z", "GT", "CH", "4", "a"], ":0\r\n"),
                (&["ZADD", "z", "LT", "CH", "4", "a"], ":1\r\n"),
                (&["ZADD", "z", "XX", "9", "zz"], ":0\r\n"),
                (&["ZADD", "z", "INCR", "1.5", "a"], "$3\r\n5.5\r\n"),
                (&["ZADD", "z", "NX", "INCR", "1.5", "a"], "$-1\r\n"),
                (&["ZADD", "z", "INCR", "inf", "a"], "$3\r\ninf\r\n"),
                (
                    &["ZADD", "z", "INCR", "-inf", "a"],
                    "-ERR resulting score is not a number (NaN)\r\n",
                ),
                (
                    &["ZINCRBY", "z", "1.1", "b"],
                    "$18\r\n3.1000000000000001\r\n",
                ),
                (
                    &["ZINCRBY", "z", "x", "b"],
                    "-ERR value is not a valid float\r\n",
                ),
                (&["ZSCORE", "z", "c"], "$1\r\n3\r\n"),
                (&["ZSCORE", "z", "zz"], "$-1\r\n"),
                (&["ZMSCORE", "z", "c", "zz"], "*2\r\n$1\r\n3\r\n$-1\r\n"),
                (&["ZCARD", "z"], ":3\r\n"),
                (&["ZREM", "z", "a", "zz"], ":1\r\n"),
                (&["ZRANK", "z", "c"], ":0\r\n"),
                (&["ZREVRANK", "z", "c"], ":1\r\n"),
                (&["ZRANK", "z", "zz"], "$-1\r\n"),
                (&["ZREM", "z", "b", "c"], ":2\r\n"),
                (&["EXISTS", "z"], ":0\r\n"),
                (&["ZADD", "z", "XX", "1", "a"], ":0\r\n"),
                (&["EXISTS", "z"], ":0\r\n"),
                (&["SET", "s", "v"], "+OK\r\n"),
                (&["ZADD", "s", "1", "a"], WRONGTYPE),
                (&["ZRANGE", "s", "0", "1"], WRONGTYPE),
                (&["ZADD", "z", "1", "a"], ":1\r\n"),
                (&["TYPE", "z"], "+zset\r\n"),
            ],
        );
    }

    #[test]
    fn ranges() {
        let mut t = TestNode::new();
        t.run(&[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ]);
        check(
            &mut t,
            &[
                (&["ZRANGE", "z", "0", "1"], "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
                (&["ZRANGE", "z", "-2", "-1", "WITHSCORES"], "*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n"),
                (&["ZRANGE", "z", "0", "0", "REV"], "*1\r\n$1\r\ne\r\n"),
                (&["ZREVRANGE", "z", "0", "1"], "*2\r\n$1\r\ne\r\n$1\r\nd\r\n"),
                (&["ZRANGE", "z", "(1", "3", "BYSCORE"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
                (&["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2"], "*2\r\n$1\r\nd\r\n$1\r\nc\r\n"),
                (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "3", "-1"], "*2\r\n$1\r\nd\r\n$1\r\ne\r\n"),
                (&["ZREVRANGEBYSCORE", "z", "(5", "4"], "*1\r\n$1\r\nd\r\n"),
                (&["ZRANGEBYSCORE", "z", "x", "1"], "-ERR min or max is not a float\r\n"),
                (&["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"], "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
                (&["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"], "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"),
                (&["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"], "-ERR syntax error\r\n"),
                (&["ZRANGEBYSCORE", "z", "0", "1", "REV"], "-ERR syntax error\r\n"),
                (&["ZCOUNT", "z", "(1", "(5"], ":3\r\n"),
                (&["ZRANGESTORE", "d", "z", "1", "2"], ":2\r\n"),
                (&["ZRANGE", "d", "0", "-1", "WITHSCORES"], "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
                (&["ZRANGESTORE", "d", "z", "10", "20"], ":0\r\n"),
                (&["EXISTS", "d"], ":0\r\n"),
                (&["ZPOPMIN", "z"], "*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
                (&["ZPOPMAX", "z", "2"], "*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n"),
                (&["ZPOPMAX", "z", "-1"], "-ERR value is out of range, must be positive\r\n"),
                (&["ZPOPMIN", "noz"], "*0\r\n"),
                (&["ZREMRANGEBYSCORE", "z", "-inf", "2"], ":1\r\n"),
                (&["ZRANGE", "z", "0", "-1"], "*1\r\n$1\r\nc\r\n"),
            ],
        );
        t.run(&["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d"]);
        check(
            &mut t,
            &[
                (
                    &["ZRANGEBYLEX", "l", "[b", "(d"],
                    "*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
                ),
                (
                    &["ZREVRANGEBYLEX", "l", "+", "(b"],
                    "*2\r\n$1\r\nd\r\n$1\r\nc\r\n",
                ),
                (
                    &["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "1"],
                    "*1\r\n$1\r\nb\r\n",
                ),
                (
                    &["ZRANGEBYLEX", "l", "b", "+"],
                    "-ERR min or max not valid string range item\r\n",
                ),
                (&["ZLEXCOUNT", "l", "[b", "+"], ":3\r\n"),
                (&["ZREMRANGEBYLEX", "l", "-", "[b"], ":2\r\n"),
                (
                    &["ZSCAN", "l", "0"],
                    "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nd\r\n$1\r\n0\r\n",
                ),
            ],
        );
    }

    #[test]
    fn union_inter() {
        let mut t = TestNode::new();
        t.run(&["ZADD", "a", "1", "x", "2", "y"]);
        t.run(&["ZADD", "b", "10", "y", "20", "z"]);
        t.run(&["SADD", "s", "x", "z"]);
        t.run(&["SET", "str", "v"]);
        check(
            &mut t,
            &[
                (&["ZUNIONSTORE", "d", "2", "a", "b"], ":3\r\n"),
                (
                    &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                    "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n20\r\n",
                ),
                (
                    &[
                        "ZINTERSTORE",
                        "d",
                        "2",
                        "a",
                        "b",
                        "WEIGHTS",
                        "2",
                        "1",
                        "AGGREGATE",
                        "MAX",
                    ],
                    ":1\r\n",
                ),
                (
                    &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                    "*2\r\n$1\r\ny\r\n$2\r\n10\r\n",
                ),
                (&["ZINTERSTORE", "d", "2", "a", "s"], ":1\r\n"),
                (&["ZSCORE", "d", "x"], "$1\r\n2\r\n"),
                (
                    &["ZUNIONSTORE", "d", "0", "a"],
                    "-ERR at least 1 input key is needed for 'zunionstore' command\r\n",
                ),
                (
                    &["ZUNIONSTORE", "d", "3", "a", "b"],
                    "-ERR syntax error\r\n",
                ),
                (&["ZUNIONSTORE", "d", "2", "a", "str"], WRONGTYPE),
                (
                    &["ZUNIONSTORE", "d", "1", "a", "WEIGHTS", "x"],
                    "-ERR weight value is not a float\r\n",
                ),
                (
                    &["ZUNIONSTORE", "d", "1", "a", "AGGREGATE", "avg"],
                    "-ERR syntax error\r\n",
                ),
                (&["ZINTERSTORE", "d", "2", "a", "noz"], ":0\r\n"),
                (&["EXISTS", "d"], ":0\r\n"),
                (&["ZINTERCARD", "2", "a", "b"], ":1\r\n"),
                (
                    &["ZUNION", "2", "a", "b", "WITHSCORES"],
                    "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n20\r\n",
                ),
                (&["ZDIFF", "2", "a", "b"], "*1\r\n$1\r\nx\r\n"),
            ],
        );
    }
}

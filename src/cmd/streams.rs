//! Stream commands: XADD XRANGE XREVRANGE XLEN XDEL XTRIM XREAD XREADGROUP XGROUP XACK XPENDING
//! XCLAIM XAUTOCLAIM XINFO XSETID, with Redis 7.0's replies, errors and replication forms.
//!
//! Replication follows Redis: XADD goes out with the ID it generated and `~` trims as exact
//! ones (`MAXLEN = <length>` / `MINID = <first id>`); consumer-group reads and claims go out as
//! the idempotent `XCLAIM ... TIME t RETRYCOUNT n FORCE JUSTID LASTID id` per entry, plus
//! `XGROUP SETID ... ENTRIESREAD n` (NOACK) and `XGROUP CREATECONSUMER` (NOACK creating a
//! consumer). A handler lists those in `client.propagate`; several go out in MULTI/EXEC.
//!
//! Blocking XREAD / XREADGROUP use the shared machinery of `blocking.rs` (`Op::XRead`).

use super::blocking::{BlockedReq, Op, XReadGroup};
use super::error::quote_arg_bytes;
use super::keys::{expire_key, lookup_read};
use super::subcmd::{self, SubSpec};
use super::{eq_ignore_case, flags, parse_i64, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::stream::{
    Group, Item, NodeLimits, Stream, StreamId, Trim, INVALID_ENTRIES_READ, LISTPACK_MAX_SIZE,
};
use crate::db::value::{own, own_all};
use crate::db::Value;
use crate::notify;
use crate::resp::{Protocol, Reply};
use bytes::Bytes;

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
        group: "stream",
        summary,
        handler,
    }
}

const SECOND: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

const W: u32 = flags::WRITE;
const W_FAST: u32 = flags::WRITE | flags::FAST;
const W_OOM_FAST: u32 = flags::WRITE | flags::DENYOOM | flags::FAST;
const R: u32 = flags::READONLY;
const R_FAST: u32 = flags::READONLY | flags::FAST;

pub const COMMANDS: &[CommandSpec] = &[
    spec("xadd", -5, W_OOM_FAST, KeySpec::FIRST, "Appends a new entry to a stream", xadd),
    spec("xrange", -4, R, KeySpec::FIRST, "Return a range of elements in a stream, with IDs matching the specified IDs interval", xrange),
    spec("xrevrange", -4, R, KeySpec::FIRST, "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", xrevrange),
    spec("xlen", 2, R_FAST, KeySpec::FIRST, "Return the number of entries in a stream", xlen),
    spec("xdel", -3, W_FAST, KeySpec::FIRST, "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", xdel),
    spec("xtrim", -4, W, KeySpec::FIRST, "Trims the stream to (approximately if '~' is passed) a certain size", xtrim),
    spec("xread", -4, R | flags::BLOCKING | flags::MOVABLE_KEYS, KeySpec::NONE, "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", xread),
    spec("xreadgroup", -7, W | flags::BLOCKING | flags::MOVABLE_KEYS, KeySpec::NONE, "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", xreadgroup),
    spec("xgroup", -2, W, SECOND, "A container for consumer groups commands", xgroup),
    spec("xack", -4, W_FAST, KeySpec::FIRST, "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", xack),
    spec("xpending", -3, R, KeySpec::FIRST, "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", xpending),
    spec("xclaim", -6, W_FAST, KeySpec::FIRST, "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", xclaim),
    spec("xautoclaim", -6, W_FAST, KeySpec::FIRST, "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", xautoclaim),
    spec("xinfo", -2, R, SECOND, "A container for stream introspection commands", xinfo),
    spec("xsetid", -3, W_OOM_FAST, KeySpec::FIRST, "An internal command for replicating stream values", xsetid),
];

pub const XGROUP_SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "xgroup|create",
        arity: -5,
        flags: W | flags::DENYOOM,
        summary: "Create a consumer group.",
        handler: xgroup_sub,
    },
    SubSpec {
        name: "xgroup|setid",
        arity: -5,
        flags: W,
        summary: "Set a consumer group to an arbitrary last delivered ID value.",
        handler: xgroup_sub,
    },
    SubSpec {
        name: "xgroup|destroy",
        arity: 4,
        flags: W,
        summary: "Destroy a consumer group.",
        handler: xgroup_sub,
    },
    SubSpec {
        name: "xgroup|createconsumer",
        arity: 5,
        flags: W | flags::DENYOOM,
        summary: "Create a consumer in a consumer group.",
        handler: xgroup_sub,
    },
    SubSpec {
        name: "xgroup|delconsumer",
        arity: 5,
        flags: W,
        summary: "Delete a consumer from a consumer group.",
        handler: xgroup_sub,
    },
    SubSpec {
        name: "xgroup|help",
        arity: 2,
        flags: flags::STALE,
        summary: "Show helpful text about the different subcommands",
        handler: xgroup_sub,
    },
];

pub const XINFO_SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "xinfo|consumers",
        arity: 4,
        flags: R,
        summary: "List the consumers in a consumer group",
        handler: xinfo_sub,
    },
    SubSpec {
        name: "xinfo|groups",
        arity: 3,
        flags: R,
        summary: "List the consumer groups of a stream",
        handler: xinfo_sub,
    },
    SubSpec {
        name: "xinfo|stream",
        arity: -3,
        flags: R,
        summary: "Get information about a stream",
        handler: xinfo_sub,
    },
    SubSpec {
        name: "xinfo|help",
        arity: 2,
        flags: flags::STALE,
        summary: "Show helpful text about the different subcommands",
        handler: xinfo_sub,
    },
];

// ---------------------------------------------------------------------------------------------
// Errors and parsing

fn invalid_id() -> CmdError {
    CmdError::other("ERR Invalid stream ID specified as stream command argument")
}

/// An error whose text quotes client bytes (`%s` in Redis: cut at a NUL).
fn raw_err(parts: &[&[u8]]) -> CmdError {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p);
    }
    CmdError::Raw(Bytes::from(v))
}

fn q(b: &[u8]) -> Vec<u8> {
    quote_arg_bytes(b, usize::MAX)
}

fn arity_error(name: &str) -> CmdError {
    CmdError::WrongArity(name.to_string())
}

/// C's strtoull as Redis's string2ull uses it: optional spaces and sign, base-10 digits to the
/// end, no overflow. A `-` sign negates modulo 2^64, as C does.
fn strtoull(s: &[u8]) -> Option<u64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i >= s.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Redis's string2ull: a strict integer first (negative ones refused), else strtoull.
fn string2ull(s: &[u8]) -> Option<u64> {
    if s.contains(&0) {
        return None;
    }
    if let Some(v) = parse_i64(s) {
        return (v >= 0).then_some(v as u64);
    }
    strtoull(s)
}

/// Redis's streamGenericParseIDOrReply. `allow_seq_star`: the `<ms>-*` form is accepted and
/// reported as "sequence not given" (XADD).
fn parse_id_full(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_seq_star: bool,
) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 127 {
        return Err(invalid_id());
    }
    // C string semantics: stop at a NUL.
    let arg = match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    if strict && (arg == b"-" || arg == b"+") {
        return Err(invalid_id());
    }
    if arg == b"-" {
        return Ok((StreamId::MIN, true));
    }
    if arg == b"+" {
        return Ok((StreamId::MAX, true));
    }
    let (ms_part, seq_part) = match arg.iter().position(|&b| b == b'-') {
        Some(d) => (&arg[..d], Some(&arg[d + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms_part).ok_or_else(invalid_id)?;
    let mut seq_given = true;
    let seq = match seq_part {
        Some(b"*") if allow_seq_star => {
            seq_given = false;
            0
        }
        Some(s) => string2ull(s).ok_or_else(invalid_id)?,
        None => missing_seq,
    };
    Ok((StreamId::new(ms, seq), seq_given))
}

fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    parse_id_full(arg, missing_seq, false, false).map(|r| r.0)
}

fn parse_strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    parse_id_full(arg, missing_seq, true, false).map(|r| r.0)
}

/// A range bound: `(id` is exclusive (strictly parsed), anything else inclusive.
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_strict_id(&arg[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

fn parse_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(arg, 0)?;
    if ex {
        return id
            .incr()
            .ok_or_else(|| CmdError::other("ERR invalid start ID for the interval"));
    }
    Ok(id)
}

fn parse_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(arg, u64::MAX)?;
    if ex {
        return id
            .decr()
            .ok_or_else(|| CmdError::other("ERR invalid end ID for the interval"));
    }
    Ok(id)
}

fn arg_ll(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

fn arg_ll_msg(arg: &[u8], msg: &'static str) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::Other(msg.into()))
}

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_bytes())
}

fn item_reply(it: &Item) -> Reply {
    Reply::Array(vec![
        id_reply(it.id),
        Reply::Array(it.pairs.iter().map(|p| Reply::Bulk(p.clone())).collect()),
    ])
}

fn limits(ctx: &Ctx<'_>) -> NodeLimits {
    let c = &ctx.node.config;
    NodeLimits {
        max_bytes: c.int("stream-node-max-bytes").max(0) as usize,
        max_entries: c.int("stream-node-max-entries").max(0) as usize,
    }
}

/// The stream at `key` for reading (keyspace hit/miss counted); WRONGTYPE for another type.
fn read_stream<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c Stream>, CmdError> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Stream(s) => Ok(Some(s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The stream at `key` for changing.
fn write_stream<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut Stream>, CmdError> {
    expire_key(ctx, key);
    match ctx.db.get_mut(key, ctx.now_ms) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Whether the key exists and its type (for checks before changing it).
fn check_stream(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, CmdError> {
    expire_key(ctx, key);
    match ctx.db.get(key, ctx.now_ms) {
        None => Ok(false),
        Some(e) => match &e.value {
            Value::Stream(_) => Ok(true),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Redis's mustObeyClient: the master's stream (or the AOF), applied with client id 0.
fn obeys_master(ctx: &Ctx<'_>) -> bool {
    ctx.client.id == 0
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn num(v: impl ToString) -> Bytes {
    Bytes::from(v.to_string())
}

/// Records commands to replicate instead of the one run (an empty list: nothing).
fn propagate(ctx: &mut Ctx<'_>, cmds: Vec<Vec<Bytes>>) {
    match &mut ctx.client.propagate {
        Some(v) => v.extend(cmds),
        None => ctx.client.propagate = Some(cmds),
    }
}

// ---------------------------------------------------------------------------------------------
// XADD / XTRIM options

#[derive(Debug, Default)]
struct AddTrimArgs {
    id: StreamId,
    id_given: bool,
    seq_given: bool,
    no_mkstream: bool,
    trim: Option<Trim>,
    /// Argv index of the MAXLEN count / MINID id.
    trim_arg_idx: usize,
    approx: bool,
    limit: u64,
}

/// Redis's streamParseAddOrTrimArgsOrReply: the parsed options and the index of the ID (XADD).
fn parse_add_trim(
    ctx: &Ctx<'_>,
    argv: &[Bytes],
    xadd: bool,
) -> Result<(AddTrimArgs, usize), CmdError> {
    let mut a = AddTrimArgs {
        seq_given: true,
        ..Default::default()
    };
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let mut i = 2;
    let both = || {
        CmdError::other(
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        )
    };
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = &argv[i];
        if xadd && opt.as_ref() == b"*" {
            break;
        } else if eq_ignore_case(opt, "maxlen") && more > 0 {
            if a.trim.is_some() {
                return Err(both());
            }
            a.approx = false;
            let next = &argv[i + 1];
            if more >= 2 && next.as_ref() == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next.as_ref() == b"=" {
                i += 1;
            }
            let v = arg_ll(&argv[i + 1])?;
            if v < 0 {
                return Err(CmdError::other("ERR The MAXLEN argument must be >= 0."));
            }
            i += 1;
            a.trim = Some(Trim::MaxLen(v as u64));
            a.trim_arg_idx = i;
        } else if eq_ignore_case(opt, "minid") && more > 0 {
            if a.trim.is_some() {
                return Err(both());
            }
            a.approx = false;
            let next = &argv[i + 1];
            if more >= 2 && next.as_ref() == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next.as_ref() == b"=" {
                i += 1;
            }
            let id = parse_strict_id(&argv[i + 1], 0)?;
            i += 1;
            a.trim = Some(Trim::MinId(id));
            a.trim_arg_idx = i;
        } else if eq_ignore_case(opt, "limit") && more > 0 {
            limit = arg_ll(&argv[i + 1])?;
            if limit < 0 {
                return Err(CmdError::other("ERR The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && eq_ignore_case(opt, "nomkstream") {
            a.no_mkstream = true;
        } else if xadd {
            let (id, seq_given) = parse_id_full(opt, 0, true, true)?;
            a.id = id;
            a.seq_given = seq_given;
            a.id_given = true;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if limit != 0 && a.trim.is_none() {
        return Err(CmdError::other(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.trim.is_none() {
        return Err(CmdError::other(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if obeys_master(ctx) {
        a.limit = 0;
    } else if limit_given {
        if !a.approx {
            return Err(CmdError::other(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
        a.limit = limit as u64;
    } else if a.approx {
        let mut l = 100 * ctx.node.config.int("stream-node-max-entries");
        if l <= 0 {
            l = 10000;
        }
        a.limit = l.min(1_000_000) as u64;
    }
    Ok((a, i))
}

/// The argv to replicate after a `~` trim: `= <exact>` in place of `~ <asked>`.
fn rewrite_trim(argv: &mut [Bytes], s: &Stream, a: &AddTrimArgs) {
    argv[a.trim_arg_idx - 1] = b("=");
    argv[a.trim_arg_idx] = match a.trim {
        Some(Trim::MaxLen(_)) => num(s.len()),
        _ => s.first_edge_id().to_bytes(),
    };
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
fn xadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (a, idpos) = parse_add_trim(ctx, argv, true)?;
    let field_pos = idpos + 1;
    if argv.len() < field_pos + 2 || (argv.len() - field_pos) % 2 == 1 {
        return Err(arity_error("xadd"));
    }
    if a.id_given && a.seq_given && a.id.is_zero() {
        return Err(CmdError::other(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let key = &argv[1];
    if !check_stream(ctx, key)? {
        if a.no_mkstream {
            propagate(ctx, Vec::new());
            return Ok(Reply::Null);
        }
        ctx.db.insert(own(key), Value::Stream(Box::default()), None);
    }
    let lim = limits(ctx);
    let now = ctx.now_ms;
    let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
    if s.last_id == StreamId::MAX {
        return Err(CmdError::other(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let edom = || {
        CmdError::other(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let id = if a.id_given {
        if a.seq_given {
            a.id
        } else if s.last_id.ms == a.id.ms {
            if s.last_id.seq == u64::MAX {
                // Redis fails here without setting errno, and reports the size error.
                return Err(CmdError::other("ERR Elements are too large to be stored"));
            }
            StreamId::new(a.id.ms, s.last_id.seq + 1)
        } else {
            a.id
        }
    } else if now > s.last_id.ms {
        StreamId::new(now, 0)
    } else {
        s.last_id.incr().unwrap_or(StreamId::MIN)
    };
    if id <= s.last_id {
        return Err(edom());
    }
    let fields = &argv[field_pos..];
    if fields.iter().map(|f| f.len()).sum::<usize>() > LISTPACK_MAX_SIZE {
        return Err(CmdError::other("ERR Elements are too large to be stored"));
    }
    s.append(id, own_all(fields), lim);
    let mut out: Vec<Bytes> = argv.to_vec();
    let mut trimmed = 0;
    if let Some(t) = a.trim {
        trimmed = s.trim(t, a.approx, a.limit);
        if a.approx {
            rewrite_trim(&mut out, s, &a);
        }
    }
    if !a.id_given || !a.seq_given {
        out[idpos] = id.to_bytes();
    }
    ctx.client.rewrite = Some(out);
    ctx.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    Ok(id_reply(id))
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (a, _) = parse_add_trim(ctx, argv, false)?;
    let Some(s) = write_stream(ctx, &argv[1])? else {
        propagate(ctx, Vec::new());
        return Ok(Reply::Integer(0));
    };
    let Some(t) = a.trim else {
        return Err(CmdError::Syntax);
    };
    let deleted = s.trim(t, a.approx, a.limit);
    if deleted == 0 {
        propagate(ctx, Vec::new());
    } else {
        if a.approx {
            let mut out = argv.to_vec();
            rewrite_trim(&mut out, s, &a);
            ctx.client.rewrite = Some(out);
        }
        ctx.notify(notify::STREAM, "xtrim", &argv[1]);
    }
    Ok(Reply::Integer(deleted as i64))
}

// ---------------------------------------------------------------------------------------------
// XRANGE XREVRANGE XLEN XDEL

fn xrange_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (&argv[3], &argv[2])
    } else {
        (&argv[2], &argv[3])
    };
    let start = parse_start(start_arg)?;
    let end = parse_end(end_arg)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < argv.len() {
        if eq_ignore_case(&argv[j], "count") && j + 1 < argv.len() {
            count = arg_ll(&argv[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = read_stream(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count == 0 {
        return Ok(Reply::NullArray);
    }
    let n = if count < 0 { 0 } else { count as usize };
    Ok(Reply::Array(
        s.range(start, end, n, rev)
            .into_iter()
            .map(item_reply)
            .collect(),
    ))
}

/// XRANGE key start end [COUNT count]
fn xrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    xrange_generic(ctx, argv, false)
}

/// XREVRANGE key end start [COUNT count]
fn xrevrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    xrange_generic(ctx, argv, true)
}

/// XLEN key
fn xlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(
        read_stream(ctx, &argv[1])?.map_or(0, |s| s.len() as i64),
    ))
}

/// XDEL key id [id ...]
fn xdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if !check_stream(ctx, &argv[1])? {
        propagate(ctx, Vec::new());
        return Ok(Reply::Integer(0));
    }
    let ids = argv[2..]
        .iter()
        .map(|a| parse_strict_id(a, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let s = write_stream(ctx, &argv[1])?.ok_or(CmdError::NoSuchKey)?;
    let mut deleted = 0;
    let mut first = false;
    for id in ids {
        if s.delete(id) {
            if id == s.first_id {
                first = true;
            }
            if id > s.max_deleted_id {
                s.max_deleted_id = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        s.after_delete(first);
        ctx.notify(notify::STREAM, "xdel", &argv[1]);
    } else {
        propagate(ctx, Vec::new());
    }
    Ok(Reply::Integer(deleted))
}

// ---------------------------------------------------------------------------------------------
// Consumer-group reads (shared by XREADGROUP and its blocked form)

/// What a group read needs besides the stream.
pub struct GroupRead<'a> {
    pub key: &'a Bytes,
    pub group: &'a Bytes,
    pub consumer: &'a Bytes,
    pub noack: bool,
    pub now: u64,
}

/// Looks a consumer up (refreshing its seen time) or creates it; true when created.
fn touch_consumer(g: &mut Group, name: &Bytes, now: u64) -> bool {
    match g.consumers.get_mut(name) {
        Some(c) => {
            c.seen_time = now;
            false
        }
        None => {
            g.consumers.insert(
                own(name),
                crate::db::stream::Consumer {
                    seen_time: now,
                    pel: Default::default(),
                },
            );
            true
        }
    }
}

fn xclaim_form(
    key: &Bytes,
    group: &Bytes,
    id_arg: Bytes,
    g: &Group,
    consumer: &Bytes,
    time: u64,
    count: u64,
) -> Vec<Bytes> {
    vec![
        b("XCLAIM"),
        key.clone(),
        group.clone(),
        consumer.clone(),
        b("0"),
        id_arg,
        b("TIME"),
        num(time),
        b("RETRYCOUNT"),
        num(count),
        b("FORCE"),
        b("JUSTID"),
        b("LASTID"),
        g.last_id.to_bytes(),
    ]
}

fn setid_form(key: &Bytes, group: &Bytes, g: &Group) -> Vec<Bytes> {
    vec![
        b("XGROUP"),
        b("SETID"),
        key.clone(),
        group.clone(),
        g.last_id.to_bytes(),
        b("ENTRIESREAD"),
        num(g.entries_read),
    ]
}

/// Serves a group read of new entries from `start` (Redis's streamReplyWithRange with a
/// group), or of the consumer's history. The entries reply and the commands to replicate.
pub fn group_read(
    s: &mut Stream,
    r: &GroupRead<'_>,
    start: StreamId,
    count: usize,
    history: bool,
) -> (Reply, Vec<Vec<Bytes>>) {
    let mut props = Vec::new();
    let Some(mut g) = s.groups.remove(r.group) else {
        return (Reply::Array(Vec::new()), props);
    };
    if touch_consumer(&mut g, r.consumer, r.now) && r.noack {
        props.push(vec![
            b("XGROUP"),
            b("CREATECONSUMER"),
            r.key.clone(),
            r.group.clone(),
            r.consumer.clone(),
        ]);
    }
    let mut out = Vec::new();
    if history {
        let ids: Vec<StreamId> = g
            .consumers
            .get(r.consumer)
            .map(|c| c.pel.range(start..).copied().collect())
            .unwrap_or_default();
        for id in ids {
            if count != 0 && out.len() >= count {
                break;
            }
            match s.get(id) {
                Some(it) => {
                    out.push(item_reply(it));
                    if let Some(n) = g.pel.get_mut(&id) {
                        n.delivery_time = r.now;
                        n.delivery_count += 1;
                    }
                }
                None => out.push(Reply::Array(vec![id_reply(id), Reply::NullArray])),
            }
        }
    } else {
        let items: Vec<(StreamId, Reply)> = s
            .range(start, StreamId::MAX, count, false)
            .into_iter()
            .map(|it| (it.id, item_reply(it)))
            .collect();
        let mut propagate_last = false;
        for (id, reply) in items {
            if id > g.last_id {
                s.advance_group(&mut g, id);
                if r.noack {
                    propagate_last = true;
                }
            }
            out.push(reply);
            if !r.noack {
                g.assign(id, r.consumer, r.now, 1);
                props.push(xclaim_form(
                    r.key,
                    r.group,
                    id.to_bytes(),
                    &g,
                    r.consumer,
                    r.now,
                    1,
                ));
            }
        }
        if propagate_last {
            props.push(setid_form(r.key, r.group, &g));
        }
    }
    s.groups.insert(r.group.clone(), g);
    (Reply::Array(out), props)
}

/// One stream's part of an XREAD reply.
fn stream_part(key: &Bytes, entries: Reply) -> (Reply, Reply) {
    (Reply::Bulk(key.clone()), entries)
}

/// The XREAD reply for the served streams: an array of pairs (RESP2) or a map (RESP3).
fn read_reply(proto: Protocol, parts: Vec<(Reply, Reply)>) -> Reply {
    match proto {
        Protocol::Resp2 => Reply::Array(
            parts
                .into_iter()
                .map(|(k, v)| Reply::Array(vec![k, v]))
                .collect(),
        ),
        _ => Reply::Map(parts),
    }
}

/// Whether a client blocked in XREAD / XREADGROUP on `key` (waiting for IDs greater than
/// `id`, or as `group`) is to be served now that the key changed: a group read is served
/// (with an error) also when its group or the stream is gone.
pub fn ready_for(v: Option<&Value>, id: StreamId, group: Option<&XReadGroup>) -> bool {
    match (v, group) {
        (Some(Value::Stream(s)), None) => s.last_id > id,
        (Some(Value::Stream(s)), Some(g)) => match s.groups.get(&g.group) {
            None => true,
            Some(cg) => s.last_id > cg.last_id,
        },
        (_, Some(_)) => true,
        (_, None) => false,
    }
}

/// Serves a client blocked in XREAD / XREADGROUP on `key`: its reply and the commands to
/// replicate.
pub fn serve_blocked(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    id: StreamId,
    count: usize,
    group: Option<&XReadGroup>,
) -> (CmdResult, Vec<Vec<Bytes>>) {
    let proto = ctx.client.proto;
    let now = ctx.now_ms;
    let s = match ctx.db.get_mut(key, ctx.now_ms) {
        Some(Value::Stream(s)) => s,
        _ => {
            return (
                Err(CmdError::other("UNBLOCKED the stream key no longer exists")),
                Vec::new(),
            )
        }
    };
    let Some(g) = group else {
        let start = id.incr().unwrap_or(StreamId::MIN);
        let entries = Reply::Array(
            s.range(start, StreamId::MAX, count, false)
                .into_iter()
                .map(item_reply)
                .collect(),
        );
        return (
            Ok(read_reply(proto, vec![stream_part(key, entries)])),
            Vec::new(),
        );
    };
    let Some(cg) = s.groups.get(&g.group) else {
        return (
            Err(CmdError::other(
                "NOGROUP the consumer group this client was blocked on no longer exists",
            )),
            Vec::new(),
        );
    };
    let start = cg.last_id.incr().unwrap_or(StreamId::MIN);
    let new_consumer = !cg.consumers.contains_key(&g.consumer);
    let r = GroupRead {
        key,
        group: &g.group,
        consumer: &g.consumer,
        noack: g.noack,
        now,
    };
    let (entries, props) = group_read(s, &r, start, count, false);
    if new_consumer {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    (
        Ok(read_reply(proto, vec![stream_part(key, entries)])),
        props,
    )
}

// ---------------------------------------------------------------------------------------------
// XREAD XREADGROUP

/// The argv indexes of XREAD / XREADGROUP's keys (after STREAMS, the first half).
pub fn read_key_positions(argv: &[Bytes]) -> Vec<usize> {
    let mut i = 1;
    while i < argv.len() {
        if eq_ignore_case(&argv[i], "streams") {
            let n = (argv.len() - i - 1) / 2;
            return (i + 1..i + 1 + n).collect();
        }
        i += 1;
    }
    Vec::new()
}

fn xread(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    xread_generic(ctx, argv, false)
}

fn xreadgroup(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    xread_generic(ctx, argv, true)
}

const XREAD_BLOCKED_DEFAULT_COUNT: usize = 1000;

/// XREAD [COUNT count] [BLOCK ms] STREAMS key ... id ...
/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key ... id ...
fn xread_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], is_group: bool) -> CmdResult {
    // Nothing is replicated but what the group reads list.
    propagate(ctx, Vec::new());
    let mut timeout: i64 = -1;
    let mut count: i64 = 0;
    let mut streams_arg = 0;
    let mut nstreams = 0;
    let mut noack = false;
    let mut group: Option<(Bytes, Bytes)> = None;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let o = &argv[i];
        if eq_ignore_case(o, "block") && more > 0 {
            i += 1;
            let t = arg_ll_msg(&argv[i], "ERR timeout is not an integer or out of range")?;
            if t < 0 {
                return Err(CmdError::other("ERR timeout is negative"));
            }
            timeout = t;
        } else if eq_ignore_case(o, "count") && more > 0 {
            i += 1;
            count = arg_ll(&argv[i])?.max(0);
        } else if eq_ignore_case(o, "streams") && more > 0 {
            streams_arg = i + 1;
            let n = argv.len() - streams_arg;
            if !n.is_multiple_of(2) {
                return Err(CmdError::other("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."));
            }
            nstreams = n / 2;
            break;
        } else if eq_ignore_case(o, "group") && more >= 2 {
            if !is_group {
                return Err(CmdError::other(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((argv[i + 1].clone(), argv[i + 2].clone()));
            i += 2;
        } else if eq_ignore_case(o, "noack") {
            if !is_group {
                return Err(CmdError::other(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if streams_arg == 0 {
        return Err(CmdError::Syntax);
    }
    if is_group && group.is_none() {
        return Err(CmdError::other("ERR Missing GROUP option for XREADGROUP"));
    }
    let keys = &argv[streams_arg..streams_arg + nstreams];
    let mut ids = Vec::with_capacity(nstreams);
    for (k, key) in keys.iter().enumerate() {
        let idarg = &argv[streams_arg + nstreams + k];
        let s = read_stream(ctx, key)?;
        if let Some((gname, _)) = &group {
            if s.is_none_or(|s| !s.groups.contains_key(gname)) {
                return Err(raw_err(&[
                    b"NOGROUP No such key '",
                    &q(key),
                    b"' or consumer group '",
                    &q(gname),
                    b"' in XREADGROUP with GROUP option",
                ]));
            }
        }
        if idarg.as_ref() == b"$" {
            if is_group {
                return Err(CmdError::other("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            ids.push(s.map_or(StreamId::MIN, |s| s.last_id));
            continue;
        } else if idarg.as_ref() == b">" {
            if !is_group {
                return Err(CmdError::other("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
            }
            ids.push(StreamId::MAX);
            continue;
        }
        ids.push(parse_strict_id(idarg, 0)?);
    }
    let proto = ctx.client.proto;
    let now = ctx.now_ms;
    let mut parts = Vec::new();
    let mut props = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        let gt = ids[k];
        if let Some((gname, cname)) = &group {
            let Some(s) = write_stream(ctx, key)? else {
                continue;
            };
            let Some(cg) = s.groups.get(gname) else {
                continue;
            };
            let (serve, history, start_from) = if gt != StreamId::MAX {
                (true, true, gt)
            } else if !s.is_empty() && s.last_live_id().is_some_and(|m| m > cg.last_id) {
                (true, false, cg.last_id)
            } else {
                (false, false, gt)
            };
            if !serve {
                continue;
            }
            let start = start_from.incr().unwrap_or(StreamId::MIN);
            let new_consumer = !cg.consumers.contains_key(cname);
            let r = GroupRead {
                key,
                group: gname,
                consumer: cname,
                noack,
                now,
            };
            let (entries, p) = group_read(s, &r, start, count as usize, history);
            if new_consumer {
                ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
            }
            props.extend(p);
            parts.push(stream_part(key, entries));
        } else {
            let Some(s) = read_stream(ctx, key)? else {
                continue;
            };
            if s.is_empty() || s.last_live_id().is_none_or(|m| m <= gt) {
                continue;
            }
            let start = gt.incr().unwrap_or(StreamId::MIN);
            let entries = Reply::Array(
                s.range(start, StreamId::MAX, count as usize, false)
                    .into_iter()
                    .map(item_reply)
                    .collect(),
            );
            parts.push(stream_part(key, entries));
        }
    }
    if !parts.is_empty() {
        propagate(ctx, props);
        return Ok(read_reply(proto, parts));
    }
    if timeout != -1 {
        if ctx.client.in_exec {
            return Ok(Reply::NullArray);
        }
        let deadline = if timeout == 0 {
            0
        } else {
            ctx.node
                .clock
                .mono_ms()
                .saturating_add(timeout as u64)
                .max(1)
        };
        let req = BlockedReq {
            keys: keys.iter().map(own).collect(),
            op: Op::XRead {
                ids,
                count: if count > 0 {
                    count as usize
                } else {
                    XREAD_BLOCKED_DEFAULT_COUNT
                },
                group: group.map(|(g, c)| XReadGroup {
                    group: own(&g),
                    consumer: own(&c),
                    noack,
                }),
            },
            deadline_ms: deadline,
            proto,
        };
        ctx.node.hub.ensure_channel(ctx.client);
        ctx.node.blocking.block(ctx.client.id, req);
        ctx.client.blocked = true;
        return Ok(Reply::NoReply);
    }
    Ok(Reply::NullArray)
}

// ---------------------------------------------------------------------------------------------
// XGROUP

fn xgroup(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subcmd::dispatch(ctx, argv, XGROUP_SUBCOMMANDS)
}

fn subcommand_syntax_error(argv: &[Bytes]) -> CmdError {
    let mut v = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    v.extend_from_slice(&quote_arg_bytes(&argv[1], 128));
    v.extend_from_slice(b"'. Try ");
    v.extend_from_slice(&argv[0].to_ascii_uppercase());
    v.extend_from_slice(b" HELP.");
    CmdError::Raw(Bytes::from(v))
}

/// Redis's addReplyHelp for these containers (its last line says "Prints").
fn help_reply(container: &str, lines: &[&'static str]) -> Reply {
    let mut r = subcmd::help_reply(container, lines);
    if let Reply::Array(items) = &mut r {
        if let Some(last) = items.last_mut() {
            *last = Reply::simple("    Prints this help.");
        }
    }
    r
}

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

fn xgroup_sub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opt = &argv[1];
    if argv.len() == 2 && eq_ignore_case(opt, "help") {
        propagate(ctx, Vec::new());
        return Ok(help_reply("xgroup", XGROUP_HELP));
    }
    if argv.len() < 4 {
        return Err(subcommand_syntax_error(argv));
    }
    let create = eq_ignore_case(opt, "create");
    let setid = eq_ignore_case(opt, "setid");
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < argv.len() {
        if create && eq_ignore_case(&argv[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && eq_ignore_case(&argv[i], "entriesread") && i + 1 < argv.len()
        {
            entries_read = arg_ll(&argv[i + 1])?;
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                return Err(CmdError::other(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax_error(argv));
        }
    }
    let key = &argv[2];
    let gname = &argv[3];
    let exists = check_stream(ctx, key)?;
    if !mkstream {
        if !exists {
            return Err(CmdError::other("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
        }
        let has_group = write_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(gname));
        if !has_group
            && (setid
                || eq_ignore_case(opt, "createconsumer")
                || eq_ignore_case(opt, "delconsumer"))
        {
            return Err(raw_err(&[
                b"NOGROUP No such consumer group '",
                &q(gname),
                b"' for key name '",
                &q(key),
                b"'",
            ]));
        }
    }
    let now = ctx.now_ms;
    if create && (5..=8).contains(&argv.len()) {
        let id = if argv[4].as_ref() == b"$" {
            None
        } else {
            Some(parse_strict_id(&argv[4], 0)?)
        };
        if !exists {
            ctx.db.insert(own(key), Value::Stream(Box::default()), None);
        }
        let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
        let id = id.unwrap_or(s.last_id);
        if s.groups.contains_key(gname) {
            return Err(CmdError::other(
                "BUSYGROUP Consumer Group name already exists",
            ));
        }
        s.groups.insert(own(gname), Group::new(id, entries_read));
        ctx.notify(notify::STREAM, "xgroup-create", key);
        return Ok(Reply::ok());
    }
    if setid && (argv.len() == 5 || argv.len() == 7) {
        let parsed = if argv[4].as_ref() == b"$" {
            None
        } else {
            Some(parse_id(&argv[4], 0)?)
        };
        let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
        let id = parsed.unwrap_or(s.last_id);
        if let Some(g) = s.groups.get_mut(gname) {
            g.last_id = id;
            g.entries_read = entries_read;
        }
        ctx.notify(notify::STREAM, "xgroup-setid", key);
        return Ok(Reply::ok());
    }
    if eq_ignore_case(opt, "destroy") && argv.len() == 4 {
        let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
        let removed = s.groups.remove(gname).is_some();
        if !removed {
            propagate(ctx, Vec::new());
        } else {
            ctx.notify(notify::STREAM, "xgroup-destroy", key);
        }
        return Ok(Reply::Integer(removed as i64));
    }
    if eq_ignore_case(opt, "createconsumer") && argv.len() == 5 {
        let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
        let created = match s.groups.get_mut(gname) {
            Some(g) if !g.consumers.contains_key(&argv[4]) => {
                g.consumers.insert(
                    own(&argv[4]),
                    crate::db::stream::Consumer {
                        seen_time: now,
                        pel: Default::default(),
                    },
                );
                true
            }
            _ => false,
        };
        if !created {
            propagate(ctx, Vec::new());
        } else {
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        }
        return Ok(Reply::Integer(created as i64));
    }
    if eq_ignore_case(opt, "delconsumer") && argv.len() == 5 {
        let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
        let pending = s
            .groups
            .get_mut(gname)
            .and_then(|g| g.delete_consumer(&argv[4]));
        if pending.is_none() {
            propagate(ctx, Vec::new());
        } else {
            ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
        }
        return Ok(Reply::Integer(pending.unwrap_or(0) as i64));
    }
    Err(subcommand_syntax_error(argv))
}

// ---------------------------------------------------------------------------------------------
// XSETID XACK XPENDING

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
fn xsetid(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let id = parse_strict_id(&argv[2], 0)?;
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if eq_ignore_case(&argv[i], "entriesadded") && more > 0 {
            entries_added = arg_ll(&argv[i + 1])?;
            if entries_added < 0 {
                return Err(CmdError::other("ERR entries_added must be positive"));
            }
            i += 2;
        } else if eq_ignore_case(&argv[i], "maxdeletedid") && more > 0 {
            max_xdel = parse_strict_id(&argv[i + 1], 0)?;
            if id < max_xdel {
                return Err(CmdError::other("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let s = write_stream(ctx, &argv[1])?.ok_or(CmdError::NoSuchKey)?;
    if !s.is_empty() {
        if s.last_live_id().is_some_and(|m| id < m) {
            return Err(CmdError::other(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return Err(CmdError::other("ERR The entries_added specified in XSETID is smaller than the target stream length"));
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_id = max_xdel;
    }
    ctx.notify(notify::STREAM, "xsetid", &argv[1]);
    Ok(Reply::ok())
}

/// XACK key group id [id ...]
fn xack(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let has_group = read_stream(ctx, &argv[1])?.is_some_and(|s| s.groups.contains_key(&argv[2]));
    if !has_group {
        propagate(ctx, Vec::new());
        return Ok(Reply::Integer(0));
    }
    let ids = argv[3..]
        .iter()
        .map(|a| parse_strict_id(a, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let s = write_stream(ctx, &argv[1])?.ok_or(CmdError::NoSuchKey)?;
    let mut acked = 0;
    if let Some(g) = s.groups.get_mut(&argv[2]) {
        for id in ids {
            if g.remove_nack(id).is_some() {
                acked += 1;
            }
        }
    }
    if acked == 0 {
        propagate(ctx, Vec::new());
    }
    Ok(Reply::Integer(acked))
}

fn nogroup_key(key: &[u8], group: &[u8]) -> CmdError {
    raw_err(&[
        b"NOGROUP No such key '",
        &q(key),
        b"' or consumer group '",
        &q(group),
        b"'",
    ])
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]
fn xpending(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let argc = argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    let mut minidle: i64 = 0;
    let mut consumer: Option<&Bytes> = None;
    if argc >= 6 {
        let mut startidx = 3;
        if eq_ignore_case(&argv[3], "idle") {
            minidle = arg_ll(&argv[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            startidx += 2;
        }
        let count = arg_ll(&argv[startidx + 2])?.max(0);
        let start = parse_start(&argv[startidx])?;
        let end = parse_end(&argv[startidx + 1])?;
        if startidx + 3 < argc {
            consumer = Some(&argv[startidx + 3]);
        }
        range = Some((start, end, count));
    }
    let now = ctx.now_ms;
    let s = read_stream(ctx, &argv[1])?;
    let Some(g) = s.and_then(|s| s.groups.get(&argv[2])) else {
        return Err(nogroup_key(&argv[1], &argv[2]));
    };
    let Some((start, end, mut count)) = range else {
        if g.pel.is_empty() {
            return Ok(Reply::Array(vec![
                Reply::Integer(0),
                Reply::Null,
                Reply::Null,
                Reply::NullArray,
            ]));
        }
        let first = g.pel.keys().next().copied().unwrap_or_default();
        let last = g.pel.keys().next_back().copied().unwrap_or_default();
        let consumers = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(n, c)| Reply::Array(vec![Reply::Bulk(n.clone()), Reply::Bulk(num(c.pel.len()))]))
            .collect();
        return Ok(Reply::Array(vec![
            Reply::Integer(g.pel.len() as i64),
            id_reply(first),
            id_reply(last),
            Reply::Array(consumers),
        ]));
    };
    let ids: Vec<StreamId> = match consumer {
        Some(c) => match g.consumers.get(c) {
            None => return Ok(Reply::Array(Vec::new())),
            Some(c) => c.pel.iter().copied().collect(),
        },
        None => g.pel.keys().copied().collect(),
    };
    let mut out = Vec::new();
    for id in ids.into_iter().filter(|id| *id >= start) {
        if count == 0 || id > end {
            break;
        }
        let Some(n) = g.pel.get(&id) else { continue };
        let idle = now as i64 - n.delivery_time as i64;
        if minidle != 0 && idle < minidle {
            continue;
        }
        count -= 1;
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::Bulk(n.consumer.clone()),
            Reply::Integer(idle.max(0)),
            Reply::Integer(n.delivery_count as i64),
        ]));
    }
    Ok(Reply::Array(out))
}

// ---------------------------------------------------------------------------------------------
// XCLAIM XAUTOCLAIM

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms] [RETRYCOUNT n]
/// [FORCE] [JUSTID] [LASTID id]
fn xclaim(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let gname = &argv[2];
    let has_group = read_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(gname));
    if !has_group {
        return Err(nogroup_key(key, gname));
    }
    let minidle = arg_ll_msg(&argv[4], "ERR Invalid min-idle-time argument for XCLAIM")?.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_strict_id(&argv[j], 0) {
            Ok(id) => ids.push((id, argv[j].clone())),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now_ms as i64;
    let mut deliverytime: i64 = -1;
    let mut retrycount: i64 = -1;
    let mut force = false;
    let mut justid = false;
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = &argv[j];
        if eq_ignore_case(opt, "force") {
            force = true;
        } else if eq_ignore_case(opt, "justid") {
            justid = true;
        } else if eq_ignore_case(opt, "idle") && more > 0 {
            j += 1;
            let v = arg_ll_msg(&argv[j], "ERR Invalid IDLE option argument for XCLAIM")?;
            deliverytime = now.wrapping_sub(v);
        } else if eq_ignore_case(opt, "time") && more > 0 {
            j += 1;
            deliverytime = arg_ll_msg(&argv[j], "ERR Invalid TIME option argument for XCLAIM")?;
        } else if eq_ignore_case(opt, "retrycount") && more > 0 {
            j += 1;
            retrycount = arg_ll_msg(
                &argv[j],
                "ERR Invalid RETRYCOUNT option argument for XCLAIM",
            )?;
        } else if eq_ignore_case(opt, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(&argv[j], 0)?;
        } else {
            return Err(raw_err(&[
                b"ERR Unrecognized XCLAIM option '",
                &q(opt),
                b"'",
            ]));
        }
        j += 1;
    }
    if deliverytime == -1 || deliverytime < 0 || deliverytime > now {
        deliverytime = now;
    }
    let deliverytime = deliverytime as u64;
    let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
    let Some(mut g) = s.groups.remove(gname) else {
        return Err(nogroup_key(key, gname));
    };
    let mut propagate_last = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        propagate_last = true;
    }
    let cname = &argv[3];
    let mut consumer_ready = false;
    let mut consumer_created = false;
    let mut out = Vec::new();
    let mut props = Vec::new();
    for (id, idarg) in ids {
        let exists = s.contains(id);
        if !exists {
            if let Some(n) = g.pel.get(&id).cloned() {
                props.push(xclaim_form(
                    key,
                    gname,
                    idarg.clone(),
                    &g,
                    &n.consumer,
                    n.delivery_time,
                    n.delivery_count,
                ));
                propagate_last = false;
                g.remove_nack(id);
            }
            continue;
        }
        let mut fresh = false;
        if force && !g.pel.contains_key(&id) {
            fresh = true;
        }
        let Some(n) = g.pel.get(&id).cloned().or_else(|| {
            fresh.then(|| crate::db::stream::Nack {
                delivery_time: now as u64,
                delivery_count: 1,
                consumer: Bytes::new(),
            })
        }) else {
            continue;
        };
        if !fresh && minidle != 0 && now - (n.delivery_time as i64) < minidle {
            continue;
        }
        if !consumer_ready {
            consumer_created = touch_consumer(&mut g, cname, now as u64);
            consumer_ready = true;
        }
        let count = if retrycount >= 0 {
            retrycount as u64
        } else if !justid {
            n.delivery_count + 1
        } else {
            n.delivery_count
        };
        g.assign(id, cname, deliverytime, count);
        if justid {
            out.push(id_reply(id));
        } else if let Some(it) = s.get(id) {
            out.push(item_reply(it));
        }
        props.push(xclaim_form(
            key,
            gname,
            idarg,
            &g,
            cname,
            deliverytime,
            count,
        ));
        propagate_last = false;
    }
    if propagate_last {
        props.push(setid_form(key, gname, &g));
    }
    s.groups.insert(gname.clone(), g);
    propagate(ctx, props);
    if consumer_created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    Ok(Reply::Array(out))
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
fn xautoclaim(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let gname = &argv[2];
    let minidle = arg_ll_msg(
        &argv[4],
        "ERR Invalid min-idle-time argument for XAUTOCLAIM",
    )?
    .max(0);
    let start = parse_start(&argv[5])?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if eq_ignore_case(&argv[j], "count") && more > 0 {
            let max_count = i64::MAX / 16;
            count = match parse_i64(&argv[j + 1]) {
                Some(v) if (1..=max_count).contains(&v) => v,
                _ => return Err(CmdError::other("ERR COUNT must be > 0")),
            };
            j += 1;
        } else if eq_ignore_case(&argv[j], "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let has_group = read_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(gname));
    if !has_group {
        return Err(nogroup_key(key, gname));
    }
    let now = ctx.now_ms;
    let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
    let Some(mut g) = s.groups.remove(gname) else {
        return Err(nogroup_key(key, gname));
    };
    let cname = &argv[3];
    let ids: Vec<StreamId> = g.pel.range(start..).map(|(k, _)| *k).collect();
    let mut attempts = count.saturating_mul(10);
    let mut consumer_ready = false;
    let mut consumer_created = false;
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut props = Vec::new();
    let mut next = 0;
    while next < ids.len() {
        if attempts == 0 || count == 0 {
            break;
        }
        attempts -= 1;
        let id = ids[next];
        next += 1;
        let Some(n) = g.pel.get(&id).cloned() else {
            continue;
        };
        if !s.contains(id) {
            props.push(xclaim_form(
                key,
                gname,
                id.to_bytes(),
                &g,
                &n.consumer,
                n.delivery_time,
                n.delivery_count,
            ));
            g.remove_nack(id);
            deleted.push(id_reply(id));
            count -= 1;
            continue;
        }
        if minidle != 0 && (now as i64 - n.delivery_time as i64) < minidle {
            continue;
        }
        if !consumer_ready {
            consumer_created = touch_consumer(&mut g, cname, now);
            consumer_ready = true;
        }
        let dc = if justid {
            n.delivery_count
        } else {
            n.delivery_count + 1
        };
        g.assign(id, cname, now, dc);
        if justid {
            claimed.push(id_reply(id));
        } else if let Some(it) = s.get(id) {
            claimed.push(item_reply(it));
        }
        count -= 1;
        props.push(xclaim_form(key, gname, id.to_bytes(), &g, cname, now, dc));
    }
    let cursor = ids.get(next).copied().unwrap_or(StreamId::MIN);
    s.groups.insert(gname.clone(), g);
    propagate(ctx, props);
    if consumer_created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    Ok(Reply::Array(vec![
        id_reply(cursor),
        Reply::Array(claimed),
        Reply::Array(deleted),
    ]))
}

// ---------------------------------------------------------------------------------------------
// XINFO

fn xinfo(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subcmd::dispatch(ctx, argv, XINFO_SUBCOMMANDS)
}

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

fn s_(t: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(t.as_bytes()))
}

fn opt_int(v: i64) -> Reply {
    if v == INVALID_ENTRIES_READ {
        Reply::Null
    } else {
        Reply::Integer(v)
    }
}

fn xinfo_sub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opt = &argv[1];
    if eq_ignore_case(opt, "help") {
        if argv.len() != 2 {
            return Err(subcommand_syntax_error(argv));
        }
        return Ok(help_reply("xinfo", XINFO_HELP));
    }
    if argv.len() < 3 {
        return Err(subcommand_syntax_error(argv));
    }
    let key = &argv[2];
    let now = ctx.now_ms;
    let Some(s) = read_stream(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if eq_ignore_case(opt, "consumers") && argv.len() == 4 {
        let Some(g) = s.groups.get(&argv[3]) else {
            return Err(raw_err(&[
                b"NOGROUP No such consumer group '",
                &q(&argv[3]),
                b"' for key name '",
                &q(key),
                b"'",
            ]));
        };
        return Ok(Reply::Array(
            g.consumers
                .iter()
                .map(|(n, c)| {
                    Reply::Map(vec![
                        (s_("name"), Reply::Bulk(n.clone())),
                        (s_("pending"), Reply::Integer(c.pel.len() as i64)),
                        (
                            s_("idle"),
                            Reply::Integer((now as i64 - c.seen_time as i64).max(0)),
                        ),
                    ])
                })
                .collect(),
        ));
    }
    if eq_ignore_case(opt, "groups") && argv.len() == 3 {
        return Ok(Reply::Array(
            s.groups
                .iter()
                .map(|(n, g)| {
                    Reply::Map(vec![
                        (s_("name"), Reply::Bulk(n.clone())),
                        (s_("consumers"), Reply::Integer(g.consumers.len() as i64)),
                        (s_("pending"), Reply::Integer(g.pel.len() as i64)),
                        (s_("last-delivered-id"), id_reply(g.last_id)),
                        (s_("entries-read"), opt_int(g.entries_read)),
                        (
                            s_("lag"),
                            s.group_lag(g).map_or(Reply::Null, Reply::Integer),
                        ),
                    ])
                })
                .collect(),
        ));
    }
    if eq_ignore_case(opt, "stream") {
        return stream_info(s, argv);
    }
    Err(subcommand_syntax_error(argv))
}

fn stream_info(s: &Stream, argv: &[Bytes]) -> CmdResult {
    let optv = &argv[3..];
    let mut full = true;
    let mut count: i64 = 10;
    if optv.is_empty() {
        full = false;
    } else {
        if optv.len() != 1 && optv.len() != 3 {
            return Err(subcommand_syntax_error(argv));
        }
        if !eq_ignore_case(&optv[0], "full") {
            return Err(subcommand_syntax_error(argv));
        }
        if optv.len() == 3 {
            if !eq_ignore_case(&optv[1], "count") {
                return Err(subcommand_syntax_error(argv));
            }
            count = arg_ll(&optv[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let mut m = vec![
        (s_("length"), Reply::Integer(s.len() as i64)),
        (s_("radix-tree-keys"), Reply::Integer(s.node_count() as i64)),
        (s_("radix-tree-nodes"), Reply::Integer(s.rax_nodes() as i64)),
        (s_("last-generated-id"), id_reply(s.last_id)),
        (s_("max-deleted-entry-id"), id_reply(s.max_deleted_id)),
        (s_("entries-added"), Reply::Integer(s.entries_added as i64)),
        (s_("recorded-first-entry-id"), id_reply(s.first_id)),
    ];
    if !full {
        m.push((s_("groups"), Reply::Integer(s.groups.len() as i64)));
        let first = s.range(StreamId::MIN, StreamId::MAX, 1, false);
        let last = s.range(StreamId::MIN, StreamId::MAX, 1, true);
        m.push((
            s_("first-entry"),
            first.first().map_or(Reply::Null, |i| item_reply(i)),
        ));
        m.push((
            s_("last-entry"),
            last.first().map_or(Reply::Null, |i| item_reply(i)),
        ));
        return Ok(Reply::Map(m));
    }
    let n = count as usize;
    m.push((
        s_("entries"),
        Reply::Array(
            s.range(StreamId::MIN, StreamId::MAX, n, false)
                .into_iter()
                .map(item_reply)
                .collect(),
        ),
    ));
    let take = |len: usize| if n == 0 { len } else { n.min(len) };
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| {
            let pel = g
                .pel
                .iter()
                .take(take(g.pel.len()))
                .map(|(id, nk)| {
                    Reply::Array(vec![
                        id_reply(*id),
                        Reply::Bulk(nk.consumer.clone()),
                        Reply::Integer(nk.delivery_time as i64),
                        Reply::Integer(nk.delivery_count as i64),
                    ])
                })
                .collect();
            let consumers = g
                .consumers
                .iter()
                .map(|(cn, c)| {
                    let cpel = c
                        .pel
                        .iter()
                        .take(take(c.pel.len()))
                        .map(|id| {
                            let nk = g.pel.get(id);
                            Reply::Array(vec![
                                id_reply(*id),
                                Reply::Integer(nk.map_or(0, |x| x.delivery_time as i64)),
                                Reply::Integer(nk.map_or(0, |x| x.delivery_count as i64)),
                            ])
                        })
                        .collect();
                    Reply::Map(vec![
                        (s_("name"), Reply::Bulk(cn.clone())),
                        (s_("seen-time"), Reply::Integer(c.seen_time as i64)),
                        (s_("pel-count"), Reply::Integer(c.pel.len() as i64)),
                        (s_("pending"), Reply::Array(cpel)),
                    ])
                })
                .collect();
            Reply::Map(vec![
                (s_("name"), Reply::Bulk(name.clone())),
                (s_("last-delivered-id"), id_reply(g.last_id)),
                (s_("entries-read"), opt_int(g.entries_read)),
                (
                    s_("lag"),
                    s.group_lag(g).map_or(Reply::Null, Reply::Integer),
                ),
                (s_("pel-count"), Reply::Integer(g.pel.len() as i64)),
                (s_("pending"), Reply::Array(pel)),
                (s_("consumers"), Reply::Array(consumers)),
            ])
        })
        .collect();
    m.push((s_("groups"), Reply::Array(groups)));
    Ok(Reply::Map(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_redis() {
        assert_eq!(parse_id(b"5", 7), Ok(StreamId::new(5, 7)));
        assert_eq!(parse_id(b"-", 0), Ok(StreamId::MIN));
        assert!(parse_strict_id(b"+", 0).is_err());
        assert_eq!(parse_id(b"01-2", 0), Ok(StreamId::new(1, 2)));
        assert_eq!(parse_id(b"1--0", 0), Ok(StreamId::new(1, 0)));
        assert!(parse_id(b"1--1", 0).is_err());
        assert!(parse_id(b"", 0).is_err());
        assert!(parse_id(b"a-1", 0).is_err());
        assert_eq!(
            parse_id_full(b"3-*", 0, true, true),
            Ok((StreamId::new(3, 0), false))
        );
        assert!(parse_id(b"3-*", 0).is_err());
        assert_eq!(
            parse_id(b"18446744073709551615-18446744073709551615", 0),
            Ok(StreamId::MAX)
        );
        assert!(parse_id(b"18446744073709551616", 0).is_err());
    }
}

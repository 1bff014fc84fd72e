//! Blocking pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BZPOPMIN BZPOPMAX (BLMPOP and BZMPOP, which
//! parse their arguments in `mpop`, block here too).
//!
//! When one of the keys has data the command acts at once like its non-blocking form (and is
//! replicated as that form: BLPOP as LPOP, BLMOVE as LMOVE, BZPOPMIN as ZPOPMIN, BLMPOP as
//! `LPOP key n`, BZMPOP as `ZPOPMIN key n`). Otherwise the
//! handler records a [`BlockedReq`] in [`Blocking`] (per key, a FIFO of waiting clients), sets
//! `client.blocked` and answers nothing; the connection then waits on its push channel.
//!
//! Wake-ups: after every write command the dispatcher signals each of its keys that has waiters
//! ([`Blocking::signal`]); at the end of the top-level command (after EXEC as a whole, as Redis)
//! it serves the ready keys: for each, the clients blocked on it in the order they blocked, as
//! long as the key holds a value of the type they wait for. Serving runs the non-blocking form
//! on behalf of the waiter, replicates it, and sends the reply through the waiter's channel.
//! Timeouts, MOVED and CLUSTERDOWN are found by the waiting connection itself (a check every
//! 100 ms, as Redis's clientsCron does), see `Node::blocked_tick`.
//!
//! Inside MULTI (and anywhere a client may not block) an empty key answers the timeout reply at
//! once.

use super::keys::expire_key;
use super::{flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::Value;
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};

const fn spec(
    name: &'static str,
    arity: i32,
    extra_flags: u32,
    keys: KeySpec,
    group: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        // Redis's table adds `fast` (BZPOPMIN / BZPOPMAX) or `denyoom` (BLMOVE, BRPOPLPUSH).
        flags: flags::WRITE | flags::BLOCKING | extra_flags,
        keys,
        group,
        summary,
        handler,
    }
}

/// Every argument but the name and the trailing timeout.
const ALL_BUT_LAST: KeySpec = KeySpec {
    first: 1,
    last: -2,
    step: 1,
};

const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "blpop",
        -3,
        0,
        ALL_BUT_LAST,
        "list",
        "Remove and get the first element in a list, or block until one is available",
        blpop,
    ),
    spec(
        "brpop",
        -3,
        0,
        ALL_BUT_LAST,
        "list",
        "Remove and get the last element in a list, or block until one is available",
        brpop,
    ),
    spec(
        "blmove",
        6,
        flags::DENYOOM,
        TWO_KEYS,
        "list",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        blmove,
    ),
    spec(
        "brpoplpush",
        4,
        flags::DENYOOM,
        TWO_KEYS,
        "list",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        brpoplpush,
    ),
    spec(
        "bzpopmin",
        -3,
        flags::FAST,
        ALL_BUT_LAST,
        "sorted-set",
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        bzpopmin,
    ),
    spec(
        "bzpopmax",
        -3,
        flags::FAST,
        ALL_BUT_LAST,
        "sorted-set",
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        bzpopmax,
    ),
];

/// What a blocked client will do with the first key that gets data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// BLPOP (left) / BRPOP; BLMPOP with a count (its nested reply).
    Pop { left: bool, count: Option<usize> },
    /// BLMOVE / BRPOPLPUSH into `dst`.
    Move {
        dst: Bytes,
        from_left: bool,
        to_left: bool,
    },
    /// BZPOPMIN / BZPOPMAX; BZMPOP with a count (its nested reply).
    ZPop { max: bool, count: Option<usize> },
    /// XREAD / XREADGROUP: for each key (in `BlockedReq::keys` order) the ID entries must be
    /// greater than (ignored for a group, which reads past its last-delivered ID).
    XRead {
        ids: Vec<crate::db::stream::StreamId>,
        count: usize,
        group: Option<XReadGroup>,
    },
}

/// The group part of a blocked XREADGROUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XReadGroup {
    pub group: Bytes,
    pub consumer: Bytes,
    pub noack: bool,
}

impl Op {
    /// Whether the value now at `key` (one of `keys`) serves the operation.
    fn wants(&self, keys: &[Bytes], key: &[u8], v: Option<&Value>) -> bool {
        match self {
            Op::Pop { .. } | Op::Move { .. } => matches!(v, Some(Value::List(_))),
            Op::ZPop { .. } => matches!(v, Some(Value::ZSet(_))),
            Op::XRead { ids, group, .. } => {
                let Some(at) = keys.iter().position(|k| k == key) else {
                    return false;
                };
                let id = ids.get(at).copied().unwrap_or_default();
                super::streams::ready_for(v, id, group.as_ref())
            }
        }
    }

    /// The reply when the timeout passes: a null array for every kind, as Redis's
    /// replyToBlockedClientTimedOut.
    pub fn timeout_reply(&self) -> Reply {
        Reply::NullArray
    }

    /// The reply when the client may not block (inside MULTI): BLMOVE answers a null bulk.
    fn no_block_reply(&self) -> Reply {
        match self {
            Op::Move { .. } => Reply::Null,
            _ => Reply::NullArray,
        }
    }
}

/// A client waiting in a blocking command.
#[derive(Debug, Clone)]
pub struct BlockedReq {
    pub keys: Vec<Bytes>,
    pub op: Op,
    /// Node monotonic ms when it times out; 0: never.
    pub deadline_ms: u64,
    pub proto: Protocol,
}

/// Every blocked client, by key and by client.
#[derive(Debug, Default)]
pub struct Blocking {
    by_key: HashMap<Bytes, VecDeque<u64>>,
    by_client: HashMap<u64, BlockedReq>,
    /// Keys that got data while clients wait on them, in signal order.
    ready: VecDeque<Bytes>,
}

impl Blocking {
    pub fn is_empty(&self) -> bool {
        self.by_client.is_empty()
    }

    /// Number of blocked clients.
    pub fn len(&self) -> usize {
        self.by_client.len()
    }

    pub fn get(&self, id: u64) -> Option<&BlockedReq> {
        self.by_client.get(&id)
    }

    /// Records a blocked client.
    pub fn block(&mut self, id: u64, req: BlockedReq) {
        for k in &req.keys {
            let q = self.by_key.entry(k.clone()).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        self.by_client.insert(id, req);
    }

    /// Removes a blocked client from every queue; its request, if it was blocked.
    pub fn unblock(&mut self, id: u64) -> Option<BlockedReq> {
        let req = self.by_client.remove(&id)?;
        for k in &req.keys {
            if let Some(q) = self.by_key.get_mut(k) {
                q.retain(|&c| c != id);
                if q.is_empty() {
                    self.by_key.remove(k);
                }
            }
        }
        Some(req)
    }

    /// A key was written: remember it for serving if clients wait on it.
    pub fn signal(&mut self, key: &[u8]) {
        if let Some((k, _)) = self.by_key.get_key_value(key) {
            if !self.ready.iter().any(|r| r == k) {
                self.ready.push_back(k.clone());
            }
        }
    }

    /// Every key with waiters is ready (FLUSHALL / FLUSHDB: blocked XREADGROUP clients are
    /// then released with an error, as Redis's scanDatabaseForDeletedStreams), in key order.
    pub fn signal_all(&mut self) {
        let mut keys: Vec<Bytes> = self.by_key.keys().cloned().collect();
        keys.sort();
        for k in keys {
            self.signal(&k);
        }
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    pub fn pop_ready(&mut self) -> Option<Bytes> {
        self.ready.pop_front()
    }

    /// The first client blocked on `key` whose operation the value now there (None: the key
    /// is gone) serves.
    pub fn first_waiter(&self, key: &[u8], v: Option<&Value>) -> Option<u64> {
        self.by_key.get(key)?.iter().copied().find(|id| {
            self.by_client
                .get(id)
                .is_some_and(|r| r.op.wants(&r.keys, key, v))
        })
    }
}

/// Parses a timeout in seconds (a float; 0 blocks forever) into a monotonic deadline (0 for
/// never), with Redis's errors.
pub fn parse_timeout(arg: &[u8], now_mono_ms: u64) -> Result<u64, CmdError> {
    let bad = || CmdError::other("ERR timeout is not a float or out of range");
    let s = std::str::from_utf8(arg).map_err(|_| bad())?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(bad());
    }
    let v: f64 = s.parse().map_err(|_| bad())?;
    if v.is_nan() {
        return Err(bad());
    }
    let ms = v * 1000.0;
    // C's (long long) conversion of an out-of-range value gives LLONG_MIN on the platforms
    // Redis runs on: "negative".
    if !(0.0..9.223_372_036_854_776e18).contains(&ms) {
        return Err(CmdError::other("ERR timeout is negative"));
    }
    let ms = ms as i64;
    if ms == 0 {
        return Ok(0);
    }
    Ok(now_mono_ms.saturating_add(ms as u64).max(1))
}

/// Runs the non-blocking form of `op` on `key` (known to hold a value `op` wants) for the
/// client in `ctx`. Returns the blocking command's reply and the commands to replicate.
pub fn serve(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    keys: &[Bytes],
    op: &Op,
) -> (CmdResult, Vec<Vec<Bytes>>) {
    if let Op::XRead { ids, count, group } = op {
        let at = keys.iter().position(|k| k == key).unwrap_or(0);
        let id = ids.get(at).copied().unwrap_or_default();
        return super::streams::serve_blocked(ctx, key, id, *count, group.as_ref());
    }
    let (r, argv) = serve_list_zset(ctx, key, op);
    (r, vec![argv])
}

fn serve_list_zset(ctx: &mut Ctx<'_>, key: &Bytes, op: &Op) -> (CmdResult, Vec<Bytes>) {
    let run = |ctx: &mut Ctx<'_>, argv: &[Bytes]| -> CmdResult {
        match super::lookup(&argv[0]) {
            Some(spec) => (spec.handler)(ctx, argv),
            None => Err(CmdError::other("ERR internal: missing command")),
        }
    };
    match op {
        Op::Pop {
            left,
            count: Some(count),
        } => {
            let (reply, rewrite) = super::mpop::pop_list(ctx, key, *left, *count);
            (Ok(reply), rewrite)
        }
        Op::ZPop {
            max,
            count: Some(count),
        } => {
            let (reply, rewrite) = super::mpop::pop_zset(ctx, key, !*max, *count);
            (Ok(reply), rewrite)
        }
        Op::Pop { left, count: None } => {
            let name = if *left { "LPOP" } else { "RPOP" };
            let argv = vec![Bytes::from_static(name.as_bytes()), key.clone()];
            let r = run(ctx, &argv).map(|v| Reply::Array(vec![Reply::Bulk(key.clone()), v]));
            (r, argv)
        }
        Op::Move {
            dst,
            from_left,
            to_left,
        } => {
            let side = |left: bool| Bytes::from_static(if left { b"LEFT" } else { b"RIGHT" });
            let argv = vec![
                Bytes::from_static(b"LMOVE"),
                key.clone(),
                dst.clone(),
                side(*from_left),
                side(*to_left),
            ];
            let r = run(ctx, &argv);
            (r, argv)
        }
        Op::ZPop { max, count: None } => {
            let name = if *max { "ZPOPMAX" } else { "ZPOPMIN" };
            let argv = vec![Bytes::from_static(name.as_bytes()), key.clone()];
            let r = run(ctx, &argv).map(|v| match v {
                Reply::Array(mut items) => {
                    items.insert(0, Reply::Bulk(key.clone()));
                    Reply::Array(items)
                }
                other => other,
            });
            (r, argv)
        }
        Op::XRead { .. } => (Err(CmdError::other("ERR internal: not a pop")), Vec::new()),
    }
}

/// The shared body: serve now from the first key with data, or block. The timeout is parsed
/// first (after the caller's own arguments), as Redis does.
pub fn pop_or_block(ctx: &mut Ctx<'_>, keys: &[Bytes], timeout: &[u8], op: Op) -> CmdResult {
    let deadline = parse_timeout(timeout, ctx.node.clock.mono_ms())?;
    for key in keys {
        expire_key(ctx, key);
        let Some(entry) = ctx.db.get(key, ctx.now_ms) else {
            continue;
        };
        if !op.wants(keys, key, Some(&entry.value)) {
            return Err(CmdError::WrongType);
        }
        let (reply, rewrite) = serve_list_zset(ctx, key, &op);
        if reply.is_ok() {
            ctx.client.rewrite = Some(rewrite);
        }
        return reply;
    }
    if ctx.client.in_exec {
        // Nothing popped: nothing to replicate.
        ctx.client.rewrite = Some(Vec::new());
        return Ok(op.no_block_reply());
    }
    let req = BlockedReq {
        keys: keys.iter().map(crate::db::value::own).collect(),
        op,
        deadline_ms: deadline,
        proto: ctx.client.proto,
    };
    ctx.node.hub.ensure_channel(ctx.client);
    ctx.node.blocking.block(ctx.client.id, req);
    ctx.client.blocked = true;
    Ok(Reply::NoReply)
}

fn pop_keys(argv: &[Bytes]) -> (&[Bytes], &[u8]) {
    (&argv[1..argv.len() - 1], &argv[argv.len() - 1])
}

/// BLPOP key [key ...] timeout
fn blpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (keys, timeout) = pop_keys(argv);
    pop_or_block(
        ctx,
        keys,
        timeout,
        Op::Pop {
            left: true,
            count: None,
        },
    )
}

/// BRPOP key [key ...] timeout
fn brpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (keys, timeout) = pop_keys(argv);
    pop_or_block(
        ctx,
        keys,
        timeout,
        Op::Pop {
            left: false,
            count: None,
        },
    )
}

/// BZPOPMIN key [key ...] timeout
fn bzpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (keys, timeout) = pop_keys(argv);
    pop_or_block(
        ctx,
        keys,
        timeout,
        Op::ZPop {
            max: false,
            count: None,
        },
    )
}

/// BZPOPMAX key [key ...] timeout
fn bzpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (keys, timeout) = pop_keys(argv);
    pop_or_block(
        ctx,
        keys,
        timeout,
        Op::ZPop {
            max: true,
            count: None,
        },
    )
}

fn parse_side(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let from_left = parse_side(&argv[3])?;
    let to_left = parse_side(&argv[4])?;
    let op = Op::Move {
        dst: crate::db::value::own(&argv[2]),
        from_left,
        to_left,
    };
    pop_or_block(ctx, &argv[1..2], &argv[5], op)
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let op = Op::Move {
        dst: crate::db::value::own(&argv[2]),
        from_left: false,
        to_left: true,
    };
    pop_or_block(ctx, &argv[1..2], &argv[3], op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_redis() {
        assert_eq!(parse_timeout(b"0", 100), Ok(0));
        assert_eq!(parse_timeout(b"1.5", 100), Ok(1600));
        assert_eq!(parse_timeout(b"0.0001", 100), Ok(0));
        assert_eq!(
            parse_timeout(b"-1", 100),
            Err(CmdError::other("ERR timeout is negative"))
        );
        assert_eq!(
            parse_timeout(b"abc", 100),
            Err(CmdError::other(
                "ERR timeout is not a float or out of range"
            ))
        );
        assert_eq!(
            parse_timeout(b" 1", 100),
            Err(CmdError::other(
                "ERR timeout is not a float or out of range"
            ))
        );
    }
}

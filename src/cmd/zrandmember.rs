//! ZRANDMEMBER key [count [WITHSCORES]]: random members of a sorted set.
//!
//! Arguments are checked in Redis's order (count, then the WITHSCORES word, then the WITHSCORES
//! range limit) before the key is looked up. A positive count picks distinct members (all of
//! them when count >= size), a negative one picks |count| members with repetition. Randomness
//! comes from the node's seeded RNG, so which members are picked differs from redis-server;
//! the shapes and errors do not.

use super::keys::lookup_read;
use super::{arg_i64, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::value::ZSet;
use crate::db::Value;
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use rand::Rng;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "zrandmember",
    arity: -2,
    flags: flags::READONLY,
    keys: KeySpec::FIRST,
    group: "sorted-set",
    summary: "Get one or multiple random elements from a sorted set",
    handler: zrandmember,
}];

/// The sorted set at `key` (hit/miss counted), None when missing, WRONGTYPE for another type.
fn read<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c ZSet>, CmdError> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

fn zrandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let proto = ctx.proto();
    if argv.len() == 2 {
        let Some(len) = read(ctx, &argv[1])?.map(|z| z.len()) else {
            return Ok(Reply::Null);
        };
        let i = ctx.node.rng.gen_range(0..len);
        let z = read_again(ctx, &argv[1]);
        return Ok(z
            .and_then(|z| z.get_index(i))
            .map_or(Reply::Null, |(m, _)| Reply::Bulk(m.clone())));
    }
    let l = arg_i64(&argv[2])?;
    if l == i64::MIN {
        return Err(CmdError::other(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match argv.len() {
        3 => false,
        4 if super::eq_ignore_case(&argv[3], "withscores") => {
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
                return Err(CmdError::other("ERR value is out of range"));
            }
            true
        }
        _ => return Err(CmdError::Syntax),
    };
    let Some(len) = read(ctx, &argv[1])?.map(|z| z.len()) else {
        return Ok(Reply::Array(Vec::new()));
    };
    if l == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let picks = super::pick::positions(&mut ctx.node.rng, len, l);
    let Some(z) = read_again(ctx, &argv[1]) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let mut out = Vec::with_capacity(picks.len() * if withscores { 2 } else { 1 });
    for i in picks {
        let Some((m, s)) = z.get_index(i) else {
            continue;
        };
        if !withscores {
            out.push(Reply::Bulk(m.clone()));
        } else if proto == Protocol::Resp3 {
            out.push(Reply::Array(vec![Reply::Bulk(m.clone()), Reply::Double(s)]));
        } else {
            out.push(Reply::Bulk(m.clone()));
            out.push(Reply::Double(s));
        }
    }
    Ok(Reply::Array(out))
}

/// The sorted set again after a first (counted) lookup, without counting another hit.
fn read_again<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c ZSet> {
    match ctx.db.get(key, ctx.now_ms) {
        Some(e) => match &e.value {
            Value::ZSet(z) => Some(z),
            _ => None,
        },
        None => None,
    }
}

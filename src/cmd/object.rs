//! OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT and MEMORY USAGE.
//!
//! keyslot's representations are not Redis's, so OBJECT ENCODING reports the name Redis 7.0
//! would use for the same value, from Redis's default thresholds: strings `int` (a canonical
//! 64-bit integer of at most 20 characters), `embstr` (up to 44 bytes) or `raw`; lists are
//! always `quicklist` in 7.0; hashes `listpack` up to 512 fields with fields and values of at
//! most 64 bytes, else `hashtable` (hash-max-listpack-entries is 512 in 7.0); sets `intset` while all members are integers and at most
//! 512, else `hashtable`; sorted sets `listpack` up to 128 members of at most 64 bytes, else
//! `skiplist`. (Redis never converts back to the compact form when a collection shrinks; the
//! compact forms here follow keyslot's own one-way switches where it has them.)
//!
//! IDLETIME and FREQ read the key's access bits (`db::access`) without touching them, with
//! Redis's errors when the policy tracks the other one. MEMORY USAGE is what the keyspace's
//! memory counter adds for the key (`db::mem`).

use super::subcmd::{dispatch, help_reply, SubSpec};
use super::{flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::{access, Access, Value};
use crate::resp::Reply;
use bytes::Bytes;

/// The key is the third argument (OBJECT ENCODING key, MEMORY USAGE key).
const SECOND_ARG_KEY: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "object",
        arity: -2,
        flags: flags::READONLY,
        keys: SECOND_ARG_KEY,
        group: "generic",
        summary: "A container for object introspection commands",
        handler: object,
    },
    CommandSpec {
        name: "memory",
        arity: -2,
        flags: flags::READONLY,
        keys: SECOND_ARG_KEY,
        group: "server",
        summary: "A container for memory diagnostics commands",
        handler: memory,
    },
];

pub const OBJECT_SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "object|encoding",
        arity: 3,
        flags: flags::READONLY,
        summary: "Inspect the internal encoding of a Redis object",
        handler: encoding,
    },
    SubSpec {
        name: "object|freq",
        arity: 3,
        flags: flags::READONLY,
        summary: "Get the logarithmic access frequency counter of a Redis object",
        handler: freq,
    },
    SubSpec {
        name: "object|help",
        arity: 2,
        flags: 0,
        summary: "Show helpful text about the different subcommands",
        handler: object_help,
    },
    SubSpec {
        name: "object|idletime",
        arity: 3,
        flags: flags::READONLY,
        summary: "Get the time since a Redis object was last accessed",
        handler: idletime,
    },
    SubSpec {
        name: "object|refcount",
        arity: 3,
        flags: flags::READONLY,
        summary: "Get the number of references to the value of the key",
        handler: refcount,
    },
];

pub const MEMORY_SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "memory|help",
        arity: 2,
        flags: 0,
        summary: "Show helpful text about the different subcommands",
        handler: memory_help,
    },
    SubSpec {
        name: "memory|usage",
        arity: -3,
        flags: flags::READONLY,
        summary: "Estimate the memory usage of a key",
        handler: usage,
    },
];

fn object(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    dispatch(ctx, argv, OBJECT_SUBCOMMANDS)
}

fn memory(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    dispatch(ctx, argv, MEMORY_SUBCOMMANDS)
}

fn object_help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(help_reply(
        "object",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    ))
}

fn memory_help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(help_reply(
        "memory",
        &[
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    ))
}

/// The live value of a key, without touching hit/miss statistics (Redis's LOOKUP_NOTOUCH).
fn value<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c Value> {
    super::keys::expire_key(ctx, key);
    ctx.db.get_untouched(key, ctx.now_ms).map(|e| &e.value)
}

/// Redis 7.0's encoding name for a value.
pub fn encoding_name(v: &Value) -> &'static str {
    const HASH_LISTPACK_ENTRIES: usize = 512;
    const LISTPACK_ENTRIES: usize = 128;
    const LISTPACK_VALUE: usize = 64;
    const INTSET_ENTRIES: usize = 512;
    match v {
        Value::Str(s) => {
            if s.len() <= 20 && super::parse_i64(s).is_some() {
                "int"
            } else if s.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        Value::List(_) => "quicklist",
        Value::Stream(_) => "stream",
        Value::Hash(h) => {
            if h.len() <= HASH_LISTPACK_ENTRIES
                && h.iter()
                    .all(|(f, v)| f.len() <= LISTPACK_VALUE && v.len() <= LISTPACK_VALUE)
            {
                "listpack"
            } else {
                "hashtable"
            }
        }
        Value::Set(s) => {
            if s.is_small()
                && s.len() <= INTSET_ENTRIES
                && s.iter().all(|m| super::parse_i64(m).is_some())
            {
                "intset"
            } else {
                "hashtable"
            }
        }
        Value::ZSet(z) => {
            if z.is_small()
                && z.len() <= LISTPACK_ENTRIES
                && z.iter().all(|(m, _)| m.len() <= LISTPACK_VALUE)
            {
                "listpack"
            } else {
                "skiplist"
            }
        }
    }
}

fn encoding(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(match value(ctx, &argv[2]) {
        Some(v) => Reply::bulk(encoding_name(v)),
        None => Reply::Null,
    })
}

/// OBJECT FREQ key: the decayed LFU counter; an error unless an LFU policy is set.
fn freq(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let now_ms = ctx.now_ms;
    let access = ctx.db.access;
    let Some(lru) = access_bits(ctx, &argv[2]) else {
        return Ok(Reply::Null);
    };
    match access {
        Access::Lfu { decay_minutes, .. } => Ok(Reply::Integer(
            access::lfu_decayed(lru, now_ms, decay_minutes) as i64,
        )),
        Access::Lru => Err(CmdError::other(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        )),
    }
}

/// OBJECT IDLETIME key: seconds since the last access; an error under an LFU policy.
fn idletime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let now_ms = ctx.now_ms;
    let access = ctx.db.access;
    let Some(lru) = access_bits(ctx, &argv[2]) else {
        return Ok(Reply::Null);
    };
    match access {
        Access::Lru => Ok(Reply::Integer((access::idle_ms(lru, now_ms) / 1000) as i64)),
        Access::Lfu { .. } => Err(CmdError::other(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        )),
    }
}

/// A live key's access bits, without counting an access (Redis's LOOKUP_NOTOUCH).
fn access_bits(ctx: &mut Ctx<'_>, key: &[u8]) -> Option<u32> {
    super::keys::expire_key(ctx, key);
    ctx.db.get_untouched(key, ctx.now_ms).map(|e| e.lru)
}

/// Redis shares the integers 0..9999 (refcount INT_MAX); every other value has one reference.
fn refcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(match value(ctx, &argv[2]) {
        Some(Value::Str(s)) if super::parse_i64(s).is_some_and(|n| (0..10000).contains(&n)) => {
            Reply::Integer(i32::MAX as i64)
        }
        Some(_) => Reply::Integer(1),
        None => Reply::Null,
    })
}

/// MEMORY USAGE key [SAMPLES count]
fn usage(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut i = 3;
    while i < argv.len() {
        if argv[i].eq_ignore_ascii_case(b"samples") && i + 1 < argv.len() {
            let n = super::arg_i64(&argv[i + 1])?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(match value(ctx, &argv[2]) {
        Some(v) => Reply::Integer(estimate(&argv[2], v) as i64),
        None => Reply::Null,
    })
}

/// Bytes a key and its value take here: what the keyspace's memory counter adds for it
/// (`db::mem`: table slots, key and value allocations, per-element overhead).
pub fn estimate(key: &[u8], v: &Value) -> u64 {
    crate::db::mem::entry_bytes(key, v) as u64
}

/// DEBUG OBJECT key: Redis's one-line summary (the address is the entry's, the refcount and
/// encoding those OBJECT REFCOUNT / ENCODING give, serializedlength the RDB body's length,
/// lru and lru_seconds_idle from the key's access bits).
pub fn debug_object(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    let now_ms = ctx.now_ms;
    // Redis's dictFind: a key past its TTL is still there to describe (the suite checks that a
    // key with active expiry off survives until a script touches it).
    let Some(e) = ctx.db.peek(key) else {
        return Err(CmdError::other("ERR no such key"));
    };
    let refcount = match &e.value {
        Value::Str(s) if super::parse_i64(s).is_some_and(|n| (0..10000).contains(&n)) => {
            i32::MAX as i64
        }
        _ => 1,
    };
    let mut body = Vec::new();
    crate::rdb::write_value_body(&mut body, &e.value, true);
    let idle_s = access::idle_ms(e.lru, now_ms) / 1000;
    Ok(Reply::Simple(
        format!(
            "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            &e.value as *const Value,
            refcount,
            encoding_name(&e.value),
            body.len(),
            e.lru,
            idle_s
        )
        .into(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    #[test]
    fn encodings_follow_thresholds() {
        let mut t = TestNode::new();
        t.run(&["SET", "i", "12345"]);
        t.run(&["SET", "e", "hello"]);
        let long = "x".repeat(45);
        t.run(&["SET", "r", &long]);
        assert_eq!(t.run_text(&["OBJECT", "ENCODING", "i"]), "$3\r\nint\r\n");
        assert_eq!(t.run_text(&["OBJECT", "ENCODING", "e"]), "$6\r\nembstr\r\n");
        assert_eq!(t.run_text(&["OBJECT", "ENCODING", "r"]), "$3\r\nraw\r\n");
        assert_eq!(t.run_text(&["OBJECT", "ENCODING", "nope"]), "$-1\r\n");
        t.run(&["SADD", "s", "1", "2"]);
        assert_eq!(t.run_text(&["OBJECT", "ENCODING", "s"]), "$6\r\nintset\r\n");
        t.run(&["SADD", "s", "a"]);
        assert_eq!(
            t.run_text(&["OBJECT", "ENCODING", "s"]),
            "$9\r\nhashtable\r\n"
        );
        assert_eq!(
            t.run_text(&["OBJECT", "REFCOUNT", "i"]),
            ":1\r\n",
            "12345 is not a shared integer"
        );
        assert!(t.run_text(&["MEMORY", "USAGE", "r"]).starts_with(':'));
    }
}

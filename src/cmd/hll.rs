//! HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST. The values are plain
//! strings in Redis's HLL representation (see [`crate::db::hll`]), changed in place.
//!
//! Replication follows Redis's `server.dirty`: PFADD that changed no register is not
//! propagated; PFCOUNT, a read command, is propagated when it stored a recomputed cached
//! cardinality (so replicas hold the same bytes); PFDEBUG only when it changed the encoding.

use super::bits::no_propagation;
use super::error::quote_arg_bytes;
use super::keys::{lookup_read, lookup_write};
use super::{flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::hll::{self, Corrupted, Encoding, REGISTERS};
use crate::db::Value;
use crate::resp::Reply;
use bytes::Bytes;
use rand::RngCore;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "pfadd",
        arity: -2,
        flags: flags::WRITE | flags::DENYOOM | flags::FAST,
        keys: KeySpec::FIRST,
        group: "hyperloglog",
        summary: "Adds the specified elements to the specified HyperLogLog.",
        handler: pfadd,
    },
    CommandSpec {
        name: "pfcount",
        arity: -2,
        flags: flags::READONLY,
        keys: KeySpec::ALL,
        group: "hyperloglog",
        summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
        handler: pfcount,
    },
    CommandSpec {
        name: "pfmerge",
        arity: -2,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::ALL,
        group: "hyperloglog",
        summary: "Merge N different HyperLogLogs into a single one.",
        handler: pfmerge,
    },
    CommandSpec {
        name: "pfdebug",
        arity: 3,
        flags: flags::WRITE | flags::DENYOOM | flags::ADMIN,
        keys: KeySpec {
            first: 2,
            last: 2,
            step: 1,
        },
        group: "hyperloglog",
        summary: "Internal commands for debugging HyperLogLog values",
        handler: pfdebug,
    },
    CommandSpec {
        name: "pfselftest",
        arity: 1,
        flags: flags::ADMIN,
        keys: KeySpec::NONE,
        group: "hyperloglog",
        summary: "An internal command for testing HyperLogLog values",
        handler: pfselftest,
    },
];

/// The reply for a corrupted sparse HLL.
fn invalid(_: Corrupted) -> CmdError {
    CmdError::other("INVALIDOBJ Corrupted HLL object detected")
}

/// The string of a value that must be an HLL: WRONGTYPE for another type, and Redis's
/// HLL-specific WRONGTYPE text for a string that is not an HLL.
fn hll_of(value: &Value) -> Result<(Bytes, Encoding), CmdError> {
    let Value::Str(s) = value else {
        return Err(CmdError::WrongType);
    };
    match hll::check(s) {
        Some(enc) => Ok((s.clone(), enc)),
        None => Err(CmdError::other(
            "WRONGTYPE Key is not a valid HyperLogLog string value.",
        )),
    }
}

/// Runs `f` on the string at `key` (already checked to be an HLL) as an owned buffer, then
/// stores it back; one in-place change, so memory accounting sees it once.
fn with_hll_mut<R>(ctx: &mut Ctx<'_>, key: &[u8], f: impl FnOnce(&mut Vec<u8>) -> R) -> Option<R> {
    let Some(Value::Str(slot)) = ctx.db.get_mut(key, ctx.now_ms) else {
        return None;
    };
    // A unique buffer converts without a copy.
    let mut v: Vec<u8> = std::mem::take(slot).into();
    let r = f(&mut v);
    *slot = Bytes::from(v);
    Some(r)
}

/// Creates `key` as an empty HLL if it is missing (after the lookup checked it); true if it
/// was created.
fn create_if_missing(ctx: &mut Ctx<'_>, key: &Bytes, exists: bool) -> bool {
    if exists {
        return false;
    }
    ctx.db.insert(
        key.clone(),
        Value::Str(Bytes::from(hll::new_sparse())),
        None,
    );
    true
}

/// PFADD key [element ...]: 1 if a register changed (or the key was created), else 0.
fn pfadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let max_bytes = ctx.node.config.hll_sparse_max_bytes;
    let exists = match lookup_write(ctx, key) {
        None => false,
        Some(e) => {
            hll_of(&e.value)?;
            true
        }
    };
    let created = create_if_missing(ctx, key, exists);
    let result = with_hll_mut(ctx, key, |s| {
        let mut updated = created;
        for ele in &argv[2..] {
            updated |= hll::add(s, ele, max_bytes)?;
        }
        if updated {
            hll::invalidate(s);
        }
        Ok(updated)
    })
    .unwrap_or(Err(Corrupted));
    let updated = result.map_err(invalid)?;
    if !updated {
        no_propagation(ctx);
    } else {
        ctx.notify(crate::notify::STRING, "pfadd", key);
    }
    Ok(Reply::Integer(updated as i64))
}

/// PFCOUNT key [key ...]: the estimated cardinality (of the union for several keys).
fn pfcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 2 {
        let mut max = Box::new([0u8; REGISTERS]);
        for key in &argv[1..] {
            let Some(e) = lookup_read(ctx, key) else {
                continue;
            };
            let (s, _) = hll_of(&e.value)?;
            hll::merge_into(&mut max, &s).map_err(invalid)?;
        }
        return Ok(Reply::Integer(
            hll::estimate(&hll::raw_histogram(&max)) as i64
        ));
    }
    let key = &argv[1];
    let Some(e) = lookup_read(ctx, key) else {
        return Ok(Reply::Integer(0));
    };
    let (s, _) = hll_of(&e.value)?;
    if let Some(card) = hll::cached(&s) {
        return Ok(Reply::Integer(card as i64));
    }
    let card = hll::estimate(&hll::histogram(&s).map_err(invalid)?);
    drop(s);
    with_hll_mut(ctx, key, |v| hll::set_cached(v, card));
    // Storing the cache changed the value: replicate the PFCOUNT so replicas store it too.
    ctx.client.rewrite = Some(argv.to_vec());
    Ok(Reply::Integer(card as i64))
}

/// PFMERGE destkey [sourcekey ...]: the union of the sources and of destkey, stored in
/// destkey (dense if any input is dense).
fn pfmerge(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let max_bytes = ctx.node.config.hll_sparse_max_bytes;
    let mut max = Box::new([0u8; REGISTERS]);
    let mut dense = false;
    for key in &argv[1..] {
        let Some(e) = lookup_read(ctx, key) else {
            continue;
        };
        let (s, enc) = hll_of(&e.value)?;
        dense |= enc == Encoding::Dense;
        hll::merge_into(&mut max, &s).map_err(invalid)?;
    }
    let dest = &argv[1];
    let exists = lookup_write(ctx, dest).is_some();
    create_if_missing(ctx, dest, exists);
    with_hll_mut(ctx, dest, |s| {
        hll::store_registers(s, &max, dense, max_bytes)
    })
    .unwrap_or(Err(Corrupted))
    .map_err(invalid)?;
    // Redis names PFMERGE's event `pfadd` (a mass add of elements).
    ctx.notify(crate::notify::STRING, "pfadd", dest);
    Ok(Reply::ok())
}

/// Turns the HLL at `key` dense if it is sparse; true if it converted.
fn make_dense(ctx: &mut Ctx<'_>, key: &[u8], enc: Encoding) -> Result<bool, CmdError> {
    if enc == Encoding::Dense {
        return Ok(false);
    }
    with_hll_mut(ctx, key, |s| {
        let d = hll::sparse_to_dense(s)?;
        *s = d;
        Ok(())
    })
    .unwrap_or(Err(Corrupted))
    .map_err(invalid)?;
    Ok(true)
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
fn pfdebug(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (sub, key) = (&argv[1], &argv[2]);
    let (s, enc) = match lookup_write(ctx, key) {
        None => return Err(CmdError::other("ERR The specified key does not exist")),
        Some(e) => hll_of(&e.value)?,
    };
    if sub.eq_ignore_ascii_case(b"getreg") {
        drop(s);
        if !make_dense(ctx, key, enc)? {
            no_propagation(ctx);
        }
        let s = match ctx.db.peek(key).map(|e| &e.value) {
            Some(Value::Str(s)) => s.clone(),
            _ => return Err(invalid(Corrupted)),
        };
        let regs = &s[hll::HDR..];
        let replies = (0..REGISTERS)
            .map(|i| Reply::Integer(hll::dense_get(regs, i) as i64))
            .collect();
        return Ok(Reply::Array(replies));
    }
    if sub.eq_ignore_ascii_case(b"decode") {
        no_propagation(ctx);
        if enc != Encoding::Sparse {
            return Err(CmdError::other("ERR HLL encoding is not sparse"));
        }
        return Ok(Reply::Bulk(Bytes::from(hll::decode(&s))));
    }
    if sub.eq_ignore_ascii_case(b"encoding") {
        no_propagation(ctx);
        return Ok(Reply::Simple(enc.name().into()));
    }
    if sub.eq_ignore_ascii_case(b"todense") {
        drop(s);
        let converted = make_dense(ctx, key, enc)?;
        if !converted {
            no_propagation(ctx);
        }
        return Ok(Reply::Integer(converted as i64));
    }
    let mut text = b"ERR Unknown PFDEBUG subcommand '".to_vec();
    text.extend_from_slice(&quote_arg_bytes(sub, usize::MAX));
    text.push(b'\'');
    Err(CmdError::Raw(Bytes::from(text)))
}

/// PFSELFTEST: checks the register packing and the estimator (see [`hll::self_test`]).
fn pfselftest(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let max_bytes = ctx.node.config.hll_sparse_max_bytes;
    let rng = &mut ctx.node.rng;
    match hll::self_test(|| rng.next_u64(), max_bytes) {
        Ok(()) => Ok(Reply::ok()),
        Err(msg) => Err(CmdError::other(format!("ERR {msg}"))),
    }
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    /// Runs a command; true if it fed the replication stream.
    fn propagated(t: &mut TestNode, words: &[&str]) -> bool {
        let before = t.node.rest.repl.offset;
        t.run(words);
        t.node.rest.repl.offset != before
    }

    #[test]
    fn propagates_only_what_changed_the_data() {
        let mut t = TestNode::new();
        let cases: &[(&[&str], bool)] = &[
            // Bitmaps: SETBIT that changes nothing, BITFIELD reads and failed writes, BITOP
            // with an empty result on a missing key are not replicated.
            (&["SETBIT", "b", "7", "1"], true),
            (&["SETBIT", "b", "7", "1"], false),
            (&["SETBIT", "b", "7", "0"], true),
            (&["SETBIT", "b", "20", "0"], true),
            (&["BITFIELD", "b", "GET", "u8", "0"], false),
            (&["BITFIELD", "b", "SET", "u8", "0", "0"], false),
            (&["BITFIELD", "b", "SET", "u8", "0", "1"], true),
            (
                &[
                    "BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9",
                ],
                false,
            ),
            (&["BITFIELD", "b", "SET", "u8", "100", "0"], true),
            (&["BITFIELD_RO", "b", "GET", "u8", "0"], false),
            (&["BITOP", "AND", "d", "nokey"], false),
            (&["BITOP", "AND", "d", "b"], true),
            (&["BITOP", "AND", "d", "nokey"], true),
            // HyperLogLog.
            (&["PFADD", "h", "a"], true),
            (&["PFADD", "h", "a"], false),
            (&["PFCOUNT", "h"], true),
            (&["PFCOUNT", "h"], false),
            (&["PFCOUNT", "h", "h2"], false),
            (&["PFDEBUG", "ENCODING", "h"], false),
            (&["PFDEBUG", "DECODE", "h"], false),
            (&["PFDEBUG", "TODENSE", "h"], true),
            (&["PFDEBUG", "TODENSE", "h"], false),
            (&["PFDEBUG", "GETREG", "h"], false),
            (&["PFMERGE", "h"], true),
            (&["PFADD", "l2", "x"], true),
            (&["PFADD", "x", "x"], true),
            (&["PFADD", "x", "y"], true),
        ];
        for (words, want) in cases {
            assert_eq!(propagated(&mut t, words), *want, "{words:?}");
        }
    }

    #[test]
    fn multi_key_commands_need_one_slot_in_cluster_mode() {
        let mut c = crate::config::Config::default();
        c.set_startup("cluster-enabled", &["yes".into()]).unwrap();
        c.set_startup("port", &["7000".into()]).unwrap();
        let mut t = TestNode::with_config(c);
        assert_eq!(
            t.run_text(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]),
            "+OK\r\n"
        );
        // Skip the writable delay a fresh master waits before its state turns ok.
        if let Some(cl) = t.node.rest.cluster.as_mut() {
            cl.state_ok = true;
        }
        let cross = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
        for cmd in [
            &["PFCOUNT", "a", "b"][..],
            &["PFMERGE", "a", "b"],
            &["BITOP", "AND", "a", "b"],
            &["BITOP", "AND", "{a}x", "{a}y", "b"],
        ] {
            assert_eq!(t.run_text(cmd), cross, "{cmd:?}");
        }
        assert_eq!(t.run_text(&["PFADD", "{a}1", "x"]), ":1\r\n");
        assert_eq!(t.run_text(&["PFADD", "{a}2", "y"]), ":1\r\n");
        assert_eq!(t.run_text(&["PFCOUNT", "{a}1", "{a}2"]), ":2\r\n");
        assert_eq!(t.run_text(&["PFMERGE", "{a}3", "{a}1", "{a}2"]), "+OK\r\n");
        assert_eq!(
            t.run_text(&["BITOP", "OR", "{a}4", "{a}1", "{a}2"]),
            ":21\r\n"
        );
    }
}

//! Bitmap commands on string values: SETBIT GETBIT BITCOUNT BITPOS BITOP. BITFIELD and
//! BITFIELD_RO are in [`super::bitfield`].
//!
//! Bits are numbered from the most significant bit of byte 0, as Redis does. A write past the
//! end zero-pads the string (Redis's lookupStringForBitCommand); the edit happens in place
//! through [`edit_bits`], so a SETBIT on a long bitmap does not copy it when the value's buffer
//! is not shared.

use super::keys::{as_str, lookup_read, lookup_write};
use super::{flags, parse_i64, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::Value;
use crate::resp::Reply;
use bytes::{Bytes, BytesMut};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "setbit",
        arity: 4,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::FIRST,
        group: "bitmap",
        summary: "Sets or clears the bit at offset in the string value stored at key",
        handler: setbit,
    },
    CommandSpec {
        name: "getbit",
        arity: 3,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "bitmap",
        summary: "Returns the bit value at offset in the string value stored at key",
        handler: getbit,
    },
    CommandSpec {
        name: "bitcount",
        arity: -2,
        flags: flags::READONLY,
        keys: KeySpec::FIRST,
        group: "bitmap",
        summary: "Count set bits in a string",
        handler: bitcount,
    },
    CommandSpec {
        name: "bitpos",
        arity: -3,
        flags: flags::READONLY,
        keys: KeySpec::FIRST,
        group: "bitmap",
        summary: "Find first bit set or clear in a string",
        handler: bitpos,
    },
    CommandSpec {
        name: "bitop",
        arity: -4,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec {
            first: 2,
            last: -1,
            step: 1,
        },
        group: "bitmap",
        summary: "Perform bitwise operations between strings",
        handler: bitop,
    },
];

/// The error of a bad bit offset (Redis's getBitOffsetFromArgument).
pub(crate) fn bad_offset() -> CmdError {
    CmdError::other("ERR bit offset is not an integer or out of range")
}

/// Parses a bit offset: a non-negative integer whose byte (`offset >> 3`) is below
/// proto-max-bulk-len. With `unit > 0` (BITFIELD), `#n` means `n * unit`.
pub(crate) fn parse_bit_offset(ctx: &Ctx<'_>, arg: &[u8], unit: u32) -> Result<u64, CmdError> {
    let (hash, digits) = match arg.first() {
        Some(b'#') if unit > 0 => (true, &arg[1..]),
        _ => (false, arg),
    };
    let mut n = parse_i64(digits).ok_or_else(bad_offset)?;
    if hash {
        // Redis multiplies in a signed 64-bit integer; a wrapped (negative) product is refused.
        n = n.wrapping_mul(unit as i64);
    }
    if n < 0 || (n as u64 >> 3) >= ctx.node.config.proto_max_bulk_len {
        return Err(bad_offset());
    }
    Ok(n as u64)
}

/// The bit at `offset` of `s` (0 past the end).
pub(crate) fn bit_at(s: &[u8], offset: u64) -> bool {
    let byte = (offset >> 3) as usize;
    s.get(byte).is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// What [`edit_bits`] tells about the key beyond the closure's result.
pub(crate) struct Edited<R> {
    /// The closure's result.
    pub result: R,
    /// The key was created or the string grew (Redis counts that as a change by itself).
    pub grown: bool,
}

/// Runs `f` on the string at `key` (and whether it was created or grew) opened for in-place change, zero-padded so that byte
/// `last_byte` exists; creates the key when missing (Redis's lookupStringForBitCommand). The
/// TTL stays. WRONGTYPE when the key holds another type.
pub(crate) fn edit_bits<R>(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    last_byte: usize,
    f: impl FnOnce(&mut [u8], bool) -> R,
) -> Result<Edited<R>, CmdError> {
    let exists = match lookup_write(ctx, key) {
        None => false,
        Some(e) => {
            as_str(&e.value)?;
            true
        }
    };
    let want = last_byte + 1;
    if !exists {
        let mut buf = vec![0u8; want];
        let result = f(&mut buf, true);
        ctx.db
            .insert(key.clone(), Value::Str(Bytes::from(buf)), None);
        return Ok(Edited {
            result,
            grown: true,
        });
    }
    let Some(Value::Str(slot)) = ctx.db.get_mut(key, ctx.now_ms) else {
        return Err(CmdError::WrongType);
    };
    // Unique buffers convert without a copy; a shared one is copied once.
    let mut buf = BytesMut::from(std::mem::take(slot));
    let grown = buf.len() < want;
    if grown {
        buf.resize(want, 0);
    }
    let result = f(&mut buf, grown);
    *slot = buf.freeze();
    Ok(Edited { result, grown })
}

/// Marks the command as one that changed nothing: it is not replicated nor written to the AOF
/// (Redis propagates only when `server.dirty` moved).
pub(crate) fn no_propagation(ctx: &mut Ctx<'_>) {
    ctx.client.rewrite = Some(Vec::new());
}

/// A read lookup of a string key for the bit commands (counts a hit or miss).
fn read_string(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CmdError> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => as_str(&e.value).cloned().map(Some),
    }
}

// ---------------------------------------------------------------------------------------------
// SETBIT GETBIT

/// SETBIT key offset 0|1: the bit's old value.
fn setbit(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let offset = parse_bit_offset(ctx, &argv[2], 0)?;
    let on = match parse_i64(&argv[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Err(CmdError::other("ERR bit is not an integer or out of range")),
    };
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let edited = edit_bits(ctx, &argv[1], byte, |s, _| {
        let old = s[byte] & mask != 0;
        if on {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
        old
    })?;
    if !edited.grown && edited.result == on {
        no_propagation(ctx);
    } else {
        ctx.notify(crate::notify::STRING, "setbit", &argv[1]);
    }
    Ok(Reply::Integer(edited.result as i64))
}

/// GETBIT key offset
fn getbit(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let offset = parse_bit_offset(ctx, &argv[2], 0)?;
    let s = read_string(ctx, &argv[1])?.unwrap_or_default();
    Ok(Reply::Integer(bit_at(&s, offset) as i64))
}

// ---------------------------------------------------------------------------------------------
// BITCOUNT BITPOS

/// A range of bits, inclusive at both ends, inside the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BitRange {
    first: u64,
    last: u64,
}

/// Clamps a start / end pair the way BITCOUNT and BITPOS do (negative counts from the end of
/// a string of `total` units); None when the range is empty.
fn clamp_range(start: i64, end: i64, total: i64) -> Option<(i64, i64)> {
    let mut start = if start < 0 { total + start } else { start };
    let mut end = if end < 0 { total + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    (start <= end).then_some((start, end))
}

/// Turns a clamped range of `isbit` units into bits.
fn to_bits(start: i64, end: i64, isbit: bool) -> BitRange {
    if isbit {
        BitRange {
            first: start as u64,
            last: end as u64,
        }
    } else {
        BitRange {
            first: start as u64 * 8,
            last: end as u64 * 8 + 7,
        }
    }
}

/// Parses a BYTE | BIT unit argument.
fn parse_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The number of set bits of `s` in `r`.
fn count_bits(s: &[u8], r: BitRange) -> u64 {
    let (b0, b1) = ((r.first >> 3) as usize, (r.last >> 3) as usize);
    let whole: u64 = popcount(&s[b0..=b1]);
    // Take off the bits of the edge bytes that lie outside the range.
    let head = s[b0] & !(0xffu8 >> (r.first & 7));
    let tail = s[b1] & (0x7fu8 >> (r.last & 7));
    whole - head.count_ones() as u64 - tail.count_ones() as u64
}

/// Set bits of a byte slice, eight bytes at a time.
fn popcount(s: &[u8]) -> u64 {
    let mut chunks = s.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from_ne_bytes(w).count_ones() as u64;
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// The first bit equal to `bit` in `r`, if any.
fn find_bit(s: &[u8], r: BitRange, bit: bool) -> Option<u64> {
    let skip = if bit { 0x00 } else { 0xff };
    let (b0, b1) = ((r.first >> 3) as usize, (r.last >> 3) as usize);
    let mut i = b0;
    while i <= b1 {
        let byte = s[i];
        if byte != skip {
            let base = i as u64 * 8;
            let from = if i == b0 { r.first - base } else { 0 };
            let to = if i == b1 { r.last - base } else { 7 };
            for k in from..=to {
                if (byte & (0x80 >> k) != 0) == bit {
                    return Some(base + k);
                }
            }
        }
        i += 1;
    }
    None
}

/// BITCOUNT key [start end [BYTE|BIT]]
fn bitcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let Some(s) = read_string(ctx, &argv[1])? else {
        return Ok(Reply::Integer(0));
    };
    let range = match argv.len() {
        2 => clamp_range(0, s.len() as i64 - 1, s.len() as i64).map(|(a, b)| to_bits(a, b, false)),
        4 | 5 => {
            let start = parse_i64(&argv[2]).ok_or(CmdError::NotInteger)?;
            let end = parse_i64(&argv[3]).ok_or(CmdError::NotInteger)?;
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Integer(0));
            }
            let isbit = match argv.get(4) {
                Some(u) => parse_unit(u)?,
                None => false,
            };
            let total = s.len() as i64 * if isbit { 8 } else { 1 };
            clamp_range(start, end, total).map(|(a, b)| to_bits(a, b, isbit))
        }
        _ => return Err(CmdError::Syntax),
    };
    Ok(Reply::Integer(range.map_or(0, |r| count_bits(&s, r)) as i64))
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
fn bitpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let bit = match parse_i64(&argv[2]) {
        None => return Err(CmdError::NotInteger),
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return Err(CmdError::other("ERR The bit argument must be 1 or 0.")),
    };
    let Some(s) = read_string(ctx, &argv[1])? else {
        return Ok(Reply::Integer(if bit { -1 } else { 0 }));
    };
    let len = s.len() as i64;
    let (range, end_given) = match argv.len() {
        3 => (
            clamp_range(0, len - 1, len).map(|(a, b)| to_bits(a, b, false)),
            false,
        ),
        4..=6 => {
            let start = parse_i64(&argv[3]).ok_or(CmdError::NotInteger)?;
            let isbit = match argv.get(5) {
                Some(u) => parse_unit(u)?,
                None => false,
            };
            let (end, end_given) = match argv.get(4) {
                Some(e) => (parse_i64(e).ok_or(CmdError::NotInteger)?, true),
                None if isbit => (len * 8 + 7, false),
                None => (len - 1, false),
            };
            let total = if isbit { len * 8 } else { len };
            (
                clamp_range(start, end, total).map(|(a, b)| to_bits(a, b, isbit)),
                end_given,
            )
        }
        _ => return Err(CmdError::Syntax),
    };
    let Some(r) = range else {
        return Ok(Reply::Integer(-1));
    };
    let pos = match find_bit(&s, r, bit) {
        Some(p) => p as i64,
        // No clear bit in the range: without an explicit end the string counts as followed
        // by zeros, so the first clear bit is the one right after the range.
        None if !bit && !end_given => r.last as i64 + 1,
        None => -1,
    };
    Ok(Reply::Integer(pos))
}

// ---------------------------------------------------------------------------------------------
// BITOP

/// A BITOP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Computes the operation over `srcs` (missing keys are empty strings, shorter strings are
/// zero-padded); the result is as long as the longest source.
fn bit_op(op: BitOp, srcs: &[Bytes]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let byte = |s: &Bytes, i: usize| s.get(i).copied().unwrap_or(0);
    let mut out = vec![0u8; maxlen];
    let Some((first, rest)) = srcs.split_first() else {
        return out;
    };
    for (i, o) in out.iter_mut().enumerate() {
        let mut v = byte(first, i);
        match op {
            BitOp::Not => v = !v,
            BitOp::And => rest.iter().for_each(|s| v &= byte(s, i)),
            BitOp::Or => rest.iter().for_each(|s| v |= byte(s, i)),
            BitOp::Xor => rest.iter().for_each(|s| v ^= byte(s, i)),
        }
        *o = v;
    }
    out
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: the length of the stored result.
fn bitop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let name = &argv[1];
    let op = if name.eq_ignore_ascii_case(b"and") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"or") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"xor") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Err(CmdError::other(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut srcs = Vec::with_capacity(argv.len() - 3);
    for key in &argv[3..] {
        srcs.push(read_string(ctx, key)?.unwrap_or_default());
    }
    let out = bit_op(op, &srcs);
    let dest = &argv[2];
    let len = out.len();
    if len > 0 {
        super::keys::expire_key(ctx, dest);
        ctx.db
            .insert(dest.clone(), Value::Str(Bytes::from(out)), None);
        ctx.notify(crate::notify::STRING, "set", dest);
    } else {
        super::keys::expire_key(ctx, dest);
        if ctx.db.remove(dest).is_none() {
            no_propagation(ctx);
        } else {
            ctx.notify(crate::notify::GENERIC, "del", dest);
        }
    }
    Ok(Reply::Integer(len as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bits_inside_a_range() {
        let s = [0xffu8, 0x0f, 0xf0];
        assert_eq!(count_bits(&s, BitRange { first: 0, last: 23 }), 16);
        assert_eq!(count_bits(&s, BitRange { first: 4, last: 11 }), 4);
        assert_eq!(
            count_bits(
                &s,
                BitRange {
                    first: 12,
                    last: 12
                }
            ),
            1
        );
        assert_eq!(
            count_bits(
                &s,
                BitRange {
                    first: 11,
                    last: 11
                }
            ),
            0
        );
    }

    #[test]
    fn finds_bits() {
        let s = [0x00u8, 0x10];
        assert_eq!(
            find_bit(&s, BitRange { first: 0, last: 15 }, true),
            Some(11)
        );
        assert_eq!(
            find_bit(
                &s,
                BitRange {
                    first: 12,
                    last: 15
                },
                true
            ),
            None
        );
        assert_eq!(
            find_bit(&[0xff], BitRange { first: 0, last: 7 }, false),
            None
        );
    }

    #[test]
    fn bitop_pads_short_sources() {
        let a = Bytes::from_static(b"\xff\x0f");
        let b = Bytes::from_static(b"\x0f");
        assert_eq!(
            bit_op(BitOp::And, &[a.clone(), b.clone()]),
            vec![0x0f, 0x00]
        );
        assert_eq!(bit_op(BitOp::Or, &[a.clone(), b.clone()]), vec![0xff, 0x0f]);
        assert_eq!(bit_op(BitOp::Xor, &[a.clone(), b]), vec![0xf0, 0x0f]);
        assert_eq!(bit_op(BitOp::Not, &[a]), vec![0x00, 0xf0]);
    }
}

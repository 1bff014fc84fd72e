//! BITFIELD and BITFIELD_RO: signed (i1..i64) and unsigned (u1..u63) integers at any bit
//! offset of a string, most significant bit first, with WRAP / SAT / FAIL overflow handling.
//!
//! The whole argument list is parsed before the key is touched, so a bad argument anywhere
//! answers an error and changes nothing (as Redis). Writes are counted as changes only when a
//! value really changed or the string grew; a BITFIELD that changed nothing (only GETs, or
//! only failed writes) is not replicated.

use super::bits::{bad_offset, edit_bits, no_propagation, parse_bit_offset};
use super::keys::{as_str, lookup_read};
use super::{flags, parse_i64, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "bitfield",
        arity: -2,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::FIRST,
        group: "bitmap",
        summary: "Perform arbitrary bitfield integer operations on strings",
        handler: bitfield,
    },
    CommandSpec {
        name: "bitfield_ro",
        arity: -2,
        flags: flags::READONLY | flags::FAST,
        keys: KeySpec::FIRST,
        group: "bitmap",
        summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        handler: bitfield_ro,
    },
];

/// What to do when a value does not fit its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Keep the low bits (two's complement for signed fields).
    Wrap,
    /// Clamp to the field's minimum or maximum.
    Sat,
    /// Do not write; the reply for that operation is nil.
    Fail,
}

/// A field's type: signedness and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

/// One GET / SET / INCRBY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone, Copy)]
struct FieldOp {
    op: Op,
    ty: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// Parses `i<n>` / `u<n>`.
fn parse_type(arg: &[u8]) -> Result<FieldType, CmdError> {
    let bad = || {
        CmdError::other(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(bad()),
    };
    // Redis reads the width as a C string: it stops at a NUL byte.
    let digits = &arg[1..];
    let digits = match digits.iter().position(|&b| b == 0) {
        Some(n) => &digits[..n],
        None => digits,
    };
    let bits = parse_i64(digits).ok_or_else(bad)?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return Err(bad());
    }
    Ok(FieldType {
        signed,
        bits: bits as u32,
    })
}

/// Reads `bits` bits at `offset` as an unsigned number (bits past the end of `s` are 0).
pub fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v: u64 = 0;
    for i in 0..bits as u64 {
        let at = offset + i;
        let bit = s
            .get((at >> 3) as usize)
            .is_some_and(|b| b & (0x80 >> (at & 7)) != 0);
        v = (v << 1) | bit as u64;
    }
    v
}

/// Reads a two's complement signed field.
pub fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(s, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `v` at `offset`; `s` must be long enough.
pub fn set_bits(s: &mut [u8], offset: u64, bits: u32, v: u64) {
    for i in 0..bits as u64 {
        let at = offset + i;
        let one = v >> (bits as u64 - 1 - i) & 1 == 1;
        let mask = 0x80u8 >> (at & 7);
        let b = &mut s[(at >> 3) as usize];
        if one {
            *b |= mask;
        } else {
            *b &= !mask;
        }
    }
}

/// Adds `incr` to `value` in an unsigned field of `bits` bits. Returns the value to store, or
/// None when it overflowed and the mode is FAIL (Redis's checkUnsignedBitfieldOverflow).
pub fn unsigned_add(value: u64, incr: i64, bits: u32, mode: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrapped = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > maxincr) {
        match mode {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        }
    } else if incr < 0 && incr < minincr {
        match mode {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(0),
            Overflow::Fail => None,
        }
    } else {
        Some(value.wrapping_add(incr as u64))
    }
}

/// Adds `incr` to `value` in a signed field (Redis's checkSignedBitfieldOverflow).
pub fn signed_add(value: i64, incr: i64, bits: u32, mode: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrapped = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1 << (bits - 1)) != 0 {
                (c | mask) as i64
            } else {
                (c & !mask) as i64
            }
        } else {
            c as i64
        }
    };
    let over =
        value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr);
    let under =
        value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr);
    if over {
        match mode {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        }
    } else if under {
        match mode {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(min),
            Overflow::Fail => None,
        }
    } else {
        Some(value.wrapping_add(incr))
    }
}

/// Parses the subcommands; also returns whether any of them writes.
fn parse_ops(ctx: &Ctx<'_>, argv: &[Bytes]) -> Result<(Vec<FieldOp>, bool), CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut writes = false;
    let mut j = 2;
    while j < argv.len() {
        let rem = argv.len() - j - 1;
        let sub = &argv[j];
        let is = |w: &[u8]| sub.eq_ignore_ascii_case(w);
        let (kind, takes) = if is(b"get") && rem >= 2 {
            (0, 2)
        } else if is(b"set") && rem >= 3 {
            (1, 3)
        } else if is(b"incrby") && rem >= 3 {
            (2, 3)
        } else if is(b"overflow") && rem >= 1 {
            let m = &argv[j + 1];
            overflow = if m.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if m.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if m.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::other("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let ty = parse_type(&argv[j + 1])?;
        let offset = parse_bit_offset(ctx, &argv[j + 2], ty.bits)?;
        let op = if kind == 0 {
            Op::Get
        } else {
            writes = true;
            let n = parse_i64(&argv[j + 3]).ok_or(CmdError::NotInteger)?;
            if kind == 1 {
                Op::Set(n)
            } else {
                Op::IncrBy(n)
            }
        };
        ops.push(FieldOp {
            op,
            ty,
            offset,
            overflow,
        });
        j += 1 + takes;
    }
    Ok((ops, writes))
}

/// Runs one write on the (long enough) buffer: its reply (nil for a FAIL overflow) and
/// whether the field's value changed.
fn apply_write(s: &mut [u8], op: &FieldOp) -> (Reply, bool) {
    let FieldOp {
        op,
        ty,
        offset,
        overflow,
    } = *op;
    let bits = ty.bits;
    let (v, incr) = match op {
        Op::Get => return (read_field(s, offset, ty), false),
        Op::Set(v) => (v, false),
        Op::IncrBy(v) => (v, true),
    };
    if ty.signed {
        let old = get_signed(s, offset, bits);
        let new = if incr {
            signed_add(old, v, bits, overflow)
        } else {
            signed_add(v, 0, bits, overflow)
        };
        let Some(new) = new else {
            return (Reply::Null, false);
        };
        set_bits(s, offset, bits, new as u64);
        (Reply::Integer(if incr { new } else { old }), old != new)
    } else {
        let old = get_unsigned(s, offset, bits);
        let new = if incr {
            unsigned_add(old, v, bits, overflow)
        } else {
            unsigned_add(v as u64, 0, bits, overflow)
        };
        let Some(new) = new else {
            return (Reply::Null, false);
        };
        set_bits(s, offset, bits, new);
        (
            Reply::Integer(if incr { new } else { old } as i64),
            old != new,
        )
    }
}

/// A GET's reply.
fn read_field(s: &[u8], offset: u64, ty: FieldType) -> Reply {
    if ty.signed {
        Reply::Integer(get_signed(s, offset, ty.bits))
    } else {
        Reply::Integer(get_unsigned(s, offset, ty.bits) as i64)
    }
}

/// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...
fn bitfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run(ctx, argv, false)
}

/// BITFIELD_RO key [GET type offset] ...
fn bitfield_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run(ctx, argv, true)
}

fn run(ctx: &mut Ctx<'_>, argv: &[Bytes], readonly: bool) -> CmdResult {
    let (ops, writes) = parse_ops(ctx, argv)?;
    if !writes {
        let s = match lookup_read(ctx, &argv[1]) {
            None => Bytes::new(),
            Some(e) => as_str(&e.value)?.clone(),
        };
        if !readonly {
            no_propagation(ctx);
        }
        let replies = ops.iter().map(|o| read_field(&s, o.offset, o.ty)).collect();
        return Ok(Reply::Array(replies));
    }
    if readonly {
        return Err(CmdError::other(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let last_bit = ops
        .iter()
        .filter(|o| o.op != Op::Get)
        .map(|o| o.offset + o.ty.bits as u64 - 1)
        .max()
        .ok_or_else(bad_offset)?;
    let edited = edit_bits(ctx, &argv[1], (last_bit >> 3) as usize, |s, grown| {
        let mut changes = 0usize;
        let replies: Vec<Reply> = ops
            .iter()
            .map(|o| {
                let (r, changed) = apply_write(s, o);
                // Redis counts every write that was done once the string was created or grew.
                let done = o.op != Op::Get && !matches!(r, Reply::Null);
                if done && (changed || grown) {
                    changes += 1;
                }
                r
            })
            .collect();
        (replies, changes)
    })?;
    let (replies, changes) = edited.result;
    if changes == 0 {
        no_propagation(ctx);
    } else {
        ctx.notify(crate::notify::STRING, "setbit", &argv[1]);
    }
    Ok(Reply::Array(replies))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut s = [0u8; 9];
        set_bits(&mut s, 3, 64, 0x8000_0000_0000_0001);
        assert_eq!(get_unsigned(&s, 3, 64), 0x8000_0000_0000_0001);
        assert_eq!(get_signed(&s, 3, 1), -1);
        set_bits(&mut s, 0, 8, 0xff);
        assert_eq!(get_signed(&s, 0, 4), -1);
        assert_eq!(get_unsigned(&s, 0, 4), 15);
        assert_eq!(get_unsigned(&[0xab], 4, 8), 0xb0);
    }

    #[test]
    fn overflow_modes() {
        assert_eq!(unsigned_add(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_add(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_add(250, 10, 8, Overflow::Fail), None);
        assert_eq!(unsigned_add(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_add(5, -10, 8, Overflow::Wrap), Some(251));
        assert_eq!(signed_add(120, 10, 8, Overflow::Wrap), Some(-126));
        assert_eq!(signed_add(120, 10, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_add(-120, -10, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_add(i64::MAX, 1, 64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(signed_add(i64::MAX, 1, 64, Overflow::Fail), None);
        assert_eq!(signed_add(300, 0, 8, Overflow::Sat), Some(127));
    }

    #[test]
    fn types() {
        assert!(parse_type(b"u64").is_err());
        assert!(parse_type(b"i0").is_err());
        assert_eq!(
            parse_type(b"i64").ok(),
            Some(FieldType {
                signed: true,
                bits: 64
            })
        );
    }
}

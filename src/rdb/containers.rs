//! The compact blobs Redis embeds in RDB strings: listpack (read and write), ziplist, intset and
//! zipmap (read). Readers return every element as bytes (integers as their decimal text) and
//! fail with [`RdbError::Corrupt`] on any inconsistency; they never index out of bounds.

use super::codec::int_bytes;
use super::RdbError;
use bytes::Bytes;

fn corrupt(what: &'static str) -> RdbError {
    RdbError::Corrupt(what)
}

/// Bounds-checked slice.
fn slice(b: &[u8], at: usize, n: usize) -> Result<&[u8], RdbError> {
    at.checked_add(n)
        .and_then(|end| b.get(at..end))
        .ok_or(RdbError::Corrupt("container entry out of bounds"))
}

fn le_int(b: &[u8]) -> i64 {
    // Sign-extend a little-endian integer of 1..=8 bytes.
    let mut v: u64 = 0;
    for (i, &x) in b.iter().enumerate() {
        v |= (x as u64) << (8 * i);
    }
    let shift = 64 - 8 * b.len() as u32;
    ((v << shift) as i64) >> shift
}

// ---------------------------------------------------------------------------------------------
// listpack

const LP_HEADER: usize = 6;
const LP_EOF: u8 = 0xff;

/// Bytes the backlen of an entry of `len` bytes (encoding + data) takes.
fn lp_backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn lp_write_backlen(out: &mut Vec<u8>, len: usize) {
    let n = lp_backlen_size(len);
    // Most significant group first; every byte but the first carries the 0x80 flag (the entry is
    // read backwards from its last byte).
    for i in (0..n).rev() {
        let group = ((len >> (7 * i)) & 0x7f) as u8;
        out.push(if i == n - 1 { group } else { group | 0x80 });
    }
}

/// Appends one listpack entry: integer-encoded when `s` is a canonical i64, a string otherwise.
fn lp_append(out: &mut Vec<u8>, s: &[u8]) {
    let start = out.len();
    match (s.len() <= 20).then(|| crate::cmd::parse_i64(s)).flatten() {
        Some(v) if (0..=127).contains(&v) => out.push(v as u8),
        Some(v) if (-4096..=4095).contains(&v) => {
            let u = (v as u16) & 0x1fff;
            out.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
        }
        Some(v) if i16::try_from(v).is_ok() => {
            out.push(0xf1);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
            out.push(0xf2);
            out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        Some(v) if i32::try_from(v).is_ok() => {
            out.push(0xf3);
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        Some(v) => {
            out.push(0xf4);
            out.extend_from_slice(&v.to_le_bytes());
        }
        None => {
            let n = s.len();
            if n < 64 {
                out.push(0x80 | n as u8);
            } else if n < 4096 {
                out.extend_from_slice(&[0xe0 | (n >> 8) as u8, n as u8]);
            } else {
                out.push(0xf0);
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
            out.extend_from_slice(s);
        }
    }
    let len = out.len() - start;
    lp_write_backlen(out, len);
}

/// A listpack holding `items`, in order.
pub(crate) fn listpack<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut lp = vec![0u8; LP_HEADER];
    let mut count: usize = 0;
    for s in items {
        lp_append(&mut lp, s);
        count += 1;
    }
    lp.push(LP_EOF);
    let total = lp.len() as u32;
    lp[0..4].copy_from_slice(&total.to_le_bytes());
    let count = count.min(u16::MAX as usize) as u16;
    lp[4..6].copy_from_slice(&count.to_le_bytes());
    lp
}

/// The size a listpack entry for `s` takes (for splitting quicklist nodes).
pub(crate) fn listpack_entry_size(s: &[u8]) -> usize {
    let body = if s.len() <= 20 && crate::cmd::parse_i64(s).is_some() {
        9
    } else {
        s.len()
            + if s.len() < 64 {
                1
            } else if s.len() < 4096 {
                2
            } else {
                5
            }
    };
    body + lp_backlen_size(body)
}

/// Every element of a listpack.
pub(crate) fn read_listpack(lp: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    if lp.len() < LP_HEADER + 1 {
        return Err(corrupt("listpack too short"));
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    let declared = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    if total != lp.len() || lp[lp.len() - 1] != LP_EOF {
        return Err(corrupt("listpack header"));
    }
    let mut out = Vec::with_capacity(declared.min(lp.len()));
    let mut p = LP_HEADER;
    loop {
        let b = *lp.get(p).ok_or(corrupt("listpack without terminator"))?;
        if b == LP_EOF {
            if p != lp.len() - 1 {
                return Err(corrupt("listpack terminator inside"));
            }
            break;
        }
        let (value, len) = if b & 0x80 == 0 {
            (int_bytes((b & 0x7f) as i64), 1)
        } else if b & 0xc0 == 0x80 {
            let n = (b & 0x3f) as usize;
            (Bytes::copy_from_slice(slice(lp, p + 1, n)?), 1 + n)
        } else if b & 0xe0 == 0xc0 {
            let lo = *slice(lp, p + 1, 1)?.first().unwrap_or(&0);
            let u = (((b & 0x1f) as u16) << 8 | lo as u16) as i64;
            let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
            (int_bytes(v), 2)
        } else if b & 0xf0 == 0xe0 {
            let lo = *slice(lp, p + 1, 1)?.first().unwrap_or(&0);
            let n = ((b & 0x0f) as usize) << 8 | lo as usize;
            (Bytes::copy_from_slice(slice(lp, p + 2, n)?), 2 + n)
        } else {
            match b {
                0xf0 => {
                    let n = le_int(slice(lp, p + 1, 4)?) as u32 as usize;
                    (Bytes::copy_from_slice(slice(lp, p + 5, n)?), 5 + n)
                }
                0xf1 => (int_bytes(le_int(slice(lp, p + 1, 2)?)), 3),
                0xf2 => (int_bytes(le_int(slice(lp, p + 1, 3)?)), 4),
                0xf3 => (int_bytes(le_int(slice(lp, p + 1, 4)?)), 5),
                0xf4 => (int_bytes(le_int(slice(lp, p + 1, 8)?)), 9),
                _ => return Err(corrupt("listpack entry encoding")),
            }
        };
        let next = p + len + lp_backlen_size(len);
        if next >= lp.len() {
            return Err(corrupt("listpack entry overruns"));
        }
        out.push(value);
        p = next;
    }
    if declared != u16::MAX as usize && declared != out.len() {
        return Err(corrupt("listpack element count"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// ziplist (RDB files before 7.0)

/// Every element of a ziplist.
pub(crate) fn read_ziplist(zl: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    if zl.len() < 11 {
        return Err(corrupt("ziplist too short"));
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    let declared = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    if total != zl.len() || zl[zl.len() - 1] != 0xff {
        return Err(corrupt("ziplist header"));
    }
    let mut out = Vec::with_capacity(declared.min(zl.len()));
    let mut p = 10;
    loop {
        let first = *zl.get(p).ok_or(corrupt("ziplist without terminator"))?;
        if first == 0xff {
            if p != zl.len() - 1 {
                return Err(corrupt("ziplist terminator inside"));
            }
            break;
        }
        // prevlen: 1 byte, or 0xfe then 4 bytes.
        p += if first == 0xfe { 5 } else { 1 };
        let enc = *slice(zl, p, 1)?.first().unwrap_or(&0);
        let (value, len) = match enc >> 6 {
            0 => {
                let n = (enc & 0x3f) as usize;
                (Bytes::copy_from_slice(slice(zl, p + 1, n)?), 1 + n)
            }
            1 => {
                let lo = slice(zl, p + 1, 1)?[0];
                let n = ((enc & 0x3f) as usize) << 8 | lo as usize;
                (Bytes::copy_from_slice(slice(zl, p + 2, n)?), 2 + n)
            }
            2 => {
                let b = slice(zl, p + 1, 4)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                (Bytes::copy_from_slice(slice(zl, p + 5, n)?), 5 + n)
            }
            _ => match enc {
                0xc0 => (int_bytes(le_int(slice(zl, p + 1, 2)?)), 3),
                0xd0 => (int_bytes(le_int(slice(zl, p + 1, 4)?)), 5),
                0xe0 => (int_bytes(le_int(slice(zl, p + 1, 8)?)), 9),
                0xf0 => (int_bytes(le_int(slice(zl, p + 1, 3)?)), 4),
                0xfe => (int_bytes(le_int(slice(zl, p + 1, 1)?)), 2),
                0xf1..=0xfd => (int_bytes((enc & 0x0f) as i64 - 1), 1),
                _ => return Err(corrupt("ziplist entry encoding")),
            },
        };
        p += len;
        if p >= zl.len() {
            return Err(corrupt("ziplist entry overruns"));
        }
        out.push(value);
    }
    if declared != u16::MAX as usize && declared != out.len() {
        return Err(corrupt("ziplist element count"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// intset

/// Every member of an intset (as decimal text).
pub(crate) fn read_intset(is: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    if is.len() < 8 {
        return Err(corrupt("intset too short"));
    }
    let width = u32::from_le_bytes([is[0], is[1], is[2], is[3]]) as usize;
    let count = u32::from_le_bytes([is[4], is[5], is[6], is[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) || count.checked_mul(width) != Some(is.len() - 8) {
        return Err(corrupt("intset header"));
    }
    Ok(is[8..]
        .chunks_exact(width)
        .map(|c| int_bytes(le_int(c)))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// zipmap (hashes in RDB files of Redis < 2.6)

/// The field/value pairs of a zipmap, flattened.
pub(crate) fn read_zipmap(zm: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    let mut out = Vec::new();
    let mut p = 1; // the first byte is a (saturating) entry count
    let read_len = |p: &mut usize| -> Result<Option<usize>, RdbError> {
        let b = *slice(zm, *p, 1)?.first().unwrap_or(&0);
        match b {
            0xff => Ok(None),
            0xfe => {
                let n = u32::from_le_bytes(slice(zm, *p + 1, 4)?.try_into().unwrap_or([0; 4]));
                *p += 5;
                Ok(Some(n as usize))
            }
            n => {
                *p += 1;
                Ok(Some(n as usize))
            }
        }
    };
    while let Some(klen) = read_len(&mut p)? {
        out.push(Bytes::copy_from_slice(slice(zm, p, klen)?));
        p += klen;
        let vlen = read_len(&mut p)?.ok_or(corrupt("zipmap key without value"))?;
        let free = slice(zm, p, 1)?[0] as usize;
        p += 1;
        out.push(Bytes::copy_from_slice(slice(zm, p, vlen)?));
        p = p + vlen + free;
    }
    if p != zm.len() - 1 {
        return Err(corrupt("zipmap trailing bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[Bytes]) -> Vec<String> {
        v.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn listpack_matches_redis_bytes() {
        // The single quicklist node of `RPUSH l1 a 1 -5 300 hello 70000 -2147483649` as
        // redis-server 7.0.15 DUMPs it.
        let redis = hex(
            "28000000070081610201 01dffb02c12c028568656c6c6f06f270110104f4ffffff7fffffffff09ff",
        );
        let items: [&[u8]; 7] = [
            b"a",
            b"1",
            b"-5",
            b"300",
            b"hello",
            b"70000",
            b"-2147483649",
        ];
        assert_eq!(listpack(items.iter().copied()), redis);
        assert_eq!(
            strs(&read_listpack(&redis).unwrap()),
            ["a", "1", "-5", "300", "hello", "70000", "-2147483649"]
        );
    }

    #[test]
    fn listpack_round_trips_every_entry_size() {
        let long: Vec<Vec<u8>> = [0usize, 1, 63, 64, 127, 128, 4095, 4096, 20000]
            .iter()
            .map(|&n| vec![b'x'; n])
            .collect();
        let mut items: Vec<&[u8]> = long.iter().map(|v| &v[..]).collect();
        let ints = [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-32768",
            "32767",
            "32768",
            "-8388608",
            "8388607",
            "8388608",
            "-2147483648",
            "2147483647",
            "2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "01",
            "-0",
            "+5",
        ];
        items.extend(ints.iter().map(|s| s.as_bytes()));
        let lp = listpack(items.iter().copied());
        let back = read_listpack(&lp).unwrap();
        assert_eq!(back.len(), items.len());
        for (a, b) in items.iter().zip(&back) {
            assert_eq!(*a, &b[..]);
        }
        for it in &items {
            let one = listpack([*it]);
            assert!(one.len() <= LP_HEADER + 1 + listpack_entry_size(it));
        }
    }

    #[test]
    fn intset_and_ziplist() {
        let is = hex("0400000004000000fdffffff0100000002000000a0860100");
        assert_eq!(strs(&read_intset(&is).unwrap()), ["-3", "1", "2", "100000"]);
        assert!(read_intset(&is[..is.len() - 1]).is_err());
        // A ziplist with "ab", 5 (immediate), 300 (int16) and -1 (int8), hand-assembled.
        let mut zl = vec![0u8; 10];
        zl.extend_from_slice(&[0x00, 0x02, b'a', b'b']);
        zl.extend_from_slice(&[0x04, 0xf6]);
        zl.extend_from_slice(&[0x02, 0xc0, 0x2c, 0x01]);
        zl.extend_from_slice(&[0x04, 0xfe, 0xff]);
        zl.push(0xff);
        let n = zl.len() as u32;
        zl[0..4].copy_from_slice(&n.to_le_bytes());
        zl[8..10].copy_from_slice(&4u16.to_le_bytes());
        assert_eq!(strs(&read_ziplist(&zl).unwrap()), ["ab", "5", "300", "-1"]);
    }

    #[test]
    fn zipmap() {
        let zm = [2, 1, b'a', 2, 0, b'x', b'y', 1, b'b', 1, 1, b'z', 0, 0xff];
        assert_eq!(strs(&read_zipmap(&zm).unwrap()), ["a", "xy", "b", "z"]);
    }

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}

//! RDB primitives: length encoding and string encoding, for reading and writing.
//!
//! Lengths: the top two bits of the first byte select 6-bit (`00`), 14-bit big-endian (`01`),
//! `0x80` + 32-bit big-endian, `0x81` + 64-bit big-endian, or (`11`) a special string encoding in
//! the low six bits: INT8 / INT16 / INT32 (little-endian) or LZF.

use super::{lzf, RdbError};
use bytes::Bytes;

pub(crate) const ENC_INT8: u8 = 0;
pub(crate) const ENC_INT16: u8 = 1;
pub(crate) const ENC_INT32: u8 = 2;
pub(crate) const ENC_LZF: u8 = 3;

/// What a length field holds: a plain length, or a special string encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Len {
    Plain(u64),
    Encoded(u8),
}

/// A cursor over RDB bytes. Every read is bounds-checked; no read allocates more than the bytes
/// that are actually there (LZF: at most [`lzf::MAX_EXPANSION`] times them).
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        if n > self.remaining() {
            return Err(RdbError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn take_array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.take_array::<1>()?[0])
    }

    pub(crate) fn u32_le(&mut self) -> Result<u32, RdbError> {
        Ok(u32::from_le_bytes(self.take_array()?))
    }

    pub(crate) fn u64_le(&mut self) -> Result<u64, RdbError> {
        Ok(u64::from_le_bytes(self.take_array()?))
    }

    /// A length field or a string encoding marker.
    pub(crate) fn len_or_enc(&mut self) -> Result<Len, RdbError> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Len::Plain((first & 0x3f) as u64),
            1 => Len::Plain((((first & 0x3f) as u64) << 8) | self.u8()? as u64),
            2 => match first {
                0x80 => Len::Plain(u32::from_be_bytes(self.take_array()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.take_array()?)),
                _ => return Err(RdbError::Corrupt("bad length encoding")),
            },
            _ => Len::Encoded(first & 0x3f),
        })
    }

    /// A plain length (a string encoding marker here is corruption).
    pub(crate) fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_enc()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => Err(RdbError::Corrupt("string encoding where a length belongs")),
        }
    }

    /// A plain length that is also a count of items each taking at least `min_item_bytes` of
    /// the remaining input: a safe `Vec::with_capacity` bound.
    pub(crate) fn count(&mut self, min_item_bytes: usize) -> Result<usize, RdbError> {
        let n = self.len()?;
        let max = self.remaining() / min_item_bytes.max(1);
        if n > max as u64 {
            return Err(RdbError::Truncated);
        }
        Ok(n as usize)
    }

    /// A string in any encoding, as its bytes.
    pub(crate) fn string(&mut self) -> Result<Bytes, RdbError> {
        match self.len_or_enc()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError::Truncated)?;
                Ok(Bytes::copy_from_slice(self.take(n)?))
            }
            Len::Encoded(ENC_INT8) => Ok(int_bytes(self.u8()? as i8 as i64)),
            Len::Encoded(ENC_INT16) => Ok(int_bytes(i16::from_le_bytes(self.take_array()?) as i64)),
            Len::Encoded(ENC_INT32) => Ok(int_bytes(i32::from_le_bytes(self.take_array()?) as i64)),
            Len::Encoded(ENC_LZF) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let clen = usize::try_from(clen).map_err(|_| RdbError::Truncated)?;
                let data = self.take(clen)?;
                let ulen = usize::try_from(ulen).map_err(|_| RdbError::Corrupt("LZF length"))?;
                lzf::decompress(data, ulen)
                    .map(Bytes::from)
                    .ok_or(RdbError::Corrupt("invalid LZF data"))
            }
            Len::Encoded(_) => Err(RdbError::Corrupt("unknown string encoding")),
        }
    }

    /// Skips a string in any encoding (cheaper than reading it for LZF).
    #[cfg(test)]
    pub(crate) fn skip_string(&mut self) -> Result<(), RdbError> {
        match self.len_or_enc()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError::Truncated)?;
                self.take(n)?;
            }
            Len::Encoded(ENC_INT8) => {
                self.take(1)?;
            }
            Len::Encoded(ENC_INT16) => {
                self.take(2)?;
            }
            Len::Encoded(ENC_INT32) => {
                self.take(4)?;
            }
            Len::Encoded(ENC_LZF) => {
                let clen = self.len()?;
                self.len()?;
                let clen = usize::try_from(clen).map_err(|_| RdbError::Truncated)?;
                self.take(clen)?;
            }
            Len::Encoded(_) => return Err(RdbError::Corrupt("unknown string encoding")),
        }
        Ok(())
    }
}

/// The decimal text of an integer, as bytes.
pub(crate) fn int_bytes(v: i64) -> Bytes {
    Bytes::copy_from_slice(itoa::Buffer::new().format(v).as_bytes())
}

/// Writes a length field in the shortest form.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// The value of a string that Redis would store integer-encoded: at most 11 bytes, the canonical
/// decimal text of an i64 (no `+`, no leading zeros, no `-0`) that fits in 32 bits.
fn as_encodable_int(s: &[u8]) -> Option<i32> {
    if s.len() > 11 {
        return None;
    }
    let v = crate::cmd::parse_i64(s)?;
    i32::try_from(v).ok()
}

/// Writes a string the way Redis's `rdbSaveRawString` does: integer-encoded when it is a small
/// canonical integer, LZF-compressed when `compress` is set, it is longer than 20 bytes and
/// compression saves at least 4 bytes, raw otherwise.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if let Some(v) = as_encodable_int(s) {
        if let Ok(v) = i8::try_from(v) {
            out.extend_from_slice(&[0xc0 | ENC_INT8, v as u8]);
        } else if let Ok(v) = i16::try_from(v) {
            out.push(0xc0 | ENC_INT16);
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            out.push(0xc0 | ENC_INT32);
            out.extend_from_slice(&v.to_le_bytes());
        }
        return;
    }
    if compress && s.len() > 20 {
        if let Some(z) = lzf::compress(s, s.len() - 4) {
            out.push(0xc0 | ENC_LZF);
            write_len(out, z.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&z);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_encodings_round_trip() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0x00]),
            (63, &[0x3f]),
            (64, &[0x40, 0x40]),
            (100, &[0x40, 0x64]),
            (16383, &[0x7f, 0xff]),
            (16384, &[0x80, 0, 0, 0x40, 0]),
            (u32::MAX as u64, &[0x80, 0xff, 0xff, 0xff, 0xff]),
            (1 << 32, &[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
            (
                u64::MAX,
                &[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for &(n, bytes) in cases {
            let mut out = Vec::new();
            write_len(&mut out, n);
            assert_eq!(out, bytes, "n={n}");
            let mut r = Reader::new(&out);
            assert_eq!(r.len().unwrap(), n);
            assert!(r.is_empty());
        }
        assert_eq!(
            Reader::new(&[0x82]).len(),
            Err(RdbError::Corrupt("bad length encoding"))
        );
        assert_eq!(Reader::new(&[0x80, 1]).len(), Err(RdbError::Truncated));
    }

    #[test]
    fn string_encodings_round_trip() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", &[0x00]),
            (b"hello", b"\x05hello"),
            (b"0", &[0xc0, 0]),
            (b"-1", &[0xc0, 0xff]),
            (b"127", &[0xc0, 127]),
            (b"128", &[0xc1, 128, 0]),
            (b"12345", &[0xc1, 0x39, 0x30]),
            (b"-70000", &[0xc2, 0x90, 0xee, 0xfe, 0xff]),
            (b"2147483647", &[0xc2, 0xff, 0xff, 0xff, 0x7f]),
            (b"2147483648", b"\x0a2147483648"),
            (b"12345678901", b"\x0b12345678901"),
            (b"007", b"\x03007"),
            (b"-0", b"\x02-0"),
            (b"+1", b"\x02+1"),
        ];
        for &(s, bytes) in cases {
            let mut out = Vec::new();
            write_string(&mut out, s, true);
            assert_eq!(out, bytes, "{:?}", String::from_utf8_lossy(s));
            let mut r = Reader::new(&out);
            assert_eq!(&r.string().unwrap()[..], s);
            assert!(r.is_empty());
        }
        // Long strings: compressed when it pays, raw otherwise; both read back.
        let long = vec![b'z'; 1000];
        let mut out = Vec::new();
        write_string(&mut out, &long, true);
        assert_eq!(out[0], 0xc3);
        assert!(out.len() < 50);
        assert_eq!(&Reader::new(&out).string().unwrap()[..], &long[..]);
        let mut raw = Vec::new();
        write_string(&mut raw, &long, false);
        assert_eq!(raw.len(), 1000 + 2);
        assert_eq!(&Reader::new(&raw).string().unwrap()[..], &long[..]);
    }

    #[test]
    fn lzf_string_from_redis() {
        let bytes = [
            0xc3, 0x09, 0x40, 0x64, 0x01, 0x61, 0x61, 0xe0, 0x57, 0x00, 0x01, 0x61, 0x61,
        ];
        assert_eq!(&Reader::new(&bytes).string().unwrap()[..], &[b'a'; 100][..]);
        let mut r = Reader::new(&bytes);
        r.skip_string().unwrap();
        assert!(r.is_empty());
    }
}

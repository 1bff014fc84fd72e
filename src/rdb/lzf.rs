//! LZF, the compression RDB uses for strings longer than 20 bytes (`rdbcompression yes`).
//!
//! The format: a control byte `c`. `c < 32`: a literal run of `c + 1` bytes follows. Otherwise a
//! back-reference: length field `c >> 5` (7 means "add the next byte"), plus 2, bytes copied from
//! `((c & 0x1f) << 8) + next byte + 1` bytes back in the output (the copy may overlap itself).
//!
//! [`decompress`] reads any valid stream. [`compress`] is an independent greedy implementation
//! (hash of the next three bytes, one candidate per bucket): its output decodes with liblzf and
//! with [`decompress`], but is not byte-identical to what liblzf would produce.

/// The most output one input byte can yield: a 3-byte long back-reference copies 264 bytes.
pub const MAX_EXPANSION: usize = 88;

const MAX_LIT: usize = 32;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3); // 264

/// Decompresses `input`, which must expand to exactly `out_len` bytes. None on any malformed
/// input (bad reference, overrun, wrong final length). Never allocates more than `out_len`, and
/// refuses an `out_len` larger than the input could ever expand to.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if out_len > input.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run)?;
            if out.len() + run > out_len {
                return None;
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip)? as usize;
                ip += 1;
            }
            len += 2;
            let back = ((ctrl & 0x1f) << 8) + *input.get(ip)? as usize + 1;
            ip += 1;
            if back > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - back;
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

/// Compresses `input`; None if the result would be longer than `max_out` bytes (the caller then
/// stores the string raw).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n == 0 {
        return None;
    }
    // A table sized to the input keeps small strings cheap.
    let hlog = (usize::BITS - n.leading_zeros()).clamp(8, 14);
    let mask = (1usize << hlog) - 1;
    let mut table = vec![u32::MAX; 1 << hlog];
    let hash = |i: usize| -> usize {
        let v = (input[i] as u32) << 16 | (input[i + 1] as u32) << 8 | input[i + 2] as u32;
        (v.wrapping_mul(0x9e37_79b1) >> (32 - hlog)) as usize & mask
    };
    let mut out = Vec::with_capacity(max_out.min(n + n / 32 + 1));
    let mut lit_start = 0;
    let mut i = 0;
    let flush = |out: &mut Vec<u8>, lits: &[u8]| {
        for chunk in lits.chunks(MAX_LIT) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
    };
    while i + 2 < n {
        let h = hash(i);
        let cand = table[h];
        table[h] = i as u32;
        if cand != u32::MAX {
            let cand = cand as usize;
            let off = i - cand - 1;
            if off < MAX_OFF && input[cand..cand + 3] == input[i..i + 3] {
                let max_len = MAX_REF.min(n - i);
                let mut len = 3;
                while len < max_len && input[cand + len] == input[i + len] {
                    len += 1;
                }
                flush(&mut out, &input[lit_start..i]);
                let field = len - 2;
                if field < 7 {
                    out.push(((field << 5) | (off >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (off >> 8)) as u8);
                    out.push((field - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                // Index a couple of positions inside the match so runs chain well.
                let end = i + len;
                let mut j = i + 1;
                while j < end && j + 2 < n && j < i + 3 {
                    let h = hash(j);
                    table[h] = j as u32;
                    j += 1;
                }
                i = end;
                lit_start = i;
                if out.len() > max_out {
                    return None;
                }
                continue;
            }
        }
        i += 1;
    }
    flush(&mut out, &input[lit_start..]);
    (out.len() <= max_out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_liblzf_output_from_redis() {
        // redis-server 7.0.15 `DUMP` of "a" x 100: c3 09 40 64 | 01 61 61 e0 57 00 01 61 61.
        let packed = [0x01, 0x61, 0x61, 0xe0, 0x57, 0x00, 0x01, 0x61, 0x61];
        assert_eq!(decompress(&packed, 100), Some(vec![b'a'; 100]));
        assert_eq!(decompress(&packed, 99), None);
        assert_eq!(decompress(&packed, 101), None);
    }

    #[test]
    fn rejects_bad_references_and_huge_lengths() {
        assert_eq!(decompress(&[0x20, 0x00], 3), None); // reference before the start
        assert_eq!(decompress(&[0x05, b'a'], 6), None); // truncated literal
        assert_eq!(decompress(&[0x00, b'a'], usize::MAX), None);
    }

    #[test]
    fn round_trips() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![b'a'; 100],
            b"abcabcabcabcabcabcabcabcabc-hello-hello-hello".to_vec(),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..20000u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
                .collect(),
        ];
        cases.push(vec![0; 70000]);
        for c in cases {
            let Some(z) = compress(&c, c.len()) else {
                continue;
            };
            assert_eq!(decompress(&z, c.len()).as_deref(), Some(&c[..]));
        }
        assert!(compress(&[b'x'; 100], 97).unwrap().len() < 20);
    }
}

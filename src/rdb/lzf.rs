//! LZF, the compression RDB uses for strings longer than 20 bytes (`rdbcompression yes`).
//!
//! The format: a control byte `c`. `c < 32`: a literal run of `c + 1` bytes follows. Otherwise a
//! back-reference: length field `c >> 5` (7 means "add the next byte"), plus 2, bytes copied from
//! `((c & 0x1f) << 8) + next byte + 1` bytes back in the output (the copy may overlap itself).
//!
//! [`decompress`] reads any valid stream. [`compress`] makes the same choices as liblzf as
//! Redis builds it, so its output is byte-identical to redis-server's (see its doc).

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

/// log2 of the hash table size liblzf is built with in Redis (HLOG).
const HLOG: u32 = 16;

/// The table index of liblzf's VERY_FAST variant; `h` is its running value, the last four
/// bytes read with the newest lowest.
fn slot(h: u32) -> usize {
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HLOG) - 1)) as usize
}

/// Compresses `input` into at most `max_out` bytes, or None when liblzf would give up (the
/// caller then stores the string raw).
///
/// The output is byte-identical to liblzf 3.6 as Redis builds it (HLOG 16, VERY_FAST, no
/// table initialisation, so an empty table is assumed): the same hash, the same candidate
/// rules (one per bucket, within 8 KiB, never position 0), the same greedy match extension
/// up to 264 bytes, the same re-hashing of the last two positions of a match, and the same
/// conservative room checks that decide when to give up. Equal bytes matter because DUMP,
/// RDB files and full syncs of long strings must equal redis-server's.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n == 0 || max_out == 0 {
        return None;
    }
    HASH_TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let table = &mut *t;
        table.begin();
        compress_with(input, max_out, table)
    })
}

/// liblzf's hash table (the last position seen for each 3-byte hash), kept per thread: a
/// fresh 2^16-entry table for every string would cost more than compressing a short one. An
/// entry counts only if it carries the current call's stamp, so starting a call is O(1).
struct HashTable {
    /// `stamp << 32 | position`; 0 is never a current stamp.
    slots: Vec<u64>,
    stamp: u64,
}

impl HashTable {
    fn begin(&mut self) {
        if self.slots.is_empty() {
            self.slots = vec![0; 1 << HLOG];
        }
        self.stamp += 1;
        if self.stamp > u32::MAX as u64 {
            self.slots.fill(0);
            self.stamp = 1;
        }
    }

    fn get(&self, h: usize) -> Option<usize> {
        let e = self.slots[h];
        (e >> 32 == self.stamp).then_some((e & 0xffff_ffff) as usize)
    }

    fn set(&mut self, h: usize, pos: usize) {
        self.slots[h] = self.stamp << 32 | pos as u64;
    }
}

thread_local! {
    static HASH_TABLE: std::cell::RefCell<HashTable> = const {
        std::cell::RefCell::new(HashTable {
            slots: Vec::new(),
            stamp: 0,
        })
    };
}

/// [`compress`] with a table already begun.
fn compress_with(input: &[u8], max_out: usize, table: &mut HashTable) -> Option<Vec<u8>> {
    let n = input.len();
    // Positions are stored in 32 bits (RDB strings are at most 512 MB by default); longer
    // inputs are stored uncompressed.
    if n > u32::MAX as usize {
        return None;
    }
    let at = |i: usize| input.get(i).copied().unwrap_or(0) as u32;
    // Room past max_out: the bound checks below stop before writing more than a few bytes
    // beyond it, as liblzf's do.
    let out_end = max_out;
    let mut out = vec![0u8; max_out + 8];
    let mut ip = 0usize;
    let mut op = 1usize; // out[op - lit - 1] is the open literal run's control byte
    let mut lit = 0usize;
    let mut hval = (at(0) << 8) | at(1);
    while ip + 2 < n {
        hval = (hval << 8) | at(ip + 2);
        let h = slot(hval);
        let cand = table.get(h);
        table.set(h, ip);
        let found = cand.filter(|&r| {
            r > 0
                && r < ip
                && ip - r - 1 < MAX_OFF
                && input[r + 2] == input[ip + 2]
                && input[r] == input[ip]
                && input[r + 1] == input[ip + 1]
        });
        let Some(r) = found else {
            // One more literal byte.
            if op >= out_end {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
            continue;
        };
        let off = ip - r - 1;
        let maxlen = (n - ip - 2).min(MAX_REF);
        let no_lit = (lit == 0) as usize;
        if op + 4 >= out_end && op - no_lit + 4 >= out_end {
            return None;
        }
        // Close the literal run (or take back its unused control byte).
        out[op - lit - 1] = (lit as u8).wrapping_sub(1);
        op -= no_lit;
        // Extend the match: liblzf first compares 16 bytes unchecked when more than 16 may
        // follow, then one at a time up to maxlen; both stop at the first difference.
        let mut len = 2usize;
        let mut unrolled_mismatch = false;
        if maxlen > 16 {
            for _ in 0..16 {
                len += 1;
                if input[r + len] != input[ip + len] {
                    unrolled_mismatch = true;
                    break;
                }
            }
        }
        if !unrolled_mismatch {
            loop {
                len += 1;
                if !(len < maxlen && input[r + len] == input[ip + len]) {
                    break;
                }
            }
        }
        let len = len - 2;
        ip += 1;
        if len < 7 {
            out[op] = ((off >> 8) + (len << 5)) as u8;
            op += 1;
        } else {
            out[op] = ((off >> 8) + (7 << 5)) as u8;
            out[op + 1] = (len - 7) as u8;
            op += 2;
        }
        out[op] = off as u8;
        op += 1;
        lit = 0;
        op += 1;
        ip += len + 1;
        if ip + 2 >= n {
            break;
        }
        // Hash the last two positions of the match.
        ip -= 2;
        hval = (at(ip) << 8) | at(ip + 1);
        hval = (hval << 8) | at(ip + 2);
        table.set(slot(hval), ip);
        ip += 1;
        hval = (hval << 8) | at(ip + 2);
        table.set(slot(hval), ip);
        ip += 1;
    }
    if op + 3 > out_end {
        return None;
    }
    while ip < n {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= (lit == 0) as usize;
    if op > out_end {
        return None;
    }
    out.truncate(op);
    Some(out)
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
    fn compresses_as_liblzf_does() {
        let packed = [0x01, 0x61, 0x61, 0xe0, 0x57, 0x00, 0x01, 0x61, 0x61];
        assert_eq!(compress(&[b'a'; 100], 96).as_deref(), Some(&packed[..]));
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

//! HyperLogLog values, byte for byte in Redis 7.0's representation, so that an HLL key's
//! string (GET, DUMP, RDB, replication) is interchangeable with redis-server's.
//!
//! Layout: a 16-byte header — `"HYLL"`, the encoding (0 dense, 1 sparse), three zero bytes,
//! and the cached cardinality as 8 little-endian bytes whose top bit set means "stale" — then
//! the 16384 registers (P = 14), each holding the longest run of zeros seen plus one:
//!
//! - **dense**: 6 bits a register, packed from the least significant bit of each byte
//!   (12288 bytes);
//! - **sparse**: run-length opcodes: `00xxxxxx` ZERO (1..64 zero registers), `01xxxxxx
//!   yyyyyyyy` XZERO (1..16384 zero registers), `1vvvvvxx` VAL (1..4 registers of value
//!   1..32). A new HLL is sparse; it turns dense when a register needs more than 32 or when
//!   the sparse string would pass `hll-sparse-max-bytes`.
//!
//! The hash is MurmurHash64A with Redis's seed, and the estimator is Ertl's improved one
//! (Redis's hllCount), computed with the same double operations so the counts are identical.
//! Sparse updates follow the same split and merge steps as Redis's hllSparseSet, because a
//! different (even if equivalent) opcode sequence would give different bytes.

use thiserror::Error;

/// log2 of the number of registers.
pub const P: u32 = 14;
/// Bits of the hash left after the register index.
pub const Q: u32 = 64 - P;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Header bytes.
pub const HDR: usize = 16;
/// Bits a dense register takes.
const BITS: usize = 6;
/// Largest register value.
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Total length of a dense HLL string.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
/// The hash seed Redis uses.
const SEED: u64 = 0xadc8_3b19;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;

/// 0.5 / ln(2)
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The two stored encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

impl Encoding {
    /// The name PFDEBUG ENCODING prints.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        }
    }
}

/// A sparse HLL whose opcodes do not describe exactly 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("INVALIDOBJ Corrupted HLL object detected")]
pub struct Corrupted;

/// MurmurHash2, 64-bit version (MurmurHash64A), reading 8-byte blocks little-endian as Redis
/// does on every architecture.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for b in &mut blocks {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        let mut k = u64::from_le_bytes(w);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and its pattern length (zeros before the first one, plus
/// one; at most Q + 1).
pub fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, SEED);
    let index = (hash as usize) & (REGISTERS - 1);
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// The encoding of a string that is a well-formed HLL header (Redis's isHLLObjectOrReply:
/// magic, a known encoding, and the exact length when dense); None otherwise.
pub fn check(s: &[u8]) -> Option<Encoding> {
    if s.len() < HDR || &s[..4] != b"HYLL" {
        return None;
    }
    match s[4] {
        0 if s.len() == DENSE_SIZE => Some(Encoding::Dense),
        1 => Some(Encoding::Sparse),
        _ => None,
    }
}

/// A new, empty HLL: sparse, one XZERO covering every register, cached cardinality 0.
pub fn new_sparse() -> Vec<u8> {
    let mut s = Vec::with_capacity(HDR + 2);
    s.extend_from_slice(b"HYLL");
    s.extend_from_slice(&[1, 0, 0, 0]);
    s.extend_from_slice(&[0; 8]);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut s, n);
        left -= n;
    }
    s
}

/// The cached cardinality, when valid.
pub fn cached(s: &[u8]) -> Option<u64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[8..16]);
    (s[15] & 0x80 == 0).then_some(u64::from_le_bytes(w))
}

/// Stores a freshly computed cardinality.
pub fn set_cached(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality stale.
pub fn invalidate(s: &mut [u8]) {
    s[15] |= 0x80;
}

// ---------------------------------------------------------------------------------------------
// Dense registers.

/// A dense register (`regs` is the part after the header).
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u16;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u16) as u8
}

/// Sets a dense register.
pub fn dense_set_raw(regs: &mut [u8], i: usize, v: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = v as u16;
    regs[byte] &= !((REGISTER_MAX as u16) << fb) as u8;
    regs[byte] |= (v << fb) as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        *next &= !((REGISTER_MAX as u16) >> (8 - fb)) as u8;
        *next |= (v >> (8 - fb)) as u8;
    }
}

/// Raises a dense register to `count`; true if it changed.
fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set_raw(regs, i, count);
        true
    } else {
        false
    }
}

// ---------------------------------------------------------------------------------------------
// Sparse opcodes.

/// One decoded sparse opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `len` zero registers, in `bytes` opcode bytes (1: ZERO, 2: XZERO).
    Zero { len: usize, bytes: usize },
    /// `len` registers of value `value`.
    Val { value: u8, len: usize },
}

impl Op {
    fn span(self) -> usize {
        match self {
            Op::Zero { len, .. } | Op::Val { len, .. } => len,
        }
    }

    fn bytes(self) -> usize {
        match self {
            Op::Zero { bytes, .. } => bytes,
            Op::Val { .. } => 1,
        }
    }
}

fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}

fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}

fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}

fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

/// Decodes the opcode at `p` (a truncated XZERO reads a zero second byte).
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    if is_zero(b) {
        Op::Zero {
            len: (b & 0x3f) as usize + 1,
            bytes: 1,
        }
    } else if is_val(b) {
        Op::Val {
            value: val_value(b),
            len: val_len(b),
        }
    } else {
        let lo = s.get(p + 1).copied().unwrap_or(0) as usize;
        Op::Zero {
            len: ((((b & 0x3f) as usize) << 8) | lo) + 1,
            bytes: 2,
        }
    }
}

fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push((l >> 8) as u8 | 0x40);
    out.push((l & 0xff) as u8);
}

/// Appends the shortest zero-run opcode for `len` registers (Redis's choice: ZERO up to 64).
fn push_zeros(out: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        push_xzero(out, len);
    } else {
        out.push((len - 1) as u8);
    }
}

/// Walks the sparse opcodes of `s` (after the header), calling `f(first_register, op)`;
/// returns the number of registers described.
fn walk_sparse(s: &[u8], mut f: impl FnMut(usize, Op) -> bool) -> usize {
    let mut p = HDR;
    let mut idx = 0usize;
    while p < s.len() {
        let op = op_at(s, p);
        if !f(idx, op) {
            break;
        }
        idx += op.span();
        p += op.bytes();
    }
    idx
}

/// The dense form of a sparse HLL (header kept, encoding changed), as Redis's hllSparseToDense.
pub fn sparse_to_dense(s: &[u8]) -> Result<Vec<u8>, Corrupted> {
    let mut d = vec![0u8; DENSE_SIZE];
    d[..HDR].copy_from_slice(&s[..HDR]);
    d[4] = 0;
    let regs = &mut d[HDR..];
    let idx = walk_sparse(s, |first, op| match op {
        Op::Zero { .. } => true,
        Op::Val { value, len } => {
            if first + len > REGISTERS {
                return false;
            }
            for i in first..first + len {
                dense_set_raw(regs, i, value);
            }
            true
        }
    });
    // A VAL past the end stops the walk early, so idx is short of REGISTERS then too.
    if idx != REGISTERS {
        return Err(Corrupted);
    }
    Ok(d)
}

/// Raises register `index` of a sparse HLL to `count` (Redis's hllSparseSet), splitting and
/// re-merging opcodes in place; turns the HLL dense when the value does not fit a VAL opcode
/// or the string would grow past `max_bytes`. True if a register changed.
pub fn sparse_set(
    s: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupted> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let end = s.len();
    let mut p = HDR;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut found: Option<Op> = None;
    while p < end {
        let op = op_at(s, p);
        if index < first + op.span() {
            found = Some(op);
            break;
        }
        prev = Some(p);
        p += op.bytes();
        first += op.span();
    }
    let Some(op) = found else {
        return Err(Corrupted);
    };
    if p + op.bytes() > end {
        return Err(Corrupted);
    }
    let span = op.span();
    // Step 2: the trivial cases, changed in place.
    let trivial = match op {
        Op::Val { value, .. } if value >= count => return Ok(false),
        Op::Val { len: 1, .. } | Op::Zero { len: 1, bytes: 1 } => true,
        _ => false,
    };
    if trivial {
        s[p] = val_op(count, 1);
    } else {
        // Step 3: split the opcode around `index`.
        let last = first + span - 1;
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        match op {
            Op::Zero { .. } => {
                if index != first {
                    push_zeros(&mut seq, index - first);
                }
                seq.push(val_op(count, 1));
                if index != last {
                    push_zeros(&mut seq, last - index);
                }
            }
            Op::Val { value, .. } => {
                if index != first {
                    seq.push(val_op(value, index - first));
                }
                seq.push(val_op(count, 1));
                if index != last {
                    seq.push(val_op(value, last - index));
                }
            }
        }
        let old_len = op.bytes();
        if seq.len() > old_len && s.len() + (seq.len() - old_len) > max_bytes {
            return promote(s, index, count);
        }
        s.splice(p..p + old_len, seq);
    }
    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to five opcodes from the
    // one before the change.
    let mut q = prev.unwrap_or(HDR);
    let mut scan = 5;
    while q < s.len() && scan > 0 {
        scan -= 1;
        let b = s[q];
        if is_xzero(b) {
            q += 2;
            continue;
        }
        if is_zero(b) {
            q += 1;
            continue;
        }
        if q + 1 < s.len() && is_val(s[q + 1]) {
            let (v1, v2) = (val_value(b), val_value(s[q + 1]));
            let len = val_len(b) + val_len(s[q + 1]);
            if v1 == v2 && len <= SPARSE_VAL_MAX_LEN {
                s[q + 1] = val_op(v1, len);
                s.remove(q);
                continue;
            }
        }
        q += 1;
    }
    invalidate(s);
    Ok(true)
}

/// Turns `s` dense and sets the register there (a register always changes on this path).
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupted> {
    let mut d = sparse_to_dense(s)?;
    dense_set(&mut d[HDR..], index, count);
    *s = d;
    Ok(true)
}

/// Adds an element (PFADD's step); true if a register changed. The caller invalidates the
/// cache.
pub fn add(s: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupted> {
    let (index, count) = pattern(ele);
    match check(s) {
        Some(Encoding::Dense) => Ok(dense_set(&mut s[HDR..], index, count)),
        Some(Encoding::Sparse) => sparse_set(s, index, count, max_bytes),
        None => Err(Corrupted),
    }
}

/// Raises `max[i]` to every register of `s` (Redis's hllMerge).
pub fn merge_into(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupted> {
    match check(s) {
        Some(Encoding::Dense) => {
            let regs = &s[HDR..];
            for (i, m) in max.iter_mut().enumerate() {
                *m = (*m).max(dense_get(regs, i));
            }
            Ok(())
        }
        Some(Encoding::Sparse) => {
            let idx = walk_sparse(s, |first, op| match op {
                Op::Zero { .. } => true,
                Op::Val { value, len } => {
                    if first + len > REGISTERS {
                        return false;
                    }
                    for m in &mut max[first..first + len] {
                        *m = (*m).max(value);
                    }
                    true
                }
            });
            if idx == REGISTERS {
                Ok(())
            } else {
                Err(Corrupted)
            }
        }
        None => Err(Corrupted),
    }
}

/// Writes merged registers into `s` (PFMERGE's destination): dense when `dense`, else
/// register by register through the sparse path (which may turn it dense on the way).
pub fn store_registers(
    s: &mut Vec<u8>,
    max: &[u8; REGISTERS],
    dense: bool,
    max_bytes: usize,
) -> Result<(), Corrupted> {
    if dense && check(s) == Some(Encoding::Sparse) {
        *s = sparse_to_dense(s)?;
    }
    for (i, &v) in max.iter().enumerate() {
        if v == 0 {
            continue;
        }
        match check(s) {
            Some(Encoding::Dense) => {
                dense_set(&mut s[HDR..], i, v);
            }
            // Redis ignores a failure here (the sources were already checked).
            _ => {
                let _ = sparse_set(s, i, v, max_bytes);
            }
        }
    }
    invalidate(s);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Counting.

/// The register-value histogram of an HLL string; Err for a sparse one that does not cover
/// exactly the 16384 registers.
pub fn histogram(s: &[u8]) -> Result<[u64; 64], Corrupted> {
    let mut h = [0u64; 64];
    match check(s) {
        Some(Encoding::Dense) => {
            let regs = &s[HDR..];
            for i in 0..REGISTERS {
                h[dense_get(regs, i) as usize] += 1;
            }
            Ok(h)
        }
        Some(Encoding::Sparse) => {
            let idx = walk_sparse(s, |_, op| {
                match op {
                    Op::Zero { len, .. } => h[0] = h[0].saturating_add(len as u64),
                    Op::Val { value, len } => {
                        h[value as usize] = h[value as usize].saturating_add(len as u64)
                    }
                }
                true
            });
            if idx == REGISTERS {
                Ok(h)
            } else {
                Err(Corrupted)
            }
        }
        None => Err(Corrupted),
    }
}

/// The histogram of plain byte registers (PFCOUNT over several keys).
pub fn raw_histogram(regs: &[u8; REGISTERS]) -> [u64; 64] {
    let mut h = [0u64; 64];
    for &r in regs {
        h[(r & 63) as usize] += 1;
    }
    h
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        // powf, not a multiplication: the same libm pow Redis calls.
        z -= (1.0 - x).powf(2.0) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a register histogram (Ertl's estimator, as Redis computes
/// it).
pub fn estimate(h: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[(Q + 1) as usize] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// PFDEBUG DECODE's text of a sparse HLL: `z:N`, `Z:N`, `v:VALUE,LEN` separated by spaces.
pub fn decode(s: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HDR;
    while p < s.len() {
        let b = s[p];
        let op = op_at(s, p);
        let text = match op {
            Op::Val { value, len } => format!("v:{value},{len}"),
            Op::Zero { len, .. } if is_xzero(b) => format!("Z:{len}"),
            Op::Zero { len, .. } => format!("z:{len}"),
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&text);
        p += op.bytes();
    }
    out
}

/// PFSELFTEST: register access round trips with random values, then 10 million elements into
/// a dense and a sparse HLL at once, checking at each power of ten that the sparse one stayed
/// sparse while small, that both count the same, and that the error is within bounds. `rand`
/// gives the random numbers (the node's RNG).
pub fn self_test(mut rand: impl FnMut() -> u64, max_bytes: usize) -> Result<(), String> {
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut expect = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, e) in expect.iter_mut().enumerate() {
            let r = (rand() as u8) & REGISTER_MAX;
            *e = r;
            dense_set_raw(&mut dense[HDR..], i, r);
        }
        for (i, &e) in expect.iter().enumerate() {
            let v = dense_get(&dense[HDR..], i);
            if v != e {
                return Err(format!("TESTFAILED Register {i} should be {e} but is {v}"));
            }
        }
    }
    dense[HDR..].fill(0);
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = rand();
    let count = |s: &[u8]| histogram(s).map(|h| estimate(&h)).unwrap_or(u64::MAX);
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        let (index, c) = pattern(&ele);
        dense_set(&mut dense[HDR..], index, c);
        add(&mut sparse, &ele, max_bytes).map_err(|e| e.to_string())?;
        if j != checkpoint {
            continue;
        }
        if (j as usize) < max_bytes / 2 && check(&sparse) != Some(Encoding::Sparse) {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let card = count(&dense);
        if card != count(&sparse) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - card as i64).unsigned_abs();
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_matches_known_values() {
        // MurmurHash64A of the empty input with seed 0 is 0.
        assert_eq!(murmur64a(b"", 0), 0);
        let a = murmur64a(b"hello", SEED);
        assert_eq!(a, murmur64a(b"hello", SEED));
        assert_ne!(a, murmur64a(b"hellp", SEED));
    }

    #[test]
    fn new_hll_is_two_xzeros() {
        let s = new_sparse();
        assert_eq!(s.len(), HDR + 2);
        assert_eq!(check(&s), Some(Encoding::Sparse));
        assert_eq!(decode(&s), "Z:16384");
        assert_eq!(estimate(&histogram(&s).unwrap()), 0);
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        for i in 0..REGISTERS {
            dense_set_raw(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = new_sparse();
        let mut d = sparse_to_dense(&s).unwrap();
        for i in 0..5000u32 {
            let e = i.to_string();
            add(&mut s, e.as_bytes(), 3000).unwrap();
            add(&mut d, e.as_bytes(), 3000).unwrap();
            if check(&s) == Some(Encoding::Sparse) {
                assert_eq!(histogram(&s).unwrap(), histogram(&d).unwrap(), "after {i}");
                assert!(s.len() <= 3000);
            }
        }
        assert_eq!(check(&s), Some(Encoding::Dense));
        assert_eq!(s[HDR..], d[HDR..]);
    }

    #[test]
    fn corrupted_sparse_is_refused() {
        let mut s = new_sparse();
        s.truncate(HDR + 1);
        assert!(histogram(&s).is_err());
        assert!(sparse_to_dense(&s).is_err());
        let mut t = new_sparse();
        t.push(0x80);
        assert!(histogram(&t).is_err());
        let mut u = new_sparse();
        u.truncate(HDR);
        assert!(add(&mut u, b"x", 3000).is_err());
    }
}

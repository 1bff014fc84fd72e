//! DEBUG DIGEST / DIGEST-VALUE: a 160-bit fingerprint of the dataset.
//!
//! Each key contributes SHA-1(key, type, value, expire time); the keys' fingerprints are XORed,
//! so the result does not depend on iteration order and equal datasets on different nodes (a
//! master and its replica, a node before and after a restart) print equal digests. An empty
//! keyspace is all zeros, as in Redis. The exact bytes are keyslot's own, not Redis's.

use crate::db::{Db, Entry, Value};

/// A 20-byte fingerprint.
pub type Digest = [u8; 20];

/// The fingerprint of the whole keyspace (expired keys excluded).
pub fn dataset(db: &Db, now_ms: u64) -> Digest {
    let mut acc = [0u8; 20];
    for (key, entry) in db.entries() {
        if entry.expire_ms().is_some_and(|t| t <= now_ms) {
            continue;
        }
        xor_into(&mut acc, &entry_digest(key, entry));
    }
    acc
}

/// The fingerprint of one key's value (no key name, no TTL), zeros when the key is missing, as
/// DEBUG DIGEST-VALUE prints.
pub fn key_value(db: &mut Db, key: &[u8], now_ms: u64) -> Digest {
    match db.get(key, now_ms) {
        Some(entry) => {
            let mut h = Sha1::new();
            feed_value(&mut h, &entry.value);
            h.finish()
        }
        None => [0; 20],
    }
}

/// Lowercase hex, 40 characters.
pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn xor_into(acc: &mut Digest, d: &Digest) {
    for (a, b) in acc.iter_mut().zip(d) {
        *a ^= b;
    }
}

fn entry_digest(key: &[u8], entry: &Entry) -> Digest {
    let mut h = Sha1::new();
    feed_field(&mut h, key);
    feed_value(&mut h, &entry.value);
    if let Some(t) = entry.expire_ms() {
        feed_field(&mut h, b"!expire");
        h.update(&t.to_be_bytes());
    }
    h.finish()
}

/// Feeds a value: its type name, then its content. Collections must feed their elements in an
/// order that does not depend on hashing (sort them, or XOR per-element digests).
fn feed_value(h: &mut Sha1, value: &Value) {
    feed_field(h, value.type_name().as_bytes());
    match value {
        Value::Str(s) => feed_field(h, s),
        Value::List(l) => {
            h.update(&(l.len() as u64).to_be_bytes());
            for e in l.iter() {
                feed_field(h, e);
            }
        }
        Value::Hash(map) => {
            // Hash order is not part of the value: XOR per-field digests.
            let mut acc = [0u8; 20];
            for (f, v) in map.iter() {
                let mut e = Sha1::new();
                feed_field(&mut e, f);
                feed_field(&mut e, v);
                xor_into(&mut acc, &e.finish());
            }
            h.update(&(map.len() as u64).to_be_bytes());
            h.update(&acc);
        }
        Value::Set(set) => {
            let mut acc = [0u8; 20];
            for m in set.iter() {
                let mut e = Sha1::new();
                feed_field(&mut e, m);
                xor_into(&mut acc, &e.finish());
            }
            h.update(&(set.len() as u64).to_be_bytes());
            h.update(&acc);
        }
        Value::Stream(s) => feed_stream(h, s),
        Value::ZSet(z) => {
            // Score order is part of the value and deterministic.
            h.update(&(z.len() as u64).to_be_bytes());
            for (m, score) in z.iter() {
                feed_field(h, m);
                h.update(&score.to_bits().to_be_bytes());
            }
        }
    }
}

/// A stream: its entries in ID order, its IDs and counters, and its groups (names sorted)
/// with their PELs and consumers. Delivery and seen times are left out: they are wall-clock
/// values a replica may set differently for a read it did not serve.
fn feed_stream(h: &mut Sha1, s: &crate::db::stream::Stream) {
    use crate::db::stream::StreamId;
    h.update(&s.len().to_be_bytes());
    for it in s.range(StreamId::MIN, StreamId::MAX, 0, false) {
        feed_field(h, &it.id.encode());
        h.update(&(it.pairs.len() as u64).to_be_bytes());
        for p in &it.pairs {
            feed_field(h, p);
        }
    }
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        feed_field(h, &id.encode());
    }
    h.update(&s.entries_added.to_be_bytes());
    h.update(&(s.groups.len() as u64).to_be_bytes());
    for (name, g) in &s.groups {
        feed_field(h, name);
        feed_field(h, &g.last_id.encode());
        h.update(&g.entries_read.to_be_bytes());
        h.update(&(g.pel.len() as u64).to_be_bytes());
        for (id, n) in &g.pel {
            feed_field(h, &id.encode());
            feed_field(h, &n.consumer);
            h.update(&n.delivery_count.to_be_bytes());
        }
        h.update(&(g.consumers.len() as u64).to_be_bytes());
        for c in g.consumers.keys() {
            feed_field(h, c);
        }
    }
}

/// Length-prefixed bytes, so `("ab","c")` and `("a","bc")` differ.
fn feed_field(h: &mut Sha1, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// A plain SHA-1 (FIPS 180-1). Used for fingerprints only, never for security.
struct Sha1 {
    state: [u32; 5],
    block: [u8; 64],
    block_len: usize,
    total_len: u64,
}

impl Sha1 {
    fn new() -> Sha1 {
        Sha1 {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            block: [0; 64],
            block_len: 0,
            total_len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total_len = self.total_len.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let take = (64 - self.block_len).min(data.len());
            self.block[self.block_len..self.block_len + take].copy_from_slice(&data[..take]);
            self.block_len += take;
            data = &data[take..];
            if self.block_len == 64 {
                let block = self.block;
                self.compress(&block);
                self.block_len = 0;
            }
        }
    }

    fn finish(mut self) -> Digest {
        let bit_len = self.total_len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.block_len != 56 {
            self.update(&[0]);
        }
        self.update(&bit_len.to_be_bytes());
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    fn compress(&mut self, block: &[u8; 64]) {
        let mut w = [0u32; 80];
        for (i, chunk) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = self.state;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (s, v) in self.state.iter_mut().zip([a, b, c, d, e]) {
            *s = s.wrapping_add(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn sha1_hex(data: &[u8]) -> String {
        let mut h = Sha1::new();
        h.update(data);
        hex(&h.finish())
    }

    #[test]
    fn sha1_known_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let long = vec![b'a'; 1000];
        assert_eq!(sha1_hex(&long), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    }

    #[test]
    fn dataset_digest_is_order_independent() {
        let mut a = Db::new(1);
        let mut b = Db::new(2);
        assert_eq!(hex(&dataset(&a, 0)), "0".repeat(40));
        for (k, v) in [("x", "1"), ("y", "2"), ("z", "3")] {
            a.insert(Bytes::from(k), Value::Str(Bytes::from(v)), None);
        }
        for (k, v) in [("z", "3"), ("x", "1"), ("y", "2")] {
            b.insert(Bytes::from(k), Value::Str(Bytes::from(v)), None);
        }
        assert_eq!(dataset(&a, 0), dataset(&b, 0));
        b.insert(Bytes::from("y"), Value::Str(Bytes::from("22")), None);
        assert_ne!(dataset(&a, 0), dataset(&b, 0));
        b.insert(
            Bytes::from("y"),
            Value::Str(Bytes::from("2")),
            Some(u64::MAX),
        );
        assert_ne!(dataset(&a, 0), dataset(&b, 0));
    }
}

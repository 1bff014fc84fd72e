//! The keyspace's storage: one hash table per hash slot, each bucket a pointer to a node that
//! holds the key and its [`Entry`] in one allocation.
//!
//! Why this layout (bench/RESULTS.md, "Memory"): a key used to live in a global
//! `HashMap<Bytes, Entry>` (88-byte buckets) *and* in its slot's `HashSet<Bytes>` (32-byte
//! buckets), with its bytes in a third allocation behind a shared `Bytes` header. Per-slot
//! tables (as Redis 8's kvstore) make the slot index free: the table of slot `s` *is* the list
//! of its keys. Buckets are 8-byte pointers, so a table's load factor (a slot of ~60 keys sits in
//! 128 buckets) costs little, and nodes never move when a table grows, which also keeps the
//! iteration order of a slot what the old per-slot sets gave (same hashes, same bucket rules).
//! Short keys (up to [`INLINE_KEY`] bytes, e.g. `key:123456`) are stored in the node itself.

use super::Entry;
use hashbrown::hash_table::{Entry as TableEntry, HashTable};

/// Keys up to this many bytes are stored inside their node (no allocation of their own).
pub const INLINE_KEY: usize = 14;

/// A stored key's bytes: inline when short, else boxed (a thin pointer, so that the inline form
/// keeps the enum at 16 bytes and the node at 72, an 80-byte malloc chunk).
#[derive(Debug, Clone)]
enum KeyBuf {
    Inline(u8, [u8; INLINE_KEY]),
    Heap(Box<Box<[u8]>>),
}

impl KeyBuf {
    fn new(key: &[u8]) -> KeyBuf {
        if key.len() <= INLINE_KEY {
            let mut buf = [0u8; INLINE_KEY];
            buf[..key.len()].copy_from_slice(key);
            KeyBuf::Inline(key.len() as u8, buf)
        } else {
            KeyBuf::Heap(Box::new(key.into()))
        }
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            KeyBuf::Inline(len, buf) => &buf[..*len as usize],
            KeyBuf::Heap(b) => b,
        }
    }
}

/// A key and its entry: the one allocation a key costs (besides its value's own bytes and a
/// long key's boxed bytes).
#[derive(Debug, Clone)]
pub struct Node {
    pub entry: Entry,
    key: KeyBuf,
}

impl Node {
    #[inline]
    pub fn key(&self) -> &[u8] {
        self.key.as_slice()
    }
}

/// Bytes of a node (what [`super::mem`] counts per key).
pub const NODE_BYTES: usize = std::mem::size_of::<Node>();

/// Heap bytes a key's name takes beyond its node: none when inline.
pub const fn key_heap_bytes(len: usize) -> usize {
    if len <= INLINE_KEY {
        0
    } else {
        super::mem::alloc_bytes(std::mem::size_of::<Box<[u8]>>()) + super::mem::alloc_bytes(len)
    }
}

/// The keys of one hash slot with their entries.
#[derive(Debug, Clone, Default)]
pub struct SlotTable {
    table: HashTable<Box<Node>>,
    /// How many of them carry a TTL; active expiry and volatile sampling skip slots where this
    /// is 0.
    pub volatile: u32,
}

/// What [`SlotTable::upsert`] found.
pub enum Upsert<'a> {
    /// The key existed: its entry, to be overwritten in place.
    Existing(&'a mut Entry),
    /// The key was new and has been inserted with the given entry.
    Inserted,
}

impl SlotTable {
    #[inline]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    #[inline]
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<&Node> {
        self.table.find(hash, |n| n.key() == key).map(|b| &**b)
    }

    #[inline]
    pub fn find_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Node> {
        self.table
            .find_mut(hash, |n| n.key() == key)
            .map(|b| &mut **b)
    }

    /// The node at address `addr` (identity, not key compare: see `Db::pending`).
    pub fn find_by_addr(&self, hash: u64, addr: usize) -> Option<&Node> {
        self.table
            .find(hash, |n| std::ptr::from_ref::<Node>(n) as usize == addr)
            .map(|b| &**b)
    }

    /// Finds `key`, or inserts it with `make()`'s entry. `rehash` gives a stored node's hash
    /// (needed when the table grows).
    pub fn upsert(
        &mut self,
        hash: u64,
        key: &[u8],
        make: impl FnOnce() -> Entry,
        rehash: impl Fn(&[u8]) -> u64,
    ) -> Upsert<'_> {
        match self
            .table
            .entry(hash, |n| n.key() == key, |n| rehash(n.key()))
        {
            TableEntry::Occupied(o) => Upsert::Existing(&mut o.into_mut().entry),
            TableEntry::Vacant(v) => {
                v.insert(Box::new(Node {
                    entry: make(),
                    key: KeyBuf::new(key),
                }));
                Upsert::Inserted
            }
        }
    }

    /// Removes `key`; its entry.
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        match self.table.find_entry(hash, |n| n.key() == key) {
            Ok(o) => Some(o.remove().0.entry),
            Err(_) => None,
        }
    }

    /// Empties the table, keeping its buckets (as the old per-slot sets' `clear` did).
    pub fn clear(&mut self) {
        self.table.clear();
        self.volatile = 0;
    }

    /// The nodes in table order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = &Node> + Clone {
        self.table.iter().map(|b| &**b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_fits_an_80_byte_chunk() {
        assert_eq!(NODE_BYTES, 72);
        assert_eq!(super::super::mem::alloc_bytes(NODE_BYTES), 80);
    }

    #[test]
    fn short_and_long_keys_read_back() {
        for len in [0, 1, INLINE_KEY, INLINE_KEY + 1, 100] {
            let key: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(KeyBuf::new(&key).as_slice(), &key[..]);
        }
    }
}

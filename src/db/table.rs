//! The keyspace's storage: one hash table per hash slot, each bucket the 4-byte index of a node
//! (the key and its [`Entry`]) in a slab of fixed pages.
//!
//! Why this layout (bench/RESULTS.md, "Memory"): a key used to live in a global
//! `HashMap<Bytes, Entry>` (88-byte buckets) *and* in its slot's `HashSet<Bytes>` (32-byte
//! buckets), with its bytes in a third allocation behind a shared `Bytes` header. Per-slot
//! tables (as Redis 8's kvstore) make the slot index free: the table of slot `s` *is* the list
//! of its keys. Buckets are 4-byte slab indices, so a table's load factor (a slot of ~60 keys
//! sits in 128 buckets) costs little; nodes sit in 1024-node pages, so they cost no malloc
//! header or rounding, and never move. A slot's iteration order is what the old per-slot sets
//! gave (same hashes, same bucket rules). Short keys (up to [`INLINE_KEY`] bytes, e.g.
//! `key:123456`, `user:1000:profile` or redis-benchmark's `key:000000012345`) are stored in the
//! node itself: a lookup then follows no pointer past the node, one cache miss fewer per probe
//! (a boxed key's load was a quarter of the lookup's cycles under `bench/profile perf`).

use super::Entry;
use hashbrown::hash_table::{Entry as TableEntry, HashTable};

/// Keys up to this many bytes are stored inside their node (no allocation of their own).
pub const INLINE_KEY: usize = 22;

/// A stored key's bytes: inline when short, else in one allocation of exactly its length.
/// Both forms keep the enum at 24 bytes (the node at 80). The long form's pointer and length
/// sit in the node itself, so comparing a long key follows one pointer, as Redis's sds does;
/// a `Box<Box<[u8]>>` followed two, and its extra cache miss was a quarter of the lookup's
/// cycles for redis-benchmark's 26-byte INCR keys (`counter:{tag}:000000012345`).
#[derive(Debug, Clone)]
enum KeyBuf {
    Inline(u8, [u8; INLINE_KEY]),
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<KeyBuf>() == 24);

impl KeyBuf {
    fn new(key: &[u8]) -> KeyBuf {
        if key.len() <= INLINE_KEY {
            let mut buf = [0u8; INLINE_KEY];
            buf[..key.len()].copy_from_slice(key);
            KeyBuf::Inline(key.len() as u8, buf)
        } else {
            KeyBuf::Heap(key.into())
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

/// A key and its entry, stored in the keyspace's [`Slab`].
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

/// Bytes of a node (what [`super::mem`] counts per key, with its bucket).
pub const NODE_BYTES: usize = std::mem::size_of::<Node>();

/// Heap bytes a key's name takes beyond its node: none when inline.
pub const fn key_heap_bytes(len: usize) -> usize {
    if len <= INLINE_KEY {
        0
    } else {
        super::mem::alloc_bytes(len)
    }
}

/// Nodes per slab page (80 KB pages: big enough that malloc's per-chunk cost vanishes, small
/// enough that a half-empty last page costs little).
const PAGE: usize = 1024;

/// Every node of a keyspace, addressed by a `u32` index that never changes while the node
/// lives. Pages are allocated at their full size once and never move, so a node costs its 80
/// bytes and no malloc header or rounding; freed indices are reused first.
#[derive(Debug, Clone, Default)]
pub struct Slab {
    pages: Vec<Vec<Option<Node>>>,
    free: Vec<u32>,
}

impl Slab {
    fn insert(&mut self, node: Node) -> u32 {
        if let Some(i) = self.free.pop() {
            self.pages[i as usize / PAGE][i as usize % PAGE] = Some(node);
            return i;
        }
        if self.pages.last().is_none_or(|p| p.len() == PAGE) {
            self.pages.push(Vec::with_capacity(PAGE));
        }
        let n = self.pages.len() - 1;
        let page = &mut self.pages[n];
        page.push(Some(node));
        // More than u32::MAX keys would need more memory than any node has.
        (n * PAGE + page.len() - 1) as u32
    }

    fn take(&mut self, i: u32) -> Option<Node> {
        let node = self.pages[i as usize / PAGE][i as usize % PAGE].take();
        if node.is_some() {
            self.free.push(i);
        }
        node
    }

    /// The node at `i` (every index a table holds is live).
    #[inline]
    pub fn get(&self, i: u32) -> Option<&Node> {
        self.pages
            .get(i as usize / PAGE)
            .and_then(|p| p.get(i as usize % PAGE))
            .and_then(Option::as_ref)
    }

    #[inline]
    pub fn get_mut(&mut self, i: u32) -> Option<&mut Node> {
        self.pages
            .get_mut(i as usize / PAGE)
            .and_then(|p| p.get_mut(i as usize % PAGE))
            .and_then(Option::as_mut)
    }

    /// Drops every node and page.
    pub fn clear(&mut self) {
        self.pages = Vec::new();
        self.free = Vec::new();
    }
}

/// True if node `i` holds `key`.
#[inline]
fn holds(slab: &Slab, i: u32, key: &[u8]) -> bool {
    slab.get(i).is_some_and(|n| n.key() == key)
}

/// The keys of one hash slot: indices of their nodes in the [`Slab`] (4-byte buckets).
#[derive(Debug, Clone, Default)]
pub struct SlotTable {
    table: HashTable<u32>,
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

    /// The slab index of `key`'s node.
    #[inline]
    pub fn find(&self, slab: &Slab, hash: u64, key: &[u8]) -> Option<u32> {
        self.table.find(hash, |&i| holds(slab, i, key)).copied()
    }

    /// Finds `key`, or inserts it with `make()`'s entry. `rehash` gives a stored key's hash
    /// (needed when the table grows).
    pub fn upsert<'a>(
        &mut self,
        slab: &'a mut Slab,
        hash: u64,
        key: &[u8],
        make: impl FnOnce() -> Entry,
        rehash: impl Fn(&[u8]) -> u64,
    ) -> Upsert<'a> {
        let found = {
            let nodes = &*slab;
            self.table.entry(
                hash,
                |&i| holds(nodes, i, key),
                |&i| nodes.get(i).map_or(0, |n| rehash(n.key())),
            )
        };
        match found {
            TableEntry::Occupied(o) => {
                let i = *o.get();
                match slab.get_mut(i) {
                    Some(n) => Upsert::Existing(&mut n.entry),
                    // Unreachable: a table holds live indices only.
                    None => Upsert::Inserted,
                }
            }
            TableEntry::Vacant(v) => {
                let i = slab.insert(Node {
                    entry: make(),
                    key: KeyBuf::new(key),
                });
                v.insert(i);
                Upsert::Inserted
            }
        }
    }

    /// Removes `key`; its entry.
    pub fn remove(&mut self, slab: &mut Slab, hash: u64, key: &[u8]) -> Option<Entry> {
        let i = match self.table.find_entry(hash, |&i| holds(slab, i, key)) {
            Ok(o) => o.remove().0,
            Err(_) => return None,
        };
        slab.take(i).map(|n| n.entry)
    }

    /// Empties the table, keeping its buckets (as the old per-slot sets' `clear` did).
    pub fn clear(&mut self) {
        self.table.clear();
        self.volatile = 0;
    }

    /// The slab indices of the slot's nodes, in table order.
    #[inline]
    pub fn indices(&self) -> impl Iterator<Item = u32> + Clone + '_ {
        self.table.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_is_80_bytes() {
        assert_eq!(NODE_BYTES, 80);
        assert_eq!(std::mem::size_of::<Option<Node>>(), 80);
    }

    #[test]
    fn slab_reuses_freed_indices() {
        let node = |k: &[u8]| Node {
            entry: Entry::new(super::super::Value::Str(bytes::Bytes::new()), None),
            key: KeyBuf::new(k),
        };
        let mut slab = Slab::default();
        let ids: Vec<u32> = (0..PAGE as u32 + 5)
            .map(|i| slab.insert(node(&i.to_be_bytes())))
            .collect();
        assert_eq!(slab.pages.len(), 2);
        assert_eq!(
            slab.get(ids[7]).map(Node::key),
            Some(&7u32.to_be_bytes()[..])
        );
        assert!(slab.take(ids[7]).is_some());
        assert!(slab.get(ids[7]).is_none());
        assert_eq!(slab.insert(node(b"again")), ids[7]);
        assert_eq!(slab.get(ids[7]).map(Node::key), Some(&b"again"[..]));
    }

    #[test]
    fn short_and_long_keys_read_back() {
        for len in [0, 1, INLINE_KEY, INLINE_KEY + 1, 100] {
            let key: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(KeyBuf::new(&key).as_slice(), &key[..]);
        }
    }
}

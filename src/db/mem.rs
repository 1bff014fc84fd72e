//! The memory model behind INFO's `used_memory` and MEMORY USAGE.
//!
//! Redis counts every byte its allocator hands out. keyslot cannot do that per node (the
//! simulator runs many nodes in one process, and a counting global allocator would put an
//! atomic on every allocation of the hot path), so the keyspace keeps a running counter of
//! what its own structures take, updated on every insert, delete and in-place change and never
//! computed by a walk. The figures are estimates of keyslot's real layout on glibc malloc:
//!
//! - a key: one 4-byte bucket of its slot's hash table at hashbrown's 7/8 load, and its node
//!   (key + [`super::Entry`], whose inline `expire_ms` is the "expire entry": there is no second
//!   table), with a long key's boxed bytes (see `table`);
//! - a string value: its bytes' allocation and the shared header a read gives it;
//! - collections: a per-element constant of their layout (vector slots, index-map buckets and
//!   indices, B-tree nodes at 2/3 fill) plus the elements' allocations, which each collection
//!   counts as they come and go (`payload_bytes`), so a change is O(1) to account.
//!
//! Not counted (unlike Redis): client buffers, the replication backlog, the AOF buffer, the
//! cluster state. `used_memory_startup` stands for the empty node's fixed structures.

use super::value::Value;
use bytes::Bytes;

/// Bytes glibc malloc takes for a request of `n` bytes: a chunk with an 8-byte header, 16-byte
/// aligned, 32 at least; nothing for an empty buffer (never allocated).
pub const fn alloc_bytes(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        let c = (n + 8 + 15) & !15;
        if c < 32 {
            32
        } else {
            c
        }
    }
}

/// The heap cost of one stored byte string.
pub fn bytes_cost(b: &[u8]) -> usize {
    alloc_bytes(b.len())
}

/// The header `bytes` allocates when a buffer gets its second owner (`Shared`: 24 bytes).
const SHARED_HEADER: usize = alloc_bytes(24);

/// One hashbrown slot for `t` bytes of payload at the 7/8 maximum load (control byte included).
const fn table_slot(t: usize) -> usize {
    (t + 1) * 8 / 7
}

/// The fixed cost of a key: its bucket (a slab index) and its node (in a slab page: no malloc
/// overhead of its own).
pub const KEY_OVERHEAD: usize = table_slot(std::mem::size_of::<u32>()) + super::table::NODE_BYTES;

/// Per element of a list (a `VecDeque<Bytes>` slot).
const LIST_ELEMENT: usize = std::mem::size_of::<Bytes>();
/// Per field of a small hash (a vector of pairs).
const SMALL_HASH_FIELD: usize = 2 * std::mem::size_of::<Bytes>();
/// Per field of a big hash (index-map bucket with its hash, plus its index slot).
const BIG_HASH_FIELD: usize = 2 * std::mem::size_of::<Bytes>() + 8 + table_slot(8);
/// Per member of a small set (a vector slot).
const SMALL_SET_MEMBER: usize = std::mem::size_of::<Bytes>();
/// Per member of a big set (index-set bucket with its hash, plus its index slot).
const BIG_SET_MEMBER: usize = std::mem::size_of::<Bytes>() + 8 + table_slot(8);
/// Per member of a small sorted set (a vector slot of member and score).
const SMALL_ZSET_MEMBER: usize = std::mem::size_of::<Bytes>() + 8;
/// Per member of a big sorted set: the index-map bucket and index slot, and the B-tree entry
/// (member handle + score) at 2/3 node fill.
const BIG_ZSET_MEMBER: usize =
    std::mem::size_of::<Bytes>() + 16 + table_slot(8) + (std::mem::size_of::<Bytes>() + 8) * 3 / 2;

/// Bytes a value takes (O(1): collections keep their payload count).
pub fn value_bytes(v: &Value) -> usize {
    match v {
        Value::Str(s) if s.is_empty() => 0,
        Value::Str(s) => alloc_bytes(s.len()) + SHARED_HEADER,
        Value::List(l) => l.capacity() * LIST_ELEMENT + l.payload_bytes(),
        Value::Hash(h) => {
            let per = if h.is_small() {
                SMALL_HASH_FIELD
            } else {
                BIG_HASH_FIELD
            };
            alloc_bytes(std::mem::size_of_val(&**h)) + h.len() * per + h.payload_bytes()
        }
        Value::Set(s) => {
            let per = if s.is_small() {
                SMALL_SET_MEMBER
            } else {
                BIG_SET_MEMBER
            };
            alloc_bytes(std::mem::size_of_val(&**s)) + s.len() * per + s.payload_bytes()
        }
        Value::ZSet(z) => {
            let per = if z.is_small() {
                SMALL_ZSET_MEMBER
            } else {
                BIG_ZSET_MEMBER
            };
            alloc_bytes(std::mem::size_of_val(&**z)) + z.len() * per + z.payload_bytes()
        }
        Value::Stream(s) => alloc_bytes(std::mem::size_of_val(&**s)) + s.mem_bytes(),
    }
}

/// Bytes a key with its value takes (what the keyspace counter adds for it, and MEMORY USAGE).
pub fn entry_bytes(key: &[u8], value: &Value) -> usize {
    KEY_OVERHEAD + super::table::key_heap_bytes(key.len()) + value_bytes(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malloc_chunks() {
        assert_eq!(alloc_bytes(0), 0);
        assert_eq!(alloc_bytes(1), 32);
        assert_eq!(alloc_bytes(24), 32);
        assert_eq!(alloc_bytes(25), 48);
        assert_eq!(alloc_bytes(100), 112);
    }

    #[test]
    fn a_small_string_key_costs_about_what_the_benchmark_measured() {
        // bench/RESULTS.md measured ~122 bytes of RSS per `key:N` -> 16-byte value (a read
        // adds the value's shared header, counted here).
        let v = Value::Str(Bytes::from_static(b"0123456789abcdef"));
        let n = entry_bytes(b"key:123456", &v);
        assert!((120..=200).contains(&n), "{n}");
    }
}

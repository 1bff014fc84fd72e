//! The value types a key can hold.
//!
//! Representations (chosen for the LPUSH / LPOP / LRANGE / HSET / SADD / ZADD benchmarks and for
//! memory per key):
//!
//! - **List**: a `VecDeque<Bytes>`: O(1) push and pop at both ends, O(1) index, and LRANGE is a
//!   contiguous walk of at most two slices.
//! - **Hash** and **Set**: `indexmap` maps/sets, boxed so that a string key's [`Value`] stays
//!   small. Their iteration order is insertion order (with the edits below), never the hasher's:
//!   replies are deterministic and the simulator replays them. Elements are reachable by index,
//!   so SPOP / SRANDMEMBER / HRANDFIELD pick uniformly in O(1) with the node's RNG. A small
//!   collection (up to [`SMALL_LEN`] entries) deletes with an order-preserving shift, so its order
//!   is exactly Redis's listpack order (insertion order); a big one deletes by swapping the last
//!   entry in (O(1)), where Redis's own order is a hash table's anyway.
//! - **Sorted set**: see [`ZSet`].
//!
//! The hasher is ahash with fixed keys (a zero-sized builder, so no per-map seed bytes). Since
//! iteration order never depends on it, a fixed key only matters for collision flooding.

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use std::collections::VecDeque;
use std::hash::BuildHasher;

#[path = "zset.rs"]
pub mod zset;

pub use zset::ZSet;

/// Up to this many entries a hash, set or sorted set behaves like Redis's compact encodings
/// (listpack): order-preserving deletes, and HSCAN / SSCAN / ZSCAN answer in one call.
pub const SMALL_LEN: usize = 128;

/// A fixed-key ahash builder (zero-sized).
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedState;

impl BuildHasher for FixedState {
    type Hasher = ahash::AHasher;

    fn build_hasher(&self) -> ahash::AHasher {
        const STATE: ahash::RandomState = ahash::RandomState::with_seeds(
            0x243f_6a88_85a3_08d3,
            0x1319_8a2e_0370_7344,
            0xa409_3822_299f_31d0,
            0x082e_fa98_ec4e_6c89,
        );
        STATE.build_hasher()
    }
}

/// A hash value: field -> value, in insertion order.
pub type HashMapValue = IndexMap<Bytes, Bytes, FixedState>;
/// A set value, in insertion order.
pub type SetValue = IndexSet<Bytes, FixedState>;

/// A key's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Bytes),
    List(VecDeque<Bytes>),
    Hash(Box<HashMapValue>),
    Set(Box<SetValue>),
    ZSet(Box<ZSet>),
}

impl Value {
    /// The name TYPE prints.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// An empty hash value.
    pub fn new_hash() -> Value {
        Value::Hash(Box::new(IndexMap::with_hasher(FixedState)))
    }

    /// An empty set value.
    pub fn new_set() -> Value {
        Value::Set(Box::new(IndexSet::with_hasher(FixedState)))
    }

    /// A rough size in bytes of the value's data and structures (INFO's dataset size).
    pub fn approx_bytes(&self) -> u64 {
        const ELEM: u64 = 32 + 16;
        let n = match self {
            Value::Str(s) => s.len() as u64,
            Value::List(l) => l.iter().map(|e| ELEM + e.len() as u64).sum(),
            Value::Hash(h) => h
                .iter()
                .map(|(k, v)| 2 * ELEM + 16 + (k.len() + v.len()) as u64)
                .sum(),
            Value::Set(s) => s.iter().map(|e| ELEM + 16 + e.len() as u64).sum(),
            Value::ZSet(z) => z.iter().map(|(m, _)| 2 * ELEM + 40 + m.len() as u64).sum(),
        };
        n
    }
}

/// Copies client bytes into an allocation of their own before storing them: an argument is a
/// slice of the connection's read buffer, and keeping it would pin that whole buffer.
pub fn own(b: &Bytes) -> Bytes {
    Bytes::copy_from_slice(b)
}

/// Removes a hash field keeping order when small, swapping when big (see the module doc).
pub fn hash_remove(h: &mut HashMapValue, field: &[u8]) -> Option<Bytes> {
    if h.len() <= SMALL_LEN {
        h.shift_remove(field)
    } else {
        h.swap_remove(field)
    }
}

/// Removes a set member keeping order when small, swapping when big.
pub fn set_remove(s: &mut SetValue, member: &[u8]) -> bool {
    if s.len() <= SMALL_LEN {
        s.shift_remove(member)
    } else {
        s.swap_remove(member)
    }
}

/// Removes the set member at `index` (same policy as [`set_remove`]).
pub fn set_remove_index(s: &mut SetValue, index: usize) -> Option<Bytes> {
    if s.len() <= SMALL_LEN {
        s.shift_remove_index(index)
    } else {
        s.swap_remove_index(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_small() {
        // A string key must not pay for the aggregate types' inline size.
        assert!(
            std::mem::size_of::<Value>() <= 40,
            "{}",
            std::mem::size_of::<Value>()
        );
    }

    #[test]
    fn small_collections_keep_insertion_order_on_delete() {
        let Value::Set(mut s) = Value::new_set() else {
            unreachable!()
        };
        for m in ["a", "b", "c", "d"] {
            s.insert(Bytes::from(m));
        }
        assert!(set_remove(&mut s, b"b"));
        let order: Vec<&[u8]> = s.iter().map(|b| b.as_ref()).collect();
        assert_eq!(order, vec![&b"a"[..], b"c", b"d"]);
    }
}

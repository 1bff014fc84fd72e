//! The value types a key can hold.
//!
//! Representations (chosen for the LPUSH / LPOP / LRANGE / HSET / SADD / ZADD benchmarks and for
//! memory per key):
//!
//! - **List**: a `VecDeque<Bytes>`: O(1) push and pop at both ends, O(1) index, and LRANGE is a
//!   contiguous walk of at most two slices.
//! - **Hash** ([`HashMapValue`]) and **Set** ([`SetValue`]): compact while small, as Redis's
//!   listpack / intset encodings are. A hash of up to [`SMALL_LEN`] fields is a plain vector of
//!   pairs searched linearly (no index table, no per-entry hash): a few dozen bytes per field,
//!   and its order is exactly Redis's listpack order. A set of canonical integers (up to
//!   [`INTSET_LEN`]) is kept sorted by value, as Redis's intset is, so SMEMBERS answers in
//!   Redis's order; other small sets are a plain vector. Past those sizes both become
//!   `indexmap` maps / sets: O(1) lookups, iteration in insertion order (never the hasher's, so
//!   replies are deterministic and the simulator replays them), and O(1) pick by index for
//!   SPOP / SRANDMEMBER / HRANDFIELD with the node's RNG. Small ones delete with an
//!   order-preserving shift, big ones by swapping the last entry in (O(1); Redis's own order is a
//!   hash table's there).
//! - **Sorted set**: see [`ZSet`] (a sorted vector while small, a map plus a B-tree after).
//!
//! The collections are boxed so that a string key's [`Value`] stays small. The hasher is ahash
//! with fixed keys (a zero-sized builder, no per-map seed bytes); since iteration order never
//! depends on it, a fixed key only matters for collision flooding.

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::ops::Deref;

use super::mem;

#[path = "zset.rs"]
pub mod zset;

pub use zset::ZSet;

/// Up to this many entries a hash, set or sorted set uses its compact form (Redis's
/// `*-max-listpack-entries` default): order-preserving deletes, and HSCAN / SSCAN / ZSCAN
/// answer in one call.
pub const SMALL_LEN: usize = 128;

/// Up to this many integers a set keeps the sorted integer form (`set-max-intset-entries`).
pub const INTSET_LEN: usize = 512;

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

/// A key's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Bytes),
    List(ListValue),
    Hash(Box<HashMapValue>),
    Set(Box<SetValue>),
    ZSet(Box<ZSet>),
    Stream(Box<super::stream::Stream>),
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
            Value::Stream(_) => "stream",
        }
    }

    /// An empty hash value.
    pub fn new_hash() -> Value {
        Value::Hash(Box::default())
    }

    /// An empty set value.
    pub fn new_set() -> Value {
        Value::Set(Box::default())
    }

    /// Bytes the value takes here (see `db::mem`); O(1).
    pub fn mem_bytes(&self) -> usize {
        mem::value_bytes(self)
    }
}

/// Copies client bytes into an allocation of their own before storing them: an argument is a
/// slice of the connection's read buffer, and keeping it would pin that whole buffer.
pub fn own(b: &Bytes) -> Bytes {
    Bytes::copy_from_slice(b)
}

/// [`own`] for all the arguments of one command at once: one allocation shared by all of them
/// (what a small hash or list stores from one HSET / RPUSH), instead of one each.
pub fn own_all(args: &[Bytes]) -> Vec<Bytes> {
    if args.len() <= 1 {
        return args.iter().map(own).collect();
    }
    let total = args.iter().map(|a| a.len()).sum();
    let mut buf = Vec::with_capacity(total);
    for a in args {
        buf.extend_from_slice(a);
    }
    let buf = Bytes::from(buf);
    let mut at = 0;
    args.iter()
        .map(|a| {
            let b = buf.slice(at..at + a.len());
            at += a.len();
            b
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// List

/// A list value: a `VecDeque<Bytes>` that commands read through `Deref` and change only
/// through the methods here, which keep the payload count (see `db::mem`) so that the
/// keyspace's memory counter never walks a list.
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    items: VecDeque<Bytes>,
    /// Heap bytes of the elements.
    payload: usize,
}

impl PartialEq for ListValue {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl Deref for ListValue {
    type Target = VecDeque<Bytes>;

    fn deref(&self) -> &VecDeque<Bytes> {
        &self.items
    }
}

impl<'a> IntoIterator for &'a ListValue {
    type Item = &'a Bytes;
    type IntoIter = std::collections::vec_deque::Iter<'a, Bytes>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl FromIterator<Bytes> for ListValue {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Self {
        let items: VecDeque<Bytes> = iter.into_iter().collect();
        let payload = items.iter().map(|b| mem::bytes_cost(b)).sum();
        ListValue { items, payload }
    }
}

impl From<Vec<Bytes>> for ListValue {
    fn from(v: Vec<Bytes>) -> Self {
        v.into_iter().collect()
    }
}

impl ListValue {
    pub fn with_capacity(n: usize) -> ListValue {
        ListValue {
            items: VecDeque::with_capacity(n),
            payload: 0,
        }
    }

    /// Heap bytes of the elements (see `db::mem`).
    pub fn payload_bytes(&self) -> usize {
        self.payload
    }

    fn added(&mut self, v: &Bytes) {
        self.payload += mem::bytes_cost(v);
    }

    fn removed(&mut self, v: &Bytes) {
        self.payload = self.payload.saturating_sub(mem::bytes_cost(v));
    }

    pub fn push_front(&mut self, v: Bytes) {
        self.added(&v);
        self.items.push_front(v);
    }

    pub fn push_back(&mut self, v: Bytes) {
        self.added(&v);
        self.items.push_back(v);
    }

    pub fn pop_front(&mut self) -> Option<Bytes> {
        let v = self.items.pop_front()?;
        self.removed(&v);
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Bytes> {
        let v = self.items.pop_back()?;
        self.removed(&v);
        Some(v)
    }

    /// Replaces the element at `i`; false if out of range.
    pub fn set(&mut self, i: usize, v: Bytes) -> bool {
        let Some(slot) = self.items.get_mut(i) else {
            return false;
        };
        let old = std::mem::replace(slot, v);
        self.removed(&old);
        let cost = self.items.get(i).map_or(0, |b| mem::bytes_cost(b));
        self.payload += cost;
        true
    }

    pub fn insert(&mut self, i: usize, v: Bytes) {
        self.added(&v);
        self.items.insert(i, v);
    }

    pub fn remove(&mut self, i: usize) -> Option<Bytes> {
        let v = self.items.remove(i)?;
        self.removed(&v);
        Some(v)
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.payload = 0;
    }

    /// Keeps the elements `start..=end` (both in range).
    pub fn keep_range(&mut self, start: usize, end: usize) {
        // O(removed), as Redis's LTRIM.
        let keep_to = end.saturating_add(1).min(self.items.len());
        let tail: usize = self
            .items
            .range(keep_to..)
            .map(|b| mem::bytes_cost(b))
            .sum();
        self.items.truncate(keep_to);
        let head: usize = self
            .items
            .drain(..start.min(self.items.len()))
            .map(|b| mem::bytes_cost(&b))
            .sum();
        self.payload = self.payload.saturating_sub(tail + head);
    }
}

// ---------------------------------------------------------------------------------------------
// Hash

/// A hash value: field -> value (see the module doc for its two forms).
#[derive(Debug, Clone)]
pub struct HashMapValue {
    repr: HashRepr,
    /// Heap bytes of the fields and values (see `db::mem`), kept as they change so that the
    /// keyspace's memory counter never walks a hash.
    payload: usize,
}

#[derive(Debug, Clone)]
enum HashRepr {
    Small(Vec<(Bytes, Bytes)>),
    /// Boxed, so that a small hash's header stays small.
    Big(Box<IndexMap<Bytes, Bytes, FixedState>>),
}

impl Default for HashMapValue {
    fn default() -> Self {
        HashMapValue {
            repr: HashRepr::Small(Vec::new()),
            payload: 0,
        }
    }
}

impl PartialEq for HashMapValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl HashMapValue {
    pub fn new() -> HashMapValue {
        HashMapValue::default()
    }

    /// An empty hash with room for `n` fields (the hasher argument keeps `IndexMap`'s shape).
    pub fn with_capacity_and_hasher(n: usize, _hasher: FixedState) -> HashMapValue {
        let repr = if n <= SMALL_LEN {
            HashRepr::Small(Vec::with_capacity(n))
        } else {
            HashRepr::Big(Box::new(IndexMap::with_capacity_and_hasher(n, FixedState)))
        };
        HashMapValue { repr, payload: 0 }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            HashRepr::Small(v) => v.len(),
            HashRepr::Big(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True in the compact form (HSCAN answers whole).
    pub fn is_small(&self) -> bool {
        matches!(self.repr, HashRepr::Small(_))
    }

    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        match &self.repr {
            HashRepr::Small(v) => v.iter().find(|(f, _)| f == field).map(|(_, v)| v),
            HashRepr::Big(m) => m.get(field),
        }
    }

    /// Heap bytes of the fields and values (see `db::mem`).
    pub fn payload_bytes(&self) -> usize {
        self.payload
    }

    /// Private: a value changed through it would escape the payload count.
    fn get_mut(&mut self, field: &[u8]) -> Option<&mut Bytes> {
        match &mut self.repr {
            HashRepr::Small(v) => v.iter_mut().find(|(f, _)| f == field).map(|(_, v)| v),
            HashRepr::Big(m) => m.get_mut(field),
        }
    }

    pub fn contains_key(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets a field; the previous value if it was there.
    pub fn insert(&mut self, field: Bytes, value: Bytes) -> Option<Bytes> {
        let new_cost = mem::bytes_cost(&value);
        if let Some(v) = self.get_mut(&field) {
            let old = std::mem::replace(v, value);
            self.payload = (self.payload + new_cost).saturating_sub(mem::bytes_cost(&old));
            return Some(old);
        }
        self.payload += new_cost + mem::bytes_cost(&field);
        if let HashRepr::Small(v) = &mut self.repr {
            if v.len() < SMALL_LEN {
                v.push((field, value));
                return None;
            }
            let mut m = IndexMap::with_capacity_and_hasher(v.len() + 1, FixedState);
            m.extend(v.drain(..));
            self.repr = HashRepr::Big(Box::new(m));
        }
        if let HashRepr::Big(m) = &mut self.repr {
            m.insert(field, value);
        }
        None
    }

    /// Sets a field, copying its name from the client's bytes only when it is new; true when
    /// it was new.
    pub fn set(&mut self, field: &Bytes, value: Bytes) -> bool {
        let new_cost = mem::bytes_cost(&value);
        if let Some(v) = self.get_mut(field) {
            let old = std::mem::replace(v, value);
            self.payload = (self.payload + new_cost).saturating_sub(mem::bytes_cost(&old));
            false
        } else {
            self.insert(own(field), value);
            true
        }
    }

    /// Removes a field (order-preserving while small, swapping when big).
    pub fn remove(&mut self, field: &[u8]) -> Option<Bytes> {
        let removed = match &mut self.repr {
            HashRepr::Small(v) => {
                let i = v.iter().position(|(f, _)| f == field)?;
                Some(v.remove(i).1)
            }
            HashRepr::Big(m) => m.swap_remove(field),
        };
        if let Some(v) = &removed {
            let cost = mem::bytes_cost(field) + mem::bytes_cost(v);
            self.payload = self.payload.saturating_sub(cost);
        }
        removed
    }

    /// The entry at position `i` of the iteration order.
    pub fn get_index(&self, i: usize) -> Option<(&Bytes, &Bytes)> {
        match &self.repr {
            HashRepr::Small(v) => v.get(i).map(|(f, v)| (f, v)),
            HashRepr::Big(m) => m.get_index(i),
        }
    }

    pub fn iter(&self) -> HashIter<'_> {
        match &self.repr {
            HashRepr::Small(v) => HashIter::Small(v.iter()),
            HashRepr::Big(m) => HashIter::Big(m.iter()),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &Bytes> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Bytes> {
        self.iter().map(|(_, v)| v)
    }
}

impl Extend<(Bytes, Bytes)> for HashMapValue {
    fn extend<I: IntoIterator<Item = (Bytes, Bytes)>>(&mut self, iter: I) {
        for (f, v) in iter {
            self.insert(f, v);
        }
    }
}

/// Iterator over a hash's (field, value) pairs.
pub enum HashIter<'a> {
    Small(std::slice::Iter<'a, (Bytes, Bytes)>),
    Big(indexmap::map::Iter<'a, Bytes, Bytes>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a Bytes, &'a Bytes);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Small(it) => it.next().map(|(f, v)| (f, v)),
            HashIter::Big(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            HashIter::Small(it) => it.size_hint(),
            HashIter::Big(it) => it.size_hint(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Set

/// A set value (see the module doc for its three forms).
#[derive(Debug, Clone)]
pub struct SetValue {
    repr: SetRepr,
    /// Heap bytes of the members (see `db::mem`), kept as they come and go.
    payload: usize,
}

#[derive(Debug, Clone)]
enum SetRepr {
    /// Canonical integers only, sorted by value (Redis's intset).
    Ints(Vec<Bytes>),
    /// Up to [`SMALL_LEN`] members in insertion order.
    Small(Vec<Bytes>),
    /// Boxed, so that a small set's header stays small.
    Big(Box<IndexSet<Bytes, FixedState>>),
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue {
            repr: SetRepr::Ints(Vec::new()),
            payload: 0,
        }
    }
}

impl PartialEq for SetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(m))
    }
}

/// The integer of a member if it is canonical (Redis's string2ll).
fn int_of(m: &[u8]) -> Option<i64> {
    crate::cmd::parse_i64(m)
}

/// Where `v` is (Ok) or would go (Err) in a sorted integer vector.
fn int_search(v: &[Bytes], n: i64) -> Result<usize, usize> {
    v.binary_search_by(|b| int_of(b).unwrap_or(i64::MIN).cmp(&n))
}

impl SetValue {
    pub fn new() -> SetValue {
        SetValue::default()
    }

    /// An empty set with room for `n` members (the hasher argument keeps `IndexSet`'s shape).
    pub fn with_capacity_and_hasher(n: usize, _hasher: FixedState) -> SetValue {
        SetValue {
            repr: SetRepr::Ints(Vec::with_capacity(n.min(INTSET_LEN))),
            payload: 0,
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            SetRepr::Ints(v) | SetRepr::Small(v) => v.len(),
            SetRepr::Big(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True in a compact form (SSCAN answers whole, as Redis does for an intset).
    pub fn is_small(&self) -> bool {
        !matches!(self.repr, SetRepr::Big(_))
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            SetRepr::Ints(v) => int_of(m).is_some_and(|n| int_search(v, n).is_ok()),
            SetRepr::Small(v) => v.iter().any(|b| b == m),
            SetRepr::Big(s) => s.contains(m),
        }
    }

    /// Heap bytes of the members (see `db::mem`).
    pub fn payload_bytes(&self) -> usize {
        self.payload
    }

    /// Adds a member; true if it was not there.
    pub fn insert(&mut self, m: Bytes) -> bool {
        let cost = mem::bytes_cost(&m);
        let added = self.insert_repr(m);
        if added {
            self.payload += cost;
        }
        added
    }

    fn insert_repr(&mut self, m: Bytes) -> bool {
        if let SetRepr::Ints(v) = &mut self.repr {
            // A non-integer cannot be in here; it converts the set, as a full intset does.
            if let Some(n) = int_of(&m) {
                match int_search(v, n) {
                    Ok(_) => return false,
                    Err(pos) if v.len() < INTSET_LEN => {
                        v.insert(pos, m);
                        return true;
                    }
                    Err(_) => {}
                }
            }
            let old = std::mem::take(v);
            self.repr = if old.len() < SMALL_LEN {
                SetRepr::Small(old)
            } else {
                let mut s = IndexSet::with_capacity_and_hasher(old.len() + 1, FixedState);
                s.extend(old);
                SetRepr::Big(Box::new(s))
            };
        }
        if let SetRepr::Small(v) = &mut self.repr {
            if v.contains(&m) {
                return false;
            }
            if v.len() < SMALL_LEN {
                v.push(m);
                return true;
            }
            let mut s = IndexSet::with_capacity_and_hasher(v.len() + 1, FixedState);
            s.extend(v.drain(..));
            self.repr = SetRepr::Big(Box::new(s));
        }
        match &mut self.repr {
            SetRepr::Big(s) => s.insert(m),
            _ => false,
        }
    }

    /// Removes a member (order-preserving while compact, swapping when big).
    pub fn remove(&mut self, m: &[u8]) -> bool {
        let removed = self.remove_repr(m);
        if removed {
            self.payload = self.payload.saturating_sub(mem::bytes_cost(m));
        }
        removed
    }

    fn remove_repr(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            SetRepr::Ints(v) => match int_of(m).map(|n| int_search(v, n)) {
                Some(Ok(i)) => {
                    v.remove(i);
                    true
                }
                _ => false,
            },
            SetRepr::Small(v) => match v.iter().position(|b| b == m) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            SetRepr::Big(s) => s.swap_remove(m),
        }
    }

    /// The member at position `i` of the iteration order.
    pub fn get_index(&self, i: usize) -> Option<&Bytes> {
        match &self.repr {
            SetRepr::Ints(v) | SetRepr::Small(v) => v.get(i),
            SetRepr::Big(s) => s.get_index(i),
        }
    }

    /// Removes and returns the member at position `i`.
    pub fn remove_index(&mut self, i: usize) -> Option<Bytes> {
        let removed = match &mut self.repr {
            SetRepr::Ints(v) | SetRepr::Small(v) => (i < v.len()).then(|| v.remove(i)),
            SetRepr::Big(s) => s.swap_remove_index(i),
        };
        if let Some(m) = &removed {
            self.payload = self.payload.saturating_sub(mem::bytes_cost(m));
        }
        removed
    }

    pub fn iter(&self) -> SetIter<'_> {
        match &self.repr {
            SetRepr::Ints(v) | SetRepr::Small(v) => SetIter::Vec(v.iter()),
            SetRepr::Big(s) => SetIter::Big(s.iter()),
        }
    }
}

/// Iterator over a set's members.
pub enum SetIter<'a> {
    Vec(std::slice::Iter<'a, Bytes>),
    Big(indexmap::set::Iter<'a, Bytes>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = &'a Bytes;

    fn next(&mut self) -> Option<&'a Bytes> {
        match self {
            SetIter::Vec(it) => it.next(),
            SetIter::Big(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            SetIter::Vec(it) => it.size_hint(),
            SetIter::Big(it) => it.size_hint(),
        }
    }
}

impl Extend<Bytes> for SetValue {
    fn extend<I: IntoIterator<Item = Bytes>>(&mut self, iter: I) {
        for m in iter {
            self.insert(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_stay_small() {
        // The LRU/LFU bits fit beside the expire time: no cost per key over the entry without
        // them.
        assert_eq!(std::mem::size_of::<crate::db::Entry>(), 56);
    }

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
        let mut s = SetValue::new();
        for m in ["a", "b", "c", "d"] {
            s.insert(Bytes::from(m));
        }
        assert!(s.remove(b"b"));
        let order: Vec<&[u8]> = s.iter().map(|b| b.as_ref()).collect();
        assert_eq!(order, vec![&b"a"[..], b"c", b"d"]);
        let mut h = HashMapValue::new();
        for (f, v) in [("x", "1"), ("y", "2"), ("z", "3")] {
            assert_eq!(h.insert(Bytes::from(f), Bytes::from(v)), None);
        }
        assert_eq!(h.remove(b"x"), Some(Bytes::from("1")));
        let order: Vec<&[u8]> = h.keys().map(|b| b.as_ref()).collect();
        assert_eq!(order, vec![&b"y"[..], b"z"]);
    }

    #[test]
    fn integer_sets_stay_sorted_until_converted() {
        let mut s = SetValue::new();
        for m in ["3", "-5", "10", "1", "3"] {
            s.insert(Bytes::from(m));
        }
        let order: Vec<&[u8]> = s.iter().map(|b| b.as_ref()).collect();
        assert_eq!(order, vec![&b"-5"[..], b"1", b"3", b"10"]);
        assert!(s.contains(b"10") && !s.contains(b"010") && !s.contains(b"x"));
        assert!(s.insert(Bytes::from("x")));
        assert!(!s.insert(Bytes::from("x")));
        assert!(s.contains(b"x") && s.contains(b"-5"));
        assert_eq!(s.len(), 5);
    }

    #[test]
    fn collections_grow_past_the_compact_forms() {
        let mut s = SetValue::new();
        let mut h = HashMapValue::new();
        for i in 0..1000 {
            s.insert(Bytes::from(format!("{i}")));
            h.insert(Bytes::from(format!("f{i}")), Bytes::from("v"));
        }
        assert!(!s.is_small() && !h.is_small());
        assert_eq!((s.len(), h.len()), (1000, 1000));
        assert!(s.contains(b"999") && h.contains_key(b"f999"));
        assert!(s.remove(b"500") && h.remove(b"f500").is_some());
        assert_eq!((s.len(), h.len()), (999, 999));
        let parts = own_all(&[Bytes::from("ab"), Bytes::new(), Bytes::from("c")]);
        assert_eq!(
            parts,
            vec![Bytes::from("ab"), Bytes::new(), Bytes::from("c")]
        );
    }
}

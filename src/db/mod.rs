//! The keyspace: values, expiry, and a per-slot key index.
//!
//! Each of the 16384 hash slots has its own hash table from key to [`Entry`] (see [`table`]), so
//! CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT, SCAN and dropping a lost slot's keys never walk the
//! whole keyspace, and no second index repeats every key. Hashing is keyed with seeds from the
//! node's RNG: iteration order is unpredictable to clients (no hash flooding) yet replays
//! exactly in the simulator.
//!
//! Expiry is Redis's: a key past its absolute unix-ms deadline is deleted when touched (lazy), and
//! [`Db::active_expire`] walks slots that hold keys with a TTL in the background.

pub mod access;
pub mod format;
pub mod hll;
pub mod mem;
pub mod stream;
mod table;
pub mod value;

pub use access::Access;
pub use value::Value;

use crate::slot::{key_slot, SLOT_COUNT};
use bytes::Bytes;
use table::{Node, Slab, SlotTable, Upsert};

type Hasher = ahash::RandomState;

/// A value and its optional expire time.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Absolute unix milliseconds after which the key no longer exists; 0 for none. A plain
    /// `u64` rather than `Option<u64>` keeps the entry at 56 bytes with [`Entry::lru`] beside
    /// it (an `Option<u64>` takes 16). Read it with [`Entry::expire_ms`].
    expire: u64,
    /// Redis's 24 LRU/LFU bits (see [`access`]): the last access or the access frequency.
    pub lru: u32,
}

/// Strings below this size are copied when stored if their buffer is shared (see [`unshared`]);
/// bigger ones are arguments the parser gave a buffer of their own, not worth a copy.
const UNSHARE_MAX: usize = crate::resp::request::BIG_ARG_BYTES;

/// A string value as the keyspace keeps it. SET stores a clone of its argument, and cloning a
/// `Bytes` gives it a 24-byte shared header (a 32-byte malloc chunk) for as long as the key
/// lives; a copy of a small string costs the same malloc and memcpy as that header and leaves
/// the stored value with no header at all (the argument is freed with the command).
fn unshared(value: Value) -> Value {
    match value {
        Value::Str(b) if b.len() < UNSHARE_MAX && !b.is_unique() => {
            Value::Str(Bytes::copy_from_slice(&b))
        }
        other => other,
    }
}

/// The stored form of an expire time (a deadline of 0 ms, already past, is stored as 1).
fn expire_repr(expire_ms: Option<u64>) -> u64 {
    expire_ms.map_or(0, |t| t.max(1))
}

impl Entry {
    /// An entry whose access bits are set when it is stored.
    pub fn new(value: Value, expire_ms: Option<u64>) -> Entry {
        Entry {
            value,
            expire: expire_repr(expire_ms),
            lru: 0,
        }
    }

    /// Absolute unix milliseconds after which the key no longer exists.
    #[inline]
    pub fn expire_ms(&self) -> Option<u64> {
        (self.expire != 0).then_some(self.expire)
    }

    /// The value and the expire time, taking the entry apart.
    pub fn into_parts(self) -> (Value, Option<u64>) {
        let expire_ms = self.expire_ms();
        (self.value, expire_ms)
    }
}

/// Equal data: the access bits are bookkeeping (WATCH compares entries, and a read must not
/// look like a change).
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.expire == other.expire
    }
}

/// A key handed out by [`Db::get_mut`]: its node's slab index (stable; nothing can remove the
/// node before the next `&mut self` call settles it) and its size then.
#[derive(Debug, Clone, Copy)]
struct Pending {
    index: u32,
    before: usize,
}

/// Keys up to this many bytes are remembered by [`Located`].
const LOCATED_KEY: usize = 32;

/// The last key located, with its slot and hash: a command looks its key up several times
/// (expiry check, read or write, replication's look at the result), and the CRC16 and the hash
/// are computed once. Matched by the key's bytes, so it can never answer for another key.
#[derive(Debug, Clone, Copy)]
struct Located {
    /// `LOCATED_KEY + 1` when empty.
    len: usize,
    key: [u8; LOCATED_KEY],
    slot: usize,
    hash: u64,
}

impl Located {
    const EMPTY: Located = Located {
        len: LOCATED_KEY + 1,
        key: [0; LOCATED_KEY],
        slot: 0,
        hash: 0,
    };

    #[inline]
    fn get(&self, key: &[u8]) -> Option<(usize, u64)> {
        (key.len() == self.len && self.key[..self.len] == *key).then_some((self.slot, self.hash))
    }
}

/// Database 0 of a node.
#[derive(Debug, Clone)]
pub struct Db {
    /// See [`Located`].
    located: Located,
    /// Every key, in the table of its hash slot (indexed by slot).
    slots: Vec<SlotTable>,
    /// The nodes (key + entry) the slot tables point at.
    slab: Slab,
    /// Number of keys.
    len: usize,
    /// Number of keys with a TTL (INFO keyspace `expires=`).
    volatile: usize,
    /// The slot the next active-expiry cycle starts at.
    expire_cursor: usize,
    /// Seeds for every hash table of this keyspace.
    hasher: Hasher,
    /// How expired keys are treated (a replica keeps them until its master's DEL arrives).
    pub expiry: ExpiryMode,
    /// Keys deleted by expiry, for replication (see [`Db::take_expired`]).
    expired_log: Vec<Bytes>,
    /// How many keys of `expired_log` had their `expired` event published (`crate::notify`).
    expired_notified: usize,
    /// Whether inserts log the keys they create (`notify-keyspace-events` has `n`).
    log_new: bool,
    /// Keys created since `crate::notify` last published their `new` events.
    new_keys: Vec<Bytes>,
    /// Bytes the dataset takes ([`mem`]): a running count, changed by every insert, delete
    /// and in-place change, never a walk (INFO's used_memory and the maxmemory check read it
    /// before every command).
    used_bytes: usize,
    /// The key last handed out by [`Db::get_mut`]: the caller may change the value in place,
    /// so its new size is counted at the next call into the keyspace (or [`Db::settle`]). One
    /// at a time is enough: the `&mut` borrow ends before the next call.
    pending: Option<Pending>,
    /// How lookups update a key's access bits (follows maxmemory-policy).
    pub access: Access,
    /// The LFU increment's coin, seeded with the keyspace.
    coin: access::Coin,
    /// The time of the command being run (or the latest lookup), for stamping new keys:
    /// insert takes no clock. Set by [`Db::set_now`] before every command.
    last_now_ms: u64,
}

/// Sampling starts within this many keys of a slot's iteration order (walking to a random
/// position of a slot holding a million hash-tagged keys would cost a million steps).
pub const SAMPLE_WINDOW: usize = 64;

/// What touching an expired key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryMode {
    /// A master: the key is deleted (and the deletion replicated).
    Delete,
    /// A replica serving clients: the key reads as absent but stays until the master deletes it.
    HideOnly,
    /// A replica applying its master's stream: keys are live until the master says otherwise.
    Ignore,
}

impl Db {
    /// An empty keyspace whose hash tables are keyed by `seed`.
    pub fn new(seed: u64) -> Db {
        let hasher = Hasher::with_seeds(
            seed,
            seed.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15,
            seed.rotate_left(31) ^ 0xc2b2_ae3d_27d4_eb4f,
            seed.rotate_left(47) ^ 0x1656_67b1_9e37_79f9,
        );
        Db {
            slots: (0..SLOT_COUNT).map(|_| SlotTable::default()).collect(),
            slab: Slab::default(),
            located: Located::EMPTY,
            len: 0,
            volatile: 0,
            expire_cursor: 0,
            hasher,
            expiry: ExpiryMode::Delete,
            expired_log: Vec::new(),
            expired_notified: 0,
            log_new: false,
            new_keys: Vec::new(),
            used_bytes: 0,
            pending: None,
            access: Access::Lru,
            coin: access::Coin::new(seed ^ 0x5851_f42d_4c95_7f2d),
            last_now_ms: 0,
        }
    }

    /// Bytes of the empty keyspace's fixed structures (the 16384 slot tables), which INFO
    /// shows as `used_memory_startup`.
    pub const fn fixed_bytes() -> usize {
        SLOT_COUNT * std::mem::size_of::<SlotTable>() + std::mem::size_of::<Db>()
    }

    /// A key's slot and hash (the one hash every table of this keyspace uses).
    #[inline]
    fn locate(&self, key: &[u8]) -> (usize, u64) {
        self.located
            .get(key)
            .unwrap_or_else(|| (key_slot(key) as usize, self.hasher.hash_one(key)))
    }

    /// [`Db::locate`], remembering the answer for the next lookups of the same key.
    #[inline]
    fn locate_mut(&mut self, key: &[u8]) -> (usize, u64) {
        if let Some(found) = self.located.get(key) {
            return found;
        }
        let found = (key_slot(key) as usize, self.hasher.hash_one(key));
        if key.len() <= LOCATED_KEY {
            self.located.len = key.len();
            self.located.key[..key.len()].copy_from_slice(key);
            (self.located.slot, self.located.hash) = found;
        }
        found
    }

    /// A live key's slab index: an expired key is deleted (master) or hidden (replica serving
    /// clients) and reads as absent, as [`Db::expire_if_needed`] decides. One table lookup.
    fn live(&mut self, key: &[u8], now_ms: u64) -> Option<u32> {
        self.settle();
        let (slot, hash) = self.locate_mut(key);
        let i = self.slots[slot].find(&self.slab, hash, key)?;
        if self.expiry == ExpiryMode::Ignore {
            return Some(i);
        }
        let expired = self
            .slab
            .get(i)
            .and_then(|n| n.entry.expire_ms())
            .is_some_and(|t| t <= now_ms);
        if !expired {
            return Some(i);
        }
        if self.expiry == ExpiryMode::Delete {
            self.expired_log.push(Bytes::copy_from_slice(key));
            self.remove(key);
        }
        None
    }

    /// A key's node, without any expiry check or access.
    #[inline]
    fn node(&self, key: &[u8]) -> Option<&Node> {
        let (slot, hash) = self.locate(key);
        let i = self.slots[slot].find(&self.slab, hash, key)?;
        self.slab.get(i)
    }

    /// A key's slab index.
    #[inline]
    fn index(&self, key: &[u8]) -> Option<(usize, u32)> {
        let (slot, hash) = self.locate(key);
        Some((slot, self.slots[slot].find(&self.slab, hash, key)?))
    }

    /// The size now of the node a pending change points at (0 if it is gone).
    fn pending_now(&self, p: &Pending) -> usize {
        self.slab
            .get(p.index)
            .map_or(0, |n| mem::entry_bytes(n.key(), &n.entry.value))
    }

    /// Bytes the dataset takes (see [`mem`]), the in-place change of a pending
    /// [`Db::get_mut`] included.
    pub fn used_bytes(&self) -> usize {
        match &self.pending {
            None => self.used_bytes,
            Some(p) => (self.used_bytes + self.pending_now(p)).saturating_sub(p.before),
        }
    }

    /// Counts the size change of the value last handed out by [`Db::get_mut`]. Cheap when
    /// nothing is pending (one branch); every `&mut self` method calls it first.
    #[inline]
    pub fn settle(&mut self) {
        if let Some(p) = self.pending.take() {
            let now = self.pending_now(&p);
            self.used_bytes = (self.used_bytes + now).saturating_sub(p.before);
        }
    }

    /// The LFU increment's coin for one access (LRU needs none).
    #[inline]
    fn coin_for_access(&mut self) -> f64 {
        match self.access {
            Access::Lru => 0.0,
            Access::Lfu { .. } => self.coin.flip(),
        }
    }

    /// The current time, for the access bits of keys inserted next (the node sets it before
    /// every command, replicated command and load).
    #[inline]
    pub fn set_now(&mut self, now_ms: u64) {
        self.last_now_ms = now_ms;
    }

    /// Sets how lookups update access bits (on start and when maxmemory-policy changes).
    pub fn set_access(&mut self, access: Access) {
        self.access = access;
    }

    /// Number of keys (expired ones not yet collected included, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile
    }

    /// Deletes the key if it has expired at `now_ms`; true if it was deleted.
    fn expire_if_needed(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.settle();
        if self.expiry == ExpiryMode::Ignore {
            return false;
        }
        let (slot, hash) = self.locate_mut(key);
        let expired = self.slots[slot]
            .find(&self.slab, hash, key)
            .and_then(|i| self.slab.get(i))
            .and_then(|n| n.entry.expire_ms())
            .is_some_and(|t| t <= now_ms);
        if expired && self.expiry == ExpiryMode::Delete {
            self.expired_log.push(Bytes::copy_from_slice(key));
            self.remove(key);
        }
        expired
    }

    /// Keys deleted by expiry since the last call (a master replicates each as DEL).
    pub fn take_expired(&mut self) -> Vec<Bytes> {
        self.expired_notified = 0;
        std::mem::take(&mut self.expired_log)
    }

    /// Keys expired since their `expired` events were last published (`crate::notify`).
    pub fn expired_unnotified(&mut self) -> Vec<Bytes> {
        let from = self.expired_notified.min(self.expired_log.len());
        self.expired_notified = self.expired_log.len();
        self.expired_log[from..].to_vec()
    }

    /// Makes inserts log the keys they create, for `new` events (`crate::notify`).
    pub fn set_log_new(&mut self, on: bool) {
        self.log_new = on;
        if !on {
            self.new_keys.clear();
        }
    }

    /// Keys created since the last call (only while logging is on).
    pub fn take_new_keys(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.new_keys)
    }

    /// [`Db::insert`] for loading a dataset (RDB, AOF, a master's snapshot): no `new` event,
    /// as Redis's dbAddRDBLoad.
    pub fn insert_loaded(&mut self, key: Bytes, value: Value, expire_ms: Option<u64>) {
        let log = std::mem::replace(&mut self.log_new, false);
        self.insert(key, value, expire_ms);
        self.log_new = log;
    }

    /// Deletes the key if it has expired at `now_ms`; true if it was deleted (commands count this
    /// in INFO's `expired_keys`, as Redis counts lazy expiry).
    pub fn remove_if_expired(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.expire_if_needed(key, now_ms)
    }

    /// A key's entry without any expiry check (KEYS filters expired keys without deleting them).
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.node(key).map(|n| &n.entry)
    }

    /// The live entry of a key (an expired key is deleted and reads as absent); an access
    /// (updates the key's LRU/LFU bits).
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let i = self.live(key, now_ms)?;
        let coin = self.coin_for_access();
        self.last_now_ms = now_ms;
        let access = self.access;
        let e = &mut self.slab.get_mut(i)?.entry;
        e.lru = access.touched(e.lru, now_ms, coin);
        Some(e)
    }

    /// [`Db::get`] without counting an access (OBJECT, a second look at the same key).
    pub fn get_untouched(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let i = self.live(key, now_ms)?;
        self.slab.get(i).map(|n| &n.entry)
    }

    /// The live entry of a key, for in-place change. Changing `expire_ms` through this reference
    /// would break the volatile count: use [`Db::set_expire`] for that.
    ///
    /// The value's size before is remembered, and its size after counted at the next call
    /// into the keyspace ([`Db::settle`]).
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        let i = self.live(key, now_ms)?;
        let coin = self.coin_for_access();
        self.last_now_ms = now_ms;
        let access = self.access;
        let node = self.slab.get_mut(i)?;
        self.pending = Some(Pending {
            index: i,
            before: mem::entry_bytes(key, &node.entry.value),
        });
        let e = &mut node.entry;
        e.lru = access.touched(e.lru, now_ms, coin);
        Some(&mut e.value)
    }

    /// True if the key exists and has not expired.
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// Sets a key's value and expire time, replacing any previous entry. The key's bytes are
    /// copied into the keyspace's own node (the caller's `Bytes` is not kept).
    ///
    /// A new key gets fresh access bits; an overwritten one keeps its LFU counter (Redis's
    /// dbSetValue) or is stamped now under LRU.
    pub fn insert(&mut self, key: Bytes, value: Value, expire_ms: Option<u64>) {
        self.settle();
        let value = unshared(value);
        let (slot, hash) = self.locate_mut(&key);
        let size = mem::entry_bytes(&key, &value);
        let now_ms = self.last_now_ms;
        let access = self.access;
        let expire = expire_repr(expire_ms);
        let hasher = &self.hasher;
        let mut value = Some(value);
        let upsert = self.slots[slot].upsert(
            &mut self.slab,
            hash,
            &key,
            || Entry {
                value: value.take().unwrap_or(Value::Str(Bytes::new())),
                expire,
                lru: access.initial(now_ms),
            },
            |k| hasher.hash_one(k),
        );
        let was = match upsert {
            Upsert::Existing(old) => {
                let was = old.expire_ms().is_some();
                let old_size = mem::entry_bytes(&key, &old.value);
                let lru = match access {
                    Access::Lfu { .. } => old.lru,
                    Access::Lru => access.initial(now_ms),
                };
                *old = Entry {
                    value: value.take().unwrap_or(Value::Str(Bytes::new())),
                    expire,
                    lru,
                };
                self.used_bytes = (self.used_bytes + size).saturating_sub(old_size);
                was
            }
            Upsert::Inserted => {
                self.len += 1;
                self.used_bytes += size;
                if self.log_new {
                    self.new_keys.push(key.clone());
                }
                false
            }
        };
        self.adjust_volatile(slot, was, expire_ms.is_some());
    }

    fn adjust_volatile(&mut self, slot: usize, was: bool, is: bool) {
        match (was, is) {
            (false, true) => {
                self.volatile += 1;
                self.slots[slot].volatile += 1;
            }
            (true, false) => {
                self.volatile -= 1;
                self.slots[slot].volatile -= 1;
            }
            _ => {}
        }
    }

    /// Deletes a key whatever its expiry; returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.settle();
        let (slot, hash) = self.locate_mut(key);
        let entry = self.slots[slot].remove(&mut self.slab, hash, key)?;
        self.len -= 1;
        let size = mem::entry_bytes(key, &entry.value);
        self.used_bytes = self.used_bytes.saturating_sub(size);
        self.adjust_volatile(slot, entry.expire_ms().is_some(), false);
        Some(entry)
    }

    /// Sets or clears a live key's expire time; false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], expire_ms: Option<u64>, now_ms: u64) -> bool {
        self.expire_if_needed(key, now_ms);
        let Some((slot, i)) = self.index(key) else {
            return false;
        };
        let Some(node) = self.slab.get_mut(i) else {
            return false;
        };
        let entry = &mut node.entry;
        let was = entry.expire_ms().is_some();
        entry.expire = expire_repr(expire_ms);
        self.adjust_volatile(slot, was, expire_ms.is_some());
        true
    }

    /// Deletes every key.
    pub fn clear(&mut self) {
        self.pending = None;
        self.located = Located::EMPTY;
        self.used_bytes = 0;
        self.len = 0;
        for s in &mut self.slots {
            s.clear();
        }
        self.slab.clear();
        self.volatile = 0;
    }

    /// Number of keys in a slot.
    pub fn slot_len(&self, slot: u16) -> usize {
        self.slots.get(slot as usize).map_or(0, SlotTable::len)
    }

    /// The nodes of a slot, in its table's order.
    #[inline]
    fn slot_nodes(&self, slot: usize) -> impl Iterator<Item = &Node> + Clone {
        self.slots[slot].indices().filter_map(|i| self.slab.get(i))
    }

    /// Up to `count` keys of a slot.
    pub fn keys_in_slot(&self, slot: u16, count: usize) -> Vec<Bytes> {
        if slot as usize >= SLOT_COUNT {
            return Vec::new();
        }
        self.slot_nodes(slot as usize)
            .take(count)
            .map(|n| Bytes::copy_from_slice(n.key()))
            .collect()
    }

    /// Deletes every key of a slot (a slot this node lost); returns how many.
    pub fn clear_slot(&mut self, slot: u16) -> usize {
        let keys: Vec<Bytes> = self.keys_in_slot(slot, usize::MAX);
        for k in &keys {
            self.remove(k);
        }
        keys.len()
    }

    /// Every key (KEYS). Order: slot by slot.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        (0..SLOT_COUNT).flat_map(|s| self.slot_nodes(s).map(Node::key))
    }

    /// Every key with its entry (replication snapshots, digests). Order: slot by slot.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        (0..SLOT_COUNT).flat_map(|s| self.slot_nodes(s).map(|n| (n.key(), &n.entry)))
    }

    /// The keys of one slot as owned copies, appended to `out`.
    fn extend_with_slot(&self, slot: usize, out: &mut Vec<Bytes>) {
        out.extend(
            self.slot_nodes(slot)
                .map(|n| Bytes::copy_from_slice(n.key())),
        );
    }

    /// One SCAN step: the keys of whole slots from `cursor` on, until at least `count` keys were
    /// gathered or `count * 10` slots were visited. Returns the next cursor (0 at the end). A key
    /// present for the whole scan is returned exactly once, as Redis promises (at least once).
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Bytes>) {
        let mut slot = cursor as usize;
        let mut out = Vec::new();
        let mut visited = 0;
        let max_visits = count.max(1).saturating_mul(10);
        while slot < SLOT_COUNT && out.len() < count.max(1) && visited < max_visits {
            self.extend_with_slot(slot, &mut out);
            slot += 1;
            visited += 1;
        }
        let next = if slot >= SLOT_COUNT { 0 } else { slot as u64 };
        (next, out)
    }

    /// One SCAN step for the SCAN command: the keys of whole slots from `cursor` on until at
    /// least `count` keys were gathered. Empty slots cost nothing and do not count, and the
    /// returned cursor is 0 as soon as no key is left after it, so a small keyspace is
    /// answered in one call with cursor 0, as Redis does. A key present for the whole scan is
    /// returned exactly once.
    pub fn scan_keys(&self, cursor: u64, count: usize) -> (u64, Vec<Bytes>) {
        let mut slot = usize::try_from(cursor).unwrap_or(SLOT_COUNT);
        let mut out = Vec::new();
        while slot < SLOT_COUNT && out.len() < count.max(1) {
            self.extend_with_slot(slot, &mut out);
            slot += 1;
        }
        while slot < SLOT_COUNT && self.slots[slot].is_empty() {
            slot += 1;
        }
        let next = if slot >= SLOT_COUNT { 0 } else { slot as u64 };
        (next, out)
    }

    /// A random key, from `pick` (a number from the node's RNG), or None when empty.
    pub fn random_key(&self, pick: u64) -> Option<Bytes> {
        if self.len == 0 {
            return None;
        }
        // Start at a random slot and take the first non-empty one's first key: O(slots) at worst,
        // no allocation, deterministic for a given pick.
        let start = (pick % SLOT_COUNT as u64) as usize;
        (0..SLOT_COUNT)
            .map(|i| (start + i) % SLOT_COUNT)
            .find_map(|s| {
                let n = self.slots[s].len();
                if n == 0 {
                    None
                } else {
                    self.slot_nodes(s)
                        .nth(((pick >> 14) % n as u64) as usize)
                        .map(|node| Bytes::copy_from_slice(node.key()))
                }
            })
    }

    /// Up to `count` keys for eviction sampling (Redis's dictGetSomeKeys), into `out` (cleared
    /// first; reused by the caller): from a slot chosen by `pick`, at an offset chosen by
    /// `pick` within the slot's first [`SAMPLE_WINDOW`] keys, then on through the following
    /// slots, checking at most `count * 10` keys. With `volatile_only`, only keys with a TTL
    /// (slots without one are skipped by their count).
    pub fn sample_keys(&self, pick: u64, count: usize, volatile_only: bool, out: &mut Vec<Bytes>) {
        out.clear();
        let total = if volatile_only {
            self.volatile
        } else {
            self.len
        };
        if total == 0 || count == 0 {
            return;
        }
        let max_checks = count.saturating_mul(10);
        let mut checks = 0;
        let mut slot = (pick % SLOT_COUNT as u64) as usize;
        let mut offset_pick = pick >> 14;
        for _ in 0..SLOT_COUNT {
            let s = &self.slots[slot];
            let candidates = if volatile_only {
                s.volatile as usize
            } else {
                s.len()
            };
            if candidates > 0 {
                let len = s.len();
                let skip = (offset_pick % len.min(SAMPLE_WINDOW) as u64) as usize;
                offset_pick = offset_pick.rotate_right(7) ^ slot as u64;
                let nodes = self.slot_nodes(slot);
                for node in nodes.clone().skip(skip).chain(nodes.take(skip)) {
                    checks += 1;
                    let eligible = !volatile_only || node.entry.expire_ms().is_some();
                    if eligible {
                        out.push(Bytes::copy_from_slice(node.key()));
                        if out.len() >= count {
                            return;
                        }
                    }
                    if checks >= max_checks {
                        return;
                    }
                }
            }
            slot = (slot + 1) % SLOT_COUNT;
        }
    }

    /// One active-expiry step: visit slots holding keys with a TTL, from where the last step
    /// stopped, deleting expired keys, until `max_checks` keys were checked or every slot was
    /// visited once. Returns the number of keys deleted.
    pub fn active_expire(&mut self, now_ms: u64, max_checks: usize) -> usize {
        if self.volatile == 0 {
            return 0;
        }
        let mut checked = 0;
        let mut expired = Vec::new();
        for _ in 0..SLOT_COUNT {
            let slot = self.expire_cursor;
            self.expire_cursor = (self.expire_cursor + 1) % SLOT_COUNT;
            if self.slots[slot].volatile == 0 {
                continue;
            }
            for node in self.slot_nodes(slot) {
                checked += 1;
                if node.entry.expire_ms().is_some_and(|t| t <= now_ms) {
                    expired.push(Bytes::copy_from_slice(node.key()));
                }
            }
            if checked >= max_checks {
                break;
            }
        }
        for k in &expired {
            self.remove(k);
        }
        let n = expired.len();
        self.expired_log.extend(expired);
        n
    }

    /// A fresh empty keyspace with the same hash seeds (FLUSHALL ASYNC hands the old one away).
    pub fn empty_like(&self) -> Db {
        let mut db = Db::new(0);
        db.hasher = self.hasher.clone();
        db.expiry = self.expiry;
        db.access = self.access;
        db.coin = self.coin.clone();
        db.last_now_ms = self.last_now_ms;
        db.log_new = self.log_new;
        db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(Bytes::copy_from_slice(v.as_bytes()))
    }

    #[test]
    fn insert_get_remove_and_slot_index() {
        let mut db = Db::new(7);
        db.insert(Bytes::from_static(b"key1"), s("a"), None);
        assert_eq!(db.slot_len(9189), 1);
        assert_eq!(db.keys_in_slot(9189, 10), vec![Bytes::from_static(b"key1")]);
        assert!(db.get(b"key1", 0).is_some());
        assert!(db.remove(b"key1").is_some());
        assert_eq!(db.slot_len(9189), 0);
        assert!(db.is_empty());
    }

    #[test]
    fn lookups_follow_the_expiry_mode_and_never_mix_up_keys() {
        let mut db = Db::new(2);
        // Same length, different slots and hashes: the remembered location must not answer
        // for the other key.
        db.insert(Bytes::from_static(b"key:1"), s("one"), None);
        db.insert(Bytes::from_static(b"key:2"), s("two"), Some(100));
        for _ in 0..2 {
            for (k, v) in [(&b"key:1"[..], "one"), (&b"key:2"[..], "two")] {
                assert_eq!(db.get(k, 50).map(|e| e.value.clone()), Some(s(v)));
            }
        }
        db.expiry = ExpiryMode::Ignore;
        assert!(db.get(b"key:2", 200).is_some());
        db.expiry = ExpiryMode::HideOnly;
        assert!(db.get(b"key:2", 200).is_none());
        assert!(db.get_mut(b"key:2", 200).is_none());
        assert_eq!(db.len(), 2);
        assert!(db.take_expired().is_empty());
        db.expiry = ExpiryMode::Delete;
        assert!(db.get_untouched(b"key:2", 200).is_none());
        assert_eq!(db.len(), 1);
        assert_eq!(db.take_expired(), vec![Bytes::from_static(b"key:2")]);
        assert_eq!(db.slot_len(key_slot(b"key:2")), 0);
        // A long key (not remembered, not inline) works the same.
        let long = Bytes::from(vec![b'x'; 100]);
        db.insert(long.clone(), s("l"), None);
        assert!(db.get(&long, 0).is_some());
        assert!(db.remove(&long).is_some());
        assert_eq!(db.len(), 1);
    }

    #[test]
    fn lazy_and_active_expiry() {
        let mut db = Db::new(1);
        db.insert(Bytes::from_static(b"a"), s("1"), Some(100));
        db.insert(Bytes::from_static(b"b"), s("1"), Some(100));
        db.insert(Bytes::from_static(b"c"), s("1"), None);
        assert_eq!(db.volatile_len(), 2);
        assert!(db.get(b"a", 99).is_some());
        assert!(db.get(b"a", 100).is_none());
        assert_eq!(db.volatile_len(), 1);
        assert_eq!(db.active_expire(150, 1000), 1);
        assert_eq!(db.len(), 1);
        assert_eq!(db.volatile_len(), 0);
    }

    /// The running count must equal a walk of the keyspace after any sequence of commands.
    fn walk_bytes(db: &Db) -> usize {
        db.entries()
            .map(|(k, e)| mem::entry_bytes(k, &e.value))
            .sum()
    }

    #[test]
    fn memory_counter_matches_a_walk_after_every_command() {
        let mut t = crate::node::testing::TestNode::new();
        let script: &[&[&str]] = &[
            &["SET", "s", "hello"],
            &[
                "SET",
                "s",
                "a much longer value than before, 48 bytes long!!",
            ],
            &["APPEND", "s", "more"],
            &["SETRANGE", "s", "100", "x"],
            &["INCR", "n"],
            &["INCRBY", "n", "1000000"],
            &["SET", "e", "v", "EX", "100"],
            &["PERSIST", "e"],
            &["RPUSH", "l", "a", "bb", "ccc", "dddd"],
            &["LPUSH", "l", "zero"],
            &["LSET", "l", "0", "a-much-longer-element-than-zero"],
            &["LINSERT", "l", "BEFORE", "bb", "ins"],
            &["LREM", "l", "0", "ccc"],
            &["LTRIM", "l", "1", "2"],
            &["LPOP", "l"],
            &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
            &["HSET", "h", "f1", "v1", "f2", "v2"],
            &["HINCRBY", "h", "n", "5"],
            &["HINCRBYFLOAT", "h", "n", "1.5"],
            &["HSET", "h", "f1", "a longer value for f1"],
            &["HDEL", "h", "f2"],
            &["SADD", "set", "1", "2", "3"],
            &["SADD", "set", "x"],
            &["SREM", "set", "2"],
            &["SPOP", "set"],
            &["SMOVE", "set", "set2", "1"],
            &["ZADD", "z", "1", "a", "2", "b"],
            &["ZINCRBY", "z", "5", "a"],
            &["ZREM", "z", "b"],
            &["ZPOPMIN", "z"],
            &["SUNIONSTORE", "u", "set", "set2"],
            &["RENAME", "u", "u2"],
            &["COPY", "u2", "u3"],
            &["DEL", "s", "h"],
            &["GETDEL", "n"],
        ];
        for cmd in script {
            t.run(cmd);
            assert_eq!(
                t.node.db.used_bytes(),
                walk_bytes(&t.node.db),
                "after {cmd:?}"
            );
        }
        // Big collections (past the compact forms).
        for i in 0..300 {
            let m = format!("member-{i}");
            t.run(&["SADD", "bigset", &m]);
            t.run(&["HSET", "bighash", &m, "v"]);
            t.run(&["ZADD", "bigz", &i.to_string(), &m]);
            t.run(&["RPUSH", "biglist", &m]);
        }
        assert_eq!(t.node.db.used_bytes(), walk_bytes(&t.node.db));
        for i in 0..150 {
            let m = format!("member-{i}");
            t.run(&["SREM", "bigset", &m]);
            t.run(&["HDEL", "bighash", &m]);
            t.run(&["ZREM", "bigz", &m]);
            t.run(&["RPOP", "biglist"]);
        }
        assert_eq!(t.node.db.used_bytes(), walk_bytes(&t.node.db));
        t.run(&["FLUSHALL"]);
        assert_eq!(t.node.db.used_bytes(), 0);
    }

    #[test]
    fn memory_counter_follows_expiry_and_slot_drops() {
        let mut db = Db::new(5);
        db.insert(Bytes::from_static(b"a"), s("1"), Some(100));
        db.insert(Bytes::from_static(b"key1"), s("hello"), None);
        let both = db.used_bytes();
        assert_eq!(both, walk_bytes(&db));
        assert!(db.get(b"a", 200).is_none());
        assert_eq!(db.used_bytes(), walk_bytes(&db));
        assert!(db.used_bytes() < both);
        assert_eq!(db.clear_slot(9189), 1);
        assert_eq!(db.used_bytes(), 0);
        // A pending in-place change is visible before it is settled.
        db.insert(
            Bytes::from_static(b"l"),
            Value::List(Default::default()),
            None,
        );
        if let Some(Value::List(l)) = db.get_mut(b"l", 0) {
            l.push_back(Bytes::from_static(b"element"));
        }
        assert_eq!(db.used_bytes(), walk_bytes(&db));
        db.settle();
        assert_eq!(db.used_bytes(), walk_bytes(&db));
    }

    #[test]
    fn access_bits_follow_lookups_but_not_peeks() {
        let mut db = Db::new(9);
        db.get(b"nothing", 0);
        db.insert(Bytes::from_static(b"k"), s("v"), None);
        assert_eq!(db.peek(b"k").map(|e| e.lru), Some(access::lru_clock(0)));
        db.get(b"k", 50_000);
        assert_eq!(
            db.peek(b"k").map(|e| e.lru),
            Some(access::lru_clock(50_000))
        );
        db.get_untouched(b"k", 90_000);
        assert_eq!(
            db.peek(b"k").map(|e| e.lru),
            Some(access::lru_clock(50_000))
        );
        db.set_access(Access::Lfu {
            log_factor: 10,
            decay_minutes: 1,
        });
        db.insert(Bytes::from_static(b"f"), s("v"), None);
        assert_eq!(db.peek(b"f").map(|e| e.lru & 0xff), Some(5));
        for _ in 0..1000 {
            db.get(b"f", 90_000);
        }
        let hot = db.peek(b"f").map_or(0, |e| e.lru & 0xff);
        assert!(hot > 10, "{hot}");
        // Overwriting keeps the LFU counter (Redis's dbSetValue).
        db.insert(Bytes::from_static(b"f"), s("w"), None);
        assert_eq!(db.peek(b"f").map_or(0, |e| e.lru & 0xff), hot);
    }

    #[test]
    fn sampling_finds_volatile_keys_only_when_asked() {
        let mut db = Db::new(11);
        for i in 0..1000 {
            let ttl = (i % 10 == 0).then_some(1_000_000);
            db.insert(Bytes::from(format!("k{i}")), s("v"), ttl);
        }
        let mut out = Vec::new();
        for pick in 0..200u64 {
            db.sample_keys(pick.wrapping_mul(0x9e37_79b9_7f4a_7c15), 5, true, &mut out);
            assert!(!out.is_empty());
            assert!(out
                .iter()
                .all(|k| db.peek(k).is_some_and(|e| e.expire_ms().is_some())));
            db.sample_keys(pick.wrapping_mul(0x9e37_79b9_7f4a_7c15), 5, false, &mut out);
            assert_eq!(out.len(), 5);
        }
    }

    #[test]
    fn scan_returns_every_key_once() {
        let mut db = Db::new(3);
        for i in 0..1000 {
            db.insert(Bytes::from(format!("k{i}")), s("v"), None);
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = 0;
        loop {
            let (next, keys) = db.scan(cursor, 10);
            for k in keys {
                assert!(seen.insert(k));
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        assert_eq!(seen.len(), 1000);
    }
}

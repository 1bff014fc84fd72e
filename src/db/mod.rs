//! The keyspace: values, expiry, and a per-slot key index.
//!
//! One map from key to [`Entry`]. Beside it, each of the 16384 hash slots keeps the set of its
//! keys, so CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT, SCAN and dropping a lost slot's keys never
//! walk the whole keyspace. Hashing is keyed with seeds from the node's RNG: iteration order is
//! unpredictable to clients (no hash flooding) yet replays exactly in the simulator.
//!
//! Expiry is Redis's: a key past its absolute unix-ms deadline is deleted when touched (lazy), and
//! [`Db::active_expire`] walks slots that hold keys with a TTL in the background.

pub mod format;
pub mod value;

pub use value::Value;

use crate::slot::{key_slot, SLOT_COUNT};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};

type Hasher = ahash::RandomState;

/// A value and its optional expire time.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Absolute unix milliseconds after which the key no longer exists.
    pub expire_ms: Option<u64>,
}

/// The keys of one hash slot.
#[derive(Debug, Clone)]
struct SlotKeys {
    keys: HashSet<Bytes, Hasher>,
    /// How many of them carry a TTL; active expiry skips slots where this is 0.
    volatile: u32,
}

/// Database 0 of a node.
#[derive(Debug, Clone)]
pub struct Db {
    /// Every key and its entry.
    map: HashMap<Bytes, Entry, Hasher>,
    /// Per-slot key sets, indexed by slot.
    slots: Vec<SlotKeys>,
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
}

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
        let slots = (0..SLOT_COUNT)
            .map(|_| SlotKeys {
                keys: HashSet::with_hasher(hasher.clone()),
                volatile: 0,
            })
            .collect();
        Db {
            map: HashMap::with_hasher(hasher.clone()),
            slots,
            volatile: 0,
            expire_cursor: 0,
            hasher,
            expiry: ExpiryMode::Delete,
            expired_log: Vec::new(),
        }
    }

    /// Number of keys (expired ones not yet collected included, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile
    }

    /// Deletes the key if it has expired at `now_ms`; true if it was deleted.
    fn expire_if_needed(&mut self, key: &[u8], now_ms: u64) -> bool {
        if self.expiry == ExpiryMode::Ignore {
            return false;
        }
        let expired =
            matches!(self.map.get(key), Some(Entry { expire_ms: Some(t), .. }) if *t <= now_ms);
        if expired && self.expiry == ExpiryMode::Delete {
            if let Some((k, _)) = self.map.get_key_value(key) {
                self.expired_log.push(k.clone());
            }
            self.remove(key);
        }
        expired
    }

    /// Keys deleted by expiry since the last call (a master replicates each as DEL).
    pub fn take_expired(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.expired_log)
    }

    /// Deletes the key if it has expired at `now_ms`; true if it was deleted (commands count this
    /// in INFO's `expired_keys`, as Redis counts lazy expiry).
    pub fn remove_if_expired(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.expire_if_needed(key, now_ms)
    }

    /// A key's entry without any expiry check (KEYS filters expired keys without deleting them).
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    /// The live entry of a key (an expired key is deleted and reads as absent).
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        self.map.get(key)
    }

    /// The live entry of a key, for in-place change. Changing `expire_ms` through this reference
    /// would break the volatile count: use [`Db::set_expire`] for that.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        self.map.get_mut(key).map(|e| &mut e.value)
    }

    /// True if the key exists and has not expired.
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// Sets a key's value and expire time, replacing any previous entry.
    pub fn insert(&mut self, key: Bytes, value: Value, expire_ms: Option<u64>) {
        let slot = key_slot(&key) as usize;
        let entry = Entry { value, expire_ms };
        match self.map.get_mut(&key) {
            Some(old) => {
                let was = old.expire_ms.is_some();
                *old = entry;
                self.adjust_volatile(slot, was, expire_ms.is_some());
            }
            None => {
                self.slots[slot].keys.insert(key.clone());
                self.map.insert(key, entry);
                self.adjust_volatile(slot, false, expire_ms.is_some());
            }
        }
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
        let (key, entry) = self.map.remove_entry(key)?;
        let slot = key_slot(&key) as usize;
        self.slots[slot].keys.remove(&key);
        self.adjust_volatile(slot, entry.expire_ms.is_some(), false);
        Some(entry)
    }

    /// Sets or clears a live key's expire time; false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], expire_ms: Option<u64>, now_ms: u64) -> bool {
        self.expire_if_needed(key, now_ms);
        let Some(entry) = self.map.get_mut(key) else {
            return false;
        };
        let was = entry.expire_ms.is_some();
        entry.expire_ms = expire_ms;
        let slot = key_slot(key) as usize;
        self.adjust_volatile(slot, was, expire_ms.is_some());
        true
    }

    /// Deletes every key.
    pub fn clear(&mut self) {
        self.map.clear();
        for s in &mut self.slots {
            s.keys.clear();
            s.volatile = 0;
        }
        self.volatile = 0;
    }

    /// Number of keys in a slot.
    pub fn slot_len(&self, slot: u16) -> usize {
        self.slots.get(slot as usize).map_or(0, |s| s.keys.len())
    }

    /// Up to `count` keys of a slot.
    pub fn keys_in_slot(&self, slot: u16, count: usize) -> Vec<Bytes> {
        self.slots
            .get(slot as usize)
            .map(|s| s.keys.iter().take(count).cloned().collect())
            .unwrap_or_default()
    }

    /// Deletes every key of a slot (a slot this node lost); returns how many.
    pub fn clear_slot(&mut self, slot: u16) -> usize {
        let keys: Vec<Bytes> = self.keys_in_slot(slot, usize::MAX);
        for k in &keys {
            self.remove(k);
        }
        keys.len()
    }

    /// Every key (KEYS, DEBUG DIGEST). Order: slot by slot.
    pub fn keys(&self) -> impl Iterator<Item = &Bytes> {
        self.slots.iter().flat_map(|s| s.keys.iter())
    }

    /// Every key with its entry (replication snapshots, digests).
    pub fn entries(&self) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.map.iter()
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
            out.extend(self.slots[slot].keys.iter().cloned());
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
            out.extend(self.slots[slot].keys.iter().cloned());
            slot += 1;
        }
        while slot < SLOT_COUNT && self.slots[slot].keys.is_empty() {
            slot += 1;
        }
        let next = if slot >= SLOT_COUNT { 0 } else { slot as u64 };
        (next, out)
    }

    /// A random key, from `pick` (a number from the node's RNG), or None when empty.
    pub fn random_key(&self, pick: u64) -> Option<Bytes> {
        if self.map.is_empty() {
            return None;
        }
        // Start at a random slot and take the first non-empty one's first key: O(slots) at worst,
        // no allocation, deterministic for a given pick.
        let start = (pick % SLOT_COUNT as u64) as usize;
        (0..SLOT_COUNT)
            .map(|i| (start + i) % SLOT_COUNT)
            .find_map(|s| {
                let keys = &self.slots[s].keys;
                let n = keys.len();
                if n == 0 {
                    None
                } else {
                    keys.iter().nth(((pick >> 14) % n as u64) as usize).cloned()
                }
            })
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
            for key in &self.slots[slot].keys {
                checked += 1;
                if let Some(Entry {
                    expire_ms: Some(t), ..
                }) = self.map.get(key)
                {
                    if *t <= now_ms {
                        expired.push(key.clone());
                    }
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
        db.map = HashMap::with_hasher(self.hasher.clone());
        for s in &mut db.slots {
            s.keys = HashSet::with_hasher(self.hasher.clone());
        }
        db.expiry = self.expiry;
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

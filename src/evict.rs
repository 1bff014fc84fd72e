//! maxmemory and key eviction, as Redis's `evict.c` does it.
//!
//! Before running a command, [`crate::node::Node`] compares the dataset's running byte count
//! ([`used_memory`]) with `maxmemory` (one comparison; no limit is `u64::MAX`). Only when it is
//! over does [`NodeView::perform_evictions`] run: it deletes keys chosen by
//! `maxmemory-policy` until the count is back under the limit, and each evicted key reaches the
//! replicas and the AOF as `DEL`, as Redis propagates it. If nothing can be evicted
//! (`noeviction`, or a `volatile-*` policy with no key carrying a TTL) the node answers
//! commands flagged deny-oom with Redis's `-OOM command not allowed when used memory >
//! 'maxmemory'.` while reads and deletions keep working.
//!
//! Choosing a key follows Redis's approximation: `maxmemory-samples` keys are sampled (from
//! every key or only those with a TTL) and the best candidates kept in a pool of
//! [`POOL_SIZE`] sorted by score (idle time for LRU, 255 minus the decayed counter for LFU,
//! the nearest expire time for volatile-ttl); the best of the pool is evicted, after checking
//! that it still exists (a pool entry can be a ghost). The pool survives between calls, so the
//! choice improves over consecutive evictions. The random policies evict one sampled key.
//!
//! A replica does not evict on its own while `replica-ignore-maxmemory` is yes (the default):
//! it deletes what its master's DELs say. Nothing is evicted while the dataset loads or while
//! writes are paused for a manual failover (Redis's isSafeToPerformEvictions); commands are
//! then not refused either. `maxmemory-eviction-tenacity` is accepted and shown
//! but not used: eviction here always runs until the count is under the limit (Redis may stop
//! after a time budget and continue in a timer, which its default tenacity rarely needs for
//! small keys).
//!
//! Randomness comes from the node's seeded RNG, so the simulator replays every choice.

use crate::db::{access, Access, Db};
use crate::node::NodeView;
use bytes::Bytes;
use rand::RngCore;

/// The `maxmemory-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    AllkeysLru,
    VolatileLru,
    AllkeysLfu,
    VolatileLfu,
    AllkeysRandom,
    VolatileRandom,
    VolatileTtl,
}

/// How a policy picks its victim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    /// The pool, scored by idle time, inverted frequency or nearest expiry.
    Pool,
    /// One random sampled key.
    Random,
}

impl Policy {
    /// The policy named by a config value (lower case, as the config table stores it).
    pub fn parse(name: &str) -> Option<Policy> {
        Some(match name {
            "noeviction" => Policy::NoEviction,
            "allkeys-lru" => Policy::AllkeysLru,
            "volatile-lru" => Policy::VolatileLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "volatile-lfu" => Policy::VolatileLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => return None,
        })
    }

    /// True if only keys with a TTL may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// True for the LFU policies (OBJECT FREQ works, OBJECT IDLETIME does not).
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllkeysLfu | Policy::VolatileLfu)
    }

    /// What the keys' access bits mean under this policy.
    pub fn access(self, log_factor: u32, decay_minutes: u32) -> Access {
        if self.is_lfu() {
            Access::Lfu {
                log_factor,
                decay_minutes,
            }
        } else {
            Access::Lru
        }
    }

    fn choice(self) -> Option<Choice> {
        match self {
            Policy::NoEviction => None,
            Policy::AllkeysRandom | Policy::VolatileRandom => Some(Choice::Random),
            _ => Some(Choice::Pool),
        }
    }
}

/// Candidates kept between evictions (Redis's `EVPOOL_SIZE`).
pub const POOL_SIZE: usize = 16;

/// Sampling attempts that find no candidate before giving up (a `volatile-*` sample can come
/// back empty while keys with a TTL hide among many without; this bounds the search).
const EMPTY_SAMPLES_MAX: usize = 64;

/// A pool entry: a higher score is a better victim.
#[derive(Debug, Clone)]
struct Candidate {
    score: u64,
    key: Bytes,
}

/// The eviction state a node keeps: the pool and a reusable sample buffer, both allocated once
/// (eviction allocates nothing per key).
#[derive(Debug)]
pub struct Evictor {
    /// Sorted by ascending score; the best victim is last.
    pool: Vec<Candidate>,
    samples: Vec<Bytes>,
    /// The policy the pool's scores were computed under.
    policy: Option<Policy>,
}

impl Default for Evictor {
    fn default() -> Self {
        Evictor {
            pool: Vec::with_capacity(POOL_SIZE),
            samples: Vec::with_capacity(64),
            policy: None,
        }
    }
}

impl Evictor {
    /// Forgets every candidate (the policy changed, so their scores mean something else).
    pub fn clear(&mut self) {
        self.pool.clear();
    }

    /// Redis's pool insertion: keep the POOL_SIZE best, dropping the worst when full.
    fn offer(&mut self, score: u64, key: &Bytes) {
        if let Some(i) = self.pool.iter().position(|c| c.key == *key) {
            self.pool.remove(i);
        }
        let pos = self.pool.partition_point(|c| c.score < score);
        if self.pool.len() < POOL_SIZE {
            self.pool.insert(
                pos,
                Candidate {
                    score,
                    key: key.clone(),
                },
            );
        } else if pos > 0 {
            self.pool.remove(0);
            self.pool.insert(
                pos - 1,
                Candidate {
                    score,
                    key: key.clone(),
                },
            );
        }
    }
}

/// What [`NodeView::perform_evictions`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Under the limit (or not this node's job: no limit, an ignoring replica).
    Ok,
    /// Still over the limit and nothing left to evict: deny-oom commands get -OOM.
    Fail,
}

/// INFO's `used_memory`: the empty node's keyspace structures plus the dataset's running count.
pub fn used_memory(db: &Db) -> u64 {
    (Db::fixed_bytes() + db.used_bytes()) as u64
}

/// Redis's error for a deny-oom command over the limit.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// A key's score under `policy` at `now_ms` (higher: evict first).
fn score(policy: Policy, access_bits: u32, expire_ms: Option<u64>, now_ms: u64, decay: u32) -> u64 {
    match policy {
        Policy::VolatileTtl => u64::MAX - expire_ms.unwrap_or(u64::MAX),
        Policy::AllkeysLfu | Policy::VolatileLfu => {
            255 - access::lfu_decayed(access_bits, now_ms, decay) as u64
        }
        _ => access::idle_ms(access_bits, now_ms),
    }
}

impl NodeView<'_> {
    /// Evicts keys until the dataset is under `maxmemory` (Redis's performEvictions).
    pub fn perform_evictions(&mut self) -> Outcome {
        let config = &self.rest.config;
        let limit = config.maxmemory_limit;
        if used_memory(self.db) <= limit {
            return Outcome::Ok;
        }
        if self.rest.repl.is_replica() && config.replica_ignore_maxmemory {
            return Outcome::Ok;
        }
        // As Redis's isSafeToPerformEvictions: not while loading, and not while writes are
        // paused (a manual failover waits for the replica to reach a fixed offset).
        if self.rest.persist.loading.is_some()
            || self.rest.write_pause_until_ms > self.rest.clock.mono_ms()
            || self.rest.client_pause.until_ms > self.rest.clock.mono_ms()
        {
            return Outcome::Ok;
        }
        let policy = config.maxmemory_policy;
        if self.rest.evictor.policy != Some(policy) {
            // Scores of another policy mean something else.
            self.rest.evictor.pool.clear();
            self.rest.evictor.policy = Some(policy);
        }
        let Some(choice) = policy.choice() else {
            return Outcome::Fail;
        };
        while used_memory(self.db) > limit {
            let victim = match choice {
                Choice::Pool => self.best_from_pool(policy),
                Choice::Random => self.random_victim(policy),
            };
            let Some(key) = victim else {
                return Outcome::Fail;
            };
            self.evict(&key);
        }
        Outcome::Ok
    }

    /// Deletes an evicted key: stats, watchers, and DEL to the replicas and the AOF.
    fn evict(&mut self, key: &Bytes) {
        if self.db.remove(key).is_none() {
            return;
        }
        self.rest.stats.evicted_keys += 1;
        if !self.rest.watches.is_empty() {
            self.rest.watches.touch(key, false);
        }
        if !self.rest.repl.is_replica() {
            self.rest.repl.propagate(&[b"DEL", key]);
        }
        crate::notify::emit(self.db, self.rest, crate::notify::EVICTED, "evicted", key);
    }

    /// Samples until the pool yields a live candidate; None when no key is evictable.
    fn best_from_pool(&mut self, policy: Policy) -> Option<Bytes> {
        let volatile = policy.volatile_only();
        let samples = self.rest.config.maxmemory_samples;
        let decay = self.rest.config.lfu_decay_time_minutes;
        let now_ms = self.rest.clock.unix_ms();
        for _ in 0..EMPTY_SAMPLES_MAX {
            if !self.draw_samples(volatile, samples) {
                return None;
            }
            let ev = &mut self.rest.evictor;
            for i in 0..ev.samples.len() {
                let key = ev.samples[i].clone();
                if let Some(e) = self.db.peek(&key) {
                    let s = score(policy, e.lru, e.expire_ms(), now_ms, decay);
                    ev.offer(s, &key);
                }
            }
            while let Some(c) = ev.pool.pop() {
                let live = self
                    .db
                    .peek(&c.key)
                    .is_some_and(|e| !volatile || e.expire_ms().is_some());
                if live {
                    return Some(c.key);
                }
            }
        }
        None
    }

    /// Fills the evictor's sample buffer with up to `count` keys of the class (volatile ones,
    /// or all) from a random place; false when the class is empty.
    fn draw_samples(&mut self, volatile: bool, count: usize) -> bool {
        let candidates = if volatile {
            self.db.volatile_len()
        } else {
            self.db.len()
        };
        if candidates == 0 {
            return false;
        }
        let pick = self.rest.rng.next_u64();
        self.db
            .sample_keys(pick, count, volatile, &mut self.rest.evictor.samples);
        true
    }

    /// One random key of the policy's class.
    fn random_victim(&mut self, policy: Policy) -> Option<Bytes> {
        let volatile = policy.volatile_only();
        for _ in 0..EMPTY_SAMPLES_MAX {
            if !self.draw_samples(volatile, 1) {
                return None;
            }
            if let Some(k) = self.rest.evictor.samples.pop() {
                return Some(k);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best_sorted() {
        let mut ev = Evictor::default();
        for i in 0..40u64 {
            let key = Bytes::from(format!("k{i}"));
            ev.offer((i * 7919) % 101, &key);
        }
        assert_eq!(ev.pool.len(), POOL_SIZE);
        assert!(ev.pool.windows(2).all(|w| w[0].score <= w[1].score));
        // The 16 highest scores of the 40 offered.
        let mut all: Vec<u64> = (0..40u64).map(|i| (i * 7919) % 101).collect();
        all.sort_unstable();
        let best: Vec<u64> = ev.pool.iter().map(|c| c.score).collect();
        assert_eq!(best, all[all.len() - POOL_SIZE..].to_vec());
        // Offering a key again replaces its entry.
        let again = ev.pool[0].key.clone();
        ev.offer(1000, &again);
        assert_eq!(ev.pool.last().map(|c| c.key.clone()), Some(again));
        assert_eq!(ev.pool.len(), POOL_SIZE);
    }

    /// Fills a node past a small limit under `policy`; returns it.
    fn filled(policy: &str, with_ttl: impl Fn(usize) -> bool) -> crate::node::testing::TestNode {
        let mut t = crate::node::testing::TestNode::new();
        t.run(&["CONFIG", "SET", "maxmemory-policy", policy]);
        let limit = (used_memory(&t.node.db) + 100_000).to_string();
        t.run(&["CONFIG", "SET", "maxmemory", &limit]);
        let value = "v".repeat(64);
        for i in 0..2000 {
            let key = format!("key:{i}");
            // Absolute deadlines (year 2096 on): the TestNode's clock is the real one, and a
            // relative TTL would make volatile-ttl's order depend on when each SET ran.
            let at = (4_000_000_000_000u64 + i as u64 * 1000).to_string();
            let reply = if with_ttl(i) {
                t.run(&["SET", &key, &value, "PXAT", &at])
            } else {
                t.run(&["SET", &key, &value])
            };
            assert!(!reply.is_error(), "{policy}: {reply:?}");
        }
        t
    }

    #[test]
    fn eviction_keeps_index_and_replication_consistent() {
        for policy in [
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
        ] {
            let volatile = policy.starts_with("volatile");
            let before = {
                let t = crate::node::testing::TestNode::new();
                t.node.rest.repl.offset
            };
            let mut t = filled(policy, |i| !volatile || i % 10 != 0);
            // The last write may cross the limit; the next command evicts first (as Redis).
            t.run(&["PING"]);
            let db = &t.node.db;
            assert!(
                used_memory(db) <= t.node.rest.config.maxmemory_limit,
                "{policy}"
            );
            let evicted = t.node.rest.stats.evicted_keys;
            assert!(evicted > 0, "{policy}");
            assert_eq!(db.len() as u64, 2000 - evicted, "{policy}");
            let in_slots: usize = (0..crate::slot::SLOT_COUNT as u16)
                .map(|s| db.slot_len(s))
                .sum();
            assert_eq!(in_slots, db.len(), "{policy}: slot index");
            if volatile {
                // Every tenth key (no TTL) is still there.
                assert!((0..2000)
                    .filter(|i| i % 10 == 0)
                    .all(|i| db.peek(format!("key:{i}").as_bytes()).is_some()));
            }
            // Each eviction reached the replication stream as a DEL.
            let stream = t
                .node
                .rest
                .repl
                .backlog
                .since(before + 1)
                .unwrap_or_default();
            let dels = stream
                .windows(b"$3\r\nDEL\r\n".len())
                .filter(|w| *w == b"$3\r\nDEL\r\n")
                .count();
            assert_eq!(dels as u64, evicted, "{policy}");
        }
    }

    #[test]
    fn noeviction_and_volatile_without_ttl_refuse_deny_oom_commands() {
        for policy in ["noeviction", "volatile-lru"] {
            let mut t = crate::node::testing::TestNode::new();
            t.run(&["CONFIG", "SET", "maxmemory-policy", policy]);
            let limit = (used_memory(&t.node.db) + 20_000).to_string();
            t.run(&["CONFIG", "SET", "maxmemory", &limit]);
            let mut refused = 0;
            for i in 0..200 {
                let reply = t.run_text(&["SET", &format!("k{i}"), "value"]);
                if reply != "+OK\r\n" {
                    assert_eq!(reply, format!("-{OOM_ERROR}\r\n"));
                    refused += 1;
                }
            }
            assert!(refused > 0, "{policy}");
            assert_eq!(t.node.rest.stats.evicted_keys, 0);
            // Reads and deletions still run; a write fits again after a DEL.
            assert_eq!(t.run_text(&["GET", "k0"]), "$5\r\nvalue\r\n");
            assert_eq!(t.run_text(&["DEL", "k0", "k1", "k2"]), ":3\r\n");
            assert_eq!(t.run_text(&["SET", "again", "v"]), "+OK\r\n");
        }
    }

    #[test]
    fn the_same_seed_evicts_the_same_keys() {
        // The simulator replays a seed: eviction's sampling comes from the node's seeded RNG.
        // (LRU and LFU scores also read the clock, which is real in a TestNode.)
        for policy in ["allkeys-random", "volatile-random", "volatile-ttl"] {
            let keys = |t: &crate::node::testing::TestNode| {
                let mut k: Vec<Bytes> = t.node.db.keys().map(Bytes::copy_from_slice).collect();
                k.sort();
                k
            };
            let a = filled(policy, |_| true);
            let b = filled(policy, |_| true);
            assert!(a.node.rest.stats.evicted_keys > 0);
            assert_eq!(keys(&a), keys(&b), "{policy}");
        }
    }

    #[test]
    fn policy_names_round_trip() {
        for name in [
            "noeviction",
            "allkeys-lru",
            "volatile-lru",
            "allkeys-lfu",
            "volatile-lfu",
            "allkeys-random",
            "volatile-random",
            "volatile-ttl",
        ] {
            let p = Policy::parse(name).expect(name);
            assert_eq!(p.volatile_only(), name.starts_with("volatile"));
            assert_eq!(p.is_lfu(), name.ends_with("lfu"));
        }
        assert_eq!(Policy::parse("bogus"), None);
    }
}

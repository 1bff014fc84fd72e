//! Per-key access tracking for eviction: Redis's 24-bit LRU clock or LFU counter.
//!
//! Every entry carries 24 bits (in a `u32`), read as Redis reads `robj->lru`:
//!
//! - **LRU** (every policy but the LFU ones): the time of the last access in seconds, modulo
//!   2^24 (Redis's `LRU_CLOCK` at its 1000 ms resolution). Idle time wraps like Redis's
//!   `estimateObjectIdleTime`.
//! - **LFU** (`allkeys-lfu`, `volatile-lfu`): the high 16 bits are the last decrement time in
//!   minutes modulo 2^16, the low 8 bits a logarithmic counter. An access first decays the
//!   counter by one per `lfu-decay-time` minutes elapsed, then increments it with probability
//!   `1 / ((counter - 5) * lfu-log-factor + 1)`, so about a million hits saturate it at 255
//!   with the default factor 10. New keys start at 5 so that they are not evicted at once.
//!
//! The mode follows `maxmemory-policy`; as in Redis, switching policies at run time leaves the
//! old meaning in the bits until keys are touched again. The increment's coin comes from a
//! generator the keyspace owns, seeded from the node's RNG, so the simulator replays it.

/// Redis's `LFU_INIT_VAL`.
pub const LFU_INIT: u8 = 5;
/// The LRU clock wraps at 2^24 seconds (Redis's `LRU_CLOCK_MAX`).
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

/// How accesses update a key's 24 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Lru,
    Lfu { log_factor: u32, decay_minutes: u32 },
}

/// The LRU clock at `now_ms`: seconds modulo 2^24.
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) & LRU_CLOCK_MAX as u64) as u32
}

/// Minutes modulo 2^16 (Redis's `LFUGetTimeInMinutes`).
fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// Milliseconds since the LRU stamp `lru` (Redis's `estimateObjectIdleTime`).
pub fn idle_ms(lru: u32, now_ms: u64) -> u64 {
    let clock = lru_clock(now_ms);
    let lru = lru & LRU_CLOCK_MAX;
    let seconds = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    };
    seconds as u64 * 1000
}

/// The LFU counter of `lru` after decay at `now_ms` (Redis's `LFUDecrAndReturn`).
pub fn lfu_decayed(lru: u32, now_ms: u64, decay_minutes: u32) -> u8 {
    let last = lru >> 8;
    let counter = (lru & 0xff) as u8;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= last {
        now - last
    } else {
        65535 - last + now
    };
    // lfu-decay-time 0: never decays.
    let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
    if periods >= counter as u32 {
        0
    } else {
        counter - periods as u8
    }
}

/// One logarithmic increment (Redis's `LFULogIncr`); `coin` is uniform in [0, 1).
pub fn lfu_log_incr(counter: u8, log_factor: u32, coin: f64) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if coin < p {
        counter + 1
    } else {
        counter
    }
}

impl Access {
    /// The bits of a new key.
    pub fn initial(self, now_ms: u64) -> u32 {
        match self {
            Access::Lru => lru_clock(now_ms),
            Access::Lfu { .. } => (lfu_minutes(now_ms) << 8) | LFU_INIT as u32,
        }
    }

    /// The bits after an access; `coin` is uniform in [0, 1).
    pub fn touched(self, lru: u32, now_ms: u64, coin: f64) -> u32 {
        match self {
            Access::Lru => lru_clock(now_ms),
            Access::Lfu {
                log_factor,
                decay_minutes,
            } => {
                let counter = lfu_decayed(lru, now_ms, decay_minutes);
                let counter = lfu_log_incr(counter, log_factor, coin);
                (lfu_minutes(now_ms) << 8) | counter as u32
            }
        }
    }
}

/// A small deterministic generator for the LFU coin (splitmix64), seeded from the node's RNG:
/// the keyspace cannot borrow the node's RNG on every lookup.
#[derive(Debug, Clone)]
pub struct Coin(u64);

impl Coin {
    pub fn new(seed: u64) -> Coin {
        Coin(seed)
    }

    /// Uniform in [0, 1).
    pub fn flip(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_idle_time_wraps_like_redis() {
        let t0 = 5_000_000;
        let lru = lru_clock(t0);
        assert_eq!(idle_ms(lru, t0 + 12_345), 12_000);
        // A stamp just below the wrap, read just after it.
        let before_wrap = (LRU_CLOCK_MAX as u64 - 1) * 1000;
        let stamp = lru_clock(before_wrap);
        assert_eq!(idle_ms(stamp, before_wrap + 3000), 2000);
    }

    #[test]
    fn lfu_counter_is_logarithmic() {
        let access = Access::Lfu {
            log_factor: 10,
            decay_minutes: 1,
        };
        let mut coin = Coin::new(42);
        let now = 1_000_000;
        let mut bits = access.initial(now);
        assert_eq!(bits & 0xff, LFU_INIT as u32);
        let mut after = Vec::new();
        for hits in 1..=1_000_000u32 {
            bits = access.touched(bits, now, coin.flip());
            if [100, 1000, 100_000, 1_000_000].contains(&hits) {
                after.push(bits & 0xff);
            }
        }
        // redis.conf's table for lfu-log-factor 10: 100 hits -> 10, 1K -> 18, 100K -> 142,
        // 1M -> 255.
        assert!((8..=13).contains(&after[0]), "{after:?}");
        assert!((15..=22).contains(&after[1]), "{after:?}");
        assert!((120..=165).contains(&after[2]), "{after:?}");
        assert!(after[3] >= 240, "{after:?}");
    }

    #[test]
    fn lfu_counter_decays_per_period() {
        let now = 10 * 60_000;
        let bits = (lfu_minutes(now) << 8) | 20;
        assert_eq!(lfu_decayed(bits, now, 1), 20);
        assert_eq!(lfu_decayed(bits, now + 3 * 60_000, 1), 17);
        assert_eq!(lfu_decayed(bits, now + 3 * 60_000, 2), 19);
        assert_eq!(lfu_decayed(bits, now + 30 * 60_000, 1), 0);
        assert_eq!(
            lfu_decayed(bits, now + 30 * 60_000, 0),
            20,
            "decay time 0: never"
        );
    }

    #[test]
    fn coin_is_uniform_enough() {
        let mut c = Coin::new(1);
        let n = 100_000;
        let below_half = (0..n).filter(|_| c.flip() < 0.5).count();
        assert!((n * 49 / 100..n * 51 / 100).contains(&below_half));
    }
}

//! The generator behind the scripts' `math.random` (Redis's redisLrand48 / redisSrand48).
//!
//! Redis replaces Lua's libc-based `math.random` with a 48-bit linear congruential generator so
//! a script draws the same sequence on every platform; the state starts at the classic drand48
//! seed when the server starts and changes only by drawing or by `math.randomseed`. It takes
//! nothing from the OS, so the simulator replays it.

/// lrand48's multiplier and increment, modulo 2^48.
const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

/// The largest value [`Rand48::draw`] returns plus one (Redis's REDIS_LRAND48_MAX, INT32_MAX).
pub const LRAND48_MAX: i64 = i32::MAX as i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rand48 {
    x: u64,
}

impl Default for Rand48 {
    fn default() -> Self {
        Rand48 {
            x: 0x1234_ABCD_330E,
        }
    }
}

impl Rand48 {
    /// redisSrand48: the seed's 32 bits above the fixed low word 0x330E.
    pub fn seed(&mut self, seed: i32) {
        self.x = ((seed as u32 as u64) << 16) | 0x330E;
    }

    /// redisLrand48: the next 31-bit value.
    pub fn draw(&mut self) -> i64 {
        self.x = (A.wrapping_mul(self.x).wrapping_add(C)) & MASK;
        (self.x >> 17) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_lrand48() {
        // One LCG step from seed 0: ((0x330E * A + C) mod 2^48) >> 17.
        let mut r = Rand48::default();
        r.seed(0);
        assert_eq!(r.draw(), 366850414);
        // Same seed, same sequence.
        let mut a = Rand48::default();
        let mut b = Rand48::default();
        a.seed(42);
        b.seed(42);
        assert_eq!(a.draw(), b.draw());
    }
}

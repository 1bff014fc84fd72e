//! The positions HRANDFIELD, ZRANDMEMBER and SRANDMEMBER answer with a count, drawn from the
//! node's seeded generator (so the simulator replays them): a negative count may repeat
//! positions, a positive one gives distinct positions, all of them when it reaches the size.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// `count` positions below `len` (`len` > 0) as Redis's RANDFIELD/RANDMEMBER with a count pick
/// them: |count| draws with repeats when negative, else min(count, len) distinct ones.
pub fn positions(rng: &mut ChaCha8Rng, len: usize, count: i64) -> Vec<usize> {
    if count < 0 {
        (0..count.unsigned_abs())
            .map(|_| rng.gen_range(0..len))
            .collect()
    } else if count as u64 >= len as u64 {
        (0..len).collect()
    } else {
        rand::seq::index::sample(rng, len, count as usize).into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn repeats_only_for_negative_counts() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(positions(&mut rng, 3, -10).len(), 10);
        assert_eq!(positions(&mut rng, 3, 10), vec![0, 1, 2]);
        let mut two = positions(&mut rng, 5, 2);
        two.sort_unstable();
        two.dedup();
        assert_eq!(two.len(), 2);
        assert!(two.iter().all(|&i| i < 5));
    }
}

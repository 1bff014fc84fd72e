//! Key -> hash slot, as Redis Cluster computes it.

/// Number of hash slots in a Redis Cluster.
pub const SLOT_COUNT: usize = 16384;

/// The hash slot of a key: CRC16-XMODEM of the key (or of its `{hashtag}` body when the key has a
/// `{` followed later by a `}` with at least one byte between them), modulo 16384.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    crc16::State::<crc16::XMODEM>::calculate(hashed) & (SLOT_COUNT as u16 - 1)
}

/// The `{tag}` body of a key, if it has a non-empty one (first `{`, then the first `}` after it).
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let rest = &key[open + 1..];
    let close = rest.iter().position(|&b| b == b'}')?;
    if close == 0 {
        None
    } else {
        Some(&rest[..close])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values printed by redis-cli CLUSTER KEYSLOT against redis-server 7.0.15.
        assert_eq!(key_slot(b"key1"), 9189);
        assert_eq!(key_slot(b"key:2"), 10850);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b""), 0);
    }
}

//! Node identifiers: 40 lowercase hex characters, as Redis Cluster names nodes.

use std::fmt;

/// Length of a node id in bytes.
pub const NODE_ID_LEN: usize = 40;

/// A node's name on the bus and in CLUSTER NODES.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub [u8; NODE_ID_LEN]);

impl NodeId {
    /// A fresh random id from 160 random bits (Redis: getRandomHexChars).
    pub fn random(rng: &mut impl rand::RngCore) -> NodeId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = [0u8; NODE_ID_LEN];
        for b in id.iter_mut() {
            *b = HEX[(rng.next_u32() & 15) as usize];
        }
        NodeId(id)
    }

    /// Parses 40 hex characters (either case is accepted; stored as given, like Redis).
    pub fn parse(s: &[u8]) -> Option<NodeId> {
        if s.len() != NODE_ID_LEN || !s.iter().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let mut id = [0u8; NODE_ID_LEN];
        id.copy_from_slice(s);
        Some(NodeId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII hex digits (random or parse), so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The all-zero id Redis sends in `slaveof` for "no master".
    pub fn is_null(bytes: &[u8]) -> bool {
        bytes.iter().all(|&b| b == 0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NodeId({})",
            &self.as_str()[..8.min(self.as_str().len())]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn random_ids_are_hex_and_parse() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let id = NodeId::random(&mut rng);
        assert_eq!(NodeId::parse(id.as_str().as_bytes()), Some(id));
        assert!(NodeId::parse(b"xyz").is_none());
    }
}

//! The replication backlog: the last `capacity` bytes of the replication stream, so a replica
//! that lost its link can continue from its offset (`+CONTINUE`) instead of a full resync.

use std::collections::VecDeque;

/// A bounded window of the stream, ending at the current replication offset.
#[derive(Debug, Clone)]
pub struct Backlog {
    /// The retained bytes; the oldest first.
    bytes: VecDeque<u8>,
    /// repl-backlog-size: bytes kept at most.
    capacity: usize,
    /// Replication offset of the first retained byte (Redis's repl_backlog_first_byte_offset),
    /// meaningful when `bytes` is non-empty or the backlog was started.
    first_offset: u64,
}

impl Backlog {
    /// An empty backlog whose next byte will have offset `next_offset`.
    pub fn new(capacity: usize, next_offset: u64) -> Backlog {
        Backlog {
            bytes: VecDeque::new(),
            capacity: capacity.max(16 * 1024),
            first_offset: next_offset,
        }
    }

    /// Appends stream bytes, dropping the oldest beyond the capacity.
    pub fn append(&mut self, data: &[u8]) {
        self.bytes.extend(data.iter().copied());
        let excess = self.bytes.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.first_offset += excess as u64;
        }
    }

    /// Forgets everything; the next byte will have offset `next_offset`.
    pub fn reset(&mut self, next_offset: u64) {
        self.bytes.clear();
        self.first_offset = next_offset;
    }

    /// Changes the capacity (CONFIG SET repl-backlog-size), trimming if needed.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(16 * 1024);
        self.append(&[]);
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Offset of the first retained byte.
    pub fn first_offset(&self) -> u64 {
        self.first_offset
    }

    /// Number of retained bytes (repl_backlog_histlen).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes from replication offset `from` to the end, if the backlog still holds them
    /// (`from` may equal the end offset: nothing is missing).
    pub fn since(&self, from: u64) -> Option<Vec<u8>> {
        let end = self.first_offset + self.bytes.len() as u64;
        if from < self.first_offset || from > end {
            return None;
        }
        let skip = (from - self.first_offset) as usize;
        Some(self.bytes.iter().skip(skip).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_capacity_bytes() {
        let mut b = Backlog::new(16 * 1024, 1);
        let chunk = vec![7u8; 10 * 1024];
        b.append(&chunk);
        b.append(&chunk);
        assert_eq!(b.len(), 16 * 1024);
        assert_eq!(b.first_offset(), 1 + 4 * 1024);
        assert!(b.since(1).is_none());
        assert_eq!(b.since(1 + 20 * 1024).map(|v| v.len()), Some(0));
        assert_eq!(b.since(1 + 19 * 1024).map(|v| v.len()), Some(1024));
        assert!(b.since(2 + 20 * 1024).is_none());
    }
}

//! Slot bitmaps: which of the 16384 hash slots a node claims.
//!
//! The layout is the one the cluster bus carries in `myslots` and in UPDATE messages (bit `j` is
//! bit `j & 7` of byte `j / 8`), so a bitmap goes onto the wire and comes off it as a plain copy.

use std::fmt;

use crate::slot::SLOT_COUNT;

/// Size of a slot bitmap in bytes (16384 bits).
pub const SLOT_BITMAP_BYTES: usize = SLOT_COUNT / 8;

/// 16384 bits, one per slot, as the bus carries them (bit j = byte j/8, bit j&7).
///
/// Boxed because 2 KiB is too large to move around by value in every message and node struct.
/// Slot numbers at or above 16384 are outside the bitmap: `get` answers `false` for them and
/// `set`/`clear` leave the bitmap unchanged, so a bad slot from the network can never panic.
///
/// The number of set slots is kept beside the bits: the cluster state asks "how many slots does
/// this node own" on every bus message, and counting 2 KiB each time showed in profiles.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlotBitmap {
    bits: Box<[u8; SLOT_BITMAP_BYTES]>,
    /// Number of set bits, maintained by every mutator.
    set_count: u16,
}

impl SlotBitmap {
    /// A bitmap with no slot set.
    pub fn new() -> SlotBitmap {
        SlotBitmap {
            bits: Box::new([0u8; SLOT_BITMAP_BYTES]),
            set_count: 0,
        }
    }

    /// Same as [`SlotBitmap::new`]; reads better where "no slots" is the point.
    pub fn empty() -> SlotBitmap {
        SlotBitmap::new()
    }

    /// A bitmap holding exactly the bus bytes given.
    pub fn from_bytes(bytes: &[u8; SLOT_BITMAP_BYTES]) -> SlotBitmap {
        let set_count = bytes.iter().map(|b| b.count_ones()).sum::<u32>() as u16;
        SlotBitmap {
            bits: Box::new(*bytes),
            set_count,
        }
    }

    /// A bitmap from a slice that must be exactly 2048 bytes long (as cut out of a frame).
    pub fn from_slice(bytes: &[u8]) -> Option<SlotBitmap> {
        let arr: &[u8; SLOT_BITMAP_BYTES] = bytes.try_into().ok()?;
        Some(SlotBitmap::from_bytes(arr))
    }

    /// The bus representation.
    pub fn as_bytes(&self) -> &[u8; SLOT_BITMAP_BYTES] {
        &self.bits
    }

    /// A copy of the bus representation.
    pub fn to_bytes(&self) -> [u8; SLOT_BITMAP_BYTES] {
        *self.bits
    }

    /// Byte index and bit mask of `slot`, or `None` when it is out of range.
    fn locate(slot: u16) -> Option<(usize, u8)> {
        let slot = usize::from(slot);
        (slot < SLOT_COUNT).then(|| (slot / 8, 1u8 << (slot & 7)))
    }

    /// Whether `slot` is set (`false` for slots >= 16384).
    pub fn get(&self, slot: u16) -> bool {
        match Self::locate(slot) {
            Some((byte, mask)) => self.bits.get(byte).is_some_and(|b| b & mask != 0),
            None => false,
        }
    }

    /// Sets `slot`; returns whether it was previously clear (i.e. whether anything changed).
    pub fn set(&mut self, slot: u16) -> bool {
        let Some((byte, mask)) = Self::locate(slot) else {
            return false;
        };
        match self.bits.get_mut(byte) {
            Some(b) => {
                let was_clear = *b & mask == 0;
                *b |= mask;
                if was_clear {
                    self.set_count += 1;
                }
                was_clear
            }
            None => false,
        }
    }

    /// Clears `slot`; returns whether it was previously set.
    pub fn clear(&mut self, slot: u16) -> bool {
        let Some((byte, mask)) = Self::locate(slot) else {
            return false;
        };
        match self.bits.get_mut(byte) {
            Some(b) => {
                let was_set = *b & mask != 0;
                *b &= !mask;
                if was_set {
                    self.set_count -= 1;
                }
                was_set
            }
            None => false,
        }
    }

    /// Sets every slot in `start..=end` (clamped to the slot space; nothing when start > end).
    pub fn set_range(&mut self, start: u16, end: u16) {
        let end = end.min((SLOT_COUNT - 1) as u16);
        for slot in start..=end {
            self.set(slot);
        }
    }

    /// Clears every slot.
    pub fn clear_all(&mut self) {
        self.bits.fill(0);
        self.set_count = 0;
    }

    /// Number of slots set.
    pub fn count(&self) -> usize {
        self.set_count as usize
    }

    /// Whether no slot is set.
    pub fn is_empty(&self) -> bool {
        self.set_count == 0
    }

    /// The set slots in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.bits
            .iter()
            .enumerate()
            .filter(|(_, &b)| b != 0)
            .flat_map(|(i, &b)| {
                (0..8u16)
                    .filter(move |bit| b & (1 << bit) != 0)
                    .map(move |bit| (i as u16) * 8 + bit)
            })
    }

    /// Maximal runs of consecutive set slots as inclusive `(start, end)` pairs, ascending.
    ///
    /// This is the form CLUSTER NODES, CLUSTER SLOTS and nodes.conf print; redis-cli compares
    /// these runs textually between nodes, so they must always be merged maximally.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        let extend = |slot: u16, out: &mut Vec<(u16, u16)>| match out.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(slot) => *end = slot,
            _ => out.push((slot, slot)),
        };
        for (i, &b) in self.bits.iter().enumerate() {
            let base = (i as u16) * 8;
            match b {
                // Whole bytes first: most bitmaps are long runs, and this keeps CLUSTER NODES
                // and gossip bookkeeping cheap.
                0 => {}
                0xff => {
                    extend(base, &mut out);
                    if let Some((_, end)) = out.last_mut() {
                        *end = base + 7;
                    }
                }
                _ => {
                    for bit in 0..8u16 {
                        if b & (1 << bit) != 0 {
                            extend(base + bit, &mut out);
                        }
                    }
                }
            }
        }
        out
    }
}

impl Default for SlotBitmap {
    fn default() -> SlotBitmap {
        SlotBitmap::new()
    }
}

impl FromIterator<u16> for SlotBitmap {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> SlotBitmap {
        let mut bitmap = SlotBitmap::new();
        for slot in iter {
            bitmap.set(slot);
        }
        bitmap
    }
}

impl fmt::Debug for SlotBitmap {
    /// Prints the runs (`SlotBitmap[0-5460, 10923]`): 2048 raw bytes would be unreadable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlotBitmap[")?;
        for (i, (start, end)) in self.ranges().into_iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bit_layout_matches_the_bus() {
        let mut b = SlotBitmap::new();
        b.set(0);
        b.set(9);
        b.set(16383);
        let bytes = b.as_bytes();
        assert_eq!(bytes[0], 0b0000_0001);
        assert_eq!(bytes[1], 0b0000_0010);
        assert_eq!(bytes[2047], 0b1000_0000);
        assert_eq!(SlotBitmap::from_bytes(bytes), b);
        assert_eq!(SlotBitmap::from_slice(&bytes[..]), Some(b.clone()));
        assert_eq!(SlotBitmap::from_slice(&bytes[1..]), None);
        assert_eq!(b.to_bytes(), *bytes);
    }

    #[test]
    fn set_get_clear_count() {
        let mut b = SlotBitmap::empty();
        assert!(b.is_empty());
        assert!(b.set(5));
        assert!(!b.set(5));
        assert!(b.get(5));
        assert!(!b.get(6));
        assert_eq!(b.count(), 1);
        assert!(b.clear(5));
        assert!(!b.clear(5));
        assert!(b.is_empty());
        b.set_range(100, 199);
        assert_eq!(b.count(), 100);
        b.clear_all();
        assert_eq!(b.count(), 0);
    }

    #[test]
    fn out_of_range_slots_are_ignored() {
        let mut b = SlotBitmap::new();
        assert!(!b.set(16384));
        assert!(!b.get(u16::MAX));
        assert!(!b.clear(20000));
        assert!(b.is_empty());
        b.set_range(16380, u16::MAX);
        assert_eq!(b.ranges(), vec![(16380, 16383)]);
    }

    #[test]
    fn ranges_are_maximal_and_ascending() {
        let mut b = SlotBitmap::new();
        b.set_range(0, 5460);
        b.set_range(10923, 10927);
        b.set(16383);
        b.set(7);
        assert_eq!(b.ranges(), vec![(0, 5460), (10923, 10927), (16383, 16383)]);
        assert_eq!(format!("{b:?}"), "SlotBitmap[0-5460, 10923-10927, 16383]");
        let mut full = SlotBitmap::new();
        full.set_range(0, 16383);
        assert_eq!(full.ranges(), vec![(0, 16383)]);
        assert_eq!(full.count(), 16384);
    }

    proptest! {
        #[test]
        fn iter_ranges_and_count_agree(slots in proptest::collection::vec(0u16..16384, 0..300)) {
            let b: SlotBitmap = slots.iter().copied().collect();
            let mut sorted = slots.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(b.iter().collect::<Vec<_>>(), sorted.clone());
            prop_assert_eq!(b.count(), sorted.len());
            let ranges = b.ranges();
            let mut from_ranges = Vec::new();
            for w in ranges.windows(2) {
                // Maximal: a gap of at least one slot between consecutive runs.
                prop_assert!(w[0].1 + 1 < w[1].0);
            }
            for (s, e) in ranges {
                prop_assert!(s <= e);
                from_ranges.extend(s..=e);
            }
            prop_assert_eq!(from_ranges, sorted);
        }
    }
}

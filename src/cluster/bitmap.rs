//! Slot bitmaps. (Placeholder: being written.)

/// 16384 bits, one per slot, as the bus carries them (bit j = byte j/8, bit j&7).
#[derive(Clone, PartialEq, Eq)]
pub struct SlotBitmap(pub Box<[u8; 2048]>);

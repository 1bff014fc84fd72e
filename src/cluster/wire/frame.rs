//! Cutting bus frames out of a TCP byte stream.
//!
//! Redis reads 8 bytes, checks the signature and that `totlen` is at least the header size
//! (closing the link otherwise), then reads exactly `totlen` bytes. The same rule is here, plus
//! an upper bound so a corrupt length cannot make the link wait for gigabytes.

use bytes::{Bytes, BytesMut};

use super::{
    offset, types, WireError, DEFAULT_MAX_FRAME_LEN, FAIL_LEN, GOSSIP_LEN, HEADER_LEN, SIGNATURE,
    UPDATE_LEN,
};

/// Bytes needed before a frame's length is known: signature and `totlen`.
pub const FRAME_PREFIX_LEN: usize = 8;

/// Bytes needed before a frame's type bound is known: up to the gossip `count` field.
pub const FRAME_TYPE_PREFIX_LEN: usize = offset::COUNT + 2;

/// Room allowed for a PING/PONG/MEET's extensions beyond its gossip. Redis 7.0 sends a hostname
/// (at most a few hundred bytes) and one 48-byte forgotten-node entry per node it forgot, so a
/// megabyte covers clusters far beyond Redis's 1000-node guidance.
pub const MAX_PING_EXT_BYTES: usize = 1 << 20;

/// Room allowed for the body of a message type this node does not know (dropped anyway).
pub const MAX_UNKNOWN_BODY_BYTES: usize = 1 << 16;

/// The most bytes a message of type `kind` whose header says `count` gossip entries may declare:
/// fixed-size types their exact size, PING/PONG/MEET their gossip plus
/// [`MAX_PING_EXT_BYTES`], PUBLISH and MODULE `max_len` (their payload comes from a client
/// command, bounded by `client-query-buffer-limit`). A larger declared length closes the link
/// before its bytes are buffered.
pub fn type_bound(kind: u16, count: u16, max_len: usize) -> usize {
    let bound = match kind {
        types::PING | types::PONG | types::MEET => {
            HEADER_LEN + usize::from(count) * GOSSIP_LEN + MAX_PING_EXT_BYTES
        }
        types::FAIL => FAIL_LEN,
        types::UPDATE => UPDATE_LEN,
        types::FAILOVER_AUTH_REQUEST | types::FAILOVER_AUTH_ACK | types::MFSTART => HEADER_LEN,
        types::PUBLISH | types::PUBLISHSHARD | types::MODULE => max_len,
        _ => HEADER_LEN + MAX_UNKNOWN_BODY_BYTES,
    };
    bound.min(max_len)
}

/// The length of the frame at the start of `buf`, using [`DEFAULT_MAX_FRAME_LEN`].
///
/// `Ok(None)` while fewer than 8 bytes are buffered; `Ok(Some(totlen))` once the prefix is
/// valid (the frame is complete when `buf.len() >= totlen`). Errors are fatal to the link.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, WireError> {
    frame_len_with_max(buf, DEFAULT_MAX_FRAME_LEN)
}

/// [`frame_len`] with an explicit upper bound on the declared length.
pub fn frame_len_with_max(buf: &[u8], max_len: usize) -> Result<Option<usize>, WireError> {
    let Some((sig, rest)) = buf.split_first_chunk::<4>() else {
        return Ok(None);
    };
    let Some(totlen) = rest.first_chunk::<4>().copied().map(u32::from_be_bytes) else {
        return Ok(None);
    };
    if *sig != SIGNATURE {
        return Err(WireError::BadSignature(*sig));
    }
    let len = usize::try_from(totlen).unwrap_or(usize::MAX);
    if len < HEADER_LEN {
        return Err(WireError::TooShort { totlen });
    }
    if len > max_len {
        return Err(WireError::TooLarge {
            len: u64::from(totlen),
            max: max_len as u64,
        });
    }
    // Once the type and gossip count are in, the declared length must fit the type.
    if let (Some(kind), Some(count)) = (
        buf.get(offset::TYPE..offset::TYPE + 2),
        buf.get(offset::COUNT..offset::COUNT + 2),
    ) {
        let kind = u16::from_be_bytes([kind[0], kind[1]]);
        let count = u16::from_be_bytes([count[0], count[1]]);
        let bound = type_bound(kind, count, max_len);
        if len > bound {
            return Err(WireError::TooLarge {
                len: u64::from(totlen),
                max: bound as u64,
            });
        }
    }
    Ok(Some(len))
}

/// Accumulates stream bytes and yields complete frames.
///
/// Memory grows only with bytes actually pushed, never with a declared length. After an error the
/// stream cannot be resynchronised (there is no frame delimiter), so the caller closes the link.
#[derive(Debug)]
pub struct FrameReader {
    buf: BytesMut,
    max_len: usize,
}

impl FrameReader {
    /// A reader with the [`DEFAULT_MAX_FRAME_LEN`] bound.
    pub fn new() -> FrameReader {
        FrameReader::with_max_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A reader rejecting frames that declare more than `max_len` bytes.
    pub fn with_max_len(max_len: usize) -> FrameReader {
        FrameReader {
            buf: BytesMut::new(),
            max_len,
        }
    }

    /// Appends bytes read from the socket.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Number of bytes buffered and not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes the current frame needs (at least 1 while the prefix is incomplete,
    /// 0 when a whole frame is buffered). Lets a reader size its next read as Redis does.
    pub fn wanted(&self) -> Result<usize, WireError> {
        Ok(match frame_len_with_max(&self.buf, self.max_len)? {
            None => FRAME_PREFIX_LEN - self.buf.len(),
            // Read up to the type first, so its bound applies before the body is buffered.
            Some(_) if self.buf.len() < FRAME_TYPE_PREFIX_LEN => {
                FRAME_TYPE_PREFIX_LEN - self.buf.len()
            }
            Some(len) => len.saturating_sub(self.buf.len()),
        })
    }

    /// The next complete frame, if one is buffered. Pass it to [`super::decode`].
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, WireError> {
        match frame_len_with_max(&self.buf, self.max_len)? {
            Some(len) if self.buf.len() >= len => Ok(Some(self.buf.split_to(len).freeze())),
            _ => Ok(None),
        }
    }
}

impl Default for FrameReader {
    fn default() -> FrameReader {
        FrameReader::new()
    }
}

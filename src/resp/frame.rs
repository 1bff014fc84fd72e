//! Client-side RESP2/RESP3 frame parser, for whoever reads replies: replication, the simulator's
//! clients and tests.
//!
//! Parsing is two passes. A resumable check pass walks element headers and remembers where it
//! stopped and how many elements each open aggregate still needs, so a reply arriving in small
//! pieces is examined once in total, not once per piece. When the check finds the frame complete,
//! the build pass turns it into a [`Frame`] and splits its bytes off the buffer; bulk payloads are
//! slices of those bytes, never copies. Declared lengths are checked against [`FrameLimits`] and
//! nothing is allocated from a declared count until the check pass has seen every element.
//!
//! The parser is strict where Redis's output is exact (bulk data must be followed by CRLF;
//! integers and lengths are plain decimals without `+` or leading zeros), so a desync in the
//! server under test shows up as an error rather than as a wrong value.

use super::reply::format_double;
use super::request::parse_i64_strict;
use super::{Protocol, Reply};
use bytes::{Bytes, BytesMut};

/// One reply as a client reads it.
///
/// Nulls: RESP2 `$-1` and RESP3 `_` decode to [`Frame::Null`]; RESP2 `*-1` decodes to
/// [`Frame::NullArray`], so a test can tell which one the server wrote.
///
/// Simple strings and errors hold bytes, not `String`: Redis echoes raw input into some errors
/// (`unknown command '\xff'`, `expected '$', got '\xff'`), and a reader must not fail or alter
/// them. [`Frame::text`] gives the UTF-8 view.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+text`
    Simple(Bytes),
    /// `-CODE text`: the whole line after `-`.
    Error(Bytes),
    /// `:n`
    Integer(i64),
    /// `$len`
    Bulk(Bytes),
    /// `$-1` (RESP2) or `_` (RESP3).
    Null,
    /// `*-1` (RESP2 only).
    NullArray,
    /// `*n`
    Array(Vec<Frame>),
    /// `%n` (RESP3): n key/value pairs, in wire order.
    Map(Vec<(Frame, Frame)>),
    /// `~n` (RESP3), in wire order.
    Set(Vec<Frame>),
    /// `>n` (RESP3 out-of-band push).
    Push(Vec<Frame>),
    /// `|n` (RESP3): attributes, then the reply they annotate.
    Attribute {
        attributes: Vec<(Frame, Frame)>,
        data: Box<Frame>,
    },
    /// `,` (RESP3); `inf`, `-inf` and `nan` included.
    Double(f64),
    /// `#t` / `#f` (RESP3)
    Boolean(bool),
    /// `=len` (RESP3): a three-byte format (`txt`, `mkd`) and the text after its `:`.
    Verbatim { format: [u8; 3], data: Bytes },
    /// `(` (RESP3): an optional `-` and decimal digits.
    BigNumber(String),
    /// `!len` (RESP3 blob error).
    BulkError(Bytes),
}

impl Frame {
    /// The text of a simple string, error, bulk string, bulk error or verbatim string, if it is
    /// valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        match self {
            Frame::Simple(b) | Frame::Error(b) | Frame::Bulk(b) | Frame::BulkError(b) => {
                std::str::from_utf8(b).ok()
            }
            Frame::Verbatim { data, .. } => std::str::from_utf8(data).ok(),
            _ => None,
        }
    }

    /// True for `-` and `!` errors.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_) | Frame::BulkError(_))
    }
}

/// Why bytes are not a valid frame. All are fatal for the stream: the reader cannot resync.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("unknown frame type byte {0:#04x}")]
    InvalidType(u8),
    #[error("invalid length in a frame header")]
    InvalidLength,
    #[error("declared length {declared} is over the limit {limit}")]
    LengthOverLimit { declared: u64, limit: u64 },
    #[error("line of more than {0} bytes without CRLF")]
    LineTooLong(u64),
    #[error("invalid integer")]
    InvalidInteger,
    #[error("invalid double")]
    InvalidDouble,
    #[error("invalid boolean")]
    InvalidBoolean,
    #[error("invalid null")]
    InvalidNull,
    #[error("invalid big number")]
    InvalidBigNumber,
    #[error("verbatim string without a `xxx:` format prefix")]
    InvalidVerbatim,
    #[error("bulk data not followed by CRLF")]
    MissingCrlf,
    #[error("aggregates nested deeper than {0}")]
    TooDeep(usize),
    #[error("streamed strings and aggregates (`$?`, `*?`) are not supported")]
    Streamed,
    /// The build pass ran out of bytes the check pass had found complete; a bug, reported rather
    /// than panicking.
    #[error("frame ended early while building (internal inconsistency)")]
    Inconsistent,
}

/// Bounds on what a frame may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Deepest aggregate nesting (attributes count as a level).
    pub max_depth: usize,
    /// Longest bulk payload, and longest simple line.
    pub max_bulk_len_bytes: u64,
    /// Most elements one aggregate may declare (pairs count twice in maps).
    pub max_aggregate_len: u64,
}

impl Default for FrameLimits {
    /// 128 levels, Redis's own proto-max-bulk-len default (512 MB) for strings, and 2^32
    /// elements per aggregate (KEYS on a large dataset returns tens of millions).
    fn default() -> Self {
        FrameLimits {
            max_depth: 128,
            max_bulk_len_bytes: 512 * 1024 * 1024,
            max_aggregate_len: 1 << 32,
        }
    }
}

/// Parses one complete frame from the front of `buf`, consuming it; `Ok(None)` if incomplete
/// (`buf` untouched).
///
/// Stateless, so each call checks the partial frame from its start: fine for whole replies and
/// tests; for a stream read in pieces use [`FrameReader`], which resumes where it stopped.
pub fn parse_frame(buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
    FrameReader::new().parse(buf)
}

/// What a client reads when the server sends `r` encoded for `proto` with [`Reply::encode`]: the
/// RESP2 downgrades (map to flat array, set and push to array, double to bulk text, boolean to
/// integer, verbatim to bulk) and RESP3's single null.
pub fn reply_to_frame(r: &Reply, proto: Protocol) -> Frame {
    let resp3 = proto == Protocol::Resp3;
    let all = |items: &[Reply]| -> Vec<Frame> {
        items.iter().map(|i| reply_to_frame(i, proto)).collect()
    };
    match r {
        Reply::Simple(s) => Frame::Simple(Bytes::copy_from_slice(s.as_bytes())),
        Reply::Error(s) => Frame::Error(Bytes::copy_from_slice(s.as_bytes())),
        Reply::NoReply => Frame::Null,
        Reply::ErrorBytes(b) => Frame::Error(Bytes::from(
            b.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
                .collect::<Vec<u8>>(),
        )),
        Reply::Integer(n) => Frame::Integer(*n),
        Reply::Bulk(b) => Frame::Bulk(b.clone()),
        Reply::Null => Frame::Null,
        Reply::NullArray if resp3 => Frame::Null,
        Reply::NullArray => Frame::NullArray,
        Reply::Array(items) => Frame::Array(all(items)),
        Reply::Set(items) if resp3 => Frame::Set(all(items)),
        Reply::Push(items) if resp3 => Frame::Push(all(items)),
        Reply::Set(items) | Reply::Push(items) => Frame::Array(all(items)),
        Reply::Map(pairs) if resp3 => Frame::Map(
            pairs
                .iter()
                .map(|(k, v)| (reply_to_frame(k, proto), reply_to_frame(v, proto)))
                .collect(),
        ),
        Reply::Map(pairs) => Frame::Array(
            pairs
                .iter()
                .flat_map(|(k, v)| [reply_to_frame(k, proto), reply_to_frame(v, proto)])
                .collect(),
        ),
        Reply::Double(d) if resp3 => Frame::Double(*d),
        Reply::Double(d) => Frame::Bulk(Bytes::from(format_double(*d))),
        Reply::HumanDouble(d) if resp3 => Frame::Double(*d),
        Reply::HumanDouble(d) => Frame::Bulk(Bytes::from(crate::cmd::geo::text::human(*d))),
        Reply::Boolean(b) if resp3 => Frame::Boolean(*b),
        Reply::Boolean(b) => Frame::Integer(i64::from(*b)),
        Reply::Verbatim(b) if resp3 => Frame::Verbatim {
            format: *b"txt",
            data: b.clone(),
        },
        Reply::Verbatim(b) => Frame::Bulk(b.clone()),
        Reply::BigNumber(b) if resp3 => Frame::BigNumber(String::from_utf8_lossy(b).into_owned()),
        Reply::BigNumber(b) => Frame::Bulk(b.clone()),
        Reply::Attribute(pairs, reply) if resp3 => Frame::Attribute {
            attributes: pairs
                .iter()
                .map(|(k, v)| (reply_to_frame(k, proto), reply_to_frame(v, proto)))
                .collect(),
            data: Box::new(reply_to_frame(reply, proto)),
        },
        Reply::Attribute(_, reply) => reply_to_frame(reply, proto),
        // Pre-encoded bytes: their first frame (a shape this reader does not parse, such as an
        // attribute, reads as a null).
        Reply::Raw(b) => parse_frame(&mut BytesMut::from(&b[..]))
            .ok()
            .flatten()
            .unwrap_or(Frame::Null),
    }
}

/// Resumable frame reader for a stream.
///
/// Between calls that return `Ok(None)` the caller must only append to the buffer: the reader
/// remembers offsets into it. After a complete frame, an error, or [`FrameReader::reset`], it
/// starts afresh. Work over all calls is linear in the frame's size however it is split.
#[derive(Debug, Default)]
pub struct FrameReader {
    limits: FrameLimits,
    /// Offset of the first element header the check pass has not yet accepted.
    checked_bytes: usize,
    /// Elements still owed by each open aggregate, outermost first.
    open: Vec<u64>,
    /// Offset up to which the line at `checked_bytes` is known to hold no CRLF.
    line_scanned_bytes: usize,
    /// Bytes examined by line searches, to let tests prove the reader is linear.
    #[cfg(test)]
    bytes_examined: usize,
}

/// The kinds of aggregate headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggregateKind {
    Array,
    Map,
    Set,
    Push,
    Attribute,
}

/// A parsed element header; ranges are byte offsets into the buffer.
#[derive(Debug, Clone, PartialEq)]
enum Header {
    Simple(usize, usize),
    Error(usize, usize),
    Integer(i64),
    Bulk(usize, usize),
    BulkError(usize, usize),
    Verbatim([u8; 3], usize, usize),
    Null,
    NullArray,
    Double(f64),
    Boolean(bool),
    BigNumber(String),
    /// An aggregate and its declared element count (pairs, for maps and attributes).
    Aggregate(AggregateKind, u64),
}

impl Header {
    /// Elements the check pass must see before this header's frame is complete.
    fn owed_elements(&self) -> u64 {
        match self {
            Header::Aggregate(AggregateKind::Map, n) => n.saturating_mul(2),
            // The pairs, then the annotated reply.
            Header::Aggregate(AggregateKind::Attribute, n) => n.saturating_mul(2).saturating_add(1),
            Header::Aggregate(_, n) => *n,
            _ => 0,
        }
    }
}

impl FrameReader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: FrameLimits) -> Self {
        FrameReader {
            limits,
            ..Self::default()
        }
    }

    /// Forgets a partial frame (for a buffer that was cleared or replaced).
    pub fn reset(&mut self) {
        self.checked_bytes = 0;
        self.open.clear();
        self.line_scanned_bytes = 0;
    }

    /// Parses one complete frame from the front of `buf`, consuming it; `Ok(None)` if more bytes
    /// are needed (`buf` untouched).
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let result = self.check(buf);
        if !matches!(result, Ok(None)) {
            self.reset();
        }
        let Some(total) = result? else {
            return Ok(None);
        };
        let bytes = buf.split_to(total.min(buf.len())).freeze();
        let mut pos = 0;
        let frame = build(&bytes, &mut pos, &self.limits, 0)?;
        if pos != bytes.len() {
            return Err(FrameError::Inconsistent);
        }
        Ok(Some(frame))
    }

    /// Advances the check pass; Some(length of the whole frame) once it is complete.
    fn check(&mut self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        loop {
            let mut scanned = self.line_scanned_bytes.max(self.checked_bytes);
            let parsed = header_at(buf, self.checked_bytes, &mut scanned, &self.limits);
            #[cfg(test)]
            {
                self.bytes_examined +=
                    scanned.saturating_sub(self.line_scanned_bytes.max(self.checked_bytes));
            }
            self.line_scanned_bytes = scanned;
            let Some((header, next)) = parsed? else {
                return Ok(None);
            };
            self.checked_bytes = next;
            self.line_scanned_bytes = next;
            let owed = header.owed_elements();
            if owed > 0 {
                if self.open.len() >= self.limits.max_depth {
                    return Err(FrameError::TooDeep(self.limits.max_depth));
                }
                self.open.push(owed);
                continue;
            }
            // A finished element: it may finish its parent, and so on outwards.
            loop {
                match self.open.last_mut() {
                    None => return Ok(Some(self.checked_bytes)),
                    Some(owed) if *owed > 1 => {
                        *owed -= 1;
                        break;
                    }
                    Some(_) => {
                        self.open.pop();
                    }
                }
            }
        }
    }
}

/// Builds the frame starting at `*pos` of a buffer the check pass found complete.
fn build(
    bytes: &Bytes,
    pos: &mut usize,
    limits: &FrameLimits,
    depth: usize,
) -> Result<Frame, FrameError> {
    if depth > limits.max_depth {
        return Err(FrameError::TooDeep(limits.max_depth));
    }
    let mut scanned = *pos;
    let (header, next) =
        header_at(bytes, *pos, &mut scanned, limits)?.ok_or(FrameError::Inconsistent)?;
    *pos = next;
    let slice = |a: usize, b: usize| {
        if a <= b && b <= bytes.len() {
            Ok(bytes.slice(a..b))
        } else {
            Err(FrameError::Inconsistent)
        }
    };
    // Every element takes at least 3 bytes, and all of them are present, so the declared count
    // is bounded by the bytes already received: safe to allocate.
    let capacity = |n: u64| {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(bytes.len() / 3)
    };
    let items = |n: u64, pos: &mut usize| -> Result<Vec<Frame>, FrameError> {
        let mut out = Vec::with_capacity(capacity(n));
        for _ in 0..n {
            out.push(build(bytes, pos, limits, depth + 1)?);
        }
        Ok(out)
    };
    let pairs = |n: u64, pos: &mut usize| -> Result<Vec<(Frame, Frame)>, FrameError> {
        let mut out = Vec::with_capacity(capacity(n));
        for _ in 0..n {
            let k = build(bytes, pos, limits, depth + 1)?;
            let v = build(bytes, pos, limits, depth + 1)?;
            out.push((k, v));
        }
        Ok(out)
    };
    Ok(match header {
        Header::Simple(a, b) => Frame::Simple(slice(a, b)?),
        Header::Error(a, b) => Frame::Error(slice(a, b)?),
        Header::Integer(n) => Frame::Integer(n),
        Header::Bulk(a, b) => Frame::Bulk(slice(a, b)?),
        Header::BulkError(a, b) => Frame::BulkError(slice(a, b)?),
        Header::Verbatim(format, a, b) => Frame::Verbatim {
            format,
            data: slice(a, b)?,
        },
        Header::Null => Frame::Null,
        Header::NullArray => Frame::NullArray,
        Header::Double(d) => Frame::Double(d),
        Header::Boolean(b) => Frame::Boolean(b),
        Header::BigNumber(s) => Frame::BigNumber(s),
        Header::Aggregate(AggregateKind::Array, n) => Frame::Array(items(n, pos)?),
        Header::Aggregate(AggregateKind::Set, n) => Frame::Set(items(n, pos)?),
        Header::Aggregate(AggregateKind::Push, n) => Frame::Push(items(n, pos)?),
        Header::Aggregate(AggregateKind::Map, n) => Frame::Map(pairs(n, pos)?),
        Header::Aggregate(AggregateKind::Attribute, n) => {
            let attributes = pairs(n, pos)?;
            let data = Box::new(build(bytes, pos, limits, depth + 1)?);
            Frame::Attribute { attributes, data }
        }
    })
}

/// Finds the CRLF ending the line that starts at `start`; `scanned` is how far it is already
/// known to be absent, and is advanced. None if the line is not complete yet.
fn line_end(
    buf: &[u8],
    start: usize,
    scanned: &mut usize,
    limits: &FrameLimits,
) -> Result<Option<usize>, FrameError> {
    let from = (*scanned).max(start).min(buf.len());
    let found = buf
        .get(from..)
        .unwrap_or_default()
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|offset| from + offset);
    match found {
        Some(at) => {
            *scanned = at;
            Ok(Some(at))
        }
        None => {
            // A trailing CR may be the start of the CRLF: search it again next time.
            *scanned = buf.len().saturating_sub(1).max(from);
            let line_len = u64::try_from(scanned.saturating_sub(start)).unwrap_or(u64::MAX);
            if line_len > limits.max_bulk_len_bytes {
                return Err(FrameError::LineTooLong(limits.max_bulk_len_bytes));
            }
            Ok(None)
        }
    }
}

/// Parses the element header at `start`: Some((header, offset after the element's own bytes))
/// when they are all present. For aggregates only the header line is consumed.
fn header_at(
    buf: &[u8],
    start: usize,
    scanned: &mut usize,
    limits: &FrameLimits,
) -> Result<Option<(Header, usize)>, FrameError> {
    let Some(&kind) = buf.get(start) else {
        return Ok(None);
    };
    if !b"+-:$*%~>|,#_=(!".contains(&kind) {
        return Err(FrameError::InvalidType(kind));
    }
    let Some(cr) = line_end(buf, start, scanned, limits)? else {
        return Ok(None);
    };
    let body_start = start + 1;
    let body = buf.get(body_start..cr).unwrap_or_default();
    let after_line = cr + 2;
    let header = match kind {
        b'+' => Header::Simple(body_start, cr),
        b'-' => Header::Error(body_start, cr),
        b':' => Header::Integer(parse_i64_strict(body).ok_or(FrameError::InvalidInteger)?),
        b'_' if body.is_empty() => Header::Null,
        b'_' => return Err(FrameError::InvalidNull),
        b'#' => match body {
            b"t" => Header::Boolean(true),
            b"f" => Header::Boolean(false),
            _ => return Err(FrameError::InvalidBoolean),
        },
        b',' => Header::Double(
            std::str::from_utf8(body)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or(FrameError::InvalidDouble)?,
        ),
        b'(' => {
            let digits = body.strip_prefix(b"-").unwrap_or(body);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(FrameError::InvalidBigNumber);
            }
            Header::BigNumber(String::from_utf8_lossy(body).into_owned())
        }
        b'$' | b'!' | b'=' => {
            if body == b"?" {
                return Err(FrameError::Streamed);
            }
            let declared = parse_i64_strict(body).ok_or(FrameError::InvalidLength)?;
            if declared == -1 && kind == b'$' {
                return Ok(Some((Header::Null, after_line)));
            }
            let len = u64::try_from(declared).map_err(|_| FrameError::InvalidLength)?;
            if len > limits.max_bulk_len_bytes {
                return Err(FrameError::LengthOverLimit {
                    declared: len,
                    limit: limits.max_bulk_len_bytes,
                });
            }
            let len = usize::try_from(len).map_err(|_| FrameError::InvalidLength)?;
            let data_end = after_line.saturating_add(len);
            let Some(trailer) = buf.get(data_end..data_end.saturating_add(2)) else {
                return Ok(None);
            };
            if trailer != b"\r\n" {
                return Err(FrameError::MissingCrlf);
            }
            let end = data_end + 2;
            let header = match kind {
                b'$' => Header::Bulk(after_line, data_end),
                b'!' => Header::BulkError(after_line, data_end),
                _ => {
                    let prefix = buf.get(after_line..after_line + 4.min(len));
                    match prefix {
                        Some(&[a, b, c, b':']) => {
                            Header::Verbatim([a, b, c], after_line + 4, data_end)
                        }
                        _ => return Err(FrameError::InvalidVerbatim),
                    }
                }
            };
            return Ok(Some((header, end)));
        }
        _ => {
            if body == b"?" {
                return Err(FrameError::Streamed);
            }
            let declared = parse_i64_strict(body).ok_or(FrameError::InvalidLength)?;
            if declared == -1 && kind == b'*' {
                return Ok(Some((Header::NullArray, after_line)));
            }
            let count = u64::try_from(declared).map_err(|_| FrameError::InvalidLength)?;
            if count > limits.max_aggregate_len {
                return Err(FrameError::LengthOverLimit {
                    declared: count,
                    limit: limits.max_aggregate_len,
                });
            }
            let aggregate = match kind {
                b'*' => AggregateKind::Array,
                b'%' => AggregateKind::Map,
                b'~' => AggregateKind::Set,
                b'>' => AggregateKind::Push,
                _ => AggregateKind::Attribute,
            };
            Header::Aggregate(aggregate, count)
        }
    };
    Ok(Some((header, after_line)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all_at_once(input: &[u8]) -> Result<Option<Frame>, FrameError> {
        parse_frame(&mut BytesMut::from(input))
    }

    fn one(input: &[u8]) -> Frame {
        let mut buf = BytesMut::from(input);
        let frame = parse_frame(&mut buf);
        assert!(buf.is_empty(), "{input:?} left {buf:?}");
        match frame {
            Ok(Some(f)) => f,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    fn b(s: &'static [u8]) -> Bytes {
        Bytes::from_static(s)
    }

    /// Feeds `wire` to one reader in pieces of the given sizes (cycled); all frames it yields.
    fn feed(wire: &[u8], sizes: &[usize]) -> Result<Vec<Frame>, FrameError> {
        let mut reader = FrameReader::new();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        let mut rest = wire;
        let mut sizes = sizes.iter().copied().cycle();
        while !rest.is_empty() {
            let n = sizes.next().unwrap_or(1).max(1).min(rest.len());
            let (piece, tail) = rest.split_at(n);
            buf.extend_from_slice(piece);
            rest = tail;
            while let Some(frame) = reader.parse(&mut buf)? {
                frames.push(frame);
            }
        }
        Ok(frames)
    }

    #[test]
    fn resp2_scalars_and_nulls() {
        assert_eq!(one(b"+OK\r\n"), Frame::Simple(b(b"OK")));
        assert_eq!(one(b"-ERR x y\r\n"), Frame::Error(b(b"ERR x y")));
        assert_eq!(one(b":-42\r\n"), Frame::Integer(-42));
        assert_eq!(one(b"$3\r\na\rb\r\n"), Frame::Bulk(b(b"a\rb")));
        assert_eq!(one(b"$0\r\n\r\n"), Frame::Bulk(Bytes::new()));
        assert_eq!(one(b"$-1\r\n"), Frame::Null);
        assert_eq!(one(b"*-1\r\n"), Frame::NullArray);
        assert_eq!(one(b"*0\r\n"), Frame::Array(vec![]));
        assert_eq!(
            one(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n"),
            Frame::Array(vec![
                Frame::Bulk(b(b"a")),
                Frame::Array(vec![Frame::Integer(1)])
            ])
        );
        // Raw bytes in an error survive (Redis echoes input into some errors).
        assert_eq!(
            one(b"-ERR Protocol error: expected '$', got '\xff'\r\n").text(),
            None
        );
        assert!(one(b"-MOVED 1 h:1\r\n").is_error());
        assert_eq!(one(b"+hi\r\n").text(), Some("hi"));
    }

    #[test]
    fn resp3_types() {
        assert_eq!(one(b"_\r\n"), Frame::Null);
        assert_eq!(one(b"#t\r\n"), Frame::Boolean(true));
        assert_eq!(one(b"#f\r\n"), Frame::Boolean(false));
        assert_eq!(one(b",1.5\r\n"), Frame::Double(1.5));
        assert_eq!(one(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
        assert_eq!(one(b",1e+300\r\n"), Frame::Double(1e300));
        assert!(matches!(one(b",nan\r\n"), Frame::Double(d) if d.is_nan()));
        assert_eq!(
            one(b"(-3492890328409238509324850943850943825024385\r\n"),
            Frame::BigNumber("-3492890328409238509324850943850943825024385".into())
        );
        assert_eq!(one(b"!8\r\nSYNTAX x\r\n"), Frame::BulkError(b(b"SYNTAX x")));
        assert_eq!(
            one(b"=8\r\nmkd:a\r\nb\r\n"),
            Frame::Verbatim {
                format: *b"mkd",
                data: b(b"a\r\nb")
            }
        );
        assert_eq!(
            one(b"%2\r\n+a\r\n:1\r\n+b\r\n%0\r\n"),
            Frame::Map(vec![
                (Frame::Simple(b(b"a")), Frame::Integer(1)),
                (Frame::Simple(b(b"b")), Frame::Map(vec![]))
            ])
        );
        assert_eq!(one(b"~1\r\n_\r\n"), Frame::Set(vec![Frame::Null]));
        assert_eq!(
            one(b">2\r\n+message\r\n$1\r\nx\r\n"),
            Frame::Push(vec![Frame::Simple(b(b"message")), Frame::Bulk(b(b"x"))])
        );
        assert_eq!(
            one(b"|1\r\n+ttl\r\n:3\r\n*1\r\n|0\r\n:7\r\n"),
            Frame::Attribute {
                attributes: vec![(Frame::Simple(b(b"ttl")), Frame::Integer(3))],
                data: Box::new(Frame::Array(vec![Frame::Attribute {
                    attributes: vec![],
                    data: Box::new(Frame::Integer(7))
                }]))
            }
        );
    }

    #[test]
    fn invalid_frames() {
        let cases: &[(&[u8], FrameError)] = &[
            (b"?x\r\n", FrameError::InvalidType(b'?')),
            (b"$-2\r\n", FrameError::InvalidLength),
            (b"%-1\r\n", FrameError::InvalidLength),
            (b"~-1\r\n", FrameError::InvalidLength),
            (b"!-1\r\n", FrameError::InvalidLength),
            (b"*01\r\n", FrameError::InvalidLength),
            (b"$abc\r\n", FrameError::InvalidLength),
            (b"$3\r\nabcd\r\n", FrameError::MissingCrlf),
            (b"_x\r\n", FrameError::InvalidNull),
            (b"#x\r\n", FrameError::InvalidBoolean),
            (b":1.0\r\n", FrameError::InvalidInteger),
            (b":+1\r\n", FrameError::InvalidInteger),
            (b",x\r\n", FrameError::InvalidDouble),
            (b",\r\n", FrameError::InvalidDouble),
            (b"(12a\r\n", FrameError::InvalidBigNumber),
            (b"(\r\n", FrameError::InvalidBigNumber),
            (b"=3\r\ntxt\r\n", FrameError::InvalidVerbatim),
            (b"=4\r\ntxtx\r\n", FrameError::InvalidVerbatim),
            (b"$?\r\n", FrameError::Streamed),
            (b"*?\r\n", FrameError::Streamed),
            (
                b"$536870913\r\n",
                FrameError::LengthOverLimit {
                    declared: 536_870_913,
                    limit: 536_870_912,
                },
            ),
            (
                b"*4294967297\r\n",
                FrameError::LengthOverLimit {
                    declared: 4_294_967_297,
                    limit: 4_294_967_296,
                },
            ),
            (b"*2\r\n:1\r\n?\r\n", FrameError::InvalidType(b'?')),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_all_at_once(input), Err(expected.clone()), "{input:?}");
        }
        // A bad element is reported as soon as it arrives, before the aggregate is complete.
        assert_eq!(
            parse_all_at_once(b"*1000\r\n:1\r\n:x\r\n"),
            Err(FrameError::InvalidInteger)
        );
    }

    #[test]
    fn nesting_depth_is_bounded() {
        let limits = FrameLimits::default();
        let nested = |levels: usize| {
            let mut wire = b"*1\r\n".repeat(levels);
            wire.extend_from_slice(b":1\r\n");
            wire
        };
        let mut frame = one(&nested(limits.max_depth));
        let mut levels = 0;
        while let Frame::Array(mut items) = frame {
            levels += 1;
            frame = items.pop().unwrap_or(Frame::Null);
        }
        assert_eq!((levels, frame), (limits.max_depth, Frame::Integer(1)));
        assert_eq!(
            parse_all_at_once(&nested(limits.max_depth + 1)),
            Err(FrameError::TooDeep(limits.max_depth))
        );
        // Even a huge incomplete nesting errors out early instead of growing without bound.
        assert_eq!(
            parse_all_at_once(&b"*1\r\n".repeat(100_000)),
            Err(FrameError::TooDeep(limits.max_depth))
        );
    }

    #[test]
    fn line_length_is_bounded() {
        let limits = FrameLimits {
            max_bulk_len_bytes: 10,
            ..FrameLimits::default()
        };
        let mut reader = FrameReader::with_limits(limits);
        let mut buf = BytesMut::from(&b"+0123456789"[..]);
        assert_eq!(reader.parse(&mut buf), Ok(None));
        buf.extend_from_slice(b"abc");
        assert_eq!(reader.parse(&mut buf), Err(FrameError::LineTooLong(10)));
        let mut reader = FrameReader::with_limits(limits);
        let mut buf = BytesMut::from(&b"$11\r\n"[..]);
        assert!(matches!(
            reader.parse(&mut buf),
            Err(FrameError::LengthOverLimit { .. })
        ));
    }

    #[test]
    fn incomplete_leaves_buffer_and_consumes_one_frame() {
        let wire = b"*2\r\n$5\r\nhello\r\n:7\r\n+next\r\n";
        for cut in 0..wire.len() - 7 {
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(parse_frame(&mut buf), Ok(None), "cut {cut}");
            assert_eq!(&buf[..], &wire[..cut]);
        }
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(
            parse_frame(&mut buf),
            Ok(Some(Frame::Array(vec![
                Frame::Bulk(b(b"hello")),
                Frame::Integer(7)
            ])))
        );
        assert_eq!(&buf[..], b"+next\r\n");
        assert_eq!(parse_frame(&mut buf), Ok(Some(Frame::Simple(b(b"next")))));
        assert!(buf.is_empty());
    }

    #[test]
    fn bulks_share_the_input_buffer() {
        let mut buf = BytesMut::from(&b"*1\r\n$5\r\nhello\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let frame = parse_frame(&mut buf);
        let Ok(Some(Frame::Array(items))) = frame else {
            panic!("{frame:?}");
        };
        let ptr = match items.first() {
            Some(Frame::Bulk(data)) => data.as_ptr() as usize,
            other => panic!("{other:?}"),
        };
        assert_eq!(ptr, base + 8);
    }

    #[test]
    fn split_at_every_boundary() {
        let wire: &[u8] = b"%2\r\n$1\r\nk\r\n*3\r\n:1\r\n_\r\n=6\r\ntxt:ab\r\n|1\r\n+a\r\n#t\r\n,2.5\r\n+tail\r\n";
        let expected = vec![Frame::Map(vec![
            (
                Frame::Bulk(b(b"k")),
                Frame::Array(vec![
                    Frame::Integer(1),
                    Frame::Null,
                    Frame::Verbatim {
                        format: *b"txt",
                        data: b(b"ab"),
                    },
                ]),
            ),
            (
                Frame::Attribute {
                    attributes: vec![(Frame::Simple(b(b"a")), Frame::Boolean(true))],
                    data: Box::new(Frame::Double(2.5)),
                },
                Frame::Simple(b(b"tail")),
            ),
        ])];
        for a in 0..=wire.len() {
            for c in a..=wire.len() {
                let mut reader = FrameReader::new();
                let mut buf = BytesMut::new();
                let mut got = Vec::new();
                for piece in [&wire[..a], &wire[a..c], &wire[c..]] {
                    buf.extend_from_slice(piece);
                    while let Ok(Some(frame)) = reader.parse(&mut buf) {
                        got.push(frame);
                    }
                }
                assert_eq!(got, expected, "split at {a} and {c}");
                assert!(buf.is_empty());
            }
        }
    }

    #[test]
    fn million_element_array_in_small_chunks_is_linear() {
        const ELEMENTS: usize = 1_000_000;
        let mut wire = format!("*{ELEMENTS}\r\n").into_bytes();
        for i in 0..ELEMENTS {
            wire.extend_from_slice(format!(":{i}\r\n").as_bytes());
        }
        let mut reader = FrameReader::new();
        let mut buf = BytesMut::new();
        let mut frame = None;
        for chunk in wire.chunks(1024) {
            buf.extend_from_slice(chunk);
            if let Ok(Some(f)) = reader.parse(&mut buf) {
                frame = Some(f);
            }
        }
        let Some(Frame::Array(items)) = frame else {
            panic!("no array");
        };
        assert_eq!(items.len(), ELEMENTS);
        assert_eq!(items.last(), Some(&Frame::Integer(ELEMENTS as i64 - 1)));
        // The check pass advanced over each byte about once, whatever the chunking.
        assert!(
            reader.bytes_examined <= wire.len(),
            "{} of {}",
            reader.bytes_examined,
            wire.len()
        );
    }

    #[test]
    fn reply_conversion_examples() {
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Double(0.5))]);
        assert_eq!(
            reply_to_frame(&map, Protocol::Resp2),
            Frame::Array(vec![Frame::Bulk(b(b"a")), Frame::Bulk(b(b"0.5"))])
        );
        assert_eq!(
            reply_to_frame(&map, Protocol::Resp3),
            Frame::Map(vec![(Frame::Bulk(b(b"a")), Frame::Double(0.5))])
        );
        assert_eq!(
            reply_to_frame(&Reply::NullArray, Protocol::Resp3),
            Frame::Null
        );
        assert_eq!(
            reply_to_frame(&Reply::NullArray, Protocol::Resp2),
            Frame::NullArray
        );
        assert_eq!(
            reply_to_frame(&Reply::Boolean(true), Protocol::Resp2),
            Frame::Integer(1)
        );
    }

    fn arb_reply() -> impl Strategy<Value = Reply> {
        let text = "[^\r\n]{0,16}";
        let leaf = prop_oneof![
            text.prop_map(|s| Reply::Simple(s.into())),
            text.prop_map(|s| Reply::Error(s.into())),
            any::<i64>().prop_map(Reply::Integer),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(|v| Reply::Bulk(v.into())),
            Just(Reply::Null),
            Just(Reply::NullArray),
            any::<f64>()
                .prop_filter("NaN never equals itself", |d| !d.is_nan())
                .prop_map(Reply::Double),
            any::<bool>().prop_map(Reply::Boolean),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(|v| Reply::Verbatim(v.into())),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Reply::Array),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..4)
                    .prop_map(Reply::Map),
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Reply::Set),
                proptest::collection::vec(inner, 0..6).prop_map(Reply::Push),
            ]
        })
    }

    proptest! {
        #[test]
        fn replies_round_trip_in_any_chunking(
            replies in proptest::collection::vec(arb_reply(), 1..4),
            sizes in proptest::collection::vec(1usize..32, 1..8),
            resp3 in any::<bool>(),
        ) {
            let proto = if resp3 { Protocol::Resp3 } else { Protocol::Resp2 };
            let mut wire = BytesMut::new();
            for r in &replies {
                r.encode(proto, &mut wire);
            }
            let expected: Vec<Frame> = replies.iter().map(|r| reply_to_frame(r, proto)).collect();
            prop_assert_eq!(feed(&wire, &sizes), Ok(expected.clone()));
            // The stateless entry point reads the same frames from the whole buffer.
            let mut whole = wire.clone();
            let mut got = Vec::new();
            while let Ok(Some(frame)) = parse_frame(&mut whole) {
                got.push(frame);
            }
            prop_assert_eq!(got, expected);
            prop_assert!(whole.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            sizes in proptest::collection::vec(1usize..64, 1..8),
        ) {
            let _ = feed(&bytes, &sizes);
            let _ = parse_all_at_once(&bytes);
        }

        #[test]
        fn protocol_shaped_bytes_never_panic(
            tokens in proptest::collection::vec(
                prop_oneof![
                    Just(&b"*"[..]), Just(&b"$"[..]), Just(&b"%"[..]), Just(&b"|"[..]),
                    Just(&b"="[..]), Just(&b"!"[..]), Just(&b">"[..]), Just(&b"~"[..]),
                    Just(&b","[..]), Just(&b"("[..]), Just(&b"#"[..]), Just(&b"_"[..]),
                    Just(&b"+"[..]), Just(&b"-"[..]), Just(&b":"[..]), Just(&b"\r\n"[..]),
                    Just(&b"\r"[..]), Just(&b"1"[..]), Just(&b"2"[..]), Just(&b"4"[..]),
                    Just(&b"-1"[..]), Just(&b"0"[..]), Just(&b"t"[..]), Just(&b"txt:"[..]),
                    Just(&b"?"[..]), Just(&b"inf"[..]), Just(&b"99999999999999999999"[..]),
                ],
                0..80,
            ),
            sizes in proptest::collection::vec(1usize..16, 1..8),
        ) {
            let bytes = tokens.concat();
            let _ = feed(&bytes, &sizes);
            let _ = parse_all_at_once(&bytes);
        }
    }
}

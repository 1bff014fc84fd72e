//! The request parser: multibulk (`*N\r\n$len\r\n...`) and inline (`PING\r\n`) commands, with
//! Redis 7.0's bounds, error texts and quirks.
//!
//! Quirks kept on purpose, because clients and tests observe them on redis-server 7.0.15:
//! - Redis searches header lines with `strchr`, so a NUL byte before the terminator hides it: the
//!   request then waits for more input until the buffer passes 64 KiB and the "too big" error
//!   fires. An inline line therefore never contains NUL, and [`split_args`] stops at NUL.
//! - `*count` and `$len` lines end at the first `\r`; the byte after it is skipped unchecked, and so
//!   are the two bytes after bulk data (`*1\r\n$4\r\nPINGxx` is PING).
//! - Lengths are parsed like Redis's `string2ll`: no `+`, no leading zeros, no `-0`.
//! - A command named `POST` or `Host:` (any case, compared up to a NUL as `strcasecmp` does) is a
//!   cross-protocol attack: Redis closes the connection without a reply.

use bytes::{Buf, Bytes, BytesMut};
use std::sync::OnceLock;

/// Longest inline request, `*count` line or `$len` line Redis buffers without finding its end
/// (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;

/// Bulk arguments at least this long get their whole buffer reserved at once when the `$len`
/// line is read (PROTO_MBULK_BIG_ARG), so a 100 MB value is not grown by repeated doubling.
pub const BIG_ARG_BYTES: usize = 32 * 1024;

/// Most arguments an unauthenticated client may announce (Redis: `ll > 10 && authRequired`).
pub const UNAUTHENTICATED_MAX_ARGS: i64 = 10;

/// Longest bulk argument an unauthenticated client may announce.
pub const UNAUTHENTICATED_MAX_BULK_BYTES: i64 = 16 * 1024;

/// Default proto-max-bulk-len: 512 MB.
pub const DEFAULT_MAX_BULK_BYTES: u64 = 512 * 1024 * 1024;

/// Redis's `string2ll` refuses strings this long or longer (LONG_STR_SIZE).
const LONG_STR_SIZE: usize = 21;

/// Initial argv capacity cap: a `*count` line is only a claim, so room grows with the arguments
/// that actually arrive (Redis caps its first argv allocation at 1024 the same way).
const INITIAL_ARGV_CAPACITY: usize = 1024;

/// Scratch space the parser keeps between commands; a bigger command's is freed after it.
const SCRATCH_KEEP_BYTES: usize = 64 * 1024;

/// Emptied argv vectors kept for reuse (a pipeline's worth), and the biggest one kept.
const SPARE_ARGVS: usize = 64;
const SPARE_ARGV_CAPACITY: usize = 64;

/// What the parser needs to know about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// proto-max-bulk-len in bytes; a replication link from a master, which Redis exempts from
    /// the check, passes `u64::MAX`.
    pub max_bulk_len: u64,
    /// False while `requirepass`/ACL still wants AUTH: requests are then capped at
    /// [`UNAUTHENTICATED_MAX_ARGS`] arguments of [`UNAUTHENTICATED_MAX_BULK_BYTES`] bytes
    /// (CVE-2021-32675).
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_BYTES,
            authenticated: true,
        }
    }
}

/// Why a request cannot be parsed. Each is fatal for the connection: it gets
/// [`ProtocolError::reply_text`] (if any) and is closed. `Display` gives the reason Redis logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("too big inline request")]
    TooBigInline,
    #[error("unbalanced quotes in inline request")]
    UnbalancedQuotes,
    #[error("too big mbulk count string")]
    TooBigMultibulkCount,
    #[error("invalid mbulk count")]
    InvalidMultibulkLength,
    #[error("unauth mbulk count")]
    UnauthenticatedMultibulkLength,
    #[error("too big bulk count string")]
    TooBigBulkCount,
    /// An argument header that does not start with `$`; holds the byte found instead.
    #[error("expected $ but got something else")]
    ExpectedDollar(u8),
    #[error("invalid bulk length")]
    InvalidBulkLength,
    #[error("unauth bulk length")]
    UnauthenticatedBulkLength,
    /// A `POST` or `Host:` command: an HTTP request sent to Redis, possibly by a browser tricked
    /// into cross-protocol scripting. Redis logs a security warning and closes without replying,
    /// discarding even the replies of earlier commands from the same read.
    #[error("POST or Host: command (possible cross-protocol attack)")]
    HttpProbe,
}

impl ProtocolError {
    /// The error line Redis sends before closing, without the leading `-` and the CRLF; None when
    /// Redis closes silently.
    ///
    /// For [`ProtocolError::ExpectedDollar`] with a byte of 0x80 or more Redis sends that raw byte,
    /// which a `str` cannot hold; the text then shows U+FFFD and [`ProtocolError::reply_bytes`]
    /// gives the exact bytes.
    pub fn reply_text(&self) -> Option<&'static str> {
        Some(match self {
            ProtocolError::TooBigInline => "ERR Protocol error: too big inline request",
            ProtocolError::UnbalancedQuotes => "ERR Protocol error: unbalanced quotes in request",
            ProtocolError::TooBigMultibulkCount => "ERR Protocol error: too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "ERR Protocol error: invalid multibulk length",
            ProtocolError::UnauthenticatedMultibulkLength => {
                "ERR Protocol error: unauthenticated multibulk length"
            }
            ProtocolError::TooBigBulkCount => "ERR Protocol error: too big bulk count string",
            ProtocolError::ExpectedDollar(byte) => expected_dollar_text(*byte),
            ProtocolError::InvalidBulkLength => "ERR Protocol error: invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => {
                "ERR Protocol error: unauthenticated bulk length"
            }
            ProtocolError::HttpProbe => return None,
        })
    }

    /// The exact bytes Redis writes for this error (`-ERR ...\r\n`), None when it closes
    /// silently. Unlike [`ProtocolError::reply_text`] this is byte-exact for every input.
    pub fn reply_bytes(&self) -> Option<Bytes> {
        let mut out = Vec::with_capacity(64);
        out.push(b'-');
        match self {
            ProtocolError::ExpectedDollar(byte) => {
                out.extend_from_slice(b"ERR Protocol error: expected '$', got '");
                out.push(shown_byte(*byte));
                out.push(b'\'');
            }
            other => out.extend_from_slice(other.reply_text()?.as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
        Some(Bytes::from(out))
    }
}

/// Redis formats error replies with CR and LF mapped to spaces so the reply stays one line.
fn shown_byte(byte: u8) -> u8 {
    match byte {
        b'\r' | b'\n' => b' ',
        other => other,
    }
}

/// Marks an argument of [`RequestParser::pieces`] that is a big one, already in `argv`.
const BIG_PIECE: (usize, usize) = (usize::MAX, 0);

/// Small arguments of one command held together: up to this many bytes they are copied into an
/// allocation that also holds the reference count ([`Inline`]), so a whole command costs one
/// malloc; past it the parser's scratch vector itself becomes the shared buffer.
const INLINE_MAX_BYTES_PER_COMMAND: usize = 1008;

/// One command's small arguments, back to back, in the allocation that `Bytes::from_owner`
/// makes for its reference count (one malloc for the bytes and the count together).
struct Inline<const N: usize> {
    len: usize,
    bytes: [u8; N],
}

impl<const N: usize> AsRef<[u8]> for Inline<N> {
    fn as_ref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

fn inline_copy<const N: usize>(data: &[u8]) -> Bytes {
    let mut inline = Inline {
        len: data.len(),
        bytes: [0u8; N],
    };
    if let Some(dst) = inline.bytes.get_mut(..data.len()) {
        dst.copy_from_slice(data);
    }
    Bytes::from_owner(inline)
}

/// A copy of `data` in one allocation with its reference count, for a few size classes.
fn shared_copy(data: &[u8]) -> Bytes {
    match data.len() {
        0 => Bytes::new(),
        n if n <= 48 => inline_copy::<48>(data),
        n if n <= 112 => inline_copy::<112>(data),
        n if n <= 240 => inline_copy::<240>(data),
        n if n <= 496 => inline_copy::<496>(data),
        n if n <= INLINE_MAX_BYTES_PER_COMMAND => inline_copy::<INLINE_MAX_BYTES_PER_COMMAND>(data),
        _ => Bytes::copy_from_slice(data),
    }
}

/// The small arguments of one command as one shared buffer (see [`RequestParser::small`]).
fn shared_args(small: &mut Vec<u8>) -> Bytes {
    if small.len() <= INLINE_MAX_BYTES_PER_COMMAND {
        shared_copy(small)
    } else {
        Bytes::from(std::mem::take(small))
    }
}

/// Most arguments a command may have to be read by [`RequestParser::parse_whole`].
const WHOLE_MAX_ARGS: usize = 16;

/// A `*N` or `$N` header line starting at `at` (its first byte must be `kind`): the number,
/// and where the next line starts. None when the line is not complete, a NUL hides its end, or
/// the number is not one (the step-by-step parser then waits or reports the error).
/// `examined` counts the bytes searched.
fn header_line(data: &[u8], at: usize, kind: u8, examined: &mut usize) -> Option<(i64, usize)> {
    let line = data.get(at..)?;
    if *line.first()? != kind {
        return None;
    }
    let hit = line.iter().position(|&b| b == b'\r' || b == 0);
    *examined += hit.map_or(line.len(), |cr| cr + 1);
    let cr = hit?;
    if line.get(cr) != Some(&b'\r') || cr + 2 > line.len() {
        return None;
    }
    let n = parse_i64_strict(line.get(1..cr)?)?;
    Some((n, at + cr + 2))
}

/// `ERR Protocol error: expected '$', got 'X'` for every byte, built once so the text can be
/// `'static` like the others.
fn expected_dollar_text(byte: u8) -> &'static str {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        (0..=u8::MAX)
            .map(|b| {
                let shown = String::from_utf8_lossy(&[shown_byte(b)]).into_owned();
                format!("ERR Protocol error: expected '$', got '{shown}'")
            })
            .collect()
    });
    texts
        .get(usize::from(byte))
        .map(String::as_str)
        .unwrap_or("ERR Protocol error: expected '$'")
}

/// A multibulk request whose `*count` line has been consumed.
#[derive(Debug)]
struct Multibulk {
    /// Arguments announced but not yet complete.
    remaining_args: usize,
    /// Arguments complete so far.
    argv: Vec<Bytes>,
    /// Length of the argument being read, once its `$len` line has been consumed.
    bulk_len_bytes: Option<usize>,
}

/// What one step of parsing produced.
enum Step {
    NeedMore,
    /// An empty request (`*0`, `*-1`, a blank inline line), already consumed.
    Skip,
    /// A multibulk header was consumed; its arguments follow.
    Started,
    Command(Vec<Bytes>),
}

/// Outcome of searching the front of the buffer for a line terminator.
enum LineEnd {
    /// Offset of the terminator.
    At(usize),
    /// No terminator yet (or a NUL hides it, as Redis's `strchr` would).
    Missing,
}

/// Incremental request parser for one connection.
///
/// Consumed bytes are remembered in the parser (arguments read so far, the pending bulk length),
/// and the part of a header line already searched is not searched again, so every input byte is
/// examined a bounded number of times however the input is split.
#[derive(Debug, Default)]
pub struct RequestParser {
    multibulk: Option<Multibulk>,
    /// The small arguments (under [`BIG_ARG_BYTES`]) of the command being read, back to back.
    /// When the command is complete they are copied into one shared allocation and each
    /// argument is a slice of it: one malloc per command instead of one per argument. What a
    /// command stores from its arguments can thus pin no more than that command's own bytes
    /// (the keyspace copies strings it keeps, collections `own()` theirs), never a read buffer.
    small: Vec<u8>,
    /// Per argument of the command being read: its (offset, length) in `small`, or
    /// [`BIG_PIECE`] for a big argument, which has its own buffer and is already in `argv`.
    pieces: Vec<(usize, usize)>,
    /// Emptied argv vectors handed back with [`RequestParser::recycle`], reused for the next
    /// commands so a pipelined batch does not allocate a vector per command.
    spare: Vec<Vec<Bytes>>,
    /// Bytes at the front of the buffer known to hold no terminator of the current line.
    line_scanned_bytes: usize,
    /// Bytes examined by line searches, to let tests prove the parser is linear.
    #[cfg(test)]
    bytes_examined: usize,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands back the argv of a command that has run, to hold the arguments of a later one.
    pub fn recycle(&mut self, mut argv: Vec<Bytes>) {
        if self.spare.len() < SPARE_ARGVS && argv.capacity() <= SPARE_ARGV_CAPACITY {
            argv.clear();
            self.spare.push(argv);
        }
    }

    /// Parses the next complete command from the front of `buf`, consuming its bytes.
    ///
    /// `Ok(Some(argv))`: a command (argv[0] is the name, never empty argv). `Ok(None)`: more
    /// bytes are needed; what was consumed is kept in the parser, so call again after appending
    /// to the same buffer. `Err(e)`: a protocol error; the connection replies
    /// [`ProtocolError::reply_text`] (if any) and closes. Empty requests (`*0\r\n`, `*-1\r\n`,
    /// blank inline lines) are consumed and skipped silently.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            let step = if self.multibulk.is_some() {
                self.parse_args(buf, limits)?
            } else if let Some(argv) = self
                .line_scanned_bytes
                .eq(&0)
                .then(|| self.parse_whole(buf, limits))
                .flatten()
            {
                // Tried once per command (a partial `*count` line leaves `line_scanned_bytes`
                // set, a complete one starts `multibulk`), so no byte is searched more than
                // twice however the input is split.
                return Ok(Some(argv));
            } else {
                match buf.first() {
                    None => return Ok(None),
                    Some(b'*') => self.parse_count(buf, limits)?,
                    Some(_) => self.parse_inline(buf)?,
                }
            };
            match step {
                Step::NeedMore => return Ok(None),
                Step::Skip | Step::Started => continue,
                Step::Command(argv) => {
                    if argv.first().is_some_and(|name| is_http_probe(name)) {
                        return Err(ProtocolError::HttpProbe);
                    }
                    return Ok(Some(argv));
                }
            }
        }
    }

    /// Finds the end of the line at the front of `buf`: the first `terminator` byte before any
    /// NUL. For `\r`-terminated header lines one more byte must follow (Redis skips it without
    /// looking). With no end in sight and more than [`INLINE_MAX_BYTES`] buffered, `too_big`.
    fn find_line_end(
        &mut self,
        buf: &[u8],
        terminator: u8,
        too_big: ProtocolError,
    ) -> Result<LineEnd, ProtocolError> {
        let from = self.line_scanned_bytes.min(buf.len());
        let unscanned = buf.get(from..).unwrap_or_default();
        let hit = unscanned
            .iter()
            .position(|&b| b == terminator || b == 0)
            .map(|offset| from + offset);
        #[cfg(test)]
        {
            self.bytes_examined += hit.map_or(unscanned.len(), |at| at - from + 1);
        }
        match hit {
            Some(at) if buf.get(at) == Some(&terminator) => {
                // Remember the terminator itself: if the byte after it is missing, the next call
                // finds it again at once.
                self.line_scanned_bytes = at;
                if terminator == b'\r' && at + 1 >= buf.len() {
                    return Ok(LineEnd::Missing);
                }
                Ok(LineEnd::At(at))
            }
            stuck => {
                // Either nothing was found, or a NUL hides the terminator for good (until the
                // size check below fires), exactly as with Redis's strchr.
                self.line_scanned_bytes = stuck.unwrap_or(buf.len());
                if buf.len() > INLINE_MAX_BYTES {
                    return Err(too_big);
                }
                Ok(LineEnd::Missing)
            }
        }
    }

    /// Consumes `n` bytes from the front of `buf`, forgetting the line search state.
    fn consume(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n.min(buf.len()));
        self.line_scanned_bytes = 0;
    }

    fn parse_inline(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let newline = match self.find_line_end(buf, b'\n', ProtocolError::TooBigInline)? {
            LineEnd::At(at) => at,
            LineEnd::Missing => return Ok(Step::NeedMore),
        };
        let line_end = match newline.checked_sub(1) {
            Some(before) if buf.get(before) == Some(&b'\r') => before,
            _ => newline,
        };
        let words = buf.get(..line_end).and_then(split_args);
        self.consume(buf, newline + 1);
        match words {
            None => Err(ProtocolError::UnbalancedQuotes),
            Some(words) if words.is_empty() => Ok(Step::Skip),
            Some(words) => Ok(Step::Command(words)),
        }
    }

    fn parse_count(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<Step, ProtocolError> {
        let cr = match self.find_line_end(buf, b'\r', ProtocolError::TooBigMultibulkCount)? {
            LineEnd::At(at) => at,
            LineEnd::Missing => return Ok(Step::NeedMore),
        };
        let count = buf
            .get(1..cr)
            .and_then(parse_i64_strict)
            .filter(|&n| n <= i64::from(i32::MAX))
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > UNAUTHENTICATED_MAX_ARGS && !limits.authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        self.consume(buf, cr + 2);
        // count <= i32::MAX, so it fits usize on every supported target.
        let remaining_args = match usize::try_from(count) {
            Ok(n) if n > 0 => n,
            _ => return Ok(Step::Skip),
        };
        let mut argv = self.spare.pop().unwrap_or_default();
        argv.reserve(remaining_args.min(INITIAL_ARGV_CAPACITY));
        self.multibulk = Some(Multibulk {
            remaining_args,
            argv,
            bulk_len_bytes: None,
        });
        Ok(Step::Started)
    }

    fn parse_args(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<Step, ProtocolError> {
        loop {
            let Some(mb) = self.multibulk.as_ref() else {
                return Ok(Step::Skip);
            };
            if mb.remaining_args == 0 {
                let argv = self.multibulk.take().map(|mb| mb.argv).unwrap_or_default();
                return Ok(Step::Command(self.fill_small_args(argv)));
            }
            let bulk_len = match mb.bulk_len_bytes {
                Some(n) => n,
                None => match self.parse_bulk_len(buf, limits)? {
                    Some(n) => n,
                    None => return Ok(Step::NeedMore),
                },
            };
            // The data plus the two bytes after it, which Redis skips without checking.
            let needed = bulk_len.saturating_add(2);
            if buf.len() < needed {
                return Ok(Step::NeedMore);
            }
            let arg = if bulk_len < BIG_ARG_BYTES {
                // Kept in `small` until the command is complete (see `fill_small_args`).
                let start = self.small.len();
                self.small
                    .extend_from_slice(buf.get(..bulk_len).unwrap_or_default());
                buf.advance(bulk_len);
                self.pieces.push((start, bulk_len));
                Bytes::new()
            } else {
                // Its buffer was reserved for it alone (see `parse_bulk_len`): slicing it out
                // is both cheap and tight.
                self.pieces.push(BIG_PIECE);
                buf.split_to(bulk_len).freeze()
            };
            self.consume(buf, 2);
            if let Some(mb) = self.multibulk.as_mut() {
                mb.argv.push(arg);
                mb.remaining_args -= 1;
                mb.bulk_len_bytes = None;
            }
        }
    }

    /// The common case in one pass: a whole multibulk command of a few small arguments already
    /// in `buf`. Its bytes are copied once into one shared allocation, each argument is a
    /// slice of it, and `buf` is advanced once. None (nothing consumed) for anything else,
    /// which the step-by-step parser then reads, errors included: this path only takes input
    /// it would parse into the same arguments.
    fn parse_whole(&mut self, buf: &mut BytesMut, limits: &Limits) -> Option<Vec<Bytes>> {
        let mut examined = 0;
        let parsed = self.parse_whole_in(buf, limits, &mut examined);
        #[cfg(test)]
        {
            self.bytes_examined += examined;
        }
        parsed
    }

    fn parse_whole_in(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        examined: &mut usize,
    ) -> Option<Vec<Bytes>> {
        let data: &[u8] = buf;
        let (count, mut at) = header_line(data, 0, b'*', examined)?;
        let count = usize::try_from(count).ok().filter(|&n| n > 0)?;
        if count > WHOLE_MAX_ARGS
            || (count as i64 > UNAUTHENTICATED_MAX_ARGS && !limits.authenticated)
        {
            return None;
        }
        let mut spans = [(0usize, 0usize); WHOLE_MAX_ARGS];
        for span in spans.iter_mut().take(count) {
            let (len, start) = header_line(data, at, b'$', examined)?;
            let len = u64::try_from(len).ok()?;
            if len > limits.max_bulk_len
                || len >= BIG_ARG_BYTES as u64
                || (!limits.authenticated && len > UNAUTHENTICATED_MAX_BULK_BYTES.unsigned_abs())
            {
                return None;
            }
            let len = usize::try_from(len).ok()?;
            // The data plus the two bytes after it, which Redis skips without checking.
            let end = start.checked_add(len)?.checked_add(2)?;
            if end > data.len() {
                return None;
            }
            *span = (start, len);
            at = end;
        }
        let (name_at, name_len) = spans[0];
        if is_http_probe(data.get(name_at..name_at + name_len)?) {
            return None;
        }
        let whole = shared_copy(data.get(..at)?);
        let mut argv = self.spare.pop().unwrap_or_default();
        argv.extend(
            spans
                .iter()
                .take(count)
                .map(|&(start, len)| whole.slice(start..start + len)),
        );
        buf.advance(at);
        self.line_scanned_bytes = 0;
        Some(argv)
    }

    /// Puts the small arguments of a complete command into `argv`, as slices of one shared copy.
    fn fill_small_args(&mut self, mut argv: Vec<Bytes>) -> Vec<Bytes> {
        let whole = shared_args(&mut self.small);
        for (arg, &(start, len)) in argv.iter_mut().zip(&self.pieces) {
            if (start, len) != BIG_PIECE {
                *arg = whole.slice(start..start + len);
            }
        }
        self.small.clear();
        self.pieces.clear();
        if self.small.capacity() > SCRATCH_KEEP_BYTES {
            self.small = Vec::new();
        }
        if self.pieces.capacity() > SCRATCH_KEEP_BYTES / 16 {
            self.pieces = Vec::new();
        }
        argv
    }

    /// Reads a `$len` line; Some(len) once it is consumed and recorded in the state.
    fn parse_bulk_len(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<usize>, ProtocolError> {
        let cr = match self.find_line_end(buf, b'\r', ProtocolError::TooBigBulkCount)? {
            LineEnd::At(at) => at,
            LineEnd::Missing => return Ok(None),
        };
        // Redis looks at the first byte only once the whole line is there.
        match buf.first() {
            Some(b'$') => {}
            Some(&other) => return Err(ProtocolError::ExpectedDollar(other)),
            None => return Ok(None),
        }
        let len = buf
            .get(1..cr)
            .and_then(parse_i64_strict)
            .and_then(|n| u64::try_from(n).ok())
            .filter(|&n| n <= limits.max_bulk_len)
            .ok_or(ProtocolError::InvalidBulkLength)?;
        if !limits.authenticated && len > UNAUTHENTICATED_MAX_BULK_BYTES.unsigned_abs() {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
        self.consume(buf, cr + 2);
        // Reserve a big argument's whole buffer once, as Redis does, so it is neither regrown by
        // doubling nor copied. Only for authenticated clients: an unauthenticated one must not
        // make the server allocate what it merely announces (CVE-2021-32675).
        let needed = len.saturating_add(2);
        if limits.authenticated && len >= BIG_ARG_BYTES && buf.len() < needed {
            buf.reserve(needed - buf.len());
        }
        if let Some(mb) = self.multibulk.as_mut() {
            mb.bulk_len_bytes = Some(len);
        }
        Ok(Some(len))
    }
}

/// True for a command name Redis treats as an HTTP request: `post` or `host:`, any case,
/// compared as C strings (so up to the first NUL).
fn is_http_probe(name: &[u8]) -> bool {
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:")
}

/// Parses a decimal integer exactly as Redis's `string2ll` does: optional `-`, no `+`, no
/// leading zeros, no `-0`, no spaces, fewer than 21 bytes, within i64.
pub(crate) fn parse_i64_strict(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() >= LONG_STR_SIZE {
        return None;
    }
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Whitespace as C's `isspace` sees it (Redis skips it between words): unlike
/// `u8::is_ascii_whitespace` it includes vertical tab.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: Option<&u8>) -> Option<u8> {
    b.and_then(|&b| char::from(b).to_digit(16))
        .and_then(|d| u8::try_from(d).ok())
}

/// Splits a line into arguments as Redis's sdssplitargs does (inline commands, redis.conf
/// lines): whitespace separates words; "double quotes" take `\n \r \t \b \a \\ \" \xHH` escapes;
/// 'single quotes' take only `\'`; a closing quote must be followed by whitespace or the end.
/// The line ends at its first NUL, as a C string would. None on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    enum Quote {
        None,
        Double,
        Single,
    }
    let line = line.split(|&b| b == 0).next().unwrap_or_default();
    let at = |i: usize| line.get(i).copied();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while at(i).is_some_and(is_c_space) {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut word = Vec::new();
        let mut quote = Quote::None;
        loop {
            let c = at(i);
            match quote {
                Quote::Double => {
                    let escaped = if c == Some(b'\\') { at(i + 1) } else { None };
                    let hex = (hex_value(line.get(i + 2)), hex_value(line.get(i + 3)));
                    if let (Some(b'x'), (Some(hi), Some(lo))) = (escaped, hex) {
                        word.push(hi * 16 + lo);
                        i += 4;
                    } else if let Some(e) = escaped {
                        word.push(match e {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        i += 2;
                    } else if c == Some(b'"') {
                        if at(i + 1).is_some_and(|n| !is_c_space(n)) {
                            return None;
                        }
                        i += 1;
                        break;
                    } else if let Some(c) = c {
                        word.push(c);
                        i += 1;
                    } else {
                        return None;
                    }
                }
                Quote::Single => {
                    if c == Some(b'\\') && at(i + 1) == Some(b'\'') {
                        word.push(b'\'');
                        i += 2;
                    } else if c == Some(b'\'') {
                        if at(i + 1).is_some_and(|n| !is_c_space(n)) {
                            return None;
                        }
                        i += 1;
                        break;
                    } else if let Some(c) = c {
                        word.push(c);
                        i += 1;
                    } else {
                        return None;
                    }
                }
                Quote::None => match c {
                    None => break,
                    // Only these end an unquoted word; vertical tab and form feed do not.
                    Some(b' ' | b'\n' | b'\r' | b'\t') => {
                        i += 1;
                        break;
                    }
                    Some(b'"') => {
                        quote = Quote::Double;
                        i += 1;
                    }
                    Some(b'\'') => {
                        quote = Quote::Single;
                        i += 1;
                    }
                    Some(other) => {
                        word.push(other);
                        i += 1;
                    }
                },
            }
        }
        out.push(Bytes::from(word));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn auth() -> Limits {
        Limits::default()
    }

    fn unauth() -> Limits {
        Limits {
            authenticated: false,
            ..Limits::default()
        }
    }

    fn args(words: &[&[u8]]) -> Vec<Bytes> {
        words.iter().map(|w| Bytes::copy_from_slice(w)).collect()
    }

    /// Parses everything in `input` at once: the commands, then the error or the leftover state.
    fn parse_all(
        input: &[u8],
        limits: &Limits,
    ) -> (Vec<Vec<Bytes>>, Result<(), ProtocolError>, BytesMut) {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut commands = Vec::new();
        loop {
            match parser.parse(&mut buf, limits) {
                Ok(Some(argv)) => commands.push(argv),
                Ok(None) => return (commands, Ok(()), buf),
                Err(e) => return (commands, Err(e), buf),
            }
        }
    }

    fn first_error(input: &[u8], limits: &Limits) -> Option<ProtocolError> {
        parse_all(input, limits).1.err()
    }

    fn encode_multibulk(argv: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", argv.len()).into_bytes();
        for arg in argv {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn multibulk_command() {
        let (cmds, res, rest) = parse_all(b"*1\r\n$3\r\nFOO\r\n", &auth());
        assert_eq!(cmds, vec![args(&[b"FOO"])]);
        assert_eq!(res, Ok(()));
        assert!(rest.is_empty());
        let (cmds, _, _) = parse_all(b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n", &auth());
        assert_eq!(cmds, vec![args(&[b"GET", b""])]);
    }

    #[test]
    fn invalid_bulk_lengths() {
        for input in [
            &b"*1\r\n$-2\r\n"[..],
            b"*1\r\n$-1\r\n",
            b"*1\r\n$abc\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$2147483648\r\n",
            b"*1\r\n$-0\r\n",
            b"*1\r\n$04\r\nPING\r\n",
            b"*1\r\n$+4\r\nPING\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$ 4\r\nPING\r\n",
        ] {
            let e = first_error(input, &auth());
            assert_eq!(e, Some(ProtocolError::InvalidBulkLength), "{input:?}");
        }
        let e = ProtocolError::InvalidBulkLength;
        assert_eq!(
            e.reply_text(),
            Some("ERR Protocol error: invalid bulk length")
        );
        assert_eq!(
            e.reply_bytes().as_deref(),
            Some(&b"-ERR Protocol error: invalid bulk length\r\n"[..])
        );
        // Exactly proto-max-bulk-len is allowed (Redis waits for the data).
        assert_eq!(first_error(b"*1\r\n$536870912\r\n", &auth()), None);
        let small = Limits {
            max_bulk_len: 3,
            authenticated: true,
        };
        assert_eq!(parse_all(b"*1\r\n$3\r\nfoo\r\n", &small).0.len(), 1);
        assert_eq!(
            first_error(b"*1\r\n$4\r\n", &small),
            Some(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn huge_count_waits_for_arguments() {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1048577\r\n"[..]);
        assert_eq!(parser.parse(&mut buf, &auth()), Ok(None));
        assert!(buf.is_empty());
        let mb = parser
            .multibulk
            .as_ref()
            .map(|mb| (mb.remaining_args, mb.argv.capacity()));
        assert_eq!(mb, Some((1_048_577, INITIAL_ARGV_CAPACITY)));
        // i32::MAX is still accepted.
        assert_eq!(first_error(b"*2147483647\r\n", &auth()), None);
    }

    #[test]
    fn invalid_multibulk_lengths() {
        for input in [
            &b"*2147483648\r\n"[..],
            b"*abc\r\n",
            b"*-0\r\n",
            b"*01\r\n",
            b"*\r\n",
            b"*99999999999999999999999\r\n",
        ] {
            let e = first_error(input, &auth());
            assert_eq!(e, Some(ProtocolError::InvalidMultibulkLength), "{input:?}");
        }
        assert_eq!(
            ProtocolError::InvalidMultibulkLength.reply_text(),
            Some("ERR Protocol error: invalid multibulk length")
        );
    }

    #[test]
    fn expected_dollar() {
        let e = first_error(b"*1\r\nPING\r\n", &auth());
        assert_eq!(e, Some(ProtocolError::ExpectedDollar(b'P')));
        assert_eq!(
            ProtocolError::ExpectedDollar(b'P').reply_text(),
            Some("ERR Protocol error: expected '$', got 'P'")
        );
        // Redis only looks once the whole line is there.
        assert_eq!(first_error(b"*1\r\nPING", &auth()), None);
        assert_eq!(first_error(b"*1\r\nPING\r", &auth()), None);
        // An empty line: the byte is CR, which Redis shows as a space.
        let e = first_error(b"*1\r\n\r\n", &auth());
        assert_eq!(e, Some(ProtocolError::ExpectedDollar(b'\r')));
        assert_eq!(
            ProtocolError::ExpectedDollar(b'\r').reply_text(),
            Some("ERR Protocol error: expected '$', got ' '")
        );
        // A non-ASCII byte goes out raw.
        let e = first_error(b"*1\r\n\xff\r\n", &auth());
        assert_eq!(e, Some(ProtocolError::ExpectedDollar(0xff)));
        assert_eq!(
            ProtocolError::ExpectedDollar(0xff).reply_bytes().as_deref(),
            Some(&b"-ERR Protocol error: expected '$', got '\xff'\r\n"[..])
        );
        assert_eq!(
            ProtocolError::ExpectedDollar(0xff).reply_text(),
            Some("ERR Protocol error: expected '$', got '\u{fffd}'")
        );
    }

    #[test]
    fn empty_requests_are_skipped() {
        for input in [
            &b"*0\r\n"[..],
            b"*-1\r\n",
            b"\r\n",
            b"\n",
            b"   \t\r\n",
            b"*-5\r\n",
        ] {
            let (cmds, res, rest) = parse_all(input, &auth());
            assert!(cmds.is_empty(), "{input:?}");
            assert_eq!(res, Ok(()));
            assert!(rest.is_empty(), "{input:?}");
        }
        let (cmds, _, _) = parse_all(b"*0\r\n*-1\r\n\r\nPING\r\n*-5\r\nPING\r\n", &auth());
        assert_eq!(cmds, vec![args(&[b"PING"]), args(&[b"PING"])]);
    }

    #[test]
    fn bytes_after_bulk_and_cr_are_not_checked() {
        let (cmds, res, _) = parse_all(b"*1\r\n$4\r\nPINGxx", &auth());
        assert_eq!(cmds, vec![args(&[b"PING"])]);
        assert_eq!(res, Ok(()));
        let (cmds, _, _) = parse_all(b"*1\rX$4\rxPING\r\n", &auth());
        assert_eq!(cmds, vec![args(&[b"PING"])]);
        // Until the byte after the CR arrives, nothing happens.
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r"[..]);
        assert_eq!(parser.parse(&mut buf, &auth()), Ok(None));
        buf.extend_from_slice(b"\n$4\r");
        assert_eq!(parser.parse(&mut buf, &auth()), Ok(None));
        buf.extend_from_slice(b"\nPING\r");
        assert_eq!(parser.parse(&mut buf, &auth()), Ok(None));
        buf.extend_from_slice(b"\n");
        assert_eq!(parser.parse(&mut buf, &auth()), Ok(Some(args(&[b"PING"]))));
    }

    #[test]
    fn inline_commands() {
        let (cmds, _, _) = parse_all(b"PING\n", &auth());
        assert_eq!(cmds, vec![args(&[b"PING"])]);
        let (cmds, _, _) = parse_all(b"SET k \"a b\" 'c d'\r\nECHO x\r\r\n", &auth());
        assert_eq!(
            cmds,
            vec![
                args(&[b"SET", b"k", b"a b", b"c d"]),
                args(&[b"ECHO", b"x"])
            ]
        );
        // Vertical tab separates words only between them, as C's isspace and Redis do.
        let (cmds, _, _) = parse_all(
            b"ECHO a\x0bb\r\n\x0b PING\r\nECHO \"a\"\x0bb c\r\n",
            &auth(),
        );
        assert_eq!(
            cmds,
            vec![
                args(&[b"ECHO", b"a\x0bb"]),
                args(&[b"PING"]),
                args(&[b"ECHO", b"a", b"b", b"c"])
            ]
        );
        let (cmds, _, _) = parse_all(b"ECHO \"\\x41\\x4g\" 'a\\'b' \"\\x\"\r\n", &auth());
        assert_eq!(cmds, vec![args(&[b"ECHO", b"Ax4g", b"a'b", b"x"])]);
    }

    #[test]
    fn unbalanced_quotes() {
        for input in [
            &b"SET \"foo bar\r\n"[..],
            b"ECHO \"a\"b\r\n",
            b"ECHO \"a\\\"\r\n",
            b"ECHO 'a\r\n",
        ] {
            let e = first_error(input, &auth());
            assert_eq!(e, Some(ProtocolError::UnbalancedQuotes), "{input:?}");
        }
        assert_eq!(
            ProtocolError::UnbalancedQuotes.reply_text(),
            Some("ERR Protocol error: unbalanced quotes in request")
        );
    }

    #[test]
    fn too_big_inline_request() {
        assert_eq!(
            first_error(&[b'a'; 70 * 1024], &auth()),
            Some(ProtocolError::TooBigInline)
        );
        // The limit is on the buffered bytes: 65536 waits, 65537 fails (measured on Redis).
        assert_eq!(first_error(&[b'a'; INLINE_MAX_BYTES], &auth()), None);
        assert_eq!(
            first_error(&[b'a'; INLINE_MAX_BYTES + 1], &auth()),
            Some(ProtocolError::TooBigInline)
        );
        // A longer line that is already complete is accepted, as when Redis reads it at once.
        let mut line = b"ECHO ".to_vec();
        line.extend_from_slice(&[b'a'; 70_000]);
        line.extend_from_slice(b"\r\n");
        let (cmds, res, _) = parse_all(&line, &auth());
        assert_eq!(res, Ok(()));
        assert_eq!(
            cmds.first().and_then(|c| c.get(1)).map(Bytes::len),
            Some(70_000)
        );
        assert_eq!(
            ProtocolError::TooBigInline.reply_text(),
            Some("ERR Protocol error: too big inline request")
        );
    }

    #[test]
    fn nul_hides_the_line_end_like_strchr() {
        // Redis waits forever (until the size limit) on these.
        for input in [
            &b"PING\0\n"[..],
            b"ECHO a\0b\r\n",
            b"post\0zz\r\n",
            b"*1\0\r\n$4\r\nPING\r\n",
        ] {
            let (cmds, res, _) = parse_all(input, &auth());
            assert!(cmds.is_empty(), "{input:?}");
            assert_eq!(res, Ok(()), "{input:?}");
        }
        assert_eq!(first_error(b"*1\r\n$4\0\r\nPING\r\n", &auth()), None);
        let mut input = b"PING\0".to_vec();
        input.extend_from_slice(&[b'a'; 70_000]);
        input.extend_from_slice(b"\r\nPING\r\n");
        assert_eq!(
            first_error(&input, &auth()),
            Some(ProtocolError::TooBigInline)
        );
        // Bulk data may hold NUL freely.
        let (cmds, _, _) = parse_all(b"*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n", &auth());
        assert_eq!(cmds, vec![args(&[b"ECHO", b"a\0b"])]);
    }

    #[test]
    fn too_big_count_strings() {
        let mut input = vec![b'*'];
        input.extend_from_slice(&[b'1'; 70 * 1024]);
        assert_eq!(
            first_error(&input, &auth()),
            Some(ProtocolError::TooBigMultibulkCount)
        );
        input.truncate(INLINE_MAX_BYTES);
        assert_eq!(first_error(&input, &auth()), None);
        input.push(b'1');
        assert_eq!(
            first_error(&input, &auth()),
            Some(ProtocolError::TooBigMultibulkCount)
        );

        let mut input = b"*1\r\n$".to_vec();
        input.extend_from_slice(&[b'1'; INLINE_MAX_BYTES - 1]);
        assert_eq!(first_error(&input, &auth()), None);
        input.push(b'1');
        assert_eq!(
            first_error(&input, &auth()),
            Some(ProtocolError::TooBigBulkCount)
        );
        assert_eq!(
            ProtocolError::TooBigMultibulkCount.reply_text(),
            Some("ERR Protocol error: too big mbulk count string")
        );
        assert_eq!(
            ProtocolError::TooBigBulkCount.reply_text(),
            Some("ERR Protocol error: too big bulk count string")
        );
        // A complete but overlong count line is simply not a number.
        let mut input = vec![b'*'];
        input.extend_from_slice(&[b'1'; 70 * 1024]);
        input.extend_from_slice(b"\r\n");
        assert_eq!(
            first_error(&input, &auth()),
            Some(ProtocolError::InvalidMultibulkLength)
        );
    }

    #[test]
    fn unauthenticated_limits() {
        assert_eq!(
            first_error(b"*11\r\n", &unauth()),
            Some(ProtocolError::UnauthenticatedMultibulkLength)
        );
        assert_eq!(first_error(b"*10\r\n", &unauth()), None);
        assert_eq!(first_error(b"*11\r\n", &auth()), None);
        assert_eq!(
            first_error(b"*1\r\n$16385\r\n", &unauth()),
            Some(ProtocolError::UnauthenticatedBulkLength)
        );
        assert_eq!(first_error(b"*1\r\n$16384\r\n", &unauth()), None);
        // Validity is checked first.
        assert_eq!(
            first_error(b"*2147483648\r\n", &unauth()),
            Some(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            first_error(b"*1\r\n$600000000\r\n", &unauth()),
            Some(ProtocolError::InvalidBulkLength)
        );
        let (cmds, _, _) = parse_all(b"*-1\r\nPING\r\n", &unauth());
        assert_eq!(cmds, vec![args(&[b"PING"])]);
        assert_eq!(
            ProtocolError::UnauthenticatedMultibulkLength.reply_text(),
            Some("ERR Protocol error: unauthenticated multibulk length")
        );
        assert_eq!(
            ProtocolError::UnauthenticatedBulkLength.reply_text(),
            Some("ERR Protocol error: unauthenticated bulk length")
        );
    }

    #[test]
    fn big_bulk_reserved_only_when_authenticated() {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$10000000\r\n"[..]);
        assert_eq!(parser.parse(&mut buf, &auth()), Ok(None));
        assert!(buf.capacity() >= 10_000_002);
        // Unauthenticated: the largest allowed announcement does not grow the buffer.
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$16384\r\n"[..]);
        let before = buf.capacity();
        assert_eq!(parser.parse(&mut buf, &unauth()), Ok(None));
        assert!(buf.capacity() <= before);
    }

    #[test]
    fn http_probes_close_silently() {
        for input in [
            &b"POST / HTTP/1.1\r\n"[..],
            b"Host: x\r\n",
            b"post x\r\n",
            b"PoSt\r\n",
            b"HOST: x\r\n",
            b"\"post\"\r\n",
            b"*1\r\n$4\r\nPOST\r\n",
            b"*1\r\n$6\r\nPOST\0a\r\n",
        ] {
            let e = first_error(input, &auth());
            assert_eq!(e, Some(ProtocolError::HttpProbe), "{input:?}");
        }
        assert_eq!(ProtocolError::HttpProbe.reply_text(), None);
        assert_eq!(ProtocolError::HttpProbe.reply_bytes(), None);
        // `Host:x` is one word, not `host:`, so just an unknown command.
        let (cmds, res, _) = parse_all(b"Host:x\r\nposts\r\n", &auth());
        assert_eq!(res, Ok(()));
        assert_eq!(cmds, vec![args(&[b"Host:x"]), args(&[b"posts"])]);
        // Commands before the probe are returned first.
        let (cmds, res, _) = parse_all(b"PING\r\nPOST / HTTP/1.1\r\n", &auth());
        assert_eq!(cmds, vec![args(&[b"PING"])]);
        assert_eq!(res, Err(ProtocolError::HttpProbe));
    }

    #[test]
    fn error_after_good_commands() {
        let (cmds, res, _) = parse_all(b"PING\r\n*1\r\n$-1\r\n", &auth());
        assert_eq!(cmds, vec![args(&[b"PING"])]);
        assert_eq!(res, Err(ProtocolError::InvalidBulkLength));
    }

    #[test]
    fn pipelined_commands() {
        let mut input = Vec::new();
        for i in 0..1000 {
            input.extend_from_slice(&encode_multibulk(&[
                b"SET".to_vec(),
                format!("key:{i}").into_bytes(),
                vec![b'v'; i % 7],
            ]));
        }
        let (cmds, res, rest) = parse_all(&input, &auth());
        assert_eq!(res, Ok(()));
        assert!(rest.is_empty());
        assert_eq!(cmds.len(), 1000);
        for (i, cmd) in cmds.iter().enumerate() {
            assert_eq!(
                cmd.get(1).map(|k| k.to_vec()),
                Some(format!("key:{i}").into_bytes())
            );
            assert_eq!(cmd.get(2).map(Bytes::len), Some(i % 7));
        }
        let input = b"PING\r\n".repeat(200_000);
        let (cmds, res, _) = parse_all(&input, &auth());
        assert_eq!(res, Ok(()));
        assert_eq!(cmds.len(), 200_000);
    }

    #[test]
    fn arguments_do_not_pin_the_read_buffer() {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        buf.extend_from_slice(
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        );
        let read_buffer = buf.as_ptr_range();
        let mut parser = RequestParser::new();
        let mut all = Vec::new();
        while let Ok(Some(argv)) = parser.parse(&mut buf, &auth()) {
            all.extend(argv);
        }
        assert_eq!(all.len(), 5);
        for arg in &all {
            assert!(
                !read_buffer.contains(&arg.as_ptr()),
                "{arg:?} is in the read buffer"
            );
        }
        // One command's arguments share one allocation.
        assert_eq!(all[2].as_ptr() as usize - all[1].as_ptr() as usize, 7);
    }

    #[test]
    fn big_value_in_chunks_is_linear_and_zero_copy() {
        const VALUE_BYTES: usize = 100 * 1024 * 1024;
        const CHUNK_BYTES: usize = 64 * 1024;
        let value: Vec<u8> = (0..VALUE_BYTES).map(|i| (i % 251) as u8).collect();
        let header = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${VALUE_BYTES}\r\n");
        let mut wire = header.into_bytes();
        wire.extend_from_slice(&value);
        wire.extend_from_slice(b"\r\n");
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut result = None;
        let mut calls = 0usize;
        for chunk in wire.chunks(CHUNK_BYTES) {
            buf.extend_from_slice(chunk);
            calls += 1;
            if let Some(argv) = parser.parse(&mut buf, &auth()).ok().flatten() {
                result = Some(argv);
            }
        }
        let argv = result.unwrap_or_default();
        assert_eq!(argv.len(), 3);
        assert!(argv.get(2).is_some_and(|v| v[..] == value[..]));
        // Only header lines are ever searched, each once: the 100 MB are never scanned.
        assert!(
            parser.bytes_examined < 64,
            "examined {}",
            parser.bytes_examined
        );
        assert!(calls > 1600);
    }

    #[test]
    fn long_line_byte_by_byte_is_scanned_once() {
        let mut line = vec![b'x'; 60_000];
        line.extend_from_slice(b"\r\n");
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for &b in &line {
            buf.extend_from_slice(&[b]);
            if let Ok(Some(argv)) = parser.parse(&mut buf, &auth()) {
                got = Some(argv);
            }
        }
        assert_eq!(got.map(|a| a.len()), Some(1));
        assert!(
            parser.bytes_examined <= line.len() + 2,
            "{}",
            parser.bytes_examined
        );
    }

    #[test]
    fn split_at_every_boundary() {
        let commands: &[&[u8]] = &[
            b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n",
            b"ECHO \"a b\" 'c'\r\n",
            b"*0\r\n",
            b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
        ];
        let wire: Vec<u8> = commands.concat();
        let expected = vec![
            args(&[b"SET", b"key", b"va\r\nl"]),
            args(&[b"ECHO", b"a b", b"c"]),
            args(&[b"ECHO", b""]),
        ];
        for a in 0..=wire.len() {
            for b in a..=wire.len() {
                let mut parser = RequestParser::new();
                let mut buf = BytesMut::new();
                let mut got = Vec::new();
                for piece in [&wire[..a], &wire[a..b], &wire[b..]] {
                    buf.extend_from_slice(piece);
                    while let Ok(Some(argv)) = parser.parse(&mut buf, &auth()) {
                        got.push(argv);
                    }
                }
                assert_eq!(got, expected, "split at {a} and {b}");
                assert!(buf.is_empty());
            }
        }
    }

    #[test]
    fn small_args_are_copied_and_big_ones_share_their_buffer() {
        /// Parses one command; returns its arguments and the address range of the input buffer.
        fn parse_one(input: &[u8]) -> (Vec<Bytes>, std::ops::Range<usize>) {
            let mut buf = BytesMut::from(input);
            let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
            let argv = RequestParser::new()
                .parse(&mut buf, &auth())
                .ok()
                .flatten()
                .unwrap_or_default();
            (argv, range)
        }
        // A small argument owns its bytes: stored as a value, it must not pin the read buffer.
        let (argv, range) = parse_one(b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n");
        assert_eq!(argv.get(1).map(|a| &a[..]), Some(&b"hello"[..]));
        assert!(argv.iter().all(|a| !range.contains(&(a.as_ptr() as usize))));
        // A big one is a slice of the buffer reserved for it (no copy of megabytes).
        let big = vec![b'x'; BIG_ARG_BYTES];
        let mut input = format!("*2\r\n$3\r\nSET\r\n${}\r\n", big.len()).into_bytes();
        input.extend_from_slice(&big);
        input.extend_from_slice(b"\r\n");
        let (argv, range) = parse_one(&input);
        assert_eq!(argv.get(1).map(|a| a.len()), Some(BIG_ARG_BYTES));
        assert!(argv
            .get(1)
            .is_some_and(|a| range.contains(&(a.as_ptr() as usize))));
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-1"), Some(-1));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(parse_i64_strict(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn split_args_like_sdssplitargs() {
        assert_eq!(split_args(b""), Some(vec![]));
        assert_eq!(split_args(b"  a  b "), Some(args(&[b"a", b"b"])));
        assert_eq!(split_args(b"a\"b c\" d"), Some(args(&[b"ab c", b"d"])));
        assert_eq!(
            split_args(b"\"\\n\\r\\t\\b\\a\\\\\\\"\""),
            Some(args(&[b"\n\r\t\x08\x07\\\""]))
        );
        assert_eq!(split_args(b"'a\\nb'"), Some(args(&[b"a\\nb"])));
        assert_eq!(split_args(b"\"\\x4"), None);
        assert_eq!(split_args(b"\"a\"\x0c"), Some(args(&[b"a"])));
        assert_eq!(split_args(b"a\0 b"), Some(args(&[b"a"])));
        assert_eq!(split_args(b"\"a\0\""), None);
        assert_eq!(split_args(b"\"\""), Some(args(&[b""])));
    }

    /// Feeds `wire` to a parser in pieces of the given sizes (cycled), collecting commands.
    fn feed_in_chunks(
        wire: &[u8],
        sizes: &[usize],
        limits: &Limits,
    ) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut rest = wire;
        let mut sizes = sizes.iter().copied().cycle();
        loop {
            let n = sizes.next().unwrap_or(1).max(1).min(rest.len());
            let (piece, tail) = rest.split_at(n);
            buf.extend_from_slice(piece);
            rest = tail;
            loop {
                match parser.parse(&mut buf, limits) {
                    Ok(Some(argv)) => got.push(argv),
                    Ok(None) => break,
                    Err(e) => return (got, Some(e)),
                }
            }
            if rest.is_empty() {
                return (got, None);
            }
        }
    }

    proptest! {
        #[test]
        fn argv_round_trips_through_any_chunking(
            argv in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..20),
            sizes in proptest::collection::vec(1usize..40, 1..10),
        ) {
            let wire = encode_multibulk(&argv);
            let (got, err) = feed_in_chunks(&wire, &sizes, &auth());
            let expected: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
            if argv.first().is_some_and(|name| is_http_probe(name)) {
                prop_assert_eq!(err, Some(ProtocolError::HttpProbe));
            } else {
                prop_assert_eq!(err, None);
                prop_assert_eq!(got, vec![expected]);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            sizes in proptest::collection::vec(1usize..64, 1..8),
            authenticated in any::<bool>(),
            max_bulk_len in 0u64..100,
        ) {
            let limits = Limits { max_bulk_len, authenticated };
            let _ = feed_in_chunks(&bytes, &sizes, &limits);
            let _ = feed_in_chunks(&bytes, &sizes, &auth());
        }

        #[test]
        fn protocol_shaped_bytes_never_panic(
            tokens in proptest::collection::vec(
                prop_oneof![
                    Just(&b"*"[..]), Just(&b"$"[..]), Just(&b"\r\n"[..]), Just(&b"\r"[..]),
                    Just(&b"\n"[..]), Just(&b"\0"[..]), Just(&b"1"[..]), Just(&b"3"[..]),
                    Just(&b"-1"[..]), Just(&b"0"[..]), Just(&b"\""[..]), Just(&b"'"[..]),
                    Just(&b"\\"[..]), Just(&b" "[..]), Just(&b"x"[..]), Just(&b"POST"[..]),
                    Just(&b"99999999999"[..]), Just(&b"12"[..]),
                ],
                0..80,
            ),
            sizes in proptest::collection::vec(1usize..16, 1..8),
            authenticated in any::<bool>(),
            max_bulk_len in 0u64..20,
        ) {
            let bytes = tokens.concat();
            let limits = Limits { max_bulk_len, authenticated };
            let (got, err) = feed_in_chunks(&bytes, &sizes, &limits);
            if let Some(e) = &err {
                // Every error but the probe has a one-line reply.
                prop_assert_eq!(e.reply_bytes().is_some(), *e != ProtocolError::HttpProbe);
            }
            // Whole commands (read in one pass) and commands arriving a byte at a time (read
            // step by step) parse alike, errors included.
            prop_assert_eq!(feed_in_chunks(&bytes, &[1], &limits), (got.clone(), err.clone()));
            prop_assert_eq!(feed_in_chunks(&bytes, &[usize::MAX], &limits), (got, err));
        }
    }
}

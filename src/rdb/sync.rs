//! Receiving an RDB file over a replication link (the reply to PSYNC's `+FULLRESYNC`).
//!
//! A master sends either `$<len>\r\n` followed by exactly `len` bytes of RDB (disk-based sync),
//! or, diskless, `$EOF:<40-byte mark>\r\n`, the RDB, and the same 40 bytes again. Neither form
//! has a trailing CRLF. Before the header a master may send bare `\n` keep-alives. Both forms are
//! supported by [`RdbTransfer`]; the bytes it collects are then read whole with
//! [`super::read_snapshot`] (parsing is not incremental; the transfer is).

use super::RdbError;

/// Length of the diskless end mark.
pub const EOF_MARK_LEN: usize = 40;

/// How much of a bulk transfer is reserved up front at most (the rest grows as it arrives).
const MAX_PREALLOC: usize = 64 << 20;

#[derive(Debug)]
enum State {
    /// Reading the `$...\r\n` line.
    Header(Vec<u8>),
    /// `remaining` bytes of a `$<len>` transfer still to come.
    Bulk {
        remaining: u64,
    },
    /// A diskless transfer ending at `mark`.
    Eof {
        mark: [u8; EOF_MARK_LEN],
    },
    Done,
}

/// What one [`RdbTransfer::feed`] achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// All input consumed; the transfer is not complete yet.
    NeedMore,
    /// The transfer is complete: the RDB bytes, and how many bytes of this input belonged to it
    /// (the rest is the replication stream that follows).
    Done { rdb: Vec<u8>, consumed: usize },
}

/// An RDB transfer being received.
#[derive(Debug)]
pub struct RdbTransfer {
    state: State,
    rdb: Vec<u8>,
}

impl Default for RdbTransfer {
    fn default() -> Self {
        Self::new()
    }
}

impl RdbTransfer {
    pub fn new() -> RdbTransfer {
        RdbTransfer {
            state: State::Header(Vec::new()),
            rdb: Vec::new(),
        }
    }

    /// True for a diskless (`$EOF:`) transfer, once its header was read.
    pub fn is_diskless(&self) -> bool {
        matches!(self.state, State::Eof { .. })
    }

    /// Feeds bytes read from the link.
    pub fn feed(&mut self, input: &[u8]) -> Result<Progress, RdbError> {
        let mut used = 0;
        if let State::Header(line) = &mut self.state {
            for &b in input {
                used += 1;
                if line.is_empty() && b == b'\n' {
                    continue; // keep-alive
                }
                line.push(b);
                if line.len() > 128 {
                    return Err(RdbError::BadTransfer("header line too long".into()));
                }
                if line.ends_with(b"\r\n") {
                    break;
                }
            }
            if !line.ends_with(b"\r\n") {
                return Ok(Progress::NeedMore);
            }
            let header = std::mem::take(line);
            self.state = Self::parse_header(&header[..header.len() - 2])?;
            if let State::Bulk { remaining } = self.state {
                self.rdb
                    .reserve(remaining.min(MAX_PREALLOC as u64) as usize);
            }
        }
        let rest = &input[used..];
        match &mut self.state {
            State::Header(_) | State::Done => Ok(Progress::NeedMore),
            State::Bulk { remaining } => {
                let n = (*remaining).min(rest.len() as u64) as usize;
                self.rdb.extend_from_slice(&rest[..n]);
                *remaining -= n as u64;
                if *remaining > 0 {
                    return Ok(Progress::NeedMore);
                }
                self.state = State::Done;
                Ok(Progress::Done {
                    rdb: std::mem::take(&mut self.rdb),
                    consumed: used + n,
                })
            }
            State::Eof { mark } => {
                let before = self.rdb.len();
                self.rdb.extend_from_slice(rest);
                let from = before.saturating_sub(EOF_MARK_LEN - 1);
                let found = self.rdb[from..]
                    .windows(EOF_MARK_LEN)
                    .position(|w| w == mark)
                    .map(|p| p + from);
                let Some(at) = found else {
                    return Ok(Progress::NeedMore);
                };
                let consumed = used + (at + EOF_MARK_LEN - before);
                self.rdb.truncate(at);
                self.state = State::Done;
                Ok(Progress::Done {
                    rdb: std::mem::take(&mut self.rdb),
                    consumed,
                })
            }
        }
    }

    fn parse_header(line: &[u8]) -> Result<State, RdbError> {
        let bad = || RdbError::BadTransfer(String::from_utf8_lossy(line).into_owned());
        let body = line.strip_prefix(b"$").ok_or_else(bad)?;
        if let Some(mark) = body.strip_prefix(b"EOF:") {
            let mark: [u8; EOF_MARK_LEN] = mark.try_into().map_err(|_| bad())?;
            return Ok(State::Eof { mark });
        }
        let text = std::str::from_utf8(body).map_err(|_| bad())?;
        let remaining = text.parse::<u64>().map_err(|_| bad())?;
        Ok(State::Bulk { remaining })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_transfer_in_pieces() {
        let mut t = RdbTransfer::new();
        assert_eq!(t.feed(b"\n\n$1").unwrap(), Progress::NeedMore);
        assert_eq!(t.feed(b"0\r\nREDIS").unwrap(), Progress::NeedMore);
        assert_eq!(
            t.feed(b"00xx*1\r\n$4\r\nPING\r\n").unwrap(),
            Progress::Done {
                rdb: b"REDIS00xx*".to_vec(),
                consumed: 5
            }
        );
        let mut t = RdbTransfer::new();
        assert_eq!(
            t.feed(b"$0\r\nrest").unwrap(),
            Progress::Done {
                rdb: vec![],
                consumed: 4
            }
        );
    }

    #[test]
    fn diskless_transfer_with_mark_split_across_reads() {
        let mark = [b'a'; 40];
        let mut wire = b"$EOF:".to_vec();
        wire.extend_from_slice(&mark);
        wire.extend_from_slice(b"\r\nRDBDATA");
        wire.extend_from_slice(&mark);
        wire.extend_from_slice(b"+stream");
        for split in 0..wire.len() {
            let mut t = RdbTransfer::new();
            let (a, b) = wire.split_at(split);
            let mut consumed_total = 0;
            let mut result = None;
            for part in [a, b] {
                match t.feed(part).unwrap() {
                    Progress::NeedMore => consumed_total += part.len(),
                    Progress::Done { rdb, consumed } => {
                        result = Some(rdb);
                        consumed_total += consumed;
                        break;
                    }
                }
            }
            assert_eq!(result.as_deref(), Some(&b"RDBDATA"[..]), "split {split}");
            assert_eq!(
                consumed_total,
                wire.len() - b"+stream".len(),
                "split {split}"
            );
        }
    }

    #[test]
    fn bad_headers() {
        assert!(RdbTransfer::new().feed(b"-ERR no\r\n").is_err());
        assert!(RdbTransfer::new().feed(b"$EOF:short\r\n").is_err());
        assert!(RdbTransfer::new().feed(b"$-1\r\n").is_err());
        assert!(RdbTransfer::new().feed(&[b'x'; 200]).is_err());
    }
}

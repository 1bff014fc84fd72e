//! ACL LOG: the recent denials (commands, keys, channels) and failed logins, newest first,
//! similar ones grouped with a count as Redis groups them.

use bytes::Bytes;
use std::collections::VecDeque;

/// Entries with the same reason, context, object and user within this many ms are one entry.
const GROUPING_MS: u64 = 60_000;

/// Why an entry was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    pub fn text(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

/// Where the denied command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    pub fn text(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

/// One ACL LOG entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    /// The command's full name, the key, the channel, or the user name of a failed AUTH.
    pub object: Bytes,
    pub username: Bytes,
    /// Unix ms of the last occurrence.
    pub ctime_ms: u64,
    /// The client's CLIENT INFO line at the last occurrence.
    pub client_info: String,
}

/// The log, newest first, at most `max_len` entries (`acllog-max-len`).
#[derive(Debug, Default)]
pub struct Log {
    pub entries: VecDeque<Entry>,
}

impl Log {
    /// Adds an occurrence: a similar recent entry counts it and moves to the front.
    pub fn add(&mut self, e: Entry, max_len: usize) {
        let similar = self.entries.iter().position(|x| {
            x.reason == e.reason
                && x.context == e.context
                && x.object == e.object
                && x.username == e.username
                && e.ctime_ms.saturating_sub(x.ctime_ms) < GROUPING_MS
        });
        match similar {
            Some(i) => {
                if let Some(mut x) = self.entries.remove(i) {
                    x.count += 1;
                    x.ctime_ms = e.ctime_ms;
                    x.client_info = e.client_info;
                    self.entries.push_front(x);
                }
            }
            None => self.entries.push_front(e),
        }
        self.entries.truncate(max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(obj: &str, t: u64) -> Entry {
        Entry {
            count: 1,
            reason: Reason::Command,
            context: Context::Toplevel,
            object: Bytes::copy_from_slice(obj.as_bytes()),
            username: Bytes::from_static(b"u"),
            ctime_ms: t,
            client_info: String::new(),
        }
    }

    #[test]
    fn groups_similar_entries_and_caps_length() {
        let mut log = Log::default();
        log.add(entry("get", 0), 3);
        log.add(entry("set", 1), 3);
        log.add(entry("get", 2), 3);
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.entries[0].count, 2);
        assert_eq!(&log.entries[0].object[..], b"get");
        log.add(entry("get", 70_000), 3);
        assert_eq!(log.entries.len(), 3);
        log.add(entry("del", 70_001), 3);
        assert_eq!(log.entries.len(), 3);
        assert_eq!(&log.entries[0].object[..], b"del");
    }
}

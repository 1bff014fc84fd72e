//! Keyspace notifications (`notify-keyspace-events`), as Redis's notify.c has them.
//!
//! A command that changes a key calls [`Ctx::notify`] with the event's class and name; when the
//! class is enabled, the event is published to the node's local subscribers on
//! `__keyspace@0__:<key>` (message: the event) and then on `__keyevent@0__:<event>` (message:
//! the key), each only when `K` / `E` is set. As in Redis, these messages are local: they are
//! never sent over the cluster bus (Redis's notifyKeyspaceEvent calls pubsubPublishMessage,
//! not the propagating variant).
//!
//! Two events happen inside the keyspace, which has no access to pub/sub: `expired` (lazy
//! expiry in a lookup, and the active expiry cycle) and `new` (a key added). The [`Db`] logs
//! them (expired keys are logged anyway, for replication; new keys only while `n` is enabled,
//! and never while a dataset loads) and they are published before the next event of the
//! command, or when the command ends ([`flush`], called where expired keys are replicated), so
//! they keep Redis's order (`expired`, then `new`, then the command's event).
//!
//! Replicas notify too: the commands of the master's stream run the same handlers.
//!
//! When notifications are off (the default) every call costs one load and one branch: no
//! allocation, no lookup.

use crate::cmd::Ctx;
use crate::db::Db;
use crate::node::NodeRest;
use bytes::{BufMut, Bytes, BytesMut};

/// `K`: publish on `__keyspace@0__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@0__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key expired.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted for maxmemory.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: a read missed (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module events (keyslot has no modules; accepted and shown).
pub const MODULE: u32 = 1 << 13;
/// `n`: a key was created (not part of `A`).
pub const NEW: u32 = 1 << 14;
/// `A`: the alias for `g$lshzxetd`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The error CONFIG SET answers an unknown class character with.
pub const INVALID_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Parses a flags string (`KEA`, `Elg`, ...); None when a character names no class.
pub fn parse_flags(text: &str) -> Option<u32> {
    let mut flags = 0;
    for c in text.chars() {
        flags |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The canonical text of a flags value, as CONFIG GET shows it: `A` when every class of `A`
/// is set, else the class letters in Redis's order, then `K`, `E`, `m`.
pub fn format_flags(flags: u32) -> String {
    let mut out = String::new();
    if flags & ALL == ALL {
        out.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                out.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

/// Publishes one event to local subscribers when its class is enabled in `flags`.
fn publish(rest: &NodeRest, flags: u32, class: u32, event: &str, key: &[u8]) {
    if flags & class == 0 {
        return;
    }
    let channel = |prefix: &str, tail: &[u8]| -> Bytes {
        let mut b = BytesMut::with_capacity(prefix.len() + tail.len());
        b.put_slice(prefix.as_bytes());
        b.put_slice(tail);
        b.freeze()
    };
    let event_bytes = Bytes::copy_from_slice(event.as_bytes());
    let key_bytes = Bytes::copy_from_slice(key);
    if flags & KEYSPACE != 0 {
        rest.hub
            .publish(&channel("__keyspace@0__:", key), &event_bytes);
    }
    if flags & KEYEVENT != 0 {
        rest.hub
            .publish(&channel("__keyevent@0__:", event.as_bytes()), &key_bytes);
    }
}

/// Publishes the `expired` and `new` events the keyspace logged since the last call (see the
/// module doc).
fn publish_logged(db: &mut Db, rest: &NodeRest, flags: u32) {
    for key in db.expired_unnotified() {
        publish(rest, flags, EXPIRED, "expired", &key);
    }
    for key in db.take_new_keys() {
        publish(rest, flags, NEW, "new", &key);
    }
}

/// Publishes an event of a command (or of the node: eviction) with its class; the keyspace's
/// logged events go first.
#[inline]
pub fn emit(db: &mut Db, rest: &NodeRest, class: u32, event: &str, key: &[u8]) {
    let flags = rest.config.notify_flags;
    if flags == 0 {
        return;
    }
    publish_logged(db, rest, flags);
    publish(rest, flags, class, event, key);
}

/// Publishes what the keyspace logged and nothing else (a command's end, the expiry cycle).
#[inline]
pub fn flush(db: &mut Db, rest: &NodeRest) {
    let flags = rest.config.notify_flags;
    if flags == 0 {
        return;
    }
    publish_logged(db, rest, flags);
}

/// Whether the keyspace must log new keys under `flags` (`n` and a channel kind set).
pub fn logs_new(flags: u32) -> bool {
    flags & NEW != 0 && flags & (KEYSPACE | KEYEVENT) != 0
}

impl Ctx<'_> {
    /// Notifies an event of class `class` (one of this module's constants) on `key`.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        if self.node.config.notify_flags == 0 {
            return;
        }
        emit(self.db, self.node, class, event, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_like_redis() {
        assert_eq!(parse_flags(""), Some(0));
        assert_eq!(format_flags(parse_flags("KEA").unwrap()), "AKE");
        assert_eq!(format_flags(parse_flags("Elg").unwrap()), "glE");
        assert_eq!(format_flags(parse_flags("mKEn").unwrap()), "nKEm");
        assert_eq!(format_flags(parse_flags("g$lshzxetd").unwrap()), "A");
        assert_eq!(format_flags(parse_flags("AKEmn").unwrap()), "AKEm");
        assert_eq!(parse_flags("KEw"), None);
        assert_eq!(parse_flags("a"), None);
    }
}

//! What a write command sends to replicas and the AOF, as Redis 7.0 decides it.
//!
//! Redis does not always replicate a command as it came: a command whose effect depends on
//! when or where it runs is sent in a form that gives the same data on the replica (relative
//! expire times become absolute ones, INCRBYFLOAT becomes the SET of its result, SPOP the SREM
//! of what it popped), a command that changed nothing is not sent at all (its `server.dirty`
//! did not move), and the deletions GETDEL and expiring options make go out as DEL (UNLINK
//! with the matching lazyfree option). The suite reads the stream byte for byte (unit
//! expire's "All TTL in commands are propagated as absolute timestamp", type/string's "GETDEL
//! propagate as DEL"), so the forms and their letter case are Redis's own.
//!
//! Everything here is decided from the command, its reply and the key as the command left
//! it; the few cases that need what was there before are decided by the handler itself
//! (RESTORE, GETEX PERSIST: see `Client::rewrite`).

use crate::db::Db;
use crate::resp::Reply;
use bytes::Bytes;

/// What goes to the replicas for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effects {
    /// The command as it came.
    Verbatim,
    /// Nothing changed: nothing is sent.
    Nothing,
    /// These commands instead (several go out together, in MULTI / EXEC when no transaction
    /// or script already wraps them, as Redis's alsoPropagate).
    Commands(Vec<Vec<Bytes>>),
}

/// The lazyfree options that choose UNLINK over DEL for a replicated deletion.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lazy {
    /// lazyfree-lazy-user-del (GETDEL).
    pub user_del: bool,
    /// lazyfree-lazy-expire (a GETEX / EXPIRE time already past, keys that expired).
    pub expire: bool,
}

/// Whether `name` may replicate a deletion whose form a lazyfree option chooses.
pub fn may_delete(name: &str) -> bool {
    matches!(
        name,
        "getdel" | "getex" | "expire" | "pexpire" | "expireat" | "pexpireat"
    )
}

fn word(w: &'static [u8]) -> Bytes {
    Bytes::from_static(w)
}

fn is(a: &[u8], w: &str) -> bool {
    a.eq_ignore_ascii_case(w.as_bytes())
}

fn one(argv: Vec<Bytes>) -> Effects {
    Effects::Commands(vec![argv])
}

fn deletion(lazy: bool, key: &Bytes) -> Effects {
    one(vec![
        word(if lazy { b"UNLINK" } else { b"DEL" }),
        key.clone(),
    ])
}

/// The key's absolute expire time as the command left it (None: no key, or no TTL).
fn expire_of(db: &Db, key: &[u8]) -> Option<Option<u64>> {
    db.peek(key).map(|e| e.expire_ms())
}

fn ms(t: u64) -> Bytes {
    Bytes::from(t.to_string())
}

/// The bulk strings of an array or set reply (what SPOP with a count popped).
fn bulks(reply: &Reply) -> Vec<Bytes> {
    match reply {
        Reply::Bulk(b) => vec![b.clone()],
        Reply::Array(items) | Reply::Set(items) => items
            .iter()
            .filter_map(|i| match i {
                Reply::Bulk(b) => Some(b.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Commands whose reply 0 means nothing was changed (Redis bumps `dirty` by what they did).
const ZERO_IS_NOOP: &[&str] = &[
    "del",
    "unlink",
    "hdel",
    "srem",
    "zrem",
    "persist",
    "hsetnx",
    "msetnx",
    "renamenx",
    "lrem",
    "sadd",
    "lpushx",
    "rpushx",
    "setnx",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
];

/// What `name` (the command's table name) with `argv` and `reply` replicates.
pub fn effects(name: &str, argv: &[Bytes], reply: &Reply, db: &Db, lazy: Lazy) -> Effects {
    if ZERO_IS_NOOP.contains(&name) && matches!(reply, Reply::Integer(0)) {
        return Effects::Nothing;
    }
    let Some(key) = argv.get(1) else {
        return Effects::Verbatim;
    };
    match name {
        "set" => set(argv, key, reply, db),
        "setex" | "psetex" if argv.len() == 4 => match expire_of(db, key) {
            Some(Some(t)) => one(vec![
                word(b"SET"),
                key.clone(),
                argv[3].clone(),
                word(b"PXAT"),
                ms(t),
            ]),
            _ => Effects::Verbatim,
        },
        "getset" if argv.len() == 3 => one(vec![word(b"SET"), key.clone(), argv[2].clone()]),
        "getdel" => match reply {
            Reply::Bulk(_) => deletion(lazy.user_del, key),
            _ => Effects::Nothing,
        },
        "getex" => getex(argv, key, reply, db, lazy),
        "expire" | "pexpire" | "expireat" | "pexpireat" if argv.len() >= 3 => {
            match expire_of(db, key) {
                Some(Some(t)) => {
                    // PEXPIREAT keeps its own name and time as sent; the options follow.
                    let mut out = if name == "pexpireat" {
                        vec![argv[0].clone(), key.clone(), argv[2].clone()]
                    } else {
                        vec![word(b"PEXPIREAT"), key.clone(), ms(t)]
                    };
                    out.extend(argv[3..].iter().cloned());
                    one(out)
                }
                // A time already past deleted the key.
                None => deletion(lazy.expire, key),
                Some(None) => Effects::Verbatim,
            }
        }
        "incrbyfloat" => match reply {
            // The result, so that float formatting cannot differ on the replica.
            Reply::Bulk(v) => one(vec![word(b"SET"), key.clone(), v.clone(), word(b"KEEPTTL")]),
            _ => Effects::Verbatim,
        },
        "hincrbyfloat" if argv.len() == 4 => match reply {
            Reply::Bulk(v) => one(vec![word(b"HSET"), key.clone(), argv[2].clone(), v.clone()]),
            _ => Effects::Verbatim,
        },
        "spop" => spop(argv, key, reply, db),
        _ => Effects::Verbatim,
    }
}

/// SET: with an expire option, `SET key value PXAT ms`; else as sent without GET. Nothing
/// when NX / XX kept it from setting.
fn set(argv: &[Bytes], key: &Bytes, reply: &Reply, db: &Db) -> Effects {
    let opts = argv.get(3..).unwrap_or_default();
    let has = |w: &str| opts.iter().any(|a| is(a, w));
    let get = has("get");
    let null = matches!(reply, Reply::Null);
    let done = if get {
        if has("nx") {
            null
        } else if has("xx") {
            !null
        } else {
            true
        }
    } else {
        !null
    };
    if !done {
        return Effects::Nothing;
    }
    let expire = ["ex", "px", "exat", "pxat"].iter().any(|w| has(w));
    if expire {
        return match expire_of(db, key) {
            Some(Some(t)) => one(vec![
                word(b"SET"),
                key.clone(),
                argv[2].clone(),
                word(b"PXAT"),
                ms(t),
            ]),
            _ => one(vec![word(b"DEL"), key.clone()]),
        };
    }
    if !get {
        return Effects::Verbatim;
    }
    let kept: Vec<Bytes> = argv
        .iter()
        .enumerate()
        .filter(|(i, a)| *i < 3 || !is(a, "get"))
        .map(|(_, a)| a.clone())
        .collect();
    one(kept)
}

/// GETEX: PEXPIREAT for an expire option, DEL when its time was already past, PERSIST for
/// PERSIST (the handler says when there was no TTL to remove); nothing without options.
fn getex(argv: &[Bytes], key: &Bytes, reply: &Reply, db: &Db, lazy: Lazy) -> Effects {
    if !matches!(reply, Reply::Bulk(_)) {
        return Effects::Nothing;
    }
    let opts = &argv[2..];
    if opts
        .iter()
        .any(|a| ["ex", "px", "exat", "pxat"].iter().any(|w| is(a, w)))
    {
        return match expire_of(db, key) {
            Some(Some(t)) => one(vec![word(b"PEXPIREAT"), key.clone(), ms(t)]),
            Some(None) => Effects::Nothing,
            None => deletion(lazy.expire, key),
        };
    }
    if opts.iter().any(|a| is(a, "persist")) {
        return one(vec![word(b"PERSIST"), key.clone()]);
    }
    Effects::Nothing
}

/// SPOP: `SREM key member` per popped member; DEL when a count took the whole set.
fn spop(argv: &[Bytes], key: &Bytes, reply: &Reply, db: &Db) -> Effects {
    let popped = bulks(reply);
    if popped.is_empty() {
        return Effects::Nothing;
    }
    if argv.len() == 3 && db.peek(key).is_none() {
        return one(vec![word(b"DEL"), key.clone()]);
    }
    Effects::Commands(
        popped
            .into_iter()
            .map(|m| vec![word(b"SREM"), key.clone(), m])
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn cmds(e: Effects) -> Vec<String> {
        match e {
            Effects::Commands(c) => c
                .iter()
                .map(|v| {
                    v.iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect(),
            other => vec![format!("{other:?}")],
        }
    }

    #[test]
    fn set_drops_get_and_skips_what_nx_xx_refused() {
        let db = Db::new(0);
        let a = argv(&["set", "k", "v", "get", "keepttl"]);
        assert_eq!(
            cmds(effects("set", &a, &Reply::Null, &db, Lazy::default())),
            vec!["set k v keepttl"]
        );
        let a = argv(&["set", "k", "v", "nx"]);
        assert_eq!(
            effects("set", &a, &Reply::Null, &db, Lazy::default()),
            Effects::Nothing
        );
        let a = argv(&["set", "k", "v", "xx", "get"]);
        assert_eq!(
            effects("set", &a, &Reply::Null, &db, Lazy::default()),
            Effects::Nothing
        );
        assert_eq!(
            effects("set", &a, &Reply::bulk("old"), &db, Lazy::default()),
            Effects::Commands(vec![argv(&["set", "k", "v", "xx"])])
        );
    }

    #[test]
    fn getdel_and_deletions_follow_lazyfree() {
        let db = Db::new(0);
        let a = argv(&["getdel", "k"]);
        let lazy = Lazy {
            user_del: true,
            expire: false,
        };
        assert_eq!(
            cmds(effects("getdel", &a, &Reply::bulk("v"), &db, lazy)),
            vec!["UNLINK k"]
        );
        assert_eq!(
            effects("getdel", &a, &Reply::Null, &db, lazy),
            Effects::Nothing
        );
        let a = argv(&["expire", "k", "-1"]);
        assert_eq!(
            cmds(effects("expire", &a, &Reply::Integer(1), &db, lazy)),
            vec!["DEL k"]
        );
        assert_eq!(
            effects("del", &argv(&["del", "k"]), &Reply::Integer(0), &db, lazy),
            Effects::Nothing
        );
    }

    #[test]
    fn spop_becomes_srem_per_member() {
        let db = Db::new(0);
        let popped = Reply::Array(vec![Reply::bulk("a"), Reply::bulk("b")]);
        // The key is gone: the count took the whole set.
        assert_eq!(
            cmds(effects(
                "spop",
                &argv(&["spop", "s", "5"]),
                &popped,
                &db,
                Lazy::default()
            )),
            vec!["DEL s"]
        );
        assert_eq!(
            cmds(effects(
                "spop",
                &argv(&["spop", "s"]),
                &Reply::bulk("a"),
                &db,
                Lazy::default()
            )),
            vec!["SREM s a"]
        );
        assert_eq!(
            effects(
                "spop",
                &argv(&["spop", "s"]),
                &Reply::Null,
                &db,
                Lazy::default()
            ),
            Effects::Nothing
        );
    }
}

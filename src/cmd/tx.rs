//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH, and RESET.
//!
//! Queueing and EXEC itself run in the dispatcher (`Node::execute`), which owns the checks Redis
//! makes before a command is queued (unknown command, arity, cluster routing: any of them flags
//! the transaction so EXEC answers EXECABORT) and can run the queued commands through the same
//! path as any other command. The handlers here only cover what a single command does.
//!
//! WATCH: [`Watches`] maps each watched key to its watchers. The dispatcher detects a
//! modification by comparing, around every command that names a watched key (or every
//! keyless write, FLUSHALL), the key's entry before and after; it also touches keys that active
//! expiry removed. EXEC then fails (null array) when a watched key was touched, or when one
//! that was live at WATCH time has expired since, as Redis 7.0 does. A key already expired at
//! WATCH time that gets deleted is not a change (Redis's `expired` flag on a watched key).

use super::{flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;
use bytes::Bytes;
use std::collections::{HashMap, HashSet};

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    group: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        group,
        summary,
        handler,
    }
}

/// Commands refused while a transaction is open (Redis's CMD_NO_MULTI): they would block or
/// end the server in the middle of EXEC.
pub const NO_MULTI: &[&str] = &["psync", "save", "shutdown", "sync"];

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "multi",
        1,
        flags::FAST | flags::STALE,
        KeySpec::NONE,
        "transactions",
        "Mark the start of a transaction block",
        multi,
    ),
    spec(
        "exec",
        1,
        flags::STALE,
        KeySpec::NONE,
        "transactions",
        "Execute all commands issued after MULTI",
        exec,
    ),
    spec(
        "discard",
        1,
        flags::FAST | flags::STALE,
        KeySpec::NONE,
        "transactions",
        "Discard all commands issued after MULTI",
        discard,
    ),
    spec(
        "watch",
        -2,
        flags::FAST | flags::STALE,
        KeySpec::ALL,
        "transactions",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        watch,
    ),
    spec(
        "unwatch",
        1,
        flags::FAST | flags::STALE,
        KeySpec::NONE,
        "transactions",
        "Forget about all watched keys",
        unwatch,
    ),
    spec(
        "reset",
        1,
        flags::NO_AUTH | flags::FAST | flags::STALE,
        KeySpec::NONE,
        "connection",
        "Reset the connection",
        reset,
    ),
];

/// One watched key of a client.
#[derive(Debug, Clone)]
struct Watched {
    key: Bytes,
    /// The key existed but was logically expired when WATCH ran.
    expired: bool,
}

/// Every client's watched keys.
#[derive(Debug, Default)]
pub struct Watches {
    by_key: HashMap<Bytes, Vec<u64>>,
    by_client: HashMap<u64, Vec<Watched>>,
    /// Clients whose transaction must fail (a watched key was touched).
    dirty: HashSet<u64>,
}

impl Watches {
    /// True when nobody watches anything (the dispatcher's fast path).
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Whether `key` is watched by someone.
    pub fn is_watched(&self, key: &[u8]) -> bool {
        self.by_key.contains_key(key)
    }

    /// Every watched key.
    pub fn keys(&self) -> impl Iterator<Item = &Bytes> {
        self.by_key.keys()
    }

    /// Starts watching `key` for `client` (no-op when it already does).
    pub fn watch(&mut self, client: u64, key: &Bytes, expired: bool) {
        let list = self.by_client.entry(client).or_default();
        if list.iter().any(|w| w.key == *key) {
            return;
        }
        list.push(Watched {
            key: key.clone(),
            expired,
        });
        self.by_key.entry(key.clone()).or_default().push(client);
    }

    /// Stops watching everything (and forgets a touch).
    pub fn unwatch_all(&mut self, client: u64) {
        self.dirty.remove(&client);
        let Some(list) = self.by_client.remove(&client) else {
            return;
        };
        for w in list {
            if let Some(clients) = self.by_key.get_mut(&w.key) {
                clients.retain(|&c| c != client);
                if clients.is_empty() {
                    self.by_key.remove(&w.key);
                }
            }
        }
    }

    /// A watched key was modified; `exists` tells whether it is still stored. A watcher that
    /// saw the key already expired is not disturbed by its deletion (logically nothing changed).
    pub fn touch(&mut self, key: &[u8], exists: bool) {
        let Some(clients) = self.by_key.get(key) else {
            return;
        };
        for &c in clients {
            if let Some(w) = self
                .by_client
                .get_mut(&c)
                .and_then(|l| l.iter_mut().find(|w| w.key.as_ref() == key))
            {
                if w.expired && !exists {
                    w.expired = false;
                    continue;
                }
            }
            self.dirty.insert(c);
        }
    }

    /// Whether a client's transaction must fail: a watched key was touched, or a key live at
    /// WATCH time has logically expired (`is_expired` answers for a key).
    pub fn must_abort(&self, client: u64, mut is_expired: impl FnMut(&[u8]) -> bool) -> bool {
        if self.dirty.contains(&client) {
            return true;
        }
        self.by_client
            .get(&client)
            .is_some_and(|l| l.iter().any(|w| !w.expired && is_expired(&w.key)))
    }
}

/// MULTI
fn multi(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::other("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    Ok(Reply::ok())
}

/// EXEC outside the dispatcher (a replication stream's EXEC, applied command by command).
fn exec(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Err(CmdError::other("ERR EXEC without MULTI"))
}

/// DISCARD
fn discard(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::other("ERR DISCARD without MULTI"));
    }
    discard_transaction(ctx.node, ctx.client);
    Ok(Reply::ok())
}

/// Forgets a client's transaction and its watched keys.
pub fn discard_transaction(node: &mut crate::node::NodeRest, client: &mut crate::node::Client) {
    client.multi = None;
    client.multi_error = false;
    node.watches.unwatch_all(client.id);
}

/// WATCH key [key ...]
fn watch(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::other("ERR WATCH inside MULTI is not allowed"));
    }
    for key in &argv[1..] {
        let expired = ctx
            .db
            .peek(key)
            .is_some_and(|e| e.expire_ms().is_some_and(|t| t <= ctx.now_ms));
        ctx.node
            .watches
            .watch(ctx.client.id, &crate::db::value::own(key), expired);
    }
    Ok(Reply::ok())
}

/// UNWATCH
fn unwatch(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.node.watches.unwatch_all(ctx.client.id);
    Ok(Reply::ok())
}

/// RESET: back to a fresh connection's state (no transaction, no watches, no subscriptions,
/// RESP2, no name, READWRITE), re-authentication required when the node has a password.
fn reset(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    discard_transaction(ctx.node, ctx.client);
    let id = ctx.client.id;
    ctx.node.hub.channels.remove_client(id);
    ctx.node.hub.patterns.remove_client(id);
    ctx.node.hub.shard.remove_client(id);
    ctx.client.subs = 0;
    ctx.client.proto = crate::resp::Protocol::Resp2;
    ctx.client.name = None;
    ctx.client.readonly = false;
    ctx.client.asking = false;
    // Back to the default user, logged in only if it needs no password (Redis's RESET).
    ctx.client.user = Bytes::from_static(crate::acl::DEFAULT_USER);
    ctx.client.authenticated = ctx.node.acl.new_connections_authenticated();
    Ok(Reply::simple("RESET"))
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    #[test]
    fn multi_exec_basics() {
        let mut t = TestNode::new();
        assert_eq!(t.run_text(&["MULTI"]), "+OK\r\n");
        assert_eq!(t.run_text(&["SET", "a", "1"]), "+QUEUED\r\n");
        assert_eq!(t.run_text(&["INCR", "a"]), "+QUEUED\r\n");
        assert_eq!(t.run_text(&["EXEC"]), "*2\r\n+OK\r\n:2\r\n");
        assert_eq!(t.run_text(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
        assert_eq!(t.run_text(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
    }

    #[test]
    fn queueing_errors_abort() {
        let mut t = TestNode::new();
        t.run(&["MULTI"]);
        assert_eq!(
            t.run_text(&["GET"]),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            t.run_text(&["MULTI"]),
            "-ERR MULTI calls can not be nested\r\n"
        );
        assert_eq!(
            t.run_text(&["WATCH", "x"]),
            "-ERR WATCH inside MULTI is not allowed\r\n"
        );
        assert_eq!(
            t.run_text(&["EXEC"]),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
    }

    #[test]
    fn watch_touched_by_another_client() {
        let mut t = TestNode::new();
        let mut other = t
            .node
            .connect_client("127.0.0.1:50001".into(), "127.0.0.1:6379".into());
        t.run(&["SET", "x", "1"]);
        t.run(&["WATCH", "x"]);
        let argv: Vec<bytes::Bytes> = ["SET", "x", "1"]
            .iter()
            .map(|s| bytes::Bytes::from_static(s.as_bytes()))
            .collect();
        t.node.execute(&mut other, &argv);
        t.run(&["MULTI"]);
        t.run(&["GET", "x"]);
        assert_eq!(t.run_text(&["EXEC"]), "*-1\r\n");
        // Unwatched after EXEC: the next transaction runs.
        t.run(&["MULTI"]);
        t.run(&["GET", "x"]);
        assert_eq!(t.run_text(&["EXEC"]), "*1\r\n$1\r\n1\r\n");
    }

    #[test]
    fn watch_untouched_key_and_missing_key_delete() {
        let mut t = TestNode::new();
        t.run(&["WATCH", "x"]);
        t.run(&["DEL", "x"]);
        t.run(&["MULTI"]);
        t.run(&["PING"]);
        assert_eq!(t.run_text(&["EXEC"]), "*1\r\n+PONG\r\n");
    }
}

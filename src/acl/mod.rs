//! ACL users, as Redis 7.0 has them: who may log in (AUTH, HELLO AUTH), and which commands,
//! keys and channels each user may touch, checked before every command (also inside MULTI and
//! scripts).
//!
//! - [`user`]: a user, its selectors and the SETUSER rules that change them;
//! - [`categories`]: the command registry (ids, categories, key access) rules refer to;
//! - [`describe`]: users as ACL LIST / GETUSER / SAVE text;
//! - [`file`]: the aclfile;
//! - [`log`]: ACL LOG.
//!
//! A connection holds its user's name ([`crate::node::Client::user`]); the [`Acl`] in the node
//! holds the users. `requirepass` is the default user's password, as in Redis.

pub mod categories;
pub mod describe;
pub mod file;
pub mod log;
pub(crate) mod node_hooks;
pub mod sha256;
pub mod table;
pub mod user;

use crate::cmd::CommandSpec;
use bytes::Bytes;
use categories::registry;
use std::collections::BTreeMap;
use user::{Selector, User};

/// The default user's name.
pub const DEFAULT_USER: &[u8] = b"default";

/// Why a command was refused, with the argv index of the key or channel at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    /// Redis's ordering of the errors when several selectors refuse (ACL_DENIED_*).
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        }
    }

    /// The reply to a refused command (processCommand's -NOPERM texts).
    pub fn error_text(self, fullname: &str) -> String {
        match self {
            Denied::Command => format!(
                "NOPERM this user has no permissions to run the '{fullname}' command"
            ),
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
        }
    }

    /// The end of a script's error (`The user executing the script ...`).
    pub fn script_text(self) -> &'static str {
        match self {
            Denied::Command => "can't run this command or subcommand",
            Denied::Key(_) => {
                "can't access at least one of the keys mentioned in the command arguments"
            }
            Denied::Channel(_) => "can't publish to the channel mentioned in the command",
        }
    }

    /// EXEC's `-NOPERM ACL failure in transaction: ...` reason.
    pub fn exec_text(self) -> &'static str {
        match self {
            Denied::Command => "no permission to execute the command or subcommand",
            Denied::Key(_) => "no permission to touch the specified keys",
            Denied::Channel(_) => "no permission to access one of the channels used as arguments",
        }
    }

    /// The ACL LOG reason.
    pub fn reason(self) -> log::Reason {
        match self {
            Denied::Command => log::Reason::Command,
            Denied::Key(_) => log::Reason::Key,
            Denied::Channel(_) => log::Reason::Channel,
        }
    }
}

/// The node's users and ACL LOG.
#[derive(Debug)]
pub struct Acl {
    /// By name, in byte order (ACL LIST / USERS order, as Redis's radix tree).
    pub users: BTreeMap<Bytes, User>,
    pub log: log::Log,
}

impl Default for Acl {
    fn default() -> Self {
        let mut users = BTreeMap::new();
        users.insert(Bytes::from_static(DEFAULT_USER), User::default_user());
        Acl {
            users,
            log: log::Log::default(),
        }
    }
}

impl Acl {
    /// The default user (always present).
    pub fn default_user(&self) -> &User {
        static FALLBACK: std::sync::OnceLock<User> = std::sync::OnceLock::new();
        self.users
            .get(DEFAULT_USER)
            .unwrap_or_else(|| FALLBACK.get_or_init(User::default_user))
    }

    /// A new connection starts authenticated when the default user is `nopass` and `on`
    /// (Redis's createClient).
    pub fn new_connections_authenticated(&self) -> bool {
        let d = self.default_user();
        d.nopass && d.enabled
    }

    /// `requirepass`: the default user's only password, or `nopass` when empty.
    pub fn set_requirepass(&mut self, pass: Option<&str>) {
        if let Some(d) = self.users.get_mut(DEFAULT_USER) {
            let _ = d.apply(b"resetpass");
            match pass {
                Some(p) => {
                    let mut op = b">".to_vec();
                    op.extend_from_slice(p.as_bytes());
                    let _ = d.apply(&op);
                }
                None => {
                    let _ = d.apply(b"nopass");
                }
            }
        }
    }

    /// Whether `user`/`pass` logs in: an existing, enabled user with a matching password (or
    /// `nopass`).
    pub fn credentials_ok(&self, user: &[u8], pass: &[u8]) -> bool {
        self.users.get(user).is_some_and(|u| u.password_ok(pass))
    }

    /// ACL SETUSER: applies every rule to a copy and keeps it only if all applied; the error is
    /// Redis's text (without the `ERR ` prefix).
    pub fn set_user(&mut self, name: &[u8], rules: &[Bytes]) -> Result<(), String> {
        let merged = user::merge_selector_args(rules).map_err(|i| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(&rules[i])
            )
        })?;
        let mut u = self
            .users
            .get(name)
            .cloned()
            .unwrap_or_else(|| User::new(name));
        for op in &merged {
            u.apply(op).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {e}",
                    String::from_utf8_lossy(op)
                )
            })?;
        }
        self.users.insert(Bytes::copy_from_slice(name), u);
        Ok(())
    }

    /// Checks a command against a user by name; an unknown user (deleted while its client
    /// still runs) may run nothing.
    pub fn check(&self, username: &[u8], spec: &CommandSpec, argv: &[Bytes]) -> Result<(), Denied> {
        match self.users.get(username) {
            Some(u) => check_user(u, spec, argv),
            None => Err(Denied::Command),
        }
    }
}

/// Whether `user` may run `argv` (Redis's ACLCheckAllUserCommandPerm): allowed when one
/// selector allows it; otherwise the most relevant refusal (command < key < channel, then the
/// later argument).
pub fn check_user(user: &User, spec: &CommandSpec, argv: &[Bytes]) -> Result<(), Denied> {
    if user.unrestricted() {
        return Ok(());
    }
    let reg = registry();
    let id = reg.id_of(spec, argv);
    let mut keys: Option<Vec<(usize, u8)>> = None;
    let mut worst = Denied::Command;
    for sel in &user.selectors {
        match check_selector(sel, id, spec, argv, &mut keys) {
            Ok(()) => return Ok(()),
            Err(d) => {
                if d.rank() > worst.rank() {
                    worst = d;
                }
            }
        }
    }
    Err(worst)
}

/// Whether `user` may read any key with this command (Redis's
/// ACLUserCheckCmdWithUnrestrictedKeyAccess for read access): some selector that allows the
/// command has `allkeys` or a `~*` pattern with read permission. SORT needs it for BY and GET
/// patterns, whose keys are not known before the sort runs.
pub fn unrestricted_key_read(user: &User, spec: &CommandSpec, argv: &[Bytes]) -> bool {
    if user.unrestricted() {
        return true;
    }
    let id = registry().id_of(spec, argv);
    let mut keys: Option<Vec<(usize, u8)>> = None;
    user.selectors.iter().any(|sel| {
        check_selector(sel, id, spec, argv, &mut keys).is_ok()
            && (sel.allkeys
                || sel
                    .patterns
                    .iter()
                    .any(|p| p.flags & user::READ == user::READ && &p.pattern[..] == b"*"))
    })
}

fn check_selector(
    sel: &Selector,
    id: usize,
    spec: &CommandSpec,
    argv: &[Bytes],
    keys: &mut Option<Vec<(usize, u8)>>,
) -> Result<(), Denied> {
    let reg = registry();
    let info = &reg.cmds[id];
    if !sel.allcommands && !info.no_auth && !sel.bit(id) {
        let idx = if info.parent.is_some() { 2 } else { 1 };
        let allowed_first =
            sel.firstargs
                .iter()
                .find(|(c, _)| *c == id)
                .is_some_and(|(_, list)| {
                    argv.get(idx)
                        .is_some_and(|a| list.iter().any(|s| a.eq_ignore_ascii_case(s.as_bytes())))
                });
        if !allowed_first {
            return Err(Denied::Command);
        }
    }
    if !sel.allkeys {
        let keys = keys.get_or_insert_with(|| key_access(spec, id, argv));
        for &(pos, need) in keys.iter() {
            let key = &argv[pos];
            let ok = sel
                .patterns
                .iter()
                .any(|p| p.flags & need == need && crate::glob::matches(&p.pattern, key, false));
            if !ok {
                return Err(Denied::Key(pos));
            }
        }
    }
    if !sel.allchannels {
        for (pos, is_pattern) in channels(spec.name, argv) {
            let ch = &argv[pos];
            let ok = sel.channels.iter().any(|p| {
                if is_pattern {
                    p == ch
                } else {
                    crate::glob::matches(p, ch, false)
                }
            });
            if !ok {
                return Err(Denied::Channel(pos));
            }
        }
    }
    Ok(())
}

/// The keys of a command with the access each needs (1 read, 2 write), from Redis's key
/// specifications: the i-th key found takes the i-th specification (the last one for the rest:
/// `SUNIONSTORE dest src...`, `LMOVE src dst`, ...).
pub fn key_access(spec: &CommandSpec, id: usize, argv: &[Bytes]) -> Vec<(usize, u8)> {
    let positions = crate::cmd::key_positions(spec, argv);
    if positions.is_empty() {
        return Vec::new();
    }
    let info = &registry().cmds[id];
    let fallback = if spec.is_write() {
        user::WRITE
    } else if spec.flags & crate::cmd::flags::READONLY != 0 {
        user::READ
    } else {
        user::ALL
    };
    // SET's key is read only with GET (Redis's variable key-spec flags for SET).
    let set_without_get =
        spec.name == "set" && !argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
    positions
        .into_iter()
        .filter(|&p| p < argv.len())
        .enumerate()
        .map(|(i, p)| {
            let need = if set_without_get {
                user::WRITE
            } else {
                match info.key_access.len() {
                    0 => fallback,
                    n => info.key_access[i.min(n - 1)],
                }
            };
            (p, need)
        })
        .collect()
}

/// The channels a pub/sub command names, and whether each is a pattern. Unsubscribing needs no
/// permission.
pub fn channels(name: &str, argv: &[Bytes]) -> Vec<(usize, bool)> {
    match name {
        "publish" | "spublish" if argv.len() > 1 => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..argv.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..argv.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;

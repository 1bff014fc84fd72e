//! Where the ACL meets the node: the check before each command (with its ACL LOG entry), the
//! users defined at startup, CONFIG SET requirepass, and closing the connections of a user
//! that is deleted or replaced.

use super::log::{Context, Entry, Reason};
use super::user::User;
use super::Denied;
use crate::cmd::{CmdError, CommandSpec};
use crate::node::{Client, Node, NodeRest};
use bytes::Bytes;

impl Node {
    /// The refusal of a command the client's user may not run (top level or queued in MULTI),
    /// logged in ACL LOG.
    pub(crate) fn acl_refusal(
        &mut self,
        client: &Client,
        spec: &'static CommandSpec,
        argv: &[Bytes],
    ) -> Option<CmdError> {
        let context = if client.multi.is_some() {
            Context::Multi
        } else {
            Context::Toplevel
        };
        let denied = self.acl_denied(client, spec, argv, context)?;
        let id = super::categories::registry().id_of(spec, argv);
        let fullname = &super::categories::registry().cmds[id].fullname;
        Some(CmdError::other(denied.error_text(fullname)))
    }

    /// Checks a command against the client's user; a refusal is logged with `context`.
    pub(crate) fn acl_denied(
        &mut self,
        client: &Client,
        spec: &'static CommandSpec,
        argv: &[Bytes],
        context: Context,
    ) -> Option<Denied> {
        let denied = self.rest.acl.check(&client.user, spec, argv).err()?;
        log_denial(&mut self.rest, client, spec, argv, denied, context);
        Some(denied)
    }

    /// Applies a changed `requirepass` (CONFIG SET) to the default user.
    pub fn refresh_acl_config(&mut self) {
        if self.rest.acl_requirepass != self.rest.config.requirepass {
            self.rest.acl_requirepass = self.rest.config.requirepass.clone();
            let pass = self.rest.acl_requirepass.clone();
            self.rest.acl.set_requirepass(pass.as_deref());
        }
    }

    /// Creates the users of `user` directives, then loads the aclfile, as Redis does at
    /// startup; both at once is refused, as in Redis.
    pub fn load_acl_at_startup(&mut self) -> Result<(), String> {
        let aclfile = self.rest.config.get("aclfile").unwrap_or("").to_string();
        let lines = self.rest.config.users.clone();
        if !aclfile.is_empty() && !lines.is_empty() {
            return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
        }
        for line in &lines {
            let Some((name, rules)) = line.split_first() else {
                continue;
            };
            let rules: Vec<Bytes> = rules
                .iter()
                .map(|r| Bytes::copy_from_slice(r.as_bytes()))
                .collect();
            if name == "default" {
                self.rest
                    .acl
                    .set_user(name.as_bytes(), &[Bytes::from_static(b"reset")])?;
            }
            self.rest.acl.set_user(name.as_bytes(), &rules)?;
        }
        if !aclfile.is_empty() {
            load_file(&mut self.rest, &aclfile)?;
        }
        Ok(())
    }
}

/// Adds an ACL LOG entry for a refused command.
pub(crate) fn log_denial(
    rest: &mut NodeRest,
    client: &Client,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    denied: Denied,
    context: Context,
) {
    let reg = super::categories::registry();
    let object = match denied {
        Denied::Command => Bytes::from(reg.cmds[reg.id_of(spec, argv)].fullname.clone()),
        Denied::Key(i) | Denied::Channel(i) => argv.get(i).cloned().unwrap_or_default(),
    };
    add_entry(
        rest,
        client,
        denied.reason(),
        context,
        object,
        client.user.clone(),
    );
}

/// Adds an ACL LOG entry for a failed AUTH / HELLO AUTH: the object is the command as typed,
/// the user the name tried.
pub(crate) fn log_auth_failure(rest: &mut NodeRest, client: &Client, cmd: &Bytes, username: &[u8]) {
    let context = if client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    };
    let name = Bytes::copy_from_slice(username);
    add_entry(rest, client, Reason::Auth, context, cmd.clone(), name);
}

fn add_entry(
    rest: &mut NodeRest,
    client: &Client,
    reason: Reason,
    context: Context,
    object: Bytes,
    username: Bytes,
) {
    let now = rest.clock.mono_ms();
    let client_info = crate::cmd::client::client_line(client, now, &[])
        .trim_end()
        .to_string();
    let max_len = rest.config.int("acllog-max-len").max(0) as usize;
    rest.acl.log.add(
        Entry {
            count: 1,
            reason,
            context,
            object,
            username,
            ctime_ms: rest.clock.unix_ms(),
            client_info,
        },
        max_len,
    );
}

/// Closes the connections authenticated as one of `names` (Redis's ACLFreeUserAndKillClients):
/// the caller after its reply, the others at once.
pub(crate) fn kill_clients_of(rest: &mut NodeRest, caller: &mut Client, names: &[Bytes]) {
    let victims: Vec<u64> = rest
        .clients
        .values()
        .filter(|c| c.id != caller.id && names.contains(&c.user))
        .map(|c| c.id)
        .collect();
    for id in victims {
        kill(rest, id);
    }
    if names.contains(&caller.user) {
        caller.user = Bytes::from_static(super::DEFAULT_USER);
        caller.authenticated = false;
        caller.close_after_reply = true;
    }
}

/// Marks a client killed. A client waiting on its push channel (a subscriber) wakes up at once:
/// its channel is dropped; others close when they next send something.
fn kill(rest: &mut NodeRest, id: u64) {
    rest.killed_clients.insert(id);
    if rest.clients.get(&id).is_some_and(|c| c.subs > 0) {
        rest.hub.remove_client(id);
    }
}

/// After ACL SETUSER: the user's pub/sub clients subscribed to a channel or pattern the new
/// rules no longer allow are closed (Redis's ACLKillPubsubClientsIfNeeded).
pub(crate) fn kill_pubsub_clients_if_needed(
    rest: &mut NodeRest,
    caller: &mut Client,
    old: &User,
    new: &User,
) {
    if new.selectors.iter().any(|s| s.allchannels) {
        return;
    }
    let upcoming: Vec<Bytes> = new
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter().cloned())
        .collect();
    let superset = old
        .selectors
        .iter()
        .all(|s| !s.allchannels && s.channels.iter().all(|c| upcoming.contains(c)));
    if superset {
        return;
    }
    let allowed = |name: &[u8], pattern: bool| {
        upcoming.iter().any(|p| {
            if pattern {
                &p[..] == name
            } else {
                crate::glob::matches(p, name, false)
            }
        })
    };
    let hub = &rest.hub;
    let violates = |id: u64| {
        hub.patterns.of_client(id).iter().any(|p| !allowed(p, true))
            || hub
                .channels
                .of_client(id)
                .iter()
                .any(|c| !allowed(c, false))
            || hub.shard.of_client(id).iter().any(|c| !allowed(c, false))
    };
    let mut victims: Vec<u64> = rest
        .clients
        .values()
        .filter(|c| c.id != caller.id && c.user == new.name && c.subs > 0)
        .map(|c| c.id)
        .filter(|&id| violates(id))
        .collect();
    if caller.user == new.name && caller.subs > 0 && violates(caller.id) {
        caller.close_after_reply = true;
    }
    for id in victims.drain(..) {
        kill(rest, id);
    }
}

/// ACL LOAD (and the aclfile at startup): replaces every user with the file's; the clients of
/// every user but `default` are closed, as Redis frees the old users.
pub(crate) fn load_file(rest: &mut NodeRest, path: &str) -> Result<(), String> {
    let text = match rest.storage.read(path) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(None) => {
            return Err(format!(
                "Error loading ACLs, opening file '{path}': No such file or directory"
            ))
        }
        Err(e) => return Err(format!("Error loading ACLs, opening file '{path}': {e}")),
    };
    let users = super::file::parse(&text, path)?;
    rest.acl.users = users;
    Ok(())
}

/// ACL SAVE: writes every user to the aclfile, atomically.
pub(crate) fn save_file(rest: &NodeRest, path: &str) -> std::io::Result<()> {
    let text = super::file::render(&rest.acl.users);
    rest.storage.write_atomic(path, text.as_bytes())
}

//! The command registry ACL rules work on: every command and subcommand with an id (the bit a
//! user's command bitmap holds), its parent, its categories and which of its keys it reads or
//! writes.
//!
//! Categories and key access come from Redis's own command metadata (`super::table`, generated
//! from redis-server 7.0.15), so `+@read` or `%R~` allow exactly what they allow in Redis. A
//! command keyslot has and Redis does not (CLUSTER SYNCSLOTS, ...) gets its categories derived
//! from its flags as Redis derives the implicit ones (`setImplicitACLCategories`): write ->
//! @write, readonly -> @read, admin -> @admin @dangerous, fast -> @fast else @slow, plus its
//! group's data type.

use crate::cmd::{self, flags, CommandSpec};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Category names in Redis's order (ACL CAT lists them so; bit `i` is `NAMES[i]`).
pub const NAMES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of a category, by name (case-insensitive), or None.
pub fn category_bit(name: &str) -> Option<u32> {
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|i| 1u32 << i)
}

fn bit(name: &str) -> u32 {
    category_bit(name).unwrap_or(0)
}

/// One command or subcommand.
#[derive(Debug, Clone)]
pub struct CmdInfo {
    /// `get`, `client|kill`.
    pub fullname: String,
    /// The parent container's id (for subcommands).
    pub parent: Option<usize>,
    /// The ids of the subcommands (for containers).
    pub children: Vec<usize>,
    /// Category bits.
    pub categories: u32,
    /// Per key position (in [`cmd::key_positions`] order): 1 read, 2 written. Past the end,
    /// the last entry holds; empty means read and write.
    pub key_access: Vec<u8>,
    /// AUTH, HELLO...: allowed whatever the rules (Redis's `no-auth` flag).
    pub no_auth: bool,
}

/// Every command and subcommand, with their ids.
#[derive(Debug)]
pub struct Registry {
    pub cmds: Vec<CmdInfo>,
    by_name: HashMap<String, usize>,
}

impl Registry {
    fn build() -> Registry {
        let table: HashMap<&str, (u32, &[u8])> = super::table::TABLE
            .iter()
            .map(|(n, c, k)| (*n, (*c, *k)))
            .collect();
        let mut reg = Registry {
            cmds: Vec::new(),
            by_name: HashMap::new(),
        };
        for spec in cmd::all_commands() {
            let id = reg.push(spec.name, spec.flags, spec.group, None, &table);
            for sub in cmd::subcmd::subcommands_of(spec.name) {
                let sid = reg.push(sub.name, sub.flags, spec.group, Some(id), &table);
                reg.cmds[id].children.push(sid);
            }
        }
        reg
    }

    fn push(
        &mut self,
        name: &str,
        flag_bits: u32,
        group: &str,
        parent: Option<usize>,
        table: &HashMap<&str, (u32, &[u8])>,
    ) -> usize {
        let (categories, key_access) = match table.get(name) {
            Some((c, k)) => (*c, k.to_vec()),
            None => (derived_categories(flag_bits, group), Vec::new()),
        };
        let id = self.cmds.len();
        self.cmds.push(CmdInfo {
            fullname: name.to_string(),
            parent,
            children: Vec::new(),
            categories,
            key_access,
            no_auth: flag_bits & flags::NO_AUTH != 0,
        });
        self.by_name.insert(name.to_string(), id);
        id
    }

    /// The id of `name` (`get`, `client|kill`), case-insensitive.
    pub fn id(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    /// The id of the command an argv runs: the subcommand of a container when it names a known
    /// one, else the command itself.
    pub fn id_of(&self, spec: &CommandSpec, argv: &[Bytes]) -> usize {
        let id = self.by_name.get(spec.name).copied().unwrap_or(0);
        let info = &self.cmds[id];
        if info.children.is_empty() || argv.len() < 2 {
            return id;
        }
        info.children
            .iter()
            .copied()
            .find(|&c| {
                let full = &self.cmds[c].fullname;
                let short = full.split_once('|').map_or(full.as_str(), |(_, s)| s);
                argv[1].eq_ignore_ascii_case(short.as_bytes())
            })
            .unwrap_or(id)
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// Never empty (the command table is not).
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }
}

/// The registry, built once from the command table.
pub fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(Registry::build)
}

/// Categories of a command Redis does not have: the implicit ones from its flags, and its
/// group's data type.
fn derived_categories(flag_bits: u32, group: &str) -> u32 {
    let mut c = 0;
    if flag_bits & flags::WRITE != 0 {
        c |= bit("write");
    }
    if flag_bits & flags::READONLY != 0 {
        c |= bit("read");
    }
    if flag_bits & flags::ADMIN != 0 {
        c |= bit("admin") | bit("dangerous");
    }
    if flag_bits & flags::FAST != 0 {
        c |= bit("fast");
    } else {
        c |= bit("slow");
    }
    c |= match group {
        "generic" => bit("keyspace"),
        "string" => bit("string"),
        "list" => bit("list"),
        "hash" => bit("hash"),
        "set" => bit("set"),
        "sorted-set" => bit("sortedset"),
        "stream" => bit("stream"),
        "bitmap" => bit("bitmap"),
        "hyperloglog" => bit("hyperloglog"),
        "geo" => bit("geo"),
        "pubsub" => bit("pubsub"),
        "connection" => bit("connection"),
        "transactions" => bit("transaction"),
        "scripting" => bit("scripting"),
        _ => 0,
    };
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_knows_commands_and_subcommands() {
        let r = registry();
        let get = r.id("GET").unwrap();
        assert_eq!(
            r.cmds[get].categories,
            bit("read") | bit("string") | bit("fast")
        );
        let kill = r.id("client|kill").unwrap();
        let client = r.cmds[kill].parent.unwrap();
        assert_eq!(r.cmds[client].fullname, "client");
        assert!(r.cmds[client].children.contains(&kill));
        assert!(r.cmds[kill].categories & bit("dangerous") != 0);
        assert!(r.cmds[r.id("auth").unwrap()].no_auth);
    }

    #[test]
    fn every_table_command_keyslot_has_is_used() {
        // A command the table lists under another name would silently fall back to derived
        // categories; each keyslot command Redis also has must take Redis's.
        let r = registry();
        let names: std::collections::HashSet<&str> =
            super::super::table::TABLE.iter().map(|t| t.0).collect();
        let derived: Vec<&str> = r
            .cmds
            .iter()
            .map(|c| c.fullname.as_str())
            .filter(|n| !names.contains(n))
            .collect();
        // keyslot's own commands only.
        println!("derived: {derived:?}");
        for n in &derived {
            assert!(
                n.starts_with("cluster|") || n.starts_with("debug") || *n == "client|no-touch",
                "{n} has no Redis categories"
            );
        }
    }
}

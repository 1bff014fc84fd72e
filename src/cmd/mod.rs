//! The command table and the command families.
//!
//! Every command is a [`CommandSpec`]: its name, Redis's arity rule, flags, the positions of its
//! keys (Redis's legacy first/last/step, which cluster routing reads), and a handler. A handler
//! gets the node state and the client through [`Ctx`] and the whole argv (name included, as in
//! Redis), already checked against the arity; it returns a reply or a [`CmdError`].

pub mod acl;
pub mod bitfield;
pub mod bits;
pub mod blocking;
pub mod client;
pub mod cluster;
pub mod cluster_atomic;
pub mod command;
pub mod configcmd;
pub mod debug_cluster;
pub mod debug_test;
pub mod digest;
pub mod dump;
pub mod error;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod info;
pub mod keys;
pub mod lcs;
pub mod lists;
pub mod migrate;
pub mod mpop;
pub mod object;
pub mod persist;
pub mod pick;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod subcmd;
pub mod tx;
pub mod zrandmember;
pub mod zsets;

pub use error::CmdError;

use crate::db::Db;
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use std::sync::OnceLock;

/// A command's result: a reply, or an error that becomes an error reply.
pub type CmdResult = Result<Reply, CmdError>;

/// A command handler.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// Command flags (a subset of Redis's), as bits.
pub mod flags {
    /// May modify the dataset.
    pub const WRITE: u32 = 1 << 0;
    /// Reads the dataset only (served by READONLY replicas, allowed when the cluster is down with
    /// cluster-allow-reads-when-down).
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory use (refused under maxmemory noeviction).
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Allowed before authentication (AUTH, HELLO, QUIT).
    pub const NO_AUTH: u32 = 1 << 4;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 5;
    /// Served while loading / with a stale replica link.
    pub const STALE: u32 = 1 << 6;
    /// Never redirected in cluster mode even though it names keys (none yet).
    pub const NO_CLUSTER_ROUTE: u32 = 1 << 7;
    /// Keys follow a numkeys argument at `first` (handled by the command's own key finder).
    pub const MOVABLE_KEYS: u32 = 1 << 8;
    /// May block the client (BLPOP, BZMPOP, XREAD ... BLOCK): COMMAND INFO shows `blocking`.
    pub const BLOCKING: u32 = 1 << 9;
}

/// Where a command's keys are in its argv: Redis's (firstkey, lastkey, step). `first == 0` means
/// no keys; `last == -1` means up to the last argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

impl KeySpec {
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };
    pub const FIRST: KeySpec = KeySpec {
        first: 1,
        last: 1,
        step: 1,
    };
    pub const ALL: KeySpec = KeySpec {
        first: 1,
        last: -1,
        step: 1,
    };
    pub const PAIRS: KeySpec = KeySpec {
        first: 1,
        last: -1,
        step: 2,
    };

    /// The argv indexes of the keys of one invocation.
    pub fn key_indexes(&self, argc: usize) -> impl Iterator<Item = usize> {
        let (first, step) = (self.first.max(0) as usize, self.step.max(1) as usize);
        let last = if self.first == 0 {
            0
        } else if self.last < 0 {
            (argc as i64 + self.last as i64).max(0) as usize
        } else {
            (self.last as usize).min(argc.saturating_sub(1))
        };
        let range = if self.first == 0 || first > last {
            0..0
        } else {
            first..last + 1
        };
        range.step_by(step)
    }
}

/// One command of the table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lowercase name, as Redis prints it in errors and COMMAND.
    pub name: &'static str,
    /// Redis's arity: `n > 0` exactly n arguments (name included), `n < 0` at least -n.
    pub arity: i32,
    /// Bits of [`flags`].
    pub flags: u32,
    /// Where the keys are.
    pub keys: KeySpec,
    /// The Redis group for COMMAND DOCS (`string`, `generic`, `server`, `cluster`, ...).
    pub group: &'static str,
    /// One line for COMMAND DOCS and redis-cli's help.
    pub summary: &'static str,
    /// The function that runs it.
    pub handler: Handler,
}

impl CommandSpec {
    /// True when argc satisfies the arity rule.
    pub fn arity_ok(&self, argc: usize) -> bool {
        if self.arity >= 0 {
            argc == self.arity as usize
        } else {
            argc >= (-self.arity) as usize
        }
    }

    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }
}

/// What a handler sees: the node's dataset and state, the calling client, and the time.
pub struct Ctx<'a> {
    /// The keyspace (database 0; keyslot has one database, as Redis Cluster does).
    pub db: &'a mut Db,
    /// Everything else of the node: config, stats, the client registry, the cluster state.
    pub node: &'a mut crate::node::NodeRest,
    /// The calling connection's state (protocol, name, flags).
    pub client: &'a mut crate::node::Client,
    /// Wall-clock milliseconds, for expiry (Redis stores absolute unix-ms expire times).
    pub now_ms: u64,
}

impl Ctx<'_> {
    /// The calling client's protocol (some replies differ between RESP2 and RESP3).
    pub fn proto(&self) -> Protocol {
        self.client.proto
    }
}

/// Every command family's table, concatenated.
fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    strings::COMMANDS
        .iter()
        .chain(keys::COMMANDS.iter())
        .chain(sort::COMMANDS.iter())
        .chain(lcs::COMMANDS.iter())
        .chain(server::COMMANDS.iter())
        .chain(info::COMMANDS.iter())
        .chain(configcmd::COMMANDS.iter())
        .chain(client::COMMANDS.iter())
        .chain(command::COMMANDS.iter())
        .chain(cluster::COMMANDS.iter())
        .chain(dump::COMMANDS.iter())
        .chain(migrate::COMMANDS.iter())
        .chain(lists::COMMANDS.iter())
        .chain(hashes::COMMANDS.iter())
        .chain(sets::COMMANDS.iter())
        .chain(zsets::COMMANDS.iter())
        .chain(zrandmember::COMMANDS.iter())
        .chain(geo::COMMANDS.iter())
        .chain(replication::COMMANDS.iter())
        .chain(persist::COMMANDS.iter())
        .chain(tx::COMMANDS.iter())
        .chain(pubsub::COMMANDS.iter())
        .chain(blocking::COMMANDS.iter())
        .chain(mpop::COMMANDS.iter())
        .chain(object::COMMANDS.iter())
        .chain(streams::COMMANDS.iter())
        .chain(bits::COMMANDS.iter())
        .chain(bitfield::COMMANDS.iter())
        .chain(hll::COMMANDS.iter())
        .chain(scripting::COMMANDS.iter())
        .chain(acl::COMMANDS.iter())
}

/// Looks a command up by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static TABLE: OnceLock<NameTable> = OnceLock::new();
    TABLE.get_or_init(NameTable::new).get(name)
}

/// The command table by name, for [`lookup`] (run for every command, often twice): open
/// addressing over a hash that folds ASCII case, so a name is found without a lowercase copy,
/// a UTF-8 check or SipHash.
struct NameTable {
    /// A power of two of slots, at most a quarter used.
    slots: Vec<Option<&'static CommandSpec>>,
}

impl NameTable {
    fn new() -> NameTable {
        let count = all_specs().count();
        let mut table = NameTable {
            slots: vec![None; (count * 4).next_power_of_two()],
        };
        for spec in all_specs() {
            let at = table.position(spec.name.as_bytes());
            if let Some(slot) = table.slots.get_mut(at) {
                *slot = Some(spec);
            }
        }
        table
    }

    /// FNV-1a over the bytes with bit 5 set: ASCII letters of either case hash alike (other
    /// bytes may collide, which the comparison sorts out).
    fn hash(name: &[u8]) -> usize {
        let mut h: u32 = 0x811c_9dc5;
        for &b in name {
            h = (h ^ u32::from(b | 0x20)).wrapping_mul(0x0100_0193);
        }
        h as usize
    }

    /// The slot holding `name` (case-insensitively), or the empty slot where it would go.
    fn position(&self, name: &[u8]) -> usize {
        let mask = self.slots.len() - 1;
        let mut at = Self::hash(name) & mask;
        while let Some(Some(spec)) = self.slots.get(at) {
            if spec.name.len() == name.len() && spec.name.as_bytes().eq_ignore_ascii_case(name) {
                break;
            }
            at = (at + 1) & mask;
        }
        at
    }

    fn get(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        if name.len() > 32 {
            return None;
        }
        self.slots.get(self.position(name)).copied().flatten()
    }
}

/// The argv indexes of one command's keys: a few inline, since routing computes them for
/// every command.
pub type KeyPositions = smallvec::SmallVec<[usize; 4]>;

/// The argv indexes of a command's keys. Most commands describe them with their KeySpec;
/// commands whose keys follow a `numkeys` argument are read here (cluster routing and
/// COMMAND GETKEYS both need every key, or CROSSSLOT goes unnoticed).
pub fn key_positions(spec: &CommandSpec, argv: &[Bytes]) -> KeyPositions {
    let numkeys_at = |at: usize, first_key: usize, extra: &[usize]| -> KeyPositions {
        let n = argv
            .get(at)
            .and_then(|a| parse_i64(a))
            .filter(|n| *n > 0)
            .map(|n| n as usize)
            .unwrap_or(0);
        let mut v = KeyPositions::from_slice(extra);
        v.extend((first_key..first_key.saturating_add(n)).filter(|&i| i < argv.len()));
        v
    };
    match spec.name {
        "zunionstore" | "zinterstore" | "zdiffstore" => numkeys_at(2, 3, &[1]),
        "sintercard" | "zintercard" | "zunion" | "zinter" | "zdiff" | "lmpop" | "zmpop" => {
            numkeys_at(1, 2, &[])
        }
        "blmpop" | "bzmpop" | "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall"
        | "fcall_ro" => numkeys_at(2, 3, &[]),
        "migrate" => migrate::key_positions(argv).into(),
        "sort" => sort::key_positions(argv).into(),
        "georadius" => geo::radius_key_positions(argv, 6).into(),
        "georadiusbymember" => geo::radius_key_positions(argv, 5).into(),
        "xread" | "xreadgroup" => streams::read_key_positions(argv).into(),
        _ => spec.keys.key_indexes(argv.len()).collect(),
    }
}

/// Every command, sorted by name (COMMAND, COMMAND COUNT, COMMAND DOCS).
pub fn all_commands() -> Vec<&'static CommandSpec> {
    let mut v: Vec<_> = all_specs().collect();
    v.sort_by_key(|s| s.name);
    v
}

/// Parses an argument as a Redis integer (`string2ll`: optional `-`, no `+`, no spaces, no
/// leading zeros except `0` itself, fits i64).
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    if arg.is_empty() || arg.len() > 20 {
        return None;
    }
    let (neg, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// An integer argument or Redis's "not an integer" error.
pub fn arg_i64(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Case-insensitive comparison of an argument with a keyword.
pub fn eq_ignore_case(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_every_command_in_any_case_and_nothing_else() {
        for spec in all_specs() {
            let upper = spec.name.to_ascii_uppercase();
            let mixed: String = spec
                .name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            for name in [spec.name, upper.as_str(), mixed.as_str()] {
                assert_eq!(lookup(name.as_bytes()).map(|s| s.name), Some(spec.name));
            }
            // A byte that only equals a letter with bit 5 folded is not that letter.
            let mut near = spec.name.as_bytes().to_vec();
            near.push(b'x');
            assert!(lookup(&near).is_none_or(|s| s.name.as_bytes() == near));
        }
        for name in [
            &b""[..],
            b"gett",
            b"ge",
            b"g\xc3\xa9t",
            b"GE\x00T",
            b"@et",
            b"_et",
        ] {
            assert!(lookup(name).is_none(), "{name:?}");
        }
        assert!(lookup(&[b'a'; 40]).is_none());
    }

    #[test]
    fn parses_integers_like_redis() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b""), None);
    }

    #[test]
    fn key_indexes_follow_redis_rules() {
        let v: Vec<_> = KeySpec::PAIRS.key_indexes(5).collect();
        assert_eq!(v, vec![1, 3]);
        let v: Vec<_> = KeySpec::ALL.key_indexes(4).collect();
        assert_eq!(v, vec![1, 2, 3]);
        let v: Vec<_> = KeySpec::FIRST.key_indexes(3).collect();
        assert_eq!(v, vec![1]);
        assert_eq!(KeySpec::NONE.key_indexes(3).count(), 0);
    }
}

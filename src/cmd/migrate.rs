//! MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
//! [AUTH2 username password] [KEYS key [key ...]]
//!
//! The part of MIGRATE that runs under the node lock: arguments in Redis's order and with its
//! error texts, the keys' DUMP payloads (RDB codec) as RESTORE-ASKING commands, and the job the
//! connection task then runs without the lock (`crate::migrate`, which explains the split).

use super::keys::lookup_read;
use super::{eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::migrate::MigrateJob;
use crate::resp::Reply;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "migrate",
    arity: -6,
    flags: flags::WRITE,
    // The key at 3, or with KEYS every argument after it (`key_positions` reads that form).
    keys: KeySpec {
        first: 3,
        last: 3,
        step: 1,
    },
    group: "generic",
    summary: "Atomically transfer a key from a Redis instance to another one.",
    handler: migrate,
}];

/// MIGRATE's keys (Redis's migrateGetKeys): argv[3], or everything after a KEYS option.
pub fn key_positions(argv: &[Bytes]) -> Vec<usize> {
    for (i, a) in argv.iter().enumerate().skip(6) {
        if eq_ignore_case(a, "keys") {
            if !argv[3].is_empty() {
                return Vec::new();
            }
            return (i + 1..argv.len()).collect();
        }
    }
    if argv.len() > 3 {
        vec![3]
    } else {
        Vec::new()
    }
}

fn migrate(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut copy = false;
    let mut replace = false;
    let mut auth: Option<(Option<Bytes>, Bytes)> = None;
    let mut first_key = 3;
    let mut num_keys = 1;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let a = &argv[j];
        if eq_ignore_case(a, "copy") {
            copy = true;
        } else if eq_ignore_case(a, "replace") {
            replace = true;
        } else if eq_ignore_case(a, "auth") {
            if more == 0 {
                return Err(CmdError::Syntax);
            }
            j += 1;
            auth = Some((None, argv[j].clone()));
        } else if eq_ignore_case(a, "auth2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            auth = Some((Some(argv[j + 1].clone()), argv[j + 2].clone()));
            j += 2;
        } else if eq_ignore_case(a, "keys") {
            if !argv[3].is_empty() {
                return Err(CmdError::other(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            first_key = j + 1;
            num_keys = argv.len() - j - 1;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let timeout = super::arg_i64(&argv[5])?;
    let dbid = super::arg_i64(&argv[4])?;
    let timeout_ms = if timeout <= 0 { 1000 } else { timeout as u64 };
    // The port is only used to connect: Redis atoi()s it; a bad one fails to connect.
    let port = std::str::from_utf8(&argv[2])
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(0);

    let now_ms = ctx.now_ms;
    let cluster_mode = ctx.node.cluster.is_some();
    let mut keys = Vec::new();
    let mut restores = Vec::new();
    for key in &argv[first_key..first_key + num_keys] {
        let Some(entry) = lookup_read(ctx, key) else {
            continue;
        };
        // A TTL travels relative, at least 1 ms (Redis: an expire already past is skipped).
        let ttl_ms = match entry.expire_ms() {
            None => 0,
            Some(at) if at <= now_ms => continue,
            Some(at) => (at - now_ms).max(1),
        };
        let payload = crate::rdb::dump_value(&entry.value);
        let ttl = ttl_ms.to_string();
        let mut cmd: Vec<&[u8]> = vec![b"RESTORE-ASKING", key, ttl.as_bytes(), &payload];
        if replace {
            cmd.push(b"REPLACE");
        }
        if !cluster_mode {
            cmd[0] = b"RESTORE";
        }
        restores.extend_from_slice(&crate::replication::encode_command(&cmd));
        keys.push(key.clone());
    }
    if keys.is_empty() {
        return Ok(Reply::simple("NOKEY"));
    }
    if ctx.client.in_exec {
        // The transfer needs the network without the node lock, which EXEC holds for the whole
        // transaction (Redis blocks its one thread instead). A known difference, reported
        // rather than answered out of order.
        return Err(CmdError::other(
            "ERR MIGRATE inside MULTI/EXEC is not supported by keyslot",
        ));
    }
    ctx.node.migrate.hold(&keys);
    ctx.client.migrate = Some(Box::new(MigrateJob {
        host: String::from_utf8_lossy(&argv[1]).into_owned(),
        port,
        dbid,
        timeout_ms,
        copy,
        auth,
        held: keys.clone(),
        keys,
        restores,
    }));
    Ok(Reply::NoReply)
}

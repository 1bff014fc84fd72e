//! DUMP, RESTORE and RESTORE-ASKING: values serialized in Redis 7.0's DUMP payload format (see
//! [`crate::rdb`]), so keys move between keyslot and redis-server in both directions.

use super::keys::{lookup_read, lookup_write};
use super::{arg_i64, eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::rdb::{self, RdbError};
use crate::resp::Reply;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "dump",
        arity: 2,
        flags: flags::READONLY,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Return a serialized version of the value stored at the specified key.",
        handler: dump,
    },
    CommandSpec {
        name: "restore",
        arity: -4,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::FIRST,
        group: "generic",
        summary:
            "Create a key using the provided serialized value, previously obtained using DUMP.",
        handler: restore,
    },
    // Redis flags RESTORE-ASKING "asking": in cluster mode it is accepted for a slot being
    // imported without a preceding ASKING (MIGRATE sends it). The handler is RESTORE's.
    CommandSpec {
        name: "restore-asking",
        arity: -4,
        flags: flags::WRITE | flags::DENYOOM,
        keys: KeySpec::FIRST,
        group: "server",
        summary: "An internal command for migrating keys in a cluster",
        handler: restore,
    },
];

/// DUMP key: the value's DUMP payload, or nil.
fn dump(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match lookup_read(ctx, &argv[1]) {
        Some(entry) => Ok(Reply::Bulk(Bytes::from(rdb::dump_value(&entry.value)))),
        None => Ok(Reply::Null),
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
///
/// Checks in Redis's order: options (syntax, IDLETIME / FREQ ranges), BUSYKEY, the TTL, the
/// payload footer, the payload body. A TTL of 0 means no expire; with ABSTTL the TTL is an
/// absolute unix-ms time. A TTL already in the past deletes the key (REPLACE) or leaves it
/// absent, and replies OK. IDLETIME and FREQ are validated, then ignored (keyslot keeps no LRU
/// or LFU data).
fn restore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut replace = false;
    let mut absttl = false;
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut j = 4;
    while j < argv.len() {
        let has_arg = j + 1 < argv.len();
        let a = &argv[j];
        if eq_ignore_case(a, "replace") {
            replace = true;
        } else if eq_ignore_case(a, "absttl") {
            absttl = true;
        } else if eq_ignore_case(a, "idletime") && has_arg && freq.is_none() {
            let v = arg_i64(&argv[j + 1])?;
            if v < 0 {
                return Err(CmdError::other("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            j += 1;
        } else if eq_ignore_case(a, "freq") && has_arg && idle.is_none() {
            let v = arg_i64(&argv[j + 1])?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::other(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let key = &argv[1];
    if !replace && lookup_write(ctx, key).is_some() {
        return Err(CmdError::other("BUSYKEY Target key name already exists."));
    }
    let ttl = arg_i64(&argv[2])?;
    if ttl < 0 {
        return Err(CmdError::other("ERR Invalid TTL value, must be >= 0"));
    }
    let value = match rdb::restore_value(&argv[3]) {
        Ok(v) => v,
        Err(RdbError::BadFooter) => {
            return Err(CmdError::other(
                "ERR DUMP payload version or checksum are wrong",
            ))
        }
        Err(_) => return Err(CmdError::other("ERR Bad data format")),
    };
    let deleted = replace && ctx.db.remove(key).is_some();
    let expire = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(ctx.now_ms as i64)),
    };
    if let Some(at) = expire {
        if at <= ctx.now_ms as i64 {
            // Already expired: the key ends up absent. Replicas get a DEL when one was
            // replaced, else nothing (Redis's restoreCommand).
            if deleted {
                ctx.notify(crate::notify::GENERIC, "del", key);
            }
            ctx.client.rewrite = Some(if deleted {
                vec![Bytes::from_static(b"DEL"), key.clone()]
            } else {
                Vec::new()
            });
            return Ok(Reply::ok());
        }
    }
    // The key is copied out of the connection's read buffer so the buffer is not kept alive.
    ctx.db
        .insert(Bytes::copy_from_slice(key), value, expire.map(|t| t as u64));
    ctx.notify(crate::notify::GENERIC, "restore", key);
    if let (Some(at), false) = (expire, absttl) {
        // A relative TTL would restart on the replica: Redis sends the absolute time and
        // appends ABSTTL, the rest of the command as it came.
        let mut out = argv.to_vec();
        out[2] = Bytes::from(at.to_string());
        out.push(Bytes::from_static(b"ABSTTL"));
        ctx.client.rewrite = Some(out);
    }
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;
    use crate::resp::Reply;

    fn dump(t: &mut TestNode, key: &str) -> Vec<u8> {
        match t.run(&["DUMP", key]) {
            Reply::Bulk(b) => b.to_vec(),
            other => panic!("DUMP {key}: {other:?}"),
        }
    }

    fn restore(t: &mut TestNode, args: &[&str], payload: &[u8]) -> String {
        let mut argv: Vec<bytes::Bytes> = vec![bytes::Bytes::from_static(b"RESTORE")];
        argv.push(bytes::Bytes::copy_from_slice(args[0].as_bytes()));
        argv.push(bytes::Bytes::copy_from_slice(args[1].as_bytes()));
        argv.push(bytes::Bytes::copy_from_slice(payload));
        argv.extend(
            args[2..]
                .iter()
                .map(|a| bytes::Bytes::copy_from_slice(a.as_bytes())),
        );
        let reply = t.node.execute(&mut t.client, &argv);
        String::from_utf8_lossy(&reply.to_bytes(t.client.proto)).into_owned()
    }

    #[test]
    fn dump_restore_and_errors() {
        let mut t = TestNode::new();
        assert_eq!(t.run_text(&["DUMP", "nokey"]), "$-1\r\n");
        t.run(&["SET", "a", "hello"]);
        let p = dump(&mut t, "a");
        assert_eq!(p, b"\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a");
        assert_eq!(
            restore(&mut t, &["a", "0"], &p),
            "-BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(restore(&mut t, &["b", "0"], &p), "+OK\r\n");
        assert_eq!(t.run_text(&["GET", "b"]), "$5\r\nhello\r\n");
        assert_eq!(t.run_text(&["TTL", "b"]), ":-1\r\n");
        assert_eq!(restore(&mut t, &["b", "5000", "REPLACE"], &p), "+OK\r\n");
        assert_eq!(t.run_text(&["TTL", "b"]), ":5\r\n");
        assert_eq!(
            restore(&mut t, &["c", "-1"], &p),
            "-ERR Invalid TTL value, must be >= 0\r\n"
        );
        assert_eq!(
            restore(&mut t, &["c", "x"], &p),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            restore(&mut t, &["c", "0", "FOO"], &p),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            restore(&mut t, &["c", "0", "IDLETIME"], &p),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            restore(&mut t, &["c", "0", "IDLETIME", "1", "FREQ", "1"], &p),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            restore(&mut t, &["c", "0", "IDLETIME", "-1"], &p),
            "-ERR Invalid IDLETIME value, must be >= 0\r\n"
        );
        assert_eq!(
            restore(&mut t, &["c", "0", "FREQ", "256"], &p),
            "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"
        );
        let mut bad = p.clone();
        bad[2] ^= 1;
        assert_eq!(
            restore(&mut t, &["c", "0"], &bad),
            "-ERR DUMP payload version or checksum are wrong\r\n"
        );
        let mut odd = vec![0x63u8, 0];
        odd.extend_from_slice(&10u16.to_le_bytes());
        let crc = crate::rdb::crc64(0, &odd);
        odd.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            restore(&mut t, &["c", "0"], &odd),
            "-ERR Bad data format\r\n"
        );
        assert_eq!(t.run_text(&["EXISTS", "c"]), ":0\r\n");
        // ABSTTL in the past: OK, and the replaced key is gone.
        assert_eq!(
            restore(&mut t, &["b", "1", "ABSTTL", "REPLACE"], &p),
            "+OK\r\n"
        );
        assert_eq!(t.run_text(&["EXISTS", "b"]), ":0\r\n");
        assert_eq!(
            restore(
                &mut t,
                &["d", "4102444800000", "ABSTTL", "IDLETIME", "10"],
                &p
            ),
            "+OK\r\n"
        );
        assert_eq!(t.run_text(&["PEXPIRETIME", "d"]), ":4102444800000\r\n");
        let mut argv: Vec<bytes::Bytes> = ["RESTORE-ASKING", "e", "0"]
            .iter()
            .map(|s| bytes::Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        argv.push(bytes::Bytes::from(p));
        let r = t.node.execute(&mut t.client, &argv);
        assert_eq!(r, Reply::ok());
        assert_eq!(t.run_text(&["GET", "e"]), "$5\r\nhello\r\n");
    }
}

//! Replication commands: REPLCONF, PSYNC, REPLICAOF/SLAVEOF, ROLE, WAIT, and INFO's
//! replication section.

use super::{arg_i64, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::node::NodeRest;
use crate::replication::{Role, NULL_REPLID};
use crate::resp::Reply;
use bytes::Bytes;
use std::fmt::Write;

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys: KeySpec::NONE,
        group: "server",
        summary,
        handler,
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "replconf",
        -1,
        flags::ADMIN | flags::STALE,
        "An internal command for configuring the replication stream",
        replconf,
    ),
    spec(
        "psync",
        -3,
        flags::ADMIN | flags::STALE,
        "Internal command used for replication",
        psync,
    ),
    spec(
        "sync",
        1,
        flags::ADMIN | flags::STALE,
        "Internal command used for replication",
        sync,
    ),
    spec(
        "replicaof",
        3,
        flags::ADMIN | flags::STALE,
        "Make the server a replica of another instance, or promote it as master.",
        replicaof,
    ),
    spec(
        "slaveof",
        3,
        flags::ADMIN | flags::STALE,
        "Make the server a replica of another instance, or promote it as master.",
        replicaof,
    ),
    spec(
        "role",
        1,
        flags::FAST | flags::STALE,
        "Return the role of the instance in the context of replication",
        role,
    ),
    spec(
        "wait",
        3,
        flags::STALE,
        "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
        wait,
    ),
];

/// `REPLCONF listening-port <port> | capa <...> | ack <offset> | getack * | ip-address <ip>`.
fn replconf(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    for pair in argv[1..].chunks(2) {
        let (opt, val) = (&pair[0], &pair[1]);
        if opt.eq_ignore_ascii_case(b"listening-port") {
            let port = arg_i64(val)?;
            ctx.client.replconf_listening_port = port.clamp(0, 65535) as u16;
        } else if opt.eq_ignore_ascii_case(b"capa")
            || opt.eq_ignore_ascii_case(b"ip-address")
            || opt.eq_ignore_ascii_case(b"rdb-only")
        {
            // Accepted; keyslot streams PSYNC2 with disk-style (length-prefixed) snapshots.
        } else if opt.eq_ignore_ascii_case(b"ack") || opt.eq_ignore_ascii_case(b"getack") {
            // Only meaningful on a replication link, where the feeder reads them.
            return Ok(Reply::NullArray);
        } else {
            return Err(CmdError::other(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    Ok(Reply::ok())
}

/// `PSYNC replid offset`: the connection becomes this replica's feed.
fn psync(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.client.replica_feed {
        return Err(CmdError::other("ERR Replica already connected"));
    }
    // PSYNC needs the whole node (snapshot of the dataset); run it through a temporary view.
    let mut node = crate::node::NodeView {
        db: ctx.db,
        rest: ctx.node,
    };
    node.psync(ctx.client, &argv[1], &argv[2])?;
    // The reply (+FULLRESYNC / +CONTINUE) is written by the feeder, ahead of the stream.
    Ok(Reply::NoReply)
}

/// `SYNC`: the old full resync (Redis's test suite reads a server's replication stream with
/// it): PSYNC's full sync without the `+FULLRESYNC` line, the snapshot then the stream.
fn sync(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.client.replica_feed {
        return Err(CmdError::other("ERR Replica already connected"));
    }
    let mut node = crate::node::NodeView {
        db: ctx.db,
        rest: ctx.node,
    };
    node.psync(ctx.client, b"?", b"-1")?;
    if let Some(feed) = ctx.node.repl.pending_feeds.get_mut(&ctx.client.id) {
        if let Some(end) = feed.initial.windows(2).position(|w| w == b"\r\n") {
            feed.initial.drain(..end + 2);
        }
    }
    Ok(Reply::NoReply)
}

/// `REPLICAOF host port | NO ONE` (standalone mode only, as in Redis).
fn replicaof(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.node.cluster.is_some() {
        return Err(CmdError::other(
            "ERR REPLICAOF not allowed in cluster mode.",
        ));
    }
    if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
        let mut node = crate::node::NodeView {
            db: ctx.db,
            rest: ctx.node,
        };
        node.become_master();
        return Ok(Reply::ok());
    }
    let port = arg_i64(&argv[2])?;
    if !(0..=65535).contains(&port) {
        return Err(CmdError::other("ERR Invalid master port"));
    }
    let host = String::from_utf8_lossy(&argv[1]).into_owned();
    if let Role::Replica(l) = &ctx.node.repl.role {
        if l.host == host && l.port == port as u16 {
            return Ok(Reply::simple("OK Already connected to specified master"));
        }
    }
    let mut node = crate::node::NodeView {
        db: ctx.db,
        rest: ctx.node,
    };
    node.become_replica_of(&host, port as u16);
    Ok(Reply::ok())
}

/// `ROLE`: `master offset [[ip port offset]...]` or `slave host port state offset`.
fn role(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let repl = &ctx.node.repl;
    Ok(match &repl.role {
        Role::Master => Reply::Array(vec![
            Reply::bulk("master"),
            Reply::Integer(repl.offset as i64),
            Reply::Array(
                repl.replicas
                    .values()
                    .map(|r| {
                        Reply::Array(vec![
                            Reply::bulk(&r.ip),
                            Reply::bulk(r.listening_port.to_string()),
                            Reply::bulk(r.ack_offset.to_string()),
                        ])
                    })
                    .collect(),
            ),
        ]),
        Role::Replica(l) => Reply::Array(vec![
            Reply::bulk("slave"),
            Reply::bulk(&l.host),
            Reply::Integer(l.port as i64),
            Reply::bulk(l.state.name()),
            Reply::Integer(repl.offset as i64),
        ]),
    })
}

/// `WAIT numreplicas timeout`: blocks the client until that many replicas acknowledged its
/// writes or the timeout passes (0 = forever); answers how many did.
fn wait(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let wanted = arg_i64(&argv[1])?;
    let timeout = arg_i64(&argv[2])?;
    if timeout < 0 {
        return Err(CmdError::other("ERR timeout is negative"));
    }
    if ctx.node.repl.is_replica() {
        return Err(CmdError::other(
            "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let target = ctx.client.woff;
    let acked = ctx.node.repl.acked(target);
    if acked as i64 >= wanted {
        return Ok(Reply::Integer(acked as i64));
    }
    let deadline = if timeout == 0 {
        u64::MAX
    } else {
        ctx.node.clock.mono_ms() + timeout as u64
    };
    ctx.client.wait = Some(crate::node::WaitRequest {
        replicas: wanted.max(0) as usize,
        offset: target,
        deadline_ms: deadline,
    });
    crate::replication::primary::request_acks_rest(ctx.node);
    Ok(Reply::NoReply)
}

fn field(s: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(s, "{}:{}\r\n", name, value);
}

/// INFO's `# Replication` section, with Redis 7.0's fields.
pub fn info_replication(node: &NodeRest) -> String {
    let repl = &node.repl;
    let now = node.clock.mono_ms();
    let mut s = String::new();
    match &repl.role {
        Role::Master => field(&mut s, "role", "master"),
        Role::Replica(l) => {
            field(&mut s, "role", "slave");
            field(&mut s, "master_host", &l.host);
            field(&mut s, "master_port", l.port);
            let up = l.state == crate::replication::LinkState::Connected;
            field(&mut s, "master_link_status", if up { "up" } else { "down" });
            let io = if l.last_io_ms == 0 {
                -1
            } else {
                (now.saturating_sub(l.last_io_ms) / 1000) as i64
            };
            field(&mut s, "master_last_io_seconds_ago", io);
            field(
                &mut s,
                "master_sync_in_progress",
                u8::from(l.state == crate::replication::LinkState::Sync),
            );
            field(&mut s, "slave_read_repl_offset", repl.offset);
            field(&mut s, "slave_repl_offset", repl.offset);
            if !up {
                let since = if l.down_since_ms == 0 {
                    -1
                } else {
                    (now.saturating_sub(l.down_since_ms) / 1000) as i64
                };
                field(&mut s, "master_link_down_since_seconds", since);
            }
            field(
                &mut s,
                "slave_priority",
                node.config.int("replica-priority"),
            );
            field(
                &mut s,
                "slave_read_only",
                u8::from(node.config.bool("replica-read-only")),
            );
            field(&mut s, "replica_announced", 1);
        }
    }
    field(&mut s, "connected_slaves", repl.replicas.len());
    for (i, r) in repl.replicas.values().enumerate() {
        let lag = now.saturating_sub(r.ack_ms) / 1000;
        field(
            &mut s,
            &format!("slave{}", i),
            format!(
                "ip={},port={},state=online,offset={},lag={}",
                r.ip, r.listening_port, r.ack_offset, lag
            ),
        );
    }
    field(&mut s, "master_failover_state", "no-failover");
    field(&mut s, "master_replid", &repl.replid);
    field(
        &mut s,
        "master_replid2",
        if repl.second_offset < 0 {
            NULL_REPLID
        } else {
            &repl.replid2
        },
    );
    field(&mut s, "master_repl_offset", repl.offset);
    field(&mut s, "second_repl_offset", repl.second_offset);
    field(&mut s, "repl_backlog_active", 1);
    field(&mut s, "repl_backlog_size", repl.backlog.capacity());
    field(
        &mut s,
        "repl_backlog_first_byte_offset",
        repl.backlog.first_offset(),
    );
    field(&mut s, "repl_backlog_histlen", repl.backlog.len());
    s
}

//! CLUSTER and the cluster connection commands (READONLY, READWRITE, ASKING).
//!
//! Replies follow redis-server 7.0.15 byte for byte where tools parse them: CLUSTER NODES lines
//! each end with `\n`, slot runs are merged, CLUSTER SLOTS lists one entry per run, errors carry
//! Redis's texts (redis-cli --cluster treats any `-ERR` as failure and retries REPLICATE).

use super::subcmd::{dispatch, help_reply, SubSpec};
use super::{arg_i64, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::cluster::nodes_conf::{NodeFlag, NodeLine};
use crate::cluster::state::{ClusterNode, ClusterState, FailoverMode};
use crate::cluster::NodeId;
use crate::resp::{Protocol, Reply};
use crate::slot::{key_slot, SLOT_COUNT};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "cluster",
        arity: -2,
        flags: flags::STALE,
        keys: KeySpec::NONE,
        group: "cluster",
        summary: "A container for Redis Cluster commands",
        handler: cluster,
    },
    CommandSpec {
        name: "readonly",
        arity: 1,
        flags: flags::FAST | flags::STALE,
        keys: KeySpec::NONE,
        group: "cluster",
        summary: "Enables read queries for a connection to a Redis Cluster replica node",
        handler: readonly,
    },
    CommandSpec {
        name: "readwrite",
        arity: 1,
        flags: flags::FAST | flags::STALE,
        keys: KeySpec::NONE,
        group: "cluster",
        summary: "Disables read queries for a connection to a Redis Cluster replica node",
        handler: readwrite,
    },
    CommandSpec {
        name: "asking",
        arity: 1,
        flags: flags::FAST,
        keys: KeySpec::NONE,
        group: "cluster",
        summary: "Sent by cluster clients after an -ASK redirect",
        handler: asking,
    },
];

macro_rules! sub {
    ($name:literal, $arity:expr, $summary:literal, $handler:expr) => {
        SubSpec {
            name: $name,
            arity: $arity,
            flags: flags::STALE,
            summary: $summary,
            handler: $handler,
        }
    };
}

/// CLUSTER's subcommands.
pub const SUBCOMMANDS: &[SubSpec] = &[
    sub!(
        "cluster|addslots",
        -3,
        "Assign new hash slots to receiving node",
        addslots
    ),
    sub!(
        "cluster|addslotsrange",
        -4,
        "Assign new hash slots to receiving node",
        addslotsrange
    ),
    sub!(
        "cluster|bumpepoch",
        2,
        "Advance the cluster config epoch",
        bumpepoch
    ),
    sub!(
        "cluster|cancelmigration",
        3,
        "Cancel every atomic slot migration (ALL)",
        super::cluster_atomic::cancelmigration
    ),
    sub!(
        "cluster|cancelslotmigrations",
        2,
        "Cancel every atomic slot migration",
        super::cluster_atomic::cancelslotmigrations
    ),
    sub!(
        "cluster|count-failure-reports",
        3,
        "Return the number of failure reports active for a given node",
        count_failure_reports
    ),
    sub!(
        "cluster|countkeysinslot",
        3,
        "Return the number of local keys in the specified hash slot",
        countkeysinslot
    ),
    sub!(
        "cluster|delslots",
        -3,
        "Set hash slots as unbound in receiving node",
        delslots
    ),
    sub!(
        "cluster|delslotsrange",
        -4,
        "Set hash slots as unbound in receiving node",
        delslotsrange
    ),
    sub!(
        "cluster|failover",
        -2,
        "Forces a replica to perform a manual failover of its master.",
        failover
    ),
    sub!(
        "cluster|forget",
        3,
        "Remove a node from the nodes table",
        forget
    ),
    sub!(
        "cluster|getkeysinslot",
        4,
        "Return local key names in the specified hash slot",
        getkeysinslot
    ),
    sub!(
        "cluster|help",
        2,
        "Show helpful text about the different subcommands",
        help
    ),
    sub!(
        "cluster|info",
        2,
        "Provides info about Redis Cluster node state",
        info
    ),
    sub!(
        "cluster|keyslot",
        3,
        "Returns the hash slot of the specified key",
        keyslot
    ),
    sub!(
        "cluster|getslotmigrations",
        2,
        "Get the atomic slot migrations of this node",
        super::cluster_atomic::getslotmigrations
    ),
    sub!(
        "cluster|links",
        2,
        "Returns a list of all TCP links to and from peer nodes in cluster",
        links
    ),
    sub!(
        "cluster|meet",
        -4,
        "Force a node cluster to handshake with another node",
        meet
    ),
    sub!(
        "cluster|migrateslots",
        -6,
        "Migrate slot ranges to another primary atomically",
        super::cluster_atomic::migrateslots
    ),
    sub!("cluster|myid", 2, "Return the node id", myid),
    sub!("cluster|nodes", 2, "Get Cluster config for the node", nodes),
    sub!(
        "cluster|replicas",
        3,
        "List replica nodes of the specified master node",
        replicas
    ),
    sub!(
        "cluster|replicate",
        3,
        "Reconfigure a node as a replica of the specified master node",
        replicate
    ),
    sub!("cluster|reset", -2, "Reset a Redis Cluster node", reset),
    sub!(
        "cluster|saveconfig",
        2,
        "Forces the node to save cluster state on disk",
        saveconfig
    ),
    sub!(
        "cluster|set-config-epoch",
        3,
        "Set the configuration epoch in a new node",
        set_config_epoch
    ),
    sub!(
        "cluster|setslot",
        -4,
        "Bind a hash slot to a specific node",
        setslot
    ),
    sub!(
        "cluster|shards",
        2,
        "Get array of cluster slots to node mappings",
        shards
    ),
    sub!(
        "cluster|syncslots",
        -3,
        "Internal: the stream of an atomic slot migration",
        super::cluster_atomic::syncslots
    ),
    sub!(
        "cluster|slaves",
        3,
        "List replica nodes of the specified master node",
        replicas
    ),
    sub!(
        "cluster|slots",
        2,
        "Get array of Cluster slot to node mappings",
        slots
    ),
];

const DISABLED: &str = "ERR This instance has cluster support disabled";

fn cluster(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.node.cluster.is_none() {
        return Err(CmdError::other(DISABLED));
    }
    dispatch(ctx, argv, SUBCOMMANDS)
}

/// The cluster state; every CLUSTER handler runs after `cluster` checked it exists.
fn state<'a>(ctx: &'a mut Ctx<'_>) -> Result<&'a mut ClusterState, CmdError> {
    ctx.node
        .cluster
        .as_mut()
        .ok_or_else(|| CmdError::other(DISABLED))
}

fn readonly(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.node.cluster.is_none() {
        return Err(CmdError::other(DISABLED));
    }
    ctx.client.readonly = true;
    Ok(Reply::ok())
}

fn readwrite(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.node.cluster.is_none() {
        return Err(CmdError::other(DISABLED));
    }
    ctx.client.readonly = false;
    Ok(Reply::ok())
}

fn asking(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.node.cluster.is_none() {
        return Err(CmdError::other(DISABLED));
    }
    ctx.client.asking = true;
    Ok(Reply::ok())
}

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let lines: Vec<&'static str> = SUBCOMMANDS
        .iter()
        .filter(|s| s.short_name() != "help")
        .flat_map(|s| [s.short_name(), s.summary])
        .collect();
    Ok(help_reply("cluster", &lines))
}

/// A slot number argument: `ERR Invalid or out of range slot` otherwise.
fn parse_slot(arg: &[u8]) -> Result<u16, CmdError> {
    match super::parse_i64(arg) {
        Some(n) if (0..SLOT_COUNT as i64).contains(&n) => Ok(n as u16),
        _ => Err(CmdError::other("ERR Invalid or out of range slot")),
    }
}

fn text_reply(ctx: &Ctx<'_>, text: String) -> Reply {
    if ctx.client.proto == Protocol::Resp3 {
        Reply::Verbatim(Bytes::from(text))
    } else {
        Reply::Bulk(Bytes::from(text))
    }
}

// ----- slots ------------------------------------------------------------------------------

fn add_slots(ctx: &mut Ctx<'_>, slots: Vec<u16>) -> CmdResult {
    let s = state(ctx)?;
    let mut seen = vec![false; SLOT_COUNT];
    for &slot in &slots {
        if seen[slot as usize] {
            return Err(CmdError::other(format!(
                "ERR Slot {} specified multiple times",
                slot
            )));
        }
        seen[slot as usize] = true;
        if s.slot_owner_id(slot).is_some() {
            return Err(CmdError::other(format!(
                "ERR Slot {} is already busy",
                slot
            )));
        }
    }
    let me = s.myself;
    for slot in slots {
        s.importing.remove(&slot);
        s.set_slot(slot, me);
    }
    s.mark_dirty();
    let now = ctx.node.clock.mono_ms();
    if let Some(s) = ctx.node.cluster.as_mut() {
        s.update_state(now);
    }
    Ok(Reply::ok())
}

fn del_slots(ctx: &mut Ctx<'_>, slots: Vec<u16>) -> CmdResult {
    let s = state(ctx)?;
    let mut seen = vec![false; SLOT_COUNT];
    for &slot in &slots {
        if seen[slot as usize] {
            return Err(CmdError::other(format!(
                "ERR Slot {} specified multiple times",
                slot
            )));
        }
        seen[slot as usize] = true;
        if s.slot_owner_id(slot).is_none() {
            return Err(CmdError::other(format!(
                "ERR Slot {} is already unassigned",
                slot
            )));
        }
    }
    for slot in slots {
        s.del_slot(slot);
        s.importing.remove(&slot);
        s.migrating.remove(&slot);
    }
    s.mark_dirty();
    let now = ctx.node.clock.mono_ms();
    if let Some(s) = ctx.node.cluster.as_mut() {
        s.update_state(now);
    }
    Ok(Reply::ok())
}

fn slot_list(argv: &[Bytes]) -> Result<Vec<u16>, CmdError> {
    argv[2..].iter().map(|a| parse_slot(a)).collect()
}

fn slot_ranges(argv: &[Bytes], name: &str) -> Result<Vec<u16>, CmdError> {
    if argv.len() % 2 == 1 {
        return Err(CmdError::WrongArity(format!("cluster|{}", name)));
    }
    let mut out = Vec::new();
    for pair in argv[2..].chunks(2) {
        let start = parse_slot(&pair[0])?;
        let end = parse_slot(&pair[1])?;
        if start > end {
            return Err(CmdError::other(format!(
                "ERR start slot number {} is greater than end slot number {}",
                start, end
            )));
        }
        out.extend(start..=end);
    }
    Ok(out)
}

fn addslots(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let slots = slot_list(argv)?;
    add_slots(ctx, slots)
}

fn addslotsrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let slots = slot_ranges(argv, "addslotsrange")?;
    add_slots(ctx, slots)
}

fn delslots(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let slots = slot_list(argv)?;
    del_slots(ctx, slots)
}

fn delslotsrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let slots = slot_ranges(argv, "delslotsrange")?;
    del_slots(ctx, slots)
}

fn keyslot(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(key_slot(&argv[2]) as i64))
}

fn countkeysinslot(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let slot = match super::parse_i64(&argv[2]) {
        Some(n) if (0..SLOT_COUNT as i64).contains(&n) => n as u16,
        _ => return Err(CmdError::other("ERR Invalid slot")),
    };
    Ok(Reply::Integer(ctx.db.slot_len(slot) as i64))
}

fn getkeysinslot(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let slot = super::parse_i64(&argv[2]);
    let count = super::parse_i64(&argv[3]);
    let (Some(slot), Some(count)) = (slot, count) else {
        return Err(CmdError::other("ERR Invalid slot or number of keys"));
    };
    if !(0..SLOT_COUNT as i64).contains(&slot) || count < 0 {
        return Err(CmdError::other("ERR Invalid slot or number of keys"));
    }
    let keys = ctx.db.keys_in_slot(slot as u16, count as usize);
    Ok(Reply::Array(keys.into_iter().map(Reply::Bulk).collect()))
}

/// CLUSTER SETSLOT slot IMPORTING|MIGRATING|STABLE|NODE [node-id]: open, close or bind a
/// slot during a migration (the rules are in `crate::cluster::migration`).
fn setslot(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    use crate::cluster::migration::SetSlotAction;
    if !state(ctx)?.is_master() {
        return Err(CmdError::other("ERR Please use SETSLOT only with masters."));
    }
    let slot = parse_slot(&argv[2])?;
    let action = match (argv[3].to_ascii_lowercase().as_slice(), argv.len()) {
        (b"migrating", 5) => SetSlotAction::Migrating,
        (b"importing", 5) => SetSlotAction::Importing,
        (b"stable", 4) => SetSlotAction::Stable,
        (b"node", 5) => SetSlotAction::Node,
        _ => {
            return Err(CmdError::other(
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            ))
        }
    };
    let keys = ctx.db.slot_len(slot);
    let (now, unix) = (ctx.node.clock.mono_ms(), ctx.node.clock.unix_ms());
    let s = state(ctx)?;
    let epoch_before = s.me().config_epoch;
    // Becoming a replica (last slot given away) reaches the replication layer as an output.
    let _effect = s
        .setslot(now, unix, slot, action, argv.get(4).map(|a| &a[..]), keys)
        .map_err(CmdError::other)?;
    let epoch_bumped = state(ctx)?.me().config_epoch != epoch_before;
    // Redis writes nodes.conf before the reply leaves (clusterBeforeSleep runs before client
    // writes): a node killed right after answering still has the open slot when it restarts.
    // Like Redis, only a configEpoch bump (SETSLOT NODE on the importing node) is fsynced:
    // redis-cli sends five SETSLOTs per slot, and an open slot lost in a power cut is what
    // `--cluster fix` repairs.
    save_config_now(ctx, epoch_bumped);
    Ok(Reply::ok())
}

/// Writes nodes.conf now, with fsync when `durable` (the bus driver's pending save is
/// cleared: it would write the same contents).
pub(crate) fn save_config_now(ctx: &mut Ctx<'_>, durable: bool) {
    let Some(s) = ctx.node.cluster.as_ref() else {
        return;
    };
    let text = nodes_conf_text(s, ctx.node.clock.unix_ms());
    let name = ctx
        .node
        .config
        .get("cluster-config-file")
        .filter(|n| !n.is_empty())
        .unwrap_or("nodes.conf")
        .to_string();
    let written = if durable {
        ctx.node.storage.write_atomic(&name, text.as_bytes())
    } else {
        ctx.node.storage.write_replace(&name, text.as_bytes())
    };
    match written {
        Ok(()) => {
            if let Some(s) = ctx.node.cluster.as_mut() {
                s.config_saved();
            }
        }
        Err(e) => {
            // The pending save stays set: the bus driver tries again.
            let msg = format!("Could not save the cluster config file {}: {}", name, e);
            ctx.node
                .logger
                .log(crate::log::Level::Warning, ctx.node.clock.unix_ms(), &msg);
        }
    }
}

// ----- membership -------------------------------------------------------------------------

fn meet(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 5 {
        return Err(CmdError::WrongArity("cluster|meet".into()));
    }
    let ip_text = String::from_utf8_lossy(&argv[2]).into_owned();
    let port = arg_i64(&argv[3]).map_err(|_| {
        CmdError::other(format!(
            "ERR Invalid base port specified: {}",
            String::from_utf8_lossy(&argv[3])
        ))
    })?;
    let cport = match argv.get(4) {
        Some(c) => arg_i64(c).map_err(|_| {
            CmdError::other(format!(
                "ERR Invalid bus port specified: {}",
                String::from_utf8_lossy(c)
            ))
        })?,
        None => port + 10000,
    };
    let ip: std::net::IpAddr = ip_text.parse().map_err(|_| {
        CmdError::other(format!(
            "ERR Invalid node address specified: {}:{}",
            ip_text, port
        ))
    })?;
    if !(0..=65535).contains(&port) || !(0..=65535).contains(&cport) {
        return Err(CmdError::other(format!(
            "ERR Invalid node address specified: {}:{}",
            ip_text, port
        )));
    }
    let now = ctx.node.clock.mono_ms();
    state(ctx)?.meet(now, &ip.to_string(), port as u16, cport as u16);
    Ok(Reply::ok())
}

fn parse_node_id(arg: &[u8]) -> Option<NodeId> {
    NodeId::parse(arg)
}

fn unknown_node(arg: &[u8]) -> CmdError {
    CmdError::other(format!("ERR Unknown node {}", String::from_utf8_lossy(arg)))
}

fn forget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let now = ctx.node.clock.mono_ms();
    let s = state(ctx)?;
    let id = parse_node_id(&argv[2]).ok_or_else(|| unknown_node(&argv[2]))?;
    if id == s.myself {
        return Err(CmdError::other(
            "ERR I tried hard but I can't forget myself...",
        ));
    }
    if !s.knows(&id) {
        return Err(unknown_node(&argv[2]));
    }
    if !s.is_master() && s.me().master == Some(id) {
        return Err(CmdError::other("ERR Can't forget my master!"));
    }
    s.forget(now, &id).map_err(CmdError::other)?;
    Ok(Reply::ok())
}

fn replicate(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (now, unix) = (ctx.node.clock.mono_ms(), ctx.node.clock.unix_ms());
    let db_empty = ctx.db.is_empty();
    let s = state(ctx)?;
    let id = parse_node_id(&argv[2]).ok_or_else(|| unknown_node(&argv[2]))?;
    let Some(target) = s.nodes.get(&id) else {
        return Err(unknown_node(&argv[2]));
    };
    if id == s.myself {
        return Err(CmdError::other("ERR Can't replicate myself"));
    }
    if !target.is_master() {
        return Err(CmdError::other(
            "ERR I can only replicate a master, not a replica.",
        ));
    }
    if s.is_master() && (s.me().numslots() != 0 || !db_empty) {
        return Err(CmdError::other(
            "ERR To set a master the node must be empty and without assigned slots.",
        ));
    }
    s.set_my_master(now, unix, id);
    Ok(Reply::ok())
}

fn reset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let hard = match argv.get(2) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"soft") => false,
        Some(a) if a.eq_ignore_ascii_case(b"hard") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let now = ctx.node.clock.mono_ms();
    let was_replica = !state(ctx)?.is_master();
    if !was_replica && !ctx.db.is_empty() {
        return Err(CmdError::other(
            "ERR CLUSTER RESET can't be called with master nodes containing keys",
        ));
    }
    if was_replica {
        ctx.db.clear();
    }
    state(ctx)?.reset(now, hard);
    Ok(Reply::ok())
}

fn set_config_epoch(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let epoch = super::parse_i64(&argv[2]).ok_or_else(|| {
        CmdError::other(format!(
            "ERR Invalid config epoch specified: {}",
            String::from_utf8_lossy(&argv[2])
        ))
    })?;
    state(ctx)?
        .set_config_epoch(epoch)
        .map_err(CmdError::other)?;
    Ok(Reply::ok())
}

fn bumpepoch(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let s = state(ctx)?;
    let bumped = s.bump_epoch_without_consensus("BUMPEPOCH");
    let epoch = s.me().config_epoch;
    Ok(Reply::Simple(
        format!("{} {}", if bumped { "BUMPED" } else { "STILL" }, epoch).into(),
    ))
}

fn failover(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mode = match argv.get(2) {
        None => FailoverMode::Default,
        Some(a) if a.eq_ignore_ascii_case(b"force") => FailoverMode::Force,
        Some(a) if a.eq_ignore_ascii_case(b"takeover") => FailoverMode::Takeover,
        Some(_) => return Err(CmdError::Syntax),
    };
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (now, unix) = (ctx.node.clock.mono_ms(), ctx.node.clock.unix_ms());
    let s = state(ctx)?;
    if s.is_master() {
        return Err(CmdError::other(
            "ERR You should send CLUSTER FAILOVER to a replica",
        ));
    }
    s.start_manual_failover(now, unix, mode)
        .map_err(CmdError::other)?;
    Ok(Reply::ok())
}

fn count_failure_reports(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let s = state(ctx)?;
    let id = parse_node_id(&argv[2]).ok_or_else(|| unknown_node(&argv[2]))?;
    if !s.knows(&id) {
        return Err(unknown_node(&argv[2]));
    }
    Ok(Reply::Integer(s.failure_report_count(&id) as i64))
}

fn saveconfig(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let text = match ctx.node.cluster.as_ref() {
        Some(s) => nodes_conf_text(s, ctx.node.clock.unix_ms()),
        None => return Err(CmdError::other(DISABLED)),
    };
    let name = ctx
        .node
        .config
        .get("cluster-config-file")
        .unwrap_or("nodes.conf")
        .to_string();
    ctx.node
        .storage
        .write_atomic(&name, text.as_bytes())
        .map_err(|e| CmdError::other(format!("ERR error saving the cluster node config: {}", e)))?;
    Ok(Reply::ok())
}

fn myid(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::bulk(state(ctx)?.myself.as_str()))
}

// ----- views ------------------------------------------------------------------------------

/// The CLUSTER NODES / nodes.conf line model of one node.
pub fn node_line(s: &ClusterState, n: &ClusterNode, now_ms: u64, unix_ms: u64) -> NodeLine {
    use crate::cluster::wire::flags::*;
    let mut flags = Vec::new();
    let table = [
        (MYSELF, NodeFlag::Myself),
        (MASTER, NodeFlag::Master),
        (SLAVE, NodeFlag::Slave),
        (PFAIL, NodeFlag::PFail),
        (FAIL, NodeFlag::Fail),
        (HANDSHAKE, NodeFlag::Handshake),
        (NOADDR, NodeFlag::NoAddr),
        (NOFAILOVER, NodeFlag::NoFailover),
    ];
    for (bit, flag) in table {
        if n.flags & bit != 0 {
            flags.push(flag);
        }
    }
    let to_unix = |mono: u64| {
        if mono == 0 {
            0
        } else {
            unix_ms.saturating_sub(now_ms.saturating_sub(mono))
        }
    };
    let (migrating, importing) = if n.is_myself() {
        (
            s.migrating.iter().map(|(k, v)| (*k, *v)).collect(),
            s.importing.iter().map(|(k, v)| (*k, *v)).collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    NodeLine {
        id: n.id,
        ip: n.ip.clone(),
        port: n.port,
        cport: n.cport,
        hostname: n.hostname.clone().filter(|h| !h.is_empty()),
        flags,
        master: if n.is_replica() { n.master } else { None },
        ping_sent_ms: to_unix(n.ping_sent_ms),
        pong_recv_ms: if n.is_myself() {
            unix_ms / 1000 * 1000
        } else {
            to_unix(n.pong_received_ms)
        },
        config_epoch: s.shown_config_epoch(n),
        connected: n.link_up(),
        slots: n.slots.clone(),
        migrating,
        importing,
    }
}

/// CLUSTER NODES text: one line per node, each ending with `\n`.
pub fn nodes_text(s: &ClusterState, now_ms: u64, unix_ms: u64, include_handshake: bool) -> String {
    nodes_text_ports(s, now_ms, unix_ms, include_handshake, false)
}

/// CLUSTER NODES text; with `use_pport` each node's plaintext port stands where it has one
/// (a plaintext client of a tls-cluster, as Redis's clusterGenNodesDescription).
fn nodes_text_ports(
    s: &ClusterState,
    now_ms: u64,
    unix_ms: u64,
    include_handshake: bool,
    use_pport: bool,
) -> String {
    let mut out = String::new();
    for n in s.nodes.values() {
        if !include_handshake && n.in_handshake() {
            continue;
        }
        let mut line = node_line(s, n, now_ms, unix_ms);
        if use_pport && n.pport != 0 {
            line.port = n.pport;
        }
        crate::cluster::nodes_conf::format_line(&line, &mut out);
    }
    out
}

/// Whether `client` is told plaintext ports: it is not on TLS and the cluster announces TLS
/// ports (tls-cluster), Redis's `use_pport`.
pub fn use_pport(node: &crate::node::NodeRest, client: &crate::node::Client) -> bool {
    !client.tls && node.tls.as_ref().is_some_and(|t| t.cluster)
}

/// The port to give `client` for node `n` (see [`use_pport`]).
pub fn client_port(
    node: &crate::node::NodeRest,
    client: &crate::node::Client,
    n: &ClusterNode,
) -> u16 {
    if use_pport(node, client) && n.pport != 0 {
        n.pport
    } else {
        n.port
    }
}

/// nodes.conf contents: the node lines (no handshake nodes) and the vars line.
pub fn nodes_conf_text(s: &ClusterState, unix_ms: u64) -> String {
    let mut lines = Vec::new();
    for n in s.nodes.values() {
        if n.in_handshake() {
            continue;
        }
        let mut l = node_line(s, n, 0, unix_ms);
        // Times and link state are not configuration.
        l.ping_sent_ms = 0;
        l.pong_recv_ms = 0;
        lines.push(l);
    }
    crate::cluster::nodes_conf::NodesConf {
        nodes: lines,
        current_epoch: s.current_epoch,
        last_vote_epoch: s.last_vote_epoch,
    }
    .to_text()
}

fn nodes(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let (now, unix) = (ctx.node.clock.mono_ms(), ctx.node.clock.unix_ms());
    let pport = use_pport(ctx.node, ctx.client);
    let s = state(ctx)?;
    let text = nodes_text_ports(s, now, unix, true, pport);
    Ok(text_reply(ctx, text))
}

fn replicas(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (now, unix) = (ctx.node.clock.mono_ms(), ctx.node.clock.unix_ms());
    let pport = use_pport(ctx.node, ctx.client);
    let s = state(ctx)?;
    let id = parse_node_id(&argv[2]).ok_or_else(|| unknown_node(&argv[2]))?;
    let Some(n) = s.nodes.get(&id) else {
        return Err(unknown_node(&argv[2]));
    };
    if !n.is_master() {
        return Err(CmdError::other("ERR The specified node is not a master"));
    }
    let mut out = Vec::new();
    for r in s.replicas_of(&id) {
        let mut line = String::new();
        let mut l = node_line(s, r, now, unix);
        if pport && r.pport != 0 {
            l.port = r.pport;
        }
        crate::cluster::nodes_conf::format_line(&l, &mut line);
        let line = line.trim_end_matches('\n').to_string();
        out.push(Reply::Bulk(Bytes::from(line)));
    }
    Ok(Reply::Array(out))
}

/// The endpoint clients are sent to for a node (cluster-preferred-endpoint-type).
pub fn endpoint(n: &ClusterNode, preferred: &str) -> String {
    match preferred {
        "hostname" => n
            .hostname
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "?".to_string()),
        "unknown-endpoint" => "?".to_string(),
        _ => n.ip.clone(),
    }
}

fn slot_node_entry(n: &ClusterNode, preferred: &str, use_pport: bool) -> Reply {
    let port = if use_pport && n.pport != 0 {
        n.pport
    } else {
        n.port
    };
    let mut meta = Vec::new();
    if preferred != "ip" && !n.ip.is_empty() {
        meta.push((Reply::bulk("ip"), Reply::bulk(&n.ip)));
    }
    Reply::Array(vec![
        Reply::bulk(endpoint(n, preferred)),
        Reply::Integer(port as i64),
        Reply::bulk(n.id.as_str()),
        Reply::Map(meta),
    ])
}

fn slots(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let preferred = ctx
        .node
        .config
        .get("cluster-preferred-endpoint-type")
        .unwrap_or("ip")
        .to_string();
    let pport = use_pport(ctx.node, ctx.client);
    let s = state(ctx)?;
    // One entry per maximal run of one owner, in slot order: each owner's runs, then sorted.
    let mut runs: Vec<(u16, u16, &ClusterNode)> = Vec::new();
    for n in s.nodes.values().filter(|n| n.numslots() > 0) {
        for (a, b) in n.slots.ranges() {
            runs.push((a, b, n));
        }
    }
    runs.sort_by_key(|(a, _, _)| *a);
    let mut out = Vec::with_capacity(runs.len());
    for (start, end, master) in runs {
        let mut entry = vec![
            Reply::Integer(start as i64),
            Reply::Integer(end as i64),
            slot_node_entry(master, &preferred, pport),
        ];
        for r in s.replicas_of(&master.id) {
            if r.is_failed() {
                continue;
            }
            entry.push(slot_node_entry(r, &preferred, pport));
        }
        out.push(Reply::Array(entry));
    }
    Ok(Reply::Array(out))
}

fn shards(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    // Redis takes tls-cluster as saying whether a node's port is its TLS one.
    let tls_cluster = ctx.node.tls.as_ref().is_some_and(|t| t.cluster);
    let s = state(ctx)?;
    let my_offset = s.repl_offset;
    let node_map = |n: &ClusterNode| {
        let offset = if n.is_myself() {
            my_offset
        } else {
            n.repl_offset
        };
        let health = if n.is_failed() {
            "fail"
        } else if n.is_replica() && offset == 0 {
            "loading"
        } else {
            "online"
        };
        let (plaintext_port, tls_port) = if tls_cluster {
            (n.pport, n.port)
        } else {
            (n.port, 0)
        };
        let mut m = vec![(Reply::bulk("id"), Reply::bulk(n.id.as_str()))];
        if plaintext_port != 0 {
            m.push((Reply::bulk("port"), Reply::Integer(plaintext_port as i64)));
        }
        if tls_port != 0 {
            m.push((Reply::bulk("tls-port"), Reply::Integer(tls_port as i64)));
        }
        m.push((Reply::bulk("ip"), Reply::bulk(&n.ip)));
        m.push((Reply::bulk("endpoint"), Reply::bulk(&n.ip)));
        if let Some(h) = n.hostname.as_ref().filter(|h| !h.is_empty()) {
            m.push((Reply::bulk("hostname"), Reply::bulk(h)));
        }
        m.push((
            Reply::bulk("role"),
            Reply::bulk(if n.is_master() { "master" } else { "replica" }),
        ));
        m.push((
            Reply::bulk("replication-offset"),
            Reply::Integer(offset as i64),
        ));
        m.push((Reply::bulk("health"), Reply::bulk(health)));
        Reply::Map(m)
    };
    let mut out = Vec::new();
    for m in s
        .nodes
        .values()
        .filter(|n| n.is_master() && !n.in_handshake())
    {
        let mut slots = Vec::new();
        for (a, b) in m.slots.ranges() {
            slots.push(Reply::Integer(a as i64));
            slots.push(Reply::Integer(b as i64));
        }
        let mut members = vec![node_map(m)];
        members.extend(s.replicas_of(&m.id).into_iter().map(node_map));
        out.push(Reply::Map(vec![
            (Reply::bulk("slots"), Reply::Array(slots)),
            (Reply::bulk("nodes"), Reply::Array(members)),
        ]));
    }
    Ok(Reply::Array(out))
}

fn links(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let unix = ctx.node.clock.unix_ms();
    let s = state(ctx)?;
    let link = |direction: &str, id: &NodeId| {
        Reply::Map(vec![
            (Reply::bulk("direction"), Reply::bulk(direction)),
            (Reply::bulk("node"), Reply::bulk(id.as_str())),
            (Reply::bulk("create-time"), Reply::Integer(unix as i64)),
            (Reply::bulk("events"), Reply::bulk("r")),
            (Reply::bulk("send-buffer-allocated"), Reply::Integer(0)),
            (Reply::bulk("send-buffer-used"), Reply::Integer(0)),
        ])
    };
    // As Redis: one entry per open link, ours ("to") and the peer's ("from").
    let mut out = Vec::new();
    for n in s.nodes.values() {
        if n.is_myself() || !n.link_up() {
            continue;
        }
        out.push(link("to", &n.id));
    }
    for id in s.inbound_peers() {
        if s.nodes.get(&id).is_some_and(|n| !n.is_myself()) {
            out.push(link("from", &id));
        }
    }
    Ok(Reply::Array(out))
}

/// The message type names CLUSTER INFO uses for its counters.
fn message_type_name(kind: u16) -> &'static str {
    match kind {
        0 => "ping",
        1 => "pong",
        2 => "meet",
        3 => "fail",
        4 => "publish",
        5 => "auth-req",
        6 => "auth-ack",
        7 => "update",
        8 => "mfstart",
        9 => "module",
        10 => "publishshard",
        _ => "unknown",
    }
}

/// CLUSTER INFO text.
pub fn info_text(s: &ClusterState) -> String {
    // Every slot is in exactly one node's bitmap, so per-node counts add up to the slot states.
    let (mut assigned, mut ok, mut pfail, mut fail) = (0, 0, 0, 0);
    for n in s.nodes.values() {
        let count = n.numslots();
        assigned += count;
        if n.is_failed() {
            fail += count;
        } else if n.is_pfail() {
            pfail += count;
        } else {
            ok += count;
        }
    }
    let my_epoch = s.shown_config_epoch(s.me());
    let mut out = format!(
        "cluster_state:{}\r\ncluster_slots_assigned:{}\r\ncluster_slots_ok:{}\r\ncluster_slots_pfail:{}\r\ncluster_slots_fail:{}\r\ncluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n",
        if s.state_ok { "ok" } else { "fail" },
        assigned,
        ok,
        pfail,
        fail,
        s.nodes.len(),
        s.size(),
        s.current_epoch,
        my_epoch
    );
    let mut total = 0;
    for (kind, count) in &s.stats.sent {
        if *count > 0 {
            out.push_str(&format!(
                "cluster_stats_messages_{}_sent:{}\r\n",
                message_type_name(*kind),
                count
            ));
            total += count;
        }
    }
    out.push_str(&format!("cluster_stats_messages_sent:{}\r\n", total));
    let mut total = 0;
    for (kind, count) in &s.stats.received {
        if *count > 0 {
            out.push_str(&format!(
                "cluster_stats_messages_{}_received:{}\r\n",
                message_type_name(*kind),
                count
            ));
            total += count;
        }
    }
    out.push_str(&format!("cluster_stats_messages_received:{}\r\n", total));
    out.push_str("total_cluster_links_buffer_limit_exceeded:0\r\n");
    out
}

fn info(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let text = info_text(state(ctx)?);
    Ok(text_reply(ctx, text))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::node::testing::TestNode;

    fn cluster_node() -> TestNode {
        let mut c = Config::default();
        c.set_startup("cluster-enabled", &["yes".into()]).unwrap();
        c.set_startup("port", &["7000".into()]).unwrap();
        TestNode::with_config(c)
    }

    #[test]
    fn fresh_node_views_match_redis() {
        let mut t = cluster_node();
        let nodes = t.run_text(&["CLUSTER", "NODES"]);
        let id = t.run_text(&["CLUSTER", "MYID"]);
        let id = id.split("\r\n").nth(1).unwrap().to_string();
        assert_eq!(
            nodes,
            format!(
                "${}\r\n{} :7000@17000 myself,master - 0 {} 0 connected\n\r\n",
                nodes.split("\r\n").nth(1).unwrap().len(),
                id,
                nodes.split(' ').nth(5).unwrap()
            )
        );
        let info = t.run_text(&["CLUSTER", "INFO"]);
        assert!(info.contains("cluster_state:fail\r\n"));
        assert!(info.contains("cluster_known_nodes:1\r\n"));
        assert_eq!(t.run_text(&["CLUSTER", "KEYSLOT", "key1"]), ":9189\r\n");
    }

    #[test]
    fn addslots_merges_ranges_and_rejects_busy() {
        let mut t = cluster_node();
        let mut args = vec!["CLUSTER".to_string(), "ADDSLOTS".to_string()];
        args.extend((0..=5460).map(|s| s.to_string()));
        args.push("10923".into());
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(t.run_text(&words), "+OK\r\n");
        let nodes = t.run_text(&["CLUSTER", "NODES"]);
        assert!(nodes.contains(" connected 0-5460 10923\n"), "{nodes}");
        assert_eq!(
            t.run_text(&["CLUSTER", "ADDSLOTS", "5"]),
            "-ERR Slot 5 is already busy\r\n"
        );
        assert_eq!(
            t.run_text(&["CLUSTER", "ADDSLOTS", "16384"]),
            "-ERR Invalid or out of range slot\r\n"
        );
        assert_eq!(
            t.run_text(&["CLUSTER", "DELSLOTS", "6000"]),
            "-ERR Slot 6000 is already unassigned\r\n"
        );
        assert_eq!(
            t.run_text(&["CLUSTER", "ADDSLOTSRANGE", "20", "10"]),
            "-ERR start slot number 20 is greater than end slot number 10\r\n"
        );
        let slots = t.run(&["CLUSTER", "SLOTS"]);
        match slots {
            crate::resp::Reply::Array(v) => assert_eq!(v.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn replicate_unknown_node_is_an_error() {
        let mut t = cluster_node();
        let id = "3d145ca78c5cc4fedb95db44fa69943c3756d0d4";
        assert_eq!(
            t.run_text(&["CLUSTER", "REPLICATE", id]),
            format!("-ERR Unknown node {}\r\n", id)
        );
        assert_eq!(t.run_text(&["CLUSTER", "SET-CONFIG-EPOCH", "1"]), "+OK\r\n");
        assert_eq!(
            t.run_text(&["CLUSTER", "SET-CONFIG-EPOCH", "2"]),
            "-ERR Node config epoch is already non-zero\r\n"
        );
        assert_eq!(t.run_text(&["CLUSTER", "BUMPEPOCH"]), "+STILL 1\r\n");
    }

    #[test]
    fn disabled_without_cluster_mode() {
        let mut t = TestNode::new();
        assert_eq!(
            t.run_text(&["CLUSTER", "INFO"]),
            "-ERR This instance has cluster support disabled\r\n"
        );
    }
}

//! Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH SSUBSCRIBE
//! SUNSUBSCRIBE SPUBLISH PUBSUB.
//!
//! Subscribe confirmations are pushes on the client's own channel (see `crate::pubsub`), so a
//! SUBSCRIBE of three channels answers with three replies in order, and the handler itself
//! answers nothing. PUBLISH delivers to local subscribers, then in cluster mode hands the
//! message to the cluster bus for every other node (SPUBLISH: for the other nodes of this
//! shard); without cluster mode it goes down the replication stream, as Redis does.

use super::subcmd::{dispatch, help_reply, SubSpec};
use super::{flags, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;
use bytes::Bytes;

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        group: "pubsub",
        summary,
        handler,
    }
}

const PS: u32 = flags::STALE;

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "subscribe",
        -2,
        PS,
        KeySpec::NONE,
        "Listen for messages published to the given channels",
        subscribe,
    ),
    spec(
        "unsubscribe",
        -1,
        PS,
        KeySpec::NONE,
        "Stop listening for messages posted to the given channels",
        unsubscribe,
    ),
    spec(
        "psubscribe",
        -2,
        PS,
        KeySpec::NONE,
        "Listen for messages published to channels matching the given patterns",
        psubscribe,
    ),
    spec(
        "punsubscribe",
        -1,
        PS,
        KeySpec::NONE,
        "Stop listening for messages posted to channels matching the given patterns",
        punsubscribe,
    ),
    spec(
        "publish",
        3,
        PS | flags::FAST,
        KeySpec::NONE,
        "Post a message to a channel",
        publish,
    ),
    spec(
        "ssubscribe",
        -2,
        PS,
        KeySpec::ALL,
        "Listen for messages published to the given shard channels",
        ssubscribe,
    ),
    spec(
        "sunsubscribe",
        -1,
        PS,
        KeySpec::ALL,
        "Stop listening for messages posted to the given shard channels",
        sunsubscribe,
    ),
    spec(
        "spublish",
        3,
        PS | flags::FAST,
        KeySpec::FIRST,
        "Post a message to a shard channel",
        spublish,
    ),
    spec(
        "pubsub",
        -2,
        PS,
        KeySpec::NONE,
        "A container for Pub/Sub commands",
        pubsub,
    ),
];

/// Commands routed like reads on a replica of the slot's master (Redis's `is_pubsubshard`).
pub fn is_shard_command(name: &str) -> bool {
    matches!(name, "ssubscribe" | "sunsubscribe" | "spublish")
}

/// Commands a RESP2 client in subscribe mode may send.
pub fn allowed_in_subscribe_mode(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

#[derive(Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn sub_word(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsub_word(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }

    fn table(self, hub: &mut crate::pubsub::Hub) -> &mut crate::pubsub::Table {
        match self {
            Kind::Channel => &mut hub.channels,
            Kind::Pattern => &mut hub.patterns,
            Kind::Shard => &mut hub.shard,
        }
    }

    /// The count a (un)subscribe reply carries: channels + patterns, or shard channels.
    fn count(self, hub: &crate::pubsub::Hub, id: u64) -> usize {
        match self {
            Kind::Channel | Kind::Pattern => hub.subscriptions(id),
            Kind::Shard => hub.shard.count(id),
        }
    }
}

fn refresh_mode(ctx: &mut Ctx<'_>) {
    let id = ctx.client.id;
    let hub = &ctx.node.hub;
    ctx.client.subs = hub.subscriptions(id) + hub.shard.count(id);
}

fn subscribe_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], kind: Kind) -> CmdResult {
    let id = ctx.client.id;
    ctx.node.hub.ensure_channel(ctx.client);
    for name in &argv[1..] {
        let name = crate::db::value::own(name);
        kind.table(&mut ctx.node.hub).subscribe(id, &name);
        let count = kind.count(&ctx.node.hub, id);
        ctx.node.hub.push(
            id,
            Reply::Push(vec![
                Reply::bulk(kind.sub_word()),
                Reply::Bulk(name),
                Reply::Integer(count as i64),
            ]),
        );
    }
    refresh_mode(ctx);
    Ok(Reply::NoReply)
}

fn unsubscribe_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], kind: Kind) -> CmdResult {
    let id = ctx.client.id;
    ctx.node.hub.ensure_channel(ctx.client);
    let names: Vec<Bytes> = if argv.len() > 1 {
        argv[1..].to_vec()
    } else {
        kind.table(&mut ctx.node.hub).of_client(id)
    };
    if names.is_empty() {
        let count = kind.count(&ctx.node.hub, id);
        ctx.node.hub.push(
            id,
            Reply::Push(vec![
                Reply::bulk(kind.unsub_word()),
                Reply::Null,
                Reply::Integer(count as i64),
            ]),
        );
    }
    for name in names {
        kind.table(&mut ctx.node.hub).unsubscribe(id, &name);
        let count = kind.count(&ctx.node.hub, id);
        ctx.node.hub.push(
            id,
            Reply::Push(vec![
                Reply::bulk(kind.unsub_word()),
                Reply::Bulk(name),
                Reply::Integer(count as i64),
            ]),
        );
    }
    refresh_mode(ctx);
    Ok(Reply::NoReply)
}

fn subscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, argv, Kind::Channel)
}

fn unsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, argv, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, argv, Kind::Pattern)
}

fn punsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, argv, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, argv, Kind::Shard)
}

fn sunsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, argv, Kind::Shard)
}

/// PUBLISH channel message
fn publish(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (channel, message) = (&argv[1], &argv[2]);
    let n = ctx.node.hub.publish(channel, message);
    if let Some(cluster) = ctx.node.cluster.as_mut() {
        cluster.publish(channel, message, false);
    } else if !ctx.node.repl.is_replica() {
        ctx.node.repl.propagate(&[b"PUBLISH", channel, message]);
    }
    Ok(Reply::Integer(n as i64))
}

/// SPUBLISH shardchannel message
fn spublish(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (channel, message) = (&argv[1], &argv[2]);
    let n = ctx.node.hub.publish_shard(channel, message);
    if let Some(cluster) = ctx.node.cluster.as_mut() {
        cluster.publish(channel, message, true);
    } else if !ctx.node.repl.is_replica() {
        ctx.node.repl.propagate(&[b"SPUBLISH", channel, message]);
    }
    Ok(Reply::Integer(n as i64))
}

pub const SUBCOMMANDS: &[SubSpec] = &[
    SubSpec {
        name: "pubsub|channels",
        arity: -2,
        flags: PS,
        summary: "List active channels",
        handler: channels,
    },
    SubSpec {
        name: "pubsub|help",
        arity: 2,
        flags: PS,
        summary: "Show helpful text about the different subcommands",
        handler: help,
    },
    SubSpec {
        name: "pubsub|numpat",
        arity: 2,
        flags: PS,
        summary: "Get the count of unique patterns pattern subscriptions",
        handler: numpat,
    },
    SubSpec {
        name: "pubsub|numsub",
        arity: -2,
        flags: PS,
        summary: "Get the count of subscribers for channels",
        handler: numsub,
    },
    SubSpec {
        name: "pubsub|shardchannels",
        arity: -2,
        flags: PS,
        summary: "List active shard channels",
        handler: shardchannels,
    },
    SubSpec {
        name: "pubsub|shardnumsub",
        arity: -2,
        flags: PS,
        summary: "Get the count of subscribers for shard channels",
        handler: shardnumsub,
    },
];

fn pubsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    dispatch(ctx, argv, SUBCOMMANDS)
}

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(help_reply(
        "pubsub",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    ))
}

fn list_names(table: &crate::pubsub::Table, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        // Redis's addReplySubcommandSyntaxError.
        return Err(super::CmdError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            super::error::quote_arg(&argv[1], 128)
        )));
    }
    let pattern = argv.get(2);
    Ok(Reply::Array(
        table
            .iter()
            .filter(|(name, _)| pattern.is_none_or(|p| crate::glob::matches(p, name, false)))
            .map(|(name, _)| Reply::Bulk(name.clone()))
            .collect(),
    ))
}

fn count_names(table: &crate::pubsub::Table, argv: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(2 * argv.len().saturating_sub(2));
    for name in &argv[2..] {
        out.push(Reply::Bulk(name.clone()));
        out.push(Reply::Integer(table.subscribers(name) as i64));
    }
    Ok(Reply::Array(out))
}

fn channels(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    list_names(&ctx.node.hub.channels, argv)
}

fn shardchannels(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    list_names(&ctx.node.hub.shard, argv)
}

fn numsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    count_names(&ctx.node.hub.channels, argv)
}

fn shardnumsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    count_names(&ctx.node.hub.shard, argv)
}

fn numpat(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.node.hub.patterns.len() as i64))
}

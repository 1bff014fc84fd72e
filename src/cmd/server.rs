//! Connection and server commands: PING ECHO QUIT HELLO AUTH SELECT. (More being written.)

use super::{arg_i64, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::{Protocol, Reply};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: flags::FAST | flags::STALE,
        keys: KeySpec::NONE,
        group: "connection",
        summary: "Ping the server",
        handler: ping,
    },
    CommandSpec {
        name: "echo",
        arity: 2,
        flags: flags::FAST,
        keys: KeySpec::NONE,
        group: "connection",
        summary: "Echo the given string",
        handler: echo,
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        flags: flags::NO_AUTH | flags::FAST | flags::STALE,
        keys: KeySpec::NONE,
        group: "connection",
        summary: "Close the connection",
        handler: quit,
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: flags::FAST,
        keys: KeySpec::NONE,
        group: "connection",
        summary: "Change the selected database for the current connection",
        handler: select,
    },
];

fn ping(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        1 => Ok(Reply::simple("PONG")),
        2 => Ok(Reply::Bulk(argv[1].clone())),
        _ => Err(CmdError::WrongArity("ping".into())),
    }
    .map(|r| {
        let _ = ctx.proto() == Protocol::Resp3;
        r
    })
}

fn echo(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(argv[1].clone()))
}

fn quit(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    Ok(Reply::ok())
}

fn select(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let db = arg_i64(&argv[1]).map_err(|_| CmdError::other("ERR value is not an integer or out of range"))?;
    if ctx.node.config.cluster_enabled && db != 0 {
        return Err(CmdError::other("ERR SELECT is not allowed in cluster mode"));
    }
    if db != 0 {
        return Err(CmdError::other("ERR DB index is out of range"));
    }
    Ok(Reply::ok())
}

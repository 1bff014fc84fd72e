//! CLUSTER MIGRATESLOTS, GETSLOTMIGRATIONS, CANCELSLOTMIGRATIONS (Valkey 9's atomic slot
//! migration; `CANCELMIGRATION ALL` is accepted as another name of the last) and SYNCSLOTS,
//! the internal command of the source's link to the target. The logic is in `crate::atomic`.

use super::{CmdError, CmdResult, Ctx};
use crate::atomic::{export, import, parse_ranges, Ranges};
use crate::cluster::NodeId;
use crate::resp::Reply;
use bytes::Bytes;

/// `MIGRATESLOTS SLOTSRANGE s e [s e ...] NODE id [SLOTSRANGE ... NODE id ...]`.
fn parse_blocks(args: &[Bytes]) -> Result<Vec<(Ranges, NodeId)>, CmdError> {
    let syntax = || CmdError::other("ERR syntax error");
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if !args[i].eq_ignore_ascii_case(b"slotsrange") {
            return Err(syntax());
        }
        let node_at = args[i + 1..]
            .iter()
            .position(|a| a.eq_ignore_ascii_case(b"node"))
            .map(|p| p + i + 1)
            .ok_or_else(syntax)?;
        let ranges = parse_ranges(&args[i + 1..node_at]).map_err(CmdError::other)?;
        let id_arg = args.get(node_at + 1).ok_or_else(syntax)?;
        let id = NodeId::parse(id_arg).ok_or_else(|| {
            CmdError::other(format!(
                "ERR Unknown node {}",
                String::from_utf8_lossy(id_arg)
            ))
        })?;
        blocks.push((ranges, id));
        i = node_at + 2;
    }
    if blocks.is_empty() {
        return Err(syntax());
    }
    Ok(blocks)
}

pub fn migrateslots(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let blocks = parse_blocks(&argv[2..])?;
    export::start(ctx.db, ctx.node, blocks).map_err(CmdError::other)?;
    Ok(Reply::ok())
}

pub fn getslotmigrations(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(ctx.node.atomic.reply())
}

pub fn cancelslotmigrations(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    export::cancel_all(ctx.node);
    import::cancel_all(ctx.db, ctx.node);
    Ok(Reply::ok())
}

/// `CANCELMIGRATION ALL`.
pub fn cancelmigration(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if !argv[2].eq_ignore_ascii_case(b"all") {
        return Err(CmdError::other("ERR syntax error"));
    }
    cancelslotmigrations(ctx, argv)
}

/// `SYNCSLOTS START name source s e [...] | ACK | FINISH name | DONE name` on the source's
/// link; `SYNCSLOTS MARK name s e [...] | UNMARK name` (target) and `HANDOFF name target s e
/// [...] | ENDHANDOFF name` (source) from the replication stream or AOF.
pub fn syncslots(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let sub = argv[2].to_ascii_lowercase();
    let text = |i: usize| -> Result<String, CmdError> {
        argv.get(i)
            .and_then(|a| std::str::from_utf8(a).ok())
            .map(str::to_string)
            .ok_or_else(|| CmdError::other("ERR syntax error"))
    };
    match sub.as_slice() {
        b"start" => {
            let name = text(3)?;
            let source = argv
                .get(4)
                .and_then(|a| NodeId::parse(a))
                .ok_or_else(|| CmdError::other("ERR Unknown source node"))?;
            let ranges = parse_ranges(argv.get(5..).unwrap_or(&[])).map_err(CmdError::other)?;
            import::start(ctx.node, ctx.client.id, &name, source, ranges)
                .map_err(CmdError::other)?;
            ctx.client.slot_link = true;
            Ok(Reply::ok())
        }
        b"ack" => Ok(Reply::ok()),
        b"finish" => {
            let name = text(3)?;
            import::finish(ctx.node, ctx.client.id, &name).map_err(CmdError::other)?;
            // As SETSLOT NODE after an import: the bumped epoch is on disk before the answer.
            super::cluster::save_config_now(ctx, true);
            Ok(Reply::ok())
        }
        b"done" => {
            let name = text(3)?;
            if ctx.node.atomic.job(&name).is_some() {
                import::end(
                    ctx.db,
                    ctx.node,
                    &name,
                    crate::atomic::JobState::Success,
                    "",
                );
            }
            Ok(Reply::ok())
        }
        b"mark" | b"unmark" => {
            // Only the replication stream (or the AOF) carries these: client id 0.
            if ctx.client.id != 0 {
                return Err(CmdError::other("ERR SYNCSLOTS MARK is internal"));
            }
            if sub.as_slice() == b"mark" {
                let (name, ranges) = import::parse_mark(&argv[3..])
                    .ok_or_else(|| CmdError::other("ERR syntax error"))?;
                import::apply_mark(ctx.node, &name, Some(ranges));
            } else {
                import::apply_mark(ctx.node, &text(3)?, None);
            }
            Ok(Reply::ok())
        }
        b"handoff" | b"endhandoff" => {
            // Only the replication stream (or the AOF) carries these: client id 0.
            if ctx.client.id != 0 {
                return Err(CmdError::other("ERR SYNCSLOTS HANDOFF is internal"));
            }
            if sub.as_slice() == b"handoff" {
                let (name, mark) = crate::atomic::handoff::parse(&argv[3..])
                    .ok_or_else(|| CmdError::other("ERR syntax error"))?;
                crate::atomic::handoff::apply(ctx.node, &name, Some(mark));
            } else {
                crate::atomic::handoff::apply(ctx.node, &text(3)?, None);
            }
            Ok(Reply::ok())
        }
        _ => Err(CmdError::other("ERR unknown SYNCSLOTS subcommand")),
    }
}

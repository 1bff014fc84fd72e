//! Container commands (CONFIG, CLIENT, COMMAND, DEBUG): a table of subcommands per container,
//! dispatched with Redis's errors and listed by COMMAND / COMMAND DOCS.

use super::{CmdError, CmdResult, Ctx, Handler};
use bytes::Bytes;

/// One subcommand of a container command.
#[derive(Debug, Clone, Copy)]
pub struct SubSpec {
    /// Full lowercase name as Redis prints it: `config|get`.
    pub name: &'static str,
    /// Redis's arity, counted over the whole argv (container name included).
    pub arity: i32,
    /// Bits of [`super::flags`].
    pub flags: u32,
    /// One line for COMMAND DOCS and redis-cli's help.
    pub summary: &'static str,
    pub handler: Handler,
}

impl SubSpec {
    /// The part after `|`.
    pub fn short_name(&self) -> &'static str {
        self.name.split_once('|').map_or(self.name, |(_, s)| s)
    }

    fn arity_ok(&self, argc: usize) -> bool {
        if self.arity >= 0 {
            argc == self.arity as usize
        } else {
            argc >= (-self.arity) as usize
        }
    }
}

/// Runs the subcommand named by `argv[1]`. Unknown names get Redis's
/// `unknown subcommand '<arg>'. Try CONFIG HELP.`; a bad argument count gets the arity error
/// naming `container|sub`. The client's `cmd=` (CLIENT LIST) becomes the full name.
pub fn dispatch(ctx: &mut Ctx<'_>, argv: &[Bytes], subs: &'static [SubSpec]) -> CmdResult {
    let container = subs
        .first()
        .map_or("", |s| s.name.split('|').next().unwrap_or(""));
    let Some(word) = argv.get(1) else {
        return Err(CmdError::WrongArity(container.to_string()));
    };
    let Some(sub) = subs
        .iter()
        .find(|s| word.eq_ignore_ascii_case(s.short_name().as_bytes()))
    else {
        return Err(unknown_subcommand(word, container));
    };
    if !sub.arity_ok(argv.len()) {
        return Err(CmdError::WrongArity(sub.name.to_string()));
    }
    ctx.client.last_cmd = sub.name;
    (sub.handler)(ctx, argv)
}

/// `ERR unknown subcommand 'foo'. Try CONFIG HELP.` (the argument cut at 128 bytes, as Redis).
pub fn unknown_subcommand(word: &[u8], container: &str) -> CmdError {
    let mut text = b"ERR unknown subcommand '".to_vec();
    text.extend_from_slice(&super::error::quote_arg_bytes(word, 128));
    text.extend_from_slice(format!("'. Try {} HELP.", container.to_ascii_uppercase()).as_bytes());
    CmdError::Raw(bytes::Bytes::from(text))
}

/// The subcommands of a container command known to this module set, for COMMAND and COMMAND
/// DOCS. Containers written elsewhere list theirs by adding a line here.
pub fn subcommands_of(name: &str) -> &'static [SubSpec] {
    match name {
        "acl" => super::acl::SUBCOMMANDS,
        "client" => super::client::SUBCOMMANDS,
        "command" => super::command::SUBCOMMANDS,
        "config" => super::configcmd::SUBCOMMANDS,
        "cluster" => super::cluster::SUBCOMMANDS,
        "pubsub" => super::pubsub::SUBCOMMANDS,
        "object" => super::object::OBJECT_SUBCOMMANDS,
        "memory" => super::object::MEMORY_SUBCOMMANDS,
        "xgroup" => super::streams::XGROUP_SUBCOMMANDS,
        "xinfo" => super::streams::XINFO_SUBCOMMANDS,
        "script" => super::scripting::SUBCOMMANDS,
        "function" => super::scripting::FUNCTION_SUBCOMMANDS,
        _ => &[],
    }
}

/// A HELP reply: the header line then the lines, each a status reply, as Redis's
/// `addReplyHelp` (which also appends the HELP line itself).
pub fn help_reply(container: &str, lines: &[&'static str]) -> crate::resp::Reply {
    use crate::resp::Reply;
    let upper = container.to_ascii_uppercase();
    let mut out = vec![Reply::Simple(
        format!("{upper} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(lines.iter().map(|l| Reply::simple(l)));
    out.push(Reply::simple("HELP"));
    out.push(Reply::simple("    Prints this help."));
    Reply::Array(out)
}

//! ACL and its subcommands: users (SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI), categories
//! (CAT), permission dry runs (DRYRUN), ACL LOG, the aclfile (LOAD, SAVE) and GENPASS. The
//! users themselves live in `crate::acl`.

use super::subcmd::{self, SubSpec};
use super::{eq_ignore_case, flags, parse_i64, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::acl::{self, categories, describe, node_hooks};
use crate::resp::Reply;
use bytes::Bytes;
use rand::RngCore;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "acl",
    arity: -2,
    flags: 0,
    keys: KeySpec::NONE,
    group: "server",
    summary: "A container for Access List Control commands",
    handler: acl_cmd,
}];

const ADMIN: u32 = flags::ADMIN | flags::STALE;
const PLAIN: u32 = flags::STALE;

pub const SUBCOMMANDS: &[SubSpec] = &[
    sub(
        "acl|cat",
        -2,
        PLAIN,
        "List the ACL categories or the commands inside a category",
        cat,
    ),
    sub(
        "acl|deluser",
        -3,
        ADMIN,
        "Remove the specified ACL users and the associated rules",
        deluser,
    ),
    sub(
        "acl|dryrun",
        -4,
        ADMIN,
        "Returns whether the user can execute the given command without executing the command.",
        dryrun,
    ),
    sub(
        "acl|genpass",
        -2,
        PLAIN,
        "Generate a pseudorandom secure password to use for ACL users",
        genpass,
    ),
    sub(
        "acl|getuser",
        3,
        ADMIN,
        "Get the rules for a specific ACL user",
        getuser,
    ),
    sub(
        "acl|help",
        2,
        PLAIN,
        "Show helpful text about the different subcommands",
        help,
    ),
    sub(
        "acl|list",
        2,
        ADMIN,
        "List the current ACL rules in ACL config file format",
        list,
    ),
    sub(
        "acl|load",
        2,
        ADMIN,
        "Reload the ACLs from the configured ACL file",
        load,
    ),
    sub(
        "acl|log",
        -2,
        ADMIN,
        "List latest events denied because of ACLs in place",
        log,
    ),
    sub(
        "acl|save",
        2,
        ADMIN,
        "Save the current ACL rules in the configured ACL file",
        save,
    ),
    sub(
        "acl|setuser",
        -3,
        ADMIN,
        "Modify or create the rules for a specific ACL user",
        setuser,
    ),
    sub(
        "acl|users",
        2,
        ADMIN,
        "List the username of all the configured ACL rules",
        users,
    ),
    sub(
        "acl|whoami",
        2,
        PLAIN,
        "Return the name of the user associated to the current connection",
        whoami,
    ),
];

const fn sub(
    name: &'static str,
    arity: i32,
    flags: u32,
    summary: &'static str,
    handler: super::Handler,
) -> SubSpec {
    SubSpec {
        name,
        arity,
        flags,
        summary,
        handler,
    }
}

fn acl_cmd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subcmd::dispatch(ctx, argv, SUBCOMMANDS)
}

/// Redis's addReplySubcommandSyntaxError, for argument counts the arity allows but the
/// subcommand does not.
fn syntax_error(argv: &[Bytes]) -> CmdError {
    CmdError::other(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
        String::from_utf8_lossy(&argv[1])
    ))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn setuser(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let name = &argv[2];
    if acl::user::has_spaces(name) {
        return Err(CmdError::other(
            "ERR Usernames can't contain spaces or null characters",
        ));
    }
    let old = ctx.node.acl.users.get(&name[..]).cloned();
    ctx.node
        .acl
        .set_user(name, &argv[3..])
        .map_err(|e| CmdError::other(format!("ERR {e}")))?;
    if let (Some(old), Some(new)) = (old, ctx.node.acl.users.get(&name[..]).cloned()) {
        node_hooks::kill_pubsub_clients_if_needed(ctx.node, ctx.client, &old, &new);
    }
    Ok(Reply::ok())
}

fn deluser(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv[2..].iter().any(|n| &n[..] == acl::DEFAULT_USER) {
        return Err(CmdError::other("ERR The 'default' user cannot be removed"));
    }
    let mut deleted = Vec::new();
    for name in &argv[2..] {
        if ctx.node.acl.users.remove(&name[..]).is_some() {
            deleted.push(name.clone());
        }
    }
    node_hooks::kill_clients_of(ctx.node, ctx.client, &deleted);
    Ok(Reply::Integer(deleted.len() as i64))
}

/// The commands/keys/channels fields of one selector.
fn selector_fields(sel: &acl::user::Selector) -> Vec<(Reply, Reply)> {
    vec![
        (
            Reply::bulk("commands"),
            Reply::bulk(describe::command_rules(sel)),
        ),
        (Reply::bulk("keys"), Reply::bulk(describe::keys_field(sel))),
        (
            Reply::bulk("channels"),
            Reply::bulk(describe::channels_field(sel)),
        ),
    ]
}

fn getuser(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let Some(u) = ctx.node.acl.users.get(&argv[2][..]) else {
        return Ok(Reply::Null);
    };
    let mut fields = vec![
        (
            Reply::bulk("flags"),
            Reply::Set(describe::flags(u).into_iter().map(Reply::bulk).collect()),
        ),
        (
            Reply::bulk("passwords"),
            Reply::Array(u.passwords.iter().map(Reply::bulk).collect()),
        ),
    ];
    fields.extend(selector_fields(u.root()));
    fields.push((
        Reply::bulk("selectors"),
        Reply::Array(
            u.selectors[1..]
                .iter()
                .map(|s| Reply::Map(selector_fields(s)))
                .collect(),
        ),
    ));
    Ok(Reply::Map(fields))
}

fn list(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(
        ctx.node
            .acl
            .users
            .values()
            .map(|u| Reply::bulk(format!("user {} {}", text(&u.name), describe::user(u))))
            .collect(),
    ))
}

fn users(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(
        ctx.node
            .acl
            .users
            .keys()
            .map(|n| Reply::Bulk(n.clone()))
            .collect(),
    ))
}

fn whoami(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(ctx.client.user.clone()))
}

const NO_ACLFILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn aclfile(ctx: &Ctx<'_>) -> Result<String, CmdError> {
    match ctx.node.config.get("aclfile") {
        Some(f) if !f.is_empty() => Ok(f.to_string()),
        _ => Err(CmdError::other(NO_ACLFILE)),
    }
}

/// ACL LOAD: every user from the file, or no change at all; the clients of the users replaced
/// (all but `default`) are closed, as in Redis.
fn load(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let path = aclfile(ctx)?;
    let old: Vec<Bytes> = ctx
        .node
        .acl
        .users
        .keys()
        .filter(|n| &n[..] != acl::DEFAULT_USER)
        .cloned()
        .collect();
    node_hooks::load_file(ctx.node, &path).map_err(|e| CmdError::other(format!("ERR {e}")))?;
    node_hooks::kill_clients_of(ctx.node, ctx.client, &old);
    Ok(Reply::ok())
}

fn save(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let path = aclfile(ctx)?;
    if let Err(e) = node_hooks::save_file(ctx.node, &path) {
        ctx.node.logger.log(
            crate::log::Level::Warning,
            ctx.node.clock.unix_ms(),
            &format!("Writing ACL file for ACL SAVE: {e}"),
        );
        return Err(CmdError::other(
            "ERR There was an error trying to save the ACLs. Please check the server logs for more information",
        ));
    }
    Ok(Reply::ok())
}

fn cat(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        2 => Ok(Reply::Array(
            categories::NAMES.iter().map(Reply::bulk).collect(),
        )),
        3 => {
            let name = text(&argv[2]);
            let Some(bit) = categories::category_bit(&name) else {
                let shown: String = name.chars().take(128).collect();
                return Err(CmdError::other(format!("ERR Unknown category '{shown}'")));
            };
            let reg = categories::registry();
            Ok(Reply::Array(
                reg.cmds
                    .iter()
                    .filter(|c| c.categories & bit != 0)
                    .map(|c| Reply::bulk(&c.fullname))
                    .collect(),
            ))
        }
        _ => Err(syntax_error(argv)),
    }
}

/// Most bits GENPASS makes.
const GENPASS_MAX_BITS: i64 = 4096;

fn genpass(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let bits = match argv.len() {
        2 => 256,
        3 => parse_i64(&argv[2]).ok_or(CmdError::NotInteger)?,
        _ => return Err(syntax_error(argv)),
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Err(CmdError::other(format!(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}"
        )));
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut raw = vec![0u8; chars.div_ceil(2)];
    ctx.node.rng.fill_bytes(&mut raw);
    let mut hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(chars);
    Ok(Reply::bulk(hex))
}

fn log(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let count = match argv.len() {
        2 => 10,
        3 if eq_ignore_case(&argv[2], "reset") => {
            ctx.node.acl.log.entries.clear();
            return Ok(Reply::ok());
        }
        3 => parse_i64(&argv[2]).ok_or(CmdError::NotInteger)?.max(0) as usize,
        _ => return Err(syntax_error(argv)),
    };
    let now = ctx.node.clock.unix_ms();
    let entries = ctx
        .node
        .acl
        .log
        .entries
        .iter()
        .take(count)
        .map(|e| {
            Reply::Map(vec![
                (Reply::bulk("count"), Reply::Integer(e.count as i64)),
                (Reply::bulk("reason"), Reply::bulk(e.reason.text())),
                (Reply::bulk("context"), Reply::bulk(e.context.text())),
                (Reply::bulk("object"), Reply::Bulk(e.object.clone())),
                (Reply::bulk("username"), Reply::Bulk(e.username.clone())),
                (
                    Reply::bulk("age-seconds"),
                    Reply::Double(now.saturating_sub(e.ctime_ms) as f64 / 1000.0),
                ),
                (Reply::bulk("client-info"), Reply::bulk(&e.client_info)),
            ])
        })
        .collect();
    Ok(Reply::Array(entries))
}

/// ACL DRYRUN user command [arg ...]: `+OK`, or why the user may not run it (a bulk string).
fn dryrun(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let Some(user) = ctx.node.acl.users.get(&argv[2][..]) else {
        return Err(CmdError::other(format!(
            "ERR User '{}' not found",
            text(&argv[2])
        )));
    };
    let args = &argv[3..];
    let not_found = || CmdError::other(format!("ERR Command '{}' not found", text(&args[0])));
    let spec = super::lookup(&args[0]).ok_or_else(not_found)?;
    let reg = categories::registry();
    let id = reg.id_of(spec, args);
    let info = &reg.cmds[id];
    // A container named with an unknown subcommand is no command (Redis's lookupCommand).
    if !info.children.is_empty() && args.len() >= 2 {
        return Err(not_found());
    }
    let arity = match info.parent {
        Some(_) => subcmd::subcommands_of(spec.name)
            .iter()
            .find(|s| s.name == info.fullname)
            .map_or(spec.arity, |s| s.arity),
        None => spec.arity,
    };
    let argc = args.len() as i32;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(CmdError::other(format!(
            "ERR wrong number of arguments for '{}' command",
            info.fullname
        )));
    }
    Ok(match acl::check_user(user, spec, args) {
        Ok(()) => Reply::ok(),
        Err(acl::Denied::Command) => Reply::bulk(format!(
            "This user has no permissions to run the '{}' command",
            info.fullname
        )),
        Err(acl::Denied::Key(i)) => Reply::bulk(format!(
            "This user has no permissions to access the '{}' key",
            text(&args[i])
        )),
        Err(acl::Denied::Channel(i)) => Reply::bulk(format!(
            "This user has no permissions to access the '{}' channel",
            text(&args[i])
        )),
    })
}

const HELP: &[&str] = &[
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(subcmd::help_reply("acl", HELP))
}

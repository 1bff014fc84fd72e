//! Persistence commands: SAVE BGSAVE LASTSAVE BGREWRITEAOF SHUTDOWN (the work is in
//! `crate::persist`).

use super::{eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::node::NodeView;
use crate::persist::{self, ShutdownSave};
use crate::resp::Reply;
use bytes::Bytes;

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
        "save",
        1,
        flags::ADMIN,
        "Synchronously save the dataset to disk",
        save,
    ),
    spec(
        "bgsave",
        -1,
        flags::ADMIN,
        "Asynchronously save the dataset to disk",
        bgsave,
    ),
    spec(
        "lastsave",
        1,
        flags::FAST | flags::STALE,
        "Get the UNIX time stamp of the last successful save to disk",
        lastsave,
    ),
    spec(
        "bgrewriteaof",
        1,
        flags::ADMIN,
        "Asynchronously rewrite the append-only file",
        bgrewriteaof,
    ),
    spec(
        "shutdown",
        -1,
        flags::ADMIN | flags::STALE,
        "Synchronously save the dataset to disk and then shut down the server",
        shutdown,
    ),
];

fn save(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.node.persist.bgsave_in_progress() {
        return Err(CmdError::other("ERR Background save already in progress"));
    }
    let mut view = NodeView {
        db: ctx.db,
        rest: ctx.node,
    };
    match persist::save(&mut view) {
        Ok(()) => Ok(Reply::ok()),
        Err(_) => Err(CmdError::other("ERR")),
    }
}

fn bgsave(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let schedule = match argv.len() {
        1 => false,
        2 if eq_ignore_case(&argv[1], "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    let p = &ctx.node.persist;
    if p.bgsave_in_progress() {
        return Err(CmdError::other("ERR Background save already in progress"));
    }
    if p.job.is_some() && schedule {
        ctx.node.persist.bgsave_scheduled = true;
        return Ok(Reply::Simple("Background saving scheduled".into()));
    }
    match persist::bgsave(ctx.node, ctx.db) {
        Ok(()) => Ok(Reply::Simple("Background saving started".into())),
        Err(e) => Err(CmdError::other(e)),
    }
}

fn lastsave(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.node.persist.lastsave_unix_s as i64))
}

fn bgrewriteaof(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let p = &ctx.node.persist;
    if p.rewrite_in_progress() {
        return Err(CmdError::other(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if p.job.is_some() {
        ctx.node.persist.rewrite_scheduled = true;
        return Ok(Reply::Simple(
            "Background append only file rewriting scheduled".into(),
        ));
    }
    match persist::rewrite(ctx.node, ctx.db) {
        Ok(()) => Ok(Reply::Simple(
            "Background append only file rewriting started".into(),
        )),
        Err(_) => Err(CmdError::other(
            "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.",
        )),
    }
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: fsyncs the AOF, saves when asked or when save
/// points are configured, then stops the node (the connection closes without a reply, as with
/// Redis). With FORCE a failed save does not prevent the shutdown.
fn shutdown(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut mode = ShutdownSave::Default;
    let mut force = false;
    for a in &argv[1..] {
        if eq_ignore_case(a, "nosave") {
            mode = ShutdownSave::NoSave;
        } else if eq_ignore_case(a, "save") {
            mode = ShutdownSave::Save;
        } else if eq_ignore_case(a, "force") {
            force = true;
        } else if eq_ignore_case(a, "now") {
        } else if eq_ignore_case(a, "abort") {
            return Err(CmdError::other("ERR No shutdown in progress."));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut view = NodeView {
        db: ctx.db,
        rest: ctx.node,
    };
    if persist::prepare_shutdown(&mut view, mode).is_err() && !force {
        return Err(CmdError::other(
            "ERR Errors trying to SHUTDOWN. Check logs.",
        ));
    }
    ctx.node.persist.shutdown.notify_one();
    ctx.client.close_after_reply = true;
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::node::testing::TestNode;

    fn node() -> TestNode {
        let mut c = Config::default();
        c.set("save", "").unwrap();
        TestNode::with_config(c)
    }

    /// Runs the cron until the background job is done.
    fn wait_job(t: &mut TestNode) {
        for _ in 0..500 {
            t.node.cron();
            if t.node.rest.persist.job.is_none() {
                return;
            }
            // Test only (never in the simulator): the job runs on a real thread here.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("background job did not finish");
    }

    #[test]
    fn save_bgsave_lastsave_like_redis() {
        let mut t = node();
        t.run(&["SET", "a", "1"]);
        t.run(&["RPUSH", "l", "x", "y"]);
        assert_eq!(t.node.rest.repl.tap.dirty, 2);
        assert_eq!(t.run_text(&["SAVE"]), "+OK\r\n");
        assert_eq!(t.node.rest.repl.tap.dirty, 0);
        let bytes = t.node.rest.storage.read("dump.rdb").unwrap().unwrap();
        let snap = crate::rdb::read_snapshot(&bytes).unwrap();
        assert_eq!(snap.entries.len(), 2);
        assert!(snap.aux.contains_key("repl-id"));
        t.run(&["SET", "b", "2"]);
        assert_eq!(t.run_text(&["BGSAVE"]), "+Background saving started\r\n");
        assert_eq!(
            t.run_text(&["BGSAVE"]),
            "-ERR Background save already in progress\r\n"
        );
        assert_eq!(
            t.run_text(&["SAVE"]),
            "-ERR Background save already in progress\r\n"
        );
        assert_eq!(t.run_text(&["BGSAVE", "x"]), "-ERR syntax error\r\n");
        wait_job(&mut t);
        let bytes = t.node.rest.storage.read("dump.rdb").unwrap().unwrap();
        assert_eq!(crate::rdb::read_snapshot(&bytes).unwrap().entries.len(), 3);
        let info = t.run_text(&["INFO", "persistence"]);
        assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
        assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
        assert!(info.contains("rdb_saves:2"), "{info}");
        assert!(t.run_text(&["LASTSAVE"]).starts_with(':'));
    }

    #[test]
    fn loading_refuses_data_commands() {
        let mut t = node();
        t.node.rest.persist.loading = Some(Default::default());
        assert_eq!(
            t.run_text(&["GET", "a"]),
            "-LOADING Redis is loading the dataset in memory\r\n"
        );
        assert_eq!(
            t.run_text(&["PING"]),
            "-LOADING Redis is loading the dataset in memory\r\n"
        );
        let info = t.run_text(&["INFO", "persistence"]);
        assert!(info.contains("loading:1\r\n"), "{info}");
        t.node.rest.persist.loading = None;
        assert_eq!(t.run_text(&["GET", "a"]), "$-1\r\n");
    }

    #[test]
    fn failed_bgsave_denies_writes_with_save_points() {
        let storage = crate::storage::MemStorage::new();
        let mut c = Config::default();
        c.set("save", "3600 1").unwrap();
        let mut t = TestNode::with_config(c);
        t.node.rest.storage = std::sync::Arc::new(storage.clone());
        storage.fail_next_writes(crate::storage::DiskFault::NoSpace, 1);
        assert_eq!(t.run_text(&["BGSAVE"]), "+Background saving started\r\n");
        wait_job(&mut t);
        assert!(t
            .run_text(&["INFO", "persistence"])
            .contains("rdb_last_bgsave_status:err"));
        assert!(t
            .run_text(&["SET", "a", "1"])
            .starts_with("-MISCONF Redis is configured"));
        assert_eq!(t.run_text(&["GET", "a"]), "$-1\r\n");
        assert_eq!(t.run_text(&["BGSAVE"]), "+Background saving started\r\n");
        wait_job(&mut t);
        assert_eq!(t.run_text(&["SET", "a", "1"]), "+OK\r\n");
    }
}

//! DEBUG RELOAD and DEBUG LOADAOF: the dataset saved and loaded back while the client waits.
//!
//! Redis's test suites lean on both to check that every type (and the FUNCTION libraries)
//! survives the RDB and AOF codecs. They run under the node lock, as Redis runs them on its
//! only thread; the loading at startup (`super::load_at_startup`) is the same codec, done in
//! batches so that clients can be answered -LOADING meanwhile.

use super::aof::{self, Names, Next};
use crate::db::{Db, ExpiryMode};
use crate::log::Level;
use crate::node::{Client, NodeRest};
use bytes::Bytes;

/// DEBUG RELOAD's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadOptions {
    /// Save the RDB file first (not with NOSAVE).
    pub save: bool,
    /// Empty the dataset and the libraries first (not with NOFLUSH).
    pub flush: bool,
    /// MERGE: a key or library already there is replaced instead of failing the load.
    pub merge: bool,
}

impl ReloadOptions {
    /// Parses `DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]`'s options; Err is the reply text.
    pub fn parse(args: &[Bytes]) -> Result<ReloadOptions, &'static str> {
        let mut o = ReloadOptions {
            save: true,
            flush: true,
            merge: false,
        };
        for a in args {
            if a.eq_ignore_ascii_case(b"merge") {
                o.merge = true;
            } else if a.eq_ignore_ascii_case(b"noflush") {
                o.flush = false;
            } else if a.eq_ignore_ascii_case(b"nosave") {
                o.save = false;
            } else {
                return Err(
                    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
                );
            }
        }
        Ok(o)
    }
}

/// DEBUG RELOAD: saves the RDB file (with the libraries), empties the node, loads the file.
pub fn debug_reload(db: &mut Db, rest: &mut NodeRest, o: ReloadOptions) -> Result<(), String> {
    let name = super::dbfilename(rest);
    if o.save {
        let bytes = super::encode_db(db, rest, &super::snapshot_aux(rest, false));
        rest.storage
            .write_atomic(&name, &bytes)
            .map_err(|e| format!("ERR {}", aof::strerror(&e)))?;
    }
    let failed = || "ERR Error trying to load the RDB dump".to_string();
    let bytes = match rest.storage.read(&name) {
        Ok(Some(b)) => b,
        _ => return Err(failed()),
    };
    let snap = crate::rdb::read_snapshot(&bytes).map_err(|_| failed())?;
    if o.flush {
        db.clear();
        rest.scripting.flush_functions();
    }
    for code in &snap.functions {
        rest.scripting
            .load_library(code, o.merge)
            .map_err(|_| failed())?;
    }
    let now = rest.clock.unix_ms();
    db.set_now(now);
    let master = !rest.repl.is_replica();
    for (key, value, expire) in snap.entries {
        if master && expire.is_some_and(|t| t <= now) {
            continue;
        }
        if !o.merge && db.peek(&key).is_some() {
            return Err(failed());
        }
        db.insert_loaded(key, value, expire);
    }
    db.settle();
    rest.logger
        .log(Level::Warning, now, "DB reloaded by DEBUG RELOAD");
    Ok(())
}

/// DEBUG LOADAOF: fsyncs the AOF, empties the node and loads every file of the manifest
/// (an RDB preamble base, then the commands). Nothing it applies is written to the AOF or
/// sent to replicas again.
pub fn debug_loadaof(db: &mut Db, rest: &mut NodeRest) -> Result<(), String> {
    finish_running_job(rest);
    if let Some(sink) = rest.repl.tap.aof.as_mut() {
        let _ = sink.sync_now();
    }
    db.clear();
    rest.scripting.flush_functions();
    let names = Names::from_config(&rest.config);
    let storage = rest.storage.clone();
    let Some(manifest) = names.read_manifest(&*storage)? else {
        return Ok(());
    };
    // Applied commands must not be appended to the file they come from.
    let sink = rest.repl.tap.aof.take();
    let held = rest.repl.hold();
    let result = load_files(db, rest, &names, &manifest, &*storage);
    if held {
        rest.repl.held_truncate(0);
        rest.repl.release(false);
    }
    rest.repl.tap.aof = sink;
    let now = rest.clock.unix_ms();
    rest.logger.log(
        Level::Warning,
        now,
        "Append Only File loaded by DEBUG LOADAOF",
    );
    result
}

fn load_files(
    db: &mut Db,
    rest: &mut NodeRest,
    names: &Names,
    manifest: &aof::Manifest,
    storage: &dyn crate::storage::Storage,
) -> Result<(), String> {
    for f in manifest.base.iter().chain(manifest.incrs.iter()) {
        let bytes = match storage.read(&names.path(&f.name)) {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e) => return Err(format!("ERR {}", aof::strerror(&e))),
        };
        if bytes.starts_with(b"REDIS") {
            let snap = crate::rdb::read_snapshot(&bytes).map_err(|e| {
                format!(
                    "ERR Bad file format reading the append only file {}: {e}",
                    f.name
                )
            })?;
            for code in &snap.functions {
                rest.scripting
                    .load_library(code, true)
                    .map_err(|e| format!("ERR {e}"))?;
            }
            let now = rest.clock.unix_ms();
            db.set_now(now);
            for (key, value, expire) in snap.entries {
                db.insert_loaded(key, value, expire);
            }
            db.settle();
            continue;
        }
        let data = Bytes::from(bytes);
        let mut pos = 0usize;
        let mut multi: Option<Vec<Vec<Bytes>>> = None;
        loop {
            match aof::next_command(&data, pos) {
                Next::Command(argv, next) => {
                    pos = next;
                    let name = &argv[0];
                    if name.eq_ignore_ascii_case(b"multi") {
                        multi = Some(Vec::new());
                    } else if name.eq_ignore_ascii_case(b"exec") {
                        for c in multi.take().unwrap_or_default() {
                            apply(db, rest, &c);
                        }
                    } else if let Some(cmds) = multi.as_mut() {
                        cmds.push(argv);
                    } else {
                        apply(db, rest, &argv);
                    }
                }
                Next::Corrupt(at, why) => {
                    return Err(format!(
                    "ERR Bad file format reading the append only file {} at offset {at} ({why})",
                    f.name
                ))
                }
                // A truncated tail or an open MULTI at the end is left out, as at startup.
                _ => break,
            }
        }
    }
    Ok(())
}

/// Runs one loaded command's handler as a master's stream is applied (no reply, no
/// propagation through `call`, keys never expire underneath it).
fn apply(db: &mut Db, rest: &mut NodeRest, argv: &[Bytes]) {
    let name = &argv[0];
    if name.eq_ignore_ascii_case(b"select")
        || name.eq_ignore_ascii_case(b"ping")
        || name.eq_ignore_ascii_case(b"replconf")
    {
        return;
    }
    let Some(spec) = crate::cmd::lookup(name) else {
        return;
    };
    if !spec.arity_ok(argv.len()) {
        return;
    }
    let saved = db.expiry;
    db.expiry = ExpiryMode::Ignore;
    let now_ms = rest.clock.unix_ms();
    db.set_now(now_ms);
    let mut client = Client::new(0, String::new(), String::new(), 0, true);
    let mut ctx = crate::cmd::Ctx {
        db: &mut *db,
        node: &mut *rest,
        client: &mut client,
        now_ms,
    };
    let _ = (spec.handler)(&mut ctx, argv);
    db.settle();
    db.expiry = saved;
}

/// Lets a background save or AOF rewrite end first (CONFIG SET appendonly yes starts the
/// rewrite that writes the base the manifest will name): Redis's DEBUG LOADAOF reads the
/// files as they are once that is done. Real node only: in the simulator the job is a task of
/// the same thread and cannot be waited for here.
fn finish_running_job(rest: &mut NodeRest) {
    #[cfg(not(madsim))]
    if let Some(job) = rest.persist.job.take() {
        let start = std::time::Instant::now();
        let result = loop {
            let done = job.result.lock().ok().and_then(|mut g| g.take());
            if let Some(r) = done {
                break r;
            }
            if start.elapsed() > std::time::Duration::from_secs(60) {
                break Err("the background job did not end".to_string());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        super::finish_job(rest, job, result);
    }
    #[cfg(madsim)]
    let _ = rest;
}

//! Persistence: RDB snapshots (SAVE, BGSAVE, `save` points, loading at start) and the
//! append-only file (see [`aof`]), all through the node's [`Storage`](crate::storage::Storage).
//!
//! # BGSAVE without fork
//!
//! Redis forks and lets copy-on-write pages keep the child's view of the dataset. A Rust node
//! cannot fork a multi-threaded process safely, so a background save (and an AOF rewrite, whose
//! base is the same RDB snapshot) **clones the keyspace under the node lock**: every key and
//! every string value is a [`Bytes`](bytes::Bytes), whose clone is a reference-count increment,
//! while lists, hashes, sets and sorted sets are deep-copied (their elements are again `Bytes`,
//! so the copy is the containers' spine, not the element bytes). The clone is then serialized to
//! RDB and written (temp file, fsync, rename) by a background thread (a task in the simulator),
//! while clients keep being served.
//!
//! Memory cost: for the duration of the save, one entry (key handle, value handle or container
//! copy, expire time: ~56 bytes) per key, plus the containers' spines (~24-40 bytes per
//! element), plus the serialized file itself (built in memory, then written). String bytes are
//! never copied. Pause: the clone runs under the lock; the log line "Background saving started"
//! reports it. Measured (`tests/persist_rdb.rs`, release build): 1,000,000 small string keys
//! cloned in ~70 ms (BGSAVE answers after that), the whole save took ~345 ms, and PINGs sent
//! while the background thread serialized and wrote saw at most ~4 ms.
//!
//! # Loading
//!
//! [`load_at_startup`] runs after the client port is bound and before the cron and the cluster
//! bus start: the file is decoded off the lock, then inserted in batches that release the lock
//! between them, so clients connecting meanwhile see `loading:1` in INFO and `-LOADING` for
//! data commands, as with Redis.

pub mod aof;
pub mod group_sync;
pub mod reload;

use crate::cmd::{CmdError, CommandSpec};
use crate::db::{Db, Entry};
use crate::log::Level;
use crate::node::{Node, NodeRest, NodeView};
use aof::{AofSink, FileType, Fsync, Manifest, ManifestFile, Names, Next};
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Keys inserted (or AOF commands applied) per lock hold while loading.
const LOAD_BATCH: usize = 10_000;
/// Redis waits this long before retrying a failed automatic BGSAVE.
const BGSAVE_RETRY_MS: u64 = 5_000;

/// The error every data command gets while the dataset loads.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// Sits on the replication stream (see `ReplState::feed`): counts changes for `save` points and
/// appends every command to the AOF, byte for byte what replicas receive.
#[derive(Default)]
pub struct Tap {
    /// Write commands since the last successful save (rdb_changes_since_last_save).
    pub dirty: u64,
    /// The open AOF, when appendonly is on.
    pub aof: Option<AofSink>,
}

impl Tap {
    /// One command of the stream.
    pub fn on_feed(&mut self, bytes: &[u8]) {
        // The stream's keepalives are not data.
        if bytes.starts_with(b"*1\r\n$4\r\nPING\r\n") || bytes.starts_with(b"*3\r\n$8\r\nREPLCONF")
        {
            return;
        }
        if !bytes.starts_with(b"*2\r\n$6\r\nSELECT\r\n") {
            self.dirty += 1;
        }
        if let Some(aof) = self.aof.as_mut() {
            aof.write(bytes);
        }
    }
}

/// What the background job produces: bytes written, or the error text.
type JobResult = Arc<Mutex<Option<Result<u64, String>>>>;

/// A background save or AOF rewrite in progress.
pub struct Job {
    pub kind: JobKind,
    pub started_mono_ms: u64,
    result: JobResult,
    cancel: Arc<AtomicBool>,
    /// The dirty counter when the snapshot was taken.
    dirty_at_start: u64,
    /// Keys in the snapshot (INFO current_save_keys_total).
    pub keys_total: u64,
}

/// Which job.
pub enum JobKind {
    Rdb,
    Rewrite {
        base: ManifestFile,
        /// The incremental file that started with the rewrite (None when the AOF is off).
        incr: Option<ManifestFile>,
    },
}

/// Loading progress (INFO loading_*).
#[derive(Debug, Clone, Default)]
pub struct Loading {
    pub start_unix_s: u64,
    pub total_bytes: u64,
    pub loaded_bytes: u64,
}

/// The node's persistence state (in `NodeRest`).
pub struct Persist {
    /// Some while the dataset loads.
    pub loading: Option<Loading>,
    /// Unix seconds of the last successful save (LASTSAVE).
    pub lastsave_unix_s: u64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_time_sec: i64,
    last_bgsave_try_ms: u64,
    pub rdb_saves: u64,
    pub load_keys_loaded: u64,
    pub load_keys_expired: u64,
    pub job: Option<Job>,
    pub bgsave_scheduled: bool,
    pub rewrite_scheduled: bool,
    last_rewrite_try_ms: u64,
    pub aof_rewrites: u64,
    pub aof_last_rewrite_ok: bool,
    pub aof_last_rewrite_time_sec: i64,
    pub aof_rewrite_failures: u64,
    /// The AOF is on (appendonly yes in effect).
    pub aof_on: bool,
    /// The manifest on disk describes the AOF being appended to (false while the first rewrite
    /// after CONFIG SET appendonly yes runs).
    pub manifest_persisted: bool,
    pub manifest: Manifest,
    /// Notified when SHUTDOWN decided to stop the node.
    pub shutdown: Arc<tokio::sync::Notify>,
    /// What the AOF does when `appendfsync always` cannot write: Redis exits.
    pub on_fatal: Arc<dyn Fn(&str) + Send + Sync>,
    /// The replication id last seen by the cron (a replica's full sync changes it).
    seen_replid: String,
    /// Microseconds the last snapshot clone held the lock (Redis's latest_fork_usec).
    pub latest_fork_usec: u64,
}

impl Persist {
    pub fn new(
        started_unix_ms: u64,
        logger: Arc<crate::log::Logger>,
        clock: Arc<crate::clock::Clock>,
    ) -> Persist {
        let on_fatal: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(move |msg: &str| {
            logger.log(Level::Warning, clock.unix_ms(), msg);
            #[cfg(not(madsim))]
            std::process::exit(1);
            #[cfg(madsim)]
            panic!("{msg}");
        });
        Persist {
            loading: None,
            lastsave_unix_s: started_unix_ms / 1000,
            last_bgsave_ok: true,
            last_bgsave_time_sec: -1,
            last_bgsave_try_ms: 0,
            rdb_saves: 0,
            load_keys_loaded: 0,
            load_keys_expired: 0,
            job: None,
            bgsave_scheduled: false,
            rewrite_scheduled: false,
            last_rewrite_try_ms: 0,
            aof_rewrites: 0,
            aof_last_rewrite_ok: true,
            aof_last_rewrite_time_sec: -1,
            aof_rewrite_failures: 0,
            aof_on: false,
            manifest_persisted: false,
            manifest: Manifest::default(),
            shutdown: Arc::new(tokio::sync::Notify::new()),
            on_fatal,
            seen_replid: String::new(),
            latest_fork_usec: 0,
        }
    }

    pub fn bgsave_in_progress(&self) -> bool {
        matches!(
            self.job,
            Some(Job {
                kind: JobKind::Rdb,
                ..
            })
        )
    }

    pub fn rewrite_in_progress(&self) -> bool {
        matches!(
            self.job,
            Some(Job {
                kind: JobKind::Rewrite { .. },
                ..
            })
        )
    }
}

/// Commands Redis serves while loading (its CMD_LOADING flag).
fn allowed_while_loading(name: &str) -> bool {
    matches!(
        name,
        "info"
            | "config"
            | "command"
            | "hello"
            | "auth"
            | "client"
            | "quit"
            | "shutdown"
            | "role"
            | "debug"
            | "select"
            | "lastsave"
            | "time"
            | "replconf"
            | "cluster"
            | "readonly"
            | "readwrite"
            | "asking"
    )
}

/// Whether a command must be refused before it runs: `-LOADING` while loading, `-MISCONF` for
/// writes on a master whose last background save or AOF write failed.
pub fn refuse(rest: &NodeRest, spec: &CommandSpec) -> Option<CmdError> {
    if rest.persist.loading.is_some() && !allowed_while_loading(spec.name) {
        return Some(CmdError::other(LOADING_ERROR));
    }
    if (spec.is_write() || spec.name == "ping") && !rest.repl.is_replica() {
        if let Some(err) = rest
            .repl
            .tap
            .aof
            .as_ref()
            .and_then(|a| a.last_error.as_ref())
        {
            return Some(CmdError::other(format!(
                "MISCONF Errors writing to the AOF file: {}",
                err
            )));
        }
        if !rest.persist.last_bgsave_ok
            && rest.config.bool("stop-writes-on-bgsave-error")
            && !save_points(&rest.config).is_empty()
        {
            return Some(CmdError::other(
                "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
            ));
        }
    }
    None
}

/// The `save` option as (seconds, changes) pairs.
pub fn save_points(config: &crate::config::Config) -> Vec<(u64, u64)> {
    let words: Vec<u64> = config
        .get("save")
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    words
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0], c[1]))
        .collect()
}

fn dbfilename(rest: &NodeRest) -> String {
    rest.config
        .get("dbfilename")
        .filter(|n| !n.is_empty())
        .unwrap_or("dump.rdb")
        .to_string()
}

fn log(rest: &NodeRest, level: Level, msg: &str) {
    rest.logger.log(level, rest.clock.unix_ms(), msg);
}

/// The AUX fields of a snapshot: replication id and offset (a restarted replica continues from
/// them), and `aof-base` for an AOF base file.
fn snapshot_aux(rest: &NodeRest, aof_base: bool) -> Vec<(&'static str, String)> {
    vec![
        ("ctime", (rest.clock.unix_ms() / 1000).to_string()),
        ("repl-stream-db", "0".to_string()),
        ("repl-id", rest.repl.replid.clone()),
        ("repl-offset", rest.repl.offset.to_string()),
        ("aof-base", if aof_base { "1" } else { "0" }.to_string()),
    ]
}

/// A whole RDB file of the dataset.
fn encode(
    entries: impl Iterator<Item = (Bytes, Entry)>,
    aux: &[(&'static str, String)],
    functions: &[Bytes],
) -> Vec<u8> {
    let entries: Vec<(Bytes, Entry)> = entries.collect();
    let mut out = Vec::new();
    crate::rdb::write_snapshot_with_functions(
        entries.iter().map(|(k, e)| (k, e)),
        aux,
        functions,
        &mut out,
    );
    out
}

/// Serializes straight from the keyspace (SAVE, shutdown: the node is blocked anyway), with
/// the FUNCTION libraries.
fn encode_db(db: &Db, rest: &NodeRest, aux: &[(&'static str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let functions = rest.scripting.library_codes();
    crate::rdb::write_snapshot_with_functions(db.entries(), aux, &functions, &mut out);
    out
}

/// The copy a background job serializes (see the module documentation).
fn clone_dataset(db: &Db) -> Vec<(Bytes, Entry)> {
    let mut v = Vec::with_capacity(db.len());
    v.extend(
        db.entries()
            .map(|(k, e)| (Bytes::copy_from_slice(k), e.clone())),
    );
    v
}

/// SAVE: writes the RDB file now, blocking the node.
pub fn save(view: &mut NodeView<'_>) -> Result<(), String> {
    let rest = &mut *view.rest;
    let name = dbfilename(rest);
    let bytes = encode_db(view.db, rest, &snapshot_aux(rest, false));
    match rest.storage.write_atomic(&name, &bytes) {
        Ok(()) => {
            rest.persist.lastsave_unix_s = rest.clock.unix_ms() / 1000;
            rest.persist.last_bgsave_ok = true;
            rest.persist.rdb_saves += 1;
            rest.repl.tap.dirty = 0;
            log(rest, Level::Notice, "DB saved on disk");
            Ok(())
        }
        Err(e) => {
            let msg = format!(
                "Failed opening the temp RDB file {} (in server root dir): {}",
                name,
                aof::strerror(&e)
            );
            log(rest, Level::Warning, &msg);
            rest.persist.last_bgsave_ok = false;
            Err(msg)
        }
    }
}

/// Runs `work` away from the node: a thread in the real binary, a task in the simulator.
fn spawn_work(work: Box<dyn FnOnce() -> Result<u64, String> + Send>, result: JobResult) {
    #[cfg(not(madsim))]
    {
        let slot = result.clone();
        let spawned = std::thread::Builder::new()
            .name("keyslot-bgsave".into())
            .spawn(move || {
                let r = work();
                if let Ok(mut g) = slot.lock() {
                    *g = Some(r);
                }
            });
        if let Err(e) = spawned {
            if let Ok(mut g) = result.lock() {
                *g = Some(Err(format!("Can't save in background: {}", e)));
            }
        }
    }
    #[cfg(madsim)]
    {
        tokio::spawn(async move {
            let r = work();
            if let Ok(mut g) = result.lock() {
                *g = Some(r);
            }
        });
    }
}

/// Takes the snapshot under the lock and starts its serialization in the background.
fn start_job(rest: &mut NodeRest, db: &Db, kind: JobKind, path: String, aof_base: bool) {
    // The node's clock, not std's: the simulator's clock replays (it advances only between
    // tasks, so a clone measures 0 there).
    let t0_us = rest.clock.mono_us();
    let entries = clone_dataset(db);
    rest.persist.latest_fork_usec = rest.clock.mono_us().saturating_sub(t0_us);
    let keys_total = entries.len() as u64;
    let aux = snapshot_aux(rest, aof_base);
    let functions = rest.scripting.library_codes();
    let storage = rest.storage.clone();
    let cancel = Arc::new(AtomicBool::new(false));
    let result: JobResult = Arc::new(Mutex::new(None));
    let c2 = cancel.clone();
    let work = Box::new(move || {
        let bytes = encode(entries.into_iter(), &aux, &functions);
        if c2.load(Ordering::SeqCst) {
            return Err("cancelled".to_string());
        }
        storage
            .write_atomic(&path, &bytes)
            .map_err(|e| aof::strerror(&e))?;
        Ok(bytes.len() as u64)
    });
    spawn_work(work, result.clone());
    rest.persist.job = Some(Job {
        kind,
        started_mono_ms: rest.clock.mono_ms(),
        result,
        cancel,
        dirty_at_start: rest.repl.tap.dirty,
        keys_total,
    });
}

/// BGSAVE: Err(text) when a job already runs.
pub fn bgsave(rest: &mut NodeRest, db: &Db) -> Result<(), String> {
    if rest.persist.bgsave_in_progress() {
        return Err("ERR Background save already in progress".into());
    }
    if rest.persist.job.is_some() {
        return Err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.".into());
    }
    rest.persist.last_bgsave_try_ms = rest.clock.mono_ms();
    let name = dbfilename(rest);
    start_job(rest, db, JobKind::Rdb, name, false);
    let usec = rest.persist.latest_fork_usec;
    log(
        rest,
        Level::Notice,
        &format!(
            "Background saving started (snapshot of {} keys taken in {} us)",
            db.len(),
            usec
        ),
    );
    Ok(())
}

/// BGREWRITEAOF (and the rewrite that CONFIG SET appendonly yes or auto rewrite start).
pub fn rewrite(rest: &mut NodeRest, db: &Db) -> Result<(), String> {
    if rest.persist.job.is_some() {
        return Err("a background job is already running".into());
    }
    rest.persist.last_rewrite_try_ms = rest.clock.mono_ms();
    let names = Names::from_config(&rest.config);
    rest.storage.create_dir(&names.dir).map_err(|e| {
        format!(
            "Can't create the AOF directory {}: {}",
            names.dir,
            aof::strerror(&e)
        )
    })?;
    let mut manifest = rest.persist.manifest.clone();
    let base_seq = manifest.next_base_seq();
    let base = ManifestFile {
        name: names.base_name(base_seq),
        seq: base_seq,
        kind: FileType::Base,
    };
    let incr = if rest.persist.aof_on {
        let seq = manifest.next_incr_seq();
        let f = ManifestFile {
            name: names.incr_name(seq),
            seq,
            kind: FileType::Incr,
        };
        let path = names.path(&f.name);
        match rest.repl.tap.aof.as_mut() {
            Some(sink) => sink.switch_to(path).map_err(|e| aof::strerror(&e))?,
            None => {
                rest.storage
                    .append(&path, b"")
                    .map_err(|e| aof::strerror(&e))?;
                rest.repl.tap.aof = Some(new_sink(rest, path));
            }
        }
        if rest.persist.manifest_persisted {
            // Until the new base exists, the old files plus the new incr hold everything.
            manifest.incrs.push(f.clone());
            names
                .write_manifest(&*rest.storage, &manifest)
                .map_err(|e| aof::strerror(&e))?;
            rest.persist.manifest = manifest;
        }
        log(
            rest,
            Level::Notice,
            &format!("Creating AOF incr file {} on background rewrite", f.name),
        );
        Some(f)
    } else {
        None
    };
    let path = names.path(&base.name);
    start_job(rest, db, JobKind::Rewrite { base, incr }, path, true);
    let usec = rest.persist.latest_fork_usec;
    log(
        rest,
        Level::Notice,
        &format!(
            "Background append only file rewriting started (snapshot taken in {} us)",
            usec
        ),
    );
    Ok(())
}

fn new_sink(rest: &NodeRest, path: String) -> AofSink {
    let policy = Fsync::parse(rest.config.get("appendfsync").unwrap_or("everysec"));
    let mut sink = AofSink::new(
        rest.storage.clone(),
        path,
        policy,
        rest.persist.on_fatal.clone(),
    );
    sink.last_fsync_ms = rest.clock.mono_ms();
    sink
}

/// A finished background job: bookkeeping, and for a rewrite the new manifest.
fn finish_job(rest: &mut NodeRest, job: Job, result: Result<u64, String>) {
    let now_mono = rest.clock.mono_ms();
    let secs = (now_mono.saturating_sub(job.started_mono_ms) / 1000) as i64;
    match job.kind {
        JobKind::Rdb => {
            rest.persist.last_bgsave_time_sec = secs;
            match result {
                Ok(_) => {
                    rest.persist.last_bgsave_ok = true;
                    rest.persist.lastsave_unix_s = rest.clock.unix_ms() / 1000;
                    rest.persist.rdb_saves += 1;
                    rest.repl.tap.dirty = rest.repl.tap.dirty.saturating_sub(job.dirty_at_start);
                    log(
                        rest,
                        Level::Notice,
                        "Background saving terminated with success",
                    );
                }
                Err(e) if e == "cancelled" => {}
                Err(e) => {
                    rest.persist.last_bgsave_ok = false;
                    log(
                        rest,
                        Level::Warning,
                        &format!("Background saving error: {}", e),
                    );
                }
            }
        }
        JobKind::Rewrite { base, incr } => {
            rest.persist.aof_last_rewrite_time_sec = secs;
            let done = result.and_then(|base_len| {
                let names = Names::from_config(&rest.config);
                let old = rest.persist.manifest.clone();
                let mut manifest = Manifest {
                    base: Some(base.clone()),
                    incrs: Vec::new(),
                };
                if let Some(i) = &incr {
                    // The incr that started with this rewrite and any after it.
                    manifest.incrs.push(i.clone());
                    manifest
                        .incrs
                        .extend(old.incrs.iter().filter(|f| f.seq > i.seq).cloned());
                }
                names
                    .write_manifest(&*rest.storage, &manifest)
                    .map_err(|e| aof::strerror(&e))?;
                for f in old.base.iter().chain(old.incrs.iter()) {
                    if !manifest
                        .base
                        .iter()
                        .chain(manifest.incrs.iter())
                        .any(|n| n.name == f.name)
                    {
                        let _ = rest.storage.remove(&names.path(&f.name));
                    }
                }
                rest.persist.manifest = manifest;
                Ok(base_len)
            });
            match done {
                Ok(base_len) => {
                    rest.persist.aof_rewrites += 1;
                    rest.persist.aof_last_rewrite_ok = true;
                    rest.persist.aof_rewrite_failures = 0;
                    if incr.is_some() {
                        rest.persist.manifest_persisted = true;
                    }
                    if let Some(sink) = rest.repl.tap.aof.as_mut() {
                        sink.current_size = base_len + sink.incr_size;
                        sink.base_size = sink.current_size;
                    }
                    log(
                        rest,
                        Level::Notice,
                        "Background AOF rewrite terminated with success",
                    );
                }
                Err(e) if e == "cancelled" => {}
                Err(e) => {
                    rest.persist.aof_last_rewrite_ok = false;
                    rest.persist.aof_rewrite_failures += 1;
                    if rest.persist.aof_on && !rest.persist.manifest_persisted {
                        rest.persist.rewrite_scheduled = true;
                    }
                    log(
                        rest,
                        Level::Warning,
                        &format!("Background AOF rewrite error: {}", e),
                    );
                }
            }
        }
    }
}

/// Applies CONFIG SET appendonly / appendfsync at once, as Redis's startAppendOnly runs
/// inside CONFIG SET: the rewrite that writes the first base is in progress when the reply
/// goes out (the suite's waitForBgrewriteaof then waits for it, and a DEBUG LOADAOF right
/// after finds the manifest it writes), and turning it off stops appending at once.
pub fn refresh_config(rest: &mut NodeRest, db: &Db) {
    if rest.persist.loading.is_none() {
        apply_appendonly(rest, db);
    }
}

/// Turns the AOF on (a rewrite writes its first base) or off, after CONFIG SET appendonly.
fn apply_appendonly(rest: &mut NodeRest, db: &Db) {
    let want = rest.config.bool("appendonly");
    if want == rest.persist.aof_on {
        if let Some(sink) = rest.repl.tap.aof.as_mut() {
            sink.policy = Fsync::parse(rest.config.get("appendfsync").unwrap_or("everysec"));
        }
        return;
    }
    if want {
        log(
            rest,
            Level::Notice,
            "Turning on the AOF: a rewrite writes its base",
        );
        rest.persist.aof_on = true;
        rest.persist.manifest_persisted = false;
        if rest.persist.job.is_some() {
            if let Some(job) = &rest.persist.job {
                if matches!(job.kind, JobKind::Rewrite { .. }) {
                    job.cancel.store(true, Ordering::SeqCst);
                }
            }
            rest.persist.rewrite_scheduled = true;
        } else if let Err(e) = rewrite(rest, db) {
            log(rest, Level::Warning, &format!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation: {}", e));
            rest.persist.rewrite_scheduled = true;
        }
    } else {
        if let Some(mut sink) = rest.repl.tap.aof.take() {
            let _ = sink.sync_now();
        }
        if let Some(job) = &rest.persist.job {
            if matches!(job.kind, JobKind::Rewrite { .. }) {
                job.cancel.store(true, Ordering::SeqCst);
            }
        }
        rest.persist.aof_on = false;
        rest.persist.rewrite_scheduled = false;
        log(rest, Level::Notice, "Turning off the AOF");
    }
}

/// The persistence part of the node's cron (every 100 ms).
pub fn cron(node: &mut Node) {
    let rest = &mut node.rest;
    let db = &node.db;
    if rest.persist.loading.is_some() {
        return;
    }
    // A finished job.
    let finished = rest
        .persist
        .job
        .as_ref()
        .and_then(|j| j.result.lock().ok().and_then(|mut g| g.take()));
    if let Some(result) = finished {
        if let Some(job) = rest.persist.job.take() {
            finish_job(rest, job, result);
        }
    }
    apply_appendonly(rest, db);
    // A replica's full sync replaced the dataset: the AOF must start over from it.
    if rest.repl.replid != rest.persist.seen_replid {
        let full_sync = !rest.persist.seen_replid.is_empty()
            && rest.repl.is_replica()
            && rest.repl.replid2 == crate::replication::NULL_REPLID;
        rest.persist.seen_replid = rest.repl.replid.clone();
        if full_sync && rest.persist.aof_on {
            rest.persist.rewrite_scheduled = true;
        }
    }
    let now = rest.clock.mono_ms();
    if let Some(sink) = rest.repl.tap.aof.as_mut() {
        let had_error = sink.last_error.is_some();
        if sink.retry_pending() || had_error && sink.pending.is_empty() {
            sink.last_error = None;
            log(
                rest,
                Level::Warning,
                "AOF write error looks solved, Redis can write again.",
            );
        }
    }
    if let Some(sink) = rest.repl.tap.aof.as_mut() {
        sink.tick(now);
    }
    if rest.persist.job.is_some() {
        return;
    }
    let rewrite_retry_ok = rest.persist.aof_rewrite_failures == 0
        || now.saturating_sub(rest.persist.last_rewrite_try_ms) >= BGSAVE_RETRY_MS;
    if rest.persist.rewrite_scheduled && rewrite_retry_ok {
        rest.persist.rewrite_scheduled = false;
        if let Err(e) = rewrite(rest, db) {
            log(
                rest,
                Level::Warning,
                &format!("Can't rewrite the AOF: {}", e),
            );
            rest.persist.rewrite_scheduled = true;
        }
        return;
    }
    if rest.persist.bgsave_scheduled {
        rest.persist.bgsave_scheduled = false;
        let _ = bgsave(rest, db);
        return;
    }
    let now_s = rest.clock.unix_ms() / 1000;
    let dirty = rest.repl.tap.dirty;
    let retry_ok = rest.persist.last_bgsave_ok
        || now.saturating_sub(rest.persist.last_bgsave_try_ms) >= BGSAVE_RETRY_MS;
    for (secs, changes) in save_points(&rest.config) {
        if dirty >= changes
            && now_s.saturating_sub(rest.persist.lastsave_unix_s) >= secs
            && retry_ok
        {
            log(
                rest,
                Level::Notice,
                &format!("{} changes in {} seconds. Saving...", changes, secs),
            );
            let _ = bgsave(rest, db);
            return;
        }
    }
    // Automatic AOF rewrite.
    let perc = rest.config.int("auto-aof-rewrite-percentage");
    let min = rest.config.int("auto-aof-rewrite-min-size").max(0) as u64;
    if let (true, true, Some(sink)) = (
        rest.persist.aof_on,
        rest.persist.manifest_persisted,
        rest.repl.tap.aof.as_ref(),
    ) {
        let base = sink.base_size.max(1);
        let growth = (sink.current_size as i64 - base as i64) * 100 / base as i64;
        if perc > 0 && sink.current_size > min && growth >= perc {
            log(
                rest,
                Level::Notice,
                &format!("Starting automatic rewriting of AOF on {}% growth", growth),
            );
            if let Err(e) = rewrite(rest, db) {
                log(
                    rest,
                    Level::Warning,
                    &format!("Can't rewrite the AOF: {}", e),
                );
            }
        }
    }
}

/// How SHUTDOWN treats the RDB file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSave {
    /// Save when save points are configured (plain SHUTDOWN, SIGTERM).
    Default,
    Save,
    NoSave,
}

/// Everything before the node stops: fsync the AOF, save the RDB when asked or when save
/// points are configured. Err when the save failed (the node keeps running, as Redis does).
pub fn prepare_shutdown(view: &mut NodeView<'_>, mode: ShutdownSave) -> Result<(), String> {
    log(view.rest, Level::Warning, "User requested shutdown...");
    if let Some(job) = view.rest.persist.job.take() {
        job.cancel.store(true, Ordering::SeqCst);
        log(
            view.rest,
            Level::Warning,
            "There is a child saving an .rdb. Killing it!",
        );
    }
    if let Some(sink) = view.rest.repl.tap.aof.as_mut() {
        let _ = sink.sync_now();
        log(view.rest, Level::Notice, "Calling fsync() on the AOF file.");
    }
    let save_now = match mode {
        ShutdownSave::Save => true,
        ShutdownSave::NoSave => false,
        ShutdownSave::Default => !save_points(&view.rest.config).is_empty(),
    };
    if save_now && view.rest.persist.loading.is_some() {
        // A half-loaded dataset must never replace the file it is loaded from.
        log(
            view.rest,
            Level::Warning,
            "Not saving: the dataset is still loading.",
        );
    } else if save_now {
        log(
            view.rest,
            Level::Notice,
            "Saving the final RDB snapshot before exiting.",
        );
        if let Err(e) = save(view) {
            log(
                view.rest,
                Level::Warning,
                "Error trying to save the DB, can't exit.",
            );
            return Err(e);
        }
    }
    log(
        view.rest,
        Level::Warning,
        "Redis is now ready to exit, bye bye...",
    );
    Ok(())
}

/// Restores the replication id and offset a snapshot carries: a replica continues its
/// master's history from there; a master keeps it as its second id so its replicas can
/// partially resync after its restart (Redis 7.0's behaviour).
fn restore_repl_info(rest: &mut NodeRest, aux: &std::collections::BTreeMap<String, String>) {
    let (Some(id), Some(off)) = (
        aux.get("repl-id"),
        aux.get("repl-offset").and_then(|o| o.parse::<u64>().ok()),
    ) else {
        return;
    };
    if id.len() != 40 {
        return;
    }
    let repl = &mut rest.repl;
    if repl.is_replica() {
        repl.replid = id.clone();
    } else {
        repl.replid2 = id.clone();
        repl.second_offset = off as i64 + 1;
    }
    repl.offset = off;
    repl.backlog.reset(off + 1);
}

/// Inserts decoded keys in batches, releasing the lock between them.
async fn insert_entries(
    node: &Arc<Mutex<Node>>,
    entries: Vec<(Bytes, crate::db::Value, Option<u64>)>,
) -> Result<(u64, u64), String> {
    let (mut loaded, mut expired) = (0u64, 0u64);
    let mut it = entries.into_iter().peekable();
    while it.peek().is_some() {
        {
            let mut n = crate::nodelock::lock(node)
                .await
                .map_err(|_| "node lock poisoned".to_string())?;
            let now = n.rest.clock.unix_ms();
            n.db.set_now(now);
            let master = !n.rest.repl.is_replica();
            for (key, value, expire) in it.by_ref().take(LOAD_BATCH) {
                if master && expire.is_some_and(|t| t <= now) {
                    expired += 1;
                    continue;
                }
                n.db.insert_loaded(key, value, expire);
                loaded += 1;
            }
        }
        tokio::task::yield_now().await;
    }
    Ok((loaded, expired))
}

/// Decodes an RDB file off the node lock (a blocking-pool thread in the real binary).
async fn decode_rdb(bytes: Vec<u8>) -> Result<crate::rdb::Snapshot, crate::rdb::RdbError> {
    #[cfg(not(madsim))]
    {
        match tokio::task::spawn_blocking(move || crate::rdb::read_snapshot(&bytes)).await {
            Ok(r) => r,
            Err(_) => Err(crate::rdb::RdbError::Corrupt("decoder thread failed")),
        }
    }
    #[cfg(madsim)]
    {
        crate::rdb::read_snapshot(&bytes)
    }
}

/// Loads the dataset at startup: the AOF when appendonly is on, else the RDB file. Clients may
/// already be connected (they get `-LOADING`). Errors are fatal, with Redis's wording plus the
/// file and offset.
pub async fn load_at_startup(node: &Arc<Mutex<Node>>) -> Result<(), String> {
    let (aof_on, storage, rdb_name, names, clock) = {
        let mut n = crate::nodelock::lock(node)
            .await
            .map_err(|_| "node lock poisoned".to_string())?;
        let aof_on = n.rest.config.bool("appendonly");
        n.rest.persist.loading = Some(Loading {
            start_unix_s: n.rest.clock.unix_ms() / 1000,
            ..Default::default()
        });
        n.rest.persist.seen_replid = n.rest.repl.replid.clone();
        (
            aof_on,
            n.rest.storage.clone(),
            dbfilename(&n.rest),
            Names::from_config(&n.rest.config),
            n.rest.clock.clone(),
        )
    };
    // Timed on the node's clock, so a simulated load logs the same on every replay.
    let started_us = clock.mono_us();
    let result = if aof_on {
        load_aof(node, &*storage, &names).await
    } else {
        load_rdb(node, &*storage, &rdb_name).await
    };
    let mut n = crate::nodelock::lock(node)
        .await
        .map_err(|_| "node lock poisoned".to_string())?;
    n.rest.persist.loading = None;
    result?;
    let secs = clock.mono_us().saturating_sub(started_us) as f64 / 1e6;
    if aof_on {
        open_aof_at_start(&mut n)?;
    }
    n.rest.persist.seen_replid = n.rest.repl.replid.clone();
    n.log(
        Level::Notice,
        &format!(
            "DB loaded from {}: {:.3} seconds",
            if aof_on { "append only file" } else { "disk" },
            secs
        ),
    );
    Ok(())
}

async fn load_rdb(
    node: &Arc<Mutex<Node>>,
    storage: &dyn crate::storage::Storage,
    name: &str,
) -> Result<(), String> {
    let bytes = match storage.read(name) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(()),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB, check server logs. Exiting. ({}: {})",
                name,
                aof::strerror(&e)
            ))
        }
    };
    let total = bytes.len() as u64;
    if let Ok(mut n) = crate::nodelock::lock(node).await {
        if let Some(l) = n.rest.persist.loading.as_mut() {
            l.total_bytes = total;
        }
    }
    let snap = decode_rdb(bytes)
        .await
        .map_err(|e| format!("Fatal error loading the DB ({}): {}. Exiting.", name, e))?;
    if let Ok(n) = crate::nodelock::lock(node).await {
        let ver = snap.aux.get("redis-ver").cloned().unwrap_or_default();
        n.log(
            Level::Notice,
            &format!("Loading RDB produced by version {}", ver),
        );
    }
    let aux = snap.aux;
    let functions = snap.functions;
    let (loaded, expired) = insert_entries(node, snap.entries).await?;
    let mut n = crate::nodelock::lock(node)
        .await
        .map_err(|_| "node lock poisoned".to_string())?;
    n.rest
        .scripting
        .load_snapshot_libraries(&functions)
        .map_err(|e| format!("Failed loading library: {e}. Exiting."))?;
    restore_repl_info(&mut n.rest, &aux);
    n.rest.persist.load_keys_loaded = loaded;
    n.rest.persist.load_keys_expired = expired;
    if let Some(l) = n.rest.persist.loading.as_mut() {
        l.loaded_bytes = total;
    }
    n.log(
        Level::Notice,
        &format!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            loaded, expired
        ),
    );
    Ok(())
}

/// Applies one AOF command (MULTI/EXEC are unwrapped; keepalives skipped).
fn apply_aof_command(n: &mut Node, argv: &[Bytes]) {
    let name = &argv[0];
    if name.eq_ignore_ascii_case(b"select")
        || name.eq_ignore_ascii_case(b"ping")
        || name.eq_ignore_ascii_case(b"replconf")
    {
        return;
    }
    n.apply_replicated(argv);
}

async fn load_aof(
    node: &Arc<Mutex<Node>>,
    storage: &dyn crate::storage::Storage,
    names: &Names,
) -> Result<(), String> {
    let manifest = match names.read_manifest(storage)? {
        Some(m) => m,
        None => {
            if let Ok(n) = crate::nodelock::lock(node).await {
                n.log(
                    Level::Notice,
                    &format!("The AOF directory {} doesn't exist", names.dir),
                );
            }
            return Ok(());
        }
    };
    let files: Vec<&ManifestFile> = manifest.base.iter().chain(manifest.incrs.iter()).collect();
    let truncated_ok = node
        .lock()
        .map(|n| n.rest.config.get("aof-load-truncated") != Some("no"))
        .unwrap_or(true);
    let mut total_cmds = 0u64;
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let path = names.path(&f.name);
        let bytes = match storage.read(&path) {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(format!(
                    "The AOF file {} doesn't exist (listed in the manifest {})",
                    f.name,
                    names.manifest_name()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "Fatal error: can't open the append log file {} for reading: {}",
                    f.name,
                    aof::strerror(&e)
                ))
            }
        };
        if let Ok(mut n) = crate::nodelock::lock(node).await {
            if let Some(l) = n.rest.persist.loading.as_mut() {
                l.total_bytes += bytes.len() as u64;
            }
        }
        if bytes.starts_with(b"REDIS") {
            let len = bytes.len() as u64;
            let snap = decode_rdb(bytes).await.map_err(|e| {
                format!(
                    "Bad file format reading the append only file {}: RDB preamble: {}",
                    f.name, e
                )
            })?;
            let functions = snap.functions;
            let (loaded, _) = insert_entries(node, snap.entries).await?;
            if let Ok(mut n) = crate::nodelock::lock(node).await {
                n.rest
                    .scripting
                    .load_snapshot_libraries(&functions)
                    .map_err(|e| format!("Failed loading library: {e}. Exiting."))?;
                if let Some(l) = n.rest.persist.loading.as_mut() {
                    l.loaded_bytes += len;
                }
                n.log(
                    Level::Notice,
                    &format!(
                        "Reading RDB base file on AOF loading... ({} keys from {})",
                        loaded, f.name
                    ),
                );
            }
            continue;
        }
        let data = Bytes::from(bytes);
        let file_start = node
            .lock()
            .ok()
            .and_then(|n| n.rest.persist.loading.as_ref().map(|l| l.loaded_bytes))
            .unwrap_or(0);
        let mut pos = 0usize;
        // Commands of an open MULTI, with the offset where it started.
        let mut multi: Option<(usize, Vec<Vec<Bytes>>)> = None;
        let mut end_state;
        loop {
            {
                let mut n = crate::nodelock::lock(node)
                    .await
                    .map_err(|_| "node lock poisoned".to_string())?;
                let mut applied = 0;
                end_state = None;
                while applied < LOAD_BATCH {
                    match aof::next_command(&data, pos) {
                        Next::Command(argv, next) => {
                            let name = &argv[0];
                            if name.eq_ignore_ascii_case(b"multi") {
                                multi = Some((pos, Vec::new()));
                            } else if name.eq_ignore_ascii_case(b"exec") {
                                if let Some((_, cmds)) = multi.take() {
                                    for c in cmds {
                                        apply_aof_command(&mut n, &c);
                                    }
                                }
                            } else if let Some((_, cmds)) = multi.as_mut() {
                                cmds.push(argv);
                            } else {
                                apply_aof_command(&mut n, &argv);
                            }
                            pos = next;
                            applied += 1;
                        }
                        other => {
                            end_state = Some(other);
                            break;
                        }
                    }
                }
                total_cmds += applied as u64;
                if let Some(l) = n.rest.persist.loading.as_mut() {
                    l.loaded_bytes = file_start + pos as u64;
                }
            }
            if end_state.is_some() {
                break;
            }
            tokio::task::yield_now().await;
        }
        let mut n = crate::nodelock::lock(node)
            .await
            .map_err(|_| "node lock poisoned".to_string())?;
        match end_state {
            Some(Next::Corrupt(at, why)) => {
                return Err(format!(
                    "Bad file format reading the append only file {} at offset {} ({}): make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                    f.name, at, why
                ));
            }
            Some(Next::Truncated) | Some(Next::End) => {
                let truncated = matches!(end_state, Some(Next::Truncated));
                let valid = match (&multi, truncated) {
                    (Some((start, _)), _) => *start,
                    (None, true) => pos,
                    (None, false) => data.len(),
                };
                if valid < data.len() {
                    if !last {
                        return Err(format!("Unexpected end of file reading the append only file {} (offset {}): only the last AOF file may be truncated", f.name, valid));
                    }
                    if !truncated_ok {
                        return Err(format!("Unexpected end of file reading the append only file {} at offset {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.", f.name, valid));
                    }
                    if multi.is_some() {
                        n.log(
                            Level::Warning,
                            &format!(
                                "Revert incomplete MULTI/EXEC transaction in AOF file {}",
                                f.name
                            ),
                        );
                    } else {
                        n.log(
                            Level::Warning,
                            &format!(
                                "!!! Warning: short read while loading the AOF file {}!!!",
                                f.name
                            ),
                        );
                    }
                    n.log(
                        Level::Warning,
                        &format!("!!! Truncating the AOF {} at offset {} !!!", f.name, valid),
                    );
                    storage.truncate(&path, valid as u64).map_err(|e| {
                        format!(
                            "Error truncating the AOF file {}: {}",
                            f.name,
                            aof::strerror(&e)
                        )
                    })?;
                    n.log(
                        Level::Warning,
                        &format!(
                            "AOF {} loaded anyway because aof-load-truncated is enabled",
                            f.name
                        ),
                    );
                }
            }
            _ => {}
        }
        if let Some(l) = n.rest.persist.loading.as_mut() {
            l.loaded_bytes = file_start + data.len() as u64;
        }
    }
    if let Ok(n) = crate::nodelock::lock(node).await {
        n.log(
            Level::Notice,
            &format!("DB loaded from append only file: {} commands", total_cmds),
        );
    }
    Ok(())
}

/// After loading with appendonly yes: continue the last incremental file, or create the AOF
/// (base of the current dataset, first incr, manifest) as Redis 7 does on a first start.
fn open_aof_at_start(n: &mut Node) -> Result<(), String> {
    let rest = &mut n.rest;
    let names = Names::from_config(&rest.config);
    let storage = rest.storage.clone();
    let io = |e: std::io::Error| format!("Can't open the append-only file: {}", aof::strerror(&e));
    storage.create_dir(&names.dir).map_err(io)?;
    let mut manifest = names.read_manifest(&*storage)?.unwrap_or_default();
    if manifest.base.is_none() && manifest.incrs.is_empty() {
        let seq = manifest.next_base_seq();
        let base = ManifestFile {
            name: names.base_name(seq),
            seq,
            kind: FileType::Base,
        };
        let bytes = encode_db(&n.db, rest, &snapshot_aux(rest, true));
        storage
            .write_atomic(&names.path(&base.name), &bytes)
            .map_err(io)?;
        log(
            rest,
            Level::Notice,
            &format!("Creating AOF base file {} on server start", base.name),
        );
        manifest.base = Some(base);
    }
    if manifest.incrs.is_empty() {
        let seq = manifest.next_incr_seq();
        let f = ManifestFile {
            name: names.incr_name(seq),
            seq,
            kind: FileType::Incr,
        };
        storage.append(&names.path(&f.name), b"").map_err(io)?;
        log(
            rest,
            Level::Notice,
            &format!("Creating AOF incr file {} on server start", f.name),
        );
        manifest.incrs.push(f);
        names.write_manifest(&*storage, &manifest).map_err(io)?;
    }
    let total: u64 = manifest
        .base
        .iter()
        .chain(manifest.incrs.iter())
        .map(|f| {
            storage
                .len(&names.path(&f.name))
                .ok()
                .flatten()
                .unwrap_or(0)
        })
        .sum();
    let last = manifest
        .incrs
        .last()
        .map(|f| names.path(&f.name))
        .unwrap_or_default();
    let mut sink = new_sink(rest, last);
    sink.current_size = total;
    sink.base_size = total;
    rest.repl.tap.aof = Some(sink);
    rest.persist.manifest = manifest;
    rest.persist.aof_on = true;
    rest.persist.manifest_persisted = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::node::testing::TestNode;
    use crate::storage::{MemStorage, Storage};

    /// A node on `storage` with `flags`, its data loaded as at startup.
    fn start(storage: &MemStorage, flags: &[(&str, &str)]) -> Arc<Mutex<Node>> {
        let mut c = Config::default();
        c.set("save", "").unwrap();
        for (k, v) in flags {
            c.set(k, v).unwrap();
        }
        let mut t = TestNode::with_config(c);
        t.node.rest.storage = Arc::new(storage.clone());
        let node = Arc::new(Mutex::new(t.node));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(load_at_startup(&node)).unwrap();
        node
    }

    fn set(node: &Arc<Mutex<Node>>, k: &str, v: &str) -> bool {
        let mut n = node.lock().unwrap();
        let mut client = crate::node::Client::new(99, "127.0.0.1:1".into(), "x".into(), 0, true);
        let argv: Vec<Bytes> = ["SET", k, v]
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        let ok = n.execute(&mut client, &argv) == crate::resp::Reply::ok();
        // As a connection does: under `always` the reply waits for the group fsync.
        let durable = n.rest.repl.tap.aof.as_ref().and_then(|a| a.durability());
        drop(n);
        if let Some((group, offset)) = durable {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(group.wait_durable(offset));
        }
        ok
    }

    fn has(node: &Arc<Mutex<Node>>, k: &str) -> bool {
        node.lock().unwrap().db.peek(k.as_bytes()).is_some()
    }

    /// Writes for `ms` with the cron running every 100 ms, then the machine crashes; returns
    /// (acknowledged writes, surviving writes, ms of writes lost).
    fn crash_after_writing(policy: &str, ms: u64) -> (usize, usize, u64) {
        let disk = MemStorage::new();
        let node = start(&disk, &[("appendonly", "yes"), ("appendfsync", policy)]);
        // Test only: a real-time workload against the real cron.
        let t0 = std::time::Instant::now();
        let mut acked: Vec<(usize, u64)> = Vec::new();
        let mut last_cron = 0;
        let mut i = 0;
        while t0.elapsed().as_millis() < ms as u128 {
            let now = t0.elapsed().as_millis() as u64;
            if now >= last_cron + 100 {
                node.lock().unwrap().cron();
                last_cron = now;
            }
            if set(&node, &format!("k{i}"), "v") {
                acked.push((i, now));
            }
            i += 1;
            // Test only (never in the simulator): real time must pass for the cron's fsyncs.
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        drop(node);
        disk.crash();
        let node = start(&disk, &[("appendonly", "yes"), ("appendfsync", policy)]);
        let survived: Vec<&(usize, u64)> = acked
            .iter()
            .filter(|(i, _)| has(&node, &format!("k{i}")))
            .collect();
        // Survivors are a prefix of the acknowledged writes.
        assert!(survived
            .iter()
            .enumerate()
            .all(|(n, (i, _))| acked[n].0 == *i));
        let end = acked.last().map(|a| a.1).unwrap_or(0);
        let last_kept = survived.last().map(|a| a.1).unwrap_or(0);
        (acked.len(), survived.len(), end - last_kept)
    }

    #[test]
    fn always_crash_loses_no_acknowledged_write() {
        let (acked, survived, _) = crash_after_writing("always", 600);
        println!("appendfsync always, machine crash: {acked} acknowledged, {survived} survived");
        assert!(acked > 100);
        assert_eq!(acked, survived);
    }

    #[test]
    fn everysec_crash_loses_at_most_about_a_second() {
        let (acked, survived, lost_ms) = crash_after_writing("everysec", 2500);
        println!(
            "appendfsync everysec, machine crash: {acked} acknowledged, {} lost = the last {lost_ms} ms of writes",
            acked - survived
        );
        assert!(survived > 0 && survived < acked);
        assert!(lost_ms <= 1300, "lost {lost_ms} ms of writes");
    }

    #[test]
    fn torn_tail_loads_and_is_cut_off() {
        for seed in 0..30u64 {
            let disk = MemStorage::new();
            let node = start(&disk, &[("appendonly", "yes"), ("appendfsync", "no")]);
            for i in 0..5 {
                assert!(set(&node, &format!("k{i}"), "value"));
            }
            node.lock()
                .unwrap()
                .rest
                .repl
                .tap
                .aof
                .as_mut()
                .unwrap()
                .sync_now()
                .unwrap();
            for i in 5..8 {
                assert!(set(&node, &format!("k{i}"), "value"));
            }
            drop(node);
            disk.crash_torn(seed * 7);
            let node = start(&disk, &[("appendonly", "yes"), ("appendfsync", "no")]);
            let kept = (0..8).take_while(|i| has(&node, &format!("k{i}"))).count();
            assert!((5..=8).contains(&kept), "seed {seed}: {kept}");
            assert!(set(&node, "after", "1"));
            drop(node);
            let node = start(&disk, &[("appendonly", "yes"), ("appendfsync", "always")]);
            assert!(has(&node, "after"), "seed {seed}");
        }
    }

    #[test]
    fn aof_write_errors_deny_writes_until_space_returns() {
        let disk = MemStorage::new();
        let node = start(&disk, &[("appendonly", "yes"), ("appendfsync", "everysec")]);
        assert!(set(&node, "a", "1"));
        disk.fail_writes(Some(crate::storage::DiskFault::NoSpace));
        // The write that hits the error is kept in memory and retried.
        assert!(set(&node, "b", "2"));
        let mut client = crate::node::Client::new(9, "127.0.0.1:1".into(), "x".into(), 0, true);
        let argv = |w: &[&str]| {
            w.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        let r = node
            .lock()
            .unwrap()
            .execute(&mut client, &argv(&["SET", "c", "3"]));
        assert_eq!(
            r,
            crate::resp::Reply::error(
                "MISCONF Errors writing to the AOF file: No space left on device"
            )
        );
        let r = node
            .lock()
            .unwrap()
            .execute(&mut client, &argv(&["GET", "a"]));
        assert_eq!(r, crate::resp::Reply::Bulk(Bytes::from_static(b"1")));
        node.lock().unwrap().cron();
        disk.fail_writes(None);
        node.lock().unwrap().cron();
        assert!(set(&node, "c", "3"));
        node.lock()
            .unwrap()
            .rest
            .repl
            .tap
            .aof
            .as_mut()
            .unwrap()
            .sync_now()
            .unwrap();
        drop(node);
        disk.crash();
        let node = start(&disk, &[("appendonly", "yes")]);
        assert!(has(&node, "a") && has(&node, "b") && has(&node, "c"));
    }

    #[test]
    fn rdb_restores_replication_id_and_offset() {
        let disk = MemStorage::new();
        let node = start(&disk, &[]);
        assert!(set(&node, "a", "1"));
        let (id, off) = {
            let mut n = node.lock().unwrap();
            save(&mut n.view()).unwrap();
            (n.rest.repl.replid.clone(), n.rest.repl.offset)
        };
        assert!(off > 0);
        // Restarted as a master: the old history is its second id.
        let node = start(&disk, &[]);
        {
            let n = node.lock().unwrap();
            assert_eq!(n.rest.repl.replid2, id);
            assert_eq!(n.rest.repl.offset, off);
            assert!(n.rest.repl.can_continue(&id, off + 1));
        }
        // Restarted as a replica: it continues the same history.
        let mut c = Config::default();
        c.set("save", "").unwrap();
        let mut t = TestNode::with_config(c);
        t.node.rest.storage = Arc::new(disk.clone());
        t.node.view().become_replica_of("127.0.0.1", 1);
        let node = Arc::new(Mutex::new(t.node));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(load_at_startup(&node)).unwrap();
        let n = node.lock().unwrap();
        assert_eq!((n.rest.repl.replid.clone(), n.rest.repl.offset), (id, off));
        assert_eq!(n.rest.persist.load_keys_loaded, 1);
    }

    #[test]
    fn corrupt_aof_names_file_and_offset() {
        let disk = MemStorage::new();
        let node = start(&disk, &[("appendonly", "yes")]);
        assert!(set(&node, "a", "1"));
        assert!(set(&node, "b", "2"));
        drop(node);
        let path = "appendonlydir/appendonly.aof.1.incr.aof";
        let mut bytes = disk.read(path).unwrap().unwrap();
        bytes[3] = b'X';
        disk.put(path, &bytes);
        let mut c = Config::default();
        c.set("appendonly", "yes").unwrap();
        let mut t = TestNode::with_config(c);
        t.node.rest.storage = Arc::new(disk.clone());
        let node = Arc::new(Mutex::new(t.node));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(load_at_startup(&node)).unwrap_err();
        assert!(
            err.contains("appendonly.aof.1.incr.aof at offset 3"),
            "{err}"
        );
    }
}

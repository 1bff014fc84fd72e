//! The node's files, behind one interface.
//!
//! madsim-tokio re-exports the real `tokio::fs` even under `--cfg madsim`, so a simulated node
//! must never touch the filesystem: every file the node owns (nodes.conf, the RDB file, the AOF
//! directory) goes through [`Storage`]. The real node uses [`DirStorage`] (temp file, fsync,
//! rename; appends through cached handles); the simulator and unit tests use [`MemStorage`], an
//! in-memory disk that outlives a node restart and models what a real disk loses in a crash.
//!
//! Names are relative to the node's `dir` and use `/` to reach a subdirectory (the AOF lives in
//! `appenddirname/`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Whole-file reads, atomic whole-file writes, and append-only files with explicit fsync.
pub trait Storage: Send + Sync {
    /// The file's contents, or None if it does not exist.
    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>>;
    /// Replaces the file's contents atomically and durably: after a crash the file holds either
    /// the old or the new contents, never a mix.
    fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()>;
    /// Replaces the file's contents atomically (temp file and rename) without fsync: cheaper,
    /// and after a crash the file may hold the old contents. Redis saves nodes.conf this way
    /// for changes it can afford to lose (an open slot during a migration, which
    /// `redis-cli --cluster fix` repairs); the default is the durable write.
    fn write_replace(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.write_atomic(name, data)
    }
    /// Appends to the file, creating it if needed. Not durable until [`Storage::sync`]; on an
    /// error some prefix of `data` may have been written (see [`Storage::truncate`]).
    fn append(&self, name: &str, data: &[u8]) -> io::Result<()>;
    /// Makes everything appended to the file so far durable (fsync).
    fn sync(&self, name: &str) -> io::Result<()>;
    /// Starts an fsync of the file without waiting for it (appendfsync everysec: the real disk
    /// syncs in a background thread, as Redis's bio thread does). The default syncs at once.
    fn sync_in_background(&self, name: &str) {
        let _ = self.sync(name);
    }
    /// Whether a background fsync started by [`Storage::sync_in_background`] is still running.
    fn background_sync_pending(&self) -> bool {
        false
    }
    /// The file's length in bytes, or None if it does not exist.
    fn len(&self, name: &str) -> io::Result<Option<u64>>;
    /// Cuts the file to `len` bytes (undoing a short append).
    fn truncate(&self, name: &str, len: u64) -> io::Result<()>;
    /// The names of the files directly inside directory `dir` ("" for the node's dir), sorted.
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;
    /// Renames a file atomically, replacing `to`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Deletes a file; deleting a missing file is not an error.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Creates a directory (and its parents) if it does not exist.
    fn create_dir(&self, name: &str) -> io::Result<()>;
}

/// Files in a directory of the real filesystem.
pub struct DirStorage {
    /// The node's working directory (`dir`); relative names resolve against it.
    dir: PathBuf,
    /// Open handles of files being appended to (the AOF), so an append is one write(2).
    appending: Mutex<HashMap<String, Arc<std::fs::File>>>,
    /// The background fsync thread (started on first use).
    syncer: Mutex<Option<std::sync::mpsc::Sender<Arc<std::fs::File>>>>,
    /// Background fsyncs queued or running.
    sync_pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl DirStorage {
    /// Writes `data` to `tmp`, then renames it over `path`; with `durable`, fsyncs the file
    /// before the rename and the directory after it.
    fn replace_via(
        &self,
        tmp: &std::path::Path,
        path: &std::path::Path,
        name: &str,
        data: &[u8],
        durable: bool,
    ) -> io::Result<()> {
        let written = (|| {
            let mut f = std::fs::File::create(tmp)?;
            f.write_all(data)?;
            if durable {
                f.sync_all()?;
            }
            Ok::<(), io::Error>(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(tmp);
            return Err(e);
        }
        self.forget(name);
        std::fs::rename(tmp, path)?;
        if durable {
            // Make the rename itself durable.
            sync_parent(path);
        }
        Ok(())
    }

    pub fn new(dir: impl Into<PathBuf>) -> DirStorage {
        DirStorage {
            dir: dir.into(),
            appending: Mutex::new(HashMap::new()),
            syncer: Mutex::new(None),
            sync_pending: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The open append handle of a file, opening (and creating) it if needed. A new file's
    /// directory entry is made durable at once.
    fn handle(&self, name: &str) -> io::Result<Arc<std::fs::File>> {
        let mut open = self
            .appending
            .lock()
            .map_err(|_| io::Error::other("storage lock poisoned"))?;
        if let Some(f) = open.get(name) {
            return Ok(f.clone());
        }
        let path = self.path(name);
        let existed = path.exists();
        let f = Arc::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?,
        );
        if !existed {
            sync_parent(&path);
        }
        open.insert(name.to_string(), f.clone());
        Ok(f)
    }

    /// Forgets a cached handle (the file was renamed, removed or rewritten).
    fn forget(&self, name: &str) {
        if let Ok(mut open) = self.appending.lock() {
            open.remove(name);
        }
    }
}

/// fsyncs the directory holding `path` (makes a create or rename durable).
fn sync_parent(path: &std::path::Path) {
    let parent = path
        .parent()
        .map(|p| p.to_path_buf())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all();
    }
}

impl Storage for DirStorage {
    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let path = self.path(name);
        // Unique per write: a background save and a SHUTDOWN save may overlap.
        static NEXT_TMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT_TMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!("{}.tmp-{}-{}", name, std::process::id(), n));
        self.replace_via(&tmp, &path, name, data, true)
    }

    fn write_replace(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let path = self.path(name);
        static NEXT_TMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT_TMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!("{}.tmp-{}-r{}", name, std::process::id(), n));
        self.replace_via(&tmp, &path, name, data, false)
    }

    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let f = self.handle(name)?;
        (&*f).write_all(data)
    }

    fn sync(&self, name: &str) -> io::Result<()> {
        let f = self.handle(name)?;
        f.sync_data()
    }

    fn sync_in_background(&self, name: &str) {
        use std::sync::atomic::Ordering;
        let Ok(f) = self.handle(name) else { return };
        let Ok(mut syncer) = self.syncer.lock() else {
            return;
        };
        if syncer.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<Arc<std::fs::File>>();
            let pending = self.sync_pending.clone();
            let spawned = std::thread::Builder::new()
                .name("keyslot-fsync".into())
                .spawn(move || {
                    while let Ok(f) = rx.recv() {
                        let _ = f.sync_data();
                        pending.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            if spawned.is_err() {
                let _ = f.sync_data();
                return;
            }
            *syncer = Some(tx);
        }
        if let Some(tx) = syncer.as_ref() {
            self.sync_pending.fetch_add(1, Ordering::SeqCst);
            if tx.send(f.clone()).is_err() {
                self.sync_pending.fetch_sub(1, Ordering::SeqCst);
                let _ = f.sync_data();
            }
        }
    }

    fn background_sync_pending(&self) -> bool {
        self.sync_pending.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    fn len(&self, name: &str) -> io::Result<Option<u64>> {
        match std::fs::metadata(self.path(name)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let f = self.handle(name)?;
        f.set_len(len)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(self.path(dir)) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in rd {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.forget(from);
        self.forget(to);
        let to_path = self.path(to);
        std::fs::rename(self.path(from), &to_path)?;
        sync_parent(&to_path);
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.forget(name);
        match std::fs::remove_file(self.path(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn create_dir(&self, name: &str) -> io::Result<()> {
        std::fs::create_dir_all(self.path(name))
    }
}

/// A write failure [`MemStorage`] can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFault {
    /// ENOSPC: "No space left on device".
    NoSpace,
    /// EIO: "Input/output error".
    Io,
}

impl DiskFault {
    fn error(self) -> io::Error {
        match self {
            DiskFault::NoSpace => io::Error::from_raw_os_error(28),
            DiskFault::Io => io::Error::from_raw_os_error(5),
        }
    }
}

/// One file of the simulated disk: what a read sees, and what survives a crash.
#[derive(Debug, Clone, Default)]
struct MemFile {
    data: Vec<u8>,
    /// The contents as of the last fsync (or atomic write): what a crash leaves.
    durable: Vec<u8>,
}

#[derive(Debug, Default)]
struct Disk {
    files: BTreeMap<String, MemFile>,
    dirs: BTreeSet<String>,
    /// Every write fails with this fault until cleared (a full disk).
    fault: Option<DiskFault>,
    /// The next `n` writes fail with this fault.
    next_faults: Option<(DiskFault, u64)>,
    /// The file the last append went to (where a crash tears).
    last_append: Option<String>,
}

impl Disk {
    /// The fault the next write hits, if any (consumes one of `next_faults`).
    fn take_fault(&mut self) -> Option<DiskFault> {
        if let Some(f) = self.fault {
            return Some(f);
        }
        if let Some((f, n)) = self.next_faults.as_mut() {
            let f = *f;
            *n -= 1;
            if *n == 0 {
                self.next_faults = None;
            }
            return Some(f);
        }
        None
    }
}

/// An in-memory disk. Clones share the same files, so the simulator's world keeps a node's disk
/// across restarts of the node.
///
/// It models what a real disk does to a process that dies: appended bytes live in "page cache"
/// until [`Storage::sync`] and are lost by [`MemStorage::crash`] (which the simulator calls when
/// it kills a node); [`MemStorage::crash_torn`] also keeps a random prefix of the unsynced tail
/// of the last file written (a torn write). Atomic writes, renames, deletes and the creation of
/// a file (its name, not its unsynced bytes) are durable at once, as they are on a journaling
/// filesystem once the directory is fsynced, which [`DirStorage`] does. Writes can be made to
/// fail with ENOSPC or EIO ([`MemStorage::fail_writes`], [`MemStorage::fail_next_writes`]).
#[derive(Clone, Default)]
pub struct MemStorage {
    disk: Arc<Mutex<Disk>>,
}

fn poisoned() -> io::Error {
    io::Error::other("storage lock poisoned")
}

fn parent_of(name: &str) -> &str {
    name.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

impl MemStorage {
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    fn disk(&self) -> io::Result<std::sync::MutexGuard<'_, Disk>> {
        self.disk.lock().map_err(|_| poisoned())
    }

    /// Deletes every file (a wiped disk).
    pub fn wipe(&self) {
        if let Ok(mut d) = self.disk.lock() {
            d.files.clear();
            d.dirs.clear();
            d.last_append = None;
        }
    }

    /// Replaces one file's contents directly and durably (tests: a stale or corrupt file).
    pub fn put(&self, name: &str, data: &[u8]) {
        if let Ok(mut d) = self.disk.lock() {
            d.files.insert(
                name.to_string(),
                MemFile {
                    data: data.to_vec(),
                    durable: data.to_vec(),
                },
            );
        }
    }

    /// The node was killed: every file goes back to its last fsynced contents.
    pub fn crash(&self) {
        self.crash_inner(None);
    }

    /// A crash that tears the last write: like [`MemStorage::crash`], but the file appended to
    /// last keeps a prefix of its unsynced bytes whose length `seed` picks (possibly ending in
    /// the middle of a record).
    pub fn crash_torn(&self, seed: u64) {
        self.crash_inner(Some(seed));
    }

    fn crash_inner(&self, tear: Option<u64>) {
        let Ok(mut d) = self.disk.lock() else { return };
        let last = d.last_append.take();
        for (name, f) in d.files.iter_mut() {
            let keep_torn = match (tear, &last) {
                (Some(seed), Some(l)) if l == name && f.data.starts_with(&f.durable) => {
                    let tail = f.data.len() - f.durable.len();
                    Some(f.durable.len() + (seed % (tail as u64 + 1)) as usize)
                }
                _ => None,
            };
            match keep_torn {
                Some(n) => {
                    f.data.truncate(n);
                    f.durable = f.data.clone();
                }
                None => f.data = f.durable.clone(),
            }
        }
    }

    /// Every write (append, atomic write, fsync) fails with `fault` until called with None (a
    /// full or broken disk; space returns with None).
    pub fn fail_writes(&self, fault: Option<DiskFault>) {
        if let Ok(mut d) = self.disk.lock() {
            d.fault = fault;
        }
    }

    /// The next `count` writes fail with `fault`.
    pub fn fail_next_writes(&self, fault: DiskFault, count: u64) {
        if let Ok(mut d) = self.disk.lock() {
            d.next_faults = (count > 0).then_some((fault, count));
        }
    }

    /// Bytes of a file not yet fsynced (tests).
    pub fn unsynced_len(&self, name: &str) -> usize {
        self.disk
            .lock()
            .ok()
            .and_then(|d| {
                d.files
                    .get(name)
                    .map(|f| f.data.len().saturating_sub(f.durable.len()))
            })
            .unwrap_or(0)
    }

    /// Every file name on the disk (tests, the simulator's story).
    pub fn file_names(&self) -> Vec<String> {
        self.disk
            .lock()
            .map(|d| d.files.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl Storage for MemStorage {
    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.disk()?.files.get(name).map(|f| f.data.clone()))
    }

    fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut d = self.disk()?;
        if let Some(f) = d.take_fault() {
            return Err(f.error());
        }
        d.files.insert(
            name.to_string(),
            MemFile {
                data: data.to_vec(),
                durable: data.to_vec(),
            },
        );
        Ok(())
    }

    fn write_replace(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut d = self.disk()?;
        if let Some(f) = d.take_fault() {
            return Err(f.error());
        }
        // A crash before the next fsync brings the old contents back.
        let f = d.files.entry(name.to_string()).or_default();
        f.data = data.to_vec();
        Ok(())
    }

    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut d = self.disk()?;
        if let Some(f) = d.take_fault() {
            return Err(f.error());
        }
        d.files
            .entry(name.to_string())
            .or_default()
            .data
            .extend_from_slice(data);
        d.last_append = Some(name.to_string());
        Ok(())
    }

    fn sync(&self, name: &str) -> io::Result<()> {
        let mut d = self.disk()?;
        if d.fault == Some(DiskFault::Io) {
            return Err(DiskFault::Io.error());
        }
        if let Some(f) = d.files.get_mut(name) {
            f.durable = f.data.clone();
        }
        Ok(())
    }

    fn len(&self, name: &str) -> io::Result<Option<u64>> {
        Ok(self.disk()?.files.get(name).map(|f| f.data.len() as u64))
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let mut d = self.disk()?;
        let f = d
            .files
            .get_mut(name)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let len = len as usize;
        f.data.truncate(len);
        f.durable.truncate(len);
        Ok(())
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let d = self.disk()?;
        Ok(d.files
            .keys()
            .filter(|n| parent_of(n) == dir)
            .map(|n| match n.rsplit_once('/') {
                Some((_, base)) => base.to_string(),
                None => n.clone(),
            })
            .collect())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut d = self.disk()?;
        let f = d
            .files
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        d.files.insert(to.to_string(), f);
        if d.last_append.as_deref() == Some(from) {
            d.last_append = Some(to.to_string());
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        let mut d = self.disk()?;
        d.files.remove(name);
        if d.last_append.as_deref() == Some(name) {
            d.last_append = None;
        }
        Ok(())
    }

    fn create_dir(&self, name: &str) -> io::Result<()> {
        self.disk()?.dirs.insert(name.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_storage_round_trip() {
        let dir = std::env::temp_dir().join(format!("keyslot-storage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = DirStorage::new(&dir);
        assert_eq!(s.read("x.conf").unwrap(), None);
        s.write_atomic("x.conf", b"one").unwrap();
        s.write_atomic("x.conf", b"two").unwrap();
        assert_eq!(s.read("x.conf").unwrap(), Some(b"two".to_vec()));
        s.create_dir("sub").unwrap();
        s.append("sub/a.aof", b"hello ").unwrap();
        s.append("sub/a.aof", b"world").unwrap();
        s.sync("sub/a.aof").unwrap();
        s.sync_in_background("sub/a.aof");
        assert_eq!(s.len("sub/a.aof").unwrap(), Some(11));
        s.truncate("sub/a.aof", 5).unwrap();
        s.append("sub/a.aof", b"!").unwrap();
        assert_eq!(s.read("sub/a.aof").unwrap(), Some(b"hello!".to_vec()));
        s.rename("sub/a.aof", "sub/b.aof").unwrap();
        assert_eq!(s.list("sub").unwrap(), vec!["b.aof".to_string()]);
        s.remove("sub/b.aof").unwrap();
        s.remove("sub/b.aof").unwrap();
        assert!(s.list("sub").unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mem_storage_is_shared_by_clones() {
        let a = MemStorage::new();
        let b = a.clone();
        a.write_atomic("n", b"1").unwrap();
        assert_eq!(b.read("n").unwrap(), Some(b"1".to_vec()));
        b.wipe();
        assert_eq!(a.read("n").unwrap(), None);
    }

    #[test]
    fn crash_drops_unsynced_appends() {
        let s = MemStorage::new();
        s.append("d/f", b"one ").unwrap();
        s.sync("d/f").unwrap();
        s.append("d/f", b"two ").unwrap();
        assert_eq!(s.read("d/f").unwrap(), Some(b"one two ".to_vec()));
        assert_eq!(s.unsynced_len("d/f"), 4);
        s.crash();
        assert_eq!(s.read("d/f").unwrap(), Some(b"one ".to_vec()));
        // A file created but never synced survives empty; atomic writes survive whole.
        s.append("d/g", b"lost").unwrap();
        s.write_atomic("h", b"kept").unwrap();
        s.crash();
        assert_eq!(s.read("d/g").unwrap(), Some(Vec::new()));
        assert_eq!(s.read("h").unwrap(), Some(b"kept".to_vec()));
        assert_eq!(s.list("d").unwrap(), vec!["f".to_string(), "g".to_string()]);
    }

    #[test]
    fn a_replace_without_fsync_is_undone_by_a_crash_but_not_by_a_kill() {
        let s = MemStorage::new();
        s.write_atomic("nodes.conf", b"durable").unwrap();
        s.write_replace("nodes.conf", b"open slot").unwrap();
        // A process kill leaves the page cache: the new contents are read back.
        assert_eq!(s.read("nodes.conf").unwrap(), Some(b"open slot".to_vec()));
        s.crash();
        assert_eq!(s.read("nodes.conf").unwrap(), Some(b"durable".to_vec()));
        // On a real directory it replaces the file like the durable write does.
        let dir = std::env::temp_dir().join(format!("keyslot-replace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = DirStorage::new(&dir);
        d.write_atomic("n.conf", b"one").unwrap();
        d.write_replace("n.conf", b"two").unwrap();
        assert_eq!(d.read("n.conf").unwrap(), Some(b"two".to_vec()));
        assert_eq!(d.list("").unwrap(), vec!["n.conf".to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn torn_crash_keeps_a_prefix_of_the_last_write() {
        let s = MemStorage::new();
        s.append("f", b"synced|").unwrap();
        s.sync("f").unwrap();
        s.append("other", b"x").unwrap();
        s.append("f", b"0123456789").unwrap();
        s.crash_torn(4);
        assert_eq!(s.read("f").unwrap(), Some(b"synced|0123".to_vec()));
        // The other file lost its unsynced byte.
        assert_eq!(s.read("other").unwrap(), Some(Vec::new()));
        // What a torn crash left is durable.
        s.crash();
        assert_eq!(s.read("f").unwrap(), Some(b"synced|0123".to_vec()));
        // Every tear length stays within the unsynced tail.
        for seed in 0..40 {
            let s = MemStorage::new();
            s.append("f", b"abc").unwrap();
            s.sync("f").unwrap();
            s.append("f", b"defgh").unwrap();
            s.crash_torn(seed);
            let got = s.read("f").unwrap().unwrap();
            assert!(got.len() >= 3 && got.len() <= 8, "{seed}");
            assert!(b"abcdefgh".starts_with(&got));
        }
    }

    #[test]
    fn injected_faults() {
        let s = MemStorage::new();
        s.fail_next_writes(DiskFault::NoSpace, 2);
        let e = s.append("f", b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(28));
        assert!(s.write_atomic("g", b"y").is_err());
        s.append("f", b"z").unwrap();
        s.fail_writes(Some(DiskFault::Io));
        assert_eq!(s.append("f", b"q").unwrap_err().raw_os_error(), Some(5));
        assert!(s.sync("f").is_err());
        // Reads keep working.
        assert_eq!(s.read("f").unwrap(), Some(b"z".to_vec()));
        s.fail_writes(None);
        s.append("f", b"w").unwrap();
        s.sync("f").unwrap();
        s.crash();
        assert_eq!(s.read("f").unwrap(), Some(b"zw".to_vec()));
    }

    #[test]
    fn rename_truncate_remove() {
        let s = MemStorage::new();
        s.append("a/x", b"12345").unwrap();
        s.sync("a/x").unwrap();
        s.truncate("a/x", 2).unwrap();
        s.rename("a/x", "a/y").unwrap();
        assert_eq!(s.read("a/x").unwrap(), None);
        assert_eq!(s.len("a/y").unwrap(), Some(2));
        s.crash();
        assert_eq!(s.read("a/y").unwrap(), Some(b"12".to_vec()));
        s.remove("a/y").unwrap();
        assert!(s.list("a").unwrap().is_empty());
    }
}

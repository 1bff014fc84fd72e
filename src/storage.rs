//! The node's files, behind one interface.
//!
//! madsim-tokio re-exports the real `tokio::fs` even under `--cfg madsim`, so a simulated node
//! must never touch the filesystem: every file the node owns (nodes.conf now; RDB and AOF later)
//! goes through [`Storage`]. The real node uses [`DirStorage`] (temp file, fsync, rename); the
//! simulator and unit tests use [`MemStorage`], an in-memory disk that outlives a node restart.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Whole-file reads and atomic whole-file writes, by file name relative to the node's `dir`.
pub trait Storage: Send + Sync {
    /// The file's contents, or None if it does not exist.
    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>>;
    /// Replaces the file's contents atomically and durably: after a crash the file holds either
    /// the old or the new contents, never a mix.
    fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()>;
}

/// Files in a directory of the real filesystem.
pub struct DirStorage {
    /// The node's working directory (`dir`); relative names resolve against it.
    dir: PathBuf,
}

impl DirStorage {
    pub fn new(dir: impl Into<PathBuf>) -> DirStorage {
        DirStorage { dir: dir.into() }
    }
}

impl Storage for DirStorage {
    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.dir.join(name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let path = self.dir.join(name);
        let tmp = self
            .dir
            .join(format!("{}.tmp-{}", name, std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        // Make the rename itself durable.
        let parent = path
            .parent()
            .map(|p| p.to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// An in-memory disk. Clones share the same files, so the simulator's world keeps a node's disk
/// across restarts of the node.
#[derive(Clone, Default)]
pub struct MemStorage {
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl MemStorage {
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    /// Deletes every file (a wiped disk).
    pub fn wipe(&self) {
        if let Ok(mut f) = self.files.lock() {
            f.clear();
        }
    }

    /// Replaces one file's contents directly (tests: a stale or corrupt file).
    pub fn put(&self, name: &str, data: &[u8]) {
        if let Ok(mut f) = self.files.lock() {
            f.insert(name.to_string(), data.to_vec());
        }
    }
}

impl Storage for MemStorage {
    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        let files = self
            .files
            .lock()
            .map_err(|_| io::Error::other("storage lock poisoned"))?;
        Ok(files.get(name).cloned())
    }

    fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut files = self
            .files
            .lock()
            .map_err(|_| io::Error::other("storage lock poisoned"))?;
        files.insert(name.to_string(), data.to_vec());
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
}

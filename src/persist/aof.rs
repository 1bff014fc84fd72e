//! The append-only file in Redis 7's multi-part layout.
//!
//! `appenddirname/` holds a base file (`<appendfilename>.<seq>.base.rdb`, an RDB snapshot: the
//! "RDB preamble" format), incremental files (`<appendfilename>.<seq>.incr.aof`, the write
//! commands as RESP multibulk, exactly the bytes the replication stream carries) and the
//! manifest `<appendfilename>.manifest` naming them, one line each, as Redis writes it:
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! [`AofSink`] appends to the current incremental file and keeps the fsync promise of
//! `appendfsync`; [`next_command`] parses the files back, telling a truncated tail (a crash in
//! the middle of a write) from corruption (a byte that cannot be there).

use super::group_sync::GroupSync;
use crate::storage::Storage;
use bytes::Bytes;
use std::sync::Arc;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// fsync after every write command, before its reply is sent.
    Always,
    /// fsync about once a second, in the background.
    EverySec,
    /// Never fsync; the OS flushes when it likes.
    No,
}

impl Fsync {
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// What a file of the manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Base,
    Incr,
    History,
}

impl FileType {
    fn letter(self) -> char {
        match self {
            FileType::Base => 'b',
            FileType::Incr => 'i',
            FileType::History => 'h',
        }
    }
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    pub name: String,
    pub seq: u64,
    pub kind: FileType,
}

/// The manifest: at most one base, then the incremental files in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<ManifestFile>,
    pub incrs: Vec<ManifestFile>,
}

impl Manifest {
    /// Parses a manifest; the error names the line.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = crate::config::split_config_line(line)
                .ok_or_else(|| format!("Invalid AOF manifest file format (line {})", i + 1))?;
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks(2) {
                let [k, v] = pair else {
                    return Err(format!("Invalid AOF manifest file format (line {})", i + 1));
                };
                match k.as_str() {
                    "file" => name = Some(v.clone()),
                    "seq" => seq = v.parse::<u64>().ok(),
                    "type" => {
                        kind = match v.as_str() {
                            "b" => Some(FileType::Base),
                            "i" => Some(FileType::Incr),
                            "h" => Some(FileType::History),
                            _ => None,
                        }
                    }
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(format!("Invalid AOF manifest file format (line {})", i + 1));
            };
            if name.contains('/') {
                return Err(format!("Invalid AOF file name in manifest: {}", name));
            }
            let f = ManifestFile { name, seq, kind };
            match kind {
                FileType::Base => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base = Some(f);
                }
                FileType::Incr => {
                    if m.incrs.last().is_some_and(|l| l.seq >= seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incrs.push(f);
                }
                FileType::History => {}
            }
        }
        Ok(m)
    }

    /// The manifest text, in Redis's format.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in self.base.iter().chain(self.incrs.iter()) {
            out.push_str(&format!(
                "file {} seq {} type {}\n",
                f.name,
                f.seq,
                f.kind.letter()
            ));
        }
        out
    }

    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map(|b| b.seq + 1).unwrap_or(1)
    }

    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map(|f| f.seq + 1).unwrap_or(1)
    }
}

/// The file names of one AOF configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// appenddirname.
    pub dir: String,
    /// appendfilename.
    pub file: String,
}

impl Names {
    pub fn from_config(config: &crate::config::Config) -> Names {
        let pick = |k: &str, d: &str| {
            config
                .get(k)
                .filter(|v| !v.is_empty())
                .unwrap_or(d)
                .to_string()
        };
        Names {
            dir: pick("appenddirname", "appendonlydir"),
            file: pick("appendfilename", "appendonly.aof"),
        }
    }

    /// A storage path for a file of the directory.
    pub fn path(&self, name: &str) -> String {
        format!("{}/{}", self.dir, name)
    }

    pub fn manifest_name(&self) -> String {
        format!("{}.manifest", self.file)
    }

    pub fn base_name(&self, seq: u64) -> String {
        format!("{}.{}.base.rdb", self.file, seq)
    }

    pub fn incr_name(&self, seq: u64) -> String {
        format!("{}.{}.incr.aof", self.file, seq)
    }

    /// Reads the manifest; None if there is none.
    pub fn read_manifest(&self, storage: &dyn Storage) -> Result<Option<Manifest>, String> {
        let path = self.path(&self.manifest_name());
        match storage.read(&path) {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => Manifest::parse(&String::from_utf8_lossy(&bytes))
                .map(Some)
                .map_err(|e| format!("{} ({})", e, path)),
            Err(e) => Err(format!("Can't open the AOF manifest {}: {}", path, e)),
        }
    }

    /// Writes the manifest atomically.
    pub fn write_manifest(&self, storage: &dyn Storage, m: &Manifest) -> std::io::Result<()> {
        storage.create_dir(&self.dir)?;
        storage.write_atomic(&self.path(&self.manifest_name()), m.to_text().as_bytes())
    }
}

/// An OS error's text without Rust's " (os error N)" suffix (what Redis prints: strerror).
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Appends the command stream to the current incremental file.
pub struct AofSink {
    storage: Arc<dyn Storage>,
    /// Storage path of the incremental file being appended to.
    pub file: String,
    pub policy: Fsync,
    /// Bytes of the current incremental file (all written successfully).
    pub incr_size: u64,
    /// Size of the whole AOF (base + incremental files): INFO aof_current_size.
    pub current_size: u64,
    /// Size of the AOF right after the last rewrite: INFO aof_base_size (auto rewrite compares).
    pub base_size: u64,
    /// Bytes a failed write left behind, retried by the cron (Redis's aof_buf after an error).
    pub pending: Vec<u8>,
    /// The last write or fsync error (INFO aof_last_write_status, MISCONF).
    pub last_error: Option<String>,
    /// Bytes written since the last fsync.
    pub unsynced: bool,
    /// Node monotonic ms of the last fsync (everysec).
    pub last_fsync_ms: u64,
    /// Times everysec had to wait for a background fsync still running (INFO aof_delayed_fsync).
    pub delayed_fsync: u64,
    /// Called with a message when `appendfsync always` cannot keep its promise: Redis exits.
    pub on_fatal: Arc<dyn Fn(&str) + Send + Sync>,
    /// Group commit: under `always`, writers wait here (outside the node lock) for an fsync.
    pub group: Arc<GroupSync>,
    /// Set when `on_fatal` was called. The real process is gone by then; in the simulator
    /// `on_fatal` returns (madsim kills the node's host, but the running task goes on until
    /// it yields), so the connection checks this and sends no reply for the write that could
    /// not be made durable.
    pub exited: bool,
}

impl AofSink {
    pub fn new(
        storage: Arc<dyn Storage>,
        file: String,
        policy: Fsync,
        on_fatal: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> AofSink {
        let incr_size = storage.len(&file).ok().flatten().unwrap_or(0);
        let group = Arc::new(GroupSync::new(
            storage.clone(),
            file.clone(),
            on_fatal.clone(),
        ));
        AofSink {
            group,
            storage,
            file,
            policy,
            incr_size,
            current_size: incr_size,
            base_size: 0,
            pending: Vec::new(),
            last_error: None,
            unsynced: false,
            last_fsync_ms: 0,
            delayed_fsync: 0,
            on_fatal,
            exited: false,
        }
    }

    /// Appends one command's bytes. Under `appendfsync always` they are durable once
    /// [`AofSink::durability`]'s wait returns: the connection waits for that (group commit, see
    /// [`GroupSync`]) before it sends the reply.
    pub fn write(&mut self, bytes: &[u8]) {
        if !self.pending.is_empty() {
            // An earlier write failed: keep the order, the cron retries.
            self.pending.extend_from_slice(bytes);
            return;
        }
        match self.storage.append(&self.file, bytes) {
            Ok(()) => {
                self.incr_size += bytes.len() as u64;
                self.current_size += bytes.len() as u64;
                self.group.note_written(bytes.len() as u64);
                self.unsynced = true;
            }
            Err(e) => {
                // A short write leaves part of a command: cut it off so the file stays whole.
                let _ = self.storage.truncate(&self.file, self.incr_size);
                self.pending.extend_from_slice(bytes);
                self.last_error = Some(strerror(&e));
                if self.policy == Fsync::Always {
                    self.exited = true;
                    (self.on_fatal)(&format!(
                        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting... ({})",
                        strerror(&e)
                    ));
                }
            }
        }
    }

    /// Retries bytes a failed write left (cron); true when the sink recovered just now.
    pub fn retry_pending(&mut self) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        match self.storage.append(&self.file, &self.pending) {
            Ok(()) => {
                let n = self.pending.len() as u64;
                self.incr_size += n;
                self.current_size += n;
                self.group.note_written(n);
                self.pending.clear();
                self.unsynced = true;
                self.last_error = None;
                true
            }
            Err(e) => {
                let _ = self.storage.truncate(&self.file, self.incr_size);
                self.last_error = Some(strerror(&e));
                false
            }
        }
    }

    /// The everysec fsync (cron): at most one background fsync running, about once a second.
    /// Under `always`, bytes no client waited for (expiry DELs, a replica's applied stream) are
    /// fsynced here, at most a cron tick after they were written.
    pub fn tick(&mut self, now_ms: u64) {
        if self.policy == Fsync::Always && self.group.behind() {
            if let Err(e) = self.sync_now() {
                self.last_error = Some(strerror(&e));
                self.exited = true;
                (self.on_fatal)(&format!(
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                    strerror(&e)
                ));
            }
            return;
        }
        if self.policy != Fsync::EverySec || !self.unsynced {
            return;
        }
        if now_ms.saturating_sub(self.last_fsync_ms) < 1000 {
            return;
        }
        if self.storage.background_sync_pending() {
            self.delayed_fsync += 1;
            return;
        }
        self.storage.sync_in_background(&self.file);
        self.unsynced = false;
        self.last_fsync_ms = now_ms;
    }

    /// fsyncs now, whatever the policy (shutdown, before switching files).
    pub fn sync_now(&mut self) -> std::io::Result<()> {
        self.retry_pending();
        self.storage.sync(&self.file)?;
        self.unsynced = false;
        self.group.mark_all_synced();
        Ok(())
    }

    /// Under `appendfsync always` with bytes not yet on disk: the group commit to wait on and
    /// the offset to wait for, before a reply to the commands just run may be sent.
    pub fn durability(&self) -> Option<(Arc<GroupSync>, u64)> {
        (self.policy == Fsync::Always && self.group.behind())
            .then(|| (self.group.clone(), self.group.written()))
    }

    /// Switches appends to a new incremental file (a rewrite started); the old one is fsynced
    /// first, so it is whole if a crash comes before the rewrite ends.
    pub fn switch_to(&mut self, file: String) -> std::io::Result<()> {
        let _ = self.sync_now();
        self.storage.append(&file, b"")?;
        self.group.switch_file(file.clone());
        self.file = file;
        self.incr_size = 0;
        Ok(())
    }
}

/// What [`next_command`] found at a position.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// A whole command and the position after it.
    Command(Vec<Bytes>, usize),
    /// The end of the data, exactly at a command boundary.
    End,
    /// The data ends inside the command that starts here.
    Truncated,
    /// A byte at this offset cannot be there.
    Corrupt(usize, &'static str),
}

/// Parses the command starting at `pos` (RESP multibulk; `#...` annotation lines, which Redis
/// writes with aof-timestamp-enabled, are skipped).
pub fn next_command(data: &Bytes, mut pos: usize) -> Next {
    let len = data.len();
    // Annotations.
    while pos < len && data[pos] == b'#' {
        match find_crlf(data, pos) {
            Some(end) => pos = end + 2,
            None => return Next::Truncated,
        }
    }
    if pos == len {
        return Next::End;
    }
    if data[pos] != b'*' {
        return Next::Corrupt(pos, "expected '*'");
    }
    let (count, mut at) = match read_number(data, pos + 1) {
        Num::Ok(n, next) => (n, next),
        Num::Short => return Next::Truncated,
        Num::Bad(at) => return Next::Corrupt(at, "bad multibulk length"),
    };
    if count < 1 {
        return Next::Corrupt(pos + 1, "bad multibulk length");
    }
    let mut argv = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        if at >= len {
            return Next::Truncated;
        }
        if data[at] != b'$' {
            return Next::Corrupt(at, "expected '$'");
        }
        let (n, start) = match read_number(data, at + 1) {
            Num::Ok(n, next) => (n as usize, next),
            Num::Short => return Next::Truncated,
            Num::Bad(at) => return Next::Corrupt(at, "bad bulk length"),
        };
        let end = match start.checked_add(n) {
            Some(e) => e,
            None => return Next::Corrupt(at, "bad bulk length"),
        };
        if end + 2 > len {
            // A CR or LF already present where the terminator goes must be right.
            if end < len && data[end] != b'\r' || end + 1 < len && data[end + 1] != b'\n' {
                return Next::Corrupt(end, "expected CRLF after bulk");
            }
            return Next::Truncated;
        }
        if &data[end..end + 2] != b"\r\n" {
            return Next::Corrupt(end, "expected CRLF after bulk");
        }
        argv.push(data.slice(start..end));
        at = end + 2;
    }
    Next::Command(argv, at)
}

enum Num {
    Ok(u64, usize),
    Short,
    Bad(usize),
}

/// Reads decimal digits up to CRLF starting at `pos`.
fn read_number(data: &[u8], pos: usize) -> Num {
    let mut n: u64 = 0;
    let mut i = pos;
    loop {
        if i >= data.len() {
            return Num::Short;
        }
        match data[i] {
            b'0'..=b'9' if i - pos < 19 => n = n * 10 + (data[i] - b'0') as u64,
            b'\r' if i > pos => {
                if i + 1 >= data.len() {
                    return Num::Short;
                }
                if data[i + 1] != b'\n' {
                    return Num::Bad(i + 1);
                }
                return Num::Ok(n, i + 2);
            }
            _ => return Num::Bad(i),
        }
        i += 1;
    }
}

fn find_crlf(data: &[u8], from: usize) -> Option<usize> {
    data[from..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::encode_command;

    fn all(data: &[u8]) -> (Vec<Vec<Bytes>>, Next) {
        let data = Bytes::copy_from_slice(data);
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            match next_command(&data, pos) {
                Next::Command(argv, next) => {
                    out.push(argv);
                    pos = next;
                }
                other => return (out, other),
            }
        }
    }

    #[test]
    fn manifest_round_trip_in_redis_format() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.to_text(), text);
        assert_eq!(m.next_incr_seq(), 3);
        assert_eq!(m.next_base_seq(), 2);
        assert!(Manifest::parse("file x seq 1\n").is_err());
        assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").is_err());
        // History lines are skipped.
        let m = Manifest::parse("file old seq 1 type h\nfile a seq 2 type b\n").unwrap();
        assert!(m.incrs.is_empty());
    }

    #[test]
    fn parses_commands_and_tells_truncation_from_corruption() {
        let mut data = encode_command(&[b"SET", b"k", b"v"]);
        data.extend_from_slice(b"#TS:1700000000\r\n");
        data.extend_from_slice(&encode_command(&[b"DEL", b"k"]));
        let (cmds, end) = all(&data);
        assert_eq!(cmds.len(), 2);
        assert_eq!(end, Next::End);
        // Every cut inside the second command is a truncation after the first.
        let first = encode_command(&[b"SET", b"k", b"v"]).len();
        for cut in (first + 1..data.len()).filter(|c| *c != first + 16) {
            let (cmds, end) = all(&data[..cut]);
            assert_eq!(cmds.len(), 1, "{cut}");
            assert_eq!(end, Next::Truncated, "cut at {cut}");
        }
        // A changed byte in the middle is corruption at its offset.
        let mut bad = data.clone();
        bad[first] = b'x';
        assert_eq!(all(&bad).1, Next::Corrupt(first, "expected '*'"));
        let mut bad = data.clone();
        bad[13] = b'Z'; // the "$" of the first command's second argument
        assert_eq!(all(&bad).1, Next::Corrupt(13, "expected '$'"));
    }
}

//! MIGRATE's network half: sending RESTORE-ASKING commands to the target node and reading its
//! acknowledgements, outside the node lock.
//!
//! Redis runs MIGRATE as a blocking call inside its single thread, so nothing else happens while
//! the keys travel. keyslot must not hold the node lock across network waits (the cluster bus,
//! replication and other clients share it), so MIGRATE is split in three:
//!
//! 1. the command handler (`crate::cmd::migrate`), under the lock, parses the arguments, dumps
//!    the keys with the RDB codec, marks them *in flight* and leaves a [`MigrateJob`] on the
//!    client;
//! 2. [`run`] (this module), called by the client's connection task without the lock, borrows a
//!    cached connection to the target, writes the commands and reads one reply per command;
//! 3. [`crate::node::Node::migrate_finish`], under the lock again, deletes the keys the target
//!    acknowledged, propagates the DEL to replicas and the AOF, and releases the in-flight keys.
//!
//! Commands of other clients that touch an in-flight key wait until step 3 (see
//! `Node::must_wait`), so a write can never land on the source between the dump and the delete
//! and be lost: the only window Redis's single thread closes by construction.
//!
//! Connections are cached per `host:port` like Redis's `migrate_cached_sockets`: at most
//! [`SOCKET_CACHE_ITEMS`], closed by the node's cron after [`SOCKET_CACHE_TTL_MS`] unused.

use crate::node::Node;
use crate::resp::Reply;
use crate::tls::MaybeTls;
use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Redis's MIGRATE_SOCKET_CACHE_ITEMS: the most target connections kept open.
pub const SOCKET_CACHE_ITEMS: usize = 64;
/// Redis's MIGRATE_SOCKET_CACHE_TTL (10 s): an unused cached connection is closed after this.
pub const SOCKET_CACHE_TTL_MS: u64 = 10_000;
/// A reply line longer than this is a protocol error from the target (Redis reads into 1 KiB).
const REPLY_LINE_MAX_BYTES: usize = 64 * 1024;

/// A connection to a MIGRATE target, kept between calls.
#[derive(Debug)]
pub struct CachedSocket {
    /// The TCP connection (madsim's in the simulator).
    stream: MaybeTls<TcpStream>,
    /// The database last SELECTed on it (None: send SELECT next time), as Redis's last_dbid.
    last_dbid: Option<i64>,
    /// Node monotonic ms of its last use, for the idle timeout.
    last_use_ms: u64,
}

/// The node's MIGRATE state, shared by every client.
#[derive(Debug, Default)]
pub struct MigrateState {
    /// Idle cached connections by `host:port` (a connection in use is out of the map).
    sockets: BTreeMap<String, CachedSocket>,
    /// Keys being migrated right now, with how many jobs hold each; commands that touch them
    /// wait (the count handles two MIGRATEs naming the same key).
    in_flight: BTreeMap<Bytes, usize>,
}

impl MigrateState {
    /// INFO's `migrate_cached_sockets`.
    pub fn cached_sockets(&self) -> usize {
        self.sockets.len()
    }

    /// Whether any key is in flight (the fast path of `must_wait`).
    pub fn has_in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Whether `key` is being migrated right now.
    pub fn is_in_flight(&self, key: &[u8]) -> bool {
        self.in_flight.contains_key(key)
    }

    /// Marks keys in flight for a new job.
    pub fn hold(&mut self, keys: &[Bytes]) {
        for k in keys {
            *self.in_flight.entry(k.clone()).or_default() += 1;
        }
    }

    /// Releases a finished job's keys.
    pub fn release(&mut self, keys: &[Bytes]) {
        for k in keys {
            if let Some(n) = self.in_flight.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    self.in_flight.remove(k);
                }
            }
        }
    }

    /// Closes cached connections unused for longer than the TTL (Redis's
    /// migrateCloseTimedoutSockets, from the cron).
    pub fn close_idle(&mut self, now_ms: u64) {
        self.sockets
            .retain(|_, s| now_ms.saturating_sub(s.last_use_ms) <= SOCKET_CACHE_TTL_MS);
    }

    fn take(&mut self, name: &str) -> Option<CachedSocket> {
        self.sockets.remove(name)
    }

    fn put_back(&mut self, name: String, socket: CachedSocket) {
        if self.sockets.len() >= SOCKET_CACHE_ITEMS && !self.sockets.contains_key(&name) {
            // Full: drop one (Redis drops a random one; the oldest is as good and replayable).
            let oldest = self
                .sockets
                .iter()
                .min_by_key(|(_, s)| s.last_use_ms)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.sockets.remove(&k);
            }
        }
        self.sockets.insert(name, socket);
    }
}

/// One MIGRATE call, prepared under the lock and run by the connection task.
#[derive(Debug, Clone)]
pub struct MigrateJob {
    /// Target host and port as given (the cache key is `host:port`).
    pub host: String,
    pub port: u16,
    /// The database to SELECT on the target.
    pub dbid: i64,
    /// Per I/O operation, ms (Redis's timeout argument; <= 0 became 1000).
    pub timeout_ms: u64,
    /// COPY: keep the keys on the source.
    pub copy: bool,
    /// AUTH / AUTH2 to send first: (username, password).
    pub auth: Option<(Option<Bytes>, Bytes)>,
    /// The keys, in order, one RESTORE-ASKING each.
    pub keys: Vec<Bytes>,
    /// The encoded RESTORE-ASKING commands, one per key, in `keys` order.
    pub restores: Vec<u8>,
    /// Every key the handler marked in flight (released at the end, sent or not).
    pub held: Vec<Bytes>,
}

/// Why talking to the target failed (mapped to Redis's IOERR texts).
#[derive(Debug, thiserror::Error)]
enum IoFailure {
    #[error("error or timeout writing to target instance")]
    Write { timed_out: bool },
    #[error("error or timeout reading to target instance")]
    Read { timed_out: bool },
}

impl IoFailure {
    fn timed_out(&self) -> bool {
        match self {
            IoFailure::Write { timed_out } | IoFailure::Read { timed_out } => *timed_out,
        }
    }
}

/// What the target answered to one attempt.
struct Answers {
    /// The first error line of AUTH / SELECT / a RESTORE (without its `-`).
    target_error: Option<String>,
    /// Keys whose RESTORE succeeded.
    acked: Vec<Bytes>,
    /// A read failed after some replies (the rest are unknown).
    read_failure: Option<IoFailure>,
}

/// Runs a MIGRATE job: connects (or reuses a cached connection), sends, reads the replies, and
/// finishes under the lock. Returns the client's reply.
pub async fn run(node: &Arc<Mutex<Node>>, job: MigrateJob) -> Reply {
    let name = format!("{}:{}", job.host, job.port);
    let timeout = Duration::from_millis(job.timeout_ms);
    let mut may_retry = true;
    loop {
        let (cached, now_ms, tls) = match crate::nodelock::lock(node).await {
            Ok(mut g) => (
                g.rest.migrate.take(&name),
                g.rest.clock.mono_ms(),
                g.rest.tls.clone().filter(|t| t.cluster),
            ),
            Err(_) => return Reply::error("ERR node is shutting down"),
        };
        let mut socket = match cached {
            Some(s) => s,
            None => match connect(&job.host, job.port, timeout, tls.as_deref()).await {
                Connected::Yes(stream) => CachedSocket {
                    stream,
                    last_dbid: None,
                    last_use_ms: now_ms,
                },
                Connected::Refused => {
                    // Redis's connect does not look at the socket error: a refused connection
                    // shows up as a failed write (retried once), so the reply says "writing".
                    if may_retry {
                        may_retry = false;
                        continue;
                    }
                    finish(node, &job, &[]);
                    return Reply::error(format!(
                        "IOERR {}",
                        IoFailure::Write { timed_out: false }
                    ));
                }
                Connected::TimedOut => {
                    finish(node, &job, &[]);
                    return Reply::error("IOERR error or timeout connecting to the client");
                }
            },
        };
        let select = socket.last_dbid != Some(job.dbid);
        let mut out = Vec::with_capacity(job.restores.len() + 64);
        if let Some((user, password)) = &job.auth {
            let mut argv: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(u) = user {
                argv.push(u);
            }
            argv.push(password);
            out.extend_from_slice(&crate::replication::encode_command(&argv));
        }
        if select {
            let db = job.dbid.to_string();
            out.extend_from_slice(&crate::replication::encode_command(&[
                b"SELECT",
                db.as_bytes(),
            ]));
        }
        out.extend_from_slice(&job.restores);
        let sent = send(&mut socket.stream, &out, timeout).await;
        let answers = match sent {
            Err(e) => Err(e),
            Ok(()) => Ok(read_answers(&mut socket, &job, select, timeout).await),
        };
        match answers {
            Err(e) => {
                // Nothing was acknowledged: drop the connection and, unless it timed out, try
                // once more on a fresh one (a cached connection the target closed is common).
                if may_retry && !e.timed_out() {
                    may_retry = false;
                    continue;
                }
                finish(node, &job, &[]);
                return Reply::error(format!("IOERR {}", e));
            }
            Ok(a) => {
                if a.read_failure.is_some() && a.acked.is_empty() && a.target_error.is_none() {
                    let e = a
                        .read_failure
                        .unwrap_or(IoFailure::Read { timed_out: false });
                    if may_retry && !e.timed_out() {
                        may_retry = false;
                        continue;
                    }
                    finish(node, &job, &[]);
                    return Reply::error(format!("IOERR {}", e));
                }
                let deleted: &[Bytes] = if job.copy { &[] } else { &a.acked };
                let reply = match (&a.target_error, &a.read_failure) {
                    (Some(text), _) => {
                        Reply::error(format!("ERR Target instance replied with error: {}", text))
                    }
                    (None, Some(e)) => Reply::error(format!("IOERR {}", e)),
                    (None, None) => Reply::ok(),
                };
                let keep = a.target_error.is_none() && a.read_failure.is_none();
                if let Ok(mut g) = crate::nodelock::lock(node).await {
                    g.migrate_finish(&job.held, deleted);
                    if keep {
                        socket.last_dbid = Some(job.dbid);
                        socket.last_use_ms = g.rest.clock.mono_ms();
                        g.rest.migrate.put_back(name, socket);
                    } else if a.read_failure.is_none() {
                        // An error from the target: keep the connection, SELECT again next time.
                        socket.last_dbid = None;
                        socket.last_use_ms = g.rest.clock.mono_ms();
                        g.rest.migrate.put_back(name, socket);
                    }
                }
                return reply;
            }
        }
    }
}

/// Releases the job's keys without deleting anything (failure paths).
fn finish(node: &Arc<Mutex<Node>>, job: &MigrateJob, deleted: &[Bytes]) {
    if let Ok(mut g) = node.lock() {
        g.migrate_finish(&job.held, deleted);
    }
}

/// How a connection attempt to the target ended.
enum Connected {
    Yes(MaybeTls<TcpStream>),
    /// Refused or otherwise failed at once.
    Refused,
    /// No answer within the timeout.
    TimedOut,
}

/// Connects to the target; with `tls-cluster`, over TLS (Redis's MIGRATE creates a TLS
/// connection exactly when tls-cluster is on). A failed handshake counts as refused.
async fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
    tls: Option<&crate::tls::TlsContext>,
) -> Connected {
    let addr = format!("{}:{}", host, port);
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            match crate::tls::stream::maybe_connect(tls, host, s).await {
                Ok(s) => Connected::Yes(s),
                Err(_) => Connected::Refused,
            }
        }
        Ok(Err(_)) => Connected::Refused,
        Err(_) => Connected::TimedOut,
    }
}

/// Writes the whole request in 64 KiB chunks, each within the timeout (as Redis's
/// connSyncWrite loop), then flushes (madsim sends on flush).
async fn send(
    stream: &mut MaybeTls<TcpStream>,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(), IoFailure> {
    for chunk in bytes.chunks(64 * 1024) {
        match tokio::time::timeout(timeout, stream.write_all(chunk)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(IoFailure::Write { timed_out: false }),
            Err(_) => return Err(IoFailure::Write { timed_out: true }),
        }
    }
    match tokio::time::timeout(timeout, stream.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(IoFailure::Write { timed_out: false }),
        Err(_) => Err(IoFailure::Write { timed_out: true }),
    }
}

/// Reads the AUTH / SELECT replies and one reply per RESTORE. A failure before the first
/// RESTORE reply is an error (nothing acknowledged); later ones end the reading.
async fn read_answers(
    socket: &mut CachedSocket,
    job: &MigrateJob,
    select: bool,
    timeout: Duration,
) -> Answers {
    let mut reader = LineReader::default();
    let mut answers = Answers {
        target_error: None,
        acked: Vec::new(),
        read_failure: None,
    };
    let mut preamble_error = None;
    let preamble = usize::from(job.auth.is_some()) + usize::from(select);
    for _ in 0..preamble {
        match reader.line(&mut socket.stream, timeout).await {
            Ok(line) => {
                if preamble_error.is_none() {
                    preamble_error = error_text(&line);
                }
            }
            Err(e) => {
                answers.read_failure = Some(e);
                return answers;
            }
        }
    }
    for key in &job.keys {
        let line = match reader.line(&mut socket.stream, timeout).await {
            Ok(l) => l,
            Err(e) => {
                answers.read_failure = Some(e);
                break;
            }
        };
        // Like Redis, an AUTH or SELECT error fails every key, reported once.
        let error = preamble_error.clone().or_else(|| error_text(&line));
        match error {
            Some(text) => {
                if answers.target_error.is_none() {
                    answers.target_error = Some(text);
                }
            }
            None => answers.acked.push(key.clone()),
        }
    }
    answers
}

/// The text of an error reply line (`-ERR ...` -> `ERR ...`), None for any other reply.
fn error_text(line: &[u8]) -> Option<String> {
    line.strip_prefix(b"-")
        .map(|t| String::from_utf8_lossy(t).into_owned())
}

/// Reads CRLF-terminated reply lines (replies to AUTH, SELECT and RESTORE are one line each).
#[derive(Default)]
struct LineReader {
    buf: BytesMut,
}

impl LineReader {
    async fn line(
        &mut self,
        stream: &mut MaybeTls<TcpStream>,
        timeout: Duration,
    ) -> Result<Vec<u8>, IoFailure> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line = self.buf.split_to(pos + 1).to_vec();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > REPLY_LINE_MAX_BYTES {
                return Err(IoFailure::Read { timed_out: false });
            }
            self.buf.reserve(4096);
            match tokio::time::timeout(timeout, stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Err(IoFailure::Read { timed_out: false }),
                Ok(Ok(_)) => {}
                Err(_) => return Err(IoFailure::Read { timed_out: true }),
            }
        }
    }
}

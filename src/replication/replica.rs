//! Replica side: the link to the master.
//!
//! One task per replication "generation" (a role change starts a new one and the old task
//! stops at its next step). It connects to the master's client port, handshakes
//! (`PING`, `AUTH`, `REPLCONF listening-port`, `REPLCONF capa eof capa psync2`), asks `PSYNC replid
//! offset+1`, loads a full snapshot or continues from its offset, then applies the stream
//! command by command, counting its bytes into the replication offset, and acknowledges its
//! offset every second (and when the master asks with `REPLCONF GETACK`).

use super::{encode_command, encode_command_into, LinkState, Role};
use crate::log::Level;
use crate::node::Node;
use crate::resp::request::{Limits, RequestParser};
use bytes::BytesMut;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Seconds between REPLCONF ACKs, as Redis.
const ACK_INTERVAL_MS: u64 = 1000;
/// Wait before reconnecting after a failure.
const RETRY_MS: u64 = 1000;
/// Handshake steps give up after this long.
const HANDSHAKE_TIMEOUT_MS: u64 = 5000;

/// Why a sync attempt ended.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("master closed the connection")]
    Closed,
    #[error("timeout")]
    Timeout,
    #[error("unexpected reply from master: {0}")]
    Protocol(String),
    #[error("replication role changed")]
    Superseded,
    #[error("bad snapshot: {0}")]
    Snapshot(String),
}

/// Runs the replica link of `generation` until the role changes.
pub async fn run(node: Arc<Mutex<Node>>, generation: u64) {
    loop {
        let target = match crate::nodelock::lock(&node).await {
            Ok(n) if n.rest.repl.generation == generation => match &n.rest.repl.role {
                Role::Replica(l) => Some((l.host.clone(), l.port)),
                Role::Master => None,
            },
            _ => None,
        };
        let Some((host, port)) = target else {
            return;
        };
        let result = sync_once(&node, generation, &host, port).await;
        let still_mine = set_link(&node, generation, LinkState::Connect, |n| {
            let now = n.rest.clock.mono_ms();
            if let Role::Replica(l) = &mut n.rest.repl.role {
                // Only a link that was up goes down now; one that never connected (no byte
                // ever came: last_io_ms 0) stays "down since ever".
                if l.down_since_ms == 0 && l.last_io_ms != 0 {
                    l.down_since_ms = now;
                }
            }
        });
        if !still_mine {
            return;
        }
        if let Err(e) = result {
            if let Ok(n) = crate::nodelock::lock(&node).await {
                n.log(
                    Level::Warning,
                    &format!(
                        "Replication with MASTER {}:{} interrupted: {}",
                        host, port, e
                    ),
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(RETRY_MS)).await;
    }
}

/// Updates the link state if this generation is still current; false if it is not.
fn set_link(
    node: &Arc<Mutex<Node>>,
    generation: u64,
    state: LinkState,
    f: impl FnOnce(&mut Node),
) -> bool {
    let Ok(mut n) = node.lock() else {
        return false;
    };
    if n.rest.repl.generation != generation {
        return false;
    }
    if let Role::Replica(l) = &mut n.rest.repl.role {
        l.state = state;
    }
    f(&mut n);
    true
}

/// A connection to the master with a read buffer.
struct Link {
    /// TLS with `tls-replication`, as Redis's replica connects with connCreateTLS then.
    stream: crate::tls::MaybeTls<TcpStream>,
    buf: BytesMut,
}

impl Link {
    async fn send(&mut self, argv: &[&[u8]]) -> Result<(), SyncError> {
        self.stream.write_all(&encode_command(argv)).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// Reads one `\r\n`-terminated line (without it), skipping the bare `\n` keepalives a
    /// redis-server master writes every second while it prepares a full sync (as Redis's
    /// replica skips them). Fails after `idle_ms` without a byte from the master: a timeout on
    /// the whole line would give up on a Redis master that answers PSYNC with `+FULLRESYNC`
    /// only when a diskless transfer starts, after `repl-diskless-sync-delay` (5 s by
    /// default), keepalives meanwhile.
    async fn line(&mut self, idle_ms: u64) -> Result<String, SyncError> {
        loop {
            let keepalives = self.buf.iter().take_while(|&&b| b == b'\n').count();
            if keepalives > 0 {
                let _ = self.buf.split_to(keepalives);
            }
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(pos + 2);
                return Ok(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            if self.buf.len() > 64 * 1024 {
                return Err(SyncError::Protocol("line too long".into()));
            }
            tokio::time::timeout(Duration::from_millis(idle_ms), self.fill())
                .await
                .map_err(|_| SyncError::Timeout)??;
        }
    }

    /// Reads more bytes into the buffer.
    async fn fill(&mut self) -> Result<usize, SyncError> {
        self.buf.reserve(64 * 1024);
        let n = self.stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            return Err(SyncError::Closed);
        }
        Ok(n)
    }

    /// Sends a command and reads a one-line reply, each read within the handshake timeout.
    async fn ask(&mut self, argv: &[&[u8]]) -> Result<String, SyncError> {
        self.send(argv).await?;
        self.line(HANDSHAKE_TIMEOUT_MS).await
    }
}

async fn sync_once(
    node: &Arc<Mutex<Node>>,
    generation: u64,
    host: &str,
    port: u16,
) -> Result<(), SyncError> {
    if !set_link(node, generation, LinkState::Connecting, |_| {}) {
        return Err(SyncError::Superseded);
    }
    let addr = if host.contains(':') {
        format!("[{}]:{}", host, port)
    } else {
        format!("{}:{}", host, port)
    };
    let stream = tokio::time::timeout(
        Duration::from_millis(HANDSHAKE_TIMEOUT_MS),
        TcpStream::connect(addr),
    )
    .await
    .map_err(|_| SyncError::Timeout)??;
    let _ = stream.set_nodelay(true);
    let tls = {
        let n = node.lock().map_err(|_| SyncError::Superseded)?;
        n.rest.tls.clone().filter(|t| t.replication)
    };
    let stream = crate::tls::stream::maybe_connect(tls.as_deref(), host, stream).await?;
    let mut link = Link {
        stream,
        buf: BytesMut::with_capacity(64 * 1024),
    };
    let (masterauth, masteruser, my_port, replid, offset) = {
        let n = crate::nodelock::lock(node)
            .await
            .map_err(|_| SyncError::Superseded)?;
        let cfg = &n.rest.config;
        // The port the master will list us under: the TLS one with tls-replication (Redis).
        let tls_port = cfg.int("tls-port") as u16;
        let my_port = if tls.is_some() && tls_port != 0 {
            tls_port
        } else {
            n.rest.port
        };
        (
            cfg.get("masterauth")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            cfg.get("masteruser")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            my_port,
            n.rest.repl.replid.clone(),
            n.rest.repl.offset,
        )
    };
    let pong = link.ask(&[b"PING"]).await?;
    if pong.starts_with('-') && !pong.starts_with("-NOAUTH") {
        return Err(SyncError::Protocol(pong));
    }
    if let Some(pass) = &masterauth {
        let reply = match &masteruser {
            Some(user) => {
                link.ask(&[b"AUTH", user.as_bytes(), pass.as_bytes()])
                    .await?
            }
            None => link.ask(&[b"AUTH", pass.as_bytes()]).await?,
        };
        if reply.starts_with('-') {
            return Err(SyncError::Protocol(reply));
        }
    }
    let port_text = my_port.to_string();
    let _ = link
        .ask(&[b"REPLCONF", b"listening-port", port_text.as_bytes()])
        .await?;
    // `capa eof` as a Redis 7.0 replica says it: the snapshot loader reads the diskless
    // `$EOF:<mark>` form, and without it a redis-server master falls back to a disk-based
    // sync (a fork writing an RDB file into its dir) for this replica even with
    // `repl-diskless-sync yes`. A keyslot master ignores the capability (it always sends `$<len>`).
    let _ = link
        .ask(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        .await?;
    // An empty history (offset 0) asks for a full sync.
    let psync_reply = if offset == 0 {
        link.ask(&[b"PSYNC", b"?", b"-1"]).await?
    } else {
        let from = (offset + 1).to_string();
        link.ask(&[b"PSYNC", replid.as_bytes(), from.as_bytes()])
            .await?
    };
    let mut words = psync_reply.split(' ');
    match words.next() {
        Some("+FULLRESYNC") => {
            let new_id = words.next().unwrap_or_default().to_string();
            let start: u64 = words
                .next()
                .and_then(|o| o.parse().ok())
                .ok_or_else(|| SyncError::Protocol(psync_reply.clone()))?;
            set_link(node, generation, LinkState::Sync, |_| {});
            let rdb = read_snapshot_payload(&mut link).await?;
            let snapshot = super::snapshot::read(&rdb).map_err(SyncError::Snapshot)?;
            let mut n = crate::nodelock::lock(node)
                .await
                .map_err(|_| SyncError::Superseded)?;
            if n.rest.repl.generation != generation {
                return Err(SyncError::Superseded);
            }
            // As Redis's replicationAttachToNewMaster: our own replicas (a chain) follow the
            // history we are dropping, so they are disconnected and must resync from the new
            // one; left attached they would keep offsets and data no longer ours.
            n.rest.repl.replicas.clear();
            n.rest.repl.pending_feeds.clear();
            n.db.clear();
            let now_ms = n.rest.clock.unix_ms();
            n.db.set_now(now_ms);
            if let Err(e) = n
                .rest
                .scripting
                .load_snapshot_libraries(&snapshot.functions)
            {
                n.log(
                    crate::log::Level::Warning,
                    &format!("Failed loading library from the master's snapshot: {e}"),
                );
            }
            let keys = snapshot.entries.len();
            for (key, value, expire_ms) in snapshot.entries {
                n.db.insert_loaded(key, value, expire_ms);
            }
            let repl = &mut n.rest.repl;
            repl.replid = new_id;
            repl.replid2 = super::NULL_REPLID.to_string();
            repl.second_offset = -1;
            repl.offset = start;
            repl.backlog.reset(start + 1);
            n.log(
                Level::Notice,
                &format!(
                    "MASTER <-> REPLICA sync: Finished with success ({} keys)",
                    keys
                ),
            );
        }
        Some("+CONTINUE") => {
            let mut n = crate::nodelock::lock(node)
                .await
                .map_err(|_| SyncError::Superseded)?;
            if let Some(new_id) = words.next().filter(|w| !w.is_empty()) {
                let repl = &mut n.rest.repl;
                if new_id != repl.replid {
                    repl.replid2 = std::mem::replace(&mut repl.replid, new_id.to_string());
                    repl.second_offset = repl.offset as i64 + 1;
                }
            }
            n.log(
                Level::Notice,
                "Successful partial resynchronization with master.",
            );
        }
        _ => return Err(SyncError::Protocol(psync_reply)),
    }
    set_link(node, generation, LinkState::Connected, |n| {
        let now = n.rest.clock.mono_ms();
        if let Role::Replica(l) = &mut n.rest.repl.role {
            l.down_since_ms = 0;
            l.last_io_ms = now;
        }
    });
    stream_commands(node, generation, &mut link).await
}

/// Reads `$<len>\r\n<bytes>` (the snapshot of a full sync).
async fn read_snapshot_payload(link: &mut Link) -> Result<Vec<u8>, SyncError> {
    // Both framings Redis uses: `$<len>` (disk-based) and `$EOF:<mark>` ... `<mark>` (diskless,
    // what a redis-server master sends a replica that announced `capa eof`), after any bare
    // `\n` keepalives. Bytes after the RDB (the stream) stay in the link's buffer.
    let mut transfer = crate::rdb::sync::RdbTransfer::new();
    loop {
        if !link.buf.is_empty() {
            match transfer
                .feed(&link.buf)
                .map_err(|e| SyncError::Protocol(format!("bad snapshot transfer: {e}")))?
            {
                crate::rdb::sync::Progress::Done { rdb, consumed } => {
                    let _ = link.buf.split_to(consumed);
                    return Ok(rdb);
                }
                crate::rdb::sync::Progress::NeedMore => link.buf.clear(),
            }
        }
        link.fill().await?;
    }
}

/// Applies the master's stream until the link breaks or the role changes.
async fn stream_commands(
    node: &Arc<Mutex<Node>>,
    generation: u64,
    link: &mut Link,
) -> Result<(), SyncError> {
    let mut parser = RequestParser::new();
    let limits = Limits {
        max_bulk_len: u64::MAX,
        authenticated: true,
    };
    // Bytes of the command being parsed so far (the parser consumes partial commands).
    let mut pending_bytes: u64 = 0;
    // Commands of a MULTI block received so far (applied when its EXEC arrives).
    let mut in_tx: Option<Vec<(Vec<bytes::Bytes>, u64)>> = None;
    let mut ack = tokio::time::interval(Duration::from_millis(ACK_INTERVAL_MS));
    // Each applied command is re-encoded here for our own backlog; one buffer serves them all.
    let mut raw = Vec::new();
    loop {
        // Apply every complete command in the buffer.
        let mut acks_requested = false;
        {
            let mut applied = Vec::new();
            loop {
                let before = link.buf.len();
                let parsed = parser.parse(&mut link.buf, &limits);
                pending_bytes += (before - link.buf.len()) as u64;
                match parsed {
                    Ok(Some(argv)) => {
                        let item = (argv, pending_bytes);
                        pending_bytes = 0;
                        // A MULTI ... EXEC block is applied in one go, under one lock, so a
                        // reader never sees half a transaction.
                        let name = item.0.first().cloned().unwrap_or_default();
                        if name.eq_ignore_ascii_case(b"multi") {
                            in_tx.get_or_insert_with(Vec::new).push(item);
                        } else if let Some(tx) = in_tx.as_mut() {
                            tx.push(item);
                            if name.eq_ignore_ascii_case(b"exec") {
                                applied.extend(in_tx.take().unwrap_or_default());
                            }
                        } else {
                            applied.push(item);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(SyncError::Protocol(e.to_string())),
                }
            }
            if !applied.is_empty() {
                let mut n = crate::nodelock::lock(node)
                    .await
                    .map_err(|_| SyncError::Superseded)?;
                if n.rest.repl.generation != generation {
                    return Err(SyncError::Superseded);
                }
                for (argv, len) in applied {
                    let is_getack = argv.len() >= 2
                        && argv[0].eq_ignore_ascii_case(b"replconf")
                        && argv[1].eq_ignore_ascii_case(b"getack");
                    let tx_marker = argv[0].eq_ignore_ascii_case(b"multi")
                        || argv[0].eq_ignore_ascii_case(b"exec");
                    if is_getack {
                        acks_requested = true;
                    } else if !tx_marker {
                        n.apply_replicated(&argv);
                    }
                    raw.clear();
                    encode_command_into(&mut raw, &argv);
                    let repl = &mut n.rest.repl;
                    // The raw bytes equal the re-encoding for multibulk streams; keep our own
                    // backlog so our replicas (and a promotion) continue from the same offsets.
                    if raw.len() as u64 == len {
                        repl.feed(&raw);
                    } else {
                        repl.offset += len;
                        repl.backlog.append(&raw);
                    }
                }
                // A big command's buffer is not kept for the small ones after it.
                if raw.capacity() > super::SCRATCH_KEEP_BYTES {
                    raw = Vec::new();
                }
                let now = n.rest.clock.mono_ms();
                if let Role::Replica(l) = &mut n.rest.repl.role {
                    l.last_io_ms = now;
                }
            }
        }
        if acks_requested {
            send_ack(node, link).await?;
        }
        // `biased`: deterministic branch order in the simulator (see bus.rs); the ACK tick
        // first so a master streaming without pause never starves it.
        tokio::select! {
            biased;
            _ = ack.tick() => {
                if crate::nodelock::lock(node).await.map(|n| n.rest.repl.generation != generation).unwrap_or(true) {
                    return Err(SyncError::Superseded);
                }
                send_ack(node, link).await?;
            }
            r = link.stream.read_buf(&mut link.buf) => {
                match r {
                    Ok(0) => return Err(SyncError::Closed),
                    Ok(_) => {}
                    Err(e) => return Err(SyncError::Io(e)),
                }
            }
        }
        if link.buf.capacity() - link.buf.len() < 4096 {
            link.buf.reserve(64 * 1024);
        }
    }
}

async fn send_ack(node: &Arc<Mutex<Node>>, link: &mut Link) -> Result<(), SyncError> {
    let offset = node
        .lock()
        .map(|n| n.rest.repl.offset)
        .map_err(|_| SyncError::Superseded)?;
    let text = offset.to_string();
    link.send(&[b"REPLCONF", b"ACK", text.as_bytes()]).await
}

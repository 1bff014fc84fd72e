//! One client connection: read requests, run them against the node, write the replies.
//!
//! Each read is parsed into as many complete commands as it holds; the node is locked once for
//! the whole batch and every reply is encoded into one output buffer, written and flushed once.
//! Pipelined clients therefore cost one lock, one write and one flush per read, not per command.
//! (Flushing matters beyond speed: madsim's simulated TCP only sends on flush.)

use crate::limits::{Class, ObufLimit, SoftClock};
use crate::log::Level;
use crate::node::{Client, Node};
use crate::persist::group_sync::GroupSync;
use crate::pubsub::{ClientMsg, PushRx};
use crate::resp::request::{Limits, ProtocolError, RequestParser};
use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// How often a client whose write is paused (CLUSTER FAILOVER) checks the pause again.
const WRITE_PAUSE_POLL_MS: u64 = 10;
/// How often a blocked client checks its timeout, its slot and the cluster state (Redis's
/// clientsCron visits each client about this often at hz 10).
const BLOCKED_CHECK_MS: u64 = 100;
/// How often a stalled write re-checks the output soft limit (Redis's clientsCron pace).
const OBUF_CHECK_MS: u64 = 100;
/// proto-max-bulk-len and client-query-buffer-limit until the node is first reached.
const DEFAULT_MAX_BULK: u64 = 512 * 1024 * 1024;
const DEFAULT_QUERY_LIMIT: usize = 1024 * 1024 * 1024;
/// How often a client waiting for a running script's end looks again.
const BUSY_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionEnd {
    #[error("client closed the connection")]
    Eof,
    #[error("client asked to quit")]
    Quit,
    #[error("protocol error: {0}")]
    Protocol(ProtocolError),
    #[error("client query buffer over its limit ({0} bytes)")]
    QueryBufferLimit(usize),
    #[error("client output buffer over its limit")]
    OutputBufferLimit,
    #[error("refused at accept (maxclients or protected mode)")]
    Refused,
    #[error("idle for longer than the timeout")]
    Idle,
    #[error("killed by CLIENT KILL")]
    Killed,
    #[error("the connection served a replica until its link ended")]
    Replica,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves one client until it leaves or breaks the protocol.
pub async fn serve<S>(
    node: Arc<Mutex<Node>>,
    shared: Shared,
    stream: S,
    addr: String,
    laddr: String,
    tls: bool,
) -> ConnectionEnd
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = stream;
    if shared.busy.is_timed_out() {
        // A script holds the node past busy-reply-threshold: Redis accepts the client from
        // inside the script's hook and answers it -BUSY; so does keyslot, registering the
        // client (admission checks, id) once the node is free (see `register`).
        let auth = !shared.busy.auth_required();
        let mut client = Client::new(0, addr.clone(), laddr.clone(), 0, auth);
        client.tls = tls;
        let end = serve_client(&node, &shared, stream, &mut client).await;
        if client.id != 0 {
            if let Ok(mut n) = crate::nodelock::lock(&node).await {
                n.disconnect_client(client.id);
            }
        }
        return end;
    }
    let refusal = match crate::nodelock::lock(&node).await {
        Ok(mut n) => n.admit(&addr),
        Err(_) => return ConnectionEnd::Killed,
    };
    if let Some(text) = refusal {
        // Best effort, as Redis: the refusal is written once and the socket closed.
        let _ = stream.write_all(text.as_bytes()).await;
        let _ = stream.flush().await;
        let _ = stream.shutdown().await;
        return ConnectionEnd::Refused;
    }
    let mut client = match crate::nodelock::lock(&node).await {
        Ok(mut n) => {
            let mut c = n.connect_client(addr, laddr);
            c.tls = tls;
            if let Some(entry) = n.rest.clients.get_mut(&c.id) {
                entry.tls = tls;
            }
            c
        }
        Err(_) => return ConnectionEnd::Killed,
    };
    let id = client.id;
    let end = serve_client(&node, &shared, stream, &mut client).await;
    if let Ok(mut n) = crate::nodelock::lock(&node).await {
        if let ConnectionEnd::Protocol(e) = &end {
            n.rest.stats.protocol_errors += 1;
            let level = if matches!(e, ProtocolError::HttpProbe) {
                Level::Warning
            } else {
                Level::Verbose
            };
            let msg = if matches!(e, ProtocolError::HttpProbe) {
                "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.".to_string()
            } else {
                format!(
                    "Protocol error ({}) from client: id={} addr={}",
                    e, id, client.addr
                )
            };
            n.log(level, &msg);
        }
        match &end {
            ConnectionEnd::QueryBufferLimit(len) => {
                n.rest.stats.client_query_buffer_limit_disconnections += 1;
                n.log(
                    Level::Warning,
                    &format!(
                        "Closing client that reached max query buffer length: id={} addr={} qbuf={}",
                        id, client.addr, len
                    ),
                );
            }
            ConnectionEnd::OutputBufferLimit => {
                n.rest.stats.client_output_buffer_limit_disconnections += 1;
                n.log(
                    Level::Warning,
                    &format!(
                        "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                        id, client.addr
                    ),
                );
            }
            ConnectionEnd::Idle => n.log(Level::Verbose, "Closing idle client"),
            _ => {}
        }
        n.disconnect_client(id);
    }
    end
}

/// What ended an idle wait: bytes from the socket, or a message from the node.
enum Event {
    Read(std::io::Result<usize>),
    Msg(Option<ClientMsg>),
}

/// Writes and flushes `output` if it holds anything.
async fn flush_output<W: AsyncWrite + Unpin>(
    writer: &mut W,
    output: &mut BytesMut,
) -> Result<(), ConnectionEnd> {
    if output.is_empty() {
        return Ok(());
    }
    writer.write_all(output).await?;
    writer.flush().await?;
    output.clear();
    Ok(())
}

/// What a connection checks its pending output against.
struct OutputGuard {
    limit: ObufLimit,
    soft: SoftClock,
}

impl OutputGuard {
    /// The limit of the client's class now (subscribers are `pubsub`, the rest `normal`;
    /// replica feeds are served by `crate::replication::primary`).
    fn refresh(&mut self, node: &Node, client: &Client) {
        let class = if client.subs > 0 {
            Class::Pubsub
        } else {
            Class::Normal
        };
        self.limit = node.rest.config.obuf.get(class);
    }

    /// Checks `pending` bytes at `now_ms`: true when the client must be closed. An
    /// unauthenticated client may hold only [`crate::limits::UNAUTHENTICATED_OUTPUT_CAP`].
    fn over(&mut self, client: &Client, pending: u64, now_ms: u64) -> bool {
        if !client.authenticated && pending > crate::limits::UNAUTHENTICATED_OUTPUT_CAP as u64 {
            return true;
        }
        self.soft.over(self.limit, pending, now_ms)
    }

    /// Whether `pending` bytes may trip a limit (or reset a running soft clock): the cheap
    /// test before [`OutputGuard::over`], which needs the node's clock.
    fn may_trip(&self, client: &Client, pending: u64) -> bool {
        let l = self.limit;
        (!client.authenticated && pending > crate::limits::UNAUTHENTICATED_OUTPUT_CAP as u64)
            || self.soft.running()
            || (l.hard != 0 && pending >= l.hard)
            || (l.soft != 0 && pending >= l.soft)
    }

    /// Whether a stalled write must wake up to re-check the limits: the soft limit is reached,
    /// or the node queues pushes for the client (they grow while the write stalls).
    fn watch_stalls(&self, pending: u64, pushes: bool) -> bool {
        (self.limit.soft != 0 && pending >= self.limit.soft) || (pushes && self.limit.hard != 0)
    }
}

/// Writes and flushes `output` like [`flush_output`]; while the soft output limit is reached,
/// a write the client does not drain wakes every [`OBUF_CHECK_MS`] to check how long it has
/// been, and the client is closed once the soft limit held for its seconds (or the push queue
/// passed the hard limit).
async fn flush_guarded<W: AsyncWrite + Unpin>(
    node: &Arc<Mutex<Node>>,
    client: &Client,
    guard: &mut OutputGuard,
    push_rx: Option<&PushRx>,
    writer: &mut W,
    output: &mut BytesMut,
) -> Result<(), ConnectionEnd> {
    let queued = || push_rx.map_or(0, |rx| rx.queued());
    if push_rx.is_some_and(|rx| rx.over_limit()) {
        return Err(ConnectionEnd::OutputBufferLimit);
    }
    let mut pos = 0;
    while pos < output.len() {
        let pending = (output.len() - pos) as u64 + queued();
        if !guard.watch_stalls(pending, push_rx.is_some()) {
            let n = writer.write(&output[pos..]).await?;
            if n == 0 {
                return Err(ConnectionEnd::Eof);
            }
            pos += n;
            continue;
        }
        let tick = tokio::time::sleep(std::time::Duration::from_millis(OBUF_CHECK_MS));
        tokio::select! {
            biased;
            r = writer.write(&output[pos..]) => {
                let n = r?;
                if n == 0 {
                    return Err(ConnectionEnd::Eof);
                }
                pos += n;
            }
            _ = tick => {
                let now = match crate::nodelock::lock(node).await {
                    Ok(g) => g.rest.clock.mono_ms(),
                    Err(_) => return Err(ConnectionEnd::Killed),
                };
                let pending = (output.len() - pos) as u64 + queued();
                if guard.over(client, pending, now) || push_rx.is_some_and(|rx| rx.over_limit()) {
                    return Err(ConnectionEnd::OutputBufferLimit);
                }
            }
        }
    }
    writer.flush().await?;
    output.clear();
    // A push refused at the hard limit while this flush ran: the client has lost messages and
    // must go now. Checked here too because a flush that never stalled did not look, and no
    // further push will wake the connection (found by limits_compat under load: the
    // subscriber stayed connected after its messages were dropped).
    if push_rx.is_some_and(|rx| rx.over_limit()) {
        return Err(ConnectionEnd::OutputBufferLimit);
    }
    Ok(())
}

/// Waits until the writes whose replies are about to be sent are on disk (`appendfsync
/// always`; a no-op otherwise). Runs outside the node lock, so other clients keep executing and
/// one fsync covers them all (see [`GroupSync`]).
async fn make_durable(durable: &mut Option<(Arc<GroupSync>, u64)>) -> Result<(), ConnectionEnd> {
    match durable.take() {
        Some((group, offset)) if !group.wait_durable(offset).await => Err(ConnectionEnd::Killed),
        _ => Ok(()),
    }
}

/// Encodes every message already queued for the client (pushes the node made while it ran the
/// client's own command, so they precede its reply as in Redis).
fn drain_pushes(rx: &mut PushRx, client: &mut Client, output: &mut BytesMut) {
    while let Some(msg) = rx.try_recv() {
        encode_msg(msg, client, output);
    }
}

fn encode_msg(msg: ClientMsg, client: &mut Client, output: &mut BytesMut) {
    match msg {
        ClientMsg::Push(r) => r.encode(client.proto, output),
        ClientMsg::Unblock { reply, woff } => {
            reply.encode(client.proto, output);
            client.blocked = false;
            client.woff = client.woff.max(woff);
        }
    }
}

/// What a connection reads without the node lock: the running script's state and the clock.
#[derive(Clone)]
pub struct Shared {
    pub busy: Arc<crate::scripting::busy::Busy>,
    pub clock: Arc<crate::clock::Clock>,
}

/// Registers a client accepted while a script held the node (id 0): the admission checks
/// and its id now, keeping what it did meanwhile (MULTI, the protocol). The refusal text when
/// it is not admitted.
fn register(g: &mut Node, client: &mut Client) -> Option<&'static str> {
    if let Some(refusal) = g.admit(&client.addr) {
        return Some(refusal);
    }
    let mut registered = g.connect_client(client.addr.clone(), client.laddr.clone());
    registered.tls = client.tls;
    if let Some(entry) = g.rest.clients.get_mut(&registered.id) {
        entry.tls = client.tls;
    }
    registered.multi = client.multi.take();
    registered.multi_error = client.multi_error;
    registered.proto = client.proto;
    *client = registered;
    None
}

async fn serve_client<S>(
    node: &Arc<Mutex<Node>>,
    shared: &Shared,
    stream: S,
    client: &mut Client,
) -> ConnectionEnd
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (busy, clock) = (shared.busy.clone(), shared.clock.clone());
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut parser = RequestParser::new();
    let mut input = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut output = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut batch: Vec<Vec<Bytes>> = Vec::new();
    // Created by the node the first time the client subscribes or blocks.
    let mut push_rx: Option<PushRx> = None;
    let mut guard = OutputGuard {
        limit: ObufLimit::default(),
        soft: SoftClock::default(),
    };
    // `timeout`: an idle normal client is closed after this long without sending anything
    // (pub/sub clients are exempt; blocked clients and replicas wait elsewhere).
    // Read without waiting for the node (a script may hold it): until the node is reached,
    // Redis's defaults.
    let (mut idle_timeout_ms, mut limits) = match node.try_lock() {
        Ok(g) => (
            g.rest.config.timeout_s * 1000,
            (
                g.rest.config.proto_max_bulk_len,
                g.rest.config.client_query_buffer_limit as usize,
            ),
        ),
        Err(std::sync::TryLockError::Poisoned(_)) => return ConnectionEnd::Killed,
        Err(std::sync::TryLockError::WouldBlock) => (0, (DEFAULT_MAX_BULK, DEFAULT_QUERY_LIMIT)),
    };
    // Input bytes read while a script held the node, counted at the next read.
    let mut uncounted_input = 0u64;
    // DISCARD / EXEC answered while a script ran: the watched keys go at the next lock.
    let mut unwatch = false;
    loop {
        input.reserve(READ_CHUNK_BYTES);
        let idle_limit = (idle_timeout_ms != 0 && client.subs == 0)
            // Redis compares whole seconds of idleness (`> timeout`) in its cron.
            .then(|| std::time::Duration::from_millis(idle_timeout_ms + 500));
        let wait = async {
            match push_rx.as_mut() {
                // The common case: a plain read.
                None => Event::Read(reader.read_buf(&mut input).await),
                Some(rx) => tokio::select! {
                    biased;
                    m = rx.recv() => Event::Msg(m),
                    r = reader.read_buf(&mut input) => Event::Read(r),
                },
            }
        };
        let event = match idle_limit {
            None => wait.await,
            Some(limit) => match tokio::time::timeout(limit, wait).await {
                Ok(e) => e,
                Err(_) => return ConnectionEnd::Idle,
            },
        };
        let n = match event {
            Event::Read(Ok(0)) => return ConnectionEnd::Eof,
            Event::Read(Ok(n)) => n,
            Event::Read(Err(e)) => return ConnectionEnd::Io(e),
            Event::Msg(None) => return ConnectionEnd::Killed,
            Event::Msg(Some(msg)) => {
                // A pub/sub message for an idle client: write it (and whatever else is queued).
                encode_msg(msg, client, &mut output);
                if let Some(rx) = push_rx.as_mut() {
                    drain_pushes(rx, client, &mut output);
                }
                // The guard was last refreshed before the command batch that subscribed this
                // client ran, when it was still of the normal class (no limit by default): a
                // stale guard let a never-reading subscriber's write stall forever without
                // looking at the limits (limits_compat found it, intermittently, under load).
                match crate::nodelock::lock(node).await {
                    Ok(mut g) => {
                        g.rest.stats.total_net_output_bytes += output.len() as u64;
                        guard.refresh(&g, client);
                    }
                    Err(_) => return ConnectionEnd::Killed,
                }
                if let Err(e) = flush_guarded(
                    node,
                    client,
                    &mut guard,
                    push_rx.as_ref(),
                    &mut writer,
                    &mut output,
                )
                .await
                {
                    return e;
                }
                continue;
            }
        };
        let (max_bulk_len, query_limit) = match node.try_lock() {
            Err(std::sync::TryLockError::WouldBlock) => {
                uncounted_input += n as u64;
                limits
            }
            Ok(mut g) => {
                g.rest.stats.total_net_input_bytes += n as u64 + uncounted_input;
                uncounted_input = 0;
                idle_timeout_ms = g.rest.config.timeout_s * 1000;
                guard.refresh(&g, client);
                (
                    g.rest.config.proto_max_bulk_len,
                    g.rest.config.client_query_buffer_limit as usize,
                )
            }
            Err(_) => return ConnectionEnd::Killed,
        };
        limits = (max_bulk_len, query_limit);
        // Parse every complete command of this read and run them under one lock; a protocol
        // error ends the batch, and the commands before it still run, as in Redis. While the
        // client is unauthenticated, commands run one at a time, since AUTH changes the limits
        // the rest of the input is parsed with.
        let mut end = None;
        // Under `appendfsync always`: the fsync the replies of this read must wait for.
        let mut durable: Option<(Arc<GroupSync>, u64)> = None;
        loop {
            let mut protocol_error = None;
            let one_at_a_time = !client.authenticated;
            loop {
                let limits = Limits {
                    max_bulk_len,
                    authenticated: client.authenticated,
                };
                match parser.parse(&mut input, &limits) {
                    Ok(Some(argv)) => {
                        batch.push(argv);
                        if !client.authenticated {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        protocol_error = Some(e);
                        break;
                    }
                }
            }
            let ran_any = !batch.is_empty();
            // Output bytes of this read already counted in the stats.
            let mut counted = 0usize;
            // A script of this client ran on its own thread: the locked part runs once more
            // for its bookkeeping even when the batch is empty.
            let mut after_script = false;
            // A `loop` inside: `continue` re-locks after a script ran on its thread.
            if ran_any {
                loop {
                    // A script command to run away from the runtime thread (see run_script).
                    let mut script: Option<Vec<Bytes>> = None;
                    // `try_lock`, not `lock`: while a script runs on its thread the runtime thread
                    // must stay free to answer -BUSY (crate::scripting::busy).
                    let ran = match node.try_lock() {
                        Err(std::sync::TryLockError::Poisoned(_)) => return ConnectionEnd::Killed,
                        Err(std::sync::TryLockError::WouldBlock) => false,
                        Ok(mut g) => {
                            if client.id == 0 {
                                if let Some(refusal) = register(&mut g, client) {
                                    output.extend_from_slice(refusal.as_bytes());
                                    end = Some(ConnectionEnd::Refused);
                                    batch.clear();
                                }
                            }
                            // A client killed while idle (CLIENT KILL, its ACL user deleted)
                            // runs nothing more.
                            if g.rest.killed_clients.remove(&client.id) {
                                return ConnectionEnd::Killed;
                            }
                            if unwatch {
                                g.rest.watches.unwatch_all(client.id);
                                unwatch = false;
                            }
                            let mut done = 0;
                            for argv in batch.iter() {
                                if g.must_wait(client, argv) {
                                    break;
                                }
                                // busy-reply-threshold 0 (uninterrupted execution, as Redis
                                // documents it) keeps scripts inline: no -BUSY, no kill, and
                                // no hand-over to another thread (about 3x the throughput).
                                if offload_script(client, argv)
                                    && g.rest.config.int("busy-reply-threshold") > 0
                                {
                                    script = Some(argv.clone());
                                    break;
                                }
                                let reply = g.execute(client, argv);
                                done += 1;
                                if client.push_channel && push_rx.is_none() {
                                    push_rx = g.rest.hub.take_rx(client.id);
                                }
                                if let Some(rx) = push_rx.as_mut() {
                                    drain_pushes(rx, client, &mut output);
                                }
                                reply.encode(client.proto, &mut output);
                                if client.close_after_reply {
                                    end = Some(ConnectionEnd::Quit);
                                    break;
                                }
                                // PSYNC turned this connection into a replica feed; WAIT, blocking
                                // commands and MIGRATE block the client: the rest of the batch waits.
                                if client.replica_feed
                                    || client.wait.is_some()
                                    || client.blocked
                                    || client.migrate.is_some()
                                {
                                    break;
                                }
                            }
                            if g.rest.repl.tap.aof.as_ref().is_some_and(|a| a.exited) {
                                // The node exited on a fatal AOF error (see AofSink::exited): no reply
                                // computed since may leave it.
                                return ConnectionEnd::Killed;
                            }
                            for argv in batch.drain(..done) {
                                parser.recycle(argv);
                            }
                            if end.is_some() {
                                batch.clear();
                            }
                            if let Some(d) =
                                g.rest.repl.tap.aof.as_ref().and_then(|a| a.durability())
                            {
                                durable = Some(d);
                            }
                            if g.rest.cluster.as_ref().is_some_and(|c| c.has_output()) {
                                g.rest.cluster_wakeup.notify_one();
                            }
                            if let Some(generation) = g.rest.repl.task_needed.take() {
                                tokio::spawn(crate::replication::replica::run(
                                    node.clone(),
                                    generation,
                                ));
                            }
                            for name in std::mem::take(&mut g.rest.atomic.spawn) {
                                tokio::spawn(crate::atomic::export::run(node.clone(), name));
                            }
                            g.rest.stats.total_net_output_bytes += (output.len() - counted) as u64;
                            counted = output.len();
                            idle_timeout_ms = g.rest.config.timeout_s * 1000;
                            if let Some(entry) = g.rest.clients.get_mut(&client.id) {
                                entry.clone_from(client);
                            }
                            if g.rest.killed_clients.remove(&client.id) {
                                end = Some(ConnectionEnd::Killed);
                            }
                            true
                        }
                    };
                    if ran {
                        let Some(argv) = script.filter(|_| end.is_none()) else {
                            break;
                        };
                        let reply = match run_script(node, client, argv).await {
                            Ok(r) => Node::filter_reply(client, r),
                            Err(e) => return e,
                        };
                        batch.remove(0);
                        reply.encode(client.proto, &mut output);
                        if client.close_after_reply {
                            end = Some(ConnectionEnd::Quit);
                            batch.clear();
                        }
                        after_script = true;
                        continue;
                    }
                    // A script holds the node: answer what may be answered now, else wait.
                    let now = clock.mono_ms();
                    let mut answered = false;
                    while let Some(argv) = batch.first() {
                        let Some(reply) = busy.answer(client, argv, now, &mut unwatch) else {
                            break;
                        };
                        reply.encode(client.proto, &mut output);
                        batch.remove(0);
                        answered = true;
                        if client.close_after_reply {
                            end = Some(ConnectionEnd::Quit);
                            batch.clear();
                            break;
                        }
                    }
                    if end.is_some() || (batch.is_empty() && !after_script) {
                        break;
                    }
                    if !answered {
                        if let Err(e) = flush_output(&mut writer, &mut output).await {
                            return e;
                        }
                        counted = 0;
                        crate::nodelock::wait_released(BUSY_POLL).await;
                    }
                }
            }
            if end.is_some() {
                break;
            }
            if let Some(job) = client.migrate.take() {
                // MIGRATE talks to its target without the node lock; this client waits.
                if let Err(e) = flush_output(&mut writer, &mut output).await {
                    if let Ok(mut g) = crate::nodelock::lock(node).await {
                        g.migrate_finish(&job.held, &[]);
                    }
                    return e;
                }
                let reply = crate::migrate::run(node, *job).await;
                if let Ok(mut g) = crate::nodelock::lock(node).await {
                    if reply.is_error() {
                        g.count_error(&reply);
                    }
                }
                reply.encode(client.proto, &mut output);
                continue;
            }
            if client.replica_feed || client.wait.is_some() || client.blocked {
                if let Err(e) = make_durable(&mut durable).await {
                    return e;
                }
                if let Err(e) = flush_output(&mut writer, &mut output).await {
                    return e;
                }
                if client.replica_feed {
                    let id = client.id;
                    crate::replication::primary::feed(node.clone(), id, reader, writer, input)
                        .await;
                    return ConnectionEnd::Replica;
                }
                if client.blocked {
                    let Some(rx) = push_rx.as_mut() else {
                        return ConnectionEnd::Killed;
                    };
                    let waited = wait_blocked(
                        node,
                        client,
                        rx,
                        &mut reader,
                        &mut writer,
                        &mut input,
                        &mut output,
                    )
                    .await;
                    if let Err(e) = waited {
                        return e;
                    }
                    continue;
                }
                let acked = wait_for_acks(node, client).await;
                crate::resp::Reply::Integer(acked as i64).encode(client.proto, &mut output);
                continue;
            }
            if !batch.is_empty() {
                // Writes are paused (manual failover): send what is ready, wait, retry. The
                // parsed commands after the paused one stay queued in order.
                if let Err(e) = make_durable(&mut durable).await {
                    return e;
                }
                if let Err(e) = flush_output(&mut writer, &mut output).await {
                    return e;
                }
                tokio::time::sleep(std::time::Duration::from_millis(WRITE_PAUSE_POLL_MS)).await;
                if protocol_error.is_none() {
                    continue;
                }
            }
            if let Some(e) = protocol_error {
                if matches!(e, ProtocolError::HttpProbe) {
                    // Redis drops the client at once: replies of this read are never sent.
                    output.clear();
                } else if let Some(bytes) = e.reply_bytes() {
                    output.extend_from_slice(&bytes);
                }
                end = Some(ConnectionEnd::Protocol(e));
                break;
            }
            if !ran_any || !one_at_a_time {
                break;
            }
        }
        if end.is_none() && input.len() > query_limit {
            end = Some(ConnectionEnd::QueryBufferLimit(input.len()));
        }
        // The replies of this read are the client's pending output: over a limit, the client
        // is closed and none of them is sent (Redis stops writing to a client it will close).
        let pending = output.len() as u64 + push_rx.as_ref().map_or(0, |rx| rx.queued());
        if guard.may_trip(client, pending) {
            // Not while a script holds the node: the check comes back with the next read.
            let now = match node.try_lock() {
                Ok(g) => {
                    guard.refresh(&g, client);
                    Some(g.rest.clock.mono_ms())
                }
                Err(std::sync::TryLockError::WouldBlock) => None,
                Err(_) => return ConnectionEnd::Killed,
            };
            if now.is_some_and(|now| guard.over(client, pending, now)) {
                return ConnectionEnd::OutputBufferLimit;
            }
        }
        if let Err(e) = make_durable(&mut durable).await {
            return e;
        }
        if let Err(e) = flush_guarded(
            node,
            client,
            &mut guard,
            push_rx.as_ref(),
            &mut writer,
            &mut output,
        )
        .await
        {
            return e;
        }
        if let Some(end) = end {
            let _ = writer.shutdown().await;
            return end;
        }
    }
}

/// Waits while the client is blocked in BLPOP & co.: until the node sends its reply (served by
/// another client's push), or the deadline passes / its slot moves / the cluster fails
/// (checked by `Node::blocked_tick` at most every 100 ms). Pub/sub pushes arriving meanwhile
/// are written at once; bytes the client sends are buffered for after the wait. The reply is
/// left in `output`.
#[allow(clippy::too_many_arguments)]
async fn wait_blocked<R, W>(
    node: &Arc<Mutex<Node>>,
    client: &mut Client,
    rx: &mut PushRx,
    reader: &mut R,
    writer: &mut W,
    input: &mut BytesMut,
    output: &mut BytesMut,
) -> Result<(), ConnectionEnd>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let sleep_ms = {
            let Ok(mut g) = crate::nodelock::lock(node).await else {
                return Err(ConnectionEnd::Killed);
            };
            if g.rest.killed_clients.remove(&client.id) {
                g.rest.blocking.unblock(client.id);
                return Err(ConnectionEnd::Killed);
            }
            if let Some(reply) = g.blocked_tick(client) {
                reply.encode(client.proto, output);
                client.blocked = false;
                g.rest.stats.total_net_output_bytes += output.len() as u64;
                return Ok(());
            }
            let now = g.rest.clock.mono_ms();
            match g.rest.blocking.get(client.id).map(|r| r.deadline_ms) {
                Some(d) if d != 0 => d.saturating_sub(now).clamp(1, BLOCKED_CHECK_MS),
                _ => BLOCKED_CHECK_MS,
            }
        };
        let tick = tokio::time::sleep(std::time::Duration::from_millis(sleep_ms));
        input.reserve(READ_CHUNK_BYTES);
        let read = reader.read_buf(input);
        tokio::select! {
            biased;
            m = rx.recv() => match m {
                Some(msg) => {
                    encode_msg(msg, client, output);
                    if !client.blocked {
                        return Ok(());
                    }
                    flush_output(writer, output).await?;
                }
                None => return Err(ConnectionEnd::Killed),
            },
            _ = tick => {}
            r = read => match r {
                // A client that half-closes while blocked is gone (Redis frees it on EOF).
                Ok(0) => return Err(ConnectionEnd::Eof),
                Ok(n) => {
                    if let Ok(mut g) = crate::nodelock::lock(node).await {
                        g.rest.stats.total_net_input_bytes += n as u64;
                    }
                }
                Err(e) => return Err(ConnectionEnd::Io(e)),
            },
        }
    }
}

/// Blocks a client in WAIT until enough replicas acknowledged its offset or the deadline
/// passes; returns how many did.
async fn wait_for_acks(node: &Arc<Mutex<Node>>, client: &mut Client) -> usize {
    let Some(req) = client.wait.take() else {
        return 0;
    };
    loop {
        let (acked, now, notify) = match crate::nodelock::lock(node).await {
            Ok(g) => (
                g.rest.repl.acked(req.offset),
                g.rest.clock.mono_ms(),
                g.rest.repl.ack_notify.clone(),
            ),
            Err(_) => return 0,
        };
        if acked >= req.replicas || now >= req.deadline_ms {
            return acked;
        }
        let wait_ms = (req.deadline_ms - now).min(100);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(wait_ms), notify.notified())
            .await;
    }
}

/// Whether `argv` is a script (EVAL*, FCALL*) to run on its own thread. Only in the real
/// server: the simulator stays on one thread and runs scripts inline (deterministic, and a
/// script there cannot be killed, which no scenario needs).
fn offload_script(client: &Client, argv: &[Bytes]) -> bool {
    if cfg!(madsim) || client.multi.is_some() || !client.authenticated || client.slot_link {
        return false;
    }
    // Every script command starts with E or F (EVAL*, FCALL*): other commands skip the lookup,
    // which `Node::execute` does anyway.
    argv.first()
        .filter(|name| matches!(name.first(), Some(b'e' | b'E' | b'f' | b'F')))
        .and_then(|name| crate::cmd::lookup(name))
        .is_some_and(|spec| crate::scripting::run::is_script_command(spec.name))
}

/// Runs a script command on a blocking thread that holds the node for the script's whole
/// run, while this task (and the runtime thread) waits without holding anything: other
/// connections meanwhile wait for the lock and, past busy-reply-threshold, are answered
/// -BUSY (see `crate::scripting::busy`).
async fn run_script(
    node: &Arc<Mutex<Node>>,
    client: &mut Client,
    argv: Vec<Bytes>,
) -> Result<crate::resp::Reply, ConnectionEnd> {
    #[cfg(not(madsim))]
    {
        let node = node.clone();
        let mut c = client.clone();
        let job = tokio::task::spawn_blocking(move || {
            let reply = {
                let mut g = node.lock().ok()?;
                g.execute(&mut c, &argv)
            };
            // The guard is gone: wake the tasks waiting for the node.
            crate::nodelock::released();
            Some((c, reply))
        });
        match job.await {
            Ok(Some((c, reply))) => {
                *client = c;
                Ok(reply)
            }
            _ => Err(ConnectionEnd::Killed),
        }
    }
    #[cfg(madsim)]
    {
        let mut g = crate::nodelock::lock(node)
            .await
            .map_err(|_| ConnectionEnd::Killed)?;
        Ok(g.execute(client, &argv))
    }
}

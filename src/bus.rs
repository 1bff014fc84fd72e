//! The cluster bus I/O: the listener on port+10000, one task pair per link, and the driver that
//! feeds the cluster state machine and performs its outputs.
//!
//! One driver task owns every link's write side. Reader tasks and connect attempts report to it
//! through a channel; the 100 ms tick and a wake-up from command handlers (CLUSTER MEET,
//! FAILOVER...) are its other inputs. For each input it locks the node once, feeds the state
//! machine and drains its outputs in order: outputs that touch the node (saving nodes.conf,
//! dropping keys, pausing writes, logging) happen under that lock, so a vote is on disk before the
//! message granting it is handed to its link; network outputs run after the lock is released.

use crate::cluster::event::ClusterEvent;
use crate::cluster::state::{LinkId, Output};
use crate::cluster::wire;
use crate::faultpoint::FaultPoint;
use crate::log::Level;
use crate::node::Node;
use crate::server::CRON_INTERVAL_MS;
use crate::tls::{MaybeTls, TlsContext};
use bytes::BytesMut;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A bus connection: TLS both ways with `tls-cluster`, plain otherwise.
type BusStream = MaybeTls<TcpStream>;

/// How long an outbound connect may take before it counts as failed.
const CONNECT_TIMEOUT_MS: u64 = 1000;
/// Bytes asked of a bus socket per read.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// What link tasks tell the driver.
enum BusInput {
    /// A complete message arrived on a link.
    Message { link: LinkId, bytes: Vec<u8> },
    /// An outbound connect finished.
    Connected { link: LinkId, stream: BusStream },
    /// An outbound connect failed, or a link closed (EOF, error, malformed frame).
    Closed { link: LinkId },
    /// A frame's prefix was invalid (signature, or a length its type cannot have): the link
    /// closes and the message counts as dropped.
    Malformed {
        link: LinkId,
        error: wire::WireError,
    },
    /// A peer connected to our bus port.
    Accepted { stream: BusStream, peer_ip: String },
}

/// A live link: where to hand bytes to write, and our local IP on it.
struct LinkHandle {
    writer: mpsc::UnboundedSender<Vec<u8>>,
    local_ip: String,
    reader: tokio::task::JoinHandle<()>,
    /// Aborted with the link: what it still had queued was written for a peer we gave up on,
    /// and would arrive late and stale if the connection came back to life.
    writer_task: tokio::task::JoinHandle<()>,
}

impl LinkHandle {
    fn stop(self) {
        self.reader.abort();
        self.writer_task.abort();
    }
}

/// Runs the cluster bus of `node` on `listener` until the node is dropped.
pub async fn run(node: Arc<Mutex<Node>>, listener: TcpListener) {
    let (tx, mut rx) = mpsc::unbounded_channel::<BusInput>();
    let wakeup = match crate::nodelock::lock(&node).await {
        Ok(n) => n.rest.cluster_wakeup.clone(),
        Err(_) => return,
    };
    // tls-cluster: the bus speaks TLS both ways (Redis's connCreateTLS for cluster links).
    let tls = match node.lock() {
        Ok(n) => n.rest.tls.clone().filter(|t| t.cluster),
        Err(_) => return,
    };
    let accept_tx = tx.clone();
    let (accept_tls, accept_node) = (tls.clone(), node.clone());
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let peer_ip = peer.ip().to_string();
                    let Some(ctx) = accept_tls.clone() else {
                        let msg = BusInput::Accepted {
                            stream: MaybeTls::Plain(stream),
                            peer_ip,
                        };
                        if accept_tx.send(msg).is_err() {
                            return;
                        }
                        continue;
                    };
                    // The handshake runs in its own task: a peer that stalls it never holds
                    // up the next accept.
                    let (tx, node) = (accept_tx.clone(), accept_node.clone());
                    tokio::spawn(async move {
                        match crate::tls::stream::accept(&ctx, stream).await {
                            Ok(stream) => {
                                let _ = tx.send(BusInput::Accepted { stream, peer_ip });
                            }
                            Err(e) => log_tls_failure(&node, "accepting", &peer_ip, &e),
                        }
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    });
    let mut driver = Driver {
        node,
        tls,
        tx,
        links: BTreeMap::new(),
        pending_connects: BTreeMap::new(),
        last_tick_ms: 0,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(CRON_INTERVAL_MS));
    loop {
        // The driver's handlers lock the node synchronously: while a script holds it on its
        // own thread, wait here instead of blocking the runtime (see crate::nodelock).
        crate::nodelock::wait_free(&driver.node).await;
        // A deadline the state machine asked for between ticks (an election's start).
        let deadline = driver.next_deadline();
        // `biased`: tokio's unbiased select draws from a thread-local RNG seeded from a
        // process-wide counter, so branch order (and the simulator's story) would depend on
        // what else ran in the process. The tick comes first so a busy channel never starves it.
        let wake = tokio::select! {
            biased;
            _ = tick.tick() => Wake::Tick,
            _ = sleep_until_or_forever(deadline) => Wake::Timeout,
            _ = wakeup.notified() => Wake::Drain,
            input = rx.recv() => match input {
                Some(input) => Wake::Input(input),
                None => return,
            },
        };
        crate::nodelock::wait_free(&driver.node).await;
        match wake {
            Wake::Tick => driver.tick(),
            Wake::Timeout => driver.timeout(),
            Wake::Drain => driver.drain_only(),
            Wake::Input(input) => driver.handle(input),
        }
    }
}

/// What woke the bus driver.
enum Wake {
    Tick,
    Timeout,
    Drain,
    Input(BusInput),
}

struct Driver {
    node: Arc<Mutex<Node>>,
    /// Set with `tls-cluster`: outgoing links run the TLS client handshake.
    tls: Option<Arc<TlsContext>>,
    /// For link tasks to report to the driver.
    tx: mpsc::UnboundedSender<BusInput>,
    links: BTreeMap<LinkId, LinkHandle>,
    /// Connects in flight; a Close output for one of these makes its stream be dropped on
    /// arrival.
    pending_connects: BTreeMap<LinkId, ()>,
    /// Node monotonic ms of the last cron run (a slowed tick skips runs until its period).
    last_tick_ms: u64,
}

/// Network work collected under the lock and done after it.
enum NetOp {
    /// Start the replica task of a replication generation (needs the node's Arc).
    StartReplica {
        generation: u64,
    },
    Connect {
        link: LinkId,
        ip: String,
        cport: u16,
    },
    Send {
        link: LinkId,
        message: Vec<u8>,
    },
    Close {
        link: LinkId,
    },
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_or_forever(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    fn next_deadline(&self) -> Option<tokio::time::Instant> {
        let node = self.node.lock().ok()?;
        let at_ms = node.rest.cluster.as_ref()?.poll_timeout()?;
        Some(node.rest.clock.instant_at(at_ms))
    }

    fn timeout(&mut self) {
        let ops = self.with_state(|node, now, unix| {
            if let Some(s) = node.rest.cluster.as_mut() {
                s.on_timeout(now, unix);
            }
        });
        self.perform(ops);
    }

    /// Whether the cron runs at this 100 ms tick: always, unless the simulator starved the
    /// process (`cluster_tick_every_ms`), when it runs once per that period.
    fn tick_due(&mut self) -> bool {
        let Ok(node) = self.node.lock() else {
            return false;
        };
        let now = node.rest.clock.mono_ms();
        let every = node.rest.cluster_tick_every_ms;
        if every != 0 && now.saturating_sub(self.last_tick_ms) < every {
            return false;
        }
        self.last_tick_ms = now;
        true
    }

    fn tick(&mut self) {
        if !self.tick_due() {
            return;
        }
        let ops = self.with_state(|node, now, unix| {
            if let Some(s) = node.rest.cluster.as_mut() {
                s.on_tick(now, unix);
            }
        });
        self.perform(ops);
    }

    fn drain_only(&mut self) {
        let ops = self.with_state(|_, _, _| {});
        self.perform(ops);
    }

    fn handle(&mut self, input: BusInput) {
        match input {
            BusInput::Message { link, bytes } => {
                let local_ip = self
                    .links
                    .get(&link)
                    .map(|l| l.local_ip.clone())
                    .unwrap_or_default();
                let ops = self.with_state(|node, now, unix| {
                    if let Some(s) = node.rest.cluster.as_mut() {
                        s.on_message(now, unix, link, &local_ip, &bytes);
                    }
                });
                self.perform(ops);
            }
            BusInput::Connected { link, stream } => {
                if self.pending_connects.remove(&link).is_none() {
                    return; // closed while connecting
                }
                self.attach(link, stream);
                let ops = self.with_state(|node, now, unix| {
                    if let Some(s) = node.rest.cluster.as_mut() {
                        s.on_link_connected(now, unix, link);
                    }
                });
                self.perform(ops);
            }
            BusInput::Closed { link } => {
                self.pending_connects.remove(&link);
                if let Some(h) = self.links.remove(&link) {
                    h.stop();
                }
                let ops = self.with_state(|node, _, _| {
                    if let Some(s) = node.rest.cluster.as_mut() {
                        s.on_link_closed(link);
                    }
                });
                self.perform(ops);
            }
            BusInput::Malformed { link, error } => {
                if let Some(h) = self.links.remove(&link) {
                    h.stop();
                }
                let ops = self.with_state(|node, _, _| {
                    if let Some(s) = node.rest.cluster.as_mut() {
                        s.on_malformed(link, &error);
                    }
                });
                self.perform(ops);
            }
            BusInput::Accepted { stream, peer_ip } => {
                let link = match self.node.lock() {
                    Ok(mut n) => match n.rest.cluster.as_mut() {
                        Some(s) => s.on_inbound_link(peer_ip),
                        None => return,
                    },
                    Err(_) => return,
                };
                self.attach(link, stream);
            }
        }
    }

    /// Starts the reader and writer tasks of a connected stream.
    fn attach(&mut self, link: LinkId, stream: BusStream) {
        let local_ip = stream
            .get_ref()
            .local_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let (mut read_half, mut write_half) = tokio::io::split(stream);
        let (wtx, mut wrx) = mpsc::unbounded_channel::<Vec<u8>>();
        let closed_tx = self.tx.clone();
        let writer_task = tokio::spawn(async move {
            while let Some(buf) = wrx.recv().await {
                if write_half.write_all(&buf).await.is_err() || write_half.flush().await.is_err() {
                    let _ = closed_tx.send(BusInput::Closed { link });
                    return;
                }
            }
            let _ = write_half.shutdown().await;
        });
        let tx = self.tx.clone();
        let reader = tokio::spawn(async move {
            let mut buf = BytesMut::with_capacity(READ_CHUNK_BYTES);
            loop {
                // Hand over every complete frame in the buffer.
                loop {
                    match wire::frame_len(&buf) {
                        Ok(Some(len)) if buf.len() >= len => {
                            let frame = buf.split_to(len).to_vec();
                            if tx.send(BusInput::Message { link, bytes: frame }).is_err() {
                                return;
                            }
                        }
                        Ok(_) => break,
                        Err(error) => {
                            let _ = tx.send(BusInput::Malformed { link, error });
                            return;
                        }
                    }
                }
                buf.reserve(READ_CHUNK_BYTES);
                match read_half.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(BusInput::Closed { link });
                        return;
                    }
                    Ok(_) => {}
                }
            }
        });
        self.links.insert(
            link,
            LinkHandle {
                writer: wtx,
                local_ip,
                reader,
                writer_task,
            },
        );
    }

    /// Locks the node, runs `f`, then drains the state machine's outputs: node-side ones are
    /// done here under the lock, network ones are returned.
    fn with_state(&mut self, f: impl FnOnce(&mut Node, u64, u64)) -> Vec<NetOp> {
        let Ok(mut node) = self.node.lock() else {
            return Vec::new();
        };
        let now = node.rest.clock.mono_ms();
        let unix = node.rest.clock.unix_ms();
        // The state machine ranks replicas and checks data age with replication's numbers.
        let offset = node.rest.repl.offset;
        let (link_up, down_since) = match &node.rest.repl.role {
            crate::replication::Role::Replica(l) => (
                l.state == crate::replication::LinkState::Connected,
                l.down_since_ms,
            ),
            crate::replication::Role::Master => (true, 0),
        };
        if let Some(s) = node.rest.cluster.as_mut() {
            s.repl_offset = offset;
            s.master_link_up = link_up;
            s.master_link_down_since_ms = down_since;
        }
        stall_election_if_chosen(&mut node, now);
        f(&mut node, now, unix);
        let mut ops = Vec::new();
        loop {
            let out = match node.rest.cluster.as_mut() {
                Some(s) => s.poll_output(),
                None => None,
            };
            let Some(out) = out else { break };
            match out {
                Output::Connect { link, ip, cport } => ops.push(NetOp::Connect { link, ip, cport }),
                Output::Send { link, message } => ops.push(NetOp::Send { link, message }),
                Output::Close { link } => ops.push(NetOp::Close { link }),
                Output::SaveConfig => {
                    if let Err(e) = save_nodes_conf(&mut node) {
                        // Redis's clusterSaveConfigOrDie: the process exits, and nothing the
                        // unsaved change allowed (a vote, a claim) reaches the network.
                        (node.rest.persist.on_fatal.clone())(&e.to_string());
                        return Vec::new();
                    }
                }
                other => apply_node_output(&mut node, other),
            }
        }
        deliver_publishes(&mut node);
        if let Some(generation) = node.rest.repl.task_needed.take() {
            ops.push(NetOp::StartReplica { generation });
        }
        ops
    }

    fn perform(&mut self, ops: Vec<NetOp>) {
        for op in ops {
            match op {
                NetOp::StartReplica { generation } => {
                    tokio::spawn(crate::replication::replica::run(
                        self.node.clone(),
                        generation,
                    ));
                }
                NetOp::Send { link, message } => {
                    if let Some(h) = self.links.get(&link) {
                        let _ = h.writer.send(message);
                    }
                }
                NetOp::Close { link } => {
                    self.pending_connects.remove(&link);
                    if let Some(h) = self.links.remove(&link) {
                        h.stop();
                    }
                }
                NetOp::Connect { link, ip, cport } => {
                    self.pending_connects.insert(link, ());
                    let tx = self.tx.clone();
                    let (tls, node) = (self.tls.clone(), self.node.clone());
                    tokio::spawn(async move {
                        let addr = format_addr(&ip, cport);
                        let attempt = tokio::time::timeout(
                            Duration::from_millis(CONNECT_TIMEOUT_MS),
                            TcpStream::connect(addr),
                        )
                        .await;
                        let msg = match attempt {
                            Ok(Ok(stream)) => {
                                let _ = stream.set_nodelay(true);
                                match crate::tls::stream::maybe_connect(tls.as_deref(), &ip, stream)
                                    .await
                                {
                                    Ok(stream) => BusInput::Connected { link, stream },
                                    Err(e) => {
                                        log_tls_failure(&node, "connecting to", &ip, &e);
                                        BusInput::Closed { link }
                                    }
                                }
                            }
                            _ => BusInput::Closed { link },
                        };
                        let _ = tx.send(msg);
                    });
                }
            }
        }
    }
}

/// Logs a failed TLS handshake on a bus link; the link is retried as any failed link is.
fn log_tls_failure(node: &Arc<Mutex<Node>>, what: &str, ip: &str, e: &std::io::Error) {
    if let Ok(n) = node.lock() {
        n.rest.logger.log(
            Level::Verbose,
            n.rest.clock.unix_ms(),
            &format!("Cluster bus TLS handshake failed {} {}: {}", what, ip, e),
        );
    }
}

/// `ip:port`, with brackets for IPv6.
fn format_addr(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{}]:{}", ip, port)
    } else {
        format!("{}:{}", ip, port)
    }
}

/// Hands PUBLISH / PUBLISHSHARD messages received over the bus to local subscribers.
pub fn deliver_publishes(node: &mut Node) {
    loop {
        let next = node
            .rest
            .cluster
            .as_mut()
            .and_then(|s| s.received_publish.pop_front());
        let Some((shard, channel, message)) = next else {
            return;
        };
        if shard {
            node.rest.hub.publish_shard(&channel, &message);
        } else {
            node.rest.hub.publish(&channel, &message);
        }
    }
}

/// Performs an output that changes the node itself (under the node lock).
pub fn apply_node_output(node: &mut Node, out: Output) {
    match out {
        Output::SaveConfig => {
            if let Err(e) = save_nodes_conf(node) {
                (node.rest.persist.on_fatal.clone())(&e.to_string());
            }
        }
        Output::DropSlotKeys { slots } => {
            let slots = if node.rest.atomic.jobs.is_empty() {
                slots
            } else {
                let n = &mut *node;
                crate::atomic::export::complete_by_gossip(&mut n.db, &mut n.rest, slots)
            };
            let dropped = node.view().delete_keys_in_slots(slots.into_iter());
            if dropped > 0 {
                node.log(
                    Level::Warning,
                    &format!(
                        "Deleted {} keys from slots this node no longer serves",
                        dropped
                    ),
                );
            }
        }
        Output::PauseWrites { until_ms } => node.rest.write_pause_until_ms = until_ms,
        Output::ReplicateFrom { master, ip, port } => {
            node.log(
                Level::Notice,
                &format!("Configured to replicate {} at {}:{}", master, ip, port),
            );
            node.view().become_replica_of(&ip, port);
            crate::atomic::import::on_demoted(&mut node.rest);
        }
        Output::StopReplication => node.view().become_master(),
        Output::Event(e) => {
            let level = match &e {
                crate::cluster::event::ClusterEvent::MessageDropped { .. } => Level::Verbose,
                crate::cluster::event::ClusterEvent::LinkUp { .. }
                | crate::cluster::event::ClusterEvent::LinkDown { .. } => Level::Verbose,
                _ => Level::Notice,
            };
            node.log(level, &e.to_string());
            // The simulator's timeline is the runtime's clock, not this node's drifting one.
            let now = node.rest.clock.runtime_elapsed_ms();
            if let Some(events) = node.rest.cluster_events.as_mut() {
                events.push((now, e));
            }
        }
        Output::Connect { .. } | Output::Send { .. } | Output::Close { .. } => {}
    }
}

/// Why nodes.conf could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveConfigError {
    #[error("Fatal: can't update cluster config file {file}: {reason}")]
    Write { file: String, reason: String },
}

/// Writes nodes.conf through the node's storage. A failure is the caller's to handle: Redis
/// exits (`clusterSaveConfigOrDie`), since a node that cannot record its epoch or its vote
/// could repeat a vote or reuse an epoch after a restart.
pub fn save_nodes_conf(node: &mut Node) -> Result<(), SaveConfigError> {
    let Some(s) = node.rest.cluster.as_ref() else {
        return Ok(());
    };
    let text = crate::cmd::cluster::nodes_conf_text(s, node.rest.clock.unix_ms());
    let name = node.nodes_conf_name();
    let result = if node.rest.fault_points.fires(FaultPoint::NodesConfSaveFail) {
        node.rest.record_cluster_event(ClusterEvent::FaultInjected {
            point: FaultPoint::NodesConfSaveFail.name(),
            detail: "saving nodes.conf fails".to_string(),
        });
        Err("injected write failure".to_string())
    } else {
        node.rest
            .storage
            .write_atomic(&name, text.as_bytes())
            .map_err(|e| e.to_string())
    };
    result.map_err(|reason| SaveConfigError::Write { file: name, reason })
}

/// A fault point (simulator only): while a replica's election is pending, it may stall its
/// next step for up to half a node timeout.
fn stall_election_if_chosen(node: &mut Node, now: u64) {
    let Some(s) = node.rest.cluster.as_ref() else {
        return;
    };
    if !s.election_pending() || now < s.election_stall_until_ms {
        return;
    }
    let max = (s.config.node_timeout_ms / 2).max(1);
    let Some(delay) = node
        .rest
        .fault_points
        .delay_ms(FaultPoint::ElectionStall, max)
    else {
        return;
    };
    if let Some(s) = node.rest.cluster.as_mut() {
        s.election_stall_until_ms = now + delay;
    }
    node.rest.record_cluster_event(ClusterEvent::FaultInjected {
        point: FaultPoint::ElectionStall.name(),
        detail: format!("election held for {} ms", delay),
    });
}

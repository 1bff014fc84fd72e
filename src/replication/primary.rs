//! Master side: answering PSYNC and feeding a replica its stream.
//!
//! PSYNC runs as a command under the node lock: it decides between `+CONTINUE` (the backlog
//! still holds everything after the replica's offset) and `+FULLRESYNC` (a snapshot of the
//! dataset), and registers the replica's channel in the same critical section, so the snapshot
//! and the stream after it meet exactly at the snapshot's offset. The connection then stops
//! being a client connection and becomes the replica's feeder ([`feed`]).

use super::{encode_command, PendingFeed, ReplicaLink};
use crate::cmd::CmdError;
use crate::limits::{Class, SoftClock};
use crate::node::{Client, Node, NodeRest, NodeView};
use crate::resp::request::{Limits, RequestParser};
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

impl NodeView<'_> {
    /// `PSYNC replid offset`: prepares the replica's feed; the reply is part of the feed itself.
    pub fn psync(
        &mut self,
        client: &mut Client,
        replid: &[u8],
        offset: &[u8],
    ) -> Result<(), CmdError> {
        let node = self;
        let replid = String::from_utf8_lossy(replid).into_owned();
        let from: Option<u64> = std::str::from_utf8(offset)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|o| *o > 0)
            .map(|o| o as u64);
        let repl = &mut node.rest.repl;
        let mut initial = Vec::new();
        let partial = from.filter(|f| repl.can_continue(&replid, *f));
        match partial {
            Some(from) => {
                initial.extend_from_slice(format!("+CONTINUE {}\r\n", repl.replid).as_bytes());
                if let Some(tail) = repl.backlog.since(from) {
                    initial.extend_from_slice(&tail);
                }
                repl.sync_partial_ok += 1;
                crate::mark!("partial resync accepted");
            }
            None => {
                if replid != "?" {
                    crate::mark!("partial resync refused: backlog does not cover the offset");
                    repl.sync_partial_err += 1;
                }
                crate::mark!("full resync");
                repl.sync_full += 1;
                // The snapshot is taken at the current offset; the stream continues right after
                // it, starting with a SELECT.
                repl.reset_select();
                let header = format!("+FULLRESYNC {} {}\r\n", repl.replid, repl.offset);
                let aux = [
                    ("ctime", (node.rest.clock.unix_ms() / 1000).to_string()),
                    ("repl-id", repl.replid.clone()),
                    ("repl-offset", repl.offset.to_string()),
                ];
                let mut rdb = Vec::new();
                let aux: Vec<(&str, String)> = aux.iter().map(|(k, v)| (*k, v.clone())).collect();
                let functions = node.rest.scripting.library_codes();
                super::snapshot::write(node.db.entries(), &aux, &functions, &mut rdb);
                initial.extend_from_slice(header.as_bytes());
                initial.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
                initial.extend_from_slice(&rdb);
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let ip = client
            .addr
            .rsplit_once(':')
            .map(|(ip, _)| ip.trim_start_matches('[').trim_end_matches(']').to_string())
            .unwrap_or_default();
        let repl = &mut node.rest.repl;
        let start_offset = match partial {
            Some(f) => f.saturating_sub(1),
            None => repl.offset,
        };
        repl.replica_hard_limit = node
            .rest
            .config
            .obuf
            .get(crate::limits::Class::Replica)
            .hard;
        repl.replicas.insert(
            client.id,
            ReplicaLink {
                ip,
                listening_port: client.replconf_listening_port,
                ack_offset: start_offset,
                ack_ms: node.rest.clock.mono_ms(),
                tx,
                queued: Arc::new(AtomicU64::new(0)),
                over_limit: Arc::new(Notify::new()),
            },
        );
        repl.pending_feeds
            .insert(client.id, PendingFeed { initial, rx });
        client.replica_feed = true;
        let kind = if partial.is_some() { "partial" } else { "full" };
        node.log(
            crate::log::Level::Notice,
            &format!(
                "Replica {}:{} asks for synchronization; {} resync",
                client.addr, client.replconf_listening_port, kind
            ),
        );
        Ok(())
    }
}

/// Serves a replica until its link breaks: writes its feed, reads its REPLCONF ACKs.
pub async fn feed<R, W>(
    node: Arc<Mutex<Node>>,
    client_id: u64,
    mut reader: R,
    mut writer: W,
    mut input: BytesMut,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let pending = match crate::nodelock::lock(&node).await {
        Ok(mut n) => {
            let link = n
                .rest
                .repl
                .replicas
                .get(&client_id)
                .map(|r| (r.queued.clone(), r.over_limit.clone()));
            n.rest.repl.pending_feeds.remove(&client_id).zip(link)
        }
        Err(_) => None,
    };
    let Some((PendingFeed { initial, mut rx }, (queued, over_limit))) = pending else {
        return;
    };
    let writing = async {
        if writer.write_all(&initial).await.is_err() || writer.flush().await.is_err() {
            return;
        }
        while let Some(bytes) = rx.recv().await {
            let mut batch = bytes.to_vec();
            // Coalesce whatever else is already queued into one write.
            while let Ok(more) = rx.try_recv() {
                batch.extend_from_slice(&more);
            }
            delay_if_chosen(&node).await;
            if writer.write_all(&batch).await.is_err() || writer.flush().await.is_err() {
                return;
            }
            queued.fetch_sub(batch.len() as u64, Ordering::Relaxed);
        }
    };
    let reading = async {
        let mut parser = RequestParser::new();
        let limits = Limits {
            max_bulk_len: 1 << 20,
            authenticated: true,
        };
        loop {
            loop {
                match parser.parse(&mut input, &limits) {
                    Ok(Some(argv)) => {
                        crate::nodelock::wait_free(&node).await;
                        on_replica_command(&node, client_id, &argv)
                    }
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
            input.reserve(4096);
            match reader.read_buf(&mut input).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    // CLIENT KILL marks the id; a feeder has no command loop to notice it, so it looks. The
    // same tick runs the replica class's soft limit clock. Ends with true when over a limit.
    let watch = async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        let mut soft = SoftClock::default();
        loop {
            tick.tick().await;
            let Ok(mut n) = crate::nodelock::lock(&node).await else {
                return false;
            };
            if n.rest.killed_clients.remove(&client_id) {
                return false;
            }
            let limit = n.rest.config.obuf.get(Class::Replica);
            let now = n.rest.clock.mono_ms();
            if soft.over(limit, queued.load(Ordering::Relaxed), now) {
                return true;
            }
        }
    };
    // `biased`: deterministic branch order in the simulator (see bus.rs).
    let over = tokio::select! {
        biased;
        over = watch => over,
        _ = over_limit.notified() => true,
        _ = writing => false,
        _ = reading => false,
    };
    if let Ok(mut n) = crate::nodelock::lock(&node).await {
        if over {
            n.rest.stats.client_output_buffer_limit_disconnections += 1;
            let addr = n
                .rest
                .repl
                .replicas
                .get(&client_id)
                .map(|r| format!("{}:{}", r.ip, r.listening_port))
                .unwrap_or_default();
            n.log(
                crate::log::Level::Warning,
                &format!(
                    "Client id={} addr={} flags=S scheduled to be closed ASAP for overcoming of output buffer limits.",
                    client_id, addr
                ),
            );
        }
        n.rest.repl.replicas.remove(&client_id);
        n.rest.repl.pending_feeds.remove(&client_id);
        n.log(crate::log::Level::Notice, "Connection with replica lost.");
    }
}

/// A fault point (simulator only): the master holds a write to a replica's stream for up to
/// 500 ms, as a stalled socket or process would.
async fn delay_if_chosen(node: &Arc<Mutex<Node>>) {
    use crate::faultpoint::FaultPoint;
    let delay = match crate::nodelock::lock(node).await {
        Ok(mut n) => {
            let d = n
                .rest
                .fault_points
                .delay_ms(FaultPoint::ReplicationWriteDelay, 500);
            if let Some(ms) = d {
                n.rest
                    .record_cluster_event(crate::cluster::event::ClusterEvent::FaultInjected {
                        point: FaultPoint::ReplicationWriteDelay.name(),
                        detail: format!("replication write held for {} ms", ms),
                    });
            }
            d
        }
        Err(_) => None,
    };
    if let Some(ms) = delay {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}

/// What a replica sends on its link: `REPLCONF ACK <offset>` (and nothing else we act on).
fn on_replica_command(node: &Arc<Mutex<Node>>, client_id: u64, argv: &[Bytes]) {
    let is_ack = argv.len() >= 3
        && argv[0].eq_ignore_ascii_case(b"replconf")
        && argv[1].eq_ignore_ascii_case(b"ack");
    if !is_ack {
        return;
    }
    let Some(offset) = std::str::from_utf8(&argv[2])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return;
    };
    if let Ok(mut n) = node.lock() {
        let now = n.rest.clock.mono_ms();
        if let Some(r) = n.rest.repl.replicas.get_mut(&client_id) {
            r.ack_offset = r.ack_offset.max(offset);
            r.ack_ms = now;
        }
        n.rest.repl.ack_notify.notify_waiters();
    }
}

/// Asks every replica for an ACK now (WAIT), through the stream as Redis does.
pub fn request_acks_rest(rest: &mut NodeRest) {
    if rest.repl.replicas.is_empty() {
        return;
    }
    let cmd = encode_command(&[b"REPLCONF", b"GETACK", b"*"]);
    rest.repl.feed(&cmd);
}

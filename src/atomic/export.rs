//! The source side of an atomic slot migration: `CLUSTER MIGRATESLOTS` (under the node lock)
//! and the task that streams the slots to the target and hands them over (without it).

use super::{slots_of, Job, JobState, Operation, Ranges};
use crate::cluster::event::ClusterEvent;
use crate::cluster::{NodeId, SlotBitmap};
use crate::db::Db;
use crate::faultpoint::FaultPoint;
use crate::node::{Node, NodeRest, NodeView};
use crate::tls::MaybeTls;
use bytes::BytesMut;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes sent before asking the target for an acknowledgement.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// Writes are paused for the handover once no more than this is left to send (Valkey's
/// `slot-migration-max-failover-repl-bytes` plays this part).
pub const HANDOFF_MAX_LAG_BYTES: usize = 1024 * 1024;
/// With nothing to send, the source still asks for an ACK this often (the target's liveness
/// check of the link, and ours of the target).
pub const HEARTBEAT_MS: u64 = 100;
/// The longest write pause before the handover is given up (the migration fails, writes
/// resume on the source).
pub const WRITE_PAUSE_TIMEOUT_MS: u64 = 10_000;

/// `CLUSTER MIGRATESLOTS SLOTSRANGE s e [s e ...] NODE id [SLOTSRANGE ... NODE id ...]`,
/// already parsed into (ranges, target) blocks: checks every block, then starts them all.
pub fn start(db: &Db, rest: &mut NodeRest, blocks: Vec<(Ranges, NodeId)>) -> Result<(), String> {
    let Some(cluster) = rest.cluster.as_ref() else {
        return Err("ERR This instance has cluster support disabled".into());
    };
    if !cluster.is_master() {
        return Err("ERR Slot migration can only be started on a primary".into());
    }
    let me = cluster.me().id;
    let mut seen = SlotBitmap::empty();
    for (ranges, target) in &blocks {
        if *target == me {
            return Err("ERR Target node can not be this node".into());
        }
        match cluster.nodes.get(target) {
            None => return Err(format!("ERR Unknown node {}", target)),
            Some(n) if !n.is_master() => {
                return Err(format!("ERR Target node {} is not a primary", target))
            }
            Some(n) if n.is_failed() => {
                return Err(format!("ERR Target node {} is failing", target))
            }
            _ => {}
        }
        for slot in slots_of(ranges) {
            if cluster.slot_owner_id(slot) != Some(me) {
                return Err(format!("ERR I'm not the owner of hash slot {}", slot));
            }
            if !seen.set(slot)
                || cluster.migrating.contains_key(&slot)
                || cluster.importing.contains_key(&slot)
                || rest.atomic.active_for_slot(slot).is_some()
            {
                return Err(format!("ERR Slot {} is already being migrated", slot));
            }
        }
    }
    for (ranges, target) in blocks {
        let name = crate::replication::random_replid(&mut rest.rng);
        let (now, unix) = (rest.clock.mono_ms(), rest.clock.unix_ms());
        // The snapshot: every key of the slots as RESTORE with an absolute expire time, taken
        // under the lock at the same instant the capture of later writes starts.
        let mut slots = SlotBitmap::empty();
        let mut snapshot = Vec::new();
        for slot in slots_of(&ranges) {
            slots.set(slot);
            for key in db.keys_in_slot(slot, usize::MAX) {
                let Some(entry) = db.peek(&key) else {
                    continue;
                };
                let payload = crate::rdb::dump_value(&entry.value);
                let ttl = entry.expire_ms().unwrap_or(0).to_string();
                let mut argv: Vec<&[u8]> = vec![b"RESTORE", &key, ttl.as_bytes(), &payload];
                argv.push(b"REPLACE");
                if entry.expire_ms().is_some() {
                    argv.push(b"ABSTTL");
                }
                snapshot.push(crate::replication::encode_command(&argv));
            }
        }
        rest.repl.capture.start(&name, slots, snapshot);
        rest.atomic.push(Job {
            name: name.clone(),
            op: Operation::Export,
            ranges,
            source: me,
            target,
            create_unix_ms: unix,
            update_unix_ms: unix,
            ack_unix_ms: 0,
            state: JobState::Connecting,
            message: String::new(),
            cancel_requested: false,
            link_client: None,
            last_io_ms: now,
            paused_since_ms: 0,
        });
        let detail = rest
            .atomic
            .job(&name)
            .map(|j| {
                format!(
                    "export of {} to {} started",
                    super::ranges_text(&j.ranges),
                    short(&target)
                )
            })
            .unwrap_or_default();
        rest.record_cluster_event(ClusterEvent::SlotMigration { detail });
        rest.atomic.spawn.push(name);
    }
    Ok(())
}

/// CANCELSLOTMIGRATIONS on the source: every running export stops at its next step.
pub fn cancel_all(rest: &mut NodeRest) -> usize {
    let mut n = 0;
    for j in rest.atomic.jobs.iter_mut() {
        if j.op == Operation::Export && j.state.is_active() && j.state != JobState::Handover {
            j.cancel_requested = true;
            n += 1;
        }
    }
    n
}

/// Why an export stopped.
pub(super) enum Stop {
    Cancelled,
    Failed(String),
}

/// What the driver learned under the lock.
enum Step {
    /// Send these bytes (possibly none), then ask for an ACK.
    Send(Vec<u8>),
    /// Everything was sent and writes are paused: send FINISH.
    Finish,
}

/// The export task of job `name`: connect, stream, pause, hand over. Every exit leaves the
/// job in a terminal state and the slots either given away (success) or still ours.
pub async fn run(node: Arc<Mutex<Node>>, name: String) {
    let result = drive(&node, &name).await;
    let Ok(mut g) = crate::nodelock::lock(&node).await else {
        return;
    };
    match result {
        Ok(()) => {}
        Err(stop) => {
            let (state, message) = match stop {
                Stop::Cancelled => (JobState::Cancelled, "cancelled".to_string()),
                Stop::Failed(m) => (JobState::Failed, m),
            };
            abandon(&mut g.rest, &name, state, &message);
        }
    }
}

/// The export ends without a handover: writes resume, the capture stops, the slots stay.
fn abandon(rest: &mut NodeRest, name: &str, state: JobState, message: &str) {
    rest.repl.capture.stop(name);
    super::handoff::end(rest, name);
    let unix = rest.clock.unix_ms();
    if let Some(j) = rest.atomic.job_mut(name) {
        if j.state.is_active() {
            j.state = state;
            j.message = message.to_string();
            j.update_unix_ms = unix;
        }
        j.paused_since_ms = 0;
    }
    let ranges = rest
        .atomic
        .job(name)
        .map(|j| super::ranges_text(&j.ranges))
        .unwrap_or_default();
    rest.record_cluster_event(ClusterEvent::SlotMigration {
        detail: format!("export of {} {}: {}", ranges, state.name(), message),
    });
}

/// The handover is known to have happened: bind the slots to the target, delete their keys
/// (replicated as DELs), unpause (waiting clients then get MOVED).
fn complete(db: &mut Db, rest: &mut NodeRest, name: &str) {
    rest.repl.capture.stop(name);
    let Some(job) = rest.atomic.job(name).cloned() else {
        return;
    };
    if job.state == JobState::Success {
        return;
    }
    let (now, unix) = (rest.clock.mono_ms(), rest.clock.unix_ms());
    if let Some(c) = rest.cluster.as_mut() {
        c.give_slots_atomically(now, unix, &job.ranges, job.target);
    }
    let deleted = NodeView { db, rest }.delete_keys_in_slots(slots_of(&job.ranges));
    // The DELs are in the stream: the replicas no longer need the handover mark.
    super::handoff::end(rest, name);
    rest.atomic.set_state(name, JobState::Success, "", unix);
    if let Some(j) = rest.atomic.job_mut(name) {
        j.paused_since_ms = 0;
    }
    rest.record_cluster_event(ClusterEvent::SlotMigration {
        detail: format!(
            "export of {} handed over, {} keys deleted here",
            super::ranges_text(&job.ranges),
            deleted
        ),
    });
    rest.cluster_wakeup.notify_one();
}

/// The cluster bus learnt that the target took slots of an export in its handover (its
/// gossip can arrive before the answer to FINISH) and is about to drop their keys: complete
/// those exports first, so the deletions reach the replicas and the AOF as DELs (a bare drop
/// would leave the replicas with the keys). Returns the slots left for the plain drop.
pub fn complete_by_gossip(db: &mut Db, rest: &mut NodeRest, slots: Vec<u16>) -> Vec<u16> {
    let names: Vec<String> = rest
        .atomic
        .jobs
        .iter()
        .filter(|j| {
            j.op == Operation::Export
                && j.state == JobState::Handover
                && slots.iter().any(|&s| super::ranges_contain(&j.ranges, s))
        })
        .map(|j| j.name.clone())
        .collect();
    for name in names {
        complete(db, rest, &name);
    }
    slots
}

/// Whether the job may go on: not cancelled, still a master owning every slot, capture whole.
fn check(rest: &NodeRest, name: &str) -> Result<(), Stop> {
    let Some(job) = rest.atomic.job(name) else {
        return Err(Stop::Failed("the job disappeared".into()));
    };
    if job.cancel_requested {
        return Err(Stop::Cancelled);
    }
    let Some(c) = rest.cluster.as_ref() else {
        return Err(Stop::Failed("cluster support disabled".into()));
    };
    if !c.is_master() || rest.repl.is_replica() {
        return Err(Stop::Failed("this node is no longer a primary".into()));
    }
    if c.manual_failover_running() || rest.write_pause_until_ms > rest.clock.mono_ms() {
        // A failover of this shard is under way: the slots stay with the shard.
        return Err(Stop::Failed(
            "a manual failover of this shard is running".into(),
        ));
    }
    let me = c.me().id;
    if slots_of(&job.ranges).any(|s| c.slot_owner_id(s) != Some(me)) {
        return Err(Stop::Failed("this node no longer owns the slots".into()));
    }
    match c.nodes.get(&job.target) {
        Some(t) if t.is_master() && !t.is_failed() => {}
        _ => {
            return Err(Stop::Failed(
                "the target is no longer a healthy primary".into(),
            ))
        }
    }
    if let Some(reason) = rest.repl.capture.get(name).and_then(|c| c.broken) {
        return Err(Stop::Failed(reason.into()));
    }
    Ok(())
}

async fn drive(node: &Arc<Mutex<Node>>, name: &str) -> Result<(), Stop> {
    let lock = || {
        node.lock()
            .map_err(|_| Stop::Failed("node lock poisoned".into()))
    };
    let (addr, auth, timeout, start_cmd, tls, host) = {
        let g = lock()?;
        check(&g.rest, name)?;
        let job = g
            .rest
            .atomic
            .job(name)
            .cloned()
            .ok_or_else(|| Stop::Failed("the job disappeared".into()))?;
        let c = g.rest.cluster.as_ref().ok_or(Stop::Cancelled)?;
        let t = c
            .nodes
            .get(&job.target)
            .ok_or_else(|| Stop::Failed("unknown target".into()))?;
        let addr = if t.ip.contains(':') {
            format!("[{}]:{}", t.ip, t.port)
        } else {
            format!("{}:{}", t.ip, t.port)
        };
        // The target's announced port is its TLS port in a tls-cluster: speak TLS there.
        let tls = g.rest.tls.clone().filter(|t| t.cluster);
        let host = t.ip.clone();
        let cfg = &g.rest.config;
        let auth = cfg.get("masterauth").filter(|s| !s.is_empty()).map(|p| {
            match cfg.get("masteruser").filter(|s| !s.is_empty()) {
                Some(u) => {
                    crate::replication::encode_command(&[b"AUTH", u.as_bytes(), p.as_bytes()])
                }
                None => crate::replication::encode_command(&[b"AUTH", p.as_bytes()]),
            }
        });
        let timeout = Duration::from_millis(super::import::link_timeout_ms(&g.rest));
        let mut argv: Vec<Vec<u8>> = vec![
            b"CLUSTER".to_vec(),
            b"SYNCSLOTS".to_vec(),
            b"START".to_vec(),
            name.as_bytes().to_vec(),
            job.source.to_string().into_bytes(),
        ];
        super::push_ranges(&mut argv, &job.ranges);
        let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        (
            addr,
            auth,
            timeout,
            crate::replication::encode_command(&refs),
            tls,
            host,
        )
    };
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        _ => return Err(Stop::Failed("could not connect to the target".into())),
    };
    let _ = stream.set_nodelay(true);
    let mut stream = crate::tls::stream::maybe_connect(tls.as_deref(), &host, stream)
        .await
        .map_err(|e| Stop::Failed(format!("TLS handshake with the target failed: {}", e)))?;
    let mut reader = Lines::default();
    if let Some(a) = auth {
        send(&mut stream, &a, timeout).await?;
        expect_ok(&mut reader, &mut stream, timeout).await?;
    }
    send(&mut stream, &start_cmd, timeout).await?;
    expect_ok(&mut reader, &mut stream, timeout).await?;
    {
        let mut g = lock()?;
        let unix = g.rest.clock.unix_ms();
        g.rest.atomic.set_state(name, JobState::Streaming, "", unix);
    }
    let ack = crate::replication::encode_command(&[b"CLUSTER", b"SYNCSLOTS", b"ACK"]);
    loop {
        let step = {
            let mut g = lock()?;
            check(&g.rest, name)?;
            let now = g.rest.clock.mono_ms();
            let paused_since = g.rest.atomic.job(name).map_or(0, |j| j.paused_since_ms);
            let left = g.rest.repl.capture.pending_bytes(name);
            if paused_since == 0 && left <= HANDOFF_MAX_LAG_BYTES {
                // Little is left: stop the writes to these slots and send the rest.
                let unix = g.rest.clock.unix_ms();
                g.rest
                    .atomic
                    .set_state(name, JobState::Paused, "writes paused", unix);
                if let Some(j) = g.rest.atomic.job_mut(name) {
                    j.paused_since_ms = now.max(1);
                }
            } else if paused_since != 0 && now.saturating_sub(paused_since) > WRITE_PAUSE_TIMEOUT_MS
            {
                return Err(Stop::Failed("the write pause timed out".into()));
            }
            let paused = g
                .rest
                .atomic
                .job(name)
                .is_some_and(|j| j.paused_since_ms != 0);
            let (bytes, _) = g.rest.repl.capture.take(name, CHUNK_BYTES);
            if paused && bytes.is_empty() {
                Step::Finish
            } else {
                Step::Send(bytes)
            }
        };
        match step {
            Step::Send(mut bytes) => {
                let idle = bytes.is_empty();
                bytes.extend_from_slice(&ack);
                send(&mut stream, &bytes, timeout).await?;
                expect_ok(&mut reader, &mut stream, timeout).await?;
                {
                    let mut g = lock()?;
                    let unix = g.rest.clock.unix_ms();
                    let now = g.rest.clock.mono_ms();
                    if let Some(j) = g.rest.atomic.job_mut(name) {
                        j.ack_unix_ms = unix;
                        j.last_io_ms = now;
                    }
                }
                if idle {
                    tokio::time::sleep(Duration::from_millis(HEARTBEAT_MS)).await;
                }
            }
            Step::Finish => break,
        }
    }
    // Before the target may take the slots, every replica of ours learns that a handover is
    // under way: if we die after the target took them and before our DELs went out, the
    // replica promoted in our place must not keep serving (or later resurface) those keys.
    super::handoff::announce(node, name, timeout).await?;
    // Handover: from here the outcome may be unknown (the FINISH may have been applied even if
    // its answer never comes), so the pause holds until the cluster says who owns the slots.
    {
        let mut g = lock()?;
        let unix = g.rest.clock.unix_ms();
        g.rest
            .atomic
            .set_state(name, JobState::Handover, "waiting for the target", unix);
    }
    let finish =
        crate::replication::encode_command(&[b"CLUSTER", b"SYNCSLOTS", b"FINISH", name.as_bytes()]);
    let answered = match send(&mut stream, &finish, timeout).await {
        Ok(()) => reader.line(&mut stream, timeout).await,
        Err(_) => Err(Stop::Failed("write to the target failed".into())),
    };
    match answered {
        Ok(line) if line.starts_with(b"+") => {
            {
                let mut g = lock()?;
                let n = &mut *g;
                if n.rest.fault_points.fires(FaultPoint::HandoverExit) {
                    n.rest.record_cluster_event(ClusterEvent::FaultInjected {
                        point: FaultPoint::HandoverExit.name(),
                        detail: "exiting after the target took the slots".to_string(),
                    });
                    (n.rest.persist.on_fatal.clone())(
                        "injected exit between the handover and the deletion of the moved keys",
                    );
                    return Err(Stop::Failed("the node is exiting".into()));
                }
                complete(&mut n.db, &mut n.rest, name);
            }
            let done = crate::replication::encode_command(&[
                b"CLUSTER",
                b"SYNCSLOTS",
                b"DONE",
                name.as_bytes(),
            ]);
            let _ = send(&mut stream, &done, timeout).await;
            let _ = reader.line(&mut stream, timeout).await;
            Ok(())
        }
        Ok(line) => {
            // The target refused: it did not take the slots.
            Err(Stop::Failed(String::from_utf8_lossy(&line).into_owned()))
        }
        Err(_) => {
            drop(stream);
            await_outcome(node, name).await
        }
    }
}

/// FINISH went out but no answer came: keep writes paused until the cluster view shows the
/// target owning the slots (success) or two node timeouts pass (the source keeps them).
async fn await_outcome(node: &Arc<Mutex<Node>>, name: &str) -> Result<(), Stop> {
    let deadline = {
        let g = crate::nodelock::lock(node)
            .await
            .map_err(|_| Stop::Cancelled)?;
        g.rest.clock.mono_ms() + 2 * super::import::link_timeout_ms(&g.rest)
    };
    loop {
        {
            let mut g = crate::nodelock::lock(node)
                .await
                .map_err(|_| Stop::Cancelled)?;
            let n = &mut *g;
            let Some(job) = n.rest.atomic.job(name).cloned() else {
                return Err(Stop::Failed("the job disappeared".into()));
            };
            let Some(c) = n.rest.cluster.as_ref() else {
                return Err(Stop::Cancelled);
            };
            let me = c.me().id;
            let target_owns = slots_of(&job.ranges).all(|s| c.slot_owner_id(s) == Some(job.target));
            let all_mine = slots_of(&job.ranges).all(|s| c.slot_owner_id(s) == Some(me));
            if target_owns {
                complete(&mut n.db, &mut n.rest, name);
                return Ok(());
            }
            if !all_mine || !c.is_master() {
                // Somebody else settled it (a failover, an UPDATE): nothing of ours to hand over.
                return Err(Stop::Failed(
                    "the slots changed owner during the handover".into(),
                ));
            }
            if n.rest.clock.mono_ms() >= deadline {
                return Err(Stop::Failed(
                    "no answer from the target to the handover".into(),
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(HEARTBEAT_MS)).await;
    }
}

async fn send(
    stream: &mut MaybeTls<TcpStream>,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(), Stop> {
    let fail = || Stop::Failed("write to the target failed".into());
    for chunk in bytes.chunks(64 * 1024) {
        match tokio::time::timeout(timeout, stream.write_all(chunk)).await {
            Ok(Ok(())) => {}
            _ => return Err(fail()),
        }
    }
    match tokio::time::timeout(timeout, stream.flush()).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(fail()),
    }
}

async fn expect_ok(
    reader: &mut Lines,
    stream: &mut MaybeTls<TcpStream>,
    timeout: Duration,
) -> Result<(), Stop> {
    let line = reader.line(stream, timeout).await?;
    if line.starts_with(b"-") {
        return Err(Stop::Failed(
            String::from_utf8_lossy(&line[1..]).into_owned(),
        ));
    }
    Ok(())
}

/// CRLF-terminated reply lines (every answer on this link is one line).
#[derive(Default)]
struct Lines {
    buf: BytesMut,
}

impl Lines {
    async fn line(
        &mut self,
        stream: &mut MaybeTls<TcpStream>,
        timeout: Duration,
    ) -> Result<Vec<u8>, Stop> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line = self.buf.split_to(pos + 1).to_vec();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > 64 * 1024 {
                return Err(Stop::Failed("reply line too long".into()));
            }
            self.buf.reserve(4096);
            match tokio::time::timeout(timeout, stream.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                Ok(_) => return Err(Stop::Failed("the target closed the connection".into())),
                Err(_) => return Err(Stop::Failed("the target did not answer in time".into())),
            }
        }
    }
}

/// The first 8 characters of a node id, as the cluster's events print them.
pub fn short(id: &NodeId) -> String {
    id.to_string().chars().take(8).collect()
}

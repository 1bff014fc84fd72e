//! The target side of an atomic slot migration: `CLUSTER SYNCSLOTS` on the source's
//! connection, the rollback of a job that did not complete, and the marks that let replicas
//! and a restarted node find partial keys.
//!
//! The source's connection (the *link*) is an ordinary client whose commands may touch the
//! slots being imported although this node does not own them yet (see `Node::route`). Its data
//! commands get no replies (the source sends thousands without waiting); only the SYNCSLOTS
//! commands are answered, and an error on a data command ends the job and closes the link.

use super::{slots_of, Job, JobState, Operation, Ranges};
use crate::cluster::event::ClusterEvent;
use crate::cluster::NodeId;
use crate::db::Db;
use crate::node::NodeRest;
use bytes::Bytes;

/// How long an import waits for its source without hearing from it (the source sends an ACK
/// request at least every [`super::export::HEARTBEAT_MS`]).
pub fn link_timeout_ms(rest: &NodeRest) -> u64 {
    rest.config.cluster_node_timeout_ms.max(1000)
}

/// `CLUSTER SYNCSLOTS START name source-id start end [...]` from the source's connection.
pub fn start(
    rest: &mut NodeRest,
    client_id: u64,
    name: &str,
    source: NodeId,
    ranges: Ranges,
) -> Result<(), String> {
    let Some(cluster) = rest.cluster.as_ref() else {
        return Err("ERR This instance has cluster support disabled".into());
    };
    if !cluster.is_master() {
        return Err("ERR Slot migration target must be a primary".into());
    }
    if !cluster.knows(&source) {
        return Err(format!("ERR Unknown node {}", source));
    }
    let me = cluster.me().id;
    for slot in slots_of(&ranges) {
        if cluster.slot_owner_id(slot) == Some(me) {
            return Err(format!("ERR I'm already the owner of hash slot {}", slot));
        }
        if cluster.importing.contains_key(&slot) || rest.atomic.active_for_slot(slot).is_some() {
            return Err(format!("ERR Slot {} is already being migrated", slot));
        }
    }
    if rest.atomic.job(name).is_some() {
        return Err("ERR A slot migration with this name exists".into());
    }
    let (now, unix) = (rest.clock.mono_ms(), rest.clock.unix_ms());
    rest.atomic.push(Job {
        name: name.to_string(),
        op: Operation::Import,
        ranges: ranges.clone(),
        source,
        target: me,
        create_unix_ms: unix,
        update_unix_ms: unix,
        ack_unix_ms: unix,
        state: JobState::Streaming,
        message: String::new(),
        cancel_requested: false,
        link_client: Some(client_id),
        last_io_ms: now,
        paused_since_ms: 0,
    });
    mark(rest, name, &ranges);
    rest.record_cluster_event(ClusterEvent::SlotMigration {
        detail: format!(
            "import of {} from {} started",
            super::ranges_text(&ranges),
            super::export::short(&source)
        ),
    });
    Ok(())
}

/// Records (and replicates) that `ranges` are being imported by job `name`.
fn mark(rest: &mut NodeRest, name: &str, ranges: &Ranges) {
    rest.atomic.marks.insert(name.to_string(), ranges.clone());
    let mut argv: Vec<Vec<u8>> = vec![
        b"CLUSTER".to_vec(),
        b"SYNCSLOTS".to_vec(),
        b"MARK".to_vec(),
        name.as_bytes().to_vec(),
    ];
    super::push_ranges(&mut argv, ranges);
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    rest.repl.propagate(&refs);
}

/// Forgets (and replicates forgetting) the mark of job `name`.
fn unmark(rest: &mut NodeRest, name: &str) {
    if rest.atomic.marks.remove(name).is_some() {
        rest.repl
            .propagate(&[b"CLUSTER", b"SYNCSLOTS", b"UNMARK", name.as_bytes()]);
    }
}

/// A sign of life from the source on the link of `client_id`.
pub fn touch(rest: &mut NodeRest, client_id: u64) {
    let (now, unix) = (rest.clock.mono_ms(), rest.clock.unix_ms());
    for j in rest.atomic.jobs.iter_mut() {
        if j.op == Operation::Import && j.link_client == Some(client_id) && j.state.is_active() {
            j.last_io_ms = now;
            j.ack_unix_ms = unix;
        }
    }
}

/// The active import of the link `client_id`, if any.
pub fn job_of_link(rest: &NodeRest, client_id: u64) -> Option<String> {
    rest.atomic
        .jobs
        .iter()
        .find(|j| j.op == Operation::Import && j.link_client == Some(client_id))
        .filter(|j| j.state.is_active())
        .map(|j| j.name.clone())
}

/// `CLUSTER SYNCSLOTS FINISH name`: every write of the slots has arrived and the source has
/// paused them; take the slots with a configEpoch bump (as SETSLOT NODE after an import).
pub fn finish(rest: &mut NodeRest, client_id: u64, name: &str) -> Result<(), String> {
    let Some(job) = rest.atomic.job(name) else {
        return Err("ERR No such slot migration".into());
    };
    if job.op != Operation::Import
        || job.link_client != Some(client_id)
        || job.state != JobState::Streaming
    {
        return Err("ERR The slot migration is not in progress".into());
    }
    let ranges = job.ranges.clone();
    let (now, unix) = (rest.clock.mono_ms(), rest.clock.unix_ms());
    let Some(cluster) = rest.cluster.as_mut() else {
        return Err("ERR This instance has cluster support disabled".into());
    };
    if !cluster.is_master() {
        return Err("ERR Slot migration target must be a primary".into());
    }
    cluster.take_slots_atomically(now, unix, &ranges);
    rest.atomic
        .set_state(name, JobState::Handover, "slots taken", unix);
    Ok(())
}

/// The import of `name` ended: `Success` keeps the keys (the slots are ours), anything else
/// deletes the keys of slots this node does not own, replicated as DELs.
pub fn end(db: &mut Db, rest: &mut NodeRest, name: &str, state: JobState, message: &str) {
    let unix = rest.clock.unix_ms();
    if let Some(j) = rest.atomic.job_mut(name) {
        if j.state.is_active() {
            j.state = state;
            j.message = message.to_string();
            j.update_unix_ms = unix;
        }
    }
    drop_partial_keys(db, rest, name);
}

/// Deletes the keys of job `name`'s marked slots that this master does not own, and unmarks.
/// A replica only forgets the mark on its master's word.
fn drop_partial_keys(db: &mut Db, rest: &mut NodeRest, name: &str) {
    if rest.repl.is_replica() {
        return;
    }
    let Some(ranges) = rest.atomic.marks.get(name).cloned() else {
        return;
    };
    let me = rest.cluster.as_ref().map(|c| c.me().id);
    let mut dropped = 0usize;
    for slot in slots_of(&ranges) {
        let owned = rest
            .cluster
            .as_ref()
            .is_some_and(|c| c.slot_owner_id(slot) == me);
        if owned || db.slot_len(slot) == 0 {
            continue;
        }
        for k in db.keys_in_slot(slot, usize::MAX) {
            if db.remove(&k).is_some() {
                dropped += 1;
                rest.repl.propagate(&[b"DEL", &k]);
                if rest.watches.is_watched(&k) {
                    rest.watches.touch(&k, false);
                }
            }
        }
    }
    let outcome = rest
        .atomic
        .job(name)
        .map(|j| format!("{} {}", j.state.name(), j.message))
        .unwrap_or_else(|| "unfinished (this node restarted or was promoted)".into());
    rest.record_cluster_event(ClusterEvent::SlotMigration {
        detail: format!(
            "import of {} ended: {}; {} partial keys deleted",
            super::ranges_text(&ranges),
            outcome.trim_end(),
            dropped
        ),
    });
    unmark(rest, name);
}

/// The link `client_id` closed: an import still streaming is rolled back; one that took its
/// slots is complete.
pub fn link_closed(db: &mut Db, rest: &mut NodeRest, client_id: u64) {
    let jobs: Vec<(String, JobState)> = rest
        .atomic
        .jobs
        .iter()
        .filter(|j| j.op == Operation::Import && j.link_client == Some(client_id))
        .map(|j| (j.name.clone(), j.state))
        .collect();
    for (name, state) in jobs {
        match state {
            JobState::Handover => end(db, rest, &name, JobState::Success, ""),
            s if s.is_active() => end(
                db,
                rest,
                &name,
                JobState::Failed,
                "the connection to the source closed",
            ),
            _ => {}
        }
        if let Some(j) = rest.atomic.job_mut(&name) {
            j.link_client = None;
        }
    }
}

/// CANCELSLOTMIGRATIONS on the target: ends every import now and closes its link.
pub fn cancel_all(db: &mut Db, rest: &mut NodeRest) -> usize {
    let jobs: Vec<(String, Option<u64>, JobState)> = rest
        .atomic
        .jobs
        .iter()
        .filter(|j| j.op == Operation::Import && j.state.is_active())
        .map(|j| (j.name.clone(), j.link_client, j.state))
        .collect();
    for (name, link, state) in &jobs {
        let end_state = if *state == JobState::Handover {
            JobState::Success
        } else {
            JobState::Cancelled
        };
        end(
            db,
            rest,
            name,
            end_state,
            "cancelled by CLUSTER CANCELSLOTMIGRATIONS",
        );
        if let Some(id) = link {
            rest.killed_clients.insert(*id);
        }
    }
    jobs.len()
}

/// `CLUSTER SYNCSLOTS MARK/UNMARK` from the replication stream (or the AOF).
pub fn apply_mark(rest: &mut NodeRest, name: &str, ranges: Option<Ranges>) {
    match ranges {
        Some(r) => {
            rest.atomic.marks.insert(name.to_string(), r);
        }
        None => {
            rest.atomic.marks.remove(name);
        }
    }
}

/// The node became a replica: imports stop here (the new master decides about the keys).
pub fn on_demoted(rest: &mut NodeRest) {
    let unix = rest.clock.unix_ms();
    for j in rest.atomic.jobs.iter_mut() {
        if j.op == Operation::Import && j.state.is_active() {
            j.state = JobState::Failed;
            j.message = "this node became a replica".into();
            j.update_unix_ms = unix;
            if let Some(id) = j.link_client.take() {
                rest.killed_clients.insert(id);
            }
        }
    }
}

/// Once per cron: imports whose source went silent fail; marks without a running import here
/// (this node restarted, or was promoted from a replica in the middle) are rolled back.
pub fn cron(db: &mut Db, rest: &mut NodeRest) {
    if rest.atomic.marks.is_empty() && rest.atomic.jobs.is_empty() {
        return;
    }
    let now = rest.clock.mono_ms();
    let timeout = link_timeout_ms(rest);
    let silent: Vec<(String, Option<u64>)> = rest
        .atomic
        .jobs
        .iter()
        .filter(|j| {
            j.op == Operation::Import
                && j.state == JobState::Streaming
                && now.saturating_sub(j.last_io_ms) > timeout
        })
        .map(|j| (j.name.clone(), j.link_client))
        .collect();
    for (name, link) in silent {
        end(
            db,
            rest,
            &name,
            JobState::Failed,
            "timed out waiting for the source",
        );
        if let Some(id) = link {
            rest.killed_clients.insert(id);
        }
    }
    if rest.repl.is_replica() {
        return;
    }
    let orphans: Vec<String> = rest
        .atomic
        .marks
        .keys()
        .filter(|name| {
            rest.atomic
                .job(name)
                .is_none_or(|j| !j.state.is_active() || j.link_client.is_none())
        })
        .cloned()
        .collect();
    for name in orphans {
        drop_partial_keys(db, rest, &name);
    }
}

/// Parses the MARK arguments `name start end [...]`.
pub fn parse_mark(args: &[Bytes]) -> Option<(String, Ranges)> {
    let name = String::from_utf8(args.first()?.to_vec()).ok()?;
    let ranges = super::parse_ranges(&args[1..]).ok()?;
    Some((name, ranges))
}

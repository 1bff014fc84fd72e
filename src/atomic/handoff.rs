//! The source's handover mark: `CLUSTER SYNCSLOTS HANDOFF name target s e [...]` and
//! `CLUSTER SYNCSLOTS ENDHANDOFF name` in the source's replication stream (and AOF).
//!
//! The source deletes the moved keys only after the target answered FINISH. If the source dies
//! between the two, its replica is promoted holding copies of keys in slots the target now
//! owns: nobody reaches them, but they would come back if the slots ever returned, and two
//! masters would hold the same key. So before FINISH is sent the source writes this mark to
//! its stream and waits until every attached replica acknowledged it; the DELs of a completed
//! handover are followed by ENDHANDOFF, a rollback writes ENDHANDOFF alone. A master that holds
//! a mark without a running export of that name (a promoted replica, or the source restarted
//! from its AOF) settles it ([`settle`]): the keys of slots another master owns are deleted,
//! those of slots it owns stay (if it later loses them to the target's newer claim, the
//! ordinary loss of slots drops them).

use super::export::Stop;
use super::{Handoff, Ranges};
use crate::cluster::event::ClusterEvent;
use crate::cluster::NodeId;
use crate::db::Db;
use crate::node::{Node, NodeRest, NodeView};
use bytes::Bytes;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Writes the mark of export `name` to the stream, then waits (at most `timeout`) until every
/// replica attached now acknowledged it. A replica that does not answer in time fails the
/// export (it rolls back: the slots stay here, nothing was handed over).
pub(super) async fn announce(
    node: &Arc<Mutex<Node>>,
    name: &str,
    timeout: Duration,
) -> Result<(), Stop> {
    let poisoned = || Stop::Failed("node lock poisoned".into());
    let (offset, replicas, deadline, notify, durable) = {
        let mut g = crate::nodelock::lock(node).await.map_err(|_| poisoned())?;
        let rest = &mut g.rest;
        let job = rest
            .atomic
            .job(name)
            .cloned()
            .ok_or_else(|| Stop::Failed("the job disappeared".into()))?;
        begin(rest, name, job.target, &job.ranges);
        crate::replication::primary::request_acks_rest(rest);
        let durable = rest.repl.tap.aof.as_ref().and_then(|a| a.durability());
        (
            rest.repl.offset,
            rest.repl.replicas.len(),
            rest.clock.mono_ms() + timeout.as_millis() as u64,
            rest.repl.ack_notify.clone(),
            durable,
        )
    };
    // With appendfsync always the mark is also on disk before the target may take the slots:
    // a source that dies before its DELs are fsynced restarts from an AOF that holds the mark
    // (found by explore: the DELs and an unfsynced mark were lost together, and the restarted
    // source served the keys again beside the target).
    if let Some((group, at)) = durable {
        if !group.wait_durable(at).await {
            return Err(Stop::Failed(
                "the handover mark could not be written to the AOF".into(),
            ));
        }
    }
    loop {
        let (acked, now) = {
            let g = crate::nodelock::lock(node).await.map_err(|_| poisoned())?;
            (g.rest.repl.acked(offset), g.rest.clock.mono_ms())
        };
        if acked >= replicas {
            return Ok(());
        }
        if now >= deadline {
            return Err(Stop::Failed(format!(
                "{} of {} replicas confirmed the handover mark",
                acked, replicas
            )));
        }
        let wait = Duration::from_millis((deadline - now).min(100));
        let _ = tokio::time::timeout(wait, notify.notified()).await;
    }
}

/// Records and replicates the mark.
fn begin(rest: &mut NodeRest, name: &str, target: NodeId, ranges: &Ranges) {
    rest.atomic.handoffs.insert(
        name.to_string(),
        Handoff {
            target,
            ranges: ranges.clone(),
        },
    );
    let mut argv: Vec<Vec<u8>> = vec![
        b"CLUSTER".to_vec(),
        b"SYNCSLOTS".to_vec(),
        b"HANDOFF".to_vec(),
        name.as_bytes().to_vec(),
        target.to_string().into_bytes(),
    ];
    super::push_ranges(&mut argv, ranges);
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    rest.repl.propagate(&refs);
}

/// Forgets (and replicates forgetting) the mark of `name`, if there is one.
pub fn end(rest: &mut NodeRest, name: &str) {
    if rest.atomic.handoffs.remove(name).is_some() {
        rest.repl
            .propagate(&[b"CLUSTER", b"SYNCSLOTS", b"ENDHANDOFF", name.as_bytes()]);
    }
}

/// HANDOFF / ENDHANDOFF from the replication stream or the AOF.
pub fn apply(rest: &mut NodeRest, name: &str, mark: Option<Handoff>) {
    match mark {
        Some(h) => {
            rest.atomic.handoffs.insert(name.to_string(), h);
        }
        None => {
            rest.atomic.handoffs.remove(name);
        }
    }
}

/// Parses the HANDOFF arguments `name target-id start end [...]`.
pub fn parse(args: &[Bytes]) -> Option<(String, Handoff)> {
    let name = String::from_utf8(args.first()?.to_vec()).ok()?;
    let target = NodeId::parse(args.get(1)?)?;
    let ranges = super::parse_ranges(args.get(2..)?).ok()?;
    Some((name, Handoff { target, ranges }))
}

/// Once per cron, on a master: settles the marks no running export of this node owns.
pub fn settle(db: &mut Db, rest: &mut NodeRest) {
    if rest.atomic.handoffs.is_empty() || rest.repl.is_replica() {
        return;
    }
    let Some(c) = rest.cluster.as_ref() else {
        return;
    };
    let me = c.me().id;
    let orphans: Vec<(String, Handoff)> = rest
        .atomic
        .handoffs
        .iter()
        .filter(|(name, _)| rest.atomic.job(name).is_none_or(|j| !j.state.is_active()))
        .map(|(n, h)| (n.clone(), h.clone()))
        .collect();
    for (name, mark) in orphans {
        let owners: Vec<(u16, Option<NodeId>)> = super::slots_of(&mark.ranges)
            .map(|s| (s, slot_owner(rest, s)))
            .collect();
        // A slot nobody owns yet (the view is still settling) waits for a later cron.
        if owners.iter().any(|(_, o)| o.is_none()) {
            continue;
        }
        let elsewhere: Vec<u16> = owners
            .iter()
            .filter(|(_, o)| *o != Some(me))
            .map(|(s, _)| *s)
            .collect();
        let deleted = NodeView { db, rest }.delete_keys_in_slots(elsewhere.iter().copied());
        end(rest, &name);
        rest.record_cluster_event(ClusterEvent::SlotMigration {
            detail: format!(
                "handover mark of {} settled: {} of its slots are served elsewhere, {} keys deleted here",
                super::ranges_text(&mark.ranges),
                elsewhere.len(),
                deleted
            ),
        });
    }
}

/// The master serving `slot` in this node's view.
fn slot_owner(rest: &NodeRest, slot: u16) -> Option<NodeId> {
    rest.cluster.as_ref().and_then(|c| c.slot_owner_id(slot))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn a_handoff_mark_parses_its_target_and_ranges() {
        let target = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";
        let (name, mark) = parse(&args(&["job1", target, "2700", "3300", "10", "12"])).unwrap();
        assert_eq!(name, "job1");
        assert_eq!(mark.target.to_string(), target);
        assert_eq!(mark.ranges, vec![(2700, 3300), (10, 12)]);
    }

    #[test]
    fn a_malformed_handoff_mark_is_refused() {
        let target = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";
        assert!(parse(&args(&["job1", "not-an-id", "1", "2"])).is_none());
        assert!(parse(&args(&["job1", target])).is_none());
        assert!(parse(&args(&["job1", target, "5", "2"])).is_none());
        assert!(parse(&args(&["job1", target, "1", "99999"])).is_none());
        assert!(parse(&args(&["job1"])).is_none());
    }
}

//! The write stream of the slots being exported: every command the node replicates whose key
//! is in one of them, queued for the export task in the order it ran.
//!
//! The hook sits in [`crate::replication::ReplState::propagate`], the one place every write's
//! replicated form passes (expiry DELs, SPOP as SREM, relative TTLs made absolute), so the
//! target receives exactly what a replica of the source would for those slots. In cluster mode
//! a command's keys share one slot, so the first key decides. A flush of the whole dataset
//! cannot be expressed for some slots only: it breaks the capture and the job fails (the
//! source keeps its slots).

use crate::cluster::SlotBitmap;
use bytes::Bytes;
use std::collections::VecDeque;

/// One export's queue.
#[derive(Debug)]
pub struct Capture {
    pub job: String,
    slots: SlotBitmap,
    /// Encoded commands waiting to be sent, oldest first.
    pending: VecDeque<Vec<u8>>,
    pending_bytes: usize,
    /// Why the stream can no longer be reproduced on the target.
    pub broken: Option<&'static str>,
}

/// Every running export's queue.
#[derive(Debug, Default)]
pub struct Captures {
    caps: Vec<Capture>,
}

impl Captures {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty()
    }

    /// Starts capturing for `job`, with the snapshot queued first.
    pub fn start(&mut self, job: &str, slots: SlotBitmap, snapshot: Vec<Vec<u8>>) {
        let pending_bytes = snapshot.iter().map(Vec::len).sum();
        self.caps.push(Capture {
            job: job.to_string(),
            slots,
            pending: snapshot.into(),
            pending_bytes,
            broken: None,
        });
    }

    pub fn stop(&mut self, job: &str) {
        self.caps.retain(|c| c.job != job);
    }

    pub fn get(&self, job: &str) -> Option<&Capture> {
        self.caps.iter().find(|c| c.job == job)
    }

    /// Bytes still queued for `job`.
    pub fn pending_bytes(&self, job: &str) -> usize {
        self.get(job).map_or(0, |c| c.pending_bytes)
    }

    /// Takes queued commands of `job`, oldest first, until about `max_bytes`: (bytes, count).
    pub fn take(&mut self, job: &str, max_bytes: usize) -> (Vec<u8>, usize) {
        let Some(c) = self.caps.iter_mut().find(|c| c.job == job) else {
            return (Vec::new(), 0);
        };
        let mut out = Vec::new();
        let mut n = 0;
        while out.len() < max_bytes {
            let Some(cmd) = c.pending.pop_front() else {
                break;
            };
            c.pending_bytes -= cmd.len();
            out.extend_from_slice(&cmd);
            n += 1;
        }
        (out, n)
    }

    /// A command was replicated: queue it for the exports of its slot.
    pub fn on_command(&mut self, argv: &[&[u8]]) {
        let Some(name) = argv.first() else {
            return;
        };
        let lower = name.to_ascii_lowercase();
        match lower.as_slice() {
            b"select" | b"multi" | b"exec" | b"ping" => return,
            b"flushall" | b"flushdb" | b"swapdb" => {
                for c in &mut self.caps {
                    c.broken = Some("the dataset was flushed during the migration");
                }
                return;
            }
            _ => {}
        }
        let Some(spec) = crate::cmd::lookup(name) else {
            return;
        };
        let owned: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let Some(first) = crate::cmd::key_positions(spec, &owned)
            .into_iter()
            .find_map(|i| owned.get(i))
        else {
            return;
        };
        let slot = crate::slot::key_slot(first);
        let mut encoded: Option<Vec<u8>> = None;
        for c in self.caps.iter_mut().filter(|c| c.slots.get(slot)) {
            let e = encoded
                .get_or_insert_with(|| crate::replication::encode_command(argv))
                .clone();
            c.pending_bytes += e.len();
            c.pending.push_back(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_only_the_slots_of_the_job() {
        let mut caps = Captures::default();
        let mut slots = SlotBitmap::empty();
        let slot = crate::slot::key_slot(b"a");
        slots.set(slot);
        caps.start("j", slots, vec![b"snap".to_vec()]);
        caps.on_command(&[b"SET", b"a", b"1"]);
        caps.on_command(&[b"SET", b"b", b"1"]);
        caps.on_command(&[b"PING"]);
        let (bytes, n) = caps.take("j", usize::MAX);
        assert_eq!(n, 2);
        assert!(bytes.starts_with(b"snap*3\r\n$3\r\nSET\r\n$1\r\na"));
        assert_eq!(caps.pending_bytes("j"), 0);
        caps.on_command(&[b"FLUSHALL"]);
        assert!(caps.get("j").unwrap().broken.is_some());
    }
}

//! Printing node lines and nodes.conf exactly as redis-server 7.0 does.

use super::{NodeFlag, NodeLine, NodesConf};
use crate::cluster::node_id::NodeId;

/// Appends one CLUSTER NODES / nodes.conf line, `\n` included.
///
/// Flags are printed in Redis's order whatever their order in `line.flags` (`noflags` when there
/// are none). Slots are printed as maximal ascending runs (`N` for a single slot, `A-B` for a
/// run). Open slots follow in slot order; a slot listed as both migrating and importing is
/// printed once, as migrating, because Redis keeps one state per slot and checks migrating first.
pub fn format_line(line: &NodeLine, out: &mut String) {
    let mut num = itoa::Buffer::new();

    out.push_str(line.id.as_str());
    out.push(' ');
    out.push_str(&line.ip);
    out.push(':');
    out.push_str(num.format(line.port));
    out.push('@');
    out.push_str(num.format(line.cport));
    if let Some(host) = line.hostname.as_deref().filter(|h| !h.is_empty()) {
        out.push(',');
        out.push_str(host);
    }

    out.push(' ');
    let mut any_flag = false;
    for flag in NodeFlag::ALL.into_iter().filter(|f| line.flags.contains(f)) {
        if any_flag {
            out.push(',');
        }
        out.push_str(flag.as_str());
        any_flag = true;
    }
    if !any_flag {
        out.push_str("noflags");
    }

    out.push(' ');
    match &line.master {
        Some(master) => out.push_str(master.as_str()),
        None => out.push('-'),
    }
    for n in [line.ping_sent_ms, line.pong_recv_ms, line.config_epoch] {
        out.push(' ');
        out.push_str(num.format(n));
    }
    out.push_str(if line.connected {
        " connected"
    } else {
        " disconnected"
    });

    for (start, end) in line.slots.ranges() {
        out.push(' ');
        out.push_str(num.format(start));
        if end != start {
            out.push('-');
            out.push_str(num.format(end));
        }
    }

    for (slot, importing, peer) in open_slots(line) {
        out.push_str(" [");
        out.push_str(num.format(slot));
        out.push_str(if importing { "-<-" } else { "->-" });
        out.push_str(peer.as_str());
        out.push(']');
    }
    out.push('\n');
}

/// Open slots as (slot, is_importing, peer), ascending, one entry per slot, migrating first.
fn open_slots(line: &NodeLine) -> Vec<(u16, bool, &NodeId)> {
    let mut open: Vec<(u16, bool, &NodeId)> = line
        .migrating
        .iter()
        .map(|(slot, id)| (*slot, false, id))
        .chain(line.importing.iter().map(|(slot, id)| (*slot, true, id)))
        .collect();
    // Stable: among equal (slot, direction) keys the first listed wins.
    open.sort_by_key(|&(slot, importing, _)| (slot, importing));
    open.dedup_by_key(|&mut (slot, _, _)| slot);
    open
}

impl NodesConf {
    /// The file text: one line per node except nodes in handshake (Redis does not persist
    /// them), then `vars currentEpoch X lastVoteEpoch Y`.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.nodes.len() * 160 + 48);
        for node in self
            .nodes
            .iter()
            .filter(|n| !n.has_flag(NodeFlag::Handshake))
        {
            format_line(node, &mut out);
        }
        let mut num = itoa::Buffer::new();
        out.push_str("vars currentEpoch ");
        out.push_str(num.format(self.current_epoch));
        out.push_str(" lastVoteEpoch ");
        out.push_str(num.format(self.last_vote_epoch));
        out.push('\n');
        out
    }
}

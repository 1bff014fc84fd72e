//! Cluster-bus faults beyond the network, done inside the node as its DEBUG subcommands do them
//! (the same state-machine calls), plus a starved process's slow cron:
//!
//! - `kill_cluster_link`: `DEBUG CLUSTERLINK KILL to|from|all <peer>` on a node;
//! - `drop_packets`: `DEBUG DROP-CLUSTER-PACKET-FILTER <type>` (undone with -1);
//! - `slow_tick`: the node's cluster cron runs every N ms instead of every 100 ms.

use crate::world::World;
use keyslot::cluster::state::LinkDirection;

/// Bus packet types by the names Redis's CLUSTER INFO counters use, and their numbers.
const PACKET_TYPES: [(&str, u16); 11] = [
    ("PING", 0),
    ("PONG", 1),
    ("MEET", 2),
    ("FAIL", 3),
    ("PUBLISH", 4),
    ("AUTH-REQ", 5),
    ("AUTH-ACK", 6),
    ("UPDATE", 7),
    ("MFSTART", 8),
    ("MODULE", 9),
    ("PUBLISHSHARD", 10),
];

/// A packet type by name (`PING`, `auth-req`) or number (`0`).
pub fn parse_packet_type(s: &str) -> Option<u16> {
    if let Ok(n) = s.trim().parse::<u16>() {
        return PACKET_TYPES.iter().any(|(_, k)| *k == n).then_some(n);
    }
    PACKET_TYPES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s.trim()))
        .map(|(_, k)| *k)
}

/// A packet type's name.
pub fn packet_type_name(kind: u16) -> &'static str {
    PACKET_TYPES
        .iter()
        .find(|(_, k)| *k == kind)
        .map(|(n, _)| *n)
        .unwrap_or("?")
}

/// `to`, `from` or `all`, as DEBUG CLUSTERLINK KILL takes them.
pub fn parse_direction(s: &str) -> Option<LinkDirection> {
    match s.to_ascii_lowercase().as_str() {
        "to" => Some(LinkDirection::To),
        "from" => Some(LinkDirection::From),
        "all" => Some(LinkDirection::All),
        _ => None,
    }
}

/// A direction as DEBUG CLUSTERLINK KILL writes it.
pub fn direction_name(d: LinkDirection) -> &'static str {
    match d {
        LinkDirection::To => "to",
        LinkDirection::From => "from",
        LinkDirection::All => "all",
    }
}

impl World {
    /// Frees node i's links with node `peer` as DEBUG CLUSTERLINK KILL does.
    pub fn kill_cluster_link(&mut self, i: usize, peer: usize, direction: LinkDirection) {
        let what = format!(
            "{}: DEBUG CLUSTERLINK KILL {} {}",
            self.nodes[i].name,
            direction_name(direction),
            self.nodes[peer].name
        );
        let Some(id) = self.id_of(peer) else {
            self.note(format!("{what} (peer never started)"));
            return;
        };
        let done = self.with_node_mut(i, |n| {
            let Some(s) = n.rest.cluster.as_mut() else {
                return false;
            };
            let known = s.kill_links(&id, direction);
            if s.has_output() {
                n.rest.cluster_wakeup.notify_one();
            }
            known
        });
        match done {
            Some(true) => self.note(what),
            Some(false) => self.note(format!("{what} (unknown node)")),
            None => self.note(format!("{what} (not running)")),
        }
    }

    /// Makes node i drop incoming bus packets of `kind` (None: drop none again).
    pub fn drop_packets(&mut self, i: usize, kind: Option<u16>) {
        let filter = kind.map(i64::from).unwrap_or(-1);
        let running = self.with_node_mut(i, |n| {
            if let Some(s) = n.rest.cluster.as_mut() {
                s.drop_packet_filter = filter;
            }
        });
        let name = self.nodes[i].name.clone();
        let text = match kind {
            Some(k) => format!(
                "{name}: DEBUG DROP-CLUSTER-PACKET-FILTER {k} (drop incoming {})",
                packet_type_name(k)
            ),
            None => format!("{name}: DEBUG DROP-CLUSTER-PACKET-FILTER -1"),
        };
        if running.is_some() {
            self.note(text);
        } else {
            self.note(format!("{text} (not running)"));
        }
    }

    /// Runs node i's cluster cron every `every_ms` (0: every 100 ms again).
    pub fn slow_tick(&mut self, i: usize, every_ms: u64) {
        let running = self.with_node_mut(i, |n| n.rest.cluster_tick_every_ms = every_ms);
        let name = self.nodes[i].name.clone();
        let mut text = if every_ms == 0 {
            format!("{name}'s cluster cron runs every 100 ms again")
        } else {
            format!("{name}'s cluster cron runs every {every_ms} ms (starved of CPU)")
        };
        if running.is_none() {
            text.push_str(" (not running)");
        }
        self.note(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_types_read_by_name_or_number() {
        assert_eq!(parse_packet_type("PING"), Some(0));
        assert_eq!(parse_packet_type("auth-req"), Some(5));
        assert_eq!(parse_packet_type("3"), Some(3));
        assert_eq!(parse_packet_type("11"), None);
        assert_eq!(parse_packet_type("PANG"), None);
        assert_eq!(packet_type_name(1), "PONG");
        assert_eq!(parse_direction("ALL"), Some(LinkDirection::All));
        assert_eq!(parse_direction("both"), None);
    }
}

//! The cluster's story: every node's `ClusterEvent`s and the world's faults on one simulated
//! timeline, rendered as one compact line each (what snapshots and seed-replay debugging read).

use std::fmt::Write;

/// Who an entry is about: a node's own event, or the world doing something to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Node(String),
    World,
}

/// One line of the story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Simulated milliseconds since the world started.
    pub at_ms: u64,
    pub actor: Actor,
    pub text: String,
}

/// The story of one run.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub entries: Vec<Entry>,
}

impl Trace {
    pub fn push(&mut self, at_ms: u64, actor: Actor, text: impl Into<String>) {
        self.entries.push(Entry {
            at_ms,
            actor,
            text: text.into(),
        });
    }

    /// Orders entries by time; entries at the same millisecond keep their recording order
    /// (which is itself deterministic).
    pub fn sort(&mut self) {
        self.entries.sort_by_key(|e| e.at_ms);
    }

    /// The story as text: `  12.345s  n3        PFAIL n1`.
    pub fn render(&self, filter: impl Fn(&Entry) -> bool) -> String {
        render_entries(self.entries.iter().filter(|e| filter(e)))
    }

    /// FNV-1a hash of the full story, printed at the end of a run: the same seed must give the
    /// same hash.
    pub fn hash(&self) -> u64 {
        let text = self.render(|_| true);
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
}

/// Story lines, one per entry: `  12.345s  n3        PFAIL n1`.
pub fn render_entries<'a>(entries: impl Iterator<Item = &'a Entry>) -> String {
    let mut out = String::new();
    for e in entries {
        let who = match &e.actor {
            Actor::Node(n) => n.as_str(),
            Actor::World => "world",
        };
        let _ = writeln!(
            out,
            "{:>4}.{:03}s  {:<10} {}",
            e.at_ms / 1000,
            e.at_ms % 1000,
            who,
            e.text
        );
    }
    out
}

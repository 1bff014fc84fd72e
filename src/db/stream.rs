//! The stream value: entries in Redis's node layout, consumer groups, PELs.
//!
//! Entries are kept in "nodes" that mirror Redis's radix tree of listpacks: each node has a
//! master ID and master field list, holds up to `stream-node-max-entries` entries (deleted ones
//! included) and about `stream-node-max-bytes` of listpack, and an XDEL only marks an entry
//! deleted until its node has no live entry left. Keeping Redis's layout is what makes
//! approximate trimming (`MAXLEN ~`, which only drops whole nodes), XINFO's radix-tree counts
//! and the RDB listpacks come out the same as redis-server's. The listpack byte size of a node
//! is tracked arithmetically (no listpack is built until the RDB writer asks for one).

use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// A stream entry ID: milliseconds and sequence. Orders as Redis's 128-bit big-endian key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID, or None past the maximum (Redis's streamIncrID failing).
    pub fn incr(&self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID, or None before 0-0.
    pub fn decr(&self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// `ms-seq` text.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(format!("{}-{}", self.ms, self.seq))
    }

    /// The 16-byte big-endian key Redis's radix tree (and the RDB) uses.
    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<StreamId> {
        if b.len() != 16 {
            return None;
        }
        let ms = u64::from_be_bytes(b[..8].try_into().ok()?);
        let seq = u64::from_be_bytes(b[8..].try_into().ok()?);
        Some(StreamId::new(ms, seq))
    }
}

/// Node size limits (the `stream-node-max-*` options).
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// Redis's cap on one listpack (and on the field/value bytes of one entry).
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// One entry of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: StreamId,
    pub deleted: bool,
    /// Its fields equal the node's master fields (only the values are in the listpack).
    pub samefields: bool,
    /// Field, value, field, value ...
    pub pairs: Vec<Bytes>,
}

/// A radix-tree node: a listpack of entries sharing a master entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub master_id: StreamId,
    pub master_fields: Vec<Bytes>,
    pub items: Vec<Item>,
    pub live: u64,
    pub deleted: u64,
    /// Listpack bytes except the header, the EOF byte and the two counters.
    body: usize,
}

impl Node {
    /// The listpack's total bytes (lpBytes).
    pub fn lp_bytes(&self) -> usize {
        6 + 1 + lp_int_size(self.live as i64) + lp_int_size(self.deleted as i64) + self.body
    }

    fn find(&self, id: StreamId) -> Option<usize> {
        self.items.binary_search_by(|i| i.id.cmp(&id)).ok()
    }
}

/// Bytes one listpack integer entry takes (encoding + backlen).
pub fn lp_int_size(v: i64) -> usize {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    };
    enc + 1
}

/// Bytes one listpack string entry takes (integer-encoded when it is a canonical integer).
pub fn lp_str_size(s: &[u8]) -> usize {
    if s.len() <= 20 {
        if let Some(v) = crate::cmd::parse_i64(s) {
            return lp_int_size(v);
        }
    }
    let n = s.len();
    let enc = if n < 64 {
        1 + n
    } else if n < 4096 {
        2 + n
    } else {
        5 + n
    };
    enc + lp_backlen_size(enc)
}

fn lp_backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// A pending (delivered, not acknowledged) entry of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    pub delivery_time: u64,
    pub delivery_count: u64,
    pub consumer: Bytes,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consumer {
    pub seen_time: u64,
    pub pel: BTreeSet<StreamId>,
}

/// `entries_read` value meaning "unknown" (Redis's SCG_INVALID_ENTRIES_READ).
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            ..Default::default()
        }
    }

    /// Removes a pending entry from the group and its consumer.
    pub fn remove_nack(&mut self, id: StreamId) -> Option<Nack> {
        let n = self.pel.remove(&id)?;
        if let Some(c) = self.consumers.get_mut(&n.consumer) {
            c.pel.remove(&id);
        }
        Some(n)
    }

    /// Deletes a consumer and its pending entries; the number it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Gives pending entry `id` to `consumer` (which exists), creating the NACK if missing.
    pub fn assign(&mut self, id: StreamId, consumer: &Bytes, time: u64, count: u64) {
        if let Some(old) = self.pel.get(&id).map(|n| n.consumer.clone()) {
            if old != consumer {
                if let Some(c) = self.consumers.get_mut(&old) {
                    c.pel.remove(&id);
                }
            }
        }
        self.pel.insert(
            id,
            Nack {
                delivery_time: time,
                delivery_count: count,
                consumer: consumer.clone(),
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }
}

/// How to trim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// A stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Bytes, Group>,
    /// Sum of the nodes' listpack bytes (memory accounting).
    lp_total: usize,
}

impl Stream {
    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes held (for `db::mem`): the listpacks plus the groups.
    pub fn mem_bytes(&self) -> usize {
        // O(groups): entries by the live count (tombstones are not counted).
        let items = self.length as usize * 48 + self.nodes.len() * 64;
        let groups: usize = self
            .groups
            .iter()
            .map(|(k, g)| {
                96 + k.len()
                    + g.pel.len() * 80
                    + g.consumers.keys().map(|c| 64 + c.len()).sum::<usize>()
            })
            .sum();
        self.lp_total + items + groups
    }

    /// Appends an entry with ID `id` (already checked greater than the last ID). `pairs` is
    /// field, value, ...
    pub fn append(&mut self, id: StreamId, pairs: Vec<Bytes>, limits: NodeLimits) {
        let numfields = pairs.len() / 2;
        let totelelen: usize = pairs.iter().map(|p| p.len()).sum();
        let mut max_bytes = limits.max_bytes;
        if max_bytes == 0 || max_bytes > LISTPACK_MAX_SIZE {
            max_bytes = LISTPACK_MAX_SIZE;
        }
        let mut new_node = true;
        if let Some((_, tail)) = self.nodes.iter().next_back() {
            new_node = tail.lp_bytes() + totelelen >= max_bytes
                || (limits.max_entries > 0
                    && (tail.live + tail.deleted) as usize >= limits.max_entries);
        }
        if new_node {
            let master_fields: Vec<Bytes> = pairs.iter().step_by(2).cloned().collect();
            let mut body = lp_int_size(numfields as i64) + lp_int_size(0);
            body += master_fields.iter().map(|f| lp_str_size(f)).sum::<usize>();
            let node = Node {
                master_id: id,
                master_fields,
                items: Vec::new(),
                live: 0,
                deleted: 0,
                body,
            };
            self.lp_total += node.lp_bytes();
            self.nodes.insert(id, node);
        }
        let Some((_, node)) = self.nodes.iter_mut().next_back() else {
            return;
        };
        self.lp_total = self.lp_total.saturating_sub(node.lp_bytes());
        let samefields = numfields == node.master_fields.len()
            && pairs
                .iter()
                .step_by(2)
                .zip(&node.master_fields)
                .all(|(a, b)| a == b);
        let flags: i64 = if samefields { 2 } else { 0 };
        let mut sz = lp_int_size(flags)
            + lp_int_size(id.ms.wrapping_sub(node.master_id.ms) as i64)
            + lp_int_size(id.seq.wrapping_sub(node.master_id.seq) as i64);
        let mut lp_count = numfields as i64 + 3;
        if !samefields {
            sz += lp_int_size(numfields as i64);
            lp_count += numfields as i64 + 1;
        }
        for (i, p) in pairs.iter().enumerate() {
            if i % 2 == 1 || !samefields {
                sz += lp_str_size(p);
            }
        }
        sz += lp_int_size(lp_count);
        node.body += sz;
        node.live += 1;
        node.items.push(Item {
            id,
            deleted: false,
            samefields,
            pairs,
        });
        self.lp_total += node.lp_bytes();
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// The live entry with this ID.
    pub fn get(&self, id: StreamId) -> Option<&Item> {
        let (_, node) = self.nodes.range(..=id).next_back()?;
        let i = node.find(id)?;
        let item = &node.items[i];
        (!item.deleted).then_some(item)
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// Live entries with IDs in `start..=end`, at most `count` (0: all), forward or reversed.
    pub fn range(&self, start: StreamId, end: StreamId, count: usize, rev: bool) -> Vec<&Item> {
        let mut out = Vec::new();
        if start > end {
            return out;
        }
        let first_node = self
            .nodes
            .range(..=start)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(StreamId::MIN);
        let nodes = self.nodes.range(first_node..=end);
        let full = |out: &Vec<&Item>| count != 0 && out.len() >= count;
        if !rev {
            for (_, n) in nodes {
                for it in &n.items {
                    if it.id > end {
                        return out;
                    }
                    if it.id >= start && !it.deleted {
                        out.push(it);
                        if full(&out) {
                            return out;
                        }
                    }
                }
            }
        } else {
            for (_, n) in nodes.rev() {
                for it in n.items.iter().rev() {
                    if it.id < start {
                        return out;
                    }
                    if it.id <= end && !it.deleted {
                        out.push(it);
                        if full(&out) {
                            return out;
                        }
                    }
                }
            }
        }
        out
    }

    /// The first live ID.
    pub fn first_live_id(&self) -> Option<StreamId> {
        self.range(StreamId::MIN, StreamId::MAX, 1, false)
            .first()
            .map(|i| i.id)
    }

    /// The last live ID (streamLastValidID).
    pub fn last_live_id(&self) -> Option<StreamId> {
        self.range(StreamId::MIN, StreamId::MAX, 1, true)
            .first()
            .map(|i| i.id)
    }

    /// The first entry's ID counting deleted ones (streamGetEdgeID without skipping
    /// tombstones); the maximum ID when there is none.
    pub fn first_edge_id(&self) -> StreamId {
        self.nodes
            .values()
            .next()
            .and_then(|n| n.items.first())
            .map_or(StreamId::MAX, |i| i.id)
    }

    /// Marks an entry deleted (dropping its node when it was the node's last live one).
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(i) = node.find(id) else {
            return false;
        };
        if node.items[i].deleted {
            return false;
        }
        self.lp_total = self.lp_total.saturating_sub(node.lp_bytes());
        if node.live == 1 {
            self.nodes.remove(&key);
        } else {
            node.items[i].deleted = true;
            node.live -= 1;
            node.deleted += 1;
            self.lp_total += node.lp_bytes();
        }
        self.length -= 1;
        true
    }

    /// XDEL's bookkeeping after deletions: first ID and max deleted ID.
    pub fn after_delete(&mut self, deleted_first: bool) {
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted_first {
            self.first_id = self.first_live_id().unwrap_or(StreamId::MIN);
        }
    }

    /// Redis's streamTrim: whole nodes from the head, then (unless `approx`) entries of one
    /// node; `limit` (0: none) caps the entries removed. The number removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted: u64 = 0;
        while let Some((&key, node)) = self.nodes.iter_mut().next() {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let entries = node.live;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => node.items.last().is_some_and(|i| i.id < min),
            };
            if remove {
                self.lp_total = self.lp_total.saturating_sub(node.lp_bytes());
                self.nodes.remove(&key);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            self.lp_total = self.lp_total.saturating_sub(node.lp_bytes());
            let mut from_node = 0;
            for it in node.items.iter_mut() {
                let stop = match how {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => it.id >= min,
                };
                if stop {
                    break;
                }
                if !it.deleted {
                    it.deleted = true;
                    from_node += 1;
                    self.length -= 1;
                }
            }
            node.live -= from_node;
            node.deleted += from_node;
            deleted += from_node;
            self.lp_total += node.lp_bytes();
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.first_live_id().unwrap_or(StreamId::MIN);
        }
        deleted
    }

    /// Whether `start..=end` (None: open) may hold a deleted entry (streamRangeHasTombstones).
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        let s = start.unwrap_or(StreamId::MIN);
        let e = end.unwrap_or(StreamId::MAX);
        s <= self.max_deleted_id && self.max_deleted_id <= e
    }

    /// The logical read counter of `id` when it can be known
    /// (streamEstimateDistanceFromFirstEverEntry); [`INVALID_ENTRIES_READ`] otherwise.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            } else if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag, or None when it cannot be known.
    pub fn group_lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(Some(g.last_id), None)
        {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let er = self.estimate_distance(g.last_id);
        (er != INVALID_ENTRIES_READ).then(|| self.entries_added as i64 - er)
    }

    /// Moves a group's last-delivered ID forward to `id` as a read does, keeping its
    /// entries-read counter (the update in Redis's streamReplyWithRange).
    pub fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(Some(id), None) {
            g.entries_read += 1;
        } else if self.entries_added != 0 {
            g.entries_read = self.estimate_distance(id);
        }
        g.last_id = id;
    }

    /// Radix-tree node count of the node keys (what Redis's rax would hold: compressed chains,
    /// branch nodes and one leaf per key).
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.encode()).collect();
        if keys.is_empty() {
            return 1;
        }
        rax_count(&keys, 0)
    }

    /// Rebuilds a stream from decoded parts (RDB): nodes must be in ID order.
    pub fn from_parts(
        nodes: Vec<Node>,
        meta: StreamMeta,
        groups: BTreeMap<Bytes, Group>,
    ) -> Stream {
        let mut s = Stream {
            groups,
            last_id: meta.last_id,
            first_id: meta.first_id,
            max_deleted_id: meta.max_deleted_id,
            entries_added: meta.entries_added,
            ..Default::default()
        };
        for n in nodes {
            if n.live == 0 {
                continue;
            }
            s.length += n.live;
            s.lp_total += n.lp_bytes();
            s.nodes.insert(n.master_id, n);
        }
        s
    }
}

/// Stream metadata as the RDB carries it.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamMeta {
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
}

impl Node {
    /// Builds a node from decoded listpack parts, computing its byte size.
    pub fn from_items(master_id: StreamId, master_fields: Vec<Bytes>, items: Vec<Item>) -> Node {
        let numfields = master_fields.len();
        let mut body = lp_int_size(numfields as i64) + lp_int_size(0);
        body += master_fields.iter().map(|f| lp_str_size(f)).sum::<usize>();
        let mut live = 0;
        let mut deleted = 0;
        for it in &items {
            if it.deleted {
                deleted += 1;
            } else {
                live += 1;
            }
            let flags: i64 = (it.deleted as i64) | if it.samefields { 2 } else { 0 };
            let nf = it.pairs.len() / 2;
            body += lp_int_size(flags)
                + lp_int_size(it.id.ms.wrapping_sub(master_id.ms) as i64)
                + lp_int_size(it.id.seq.wrapping_sub(master_id.seq) as i64);
            let mut lp_count = nf as i64 + 3;
            if !it.samefields {
                body += lp_int_size(nf as i64);
                lp_count += nf as i64 + 1;
            }
            for (i, p) in it.pairs.iter().enumerate() {
                if i % 2 == 1 || !it.samefields {
                    body += lp_str_size(p);
                }
            }
            body += lp_int_size(lp_count);
        }
        Node {
            master_id,
            master_fields,
            items,
            live,
            deleted,
            body,
        }
    }

    /// The node's listpack elements in Redis's layout (for the RDB writer).
    pub fn listpack_elements(&self) -> Vec<Bytes> {
        let int = |v: i64| Bytes::from(v.to_string());
        let mut out = vec![
            int(self.live as i64),
            int(self.deleted as i64),
            int(self.master_fields.len() as i64),
        ];
        out.extend(self.master_fields.iter().cloned());
        out.push(int(0));
        for it in &self.items {
            let nf = it.pairs.len() / 2;
            let flags = (it.deleted as i64) | if it.samefields { 2 } else { 0 };
            out.push(int(flags));
            out.push(int(it.id.ms.wrapping_sub(self.master_id.ms) as i64));
            out.push(int(it.id.seq.wrapping_sub(self.master_id.seq) as i64));
            let mut lp_count = nf as i64 + 3;
            if !it.samefields {
                out.push(int(nf as i64));
                lp_count += nf as i64 + 1;
            }
            for (i, p) in it.pairs.iter().enumerate() {
                if i % 2 == 1 || !it.samefields {
                    out.push(p.clone());
                }
            }
            out.push(int(lp_count));
        }
        out
    }
}

/// Rax nodes for sorted distinct equal-length keys sharing their first `depth` bytes.
fn rax_count(keys: &[[u8; 16]], depth: usize) -> usize {
    if depth >= 16 {
        return 1;
    }
    let (first, last) = (&keys[0], &keys[keys.len() - 1]);
    let mut p = depth;
    while p < 16 && first[p] == last[p] {
        p += 1;
    }
    if p > depth {
        return 1 + rax_count(keys, p);
    }
    let mut total = 1;
    let mut i = 0;
    while i < keys.len() {
        let b = keys[i][depth];
        let mut j = i;
        while j < keys.len() && keys[j][depth] == b {
            j += 1;
        }
        total += rax_count(&keys[i..j], depth + 1);
        i = j;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn nodes_split_at_the_entry_limit_and_trim_by_node() {
        let mut s = Stream::default();
        let lim = NodeLimits {
            max_bytes: 4096,
            max_entries: 10,
        };
        for i in 1..=25 {
            s.append(StreamId::new(i, 0), vec![b("f"), b("v")], lim);
        }
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.trim(Trim::MaxLen(12), true, 0), 10);
        assert_eq!(s.len(), 15);
        assert_eq!(s.trim(Trim::MaxLen(12), false, 0), 3);
        assert_eq!(s.first_id, StreamId::new(14, 0));
    }

    #[test]
    fn listpack_size_matches_the_built_listpack() {
        let mut s = Stream::default();
        let lim = NodeLimits::default();
        s.append(
            StreamId::new(5, 1),
            vec![b("a"), b("1"), b("bb"), b("xyz")],
            lim,
        );
        s.append(StreamId::new(6, 0), vec![b("a"), b("-100000")], lim);
        s.delete(StreamId::new(5, 1));
        let n = s.nodes().next().unwrap();
        let els = n.listpack_elements();
        let lp = crate::rdb::containers_listpack(els.iter().map(|e| &e[..]));
        assert_eq!(lp.len(), n.lp_bytes());
    }

    #[test]
    fn rax_counts() {
        let mut s = Stream::default();
        assert_eq!(s.rax_nodes(), 1);
        s.append(
            StreamId::new(1, 0),
            vec![b("f"), b("v")],
            NodeLimits::default(),
        );
        assert_eq!(s.rax_nodes(), 2);
    }
}

//! Streams in the RDB: Redis 7.0's RDB_TYPE_STREAM_LISTPACKS_2 (and reading the older
//! STREAM_LISTPACKS form).
//!
//! Layout: the node count, then per node its 16-byte master ID and its listpack (master entry
//! `count deleted numfields field... 0`, then per entry `flags ms-delta seq-delta [numfields
//! field...] value... lp-count`); the length, last ID, (v2) first ID, max deleted ID and
//! entries-added; the groups: name, last ID, (v2) entries-read, the PEL (raw ID, 8-byte
//! delivery time, delivery count), the consumers (name, 8-byte seen time, raw PEL IDs).

use super::codec::{write_len, write_string, Reader};
use super::containers::{listpack, read_listpack};
use super::RdbError;
use crate::db::stream::{
    Consumer, Group, Item, Nack, Node, Stream, StreamId, StreamMeta, INVALID_ENTRIES_READ,
};
use bytes::Bytes;
use std::collections::BTreeMap;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

fn corrupt(what: &'static str) -> RdbError {
    RdbError::Corrupt(what)
}

/// Writes a stream's body (STREAM_LISTPACKS_2).
pub fn write_stream_body(out: &mut Vec<u8>, s: &Stream, compress: bool) {
    write_len(out, s.node_count() as u64);
    for n in s.nodes() {
        write_string(out, &n.master_id.encode(), compress);
        let els = n.listpack_elements();
        let lp = listpack(els.iter().map(|e| &e[..]));
        write_string(out, &lp, compress);
    }
    write_len(out, s.len());
    write_len(out, s.last_id.ms);
    write_len(out, s.last_id.seq);
    write_len(out, s.first_id.ms);
    write_len(out, s.first_id.seq);
    write_len(out, s.max_deleted_id.ms);
    write_len(out, s.max_deleted_id.seq);
    write_len(out, s.entries_added);
    write_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        write_string(out, name, compress);
        write_len(out, g.last_id.ms);
        write_len(out, g.last_id.seq);
        write_len(out, g.entries_read as u64);
        write_len(out, g.pel.len() as u64);
        for (id, n) in &g.pel {
            out.extend_from_slice(&id.encode());
            out.extend_from_slice(&(n.delivery_time as i64).to_le_bytes());
            write_len(out, n.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            write_string(out, cname, compress);
            out.extend_from_slice(&(c.seen_time as i64).to_le_bytes());
            write_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id.encode());
            }
        }
    }
}

fn int_of(b: &Bytes) -> Result<i64, RdbError> {
    crate::cmd::parse_i64(b).ok_or(corrupt("stream listpack integer"))
}

/// Decodes one node's listpack.
fn read_node(master_id: StreamId, lp: &[u8]) -> Result<Node, RdbError> {
    let els = read_listpack(lp)?;
    if els.is_empty() {
        return Err(corrupt("Empty listpack inside stream"));
    }
    let mut it = els.iter();
    let mut next = || it.next().ok_or(corrupt("truncated stream listpack"));
    let count = int_of(next()?)?;
    let deleted = int_of(next()?)?;
    let nf = int_of(next()?)?;
    if nf < 0 || count < 0 || deleted < 0 {
        return Err(corrupt("stream master entry"));
    }
    let mut master_fields = Vec::new();
    for _ in 0..nf {
        master_fields.push(next()?.clone());
    }
    if int_of(next()?)? != 0 {
        return Err(corrupt("stream master entry terminator"));
    }
    let mut items = Vec::new();
    let total = (count + deleted) as usize;
    for _ in 0..total {
        let flags = int_of(next()?)?;
        let ms = master_id.ms.wrapping_add(int_of(next()?)? as u64);
        let seq = master_id.seq.wrapping_add(int_of(next()?)? as u64);
        let samefields = flags & FLAG_SAMEFIELDS != 0;
        let mut pairs = Vec::new();
        if samefields {
            for f in &master_fields {
                pairs.push(f.clone());
                pairs.push(next()?.clone());
            }
        } else {
            let n = int_of(next()?)?;
            if n < 0 {
                return Err(corrupt("stream entry field count"));
            }
            for _ in 0..n.saturating_mul(2) {
                pairs.push(next()?.clone());
            }
        }
        let _lp_count = int_of(next()?)?;
        items.push(Item {
            id: StreamId::new(ms, seq),
            deleted: flags & FLAG_DELETED != 0,
            samefields,
            pairs,
        });
    }
    if next().is_ok() {
        return Err(corrupt("trailing stream listpack data"));
    }
    if items.windows(2).any(|w| w[0].id >= w[1].id)
        || items.first().is_some_and(|i| i.id < master_id)
    {
        return Err(corrupt("stream IDs out of order"));
    }
    let node = Node::from_items(master_id, master_fields, items);
    if node.live != count as u64 {
        return Err(corrupt("stream listpack counts"));
    }
    Ok(node)
}

fn read_id(r: &mut Reader<'_>) -> Result<StreamId, RdbError> {
    Ok(StreamId::new(r.len()?, r.len()?))
}

fn read_raw_id(r: &mut Reader<'_>) -> Result<StreamId, RdbError> {
    StreamId::decode(r.take(16)?).ok_or(corrupt("stream ID"))
}

fn read_ms(r: &mut Reader<'_>) -> Result<u64, RdbError> {
    Ok(i64::from_le_bytes(r.take_array()?) as u64)
}

/// Reads a stream body; `v2`: STREAM_LISTPACKS_2 (with first ID, max deleted ID, entries
/// added and entries-read).
pub(crate) fn read_stream_body(r: &mut Reader<'_>, v2: bool) -> Result<Stream, RdbError> {
    let n = r.count(2)?;
    let mut nodes = Vec::with_capacity(n);
    let mut prev: Option<StreamId> = None;
    for _ in 0..n {
        let key = r.string()?;
        let master = StreamId::decode(&key).ok_or(corrupt(
            "Stream node key entry is not the size of a stream ID",
        ))?;
        if prev.is_some_and(|p| p >= master) {
            return Err(corrupt("Listpack re-added with existing key"));
        }
        prev = Some(master);
        let lp = r.string()?;
        nodes.push(read_node(master, &lp)?);
    }
    let length = r.len()?;
    let last_id = read_id(r)?;
    let mut meta = StreamMeta {
        last_id,
        ..Default::default()
    };
    if v2 {
        meta.first_id = read_id(r)?;
        meta.max_deleted_id = read_id(r)?;
        meta.entries_added = r.len()?;
    } else {
        meta.entries_added = length;
        meta.first_id = nodes
            .iter()
            .flat_map(|n| n.items.iter())
            .find(|i| !i.deleted)
            .map_or(StreamId::MIN, |i| i.id);
    }
    let ngroups = r.count(1)?;
    let mut groups = BTreeMap::new();
    let mut pending_v1 = Vec::new();
    for _ in 0..ngroups {
        let name = r.string()?;
        let glast = read_id(r)?;
        let entries_read = if v2 {
            r.len()? as i64
        } else {
            INVALID_ENTRIES_READ
        };
        let mut g = Group::new(glast, entries_read);
        let npel = r.count(17)?;
        for _ in 0..npel {
            let id = read_raw_id(r)?;
            let t = read_ms(r)?;
            let c = r.len()?;
            g.pel.insert(
                id,
                Nack {
                    delivery_time: t,
                    delivery_count: c,
                    consumer: Bytes::new(),
                },
            );
        }
        let ncons = r.count(1)?;
        for _ in 0..ncons {
            let cname = r.string()?;
            let seen = read_ms(r)?;
            let mut c = Consumer {
                seen_time: seen,
                pel: Default::default(),
            };
            let np = r.count(16)?;
            for _ in 0..np {
                let id = read_raw_id(r)?;
                let nack = g
                    .pel
                    .get_mut(&id)
                    .ok_or(corrupt("Consumer entry not found in group global PEL"))?;
                if !nack.consumer.is_empty() {
                    return Err(corrupt("Duplicated consumer PEL entry"));
                }
                nack.consumer = cname.clone();
                c.pel.insert(id);
            }
            if g.consumers.insert(cname, c).is_some() {
                return Err(corrupt("Duplicated consumer name"));
            }
        }
        if g.pel.values().any(|n| n.consumer.is_empty()) {
            return Err(corrupt("Stream CG PELs entry without consumer"));
        }
        if !v2 {
            pending_v1.push(name.clone());
        }
        if groups.insert(name, g).is_some() {
            return Err(corrupt("Duplicated consumer group name"));
        }
    }
    let mut s = Stream::from_parts(nodes, meta, groups);
    if s.len() != length {
        return Err(corrupt("stream length"));
    }
    for name in pending_v1 {
        if let Some(mut g) = s.groups.remove(&name) {
            g.entries_read = s.estimate_distance(g.last_id);
            s.groups.insert(name, g);
        }
    }
    Ok(s)
}

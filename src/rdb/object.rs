//! RDB objects: the type byte and the body that follows it (after the key, in a snapshot).
//!
//! Decoding goes through [`Object`], a plain form of every data type Redis 7.0 can write (the
//! element lists, in no particular order for sets, hashes and sorted sets). That keeps the wire
//! formats independent of how [`crate::db::Value`] stores collections: the conversion to and from
//! `Value` is in `rdb/mod.rs` and is the only place that names `Value` variants.
//!
//! | type | name               | read | write                     |
//! |------|--------------------|------|---------------------------|
//! | 0    | string             | yes  | yes                       |
//! | 1    | list (plain)       | yes  |                           |
//! | 2    | set                | yes  | yes (every set)           |
//! | 3    | zset (text scores) | yes  |                           |
//! | 4    | hash               | yes  | yes (every hash)          |
//! | 5    | zset_2             | yes  | yes (every sorted set)    |
//! | 9    | hash zipmap        | yes  |                           |
//! | 10   | list ziplist       | yes  |                           |
//! | 11   | set intset         | yes  |                           |
//! | 12   | zset ziplist       | yes  |                           |
//! | 13   | hash ziplist       | yes  |                           |
//! | 14   | list quicklist     | yes  |                           |
//! | 16   | hash listpack      | yes  |                           |
//! | 17   | zset listpack      | yes  |                           |
//! | 18   | list quicklist 2   | yes  | yes (every list; listpack nodes, plain above 1 GiB) |
//! | 20   | set listpack (7.2) | yes  |                           |
//!
//! Streams (15, 19, 21) and modules (6, 7) are refused with [`RdbError::UnsupportedType`].

use super::codec::{write_len, write_string, Reader};
use super::containers::{
    listpack, listpack_entry_size, read_intset, read_listpack, read_ziplist, read_zipmap,
};
use super::RdbError;
use bytes::Bytes;
use std::collections::HashSet;

/// RDB object type bytes.
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;

    /// True for the bytes that start an object (as opposed to a snapshot opcode).
    pub fn is_object_type(t: u8) -> bool {
        matches!(t, 0..=7 | 9..=21)
    }
}

/// Quicklist 2 node containers.
const NODE_PLAIN: u64 = 1;
const NODE_PACKED: u64 = 2;

/// Listpack nodes are cut at about this size (Redis's default `list-max-listpack-size -2`).
const LIST_NODE_BYTES: usize = 8 * 1024;
/// Elements at least this long get a plain node of their own (Redis's packed threshold).
const PLAIN_NODE_THRESHOLD: usize = 1 << 30;

/// A decoded value in plain form.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Str(Bytes),
    /// Elements head to tail.
    List(Vec<Bytes>),
    /// Field/value pairs.
    Hash(Vec<(Bytes, Bytes)>),
    /// Members.
    Set(Vec<Bytes>),
    /// Member/score pairs.
    ZSet(Vec<(Bytes, f64)>),
    /// A stream (kept in its own layout: nodes, groups, PELs).
    Stream(Box<crate::db::stream::Stream>),
}

impl Object {
    /// The type byte this module writes for the object.
    pub fn rdb_type(&self) -> u8 {
        match self {
            Object::Str(_) => types::STRING,
            Object::List(_) => types::LIST_QUICKLIST_2,
            Object::Hash(_) => types::HASH,
            Object::Set(_) => types::SET,
            Object::ZSet(_) => types::ZSET_2,
            Object::Stream(_) => types::STREAM_LISTPACKS_2,
        }
    }

    /// Writes the body (without the type byte).
    pub fn write_body(&self, out: &mut Vec<u8>, compress: bool) {
        match self {
            Object::Str(s) => write_string(out, s, compress),
            Object::List(items) => write_list_body(out, items.iter().map(|b| &b[..]), compress),
            Object::Hash(pairs) => write_hash_body(
                out,
                pairs.len(),
                pairs.iter().map(|(f, v)| (&f[..], &v[..])),
                compress,
            ),
            Object::Set(m) => write_set_body(out, m.len(), m.iter().map(|b| &b[..]), compress),
            Object::ZSet(m) => {
                write_zset_body(out, m.len(), m.iter().map(|(b, s)| (&b[..], *s)), compress)
            }
            Object::Stream(s) => super::stream::write_stream_body(out, s, compress),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing (bodies; the type byte is written by the caller)

/// A list as QUICKLIST_2: listpack nodes of about 8 KiB, a plain node for a huge element.
pub fn write_list_body<'a>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = &'a [u8]>,
    compress: bool,
) {
    enum Node<'a> {
        Packed(Vec<&'a [u8]>),
        Plain(&'a [u8]),
    }
    let mut nodes: Vec<Node<'a>> = Vec::new();
    let mut cur: Vec<&'a [u8]> = Vec::new();
    let mut cur_bytes = 0;
    for item in items {
        if item.len() >= PLAIN_NODE_THRESHOLD {
            if !cur.is_empty() {
                nodes.push(Node::Packed(std::mem::take(&mut cur)));
                cur_bytes = 0;
            }
            nodes.push(Node::Plain(item));
            continue;
        }
        let size = listpack_entry_size(item);
        if !cur.is_empty() && cur_bytes + size > LIST_NODE_BYTES {
            nodes.push(Node::Packed(std::mem::take(&mut cur)));
            cur_bytes = 0;
        }
        cur.push(item);
        cur_bytes += size;
    }
    if !cur.is_empty() {
        nodes.push(Node::Packed(cur));
    }
    write_len(out, nodes.len() as u64);
    for node in nodes {
        match node {
            Node::Plain(item) => {
                write_len(out, NODE_PLAIN);
                write_string(out, item, compress);
            }
            Node::Packed(items) => {
                write_len(out, NODE_PACKED);
                // Redis stores listpack blobs LZF-compressed when that pays, never as integers.
                let lp = listpack(items);
                write_blob(out, &lp, compress);
            }
        }
    }
}

/// A binary blob (listpack): like a string, but never integer-encoded.
fn write_blob(out: &mut Vec<u8>, blob: &[u8], compress: bool) {
    if compress && blob.len() > 20 {
        if let Some(z) = super::lzf::compress(blob, blob.len() - 4) {
            out.push(0xc3);
            write_len(out, z.len() as u64);
            write_len(out, blob.len() as u64);
            out.extend_from_slice(&z);
            return;
        }
    }
    write_len(out, blob.len() as u64);
    out.extend_from_slice(blob);
}

/// A hash as type 4: the pair count, then field and value strings.
pub fn write_hash_body<'a>(
    out: &mut Vec<u8>,
    len: usize,
    pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    compress: bool,
) {
    write_len(out, len as u64);
    for (f, v) in pairs {
        write_string(out, f, compress);
        write_string(out, v, compress);
    }
}

/// A set as type 2: the member count, then member strings.
pub fn write_set_body<'a>(
    out: &mut Vec<u8>,
    len: usize,
    members: impl IntoIterator<Item = &'a [u8]>,
    compress: bool,
) {
    write_len(out, len as u64);
    for m in members {
        write_string(out, m, compress);
    }
}

/// A sorted set as type 5 (ZSET_2): the count, then member strings each followed by the score as
/// a little-endian binary double.
pub fn write_zset_body<'a>(
    out: &mut Vec<u8>,
    len: usize,
    members: impl IntoIterator<Item = (&'a [u8], f64)>,
    compress: bool,
) {
    write_len(out, len as u64);
    for (m, score) in members {
        write_string(out, m, compress);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

fn pairs(flat: Vec<Bytes>) -> Result<Vec<(Bytes, Bytes)>, RdbError> {
    if !flat.len().is_multiple_of(2) {
        return Err(RdbError::Corrupt(
            "odd number of elements in a pair container",
        ));
    }
    let mut it = flat.into_iter();
    let mut out = Vec::with_capacity(it.len() / 2);
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn parse_score(text: &[u8]) -> Result<f64, RdbError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .ok_or(RdbError::Corrupt("sorted set score is not a number"))
}

fn scored(flat: Vec<Bytes>) -> Result<Vec<(Bytes, f64)>, RdbError> {
    pairs(flat)?
        .into_iter()
        .map(|(m, s)| Ok((m, parse_score(&s)?)))
        .collect()
}

/// A double in the old text form: a length byte (253 NaN, 254 +inf, 255 -inf) then ASCII.
fn read_text_double(r: &mut Reader<'_>) -> Result<f64, RdbError> {
    match r.u8()? {
        255 => Ok(f64::NEG_INFINITY),
        254 => Ok(f64::INFINITY),
        253 => Ok(f64::NAN),
        n => parse_score(r.take(n as usize)?),
    }
}

/// Reads the body of an object of type `t`.
pub(crate) fn read_object(r: &mut Reader<'_>, t: u8) -> Result<Object, RdbError> {
    use types::*;
    let obj = match t {
        STRING => return Ok(Object::Str(r.string()?)),
        LIST | SET => {
            let n = r.count(1)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.string()?);
            }
            if t == LIST {
                Object::List(v)
            } else {
                Object::Set(v)
            }
        }
        ZSET | ZSET_2 => {
            let n = r.count(2)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?;
                let s = if t == ZSET_2 {
                    f64::from_le_bytes(r.take_array()?)
                } else {
                    read_text_double(r)?
                };
                v.push((m, s));
            }
            Object::ZSet(v)
        }
        HASH => {
            let n = r.count(2)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let f = r.string()?;
                v.push((f, r.string()?));
            }
            Object::Hash(v)
        }
        HASH_ZIPMAP => Object::Hash(pairs(read_zipmap(&r.string()?)?)?),
        LIST_ZIPLIST => Object::List(read_ziplist(&r.string()?)?),
        SET_INTSET => Object::Set(read_intset(&r.string()?)?),
        ZSET_ZIPLIST => Object::ZSet(scored(read_ziplist(&r.string()?)?)?),
        HASH_ZIPLIST => Object::Hash(pairs(read_ziplist(&r.string()?)?)?),
        HASH_LISTPACK => Object::Hash(pairs(read_listpack(&r.string()?)?)?),
        ZSET_LISTPACK => Object::ZSet(scored(read_listpack(&r.string()?)?)?),
        SET_LISTPACK => Object::Set(read_listpack(&r.string()?)?),
        LIST_QUICKLIST => {
            let n = r.count(1)?;
            let mut v = Vec::new();
            for _ in 0..n {
                v.extend(read_ziplist(&r.string()?)?);
            }
            Object::List(v)
        }
        LIST_QUICKLIST_2 => {
            let n = r.count(2)?;
            let mut v = Vec::new();
            for _ in 0..n {
                match r.len()? {
                    NODE_PLAIN => v.push(r.string()?),
                    NODE_PACKED => v.extend(read_listpack(&r.string()?)?),
                    _ => return Err(RdbError::Corrupt("quicklist node container")),
                }
            }
            Object::List(v)
        }
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 => {
            return Ok(Object::Stream(Box::new(super::stream::read_stream_body(
                r,
                t == STREAM_LISTPACKS_2,
            )?)))
        }
        MODULE | MODULE_2 | STREAM_LISTPACKS_3 => return Err(RdbError::UnsupportedType(t)),
        _ => return Err(RdbError::UnknownType(t)),
    };
    validate(&obj)?;
    Ok(obj)
}

/// Redis refuses empty collections, duplicate set members / hash fields / sorted set members,
/// and NaN scores.
fn validate(obj: &Object) -> Result<(), RdbError> {
    fn unique<'a>(items: impl ExactSizeIterator<Item = &'a Bytes>) -> Result<(), RdbError> {
        let n = items.len();
        let set: HashSet<&Bytes> = items.collect();
        if set.len() != n {
            return Err(RdbError::Corrupt("duplicate member"));
        }
        Ok(())
    }
    match obj {
        Object::Str(_) | Object::Stream(_) => Ok(()),
        Object::List(v) if v.is_empty() => Err(RdbError::EmptyKey),
        Object::List(_) => Ok(()),
        Object::Set(v) if v.is_empty() => Err(RdbError::EmptyKey),
        Object::Set(v) => unique(v.iter()),
        Object::Hash(v) if v.is_empty() => Err(RdbError::EmptyKey),
        Object::Hash(v) => unique(v.iter().map(|(f, _)| f)),
        Object::ZSet(v) if v.is_empty() => Err(RdbError::EmptyKey),
        Object::ZSet(v) => {
            if v.iter().any(|(_, s)| s.is_nan()) {
                return Err(RdbError::Corrupt("sorted set score is NaN"));
            }
            unique(v.iter().map(|(m, _)| m))
        }
    }
}

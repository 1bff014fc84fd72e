//! The RDB format of Redis 7.0 (RDB version 10): DUMP/RESTORE payloads and whole snapshots.
//!
//! * [`dump_value`] / [`restore_value`]: the DUMP payload — the object's type byte, its body,
//!   then the RDB version (2 bytes, little-endian) and a CRC-64 of everything before it
//!   (8 bytes, little-endian).
//! * [`write_snapshot`] / [`read_snapshot`]: a `dump.rdb` file as Redis 7.0 writes it (see
//!   [`snapshot`]); [`sync::RdbTransfer`] unframes one sent over a replication link.
//!
//! Strings are written the way Redis writes them (integer-encoded when they are small canonical
//! integers, LZF-compressed above 20 bytes when that saves at least 4 bytes; the compressor is
//! this crate's own, see [`lzf`]). Collections are written in the plain RDB forms every Redis
//! since 7.0 loads (see [`object`] for the table of types read and written); every form
//! redis-server 7.0 writes, and the older ziplist/zipmap/quicklist forms, are read.
//!
//! Decoding is total: any input gives a value or an [`RdbError`], never a panic, and no
//! allocation is sized by a declared length beyond the bytes actually present (LZF output is
//! bounded by 88 times its input).

mod codec;
mod containers;
mod crc64;
pub mod lzf;
pub mod object;
pub mod snapshot;
pub mod stream;
pub mod sync;
#[cfg(test)]
mod tests;

pub use codec::{write_len, write_string};
pub use crc64::crc64;
pub use object::Object;
pub use snapshot::{
    read_snapshot, read_snapshot_objects, write_snapshot, write_snapshot_objects,
    write_snapshot_with_functions, Snapshot, SnapshotOf,
};

use crate::db::value::{FixedState, HashMapValue, SetValue, ZSet};
use crate::db::Value;
use codec::Reader;

/// The RDB version this module writes (Redis 7.0).
pub const RDB_VERSION: u16 = 10;

/// Whether bodies written here LZF-compress long strings (Redis's `rdbcompression yes`).
pub const COMPRESS: bool = true;

/// Why RDB bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    /// The DUMP footer's version is newer than 10, or its CRC-64 does not match.
    #[error("DUMP payload version or checksum are wrong")]
    BadFooter,
    #[error("unexpected end of RDB data")]
    Truncated,
    #[error("corrupt RDB data: {0}")]
    Corrupt(&'static str),
    #[error("unknown RDB object type {0}")]
    UnknownType(u8),
    /// A type Redis knows (stream, module) that keyslot cannot hold.
    #[error("unsupported RDB object type {0}")]
    UnsupportedType(u8),
    /// A collection with no elements (Redis refuses to load those).
    #[error("empty collection in RDB data")]
    EmptyKey,
    #[error("not an RDB file (bad magic)")]
    BadMagic,
    #[error("can't handle RDB format version {0}")]
    BadVersion(u32),
    #[error("RDB checksum mismatch (expected {expected:#018x}, computed {computed:#018x})")]
    BadChecksum { expected: u64, computed: u64 },
    #[error("unknown RDB opcode {0}")]
    UnknownOpcode(u8),
    /// Keys in a database other than 0 (a cluster node has database 0 only).
    #[error("RDB data for database {0}: only database 0 exists in cluster mode")]
    NonZeroDb(u64),
    /// The replication link sent something that is not an RDB transfer header.
    #[error("bad RDB transfer header: {0}")]
    BadTransfer(String),
}

/// The plain form of a value.
pub fn value_to_object(v: &Value) -> Object {
    match v {
        Value::Str(b) => Object::Str(b.clone()),
        Value::List(l) => Object::List(l.iter().cloned().collect()),
        Value::Hash(h) => Object::Hash(h.iter().map(|(f, v)| (f.clone(), v.clone())).collect()),
        Value::Set(s) => Object::Set(s.iter().cloned().collect()),
        Value::ZSet(z) => Object::ZSet(z.iter().map(|(m, s)| (m.clone(), s)).collect()),
        Value::Stream(s) => Object::Stream(s.clone()),
    }
}

/// A decoded object as a keyslot value (elements in the order the RDB data lists them).
pub fn object_to_value(o: Object) -> Result<Value, RdbError> {
    Ok(match o {
        Object::Str(b) => Value::Str(b),
        Object::List(v) => Value::List(v.into()),
        Object::Hash(pairs) => {
            let mut h = HashMapValue::with_capacity_and_hasher(pairs.len(), FixedState);
            h.extend(pairs);
            Value::Hash(Box::new(h))
        }
        Object::Set(members) => {
            let mut s = SetValue::with_capacity_and_hasher(members.len(), FixedState);
            s.extend(members);
            Value::Set(Box::new(s))
        }
        Object::ZSet(members) => {
            let mut z = ZSet::new();
            for (m, score) in members {
                if score.is_nan() {
                    return Err(RdbError::Corrupt("sorted set score is NaN"));
                }
                z.insert(m, score);
            }
            Value::ZSet(Box::new(z))
        }
        Object::Stream(s) => Value::Stream(s),
    })
}

/// The type byte written for a value.
pub fn value_rdb_type(v: &Value) -> u8 {
    use object::types;
    match v {
        Value::Str(_) => types::STRING,
        Value::List(_) => types::LIST_QUICKLIST_2,
        Value::Hash(_) => types::HASH,
        Value::Set(_) => types::SET,
        Value::ZSet(_) => types::ZSET_2,
        Value::Stream(_) => types::STREAM_LISTPACKS_2,
    }
}

/// Writes a value's body (no type byte), straight from the value.
pub fn write_value_body(out: &mut Vec<u8>, v: &Value, compress: bool) {
    match v {
        Value::Str(b) => write_string(out, b, compress),
        Value::List(l) => object::write_list_body(out, l.iter().map(|b| &b[..]), compress),
        Value::Hash(h) => object::write_hash_body(
            out,
            h.len(),
            h.iter().map(|(f, v)| (&f[..], &v[..])),
            compress,
        ),
        Value::Set(s) => object::write_set_body(out, s.len(), s.iter().map(|m| &m[..]), compress),
        Value::ZSet(z) => {
            object::write_zset_body(out, z.len(), z.iter().map(|(m, s)| (&m[..], s)), compress)
        }
        Value::Stream(s) => stream::write_stream_body(out, s, compress),
    }
}

/// Appends the DUMP footer (version and CRC-64) to a type byte + body.
fn finish_payload(mut out: Vec<u8>) -> Vec<u8> {
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The DUMP payload of a value: type byte, body, RDB version (u16 LE), CRC-64 (u64 LE).
pub fn dump_value(v: &Value) -> Vec<u8> {
    let mut out = vec![value_rdb_type(v)];
    write_value_body(&mut out, v, COMPRESS);
    finish_payload(out)
}

/// The DUMP payload of an object in plain form.
pub fn dump_object(o: &Object) -> Vec<u8> {
    let mut out = vec![o.rdb_type()];
    o.write_body(&mut out, COMPRESS);
    finish_payload(out)
}

/// Checks a DUMP payload's footer (at least 10 bytes, version <= 10, CRC-64) and returns the
/// type byte + body part.
pub fn verify_payload(payload: &[u8]) -> Result<&[u8], RdbError> {
    if payload.len() < 10 {
        return Err(RdbError::BadFooter);
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(RdbError::BadFooter);
    }
    let expected = u64::from_le_bytes(footer[2..10].try_into().map_err(|_| RdbError::BadFooter)?);
    if crc64(0, &payload[..payload.len() - 8]) != expected {
        return Err(RdbError::BadFooter);
    }
    Ok(body)
}

/// Decodes a type byte + body (no footer). Bytes after the object are ignored, as Redis does.
pub fn decode_object(body: &[u8]) -> Result<Object, RdbError> {
    let mut r = Reader::new(body);
    let t = r.u8()?;
    object::read_object(&mut r, t)
}

/// Decodes a DUMP payload into plain form, checking its footer first.
pub fn restore_object(payload: &[u8]) -> Result<Object, RdbError> {
    decode_object(verify_payload(payload)?)
}

/// Decodes a DUMP payload (RESTORE): [`RdbError::BadFooter`] for a wrong version or checksum
/// (Redis: `DUMP payload version or checksum are wrong`), any other error for a body that does
/// not decode (Redis: `Bad data format`).
pub fn restore_value(payload: &[u8]) -> Result<Value, RdbError> {
    object_to_value(restore_object(payload)?)
}

/// A listpack of `items` (for tests of code outside the codec that sizes listpacks).
#[cfg(test)]
pub(crate) fn containers_listpack<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    containers::listpack(items)
}

/// RDB_OPCODE_FUNCTION2: a function library's code follows (RDB and FUNCTION DUMP).
pub const OPCODE_FUNCTION2: u8 = 245;

/// FUNCTION DUMP's payload: each library's code after the function opcode, then the footer.
pub fn dump_functions(codes: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(OPCODE_FUNCTION2);
        codec::write_string(&mut out, code, COMPRESS);
    }
    finish_payload(out)
}

/// The library codes of a FUNCTION DUMP payload. `Err(None)` is a bad footer, `Err(Some(..))`
/// Redis's text for what is wrong inside.
pub fn restore_functions(payload: &[u8]) -> Result<Vec<bytes::Bytes>, Option<&'static str>> {
    let body = verify_payload(payload).map_err(|_| None)?;
    let mut r = Reader::new(body);
    let mut codes = Vec::new();
    while r.remaining() > 0 {
        let t = r.u8().map_err(|_| Some("can not read data type"))?;
        if t != OPCODE_FUNCTION2 {
            return Err(Some("given type is not a function"));
        }
        codes.push(
            r.string()
                .map_err(|_| Some("failed loading the given functions payload"))?,
        );
    }
    Ok(codes)
}

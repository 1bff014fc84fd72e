//! Whole RDB files: `REDIS0010`, AUX fields, SELECTDB 0, RESIZEDB, the keys (each with
//! EXPIRETIME_MS when it has a TTL), EOF, and a CRC-64 of everything before it (little-endian).
//!
//! The reader takes files of RDB versions 1 to 11 (Redis up to 7.2): it understands every
//! opcode Redis 7.0 writes (AUX, SELECTDB, RESIZEDB, EXPIRETIME, EXPIRETIME_MS, IDLE, FREQ,
//! FUNCTION2 — each a function library's code, kept in [`SnapshotOf::functions`]), skips
//! empty collections as Redis does, and
//! refuses module AUX data, streams and keys outside database 0 (a cluster node has only
//! database 0). A checksum of 0 means "not computed" (`rdbchecksum no`) and is accepted.

use super::codec::{write_len, write_string, Reader};
use super::object::{read_object, types, Object};
use super::{
    crc64, object_to_value, value_rdb_type, write_value_body, RdbError, COMPRESS, RDB_VERSION,
};
use crate::db::{Entry, Value};
use bytes::Bytes;
use std::collections::BTreeMap;

/// Snapshot opcodes.
pub mod opcodes {
    pub const FUNCTION2: u8 = 0xf5;
    pub const FUNCTION_PRE_GA: u8 = 0xf6;
    pub const MODULE_AUX: u8 = 0xf7;
    pub const IDLE: u8 = 0xf8;
    pub const FREQ: u8 = 0xf9;
    pub const AUX: u8 = 0xfa;
    pub const RESIZEDB: u8 = 0xfb;
    pub const EXPIRETIME_MS: u8 = 0xfc;
    pub const EXPIRETIME: u8 = 0xfd;
    pub const SELECTDB: u8 = 0xfe;
    pub const EOF: u8 = 0xff;
}

/// What a snapshot holds: its keys with values and absolute unix-ms expire times, and its AUX
/// fields (`redis-ver`, `repl-id`, `repl-offset`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotOf<T> {
    pub entries: Vec<(Bytes, T, Option<u64>)>,
    pub aux: BTreeMap<String, String>,
    /// The FUNCTION libraries' codes (RDB_OPCODE_FUNCTION2), in file order.
    pub functions: Vec<Bytes>,
}

/// A snapshot of keyslot values.
pub type Snapshot = SnapshotOf<Value>;

/// Writes the parts of a snapshot in order.
struct Writer<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
}

impl<'o> Writer<'o> {
    fn begin(
        out: &'o mut Vec<u8>,
        aux: &[(&str, String)],
        functions: &[Bytes],
        keys: usize,
        expires: usize,
    ) -> Self {
        let start = out.len();
        out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        let given = |name: &str| aux.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        // The caller reads the time from the node's clock (`crate::clock`): the codec never
        // reads the system clock, so a simulated node writes the same bytes on every replay.
        let ctime = given("ctime").unwrap_or_else(|| "0".into());
        let first = [
            (
                "redis-ver",
                given("redis-ver").unwrap_or_else(|| "7.0.15".into()),
            ),
            (
                "redis-bits",
                given("redis-bits").unwrap_or_else(|| "64".into()),
            ),
            ("ctime", ctime),
            ("used-mem", given("used-mem").unwrap_or_else(|| "0".into())),
        ];
        let mut w = Writer { out, start };
        for (k, v) in &first {
            w.aux(k, v);
        }
        for (k, v) in aux {
            if !first.iter().any(|(f, _)| f == k) && *k != "aof-base" {
                w.aux(k, v);
            }
        }
        let aof_base = given("aof-base").unwrap_or_else(|| "0".into());
        w.aux("aof-base", &aof_base);
        // Redis's rdbSaveFunctions: every library after the AUX fields, before the keys.
        for code in functions {
            w.out.push(opcodes::FUNCTION2);
            write_string(w.out, code, COMPRESS);
        }
        w.out.push(opcodes::SELECTDB);
        write_len(w.out, 0);
        w.out.push(opcodes::RESIZEDB);
        write_len(w.out, keys as u64);
        write_len(w.out, expires as u64);
        w
    }

    fn aux(&mut self, key: &str, value: &str) {
        self.out.push(opcodes::AUX);
        write_string(self.out, key.as_bytes(), false);
        write_string(self.out, value.as_bytes(), false);
    }

    fn key(&mut self, key: &[u8], expire_ms: Option<u64>, rdb_type: u8) {
        if let Some(t) = expire_ms {
            self.out.push(opcodes::EXPIRETIME_MS);
            self.out.extend_from_slice(&t.to_le_bytes());
        }
        self.out.push(rdb_type);
        write_string(self.out, key, COMPRESS);
    }

    fn finish(self) {
        self.out.push(opcodes::EOF);
        let crc = crc64(0, &self.out[self.start..]);
        self.out.extend_from_slice(&crc.to_le_bytes());
    }
}

/// Appends a whole RDB file holding `entries` to `out`. AUX fields: `redis-ver` (7.0.15),
/// `redis-bits` (64), `ctime` (0 unless given: callers pass the node clock's unix seconds), `used-mem` (0), then every other field of `aux` in order
/// (`repl-stream-db`, `repl-id`, `repl-offset` for replication), then `aof-base` (0); a field
/// given in `aux` replaces the default.
pub fn write_snapshot<'a, K: AsRef<[u8]>>(
    entries: impl Iterator<Item = (K, &'a Entry)>,
    aux: &[(&str, String)],
    out: &mut Vec<u8>,
) {
    write_snapshot_with_functions(entries, aux, &[], out)
}

/// [`write_snapshot`] with FUNCTION libraries (their codes, each after RDB_OPCODE_FUNCTION2
/// as Redis 7.0 writes them).
pub fn write_snapshot_with_functions<'a, K: AsRef<[u8]>>(
    entries: impl Iterator<Item = (K, &'a Entry)>,
    aux: &[(&str, String)],
    functions: &[Bytes],
    out: &mut Vec<u8>,
) {
    let entries: Vec<(K, &Entry)> = entries.collect();
    let expires = entries
        .iter()
        .filter(|(_, e)| e.expire_ms().is_some())
        .count();
    let mut w = Writer::begin(out, aux, functions, entries.len(), expires);
    for (key, entry) in entries {
        w.key(
            key.as_ref(),
            entry.expire_ms(),
            value_rdb_type(&entry.value),
        );
        write_value_body(w.out, &entry.value, COMPRESS);
    }
    w.finish();
}

/// [`write_snapshot`] for objects in plain form (key, object, expire).
pub fn write_snapshot_objects<'a>(
    entries: impl Iterator<Item = (&'a Bytes, &'a Object, Option<u64>)>,
    aux: &[(&str, String)],
    out: &mut Vec<u8>,
) {
    let entries: Vec<_> = entries.collect();
    let expires = entries.iter().filter(|e| e.2.is_some()).count();
    let mut w = Writer::begin(out, aux, &[], entries.len(), expires);
    for (key, obj, expire) in entries {
        w.key(key, expire, obj.rdb_type());
        obj.write_body(w.out, COMPRESS);
    }
    w.finish();
}

/// Reads a whole RDB file into objects in plain form.
pub fn read_snapshot_objects(bytes: &[u8]) -> Result<SnapshotOf<Object>, RdbError> {
    let mut r = Reader::new(bytes);
    let header = r.take(9).map_err(|_| RdbError::BadMagic)?;
    if &header[..5] != b"REDIS" || !header[5..].iter().all(u8::is_ascii_digit) {
        return Err(RdbError::BadMagic);
    }
    let version = header[5..]
        .iter()
        .fold(0u32, |v, d| v * 10 + (d - b'0') as u32);
    if !(1..=11).contains(&version) {
        return Err(RdbError::BadVersion(version));
    }
    let mut snap = SnapshotOf {
        entries: Vec::new(),
        aux: BTreeMap::new(),
        functions: Vec::new(),
    };
    let mut db = 0u64;
    let mut expire: Option<u64> = None;
    loop {
        let op = r.u8()?;
        match op {
            opcodes::EOF => break,
            opcodes::SELECTDB => db = r.len()?,
            opcodes::RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            opcodes::AUX => {
                let k = r.string()?;
                let v = r.string()?;
                snap.aux.insert(
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                );
            }
            opcodes::EXPIRETIME_MS => expire = Some(r.u64_le()?),
            opcodes::EXPIRETIME => expire = Some(r.u32_le()? as u64 * 1000),
            opcodes::IDLE => {
                r.len()?;
            }
            opcodes::FREQ => {
                r.u8()?;
            }
            opcodes::FUNCTION2 => snap.functions.push(r.string()?),
            t if types::is_object_type(t) => {
                let key = r.string()?;
                match read_object(&mut r, t) {
                    Ok(obj) => {
                        if db != 0 {
                            return Err(RdbError::NonZeroDb(db));
                        }
                        snap.entries.push((key, obj, expire));
                    }
                    Err(RdbError::EmptyKey) => {}
                    Err(e) => return Err(e),
                }
                expire = None;
            }
            other => return Err(RdbError::UnknownOpcode(other)),
        }
    }
    if version >= 5 {
        let end = r.pos();
        let expected = r.u64_le()?;
        if expected != 0 {
            let computed = crc64(0, &bytes[..end]);
            if computed != expected {
                return Err(RdbError::BadChecksum { expected, computed });
            }
        }
    }
    Ok(snap)
}

/// Reads a whole RDB file into keyslot values.
pub fn read_snapshot(bytes: &[u8]) -> Result<Snapshot, RdbError> {
    let snap = read_snapshot_objects(bytes)?;
    let mut entries = Vec::with_capacity(snap.entries.len());
    for (key, obj, expire) in snap.entries {
        entries.push((key, object_to_value(obj)?, expire));
    }
    Ok(Snapshot {
        entries,
        aux: snap.aux,
        functions: snap.functions,
    })
}

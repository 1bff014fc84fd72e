//! The snapshot a full resync carries: the RDB codec's whole-dataset format (`crate::rdb`),
//! with the replication id and offset in its aux fields as Redis writes them.

use crate::db::{Entry, Value};
use bytes::Bytes;

/// A decoded snapshot: every key with its value and expire time.
pub struct Loaded {
    pub entries: Vec<(Bytes, Value, Option<u64>)>,
    /// The master's FUNCTION libraries (their codes).
    pub functions: Vec<Bytes>,
}

/// Serializes the dataset (and replication aux fields) for a full resync.
pub fn write<'a, K: AsRef<[u8]>>(
    entries: impl Iterator<Item = (K, &'a Entry)>,
    aux: &[(&str, String)],
    functions: &[Bytes],
    out: &mut Vec<u8>,
) {
    let mut fields: Vec<(&str, String)> = vec![("repl-stream-db", "0".to_string())];
    fields.extend(aux.iter().map(|(k, v)| (*k, v.clone())));
    crate::rdb::snapshot::write_snapshot_with_functions(entries, &fields, functions, out);
}

/// Decodes a snapshot received from a master.
pub fn read(bytes: &[u8]) -> Result<Loaded, String> {
    crate::rdb::snapshot::read_snapshot(bytes)
        .map(|s| Loaded {
            entries: s.entries,
            functions: s.functions,
        })
        .map_err(|e| e.to_string())
}

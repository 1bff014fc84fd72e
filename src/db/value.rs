//! The value types a key can hold.

use bytes::Bytes;

/// A key's value. Strings only for now; lists, hashes, sets and sorted sets join as the
/// command-breadth work lands.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Bytes),
}

impl Value {
    /// The name TYPE prints.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }
}

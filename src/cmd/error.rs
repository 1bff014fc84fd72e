//! Command errors, each with Redis's exact reply text.

use crate::resp::Reply;
use std::borrow::Cow;

/// An error a command answers with. `Display` is the whole reply line after `-`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(String),
    /// Any other error; the text carries its code (`ERR ...`, `CLUSTERDOWN ...`).
    #[error("{0}")]
    Other(Cow<'static, str>),
}

impl CmdError {
    /// An error with a custom text (code included).
    pub fn other(text: impl Into<Cow<'static, str>>) -> CmdError {
        CmdError::Other(text.into())
    }

    /// The reply this error is sent as.
    pub fn to_reply(&self) -> Reply {
        match self {
            CmdError::Other(t) => Reply::Error(t.clone()),
            e => Reply::Error(Cow::Owned(e.to_string())),
        }
    }
}

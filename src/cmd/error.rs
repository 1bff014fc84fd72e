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
    /// An error that echoes client bytes as they are (Redis does not require UTF-8 there).
    #[error("{}", String::from_utf8_lossy(.0))]
    Raw(bytes::Bytes),
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
            CmdError::Raw(b) => Reply::ErrorBytes(b.clone()),
            e => Reply::Error(Cow::Owned(e.to_string())),
        }
    }
}

/// Client input shown inside an error text the way Redis's `%.*s` formatting shows it: cut at
/// `max` bytes and at the first NUL, with CR and LF turned into spaces (so a client cannot inject
/// a reply). Bytes that are not UTF-8 become U+FFFD (Redis echoes them raw).
pub fn quote_arg(arg: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&quote_arg_bytes(arg, max)).into_owned()
}

/// [`quote_arg`] keeping the bytes as they are (for replies that echo raw input, as Redis does).
pub fn quote_arg_bytes(arg: &[u8], max: usize) -> Vec<u8> {
    let cut = &arg[..arg.len().min(max)];
    let cut = match cut.iter().position(|&b| b == 0) {
        Some(nul) => &cut[..nul],
        None => cut,
    };
    cut.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect()
}

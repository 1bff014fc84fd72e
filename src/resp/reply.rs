//! Replies and their encoding in RESP2 or RESP3.
//!
//! Commands build a [`Reply`] once; the connection encodes it for the protocol the client chose
//! with HELLO. RESP3-only types degrade to what Redis sends a RESP2 client (a map becomes a flat
//! array, a double a bulk string, a boolean an integer, null `$-1` or `*-1`).

use bytes::{BufMut, Bytes, BytesMut};
use std::borrow::Cow;

/// The protocol version a client speaks (HELLO 2 / HELLO 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

/// One reply, in protocol-neutral form.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+text`
    Simple(Cow<'static, str>),
    /// `-CODE text`: the whole line after `-`, code included (`ERR ...`, `MOVED ...`).
    Error(Cow<'static, str>),
    /// An error whose text echoes client bytes that need not be UTF-8 (Redis prints them raw);
    /// CR and LF are still turned into spaces when encoded.
    ErrorBytes(Bytes),
    /// `:n`
    Integer(i64),
    /// `$len\r\nbytes`
    Bulk(Bytes),
    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// A missing array: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    /// `*n` then n replies.
    Array(Vec<Reply>),
    /// RESP3 `%n` map; a flat array of 2n in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 `~n` set; an array in RESP2.
    Set(Vec<Reply>),
    /// RESP3 `,` double; a bulk string in RESP2.
    Double(f64),
    /// A double printed as Redis's addReplyHumanLongDouble does (`%.17Lf`, trailing zeros cut:
    /// the geo coordinates): RESP3 `,` with that text, a bulk string of it in RESP2.
    HumanDouble(f64),
    /// RESP3 `#t`/`#f`; `:1`/`:0` in RESP2.
    Boolean(bool),
    /// RESP3 `=len\r\ntxt:...` verbatim string; a bulk string in RESP2.
    Verbatim(Bytes),
    /// RESP3 `>n` push (pub/sub messages); an array in RESP2.
    Push(Vec<Reply>),
    /// RESP3 `(` big number (its text, digits as the sender wrote them); a bulk string in
    /// RESP2. Only DEBUG PROTOCOL and scripts returning `{big_number = ...}` produce one.
    BigNumber(Bytes),
    /// RESP3 `|n` attributes, then the reply they annotate; only that reply in RESP2. Only
    /// DEBUG PROTOCOL produces one (and a script's `redis.call` sees only the reply, as in
    /// Redis).
    Attribute(Vec<(Reply, Reply)>, Box<Reply>),
    /// Bytes already encoded for the calling client's protocol, written as they are: a push
    /// followed by a reply (DEBUG PROTOCOL push), and an EXEC under CLIENT REPLY OFF/SKIP.
    Raw(Bytes),
    /// Nothing is written (PSYNC, whose answer is part of the replication feed; a blocked WAIT,
    /// answered later).
    NoReply,
}

impl Reply {
    /// `+OK`
    pub const fn ok() -> Reply {
        Reply::Simple(Cow::Borrowed("OK"))
    }

    /// A status reply from a static string.
    pub const fn simple(s: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(s))
    }

    /// An error reply; `text` is the whole line after `-` (it must carry its code, e.g. `ERR`).
    pub fn error(text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Error(text.into())
    }

    /// A bulk string copied from a byte slice.
    pub fn bulk(b: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }

    /// A bulk string that owns its bytes.
    pub fn bulk_owned(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    /// True for error replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_) | Reply::ErrorBytes(_))
    }

    /// Appends the encoding of this reply for `proto` to `out`.
    pub fn encode(&self, proto: Protocol, out: &mut BytesMut) {
        let resp3 = proto == Protocol::Resp3;
        match self {
            Reply::Simple(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(s) if s.contains(['\r', '\n']) => {
                // A newline inside an error would end it early and forge a reply; Redis turns
                // them into spaces.
                line(out, b'-', s.replace(['\r', '\n'], " ").as_bytes())
            }
            Reply::Error(s) => line(out, b'-', s.as_bytes()),
            Reply::ErrorBytes(b) => {
                let clean: Vec<u8> = b
                    .iter()
                    .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
                    .collect();
                line(out, b'-', &clean)
            }
            Reply::Integer(n) => int_line(out, b':', *n),
            Reply::Bulk(b) => bulk(out, b'$', b),
            Reply::Null if resp3 => out.put_slice(b"_\r\n"),
            Reply::Null => out.put_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Reply::NullArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => aggregate(out, b'*', items, proto),
            Reply::Set(items) => aggregate(out, if resp3 { b'~' } else { b'*' }, items, proto),
            Reply::Push(items) => aggregate(out, if resp3 { b'>' } else { b'*' }, items, proto),
            Reply::Map(pairs) => {
                if resp3 {
                    int_line(out, b'%', pairs.len() as i64);
                } else {
                    int_line(out, b'*', 2 * pairs.len() as i64);
                }
                for (k, v) in pairs {
                    k.encode(proto, out);
                    v.encode(proto, out);
                }
            }
            Reply::Double(d) => {
                let text = format_double(*d);
                if resp3 {
                    line(out, b',', text.as_bytes());
                } else {
                    bulk(out, b'$', text.as_bytes());
                }
            }
            Reply::HumanDouble(d) => {
                let text = crate::cmd::geo::text::human(*d);
                if resp3 {
                    line(out, b',', text.as_bytes());
                } else {
                    bulk(out, b'$', text.as_bytes());
                }
            }
            Reply::Boolean(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Boolean(b) => int_line(out, b':', *b as i64),
            Reply::Verbatim(b) if resp3 => {
                int_line(out, b'=', b.len() as i64 + 4);
                out.put_slice(b"txt:");
                out.put_slice(b);
                out.put_slice(b"\r\n");
            }
            Reply::Verbatim(b) => bulk(out, b'$', b),
            Reply::BigNumber(b) if resp3 => line(out, b'(', b),
            Reply::BigNumber(b) => bulk(out, b'$', b),
            Reply::Attribute(pairs, reply) => {
                if resp3 {
                    int_line(out, b'|', pairs.len() as i64);
                    for (k, v) in pairs {
                        k.encode(proto, out);
                        v.encode(proto, out);
                    }
                }
                reply.encode(proto, out);
            }
            Reply::Raw(b) => out.put_slice(b),
            Reply::NoReply => {}
        }
    }

    /// The encoding as a fresh buffer (tests, one-off writes).
    pub fn to_bytes(&self, proto: Protocol) -> BytesMut {
        let mut out = BytesMut::new();
        self.encode(proto, &mut out);
        out
    }
}

/// Redis's `%.17g` double text (RESP3 doubles), `inf`/`-inf`/`nan` spelled as Redis does.
pub fn format_double(d: f64) -> String {
    crate::db::value::zset::fmt_score(d)
}

fn line(out: &mut BytesMut, prefix: u8, body: &[u8]) {
    out.reserve(body.len() + 3);
    out.put_u8(prefix);
    out.put_slice(body);
    out.put_slice(b"\r\n");
}

fn int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    out.put_u8(prefix);
    out.put_slice(itoa::Buffer::new().format(n).as_bytes());
    out.put_slice(b"\r\n");
}

fn bulk(out: &mut BytesMut, prefix: u8, body: &[u8]) {
    out.reserve(body.len() + 16);
    int_line(out, prefix, body.len() as i64);
    out.put_slice(body);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, prefix: u8, items: &[Reply], proto: Protocol) {
    int_line(out, prefix, items.len() as i64);
    for item in items {
        item.encode(proto, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: Reply, p: Protocol) -> Vec<u8> {
        r.to_bytes(p).to_vec()
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        assert_eq!(enc(Reply::ok(), Protocol::Resp2), b"+OK\r\n");
        assert_eq!(enc(Reply::Null, Protocol::Resp2), b"$-1\r\n");
        assert_eq!(enc(Reply::Null, Protocol::Resp3), b"_\r\n");
        assert_eq!(enc(Reply::NullArray, Protocol::Resp2), b"*-1\r\n");
        assert_eq!(enc(Reply::Integer(-3), Protocol::Resp2), b":-3\r\n");
        assert_eq!(enc(Reply::bulk("hi"), Protocol::Resp2), b"$2\r\nhi\r\n");
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Integer(1))]);
        assert_eq!(
            enc(map.clone(), Protocol::Resp2),
            b"*2\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(enc(map, Protocol::Resp3), b"%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(Reply::Boolean(true), Protocol::Resp3), b"#t\r\n");
        assert_eq!(enc(Reply::Double(1.5), Protocol::Resp3), b",1.5\r\n");
        assert_eq!(enc(Reply::Double(1.5), Protocol::Resp2), b"$3\r\n1.5\r\n");
        assert_eq!(
            enc(Reply::HumanDouble(13.361389338970184), Protocol::Resp3),
            b",13.36138933897018433\r\n"
        );
        assert_eq!(
            enc(Reply::HumanDouble(2.0), Protocol::Resp2),
            b"$1\r\n2\r\n"
        );
        assert_eq!(
            enc(Reply::Verbatim(Bytes::from_static(b"x")), Protocol::Resp3),
            b"=5\r\ntxt:x\r\n"
        );
    }
}

//! DEBUG subcommands that exist for Redis's own test suite: PROTOCOL (one sample reply of each
//! RESP type, so a client's parser can be tested) and QUICKLIST-PACKED-THRESHOLD.

use super::{CmdError, CmdResult};
use crate::resp::{Protocol, Reply};
use bytes::{Bytes, BytesMut};

/// The text Redis answers for an unknown DEBUG PROTOCOL type name.
const PROTOCOL_TYPES_ERROR: &str = "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false";

/// `DEBUG PROTOCOL <type>`: Redis's sample reply of that type for the client's protocol.
///
/// In RESP2 a big number is a bulk string and the attribute is left out; a push is refused in
/// RESP2. A push followed by the real reply is two replies, so it is written pre-encoded
/// ([`Reply::Raw`]).
pub fn protocol(proto: Protocol, name: &[u8]) -> CmdResult {
    let resp3 = proto == Protocol::Resp3;
    let is = |word: &str| name.eq_ignore_ascii_case(word.as_bytes());
    let ints = || (0..3).map(Reply::Integer).collect::<Vec<_>>();
    let reply = if is("string") {
        Reply::bulk("Hello World")
    } else if is("integer") {
        Reply::Integer(12345)
    } else if is("double") {
        // Redis's sample value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        Reply::Double(3.141)
    } else if is("bignum") {
        const BIGNUM: &str = "1234567999999999999999999999999999999";
        Reply::BigNumber(Bytes::from_static(BIGNUM.as_bytes()))
    } else if is("null") {
        Reply::Null
    } else if is("array") {
        Reply::Array(ints())
    } else if is("set") {
        Reply::Set(ints())
    } else if is("map") {
        Reply::Map(
            (0..3)
                .map(|j| (Reply::Integer(j), Reply::Boolean(j == 1)))
                .collect(),
        )
    } else if is("attrib") {
        Reply::Attribute(
            vec![(
                Reply::bulk("key-popularity"),
                Reply::Array(vec![Reply::bulk("key:123"), Reply::Integer(90)]),
            )],
            Box::new(Reply::bulk("Some real reply following the attribute")),
        )
    } else if is("push") {
        if !resp3 {
            return Err(CmdError::other(
                "ERR RESP2 is not supported by this command",
            ));
        }
        // A push is not the command's reply, so a real reply follows it (Redis does the same,
        // for clients that skip pushes).
        let mut out = BytesMut::new();
        Reply::Push(vec![Reply::bulk("server-cpu-usage"), Reply::Integer(42)])
            .encode(proto, &mut out);
        Reply::bulk("Some real reply following the push reply").encode(proto, &mut out);
        Reply::Raw(out.freeze())
    } else if is("true") {
        Reply::Boolean(true)
    } else if is("false") {
        Reply::Boolean(false)
    } else if is("verbatim") {
        Reply::Verbatim(Bytes::from_static(b"This is a verbatim\nstring"))
    } else {
        return Err(CmdError::other(PROTOCOL_TYPES_ERROR));
    };
    Ok(reply)
}

/// `DEBUG QUICKLIST-PACKED-THRESHOLD <size>`: in Redis, the element size from which a quicklist
/// stores an element in a plain node of its own instead of a listpack (the suite lowers it to
/// test large elements cheaply).
///
/// keyslot has one list representation (a deque of strings, no quicklist nodes), so the value
/// has no effect here. The argument is still checked with Redis's rule (a memory value, at most
/// 4 GB - 1 MB; 0 restores the default), so the same bad argument gets the same error.
pub fn quicklist_packed_threshold(arg: &[u8]) -> CmdResult {
    const MAX_BYTES: u64 = (1 << 32) - (1 << 20);
    match memtoull(arg) {
        Some(size) if size <= MAX_BYTES => Ok(Reply::ok()),
        _ => Err(CmdError::other(
            "ERR argument must be a memory value bigger than 1 and smaller than 4gb",
        )),
    }
}

/// Redis's `memtoull`: digits (possibly none, which read as 0) and an optional unit
/// b/k/kb/m/mb/g/gb (k = 1000, kb = 1024), case-insensitive; no sign. Like the C code, a
/// number too large saturates and the multiplication wraps.
fn memtoull(arg: &[u8]) -> Option<u64> {
    if arg.first() == Some(&b'-') {
        return None;
    }
    let digits = arg.iter().take_while(|c| c.is_ascii_digit()).count();
    let (num, unit) = arg.split_at(digits);
    let unit = unit.to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let value = num.iter().fold(0u64, |v, &c| {
        v.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .unwrap_or(u64::MAX)
    });
    Some(value.wrapping_mul(mul))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: CmdResult, proto: Protocol) -> String {
        let r = r.unwrap_or_else(|e| e.to_reply());
        String::from_utf8_lossy(&r.to_bytes(proto)).into_owned()
    }

    #[test]
    fn protocol_samples_match_redis() {
        let p3 = Protocol::Resp3;
        let p2 = Protocol::Resp2;
        assert_eq!(
            text(protocol(p3, b"bignum"), p3),
            "(1234567999999999999999999999999999999\r\n"
        );
        assert_eq!(
            text(protocol(p2, b"bignum"), p2),
            "$37\r\n1234567999999999999999999999999999999\r\n"
        );
        assert_eq!(
            text(protocol(p3, b"ATTRIB"), p3),
            "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n"
        );
        assert_eq!(
            text(protocol(p2, b"attrib"), p2),
            "$39\r\nSome real reply following the attribute\r\n"
        );
        assert_eq!(
            text(protocol(p2, b"push"), p2),
            "-ERR RESP2 is not supported by this command\r\n"
        );
        assert_eq!(text(protocol(p3, b"double"), p3), ",3.141\r\n");
        assert_eq!(
            text(protocol(p3, b"map"), p3),
            "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
        );
    }

    #[test]
    fn packed_threshold_is_checked_like_redis() {
        assert!(quicklist_packed_threshold(b"1K").is_ok());
        assert!(quicklist_packed_threshold(b"0").is_ok());
        assert!(quicklist_packed_threshold(b"4093mb").is_ok());
        assert!(quicklist_packed_threshold(b"4gb").is_err());
        assert!(quicklist_packed_threshold(b"-1").is_err());
        assert!(quicklist_packed_threshold(b"1x").is_err());
    }
}

//! A script comparator for compatibility tests: the same command lines go to a keyslot-server and
//! to a real redis-server 7.0.15 over raw RESP2 and RESP3 connections, and every reply must be
//! identical byte for byte, except where a line says otherwise:
//!
//! - `~ CMD`: an unordered reply (SMEMBERS, SINTER, ...): the same elements in any order.
//! - `~p CMD`: an unordered reply of pairs (HGETALL, HRANDFIELD ... WITHVALUES as a whole hash).
//! - `? CMD`: a random reply (SPOP, SRANDMEMBER, HRANDFIELD): the same shape (type, length, nil
//!   or not) only; what it did to the data is then checked by the exact lines after it.
//!
//! A test binary uses it with `mod common; mod compare_util;`.
#![allow(dead_code)]

use crate::common::{require_tools, resp_command, RawConn, Resp, Server, TempDir};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cmp {
    Exact,
    Unordered,
    UnorderedPairs,
    Shape,
}

/// Splits a line on spaces; `''` is an empty argument and `'a b'` one argument with a space.
pub fn split(line: &str) -> Vec<String> {
    split_quoted(line, '\'')
}

/// [`split`] with another quote character (`"` where arguments hold `'`, as Lua code does).
pub fn split_quoted(line: &str, quote: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            q if q == quote => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

pub fn parse_line(line: &str) -> (Cmp, Vec<String>) {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("~p ") {
        (Cmp::UnorderedPairs, split(rest))
    } else if let Some(rest) = line.strip_prefix("~ ") {
        (Cmp::Unordered, split(rest))
    } else if let Some(rest) = line.strip_prefix("? ") {
        (Cmp::Shape, split(rest))
    } else {
        (Cmp::Exact, split(line))
    }
}

/// A reply with its aggregates' elements sorted (pairs kept together when `pairs`).
pub fn normalize(r: &Resp, pairs: bool) -> String {
    let sorted = |items: &[Resp]| -> Vec<String> {
        let mut v: Vec<String> = if pairs {
            items
                .chunks(2)
                .map(|c| format!("{:?}", c))
                .collect::<Vec<_>>()
        } else {
            // Nested aggregates (SSCAN's item list) are normalized too.
            items.iter().map(|i| normalize(i, false)).collect()
        };
        v.sort();
        v
    };
    match r {
        Resp::Array(Some(items)) => {
            // RESP3 pairs come as nested arrays: sort those as units.
            format!("array{:?}", sorted(items))
        }
        Resp::Set(items) => format!("set{:?}", sorted(items)),
        Resp::Map(pairs) => {
            let mut v: Vec<String> = pairs.iter().map(|p| format!("{p:?}")).collect();
            v.sort();
            format!("map{v:?}")
        }
        other => format!("{other:?}"),
    }
}

/// The shape of a random reply: its type, length, and the shapes of its elements' types.
pub fn shape(r: &Resp) -> String {
    match r {
        Resp::Array(Some(items)) => format!(
            "array[{}]{:?}",
            items.len(),
            items.first().map(shape).unwrap_or_default()
        ),
        Resp::Set(items) => format!(
            "set[{}]{:?}",
            items.len(),
            items.first().map(shape).unwrap_or_default()
        ),
        Resp::Map(p) => format!("map[{}]", p.len()),
        Resp::Bulk(Some(_)) => "bulk".into(),
        Resp::Double(_) => "double".into(),
        other => format!("{other:?}"),
    }
}

/// Runs `script` (one command a line, `#` comments) on both servers in RESP2 and in RESP3
/// (after FLUSHALL each time); returns every difference.
pub fn compare(keyslot: &Server, redis: &Server, script: &str) -> Vec<String> {
    let mut diffs = Vec::new();
    for proto in [2, 3] {
        let mut k = RawConn::connect(keyslot.port);
        let mut r = RawConn::connect(redis.port);
        for c in [&mut k, &mut r] {
            c.call(&["FLUSHALL"]);
            if proto == 3 {
                c.call(&["HELLO", "3"]);
            }
        }
        for line in script.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (cmp, args) = parse_line(line);
            k.send(&resp_command(&args));
            r.send(&resp_command(&args));
            let (kr, kraw) = k.read_reply();
            let (rr, rraw) = r.read_reply();
            let same = match cmp {
                Cmp::Exact => kraw == rraw,
                Cmp::Unordered => normalize(&kr, false) == normalize(&rr, false),
                Cmp::UnorderedPairs => normalize(&kr, true) == normalize(&rr, true),
                Cmp::Shape => shape(&kr) == shape(&rr),
            };
            if !same {
                diffs.push(format!(
                    "RESP{proto} {line}\n   keyslot: {:?}\n   redis:   {:?}",
                    String::from_utf8_lossy(&kraw),
                    String::from_utf8_lossy(&rraw)
                ));
            }
        }
    }
    diffs
}

pub struct Pair {
    pub keyslot: Server,
    pub redis: Server,
    pub _dir: TempDir,
}

pub fn start(tag: &str) -> Option<Pair> {
    if !require_tools(tag, &["redis-server"]) {
        return None;
    }
    let dir = TempDir::new(tag);
    let keyslot = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let redis = Server::redis(&dir, &[]);
    Some(Pair {
        keyslot,
        redis,
        _dir: dir,
    })
}

/// Both servers with DEBUG enabled (Redis's suite servers have it: DEBUG SLEEP, DEBUG
/// SET-ACTIVE-EXPIRE, DEBUG SET-DISABLE-DENY-SCRIPTS).
pub fn start_debug(tag: &str) -> Option<Pair> {
    if !require_tools(tag, &["redis-server"]) {
        return None;
    }
    let dir = TempDir::new(tag);
    let debug = ["--enable-debug-command", "yes"];
    let keyslot = Server::keyslot(
        &dir,
        &["--save", "", "--appendonly", "no", debug[0], debug[1]],
    );
    let redis = Server::redis(&dir, &debug);
    Some(Pair {
        keyslot,
        redis,
        _dir: dir,
    })
}

pub fn run(tag: &str, script: &str) {
    let Some(p) = start(tag) else {
        return;
    };
    let diffs = compare(&p.keyslot, &p.redis, script);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

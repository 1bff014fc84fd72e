//! SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
//! [STORE destination], and SORT_RO (the same without STORE).
//!
//! Sorts a list, set or sorted set numerically (each element, or the value BY names, read as a
//! double) or with ALPHA as strings; `BY` a pattern without `*` does not sort at all (the
//! native order: list order, sorted-set order; a set's own order, or alphabetical when stored
//! or run from a script, as Redis forces for a stable result). `GET` patterns replace each
//! element by the string at the key the pattern names (`*` is the element, `key->field` reads a
//! hash field, `#` is the element itself). The option rules, the LIMIT clamping, the order of
//! ties and every error follow Redis's sort.c:
//!
//! - in cluster mode a BY pattern with `*` and any GET are refused (Redis 7.0 cannot know the
//!   slots of the keys they name);
//! - with ACL key restrictions the same options are refused unless the user may read every key;
//! - numeric sort breaks ties by comparing the elements as bytes; ALPHA compares as C's
//!   `strcoll` in the C locale (bytes up to the first NUL), or as plain bytes when storing.
//!
//! SORT without STORE changes nothing and is not replicated; with STORE it is replicated as
//! it is (a set's unsorted order is made alphabetical in that case, so replicas agree).

use super::keys::{expire_key, lookup_read};
use super::{flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::value::{own, ListValue};
use crate::db::Value;
use crate::resp::Reply;
use bytes::Bytes;
use std::cmp::Ordering;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sort",
        arity: -2,
        flags: flags::WRITE | flags::DENYOOM | flags::MOVABLE_KEYS,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Sort the elements in a list, set or sorted set",
        handler: sort,
    },
    CommandSpec {
        name: "sort_ro",
        arity: -2,
        // The keys BY / GET read are not known in advance (Redis marks it movablekeys too).
        flags: flags::READONLY | flags::MOVABLE_KEYS,
        keys: KeySpec::FIRST,
        group: "generic",
        summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        handler: sort_ro,
    },
];

/// The id scripts' commands run under (see `scripting::run`): SORT of a set BY a constant is
/// made alphabetical there, as Redis does for CLIENT_SCRIPT.
const SCRIPT_CLIENT_ID: u64 = u64::MAX;

/// The argv indexes of SORT's keys (Redis's sortGetKeys): the sorted key, and the last
/// `STORE destination`, skipping the arguments of LIMIT, GET and BY.
pub fn key_positions(argv: &[Bytes]) -> Vec<usize> {
    let mut out = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            store = Some(i + 1);
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            i += 1;
        }
        i += 1;
    }
    out.extend(store.filter(|&s| s < argv.len()));
    out
}

/// The parsed options.
#[derive(Debug, Default)]
struct Options {
    desc: bool,
    alpha: bool,
    /// LIMIT offset count (count -1: to the end).
    limit_start: i64,
    limit_count: i64,
    store: Option<Bytes>,
    /// BY pattern (None: the elements themselves).
    by: Option<Bytes>,
    /// BY a pattern without `*`: keep the native order.
    dont_sort: bool,
    /// GET patterns, in order.
    gets: Vec<Bytes>,
}

/// A LIMIT argument: Redis's getLongFromObjectOrReply.
fn limit_arg(arg: &[u8]) -> Result<i64, CmdError> {
    super::parse_i64(arg).ok_or(CmdError::NotInteger)
}

fn parse(ctx: &Ctx<'_>, argv: &[Bytes], readonly: bool) -> Result<Options, CmdError> {
    let mut o = Options {
        limit_count: -1,
        ..Options::default()
    };
    let cluster = ctx.node.cluster.is_some();
    // Only computed when a BY or GET pattern needs it.
    let full_key_access = || -> bool {
        let acl = &ctx.node.acl;
        match acl.users.get(&ctx.client.user) {
            Some(u) => {
                let spec = super::lookup(&argv[0]);
                spec.is_some_and(|s| crate::acl::unrestricted_key_read(u, s, argv))
            }
            None => false,
        }
    };
    let mut j = 2;
    while j < argv.len() {
        let a = &argv[j];
        let left = argv.len() - j - 1;
        if a.eq_ignore_ascii_case(b"asc") {
            o.desc = false;
        } else if a.eq_ignore_ascii_case(b"desc") {
            o.desc = true;
        } else if a.eq_ignore_ascii_case(b"alpha") {
            o.alpha = true;
        } else if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
            o.limit_start = limit_arg(&argv[j + 1])?;
            o.limit_count = limit_arg(&argv[j + 2])?;
            j += 2;
        } else if !readonly && a.eq_ignore_ascii_case(b"store") && left >= 1 {
            o.store = Some(argv[j + 1].clone());
            j += 1;
        } else if a.eq_ignore_ascii_case(b"by") && left >= 1 {
            let pattern = &argv[j + 1];
            o.by = Some(pattern.clone());
            if !pattern.contains(&b'*') {
                o.dont_sort = true;
            } else {
                if cluster {
                    return Err(CmdError::other(
                        "ERR BY option of SORT denied in Cluster mode.",
                    ));
                }
                if !full_key_access() {
                    return Err(CmdError::other(
                        "ERR BY option of SORT denied due to insufficient ACL permissions.",
                    ));
                }
            }
            j += 1;
        } else if a.eq_ignore_ascii_case(b"get") && left >= 1 {
            if cluster {
                return Err(CmdError::other(
                    "ERR GET option of SORT denied in Cluster mode.",
                ));
            }
            if !full_key_access() {
                return Err(CmdError::other(
                    "ERR GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.gets.push(argv[j + 1].clone());
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// What a pattern names for one element (Redis's lookupKeyByPattern): `#` is the element
/// itself; otherwise the first `*` is replaced by the element, and `->field` after it (with a
/// non-empty field) reads that hash field. None when the pattern has no `*`, the key is missing
/// or of another type, or the field is missing.
fn lookup_by_pattern(ctx: &mut Ctx<'_>, pattern: &[u8], element: &Bytes) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(element.clone());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after = &pattern[star + 1..];
    let field = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&at| at + 2 < after.len())
        .map(|at| (at, &after[at + 2..]));
    let postfix = match field {
        Some((at, _)) => &after[..at],
        None => after,
    };
    let mut key = Vec::with_capacity(star + element.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);
    let entry = lookup_read(ctx, &key)?;
    match (field, &entry.value) {
        (Some((_, f)), Value::Hash(h)) => h.get(f).cloned(),
        (None, Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A weight as Redis reads it with strtod: leading white space skipped, the whole rest a
/// number; the empty string is 0; NaN, overflow and underflow are errors (None).
fn parse_weight(b: &[u8]) -> Option<f64> {
    if b.is_empty() {
        return Some(0.0);
    }
    let start = b
        .iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    crate::db::value::zset::parse_score(&b[start..])
}

/// C's `strcmp` (what `strcoll` is in the C locale): bytes up to the first NUL.
fn c_string_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let cut = |s: &[u8]| -> usize { s.iter().position(|&c| c == 0).unwrap_or(s.len()) };
    a[..cut(a)].cmp(&b[..cut(b)])
}

/// One element to sort, with what it sorts by.
struct Item {
    element: Bytes,
    /// Numeric sort: the weight (0 when BY names a missing key).
    score: f64,
    /// ALPHA BY: the string BY named (None when missing: sorts first).
    by_value: Option<Bytes>,
}

fn sort(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    sort_generic(ctx, argv, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    sort_generic(ctx, argv, true)
}

/// The elements in their native order, and the start / end (inclusive) of the LIMIT window.
/// For a list or sorted set that is not sorted, only the window is loaded (and read backwards
/// for DESC), as Redis does; the window then starts at 0.
fn load(ctx: &mut Ctx<'_>, key: &[u8], o: &Options) -> Result<(Vec<Bytes>, i64, i64), CmdError> {
    let Some(entry) = lookup_read(ctx, key) else {
        let (start, end) = window(0, o);
        return Ok((Vec::new(), start, end));
    };
    let (elements, start, end) = match &entry.value {
        Value::List(l) => {
            let (start, end) = window(l.len() as i64, o);
            if o.dont_sort {
                let n = (end - start + 1).max(0) as usize;
                let from = start.max(0) as usize;
                let v: Vec<Bytes> = if o.desc {
                    l.iter().rev().skip(from).take(n).cloned().collect()
                } else {
                    l.iter().skip(from).take(n).cloned().collect()
                };
                (v, 0, end - start)
            } else {
                (l.iter().cloned().collect(), start, end)
            }
        }
        Value::Set(s) => {
            let (start, end) = window(s.len() as i64, o);
            (s.iter().cloned().collect(), start, end)
        }
        Value::ZSet(z) => {
            let (start, end) = window(z.len() as i64, o);
            if o.dont_sort {
                let n = (end - start + 1).max(0) as usize;
                let from = start.max(0) as usize;
                let v: Vec<Bytes> = if o.desc {
                    z.iter()
                        .rev()
                        .skip(from)
                        .take(n)
                        .map(|(m, _)| m.clone())
                        .collect()
                } else {
                    z.iter()
                        .skip(from)
                        .take(n)
                        .map(|(m, _)| m.clone())
                        .collect()
                };
                (v, 0, end - start)
            } else {
                (z.iter().map(|(m, _)| m.clone()).collect(), start, end)
            }
        }
        _ => return Err(CmdError::WrongType),
    };
    Ok((elements, start, end))
}

/// Redis's LIMIT clamping against `len` elements: the inclusive window (end < start: empty).
fn window(len: i64, o: &Options) -> (i64, i64) {
    let mut start = o.limit_start.max(0).min(len);
    let count = o.limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

fn sort_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], readonly: bool) -> CmdResult {
    let mut o = parse(ctx, argv, readonly)?;
    let is_set = matches!(
        {
            expire_key(ctx, &argv[1]);
            ctx.db.peek(&argv[1]).map(|e| &e.value)
        },
        Some(Value::Set(_))
    );
    if o.dont_sort && is_set && (o.store.is_some() || ctx.client.id == SCRIPT_CLIENT_ID) {
        // A set's own order is not the same on a replica or in a script's replay: sort it.
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }
    let (elements, start, end) = load(ctx, &argv[1], &o)?;
    let mut items: Vec<Item> = elements
        .into_iter()
        .map(|element| Item {
            element,
            score: 0.0,
            by_value: None,
        })
        .collect();
    let mut conversion_error = false;
    if !o.dont_sort {
        for item in items.iter_mut() {
            let by = match &o.by {
                Some(pattern) => match lookup_by_pattern(ctx, pattern, &item.element) {
                    Some(v) => v,
                    None => continue,
                },
                None => item.element.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    item.by_value = Some(by);
                }
            } else {
                match parse_weight(&by) {
                    Some(w) => item.score = w,
                    None => conversion_error = true,
                }
            }
        }
        let storing = o.store.is_some();
        let by_pattern = o.by.is_some();
        let compare = |a: &Item, b: &Item| -> Ordering {
            let cmp = if !o.alpha {
                a.score
                    .partial_cmp(&b.score)
                    .filter(|c| c.is_ne())
                    .unwrap_or_else(|| a.element.cmp(&b.element))
            } else if by_pattern {
                match (&a.by_value, &b.by_value) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) if storing => x.cmp(y),
                    (Some(x), Some(y)) => c_string_cmp(x, y),
                }
            } else if storing {
                a.element.cmp(&b.element)
            } else {
                c_string_cmp(&a.element, &b.element)
            };
            if o.desc {
                cmp.reverse()
            } else {
                cmp
            }
        };
        items.sort_by(compare);
    }
    if conversion_error {
        return Err(CmdError::other(
            "ERR One or more scores can't be converted into double",
        ));
    }
    let window: &[Item] = if end >= start && start >= 0 {
        &items[start as usize..=(end as usize).min(items.len().saturating_sub(1))]
    } else {
        &[]
    };
    match o.store.take() {
        None => {
            let mut out = Vec::with_capacity(window.len() * o.gets.len().max(1));
            for item in window {
                if o.gets.is_empty() {
                    out.push(Reply::Bulk(item.element.clone()));
                }
                for pattern in &o.gets {
                    out.push(
                        lookup_by_pattern(ctx, pattern, &item.element)
                            .map_or(Reply::Null, Reply::Bulk),
                    );
                }
            }
            // Nothing changed: nothing to replicate.
            ctx.client.rewrite = Some(Vec::new());
            Ok(Reply::Array(out))
        }
        Some(dst) => {
            let mut list = ListValue::default();
            for item in window {
                if o.gets.is_empty() {
                    list.push_back(item.element.clone());
                }
                for pattern in &o.gets {
                    let v = lookup_by_pattern(ctx, pattern, &item.element).unwrap_or_default();
                    list.push_back(v);
                }
            }
            let n = list.len();
            expire_key(ctx, &dst);
            if n > 0 {
                ctx.db.insert(own(&dst), Value::List(list), None);
                ctx.notify(crate::notify::LIST, "sortstore", &dst);
            } else if ctx.db.remove(&dst).is_none() {
                // Nothing was stored and nothing deleted: nothing to replicate.
                ctx.client.rewrite = Some(Vec::new());
            } else {
                ctx.notify(crate::notify::GENERIC, "del", &dst);
            }
            Ok(Reply::Integer(n as i64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testing::TestNode;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn store_key_is_found_like_redis() {
        assert_eq!(key_positions(&args(&["sort", "a"])), vec![1]);
        assert_eq!(
            key_positions(&args(&[
                "sort", "a", "store", "b", "limit", "0", "1", "store", "c"
            ])),
            vec![1, 8]
        );
        assert_eq!(
            key_positions(&args(&["sort", "a", "get", "store", "by", "x"])),
            vec![1]
        );
    }

    #[test]
    fn limit_window_matches_redis() {
        let o = |start, count| Options {
            limit_start: start,
            limit_count: count,
            ..Options::default()
        };
        assert_eq!(window(5, &o(0, -1)), (0, 4));
        assert_eq!(window(5, &o(1, 2)), (1, 2));
        assert_eq!(window(5, &o(7, 2)), (4, 3));
        assert_eq!(window(5, &o(-3, 10)), (0, 4));
        assert_eq!(window(0, &o(0, -1)), (-1, -2));
    }

    #[test]
    fn sorts_like_redis() {
        let mut t = TestNode::new();
        t.run_text(&["RPUSH", "l", "3", "1", "2", "10"]);
        assert_eq!(
            t.run_text(&["SORT", "l"]),
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"
        );
        assert_eq!(
            t.run_text(&["SORT", "l", "ALPHA", "DESC", "LIMIT", "0", "2"]),
            "*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
        );
        t.run_text(&["SET", "w_1", "9"]);
        t.run_text(&["HSET", "h_2", "f", "x"]);
        assert_eq!(
            t.run_text(&["SORT", "l", "BY", "w_*", "GET", "#", "GET", "h_*->f"]),
            "*8\r\n$2\r\n10\r\n$-1\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\n3\r\n$-1\r\n$1\r\n1\r\n$-1\r\n"
        );
        t.run_text(&["RPUSH", "bad", "a"]);
        assert_eq!(
            t.run_text(&["SORT", "bad"]),
            "-ERR One or more scores can't be converted into double\r\n"
        );
        assert_eq!(t.run_text(&["SORT", "l", "STORE", "dst"]), ":4\r\n");
        assert_eq!(
            t.run_text(&["SORT_RO", "l", "STORE", "dst"]),
            "-ERR syntax error\r\n"
        );
    }
}

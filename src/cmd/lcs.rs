//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common subsequence
//! of two strings.
//!
//! The classic dynamic-programming table, then a walk back from its corner that collects the
//! subsequence and, for IDX, the ranges of contiguous matches from the last to the first (the
//! order, the MINMATCHLEN filter and the "len" entry follow Redis's t_string.c so that replies
//! are the same byte for byte, including which of several equally long subsequences is chosen).

use super::keys::lookup_read;
use super::{arg_i64, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::Value;
use crate::resp::Reply;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "lcs",
    arity: -3,
    flags: flags::READONLY,
    keys: KeySpec {
        first: 1,
        last: 2,
        step: 1,
    },
    group: "string",
    summary: "Find longest common substring",
    handler: lcs,
}];

/// The options after the two keys.
#[derive(Debug, Default)]
struct Options {
    /// LEN: only the length.
    len: bool,
    /// IDX: the match ranges and the length.
    idx: bool,
    /// WITHMATCHLEN: each IDX range also carries its length.
    with_match_len: bool,
    /// MINMATCHLEN: ranges shorter than this are left out (negative reads as 0).
    min_match_len: u64,
}

impl Options {
    fn parse(args: &[Bytes]) -> Result<Options, CmdError> {
        let mut o = Options::default();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let more = i + 1 < args.len();
            if a.eq_ignore_ascii_case(b"idx") {
                o.idx = true;
            } else if a.eq_ignore_ascii_case(b"len") {
                o.len = true;
            } else if a.eq_ignore_ascii_case(b"withmatchlen") {
                o.with_match_len = true;
            } else if a.eq_ignore_ascii_case(b"minmatchlen") && more {
                o.min_match_len = arg_i64(&args[i + 1])?.max(0) as u64;
                i += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            i += 1;
        }
        if o.len && o.idx {
            return Err(CmdError::other(
                "ERR If you want both the length and indexes, please just use IDX.",
            ));
        }
        Ok(o)
    }
}

/// A string key's bytes for LCS: empty when missing; both keys are looked up before either
/// type is checked, as Redis does.
fn string_of(v: Option<&Value>) -> Result<Bytes, ()> {
    match v {
        None => Ok(Bytes::new()),
        Some(Value::Str(b)) => Ok(b.clone()),
        Some(_) => Err(()),
    }
}

fn lcs(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let a = lookup_read(ctx, &argv[1]).map(|e| string_of(Some(&e.value)));
    let b = lookup_read(ctx, &argv[2]).map(|e| string_of(Some(&e.value)));
    let (a, b) = match (a.unwrap_or(Ok(Bytes::new())), b.unwrap_or(Ok(Bytes::new()))) {
        (Ok(a), Ok(b)) => (a, b),
        _ => {
            return Err(CmdError::other(
                "ERR The specified keys must contain string values",
            ))
        }
    };
    let opts = Options::parse(&argv[3..])?;
    if a.len() as u64 >= u64::from(u32::MAX) - 1 || b.len() as u64 >= u64::from(u32::MAX) - 1 {
        return Err(CmdError::other("ERR String too long for LCS"));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > ctx.node.config.proto_max_bulk_len {
        return Err(CmdError::other(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let table = Table::build(&a, &b);
    Ok(table.reply(&a, &b, &opts))
}

/// The LCS lengths of every pair of prefixes: `at(i, j)` is the length for `a[..i]`, `b[..j]`.
struct Table {
    cells: Vec<u32>,
    width: usize,
}

impl Table {
    fn build(a: &[u8], b: &[u8]) -> Table {
        let width = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * width];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * width + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * width + j - 1] + 1
                } else {
                    cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                };
            }
        }
        Table { cells, width }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    /// Walks back from the corner: the subsequence, and the IDX reply's ranges.
    fn reply(&self, a: &[u8], b: &[u8], opts: &Options) -> Reply {
        let total = self.at(a.len(), b.len());
        if opts.len {
            return Reply::Integer(i64::from(total));
        }
        let mut out = vec![0u8; total as usize];
        let mut left = total as usize;
        let mut ranges = Vec::new();
        // The current range of contiguous matches: (a start, a end, b start, b end).
        let mut range: Option<(usize, usize, usize, usize)> = None;
        let (mut i, mut j) = (a.len(), b.len());
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                out[left - 1] = a[i - 1];
                range = match range {
                    None => Some((i - 1, i - 1, j - 1, j - 1)),
                    Some((a_start, a_end, b_start, b_end)) if a_start == i && b_start == j => {
                        Some((a_start - 1, a_end, b_start - 1, b_end))
                    }
                    Some(r) => {
                        emit = true;
                        Some(r)
                    }
                };
                // A match at the first byte of either string ends the walk.
                if matches!(range, Some((0, _, _, _)) | Some((_, _, 0, _))) {
                    emit = true;
                }
                left -= 1;
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = range.is_some();
            }
            if emit {
                if let Some((a_start, a_end, b_start, b_end)) = range.take() {
                    let match_len = (a_end - a_start + 1) as u64;
                    if opts.min_match_len == 0 || match_len >= opts.min_match_len {
                        let pair = |s: usize, e: usize| {
                            Reply::Array(vec![Reply::Integer(s as i64), Reply::Integer(e as i64)])
                        };
                        let mut item = vec![pair(a_start, a_end), pair(b_start, b_end)];
                        if opts.with_match_len {
                            item.push(Reply::Integer(match_len as i64));
                        }
                        ranges.push(Reply::Array(item));
                    }
                }
            }
        }
        if opts.idx {
            Reply::Map(vec![
                (Reply::bulk("matches"), Reply::Array(ranges)),
                (Reply::bulk("len"), Reply::Integer(i64::from(total))),
            ])
        } else {
            Reply::Bulk(Bytes::from(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::node::testing::TestNode;

    #[test]
    fn lcs_matches_redis_examples() {
        let mut t = TestNode::new();
        t.run_text(&["SET", "key1", "ohmytext"]);
        t.run_text(&["SET", "key2", "mynewtext"]);
        assert_eq!(t.run_text(&["LCS", "key1", "key2"]), "$6\r\nmytext\r\n");
        assert_eq!(t.run_text(&["LCS", "key1", "key2", "LEN"]), ":6\r\n");
        assert_eq!(
            t.run_text(&["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
            "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
        );
        assert_eq!(
            t.run_text(&["LCS", "key1", "key2", "IDX", "LEN"]),
            "-ERR If you want both the length and indexes, please just use IDX.\r\n"
        );
    }
}

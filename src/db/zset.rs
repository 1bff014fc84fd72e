//! The sorted set value, and score parsing / printing as Redis does them.
//!
//! A [`ZSet`] has two forms, as Redis's has (listpack, then skiplist + dict):
//!
//! - **Small** (up to [`SMALL_LEN`] members of at most [`SMALL_MEMBER`] bytes): one vector of
//!   (member, score) sorted by (score, member). 40 bytes per member and one allocation; ZADD is
//!   a binary search plus a short memmove, rank and index ranges are direct.
//! - **Big**: `scores`, member -> score in an insertion-ordered hash map (`indexmap`): ZSCORE,
//!   ZMSCORE, ZADD's "already there?" and ZREM are O(1), and ZSCAN walks it by index; plus
//!   `tree`, a `BTreeSet` of (score, member), the order every range command answers in. ZADD
//!   is O(log n); ZRANGE by score or lex seeks in O(log n) and then walks the B-tree's leaves,
//!   which hold many keys per node: far fewer cache misses per element than a skip list's
//!   pointer chasing, which is what ZRANGE and ZPOPMIN spend their time on. The price is rank:
//!   the standard B-tree keeps no subtree sizes, so ZRANK and ZRANGE by index cost O(rank)
//!   (walked from whichever end is nearer) where Redis's spans make them O(log n). ZRANGE 0 N
//!   and ZPOPMIN / ZPOPMAX, the common cases, touch one end and stay O(log n + N).
//!
//! Scores are never NaN, and -0 is stored as 0 (what Redis's compact encoding does), so
//! `f64::total_cmp` orders them as Redis does; equal scores order by member bytes (memcmp).

use super::{FixedState, SMALL_LEN};
use bytes::Bytes;
use indexmap::IndexMap;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

/// One element in score order.
#[derive(Debug, Clone)]
pub struct ZKey {
    score: f64,
    member: Bytes,
}

impl PartialEq for ZKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ZKey {}

impl PartialOrd for ZKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ZKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| self.member.cmp(&other.member))
    }
}

/// A score interval (ZRANGEBYSCORE's `(1.5`, `-inf`, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub minex: bool,
    pub max: f64,
    pub maxex: bool,
}

impl ScoreRange {
    fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    /// True if no score can be inside.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lex interval (`-`, `+`, `[a`, `(a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Bytes),
    Excl(Bytes),
}

/// A member interval (ZRANGEBYLEX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(b) => m >= b.as_ref(),
            LexBound::Excl(b) => m > b.as_ref(),
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(b) => m <= b.as_ref(),
            LexBound::Excl(b) => m < b.as_ref(),
        }
    }

    /// True if no member can be inside (Redis's zslLexValue checks).
    pub fn is_empty(&self) -> bool {
        use LexBound::*;
        match (&self.min, &self.max) {
            (PosInf, _) | (_, NegInf) => true,
            (NegInf, _) | (_, PosInf) => false,
            (Incl(a), Incl(b)) => a > b,
            (Incl(a), Excl(b)) | (Excl(a), Incl(b)) | (Excl(a), Excl(b)) => a >= b,
        }
    }
}

/// Members longer than this force the big form (Redis's `zset-max-listpack-value`).
pub const SMALL_MEMBER: usize = 64;

/// A sorted set (see the module doc).
#[derive(Debug, Clone)]
pub struct ZSet {
    repr: ZRepr,
    /// Heap bytes of the members (see `db::mem`), kept as they come and go so that the
    /// keyspace's memory counter never walks a sorted set.
    payload: usize,
}

#[derive(Debug, Clone)]
enum ZRepr {
    /// Sorted by (score, member).
    Small(Vec<(Bytes, f64)>),
    /// Boxed, so that a small set's header stays small.
    Big(Box<BigZ>),
}

#[derive(Debug, Clone)]
struct BigZ {
    scores: IndexMap<Bytes, f64, FixedState>,
    tree: BTreeSet<ZKey>,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            repr: ZRepr::Small(Vec::new()),
            payload: 0,
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((a, x), (b, y))| a == b && x.total_cmp(&y) == Ordering::Equal)
    }
}

/// (score, member) order.
fn cmp_entry(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .total_cmp(&b_score)
        .then_with(|| a_member.cmp(b_member))
}

/// Iterator over (member, score) in score order.
pub enum ZIter<'a> {
    Small(std::slice::Iter<'a, (Bytes, f64)>),
    Big(std::collections::btree_set::Iter<'a, ZKey>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a Bytes, f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Small(it) => it.next().map(|(m, s)| (m, *s)),
            ZIter::Big(it) => it.next().map(|k| (&k.member, k.score)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            ZIter::Small(it) => it.size_hint(),
            ZIter::Big(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for ZIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Small(it) => it.next_back().map(|(m, s)| (m, *s)),
            ZIter::Big(it) => it.next_back().map(|k| (&k.member, k.score)),
        }
    }
}

fn pick(k: &ZKey) -> (&Bytes, f64) {
    (&k.member, k.score)
}

/// Applies offset / limit to an already positioned walk.
fn window<'a>(
    it: impl Iterator<Item = (&'a Bytes, f64)>,
    offset: usize,
    limit: Option<usize>,
) -> Vec<(Bytes, f64)> {
    it.skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .map(|(m, s)| (m.clone(), s))
        .collect()
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            ZRepr::Small(v) => v.len(),
            ZRepr::Big(b) => b.scores.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True in the compact form (ZSCAN answers whole, in score order, as Redis's listpack).
    pub fn is_small(&self) -> bool {
        matches!(self.repr, ZRepr::Small(_))
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            ZRepr::Small(v) => v.iter().find(|(m, _)| m == member).map(|(_, s)| *s),
            ZRepr::Big(b) => b.scores.get(member).copied(),
        }
    }

    /// Turns the compact form into the big one.
    fn grow(&mut self) {
        if let ZRepr::Small(v) = &mut self.repr {
            let mut scores = IndexMap::with_capacity_and_hasher(v.len() + 1, FixedState);
            let mut tree = BTreeSet::new();
            for (member, score) in v.drain(..) {
                scores.insert(member.clone(), score);
                tree.insert(ZKey { score, member });
            }
            self.repr = ZRepr::Big(Box::new(BigZ { scores, tree }));
        }
    }

    /// Sets a member's score; returns the previous score if it was there. `score` must not be
    /// NaN.
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        let cost = crate::db::mem::bytes_cost(&member);
        let prev = self.insert_repr(member, score);
        if prev.is_none() {
            self.payload += cost;
        }
        prev
    }

    fn insert_repr(&mut self, member: Bytes, score: f64) -> Option<f64> {
        let score = if score == 0.0 { 0.0 } else { score };
        if let ZRepr::Small(v) = &mut self.repr {
            let prev = match v.iter().position(|(m, _)| *m == member) {
                Some(i) => {
                    let prev = v[i].1;
                    if prev.total_cmp(&score) == Ordering::Equal {
                        return Some(prev);
                    }
                    v.remove(i);
                    Some(prev)
                }
                None => None,
            };
            if prev.is_some() || (v.len() < SMALL_LEN && member.len() <= SMALL_MEMBER) {
                let pos =
                    v.partition_point(|(m, s)| cmp_entry(*s, m, score, &member) == Ordering::Less);
                v.insert(pos, (member, score));
                return prev;
            }
            self.grow();
        }
        let ZRepr::Big(big) = &mut self.repr else {
            return None;
        };
        let BigZ { scores, tree } = &mut **big;
        match scores.get_mut(&member) {
            Some(old) => {
                let prev = *old;
                if prev.total_cmp(&score) != Ordering::Equal {
                    *old = score;
                    if let Some(mut k) = tree.take(&ZKey {
                        score: prev,
                        member,
                    }) {
                        k.score = score;
                        tree.insert(k);
                    }
                }
                Some(prev)
            }
            None => {
                scores.insert(member.clone(), score);
                tree.insert(ZKey { score, member });
                None
            }
        }
    }

    /// Removes a member; its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let prev = self.remove_repr(member);
        if prev.is_some() {
            self.payload = self
                .payload
                .saturating_sub(crate::db::mem::bytes_cost(member));
        }
        prev
    }

    /// Heap bytes of the members (see `db::mem`).
    pub fn payload_bytes(&self) -> usize {
        self.payload
    }

    fn remove_repr(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            ZRepr::Small(v) => {
                let i = v.iter().position(|(m, _)| m == member)?;
                Some(v.remove(i).1)
            }
            ZRepr::Big(b) => {
                let (_, m, score) = b.scores.swap_remove_full(member)?;
                b.tree.remove(&ZKey { score, member: m });
                Some(score)
            }
        }
    }

    /// Removes and returns the lowest (`max == false`) or highest element.
    pub fn pop(&mut self, max: bool) -> Option<(Bytes, f64)> {
        let popped = self.pop_repr(max);
        if let Some((m, _)) = &popped {
            self.payload = self.payload.saturating_sub(crate::db::mem::bytes_cost(m));
        }
        popped
    }

    fn pop_repr(&mut self, max: bool) -> Option<(Bytes, f64)> {
        match &mut self.repr {
            ZRepr::Small(v) if max => v.pop(),
            ZRepr::Small(v) => (!v.is_empty()).then(|| v.remove(0)),
            ZRepr::Big(b) => {
                let k = if max {
                    b.tree.pop_last()?
                } else {
                    b.tree.pop_first()?
                };
                b.scores.swap_remove(&k.member);
                Some((k.member, k.score))
            }
        }
    }

    /// The 0-based rank in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            ZRepr::Small(v) => v.iter().position(|(m, _)| m == member),
            ZRepr::Big(b) => {
                let score = *b.scores.get(member)?;
                let len = b.scores.len();
                // Walk from both ends at once: O(min(rank, len - rank)).
                let is_it = |k: &ZKey| k.score.total_cmp(&score).is_eq() && k.member == member;
                let (mut fwd, mut back) = (b.tree.iter(), b.tree.iter().rev());
                for i in 0..len {
                    if fwd.next().is_some_and(is_it) {
                        return Some(i);
                    }
                    if back.next().is_some_and(is_it) {
                        return Some(len - 1 - i);
                    }
                }
                None
            }
        }
    }

    /// Every element in ascending order.
    pub fn iter(&self) -> ZIter<'_> {
        match &self.repr {
            ZRepr::Small(v) => ZIter::Small(v.iter()),
            ZRepr::Big(b) => ZIter::Big(b.tree.iter()),
        }
    }

    /// The element at position `i` of ZSCAN's walk (insertion order when big, score order
    /// when small).
    pub fn get_index(&self, i: usize) -> Option<(&Bytes, f64)> {
        match &self.repr {
            ZRepr::Small(v) => v.get(i).map(|(m, s)| (m, *s)),
            ZRepr::Big(b) => b.scores.get_index(i).map(|(m, s)| (m, *s)),
        }
    }

    /// Elements of ranks `start..=end` (already clamped to `0..len`), ascending, or counted from
    /// the top when `rev`.
    pub fn range_by_rank(&self, start: usize, end: usize, rev: bool) -> Vec<(Bytes, f64)> {
        let len = self.len();
        if start > end || start >= len {
            return Vec::new();
        }
        let end = end.min(len - 1);
        let n = end - start + 1;
        if let ZRepr::Small(v) = &self.repr {
            return if rev {
                v[len - 1 - end..=len - 1 - start]
                    .iter()
                    .rev()
                    .cloned()
                    .collect()
            } else {
                v[start..=end].to_vec()
            };
        }
        // Walk from the nearer end.
        if start <= len - 1 - end {
            if rev {
                window(self.iter().rev().skip(start), 0, Some(n))
            } else {
                window(self.iter().skip(start), 0, Some(n))
            }
        } else {
            let mut v = if rev {
                window(self.iter().skip(len - 1 - end), 0, Some(n))
            } else {
                window(self.iter().rev().skip(len - 1 - end), 0, Some(n))
            };
            v.reverse();
            v
        }
    }

    /// Elements with scores in `r`, ascending (descending when `rev`), skipping `offset` and
    /// taking at most `limit` (None: all).
    pub fn range_by_score(
        &self,
        r: &ScoreRange,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Vec<(Bytes, f64)> {
        if r.is_empty() {
            return Vec::new();
        }
        let tree = match &self.repr {
            ZRepr::Small(_) => {
                return if rev {
                    let it = self
                        .iter()
                        .rev()
                        .skip_while(|(_, s)| !r.lte_max(*s))
                        .take_while(|(_, s)| r.gte_min(*s));
                    window(it, offset, limit)
                } else {
                    let it = self
                        .iter()
                        .skip_while(|(_, s)| !r.gte_min(*s))
                        .take_while(|(_, s)| r.lte_max(*s));
                    window(it, offset, limit)
                };
            }
            ZRepr::Big(b) => &b.tree,
        };
        if rev {
            let upper = if r.max == f64::INFINITY {
                Bound::Unbounded
            } else {
                Bound::Excluded(ZKey {
                    score: r.max.next_up(),
                    member: Bytes::new(),
                })
            };
            let it = tree
                .range((Bound::Unbounded, upper))
                .rev()
                .skip_while(|k| !r.lte_max(k.score))
                .take_while(|k| r.gte_min(k.score))
                .map(pick);
            window(it, offset, limit)
        } else {
            let lower = ZKey {
                score: if r.min == 0.0 { -0.0 } else { r.min },
                member: Bytes::new(),
            };
            let it = tree
                .range((Bound::Included(lower), Bound::Unbounded))
                .skip_while(|k| !r.gte_min(k.score))
                .take_while(|k| r.lte_max(k.score))
                .map(pick);
            window(it, offset, limit)
        }
    }

    /// Elements with `score >= min`, ascending, walked lazily: GEOSEARCH reads one geohash box
    /// (a score interval) at a time and may stop early.
    pub fn iter_from_score(&self, min: f64) -> Box<dyn Iterator<Item = (&Bytes, f64)> + '_> {
        match &self.repr {
            ZRepr::Small(v) => {
                let pos = v.partition_point(|(_, s)| *s < min);
                Box::new(v[pos..].iter().map(|(m, s)| (m, *s)))
            }
            ZRepr::Big(b) => {
                let lower = ZKey {
                    score: if min == 0.0 { -0.0 } else { min },
                    member: Bytes::new(),
                };
                Box::new(b.tree.range(lower..).map(pick))
            }
        }
    }

    /// How many scores are in `r`.
    pub fn count_by_score(&self, r: &ScoreRange) -> usize {
        if r.is_empty() {
            return 0;
        }
        match &self.repr {
            ZRepr::Small(v) => v
                .iter()
                .filter(|(_, s)| r.gte_min(*s) && r.lte_max(*s))
                .count(),
            ZRepr::Big(b) => {
                let lower = ZKey {
                    score: if r.min == 0.0 { -0.0 } else { r.min },
                    member: Bytes::new(),
                };
                b.tree
                    .range((Bound::Included(lower), Bound::Unbounded))
                    .skip_while(|k| !r.gte_min(k.score))
                    .take_while(|k| r.lte_max(k.score))
                    .count()
            }
        }
    }

    /// Elements with members in `r` (meaningful when all scores are equal, as in Redis),
    /// ascending or descending, with offset and limit.
    pub fn range_by_lex(
        &self,
        r: &LexRange,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Vec<(Bytes, f64)> {
        if r.is_empty() {
            return Vec::new();
        }
        // With a single score the big form's tree is in member order and can be entered by
        // seeking; otherwise walk.
        let seek = match &self.repr {
            ZRepr::Big(big) => match (big.tree.first(), big.tree.last()) {
                (Some(a), Some(b)) if a.score == b.score => Some((&big.tree, a.score)),
                _ => None,
            },
            ZRepr::Small(_) => None,
        };
        if rev {
            let it: Box<dyn Iterator<Item = (&Bytes, f64)>> = match (seek, &r.max) {
                (Some((tree, s)), LexBound::Incl(m) | LexBound::Excl(m)) => Box::new(
                    tree.range((
                        Bound::Unbounded,
                        Bound::Included(ZKey {
                            score: s,
                            member: m.clone(),
                        }),
                    ))
                    .rev()
                    .map(pick),
                ),
                _ => Box::new(self.iter().rev()),
            };
            let it = it
                .skip_while(|(m, _)| !r.lte_max(m))
                .take_while(|(m, _)| r.gte_min(m));
            window(it, offset, limit)
        } else {
            let it: Box<dyn Iterator<Item = (&Bytes, f64)>> = match (seek, &r.min) {
                (Some((tree, s)), LexBound::Incl(m) | LexBound::Excl(m)) => Box::new(
                    tree.range((
                        Bound::Included(ZKey {
                            score: s,
                            member: m.clone(),
                        }),
                        Bound::Unbounded,
                    ))
                    .map(pick),
                ),
                _ => Box::new(self.iter()),
            };
            let it = it
                .skip_while(|(m, _)| !r.gte_min(m))
                .take_while(|(m, _)| r.lte_max(m));
            window(it, offset, limit)
        }
    }
}

/// A score argument as Redis's getDoubleFromObject reads it (strtod over the whole text, no
/// leading space, no NaN, no overflow to infinity, no underflow to zero).
pub fn parse_score(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    let first = *b.first()?;
    if is_c_space(first) {
        return None;
    }
    let v: f64 = match s.parse() {
        Ok(v) => v,
        Err(_) => parse_hex(s)?,
    };
    if v.is_nan() {
        return None;
    }
    let digits = s.trim_start_matches(['+', '-']);
    let lower = digits.to_ascii_lowercase();
    if v.is_infinite() && lower != "inf" && lower != "infinity" {
        return None;
    }
    if v == 0.0 && !lower.starts_with("0x") {
        let mantissa = lower.split('e').next().unwrap_or("");
        if mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
            return None;
        }
    }
    Some(v)
}

/// A range bound's number as Redis's zslParseRange reads it: plain strtod (leading space
/// skipped, overflow to infinity allowed), NaN refused.
pub fn parse_range_number(b: &[u8]) -> Option<f64> {
    if b.is_empty() {
        // strtod converts nothing and stops at the terminator: Redis takes that as 0.
        return Some(0.0);
    }
    let start = b.iter().position(|&c| !is_c_space(c)).unwrap_or(b.len());
    let s = std::str::from_utf8(&b[start..]).ok()?;
    let v: f64 = match s.parse() {
        Ok(v) => v,
        Err(_) => parse_hex(s)?,
    };
    (!v.is_nan()).then_some(v)
}

/// strtod's hexadecimal form: `[+-]0x` hex digits, optional `.` fraction, optional `p`
/// binary exponent.
fn parse_hex(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let body = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))?;
    let (mant, exp) = match body.find(['p', 'P']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

/// A score as Redis 7.0's d2string stores and ZSCAN prints it: integers (within +-2^62) in
/// plain digits, anything else as [`fmt_score`].
pub fn fmt_score_d2string(d: f64) -> String {
    const LIM: f64 = 4_611_686_018_427_387_903.0;
    if d != 0.0 && (-LIM..=LIM).contains(&d) && d == d.trunc() {
        return itoa::Buffer::new().format(d as i64).to_string();
    }
    fmt_score(d)
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A double as Redis 7.0 prints it in replies and stores it: C's `%.17g`, `inf` / `-inf`.
pub fn fmt_score(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let e = format!("{:.16e}", d);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", trim(mant), sign, exp.abs())
    } else {
        trim(&format!("{:.*}", (16 - exp) as usize, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_printf_g17() {
        let cases = [
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (1e-5, "1.0000000000000001e-05"),
            (3.0, "3"),
            (123456789.123, "123456789.123"),
            (1e16, "10000000000000000"),
            (1.5e17, "1.5e+17"),
            (1e20, "1e+20"),
            (-2.5, "-2.5"),
            (0.0001, "0.0001"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1e300, "1.0000000000000001e+300"),
        ];
        for (d, want) in cases {
            assert_eq!(fmt_score(d), want, "{d}");
        }
    }

    #[test]
    fn parses_scores_like_redis() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"0e5"), Some(0.0));
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"1x"), None);
        assert_eq!(parse_range_number(b" 1"), Some(1.0));
        assert_eq!(parse_range_number(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_range_number(b""), Some(0.0));
        assert_eq!(parse_range_number(b" "), None);
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(fmt_score_d2string(1.5e17), "150000000000000000");
        assert_eq!(fmt_score_d2string(1e20), "1e+20");
        assert_eq!(fmt_score_d2string(2.5), "2.5");
    }

    #[test]
    fn ordered_ops() {
        let mut z = ZSet::new();
        for (m, s) in [("c", 3.0), ("a", 1.0), ("b", 1.0), ("d", -1.0)] {
            assert_eq!(z.insert(Bytes::from(m), s), None);
        }
        assert_eq!(z.insert(Bytes::from("c"), 0.5), Some(3.0));
        let order: Vec<_> = z.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(order, vec!["d", "c", "a", "b"]);
        assert_eq!(z.rank(b"a"), Some(2));
        assert_eq!(z.range_by_rank(1, 2, true)[0].0, "a");
        let r = ScoreRange {
            min: 0.5,
            minex: true,
            max: 1.0,
            maxex: false,
        };
        assert_eq!(z.count_by_score(&r), 2);
        assert_eq!(z.range_by_score(&r, true, 0, None)[0].0, "b");
        assert_eq!(z.pop(false), Some((Bytes::from("d"), -1.0)));
        assert_eq!(z.remove(b"a"), Some(1.0));
        assert_eq!(z.len(), 2);
    }

    /// Both forms answer like a brute-force model, through growth past the compact size.
    #[test]
    fn matches_a_sorted_model() {
        let mut z = ZSet::new();
        let mut model: Vec<(Bytes, f64)> = Vec::new();
        let mut x: u64 = 7;
        for step in 0..600 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let m = Bytes::from(format!("m{}", (x >> 33) % 200));
            let score = ((x >> 20) % 50) as f64 / 2.0;
            if step % 5 == 4 {
                let want = model
                    .iter()
                    .position(|(k, _)| *k == m)
                    .map(|i| model.remove(i).1);
                assert_eq!(z.remove(&m), want);
            } else {
                let old = model
                    .iter()
                    .position(|(k, _)| *k == m)
                    .map(|i| model.remove(i).1);
                model.push((m.clone(), score));
                assert_eq!(z.insert(m, score), old);
            }
            model.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
            assert_eq!(z.len(), model.len());
            let all: Vec<(Bytes, f64)> = z.iter().map(|(m, s)| (m.clone(), s)).collect();
            assert_eq!(all, model);
            if step % 50 == 0 && model.len() >= 4 {
                let n = model.len();
                assert_eq!(
                    z.range_by_rank(1, n / 2, false),
                    model[1.min(n - 1)..=n / 2].to_vec()
                );
                let mut rev = model.clone();
                rev.reverse();
                assert_eq!(z.range_by_rank(0, 3, true), rev[..4.min(n)].to_vec());
                let r = ScoreRange {
                    min: 3.0,
                    minex: true,
                    max: 10.0,
                    maxex: false,
                };
                let want: Vec<_> = model
                    .iter()
                    .filter(|(_, s)| *s > 3.0 && *s <= 10.0)
                    .cloned()
                    .collect();
                assert_eq!(z.range_by_score(&r, false, 0, None), want);
                assert_eq!(z.count_by_score(&r), want.len());
                let mut wrev = want.clone();
                wrev.reverse();
                assert_eq!(
                    z.range_by_score(&r, true, 1, Some(3)),
                    wrev.iter().skip(1).take(3).cloned().collect::<Vec<_>>()
                );
                let (m0, _) = &model[n / 2];
                assert_eq!(z.rank(m0), Some(n / 2));
            }
        }
        assert!(!z.is_small());
        while let Some((m, s)) = z.pop(false) {
            assert_eq!(model.remove(0), (m, s));
        }
    }
}

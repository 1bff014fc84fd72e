//! The area search behind GEOSEARCH and GEORADIUS: read the sorted set one geohash box at a
//! time (the box around the centre and its neighbours, each a score interval), keep the points
//! inside the shape, then order them by distance as Redis does.

use super::hash::{box_scores, Shape};
use crate::db::value::ZSet;
use bytes::Bytes;
use std::cmp::Ordering;

/// A point found by a search.
#[derive(Debug, Clone)]
pub struct Found {
    pub member: Bytes,
    /// Longitude, latitude (decoded from the score).
    pub xy: [f64; 2],
    /// Meters from the centre.
    pub dist: f64,
    pub score: f64,
}

/// Every point of `z` inside `shape`, in Redis's discovery order (box by box, each in score
/// order). With `limit > 0` (COUNT n ANY) the walk stops as soon as that many are found.
pub fn collect(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Found> {
    let boxes = shape.search_boxes();
    let full = |n: usize| limit > 0 && n >= limit;
    let mut out = Vec::new();
    // Index of the last box read; the centre (0) never counts as "read" for the duplicate
    // check, exactly as in Redis (huge radii make neighbours repeat each other).
    let mut last = 0usize;
    for (i, b) in boxes.iter().enumerate() {
        if b.is_zero() {
            continue;
        }
        if last != 0 && boxes[last] == *b {
            continue;
        }
        if full(out.len()) {
            break;
        }
        let (min, max) = box_scores(*b);
        for (member, score) in z.iter_from_score(min) {
            if score >= max {
                break;
            }
            if let Some((xy, dist)) = shape.contains(score) {
                out.push(Found {
                    member: member.clone(),
                    xy,
                    dist,
                    score,
                });
            }
            if full(out.len()) {
                break;
            }
        }
        last = i;
    }
    out
}

/// How a search orders its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    None,
    Asc,
    Desc,
}

/// Orders `points` by distance and keeps the first `count` (0: all), choosing the same points
/// as Redis when distances tie. Redis sorts a whole result with the C library's qsort (glibc's
/// is a merge sort, so stable, as `sort_by` is) and a result cut by COUNT with its partial
/// quicksort, whose placement of equal elements [`partial_sort`] reproduces.
pub fn order(points: &mut Vec<Found>, sort: Sort, count: usize) {
    let asc = |a: &Found, b: &Found| a.dist.total_cmp(&b.dist);
    let cmp: &dyn Fn(&Found, &Found) -> Ordering = match sort {
        Sort::None => {
            if count > 0 {
                points.truncate(count);
            }
            return;
        }
        Sort::Asc => &asc,
        Sort::Desc => &|a: &Found, b: &Found| asc(b, a),
    };
    if count == 0 || count >= points.len() {
        points.sort_by(cmp);
    } else {
        partial_sort(points, count - 1, cmp);
        points.truncate(count);
    }
}

/// Bentley & McIlroy's quicksort (three-way partition, median of three or of nine), recursing
/// only into the parts that overlap the wanted positions `0..=last`: afterwards those positions
/// hold what a full sort would put there. The pivot choices and swaps are the ones of Redis's
/// pqsort, so equal elements end up in the same order.
pub fn partial_sort<T>(v: &mut [T], last: usize, cmp: &dyn Fn(&T, &T) -> Ordering) {
    partial_sort_at(v, 0, v.len(), (0, last), cmp);
}

fn partial_sort_at<T>(
    v: &mut [T],
    mut lo: usize,
    mut n: usize,
    want: (usize, usize),
    cmp: &dyn Fn(&T, &T) -> Ordering,
) {
    let c = |v: &[T], i: usize, j: usize| cmp(&v[i], &v[j]);
    let med3 = |v: &[T], a: usize, b: usize, d: usize| {
        if c(v, a, b) == Ordering::Less {
            if c(v, b, d) == Ordering::Less {
                b
            } else if c(v, a, d) == Ordering::Less {
                d
            } else {
                a
            }
        } else if c(v, b, d) == Ordering::Greater {
            b
        } else if c(v, a, d) == Ordering::Less {
            a
        } else {
            d
        }
    };
    // Does the part [s, s + len) hold any wanted position?
    let wanted = |s: usize, len: usize| {
        let e = s + len - 1;
        !((want.0 < s && want.1 < s) || (want.0 > e && want.1 > e))
    };
    let vecswap = |v: &mut [T], a: usize, b: usize, k: usize| {
        for i in 0..k {
            v.swap(a + i, b + i);
        }
    };
    loop {
        if n < 7 {
            for pm in lo + 1..lo + n {
                let mut pl = pm;
                while pl > lo && c(v, pl - 1, pl) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = lo + n / 2;
        if n > 7 {
            let mut pl = lo;
            let mut pn = lo + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d);
                pm = med3(v, pm - d, pm, pm + d);
                pn = med3(v, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, pl, pm, pn);
        }
        v.swap(lo, pm);
        let (mut pa, mut pb) = (lo + 1, lo + 1);
        let (mut pc, mut pd) = (lo + n - 1, lo + n - 1);
        loop {
            while pb <= pc {
                let r = c(v, pb, lo);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = c(v, pc, lo);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = lo + n;
        let r = (pa - lo).min(pb - pa);
        vecswap(v, lo, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && wanted(lo, r) {
            partial_sort_at(v, lo, r, want, cmp);
        }
        let r = pd - pc;
        if r > 1 && wanted(pn - r, r) {
            lo = pn - r;
            n = r;
            continue;
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_sort_puts_the_smallest_first_in_order() {
        let mut seed = 12345u64;
        for len in [1usize, 5, 7, 8, 30, 41, 200] {
            let mut v: Vec<u32> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((seed >> 33) % 50) as u32
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort();
            let last = len / 3;
            partial_sort(&mut v, last, &|a: &u32, b: &u32| a.cmp(b));
            assert_eq!(v[..=last], sorted[..=last], "len {len}");
        }
    }
}

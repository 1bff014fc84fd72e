//! The area search behind GEOSEARCH and GEORADIUS: read the sorted set one geohash box at a
//! time (the box around the centre and its neighbours, each a score interval), keep the points
//! inside the shape, then order them by distance as Redis does.

use super::hash::{box_scores, Shape};
use crate::db::value::ZSet;
use bytes::Bytes;

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

/// Orders `points` by distance and keeps the first `count` (0: all). The sort is stable, as
/// glibc's qsort (a merge sort) is when Redis sorts the whole result.
pub fn order(points: &mut Vec<Found>, sort: Sort, count: usize) {
    match sort {
        Sort::None => {}
        Sort::Asc => points.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Sort::Desc => points.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
    }
    if count > 0 {
        points.truncate(count);
    }
}

//! Geohash arithmetic as Redis's geo commands use it: 52-bit interleaved hashes (26 steps of
//! longitude and latitude, longitude in the high bit of each pair) over the Web Mercator ranges
//! (latitude limited to +-85.05112878), neighbour boxes, and the haversine distance.
//!
//! Every formula is evaluated in the same order, on the same doubles and with the same libm
//! functions as Redis, because the scores, the decoded coordinates and the distances are printed
//! with 17 digits: a different rounding anywhere would show in the replies.

/// Steps of a full-precision hash (2 x 26 = 52 bits, what fits a double exactly).
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;

/// Radians per degree, as Redis computes it (`M_PI / 180.0`).
const D_R: f64 = std::f64::consts::PI / 180.0;
/// Earth's quadratic mean radius for WGS-84, the one Redis measures with.
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Mercator world width: the search step estimate doubles the radius up to this.
const MERCATOR_MAX: f64 = 20037726.37;

/// A hash of `step` bits per coordinate. The all-zero value (step 0) marks a neighbour box
/// that a search leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    pub const ZERO: HashBits = HashBits { bits: 0, step: 0 };

    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash left-aligned to 52 bits: the sorted set score of a full-precision hash, the
    /// first score of a coarser box.
    pub fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// An interval of one coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The rectangle a hash stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

/// The coordinate ranges of the geo commands' hashes.
pub const WGS84_LON: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
pub const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// Spreads the 32 bits of `v` over the even bit positions of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bit positions of `v` into a u32 (the inverse of [`spread`]).
fn squeeze(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0x0000_0000_FFFF_FFFF) as u32
}

/// Hashes a point with `step` bits per coordinate over the given ranges; None outside them
/// (or outside the Mercator limits, which Redis checks first).
pub fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    if step == 0 || step > 32 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    // C converts the offsets to uint32_t: truncation toward zero.
    let bits = spread(lat_off as u32) | (spread(lon_off as u32) << 1);
    Some(HashBits { bits, step })
}

/// The geo commands' hash of a point (WGS84 ranges).
pub fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    encode(WGS84_LON, WGS84_LAT, lon, lat, step)
}

/// The rectangle of a hash over the given ranges.
pub fn decode(lon_r: Range, lat_r: Range, h: HashBits) -> Option<Area> {
    if h.is_zero() {
        return None;
    }
    let ilat = squeeze(h.bits);
    let ilon = squeeze(h.bits >> 1);
    let div = (1u64 << h.step) as f64;
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    // The `+ 1` is uint32_t arithmetic in C: it wraps.
    let at = |i: u32, r: Range, scale: f64| r.min + (f64::from(i) * 1.0 / div) * scale;
    Some(Area {
        lat: Range {
            min: at(ilat, lat_r, lat_scale),
            max: at(ilat.wrapping_add(1), lat_r, lat_scale),
        },
        lon: Range {
            min: at(ilon, lon_r, lon_scale),
            max: at(ilon.wrapping_add(1), lon_r, lon_scale),
        },
    })
}

/// A sorted set score read as a hash, the way C's `(uint64_t)double` does it on x86-64 (the
/// scores of GEOADD are exact integers; any other score still decodes to some point).
pub fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    // cvttsd2si answers 0x8000000000000000 for NaN and out-of-range values.
    let cvt = |d: f64| -> u64 {
        if d.is_nan() || !(-TWO63..TWO63).contains(&d) {
            1 << 63
        } else {
            d as i64 as u64
        }
    };
    if score >= TWO63 {
        cvt(score - TWO63) ^ (1 << 63)
    } else {
        cvt(score)
    }
}

/// The point a score stands for: the centre of its full-precision box, clamped to the ranges.
pub fn decode_score(score: f64) -> [f64; 2] {
    let h = HashBits {
        bits: score_bits(score),
        step: STEP_MAX,
    };
    // A step-26 hash is never the zero marker, so decoding succeeds.
    let a = decode(WGS84_LON, WGS84_LAT, h).unwrap_or(Area {
        lon: Range { min: 0.0, max: 0.0 },
        lat: Range { min: 0.0, max: 0.0 },
    });
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// The 52-bit score GEOADD stores for a point (already checked to be in range).
pub fn score_of(lon: f64, lat: f64) -> u64 {
    encode_wgs84(lon, lat, STEP_MAX).map_or(0, |h| h.align52())
}

/// GEOHASH's 11-character standard geohash of a stored score: the point re-encoded over the
/// standard ranges (latitude +-90), 5 bits a character, the 11th always `0` (52 bits only).
pub fn standard_geohash(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [lon, lat] = decode_score(score);
    let std_lon = Range {
        min: -180.0,
        max: 180.0,
    };
    let std_lat = Range {
        min: -90.0,
        max: 90.0,
    };
    let bits = encode(std_lon, std_lat, lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().take(10).enumerate() {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

fn move_x(h: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(h.step) * 2;
    let mut x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    h.bits = x | y;
}

fn move_y(h: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(h.step) * 2;
    let x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    h.bits = x | y;
}

/// The eight boxes around a hash (wrapping around the world).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbors {
    pub north: HashBits,
    pub south: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub north_east: HashBits,
    pub north_west: HashBits,
    pub south_east: HashBits,
    pub south_west: HashBits,
}

pub fn neighbors(h: HashBits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut n = h;
        move_x(&mut n, dx);
        move_y(&mut n, dy);
        n
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// Distance along a meridian.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in meters between two points (degrees).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// The size of a search area, in the unit the client named: a circle's radius, or a
/// rectangle's width (east-west) and height (north-south).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extent {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search area: an [`Extent`] around a centre, with the unit's size in meters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Longitude, latitude.
    pub center: [f64; 2],
    /// Meters per unit of the sizes.
    pub to_meters: f64,
    pub area: Extent,
}

impl Shape {
    /// The distance from the centre when a stored point (its score) is inside, in meters.
    pub fn contains(&self, score: f64) -> Option<([f64; 2], f64)> {
        let xy = decode_score(score);
        let [cx, cy] = self.center;
        match self.area {
            Extent::Radius(r) => {
                let d = distance(cx, cy, xy[0], xy[1]);
                (d <= r * self.to_meters).then_some((xy, d))
            }
            Extent::Box { width, height } => {
                let (w, h) = (width * self.to_meters, height * self.to_meters);
                if lat_distance(xy[1], cy) > h / 2.0 {
                    return None;
                }
                if distance(xy[0], xy[1], cx, xy[1]) > w / 2.0 {
                    return None;
                }
                Some((xy, distance(cx, cy, xy[0], xy[1])))
            }
        }
    }

    /// The shape's bounding box: min lon, min lat, max lon, max lat.
    fn bounds(&self) -> [f64; 4] {
        let [lon, lat] = self.center;
        let (h, w) = match self.area {
            Extent::Radius(r) => (r, r),
            Extent::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let (height, width) = (self.to_meters * h, self.to_meters * w);
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let lon_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(lat + lat_delta).cos());
        let lon_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(lat - lat_delta).cos());
        // The box is widest on the side nearer the equator.
        let delta = if lat < 0.0 { lon_bottom } else { lon_top };
        [lon - delta, lat - lat_delta, lon + delta, lat + lat_delta]
    }

    /// The boxes a search reads, in Redis's order (centre, N, S, E, W, NE, NW, SE, SW), the
    /// useless ones as [`HashBits::ZERO`].
    pub fn search_boxes(&self) -> [HashBits; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let [lon, lat] = self.center;
        let radius_m = match self.area {
            Extent::Radius(r) => r,
            Extent::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.to_meters;
        let mut steps = estimate_steps(radius_m, lat);
        let at = |steps: u8| {
            let h = encode_wgs84(lon, lat, steps).unwrap_or(HashBits {
                bits: 0,
                step: steps,
            });
            (h, neighbors(h))
        };
        let area_of = |h: HashBits| {
            decode(WGS84_LON, WGS84_LAT, h).unwrap_or(Area {
                lon: Range { min: 0.0, max: 0.0 },
                lat: Range { min: 0.0, max: 0.0 },
            })
        };
        let (mut hash, mut n) = at(steps);
        // Near the edge of the centre box, a neighbour may not reach far enough: one step
        // coarser then.
        let too_small = area_of(n.north).lat.max < max_lat
            || area_of(n.south).lat.min > min_lat
            || area_of(n.east).lon.max < max_lon
            || area_of(n.west).lon.min > min_lon;
        if steps > 1 && too_small {
            steps -= 1;
            (hash, n) = at(steps);
        }
        if steps >= 2 {
            let area = area_of(hash);
            let z = HashBits::ZERO;
            if area.lat.min < min_lat {
                (n.south, n.south_west, n.south_east) = (z, z, z);
            }
            if area.lat.max > max_lat {
                (n.north, n.north_east, n.north_west) = (z, z, z);
            }
            if area.lon.min < min_lon {
                (n.west, n.south_west, n.north_west) = (z, z, z);
            }
            if area.lon.max > max_lon {
                (n.east, n.south_east, n.north_east) = (z, z, z);
            }
        }
        [
            hash,
            n.north,
            n.south,
            n.east,
            n.west,
            n.north_east,
            n.north_west,
            n.south_east,
            n.south_west,
        ]
    }
}

/// The hash precision whose boxes are about as big as the search radius.
fn estimate_steps(mut range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The score interval `[min, max)` of a box: every full-precision hash that starts with it.
pub fn box_scores(h: HashBits) -> (f64, f64) {
    let min = h.align52();
    let max = HashBits {
        bits: h.bits.wrapping_add(1),
        step: h.step,
    }
    .align52();
    (min as f64, max as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_and_squeeze_are_inverse() {
        for v in [0u32, 1, 0xdead_beef, u32::MAX, 0x0300_0001] {
            assert_eq!(squeeze(spread(v)), v);
        }
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" stores 3479099956230698 in Redis.
        assert_eq!(score_of(13.361389, 38.115556), 3479099956230698);
        assert_eq!(score_of(15.087269, 37.502669), 3479447370796909);
        assert_eq!(&standard_geohash(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&standard_geohash(3479447370796909.0), b"sqdtr74hyu0");
    }

    #[test]
    fn distance_matches_redis() {
        let a = decode_score(3479099956230698.0);
        let b = decode_score(3479447370796909.0);
        let d = distance(a[0], a[1], b[0], b[1]);
        assert_eq!((d * 10000.0).round_ties_even() as i64, 1_662_741_516);
    }

    #[test]
    fn odd_scores_decode_like_c_casts() {
        assert_eq!(score_bits(-5.0), (-5i64) as u64);
        assert_eq!(score_bits(f64::INFINITY), 0);
        assert_eq!(score_bits(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(score_bits(1e19), 10_000_000_000_000_000_000);
    }
}

//! Geo commands side by side with the reference: the same command lines go to a keyslot-server
//! and to a real redis-server 7.0.15 over raw RESP2 and RESP3 connections, and every reply must
//! be identical byte for byte (scores, coordinates, distances and errors included).
//!
//! Besides hand-written scripts for every command, option and error, a few hundred
//! pseudo-random points (fixed seed) are searched by radius and by box, in every unit, from many
//! centres, with every ordering and COUNT form.

mod common;

mod compare_util;

use compare_util::run;
use std::fmt::Write;

const SICILY: &str = "
GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2
GEOADD Sicily 13.583333 37.316667 Agrigento
ZRANGE Sicily 0 -1 WITHSCORES
";

#[test]
fn geoadd_matches_redis() {
    let script = "
GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEOADD Sicily 13.361389 38.115556 Palermo
ZRANGE Sicily 0 -1 WITHSCORES
GEOADD Sicily NX 13.5 38.1 Palermo 14 37 Messina
GEOADD Sicily XX 13.5 38.1 Palermo 14.5 37.5 Siracusa
GEOADD Sicily CH 13.6 38.2 Palermo 14 37 Messina 15 37 Taormina
GEOADD Sicily CH NX 13.7 38.3 Palermo 14.1 37.1 Enna
GEOADD Sicily XX CH 13.7 38.3 Palermo 14.2 37.2 Messina
GEOADD Sicily ch xx 13.7 38.3 Palermo
ZRANGE Sicily 0 -1 WITHSCORES
GEOADD Sicily NX XX 13 38 x
GEOADD Sicily 13 38
GEOADD Sicily 13 38 a 14
GEOADD Sicily CH CH CH
GEOADD Sicily CH 13 38 a 14 37
GEOADD Sicily 181 38 a
GEOADD Sicily -180.5 38 a
GEOADD Sicily 13 85.06 a
GEOADD Sicily 13 -86 a
GEOADD Sicily 13 38 ok 200 100 bad
GEOADD Sicily inf 0 a
GEOADD Sicily 0 -inf a
GEOADD Sicily abc 38 a
GEOADD Sicily 13 1e400 a
GEOADD Sicily 13 nan a
GEOADD Sicily 13 '' a
GEOADD Sicily 13 ' 38' a
GEOADD Sicily 180 85.05112878 top -180 -85.05112878 bottom
GEOADD Sicily 0 0 origin -0 -0 negzero 1e-30 1e-30 tiny
GEOADD Sicily 0x10 0x1p3 hex
ZRANGE Sicily 0 -1 WITHSCORES
GEOPOS Sicily top bottom origin negzero tiny hex
ZCARD Sicily
GEOADD
GEOADD Sicily
GEOADD Sicily 13 38
SET str v
GEOADD str 13 38 x
GEOADD str 200 38 x
GEOADD big 0 0 m0 1 1 m1 2 2 m2 3 3 m3 4 4 m4 5 5 m5 6 6 m6 7 7 m7 8 8 m8 9 9 m9
OBJECT ENCODING big
TYPE big
";
    run("geo_add", script);
}

#[test]
fn geopos_geohash_geodist_match_redis() {
    let script = format!(
        "{SICILY}
GEOPOS Sicily Palermo Catania nosuch edge1 edge2 Agrigento
GEOPOS Sicily
GEOPOS nokey a b
GEOPOS nokey
GEOHASH Sicily Palermo Catania nosuch edge1 edge2 Agrigento
GEOHASH Sicily
GEOHASH nokey a
GEODIST Sicily Palermo Catania
GEODIST Sicily Palermo Catania m
GEODIST Sicily Palermo Catania km
GEODIST Sicily Palermo Catania KM
GEODIST Sicily Palermo Catania ft
GEODIST Sicily Palermo Catania mi
GEODIST Sicily Palermo Catania Mi
GEODIST Sicily Palermo Palermo
GEODIST Sicily Palermo Palermo km
GEODIST Sicily edge1 edge2 km
GEODIST Sicily Palermo nosuch
GEODIST Sicily nosuch Palermo
GEODIST Sicily Palermo Catania yards
GEODIST Sicily Palermo Catania km extra
GEODIST nokey a b
GEODIST nokey a b km
GEODIST nokey a b furlong
GEODIST Sicily Palermo
SET str v
GEOPOS str a
GEOHASH str a
GEODIST str a b
GEODIST str a b parsec
ZADD weird -5 neg 1e30 huge +inf pinf -inf ninf 0.5 half 4503599627370496 two52 9007199254740993 odd
GEOPOS weird neg huge pinf ninf half two52 odd
GEOHASH weird neg huge pinf ninf half two52 odd
GEODIST weird neg huge
GEODIST weird pinf ninf km
GEOADD poles 0 85.05112878 n 0 -85.05112878 s 180 0 e -180 0 w 90 45 a -90 -45 b
GEODIST poles n s km
GEODIST poles e w
GEODIST poles a b mi
GEOHASH poles n s e w a b
GEOPOS poles n s e w a b
"
    );
    run("geo_pos", &script);
}

#[test]
fn searches_match_redis() {
    let script = format!(
        "{SICILY}
GEORADIUS Sicily 15 37 200 km
GEORADIUS Sicily 15 37 200 km ASC
GEORADIUS Sicily 15 37 200 km DESC
GEORADIUS Sicily 15 37 200 km WITHDIST
GEORADIUS Sicily 15 37 200 km WITHCOORD
GEORADIUS Sicily 15 37 200 km WITHHASH
GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC
GEORADIUS Sicily 15 37 200 km withcoord withhash withdist desc
GEORADIUS Sicily 15 37 200 km COUNT 1
GEORADIUS Sicily 15 37 200 km COUNT 2 DESC
GEORADIUS Sicily 15 37 200 km COUNT 1 ANY
GEORADIUS Sicily 15 37 200 km COUNT 2 ANY DESC
GEORADIUS Sicily 15 37 200 km ANY COUNT 3
GEORADIUS Sicily 15 37 200 km COUNT 10
GEORADIUS Sicily 15 37 200000 m WITHDIST
GEORADIUS Sicily 15 37 124.27 mi WITHDIST
GEORADIUS Sicily 15 37 656168 ft WITHDIST
GEORADIUS Sicily 15 37 0 km
GEORADIUS Sicily 15 37 1 m
GEORADIUS Sicily 15 37 20000 km WITHDIST ASC
GEORADIUS Sicily 15 37 100000 km WITHDIST ASC
GEORADIUS Sicily 15 37 5000 km
GEORADIUS nokey 15 37 200 km
GEORADIUS nokey 15 37 200 km WITHDIST
GEORADIUSBYMEMBER Sicily Palermo 200 km
GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST WITHCOORD WITHHASH
GEORADIUSBYMEMBER Sicily Palermo 100 km WITHDIST ASC
GEORADIUSBYMEMBER Sicily Palermo 100 km COUNT 1 ANY
GEORADIUSBYMEMBER Sicily Agrigento 90 km DESC COUNT 2
GEORADIUSBYMEMBER Sicily nosuch 200 km
GEORADIUSBYMEMBER nokey nosuch 200 km
GEORADIUSBYMEMBER nokey nosuch abc parsec
GEORADIUSBYMEMBER nokey nosuch abc parsec WITHDIST
GEORADIUSBYMEMBER nokey nosuch abc parsec BOGUS
GEORADIUS_RO Sicily 15 37 200 km WITHDIST
GEORADIUS_RO Sicily 15 37 200 km STORE dst
GEORADIUSBYMEMBER_RO Sicily Palermo 200 km WITHCOORD
GEORADIUSBYMEMBER_RO Sicily Palermo 200 km STOREDIST dst
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHDIST WITHCOORD WITHHASH
GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km DESC WITHDIST
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHDIST
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 300 200 km WITHCOORD
GEOSEARCH Sicily FROMMEMBER Catania BYBOX 200 300 mi WITHDIST ASC
GEOSEARCH Sicily FROMMEMBER Catania BYBOX 200 300 mi COUNT 2
GEOSEARCH Sicily FROMMEMBER Catania BYBOX 200 300 mi COUNT 2 ANY
GEOSEARCH Sicily BYRADIUS 200 km FROMMEMBER Palermo
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 0 0 km
GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 0 0 m WITHDIST
GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 0 m WITHDIST
GEOSEARCH nokey FROMMEMBER x BYRADIUS 10 km
GEOSEARCH nokey FROMLONLAT 15 37 BYBOX 10 10 km
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
ZRANGE dst 0 -1 WITHSCORES
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
ZRANGE dst 0 -1 WITHSCORES
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST COUNT 1
ZRANGE dst 0 -1 WITHSCORES
GEOSEARCHSTORE dst Sicily FROMMEMBER Palermo BYBOX 500 500 mi DESC COUNT 2 STOREDIST
ZRANGE dst 0 -1 WITHSCORES
GEOSEARCHSTORE dst Sicily FROMLONLAT 0 0 BYRADIUS 1 km
EXISTS dst
SET dst v
GEOSEARCHSTORE dst nokey FROMLONLAT 0 0 BYRADIUS 1 km
EXISTS dst
GEOSEARCHSTORE dst2 nokey FROMLONLAT 0 0 BYRADIUS 1 km
GEORADIUS Sicily 15 37 200 km STORE dst
ZRANGE dst 0 -1 WITHSCORES
GEORADIUS Sicily 15 37 200 km STOREDIST dst
ZRANGE dst 0 -1 WITHSCORES
GEORADIUS Sicily 15 37 200 km STORE dst STOREDIST dst
ZRANGE dst 0 -1 WITHSCORES
GEORADIUS Sicily 15 37 200 km STOREDIST dst STORE dst
ZRANGE dst 0 -1 WITHSCORES
GEORADIUS Sicily 15 37 200 km COUNT 2 DESC STOREDIST dst
ZRANGE dst 0 -1 WITHSCORES
GEORADIUSBYMEMBER Sicily Palermo 200 km STORE dst
ZRANGE dst 0 -1 WITHSCORES
GEORADIUSBYMEMBER Sicily Palermo 200 mi STOREDIST dst ASC COUNT 3
ZRANGE dst 0 -1 WITHSCORES
GEORADIUS Sicily 0 0 1 km STORE dst
EXISTS dst
GEORADIUS nokey 0 0 1 km STORE dst
GEORADIUSBYMEMBER nokey x 1 km STORE dst
GEORADIUS Sicily 15 37 200 km STORE Sicily
ZRANGE Sicily 0 -1 WITHSCORES
"
    );
    run("geo_search", &script);
}

#[test]
fn search_errors_match_redis() {
    let script = format!(
        "{SICILY}
SET str v
GEORADIUS str 15 37 200 km
GEORADIUS str 200 37 200 km
GEORADIUSBYMEMBER str x 200 km
GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCHSTORE dst str FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCHSTORE str Sicily FROMLONLAT 15 37 BYRADIUS 200 km
TYPE str
GEORADIUS Sicily 200 37 200 km
GEORADIUS Sicily 15 -90 200 km
GEORADIUS Sicily x 37 200 km
GEORADIUS Sicily 15 37 abc km
GEORADIUS Sicily 15 37 -1 km
GEORADIUS Sicily 15 37 200 parsec
GEORADIUS Sicily 15 37 -1 parsec
GEORADIUS Sicily 15 37 200 km BOGUS
GEORADIUS Sicily 15 37 200 km COUNT
GEORADIUS Sicily 15 37 200 km COUNT 0
GEORADIUS Sicily 15 37 200 km COUNT -3
GEORADIUS Sicily 15 37 200 km COUNT x
GEORADIUS Sicily 15 37 200 km ANY
GEORADIUS Sicily 15 37 200 km STORE
GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST
GEORADIUS Sicily 15 37 200 km WITHCOORD STOREDIST dst
GEORADIUS Sicily 15 37 200 km WITHHASH STORE dst
GEORADIUS Sicily 15 37 200 km FROMLONLAT 1 2
GEORADIUS Sicily 15 37 200 km BYRADIUS 1 km
GEORADIUS Sicily 15 37 200 km STOREDIST
GEORADIUSBYMEMBER Sicily nosuch 200 km WITHDIST
GEORADIUSBYMEMBER Sicily Palermo abc km
GEORADIUSBYMEMBER Sicily Palermo 200 parsec
GEORADIUSBYMEMBER Sicily Palermo 200 km STORE dst WITHDIST
GEORADIUSBYMEMBER_RO Sicily Palermo 200 km STORE dst
GEORADIUSBYMEMBER nokey x 200 km STORE dst WITHDIST
GEORADIUSBYMEMBER nokey x 200 km ANY
GEORADIUS nokey 15 37 200 km ANY
GEOSEARCH Sicily FROMLONLAT 15 37
GEOSEARCH Sicily BYRADIUS 10 km WITHDIST
GEOSEARCH Sicily FROMLONLAT 15 37 WITHDIST
geosearch Sicily FROMLONLAT 15 37 WITHDIST
GeoSearch Sicily BYBOX 1 1 km WITHDIST
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 COUNT 1
geosearchstore dst Sicily BYBOX 1 1 km COUNT 1
GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 10 km
GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 10 km
GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 10 km BYBOX 1 1 km
GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 1 1 km BYRADIUS 10 km
GEOSEARCH Sicily FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 100 km
GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 10 km BYRADIUS 200 km WITHDIST
GEOSEARCH Sicily FROMMEMBER nosuch BYRADIUS 10 km
GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 10 km FROMMEMBER nosuch
GEOSEARCH nokey FROMMEMBER nosuch BYRADIUS 10 km
GEOSEARCH Sicily FROMLONLAT 200 37 BYRADIUS 10 km
GEOSEARCH Sicily FROMLONLAT a 37 BYRADIUS 10 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS x km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -5 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 5 lightyears
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 yd
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1
GEOSEARCH Sicily FROMLONLAT 15 BYRADIUS 1 km
GEOSEARCH Sicily FROMMEMBER
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km STORE dst
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km STOREDIST
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km ANY
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km COUNT 0
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km COUNT 99999999999999999999
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 10 km WITHDIST
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 10 km WITHHASH STOREDIST
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 10 km STORE x
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 10 km ANY
GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 10 km WITHCOORD
GEOSEARCH Sicily FROMLONLAT 15 37
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37
GEORADIUS Sicily 15 37 200
GEORADIUSBYMEMBER Sicily Palermo 200
GEORADIUS_RO Sicily 15 37 200
GEORADIUSBYMEMBER_RO Sicily Palermo
"
    );
    run("geo_search_errors", &script);
}

/// A small deterministic generator (xorshift64*), so the point set is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

/// `n` points: some spread over the whole world, most clustered around a few cities (so that
/// searches find many), a few near the poles and the antimeridian.
fn random_points(key: &str, n: usize, seed: u64) -> (String, Vec<(f64, f64)>) {
    let mut rng = Rng(seed);
    let clusters = [
        (13.4, 38.1),
        (-0.1, 51.5),
        (-74.0, 40.7),
        (179.5, -16.0),
        (20.0, 80.0),
        (-60.0, -75.0),
    ];
    let mut script = String::new();
    let mut pts = Vec::new();
    for i in 0..n {
        let (lon, lat) = match i % 4 {
            0 => (rng.range(-180.0, 180.0), rng.range(-85.0, 85.0)),
            _ => {
                let (cx, cy) = clusters[(rng.next() % clusters.len() as u64) as usize];
                let lon = (cx + rng.range(-3.0, 3.0)).clamp(-180.0, 180.0);
                let lat = (cy + rng.range(-2.0, 2.0)).clamp(-85.0, 85.0);
                (lon, lat)
            }
        };
        pts.push((lon, lat));
        let _ = writeln!(script, "GEOADD {key} {lon:.6} {lat:.6} p{i}");
    }
    (script, pts)
}

fn random_searches(key: &str, pts: &[(f64, f64)], seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = String::new();
    let units = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)];
    let centres: Vec<(f64, f64)> = vec![
        (13.4, 38.1),
        (-0.1, 51.5),
        (-74.0, 40.7),
        (179.9, -16.0),
        (-179.9, -16.0),
        (20.0, 80.0),
        (20.0, 84.9),
        (-60.0, -75.0),
        (0.0, 0.0),
        (pts[7].0, pts[7].1),
    ];
    let radii_m = [
        1.0,
        5_000.0,
        50_000.0,
        150_000.0,
        400_000.0,
        1_500_000.0,
        6_000_000.0,
        20_000_000.0,
    ];
    for (ci, &(lon, lat)) in centres.iter().enumerate() {
        for (ri, &r) in radii_m.iter().enumerate() {
            let (u, per) = units[(ci + ri) % units.len()];
            let radius = format!("{:.3}", r / per);
            let _ = writeln!(
                s,
                "GEOSEARCH {key} FROMLONLAT {lon} {lat} BYRADIUS {radius} {u}"
            );
            let _ = writeln!(
                s,
                "GEOSEARCH {key} FROMLONLAT {lon} {lat} BYRADIUS {radius} {u} ASC WITHDIST WITHCOORD WITHHASH"
            );
            let _ = writeln!(
                s,
                "GEORADIUS {key} {lon} {lat} {radius} {u} DESC WITHDIST COUNT 7"
            );
            let _ = writeln!(
                s,
                "GEORADIUS_RO {key} {lon} {lat} {radius} {u} COUNT 5 ANY WITHCOORD"
            );
            let (w, h) = (rng.range(0.2, 3.0) * r / per, rng.range(0.2, 3.0) * r / per);
            let _ = writeln!(
                s,
                "GEOSEARCH {key} FROMLONLAT {lon} {lat} BYBOX {w:.3} {h:.3} {u}"
            );
            let _ = writeln!(
                s,
                "GEOSEARCH {key} FROMLONLAT {lon} {lat} BYBOX {w:.3} {h:.3} {u} DESC WITHDIST"
            );
            let _ = writeln!(
                s,
                "GEOSEARCH {key} FROMLONLAT {lon} {lat} BYBOX {w:.3} {h:.3} {u} COUNT 3 ANY"
            );
            let _ = writeln!(s, "GEOSEARCHSTORE dst {key} FROMLONLAT {lon} {lat} BYBOX {w:.3} {h:.3} {u} STOREDIST COUNT 10");
            let _ = writeln!(s, "ZRANGE dst 0 -1 WITHSCORES");
        }
    }
    for i in (0..pts.len()).step_by(9) {
        let (u, _) = units[i % units.len()];
        let r = rng.range(1.0, 800.0);
        let _ = writeln!(s, "GEORADIUSBYMEMBER {key} p{i} {r:.2} {u} WITHDIST ASC");
        let _ = writeln!(
            s,
            "GEOSEARCH {key} FROMMEMBER p{i} BYBOX {r:.2} {:.2} {u} WITHCOORD",
            r / 2.0
        );
        let _ = writeln!(s, "GEORADIUSBYMEMBER {key} p{i} {r:.2} {u} STORE dst");
        let _ = writeln!(s, "ZRANGE dst 0 -1 WITHSCORES");
        let _ = writeln!(s, "OBJECT ENCODING dst");
        let j = (i * 7 + 3) % pts.len();
        let _ = writeln!(s, "GEODIST {key} p{i} p{j} {u}");
    }
    let members: Vec<String> = (0..pts.len()).step_by(5).map(|i| format!("p{i}")).collect();
    let _ = writeln!(s, "GEOPOS {key} {}", members.join(" "));
    let _ = writeln!(s, "GEOHASH {key} {}", members.join(" "));
    let _ = writeln!(s, "ZRANGE {key} 0 -1 WITHSCORES");
    // Whole-world searches: every point, stored (the big form when over 128 members).
    let _ = writeln!(
        s,
        "GEOSEARCHSTORE all {key} FROMLONLAT 0 0 BYBOX 40000 40000 km STOREDIST"
    );
    let _ = writeln!(s, "ZRANGE all 0 -1 WITHSCORES");
    let _ = writeln!(s, "OBJECT ENCODING all");
    let _ = writeln!(s, "GEORADIUS {key} 0 0 25000 km STORE all");
    let _ = writeln!(s, "OBJECT ENCODING all");
    let _ = writeln!(s, "GEORADIUS {key} 0 0 25000 km COUNT 50 DESC WITHDIST");
    let _ = writeln!(s, "GEORADIUS {key} 0 0 25000 km");
    s
}

#[test]
fn random_points_match_redis() {
    // 300 points: the big sorted set form; 100: the compact one (Redis's listpack).
    let (add, pts) = random_points("pts", 300, 0x9E37_79B9_7F4A_7C15);
    let mut script = add;
    script.push_str(&random_searches("pts", &pts, 42));
    run("geo_random_big", &script);
    let (add, pts) = random_points("few", 100, 7);
    let mut script = add;
    script.push_str(&random_searches("few", &pts, 43));
    run("geo_random_small", &script);
}

#[test]
fn equal_distances_order_like_redis() {
    // Many members at a few identical places: the order among equal distances comes from
    // Redis's sorts (a stable merge sort for whole results, its partial quicksort under COUNT).
    let mut script = String::new();
    let places = [
        (10.0, 10.0),
        (10.001, 10.0),
        (10.0005, 10.0),
        (9.999, 10.0005),
    ];
    for i in 0..90 {
        let (lon, lat) = places[(i * 7) % places.len()];
        let _ = writeln!(script, "GEOADD t {lon} {lat} m{i}");
    }
    for count in [1, 2, 5, 6, 7, 8, 12, 21, 40, 41, 45, 60, 89, 90, 200] {
        let _ = writeln!(script, "GEORADIUS t 10 10 10 km COUNT {count}");
        let _ = writeln!(
            script,
            "GEORADIUS t 10 10 10 km COUNT {count} DESC WITHDIST"
        );
        let _ = writeln!(
            script,
            "GEOSEARCH t FROMLONLAT 10 10 BYBOX 5 5 km COUNT {count} ASC"
        );
        let _ = writeln!(
            script,
            "GEOSEARCH t FROMMEMBER m3 BYRADIUS 1 km COUNT {count} ANY DESC"
        );
        let _ = writeln!(
            script,
            "GEOSEARCHSTORE d t FROMLONLAT 10 10 BYRADIUS 10 km COUNT {count} DESC"
        );
        script.push_str("ZRANGE d 0 -1 WITHSCORES\n");
    }
    script.push_str(
        "GEORADIUS t 10 10 10 km ASC\nGEORADIUS t 10 10 10 km DESC\nGEORADIUS t 10 10 10 km\n",
    );
    run("geo_ties", &script);
}

/// Starts a keyslot-server and a redis-server as one-node clusters owning every slot.
fn cluster_pair(dir: &common::TempDir) -> (common::Server, common::Server) {
    let flags = [
        "--cluster-enabled",
        "yes",
        "--save",
        "",
        "--appendonly",
        "no",
    ];
    let k = common::Server::keyslot(dir, &flags);
    let r = common::Server::redis(dir, &flags[..2]);
    for s in [&k, &r] {
        s.cli(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !s.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok") {
            assert!(std::time::Instant::now() < deadline, "cluster never ok");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    (k, r)
}

#[test]
fn cluster_key_positions_match_redis() {
    if !common::require_tools("geo_cluster", &["redis-server", "redis-cli"]) {
        return;
    }
    let dir = common::TempDir::new("geo_cluster");
    let (k, r) = cluster_pair(&dir);
    let script = "
GEOADD {g}src 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEORADIUS {g}src 15 37 200 km STORE {g}dst
GEORADIUS {g}src 15 37 200 km STORE other
GEORADIUS {g}src 15 37 200 km STOREDIST other
GEORADIUS {g}src 15 37 200 km STORE {g}dst STOREDIST other
GEORADIUS {g}src 15 37 200 km WITHDIST COUNT 1
GEORADIUSBYMEMBER {g}src Palermo 200 km STOREDIST {g}dst
GEORADIUSBYMEMBER {g}src Palermo 200 km STORE other
GEORADIUS_RO {g}src 15 37 200 km
GEOSEARCHSTORE {g}dst {g}src FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCHSTORE other {g}src FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCH {g}src FROMMEMBER Palermo BYRADIUS 200 km
ZRANGE {g}dst 0 -1 WITHSCORES
COMMAND GETKEYS GEORADIUS src 15 37 200 km STORE a STOREDIST b
COMMAND GETKEYS GEORADIUS src 15 37 200 km STOREDIST b STORE a
COMMAND GETKEYS GEORADIUS src 15 37 200 km STORE a STORE b
COMMAND GETKEYS GEORADIUS src 15 37 200 km WITHDIST
COMMAND GETKEYS GEORADIUS src 15 37 200 km STORE
COMMAND GETKEYS GEORADIUSBYMEMBER src m 200 km STORE a
COMMAND GETKEYS GEORADIUSBYMEMBER src store 200 km STOREDIST a
COMMAND GETKEYS GEORADIUS_RO src 15 37 200 km
COMMAND GETKEYS GEOSEARCHSTORE d s FROMLONLAT 15 37 BYRADIUS 200 km
COMMAND GETKEYS GEOSEARCH s FROMLONLAT 15 37 BYRADIUS 200 km
COMMAND GETKEYS GEOADD k 1 2 m
COMMAND GETKEYS GEODIST k a b
COMMAND GETKEYS GEOPOS k a b
COMMAND GETKEYS GEOHASH k a b
";
    let diffs = compare_util::compare(&k, &r, script);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The append-only files of both servers after the same writes are identical: GEOADD goes in as
/// the ZADD it runs as, searches without STORE are not written, the STORE forms are.
#[test]
fn aof_matches_redis() {
    if !common::require_tools("geo_aof", &["redis-server"]) {
        return;
    }
    let dir = common::TempDir::new("geo_aof");
    let flags = ["--appendonly", "yes", "--save", ""];
    let k = common::Server::keyslot(&dir, &flags);
    let r = common::Server::redis(&dir, &flags);
    let script = "
GEOADD g CH 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEOADD g xx ch 13.5 38.1 Palermo
GEOADD g NX 14 37 Enna
GEORADIUS g 15 37 200 km
GEORADIUSBYMEMBER g Palermo 200 km WITHDIST
GEORADIUS g 15 37 200 km STORE d
GEORADIUSBYMEMBER g Palermo 200 km STOREDIST d2
GEOSEARCHSTORE d3 g FROMMEMBER Palermo BYBOX 400 400 km
GEOSEARCH g FROMMEMBER Palermo BYBOX 400 400 km
GEORADIUS_RO g 15 37 200 km
";
    for s in [&k, &r] {
        let mut c = common::RawConn::connect(s.port);
        for line in script.lines().filter(|l| !l.trim().is_empty()) {
            let args = compare_util::split(line);
            c.call(&args);
        }
    }
    let read = |s: &common::Server| -> Vec<u8> {
        let d = s.dir.join("appendonlydir");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let mut incr: Vec<_> = std::fs::read_dir(&d)
                .map(|it| it.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            incr.retain(|p: &std::path::PathBuf| p.to_string_lossy().ends_with(".incr.aof"));
            let body = incr
                .first()
                .and_then(|p| std::fs::read(p).ok())
                .unwrap_or_default();
            if body
                .to_ascii_lowercase()
                .windows(14)
                .any(|w| w == b"geosearchstore".as_slice())
            {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "AOF of port {} incomplete",
                s.port
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let (ka, ra) = (read(&k), read(&r));
    assert_eq!(String::from_utf8_lossy(&ka), String::from_utf8_lossy(&ra));
}

/// A STORE destination is a key the command writes: a WATCH on it aborts the transaction, and a
/// BZPOPMIN blocked on it is served, on both servers alike.
#[test]
fn store_destination_is_watched_and_wakes_blocked_pops() {
    let Some(p) = compare_util::start("geo_watch") else {
        return;
    };
    let mut transcripts = Vec::new();
    for s in [&p.keyslot, &p.redis] {
        let mut out = Vec::new();
        let mut a = common::RawConn::connect(s.port);
        let mut b = common::RawConn::connect(s.port);
        b.call(&[
            "GEOADD",
            "src",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ]);
        for store in [
            vec!["GEORADIUS", "src", "15", "37", "200", "km", "STORE", "dst"],
            vec![
                "GEORADIUSBYMEMBER",
                "src",
                "Palermo",
                "200",
                "km",
                "STOREDIST",
                "dst",
            ],
            vec![
                "GEOSEARCHSTORE",
                "dst",
                "src",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
            ],
        ] {
            out.push(a.call(&["WATCH", "dst"]).1);
            out.push(a.call(&["MULTI"]).1);
            out.push(a.call(&["GET", "x"]).1);
            out.push(b.call(&store).1);
            out.push(a.call(&["EXEC"]).1);
            out.push(b.call(&["DEL", "dst"]).1);
            a.send(&common::resp_command(&["BZPOPMIN", "dst", "5"]));
            std::thread::sleep(std::time::Duration::from_millis(200));
            out.push(b.call(&store).1);
            out.push(a.read_reply().1);
            out.push(b.call(&["DEL", "dst"]).1);
        }
        transcripts.push(out);
    }
    let show = |t: &Vec<Vec<u8>>| -> Vec<String> {
        t.iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    };
    assert_eq!(show(&transcripts[0]), show(&transcripts[1]));
}

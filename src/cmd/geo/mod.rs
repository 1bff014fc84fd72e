//! Geo commands: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE GEORADIUS
//! GEORADIUSBYMEMBER GEORADIUS_RO GEORADIUSBYMEMBER_RO.
//!
//! As in Redis, a geo index is a plain sorted set whose scores are 52-bit geohashes
//! ([`hash`]): GEOADD is ZADD with computed scores (and replicates as that ZADD), and the
//! searches read the set box by box ([`search`]). Numbers print as Redis prints them
//! ([`text`]).

pub mod hash;
pub mod search;
pub mod text;

use super::zsets::{read_zset, store_zset, zadd};
use super::{arg_i64, eq_ignore_case, flags, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::db::value::zset::parse_score;
use crate::db::value::ZSet;
use crate::resp::Reply;
use bytes::Bytes;
use hash::{Extent, Shape};
use search::{Found, Sort};

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        group: "geo",
        summary,
        handler,
    }
}

const W_OOM: u32 = flags::WRITE | flags::DENYOOM;
const ONE: KeySpec = KeySpec::FIRST;
/// GEOSEARCHSTORE destination source.
const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub const COMMANDS: &[CommandSpec] = &[
    spec("geoadd", -5, W_OOM, ONE, "Add one or more geospatial items in the geospatial index represented using a sorted set", geoadd),
    spec("geodist", -4, flags::READONLY, ONE, "Returns the distance between two members of a geospatial index", geodist),
    spec("geohash", -2, flags::READONLY, ONE, "Returns members of a geospatial index as standard geohash strings", geohash),
    spec("geopos", -2, flags::READONLY, ONE, "Returns longitude and latitude of members of a geospatial index", geopos),
    spec("geosearch", -7, flags::READONLY, ONE, "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", geosearch),
    spec("geosearchstore", -8, W_OOM, TWO_KEYS, "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", geosearchstore),
    spec("georadius", -6, W_OOM, ONE, "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", georadius),
    spec("georadiusbymember", -5, W_OOM, ONE, "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", georadiusbymember),
    spec("georadius_ro", -6, flags::READONLY, ONE, "A read-only variant for GEORADIUS", georadius_ro),
    spec("georadiusbymember_ro", -5, flags::READONLY, ONE, "A read-only variant for GEORADIUSBYMEMBER", georadiusbymember_ro),
];

/// The argv indexes of the keys of GEORADIUS / GEORADIUSBYMEMBER: the source, then the keys
/// after the first `STORE` and the first `STOREDIST` keyword (Redis's key specs: a keyword
/// search from the first option, the last argument never being a keyword).
pub fn radius_key_positions(argv: &[Bytes], first_option: usize) -> Vec<usize> {
    let mut out = vec![1];
    for word in ["store", "storedist"] {
        let end = argv.len().saturating_sub(1);
        if let Some(i) = (first_option..end).find(|&i| eq_ignore_case(&argv[i], word)) {
            out.push(i + 1);
        }
    }
    out
}

/// True when a GEORADIUS / GEORADIUSBYMEMBER line writes a key (STORE or STOREDIST): only
/// those are replicated, the others are reads.
pub fn radius_stores(argv: &[Bytes]) -> bool {
    let first_option = if argv.first().is_some_and(|n| eq_ignore_case(n, "georadius")) {
        6
    } else {
        5
    };
    radius_key_positions(argv, first_option).len() > 1
}

// ---------------------------------------------------------------------------------------------
// Argument helpers.

fn arg_float(arg: &[u8]) -> Result<f64, CmdError> {
    parse_score(arg).ok_or(CmdError::NotFloat)
}

/// A longitude, latitude pair, within the Mercator limits.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], CmdError> {
    let (x, y) = (arg_float(lon)?, arg_float(lat)?);
    if !(hash::LONG_MIN..=hash::LONG_MAX).contains(&x)
        || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&y)
    {
        return Err(CmdError::other(format!(
            "ERR invalid longitude,latitude pair {},{}",
            text::printf_f(x),
            text::printf_f(y)
        )));
    }
    Ok([x, y])
}

/// Meters per unit.
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    let u = arg.to_ascii_lowercase();
    match u.as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(CmdError::other(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// `radius unit`: the radius and the meters per unit.
fn radius_arg(r: &[u8], u: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = parse_score(r).ok_or_else(|| CmdError::other("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::other("ERR radius cannot be negative"));
    }
    Ok((r, unit(u)?))
}

/// `width height unit`.
fn box_arg(w: &[u8], h: &[u8], u: &[u8]) -> Result<(f64, f64, f64), CmdError> {
    let w = parse_score(w).ok_or_else(|| CmdError::other("ERR need numeric width"))?;
    let h = parse_score(h).ok_or_else(|| CmdError::other("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::other("ERR height or width cannot be negative"));
    }
    Ok((w, h, unit(u)?))
}

/// The position of a member (its decoded score).
fn member_pos(z: &ZSet, member: &[u8]) -> Result<[f64; 2], CmdError> {
    z.score(member)
        .map(hash::decode_score)
        .ok_or_else(|| CmdError::other("ERR could not decode requested zset member"))
}

// ---------------------------------------------------------------------------------------------
// GEOADD GEODIST GEOHASH GEOPOS

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: runs (and replicates) as
/// `ZADD key [options] score member ...`.
fn geoadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < argv.len() {
        let a = &argv[first];
        if eq_ignore_case(a, "nx") {
            nx = true;
        } else if eq_ignore_case(a, "xx") {
            xx = true;
        } else if !eq_ignore_case(a, "ch") {
            break;
        }
        first += 1;
    }
    if !(argv.len() - first).is_multiple_of(3) || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    let mut zargv: Vec<Bytes> = Vec::with_capacity(first + (argv.len() - first) / 3 * 2);
    zargv.push(Bytes::from_static(b"zadd"));
    zargv.extend(argv[1..first].iter().cloned());
    for item in argv[first..].chunks_exact(3) {
        let [lon, lat] = lon_lat(&item[0], &item[1])?;
        let score = hash::score_of(lon, lat);
        zargv.push(Bytes::from(itoa::Buffer::new().format(score).to_owned()));
        zargv.push(item[2].clone());
    }
    ctx.client.rewrite = Some(zargv.clone());
    zadd(ctx, &zargv)
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let to_meters = match argv.len() {
        4 => 1.0,
        5 => unit(&argv[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let Some(z) = read_zset(ctx, &argv[1])? else {
        return Ok(Reply::Null);
    };
    let (Some(a), Some(b)) = (z.score(&argv[2]), z.score(&argv[3])) else {
        return Ok(Reply::Null);
    };
    let ([x1, y1], [x2, y2]) = (hash::decode_score(a), hash::decode_score(b));
    let d = hash::distance(x1, y1, x2, y2) / to_meters;
    Ok(Reply::Bulk(Bytes::from(text::distance(d))))
}

/// GEOHASH key [member ...]
fn geohash(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let z = read_zset(ctx, &argv[1])?;
    let items = argv[2..]
        .iter()
        .map(|m| match z.and_then(|z| z.score(m)) {
            Some(s) => Reply::Bulk(Bytes::copy_from_slice(&hash::standard_geohash(s))),
            None => Reply::Null,
        })
        .collect();
    Ok(Reply::Array(items))
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let z = read_zset(ctx, &argv[1])?;
    let items = argv[2..]
        .iter()
        .map(|m| match z.and_then(|z| z.score(m)) {
            Some(s) => coords_reply(hash::decode_score(s)),
            None => Reply::NullArray,
        })
        .collect();
    Ok(Reply::Array(items))
}

fn coords_reply([x, y]: [f64; 2]) -> Reply {
    Reply::Array(vec![Reply::HumanDouble(x), Reply::HumanDouble(y)])
}

// ---------------------------------------------------------------------------------------------
// The searches.

/// Which search command runs (they share one parser, with different arguments allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS[_RO] key lon lat radius unit
    RadiusCoords,
    /// GEORADIUSBYMEMBER[_RO] key member radius unit
    RadiusMember,
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE dst key ...
    SearchStore,
}

#[derive(Debug, Clone, Copy)]
struct Mode {
    kind: Kind,
    /// The _RO variants: no STORE / STOREDIST.
    read_only: bool,
}

fn georadius(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run_search(
        ctx,
        argv,
        Mode {
            kind: Kind::RadiusCoords,
            read_only: false,
        },
    )
}

fn georadiusbymember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run_search(
        ctx,
        argv,
        Mode {
            kind: Kind::RadiusMember,
            read_only: false,
        },
    )
}

fn georadius_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run_search(
        ctx,
        argv,
        Mode {
            kind: Kind::RadiusCoords,
            read_only: true,
        },
    )
}

fn georadiusbymember_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run_search(
        ctx,
        argv,
        Mode {
            kind: Kind::RadiusMember,
            read_only: true,
        },
    )
}

fn geosearch(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run_search(
        ctx,
        argv,
        Mode {
            kind: Kind::Search,
            read_only: false,
        },
    )
}

fn geosearchstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run_search(
        ctx,
        argv,
        Mode {
            kind: Kind::SearchStore,
            read_only: false,
        },
    )
}

/// The options of a search, as parsed.
#[derive(Debug, Default)]
struct Opts {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    sort: Option<Sort>,
    /// 0: no COUNT.
    count: usize,
    store: Option<Bytes>,
    storedist: bool,
    from_member: bool,
    from_lonlat: bool,
    by_radius: bool,
    by_box: bool,
}

/// What a parsed search does.
enum Plan {
    /// The source key does not exist.
    NoSource(Opts),
    /// The points found, and the options.
    Found(Vec<Found>, Opts, f64),
}

/// Parses a search and runs it on the source (everything that reads the source key).
fn plan(ctx: &mut Ctx<'_>, argv: &[Bytes], mode: Mode) -> Result<Plan, CmdError> {
    let src = if mode.kind == Kind::SearchStore { 2 } else { 1 };
    let z = read_zset(ctx, &argv[src])?;
    let mut shape = Shape {
        center: [0.0, 0.0],
        to_meters: 1.0,
        area: Extent::Radius(0.0),
    };
    let mut o = Opts::default();
    let base = match mode.kind {
        Kind::RadiusCoords => {
            shape.center = lon_lat(&argv[2], &argv[3])?;
            let (r, u) = radius_arg(&argv[4], &argv[5])?;
            (shape.area, shape.to_meters) = (Extent::Radius(r), u);
            6
        }
        Kind::RadiusMember => {
            // Without a source the member and the radius are not even read (Redis goes on
            // parsing only to know which empty reply to give).
            if let Some(z) = z {
                shape.center = member_pos(z, &argv[2])?;
                let (r, u) = radius_arg(&argv[3], &argv[4])?;
                (shape.area, shape.to_meters) = (Extent::Radius(r), u);
            }
            5
        }
        Kind::Search => 2,
        Kind::SearchStore => {
            o.store = Some(argv[1].clone());
            3
        }
    };
    let search = matches!(mode.kind, Kind::Search | Kind::SearchStore);
    let radius_store = !mode.read_only && !search;
    let mut i = base;
    while i < argv.len() {
        let a = &argv[i];
        let left = argv.len() - i - 1;
        if eq_ignore_case(a, "withdist") {
            o.withdist = true;
        } else if eq_ignore_case(a, "withhash") {
            o.withhash = true;
        } else if eq_ignore_case(a, "withcoord") {
            o.withcoord = true;
        } else if eq_ignore_case(a, "any") {
            o.any = true;
        } else if eq_ignore_case(a, "asc") {
            o.sort = Some(Sort::Asc);
        } else if eq_ignore_case(a, "desc") {
            o.sort = Some(Sort::Desc);
        } else if eq_ignore_case(a, "count") && left >= 1 {
            let n = arg_i64(&argv[i + 1])?;
            if n <= 0 {
                return Err(CmdError::other("ERR COUNT must be > 0"));
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 1;
        } else if eq_ignore_case(a, "store") && left >= 1 && radius_store {
            o.store = Some(argv[i + 1].clone());
            o.storedist = false;
            i += 1;
        } else if eq_ignore_case(a, "storedist") && left >= 1 && radius_store {
            o.store = Some(argv[i + 1].clone());
            o.storedist = true;
            i += 1;
        } else if eq_ignore_case(a, "storedist") && mode.kind == Kind::SearchStore {
            o.storedist = true;
        } else if eq_ignore_case(a, "frommember") && left >= 1 && search && !o.from_lonlat {
            if let Some(z) = z {
                shape.center = member_pos(z, &argv[i + 1])?;
            }
            o.from_member = true;
            i += 1;
        } else if eq_ignore_case(a, "fromlonlat") && left >= 2 && search && !o.from_member {
            shape.center = lon_lat(&argv[i + 1], &argv[i + 2])?;
            o.from_lonlat = true;
            i += 2;
        } else if eq_ignore_case(a, "byradius") && left >= 2 && search && !o.by_box {
            let (r, u) = radius_arg(&argv[i + 1], &argv[i + 2])?;
            (shape.area, shape.to_meters) = (Extent::Radius(r), u);
            o.by_radius = true;
            i += 2;
        } else if eq_ignore_case(a, "bybox") && left >= 3 && search && !o.by_radius {
            let (w, h, u) = box_arg(&argv[i + 1], &argv[i + 2], &argv[i + 3])?;
            (shape.area, shape.to_meters) = (
                Extent::Box {
                    width: w,
                    height: h,
                },
                u,
            );
            o.by_box = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if o.store.is_some() && (o.withdist || o.withhash || o.withcoord) {
        let who = if mode.kind == Kind::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::other(format!(
            "ERR {who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    // These two name the command as the client typed it.
    let typed = |msg: &str| {
        let mut t = msg.as_bytes().to_vec();
        t.extend_from_slice(&argv[0]);
        CmdError::Raw(Bytes::from(t))
    };
    if search && !(o.from_member || o.from_lonlat) {
        return Err(typed(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ",
        ));
    }
    if search && !(o.by_radius || o.by_box) {
        return Err(typed(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for ",
        ));
    }
    if o.any && o.count == 0 {
        return Err(CmdError::other(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    let Some(z) = z else {
        return Ok(Plan::NoSource(o));
    };
    let limit = if o.any { o.count } else { 0 };
    let points = search::collect(z, &shape, limit);
    Ok(Plan::Found(points, o, shape.to_meters))
}

/// The shared body of the search commands.
fn run_search(ctx: &mut Ctx<'_>, argv: &[Bytes], mode: Mode) -> CmdResult {
    let event = match mode.kind {
        Kind::SearchStore => "geosearchstore",
        _ => "georadiusstore",
    };
    let (mut points, o, to_meters) = match plan(ctx, argv, mode)? {
        Plan::NoSource(o) => {
            return match o.store {
                Some(dst) => store_zset(ctx, &dst, ZSet::new(), event),
                None => Ok(Reply::Array(Vec::new())),
            };
        }
        Plan::Found(p, o, u) => (p, o, u),
    };
    // COUNT means the nearest ones: ascending unless told otherwise (ANY excepted).
    let sort = match o.sort {
        Some(s) => s,
        None if o.count > 0 && !o.any => Sort::Asc,
        None => Sort::None,
    };
    search::order(&mut points, sort, o.count);
    if let Some(dst) = o.store {
        let mut z = ZSet::new();
        for p in points {
            let score = if o.storedist {
                p.dist / to_meters
            } else {
                p.score
            };
            z.insert(p.member, score);
        }
        return store_zset(ctx, &dst, z, event);
    }
    let nested = o.withdist || o.withhash || o.withcoord;
    let items = points
        .into_iter()
        .map(|p| {
            if !nested {
                return Reply::Bulk(p.member);
            }
            let mut v = vec![Reply::Bulk(p.member)];
            if o.withdist {
                v.push(Reply::Bulk(Bytes::from(text::distance(p.dist / to_meters))));
            }
            if o.withhash {
                v.push(Reply::Integer(p.score as i64));
            }
            if o.withcoord {
                v.push(coords_reply(p.xy));
            }
            Reply::Array(v)
        })
        .collect();
    Ok(Reply::Array(items))
}

//! Lists, hashes, sets and sorted sets side by side with the reference: the same command
//! sequences go to a keyslot-server and to a real redis-server 7.0.15 over raw RESP2 and RESP3
//! connections, and every reply must be identical byte for byte, except where a line says
//! otherwise:
//!
//! - `~ CMD`: an unordered reply (SMEMBERS, SINTER, ...): the same elements in any order.
//! - `~p CMD`: an unordered reply of pairs (HGETALL, HRANDFIELD ... WITHVALUES as a whole hash).
//! - `? CMD`: a random reply (SPOP, SRANDMEMBER, HRANDFIELD): the same shape (type, length, nil
//!   or not) only; what it did to the data is then checked by the exact lines after it.
//!
//! Also: redis-benchmark's list / set / hash / zset tests run clean against keyslot.

mod common;

mod compare_util;

use common::{require_tools, RawConn, Resp, Server, TempDir};
use compare_util::{compare, run, split, start};
use std::process::Command;

const WRONGTYPE_SETUP: &str = "
SET str v
RPUSH list a
HSET hash f v
SADD set m
ZADD zset 1 m
";

#[test]
fn lists_match_redis() {
    let script = "
LPUSH l a b c
RPUSH l d e
LRANGE l 0 -1
LRANGE l -3 2
LRANGE l -100 100
LRANGE l 5 1
LRANGE l 0 x
LRANGE nol 0 -1
LLEN l
LLEN nol
LINDEX l 0
LINDEX l -1
LINDEX l 10
LINDEX l x
LINDEX nol x
LSET l 0 z
LSET l 10 z
LSET nol 0 z
LSET l x z
LPUSHX nol a
RPUSHX nol a
LPUSHX l 1 2
RPUSHX l 3
LPOP l
RPOP l
LPOP l 2
RPOP l 0
LPOP l -1
LPOP l x
LPOP l 1 2
LPOP nol
LPOP nol 3
RPOP nol 0
LRANGE l 0 -1
RPUSH r a b a c a d a
LREM r 2 a
LREM r -1 a
LREM r 0 a
LREM r 0 zz
LREM nol 0 a
LREM r x a
LRANGE r 0 -1
LINSERT r BEFORE c X
LINSERT r AFTER c Y
LINSERT r after nope Y
LINSERT r sideways c Y
LINSERT nol before c Y
LRANGE r 0 -1
LTRIM r 1 2
LRANGE r 0 -1
LTRIM r 0 -1
LTRIM r x 1
LTRIM r 5 10
EXISTS r
LTRIM nol 0 1
RPUSH p a b c 1 2 3 c c
LPOS p c
LPOS p c RANK 2
LPOS p c RANK -1
LPOS p c RANK -3
LPOS p c RANK 10
LPOS p c COUNT 0
LPOS p c COUNT 2
LPOS p c COUNT 0 RANK -1
LPOS p c COUNT 0 MAXLEN 3
LPOS p c RANK -1 MAXLEN 2
LPOS p zz
LPOS p zz COUNT 0
LPOS nol a
LPOS nol a COUNT 1
LPOS p c RANK 0
LPOS p c RANK x
LPOS p c RANK -9223372036854775808
LPOS p c COUNT -1
LPOS p c COUNT x
LPOS p c MAXLEN -1
LPOS p c FOO 1
LPOS p c RANK
LMOVE p q LEFT RIGHT
LMOVE p q RIGHT LEFT
LMOVE p p LEFT RIGHT
LRANGE p 0 -1
LRANGE q 0 -1
LMOVE p q UP LEFT
LMOVE nol q LEFT LEFT
RPOPLPUSH q q
RPOPLPUSH q p
RPOPLPUSH nol p
RPUSH one x
RPOPLPUSH one two
EXISTS one
LRANGE two 0 -1
LPUSH
LPUSH l
RPOP
LRANGE l 0
LINSERT l before
RPOPLPUSH a
LMOVE a b LEFT
";
    run(
        "types-lists",
        &format!("{WRONGTYPE_SETUP}{script}{}", wrongtype_lines(LIST_CMDS)),
    );
}

const LIST_CMDS: &[&str] = &[
    "LPUSH str a",
    "RPUSH str a",
    "LPUSHX str a",
    "RPUSHX str a",
    "LPOP str",
    "RPOP str 2",
    "LLEN str",
    "LRANGE str 0 1",
    "LINDEX str 0",
    "LSET str 0 a",
    "LREM str 0 a",
    "LTRIM str 0 1",
    "LINSERT str before a b",
    "LPOS str a",
    "LMOVE str list LEFT LEFT",
    "LMOVE list str LEFT LEFT",
    "RPOPLPUSH list hash",
    "GET list",
    "STRLEN list",
    "APPEND list x",
    "INCR list",
    "TYPE list",
];

const HASH_CMDS: &[&str] = &[
    "HSET str f v",
    "HSETNX str f v",
    "HGET str f",
    "HMGET str f",
    "HMSET str f v",
    "HDEL str f",
    "HLEN str",
    "HEXISTS str f",
    "HGETALL str",
    "HKEYS str",
    "HVALS str",
    "HINCRBY str f 1",
    "HINCRBYFLOAT str f 1",
    "HSTRLEN str f",
    "HRANDFIELD str",
    "HRANDFIELD str 2",
    "HSCAN str 0",
    "HSET list f v",
    "GET hash",
    "TYPE hash",
];

const SET_CMDS: &[&str] = &[
    "SADD str a",
    "SREM str a",
    "SMEMBERS str",
    "SISMEMBER str a",
    "SMISMEMBER str a",
    "SCARD str",
    "SPOP str",
    "SPOP str 2",
    "SRANDMEMBER str",
    "SRANDMEMBER str 2",
    "SMOVE str set a",
    "SMOVE set str m",
    "SINTER set str",
    "SUNION set str",
    "SDIFF set str",
    "SINTERSTORE d set str",
    "SUNIONSTORE d str",
    "SDIFFSTORE d set str",
    "SINTERCARD 2 set str",
    "SSCAN str 0",
    "SADD zset m",
    "GET set",
    "TYPE set",
];

const ZSET_CMDS: &[&str] = &[
    "ZADD str 1 a",
    "ZINCRBY str 1 a",
    "ZREM str a",
    "ZSCORE str a",
    "ZMSCORE str a",
    "ZCARD str",
    "ZCOUNT str 0 1",
    "ZRANK str a",
    "ZREVRANK str a",
    "ZRANGE str 0 1",
    "ZRANGEBYSCORE str 0 1",
    "ZREVRANGEBYSCORE str 1 0",
    "ZRANGEBYLEX str - +",
    "ZREVRANGE str 0 1",
    "ZRANGESTORE d str 0 1",
    "ZPOPMIN str",
    "ZPOPMAX str 2",
    "ZUNIONSTORE d 2 zset str",
    "ZINTERSTORE d 2 zset str",
    "ZUNIONSTORE d 1 list",
    "ZSCAN str 0",
    "ZADD set 1 a",
    "GET zset",
    "TYPE zset",
];

fn wrongtype_lines(cmds: &[&str]) -> String {
    let mut s = String::from("\n");
    for c in cmds {
        s.push_str(c);
        s.push('\n');
    }
    s
}

#[test]
fn hashes_match_redis() {
    let script = "
HSET h a 1 b 2 c 3
HSET h a 10 d 4
HSET h a
HSET h a 1 b
HMSET h e 5
HMSET h e
HSETNX h a 0
HSETNX h f 6
HGET h a
HGET h zz
HGET noh a
HMGET h a zz b
HMGET noh a b
HLEN h
HLEN noh
HEXISTS h a
HEXISTS h zz
HEXISTS noh a
HSTRLEN h a
HSTRLEN h zz
HSTRLEN noh a
HGETALL h
HKEYS h
HVALS h
HGETALL noh
HKEYS noh
HVALS noh
HDEL h a zz b
HDEL noh a
HGETALL h
HDEL h c d e f
EXISTS h
HINCRBY n i 5
HINCRBY n i -10
HINCRBY n i x
HINCRBY n i 9223372036854775807
HINCRBY n i -9223372036854775808
HSET n s abc
HINCRBY n s 1
HINCRBYFLOAT n s 1
HINCRBYFLOAT n f 10.5
HINCRBYFLOAT n f 0.1
HINCRBYFLOAT n f -5e2
HINCRBYFLOAT n f x
HINCRBYFLOAT n f inf
HINCRBYFLOAT n f nan
# A value past 64 bytes turns Redis's hash into a hash table (random order): another key.
HINCRBYFLOAT big g 1.7976931348623157e308
HINCRBYFLOAT big g 1.7976931348623157e308
~p HGETALL big
HINCRBYFLOAT n i 3.0e3
HINCRBYFLOAT n i 0x10
HGET n f
HGETALL n
HRANDFIELD noh
HRANDFIELD noh 2
HRANDFIELD noh 2 WITHVALUES
HRANDFIELD n 0
HRANDFIELD n 0 WITHVALUES
HRANDFIELD n 1 foo
HRANDFIELD n 1 WITHVALUES foo
HRANDFIELD n x
HRANDFIELD n -9223372036854775808
HRANDFIELD n 9223372036854775807 WITHVALUES
HRANDFIELD n -4611686018427387904 WITHVALUES
~ HRANDFIELD n 100
~p HRANDFIELD n 100 WITHVALUES
? HRANDFIELD n
? HRANDFIELD n 2
? HRANDFIELD n -7
? HRANDFIELD n 2 WITHVALUES
? HRANDFIELD n -7 WITHVALUES
HSCAN n 0
HSCAN n 0 MATCH s*
HSCAN n 0 COUNT 1
HSCAN n 0 COUNT 0
HSCAN n 0 COUNT x
HSCAN n 0 TYPE string
HSCAN n 0 MATCH
HSCAN n x
HSCAN n -1
HSCAN noh 0
HSCAN noh 0 COUNT 0
HGETALL
HGET h
HMGET h
HDEL h
HINCRBY h f
HSCAN h
";
    run(
        "types-hashes",
        &format!("{WRONGTYPE_SETUP}{script}{}", wrongtype_lines(HASH_CMDS)),
    );
}

#[test]
fn sets_match_redis() {
    let script = "
SADD s a b c a
SADD s c d
SADD s
SCARD s
SCARD nos
SISMEMBER s a
SISMEMBER s zz
SISMEMBER nos a
SMISMEMBER s a zz d
SMISMEMBER nos a
~ SMEMBERS s
SMEMBERS nos
SREM s a zz
SREM nos a
~ SMEMBERS s
SADD i 3 1 2 10 -5
# Small integer sets are sorted, as Redis's intset.
SMEMBERS i
SSCAN i 0
SREM i 2
SMEMBERS i
SADD i 007 x
~ SMEMBERS i
SINTERSTORE i2 i i
~ SMEMBERS i2
SADD j 5 4 3 -1
SADD k 3 9 -1 100
SINTERSTORE jk j k
SMEMBERS jk
SUNIONSTORE jk j k
SMEMBERS jk
SDIFF j k
SUNION j k
SADD a 1 2 3 4 x
SADD b 3 4 5 y
SADD c 4 5 6
~ SINTER a b
~ SINTER a b c
SINTER a nos
SINTER nos a
~ SUNION a b c
~ SUNION a nos
~ SDIFF a b
~ SDIFF a b c
SDIFF nos a
~ SDIFF a nos
SINTERSTORE d a b
~ SMEMBERS d
SINTERSTORE d a nos
EXISTS d
SUNIONSTORE d a b
SCARD d
SDIFFSTORE d a b c
~ SMEMBERS d
SDIFFSTORE d nos a
EXISTS d
SET strd v
SUNIONSTORE strd a
TYPE strd
SINTERCARD 2 a b
SINTERCARD 3 a b c
SINTERCARD 2 a nos
SINTERCARD 2 a b LIMIT 1
SINTERCARD 2 a b LIMIT 0
SINTERCARD 2 a b limit 10
SINTERCARD 0 a
SINTERCARD x a
SINTERCARD -1 a
SINTERCARD 3 a b
SINTERCARD 1 a LIMIT -1
SINTERCARD 1 a LIMIT x
SINTERCARD 1 a LIMIT
SINTERCARD 1 a foo
SMOVE a b 1
SMOVE a b 1
SMOVE a b zz
SMOVE a a 2
SMOVE a a zz
SMOVE nos a 2
SMOVE a newset 2
SMEMBERS newset
SADD one x
SMOVE one newset x
EXISTS one
SPOP nos
SPOP nos 2
SPOP a 0
SPOP a -1
SPOP a x
SPOP a 1 2
SRANDMEMBER nos
SRANDMEMBER nos 3
SRANDMEMBER nos -3
SRANDMEMBER a 0
SRANDMEMBER a x
SRANDMEMBER a 1 2
SRANDMEMBER a -9223372036854775808
~ SRANDMEMBER a 100
? SRANDMEMBER a
? SRANDMEMBER a 2
? SRANDMEMBER a -10
? SPOP a
SCARD a
? SPOP a 2
SCARD a
? SPOP c 10
EXISTS c
~ SSCAN b 0 MATCH *
~ SSCAN b 0
SSCAN b 0 MATCH y
SSCAN b 0 COUNT 0
SSCAN b x
SSCAN nos 0
SSCAN nos 0 foo bar
SINTER
SINTERSTORE d
SMOVE a b
SSCAN a
";
    run(
        "types-sets",
        &format!("{WRONGTYPE_SETUP}{script}{}", wrongtype_lines(SET_CMDS)),
    );
}

#[test]
fn zsets_match_redis() {
    let script = "
ZADD z 1 a 2 b 3 c
ZADD z 1.5 a 4 d
ZADD z NX 10 a 5 e
ZADD z XX 11 a 6 f
ZADD z XX CH 12 a 2 b
ZADD z GT CH 1 a 20 b
ZADD z LT CH 100 a 1 b
ZADD z nx XX 1 a
ZADD z NX GT 1 a
ZADD z GT LT 1 a
ZADD z INCR 1 a 2 b
ZADD z INCR 2.5 a
ZADD z NX INCR 2.5 a
ZADD z XX INCR 2.5 zz
ZADD z GT INCR -1 a
ZADD z INCR inf a
ZADD z INCR -inf a
ZADD z 1 a 2
ZADD z
ZADD z x a
ZADD z nan a
ZADD z 1e400 a
ZADD z ' 1' a
ZADD z CH
ZADD z 0x10 hex
ZADD z -0 negzero
ZADD z +inf pinf -inf ninf
ZADD z 1e-300 tiny 12345678901234567890 big
ZRANGE z 0 -1 WITHSCORES
ZCARD z
ZCARD noz
ZSCORE z a
ZSCORE z big
ZSCORE z zz
ZSCORE noz a
ZMSCORE z a zz b
ZMSCORE noz a b
ZINCRBY z 1 c
ZINCRBY z -1 new
ZINCRBY z x c
ZINCRBY z nan c
ZREM z pinf ninf tiny big negzero hex zz
ZREM noz a
ZRANGE z 0 -1 WITHSCORES
ZRANK z a
ZRANK z zz
ZRANK noz a
ZREVRANK z a
ZREVRANK z new
ZCOUNT z -inf +inf
ZCOUNT z (1 3
ZCOUNT z 1 (3
ZCOUNT z x 3
ZCOUNT z ( 3
ZCOUNT noz 0 1
ZADD r 1 a 2 b 3 c 4 d 5 e 6 f
ZRANGE r 0 2
ZRANGE r -2 -1 WITHSCORES
ZRANGE r 4 100
ZRANGE r 3 1
ZRANGE r 0 0 REV
ZRANGE r 0 1 REV WITHSCORES
ZRANGE r x 1
ZRANGE r 0 1 LIMIT 0 1
ZRANGE r 0 1 WITHSCORES foo
ZRANGE r (1 3 BYSCORE
ZRANGE r -inf +inf BYSCORE LIMIT 2 2 WITHSCORES
ZRANGE r +inf -inf BYSCORE REV LIMIT 1 2
ZRANGE r 3 1 BYSCORE REV
ZRANGE r 1 3 BYSCORE LIMIT -1 2
ZRANGE r 1 3 BYSCORE LIMIT 1 -1
ZRANGE r 1 3 BYSCORE LIMIT 1 0
ZRANGE r 1 3 BYSCORE LIMIT x 0
ZRANGE r 1 3 BYSCORE LIMIT 1
ZRANGE r 1 3 BYSCORE BYLEX
ZRANGE r 1 3 BYSCORE REV REV
ZRANGE r x 3 BYSCORE
ZRANGE r - + BYLEX
ZRANGE r - + BYLEX WITHSCORES
ZRANGE noz 0 -1
ZRANGE noz 0 -1 BYSCORE
ZRANGEBYSCORE r 2 4
ZRANGEBYSCORE r (2 (4 WITHSCORES
ZRANGEBYSCORE r -inf inf LIMIT 1 3
ZRANGEBYSCORE r 2 4 REV
ZRANGEBYSCORE r 2 4 BYSCORE
ZRANGEBYSCORE r a 4
ZREVRANGEBYSCORE r 4 2
ZREVRANGEBYSCORE r +inf -inf WITHSCORES LIMIT 0 2
ZREVRANGEBYSCORE r 2 4
ZREVRANGE r 0 1
ZREVRANGE r 0 1 WITHSCORES
ZREVRANGE r 0 1 REV
ZREVRANGE r 0 1 LIMIT 0 1
ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f
ZRANGEBYLEX lex - +
ZRANGEBYLEX lex [b (e
ZRANGEBYLEX lex (b [e LIMIT 1 2
ZRANGEBYLEX lex + -
ZRANGEBYLEX lex b c
ZRANGEBYLEX lex - + WITHSCORES
ZREVRANGEBYLEX lex + -
ZREVRANGEBYLEX lex [e (b
ZREVRANGEBYLEX lex - +
ZLEXCOUNT lex [b [d
ZLEXCOUNT lex - +
ZLEXCOUNT lex x +
ZRANGE lex [b [d BYLEX
ZRANGE lex [d [b BYLEX REV
ZRANGESTORE dst r 1 3
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst r 2 4 BYSCORE REV
ZRANGESTORE dst r (2 +inf BYSCORE LIMIT 1 2
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst lex [b [c BYLEX
ZRANGE dst 0 -1
ZRANGESTORE dst r 10 20
EXISTS dst
ZRANGESTORE dst noz 0 -1
ZRANGESTORE dst r 0 1 WITHSCORES
SET strdst v
ZRANGESTORE strdst r 0 1
TYPE strdst
ZPOPMIN r
ZPOPMAX r
ZPOPMIN r 2
ZPOPMAX r 0
ZPOPMAX r -1
ZPOPMAX r x
ZPOPMIN r 1 2
ZPOPMIN noz
ZPOPMIN noz 2
ZPOPMAX r 10
EXISTS r
ZADD rm 1 a 2 b 3 c 4 d 5 e
ZREMRANGEBYRANK rm 0 1
ZREMRANGEBYSCORE rm (3 4
ZREMRANGEBYSCORE rm x 4
ZREMRANGEBYLEX lex [a [b
ZREMRANGEBYRANK rm 0 -1
EXISTS rm
ZADD ua 1 x 2 y
ZADD ub 10 y 20 z
SADD us x z
ZUNIONSTORE d 2 ua ub
ZRANGE d 0 -1 WITHSCORES
ZUNIONSTORE d 3 ua ub us WEIGHTS 1 2 3
ZRANGE d 0 -1 WITHSCORES
ZUNIONSTORE d 2 ua ub AGGREGATE MIN
ZRANGE d 0 -1 WITHSCORES
ZUNIONSTORE d 2 ua ub AGGREGATE max WEIGHTS 2 0.5
ZRANGE d 0 -1 WITHSCORES
ZINTERSTORE d 2 ua ub
ZRANGE d 0 -1 WITHSCORES
ZINTERSTORE d 2 ua us WEIGHTS 2 3
ZRANGE d 0 -1 WITHSCORES
ZINTERSTORE d 2 ua noz
EXISTS d
ZUNIONSTORE d 2 ua noz
ZADD inf1 inf a
ZADD inf2 -inf a
ZUNIONSTORE d 2 inf1 inf2
ZRANGE d 0 -1 WITHSCORES
ZUNIONSTORE d 1 inf1 WEIGHTS 0
ZRANGE d 0 -1 WITHSCORES
ZUNIONSTORE d 0 ua
ZUNIONSTORE d -1 ua
ZUNIONSTORE d x ua
ZINTERSTORE d 0 ua
ZUNIONSTORE d 3 ua ub
ZUNIONSTORE d 2 ua ub WEIGHTS 1
ZUNIONSTORE d 2 ua ub WEIGHTS 1 x
ZUNIONSTORE d 2 ua ub AGGREGATE avg
ZUNIONSTORE d 2 ua ub AGGREGATE
ZUNIONSTORE d 2 ua ub WITHSCORES
ZUNIONSTORE d 2 ua ub foo
ZUNION 2 ua ub
ZUNION 2 ua ub WITHSCORES
ZINTER 2 ua ub WITHSCORES
ZDIFF 2 ua ub
ZDIFF 2 ua ub WITHSCORES
ZDIFFSTORE d 2 ub ua
ZRANGE d 0 -1 WITHSCORES
ZINTERCARD 2 ua ub
ZINTERCARD 2 ua ub LIMIT 0
ZINTERCARD 1 ua LIMIT 1
ZINTERCARD 0 ua
ZINTERCARD 2 ua
ZSCAN ua 0
ZSCAN ua 0 MATCH y
ZSCAN ua 0 COUNT 0
ZSCAN ua x
ZSCAN noz 0
ZADD
ZRANGE z 0
ZSCORE z
ZPOPMIN
ZUNIONSTORE d 1
ZRANGESTORE d z 0
ZSCAN z
";
    run(
        "types-zsets",
        &format!("{WRONGTYPE_SETUP}{script}{}", wrongtype_lines(ZSET_CMDS)),
    );
}

/// RESP2-only: scores whose shortest form differs from `%.17g` (RESP3 doubles print through the
/// shared reply encoder).
#[test]
fn score_text_matches_redis() {
    let Some(p) = start("types-scores") else {
        return;
    };
    let mut k = RawConn::connect(p.keyslot.port);
    let mut r = RawConn::connect(p.redis.port);
    let script = [
        "ZADD z 1.1 a 0.1 b 1e-5 c 123456789.123 d 1e16 e 1.5e17 f 1e20 g 3 h -2.5 i",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZSCORE z a",
        "ZINCRBY z 0.2 b",
        "ZMSCORE z a b c",
        "ZPOPMIN z 2",
        "ZSCAN z 0",
        "ZADD z INCR 0.3 a",
    ];
    let mut diffs = Vec::new();
    for line in script {
        let args = split(line);
        let (_, kraw) = k.call(&args);
        let (_, rraw) = r.call(&args);
        if kraw != rraw {
            diffs.push(format!(
                "{line}\n   keyslot: {:?}\n   redis:   {:?}",
                String::from_utf8_lossy(&kraw),
                String::from_utf8_lossy(&rraw)
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Big collections (past the compact-encoding size) behave the same: counts, ranges, and a
/// full HSCAN / SSCAN / ZSCAN walk returns every element.
#[test]
fn big_collections_match_redis() {
    let Some(p) = start("types-big") else {
        return;
    };
    let mut script = String::new();
    let mut rpush = String::from("RPUSH bl");
    let mut hset = String::from("HSET bh");
    let mut sadd = String::from("SADD bs");
    let mut zadd = String::from("ZADD bz");
    for i in 0..1000 {
        rpush.push_str(&format!(" e{i}"));
        hset.push_str(&format!(" f{i} v{i}"));
        sadd.push_str(&format!(" m{i}"));
        zadd.push_str(&format!(" {} z{i}", (i * 7919) % 1000));
    }
    for l in [rpush, hset, sadd, zadd] {
        script.push_str(&l);
        script.push('\n');
    }
    script.push_str(
        "
LLEN bl
LRANGE bl 500 510
LINDEX bl -500
HLEN bh
HGET bh f999
SCARD bs
ZCARD bz
ZRANGE bz 100 110 WITHSCORES
ZREVRANGE bz 0 5 WITHSCORES
ZRANK bz z500
ZREVRANK bz z500
ZRANGEBYSCORE bz (10 20 WITHSCORES
ZCOUNT bz 100 200
ZREM bz z1 z2 z3
ZRANGE bz 0 5
HDEL bh f1 f2
HLEN bh
SREM bs m1 m2
SCARD bs
~ SINTER bs bs
ZUNIONSTORE d 2 bz bs
ZCARD d
ZRANGE d 0 3 WITHSCORES
",
    );
    let diffs = compare(&p.keyslot, &p.redis, &script);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));

    // Full scans collect everything on both.
    for (cmd, key, per) in [("HSCAN", "bh", 2), ("SSCAN", "bs", 1), ("ZSCAN", "bz", 2)] {
        for port in [p.keyslot.port, p.redis.port] {
            let mut c = RawConn::connect(port);
            let mut seen = std::collections::BTreeSet::new();
            let mut cursor = b"0".to_vec();
            loop {
                let (reply, raw) =
                    c.call(&[cmd.as_bytes(), key.as_bytes(), &cursor, b"COUNT", b"50"]);
                let Resp::Array(Some(parts)) = reply else {
                    panic!("{cmd}: {raw:?}");
                };
                let Resp::Array(Some(items)) = &parts[1] else {
                    panic!("{cmd} items");
                };
                for item in items.iter().step_by(per) {
                    seen.insert(item.as_bytes().unwrap().to_vec());
                }
                cursor = parts[0].as_bytes().unwrap().to_vec();
                if cursor == b"0" {
                    break;
                }
            }
            let want = if cmd == "ZSCAN" { 997 } else { 998 };
            assert_eq!(seen.len(), want, "{cmd} on port {port}");
        }
    }
}

/// redis-benchmark's list, set, hash and sorted set tests run against keyslot with no error.
#[test]
fn redis_benchmark_types_run_clean() {
    if !require_tools("types_benchmark", &["redis-benchmark"]) {
        return;
    }
    let dir = TempDir::new("types-bench");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let out = Command::new("redis-benchmark")
        .arg("-p")
        .arg(k.port.to_string())
        .args([
            "-t",
            "lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600",
            "-n",
            "20000",
            "-q",
        ])
        .output()
        .expect("run redis-benchmark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("ERR") && !text.contains("WRONGTYPE"),
            "benchmark reported an error:\n{text}"
        );
    }
    let lines = stdout
        .split(['\n', '\r'])
        .filter(|l| l.contains("requests per second"))
        .count();
    assert!(lines >= 13, "expected 13 result lines:\n{stdout}");
}

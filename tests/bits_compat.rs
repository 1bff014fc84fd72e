//! Bitmaps, bitfields and HyperLogLogs side by side with the reference: the same command
//! sequences go to a keyslot-server and to a real redis-server 7.0.15 (RESP2 and RESP3), and
//! every reply must be identical byte for byte (see `compare_util`).

mod common;

mod compare_util;

use compare_util::run;

const WRONGTYPE_SETUP: &str = "
SET str v
RPUSH list a
";

#[test]
fn setbit_getbit_match_redis() {
    let script = format!(
        "{WRONGTYPE_SETUP}
SETBIT b 7 1
GET b
SETBIT b 7 1
SETBIT b 7 0
GETBIT b 7
SETBIT b 0 1
GETBIT b 0
GETBIT b 1
GETBIT b 100000
GETBIT nokey 5
SETBIT b 100 1
STRLEN b
GET b
SETBIT b -1 1
SETBIT b x 1
SETBIT b 1 2
SETBIT b 1 -1
SETBIT b 1 x
SETBIT b 4294967295 1
SETBIT b 4294967296 1
SETBIT b 9223372036854775807 1
GETBIT b -1
GETBIT b 4294967296
GETBIT b '#1'
SETBIT b '#1' 1
SETBIT list 0 1
GETBIT list 0
SETBIT list x 1
SETBIT list 0 5
SET n 1234
SETBIT n 1 1
GET n
SETBIT big 4294967295 0
STRLEN big
DEL big
SET t ab
EXPIRE t 100
SETBIT t 20 1
TTL t
GET t
SETBIT setbit 0 1
"
    );
    run("bits_setbit", &script);
}

#[test]
fn bitcount_bitpos_match_redis() {
    let script = format!(
        "{WRONGTYPE_SETUP}
SET s foobar
BITCOUNT s
BITCOUNT s 0 0
BITCOUNT s 1 1
BITCOUNT s 1 -2
BITCOUNT s -2 -1
BITCOUNT s -1 -2
BITCOUNT s 5 30 BIT
BITCOUNT s 5 30 byte
BITCOUNT s 0 -1 BIT
BITCOUNT s -9 -2 bit
BITCOUNT s 1 0 bit
BITCOUNT s 100 200
BITCOUNT s -100 -50
BITCOUNT s 0 100 BIT
BITCOUNT s 0 1 foo
BITCOUNT s -1 -2 foo
BITCOUNT s 0
BITCOUNT s 0 1 bit x
BITCOUNT s x 1
BITCOUNT s 0 x
BITCOUNT nokey
BITCOUNT nokey 0
BITCOUNT nokey 0 1 foo
BITCOUNT list
BITCOUNT list 0
SET e ''
BITCOUNT e
BITCOUNT e 0 -1
BITCOUNT e 0 -1 bit
BITCOUNT s -9223372036854775808 9223372036854775807
BITCOUNT s -9223372036854775808 9223372036854775807 BIT
SET p '   '
SETBIT p 10 0
BITPOS p 0
BITPOS p 1
SET z ''
BITPOS z 0
BITPOS z 1
BITPOS z 0 0
BITPOS z 0 0 -1 bit
SET ff xyz
SETBIT ff 3 1
BITPOS ff 1
BITPOS ff 0
BITPOS ff 1 1
BITPOS ff 0 1 -1
BITPOS ff 1 2 -1 BIT
BITPOS ff 0 5 17 bit
BITPOS ff 1 17 5 bit
BITPOS ff 0 -3 -1 BYTE
BITPOS ff 1 100
BITPOS ff 0 100
BITPOS ff 1 -100 -50
BITPOS ff 0 0 -1 bit
BITPOS ff 1 0 -1 foo
BITPOS ff 2
BITPOS ff -1
BITPOS ff x
BITPOS ff 1 x
BITPOS ff 1 0 x
BITPOS ff 1 0 1 bit extra
BITPOS nokey 0
BITPOS nokey 1
BITPOS nokey 1 x
BITPOS nokey 2
BITPOS list 1
BITPOS list 2
SETRANGE ones 0 '\u{ff}'
SET allones 'abc'
BITOP NOT allones allones
BITOP NOT allones allones
SET full zz
BITOP OR full full full
BITPOS full 0
SETBIT bb 0 1
SETBIT bb 1 1
SETBIT bb 2 1
SETBIT bb 3 1
SETBIT bb 4 1
SETBIT bb 5 1
SETBIT bb 6 1
SETBIT bb 7 1
SETBIT bb 8 1
SETBIT bb 9 1
SETBIT bb 10 1
SETBIT bb 11 1
SETBIT bb 12 1
SETBIT bb 13 1
SETBIT bb 14 1
SETBIT bb 15 1
BITPOS bb 0
BITPOS bb 0 0
BITPOS bb 0 0 -1
BITPOS bb 0 3 bit
BITPOS bb 0 3 15 bit
BITPOS bb 0 3 14 bit
BITPOS bb 1 3 14 bit
BITCOUNT bb 3 14 bit
"
    );
    run("bits_count_pos", &script);
}

#[test]
fn bitop_matches_redis() {
    let script = format!(
        "{WRONGTYPE_SETUP}
SET a foobar
SET b abcdefghij
SET c x
BITOP AND d a b
GET d
BITOP OR d a b c
GET d
BITOP XOR d a b c nokey
GET d
BITOP NOT d a
GET d
BITOP and d a b
BITOP Or d a
BITOP nOt d nokey
EXISTS d
BITOP AND d nokey nokey2
EXISTS d
BITOP NOT d a b
BITOP FOO d a
BITOP AND d a list
BITOP AND list a
GET list
TYPE list
SET withttl x
EXPIRE withttl 100
BITOP OR withttl a
TTL withttl
BITOP AND a a
GET a
BITOP XOR x1 a a
GET x1
BITOP AND x2 a nokey
GET x2
BITOP OR x3 c nokey
GET x3
SET num 12345
BITOP NOT num num
GET num
"
    );
    run("bits_bitop", &script);
}

#[test]
fn bitfield_matches_redis() {
    let script = format!(
        "{WRONGTYPE_SETUP}
BITFIELD f SET i8 0 100 GET i8 0
BITFIELD f INCRBY i8 0 100 INCRBY i8 0 -300
BITFIELD f OVERFLOW SAT INCRBY i8 0 200 INCRBY i8 0 -1000
BITFIELD f OVERFLOW FAIL INCRBY i8 0 200 GET i8 0 OVERFLOW WRAP INCRBY i8 0 200
BITFIELD f SET u8 8 255 GET u8 8 INCRBY u8 8 1
BITFIELD f OVERFLOW SAT SET u8 8 300 SET u8 8 -5 GET u8 8
BITFIELD f OVERFLOW FAIL SET u8 8 300 SET u8 8 -5 SET i8 8 -129 SET i8 8 128 GET u8 8
BITFIELD f OVERFLOW WRAP SET u8 8 300 SET u8 8 -5 SET i8 8 -129 SET i8 8 128 GET u8 8
GET f
BITFIELD f GET u4 0 GET i4 4 GET u1 15 GET i1 15 GET u63 0 GET i64 0
BITFIELD f SET i64 0 -1 GET i64 0 GET u63 0 GET u63 1 INCRBY i64 0 1
BITFIELD f SET i64 0 9223372036854775807 INCRBY i64 0 1
BITFIELD f OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -1
BITFIELD f OVERFLOW FAIL SET i64 0 -9223372036854775808 INCRBY i64 0 -1 INCRBY i64 0 9223372036854775807 INCRBY i64 0 1
BITFIELD f OVERFLOW SAT SET u63 0 9223372036854775807 INCRBY u63 0 1 INCRBY u63 0 -9223372036854775808
BITFIELD f OVERFLOW WRAP SET u63 0 9223372036854775807 INCRBY u63 0 1 INCRBY u63 0 -1
BITFIELD f SET u2 '#3' 3 GET u2 '#3' GET u8 0 SET i5 '#10' -7 GET i5 '#10' GET i5 50
STRLEN f
BITFIELD f SET u3 1000 5
STRLEN f
BITFIELD g GET u8 0 GET i16 1000
EXISTS g
BITFIELD g OVERFLOW FAIL SET u2 0 10
EXISTS g
GET g
BITFIELD g
BITFIELD g OVERFLOW SAT
BITFIELD g GET u8
BITFIELD g GET
BITFIELD g FOO u8 0
BITFIELD g SET u8 0
BITFIELD g INCRBY u8 0
BITFIELD g OVERFLOW
BITFIELD g OVERFLOW FOO GET u8 0
BITFIELD g GET u64 0
BITFIELD g GET u0 0
BITFIELD g GET i65 0
BITFIELD g GET x8 0
BITFIELD g GET '' 0
BITFIELD g GET i 0
BITFIELD g GET i08 0
BITFIELD g GET i8 -1
BITFIELD g GET i8 x
BITFIELD g GET i8 '#'
BITFIELD g GET i8 '#-1'
BITFIELD g GET i8 4294967295
BITFIELD g GET i8 4294967296
BITFIELD g GET i8 '#536870911'
BITFIELD g GET i8 '#536870912'
BITFIELD g GET i64 '#1152921504606846976'
BITFIELD g SET i8 0 x
BITFIELD g INCRBY i8 0 1.5
BITFIELD g SET i8 0 99999999999999999999
BITFIELD g GET i8 0 SET i8 x 1
BITFIELD list GET u8 0
BITFIELD list SET u8 0 1
BITFIELD list FOO
BITFIELD str GET u8 0 GET u16 0 GET u32 0
BITFIELD_RO str GET u8 0 GET i16 4
BITFIELD_RO str
BITFIELD_RO str SET u8 0 1
BITFIELD_RO str INCRBY u8 0 1
BITFIELD_RO str OVERFLOW SAT
BITFIELD_RO str GET u8 0 SET u8 0 1
BITFIELD_RO list GET u8 0
BITFIELD_RO nokey GET u8 0
BITFIELD_RO list SET u8 0 1
BITFIELD_RO str GET u64 0
BITFIELD_RO str FOO
BITFIELD h SET u8 0 1 SET u8 0 1 GET u8 0
BITFIELD h SET u8 0 1
BITFIELD h INCRBY u8 0 0
"
    );
    run("bits_bitfield", &script);
}

#[test]
fn hyperloglog_commands_match_redis() {
    // A corrupted sparse HLL (no opcodes), a wrong-length dense one, an unknown encoding, a
    // sparse one whose opcodes cover too few registers, and one whose opcodes run past the end.
    let hdr = "HYLL\u{1}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}";
    let script = format!(
        "{WRONGTYPE_SETUP}
PFADD h a b c d e f g
PFADD h a b
PFADD h
PFADD new
PFADD new
GET new
PFCOUNT new
GET new
PFCOUNT h
GET h
PFCOUNT h
GET h
PFADD h h1 h2 h3
GET h
PFCOUNT h nokey
PFCOUNT nokey
PFCOUNT nokey nokey2
PFCOUNT h list
PFCOUNT list
PFCOUNT str
PFCOUNT h str
PFADD list a
PFADD str a
PFMERGE m h
GET m
PFCOUNT m
PFMERGE m2
GET m2
PFMERGE m3 nokey
GET m3
PFMERGE m h str
PFMERGE str h
PFMERGE list h
PFMERGE h list
PFDEBUG ENCODING h
PFDEBUG DECODE h
PFDEBUG GETREG nokey
PFDEBUG ENCODING str
PFDEBUG ENCODING list
PFDEBUG FOO h
PFDEBUG FOO nokey
PFDEBUG TODENSE h
PFDEBUG TODENSE h
GET h
PFDEBUG ENCODING h
PFDEBUG DECODE h
PFADD h z1 z2
PFCOUNT h
GET h
PFADD s2 x y
PFDEBUG GETREG s2
PFDEBUG ENCODING s2
PFMERGE s3 s2 h
PFDEBUG ENCODING s3
PFMERGE s4 s2 new
PFDEBUG ENCODING s4
GET s4
SET bad1 '{hdr}'
PFADD bad1 a
PFCOUNT bad1
PFCOUNT bad1 h
PFMERGE x bad1
PFDEBUG TODENSE bad1
PFDEBUG GETREG bad1
PFDEBUG DECODE bad1
SET bad2 'HYLL\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}'
PFADD bad2 a
PFCOUNT bad2
SET bad3 'HYLL\u{2}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}xx'
PFADD bad3 a
SET bad4 HYL
PFCOUNT bad4
SET bad5 '{hdr}\u{7f}\u{ff}'
PFCOUNT bad5
PFADD bad5 a b c
PFDEBUG DECODE bad5
SET bad6 '{hdr}\u{40}\u{0}\u{3f}'
PFCOUNT bad6
PFDEBUG DECODE bad6
PFADD bad6 a
GET bad6
PFADD c foo
SETRANGE c 4 '\u{0}'
PFCOUNT c
SET e ''
PFADD e a
PFSELFTEST
COMMAND GETKEYS PFCOUNT a b c
COMMAND GETKEYS PFMERGE a b c
COMMAND GETKEYS BITOP AND a b c
COMMAND GETKEYS PFDEBUG GETREG a
"
    );
    run("bits_hll", &script);
}

/// Sends one command to both servers and asserts the raw replies are identical.
fn both(k: &mut common::RawConn, r: &mut common::RawConn, args: &[String]) -> Vec<u8> {
    let (_, kraw) = k.call(args);
    let (_, rraw) = r.call(args);
    assert!(
        kraw == rraw,
        "{:?}\n   keyslot: {:?}\n   redis:   {:?}",
        args.iter().take(4).collect::<Vec<_>>(),
        String::from_utf8_lossy(&kraw[..kraw.len().min(300)]),
        String::from_utf8_lossy(&rraw[..rraw.len().min(300)])
    );
    kraw
}

fn words(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

/// PFADDs `count` elements named `prefix{i}` in batches, then compares the key's count,
/// encoding, bytes and DUMP.
fn fill_and_compare(
    k: &mut common::RawConn,
    r: &mut common::RawConn,
    key: &str,
    prefix: &str,
    count: usize,
) {
    let mut i = 0;
    while i < count {
        let n = 500.min(count - i);
        let mut args = vec!["PFADD".to_string(), key.to_string()];
        args.extend((i..i + n).map(|j| format!("{prefix}{j}")));
        both(k, r, &args);
        i += n;
    }
    for cmd in [
        "PFDEBUG ENCODING",
        "GET",
        "DUMP",
        "PFCOUNT",
        "GET",
        "DUMP",
        "STRLEN",
    ] {
        let mut a = words(cmd);
        a.push(key.to_string());
        both(k, r, &a);
    }
}

#[test]
fn hll_bytes_and_dumps_match_redis_at_scale() {
    let Some(p) = compare_util::start("bits_hll_scale") else {
        return;
    };
    let mut k = common::RawConn::connect(p.keyslot.port);
    let mut r = common::RawConn::connect(p.redis.port);
    let (k, r) = (&mut k, &mut r);
    fill_and_compare(k, r, "s300", "el:", 300);
    fill_and_compare(k, r, "s300b", "other-", 300);
    fill_and_compare(k, r, "s1500", "m", 1500);
    fill_and_compare(k, r, "d10k", "el:", 10_000);
    fill_and_compare(k, r, "d100k", "x", 100_000);
    both(k, r, &words("PFCOUNT s300 s300b"));
    both(k, r, &words("PFCOUNT s300 d10k d100k nokey"));
    for (dest, srcs) in [
        ("m1", "s300 s300b"),
        ("m2", "d10k s300"),
        ("m3", "d100k d10k s300 s1500"),
        ("s300", "s300b s1500"),
    ] {
        both(k, r, &words(&format!("PFMERGE {dest} {srcs}")));
        for cmd in ["PFDEBUG ENCODING", "GET", "PFCOUNT", "DUMP"] {
            let mut a = words(cmd);
            a.push(dest.to_string());
            both(k, r, &a);
        }
    }
    // A lower sparse limit turns HLLs dense sooner.
    both(k, r, &words("CONFIG SET hll-sparse-max-bytes 200"));
    both(k, r, &words("CONFIG GET hll-sparse-max-bytes"));
    fill_and_compare(k, r, "small", "q", 120);
    both(k, r, &words("CONFIG SET hll-sparse-max-bytes 3000"));
    // DUMP of other long strings: LZF output is byte-identical too.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in [21usize, 40, 100, 1000, 5000, 20_000, 70_000] {
        let text: String = (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly repetitive, with some noise, so both literals and references occur.
                if x.is_multiple_of(5) {
                    (b'a' + (x % 26) as u8) as char
                } else {
                    (b'a' + (i % 7) as u8) as char
                }
            })
            .collect();
        let key = format!("str{len}");
        both(k, r, &["SET".into(), key.clone(), text]);
        both(k, r, &["DUMP".into(), key]);
    }
}

/// A field of `INFO replication`.
fn repl_field(port: u16, field: &str) -> String {
    let text = common::cli(port, &["INFO", "replication"]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Runs the bitmap / HLL command sequence on a master whose replica is of the other kind; returns
/// the number of replication stream bytes the sequence produced.
fn replicate_sequence(master: &common::Server, replica: &common::Server) -> u64 {
    let up = || repl_field(replica.port, "master_link_status") == "up";
    common::cli(
        replica.port,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    );
    assert!(common::wait_until(std::time::Duration::from_secs(20), up));
    let offset = || -> u64 {
        repl_field(master.port, "master_repl_offset")
            .parse()
            .unwrap_or(0)
    };
    let caught_up = || {
        let m = repl_field(master.port, "master_repl_offset");
        repl_field(replica.port, "master_repl_offset") == m
    };
    assert!(common::wait_until(
        std::time::Duration::from_secs(10),
        caught_up
    ));
    let before = offset();
    let mut c = common::RawConn::connect(master.port);
    let mut lines: Vec<String> = "SETBIT b 7 1
SETBIT b 7 1
SETBIT b 100 1
BITFIELD b GET u8 0
BITFIELD_RO b GET u8 0
BITFIELD b SET u8 0 1 INCRBY i5 100 3
BITFIELD b OVERFLOW FAIL INCRBY u2 0 9
BITOP NOT nb b
BITOP AND empty nokey
PFADD s a b c
PFCOUNT s
PFCOUNT s
PFCOUNT s nokey
PFADD s2 x
PFDEBUG TODENSE s2
PFDEBUG TODENSE s2
PFDEBUG GETREG s2
PFDEBUG ENCODING s"
        .lines()
        .map(str::to_string)
        .collect();
    for i in 0..8 {
        let elems: Vec<String> = (0..500).map(|j| format!("e{}", i * 500 + j)).collect();
        lines.push(format!("PFADD h {}", elems.join(" ")));
    }
    lines.push("PFCOUNT h".into());
    lines.push("PFMERGE m h s".into());
    lines.push("PFCOUNT m".into());
    for l in &lines {
        c.call(&words(l));
    }
    assert!(common::wait_until(
        std::time::Duration::from_secs(10),
        caught_up
    ));
    for key in ["b", "nb", "s", "s2", "h", "m", "empty"] {
        let (_, m) = common::RawConn::connect(master.port).call(&["GET", key]);
        let (_, r) = common::RawConn::connect(replica.port).call(&["GET", key]);
        assert_eq!(m, r, "{key} differs between master and replica");
    }
    offset() - before
}

#[test]
fn bitmaps_and_hlls_replicate_both_ways_as_redis_propagates_them() {
    if !common::require_tools("bits_repl", &["redis-server"]) {
        return;
    }
    let dir = common::TempDir::new("bits_repl");
    // No pings in the stream while the sequence runs, so the offsets count only commands.
    let quiet = ["--repl-ping-replica-period", "3600"];
    let ks_master = common::Server::keyslot(&dir, &quiet);
    let redis_replica = common::Server::redis(&dir, &[]);
    let redis_master = common::Server::redis(&dir, &quiet);
    let ks_replica = common::Server::keyslot(&dir, &[]);
    let from_keyslot = replicate_sequence(&ks_master, &redis_replica);
    let from_redis = replicate_sequence(&redis_master, &ks_replica);
    assert_eq!(
        from_keyslot, from_redis,
        "keyslot and redis-server propagate different streams for the same commands"
    );
}

#[test]
fn bitmaps_and_hlls_survive_an_aof_restart() {
    let dir = common::TempDir::new("bits_aof");
    // appendfsync always: every acknowledged write is on disk before the SIGKILL below.
    let mut ks = common::Server::keyslot(
        &dir,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ],
    );
    let mut c = common::RawConn::connect(ks.port);
    for line in [
        "SETBIT b 7 1",
        "SETBIT b 7 1",
        "BITFIELD b SET i8 8 -3 INCRBY u4 20 7",
        "BITOP NOT nb b",
        "PFADD s a b c",
        "PFCOUNT s",
        "PFADD s2 x",
        "PFDEBUG TODENSE s2",
    ] {
        c.call(&words(line));
    }
    let mut args = vec!["PFADD".to_string(), "h".to_string()];
    args.extend((0..3000).map(|i| format!("e{i}")));
    c.call(&args);
    c.call(&words("PFMERGE m h s"));
    c.call(&words("PFCOUNT m"));
    let keys = ["b", "nb", "s", "s2", "h", "m"];
    let before: Vec<Vec<u8>> = keys.iter().map(|k| c.call(&["GET", k]).1).collect();
    drop(c);
    ks.kill();
    ks.restart();
    let mut c = common::RawConn::connect(ks.port);
    let after: Vec<Vec<u8>> = keys.iter().map(|k| c.call(&["GET", k]).1).collect();
    assert_eq!(before, after);
}

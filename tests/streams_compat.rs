//! Streams side by side with redis-server 7.0.15: every command and its errors through the
//! reply comparator (explicit IDs, `?` where a reply carries wall-clock times), blocking
//! XREAD / XREADGROUP, replication of consumer-group state to a redis-server replica, and
//! DUMP / RESTORE both ways with equal XINFO STREAM FULL.

mod common;

mod compare_util;

use common::{wait_until, RawConn, Resp, Server, TempDir};
use compare_util::run;
use std::time::Duration;

#[test]
fn xadd_and_ids_match_redis() {
    run(
        "streams-xadd",
        "
XADD s 1-1 a 1 b 2
XADD s 1-* a 3
XADD s 1-* a 4
XADD s 2 c x
XADD s 2-* d y
XADD s 0-0 a 1
XADD s 1-5 a 1
XADD s 2-1 a 1
XADD s 3-0 a
XADD s 3-0
XADD s 3-0 a 1 b
XADD s - a 1
XADD s + a 1
XADD s abc a 1
XADD s 1-2-3 a 1
XADD s 01-0 a 1
XADD s 10--0 a 1
XADD s 11-01 a 1
XADD s 12-18446744073709551615 a 1
XADD s 12-* a 1
XADD s 18446744073709551616 a 1
XADD s NOMKSTREAM 20-0 f v
XADD nos NOMKSTREAM 1-0 f v
EXISTS nos
XADD fresh 0-* f v
XADD fresh 0-* f v
XADD big 18446744073709551615-18446744073709551614 f v
XADD big 18446744073709551615-* f v
XADD big 18446744073709551615-18446744073709551615 f v
XADD big * f v
XADD s MAXLEN -1 30-0 f v
XADD s MAXLEN x 30-0 f v
XADD s MAXLEN 5 MINID 1 30-0 f v
XADD s LIMIT 10 30-0 f v
XADD s MAXLEN 5 LIMIT 10 30-0 f v
XADD s MAXLEN ~ 5 LIMIT -1 30-0 f v
XADD s MAXLEN ~ 5 LIMIT x 30-0 f v
XADD s MINID abc 30-0 f v
XADD s MINID + 30-0 f v
XADD s MAXLEN
XADD s MAXLEN 3 31-0 f v
XLEN s
XRANGE s - +
XADD s MINID = 31 32-0 f v
XRANGE s - +
XADD s MAXLEN = 1 33-0 f v
XADD s MINID ~ 0 34-0 f v
XRANGE s - +
XADD s MAXLEN ~ 1 LIMIT 0 35-0 f v
XLEN s
XADD s nomkstream maxlen 10 36-0 '' ''
XRANGE s 36 36
XADD ints 1-0 1 2 -3 100000 12345678901 x
XRANGE ints - +
SET str v
XADD str 1-0 a 1
XLEN str
XLEN nokey
TYPE s
OBJECT ENCODING s
",
    );
}

#[test]
fn ranges_del_trim_match_redis() {
    run(
        "streams-range",
        "
XADD s 1-0 a 1
XADD s 1-1 a 2
XADD s 2-0 b 3
XADD s 2-5 a 4 b 5
XADD s 3-0 a 6
XRANGE s - +
XRANGE s 1 2
XRANGE s 2 1
XRANGE s (1-0 (3-0
XRANGE s (1 +
XRANGE s - (2
XRANGE s ( +
XRANGE s (- +
XRANGE s - (+
XRANGE s (18446744073709551615-18446744073709551615 +
XRANGE s - (0-0
XRANGE s - + COUNT 2
XRANGE s - + COUNT 0
XRANGE s - + COUNT -1
XRANGE s - + COUNT x
XRANGE s - + COUNT
XRANGE s - + FOO 1
XRANGE s x +
XRANGE s - x
XRANGE nokey - +
XRANGE nokey - + COUNT 0
XREVRANGE s + -
XREVRANGE s + - COUNT 2
XREVRANGE s (3 (1-0
XREVRANGE s 2 2
XDEL s 2-0 9-9
XDEL s 2-0
XDEL s x
XDEL nokey x
XDEL nokey 1-0
XRANGE s - +
XINFO STREAM s
XDEL s 1-0
XINFO STREAM s
XTRIM s
XTRIM s MAXLEN
XTRIM s FOO 1
XTRIM s MAXLEN 1 MINID 1
XTRIM s MAXLEN ~ 1 LIMIT 1 NOMKSTREAM
XTRIM s NOMKSTREAM MAXLEN 1
XTRIM s MAXLEN 10 LIMIT 1
XTRIM s MINID 3
XRANGE s - +
XTRIM s MAXLEN 0
XLEN s
XINFO STREAM s
EXISTS s
XTRIM nokey MAXLEN 0
SET str v
XTRIM str MAXLEN 0
XDEL str 1-0
XRANGE str - +
XREVRANGE str + -
",
    );
}

#[test]
fn approximate_trimming_follows_nodes() {
    let mut script = String::from("CONFIG SET stream-node-max-entries 10\n");
    for i in 1..=95 {
        script.push_str(&format!("XADD s {i}-0 f v{i}\n"));
    }
    script.push_str(
        "XINFO STREAM s
XTRIM s MAXLEN ~ 50
XLEN s
XTRIM s MAXLEN ~ 50
XTRIM s MINID ~ 60
XLEN s
XTRIM s MAXLEN ~ 10 LIMIT 10
XLEN s
XTRIM s MAXLEN ~ 10 LIMIT 9
XADD s MAXLEN ~ 5 96-0 f v
XLEN s
XDEL s 90-0 91-0 92-0
XINFO STREAM s
XTRIM s MINID 93
XINFO STREAM s FULL
CONFIG SET stream-node-max-bytes 100
XADD t 1-0 field 01234567890123456789012345678901234567890123456789
XADD t 2-0 field 01234567890123456789012345678901234567890123456789
XADD t 3-0 other 01234567890123456789012345678901234567890123456789
XINFO STREAM t
CONFIG SET stream-node-max-bytes 300
XADD u 1-1 f1 1 g -977
XADD u 2-2 f0 127 g -1954
XADD u 3-0 f1 128 g -2931
XADD u 4-1 f0 4095 g -3908
XADD u 5-2 f1 -4096 g -4885
XADD u 6-0 f0 32767 g -5862
XADD u 7-1 f1 8388607 g -6839
XADD u 8-2 f0 2147483647 g -7816
XADD u 9-0 f1 9223372036854775807 g -8793
XADD u 10-1 f0 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx g -9770
XADD u 11-2 f1 abc g -10747
XADD u 12-0 f0 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx g -11724
XADD u 13-1 f1 00 g -12701
XADD u 14-2 f0 -0 g -13678
XADD u 15-0 f1 3.5 g -14655
XADD u 16-1 f0 1 g -15632
XADD u 17-2 f1 127 g -16609
XADD u 18-0 f0 128 g -17586
XADD u 19-1 f1 4095 g -18563
XADD u 20-2 f0 -4096 g -19540
XADD u 21-0 f1 32767 g -20517
XADD u 22-1 f0 8388607 g -21494
XADD u 23-2 f1 2147483647 g -22471
XADD u 24-0 f0 9223372036854775807 g -23448
XADD u 25-1 f1 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx g -24425
XADD u 26-2 f0 abc g -25402
XADD u 27-0 f1 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx g -26379
XADD u 28-1 f0 00 g -27356
XADD u 29-2 f1 -0 g -28333
XADD u 30-0 f0 3.5 g -29310
XINFO STREAM u
XTRIM u MAXLEN ~ 10
XINFO STREAM u
CONFIG SET stream-node-max-bytes 4096
CONFIG SET stream-node-max-entries 100
",
    );
    run("streams-approx", &script);
}

#[test]
fn xread_matches_redis() {
    run(
        "streams-xread",
        "
XADD s 1-0 a 1
XADD s 2-0 b 2
XADD t 5-0 c 3
XREAD STREAMS s 0
XREAD COUNT 1 STREAMS s t 0 0
XREAD STREAMS s t 1 4
XREAD STREAMS s t 2 5
XREAD STREAMS s $
XREAD STREAMS nokey 0
XREAD STREAMS s
XREAD STREAMS s t 0
XREAD COUNT x STREAMS s 0
XREAD COUNT -1 STREAMS s 0
XREAD BLOCK x STREAMS s 0
XREAD BLOCK -1 STREAMS s 0
XREAD GROUP g c STREAMS s 0
XREAD NOACK STREAMS s 0
XREAD STREAMS s >
XREAD STREAMS s +
XREAD STREAMS s -
XREAD STREAMS s abc
XREAD FOO STREAMS s 0
XREAD COUNT 1
COMMAND GETKEYS XREAD COUNT 1 STREAMS a b 0 0
COMMAND GETKEYS XREADGROUP GROUP g c STREAMS a 0
COMMAND GETKEYS XADD k * f v
COMMAND GETKEYS XGROUP CREATE k g 0
COMMAND GETKEYS XINFO STREAM k
SET str v
XREAD STREAMS str 0
XREAD STREAMS s str 0 0
MULTI
XREAD BLOCK 0 STREAMS s $
EXEC
",
    );
}

#[test]
fn groups_match_redis() {
    run(
        "streams-groups",
        "
XGROUP CREATE s g $
XGROUP CREATE s g $ MKSTREAM
XGROUP CREATE s g $ MKSTREAM
XGROUP CREATE s g2 0 ENTRIESREAD x
XGROUP CREATE s g2 0 ENTRIESREAD -2
XGROUP CREATE s g2 0 FOO
XGROUP CREATE s g2 - 
XGROUP CREATE s g2 abc
XGROUP SETID s nog 0
XGROUP SETID s g 0 MKSTREAM
XGROUP CREATECONSUMER s nog c
XGROUP DELCONSUMER s nog c
XGROUP DESTROY s nog
XGROUP DESTROY nokey g
XGROUP FOO s g
XGROUP CREATE s
XGROUP
XGROUP HELP
XGROUP HELP x
XADD s 1-0 a 1
XADD s 2-0 b 2
XADD s 3-0 c 3
XADD s 4-0 d 4
XINFO GROUPS s
XGROUP CREATE s g2 0
XGROUP CREATE s g3 2-0 ENTRIESREAD 2
XGROUP CREATE s g4 + 
XINFO GROUPS s
XREADGROUP GROUP g2 alice COUNT 2 STREAMS s >
XREADGROUP GROUP g2 bob STREAMS s >
XREADGROUP GROUP g2 bob STREAMS s >
XREADGROUP GROUP g2 alice STREAMS s 0
XREADGROUP GROUP g2 alice COUNT 1 STREAMS s 1-0
XREADGROUP GROUP g2 nobody STREAMS s 0
XREADGROUP GROUP g3 carol NOACK STREAMS s >
XINFO GROUPS s
XPENDING s g2
XPENDING s g3
XPENDING s nog
XPENDING nokey g
? XPENDING s g2 - + 10
? XPENDING s g2 - + 10 alice
XPENDING s g2 - + 10 nobody
? XPENDING s g2 IDLE 0 - + 10
XPENDING s g2 IDLE 1000000 - + 10
XPENDING s g2 - + 0
XPENDING s g2 - +
XPENDING s g2 IDLE 10 - + 
XPENDING s g2 IDLE x - + 10
XPENDING s g2 - + x
XPENDING s g2 x + 10
XPENDING s g2 (- + 10
XPENDING s g2 - (0 10
XPENDING s g2 - + 10 a b c d
XACK s g2 1-0 9-0
XACK s g2 1-0
XACK s g2 x
XACK s nog x
XACK nokey g 1-0
XPENDING s g2
XCLAIM s g2 dave 0 2-0 3-0 JUSTID
XPENDING s g2
XCLAIM s g2 dave 0 4-0 RETRYCOUNT 7 JUSTID
? XPENDING s g2 - + 10
XCLAIM s g2 erin 1000000 2-0 JUSTID
XCLAIM s g2 erin 0 1-0 JUSTID
XCLAIM s g2 erin 0 1-0 FORCE JUSTID
XCLAIM s g2 erin 0 1-0 FORCE RETRYCOUNT 3 JUSTID
XCLAIM s g2 erin 0 2-0
XCLAIM s g2 erin 0 2-0 FOO
XCLAIM s g2 erin x 2-0
XCLAIM s g2 erin 0 2-0 IDLE x
XCLAIM s g2 erin 0 2-0 TIME x
XCLAIM s g2 erin 0 2-0 RETRYCOUNT x
XCLAIM s g2 erin 0 2-0 LASTID x
XCLAIM s g2 erin 0 2-0 LASTID 9-0 JUSTID
XINFO GROUPS s
XCLAIM s nog erin 0 2-0
XCLAIM nokey g erin 0 2-0
XDEL s 3-0
XCLAIM s g2 frank 0 3-0 JUSTID
XPENDING s g2
XAUTOCLAIM s g2 gina 0 0 COUNT 1 JUSTID
XAUTOCLAIM s g2 gina 0 0 JUSTID
XAUTOCLAIM s g2 gina 0 0
XAUTOCLAIM s g2 gina 1000000 0
XAUTOCLAIM s g2 gina 0 0 COUNT 0
XAUTOCLAIM s g2 gina 0 0 COUNT x
XAUTOCLAIM s g2 gina 0 0 FOO
XAUTOCLAIM s g2 gina x 0
XAUTOCLAIM s g2 gina 0 x
XAUTOCLAIM s nog gina 0 0
XAUTOCLAIM nokey g gina 0 0
XREADGROUP GROUP g2 hank STREAMS s 0
XADD s 5-0 e 5
XDEL s 4-0
XREADGROUP GROUP g2 hank STREAMS s 0
XAUTOCLAIM s g2 ivan 0 0 JUSTID
XPENDING s g2
XINFO GROUPS s
? XINFO CONSUMERS s g2
XINFO CONSUMERS s nog
XINFO CONSUMERS nokey g
XGROUP CREATECONSUMER s g2 zed
XGROUP CREATECONSUMER s g2 zed
XGROUP DELCONSUMER s g2 gina
XGROUP DELCONSUMER s g2 nobody
XGROUP SETID s g2 1-0
XGROUP SETID s g2 $ ENTRIESREAD 3
XGROUP SETID s g2 - ENTRIESREAD -1
XINFO GROUPS s
XGROUP DESTROY s g2
XGROUP DESTROY s g2
XINFO GROUPS s
XINFO STREAM s
? XINFO STREAM s FULL
XINFO STREAM s FULL COUNT
XINFO STREAM s FOO
XINFO STREAM s FULL COUNT x
XINFO STREAM nokey
XINFO FOO s
XINFO HELP
XINFO
XREADGROUP GROUP nog c STREAMS s >
XREADGROUP GROUP g3 c STREAMS s $
XREADGROUP GROUP g3 c STREAMS nokey >
XREADGROUP STREAMS s >
XREADGROUP GROUP g3 c STREAMS s > >
SET str v
XGROUP CREATE str g $
XREADGROUP GROUP g c STREAMS str >
XACK str g 1-0
XPENDING str g
XCLAIM str g c 0 1-0
XAUTOCLAIM str g c 0 0
XINFO STREAM str
XINFO GROUPS str
",
    );
}

#[test]
fn lag_and_setid_match_redis() {
    run(
        "streams-lag",
        "
XADD s 1-0 f v
XADD s 2-0 f v
XADD s 3-0 f v
XADD s 4-0 f v
XGROUP CREATE s g 0
XINFO GROUPS s
XREADGROUP GROUP g c COUNT 1 STREAMS s >
XINFO GROUPS s
XDEL s 3-0
XINFO GROUPS s
XREADGROUP GROUP g c COUNT 1 STREAMS s >
XINFO GROUPS s
XREADGROUP GROUP g c STREAMS s >
XINFO GROUPS s
XADD s 5-0 f v
XINFO GROUPS s
XDEL s 1-0
XGROUP CREATE s g2 0
XGROUP CREATE s g3 1-0
XINFO GROUPS s
XTRIM s MAXLEN 0
XINFO GROUPS s
XINFO STREAM s
XSETID s 1-0
XSETID s 9-0 ENTRIESADDED 3
XSETID s 9-0 ENTRIESADDED -1
XSETID s 9-0 ENTRIESADDED x
XSETID s 9-0 MAXDELETEDID 10-0
XSETID s 9-0 MAXDELETEDID x
XSETID s 9-0 FOO
XSETID s x
XSETID s -
XSETID nokey 1-0
XSETID s 9-0 ENTRIESADDED 10 MAXDELETEDID 8-0
XINFO STREAM s
XINFO GROUPS s
XADD s 9-0 f v
XADD s 9-1 f v
XSETID s 9-0
XSETID s 9-1 ENTRIESADDED 0
XINFO STREAM s
SET str v
XSETID str 1-0
",
    );
}

/// Reads one reply from each connection and asserts they are equal.
fn same_reply(k: &mut RawConn, r: &mut RawConn) -> Vec<u8> {
    let (_, kraw) = k.read_reply();
    let (_, rraw) = r.read_reply();
    assert_eq!(
        String::from_utf8_lossy(&kraw),
        String::from_utf8_lossy(&rraw)
    );
    kraw
}

#[test]
fn blocking_reads_match_redis() {
    let Some(p) = compare_util::start("streams-block") else {
        return;
    };
    for proto in ["2", "3"] {
        let mut conns = Vec::new();
        for port in [p.keyslot.port, p.redis.port] {
            let mut w = RawConn::connect(port);
            w.call(&["FLUSHALL"]);
            w.call(&["XADD", "s", "1-0", "a", "1"]);
            w.call(&["XGROUP", "CREATE", "s", "g", "$"]);
            let mut b1 = RawConn::connect(port);
            b1.call(&["HELLO", proto]);
            let mut b2 = RawConn::connect(port);
            b2.call(&["HELLO", proto]);
            let mut b3 = RawConn::connect(port);
            b3.call(&["HELLO", proto]);
            let mut b4 = RawConn::connect(port);
            b4.call(&["HELLO", proto]);
            conns.push((w, b1, b2, b3, b4));
        }
        for c in conns.iter_mut() {
            c.1.send(&common::resp_command(&[
                "XREAD", "BLOCK", "0", "STREAMS", "s", "$",
            ]));
            c.2.send(&common::resp_command(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ]));
            c.3.send(&common::resp_command(&[
                "XREAD", "BLOCK", "0", "STREAMS", "s", "5-0",
            ]));
            c.4.send(&common::resp_command(&[
                "XREAD", "BLOCK", "50", "STREAMS", "t", "$",
            ]));
        }
        std::thread::sleep(Duration::from_millis(300));
        for c in conns.iter_mut() {
            c.0.call(&["XADD", "s", "2-0", "b", "2"]);
        }
        let (a, b) = conns.split_at_mut(1);
        let (k, r) = (&mut a[0], &mut b[0]);
        same_reply(&mut k.1, &mut r.1);
        same_reply(&mut k.2, &mut r.2);
        same_reply(&mut k.4, &mut r.4);
        k.0.call(&["XADD", "s", "6-0", "c", "3"]);
        r.0.call(&["XADD", "s", "6-0", "c", "3"]);
        same_reply(&mut k.3, &mut r.3);
        // A blocked XREADGROUP is released with an error when its group or key goes.
        for c in [&mut *k, &mut *r] {
            c.1.send(&common::resp_command(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ]));
            c.2.send(&common::resp_command(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "carol",
                "COUNT",
                "1",
                "BLOCK",
                "0",
                "NOACK",
                "STREAMS",
                "s",
                ">",
            ]));
        }
        std::thread::sleep(Duration::from_millis(200));
        // Bob is served at once (the group had 6-0 undelivered), carol waits for 7-0.
        same_reply(&mut k.1, &mut r.1);
        k.0.call(&["XADD", "s", "7-0", "d", "4"]);
        r.0.call(&["XADD", "s", "7-0", "d", "4"]);
        same_reply(&mut k.2, &mut r.2);
        let (_, kp) = k.0.call(&["XPENDING", "s", "g"]);
        let (_, rp) = r.0.call(&["XPENDING", "s", "g"]);
        assert_eq!(kp, rp);
        let (_, kp) = k.0.call(&["XINFO", "GROUPS", "s"]);
        let (_, rp) = r.0.call(&["XINFO", "GROUPS", "s"]);
        assert_eq!(kp, rp);
        for c in [&mut *k, &mut *r] {
            c.1.send(&common::resp_command(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ]));
        }
        std::thread::sleep(Duration::from_millis(200));
        k.0.call(&["XGROUP", "DESTROY", "s", "g"]);
        r.0.call(&["XGROUP", "DESTROY", "s", "g"]);
        same_reply(&mut k.1, &mut r.1);
        for c in [&mut *k, &mut *r] {
            c.0.call(&["XGROUP", "CREATE", "s", "g", "$"]);
            c.1.send(&common::resp_command(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ]));
        }
        std::thread::sleep(Duration::from_millis(200));
        k.0.call(&["DEL", "s"]);
        r.0.call(&["DEL", "s"]);
        same_reply(&mut k.1, &mut r.1);
    }
}

/// Whether a replica's stream `key` equals `want` (see [`full_info`]); false while the stream
/// has not reached it yet (XINFO would answer "no such key", which `full_info` refuses).
fn replica_has(port: u16, key: &str, mask_read: bool, want: &str) -> bool {
    RawConn::connect(port).call(&["EXISTS", key]).1 == b":1\r\n"
        && full_info(port, key, mask_read) == want
}

/// XINFO STREAM FULL with the consumers' seen-time (set by each server's clock) zeroed, and
/// with `mask_read` the groups' entries-read too (a redis-server replica does not get it from
/// the XCLAIM ... LASTID its master sends, so it differs from the master's in Redis too).
fn full_info(port: u16, key: &str, mask_read: bool) -> String {
    let mut c = RawConn::connect(port);
    let (r, raw) = c.call(&["XINFO", "STREAM", key, "FULL"]);
    assert!(
        !matches!(r, Resp::Error(_)),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let text = String::from_utf8_lossy(&raw).to_string();
    let mut out = Vec::new();
    let mut zero_next = 0;
    for line in text.split("\r\n") {
        if zero_next == 1 {
            out.push(":0".to_string());
            zero_next = 0;
            continue;
        }
        if line == "seen-time" || (mask_read && line == "entries-read") {
            zero_next = 2;
        }
        if zero_next == 2 {
            zero_next = 1;
        }
        out.push(line.to_string());
    }
    out.join("\n")
}

fn call_ok(port: u16, args: &[&str]) -> Resp {
    let mut c = RawConn::connect(port);
    let (r, raw) = c.call(args);
    assert!(
        !matches!(r, Resp::Error(_)),
        "{args:?}: {}",
        String::from_utf8_lossy(&raw)
    );
    r
}

/// Builds consumer-group state with every replicated form: XADD with generated IDs, ~ trims,
/// XREADGROUP (with and without NOACK), XCLAIM, XAUTOCLAIM, XACK, XGROUP.
fn build_group_state(port: u16) {
    let cmds: &[&[&str]] = &[
        &["CONFIG", "SET", "stream-node-max-entries", "4"],
        &["XADD", "s", "*", "a", "1"],
        &["XADD", "s", "*", "a", "2"],
        &["XADD", "s", "MAXLEN", "~", "3", "*", "a", "3"],
        &["XADD", "s", "1999999999999-*", "a", "4"],
        &["XADD", "s", "1999999999999-*", "a", "5"],
        &["XADD", "s", "MAXLEN", "~", "3", "*", "a", "6"],
        &["XTRIM", "s", "MAXLEN", "~", "2"],
        &["XGROUP", "CREATE", "s", "g", "0"],
        &["XGROUP", "CREATE", "s", "h", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
        &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
        &[
            "XREADGROUP",
            "GROUP",
            "h",
            "carol",
            "NOACK",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            ">",
        ],
        &["XCLAIM", "s", "g", "dave", "0", "1999999999999-1", "JUSTID"],
        &["XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "1"],
        &["XACK", "s", "g", "1999999999999-0"],
        &["XGROUP", "CREATECONSUMER", "s", "h", "zed"],
        &["XDEL", "s", "1999999999999-1"],
        &["XADD", "s", "MINID", "~", "1999999999999-1", "*", "b", "1"],
        &["CONFIG", "SET", "stream-node-max-entries", "100"],
    ];
    for c in cmds {
        call_ok(port, c);
    }
}

#[test]
fn replication_keeps_groups_equal() {
    if !common::require_tools("streams-repl", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("streams-repl");
    let master = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    let replica = Server::redis(&dir, &[]);
    let kreplica = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    for r in [&replica, &kreplica] {
        call_ok(
            r.port,
            &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
        );
    }
    let synced = |port: u16| {
        wait_until(Duration::from_secs(20), || {
            let mut c = RawConn::connect(port);
            let (r, _) = c.call(&["INFO", "replication"]);
            r.as_bytes()
                .is_some_and(|b| String::from_utf8_lossy(b).contains("master_link_status:up"))
        })
    };
    assert!(synced(replica.port) && synced(kreplica.port));
    build_group_state(master.port);
    let want = full_info(master.port, "s", true);
    for r in [&replica, &kreplica] {
        let ok = wait_until(Duration::from_secs(10), || {
            replica_has(r.port, "s", true, &want)
        });
        assert!(
            ok,
            "replica {}:\n{}\nmaster:\n{}",
            r.port,
            full_info(r.port, "s", true),
            want
        );
    }
    // The two replicas agree exactly, entries-read included.
    assert_eq!(
        full_info(replica.port, "s", false),
        full_info(kreplica.port, "s", false)
    );
    // A full sync carries the whole state (keyslot's RDB to redis-server).
    let want = full_info(master.port, "s", false);
    let late = Server::redis(&dir, &[]);
    call_ok(
        late.port,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    );
    assert!(synced(late.port));
    let ok = wait_until(Duration::from_secs(10), || {
        replica_has(late.port, "s", false, &want)
    });
    assert!(
        ok,
        "full sync:\n{}\nmaster:\n{}",
        full_info(late.port, "s", false),
        want
    );
}

#[test]
fn keyslot_replica_of_redis_master() {
    if !common::require_tools("streams-repl2", &["redis-server"]) {
        return;
    }
    let dir = TempDir::new("streams-repl2");
    let master = Server::redis(&dir, &[]);
    let before = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    call_ok(
        before.port,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    );
    let synced = |port: u16| {
        wait_until(Duration::from_secs(20), || {
            let mut c = RawConn::connect(port);
            let (r, _) = c.call(&["INFO", "replication"]);
            r.as_bytes()
                .is_some_and(|b| String::from_utf8_lossy(b).contains("master_link_status:up"))
        })
    };
    assert!(synced(before.port));
    build_group_state(master.port);
    // The command stream (redis-server's XCLAIM / XGROUP SETID forms, MULTI / EXEC).
    let want = full_info(master.port, "s", true);
    let ok = wait_until(Duration::from_secs(10), || {
        replica_has(before.port, "s", true, &want)
    });
    assert!(
        ok,
        "stream:\n{}\nmaster:\n{}",
        full_info(before.port, "s", true),
        want
    );
    // A full sync (redis-server's RDB read by keyslot) carries all of it.
    let want = full_info(master.port, "s", false);
    let late = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    call_ok(
        late.port,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    );
    assert!(synced(late.port));
    let ok = wait_until(Duration::from_secs(10), || {
        replica_has(late.port, "s", false, &want)
    });
    assert!(
        ok,
        "full sync:\n{}\nmaster:\n{}",
        full_info(late.port, "s", false),
        want
    );
}

#[test]
fn dump_restore_both_ways() {
    let Some(p) = compare_util::start("streams-dump") else {
        return;
    };
    // redis-server checks every listpack of keyslot's payloads deeply.
    call_ok(
        p.redis.port,
        &["CONFIG", "SET", "sanitize-dump-payload", "yes"],
    );
    for (from, to) in [(&p.redis, &p.keyslot), (&p.keyslot, &p.redis)] {
        call_ok(from.port, &["FLUSHALL"]);
        call_ok(to.port, &["FLUSHALL"]);
        build_group_state(from.port);
        call_ok(
            from.port,
            &["XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM"],
        );
        for key in ["s", "empty"] {
            let payload = match call_ok(from.port, &["DUMP", key]) {
                Resp::Bulk(Some(b)) => b,
                other => panic!("DUMP: {other:?}"),
            };
            let mut c = RawConn::connect(to.port);
            let (r, raw) = c.call(&[b"RESTORE".as_ref(), key.as_bytes(), b"0", &payload]);
            assert!(
                !matches!(r, Resp::Error(_)),
                "{}",
                String::from_utf8_lossy(&raw)
            );
            let mut a = RawConn::connect(from.port);
            let (_, want) = a.call(&["XINFO", "STREAM", key, "FULL"]);
            let (_, got) = c.call(&["XINFO", "STREAM", key, "FULL"]);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{key} from {} to {}",
                from.port,
                to.port
            );
        }
    }
}

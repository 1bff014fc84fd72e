//! Malformed and hostile input, side by side with the reference: every case sends the same bytes
//! to a keyslot-server and to a real redis-server 7.0.15 and asserts the same reply bytes and the
//! same closed / still-open outcome (redis-compat.md section 6); the keyslot node must still
//! answer PING afterwards. Plus large values, deep pipelines and clients vanishing mid-frame.

mod common;

use common::{ping, raw_exchange, require_tools, resp_command, RawConn, Server, TempDir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How long a connection must stay silent before we conclude no (more) reply is coming.
const QUIET: Duration = Duration::from_millis(300);

struct Case {
    name: String,
    bytes: Vec<u8>,
}

fn case(name: &str, bytes: impl Into<Vec<u8>>) -> Case {
    Case {
        name: name.to_string(),
        bytes: bytes.into(),
    }
}

/// The outcome of one exchange, printable for failure messages.
#[derive(PartialEq, Eq)]
struct Outcome {
    reply: Vec<u8>,
    closed: bool,
}

/// Bytes as an escaped ASCII string (`\xff`, `\r\n`), so that non-UTF-8 differences show.
fn escape(bytes: &[u8]) -> String {
    let escaped: Vec<u8> = bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .collect();
    format!("\"{}\"", String::from_utf8_lossy(&escaped))
}

/// Where two replies first differ, with some context from each.
fn first_difference(k: &[u8], r: &[u8]) -> String {
    let Some(at) = (0..k.len().max(r.len())).find(|&i| k.get(i) != r.get(i)) else {
        return "replies are equal".to_string();
    };
    let from = at.saturating_sub(20);
    let window = |b: &[u8]| escape(&b[from.min(b.len())..(at + 40).min(b.len())]);
    format!(
        "first difference at byte {at}: keyslot {} / redis {}",
        window(k),
        window(r)
    )
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<u8> = self.reply.iter().take(300).copied().collect();
        write!(
            f,
            "{}{} closed={}",
            escape(&shown),
            if self.reply.len() > 300 {
                format!("... ({} bytes)", self.reply.len())
            } else {
                String::new()
            },
            self.closed
        )
    }
}

fn exchange(port: u16, bytes: &[u8]) -> Outcome {
    let (reply, closed) = raw_exchange(port, bytes, QUIET);
    Outcome { reply, closed }
}

/// Runs every case against both servers, all in parallel, and returns the differences. Also
/// checks after each case that keyslot still answers PING on a new connection.
fn compare_cases(keyslot: u16, redis: u16, password: Option<&str>, cases: &[Case]) -> Vec<String> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|c| {
                scope.spawn(move || {
                    let r = scope.spawn(move || exchange(redis, &c.bytes));
                    let k = exchange(keyslot, &c.bytes);
                    let r = r.join().expect("redis exchange");
                    let mut diffs = Vec::new();
                    if k != r {
                        diffs.push(format!(
                            "{}: sent {}\n    keyslot: {k:?}\n    redis:   {r:?}\n    {}",
                            c.name,
                            escape(&c.bytes[..c.bytes.len().min(80)]),
                            first_difference(&k.reply, &r.reply)
                        ));
                    }
                    if !alive(keyslot, password) {
                        diffs.push(format!("{}: keyslot stopped answering PING", c.name));
                    }
                    diffs
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("case thread"))
            .collect()
    })
}

/// Whether the server answers PING on a new connection (after AUTH when a password is set).
fn alive(port: u16, password: Option<&str>) -> bool {
    let Some(password) = password else {
        return ping(port);
    };
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    // AUTH and PING in separate round trips, so this checks liveness only.
    let mut ok = [0u8; 5];
    let mut pong = [0u8; 7];
    s.write_all(&resp_command(&["AUTH", password])).is_ok()
        && s.read_exact(&mut ok).is_ok()
        && &ok == b"+OK\r\n"
        && s.write_all(b"PING\r\n").is_ok()
        && s.read_exact(&mut pong).is_ok()
        && &pong == b"+PONG\r\n"
}

fn assert_no_diffs(what: &str, diffs: Vec<String>) {
    assert!(
        diffs.is_empty(),
        "{what}: {} cases differ from redis-server 7.0.15:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

struct Pair {
    keyslot: Server,
    redis: Server,
    _dir: TempDir,
}

fn pair(tag: &str, flags: &[&str]) -> Pair {
    let dir = TempDir::new(tag);
    let mut kflags = vec!["--save", "", "--appendonly", "no"];
    kflags.extend_from_slice(flags);
    let keyslot = Server::keyslot(&dir, &kflags);
    let redis = Server::redis(&dir, flags);
    Pair {
        keyslot,
        redis,
        _dir: dir,
    }
}

/// Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn protocol_edge_cases_match_redis() {
    if !require_tools("protocol_edge_cases", &["redis-server"]) {
        return;
    }
    let p = pair("bad-proto", &[]);
    let big_inline = vec![b'a'; 70 * 1024];
    let mut big_count = b"*".to_vec();
    big_count.extend(std::iter::repeat_n(b'1', 70 * 1024));
    let mut big_bulk_len = b"*1\r\n$".to_vec();
    big_bulk_len.extend(std::iter::repeat_n(b'1', 70 * 1024));
    let mut big_inline_newline = vec![b'a'; 70 * 1024];
    big_inline_newline.extend_from_slice(b"\r\n");

    let cases = vec![
        // Unknown commands and arity.
        case("unknown command", "*1\r\n$3\r\nFOO\r\n"),
        case(
            "unknown command with arg",
            "*2\r\n$3\r\nFOO\r\n$3\r\nbar\r\n",
        ),
        case("unknown inline command", "foo bar baz\r\n"),
        case("GET without key", "*1\r\n$3\r\nGET\r\n"),
        case("inline GET without key", "GET\r\n"),
        // Bulk lengths.
        case("bulk length -2", "*1\r\n$-2\r\n"),
        case("bulk length -1", "*1\r\n$-1\r\n"),
        case("bulk length abc", "*1\r\n$abc\r\n"),
        case(
            "bulk length over proto-max-bulk-len",
            "*1\r\n$536870913\r\n",
        ),
        case("bulk length over i64", "*1\r\n$9223372036854775808\r\n"),
        case(
            "bulk length 25 digits",
            "*1\r\n$1234567890123456789012345\r\n",
        ),
        case("bulk length with leading zero", "*1\r\n$04\r\nPING\r\n"),
        case("bulk length with plus", "*1\r\n$+4\r\nPING\r\n"),
        case("bulk length empty", "*1\r\n$\r\n"),
        case("70 KiB of bulk length digits", big_bulk_len),
        case("header without dollar", "*1\r\nPING\r\n"),
        case("header with colon", "*1\r\n:4\r\nPING\r\n"),
        case("header with raw high byte", b"*1\r\n\xffPING\r\n".to_vec()),
        case("bulk trailer unchecked", "*1\r\n$4\r\nPINGxx"),
        case(
            "bulk trailer unchecked then ping",
            "*1\r\n$4\r\nPINGxxPING\r\n",
        ),
        case("bulk header byte after CR unchecked", "*1\r\n$4\rXPING\r\n"),
        // Multibulk counts.
        case("count 1048577 waits", "*1048577\r\n"),
        case("count 2147483647 waits", "*2147483647\r\n"),
        case("count 2147483648", "*2147483648\r\n"),
        case("count abc", "*abc\r\n"),
        case("count empty", "*\r\n"),
        case("count with leading zero", "*01\r\n$4\r\nPING\r\n"),
        case("count -2 ignored", "*-2\r\nPING\r\n"),
        case("count 0 ignored", "*0\r\n"),
        case("count -1 ignored", "*-1\r\n"),
        case("empty line ignored", "\r\n"),
        case(
            "ignored lines then ping",
            "*0\r\n*-1\r\n\r\n\n   \r\nPING\r\n",
        ),
        case("count line byte after CR unchecked", "*1\rX$4\r\nPING\r\n"),
        case("70 KiB of count digits", big_count),
        // Truncated frames: no reply, stays open.
        case("truncated count line", "*1"),
        case("truncated bulk header", "*2\r\n$4\r\nECHO\r\n$5"),
        case(
            "truncated bulk data",
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc",
        ),
        case("truncated before trailer", "*1\r\n$4\r\nPING"),
        case("truncated inline", "PING"),
        case("complete then truncated", "PING\r\n*2\r\n$4\r\nECHO\r\n"),
        // Inline commands.
        case("inline bare LF", "PING\n"),
        case("inline with spaces", "   PING    \r\n"),
        case("inline with tabs", "\tECHO\t x \r\n"),
        case("inline quoted", "ECHO \"a b\" 'c d'\r\n"),
        case("inline escapes", "ECHO \"\\x41\\n\\t\\\\\"\r\n"),
        case("inline single quote escape", "ECHO 'it\\'s'\r\n"),
        case("inline unbalanced double quote", "SET \"foo bar\r\n"),
        case("inline quote followed by char", "ECHO \"a\"b\r\n"),
        case("inline unbalanced single quote", "ECHO 'abc\r\n"),
        case("inline NUL waits", b"PI\x00NG\r\n".to_vec()),
        case("inline that looks like a bulk", "$4\r\nPING\r\n"),
        case("70 KiB inline without newline", big_inline),
        case("70 KiB inline with newline", big_inline_newline),
        // HELLO and AUTH.
        case("HELLO 4", "HELLO 4\r\n"),
        case("HELLO 1", "HELLO 1\r\n"),
        case("HELLO 0", "HELLO 0\r\n"),
        case("HELLO abc", "HELLO abc\r\n"),
        case("AUTH without password configured", "AUTH foo\r\n"),
        case(
            "AUTH default without password configured",
            "AUTH default foo\r\n",
        ),
        case("AUTH other user", "AUTH bob foo\r\n"),
        case("AUTH arity", "AUTH\r\n"),
        case("AUTH too many", "AUTH a b c\r\n"),
        // Cluster commands on a standalone node.
        case("CLUSTER INFO standalone", "CLUSTER INFO\r\n"),
        case("CLUSTER NODES standalone", "CLUSTER NODES\r\n"),
        // HTTP probes: closed without a reply, even for earlier commands of the same read.
        case("POST", "POST / HTTP/1.1\r\n"),
        case("Host:", "Host: x\r\n"),
        case("post lower case", "post /x\r\n"),
        case("GET then Host:", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        case("PING then POST", "PING\r\nPOST / HTTP/1.1\r\n"),
        case("multibulk POST", "*1\r\n$4\r\nPOST\r\n"),
        // QUIT closes after its reply; later commands are not run.
        case("QUIT", "PING\r\nQUIT\r\nPING\r\n"),
        case("QUIT with args", "QUIT now\r\n"),
    ];
    let diffs = compare_cases(p.keyslot.port, p.redis.port, None, &cases);
    assert!(ping(p.keyslot.port), "keyslot does not answer PING");
    assert_no_diffs("protocol edge cases", diffs);
}

#[test]
fn requirepass_limits_match_redis() {
    if !require_tools("requirepass", &["redis-server"]) {
        return;
    }
    // Server::restart waits for +PONG, so the password is set once the servers are up.
    let p = pair("bad-auth", &[]);
    for port in [p.keyslot.port, p.redis.port] {
        let mut c = RawConn::connect(port);
        assert_eq!(
            c.call(&["CONFIG", "SET", "requirepass", "secret"]).1,
            b"+OK\r\n",
            "CONFIG SET requirepass on port {port}"
        );
    }
    let mut big_ok = b"*2\r\n$4\r\nAUTH\r\n$16384\r\n".to_vec();
    big_ok.extend(std::iter::repeat_n(b'p', 16384));
    big_ok.extend_from_slice(b"\r\n");
    let cases = vec![
        case("GET before AUTH", "GET x\r\n"),
        case("PING before AUTH", "PING\r\n"),
        case(
            "multibulk GET before AUTH",
            "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n",
        ),
        case("unknown command before AUTH", "FOO\r\n"),
        case("HELLO 3 before AUTH", "HELLO 3\r\n"),
        case("HELLO 4 before AUTH", "HELLO 4\r\n"),
        case("wrong password", "AUTH wrong\r\n"),
        case("wrong password for default", "AUTH default wrong\r\n"),
        case("wrong user", "AUTH bob secret\r\n"),
        case("AUTH arity", "AUTH\r\n"),
        case("QUIT before AUTH", "QUIT\r\n"),
        case("unauthenticated *11", "*11\r\n"),
        case("unauthenticated *10 waits", "*10\r\n"),
        case("unauthenticated $16385", "*1\r\n$16385\r\n"),
        case("unauthenticated $16384 waits", "*1\r\n$16384\r\n"),
        case("unauthenticated 16384-byte password", big_ok),
        case("authenticated *11 waits", "AUTH secret\r\n*11\r\n"),
        case(
            "authenticated $16385 waits",
            "AUTH secret\r\n*1\r\n$16385\r\n",
        ),
        case(
            "AUTH in one read then big count",
            "*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*11\r\n",
        ),
        case("wrong AUTH then big count", "AUTH nope\r\n*11\r\n"),
        case("POST before AUTH", "POST / HTTP/1.1\r\n"),
    ];
    let diffs = compare_cases(p.keyslot.port, p.redis.port, Some("secret"), &cases);
    assert!(
        alive(p.keyslot.port, Some("secret")),
        "keyslot is not serving"
    );
    assert_no_diffs("requirepass", diffs);
}

/// Error replies that quote the client's arguments (unknown command / subcommand, CONFIG SET)
/// the way Redis formats them: `%.128s` (cut at 128 bytes and at a NUL), arguments added while
/// the list is under 128 bytes, CR and LF turned into spaces (so the reply stays one RESP line),
/// and every other byte sent back unchanged.
#[test]
fn error_replies_quote_arguments_like_redis() {
    if !require_tools("error_replies", &["redis-server"]) {
        return;
    }
    let p = pair("bad-errtext", &[]);
    let mut long_unknown = b"*3\r\n$200\r\n".to_vec();
    long_unknown.extend(std::iter::repeat_n(b'x', 200));
    long_unknown.extend_from_slice(b"\r\n$100\r\n");
    long_unknown.extend(std::iter::repeat_n(b'y', 100));
    long_unknown.extend_from_slice(b"\r\n$100\r\n");
    long_unknown.extend(std::iter::repeat_n(b'z', 100));
    long_unknown.extend_from_slice(b"\r\n");
    let cases = vec![
        case("unknown command, long args", long_unknown),
        case(
            "unknown command, NUL in name",
            b"*1\r\n$5\r\nAB\x00CD\r\n".to_vec(),
        ),
        case(
            "unknown command, NUL in arg",
            b"*3\r\n$3\r\nFOO\r\n$3\r\na\x00b\r\n$1\r\nc\r\n".to_vec(),
        ),
        case(
            "unknown command, CR LF in args",
            "*3\r\n$4\r\nF\r\nO\r\n$4\r\na\r\nb\r\n$1\r\n\n\r\n",
        ),
        case(
            "unknown command, 300-byte name",
            format!("{}\r\n", "n".repeat(300)),
        ),
        case(
            "unknown subcommand, binary",
            b"CONFIG \"\\xff\\x00x\"\r\n".to_vec(),
        ),
        case(
            "unknown subcommand, CR LF",
            resp_command(&["CLIENT", "a\r\n+OK"]),
        ),
        case(
            "CONFIG SET unknown option, CR LF",
            resp_command(&["CONFIG", "SET", "no\r\nsuch", "1"]),
        ),
        case(
            "CONFIG SET bad value, CR LF",
            resp_command(&["CONFIG", "SET", "hz", "x\r\n:1"]),
        ),
        case("inline high bytes", b"\x80\x81\xfe\r\n".to_vec()),
    ];
    let diffs = compare_cases(p.keyslot.port, p.redis.port, None, &cases);
    assert_no_diffs("error replies", diffs);
}

/// Binary garbage: fixed nasties and deterministic random buffers.
#[test]
fn binary_garbage_matches_redis() {
    if !require_tools("binary_garbage", &["redis-server"]) {
        return;
    }
    let p = pair("bad-garbage", &[]);
    let mut cases = Vec::new();
    cases.push(case("NUL bytes", vec![0u8; 64]));
    cases.push(case("all byte values", (0..=255u8).collect::<Vec<u8>>()));
    cases.push(case(
        "garbage in multibulk",
        b"*2\r\n$4\r\nECHO\r\n$4\r\n\x00\xff\r\n\r\n".to_vec(),
    ));
    for seed in 1..=12u64 {
        let mut g = garbage(seed, 512);
        if seed % 2 == 0 {
            g[0] = b'*';
        }
        cases.push(case(&format!("random garbage seed {seed}"), g));
    }
    let diffs = compare_cases(p.keyslot.port, p.redis.port, None, &cases);
    assert!(ping(p.keyslot.port), "keyslot does not answer PING");
    assert_no_diffs("binary garbage", diffs);
}

/// WAIT on a standalone master without replicas (redis-compat.md section 6).
#[test]
fn wait_matches_redis() {
    if !require_tools("wait", &["redis-server"]) {
        return;
    }
    let p = pair("bad-wait", &[]);
    let cases = vec![
        case("WAIT negative timeout", "WAIT 1 -1\r\n"),
        case("WAIT no replicas", "WAIT 0 0\r\n"),
        case("WAIT one replica short timeout", "WAIT 1 50\r\n"),
        case("WAIT bad numreplicas", "WAIT abc 0\r\n"),
    ];
    let diffs = compare_cases(p.keyslot.port, p.redis.port, None, &cases);
    assert_no_diffs("WAIT", diffs);
}

/// AUTH followed by more commands in the same write: the commands after AUTH run at once.
#[test]
fn auth_then_commands_in_one_write() {
    if !require_tools("auth_pipelined", &["redis-server"]) {
        return;
    }
    let p = pair("bad-auth-pipe", &[]);
    for port in [p.keyslot.port, p.redis.port] {
        let mut c = RawConn::connect(port);
        assert_eq!(
            c.call(&["CONFIG", "SET", "requirepass", "secret"]).1,
            b"+OK\r\n",
            "CONFIG SET requirepass on port {port}"
        );
    }
    let cases = vec![
        case("AUTH then GET", "AUTH secret\r\nGET x\r\n"),
        case("AUTH default then PING", "AUTH default secret\r\nPING\r\n"),
        case("AUTH, SET, GET", "AUTH secret\r\nSET k v\r\nGET k\r\n"),
        case(
            "multibulk AUTH then PING",
            "*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*1\r\n$4\r\nPING\r\n",
        ),
    ];
    let diffs = compare_cases(p.keyslot.port, p.redis.port, Some("secret"), &cases);
    assert_no_diffs("AUTH then commands", diffs);
}

/// A 100 MB value, sent in 64 KB pieces, is stored whole.
#[test]
fn hundred_megabyte_value_in_pieces() {
    let dir = TempDir::new("bad-big");
    let k = Server::keyslot(&dir, &["--save", "", "--appendonly", "no"]);
    const LEN: usize = 100 * 1024 * 1024;
    const PIECE: usize = 64 * 1024;
    let started = Instant::now();
    let mut c = RawConn::connect(k.port);
    c.send(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${LEN}\r\n").as_bytes());
    let piece: Vec<u8> = (0..PIECE).map(|i| b'a' + (i % 26) as u8).collect();
    let mut sent = 0;
    while sent < LEN {
        let n = PIECE.min(LEN - sent);
        c.send(&piece[..n]);
        sent += n;
    }
    c.send(b"\r\n");
    assert_eq!(c.read_reply().1, b"+OK\r\n", "SET of a 100 MB value");
    assert_eq!(
        c.call(&["STRLEN", "big"]).1,
        format!(":{LEN}\r\n").into_bytes()
    );
    // Spot-check the content at the piece boundaries.
    let (reply, _) = c.call(&["GETRANGE", "big", "65534", "65537"]);
    let expect = [piece[PIECE - 2], piece[PIECE - 1], piece[0], piece[1]];
    assert_eq!(
        reply.as_bytes(),
        Some(&expect[..]),
        "bytes across a piece boundary"
    );
    let last = (LEN - 1).to_string();
    let (reply, _) = c.call(&["GETRANGE", "big", &last, &last]);
    assert_eq!(
        reply.as_bytes(),
        Some(&[b'a' + ((PIECE - 1) % 26) as u8][..])
    );
    assert!(ping(k.port), "keyslot does not answer PING");
    println!("100 MB value stored in {:?}", started.elapsed());
}

/// Builds 1000 varied commands and checks keyslot's replies, in order, equal redis's.
#[test]
fn thousand_pipelined_commands_in_one_write() {
    if !require_tools("pipeline", &["redis-server"]) {
        return;
    }
    let p = pair("bad-pipe", &[]);
    let mut req = Vec::new();
    for i in 0..1000 {
        let key = format!("k{}", i % 37);
        let cmd: Vec<String> = match i % 8 {
            0 => vec!["SET".into(), key, i.to_string()],
            1 => vec!["GET".into(), key],
            2 => vec!["INCR".into(), key],
            3 => vec!["APPEND".into(), key, "x".into()],
            4 => vec!["STRLEN".into(), key],
            5 => vec!["ECHO".into(), format!("m{i}")],
            6 => vec!["DEL".into(), key],
            _ => vec!["MGET".into(), key, format!("k{}", (i + 1) % 37)],
        };
        if i % 3 == 0 {
            req.extend_from_slice(cmd.join(" ").as_bytes());
            req.extend_from_slice(b"\r\n");
        } else {
            req.extend_from_slice(&resp_command(&cmd));
        }
    }
    let replies = |port: u16| -> Vec<Vec<u8>> {
        let mut c = RawConn::connect(port);
        c.send(&req);
        (0..1000).map(|_| c.read_reply().1).collect()
    };
    let k = replies(p.keyslot.port);
    let r = replies(p.redis.port);
    assert_eq!(k.len(), 1000);
    for (i, (a, b)) in k.iter().zip(&r).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b),
            "reply {i} differs (keyslot left, redis right)"
        );
    }
    // ECHO replies prove the order.
    assert_eq!(k[5], b"$2\r\nm5\r\n");
    assert_eq!(k[997], b"$4\r\nm997\r\n");
}

/// Sends `count` inline PINGs in one write (from a writer thread, so neither side blocks) and
/// returns how many `+PONG\r\n` came back and whether anything else did.
fn pipelined_pings(port: u16, count: usize) -> (usize, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut w = s.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        w.write_all(&b"PING\r\n".repeat(count)).expect("write");
    });
    let want = count * 7;
    let mut got = Vec::with_capacity(want);
    let mut buf = vec![0u8; 1 << 16];
    while got.len() < want {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading PONGs ({} bytes so far): {e}", got.len()),
        }
    }
    writer.join().expect("writer");
    let pongs = got.chunks(7).filter(|c| *c == b"+PONG\r\n").count();
    (pongs, pongs * 7 != got.len())
}

#[test]
fn ten_thousand_pipelined_pings() {
    if !require_tools("pings", &["redis-server"]) {
        return;
    }
    let p = pair("bad-pings", &[]);
    assert_eq!(pipelined_pings(p.redis.port, 10_000), (10_000, false));
    assert_eq!(pipelined_pings(p.keyslot.port, 10_000), (10_000, false));
    // redis-compat.md section 6: 200,000 in one write.
    let started = Instant::now();
    assert_eq!(pipelined_pings(p.keyslot.port, 200_000), (200_000, false));
    println!("200,000 pipelined PINGs in {:?}", started.elapsed());
    assert!(ping(p.keyslot.port));
}

/// A client that disconnects in the middle of a frame leaves no trace: its half command never
/// runs and other clients are served throughout.
#[test]
fn client_closing_mid_frame_does_not_disturb_others() {
    if !require_tools("mid_frame", &["redis-server"]) {
        return;
    }
    let p = pair("bad-midframe", &[]);
    for port in [p.keyslot.port, p.redis.port] {
        let mut b = RawConn::connect(port);
        assert_eq!(b.call(&["SET", "x", "before"]).1, b"+OK\r\n");
        let partials: [&[u8]; 5] = [
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$10\r\nabc",
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$5\r\nhello",
            b"*3\r\n$3\r\nSET\r\n$1\r\nx",
            b"SET x inline",
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$5\r\nhello\r",
        ];
        for partial in partials {
            let mut a = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            a.write_all(partial).expect("write");
            // B is served while A's frame hangs.
            assert_eq!(b.call(&["PING"]).1, b"+PONG\r\n");
            assert_eq!(b.call(&["GET", "x"]).1, b"$6\r\nbefore\r\n");
            drop(a);
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(
                b.call(&["GET", "x"]).1,
                b"$6\r\nbefore\r\n",
                "port {port}: a partial frame ran: {:?}",
                String::from_utf8_lossy(partial)
            );
        }
        // Abort with a reset (SO_LINGER 0 is not in std; shutting down both halves mid-bulk
        // with unread replies pending is the closest).
        let mut a = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        a.write_all(b"PING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$100\r\nxx")
            .expect("write");
        let _ = a.shutdown(std::net::Shutdown::Both);
        drop(a);
        assert_eq!(b.call(&["ECHO", "still here"]).1, b"$10\r\nstill here\r\n");
        let mut client_list = b.call(&["CLIENT", "LIST"]).0;
        // Eventually only B is left.
        let ok = common::wait_until(Duration::from_secs(5), || {
            client_list = b.call(&["CLIENT", "LIST"]).0;
            client_list
                .as_bytes()
                .map(|l| l.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count())
                == Some(1)
        });
        assert!(
            ok,
            "port {port}: dead clients still listed: {client_list:?}"
        );
    }
}

//! Connection limits side by side with redis-server 7.0.15: `maxclients`, `timeout`,
//! `protected-mode`, `client-output-buffer-limit` (normal, replica and pubsub) and
//! `client-query-buffer-limit`. Each case runs the same steps against both servers and asserts
//! the same bytes and the same closed / still-open outcome. The unauthenticated output cap is
//! newer than 7.0.15 (Redis 7.2.8 / 7.4.3), so that case checks keyslot alone and records what
//! 7.0.15 does instead.

mod common;

use common::{require_tools, resp_command, RawConn, Server, TempDir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn setup() {
    common::use_port_range(40000, 44999);
}

/// Starts keyslot and redis-server with the same flags.
fn pair(tag: &str, flags: &[&str]) -> Option<(TempDir, Server, Server)> {
    setup();
    if !require_tools(tag, &["redis-server"]) {
        return None;
    }
    let dir = TempDir::new(tag);
    let mut kflags = vec!["--save", "", "--appendonly", "no"];
    kflags.extend_from_slice(flags);
    let k = Server::keyslot(&dir, &kflags);
    let r = Server::redis(&dir, flags);
    Some((dir, k, r))
}

/// Reads until the peer closes or `quiet` passes without bytes: (bytes, closed).
fn drain(s: &mut TcpStream, quiet: Duration) -> (Vec<u8>, bool) {
    s.set_read_timeout(Some(quiet)).expect("timeout");
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// A TCP connection from `src` to `dst`:`port` (the source address is bound first, which std
/// cannot do).
fn connect_from(src: [u8; 4], dst: [u8; 4], port: u16) -> TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns until it hands it to
    // TcpStream; the sockaddr structs are fully initialized.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let addr = |ip: [u8; 4], port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(ip),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let a = addr(src, 0);
        assert_eq!(
            libc::bind(fd, &a as *const _ as *const libc::sockaddr, len),
            0,
            "bind"
        );
        let b = addr(dst, port);
        assert_eq!(
            libc::connect(fd, &b as *const _ as *const libc::sockaddr, len),
            0,
            "connect"
        );
        TcpStream::from_raw_fd(fd)
    }
}

fn call(port: u16, args: &[&str]) -> Vec<u8> {
    let mut c = RawConn::connect(port);
    c.call(args).1
}

#[test]
fn maxclients_refuses_the_extra_client() {
    let Some((_d, k, r)) = pair("limits-maxclients", &["--maxclients", "2"]) else {
        return;
    };
    let mut outcomes = Vec::new();
    for s in [&k, &r] {
        let mut a = RawConn::connect(s.port);
        let mut b = RawConn::connect(s.port);
        a.call(&["PING"]);
        b.call(&["PING"]);
        let mut c = connect(s.port);
        let got = drain(&mut c, Duration::from_secs(2));
        drop(a);
        // A slot frees when a client leaves.
        std::thread::sleep(Duration::from_millis(200));
        let mut d = RawConn::connect(s.port);
        let after = d.call(&["PING"]).1;
        let info = d.call(&["INFO", "stats"]).1;
        let rejected = String::from_utf8_lossy(&info).contains("rejected_connections:1\r\n");
        outcomes.push((got, after, rejected));
    }
    assert_eq!(
        outcomes[0].0,
        (b"-ERR max number of clients reached\r\n".to_vec(), true)
    );
    assert_eq!(outcomes[0], outcomes[1]);
}

#[test]
fn timeout_closes_idle_normal_clients_only() {
    let Some((_d, k, r)) = pair("limits-timeout", &["--timeout", "1"]) else {
        return;
    };
    let mut outcomes = Vec::new();
    for s in [&k, &r] {
        let mut idle = connect(s.port);
        idle.write_all(&resp_command(&["PING"])).expect("write");
        let mut sub = RawConn::connect(s.port);
        sub.call(&["SUBSCRIBE", "ch"]);
        let mut blocked = RawConn::connect(s.port);
        blocked.send(&resp_command(&["BLPOP", "list", "0"]));
        let start = Instant::now();
        let idle_outcome = drain(&mut idle, Duration::from_secs(4));
        let idle_secs = start.elapsed().as_secs_f64();
        assert!(
            (0.9..3.5).contains(&idle_secs),
            "port {}: idle client closed after {idle_secs}s",
            s.port
        );
        std::thread::sleep(Duration::from_millis(1500));
        // The subscriber and the blocked client are still served.
        let published = call(s.port, &["PUBLISH", "ch", "hello"]);
        let msg = sub.read_reply().1;
        let pushed = call(s.port, &["RPUSH", "list", "x"]);
        let unblocked = blocked.read_reply().1;
        outcomes.push((idle_outcome, published, msg, pushed, unblocked));
    }
    assert_eq!(outcomes[0].0, (b"+PONG\r\n".to_vec(), true));
    assert_eq!(outcomes[0], outcomes[1]);
}

#[test]
fn timeout_set_at_runtime_applies_to_the_setter_too() {
    let Some((_d, k, r)) = pair("limits-timeout-set", &[]) else {
        return;
    };
    let mut outcomes = Vec::new();
    for s in [&k, &r] {
        let mut c = connect(s.port);
        c.write_all(&resp_command(&["CONFIG", "SET", "timeout", "1"]))
            .expect("write");
        outcomes.push(drain(&mut c, Duration::from_secs(4)));
    }
    assert_eq!(outcomes[0], (b"+OK\r\n".to_vec(), true));
    assert_eq!(outcomes[0], outcomes[1]);
}

#[test]
fn protected_mode_denies_non_loopback_peers() {
    // 127.0.0.2 is on the loopback interface but is not the exact peer address Redis's
    // islocalClient accepts (127.0.0.1 / ::1), so it stands for a remote client.
    let flags = ["--bind", "127.0.0.1 127.0.0.2", "--protected-mode", "yes"];
    let Some((_d, k, r)) = pair("limits-protected", &flags) else {
        return;
    };
    let mut outcomes = Vec::new();
    for s in [&k, &r] {
        let mut remote = connect_from([127, 0, 0, 2], [127, 0, 0, 2], s.port);
        remote.write_all(&resp_command(&["PING"])).expect("write");
        let denied = drain(&mut remote, Duration::from_secs(2));
        let local = call(s.port, &["PING"]);
        // With a password the remote client is let in (and must authenticate).
        let set = call(s.port, &["CONFIG", "SET", "requirepass", "pw"]);
        let mut remote = connect_from([127, 0, 0, 2], [127, 0, 0, 2], s.port);
        remote.write_all(&resp_command(&["PING"])).expect("write");
        let with_password = drain(&mut remote, Duration::from_millis(500));
        outcomes.push((denied, local, set, with_password));
    }
    let (denied, closed) = &outcomes[0].0;
    assert!(closed);
    assert!(denied.starts_with(b"-DENIED Redis is running in protected mode"));
    assert!(denied.ends_with(b"accepting connections from the outside.\r\n"));
    assert_eq!(outcomes[0], outcomes[1]);
}

#[test]
fn output_buffer_hard_limit_closes_normal_client() {
    let Some((_d, k, r)) = pair("limits-obuf-normal", &[]) else {
        return;
    };
    let mut outcomes = Vec::new();
    let big = "x".repeat(200_000);
    for s in [&k, &r] {
        let mut c = RawConn::connect(s.port);
        let set = c
            .call(&[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "normal 100kb 0 0",
            ])
            .1;
        let get = c.call(&["CONFIG", "GET", "client-output-buffer-limit"]).1;
        c.call(&["SET", "big", &big]);
        // A reply over the hard limit: closed with nothing sent.
        let mut g = connect(s.port);
        g.write_all(&resp_command(&["GET", "big"])).expect("write");
        let over = drain(&mut g, Duration::from_secs(2));
        // One under it is served.
        let mut g = connect(s.port);
        g.write_all(&resp_command(&["GETRANGE", "big", "0", "49999"]))
            .expect("write");
        let (under, closed) = drain(&mut g, Duration::from_millis(500));
        outcomes.push((set, get, over, under.len(), closed));
    }
    assert_eq!(outcomes[0].2, (Vec::new(), true));
    assert_eq!(outcomes[0], outcomes[1]);
    let info = call(k.port, &["INFO", "stats"]);
    assert!(String::from_utf8_lossy(&info).contains("client_output_buffer_limit_disconnections:1"));
}

/// Once failed in about 2 runs of 5 under parallel tests: the connection's limit was read
/// before SUBSCRIBE ran (normal class, no limit) and never again, so a stalled write of pushes
/// waited forever without looking at the pubsub limit.
#[test]
fn output_buffer_limit_closes_a_subscriber_that_never_reads() {
    let Some((_d, k, r)) = pair("limits-obuf-pubsub", &[]) else {
        return;
    };
    let mut outcomes = Vec::new();
    // 100 MB in all: more than the hard limit plus what the kernel may hold for a socket that
    // is never read (tcp_rmem's maximum is 32 MB on these machines, and a subscriber task that
    // keeps up hands everything to the kernel).
    let msg = "m".repeat(50_000);
    for s in [&k, &r] {
        let mut c = RawConn::connect(s.port);
        c.call(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 0 0",
        ]);
        let mut sub = connect(s.port);
        sub.write_all(&resp_command(&["SUBSCRIBE", "ch"]))
            .expect("write");
        std::thread::sleep(Duration::from_millis(200));
        let mut publish = Vec::new();
        for _ in 0..2000 {
            publish.extend_from_slice(&resp_command(&["PUBLISH", "ch", &msg]));
        }
        c.send(&publish);
        for _ in 0..2000 {
            c.read_reply();
        }
        let ok = common::wait_until(Duration::from_secs(20), || {
            c.call(&["PUBSUB", "NUMSUB", "ch"]).1 == b"*2\r\n$2\r\nch\r\n:0\r\n"
        });
        outcomes.push(ok);
    }
    assert_eq!(outcomes, vec![true, true]);
}

/// `client-output-buffer-limit replica`: a replica that stops reading its stream is dropped
/// once its unsent stream passes the hard limit, instead of the master buffering without end.
#[test]
fn replica_output_buffer_limit_drops_a_replica_that_stops_reading() {
    let Some((_d, k, r)) = pair("limits-obuf-replica", &[]) else {
        return;
    };
    let value = "v".repeat(50_000);
    let mut outcomes = Vec::new();
    for s in [&k, &r] {
        let mut c = RawConn::connect(s.port);
        c.call(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "replica 1mb 0 0",
        ]);
        // A replica that asks for a full sync and then never reads a byte.
        let mut replica = connect(s.port);
        replica
            .write_all(&resp_command(&["REPLCONF", "listening-port", "1"]))
            .expect("write");
        // Redis refuses a PSYNC that arrives while the REPLCONF reply is still unsent.
        let mut ok = [0u8; 5];
        replica.read_exact(&mut ok).expect("REPLCONF reply");
        assert_eq!(&ok, b"+OK\r\n");
        replica
            .write_all(&resp_command(&["PSYNC", "?", "-1"]))
            .expect("write");
        let attached = common::wait_until(Duration::from_secs(10), || {
            String::from_utf8_lossy(&c.call(&["INFO", "replication"]).1)
                .contains("connected_slaves:1")
        });
        // 100 MB of writes: more than the limit plus what the kernel holds for the socket.
        let mut writes = Vec::new();
        for i in 0..2000 {
            writes.extend_from_slice(&resp_command(&["SET", &format!("k{}", i % 100), &value]));
        }
        c.send(&writes);
        for _ in 0..2000 {
            c.read_reply();
        }
        let dropped = common::wait_until(Duration::from_secs(20), || {
            String::from_utf8_lossy(&c.call(&["INFO", "replication"]).1)
                .contains("connected_slaves:0")
        });
        // The node goes on serving.
        let ping = c.call(&["PING"]).1;
        outcomes.push((attached, dropped, ping));
        drop(replica);
    }
    assert_eq!(outcomes[0], (true, true, b"+PONG\r\n".to_vec()));
    assert_eq!(outcomes[0], outcomes[1]);
    let info = call(k.port, &["INFO", "stats"]);
    assert!(
        String::from_utf8_lossy(&info).contains("client_output_buffer_limit_disconnections:1"),
        "keyslot counts the dropped replica"
    );
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let Some((_d, k, r)) = pair("limits-qbuf", &["--client-query-buffer-limit", "1mb"]) else {
        return;
    };
    let mut outcomes = Vec::new();
    for s in [&k, &r] {
        let mut q = connect(s.port);
        q.write_all(b"*2\r\n$3\r\nGET\r\n$2000000\r\n")
            .expect("write");
        // The server may close while we still send.
        let _ = q.write_all(&vec![b'a'; 1_500_000]);
        let outcome = drain(&mut q, Duration::from_secs(3));
        outcomes.push((outcome, call(s.port, &["PING"])));
    }
    assert_eq!(outcomes[0].0, (Vec::new(), true));
    assert_eq!(outcomes[0], outcomes[1]);
}

/// Redis 7.2.8 / 7.4.3 close an unauthenticated client once its pending output passes 1 KiB
/// (CVE-2025-21605); 7.0.15 does not. keyslot applies the cap.
#[test]
fn unauthenticated_output_is_capped() {
    let Some((_d, k, r)) = pair("limits-unauth", &[]) else {
        return;
    };
    for s in [&k, &r] {
        call(s.port, &["CONFIG", "SET", "requirepass", "pw"]);
    }
    let pings = b"PING\r\n".repeat(200);
    let mut c = connect(k.port);
    c.write_all(&pings).expect("write");
    assert_eq!(drain(&mut c, Duration::from_secs(2)), (Vec::new(), true));
    // A few commands before AUTH still get their replies.
    let mut c = connect(k.port);
    c.write_all(b"PING\r\nAUTH pw\r\nPING\r\n").expect("write");
    let (got, closed) = drain(&mut c, Duration::from_millis(500));
    assert!(!closed);
    assert_eq!(
        got,
        b"-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n".to_vec()
    );
    // The reference (7.0.15) answers all 200.
    let mut c = connect(r.port);
    c.write_all(&pings).expect("write");
    let (got, closed) = drain(&mut c, Duration::from_millis(500));
    assert!(!closed);
    assert_eq!(got, b"-NOAUTH Authentication required.\r\n".repeat(200));
}

/// A cluster bus frame whose declared length its type cannot have closes the link at once
/// (before its body is buffered) and counts in INFO `cluster_bus_malformed_messages`.
#[test]
fn bus_frame_over_its_type_bound_closes_the_link() {
    setup();
    let dir = TempDir::new("limits-bus");
    let k = Server::keyslot(
        &dir,
        &[
            "--save",
            "",
            "--cluster-enabled",
            "yes",
            "--appendonly",
            "no",
        ],
    );
    let mut bus = connect(k.port + 10000);
    // FAIL (type 3) declaring 200 MB.
    let mut frame = b"RCmb".to_vec();
    frame.extend_from_slice(&(200u32 << 20).to_be_bytes());
    frame.extend_from_slice(&1u16.to_be_bytes());
    frame.extend_from_slice(&7000u16.to_be_bytes());
    frame.extend_from_slice(&3u16.to_be_bytes());
    frame.extend_from_slice(&0u16.to_be_bytes());
    bus.write_all(&frame).expect("write");
    assert_eq!(drain(&mut bus, Duration::from_secs(3)), (Vec::new(), true));
    let info = String::from_utf8_lossy(&call(k.port, &["INFO", "stats"])).to_string();
    assert!(
        info.contains("cluster_bus_malformed_messages:1\r\n"),
        "{info}"
    );
}

#[test]
fn client_pause_write_and_all() {
    let Some((_d, k, r)) = pair("limits-pause", &[]) else {
        return;
    };
    let mut outcomes = Vec::new();
    for s in [&k, &r] {
        let mut admin = RawConn::connect(s.port);
        let mut errors = Vec::new();
        for args in [
            &["CLIENT", "PAUSE", "abc"][..],
            &["CLIENT", "PAUSE", "-1"],
            &["CLIENT", "PAUSE", "100", "foo"],
            &["CLIENT", "PAUSE", "100", "write", "x"],
            &["CLIENT", "UNPAUSE", "x"],
        ] {
            errors.push(admin.call(args).1);
        }
        let mut other = RawConn::connect(s.port);
        // WRITE: reads go on, writes (and PUBLISH) wait for the end.
        admin.call(&["CLIENT", "PAUSE", "2000", "WRITE"]);
        let t = Instant::now();
        let read = other.call(&["GET", "k"]).1;
        let read_fast = t.elapsed() < Duration::from_millis(1500);
        let write = other.call(&["SET", "k", "v"]).1;
        let write_waited = t.elapsed() >= Duration::from_millis(1800);
        // UNPAUSE ends it at once.
        admin.call(&["CLIENT", "PAUSE", "5000", "WRITE"]);
        admin.call(&["CLIENT", "UNPAUSE"]);
        let t = Instant::now();
        other.call(&["SET", "k", "w"]);
        let unpaused = t.elapsed() < Duration::from_millis(2000);
        // ALL: reads wait too.
        admin.call(&["CLIENT", "PAUSE", "1500", "ALL"]);
        let t = Instant::now();
        let read2 = other.call(&["GET", "k"]).1;
        let all_waited = t.elapsed() >= Duration::from_millis(1300);
        outcomes.push((
            errors,
            read,
            read_fast,
            write,
            write_waited,
            unpaused,
            read2,
            all_waited,
        ));
    }
    assert!(outcomes[0].2 && outcomes[0].4 && outcomes[0].5 && outcomes[0].7);
    assert_eq!(outcomes[0], outcomes[1]);
}

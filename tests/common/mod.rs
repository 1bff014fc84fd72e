//! Shared helpers for the integration tests: start real `keyslot-server` (and `redis-server`)
//! processes on free loopback ports and drive them with the real `redis-cli`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// The server binary cargo built for these tests.
pub fn keyslot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keyslot-server"))
}

/// True when a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Ports are handed out from a per-process range so parallel test binaries rarely collide; a
/// port is only used once it was found free.
static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// The range ports come from: [PORT_LOW, PORT_HIGH] unless a test binary picked its own with
/// [`use_port_range`] (so concurrent test suites of different engineers never share ports).
static PORT_LOW: AtomicU16 = AtomicU16::new(20000);
static PORT_HIGH: AtomicU16 = AtomicU16::new(29000);

/// Makes this test binary take its ports from `low..=high` (bus ports are +10000); call it
/// before the first server starts.
pub fn use_port_range(low: u16, high: u16) {
    PORT_LOW.store(low, Ordering::SeqCst);
    PORT_HIGH.store(high, Ordering::SeqCst);
}

/// A free loopback port whose port+10000 (cluster bus) is free too.
pub fn free_port() -> u16 {
    // KEYSLOT_TEST_PORTS=LOW-HIGH confines a run to one engineer's port range.
    if let Some((low, high)) = std::env::var("KEYSLOT_TEST_PORTS").ok().and_then(|r| {
        let (a, b) = r.split_once('-')?;
        Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?))
    }) {
        if low < high && NEXT_PORT.load(Ordering::SeqCst) == 0 {
            use_port_range(low, high);
        }
    }
    let (low, high) = (
        PORT_LOW.load(Ordering::SeqCst),
        PORT_HIGH.load(Ordering::SeqCst),
    );
    if NEXT_PORT.load(Ordering::SeqCst) == 0 {
        let slots = ((high - low) / 20).max(1) as u32;
        let base = low + (std::process::id() % slots) as u16 * 20;
        let _ = NEXT_PORT.compare_exchange(0, base, Ordering::SeqCst, Ordering::SeqCst);
    }
    loop {
        let p = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
        if p > high {
            NEXT_PORT.store(low, Ordering::SeqCst);
            continue;
        }
        let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free(p) && free(p + 10000) {
            return p;
        }
    }
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU16 = AtomicU16::new(0);
        let dir = std::env::temp_dir().join(format!(
            "keyslot-test-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server process, killed on drop.
pub struct Server {
    pub port: u16,
    pub child: Option<Child>,
    pub dir: PathBuf,
    pub bin: PathBuf,
    pub args: Vec<String>,
}

impl Server {
    /// Starts `bin` with `--port P --dir D` plus `extra` flags in `dir`, and waits for PING.
    pub fn start_in(bin: &Path, port: u16, dir: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            dir.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut s = Server {
            port,
            child: None,
            dir: dir.to_path_buf(),
            bin: bin.to_path_buf(),
            args,
        };
        s.restart();
        s
    }

    /// Starts a keyslot-server in a new temp dir (kept inside `dir`).
    pub fn keyslot(dir: &TempDir, extra: &[&str]) -> Server {
        let port = free_port();
        let d = dir.path().join(port.to_string());
        std::fs::create_dir_all(&d).expect("node dir");
        Server::start_in(&keyslot_bin(), port, &d, extra)
    }

    /// Starts a redis-server 7.0 (the reference) the same way.
    pub fn redis(dir: &TempDir, extra: &[&str]) -> Server {
        let port = free_port();
        let d = dir.path().join(format!("redis-{port}"));
        std::fs::create_dir_all(&d).expect("node dir");
        let mut flags = vec!["--save", "", "--appendonly", "no"];
        flags.extend_from_slice(extra);
        Server::start_in(Path::new("redis-server"), port, &d, &flags)
    }

    /// (Re)starts the process with the same arguments and waits until it answers PING.
    pub fn restart(&mut self) {
        // A still-running process is SIGKILLed first: otherwise the new one cannot bind the port,
        // the old one answers the PING below, and the test goes on against the old process
        // (bits_compat's AOF restart test did, and leaked its server).
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log.txt"))
            .expect("log file");
        let child = Command::new(&self.bin)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.bin.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "server on port {} did not answer PING; log:\n{}",
            self.port,
            std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default()
        );
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs `redis-cli -p PORT args...` and returns its stdout (trimmed of the last newline).
    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }

    /// The log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True if something answers `PING` with `+PONG` on the port.
pub fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// Runs redis-cli against a port.
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = cli_output(port, args);
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.strip_suffix('\n').unwrap_or(&s).to_string()
}

/// Runs redis-cli against a port and returns the whole process output.
pub fn cli_output(port: u16, args: &[&str]) -> Output {
    Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("run redis-cli (apt-get install redis-tools)")
}

/// Polls `f` every 50 ms until it returns true or `timeout` passes; returns whether it did.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends raw bytes and collects what comes back until the peer closes or `wait` passes.
/// Returns (bytes received, whether the server closed the connection).
pub fn raw_exchange(port: u16, bytes: &[u8], wait: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(wait)).expect("timeout");
    s.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for the standalone compatibility tests (tests/standalone_*.rs).

/// Whether the given programs are on PATH. When one is missing the test fails with a clear
/// message, unless KEYSLOT_ALLOW_SKIP=1 is set: then it prints a line and returns false, and the
/// caller returns early (skips).
pub fn require_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("KEYSLOT_ALLOW_SKIP").as_deref() == Ok("1") {
        println!("SKIP {test}: {missing:?} not installed (KEYSLOT_ALLOW_SKIP=1)");
        return false;
    }
    panic!(
        "{test} needs {missing:?} on PATH (apt-get install -y redis-server redis-tools), \
         or set KEYSLOT_ALLOW_SKIP=1 to skip"
    );
}

/// Encodes a command as a RESP multibulk request.
pub fn resp_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A parsed RESP2 / RESP3 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    /// `$` bulk string; None is the RESP2 null bulk `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*` array; None is the RESP2 null array `*-1`.
    Array(Option<Vec<Resp>>),
    /// RESP3 `_`.
    Null,
    Double(Vec<u8>),
    Bool(bool),
    BigNumber(Vec<u8>),
    BlobError(Vec<u8>),
    Verbatim(Vec<u8>),
    Map(Vec<(Resp, Resp)>),
    Set(Vec<Resp>),
    Push(Vec<Resp>),
}

impl Resp {
    /// The bytes of a simple string, bulk string or verbatim string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Resp::Simple(b) | Resp::Bulk(Some(b)) | Resp::Verbatim(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Resp::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Parses one reply from the start of `buf`: Some((reply, bytes used)), or None when `buf` does
/// not hold a whole reply yet. Panics on bytes that are not RESP.
pub fn parse_resp(buf: &[u8]) -> Option<(Resp, usize)> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = &buf[1..line_end];
    let after = line_end + 2;
    let text = || String::from_utf8_lossy(line).into_owned();
    let num = || -> i64 {
        text()
            .parse()
            .unwrap_or_else(|_| panic!("bad RESP length {:?}", text()))
    };
    let blob = |len: i64| -> Option<(Vec<u8>, usize)> {
        let len = len as usize;
        if buf.len() < after + len + 2 {
            return None;
        }
        Some((buf[after..after + len].to_vec(), after + len + 2))
    };
    let many = |n: usize| -> Option<(Vec<Resp>, usize)> {
        let mut items = Vec::with_capacity(n.min(1024));
        let mut pos = after;
        for _ in 0..n {
            let (item, used) = parse_resp(&buf[pos..])?;
            items.push(item);
            pos += used;
        }
        Some((items, pos))
    };
    let first = *buf.first()?;
    Some(match first {
        b'+' => (Resp::Simple(line.to_vec()), after),
        b'-' => (Resp::Error(line.to_vec()), after),
        b':' => (Resp::Int(num()), after),
        b',' => (Resp::Double(line.to_vec()), after),
        b'#' => (Resp::Bool(line == b"t"), after),
        b'(' => (Resp::BigNumber(line.to_vec()), after),
        b'_' => (Resp::Null, after),
        b'$' if num() < 0 => (Resp::Bulk(None), after),
        b'*' if num() < 0 => (Resp::Array(None), after),
        b'$' => {
            let (b, used) = blob(num())?;
            (Resp::Bulk(Some(b)), used)
        }
        b'!' => {
            let (b, used) = blob(num())?;
            (Resp::BlobError(b), used)
        }
        b'=' => {
            let (b, used) = blob(num())?;
            (Resp::Verbatim(b), used)
        }
        b'*' => {
            let (items, used) = many(num() as usize)?;
            (Resp::Array(Some(items)), used)
        }
        b'~' => {
            let (items, used) = many(num() as usize)?;
            (Resp::Set(items), used)
        }
        b'>' => {
            let (items, used) = many(num() as usize)?;
            (Resp::Push(items), used)
        }
        b'%' => {
            let (items, used) = many(2 * num() as usize)?;
            let mut pairs = Vec::new();
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            (Resp::Map(pairs), used)
        }
        b'|' => {
            // An attribute: skip it and return the reply it decorates.
            let (_, used) = many(2 * num() as usize)?;
            let (reply, more) = parse_resp(&buf[used..])?;
            (reply, used + more)
        }
        other => panic!(
            "not a RESP reply: first byte {other:#x} in {:?}",
            String::from_utf8_lossy(&buf[..buf.len().min(200)])
        ),
    })
}

/// A client connection speaking raw RESP.
pub struct RawConn {
    pub stream: TcpStream,
    pub pending: Vec<u8>,
}

impl RawConn {
    pub fn connect(port: u16) -> RawConn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        RawConn {
            stream,
            pending: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one whole reply: (parsed, exact bytes). Panics on timeout or EOF.
    pub fn read_reply(&mut self) -> (Resp, Vec<u8>) {
        let mut buf = vec![0u8; 65536];
        loop {
            if !self.pending.is_empty() {
                if let Some((reply, used)) = parse_resp(&self.pending) {
                    let raw: Vec<u8> = self.pending.drain(..used).collect();
                    return (reply, raw);
                }
            }
            let n = match self.stream.read(&mut buf) {
                // A signal landed during the read (seen under load): read again.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => r.expect("read reply"),
            };
            assert!(
                n > 0,
                "connection closed while waiting for a reply (have {:?})",
                String::from_utf8_lossy(&self.pending)
            );
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Sends a command and returns its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> (Resp, Vec<u8>) {
        self.send(&resp_command(args));
        self.read_reply()
    }
}

//! Simulated cluster clients: they learn the slot map from CLUSTER SLOTS, follow MOVED and ASK,
//! back off and refresh on CLUSTERDOWN, TRYAGAIN and broken connections, and record every
//! operation with its outcome and times (the history the checker reads).
//!
//! Each client owns its keys (`c<k>:<i>`), so a key's writes are sequential and "the last
//! acknowledged write" is well defined: lost-write accounting compares it with what the cluster
//! finally serves.

use crate::resp_client::{frame_text, CallError, Conn};
use bytes::Bytes;
use keyslot::resp::frame::Frame;
use keyslot::slot::key_slot;
use madsim::runtime::NodeHandle;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// What a client does.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Keys per client.
    pub keys: usize,
    /// Pause between operations.
    pub interval_ms: u64,
    /// Share of writes among operations (the rest are reads), in percent.
    pub write_percent: u32,
    /// Give up on one operation after this long (outcome unknown).
    pub op_timeout_ms: u64,
    /// Redirects / retries before an operation fails.
    pub max_attempts: u32,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            keys: 20,
            interval_ms: 20,
            write_percent: 60,
            op_timeout_ms: 1000,
            max_attempts: 20,
        }
    }
}

/// The kind of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    Set { value: String },
    Get,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged: SET got OK.
    Written,
    /// GET returned this value (None = nil).
    Read(Option<String>),
    /// Definitely failed (error reply after retries).
    Failed(String),
    /// Unknown: timed out or the connection broke after sending.
    Unknown,
}

/// One operation of the history.
#[derive(Debug, Clone)]
pub struct Op {
    pub client: usize,
    pub key: String,
    pub kind: OpKind,
    pub start_ms: u64,
    pub end_ms: u64,
    pub outcome: Outcome,
    /// MOVED/ASK redirects followed.
    pub redirects: u32,
}

/// The shared record of every client's operations.
pub type History = Arc<Mutex<Vec<Op>>>;

/// A running client: stop it and read its history.
pub struct ClientHandle {
    pub id: usize,
    stop: Arc<AtomicBool>,
    pub history: History,
    task: madsim::task::JoinHandle<()>,
}

impl ClientHandle {
    /// Asks the client to stop and waits for it.
    pub async fn stop(self) -> Vec<Op> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

/// Starts a client task on `host`.
pub fn spawn(
    host: &NodeHandle,
    id: usize,
    seeds: Vec<SocketAddr>,
    workload: Workload,
    t0: Instant,
) -> ClientHandle {
    let stop = Arc::new(AtomicBool::new(false));
    let history: History = Arc::new(Mutex::new(Vec::new()));
    let (s, h) = (stop.clone(), history.clone());
    let seed = madsim::rand::random::<u64>();
    let task = host.spawn(async move {
        let mut c = ClusterClient::new(seeds, t0, seed);
        c.run(id, workload, s, h).await;
    });
    ClientHandle {
        id,
        stop,
        history,
        task,
    }
}

/// A cluster client's routing state.
pub struct ClusterClient {
    seeds: Vec<SocketAddr>,
    /// Owner of each slot, as last learned.
    slots: Vec<Option<SocketAddr>>,
    conns: BTreeMap<SocketAddr, Conn>,
    t0: Instant,
    rng: ChaCha8Rng,
}

/// The result of one attempt.
enum Attempt {
    Done(Frame),
    Moved(u16, SocketAddr),
    Ask(SocketAddr),
    Retry,
    Broken(CallError),
}

impl ClusterClient {
    pub fn new(seeds: Vec<SocketAddr>, t0: Instant, seed: u64) -> ClusterClient {
        ClusterClient {
            seeds,
            slots: vec![None; 16384],
            conns: BTreeMap::new(),
            t0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn now_ms(&self) -> u64 {
        Instant::now().duration_since(self.t0).as_millis() as u64
    }

    async fn conn(&mut self, addr: SocketAddr) -> Result<&mut Conn, CallError> {
        if let std::collections::btree_map::Entry::Vacant(e) = self.conns.entry(addr) {
            let c = tokio::time::timeout(Duration::from_millis(500), Conn::connect(addr))
                .await
                .map_err(|_| CallError::Timeout)??;
            e.insert(c);
        }
        self.conns.get_mut(&addr).ok_or(CallError::Closed)
    }

    /// Learns the slot map from the first seed that answers CLUSTER SLOTS.
    pub async fn refresh_slots(&mut self) {
        let mut order = self.seeds.clone();
        let start = self.rng.gen_range(0..order.len().max(1));
        order.rotate_left(start);
        for addr in order {
            let reply = match self.conn(addr).await {
                Ok(c) => {
                    tokio::time::timeout(
                        Duration::from_millis(500),
                        c.call_str(&["CLUSTER", "SLOTS"]),
                    )
                    .await
                }
                Err(_) => continue,
            };
            let Ok(Ok(Frame::Array(ranges))) = reply else {
                self.conns.remove(&addr);
                continue;
            };
            let mut slots = vec![None; 16384];
            for r in ranges {
                let Frame::Array(parts) = r else { continue };
                let (Some(Frame::Integer(a)), Some(Frame::Integer(b)), Some(Frame::Array(master))) =
                    (parts.first(), parts.get(1), parts.get(2))
                else {
                    continue;
                };
                let (Some(Frame::Bulk(ip)), Some(Frame::Integer(port))) =
                    (master.first(), master.get(1))
                else {
                    continue;
                };
                let Ok(ip) = String::from_utf8_lossy(ip).parse() else {
                    continue;
                };
                let addr = SocketAddr::new(ip, *port as u16);
                let (first, last) = (*a as usize, (*b as usize).min(16383));
                if first <= last {
                    slots[first..=last].fill(Some(addr));
                }
            }
            self.slots = slots;
            return;
        }
    }

    /// Runs one command for `key`, following redirects. Returns the final frame or the outcome.
    pub async fn execute(
        &mut self,
        key: &str,
        args: &[&[u8]],
        max_attempts: u32,
        op_timeout_ms: u64,
    ) -> (Result<Frame, Outcome>, u32) {
        let slot = key_slot(key.as_bytes());
        let mut redirects = 0;
        let mut ask: Option<SocketAddr> = None;
        let deadline = Instant::now() + Duration::from_millis(op_timeout_ms * max_attempts as u64);
        for _ in 0..max_attempts {
            if Instant::now() >= deadline {
                break;
            }
            let target = match ask
                .take()
                .map(|a| (a, true))
                .or_else(|| self.slots[slot as usize].map(|a| (a, false)))
            {
                Some(t) => t,
                None => {
                    self.refresh_slots().await;
                    match self.slots[slot as usize] {
                        Some(a) => (a, false),
                        None => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    }
                }
            };
            let attempt = self.attempt(target.0, target.1, args, op_timeout_ms).await;
            match attempt {
                Attempt::Done(f) => return (Ok(f), redirects),
                Attempt::Moved(s, addr) => {
                    redirects += 1;
                    self.slots[s as usize] = Some(addr);
                }
                Attempt::Ask(addr) => {
                    redirects += 1;
                    ask = Some(addr);
                }
                Attempt::Retry => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    self.refresh_slots().await;
                }
                Attempt::Broken(e) => {
                    self.conns.remove(&target.0);
                    // A write that may have reached the server has an unknown outcome.
                    if matches!(e, CallError::Timeout | CallError::Closed | CallError::Io(_))
                        && args_are_write(args)
                    {
                        return (Err(Outcome::Unknown), redirects);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    self.refresh_slots().await;
                }
            }
        }
        (Err(Outcome::Failed("too many attempts".into())), redirects)
    }

    async fn attempt(
        &mut self,
        addr: SocketAddr,
        asking: bool,
        args: &[&[u8]],
        op_timeout_ms: u64,
    ) -> Attempt {
        let conn = match self.conn(addr).await {
            Ok(c) => c,
            Err(_) => return Attempt::Retry,
        };
        let timeout = Duration::from_millis(op_timeout_ms);
        if asking {
            match tokio::time::timeout(timeout, conn.call_str(&["ASKING"])).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Attempt::Broken(e),
                Err(_) => return Attempt::Broken(CallError::Timeout),
            }
        }
        let reply = match tokio::time::timeout(timeout, conn.call(args)).await {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => return Attempt::Broken(e),
            Err(_) => return Attempt::Broken(CallError::Timeout),
        };
        if let Frame::Error(text) = &reply {
            let text = String::from_utf8_lossy(text).into_owned();
            let mut words = text.split(' ');
            match words.next() {
                Some("MOVED") | Some("ASK") => {
                    let slot = words.next().and_then(|s| s.parse::<u16>().ok());
                    let addr = words.next().and_then(|a| a.parse::<SocketAddr>().ok());
                    if let (Some(slot), Some(addr)) = (slot, addr) {
                        if text.starts_with("MOVED") {
                            return Attempt::Moved(slot, addr);
                        }
                        return Attempt::Ask(addr);
                    }
                    return Attempt::Retry;
                }
                Some("CLUSTERDOWN") | Some("TRYAGAIN") | Some("LOADING") => return Attempt::Retry,
                _ => {}
            }
        }
        Attempt::Done(reply)
    }

    async fn run(&mut self, id: usize, w: Workload, stop: Arc<AtomicBool>, history: History) {
        self.refresh_slots().await;
        let mut seq: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let k = self.rng.gen_range(0..w.keys.max(1));
            let key = format!("c{}:{}", id, k);
            let write = self.rng.gen_range(0..100) < w.write_percent;
            let start = self.now_ms();
            let (kind, result, redirects) = if write {
                seq += 1;
                let value = format!("c{}-{}", id, seq);
                let (r, red) = self
                    .execute(
                        &key,
                        &[b"SET", key.as_bytes(), value.as_bytes()],
                        w.max_attempts,
                        w.op_timeout_ms,
                    )
                    .await;
                (OpKind::Set { value }, r, red)
            } else {
                let (r, red) = self
                    .execute(
                        &key,
                        &[b"GET", key.as_bytes()],
                        w.max_attempts,
                        w.op_timeout_ms,
                    )
                    .await;
                (OpKind::Get, r, red)
            };
            let outcome = match (&kind, result) {
                (_, Err(o)) => o,
                (OpKind::Set { .. }, Ok(Frame::Simple(s))) if &s[..] == b"OK" => Outcome::Written,
                (OpKind::Get, Ok(Frame::Bulk(b))) => {
                    Outcome::Read(Some(String::from_utf8_lossy(&b).into_owned()))
                }
                (OpKind::Get, Ok(Frame::Null)) => Outcome::Read(None),
                (_, Ok(other)) => Outcome::Failed(frame_text(&other)),
            };
            let op = Op {
                client: id,
                key,
                kind,
                start_ms: start,
                end_ms: self.now_ms(),
                outcome,
                redirects,
            };
            if let Ok(mut h) = history.lock() {
                h.push(op);
            }
            tokio::time::sleep(Duration::from_millis(w.interval_ms)).await;
        }
    }

    /// Reads a key's current value through the cluster (final-state checks).
    pub async fn get(&mut self, key: &str) -> Result<Option<Bytes>, Outcome> {
        let (r, _) = self.execute(key, &[b"GET", key.as_bytes()], 20, 1000).await;
        match r {
            Ok(Frame::Bulk(b)) => Ok(Some(b)),
            Ok(Frame::Null) => Ok(None),
            Ok(other) => Err(Outcome::Failed(frame_text(&other))),
            Err(o) => Err(o),
        }
    }
}

fn args_are_write(args: &[&[u8]]) -> bool {
    args.first()
        .map(|a| a.eq_ignore_ascii_case(b"SET"))
        .unwrap_or(false)
}

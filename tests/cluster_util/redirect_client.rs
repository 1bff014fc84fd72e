//! A cluster client for the resharding tests: it follows MOVED and ASK as cluster clients do
//! (ASKING before a redirected command, slot table refreshed on MOVED) and counts what it met,
//! so a test can assert that no error other than a redirect reached the client.

use crate::common::{parse_resp, resp_command, Resp};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::key_slot;

/// Counters of one client's run.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub ops: u64,
    pub moved: u64,
    pub ask: u64,
    /// Every error reply that was not a redirect, and every connection failure.
    pub errors: Vec<String>,
}

/// A cluster client following MOVED and ASK over plain RESP2 connections.
pub struct Client {
    /// Slot -> port, learnt from MOVED (all start at the seed).
    pub slots: Vec<u16>,
    pub conns: HashMap<u16, (TcpStream, Vec<u8>)>,
    pub tally: Tally,
}

impl Client {
    pub fn new(seed_port: u16) -> Client {
        Client {
            slots: vec![seed_port; 16384],
            conns: HashMap::new(),
            tally: Tally::default(),
        }
    }

    pub fn conn(&mut self, port: u16) -> std::io::Result<&mut (TcpStream, Vec<u8>)> {
        match self.conns.entry(port) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                let s = TcpStream::connect(("127.0.0.1", port))?;
                s.set_read_timeout(Some(Duration::from_secs(20)))?;
                s.set_nodelay(true)?;
                Ok(e.insert((s, Vec::new())))
            }
        }
    }

    /// Sends one command to a node and reads one reply.
    pub fn call_on(&mut self, port: u16, args: &[&[u8]]) -> std::io::Result<Resp> {
        let (s, buf) = self.conn(port)?;
        s.write_all(&resp_command(args))?;
        loop {
            if let Some((r, used)) = parse_resp(buf) {
                buf.drain(..used);
                return Ok(r);
            }
            let mut chunk = [0u8; 16384];
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::other("EOF"));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Runs a single-key command wherever the cluster says, following redirects.
    pub fn call(&mut self, key: &[u8], args: &[&[u8]]) -> Option<Resp> {
        let slot = key_slot(key) as usize;
        let mut port = self.slots[slot];
        let mut asking = false;
        for _ in 0..100 {
            let reply = if asking {
                match self.call_on(port, &[b"ASKING"]) {
                    Ok(_) => self.call_on(port, args),
                    Err(e) => Err(e),
                }
            } else {
                self.call_on(port, args)
            };
            asking = false;
            let reply = match reply {
                Ok(r) => r,
                Err(e) => {
                    self.conns.remove(&port);
                    self.tally.errors.push(format!("port {port}: {e}"));
                    return None;
                }
            };
            if let Resp::Error(raw) = &reply {
                let text = String::from_utf8_lossy(raw).into_owned();
                let mut words = text.split(' ');
                let kind = words.next().unwrap_or("");
                let target = words.nth(1).and_then(|a| a.rsplit_once(':'));
                match (kind, target) {
                    ("MOVED", Some((_, p))) => {
                        self.tally.moved += 1;
                        port = p.parse().expect("port in MOVED");
                        self.slots[slot] = port;
                        continue;
                    }
                    ("ASK", Some((_, p))) => {
                        self.tally.ask += 1;
                        port = p.parse().expect("port in ASK");
                        asking = true;
                        continue;
                    }
                    _ => {
                        self.tally.errors.push(text);
                        return None;
                    }
                }
            }
            self.tally.ops += 1;
            return Some(reply);
        }
        self.tally
            .errors
            .push(format!("redirect loop for slot {slot}"));
        None
    }
}

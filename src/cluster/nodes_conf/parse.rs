//! Reading node lines and nodes.conf.
//!
//! Accepts everything redis-server 7.0.15 writes, plus the older address form without
//! `@cport` (Redis then assumes port + 10000). Stricter than Redis where Redis would read
//! garbage (it uses atoi and would overflow its 46-byte IP buffer): such input is an error that
//! names the line, not a silently wrong cluster.

use super::{LineError, NodeFlag, NodeLine, NodesConf, NodesConfError};
use crate::cluster::bitmap::SlotBitmap;
use crate::cluster::node_id::NodeId;
use crate::slot::SLOT_COUNT;

/// Longest IP Redis can store (NET_IP_STR_LEN minus the NUL).
const MAX_IP_LEN: usize = 45;
/// Redis's default bus port offset, used when a line has no `@cport`.
const CPORT_OFFSET: u32 = 10000;
/// Error messages quote at most this much of the offending text.
const SNIPPET_LEN: usize = 64;

/// Parses one node line (without the `vars` form), as printed by CLUSTER NODES.
pub fn parse_line(line: &str) -> Result<NodeLine, LineError> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let [id, addr, flag_list, master, ping, pong, epoch, link, slot_tokens @ ..] =
        fields.as_slice()
    else {
        return Err(LineError::TooFewFields(fields.len()));
    };

    let id = NodeId::parse(id.as_bytes()).ok_or_else(|| LineError::BadNodeId(snippet(id)))?;
    let (ip, port, cport, hostname) = parse_address(addr)?;
    let flags = parse_flags(flag_list)?;
    let master = match *master {
        "-" => None,
        m => Some(NodeId::parse(m.as_bytes()).ok_or_else(|| LineError::BadMaster(snippet(m)))?),
    };
    let connected = match *link {
        "connected" => true,
        "disconnected" => false,
        other => return Err(LineError::BadLinkState(snippet(other))),
    };

    let mut node = NodeLine {
        id,
        ip,
        port,
        cport,
        hostname,
        flags,
        master,
        ping_sent_ms: number("ping_sent", ping)?,
        pong_recv_ms: number("pong_recv", pong)?,
        config_epoch: number("configEpoch", epoch)?,
        connected,
        slots: SlotBitmap::new(),
        migrating: Vec::new(),
        importing: Vec::new(),
    };
    for token in slot_tokens {
        parse_slot_token(token, &mut node)?;
    }
    Ok(node)
}

/// `ip:port[@cport][,hostname]`: the hostname is everything after the first comma, the IP
/// everything before the last colon (IPv6 addresses contain colons), as Redis splits it.
fn parse_address(addr: &str) -> Result<(String, u16, u16, Option<String>), LineError> {
    let bad = || LineError::BadAddress(snippet(addr));
    let (endpoint, hostname) = match addr.split_once(',') {
        Some((endpoint, host)) => (endpoint, (!host.is_empty()).then(|| host.to_string())),
        None => (addr, None),
    };
    let (ip, ports) = endpoint.rsplit_once(':').ok_or_else(bad)?;
    if ip.len() > MAX_IP_LEN {
        return Err(bad());
    }
    let (port, cport) = match ports.split_once('@') {
        Some((port, cport)) => (
            port.parse::<u16>().map_err(|_| bad())?,
            cport.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let port = ports.parse::<u16>().map_err(|_| bad())?;
            let cport = u16::try_from(u32::from(port) + CPORT_OFFSET).map_err(|_| bad())?;
            (port, cport)
        }
    };
    Ok((ip.to_string(), port, cport, hostname))
}

fn parse_flags(list: &str) -> Result<Vec<NodeFlag>, LineError> {
    let mut flags = Vec::new();
    for word in list.split(',') {
        if word == "noflags" {
            continue;
        }
        let flag =
            NodeFlag::from_word(word).ok_or_else(|| LineError::UnknownFlag(snippet(word)))?;
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    Ok(flags)
}

/// `N`, `A-B`, `[N->-id]` or `[N-<-id]`.
fn parse_slot_token(token: &str, node: &mut NodeLine) -> Result<(), LineError> {
    let bad = || LineError::BadSlot(snippet(token));
    if let Some(inner) = token.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(bad)?;
        let (slot, peer, importing) = if let Some((slot, peer)) = inner.split_once("->-") {
            (slot, peer, false)
        } else if let Some((slot, peer)) = inner.split_once("-<-") {
            (slot, peer, true)
        } else {
            return Err(bad());
        };
        let slot = slot_number(slot).ok_or_else(bad)?;
        let peer = NodeId::parse(peer.as_bytes()).ok_or_else(bad)?;
        if importing {
            node.importing.push((slot, peer));
        } else {
            node.migrating.push((slot, peer));
        }
        return Ok(());
    }
    let (start, end) = match token.split_once('-') {
        Some((start, end)) => (
            slot_number(start).ok_or_else(bad)?,
            slot_number(end).ok_or_else(bad)?,
        ),
        None => {
            let slot = slot_number(token).ok_or_else(bad)?;
            (slot, slot)
        }
    };
    if start > end {
        return Err(bad());
    }
    node.slots.set_range(start, end);
    Ok(())
}

/// A decimal slot number below 16384 (digits only: no sign, no spaces).
fn slot_number(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u16>()
        .ok()
        .filter(|&n| usize::from(n) < SLOT_COUNT)
}

fn number(field: &'static str, s: &str) -> Result<u64, LineError> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = s.parse::<u64>() {
            return Ok(n);
        }
    }
    Err(LineError::BadNumber {
        field,
        value: snippet(s),
    })
}

/// The start of `s`, cut on a character boundary, for error messages.
fn snippet(s: &str) -> String {
    let mut end = s.len().min(SNIPPET_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

impl NodesConf {
    /// Parses nodes.conf text.
    ///
    /// Blank lines are skipped (Redis pads the file with newlines while rewriting it in place).
    /// Unknown `vars` keys are ignored, as Redis does; a missing `vars` line leaves both epochs
    /// at 0. Empty text yields an empty config, which the caller treats as a fresh node. Values
    /// are returned as written: resetting a replica's configEpoch or the ping/pong times on load
    /// is the caller's decision.
    pub fn parse(text: &str) -> Result<NodesConf, NodesConfError> {
        let mut conf = NodesConf::default();
        let mut have_myself = false;
        for (index, raw) in text.lines().enumerate() {
            let at = |error| NodesConfError::Line {
                line: index + 1,
                error,
            };
            let line = raw.trim_matches(|c: char| c.is_ascii_whitespace());
            if line.is_empty() {
                continue;
            }
            if let Some(vars) = line.strip_prefix("vars") {
                if vars.is_empty() || vars.starts_with(|c: char| c.is_ascii_whitespace()) {
                    parse_vars(vars, &mut conf).map_err(at)?;
                    continue;
                }
            }
            let node = parse_line(line).map_err(at)?;
            if conf.nodes.iter().any(|n| n.id == node.id) {
                return Err(at(LineError::DuplicateNode(node.id)));
            }
            if node.has_flag(NodeFlag::Myself) {
                if have_myself {
                    return Err(at(LineError::DuplicateMyself));
                }
                have_myself = true;
            }
            conf.nodes.push(node);
        }
        if !conf.nodes.is_empty() && !have_myself {
            return Err(NodesConfError::NoMyself);
        }
        Ok(conf)
    }
}

/// `currentEpoch X lastVoteEpoch Y` (any order, unknown keys skipped).
fn parse_vars(rest: &str, conf: &mut NodesConf) -> Result<(), LineError> {
    let words: Vec<&str> = rest.split_ascii_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(LineError::BadVars);
    }
    for pair in words.chunks_exact(2) {
        if let [key, value] = pair {
            match *key {
                "currentEpoch" => conf.current_epoch = number("currentEpoch", value)?,
                "lastVoteEpoch" => conf.last_vote_epoch = number("lastVoteEpoch", value)?,
                _ => {}
            }
        }
    }
    Ok(())
}

//! [`Message`] → bytes.
//!
//! The length is computed first (in u64, so it can be checked against the u32 `totlen` before
//! anything is written) and the buffer allocated once.

use super::{
    mflags, offset, Body, Extension, GossipEntry, Header, Message, WireError, EXT_HEADER_LEN,
    GOSSIP_LEN, HEADER_LEN, IP_LEN, PUBLISH_FIXED_LEN, SIGNATURE,
};
use crate::cluster::node_id::NODE_ID_LEN;

/// Encodes a message.
///
/// `totlen` and `type` always come from the body. For PING/PONG/MEET, `count` and
/// `extensions` are the lengths of the two lists and the EXT_DATA bit is set when there are
/// extensions (a caller may also set it with none, as 7.2 does to advertise support). For other
/// types `count`, `extensions` and `mflags` are written as given. Reserved bytes are zero.
///
/// A message the format cannot describe (see [`try_encode`]) encodes to an empty vector, which
/// sends nothing: the bus is best-effort and such a message cannot come from a real workload
/// (Redis itself would emit a corrupt frame there).
pub fn encode(msg: &Message) -> Vec<u8> {
    try_encode(msg).unwrap_or_default()
}

/// [`encode`], reporting a message the format's counters cannot describe: more than 65535
/// gossip entries or extensions, or a total above u32::MAX bytes.
pub fn try_encode(msg: &Message) -> Result<Vec<u8>, WireError> {
    let mut header = msg.header.clone();
    header.kind = msg.body.kind();
    if let Some((gossip, extensions)) = msg.body.ping_parts() {
        header.count = counter(gossip.len(), "gossip entries")?;
        header.extensions = counter(extensions.len(), "extensions")?;
        if !extensions.is_empty() {
            header.mflags[0] |= mflags::EXT_DATA;
        }
    }
    let total = HEADER_LEN as u64 + body_len(&msg.body);
    header.totlen = u32::try_from(total).map_err(|_| WireError::TooLarge {
        len: total,
        max: u64::from(u32::MAX),
    })?;

    let mut out = Vec::with_capacity(header.totlen as usize);
    write_header(&mut out, &header);
    write_body(&mut out, &msg.body);
    Ok(out)
}

fn counter(n: usize, what: &'static str) -> Result<u16, WireError> {
    u16::try_from(n).map_err(|_| WireError::TooManyEntries { what, count: n })
}

fn body_len(body: &Body) -> u64 {
    match body {
        Body::Ping { gossip, extensions }
        | Body::Pong { gossip, extensions }
        | Body::Meet { gossip, extensions } => {
            gossip.len() as u64 * GOSSIP_LEN as u64
                + extensions.iter().map(extension_len).sum::<u64>()
        }
        Body::Fail { .. } => NODE_ID_LEN as u64,
        Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
            (PUBLISH_FIXED_LEN - HEADER_LEN) as u64 + channel.len() as u64 + message.len() as u64
        }
        Body::AuthRequest | Body::AuthAck | Body::MfStart => 0,
        Body::Update { .. } => 8 + NODE_ID_LEN as u64 + 2048,
        Body::Module { payload, .. } => 13 + payload.len() as u64,
    }
}

/// Bytes of an extension's payload before padding.
fn extension_payload_len(ext: &Extension) -> u64 {
    match ext {
        // NUL-terminated.
        Extension::Hostname(s) | Extension::HumanNodename(s) => s.len() as u64 + 1,
        Extension::ForgottenNode { .. } => NODE_ID_LEN as u64 + 8,
        Extension::ShardId(_) => NODE_ID_LEN as u64,
        Extension::Unknown { data, .. } => data.len() as u64,
    }
}

/// Whole extension length on the wire: header plus payload padded to 8 bytes.
fn extension_len(ext: &Extension) -> u64 {
    EXT_HEADER_LEN as u64 + extension_payload_len(ext).div_ceil(8) * 8
}

fn write_header(out: &mut Vec<u8>, h: &Header) {
    let start = out.len();
    out.extend_from_slice(&SIGNATURE);
    out.extend_from_slice(&h.totlen.to_be_bytes());
    out.extend_from_slice(&h.ver.to_be_bytes());
    out.extend_from_slice(&h.port.to_be_bytes());
    out.extend_from_slice(&h.kind.to_be_bytes());
    out.extend_from_slice(&h.count.to_be_bytes());
    out.extend_from_slice(&h.current_epoch.to_be_bytes());
    out.extend_from_slice(&h.config_epoch.to_be_bytes());
    out.extend_from_slice(&h.offset.to_be_bytes());
    out.extend_from_slice(&h.sender.0);
    out.extend_from_slice(h.myslots.as_bytes());
    match &h.slaveof {
        Some(id) => out.extend_from_slice(&id.0),
        None => out.extend_from_slice(&[0u8; NODE_ID_LEN]),
    }
    write_ip(out, &h.myip);
    out.extend_from_slice(&h.extensions.to_be_bytes());
    debug_assert_eq!(out.len() - start, offset::NOTUSED);
    out.extend_from_slice(&[0u8; 30]);
    out.extend_from_slice(&h.pport.to_be_bytes());
    out.extend_from_slice(&h.cport.to_be_bytes());
    out.extend_from_slice(&h.flags.to_be_bytes());
    out.push(h.state);
    out.extend_from_slice(&h.mflags);
    debug_assert_eq!(out.len() - start, offset::DATA);
}

fn write_body(out: &mut Vec<u8>, body: &Body) {
    match body {
        Body::Ping { gossip, extensions }
        | Body::Pong { gossip, extensions }
        | Body::Meet { gossip, extensions } => {
            for entry in gossip {
                write_gossip(out, entry);
            }
            for ext in extensions {
                write_extension(out, ext);
            }
        }
        Body::Fail { node } => out.extend_from_slice(&node.0),
        Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
            // Both fit u32: try_encode() checked the total against u32::MAX before writing.
            out.extend_from_slice(&(channel.len() as u32).to_be_bytes());
            out.extend_from_slice(&(message.len() as u32).to_be_bytes());
            out.extend_from_slice(channel);
            out.extend_from_slice(message);
        }
        Body::AuthRequest | Body::AuthAck | Body::MfStart => {}
        Body::Update {
            config_epoch,
            node,
            slots,
        } => {
            out.extend_from_slice(&config_epoch.to_be_bytes());
            out.extend_from_slice(&node.0);
            out.extend_from_slice(slots.as_bytes());
        }
        Body::Module {
            module_id,
            kind,
            payload,
        } => {
            out.extend_from_slice(&module_id.to_be_bytes());
            out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            out.push(*kind);
            out.extend_from_slice(payload);
        }
    }
}

fn write_gossip(out: &mut Vec<u8>, g: &GossipEntry) {
    let start = out.len();
    out.extend_from_slice(&g.node.0);
    out.extend_from_slice(&g.ping_sent_s.to_be_bytes());
    out.extend_from_slice(&g.pong_received_s.to_be_bytes());
    write_ip(out, &g.ip);
    out.extend_from_slice(&g.port.to_be_bytes());
    out.extend_from_slice(&g.cport.to_be_bytes());
    out.extend_from_slice(&g.flags.to_be_bytes());
    out.extend_from_slice(&g.pport.to_be_bytes());
    debug_assert_eq!(out.len() - start, offset::gossip::NOTUSED);
    out.extend_from_slice(&[0u8; 2]);
}

fn write_extension(out: &mut Vec<u8>, ext: &Extension) {
    let start = out.len();
    // Bounded by the message total, which try_encode() checked against u32::MAX.
    out.extend_from_slice(&(extension_len(ext) as u32).to_be_bytes());
    out.extend_from_slice(&ext.kind().to_be_bytes());
    out.extend_from_slice(&[0u8; 2]);
    match ext {
        Extension::Hostname(s) | Extension::HumanNodename(s) => {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        Extension::ForgottenNode { node, ttl_s } => {
            out.extend_from_slice(&node.0);
            out.extend_from_slice(&ttl_s.to_be_bytes());
        }
        Extension::ShardId(id) => out.extend_from_slice(&id.0),
        Extension::Unknown { data, .. } => out.extend_from_slice(data),
    }
    // Zero padding up to the next multiple of 8 (the header itself is 8 bytes).
    let written = out.len() - start;
    out.resize(start + written.div_ceil(8) * 8, 0);
}

/// An IP field: the text truncated to `IP_LEN - 1` bytes, then NUL padding.
fn write_ip(out: &mut Vec<u8>, ip: &str) {
    let bytes = ip.as_bytes();
    let n = bytes.len().min(IP_LEN - 1);
    out.extend_from_slice(bytes.get(..n).unwrap_or_default());
    out.resize(out.len() + (IP_LEN - n), 0);
}

//! Frame → [`Message`]: validation in Redis's order, then field extraction.
//!
//! Every read goes through the checked helpers below, so a frame that lies about its lengths
//! produces an error instead of an out-of-bounds index. Lengths are summed in u64, so counters
//! near u32::MAX cannot wrap past the checks (the class of bug behind Redis's own extension and
//! PUBLISH length fixes).

use bytes::Bytes;

use super::offset::{self, gossip as goff};
use super::{
    ext_type, mflags, types, Body, Extension, GossipEntry, Header, Message, WireError,
    EXT_HEADER_LEN, FAIL_LEN, GOSSIP_LEN, HEADER_LEN, IP_LEN, MODULE_FIXED_LEN, PROTO_VER,
    PUBLISH_FIXED_LEN, SIGNATURE, UPDATE_LEN,
};
use crate::cluster::bitmap::{SlotBitmap, SLOT_BITMAP_BYTES};
use crate::cluster::node_id::{NodeId, NODE_ID_LEN};

/// Decodes one complete frame (exactly `totlen` bytes, as cut by [`super::FrameReader`]).
///
/// Checks, in order: signature, that the slice is exactly `totlen` long, the header minimum,
/// the version, the type, and that `totlen` equals the exact length the type and its own
/// counters require (Redis's `clusterIsValidPacket` rule). Node ids are taken as the 40 bytes
/// sent; checking that they are hex is left to the caller, as Redis only verifies ids of nodes it
/// is about to create.
pub fn decode(frame: &[u8]) -> Result<Message, WireError> {
    let sig: [u8; 4] = array_at(frame, offset::SIG)?;
    if sig != SIGNATURE {
        return Err(WireError::BadSignature(sig));
    }
    let totlen = u32_at(frame, offset::TOTLEN)?;
    if usize::try_from(totlen).ok() != Some(frame.len()) {
        return Err(WireError::FrameLength {
            totlen,
            actual: frame.len(),
        });
    }
    if frame.len() < HEADER_LEN {
        return Err(WireError::TooShort { totlen });
    }
    let header = decode_header(frame, totlen)?;
    if header.ver != PROTO_VER {
        return Err(WireError::UnsupportedVersion(header.ver));
    }
    let body = decode_body(frame, &header)?;
    Ok(Message { header, body })
}

fn decode_header(frame: &[u8], totlen: u32) -> Result<Header, WireError> {
    let slaveof: [u8; NODE_ID_LEN] = array_at(frame, offset::SLAVEOF)?;
    Ok(Header {
        totlen,
        ver: u16_at(frame, offset::VER)?,
        port: u16_at(frame, offset::PORT)?,
        kind: u16_at(frame, offset::TYPE)?,
        count: u16_at(frame, offset::COUNT)?,
        current_epoch: u64_at(frame, offset::CURRENT_EPOCH)?,
        config_epoch: u64_at(frame, offset::CONFIG_EPOCH)?,
        offset: u64_at(frame, offset::OFFSET)?,
        sender: NodeId(array_at(frame, offset::SENDER)?),
        myslots: bitmap_at(frame, offset::MYSLOTS)?,
        slaveof: (!NodeId::is_null(&slaveof)).then_some(NodeId(slaveof)),
        myip: ip_at(frame, offset::MYIP)?,
        extensions: u16_at(frame, offset::EXTENSIONS)?,
        pport: u16_at(frame, offset::PPORT)?,
        cport: u16_at(frame, offset::CPORT)?,
        flags: u16_at(frame, offset::FLAGS)?,
        state: array_at::<1>(frame, offset::STATE)?[0],
        mflags: array_at(frame, offset::MFLAGS)?,
    })
}

fn decode_body(frame: &[u8], h: &Header) -> Result<Body, WireError> {
    let exact = |expected: usize| -> Result<(), WireError> {
        if frame.len() == expected {
            Ok(())
        } else {
            Err(mismatch(h, expected as u64))
        }
    };
    match h.kind {
        types::PING | types::PONG | types::MEET => {
            let (gossip, extensions) = decode_ping(frame, h)?;
            Ok(match h.kind {
                types::PING => Body::Ping { gossip, extensions },
                types::PONG => Body::Pong { gossip, extensions },
                _ => Body::Meet { gossip, extensions },
            })
        }
        types::FAIL => {
            exact(FAIL_LEN)?;
            Ok(Body::Fail {
                node: NodeId(array_at(frame, offset::DATA)?),
            })
        }
        types::PUBLISH | types::PUBLISHSHARD => {
            let (channel, message) = decode_publish(frame, h)?;
            Ok(if h.kind == types::PUBLISH {
                Body::Publish { channel, message }
            } else {
                Body::PublishShard { channel, message }
            })
        }
        types::FAILOVER_AUTH_REQUEST => exact(HEADER_LEN).map(|()| Body::AuthRequest),
        types::FAILOVER_AUTH_ACK => exact(HEADER_LEN).map(|()| Body::AuthAck),
        types::MFSTART => exact(HEADER_LEN).map(|()| Body::MfStart),
        types::UPDATE => {
            exact(UPDATE_LEN)?;
            Ok(Body::Update {
                config_epoch: u64_at(frame, offset::DATA)?,
                node: NodeId(array_at(frame, offset::DATA + 8)?),
                slots: bitmap_at(frame, offset::DATA + 8 + NODE_ID_LEN)?,
            })
        }
        types::MODULE => {
            if frame.len() < MODULE_FIXED_LEN {
                return Err(mismatch(h, MODULE_FIXED_LEN as u64));
            }
            let module_id = u64_at(frame, offset::DATA)?;
            let len = u32_at(frame, offset::DATA + 8)?;
            let kind = array_at::<1>(frame, offset::DATA + 12)?[0];
            let expected = MODULE_FIXED_LEN as u64 + u64::from(len);
            if frame.len() as u64 != expected {
                return Err(mismatch(h, expected));
            }
            Ok(Body::Module {
                module_id,
                kind,
                payload: Bytes::copy_from_slice(slice_at(frame, MODULE_FIXED_LEN, frame.len())?),
            })
        }
        other => Err(WireError::UnknownType(other)),
    }
}

/// Gossip entries and extensions; the count is checked against the frame before allocating.
fn decode_ping(frame: &[u8], h: &Header) -> Result<(Vec<GossipEntry>, Vec<Extension>), WireError> {
    let totlen = frame.len() as u64;
    let count = usize::from(h.count);
    let gossip_end = HEADER_LEN as u64 + (GOSSIP_LEN as u64) * count as u64;
    if gossip_end > totlen {
        return Err(mismatch(h, gossip_end));
    }
    let mut gossip = Vec::with_capacity(count);
    for i in 0..count {
        let start = HEADER_LEN + i * GOSSIP_LEN;
        gossip.push(decode_gossip(slice_at(frame, start, start + GOSSIP_LEN)?)?);
    }

    let mut extensions = Vec::new();
    let mut pos = gossip_end;
    if h.mflags[0] & mflags::EXT_DATA != 0 {
        for index in 0..h.extensions {
            let remaining = totlen - pos;
            if remaining < EXT_HEADER_LEN as u64 {
                return Err(WireError::ExtensionOverrun {
                    index,
                    length: EXT_HEADER_LEN as u32,
                    remaining,
                });
            }
            // pos <= totlen, which came from a usize, so it fits.
            let at = pos as usize;
            let length = u32_at(frame, at)?;
            let kind = u16_at(frame, at + 4)?;
            if (length as usize) < EXT_HEADER_LEN || length % 8 != 0 {
                return Err(WireError::BadExtensionLength { index, length });
            }
            if u64::from(length) > remaining {
                return Err(WireError::ExtensionOverrun {
                    index,
                    length,
                    remaining,
                });
            }
            let data = slice_at(frame, at + EXT_HEADER_LEN, at + length as usize)?;
            extensions.push(decode_extension(kind, data));
            pos += u64::from(length);
        }
    }
    if pos != totlen {
        return Err(mismatch(h, pos));
    }
    Ok((gossip, extensions))
}

fn decode_gossip(entry: &[u8]) -> Result<GossipEntry, WireError> {
    Ok(GossipEntry {
        node: NodeId(array_at(entry, goff::NODENAME)?),
        ping_sent_s: u32_at(entry, goff::PING_SENT)?,
        pong_received_s: u32_at(entry, goff::PONG_RECEIVED)?,
        ip: ip_at(entry, goff::IP)?,
        port: u16_at(entry, goff::PORT)?,
        cport: u16_at(entry, goff::CPORT)?,
        flags: u16_at(entry, goff::FLAGS)?,
        pport: u16_at(entry, goff::PPORT)?,
    })
}

/// One extension payload. Never fails: what cannot be understood is kept as `Unknown`.
fn decode_extension(kind: u16, data: &[u8]) -> Extension {
    match kind {
        ext_type::HOSTNAME => Extension::Hostname(c_string(data)),
        ext_type::HUMAN_NODENAME => Extension::HumanNodename(c_string(data)),
        ext_type::FORGOTTEN_NODE => match (array_at(data, 0), u64_at(data, NODE_ID_LEN)) {
            (Ok(node), Ok(ttl_s)) => Extension::ForgottenNode {
                node: NodeId(node),
                ttl_s,
            },
            _ => unknown(kind, data),
        },
        ext_type::SHARD_ID => match array_at(data, 0) {
            Ok(id) => Extension::ShardId(NodeId(id)),
            Err(_) => unknown(kind, data),
        },
        _ => unknown(kind, data),
    }
}

fn unknown(kind: u16, data: &[u8]) -> Extension {
    Extension::Unknown {
        kind,
        data: data.to_vec(),
    }
}

fn decode_publish(frame: &[u8], h: &Header) -> Result<(Bytes, Bytes), WireError> {
    if frame.len() < PUBLISH_FIXED_LEN {
        return Err(mismatch(h, PUBLISH_FIXED_LEN as u64));
    }
    let chlen = u32_at(frame, offset::DATA)?;
    let msglen = u32_at(frame, offset::DATA + 4)?;
    let expected = PUBLISH_FIXED_LEN as u64 + u64::from(chlen) + u64::from(msglen);
    if frame.len() as u64 != expected {
        return Err(mismatch(h, expected));
    }
    // Both lengths are now known to lie within the frame.
    let ch_end = PUBLISH_FIXED_LEN + chlen as usize;
    let channel = Bytes::copy_from_slice(slice_at(frame, PUBLISH_FIXED_LEN, ch_end)?);
    let message = Bytes::copy_from_slice(slice_at(frame, ch_end, frame.len())?);
    Ok((channel, message))
}

fn mismatch(h: &Header, expected: u64) -> WireError {
    WireError::LengthMismatch {
        kind: h.kind,
        totlen: h.totlen,
        expected,
    }
}

/// Text up to the first NUL (or the whole field), as Redis reads its C strings.
fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
}

/// An IP field: at most `IP_LEN - 1` bytes, since Redis forces the last byte to NUL.
fn ip_at(buf: &[u8], at: usize) -> Result<String, WireError> {
    let field: [u8; IP_LEN] = array_at(buf, at)?;
    Ok(c_string(field.get(..IP_LEN - 1).unwrap_or_default()))
}

fn slice_at(buf: &[u8], start: usize, end: usize) -> Result<&[u8], WireError> {
    buf.get(start..end).ok_or(WireError::Truncated {
        needed: end,
        got: buf.len(),
    })
}

fn array_at<const N: usize>(buf: &[u8], at: usize) -> Result<[u8; N], WireError> {
    let end = at.saturating_add(N);
    slice_at(buf, at, end)?
        .try_into()
        .map_err(|_| WireError::Truncated {
            needed: end,
            got: buf.len(),
        })
}

fn bitmap_at(buf: &[u8], at: usize) -> Result<SlotBitmap, WireError> {
    Ok(SlotBitmap::from_bytes(&array_at::<SLOT_BITMAP_BYTES>(
        buf, at,
    )?))
}

fn u16_at(buf: &[u8], at: usize) -> Result<u16, WireError> {
    array_at(buf, at).map(u16::from_be_bytes)
}

fn u32_at(buf: &[u8], at: usize) -> Result<u32, WireError> {
    array_at(buf, at).map(u32::from_be_bytes)
}

fn u64_at(buf: &[u8], at: usize) -> Result<u64, WireError> {
    array_at(buf, at).map(u64::from_be_bytes)
}

//! The Redis 7.0 cluster bus message format: types, constants and a pure codec.
//!
//! Every message is a fixed 2256-byte header followed by a type-specific body, all integers
//! big-endian. The layout is the one redis-server 7.0.15 static-asserts in cluster.h, so a node
//! built on this module can sit in a cluster with real Redis nodes. Nothing here does I/O:
//! [`encode`] turns a [`Message`] into bytes, [`decode`] turns one complete frame back, and
//! [`FrameReader`] / [`frame_len`] cut frames out of a byte stream.
//!
//! Decoding is total: any byte string yields a message or a [`WireError`], never a panic, and
//! nothing is allocated from a count before that count has been checked against the frame's
//! real length.

mod decode;
mod encode;
mod frame;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use thiserror::Error;

use super::bitmap::SlotBitmap;
use super::node_id::NodeId;

pub use decode::decode;
pub use encode::{encode, try_encode};
pub use frame::{frame_len, frame_len_with_max, FrameReader};

/// The four bytes every bus message starts with ("Redis Cluster message bus").
pub const SIGNATURE: [u8; 4] = *b"RCmb";
/// The only bus protocol version Redis 7.0 speaks; packets with another version are dropped.
pub const PROTO_VER: u16 = 1;
/// Size of the fixed header, which is also the smallest legal frame (Redis: CLUSTERMSG_MIN_LEN).
pub const HEADER_LEN: usize = 2256;
/// Size of one gossip entry in PING/PONG/MEET.
pub const GOSSIP_LEN: usize = 104;
/// Size of the `{length u32, type u16, unused u16}` header in front of each ping extension.
pub const EXT_HEADER_LEN: usize = 8;
/// Size of the IP fields (Redis NET_IP_STR_LEN, NUL included).
pub const IP_LEN: usize = 46;
/// Exact length of a FAIL message.
pub const FAIL_LEN: usize = HEADER_LEN + 40;
/// Length of a PUBLISH/PUBLISHSHARD message before the channel and message bytes.
pub const PUBLISH_FIXED_LEN: usize = HEADER_LEN + 8;
/// Exact length of an UPDATE message.
pub const UPDATE_LEN: usize = HEADER_LEN + 8 + 40 + 2048;
/// Length of a MODULE message before its payload.
pub const MODULE_FIXED_LEN: usize = HEADER_LEN + 13;
/// Default upper bound on a frame's declared length.
///
/// Redis 7.0 itself has no bound beyond u32. The largest message a default-configured
/// redis-server can legitimately relay is a PUBLISH built from one client command, and a client
/// command is capped by `client-query-buffer-limit` (1 GiB by default), so 1 GiB plus the fixed
/// PUBLISH part admits every real message while a corrupt length near 4 GiB still kills the
/// link. [`FrameReader`] buffers only bytes that actually arrive, so the bound costs no memory.
pub const DEFAULT_MAX_FRAME_LEN: usize = PUBLISH_FIXED_LEN + (1 << 30);

/// Node flag bits, as carried in the header's `flags` and in gossip entries.
pub mod flags {
    /// The node is a master.
    pub const MASTER: u16 = 1;
    /// The node is a replica.
    pub const SLAVE: u16 = 2;
    /// Failure suspected by the sender.
    pub const PFAIL: u16 = 4;
    /// Failure agreed by a majority.
    pub const FAIL: u16 = 8;
    /// The entry describes the sender itself (never expected on the wire, kept for completeness).
    pub const MYSELF: u16 = 16;
    /// Handshake in progress; the id is still a temporary one.
    pub const HANDSHAKE: u16 = 32;
    /// The node's address is unknown.
    pub const NOADDR: u16 = 64;
    /// Send MEET rather than PING on the next connect.
    pub const MEET: u16 = 128;
    /// A master eligible for replica migration.
    pub const MIGRATE_TO: u16 = 256;
    /// A replica that must not fail over.
    pub const NOFAILOVER: u16 = 512;
}

/// Message type codes (the header's `type`).
pub mod types {
    /// Ping, carries gossip.
    pub const PING: u16 = 0;
    /// Pong, the reply to PING and MEET, carries gossip.
    pub const PONG: u16 = 1;
    /// Meet: a ping that makes the receiver add the sender.
    pub const MEET: u16 = 2;
    /// Mark a node as failing.
    pub const FAIL: u16 = 3;
    /// Pub/Sub PUBLISH broadcast.
    pub const PUBLISH: u16 = 4;
    /// A replica asks for a failover vote.
    pub const FAILOVER_AUTH_REQUEST: u16 = 5;
    /// A master grants a failover vote.
    pub const FAILOVER_AUTH_ACK: u16 = 6;
    /// Another node's newer slot configuration.
    pub const UPDATE: u16 = 7;
    /// Manual failover start (pause clients).
    pub const MFSTART: u16 = 8;
    /// Module cluster message.
    pub const MODULE: u16 = 9;
    /// Sharded Pub/Sub SPUBLISH, sent within a shard.
    pub const PUBLISHSHARD: u16 = 10;
}

/// Bits of `mflags[0]`.
pub mod mflags {
    /// The sending master is paused for a manual failover.
    pub const PAUSED: u8 = 1;
    /// Grant the failover vote even though the master is up (manual failover).
    pub const FORCEACK: u8 = 2;
    /// PING/PONG/MEET carry `extensions` ping extensions after the gossip.
    pub const EXT_DATA: u8 = 4;
}

/// Ping extension type codes (Redis `clusterMsgPingtypes`).
pub mod ext_type {
    /// The sender's announced hostname (7.0).
    pub const HOSTNAME: u16 = 0;
    /// The sender's announced human-readable node name (7.2).
    pub const HUMAN_NODENAME: u16 = 1;
    /// A node the sender was told to FORGET, with the remaining blacklist time (7.2).
    pub const FORGOTTEN_NODE: u16 = 2;
    /// The sender's shard id (7.2).
    pub const SHARD_ID: u16 = 3;
}

/// The fixed 2256-byte header.
///
/// `totlen`, `kind` and (for PING/PONG/MEET) `count`, `extensions` and the EXT_DATA bit of
/// `mflags[0]` describe the body; [`decode`] fills them from the wire and [`encode`] recomputes
/// them from the body, so a caller building a message never has to keep them in step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Total message length in bytes, header included.
    pub totlen: u32,
    /// Protocol version; [`PROTO_VER`] for every message this module accepts.
    pub ver: u16,
    /// The sender's client port (TCP or TLS, whichever is primary).
    pub port: u16,
    /// Message type, one of [`types`].
    pub kind: u16,
    /// Number of gossip entries (PING/PONG/MEET only; written as given for other types).
    pub count: u16,
    /// The sender's currentEpoch.
    pub current_epoch: u64,
    /// The sender's configEpoch, or its master's if the sender is a replica.
    pub config_epoch: u64,
    /// Replication offset of the sender.
    pub offset: u64,
    /// The sender's node id.
    pub sender: NodeId,
    /// The slots the sender (or its master) claims.
    pub myslots: SlotBitmap,
    /// The sender's master; `None` is sent as 40 zero bytes.
    pub slaveof: Option<NodeId>,
    /// The sender's announced IP, empty when none is announced (sent as zeros; the receiver
    /// then uses the socket's peer address). At most 45 bytes are sent.
    pub myip: String,
    /// Number of ping extensions (meaningful only with [`mflags::EXT_DATA`]).
    pub extensions: u16,
    /// The sender's secondary client port (TLS if `port` is TCP and vice versa).
    pub pport: u16,
    /// The sender's cluster bus port.
    pub cport: u16,
    /// The sender's [`flags`].
    pub flags: u16,
    /// The cluster state as the sender sees it: 0 ok, 1 fail.
    pub state: u8,
    /// Message flags, see [`mflags`] for byte 0; bytes 1 and 2 are unused in 7.0.
    pub mflags: [u8; 3],
}

impl Header {
    /// A header of type `kind` from `sender`, every other field zero/empty, current version.
    pub fn new(kind: u16, sender: NodeId) -> Header {
        Header {
            totlen: 0,
            ver: PROTO_VER,
            port: 0,
            kind,
            count: 0,
            current_epoch: 0,
            config_epoch: 0,
            offset: 0,
            sender,
            myslots: SlotBitmap::new(),
            slaveof: None,
            myip: String::new(),
            extensions: 0,
            pport: 0,
            cport: 0,
            flags: 0,
            state: 0,
            mflags: [0; 3],
        }
    }
}

/// One gossip entry: what the sender knows about some other node (104 bytes on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipEntry {
    /// The node described.
    pub node: NodeId,
    /// When the sender last pinged it, in **seconds** (unix time), 0 if no ping is pending.
    pub ping_sent_s: u32,
    /// When the sender last got its pong, in seconds.
    pub pong_received_s: u32,
    /// The node's IP (at most 45 bytes are sent).
    pub ip: String,
    /// Client port.
    pub port: u16,
    /// Cluster bus port.
    pub cport: u16,
    /// [`flags`] as the sender sees them.
    pub flags: u16,
    /// Secondary client port.
    pub pport: u16,
}

/// A ping extension, sent after the gossip section of PING/PONG/MEET.
///
/// Redis 7.0 sends only `Hostname`; 7.2 adds the other three. Anything else, or a known type
/// whose payload is too short to parse, is kept as `Unknown` so decoding never fails on
/// extensions a newer node invents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extension {
    /// The sender's announced hostname (type 0); empty means "no hostname".
    Hostname(String),
    /// The sender's human-readable node name (type 1).
    HumanNodename(String),
    /// A node the sender forgot, and how many seconds it stays blacklisted (type 2).
    ForgottenNode {
        /// The forgotten node.
        node: NodeId,
        /// Remaining blacklist time in seconds.
        ttl_s: u64,
    },
    /// The sender's shard id: 40 hex characters, same shape as a node id (type 3).
    ShardId(NodeId),
    /// Any other extension, payload as received (including its zero padding).
    Unknown {
        /// The extension type code.
        kind: u16,
        /// The payload after the 8-byte extension header.
        data: Vec<u8>,
    },
}

impl Extension {
    /// The extension type code on the wire.
    pub fn kind(&self) -> u16 {
        match self {
            Extension::Hostname(_) => ext_type::HOSTNAME,
            Extension::HumanNodename(_) => ext_type::HUMAN_NODENAME,
            Extension::ForgottenNode { .. } => ext_type::FORGOTTEN_NODE,
            Extension::ShardId(_) => ext_type::SHARD_ID,
            Extension::Unknown { kind, .. } => *kind,
        }
    }
}

/// The type-specific part of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// PING (type 0).
    Ping {
        /// Gossip entries.
        gossip: Vec<GossipEntry>,
        /// Ping extensions.
        extensions: Vec<Extension>,
    },
    /// PONG (type 1).
    Pong {
        /// Gossip entries.
        gossip: Vec<GossipEntry>,
        /// Ping extensions.
        extensions: Vec<Extension>,
    },
    /// MEET (type 2).
    Meet {
        /// Gossip entries.
        gossip: Vec<GossipEntry>,
        /// Ping extensions.
        extensions: Vec<Extension>,
    },
    /// FAIL (type 3): `node` is failing.
    Fail {
        /// The failing node.
        node: NodeId,
    },
    /// PUBLISH (type 4).
    Publish {
        /// Channel name.
        channel: Bytes,
        /// Message payload.
        message: Bytes,
    },
    /// FAILOVER_AUTH_REQUEST (type 5), header only.
    AuthRequest,
    /// FAILOVER_AUTH_ACK (type 6), header only.
    AuthAck,
    /// UPDATE (type 7): `node` owns `slots` with `config_epoch`.
    Update {
        /// The config epoch of `node`.
        config_epoch: u64,
        /// The node whose configuration is sent.
        node: NodeId,
        /// The slots it owns.
        slots: SlotBitmap,
    },
    /// MFSTART (type 8), header only.
    MfStart,
    /// MODULE (type 9).
    Module {
        /// The sending module's id.
        module_id: u64,
        /// Module-defined message type.
        kind: u8,
        /// Module-defined payload.
        payload: Bytes,
    },
    /// PUBLISHSHARD (type 10).
    PublishShard {
        /// Channel name.
        channel: Bytes,
        /// Message payload.
        message: Bytes,
    },
}

impl Body {
    /// The message type code for this body.
    pub fn kind(&self) -> u16 {
        match self {
            Body::Ping { .. } => types::PING,
            Body::Pong { .. } => types::PONG,
            Body::Meet { .. } => types::MEET,
            Body::Fail { .. } => types::FAIL,
            Body::Publish { .. } => types::PUBLISH,
            Body::AuthRequest => types::FAILOVER_AUTH_REQUEST,
            Body::AuthAck => types::FAILOVER_AUTH_ACK,
            Body::Update { .. } => types::UPDATE,
            Body::MfStart => types::MFSTART,
            Body::Module { .. } => types::MODULE,
            Body::PublishShard { .. } => types::PUBLISHSHARD,
        }
    }

    /// Gossip and extensions, for the three ping-like types.
    pub fn ping_parts(&self) -> Option<(&[GossipEntry], &[Extension])> {
        match self {
            Body::Ping { gossip, extensions }
            | Body::Pong { gossip, extensions }
            | Body::Meet { gossip, extensions } => Some((gossip, extensions)),
            _ => None,
        }
    }
}

/// One bus message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The fixed header.
    pub header: Header,
    /// The type-specific body.
    pub body: Body,
}

/// Why a frame or message was rejected.
///
/// [`WireError::is_fatal`] tells the caller whether the byte stream itself is lost (Redis closes
/// the link) or only this one message is dropped (Redis logs and ignores it).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WireError {
    /// Fewer bytes than the fixed part being read needs.
    #[error("truncated frame: need {needed} bytes, have {got}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The frame does not start with "RCmb".
    #[error("bad cluster bus signature {0:?}")]
    BadSignature([u8; 4]),
    /// The declared total length is below the fixed header size.
    #[error("declared length {totlen} is shorter than the {HEADER_LEN}-byte header")]
    TooShort {
        /// The declared length.
        totlen: u32,
    },
    /// The declared or computed length exceeds the limit.
    #[error("message length {len} exceeds the limit of {max} bytes")]
    TooLarge {
        /// The length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The frame handed to [`decode`] is not exactly `totlen` bytes long.
    #[error("frame is {actual} bytes but its header declares {totlen}")]
    FrameLength {
        /// The declared length.
        totlen: u32,
        /// The slice length.
        actual: usize,
    },
    /// The header's version is not [`PROTO_VER`].
    #[error("unsupported cluster bus protocol version {0}")]
    UnsupportedVersion(u16),
    /// A type this node does not know; Redis ignores such packets, so callers count and drop.
    #[error("unknown cluster bus message type {0}")]
    UnknownType(u16),
    /// The declared length differs from what the type and its own counters require.
    #[error("message type {kind} declares {totlen} bytes but its contents need {expected}")]
    LengthMismatch {
        /// The message type.
        kind: u16,
        /// The declared length.
        totlen: u32,
        /// The length the type requires (its fixed minimum when even that is cut off).
        expected: u64,
    },
    /// A ping extension length below 8 or not a multiple of 8.
    #[error("ping extension {index} has invalid length {length}")]
    BadExtensionLength {
        /// Position of the extension in the message.
        index: u16,
        /// Its declared length.
        length: u32,
    },
    /// A ping extension (or its 8-byte header) runs past the end of the message.
    #[error("ping extension {index} of {length} bytes overruns the message ({remaining} left)")]
    ExtensionOverrun {
        /// Position of the extension in the message.
        index: u16,
        /// Its declared length (8 when not even its header fits).
        length: u32,
        /// Bytes left in the message at that point.
        remaining: u64,
    },
    /// More gossip entries or extensions than the u16 counters can describe.
    #[error("{count} {what} do not fit the 16-bit counter")]
    TooManyEntries {
        /// "gossip entries" or "extensions".
        what: &'static str,
        /// How many there were.
        count: usize,
    },
}

impl WireError {
    /// For errors from reading ([`frame_len`], [`FrameReader`], [`decode`]): whether the stream
    /// framing is lost, so the link must be closed (as Redis does for a bad signature or length
    /// in the first 8 bytes). Every other error only drops one message.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            WireError::BadSignature(_) | WireError::TooShort { .. } | WireError::TooLarge { .. }
        )
    }
}

/// Header field offsets, as static-asserted in Redis's cluster.h.
pub(crate) mod offset {
    pub const SIG: usize = 0;
    pub const TOTLEN: usize = 4;
    pub const VER: usize = 8;
    pub const PORT: usize = 10;
    pub const TYPE: usize = 12;
    pub const COUNT: usize = 14;
    pub const CURRENT_EPOCH: usize = 16;
    pub const CONFIG_EPOCH: usize = 24;
    pub const OFFSET: usize = 32;
    pub const SENDER: usize = 40;
    pub const MYSLOTS: usize = 80;
    pub const SLAVEOF: usize = 2128;
    pub const MYIP: usize = 2168;
    pub const EXTENSIONS: usize = 2214;
    pub const NOTUSED: usize = 2216;
    pub const PPORT: usize = 2246;
    pub const CPORT: usize = 2248;
    pub const FLAGS: usize = 2250;
    pub const STATE: usize = 2252;
    pub const MFLAGS: usize = 2253;
    pub const DATA: usize = 2256;

    /// Offsets inside one gossip entry.
    pub mod gossip {
        pub const NODENAME: usize = 0;
        pub const PING_SENT: usize = 40;
        pub const PONG_RECEIVED: usize = 44;
        pub const IP: usize = 48;
        pub const PORT: usize = 94;
        pub const CPORT: usize = 96;
        pub const FLAGS: usize = 98;
        pub const PPORT: usize = 100;
        pub const NOTUSED: usize = 102;
    }
}

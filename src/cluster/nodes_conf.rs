//! CLUSTER NODES lines and the nodes.conf file, which redis-server 7.0 writes in the same format.
//!
//! Both are read by tools that compare text: redis-cli's `--cluster create/check` joins every
//! node's slot tokens into a signature and waits until all nodes agree, so a line must be
//! byte-for-byte what Redis prints (flag order, maximal slot runs, trailing `\n`). nodes.conf
//! must also load what a real redis-server 7.0.15 wrote, so an existing data directory can be
//! taken over.
//!
//! Line format (clusterGenNodeDescription):
//! `<id> <ip>:<port>@<cport>[,<hostname>] <flags> <master|-> <ping_sent> <pong_recv>
//! <configEpoch> <connected|disconnected> [<slot>|<start>-<end>]... [[<slot>->-<id>]|[<slot>-<-<id>]]...`

mod format;
mod parse;
#[cfg(test)]
mod tests;

use thiserror::Error;

use super::bitmap::SlotBitmap;
use super::node_id::NodeId;
use super::wire::flags;

pub use format::format_line;
pub use parse::parse_line;

/// The node flags CLUSTER NODES prints, declared in the order Redis prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeFlag {
    /// `myself`: the line describes the node printing it.
    Myself,
    /// `master`.
    Master,
    /// `slave` (never "replica": tools match the word literally).
    Slave,
    /// `fail?`: failure suspected (PFAIL).
    PFail,
    /// `fail`: failure agreed.
    Fail,
    /// `handshake`: not yet confirmed; such nodes are left out of nodes.conf.
    Handshake,
    /// `noaddr`: address unknown.
    NoAddr,
    /// `nofailover`: a replica that will not fail over.
    NoFailover,
}

impl NodeFlag {
    /// Every printable flag in Redis's print order.
    pub const ALL: [NodeFlag; 8] = [
        NodeFlag::Myself,
        NodeFlag::Master,
        NodeFlag::Slave,
        NodeFlag::PFail,
        NodeFlag::Fail,
        NodeFlag::Handshake,
        NodeFlag::NoAddr,
        NodeFlag::NoFailover,
    ];

    /// The word printed for this flag.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeFlag::Myself => "myself",
            NodeFlag::Master => "master",
            NodeFlag::Slave => "slave",
            NodeFlag::PFail => "fail?",
            NodeFlag::Fail => "fail",
            NodeFlag::Handshake => "handshake",
            NodeFlag::NoAddr => "noaddr",
            NodeFlag::NoFailover => "nofailover",
        }
    }

    /// The flag for a printed word (`noflags` is not a flag; the parser handles it).
    pub fn from_word(word: &str) -> Option<NodeFlag> {
        NodeFlag::ALL.into_iter().find(|f| f.as_str() == word)
    }

    /// The bus flag bit ([`super::wire::flags`]) for this flag.
    pub fn bit(self) -> u16 {
        match self {
            NodeFlag::Myself => flags::MYSELF,
            NodeFlag::Master => flags::MASTER,
            NodeFlag::Slave => flags::SLAVE,
            NodeFlag::PFail => flags::PFAIL,
            NodeFlag::Fail => flags::FAIL,
            NodeFlag::Handshake => flags::HANDSHAKE,
            NodeFlag::NoAddr => flags::NOADDR,
            NodeFlag::NoFailover => flags::NOFAILOVER,
        }
    }

    /// The printable flags set in a bus flag word, in print order (MEET and MIGRATE_TO are
    /// internal and never printed).
    pub fn from_bits(bits: u16) -> Vec<NodeFlag> {
        NodeFlag::ALL
            .into_iter()
            .filter(|f| bits & f.bit() != 0)
            .collect()
    }

    /// The bus flag word for a list of flags.
    pub fn to_bits(flags: &[NodeFlag]) -> u16 {
        flags.iter().fold(0, |acc, f| acc | f.bit())
    }
}

/// One node as CLUSTER NODES and nodes.conf describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLine {
    /// The node id.
    pub id: NodeId,
    /// Its IP; empty on a fresh node that has not learned its own address yet (`:7001@17001`).
    pub ip: String,
    /// Client port.
    pub port: u16,
    /// Cluster bus port.
    pub cport: u16,
    /// Announced hostname, printed as `,hostname` after the address when present and non-empty.
    pub hostname: Option<String>,
    /// Flags in any order; [`format_line`] prints them in Redis's order, `noflags` when empty.
    pub flags: Vec<NodeFlag>,
    /// The master of a replica.
    pub master: Option<NodeId>,
    /// When a pending ping was sent (unix ms), 0 when none is pending.
    pub ping_sent_ms: u64,
    /// When the last pong arrived (unix ms).
    pub pong_recv_ms: u64,
    /// configEpoch (a replica shows its master's).
    pub config_epoch: u64,
    /// Whether the bus link is up (`myself` is always printed connected by Redis; the caller
    /// sets this to true for it).
    pub connected: bool,
    /// Slots served, printed as maximal ascending runs.
    pub slots: SlotBitmap,
    /// Open slots migrating to another node, `[slot->-id]`. Redis prints these only on the
    /// `myself` line; the formatter prints whatever is here.
    pub migrating: Vec<(u16, NodeId)>,
    /// Open slots importing from another node, `[slot-<-id]`.
    pub importing: Vec<(u16, NodeId)>,
}

impl NodeLine {
    /// Whether `flag` is set.
    pub fn has_flag(&self, flag: NodeFlag) -> bool {
        self.flags.contains(&flag)
    }
}

/// The whole nodes.conf: node lines, then the `vars` line.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodesConf {
    /// The nodes, in file order.
    pub nodes: Vec<NodeLine>,
    /// `currentEpoch`.
    pub current_epoch: u64,
    /// `lastVoteEpoch`.
    pub last_vote_epoch: u64,
}

impl NodesConf {
    /// The node flagged `myself`, if any.
    pub fn myself(&self) -> Option<&NodeLine> {
        self.nodes.iter().find(|n| n.has_flag(NodeFlag::Myself))
    }
}

/// What is wrong with one line.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LineError {
    /// Fewer than the 8 fixed fields.
    #[error("expected at least 8 fields, found {0}")]
    TooFewFields(usize),
    /// The first field is not a 40-character hex id.
    #[error("invalid node id {0:?}")]
    BadNodeId(String),
    /// The address is not `ip:port[@cport][,hostname]`.
    #[error("invalid address {0:?}, expected ip:port@cport[,hostname]")]
    BadAddress(String),
    /// A flag word Redis does not write.
    #[error("unknown flag {0:?}")]
    UnknownFlag(String),
    /// The master field is neither `-` nor a node id.
    #[error("invalid master field {0:?}")]
    BadMaster(String),
    /// A numeric field is not a decimal u64.
    #[error("invalid {field} {value:?}")]
    BadNumber {
        /// Which field.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// The link state is neither `connected` nor `disconnected`.
    #[error("invalid link state {0:?}")]
    BadLinkState(String),
    /// A slot token that is not `N`, `A-B`, `[N->-id]` or `[N-<-id]` with slots below 16384.
    #[error("invalid slot token {0:?}")]
    BadSlot(String),
    /// A `vars` line without key/value pairs.
    #[error("invalid vars line")]
    BadVars,
    /// The same node id appears on two lines.
    #[error("node {0} appears more than once")]
    DuplicateNode(NodeId),
    /// A second line flagged `myself`.
    #[error("more than one node is flagged myself")]
    DuplicateMyself,
}

/// Why nodes.conf could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NodesConfError {
    /// A line is malformed (`line` counts from 1).
    #[error("nodes.conf line {line}: {error}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        error: LineError,
    },
    /// The file lists nodes but none is flagged `myself`.
    #[error("nodes.conf lists nodes but none is flagged myself")]
    NoMyself,
}

//! Where a keyed command runs: Redis's getNodeByQuery, minus the key extraction (the
//! dispatcher computes the slot, rejects CROSSSLOT and counts which keys it holds first).
//!
//! During a legacy migration a slot is open on two nodes. The source (MIGRATING) serves a
//! command only while it still holds every key it names; with none of them it sends the client
//! to the target with `-ASK`, with some of them `-TRYAGAIN` (the keys are split between the two
//! nodes right now). The target (IMPORTING) serves only clients that sent ASKING just before
//! (or RESTORE-ASKING), and a multi-key command there only when it holds all the keys.

use super::state::ClusterState;
use super::NodeId;

/// The routing decision for a command whose keys all hash to one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Serve it here.
    Local,
    /// `-MOVED slot endpoint:port` to the owner.
    Moved { slot: u16, node: NodeId },
    /// `-ASK slot endpoint:port` to the node the slot is migrating to.
    Ask { slot: u16, node: NodeId },
    /// An error reply (CLUSTERDOWN, TRYAGAIN ...).
    Error(&'static str),
}

/// What the dispatcher knows about a command, for [`ClusterState::route`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query {
    /// The command (or the whole transaction) only reads.
    pub readonly_cmd: bool,
    /// The client sent READONLY (replica reads).
    pub readonly_client: bool,
    /// The client sent ASKING just before, or the command is RESTORE-ASKING.
    pub asking: bool,
    /// The command is MIGRATE, which works locally while its slot is open.
    pub is_migrate: bool,
    /// The command names more than one distinct key.
    pub multiple_keys: bool,
    /// Keys of the command this node does not hold (counted only for an open slot).
    pub missing_keys: usize,
    /// Keys of the command this node holds (counted only for an open slot).
    pub existing_keys: usize,
}

pub const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";

impl ClusterState {
    /// Whether the dispatcher must count present/missing keys for `slot`: it is migrating away
    /// from this node (its owner) or being imported here.
    pub fn slot_needs_key_count(&self, slot: u16) -> bool {
        let owner = self.slot_owner_id(slot);
        (owner == Some(self.myself) && self.migrating.contains_key(&slot))
            || (owner.is_some() && self.importing.contains_key(&slot))
    }

    /// Routes a command touching `slot`.
    pub fn route(&self, slot: u16, q: Query) -> Route {
        let Some(owner) = self.slot_owner_id(slot) else {
            return Route::Error("CLUSTERDOWN Hash slot not served");
        };
        let migrating_to = if owner == self.myself {
            self.migrating.get(&slot).copied()
        } else {
            None
        };
        let importing = migrating_to.is_none() && self.importing.contains_key(&slot);
        if !self.state_ok {
            if !self.config.allow_reads_when_down {
                return Route::Error("CLUSTERDOWN The cluster is down");
            }
            if !q.readonly_cmd {
                return Route::Error(
                    "CLUSTERDOWN The cluster is down and only accepts read commands",
                );
            }
        }
        if (migrating_to.is_some() || importing) && q.is_migrate {
            return Route::Local;
        }
        if let Some(to) = migrating_to {
            if q.missing_keys > 0 {
                if q.existing_keys > 0 {
                    return Route::Error(TRYAGAIN);
                }
                // Redis redirects only to another node: a slot "migrating" to myself is
                // served here.
                if to != self.myself {
                    return Route::Ask { slot, node: to };
                }
            }
        }
        if importing && q.asking {
            if q.multiple_keys && q.missing_keys > 0 {
                return Route::Error(TRYAGAIN);
            }
            return Route::Local;
        }
        if owner == self.myself {
            return Route::Local;
        }
        if q.readonly_cmd
            && q.readonly_client
            && !self.is_master()
            && self.me().master == Some(owner)
        {
            return Route::Local;
        }
        Route::Moved { slot, node: owner }
    }
}

//! Where a keyed command runs: Redis's getNodeByQuery, minus the key extraction (the
//! dispatcher computes the slot and rejects CROSSSLOT first).

use super::state::ClusterState;
use super::NodeId;

/// The routing decision for a command whose keys all hash to one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Serve it here.
    Local,
    /// `-MOVED slot endpoint:port` to the owner.
    Moved { slot: u16, node: NodeId },
    /// An error reply (CLUSTERDOWN ...).
    Error(&'static str),
}

impl ClusterState {
    /// Routes a command touching `slot`. `readonly_cmd`: the command only reads;
    /// `readonly_client`: the client sent READONLY (replica reads).
    pub fn route(
        &self,
        slot: u16,
        readonly_cmd: bool,
        readonly_client: bool,
        _asking: bool,
    ) -> Route {
        let Some(owner) = self.slot_owner_id(slot) else {
            return Route::Error("CLUSTERDOWN Hash slot not served");
        };
        if !self.state_ok {
            if !self.config.allow_reads_when_down {
                return Route::Error("CLUSTERDOWN The cluster is down");
            }
            if !readonly_cmd {
                return Route::Error(
                    "CLUSTERDOWN The cluster is down and only accepts read commands",
                );
            }
        }
        if owner == self.myself {
            return Route::Local;
        }
        if readonly_cmd && readonly_client && !self.is_master() && self.me().master == Some(owner) {
            return Route::Local;
        }
        Route::Moved { slot, node: owner }
    }
}

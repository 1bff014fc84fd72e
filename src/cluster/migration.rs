//! CLUSTER SETSLOT: the open-slot states of a legacy (key by key) slot migration.
//!
//! `redis-cli --cluster reshard` moves a slot by opening it on both sides (IMPORTING on the
//! target, MIGRATING on the source), moving its keys with MIGRATE, then closing it with
//! `SETSLOT slot NODE target` on the target, the source and every other master. The rules here
//! are Redis 7.0's (`clusterCommand`, "setslot"): who may open what, when a slot may be handed
//! away, and the configEpoch bump without consensus when the target closes an import, which is
//! what makes the new owner win over the source in everybody's view.
//!
//! Sans-IO like the rest of the state: the caller passes the number of keys the node holds in
//! the slot (the keyspace lives outside the cluster state) and the clock.

use super::event::ClusterEvent;
use super::state::{ClusterState, CmdError};
use super::NodeId;

/// The action of `CLUSTER SETSLOT <slot> <action> [node-id]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetSlotAction {
    /// Open the slot on its owner: keys missing here are asked of the node.
    Migrating,
    /// Open the slot on the future owner: ASKING clients are served here.
    Importing,
    /// Close the slot's open state on this node.
    Stable,
    /// Bind the slot to a node (closing the migration).
    Node,
}

/// What the caller must do after a successful SETSLOT beyond saving the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub struct SetSlotEffect {
    /// This master gave its last slot away and became a replica of the new owner.
    pub became_replica: bool,
}

impl ClusterState {
    /// CLUSTER SETSLOT. `node_arg` is the raw node-id argument (Redis echoes it in errors);
    /// `keys_in_slot` is how many keys this node holds in `slot`.
    pub fn setslot(
        &mut self,
        now_ms: u64,
        unix_ms: u64,
        slot: u16,
        action: SetSlotAction,
        node_arg: Option<&[u8]>,
        keys_in_slot: usize,
    ) -> Result<SetSlotEffect, CmdError> {
        if !self.is_master() {
            return Err("ERR Please use SETSLOT only with masters.".into());
        }
        let arg_text = || String::from_utf8_lossy(node_arg.unwrap_or_default()).into_owned();
        let known = node_arg.and_then(NodeId::parse).filter(|id| self.knows(id));
        let mut effect = SetSlotEffect::default();
        match action {
            SetSlotAction::Migrating => {
                if self.slot_owner_id(slot) != Some(self.myself) {
                    return Err(format!("ERR I'm not the owner of hash slot {}", slot));
                }
                let Some(to) = known else {
                    return Err(format!("ERR I don't know about node {}", arg_text()));
                };
                self.require_master(&to)?;
                self.migrating.insert(slot, to);
            }
            SetSlotAction::Importing => {
                if self.slot_owner_id(slot) == Some(self.myself) {
                    return Err(format!("ERR I'm already the owner of hash slot {}", slot));
                }
                let Some(from) = known else {
                    return Err(format!("ERR I don't know about node {}", arg_text()));
                };
                self.require_master(&from)?;
                self.importing.insert(slot, from);
            }
            SetSlotAction::Stable => {
                self.importing.remove(&slot);
                self.migrating.remove(&slot);
            }
            SetSlotAction::Node => {
                let Some(to) = known else {
                    return Err(format!("ERR Unknown node {}", arg_text()));
                };
                self.require_master(&to)?;
                let myself = self.myself;
                let was_mine = self.slot_owner_id(slot) == Some(myself);
                if was_mine && to != myself && keys_in_slot != 0 {
                    return Err(format!(
                        "ERR Can't assign hashslot {} to a different node while I still hold keys for this hash slot.",
                        slot
                    ));
                }
                // A migrating slot without keys left is closed by binding it elsewhere.
                if keys_in_slot == 0 {
                    self.migrating.remove(&slot);
                }
                let changed = self.slot_owner_id(slot) != Some(to);
                self.del_slot(slot);
                self.set_slot(slot, to);
                if changed {
                    self.event(ClusterEvent::SlotsChanged {
                        owner: to,
                        start: slot,
                        end: slot,
                    });
                }
                if was_mine
                    && to != myself
                    && self.me().numslots() == 0
                    && self.config.allow_replica_migration
                {
                    self.set_my_master(now_ms, unix_ms, to);
                    effect.became_replica = true;
                }
                if to == myself && self.importing.remove(&slot).is_some() {
                    // The import is done: a fresh configEpoch makes this claim beat the source's
                    // (collisions, e.g. with a concurrent failover, are resolved as usual).
                    self.bump_epoch_without_consensus("SETSLOT NODE after import");
                    self.broadcast_pong_all(now_ms, unix_ms);
                }
            }
        }
        self.mark_dirty();
        self.update_state(now_ms);
        Ok(effect)
    }

    fn require_master(&self, id: &NodeId) -> Result<(), CmdError> {
        match self.nodes.get(id) {
            Some(n) if n.is_replica() => Err("ERR Target node is not a master".into()),
            _ => Ok(()),
        }
    }
}

//! Slot ownership changes of an atomic slot migration (see `crate::atomic`): the target takes
//! a whole set of slots at once with a configEpoch bump, as `SETSLOT NODE` does when it closes
//! an import, so its claim beats the source's everywhere; the source binds them to the target
//! once it knows.

use super::event::ClusterEvent;
use super::state::ClusterState;
use super::NodeId;

impl ClusterState {
    /// Target side: the slots of `ranges` are ours now.
    pub fn take_slots_atomically(&mut self, now_ms: u64, unix_ms: u64, ranges: &[(u16, u16)]) {
        let me = self.myself;
        for &(start, end) in ranges {
            for slot in start..=end {
                self.del_slot(slot);
                self.set_slot(slot, me);
                self.importing.remove(&slot);
            }
            self.event(ClusterEvent::SlotsChanged {
                owner: me,
                start,
                end,
            });
        }
        self.bump_epoch_without_consensus("atomic slot migration");
        self.broadcast_pong_all(now_ms, unix_ms);
        self.mark_dirty();
        self.update_state(now_ms);
    }

    /// Source side: the target took the slots of `ranges`.
    pub fn give_slots_atomically(
        &mut self,
        now_ms: u64,
        unix_ms: u64,
        ranges: &[(u16, u16)],
        to: NodeId,
    ) {
        let me = self.myself;
        for &(start, end) in ranges {
            let mut changed = false;
            for slot in start..=end {
                if self.slot_owner_id(slot) == Some(me) {
                    self.del_slot(slot);
                    self.set_slot(slot, to);
                    self.migrating.remove(&slot);
                    changed = true;
                }
            }
            if changed {
                self.event(ClusterEvent::SlotsChanged {
                    owner: to,
                    start,
                    end,
                });
            }
        }
        self.broadcast_pong_all(now_ms, unix_ms);
        self.mark_dirty();
        self.update_state(now_ms);
    }
}

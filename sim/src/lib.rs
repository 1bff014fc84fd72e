//! keyslot-sim: the keyslot node on madsim's simulated network and clock.

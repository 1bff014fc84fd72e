//! Redis Cluster: the sans-IO cluster state machine and its wire and file formats.
//!
//! Deterministic and free of I/O: time arrives as an argument, randomness from an RNG the state
//! owns, and every effect leaves as an output the caller performs (bus.rs in the real node, the
//! same code in the simulator).

pub mod bitmap;
pub mod event;
pub mod handover;
pub mod migration;
#[cfg(test)]
mod migration_tests;
pub mod node_id;
pub mod nodes_conf;
pub mod planted;
pub mod routing;
pub mod state;
#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod testnet;
pub mod wire;

pub use bitmap::SlotBitmap;
pub use node_id::NodeId;

//! keyslot: a Redis Cluster node whose complete logic also runs, unchanged, inside a
//! deterministic simulator (madsim). See `shared/DESIGN.md` for the map.
//!
//! The real binary (`keyslot-server`) and the simulator (`sim/`) share everything here; only the
//! runtime differs (`--cfg madsim` swaps tokio for madsim's simulated net, time and tasks).

pub mod acl;
pub mod atomic;
pub mod bus;
pub mod clock;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod connection;
pub mod db;
pub mod evict;
pub mod faultpoint;
pub mod fuzzing;
pub mod glob;
pub mod limits;
pub mod log;
pub mod marks;
pub mod migrate;
pub mod node;
pub mod nodelock;
pub mod notify;
pub mod persist;
pub mod pubsub;
pub mod rdb;
pub mod replication;
pub mod resp;
pub mod scripting;
pub mod server;
pub mod slot;
pub mod storage;
pub mod tls;

//! RESP, the Redis protocol: replies the server writes ([`Reply`]), requests it reads
//! ([`request`]), and a general frame parser for the client side ([`frame`]) used by replication,
//! the simulator's clients and tests.

pub mod frame;
pub mod reply;
pub mod request;

pub use reply::{Protocol, Reply};

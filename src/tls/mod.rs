//! TLS for the client port, the cluster bus, replication and MIGRATE, configured with
//! redis-server's `tls-*` options.
//!
//! [`config`] turns the options into rustls server and client configurations once at startup;
//! [`stream`] wraps a connected socket (real or simulated: tokio-rustls works over any
//! `AsyncRead + AsyncWrite`) so the client listener, the bus and the replication link read and
//! write the same way with or without TLS.

pub mod config;
pub mod stream;

pub use config::{TlsContext, TlsError};
pub use stream::MaybeTls;

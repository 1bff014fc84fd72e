//! A connected socket with or without TLS, and the two handshakes.
//!
//! [`MaybeTls`] is what the client connection, the bus links and the replication link hold:
//! reading and writing are the same calls either way. The handshakes run over any stream, so
//! under madsim they run over the simulated `TcpStream` with the same code.

use super::TlsContext;
use rustls_pki_types::ServerName;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long a TLS handshake may take, either side, before the connection is dropped: a peer
/// that connects and sends nothing must not hold a task forever.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// A stream that is either plain or TLS (client or server side).
pub enum MaybeTls<S> {
    Plain(S),
    Tls(Box<tokio_rustls::TlsStream<S>>),
}

impl<S> std::fmt::Debug for MaybeTls<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_tls() {
            "MaybeTls::Tls"
        } else {
            "MaybeTls::Plain"
        })
    }
}

impl<S> MaybeTls<S> {
    /// Whether the stream is encrypted (CLUSTER SLOTS/NODES and redirects then give TLS ports
    /// in a TLS cluster).
    pub fn is_tls(&self) -> bool {
        matches!(self, MaybeTls::Tls(_))
    }

    /// The underlying socket (addresses, socket options).
    pub fn get_ref(&self) -> &S {
        match self {
            MaybeTls::Plain(s) => s,
            MaybeTls::Tls(t) => t.get_ref().0,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(t) => Pin::new(t.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Runs the server side of a handshake on an accepted socket, within
/// [`HANDSHAKE_TIMEOUT_MS`]. A plaintext client (or a bad certificate) ends here with an error
/// the caller logs; nothing else about the node is affected.
pub async fn accept<S>(ctx: &TlsContext, stream: S) -> io::Result<MaybeTls<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let handshake = ctx.acceptor.accept(stream);
    match tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), handshake).await {
        Ok(Ok(tls)) => {
            crate::mark!("TLS handshake done: accepted");
            Ok(MaybeTls::Tls(Box::new(tokio_rustls::TlsStream::Server(
                tls,
            ))))
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

/// Runs the client side of a handshake to `host` (an IP address or a name; only the chain is
/// verified, see [`super::config`]), within [`HANDSHAKE_TIMEOUT_MS`].
pub async fn connect<S>(ctx: &TlsContext, host: &str, stream: S) -> io::Result<MaybeTls<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = server_name(host)?;
    let handshake = ctx.connector.connect(name, stream);
    match tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), handshake).await {
        Ok(Ok(tls)) => {
            crate::mark!("TLS handshake done: connected");
            Ok(MaybeTls::Tls(Box::new(tokio_rustls::TlsStream::Client(
                tls,
            ))))
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

/// Wraps `stream` in TLS when `tls` is given, else leaves it plain.
pub async fn maybe_connect<S>(
    tls: Option<&TlsContext>,
    host: &str,
    stream: S,
) -> io::Result<MaybeTls<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tls {
        Some(ctx) => connect(ctx, host, stream).await,
        None => Ok(MaybeTls::Plain(stream)),
    }
}

/// The name sent as SNI and passed to the verifier: the IP address when `host` is one.
fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(bare.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

//! A minimal RESP client over the runtime's TCP (simulated under madsim): one request, one reply.
//! Used by the simulator's admin (cluster formation the way redis-cli does it) and its clients.

use bytes::BytesMut;
use keyslot::resp::frame::{Frame, FrameReader};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a call failed (the reply itself may be an error frame; that is not a CallError).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("connect to {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("connection closed")]
    Closed,
    #[error("bad reply: {0}")]
    Protocol(String),
    #[error("timed out")]
    Timeout,
}

/// One connection to a node.
pub struct Conn {
    pub addr: SocketAddr,
    stream: TcpStream,
    reader: FrameReader,
    buf: BytesMut,
}

/// Encodes a command as a RESP multibulk.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn, CallError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| CallError::Connect(addr, e))?;
        Ok(Conn {
            addr,
            stream,
            reader: FrameReader::new(),
            buf: BytesMut::with_capacity(4096),
        })
    }

    /// Sends one command and reads its reply.
    pub async fn call(&mut self, args: &[&[u8]]) -> Result<Frame, CallError> {
        let bytes = encode_command(args);
        self.stream.write_all(&bytes).await?;
        // madsim's TCP only sends on flush.
        self.stream.flush().await?;
        self.read_frame().await
    }

    /// Sends a command given as strings.
    pub async fn call_str(&mut self, args: &[&str]) -> Result<Frame, CallError> {
        let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.call(&v).await
    }

    async fn read_frame(&mut self) -> Result<Frame, CallError> {
        loop {
            match self.reader.parse(&mut self.buf) {
                Ok(Some(f)) => return Ok(f),
                Ok(None) => {}
                Err(e) => return Err(CallError::Protocol(e.to_string())),
            }
            self.buf.reserve(4096);
            let n = self.stream.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Err(CallError::Closed);
            }
        }
    }
}

/// The text of a simple, error, bulk or verbatim frame.
pub fn frame_text(f: &Frame) -> String {
    match f {
        Frame::Simple(b) | Frame::Error(b) | Frame::Bulk(b) | Frame::BulkError(b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        Frame::Verbatim { data, .. } => String::from_utf8_lossy(data).into_owned(),
        Frame::Integer(n) => n.to_string(),
        other => format!("{:?}", other),
    }
}

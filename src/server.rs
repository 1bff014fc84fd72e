//! The node's listeners and background tasks.
//!
//! [`run`] binds the client port (and, in cluster mode, the cluster bus), spawns one task per
//! connection and the 100 ms cron, and returns only on a fatal error. The same function runs in
//! the real binary and on a simulated host under madsim.

use crate::clock::Clock;
use crate::config::Config;
use crate::connection;
use crate::log::{Level, Logger};
use crate::node::Node;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// The interval of the node's cron (Redis's serverCron at hz 10, clusterCron every 100 ms).
pub const CRON_INTERVAL_MS: u64 = 100;

/// What can stop a node from serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("Could not create server TCP listening socket {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("Failed listening on port {0} (tcp), aborting.")]
    NoListener(u16),
    #[error("{0}")]
    Startup(String),
}

/// A callback run with the node once it exists.
pub type OnStart = Box<dyn FnOnce(Arc<Mutex<Node>>) + Send>;

/// What the runtime hands a node: its clock, logger and RNG seed.
pub struct NodeEnv {
    pub clock: Arc<Clock>,
    pub logger: Arc<Logger>,
    pub seed: u64,
    /// Where nodes.conf (and later data files) live.
    pub storage: Arc<dyn crate::storage::Storage>,
    /// Called with the node once it exists (the simulator keeps a handle to inspect it).
    pub on_start: Option<OnStart>,
}

impl NodeEnv {
    /// The environment of the real binary: OS-seeded RNG, a fresh clock.
    pub fn real(logger: Logger) -> NodeEnv {
        NodeEnv {
            clock: Arc::new(Clock::new()),
            logger: Arc::new(logger),
            seed: crate::clock::rng_seed(),
            storage: Arc::new(crate::storage::DirStorage::new(".")),
            on_start: None,
        }
    }
}

/// The addresses the `bind` option names, on `port`. `*` is every IPv4 address, `::*` every IPv6
/// one; a leading `-` marks an address whose bind failure is not fatal (Redis's rule).
pub fn bind_addrs(bind: &str, port: u16) -> Vec<(SocketAddr, bool)> {
    bind.split_whitespace()
        .filter_map(|word| {
            let (optional, word) = match word.strip_prefix('-') {
                Some(w) => (true, w),
                None => (false, word),
            };
            let ip = match word {
                "*" => "0.0.0.0",
                "::*" => "::",
                other => other,
            };
            let ip: std::net::IpAddr = ip.parse().ok()?;
            Some((SocketAddr::new(ip, port), optional))
        })
        .collect()
}

async fn bind_listeners(bind: &str, port: u16) -> Result<Vec<TcpListener>, ServerError> {
    let mut listeners = Vec::new();
    for (addr, optional) in bind_addrs(bind, port) {
        match TcpListener::bind(addr).await {
            Ok(l) => listeners.push(l),
            Err(e) if optional => {
                let _ = e;
            }
            Err(source) => {
                return Err(ServerError::Bind {
                    addr: addr.to_string(),
                    source,
                })
            }
        }
    }
    if listeners.is_empty() {
        return Err(ServerError::NoListener(port));
    }
    Ok(listeners)
}

/// Starts a node with `config` and serves until a fatal error.
pub async fn run(config: Config, env: NodeEnv) -> Result<(), ServerError> {
    let port = config.port;
    let tls_port = config.int("tls-port") as u16;
    let bind = config.get("bind").unwrap_or("*").to_string();
    let cluster = config.cluster_enabled;
    let tls = crate::tls::TlsContext::from_config(&config)
        .map_err(|e| ServerError::Startup(format!("Failed to configure TLS: {}", e)))?;
    let tls_cluster = tls.as_ref().is_some_and(|t| t.cluster);
    if tls_cluster && tls_port == 0 {
        return Err(ServerError::Startup(
            "tls-cluster yes needs a tls-port: the cluster announces it".into(),
        ));
    }
    // With tls-cluster the bus port derives from the TLS port, as Redis's clusterInit does.
    let cport = match config.int("cluster-port") {
        0 if tls_cluster => tls_port.wrapping_add(10000),
        0 => port.wrapping_add(10000),
        p => p as u16,
    };
    let mut node = Node::new(
        config,
        env.clock.clone(),
        env.logger.clone(),
        env.seed,
        env.storage.clone(),
    );
    node.load_acl_at_startup().map_err(|e| {
        ServerError::Startup(format!("Aborting Redis startup because of ACL errors: {e}"))
    })?;
    // INFO's tcp_port and the like: the plain port, else the TLS one (Redis's rule).
    if port == 0 && tls_port != 0 {
        node.rest.port = tls_port;
    }
    node.rest.tls = tls.clone();
    if cluster {
        node.start_cluster().map_err(ServerError::Startup)?;
    }
    let shared = connection::Shared {
        busy: node.rest.scripting.busy(),
        clock: node.rest.clock.clone(),
    };
    let node = Arc::new(Mutex::new(node));
    // `port 0` with a TLS port: TLS only.
    let listeners = if port == 0 && tls_port != 0 {
        Vec::new()
    } else {
        bind_listeners(&bind, port).await?
    };
    let tls_listeners = match (&tls, tls_port) {
        (Some(_), p) if p != 0 => bind_listeners(&bind, p).await.map_err(|e| match e {
            ServerError::NoListener(p) => {
                ServerError::Startup(format!("Failed listening on port {} (TLS), aborting.", p))
            }
            other => other,
        })?,
        _ => Vec::new(),
    };
    let bus_listener = if cluster {
        let mut l = bind_listeners(&bind, cport).await?;
        Some(l.remove(0))
    } else {
        None
    };
    if let Some(f) = env.on_start {
        f(node.clone());
    }
    let log = |level, msg: &str| env.logger.log(level, env.clock.unix_ms(), msg);
    log(
        Level::Notice,
        &format!(
            "Running mode={}, port={}.",
            if cluster { "cluster" } else { "standalone" },
            if port != 0 { port } else { tls_port }
        ),
    );
    log(Level::Notice, "Server initialized");
    let shutdown = match crate::nodelock::lock(&node).await {
        Ok(n) => n.rest.persist.shutdown.clone(),
        Err(_) => return Err(ServerError::Startup("node lock poisoned".into())),
    };
    // Clients may connect while the dataset loads: they get -LOADING (see crate::persist).
    let mut accepts = Vec::new();
    for listener in listeners {
        accepts.push(tokio::spawn(accept_loop(
            node.clone(),
            shared.clone(),
            listener,
            None,
        )));
    }
    if let Some(ctx) = &tls {
        for listener in tls_listeners {
            let ctx = Some(ctx.clone());
            accepts.push(tokio::spawn(accept_loop(
                node.clone(),
                shared.clone(),
                listener,
                ctx,
            )));
        }
    }
    if let Err(e) = crate::persist::load_at_startup(&node).await {
        for a in &accepts {
            a.abort();
        }
        return Err(ServerError::Startup(e));
    }
    log(Level::Notice, "Ready to accept connections tcp");

    tokio::spawn(cron(node.clone()));
    if let Some(l) = bus_listener {
        tokio::spawn(crate::bus::run(node.clone(), l));
    }
    let serving = async {
        for a in accepts {
            let _ = a.await;
        }
    };
    // `biased`: deterministic branch order in the simulator (see bus.rs).
    tokio::select! {
        biased;
        _ = serving => {}
        // SHUTDOWN: the data is saved; stop serving.
        _ = shutdown.notified() => {}
    }
    Ok(())
}

/// Accepts clients on `listener`; with `tls`, each runs the TLS handshake first (in its own
/// task, so a slow or plaintext peer never holds up the next accept).
async fn accept_loop(
    node: Arc<Mutex<Node>>,
    shared: connection::Shared,
    listener: TcpListener,
    tls: Option<Arc<crate::tls::TlsContext>>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                // Out of file descriptors and the like: back off briefly, keep serving.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        spawn_connection(node.clone(), shared.clone(), stream, peer, tls.clone());
    }
}

fn spawn_connection(
    node: Arc<Mutex<Node>>,
    shared: connection::Shared,
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<crate::tls::TlsContext>>,
) {
    let _ = stream.set_nodelay(true);
    let local = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tokio::spawn(async move {
        let stream = match tls {
            None => crate::tls::MaybeTls::Plain(stream),
            Some(ctx) => match crate::tls::stream::accept(&ctx, stream).await {
                Ok(s) => s,
                Err(e) => {
                    // Redis 7.0 logs this line (the TLS library's reason, no address) at warning
                    // level and goes on serving everyone else.
                    if let Ok(n) = crate::nodelock::lock(&node).await {
                        n.rest.logger.log(
                            Level::Warning,
                            n.rest.clock.unix_ms(),
                            &format!("Error accepting a client connection: {}", e),
                        );
                    }
                    return;
                }
            },
        };
        let is_tls = stream.is_tls();
        connection::serve(node, shared, stream, peer.to_string(), local, is_tls).await;
    });
}

async fn cron(node: Arc<Mutex<Node>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(CRON_INTERVAL_MS));
    loop {
        tick.tick().await;
        match crate::nodelock::lock(&node).await {
            Ok(mut n) => n.cron(),
            Err(_) => return,
        }
    }
}

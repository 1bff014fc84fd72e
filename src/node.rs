//! One node's whole state and the command dispatcher.
//!
//! [`Node`] is shared by the node's tasks behind one mutex (`Arc<Mutex<Node>>`): a connection
//! locks it once per batch of pipelined commands, the cluster bus once per message or tick. The
//! node is single-threaded in spirit, as Redis is; the lock is uncontended on the current-thread
//! runtime the server uses and in the simulator.

use crate::clock::Clock;
use crate::cmd::{self, flags, CmdError, Ctx};
use crate::config::Config;
use crate::db::Db;
use crate::log::{Level, Logger};
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A connection's state, owned by its task and handed to commands through [`Ctx`].
#[derive(Debug, Clone)]
pub struct Client {
    /// CLIENT ID: unique per node, increasing.
    pub id: u64,
    /// Connected over TLS. In a tls-cluster, plaintext clients are told the plaintext ports
    /// (CLUSTER SLOTS/NODES/REPLICAS, -MOVED/-ASK), as Redis does.
    pub tls: bool,
    /// Peer address `ip:port` (CLIENT LIST addr=).
    pub addr: String,
    /// Local address `ip:port` (CLIENT LIST laddr=).
    pub laddr: String,
    /// CLIENT SETNAME / HELLO SETNAME.
    pub name: Option<Bytes>,
    /// The protocol chosen by HELLO.
    pub proto: Protocol,
    /// True once AUTH succeeded or when no password is required.
    pub authenticated: bool,
    /// The ACL user the connection runs as (`default` until AUTH names another).
    pub user: Bytes,
    /// Node monotonic ms when the connection was accepted.
    pub created_ms: u64,
    /// Node monotonic ms of the last command.
    pub last_interaction_ms: u64,
    /// The last command's name (CLIENT LIST cmd=).
    pub last_cmd: &'static str,
    /// READONLY: reads may be served by this replica (cluster).
    pub readonly: bool,
    /// ASKING: the next command may touch an importing slot (cluster).
    pub asking: bool,
    /// A MIGRATE the connection runs without the node lock before its next command.
    pub migrate: Option<Box<crate::migrate::MigrateJob>>,
    /// Set by QUIT (and protocol errors): close after writing the pending replies.
    pub close_after_reply: bool,
    /// REPLCONF listening-port of a replica connection.
    pub replconf_listening_port: u16,
    /// Set by PSYNC: this connection now feeds a replica.
    pub replica_feed: bool,
    /// A WAIT this client is blocked in.
    pub wait: Option<WaitRequest>,
    /// Replication offset right after this client's last write (what WAIT waits for).
    pub woff: u64,
    /// Commands queued since MULTI (None outside a transaction).
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command was rejected while queueing: EXEC answers EXECABORT.
    pub multi_error: bool,
    /// Set while EXEC runs the queued commands (blocking commands do not block then).
    pub in_exec: bool,
    /// Pub/sub subscriptions (channels + patterns + shard channels); > 0 is subscribe mode.
    pub subs: usize,
    /// The node holds a push channel for this client (see `crate::pubsub`).
    pub push_channel: bool,
    /// The client waits in a blocking command (BLPOP...); its reply comes on the push channel.
    pub blocked: bool,
    /// What to replicate instead of the command just run (BLPOP served at once -> LPOP).
    pub rewrite: Option<Vec<Bytes>>,
    /// Commands to replicate instead of the command just run, when it is not one command
    /// (XREADGROUP -> one XCLAIM per entry); an empty list replicates nothing.
    pub propagate: Option<Vec<Vec<Bytes>>>,
    /// This connection is a source's atomic slot migration link (`CLUSTER SYNCSLOTS START`):
    /// its data commands are not answered (see `crate::atomic::import`).
    pub slot_link: bool,
    /// CLIENT REPLY: whether command replies are sent (pub/sub pushes always are).
    pub reply_mode: ReplyMode,
}

/// CLIENT REPLY's state (Redis's CLIENT_REPLY_OFF / _SKIP_NEXT / _SKIP flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    #[default]
    On,
    /// No reply is sent until CLIENT REPLY ON.
    Off,
    /// Set by CLIENT REPLY SKIP (which answers nothing): the next command's reply is dropped.
    SkipNext,
    /// The reply of the command running now is dropped.
    Skip,
}

impl ReplyMode {
    /// The mode for the next command once one has run (Redis's resetClient): a skip lasts
    /// exactly one command.
    #[must_use]
    pub fn after_command(self) -> ReplyMode {
        match self {
            ReplyMode::SkipNext => ReplyMode::Skip,
            ReplyMode::Skip => ReplyMode::On,
            other => other,
        }
    }

    /// Whether a command's reply is written.
    pub fn sends(self) -> bool {
        matches!(self, ReplyMode::On | ReplyMode::SkipNext)
    }
}

/// A CLIENT PAUSE in force (until_ms 0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientPause {
    /// Node monotonic ms when the pause ends.
    pub until_ms: u64,
    /// ALL (every command waits) rather than WRITE.
    pub all: bool,
}

/// A client blocked in WAIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitRequest {
    /// Replicas wanted.
    pub replicas: usize,
    /// The offset they must have acknowledged.
    pub offset: u64,
    /// Node monotonic ms when WAIT answers anyway (u64::MAX: never).
    pub deadline_ms: u64,
}

impl Client {
    /// A new client; `authenticated` is true when the node needs no password.
    pub fn new(id: u64, addr: String, laddr: String, now_ms: u64, authenticated: bool) -> Client {
        Client {
            id,
            addr,
            laddr,
            name: None,
            proto: Protocol::Resp2,
            authenticated,
            user: Bytes::from_static(crate::acl::DEFAULT_USER),
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            last_cmd: "NULL",
            readonly: false,
            asking: false,
            migrate: None,
            close_after_reply: false,
            replconf_listening_port: 0,
            replica_feed: false,
            wait: None,
            woff: 0,
            multi: None,
            multi_error: false,
            in_exec: false,
            subs: 0,
            push_channel: false,
            blocked: false,
            rewrite: None,
            propagate: None,
            slot_link: false,
            tls: false,
            reply_mode: ReplyMode::On,
        }
    }
}

/// Counters INFO stats prints.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    /// Clients closed for their output buffer (INFO, as Redis 7.4 counts them).
    pub client_output_buffer_limit_disconnections: u64,
    /// Clients closed for their query buffer (INFO, as Redis 7.4 counts them).
    pub client_query_buffer_limit_disconnections: u64,
    pub expired_keys: u64,
    /// Keys deleted by maxmemory eviction (INFO `evicted_keys`).
    pub evicted_keys: u64,
    /// The highest `used_memory` seen (by the cron and INFO).
    pub used_memory_peak: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub total_error_replies: u64,
    /// The next error reply is not counted (a script's error that was counted when the
    /// command it called failed; see `scripting::run`).
    pub skip_error_count: bool,
    /// Protocol errors that closed a connection.
    pub protocol_errors: u64,
    /// Per command: calls and failed calls (INFO commandstats).
    pub commands: BTreeMap<&'static str, (u64, u64)>,
    /// Per command: calls refused before running (INFO commandstats' rejected_calls: an
    /// arity, ACL, OOM, MISCONF, NOREPLICAS... refusal, or a script's call refused by the
    /// script checks). A rejected call is not a call.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Per error code (INFO errorstats: errorstat_ERR, errorstat_MOVED...).
    pub errors: BTreeMap<String, u64>,
}

/// Everything of a node except its keyspace (split so handlers can borrow both at once).
pub struct NodeRest {
    pub config: Config,
    pub stats: Stats,
    /// Connected clients by id (CLIENT LIST); each entry is refreshed by its connection task.
    pub clients: BTreeMap<u64, Client>,
    /// The node's clock (monotonic and wall).
    pub clock: Arc<Clock>,
    /// The node's one RNG, seeded by the runtime: every random choice replays from the seed.
    pub rng: ChaCha8Rng,
    pub logger: Arc<Logger>,
    /// INFO run_id: 40 random hex characters.
    pub run_id: String,
    /// Next CLIENT ID.
    next_client_id: u64,
    /// Wall ms at start (INFO uptime).
    pub started_unix_ms: u64,
    /// The address the client listener is bound to (INFO tcp_port etc.).
    pub port: u16,
    /// Clients that CLIENT KILL marked; each connection task checks for its id after a batch.
    pub killed_clients: std::collections::BTreeSet<u64>,
    /// ACL users and the ACL LOG.
    pub acl: crate::acl::Acl,
    /// The `requirepass` last applied to the default user (CONFIG SET applies a change).
    pub acl_requirepass: Option<String>,
    /// False after DEBUG SET-ACTIVE-EXPIRE 0: cron leaves expired keys to lazy expiry (tests use
    /// it to observe keys that are logically expired but still stored).
    pub active_expire_enabled: bool,
    /// The cluster state machine, in cluster mode.
    pub cluster: Option<crate::cluster::state::ClusterState>,
    /// Where the node's files live (nodes.conf; later RDB and AOF).
    pub storage: Arc<dyn crate::storage::Storage>,
    /// Wakes the cluster bus driver when a command queued cluster outputs (MEET, FAILOVER...).
    pub cluster_wakeup: Arc<tokio::sync::Notify>,
    /// The TLS configurations (crate::tls), when a TLS port, tls-replication or tls-cluster is
    /// configured; set once at startup by `server::run`.
    pub tls: Option<Arc<crate::tls::TlsContext>>,
    /// Monotonic ms until which write commands wait (CLUSTER FAILOVER pauses the master's
    /// writes until its replica caught up); 0 when not paused.
    pub write_pause_until_ms: u64,
    /// CLIENT PAUSE: until when, and whether every command waits or only writes.
    pub client_pause: ClientPause,
    /// Cluster events with their monotonic ms, kept only when a recorder asked for them (the
    /// simulator's story); None in the real node, which logs them instead.
    pub cluster_events: Option<Vec<(u64, crate::cluster::event::ClusterEvent)>>,
    /// The cluster cron's period when the simulator starves this process of CPU (its
    /// `slow_tick` fault); 0 runs it every `server::CRON_INTERVAL_MS`, as Redis does.
    pub cluster_tick_every_ms: u64,
    /// Which fault points are on (the simulator's; all off in the real node).
    pub fault_points: crate::faultpoint::FaultPoints,
    /// Replication: ids, offsets, backlog, attached replicas, the link to our master.
    pub repl: crate::replication::ReplState,
    /// Node monotonic ms of the last PING sent down the replication stream.
    pub repl_last_ping_ms: u64,
    /// RDB and AOF state: loading, background saves, save points, the AOF's files.
    pub persist: crate::persist::Persist,
    /// Pub/sub subscriptions and the clients' push channels.
    pub hub: crate::pubsub::Hub,
    /// Clients blocked in BLPOP & co.
    pub blocking: crate::cmd::blocking::Blocking,
    /// WATCHed keys.
    pub watches: crate::cmd::tx::Watches,
    /// The eviction pool and sample buffer (see `crate::evict`).
    pub evictor: crate::evict::Evictor,
    /// MIGRATE: cached target connections and the keys in flight.
    pub migrate: crate::migrate::MigrateState,
    /// The Lua engine and the script cache (EVAL, SCRIPT).
    pub scripting: crate::scripting::lazy::LazyScripting,
    /// Atomic slot migrations (CLUSTER MIGRATESLOTS), both sides.
    pub atomic: crate::atomic::AtomicState,
}

impl NodeRest {
    /// Logs a cluster event and, when a recorder asked for events (the simulator's story),
    /// keeps it with the runtime's time.
    pub fn record_cluster_event(&mut self, e: crate::cluster::event::ClusterEvent) {
        self.logger.log(
            crate::log::Level::Notice,
            self.clock.unix_ms(),
            &e.to_string(),
        );
        let at = self.clock.runtime_elapsed_ms();
        if let Some(events) = self.cluster_events.as_mut() {
            events.push((at, e));
        }
    }
}

/// A node's keyspace and the rest, borrowed separately: what command handlers hold, so code that
/// needs both (replication, snapshots) runs from a handler as well as from the node.
pub struct NodeView<'a> {
    pub db: &'a mut Db,
    pub rest: &'a mut NodeRest,
}

impl NodeView<'_> {
    /// Writes a log line through the node's logger.
    pub fn log(&self, level: Level, msg: &str) {
        self.rest.logger.log(level, self.rest.clock.unix_ms(), msg);
    }

    /// Deletes every key of `slots` and, on a master, replicates each deletion as a DEL (so
    /// its replicas and its AOF drop the key too; Redis 7.0's delKeysInSlot does not, and a
    /// replica then keeps keys its master no longer has). Watchers of the keys are touched.
    /// Returns how many keys were deleted.
    pub fn delete_keys_in_slots(&mut self, slots: impl Iterator<Item = u16>) -> usize {
        let replicate = !self.rest.repl.is_replica();
        let mut deleted = 0usize;
        for slot in slots {
            for k in self.db.keys_in_slot(slot, usize::MAX) {
                if self.db.remove(&k).is_some() {
                    deleted += 1;
                    if replicate {
                        self.rest.repl.propagate(&[b"DEL", &k]);
                    }
                    if self.rest.watches.is_watched(&k) {
                        self.rest.watches.touch(&k, false);
                    }
                }
            }
        }
        deleted
    }
}

/// A node: its keyspace and everything else.
pub struct Node {
    pub db: Db,
    pub rest: NodeRest,
}

impl Node {
    /// A node with `config`, its RNG seeded by `seed`.
    pub fn new(
        config: Config,
        clock: Arc<Clock>,
        logger: Arc<Logger>,
        seed: u64,
        storage: Arc<dyn crate::storage::Storage>,
    ) -> Node {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut db = Db::new(rng.next_u64());
        db.set_access(config.access());
        db.set_now(clock.unix_ms());
        db.set_log_new(crate::notify::logs_new(config.notify_flags));
        let run_id = crate::cluster::NodeId::random(&mut rng).to_string();
        let backlog_bytes = config.int("repl-backlog-size").max(0) as usize;
        let repl = crate::replication::ReplState::new(&mut rng, backlog_bytes);
        let started_unix_ms = clock.unix_ms();
        let port = config.port;
        let persist = crate::persist::Persist::new(started_unix_ms, logger.clone(), clock.clone());
        let scripting = crate::scripting::lazy::LazyScripting::new(crate::scripting::LogSink {
            logger: logger.clone(),
            clock: clock.clone(),
        });
        let mut acl = crate::acl::Acl::default();
        let acl_requirepass = config.requirepass.clone();
        acl.set_requirepass(acl_requirepass.as_deref());
        Node {
            db,
            rest: NodeRest {
                config,
                stats: Stats::default(),
                clients: BTreeMap::new(),
                clock,
                rng,
                logger,
                run_id,
                next_client_id: 1,
                started_unix_ms,
                port,
                killed_clients: Default::default(),
                acl,
                acl_requirepass,
                cluster: None,
                storage,
                cluster_wakeup: Arc::new(tokio::sync::Notify::new()),
                tls: None,
                write_pause_until_ms: 0,
                client_pause: ClientPause::default(),
                cluster_events: None,
                cluster_tick_every_ms: 0,
                fault_points: Default::default(),
                repl,
                repl_last_ping_ms: 0,
                active_expire_enabled: true,
                hub: Default::default(),
                blocking: Default::default(),
                watches: Default::default(),
                evictor: Default::default(),
                migrate: Default::default(),
                scripting,
                atomic: Default::default(),
                persist,
            },
        }
    }

    /// Both halves of the node, for code shared with command handlers.
    pub fn view(&mut self) -> NodeView<'_> {
        NodeView {
            db: &mut self.db,
            rest: &mut self.rest,
        }
    }

    /// Registers a new connection and returns its client state.
    /// Redis's admission control for a new connection from `addr`: the refusal to write
    /// before closing it when `maxclients` is reached, or when protected mode is on, no
    /// password is set and the peer is not the loopback. Refusals count in
    /// `rejected_connections`.
    pub fn admit(&mut self, addr: &str) -> Option<&'static str> {
        let config = &self.rest.config;
        let refusal = if self.rest.clients.len() as u64 >= config.maxclients {
            Some(crate::limits::maxclients_error(config.cluster_enabled))
        } else if config.protected_mode
            && self.rest.acl.default_user().nopass
            && !crate::limits::is_local_peer(addr)
        {
            Some(crate::limits::PROTECTED_MODE_DENIED)
        } else {
            None
        };
        if refusal.is_some() {
            self.rest.stats.rejected_connections += 1;
        }
        refusal
    }

    pub fn connect_client(&mut self, addr: String, laddr: String) -> Client {
        let id = self.rest.next_client_id;
        self.rest.next_client_id += 1;
        self.rest.stats.total_connections_received += 1;
        let auth = self.rest.acl.new_connections_authenticated();
        let client = Client::new(id, addr, laddr, self.rest.clock.mono_ms(), auth);
        self.rest.clients.insert(id, client.clone());
        self.rest.hub.push_hard_limit =
            self.rest.config.obuf.get(crate::limits::Class::Pubsub).hard;
        client
    }

    /// Forgets a closed connection.
    pub fn disconnect_client(&mut self, id: u64) {
        if !self.rest.atomic.jobs.is_empty() {
            crate::atomic::import::link_closed(&mut self.db, &mut self.rest, id);
        }
        self.rest.clients.remove(&id);
        self.rest.hub.remove_client(id);
        self.rest.blocking.unblock(id);
        self.rest.watches.unwatch_all(id);
    }

    /// Runs one command for `client` and returns its reply; then serves clients blocked on keys
    /// the command filled (after a whole EXEC, as Redis).
    pub fn execute(&mut self, client: &mut Client, argv: &[Bytes]) -> Reply {
        let sends_before = client.reply_mode.sends();
        let reply = self.process(client, argv);
        if self.rest.blocking.has_ready() {
            self.serve_ready_keys();
        }
        if client.slot_link {
            return self.slot_link_reply(client, argv, reply);
        }
        if argv
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case(b"exec"))
        {
            // EXEC's replies were filtered one by one (see `exec`): what is left is sent as
            // the mode was when EXEC started.
            client.reply_mode = client.reply_mode.after_command();
            return match reply {
                Reply::Raw(_) => reply,
                _ if sends_before => reply,
                _ => Reply::NoReply,
            };
        }
        Self::filter_reply(client, reply)
    }

    /// CLIENT REPLY OFF / SKIP: drops the reply of the command that just ran, and moves a skip
    /// on to the next command.
    pub fn filter_reply(client: &mut Client, reply: Reply) -> Reply {
        let sends = client.reply_mode.sends();
        client.reply_mode = client.reply_mode.after_command();
        if sends {
            reply
        } else {
            Reply::NoReply
        }
    }

    /// On a source's slot migration link only SYNCSLOTS is answered; a data command that
    /// failed (or arrives after the import ended) ends the import and the link.
    fn slot_link_reply(&mut self, client: &mut Client, argv: &[Bytes], reply: Reply) -> Reply {
        let is_syncslots = argv.len() >= 2
            && argv[0].eq_ignore_ascii_case(b"cluster")
            && argv[1].eq_ignore_ascii_case(b"syncslots");
        if is_syncslots {
            crate::atomic::import::touch(&mut self.rest, client.id);
            return reply;
        }
        let job = crate::atomic::import::job_of_link(&self.rest, client.id);
        match job {
            Some(name) if reply.is_error() => {
                crate::atomic::import::end(
                    &mut self.db,
                    &mut self.rest,
                    &name,
                    crate::atomic::JobState::Failed,
                    "a command of the source failed here",
                );
                client.close_after_reply = true;
                reply
            }
            Some(_) => Reply::NoReply,
            None => {
                client.close_after_reply = true;
                Reply::error("ERR no slot migration in progress on this connection")
            }
        }
    }

    /// Redis's processCommand: lookup and the checks before running (each of which flags an
    /// open transaction), subscribe-mode rules, queueing inside MULTI, EXEC.
    fn process(&mut self, client: &mut Client, argv: &[Bytes]) -> Reply {
        let Some(name) = argv.first() else {
            return Reply::error("ERR empty command");
        };
        let now_mono = self.rest.clock.mono_ms();
        client.last_interaction_ms = now_mono;
        let Some(spec) = cmd::lookup(name) else {
            let reply = unknown_command_reply(argv);
            client.multi_error |= client.multi.is_some();
            self.count_error(&reply);
            return reply;
        };
        client.last_cmd = spec.name;
        // Redis's authRequired: the client has not logged in and the default user needs it.
        let rejected = if !client.authenticated
            && spec.flags & flags::NO_AUTH == 0
            && !self.rest.acl.new_connections_authenticated()
        {
            Some(CmdError::other("NOAUTH Authentication required."))
        } else if !spec.arity_ok(argv.len()) {
            Some(CmdError::WrongArity(spec.name.to_string()))
        } else if client.multi.is_some() && cmd::tx::NO_MULTI.contains(&spec.name) {
            Some(CmdError::other(
                "ERR Command not allowed inside a transaction",
            ))
        } else if let Some(denied) = self.acl_refusal(client, spec, argv) {
            Some(denied)
        } else if let Some(redirect) = self.route(spec, argv, client) {
            Some(redirect)
        } else if crate::evict::used_memory(&self.db) > self.rest.config.maxmemory_limit {
            // The one comparison every command pays; eviction only past the limit.
            self.evict_or_refuse(spec, client)
        } else if let Some(refused) = crate::persist::refuse(&self.rest, spec) {
            // -LOADING while the dataset loads, -MISCONF after a failed save or AOF write.
            Some(refused)
        } else if self.rest.config.min_replicas_to_write != 0
            && (spec.is_write() || (spec.name == "exec" && queued_write(client)))
            && !self
                .rest
                .repl
                .enough_good_replicas(&self.rest.config, self.rest.clock.mono_ms())
        {
            Some(CmdError::other(crate::replication::NOREPLICAS))
        } else if spec.is_write()
            && self.rest.repl.is_replica()
            && self.rest.cluster.is_none()
            && self.rest.config.bool("replica-read-only")
        {
            Some(CmdError::other(
                "READONLY You can't write against a read only replica.",
            ))
        } else if client.subs > 0
            && client.proto == Protocol::Resp2
            && !cmd::pubsub::allowed_in_subscribe_mode(spec.name)
        {
            Some(CmdError::other(format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            )))
        } else if self.stale_and_refused(spec, argv, client) {
            Some(CmdError::other(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            ))
        } else {
            None
        };
        if let Some(e) = rejected {
            let mut e = e;
            if spec.name == "exec" {
                // A rejected EXEC discards the transaction; every rejection but a cluster
                // redirect answers EXECABORT with the reason (Redis's execCommandAbort), even
                // outside MULTI.
                let redirect = matches!(&e, CmdError::Other(t) if t.starts_with("MOVED ")
                    || t.starts_with("ASK ")
                    || t.starts_with("CROSSSLOT ")
                    || t.starts_with("CLUSTERDOWN ")
                    || t.starts_with("TRYAGAIN "));
                if client.multi.is_some() {
                    cmd::tx::discard_transaction(&mut self.rest, client);
                }
                if !redirect {
                    let text = e.to_string();
                    let reason = text.strip_prefix("ERR ").unwrap_or(&text);
                    e = CmdError::other(format!(
                        "EXECABORT Transaction discarded because of: {reason}"
                    ));
                }
            } else {
                client.multi_error |= client.multi.is_some();
            }
            // Not a processed command (Redis counts calls only): a rejected one.
            *self.rest.stats.rejected.entry(spec.name).or_default() += 1;
            // ASKING lasts for one command, or for a whole MULTI block (Redis's resetClient).
            if spec.name != "asking" && client.multi.is_none() {
                client.asking = false;
            }
            let reply = e.to_reply();
            self.count_error(&reply);
            return reply;
        }
        if let Some(queue) = client.multi.as_mut() {
            if !matches!(
                spec.name,
                "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
            ) {
                queue.push(argv.to_vec());
                return Reply::simple("QUEUED");
            }
        }
        match spec.name {
            "exec" => self.exec(client),
            "ping" if client.subs > 0 && client.proto == Protocol::Resp2 && argv.len() <= 2 => {
                // PING in RESP2 subscribe mode answers a two-element array.
                self.rest.stats.total_commands_processed += 1;
                self.rest.stats.commands.entry(spec.name).or_default().0 += 1;
                Reply::Array(vec![
                    Reply::bulk("pong"),
                    Reply::Bulk(argv.get(1).cloned().unwrap_or_default()),
                ])
            }
            _ => self.call(client, spec, argv),
        }
    }

    /// replica-serve-stale-data no: while its link to the master is not up, a replica runs
    /// only commands flagged STALE, and an EXEC only when every queued command is (Redis's
    /// is_denystale_command).
    fn stale_and_refused(&self, spec: &cmd::CommandSpec, argv: &[Bytes], client: &Client) -> bool {
        let crate::replication::Role::Replica(link) = &self.rest.repl.role else {
            return false;
        };
        if link.state == crate::replication::LinkState::Connected
            || self.rest.config.bool("replica-serve-stale-data")
        {
            return false;
        }
        // A container's flags are its subcommand's (CONFIG SET is STALE, CONFIG is not).
        let stale_ok = |s: &cmd::CommandSpec, argv: &[Bytes]| -> bool {
            let subs = cmd::subcmd::subcommands_of(s.name);
            let flags = match argv.get(1) {
                Some(word) if !subs.is_empty() => subs
                    .iter()
                    .find(|sub| word.eq_ignore_ascii_case(sub.short_name().as_bytes()))
                    .map_or(s.flags, |sub| sub.flags),
                _ => s.flags,
            };
            flags & flags::STALE != 0
        };
        !stale_ok(spec, argv)
            || (spec.name == "exec"
                && client.multi.as_ref().is_some_and(|queue| {
                    queue.iter().any(|argv| {
                        argv.first()
                            .and_then(|n| cmd::lookup(n))
                            .is_some_and(|s| !stale_ok(s, argv))
                    })
                }))
    }

    /// Over maxmemory: evicts (Redis evicts before any command), then refuses a command that may
    /// grow memory if nothing more could go: deny-oom commands, an EXEC whose queue holds one,
    /// and anything queued inside MULTI but EXEC / DISCARD / QUIT / RESET.
    #[cold]
    fn evict_or_refuse(&mut self, spec: &cmd::CommandSpec, client: &Client) -> Option<CmdError> {
        let outcome = self.view().perform_evictions();
        if outcome == crate::evict::Outcome::Ok {
            return None;
        }
        let deny = spec.flags & flags::DENYOOM != 0
            || match &client.multi {
                None => false,
                Some(queue) if spec.name == "exec" => queue.iter().any(|argv| {
                    argv.first()
                        .and_then(|n| cmd::lookup(n))
                        .is_some_and(|s| s.flags & flags::DENYOOM != 0)
                }),
                Some(_) => !matches!(spec.name, "discard" | "quit" | "reset"),
            };
        deny.then(|| CmdError::other(crate::evict::OOM_ERROR))
    }

    /// Re-reads the maxmemory tunables after CONFIG SET: the keys' access bits follow the
    /// policy, a policy change empties the eviction pool, and a limit under the current use
    /// evicts at once (Redis does the same when maxmemory is lowered).
    pub fn refresh_memory_config(&mut self) {
        let access = self.rest.config.access();
        if self.db.access != access {
            self.db.set_access(access);
            self.rest.evictor.clear();
        }
        let used = crate::evict::used_memory(&self.db);
        if used > self.rest.config.maxmemory_limit {
            self.log(
                Level::Warning,
                &format!(
                    "WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.",
                    self.rest.config.maxmemory_limit, used
                ),
            );
            self.view().perform_evictions();
        }
    }

    /// Redis's call(): runs the handler, counts it, replicates a write, notices changes to
    /// watched keys and keys blocked clients wait for.
    pub(crate) fn call(
        &mut self,
        client: &mut Client,
        spec: &'static cmd::CommandSpec,
        argv: &[Bytes],
    ) -> Reply {
        self.rest.stats.total_commands_processed += 1;
        let watched = if self.rest.watches.is_empty() {
            Vec::new()
        } else {
            self.snapshot_watched(spec, argv)
        };
        // Inside a script, the time it started (see `LazyScripting::time_snapshot_ms`).
        let now_ms = match self.rest.scripting.time_snapshot_ms {
            Some(t) => t,
            None => self.rest.clock.unix_ms(),
        };
        self.db.set_now(now_ms);
        let result = if crate::scripting::run::is_script_command(spec.name) {
            crate::scripting::run::eval(self, client, spec, argv)
        } else {
            let mut ctx = Ctx {
                db: &mut self.db,
                node: &mut self.rest,
                client,
                now_ms,
            };
            (spec.handler)(&mut ctx, argv)
        };
        // Counts an in-place change of the last value the command changed.
        self.db.settle();
        // ASKING lasts for one command, or for a whole MULTI block (Redis's resetClient).
        if spec.name != "asking" && client.multi.is_none() {
            client.asking = false;
        }
        if spec.name == "config" {
            self.refresh_cluster_config();
            self.refresh_memory_config();
            self.refresh_acl_config();
            crate::persist::refresh_config(&mut self.rest, &self.db);
            self.db
                .set_log_new(crate::notify::logs_new(self.rest.config.notify_flags));
        }
        let entry = self.rest.stats.commands.entry(spec.name).or_default();
        entry.0 += 1;
        let reply = match result {
            Ok(r) => r,
            Err(e) => e.to_reply(),
        };
        // Any error reply is a failed call (a script's error included, whether it came
        // from the script or from a command it called), as Redis's commandstats count it.
        if reply.is_error() {
            entry.1 += 1;
        }
        let rewrite = client.rewrite.take();
        let listed = client.propagate.take();
        if reply.is_error() {
            self.count_error(&reply);
        } else if (spec.is_write() || rewrite.as_ref().is_some_and(|v| !v.is_empty()))
            && !matches!(reply, Reply::NoReply)
        {
            // A read command that changed something replicates through `rewrite` (PFCOUNT
            // storing its cached cardinality, as Redis's MAY_REPLICATE commands do).
            match (&listed, &rewrite) {
                (Some(cmds), _) => self.propagate_list(cmds, &reply, client.in_exec),
                // The command changed nothing (Redis's server.dirty did not move).
                (None, Some(v)) if v.is_empty() => {}
                (None, Some(v)) => {
                    let name = cmd::lookup(&v[0]).map_or("", |s| s.name);
                    self.view().propagate_write(name, v, &reply);
                }
                (None, None) => self.view().propagate_write(spec.name, argv, &reply),
            }
            client.woff = self.rest.repl.offset;
            if !self.rest.blocking.is_empty() {
                for i in cmd::key_positions(spec, argv) {
                    self.rest.blocking.signal(&argv[i]);
                }
                if matches!(spec.name, "flushall" | "flushdb") {
                    self.rest.blocking.signal_all();
                }
            }
        }
        if !watched.is_empty() {
            self.touch_watched(watched, &reply, spec);
        }
        self.view().propagate_expired();
        reply
    }

    /// The entries of the watched keys a command may change: its own keys, or every watched
    /// key for a keyless write (FLUSHALL).
    fn snapshot_watched(
        &self,
        spec: &cmd::CommandSpec,
        argv: &[Bytes],
    ) -> Vec<(Bytes, Option<crate::db::Entry>)> {
        let mut out = Vec::new();
        if spec.keys.first == 0 {
            if spec.is_write() {
                for k in self.rest.watches.keys() {
                    out.push((k.clone(), self.db.peek(k).cloned()));
                }
            }
        } else {
            for i in cmd::key_positions(spec, argv) {
                let k = &argv[i];
                if self.rest.watches.is_watched(k) && !out.iter().any(|(o, _)| o == k) {
                    out.push((k.clone(), self.db.peek(k).cloned()));
                }
            }
        }
        out
    }

    /// Touches the watched keys whose entry changed (or that a successful overwrite rewrote
    /// with the same value: Redis signals every SET).
    fn touch_watched(
        &mut self,
        before: Vec<(Bytes, Option<crate::db::Entry>)>,
        reply: &Reply,
        spec: &cmd::CommandSpec,
    ) {
        let overwrite = spec.is_write()
            && !reply.is_error()
            && matches!(
                spec.name,
                "set"
                    | "setex"
                    | "psetex"
                    | "getset"
                    | "mset"
                    | "restore"
                    | "hset"
                    | "hmset"
                    | "lset"
            );
        for (k, old) in before {
            let new = self.db.peek(&k);
            if old.as_ref() != new || (overwrite && new.is_some()) {
                let exists = new.is_some();
                self.rest.watches.touch(&k, exists);
            }
        }
    }

    /// EXEC: runs the queued commands, or answers EXECABORT / nil (a watched key changed).
    /// Inside a transaction with several writes the replication stream gets MULTI ... EXEC
    /// around them, as Redis's.
    fn exec(&mut self, client: &mut Client) -> Reply {
        self.rest.stats.total_commands_processed += 1;
        self.rest.stats.commands.entry("exec").or_default().0 += 1;
        let Some(queue) = client.multi.take() else {
            let reply = Reply::error("ERR EXEC without MULTI");
            self.count_error(&reply);
            return reply;
        };
        if client.multi_error {
            cmd::tx::discard_transaction(&mut self.rest, client);
            let reply = Reply::error("EXECABORT Transaction discarded because of previous errors.");
            self.count_error(&reply);
            return reply;
        }
        let now = self.rest.clock.unix_ms();
        let db = &self.db;
        let abort = self.rest.watches.must_abort(client.id, |k| {
            db.peek(k)
                .is_some_and(|e| e.expire_ms().is_some_and(|t| t <= now))
        });
        cmd::tx::discard_transaction(&mut self.rest, client);
        if abort {
            return Reply::NullArray;
        }
        // Redis 7.0's propagatePendingCommands: what the transaction's commands replicate goes
        // out at its end, in MULTI / EXEC when that is more than one command (nothing at all
        // when they changed nothing); a script inside adds its effects to the same batch.
        let held = !self.rest.repl.is_replica() && self.rest.repl.hold();
        client.in_exec = true;
        let mut replies = Vec::with_capacity(queue.len());
        // CLIENT REPLY run inside the transaction silences (or restores) the replies after it.
        let header_sent = client.reply_mode.sends();
        let mut silenced = !header_sent;
        for argv in &queue {
            let reply = match cmd::lookup(&argv[0]) {
                // The rules may have changed since the command was queued (Redis checks again).
                Some(spec) => {
                    match self.acl_denied(client, spec, argv, crate::acl::log::Context::Multi) {
                        Some(d) => {
                            let reply = Reply::error(format!(
                                "NOPERM ACL failure in transaction: {}",
                                d.exec_text()
                            ));
                            self.count_error(&reply);
                            reply
                        }
                        None => self.call(client, spec, argv),
                    }
                }
                None => unknown_command_reply(argv),
            };
            if client.reply_mode.sends() {
                replies.push(reply);
            } else {
                silenced = true;
            }
        }
        client.in_exec = false;
        if held {
            self.rest.repl.release(true);
            client.woff = self.rest.repl.offset;
        }
        if !silenced {
            return Reply::Array(replies);
        }
        // As in Redis, the array header (sent if replies were on when EXEC started) still
        // counts every command; only the replies that were on follow it.
        let mut out = bytes::BytesMut::new();
        if header_sent {
            out.extend_from_slice(format!("*{}\r\n", queue.len()).as_bytes());
        }
        for r in &replies {
            r.encode(client.proto, &mut out);
        }
        Reply::Raw(out.freeze())
    }

    /// Replicates the commands a handler listed (see `Client::propagate`): in MULTI/EXEC when
    /// there are several and no transaction is already open, as Redis's
    /// propagatePendingCommands.
    fn propagate_list(&mut self, cmds: &[Vec<Bytes>], reply: &Reply, in_exec: bool) {
        let wrap = cmds.len() > 1 && !in_exec && !self.rest.repl.is_replica();
        if wrap {
            self.rest.repl.propagate(&[b"MULTI"]);
        }
        for v in cmds {
            let name = cmd::lookup(&v[0]).map_or("", |s| s.name);
            self.view().propagate_write(name, v, reply);
        }
        if wrap {
            self.rest.repl.propagate(&[b"EXEC"]);
        }
    }

    /// Serves clients blocked on keys that got data, in the order they blocked, while the key
    /// holds what they wait for. A served BLMOVE may in turn make its destination ready.
    fn serve_ready_keys(&mut self) {
        while let Some(key) = self.rest.blocking.pop_ready() {
            loop {
                let now_ms = self.rest.clock.unix_ms();
                let value = self.db.get(&key, now_ms).map(|e| &e.value);
                let waiter = self.rest.blocking.first_waiter(&key, value);
                let Some(id) = waiter else { break };
                let Some(req) = self.rest.blocking.unblock(id) else {
                    break;
                };
                let mut c = Client::new(id, String::new(), String::new(), 0, true);
                c.proto = req.proto;
                let watched = if self.rest.watches.is_empty() {
                    Vec::new()
                } else {
                    let mut keys = vec![key.clone()];
                    if let cmd::blocking::Op::Move { dst, .. } = &req.op {
                        keys.push(dst.clone());
                    }
                    keys.into_iter()
                        .filter(|k| self.rest.watches.is_watched(k))
                        .map(|k| {
                            let e = self.db.peek(&k).cloned();
                            (k, e)
                        })
                        .collect()
                };
                let (result, argv) = {
                    let mut ctx = Ctx {
                        db: &mut self.db,
                        node: &mut self.rest,
                        client: &mut c,
                        now_ms,
                    };
                    cmd::blocking::serve(&mut ctx, &key, &req.keys, &req.op)
                };
                self.db.settle();
                let reply = match result {
                    Ok(r) => {
                        self.propagate_list(&argv, &r, false);
                        if let cmd::blocking::Op::Move { dst, .. } = &req.op {
                            self.rest.blocking.signal(dst);
                        }
                        r
                    }
                    Err(e) => {
                        // The blocked client's error (XREADGROUP's NOGROUP / UNBLOCKED) counts
                        // in errorstats, as Redis's.
                        let r = e.to_reply();
                        self.count_error(&r);
                        if let cmd::blocking::Op::XRead { group, .. } = &req.op {
                            let name = if group.is_some() {
                                "xreadgroup"
                            } else {
                                "xread"
                            };
                            self.rest.stats.commands.entry(name).or_default().1 += 1;
                        }
                        r
                    }
                };
                for (k, old) in watched {
                    let new = self.db.peek(&k);
                    if old.as_ref() != new {
                        let exists = new.is_some();
                        self.rest.watches.touch(&k, exists);
                    }
                }
                let woff = self.rest.repl.offset;
                self.rest
                    .hub
                    .send(id, crate::pubsub::ClientMsg::Unblock { reply, woff });
            }
        }
        self.view().propagate_expired();
    }

    /// For a connection waiting in a blocking command (every 100 ms and at its deadline): the
    /// reply that ends the wait now (timeout, or in cluster mode CLUSTERDOWN / MOVED when its
    /// slot is no longer served here, as Redis's clusterRedirectBlockedClientIfNeeded), or
    /// None to keep waiting. None too when the client is no longer blocked: its reply is then
    /// already on its channel.
    pub fn blocked_tick(&mut self, client: &Client) -> Option<Reply> {
        let req = self.rest.blocking.get(client.id)?;
        let now = self.rest.clock.mono_ms();
        let mut out = None;
        if req.deadline_ms != 0 && now >= req.deadline_ms {
            out = Some(req.op.timeout_reply());
        } else if let Some(cluster) = self.rest.cluster.as_ref() {
            if !cluster.state_ok {
                out = Some(Reply::error("CLUSTERDOWN The cluster is down"));
            } else if let Some(key) = req.keys.first() {
                let slot = crate::slot::key_slot(key);
                match cluster.slot_owner_id(slot) {
                    None => out = Some(Reply::error("CLUSTERDOWN Hash slot not served")),
                    // A slot being imported here keeps its blocked clients (Redis's rule).
                    Some(owner)
                        if owner != cluster.myself && !cluster.importing.contains_key(&slot) =>
                    {
                        if let Some(e) = self.redirect_error("MOVED", slot, owner, client) {
                            out = Some(e.to_reply());
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        if out.is_some() {
            self.rest.blocking.unblock(client.id);
        }
        if let Some(r) = &out {
            if r.is_error() {
                self.count_error(r);
            }
        }
        out
    }

    /// `-MOVED slot host:port` (or `-ASK ...`) naming `node` for `slot`.
    fn redirect_error(
        &self,
        kind: &str,
        slot: u16,
        node: crate::cluster::NodeId,
        client: &Client,
    ) -> Option<CmdError> {
        let cluster = self.rest.cluster.as_ref()?;
        let n = cluster.nodes.get(&node)?;
        let port = cmd::cluster::client_port(&self.rest, client, n);
        let preferred = self
            .rest
            .config
            .get("cluster-preferred-endpoint-type")
            .unwrap_or("ip");
        Some(CmdError::other(format!(
            "{} {} {}:{}",
            kind,
            slot,
            cmd::cluster::endpoint(n, preferred),
            port
        )))
    }

    /// Logs a command from the master that could not be applied (see [`Node::apply_replicated`]).
    fn log_replicated_refusal(&self, argv: &[Bytes], why: &str) {
        let name = argv
            .first()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        self.log(
            Level::Warning,
            &format!(
                "== CRITICAL == Not applied a command from the master ({why}): '{name}' with {} \
                 argument(s); this replica's dataset now differs from its master's",
                argv.len().saturating_sub(1)
            ),
        );
    }

    /// Applies one command of the master's replication stream (replica side): no reply, no
    /// routing, no authentication, keys never expire on their own (the master sends DELs).
    pub fn apply_replicated(&mut self, argv: &[Bytes]) {
        let Some(spec) = argv.first().and_then(|n| cmd::lookup(n)) else {
            // A redis-server master streams every command it runs; one keyslot does not
            // implement (SETBIT, PFADD, XADD, ...) cannot be applied, and the replica's dataset
            // departs from its master's. Redis logs the error a replica would send its master
            // ("== CRITICAL =="); say so too instead of dropping it silently.
            self.log_replicated_refusal(argv, "unknown command");
            return;
        };
        if !spec.arity_ok(argv.len()) {
            self.log_replicated_refusal(argv, "wrong number of arguments");
            return;
        }
        let saved = self.db.expiry;
        self.db.expiry = crate::db::ExpiryMode::Ignore;
        let watched = if self.rest.watches.is_empty() {
            Vec::new()
        } else {
            self.snapshot_watched(spec, argv)
        };
        let mut master = Client::new(0, String::new(), String::new(), 0, true);
        let now_ms = self.rest.clock.unix_ms();
        self.db.set_now(now_ms);
        let mut ctx = Ctx {
            db: &mut self.db,
            node: &mut self.rest,
            client: &mut master,
            now_ms,
        };
        let reply = (spec.handler)(&mut ctx, argv).unwrap_or(Reply::NoReply);
        self.db.settle();
        self.db.expiry = saved;
        // A replica evicts on its own only with replica-ignore-maxmemory no (and never
        // refuses its master's stream).
        if crate::evict::used_memory(&self.db) > self.rest.config.maxmemory_limit {
            self.view().perform_evictions();
        }
        if !watched.is_empty() {
            self.touch_watched(watched, &reply, spec);
        }
    }

    /// Cluster routing (Redis's getNodeByQuery): None to run the command here, or the
    /// redirect / error to answer with. Commands without keys are never redirected.
    pub(crate) fn route(
        &self,
        spec: &cmd::CommandSpec,
        argv: &[Bytes],
        client: &Client,
    ) -> Option<CmdError> {
        let cluster = self.rest.cluster.as_ref()?;
        // Every key of the command (or of every queued command for EXEC), in order.
        let mut keys: smallvec::SmallVec<[&Bytes; 4]> = smallvec::SmallVec::new();
        let mut readonly_cmd = spec.flags & flags::READONLY != 0 && spec.flags & flags::WRITE == 0;
        let mut readonly_client = client.readonly;
        if spec.name == "exec" {
            // EXEC routes the whole transaction: every key of every queued command.
            let queue = client.multi.as_ref()?;
            readonly_cmd = true;
            for a in queue {
                let Some(s) = cmd::lookup(&a[0]) else {
                    continue;
                };
                if s.is_write() {
                    readonly_cmd = false;
                }
                keys.extend(
                    cmd::key_positions(s, a)
                        .into_iter()
                        .filter_map(|i| a.get(i)),
                );
            }
        } else {
            keys.extend(
                cmd::key_positions(spec, argv)
                    .into_iter()
                    .filter_map(|i| argv.get(i)),
            );
        }
        let first = *keys.first()?;
        let slot = crate::slot::key_slot(first);
        if client.slot_link && self.rest.atomic.link_covers(client.id, slot) {
            // A source's migration stream writes slots this node is importing.
            return None;
        }
        let mut multiple_keys = false;
        for k in &keys[1..] {
            if *k != first {
                if crate::slot::key_slot(k) != slot {
                    return Some(CmdError::other(
                        "CROSSSLOT Keys in request don't hash to the same slot",
                    ));
                }
                multiple_keys = true;
            }
        }
        let is_shard = cmd::pubsub::is_shard_command(spec.name);
        if is_shard {
            // Shard channels are served by every node of the slot's shard (Redis's
            // is_pubsubshard), replicas included, without READONLY.
            readonly_cmd = true;
            readonly_client = true;
        }
        let (mut missing_keys, mut existing_keys) = (0, 0);
        if !is_shard && cluster.slot_needs_key_count(slot) {
            // Open slot: which keys are here decides between serving, ASK and TRYAGAIN.
            let now = self.rest.clock.unix_ms();
            for k in &keys {
                let live = self
                    .db
                    .peek(k)
                    .is_some_and(|e| e.expire_ms().is_none_or(|t| t > now));
                if live {
                    existing_keys += 1;
                } else {
                    missing_keys += 1;
                }
            }
        }
        let query = crate::cluster::routing::Query {
            readonly_cmd,
            readonly_client,
            asking: client.asking || spec.name == "restore-asking",
            is_migrate: spec.name == "migrate",
            multiple_keys,
            missing_keys,
            existing_keys,
        };
        match cluster.route(slot, query) {
            crate::cluster::routing::Route::Local => None,
            crate::cluster::routing::Route::Moved { slot, node } => {
                self.redirect_error("MOVED", slot, node, client)
            }
            crate::cluster::routing::Route::Ask { slot, node } => {
                self.redirect_error("ASK", slot, node, client)
            }
            crate::cluster::routing::Route::Error(text) => Some(CmdError::other(text)),
        }
    }

    /// Whether `argv` must wait: a write while CLUSTER FAILOVER has paused writes, or any
    /// command touching a key a MIGRATE is moving right now (see `crate::migrate`).
    pub fn must_wait(&self, client: &Client, argv: &[Bytes]) -> bool {
        if self.rest.migrate.has_in_flight() && self.touches_in_flight_key(client, argv) {
            return true;
        }
        if self.rest.atomic.any_paused() && self.writes_paused_slot(client, argv) {
            return true;
        }
        let pause = self.rest.client_pause;
        if self.rest.write_pause_until_ms == 0 && pause.until_ms == 0 {
            // The common case, decided without reading the clock.
            return false;
        }
        let now = self.rest.clock.mono_ms();
        let client_paused = pause.until_ms > now && !client.replica_feed;
        if client_paused && pause.all {
            return true;
        }
        if !client_paused && now >= self.rest.write_pause_until_ms {
            return false;
        }
        // Redis pauses "may replicate" commands too: PUBLISH and scripts.
        let is_write = |a: &[Bytes]| {
            a.first().is_some_and(|n| {
                cmd::lookup(n).is_some_and(|s| s.is_write())
                    || [&b"publish"[..], b"spublish", b"eval", b"evalsha", b"fcall"]
                        .iter()
                        .any(|m| n.eq_ignore_ascii_case(m))
            })
        };
        if client.multi.is_some() {
            // Queueing writes nothing; an EXEC with queued writes does.
            let is_exec = argv
                .first()
                .is_some_and(|n| n.eq_ignore_ascii_case(b"exec"));
            return is_exec && client.multi.iter().flatten().any(|a| is_write(a));
        }
        is_write(argv)
    }

    /// Whether a write (or an EXEC with one) names a key of a slot whose atomic migration is
    /// in its final write pause (reads go on until the handover).
    fn writes_paused_slot(&self, client: &Client, argv: &[Bytes]) -> bool {
        let paused = |a: &[Bytes]| -> bool {
            let Some(spec) = a.first().and_then(|n| cmd::lookup(n)) else {
                return false;
            };
            spec.is_write()
                && cmd::key_positions(spec, a)
                    .into_iter()
                    .filter_map(|i| a.get(i))
                    .any(|k| self.rest.atomic.write_paused(crate::slot::key_slot(k)))
        };
        if client.multi.is_some() {
            let is_exec = argv
                .first()
                .is_some_and(|n| n.eq_ignore_ascii_case(b"exec"));
            return is_exec && client.multi.iter().flatten().any(|a| paused(a));
        }
        paused(argv)
    }

    /// Whether a command (or, for EXEC, the queued transaction) names a key in flight.
    fn touches_in_flight_key(&self, client: &Client, argv: &[Bytes]) -> bool {
        let names = |a: &[Bytes]| -> bool {
            let Some(spec) = a.first().and_then(|n| cmd::lookup(n)) else {
                return false;
            };
            cmd::key_positions(spec, a)
                .into_iter()
                .filter_map(|i| a.get(i))
                .any(|k| self.rest.migrate.is_in_flight(k))
        };
        if client.multi.is_some() {
            let is_exec = argv
                .first()
                .is_some_and(|n| n.eq_ignore_ascii_case(b"exec"));
            return is_exec && client.multi.iter().flatten().any(|a| names(a));
        }
        names(argv)
    }

    /// The end of a MIGRATE job (under the lock again): deletes the keys the target
    /// acknowledged, replicates that as one DEL (as Redis rewrites MIGRATE), tells WATCH and
    /// blocked clients, and releases every key the job held.
    pub fn migrate_finish(&mut self, held: &[Bytes], deleted: &[Bytes]) {
        let mut removed: Vec<Bytes> = Vec::new();
        for k in deleted {
            if self.db.remove(k).is_some() {
                crate::notify::emit(&mut self.db, &self.rest, crate::notify::GENERIC, "del", k);
                removed.push(k.clone());
            }
        }
        if !removed.is_empty() {
            let mut argv: Vec<Bytes> = Vec::with_capacity(removed.len() + 1);
            argv.push(Bytes::from_static(b"DEL"));
            argv.extend(removed.iter().cloned());
            let reply = Reply::Integer(removed.len() as i64);
            self.view().propagate_write("del", &argv, &reply);
            for k in &removed {
                if self.rest.watches.is_watched(k) {
                    self.rest.watches.touch(k, false);
                }
            }
        }
        self.rest.migrate.release(held);
    }

    /// Creates the cluster state: loads nodes.conf if it exists, or starts as a new node and
    /// writes it. Errors are fatal at startup, as in Redis.
    pub fn start_cluster(&mut self) -> Result<(), String> {
        let cfg = self.cluster_config();
        let seed = self.rest.rng.next_u64();
        let mut state = crate::cluster::state::ClusterState::new(cfg, seed);
        let name = self.nodes_conf_name();
        let existing = self
            .rest
            .storage
            .read(&name)
            .map_err(|e| format!("Can't read the cluster config file {}: {}", name, e))?;
        match existing {
            Some(bytes) if !bytes.is_empty() => {
                let text = String::from_utf8_lossy(&bytes);
                let conf = crate::cluster::nodes_conf::NodesConf::parse(&text).map_err(|e| {
                    format!(
                        "Unrecoverable error: corrupted cluster config file \"{}\": {}",
                        name, e
                    )
                })?;
                state.load(&conf).map_err(|e| {
                    format!(
                        "Unrecoverable error: corrupted cluster config file \"{}\": {}",
                        name, e
                    )
                })?;
                self.log(
                    Level::Notice,
                    &format!("Node configuration loaded, I'm {}", state.myself),
                );
            }
            _ => {
                self.log(
                    Level::Notice,
                    &format!("No cluster configuration found, I'm {}", state.myself),
                );
                state.mark_dirty();
            }
        }
        self.rest.cluster = Some(state);
        Ok(())
    }

    /// The nodes.conf file name (cluster-config-file).
    pub fn nodes_conf_name(&self) -> String {
        self.rest
            .config
            .get("cluster-config-file")
            .filter(|n| !n.is_empty())
            .unwrap_or("nodes.conf")
            .to_string()
    }

    /// The cluster tunables from the config.
    fn cluster_config(&self) -> crate::cluster::state::ClusterConfig {
        let c = &self.rest.config;
        // Redis's deriveAnnouncedPorts: with tls-cluster the TLS port is the one announced
        // (and the bus port derives from it), the plaintext one travels as pport.
        let tls_cluster = c.bool("tls-cluster");
        let base = if tls_cluster {
            c.int("tls-port") as u16
        } else {
            c.port
        };
        let (announce_port, announce_tls_port) = (
            c.int("cluster-announce-port") as u16,
            c.int("cluster-announce-tls-port") as u16,
        );
        let (port, pport) = if tls_cluster && announce_tls_port != 0 {
            (announce_tls_port, announce_port)
        } else if announce_port != 0 {
            (announce_port, if tls_cluster { c.port } else { 0 })
        } else {
            (base, if tls_cluster { c.port } else { 0 })
        };
        let cport = match (c.int("cluster-announce-bus-port"), c.int("cluster-port")) {
            (0, 0) => base.wrapping_add(10000),
            (0, p) => p as u16,
            (p, _) => p as u16,
        };
        crate::cluster::state::ClusterConfig {
            node_timeout_ms: c.cluster_node_timeout_ms,
            replica_validity_factor: c.int("cluster-replica-validity-factor").max(0) as u64,
            repl_ping_replica_period_s: c.int("repl-ping-replica-period").max(1) as u64,
            require_full_coverage: c.bool("cluster-require-full-coverage"),
            allow_reads_when_down: c.bool("cluster-allow-reads-when-down"),
            migration_barrier: c.int("cluster-migration-barrier").max(0) as u64,
            allow_replica_migration: c.bool("cluster-allow-replica-migration"),
            replica_no_failover: c.bool("cluster-replica-no-failover"),
            announce_ip: c
                .get("cluster-announce-ip")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            announce_hostname: c
                .get("cluster-announce-hostname")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            port,
            cport,
            pport,
            planted: self
                .rest
                .cluster
                .as_ref()
                .map(|s| s.config.planted)
                .unwrap_or_default(),
        }
    }

    /// Re-reads the cluster tunables after CONFIG SET.
    pub fn refresh_cluster_config(&mut self) {
        if self.rest.cluster.is_some() {
            let cfg = self.cluster_config();
            if let Some(s) = self.rest.cluster.as_mut() {
                s.config = cfg;
            }
        }
    }

    pub fn count_error(&mut self, reply: &Reply) {
        let code = match reply {
            Reply::Error(text) => text.split(' ').next().unwrap_or("ERR").to_string(),
            Reply::ErrorBytes(b) => {
                let end = b.iter().position(|&c| c == b' ').unwrap_or(b.len());
                String::from_utf8_lossy(&b[..end]).into_owned()
            }
            _ => return,
        };
        if std::mem::take(&mut self.rest.stats.skip_error_count) {
            return;
        }
        self.rest.stats.total_error_replies += 1;
        *self.rest.stats.errors.entry(code).or_default() += 1;
    }

    /// One background step (every 100 ms, Redis's serverCron at hz 10): active expiry.
    pub fn cron(&mut self) {
        self.rest.hub.push_hard_limit =
            self.rest.config.obuf.get(crate::limits::Class::Pubsub).hard;
        self.rest.repl.replica_hard_limit = self
            .rest
            .config
            .obuf
            .get(crate::limits::Class::Replica)
            .hard;
        // Background saves and rewrites, save points, AOF fsync and retries.
        crate::persist::cron(self);
        let used = crate::evict::used_memory(&self.db);
        self.rest.stats.used_memory_peak = self.rest.stats.used_memory_peak.max(used);
        let now_ms = self.rest.clock.mono_ms();
        self.rest.migrate.close_idle(now_ms);
        crate::atomic::import::cron(&mut self.db, &mut self.rest);
        crate::atomic::handoff::settle(&mut self.db, &mut self.rest);
        // Only a master expires keys actively; a replica waits for its master's DELs.
        if self.rest.active_expire_enabled
            && !self.rest.repl.is_replica()
            && self.rest.client_pause.until_ms <= now_ms
        {
            let now = self.rest.clock.unix_ms();
            // Watched keys active expiry may delete (a deletion touches their watchers).
            let expiring: Vec<Bytes> = if self.rest.watches.is_empty() {
                Vec::new()
            } else {
                self.rest
                    .watches
                    .keys()
                    .filter(|k| {
                        self.db
                            .peek(k)
                            .is_some_and(|e| e.expire_ms().is_some_and(|t| t <= now))
                    })
                    .cloned()
                    .collect()
            };
            let expired = self.db.active_expire(now, 200);
            for k in expiring {
                if self.db.peek(&k).is_none() {
                    self.rest.watches.touch(&k, false);
                }
            }
            self.rest.stats.expired_keys += expired as u64;
            self.view().propagate_expired();
        }
        // A master with replicas pings them through the stream every repl-ping-replica-period.
        let now = self.rest.clock.mono_ms();
        let period_ms = self.rest.config.int("repl-ping-replica-period").max(1) as u64 * 1000;
        if !self.rest.repl.is_replica()
            && !self.rest.repl.replicas.is_empty()
            && now.saturating_sub(self.rest.repl_last_ping_ms) >= period_ms
        {
            self.rest.repl_last_ping_ms = now;
            self.rest.repl.propagate(&[b"PING"]);
        }
    }

    /// Writes a log line through the node's logger.
    pub fn log(&self, level: Level, msg: &str) {
        self.rest.logger.log(level, self.rest.clock.unix_ms(), msg);
    }
}

/// Whether a client's open transaction holds a write command (Redis's mstate.cmd_flags).
fn queued_write(client: &Client) -> bool {
    client.multi.as_ref().is_some_and(|q| {
        q.iter()
            .filter_map(|a| a.first().and_then(|n| cmd::lookup(n)))
            .any(|s| s.is_write())
    })
}

/// `ERR unknown command 'FOO', with args beginning with: 'a' 'b' ` as Redis words it: the name
/// cut at 128 bytes, then each argument quoted and followed by a space while the argument text
/// is shorter than 128 bytes, each cut to what is left of those 128. Client bytes are echoed as
/// they are (Redis does not require UTF-8).
fn unknown_command_reply(argv: &[Bytes]) -> Reply {
    let mut args: Vec<u8> = Vec::new();
    for arg in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(&cmd::error::quote_arg_bytes(arg, room));
        args.extend_from_slice(b"' ");
    }
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(&cmd::error::quote_arg_bytes(&argv[0], 128));
    text.extend_from_slice(b"', with args beginning with: ");
    text.extend_from_slice(&args);
    Reply::ErrorBytes(Bytes::from(text))
}

/// Helpers for unit tests of commands: a node with default config and one client.
pub mod testing {
    use super::*;

    /// A node and a client to run commands through the real dispatcher.
    pub struct TestNode {
        pub node: Node,
        pub client: Client,
    }

    impl Default for TestNode {
        fn default() -> Self {
            Self::new()
        }
    }

    impl TestNode {
        pub fn new() -> TestNode {
            Self::with_config(Config::default())
        }

        pub fn with_config(config: Config) -> TestNode {
            let mut node = Node::new(
                config,
                Arc::new(Clock::new()),
                Arc::new(Logger::silent()),
                42,
                Arc::new(crate::storage::MemStorage::new()),
            );
            if node.rest.config.cluster_enabled {
                if let Err(e) = node.start_cluster() {
                    panic!("test node cluster start: {e}");
                }
            }
            let client = node.connect_client("127.0.0.1:50000".into(), "127.0.0.1:6379".into());
            TestNode { node, client }
        }

        /// Runs a command given as words.
        pub fn run(&mut self, words: &[&str]) -> Reply {
            let argv: Vec<Bytes> = words
                .iter()
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect();
            self.node.execute(&mut self.client, &argv)
        }

        /// Runs a command and returns its RESP2 encoding as text (for exact comparisons).
        pub fn run_text(&mut self, words: &[&str]) -> String {
            let reply = self.run(words);
            String::from_utf8_lossy(&reply.to_bytes(self.client.proto)).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestNode;

    #[test]
    fn unknown_command_text_matches_redis() {
        let mut t = TestNode::new();
        assert_eq!(
            t.run_text(&["FOO"]),
            "-ERR unknown command 'FOO', with args beginning with: \r\n"
        );
        assert_eq!(
            t.run_text(&["FOO", "bar"]),
            "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n"
        );
    }
}

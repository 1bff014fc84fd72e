//! Configuration the way redis-server takes it: an optional redis.conf-style file, then
//! `--name value ...` flags, then CONFIG GET / SET at run time.
//!
//! Every option lives in one table ([`OPTIONS`]) with its kind and redis-server's default, so
//! CONFIG GET answers for all of them with the same names and value texts Redis uses. Options the
//! node reads on hot paths are also kept typed in [`Config`]'s fields, re-derived on every change.

use std::collections::BTreeMap;
use std::fmt;

/// What kind of value an option takes; decides parsing and the CONFIG GET text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// A signed integer within bounds.
    Int { min: i64, max: i64 },
    /// Bytes with optional unit (`512mb`, `1gb`, `64k`); printed as a plain number.
    Memory,
    /// Free text.
    Str,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// The `save` option: pairs of `<seconds> <changes>`, or empty.
    Save,
    /// `notify-keyspace-events`: class letters (`crate::notify`), kept in canonical order.
    KeyspaceEvents,
}

/// One option of the table.
#[derive(Debug, Clone, Copy)]
pub struct OptSpec {
    pub name: &'static str,
    /// Old names still accepted (e.g. `cluster-slave-validity-factor`).
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// redis-server 7.0's default, as CONFIG GET prints it.
    pub default: &'static str,
    /// False for options that only a restart can change (CONFIG SET refuses them).
    pub mutable: bool,
}

const fn opt(name: &'static str, kind: Kind, default: &'static str) -> OptSpec {
    OptSpec {
        name,
        aliases: &[],
        kind,
        default,
        mutable: true,
    }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> OptSpec {
    OptSpec {
        name,
        aliases: &[],
        kind,
        default,
        mutable: false,
    }
}

const fn alias(mut o: OptSpec, aliases: &'static [&'static str]) -> OptSpec {
    o.aliases = aliases;
    o
}

const INT: Kind = Kind::Int {
    min: 0,
    max: i64::MAX,
};
const PORT: Kind = Kind::Int { min: 0, max: 65535 };
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Every option keyslot accepts, sorted by nothing in particular; lookups go through a map.
pub const OPTIONS: &[OptSpec] = &[
    fixed("port", PORT, "6379"),
    fixed("bind", Kind::Str, "* -::*"),
    opt("dir", Kind::Str, ""),
    opt("requirepass", Kind::Str, ""),
    opt("masterauth", Kind::Str, ""),
    opt("masteruser", Kind::Str, ""),
    fixed("aclfile", Kind::Str, ""),
    opt("acllog-max-len", INT, "128"),
    opt(
        "maxclients",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
        "10000",
    ),
    opt("timeout", INT, "0"),
    opt("tcp-keepalive", INT, "300"),
    opt("loglevel", Kind::Enum(LOGLEVELS), "notice"),
    fixed("logfile", Kind::Str, ""),
    fixed("daemonize", Kind::Bool, "no"),
    fixed(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
    fixed("pidfile", Kind::Str, ""),
    opt("protected-mode", Kind::Bool, "yes"),
    fixed("cluster-enabled", Kind::Bool, "no"),
    fixed("cluster-config-file", Kind::Str, "nodes.conf"),
    opt(
        "cluster-node-timeout",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
        "15000",
    ),
    fixed("cluster-port", PORT, "0"),
    // TLS (crate::tls): read once at startup, so a restart applies a change.
    fixed("tls-port", PORT, "0"),
    fixed("tls-cert-file", Kind::Str, ""),
    fixed("tls-key-file", Kind::Str, ""),
    fixed("tls-key-file-pass", Kind::Str, ""),
    fixed("tls-client-cert-file", Kind::Str, ""),
    fixed("tls-client-key-file", Kind::Str, ""),
    fixed("tls-client-key-file-pass", Kind::Str, ""),
    fixed("tls-dh-params-file", Kind::Str, ""),
    fixed("tls-ca-cert-file", Kind::Str, ""),
    fixed("tls-ca-cert-dir", Kind::Str, ""),
    fixed(
        "tls-auth-clients",
        Kind::Enum(&["yes", "no", "optional"]),
        "yes",
    ),
    fixed("tls-replication", Kind::Bool, "no"),
    fixed("tls-cluster", Kind::Bool, "no"),
    fixed("tls-protocols", Kind::Str, ""),
    fixed("tls-ciphers", Kind::Str, ""),
    fixed("tls-ciphersuites", Kind::Str, ""),
    fixed("tls-prefer-server-ciphers", Kind::Bool, "no"),
    fixed("tls-session-caching", Kind::Bool, "yes"),
    fixed("tls-session-cache-size", INT, "20480"),
    fixed("tls-session-cache-timeout", INT, "300"),
    alias(
        opt("cluster-replica-validity-factor", INT, "10"),
        &["cluster-slave-validity-factor"],
    ),
    opt("cluster-require-full-coverage", Kind::Bool, "yes"),
    opt("cluster-allow-reads-when-down", Kind::Bool, "no"),
    opt("cluster-allow-pubsubshard-when-down", Kind::Bool, "yes"),
    opt("cluster-migration-barrier", INT, "1"),
    opt("cluster-allow-replica-migration", Kind::Bool, "yes"),
    alias(
        opt("cluster-replica-no-failover", Kind::Bool, "no"),
        &["cluster-slave-no-failover"],
    ),
    opt("cluster-announce-ip", Kind::Str, ""),
    opt("cluster-announce-port", PORT, "0"),
    opt("cluster-announce-bus-port", PORT, "0"),
    opt("cluster-announce-tls-port", PORT, "0"),
    opt("cluster-announce-hostname", Kind::Str, ""),
    opt(
        "cluster-preferred-endpoint-type",
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
    ),
    opt("cluster-link-sendbuf-limit", INT, "0"),
    opt("appendonly", Kind::Bool, "no"),
    opt(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    fixed("appendfilename", Kind::Str, "appendonly.aof"),
    fixed("appenddirname", Kind::Str, "appendonlydir"),
    opt("auto-aof-rewrite-percentage", INT, "100"),
    opt("auto-aof-rewrite-min-size", Kind::Memory, "67108864"),
    opt("aof-load-truncated", Kind::Bool, "yes"),
    opt("aof-use-rdb-preamble", Kind::Bool, "yes"),
    opt("aof-timestamp-enabled", Kind::Bool, "no"),
    opt("aof-rewrite-incremental-fsync", Kind::Bool, "yes"),
    opt("no-appendfsync-on-rewrite", Kind::Bool, "no"),
    opt("rdb-save-incremental-fsync", Kind::Bool, "yes"),
    opt("rdb-del-sync-files", Kind::Bool, "no"),
    opt("save", Kind::Save, "3600 1 300 100 60 10000"),
    opt("dbfilename", Kind::Str, "dump.rdb"),
    opt("rdbcompression", Kind::Bool, "yes"),
    opt("rdbchecksum", Kind::Bool, "yes"),
    opt("stop-writes-on-bgsave-error", Kind::Bool, "yes"),
    opt("proto-max-bulk-len", Kind::Memory, "536870912"),
    opt("stream-node-max-bytes", Kind::Memory, "4096"),
    opt("stream-node-max-entries", INT, "100"),
    opt("hll-sparse-max-bytes", Kind::Memory, "3000"),
    // The encoding thresholds of Redis 7.0: accepted and shown (the test suites set them);
    // keyslot keeps one representation per type, so they change no behaviour.
    alias(
        opt("hash-max-listpack-entries", Kind::Memory, "128"),
        &["hash-max-ziplist-entries"],
    ),
    alias(
        opt("hash-max-listpack-value", Kind::Memory, "64"),
        &["hash-max-ziplist-value"],
    ),
    alias(
        opt(
            "list-max-listpack-size",
            Kind::Int {
                min: i64::MIN,
                max: i64::MAX,
            },
            "-2",
        ),
        &["list-max-ziplist-size"],
    ),
    opt("list-compress-depth", INT, "0"),
    opt("set-max-intset-entries", Kind::Memory, "512"),
    alias(
        opt("zset-max-listpack-entries", Kind::Memory, "128"),
        &["zset-max-ziplist-entries"],
    ),
    alias(
        opt("zset-max-listpack-value", Kind::Memory, "64"),
        &["zset-max-ziplist-value"],
    ),
    opt("client-query-buffer-limit", Kind::Memory, "1073741824"),
    opt("maxmemory", Kind::Memory, "0"),
    // Accepted and shown (CONFIG GET maxmemory* answers what Redis 7.0 does); client memory is
    // not counted here, so it evicts no client. Percentages are not parsed.
    opt("maxmemory-clients", Kind::Memory, "0"),
    opt(
        "maxmemory-policy",
        Kind::Enum(MAXMEMORY_POLICIES),
        "noeviction",
    ),
    opt(
        "maxmemory-samples",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        "5",
    ),
    opt(
        "maxmemory-eviction-tenacity",
        Kind::Int { min: 0, max: 100 },
        "10",
    ),
    alias(
        opt(
            "min-replicas-to-write",
            Kind::Int {
                min: 0,
                max: i32::MAX as i64,
            },
            "0",
        ),
        &["min-slaves-to-write"],
    ),
    alias(
        opt(
            "min-replicas-max-lag",
            Kind::Int {
                min: 0,
                max: i32::MAX as i64,
            },
            "10",
        ),
        &["min-slaves-max-lag"],
    ),
    alias(
        opt("replica-ignore-maxmemory", Kind::Bool, "yes"),
        &["slave-ignore-maxmemory"],
    ),
    opt("repl-backlog-size", Kind::Memory, "1048576"),
    alias(
        opt(
            "repl-ping-replica-period",
            Kind::Int {
                min: 1,
                max: i64::MAX,
            },
            "10",
        ),
        &["repl-ping-slave-period"],
    ),
    opt(
        "repl-timeout",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
        "60",
    ),
    opt("repl-diskless-sync", Kind::Bool, "yes"),
    opt("repl-diskless-sync-delay", INT, "5"),
    opt("repl-diskless-sync-max-replicas", INT, "0"),
    opt(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    alias(
        opt("replica-read-only", Kind::Bool, "yes"),
        &["slave-read-only"],
    ),
    alias(
        opt("replica-serve-stale-data", Kind::Bool, "yes"),
        &["slave-serve-stale-data"],
    ),
    alias(opt("replica-priority", INT, "100"), &["slave-priority"]),
    fixed(
        "enable-debug-command",
        Kind::Enum(&["yes", "no", "local"]),
        "no",
    ),
    fixed(
        "enable-protected-configs",
        Kind::Enum(&["yes", "no", "local"]),
        "no",
    ),
    fixed(
        "enable-module-command",
        Kind::Enum(&["yes", "no", "local"]),
        "no",
    ),
    opt("hz", Kind::Int { min: 1, max: 500 }, "10"),
    opt(
        "databases",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
        "16",
    ),
    opt("always-show-logo", Kind::Bool, "no"),
    opt("notify-keyspace-events", Kind::KeyspaceEvents, ""),
    opt("latency-monitor-threshold", INT, "0"),
    opt(
        "slowlog-log-slower-than",
        Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        "10000",
    ),
    opt("slowlog-max-len", INT, "128"),
    opt("lazyfree-lazy-eviction", Kind::Bool, "no"),
    opt("lazyfree-lazy-expire", Kind::Bool, "no"),
    opt("lazyfree-lazy-server-del", Kind::Bool, "no"),
    opt("lazyfree-lazy-user-del", Kind::Bool, "no"),
    opt("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    alias(
        opt("busy-reply-threshold", INT, "5000"),
        &["lua-time-limit"],
    ),
    opt("activerehashing", Kind::Bool, "yes"),
    opt("active-expire-effort", Kind::Int { min: 1, max: 10 }, "1"),
    opt(
        "propagation-error-behavior",
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
    ),
    opt("loading-process-events-interval-bytes", INT, "2097152"),
    opt(
        "key-load-delay",
        Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        "0",
    ),
    opt("tcp-backlog", INT, "511"),
    opt("io-threads", Kind::Int { min: 1, max: 128 }, "1"),
    opt(
        "lfu-log-factor",
        Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "10",
    ),
    opt(
        "lfu-decay-time",
        Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "1",
    ),
    opt(
        "client-output-buffer-limit",
        Kind::Str,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
];

/// A bad option or value, with the text Redis answers it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Bad directive or wrong number of arguments")]
    UnknownOption(String),
    #[error("argument must be 'yes' or 'no'")]
    NotBool,
    #[error("argument couldn't be parsed into an integer")]
    NotInteger,
    #[error("argument must be between {0} and {1} inclusive")]
    OutOfRange(i64, i64),
    #[error("argument must be a memory value")]
    NotMemory,
    #[error("argument(s) must be one of the following: {0}")]
    NotInEnum(String),
    #[error("Invalid save parameters")]
    BadSave,
    #[error("{}", crate::notify::INVALID_CLASS)]
    BadKeyspaceEvents,
    #[error("wrong number of arguments")]
    WrongArgCount,
    #[error("can't set immutable config")]
    Immutable,
    #[error("unbalanced quotes in configuration line")]
    UnbalancedQuotes,
    #[error("{0}")]
    Obuf(crate::limits::ObufError),
    /// A `user` directive Redis would refuse.
    #[error("{0}")]
    BadUser(String),
}

/// Where a config file error is, for the startup message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line_number: usize,
    pub line: String,
    pub error: ConfigError,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}",
            self.line_number, self.line, self.error
        )
    }
}

/// The node's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Canonical name -> value text, for every option of [`OPTIONS`].
    values: BTreeMap<&'static str, String>,
    /// The config file given at startup, if any (CONFIG REWRITE writes it back).
    pub file: Option<std::path::PathBuf>,
    // Typed copies of the options the node reads often; see `refresh`.
    pub port: u16,
    pub cluster_enabled: bool,
    pub cluster_node_timeout_ms: u64,
    pub proto_max_bulk_len: u64,
    /// A sparse HyperLogLog that would grow past this many bytes turns dense.
    pub hll_sparse_max_bytes: usize,
    pub client_query_buffer_limit: u64,
    pub requirepass: Option<String>,
    /// `user <name> <rule>...` directives of the config file and flags, in order (the users
    /// they define are created at startup; see `crate::acl`).
    pub users: Vec<Vec<String>>,
    pub maxclients: u64,
    pub timeout_s: u64,
    pub protected_mode: bool,
    /// `client-output-buffer-limit`, per client class.
    pub obuf: crate::limits::ObufLimits,
    /// `maxmemory` in bytes, `u64::MAX` when 0 (no limit): the check before every command is
    /// one comparison.
    pub maxmemory_limit: u64,
    pub maxmemory_policy: crate::evict::Policy,
    pub maxmemory_samples: usize,
    pub lfu_log_factor: u32,
    pub lfu_decay_time_minutes: u32,
    pub replica_ignore_maxmemory: bool,
    /// `min-replicas-to-write` and `min-replicas-max-lag` (seconds): a master refuses writes
    /// with -NOREPLICAS while fewer replicas acknowledged within the lag (0: no check).
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag_s: u64,
    /// `notify-keyspace-events` as `crate::notify` class bits (0: off, the default).
    pub notify_flags: u32,
}

impl Default for Config {
    fn default() -> Self {
        let mut c = Config {
            values: OPTIONS
                .iter()
                .map(|o| (o.name, o.default.to_string()))
                .collect(),
            file: None,
            port: 6379,
            cluster_enabled: false,
            cluster_node_timeout_ms: 15000,
            proto_max_bulk_len: 512 << 20,
            hll_sparse_max_bytes: 3000,
            client_query_buffer_limit: 1 << 30,
            requirepass: None,
            users: Vec::new(),
            maxclients: 10000,
            timeout_s: 0,
            protected_mode: true,
            obuf: crate::limits::ObufLimits::default(),
            maxmemory_limit: u64::MAX,
            maxmemory_policy: crate::evict::Policy::NoEviction,
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time_minutes: 1,
            replica_ignore_maxmemory: true,
            min_replicas_to_write: 0,
            min_replicas_max_lag_s: 10,
            notify_flags: 0,
        };
        c.refresh();
        c
    }
}

/// Finds an option by name or alias, case-insensitively.
pub fn find_option(name: &str) -> Option<&'static OptSpec> {
    let lower = name.to_ascii_lowercase();
    OPTIONS
        .iter()
        .find(|o| o.name == lower || o.aliases.contains(&lower.as_str()))
}

/// Parses a memory amount as Redis's memtoll: a number with optional k/kb/m/mb/g/gb
/// (k = 1000, kb = 1024), case-insensitive.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mul)
}

/// Checks a value for an option and returns its canonical text.
fn normalize(spec: &OptSpec, args: &[String]) -> Result<String, ConfigError> {
    let joined = args.join(" ");
    match spec.kind {
        Kind::Bool => match joined.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err(ConfigError::NotBool),
        },
        Kind::Int { min, max } => {
            let n: i64 = joined.parse().map_err(|_| ConfigError::NotInteger)?;
            if n < min || n > max {
                return Err(ConfigError::OutOfRange(min, max));
            }
            Ok(n.to_string())
        }
        Kind::Memory => parse_memory(&joined)
            .map(|n| n.to_string())
            .ok_or(ConfigError::NotMemory),
        Kind::Str => Ok(joined),
        Kind::Enum(words) => {
            let lower = joined.to_ascii_lowercase();
            if words.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(ConfigError::NotInEnum(words.join(", ")))
            }
        }
        Kind::KeyspaceEvents => {
            if args.len() != 1 {
                return Err(ConfigError::WrongArgCount);
            }
            crate::notify::parse_flags(&args[0])
                .map(crate::notify::format_flags)
                .ok_or(ConfigError::BadKeyspaceEvents)
        }
        Kind::Save => {
            let parts: Vec<&str> = joined.split_whitespace().collect();
            if !parts.len().is_multiple_of(2) || parts.iter().any(|p| p.parse::<u64>().is_err()) {
                return Err(ConfigError::BadSave);
            }
            Ok(parts.join(" "))
        }
    }
}

impl Config {
    /// Builds a configuration from redis-server's command line: `[configfile] [--name value...]`.
    /// Returns the usage error text on failure.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        Config::from_args_over(Config::default(), args)
    }

    /// [`Config::from_args`] over other defaults (a container image's, see `main.rs`).
    pub fn from_args_over(defaults: Config, args: &[String]) -> Result<Config, String> {
        let mut config = defaults;
        let mut rest = args;
        if let Some(first) = rest.first() {
            if !first.starts_with("--") {
                let path = std::path::PathBuf::from(first);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    format!("Fatal error, can't open config file '{}': {}", first, e)
                })?;
                config.load_text(&text).map_err(|e| e.to_string())?;
                config.file = Some(path);
                rest = &rest[1..];
            }
        }
        // The flags become config lines, as redis-server does: `--save ''` is `save ""`.
        let mut lines: Vec<(String, Vec<String>)> = Vec::new();
        for arg in rest {
            if let Some(name) = arg.strip_prefix("--") {
                lines.push((name.to_string(), Vec::new()));
            } else if let Some((_, values)) = lines.last_mut() {
                values.push(arg.clone());
            } else {
                return Err(format!("Invalid argument '{}'", arg));
            }
        }
        let mut saves_seen = false;
        for (i, (name, values)) in lines.iter().enumerate() {
            let result = if name.eq_ignore_ascii_case("save") {
                let r = config.apply_save_line(values, saves_seen);
                saves_seen = true;
                r
            } else if name.eq_ignore_ascii_case("user") {
                config.add_user_line(values)
            } else {
                config.set_startup(name, values)
            };
            if let Err(error) = result {
                let line = format!("{} {}", name, values.join(" "));
                return Err(FileError {
                    line_number: i + 1,
                    line: line.trim_end().to_string(),
                    error,
                }
                .to_string());
            }
        }
        Ok(config)
    }

    /// Applies a redis.conf text: one directive per line, `#` comments, quoted arguments.
    pub fn load_text(&mut self, text: &str) -> Result<(), FileError> {
        let mut saves_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |error| FileError {
                line_number: i + 1,
                line: line.to_string(),
                error,
            };
            let words =
                split_config_line(line).ok_or_else(|| fail(ConfigError::UnbalancedQuotes))?;
            let Some((name, values)) = words.split_first() else {
                continue;
            };
            let result = if name.eq_ignore_ascii_case("save") {
                let r = self.apply_save_line(values, saves_seen);
                saves_seen = true;
                r
            } else if name.eq_ignore_ascii_case("include")
                || name.eq_ignore_ascii_case("rename-command")
            {
                Ok(())
            } else if name.eq_ignore_ascii_case("user") {
                self.add_user_line(values)
            } else {
                self.set_startup(name, values)
            };
            result.map_err(fail)?;
        }
        Ok(())
    }

    /// A `user <name> <rule>...` directive: checked now (Redis refuses a bad one while reading
    /// the file), applied when the node starts.
    fn add_user_line(&mut self, values: &[String]) -> Result<(), ConfigError> {
        let Some((name, rules)) = values.split_first() else {
            return Err(ConfigError::BadUser("Unknown user declaration".into()));
        };
        let rules: Vec<bytes::Bytes> = rules
            .iter()
            .map(|r| bytes::Bytes::copy_from_slice(r.as_bytes()))
            .collect();
        let mut acl = crate::acl::Acl::default();
        if self.users.iter().any(|u| u.first() == Some(name)) {
            return Err(ConfigError::BadUser(
                "Duplicate user found. A user can only be defined once in config files".into(),
            ));
        }
        acl.set_user(name.as_bytes(), &rules).map_err(|e| {
            ConfigError::BadUser(
                e.strip_prefix("Error in ACL SETUSER modifier ")
                    .map_or(e.clone(), |rest| {
                        format!("Error in user declaration {rest}")
                    }),
            )
        })?;
        self.users.push(values.to_vec());
        Ok(())
    }

    /// Several `save` lines accumulate; the first one replaces the default.
    fn apply_save_line(&mut self, values: &[String], append: bool) -> Result<(), ConfigError> {
        let spec = find_option("save").ok_or(ConfigError::BadSave)?;
        let text = normalize(spec, values)?;
        let current = self.values.get("save").cloned().unwrap_or_default();
        let merged = if append && !current.is_empty() && !text.is_empty() {
            format!("{} {}", current, text)
        } else {
            text
        };
        self.values.insert("save", merged);
        Ok(())
    }

    /// Sets an option at startup (immutable ones allowed).
    pub fn set_startup(&mut self, name: &str, values: &[String]) -> Result<(), ConfigError> {
        let spec = find_option(name).ok_or_else(|| ConfigError::UnknownOption(name.to_string()))?;
        if values.is_empty() && !matches!(spec.kind, Kind::Str | Kind::Save) {
            return Err(ConfigError::UnknownOption(name.to_string()));
        }
        let text = self.merge(spec, normalize(spec, values)?)?;
        self.values.insert(spec.name, text);
        self.note_keyspace_events(spec, values);
        self.refresh();
        Ok(())
    }

    /// Options whose new value combines with the current one: `client-output-buffer-limit`
    /// sets only the classes it names.
    fn merge(&self, spec: &OptSpec, text: String) -> Result<String, ConfigError> {
        if spec.name != "client-output-buffer-limit" {
            return Ok(text);
        }
        let mut limits = self.obuf;
        limits.apply(&text).map_err(ConfigError::Obuf)?;
        Ok(limits.text())
    }

    /// CONFIG SET of one option.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let spec = find_option(name).ok_or_else(|| ConfigError::UnknownOption(name.to_string()))?;
        if !spec.mutable {
            return Err(ConfigError::Immutable);
        }
        let args: Vec<String> = if matches!(spec.kind, Kind::Save) {
            value.split_whitespace().map(str::to_string).collect()
        } else {
            vec![value.to_string()]
        };
        let text = self.merge(spec, normalize(spec, &args)?)?;
        self.values.insert(spec.name, text);
        self.note_keyspace_events(spec, &args);
        self.refresh();
        Ok(())
    }

    /// The value text of an option, by canonical name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A boolean option.
    pub fn bool(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    /// An integer (or memory) option; 0 when unset or unparsable.
    pub fn int(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// Every (name, value) whose name matches a glob pattern, sorted by name (CONFIG GET).
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        for spec in OPTIONS {
            let names = std::iter::once(spec.name).chain(spec.aliases.iter().copied());
            for name in names {
                if crate::glob::matches(pattern, name.as_bytes(), true) {
                    if let Some(v) = self.values.get(spec.name) {
                        out.push((name, v.as_str()));
                    }
                }
            }
        }
        out.sort_by_key(|(n, _)| *n);
        out.dedup_by_key(|(n, _)| *n);
        out
    }

    /// Re-derives the typed fields from the value texts.
    fn refresh(&mut self) {
        self.port = self.int("port") as u16;
        self.cluster_enabled = self.bool("cluster-enabled");
        self.cluster_node_timeout_ms = self.int("cluster-node-timeout").max(1) as u64;
        self.proto_max_bulk_len = self.int("proto-max-bulk-len").max(1) as u64;
        self.hll_sparse_max_bytes = self.int("hll-sparse-max-bytes").max(0) as usize;
        self.client_query_buffer_limit = self.int("client-query-buffer-limit").max(1) as u64;
        self.requirepass = self
            .get("requirepass")
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        self.maxclients = self.int("maxclients").max(1) as u64;
        self.timeout_s = self.int("timeout").max(0) as u64;
        self.protected_mode = self.bool("protected-mode");
        if let Ok(obuf) =
            crate::limits::ObufLimits::parse(self.get("client-output-buffer-limit").unwrap_or(""))
        {
            self.obuf = obuf;
        }
        self.maxmemory_limit = match self.int("maxmemory").max(0) as u64 {
            0 => u64::MAX,
            n => n,
        };
        self.maxmemory_policy =
            crate::evict::Policy::parse(self.get("maxmemory-policy").unwrap_or("noeviction"))
                .unwrap_or(crate::evict::Policy::NoEviction);
        // Redis accepts up to INT_MAX; more than 1024 samples per round buys nothing.
        self.maxmemory_samples = self.int("maxmemory-samples").clamp(1, 1024) as usize;
        self.lfu_log_factor = self.int("lfu-log-factor").clamp(0, i32::MAX as i64) as u32;
        self.lfu_decay_time_minutes = self.int("lfu-decay-time").clamp(0, i32::MAX as i64) as u32;
        self.replica_ignore_maxmemory = self.bool("replica-ignore-maxmemory");
        self.min_replicas_to_write = self.int("min-replicas-to-write").max(0) as u64;
        self.min_replicas_max_lag_s = self.int("min-replicas-max-lag").max(0) as u64;
    }

    /// Keeps the class bits of a new `notify-keyspace-events` value: from the value as given,
    /// not from its CONFIG GET text, which (as Redis's) drops `n` when `A` is shown.
    fn note_keyspace_events(&mut self, spec: &OptSpec, given: &[String]) {
        if spec.kind == Kind::KeyspaceEvents {
            self.notify_flags = given
                .first()
                .and_then(|v| crate::notify::parse_flags(v))
                .unwrap_or(0);
        }
    }

    /// How keys' access bits are kept under the configured policy (`db::access`).
    pub fn access(&self) -> crate::db::Access {
        self.maxmemory_policy
            .access(self.lfu_log_factor, self.lfu_decay_time_minutes)
    }

    /// The text of a config file holding every option that differs from its default (CONFIG
    /// REWRITE).
    pub fn rewrite_text(&self) -> String {
        let mut out = String::from("# Generated by keyslot CONFIG REWRITE\n");
        for spec in OPTIONS {
            let v = self.values.get(spec.name).map(String::as_str).unwrap_or("");
            if v != spec.default {
                if v.is_empty() || v.contains(' ') && !matches!(spec.kind, Kind::Save) {
                    out.push_str(&format!("{} \"{}\"\n", spec.name, v));
                } else if matches!(spec.kind, Kind::Save) {
                    let parts: Vec<&str> = v.split(' ').collect();
                    for pair in parts.chunks(2) {
                        out.push_str(&format!("save {}\n", pair.join(" ")));
                    }
                } else {
                    out.push_str(&format!("{} {}\n", spec.name, v));
                }
            }
        }
        out
    }
}

/// Splits a config line into words as redis.conf does: spaces separate, double quotes allow
/// escapes (`\n`, `\"`, `\xHH`), single quotes are literal. None on unbalanced quotes.
pub fn split_config_line(line: &str) -> Option<Vec<String>> {
    crate::resp::request::split_args(line.as_bytes()).map(|words| {
        words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn command_line_like_redis_server() {
        let c = Config::from_args(&args(
            "--port 7000 --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 --dir /tmp",
        ))
        .unwrap();
        assert_eq!(c.port, 7000);
        assert!(c.cluster_enabled);
        assert_eq!(c.cluster_node_timeout_ms, 5000);
        assert_eq!(c.get("dir"), Some("/tmp"));
    }

    #[test]
    fn unknown_options_are_named() {
        let e = Config::from_args(&args("--port 7000 --bogus 1")).unwrap_err();
        assert!(e.contains("bogus 1"), "{e}");
        assert!(e.contains("Bad directive"), "{e}");
    }

    #[test]
    fn memory_units_and_save() {
        let mut c = Config::default();
        c.set("proto-max-bulk-len", "1mb").unwrap();
        assert_eq!(c.proto_max_bulk_len, 1 << 20);
        c.set("save", "").unwrap();
        assert_eq!(c.get("save"), Some(""));
        let c = Config::from_args(&["--save".into(), "".into()]).unwrap();
        assert_eq!(c.get("save"), Some(""));
        assert_eq!(parse_memory("64k"), Some(64000));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
    }

    #[test]
    fn maxmemory_options() {
        let c = Config::default();
        assert_eq!(c.maxmemory_limit, u64::MAX, "0 is no limit");
        assert_eq!(c.get("maxmemory-eviction-tenacity"), Some("10"));
        assert!(c.replica_ignore_maxmemory);
        let mut c = Config::from_args(&args(
            "--maxmemory 2mb --maxmemory-policy allkeys-lfu --lfu-log-factor 3",
        ))
        .unwrap();
        assert_eq!(c.maxmemory_limit, 2 << 20);
        assert_eq!(c.get("maxmemory"), Some("2097152"));
        assert_eq!(c.maxmemory_policy, crate::evict::Policy::AllkeysLfu);
        assert_eq!(
            c.access(),
            crate::db::Access::Lfu {
                log_factor: 3,
                decay_minutes: 1
            }
        );
        c.set("maxmemory-policy", "VOLATILE-TTL").unwrap();
        assert_eq!(c.maxmemory_policy, crate::evict::Policy::VolatileTtl);
        c.set("slave-ignore-maxmemory", "no").unwrap();
        assert!(!c.replica_ignore_maxmemory);
        assert_eq!(
            c.set("maxmemory-samples", "0"),
            Err(ConfigError::OutOfRange(1, i32::MAX as i64))
        );
        c.load_text("maxmemory 100kb\nmaxmemory-policy allkeys-random\n")
            .unwrap();
        assert_eq!(c.maxmemory_limit, 102400);
        assert_eq!(c.maxmemory_policy, crate::evict::Policy::AllkeysRandom);
    }

    #[test]
    fn config_file_lines() {
        let mut c = Config::default();
        c.load_text(
            "# comment\nport 7001\nsave 900 1\nsave 300 10\ncluster-slave-validity-factor 0\n",
        )
        .unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.get("save"), Some("900 1 300 10"));
        assert_eq!(c.int("cluster-replica-validity-factor"), 0);
        let e = c.load_text("nosuch 1").unwrap_err();
        assert_eq!(e.line_number, 1);
    }

    #[test]
    fn notify_keyspace_events_like_redis() {
        let mut c = Config::default();
        assert_eq!(c.notify_flags, 0);
        c.load_text("notify-keyspace-events \"KEA\"\n").unwrap();
        assert_eq!(c.get("notify-keyspace-events"), Some("AKE"));
        assert_eq!(c.notify_flags, crate::notify::parse_flags("AKE").unwrap());
        c.set("notify-keyspace-events", "Elg").unwrap();
        assert_eq!(c.get("notify-keyspace-events"), Some("glE"));
        let e = c.set("notify-keyspace-events", "KEw").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        );
        assert_eq!(c.get("notify-keyspace-events"), Some("glE"));
        let e = c.load_text("notify-keyspace-events a").unwrap_err();
        assert_eq!(e.line_number, 1);
        c.set("notify-keyspace-events", "AKEn").unwrap();
        assert_eq!(c.get("notify-keyspace-events"), Some("AKE"));
        assert_ne!(c.notify_flags & crate::notify::NEW, 0);
        c.set("notify-keyspace-events", "").unwrap();
        assert_eq!(c.notify_flags, 0);
        assert!(c.rewrite_text().contains("") && !c.rewrite_text().contains("notify"));
    }
}

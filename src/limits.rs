//! Per-client resource limits: `client-output-buffer-limit`, the unauthenticated output cap,
//! and the protected-mode locality test.
//!
//! The connection task owns the pending output of its client, so it enforces these limits
//! itself (see `crate::connection`); this module holds the pure parts so they are unit-tested
//! without sockets.

/// Pending output an unauthenticated client may hold before it is closed. Redis added this cap
/// in 7.2.8 / 7.4.3 (CVE-2025-21605: a client that never authenticates and never reads could
/// grow its output buffer without bound with -NOAUTH replies); 7.0.15 has no such cap.
pub const UNAUTHENTICATED_OUTPUT_CAP: usize = 1024;

/// The client classes `client-output-buffer-limit` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

impl Class {
    fn parse(word: &str) -> Option<Class> {
        match word.to_ascii_lowercase().as_str() {
            "normal" => Some(Class::Normal),
            "slave" | "replica" => Some(Class::Replica),
            "pubsub" => Some(Class::Pubsub),
            _ => None,
        }
    }
}

/// One class's limit: 0 disables a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// The three classes' limits, indexed by [`Class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObufLimits(pub [ObufLimit; 3]);

/// Why a `client-output-buffer-limit` value was refused (Redis's texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ObufError {
    #[error("Wrong number of arguments in buffer limit configuration.")]
    Arity,
    #[error("Invalid client class specified in buffer limit configuration.")]
    Class,
    #[error("Error in hard, soft or soft_seconds setting in buffer limit configuration.")]
    Value,
}

impl ObufLimits {
    /// Parses the canonical text (`normal H S T slave H S T pubsub H S T`); classes it does not
    /// name keep no limit.
    pub fn parse(text: &str) -> Result<ObufLimits, ObufError> {
        let mut limits = ObufLimits::default();
        limits.apply(text)?;
        Ok(limits)
    }

    /// Applies `class hard soft seconds` groups over the current limits (CONFIG SET and the
    /// config file set only the classes they name, as Redis).
    pub fn apply(&mut self, text: &str) -> Result<(), ObufError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if !words.len().is_multiple_of(4) {
            return Err(ObufError::Arity);
        }
        let mut next = *self;
        for group in words.chunks(4) {
            let class = Class::parse(group[0]).ok_or(ObufError::Class)?;
            let hard = crate::config::parse_memory(group[1]).ok_or(ObufError::Value)?;
            let soft = crate::config::parse_memory(group[2]).ok_or(ObufError::Value)?;
            let soft_seconds: u64 = group[3].parse().map_err(|_| ObufError::Value)?;
            next.0[class as usize] = ObufLimit {
                hard,
                soft,
                soft_seconds,
            };
        }
        *self = next;
        Ok(())
    }

    /// The canonical text CONFIG GET answers (Redis names the replica class `slave`).
    pub fn text(&self) -> String {
        let names = ["normal", "slave", "pubsub"];
        let mut out = Vec::new();
        for (name, l) in names.iter().zip(self.0.iter()) {
            out.push(format!("{} {} {} {}", name, l.hard, l.soft, l.soft_seconds));
        }
        out.join(" ")
    }

    pub fn get(&self, class: Class) -> ObufLimit {
        self.0[class as usize]
    }
}

/// The soft-limit clock of one client: since when its pending output has been over the soft
/// limit (Redis's obuf_soft_limit_reached_time, in node milliseconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftClock {
    since_ms: Option<u64>,
}

impl SoftClock {
    /// Whether a client holding `pending` bytes must be closed now under `limit` (Redis's
    /// checkClientOutputBufferLimits: the hard limit at once, the soft one once it has held for
    /// more than `soft_seconds`).
    pub fn over(&mut self, limit: ObufLimit, pending: u64, now_ms: u64) -> bool {
        if limit.hard != 0 && pending >= limit.hard {
            return true;
        }
        if limit.soft != 0 && pending >= limit.soft {
            match self.since_ms {
                None => {
                    self.since_ms = Some(now_ms);
                    false
                }
                Some(t) => now_ms.saturating_sub(t) > limit.soft_seconds * 1000,
            }
        } else {
            self.since_ms = None;
            false
        }
    }

    /// Whether the soft clock runs (the connection then re-checks while its writes stall).
    pub fn running(&self) -> bool {
        self.since_ms.is_some()
    }
}

/// Redis's islocalClient: only the exact peers 127.0.0.1 and ::1 (and Unix sockets) are local;
/// another 127.x address is not.
pub fn is_local_peer(addr: &str) -> bool {
    let ip = match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => a.ip(),
        Err(_) => return addr.is_empty() || addr.starts_with('/'),
    };
    match ip {
        std::net::IpAddr::V4(v4) => v4 == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(v6) => {
            v6 == std::net::Ipv6Addr::LOCALHOST
                // An IPv4 client on a dual-stack socket shows as ::ffff:127.0.0.1.
                || v6.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
    }
}

/// Redis's protected-mode refusal, written before the connection is closed.
pub const PROTECTED_MODE_DENIED: &str = concat!(
    "-DENIED Redis is running in protected mode because protected ",
    "mode is enabled and no password is set for the default user. ",
    "In this mode connections are only accepted from the loopback interface. ",
    "If you want to connect from external computers to Redis you ",
    "may adopt one of the following solutions: ",
    "1) Just disable protected mode sending the command ",
    "'CONFIG SET protected-mode no' from the loopback interface ",
    "by connecting to Redis from the same host the server is ",
    "running, however MAKE SURE Redis is not publicly accessible ",
    "from internet if you do so. Use CONFIG REWRITE to make this ",
    "change permanent. ",
    "2) Alternatively you can just disable the protected mode by ",
    "editing the Redis configuration file, and setting the protected ",
    "mode option to 'no', and then restarting the server. ",
    "3) If you started the server manually just for testing, restart ",
    "it with the '--protected-mode no' option. ",
    "4) Setup a an authentication password for the default user. ",
    "NOTE: You only need to do one of the above things in order for ",
    "the server to start accepting connections from the outside.\r\n"
);

/// The refusal of a connection over `maxclients` (cluster mode names the bus links too).
pub fn maxclients_error(cluster: bool) -> &'static str {
    if cluster {
        "-ERR max number of clients + cluster connections reached\r\n"
    } else {
        "-ERR max number of clients reached\r\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_default_and_partial_set() {
        let mut l = ObufLimits::parse(
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        )
        .unwrap();
        assert_eq!(l.get(Class::Pubsub).hard, 33554432);
        l.apply("normal 1mb 10kb 5").unwrap();
        assert_eq!(
            l.text(),
            "normal 1048576 10240 5 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert_eq!(l.apply("normal 1 2"), Err(ObufError::Arity));
        assert_eq!(l.apply("bogus 1 2 3"), Err(ObufError::Class));
        assert_eq!(l.apply("normal x 2 3"), Err(ObufError::Value));
        // A failed apply changes nothing.
        assert_eq!(l.get(Class::Normal).hard, 1048576);
    }

    #[test]
    fn soft_limit_needs_its_seconds() {
        let limit = ObufLimit {
            hard: 100,
            soft: 10,
            soft_seconds: 2,
        };
        let mut c = SoftClock::default();
        assert!(!c.over(limit, 5, 0));
        assert!(!c.over(limit, 10, 1000));
        assert!(!c.over(limit, 10, 3000));
        assert!(c.over(limit, 10, 3001));
        let mut c = SoftClock::default();
        assert!(!c.over(limit, 10, 0));
        assert!(!c.over(limit, 1, 1000));
        assert!(!c.over(limit, 10, 5000));
        assert!(c.over(limit, 100, 5000));
    }

    #[test]
    fn locality_is_redis_exact_match() {
        assert!(is_local_peer("127.0.0.1:5000"));
        assert!(is_local_peer("[::1]:5000"));
        assert!(is_local_peer("[::ffff:127.0.0.1]:5000"));
        assert!(!is_local_peer("127.0.0.2:5000"));
        assert!(!is_local_peer("10.0.0.1:5000"));
        assert!(is_local_peer("/tmp/redis.sock"));
    }
}

//! Redis-style log lines: `pid:role dd Mon yyyy hh:mm:ss.mmm * message`.
//!
//! The real node writes them to stdout or to `logfile`; the simulator keeps the node quiet and
//! reads `ClusterEvent`s instead (never log text).

use std::io::Write;
use std::sync::Mutex;

/// Log levels in Redis's order; a line is written when its level is at least the configured one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl Level {
    /// Parses the `loglevel` option's values.
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().as_str() {
            "debug" => Some(Level::Debug),
            "verbose" => Some(Level::Verbose),
            "notice" => Some(Level::Notice),
            "warning" => Some(Level::Warning),
            _ => None,
        }
    }

    /// The option value that names this level.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Verbose => "verbose",
            Level::Notice => "notice",
            Level::Warning => "warning",
        }
    }

    fn mark(self) -> char {
        match self {
            Level::Debug => '.',
            Level::Verbose => '-',
            Level::Notice => '*',
            Level::Warning => '#',
        }
    }
}

/// Where log lines go. One per node; `Sink::Silent` in the simulator.
pub enum Sink {
    Stdout,
    File(std::fs::File),
    Silent,
}

/// A node's logger: a level threshold and a sink.
pub struct Logger {
    /// Lines below this level are dropped.
    pub level: Level,
    /// Guarded so concurrent connection tasks never interleave half lines.
    sink: Mutex<Sink>,
    /// The role letter Redis prints after the pid (`M` master, `S` replica, `C` child).
    pub role: std::sync::atomic::AtomicU8,
}

impl Logger {
    pub fn new(level: Level, sink: Sink) -> Self {
        Logger {
            level,
            sink: Mutex::new(sink),
            role: std::sync::atomic::AtomicU8::new(b'M'),
        }
    }

    /// A logger that writes nothing (the simulator's nodes, unit tests).
    pub fn silent() -> Self {
        Logger::new(Level::Warning, Sink::Silent)
    }

    /// Writes one line if `level` passes the threshold. `unix_ms` is the node's wall clock.
    pub fn log(&self, level: Level, unix_ms: u64, msg: &str) {
        if level < self.level {
            return;
        }
        let Ok(mut sink) = self.sink.lock() else {
            return;
        };
        if matches!(*sink, Sink::Silent) {
            return;
        }
        let role = self.role.load(std::sync::atomic::Ordering::Relaxed) as char;
        let line = format!(
            "{}:{} {} {} {}\n",
            std::process::id(),
            role,
            format_time(unix_ms),
            level.mark(),
            msg
        );
        let _ = match &mut *sink {
            Sink::Stdout => std::io::stdout().write_all(line.as_bytes()),
            Sink::File(f) => f.write_all(line.as_bytes()),
            Sink::Silent => Ok(()),
        };
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `29 Nov 2026 17:35:21.123` in UTC, from unix milliseconds.
pub fn format_time(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86400) as i64;
    let (y, m, d) = civil_from_days(days);
    let rem = secs % 86400;
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_like_redis() {
        assert_eq!(super::format_time(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(
            super::format_time(1_795_553_593_123),
            "24 Nov 2026 20:53:13.123"
        );
    }
}

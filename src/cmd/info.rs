//! INFO: the sections and field names of redis-server 7.0.15, with keyslot's values.
//!
//! Each section is a function returning its lines; [`info_replication`] and [`info_cluster`] are
//! public so the replication and cluster modules can take them over. Tools read fields by
//! substring (`redis_version:`, `cluster_enabled:1`, the absence of `db0:` on an empty node), so
//! the names and the Keyspace rule matter more than the values.

use super::{flags, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::node::NodeRest;
use crate::resp::{Protocol, Reply};
use bytes::Bytes;
use std::fmt::Write;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "info",
    arity: -1,
    flags: flags::STALE,
    keys: KeySpec::NONE,
    group: "server",
    summary: "Get information and statistics about the server",
    handler: info,
}];

/// A section: its INFO name and its generator.
type Section = (&'static str, fn(&Ctx<'_>) -> String);

/// Every section, in Redis's order; `default` marks those plain INFO prints.
const SECTIONS: &[(Section, bool)] = &[
    (("Server", info_server), true),
    (("Clients", info_clients), true),
    (("Memory", info_memory), true),
    (("Persistence", info_persistence), true),
    (("Stats", info_stats), true),
    (("Replication", |c| info_replication(c.node)), true),
    (("CPU", info_cpu), true),
    (("Modules", |_| String::new()), true),
    (("Commandstats", info_commandstats), false),
    (("Errorstats", info_errorstats), true),
    // Per-command latency percentiles are not measured; the section exists (empty) so tools
    // that split INFO all by headers see Redis's layout.
    (("Latencystats", |_| String::new()), false),
    (("Cluster", |c| info_cluster(c.node)), true),
    (("Keyspace", info_keyspace), true),
];

/// `INFO [section ...]`: no argument or `default` prints the default sections, `all` and
/// `everything` every section; unknown names print nothing.
fn info(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let words: Vec<String> = argv[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let text = render(ctx, &words);
    Ok(match ctx.proto() {
        Protocol::Resp3 => Reply::Verbatim(Bytes::from(text)),
        Protocol::Resp2 => Reply::Bulk(Bytes::from(text)),
    })
}

/// The INFO text for the requested section words.
pub fn render(ctx: &Ctx<'_>, words: &[String]) -> String {
    let wants = |name: &str, default: bool| {
        if words.is_empty() {
            return default;
        }
        words.iter().any(|w| match w.as_str() {
            "all" | "everything" => true,
            "default" => default,
            w => w == name.to_ascii_lowercase(),
        })
    };
    let mut out = String::new();
    for ((name, section), default) in SECTIONS {
        if !wants(name, *default) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {name}\r\n");
        out.push_str(&section(ctx));
    }
    out
}

/// Appends `name:value\r\n`.
fn field(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

fn info_server(ctx: &Ctx<'_>) -> String {
    let node = &*ctx.node;
    let now_ms = node.clock.unix_ms();
    let uptime_s = now_ms.saturating_sub(node.started_unix_ms) / 1000;
    let mode = if node.config.cluster_enabled {
        "cluster"
    } else {
        "standalone"
    };
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let config_file = node
        .config
        .file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let hz = node.config.int("hz");
    let mut s = String::new();
    field(&mut s, "redis_version", super::server::REDIS_VERSION);
    field(&mut s, "redis_git_sha1", "00000000");
    field(&mut s, "redis_git_dirty", 0);
    field(&mut s, "redis_build_id", "0");
    field(&mut s, "redis_mode", mode);
    field(&mut s, "os", std::env::consts::OS);
    field(&mut s, "arch_bits", usize::BITS);
    field(&mut s, "monotonic_clock", "POSIX clock_gettime");
    field(&mut s, "multiplexing_api", "epoll");
    field(&mut s, "atomicvar_api", "c11-builtin");
    field(&mut s, "gcc_version", "0.0.0");
    field(&mut s, "process_id", std::process::id());
    field(&mut s, "process_supervised", "no");
    field(&mut s, "run_id", &node.run_id);
    field(&mut s, "tcp_port", node.port);
    field(&mut s, "server_time_usec", now_ms * 1000);
    field(&mut s, "uptime_in_seconds", uptime_s);
    field(&mut s, "uptime_in_days", uptime_s / 86400);
    field(&mut s, "hz", hz);
    field(&mut s, "configured_hz", hz);
    field(&mut s, "lru_clock", (now_ms / 1000) & ((1 << 24) - 1));
    field(&mut s, "executable", exe);
    field(&mut s, "config_file", config_file);
    field(&mut s, "io_threads_active", 0);
    s
}

fn info_clients(ctx: &Ctx<'_>) -> String {
    let node = &*ctx.node;
    let mut s = String::new();
    field(&mut s, "connected_clients", node.clients.len());
    field(&mut s, "cluster_connections", 0);
    field(&mut s, "maxclients", node.config.maxclients);
    field(&mut s, "client_recent_max_input_buffer", 0);
    field(&mut s, "client_recent_max_output_buffer", 0);
    field(&mut s, "blocked_clients", node.blocking.len());
    field(&mut s, "tracking_clients", 0);
    field(&mut s, "clients_in_timeout_table", 0);
    s
}

/// Bytes Redis would print with `bytesToHuman`: `B`, `K`, `M`, `G`... with two decimals.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2}{}", UNITS[unit])
}

/// The dataset's bytes: the keyspace's running counter (`db::mem`), no walk.
fn dataset_bytes(ctx: &Ctx<'_>) -> u64 {
    ctx.db.used_bytes() as u64
}

/// INFO memory. `used_memory` is what maxmemory is compared with: the empty keyspace's fixed
/// structures (`used_memory_startup`) plus the dataset's running count (`db::mem`: keys,
/// values, per-key table slots; expire times live inline in the entries). Client buffers, the
/// replication backlog and the AOF buffer are not counted (Redis counts them in used_memory
/// but not for eviction, except clients).
fn info_memory(ctx: &Ctx<'_>) -> String {
    let node = &*ctx.node;
    let dataset = dataset_bytes(ctx);
    let overhead = crate::db::Db::fixed_bytes() as u64;
    let used = crate::evict::used_memory(ctx.db);
    let peak = node.stats.used_memory_peak.max(used);
    let rss = rss_bytes().unwrap_or(used);
    let maxmemory = node.config.int("maxmemory").max(0) as u64;
    let policy = node.config.get("maxmemory-policy").unwrap_or("noeviction");
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    };
    let mut s = String::new();
    field(&mut s, "used_memory", used);
    field(&mut s, "used_memory_human", human_bytes(used));
    field(&mut s, "used_memory_rss", rss);
    field(&mut s, "used_memory_rss_human", human_bytes(rss));
    field(&mut s, "used_memory_peak", peak);
    field(&mut s, "used_memory_peak_human", human_bytes(peak));
    field(
        &mut s,
        "used_memory_peak_perc",
        format!("{:.2}%", pct(used, peak)),
    );
    field(&mut s, "used_memory_overhead", overhead);
    field(&mut s, "used_memory_startup", overhead);
    field(&mut s, "used_memory_dataset", dataset);
    field(
        &mut s,
        "used_memory_dataset_perc",
        format!("{:.2}%", pct(dataset, used)),
    );
    field(&mut s, "allocator_allocated", used);
    field(&mut s, "allocator_active", used);
    field(&mut s, "allocator_resident", rss);
    field(&mut s, "total_system_memory", 0);
    field(&mut s, "total_system_memory_human", "0B");
    for name in ["used_memory_lua", "used_memory_vm_eval"] {
        field(&mut s, name, 0);
    }
    field(&mut s, "used_memory_lua_human", "0B");
    // The script cache and the libraries are counted as Redis counts them (the suite checks
    // that SCRIPT FLUSH empties the cache); their byte sizes stay 0, keyslot does not
    // measure them.
    // An engine nothing has built yet holds no script and no library.
    let sc = node.scripting.built();
    let counts = |f: fn(&crate::scripting::Scripting) -> usize| sc.map_or(0, f);
    field(&mut s, "used_memory_scripts_eval", 0);
    field(
        &mut s,
        "number_of_cached_scripts",
        counts(|sc| sc.scripts.len()),
    );
    field(
        &mut s,
        "number_of_functions",
        counts(|sc| sc.functions.index.len()),
    );
    field(
        &mut s,
        "number_of_libraries",
        counts(|sc| sc.functions.libraries.len()),
    );
    for name in ["used_memory_vm_functions", "used_memory_vm_total"] {
        field(&mut s, name, 0);
    }
    field(&mut s, "used_memory_vm_total_human", "0B");
    field(&mut s, "used_memory_functions", 0);
    field(&mut s, "used_memory_scripts", 0);
    field(&mut s, "used_memory_scripts_human", "0B");
    field(&mut s, "maxmemory", maxmemory);
    field(&mut s, "maxmemory_human", human_bytes(maxmemory));
    field(&mut s, "maxmemory_policy", policy);
    field(&mut s, "allocator_frag_ratio", "1.00");
    field(&mut s, "allocator_frag_bytes", 0);
    field(&mut s, "allocator_rss_ratio", "1.00");
    field(&mut s, "allocator_rss_bytes", 0);
    field(&mut s, "rss_overhead_ratio", "1.00");
    field(&mut s, "rss_overhead_bytes", 0);
    field(
        &mut s,
        "mem_fragmentation_ratio",
        format!("{:.2}", rss as f64 / used.max(1) as f64),
    );
    field(&mut s, "mem_fragmentation_bytes", rss.saturating_sub(used));
    for name in [
        "mem_not_counted_for_evict",
        "mem_replication_backlog",
        "mem_total_replication_buffers",
        "mem_clients_slaves",
        "mem_clients_normal",
        "mem_cluster_links",
        "mem_aof_buffer",
    ] {
        field(&mut s, name, 0);
    }
    field(&mut s, "mem_allocator", mem_allocator());
    for name in [
        "active_defrag_running",
        "lazyfree_pending_objects",
        "lazyfreed_objects",
    ] {
        field(&mut s, name, 0);
    }
    s
}

fn info_persistence(ctx: &Ctx<'_>) -> String {
    let node = &*ctx.node;
    let p = &node.persist;
    let now_mono = node.clock.mono_ms();
    let job_secs = |running: bool| -> i64 {
        match (&p.job, running) {
            (Some(j), true) => (now_mono.saturating_sub(j.started_mono_ms) / 1000) as i64,
            _ => -1,
        }
    };
    let bgsave = p.bgsave_in_progress();
    let rewriting = p.rewrite_in_progress();
    let ok_err = |ok: bool| if ok { "ok" } else { "err" };
    let mut s = String::new();
    field(&mut s, "loading", p.loading.is_some() as u8);
    for name in [
        "async_loading",
        "current_cow_peak",
        "current_cow_size",
        "current_cow_size_age",
    ] {
        field(&mut s, name, 0);
    }
    field(&mut s, "current_fork_perc", "0.00");
    field(&mut s, "current_save_keys_processed", 0);
    field(
        &mut s,
        "current_save_keys_total",
        p.job.as_ref().map(|j| j.keys_total).unwrap_or(0),
    );
    field(&mut s, "rdb_changes_since_last_save", node.repl.tap.dirty);
    field(&mut s, "rdb_bgsave_in_progress", bgsave as u8);
    field(&mut s, "rdb_last_save_time", p.lastsave_unix_s);
    field(&mut s, "rdb_last_bgsave_status", ok_err(p.last_bgsave_ok));
    field(&mut s, "rdb_last_bgsave_time_sec", p.last_bgsave_time_sec);
    field(&mut s, "rdb_current_bgsave_time_sec", job_secs(bgsave));
    field(&mut s, "rdb_saves", p.rdb_saves);
    field(&mut s, "rdb_last_cow_size", 0);
    field(&mut s, "rdb_last_load_keys_expired", p.load_keys_expired);
    field(&mut s, "rdb_last_load_keys_loaded", p.load_keys_loaded);
    let aof = node.repl.tap.aof.as_ref();
    field(&mut s, "aof_enabled", node.config.bool("appendonly") as u8);
    field(&mut s, "aof_rewrite_in_progress", rewriting as u8);
    field(&mut s, "aof_rewrite_scheduled", p.rewrite_scheduled as u8);
    field(
        &mut s,
        "aof_last_rewrite_time_sec",
        p.aof_last_rewrite_time_sec,
    );
    field(&mut s, "aof_current_rewrite_time_sec", job_secs(rewriting));
    field(
        &mut s,
        "aof_last_bgrewrite_status",
        ok_err(p.aof_last_rewrite_ok),
    );
    field(&mut s, "aof_rewrites", p.aof_rewrites);
    field(
        &mut s,
        "aof_rewrites_consecutive_failures",
        p.aof_rewrite_failures,
    );
    field(
        &mut s,
        "aof_last_write_status",
        ok_err(aof.map(|a| a.last_error.is_none()).unwrap_or(true)),
    );
    field(&mut s, "aof_last_cow_size", 0);
    field(&mut s, "module_fork_in_progress", 0);
    field(&mut s, "module_fork_last_cow_size", 0);
    if let (true, Some(a)) = (p.aof_on, aof) {
        field(&mut s, "aof_current_size", a.current_size);
        field(&mut s, "aof_base_size", a.base_size);
        field(&mut s, "aof_pending_rewrite", p.rewrite_scheduled as u8);
        field(&mut s, "aof_buffer_length", a.pending.len());
        field(
            &mut s,
            "aof_pending_bio_fsync",
            node.storage.background_sync_pending() as u8,
        );
        field(&mut s, "aof_delayed_fsync", a.delayed_fsync);
    }
    if let Some(l) = &p.loading {
        let elapsed = node.clock.unix_ms() / 1000 - l.start_unix_s.min(node.clock.unix_ms() / 1000);
        let perc = if l.total_bytes == 0 {
            0.0
        } else {
            l.loaded_bytes as f64 * 100.0 / l.total_bytes as f64
        };
        let eta = (l.total_bytes.saturating_sub(l.loaded_bytes) * elapsed.max(1))
            .checked_div(l.loaded_bytes)
            .unwrap_or(1);
        field(&mut s, "loading_start_time", l.start_unix_s);
        field(&mut s, "loading_total_bytes", l.total_bytes);
        field(&mut s, "loading_rdb_used_mem", 0);
        field(&mut s, "loading_loaded_bytes", l.loaded_bytes);
        field(&mut s, "loading_loaded_perc", format!("{perc:.2}"));
        field(&mut s, "loading_eta_seconds", eta);
    }
    s
}

fn info_stats(ctx: &Ctx<'_>) -> String {
    let st = &ctx.node.stats;
    let mut s = String::new();
    field(
        &mut s,
        "total_connections_received",
        st.total_connections_received,
    );
    field(
        &mut s,
        "total_commands_processed",
        st.total_commands_processed,
    );
    field(&mut s, "instantaneous_ops_per_sec", 0);
    field(&mut s, "total_net_input_bytes", st.total_net_input_bytes);
    field(&mut s, "total_net_output_bytes", st.total_net_output_bytes);
    field(&mut s, "total_net_repl_input_bytes", 0);
    field(&mut s, "total_net_repl_output_bytes", 0);
    for name in [
        "instantaneous_input_kbps",
        "instantaneous_output_kbps",
        "instantaneous_input_repl_kbps",
        "instantaneous_output_repl_kbps",
    ] {
        field(&mut s, name, "0.00");
    }
    field(&mut s, "rejected_connections", st.rejected_connections);
    let repl = &ctx.node.repl;
    field(&mut s, "sync_full", repl.sync_full);
    field(&mut s, "sync_partial_ok", repl.sync_partial_ok);
    field(&mut s, "sync_partial_err", repl.sync_partial_err);
    field(&mut s, "expired_keys", st.expired_keys);
    field(&mut s, "expired_stale_perc", "0.00");
    for name in [
        "expired_time_cap_reached_count",
        "expire_cycle_cpu_milliseconds",
    ] {
        field(&mut s, name, 0);
    }
    field(&mut s, "evicted_keys", st.evicted_keys);
    for name in [
        "evicted_clients",
        "total_eviction_exceeded_time",
        "current_eviction_exceeded_time",
    ] {
        field(&mut s, name, 0);
    }
    field(&mut s, "keyspace_hits", st.keyspace_hits);
    field(&mut s, "keyspace_misses", st.keyspace_misses);
    let hub = &ctx.node.hub;
    field(&mut s, "pubsub_channels", hub.channels.len());
    field(&mut s, "pubsub_patterns", hub.patterns.len());
    field(&mut s, "pubsubshard_channels", hub.shard.len());
    for name in ["latest_fork_usec", "total_forks"] {
        field(&mut s, name, 0);
    }
    field(
        &mut s,
        "migrate_cached_sockets",
        ctx.node.migrate.cached_sockets(),
    );
    for name in [
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
        "tracking_total_keys",
        "tracking_total_items",
        "tracking_total_prefixes",
        "unexpected_error_replies",
    ] {
        field(&mut s, name, 0);
    }
    field(&mut s, "total_error_replies", st.total_error_replies);
    for name in [
        "dump_payload_sanitizations",
        "total_reads_processed",
        "total_writes_processed",
        "io_threaded_reads_processed",
        "io_threaded_writes_processed",
        "reply_buffer_shrinks",
        "reply_buffer_expands",
    ] {
        field(&mut s, name, 0);
    }
    // Not in 7.0.15's INFO: Redis 7.4 added these two counters, and keyslot keeps them.
    field(
        &mut s,
        "client_query_buffer_limit_disconnections",
        st.client_query_buffer_limit_disconnections,
    );
    field(
        &mut s,
        "client_output_buffer_limit_disconnections",
        st.client_output_buffer_limit_disconnections,
    );
    // keyslot's own: cluster bus messages dropped as malformed, each of which closed its link.
    field(
        &mut s,
        "cluster_bus_malformed_messages",
        ctx.node.cluster.as_ref().map_or(0, |c| c.stats.dropped),
    );
    s
}

/// The Replication section of a master without replicas. The replication module replaces this
/// when it lands.
pub fn info_replication(node: &NodeRest) -> String {
    super::replication::info_replication(node)
}

/// The Cluster section (`cluster_enabled:0|1`; redis-cli --cluster requires the 1).
pub fn info_cluster(node: &NodeRest) -> String {
    let mut s = String::new();
    field(
        &mut s,
        "cluster_enabled",
        u8::from(node.config.cluster_enabled),
    );
    s
}

fn info_cpu(_ctx: &Ctx<'_>) -> String {
    let (user, sys) = cpu_seconds();
    let mut s = String::new();
    field(&mut s, "used_cpu_sys", format!("{sys:.6}"));
    field(&mut s, "used_cpu_user", format!("{user:.6}"));
    field(&mut s, "used_cpu_sys_children", "0.000000");
    field(&mut s, "used_cpu_user_children", "0.000000");
    field(&mut s, "used_cpu_sys_main_thread", format!("{sys:.6}"));
    field(&mut s, "used_cpu_user_main_thread", format!("{user:.6}"));
    s
}

/// `cmdstat_<name>:calls=N,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=M` (no
/// timing is kept, so the times are zero).
fn info_commandstats(ctx: &Ctx<'_>) -> String {
    let mut s = String::new();
    let stats = &ctx.node.stats;
    let names: std::collections::BTreeSet<&str> = stats
        .commands
        .keys()
        .chain(stats.rejected.keys())
        .copied()
        .collect();
    for name in names {
        let (calls, failed) = stats.commands.get(name).copied().unwrap_or_default();
        let rejected = stats.rejected.get(name).copied().unwrap_or_default();
        let _ = write!(
            s,
            "cmdstat_{name}:calls={calls},usec=0,usec_per_call=0.00,rejected_calls={rejected},failed_calls={failed}\r\n"
        );
    }
    s
}

fn info_errorstats(ctx: &Ctx<'_>) -> String {
    let mut s = String::new();
    for (code, count) in &ctx.node.stats.errors {
        let _ = write!(s, "errorstat_{code}:count={count}\r\n");
    }
    s
}

/// `db0:keys=N,expires=M,avg_ttl=0`, only when database 0 holds keys (redis-cli --cluster
/// create treats any `db0:` as a non-empty node).
fn info_keyspace(ctx: &Ctx<'_>) -> String {
    if ctx.db.is_empty() {
        return String::new();
    }
    format!(
        "db0:keys={},expires={},avg_ttl=0\r\n",
        ctx.db.len(),
        ctx.db.volatile_len()
    )
}

/// (user, system) CPU seconds of this process, from /proc/self/stat.
#[cfg(not(madsim))]
fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return (0.0, 0.0);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf only reads a constant of the running system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // After `)`: state is index 0, so utime (field 14) is index 11 and stime index 12.
    (ticks(11) / hz, ticks(12) / hz)
}

/// The simulator has no process to measure.
#[cfg(madsim)]
fn cpu_seconds() -> (f64, f64) {
    (0.0, 0.0)
}

/// Resident set size from /proc/self/statm (pages times the page size).
#[cfg(not(madsim))]
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a constant of the running system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    Some(pages * page)
}

#[cfg(madsim)]
fn rss_bytes() -> Option<u64> {
    None
}

/// The allocator INFO names: the system's (`libc`) unless the binary installed another and said
/// so with [`set_mem_allocator`] (keyslot-server runs on jemalloc, as redis-server does; the
/// library's own tests and the simulator keep the system allocator).
static MEM_ALLOCATOR: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Names the process's global allocator for INFO's `mem_allocator` (once, at startup).
pub fn set_mem_allocator(name: &'static str) {
    let _ = MEM_ALLOCATOR.set(name);
}

fn mem_allocator() -> &'static str {
    MEM_ALLOCATOR.get().copied().unwrap_or("libc")
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::node::testing::TestNode;
    use crate::resp::{Protocol, Reply};
    use bytes::Bytes;

    fn text(t: &mut TestNode, words: &[&str]) -> String {
        match t.run(words) {
            Reply::Bulk(b) | Reply::Verbatim(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("not text: {other:?}"),
        }
    }

    fn headers(info: &str) -> Vec<&str> {
        info.lines().filter(|l| l.starts_with('#')).collect()
    }

    #[test]
    fn default_sections_in_redis_order() {
        let mut t = TestNode::new();
        let info = text(&mut t, &["INFO"]);
        assert_eq!(
            headers(&info),
            [
                "# Server",
                "# Clients",
                "# Memory",
                "# Persistence",
                "# Stats",
                "# Replication",
                "# CPU",
                "# Modules",
                "# Errorstats",
                "# Cluster",
                "# Keyspace"
            ]
        );
        assert_eq!(headers(&info), headers(&text(&mut t, &["INFO", "default"])));
        for needle in [
            "\r\nredis_version:7.0.15\r\n",
            "\r\nredis_mode:standalone\r\n",
            "\r\nrole:master\r\n",
            "\r\nconnected_slaves:0\r\n",
            "\r\nmaster_repl_offset:0\r\n",
            "\r\nloading:0\r\n",
            "\r\nasync_loading:0\r\n",
            "\r\nblocked_clients:0\r\n",
            "\r\naof_enabled:0\r\n",
            "\r\ncluster_enabled:0\r\n",
        ] {
            assert!(info.contains(needle), "missing {needle:?}");
        }
        assert!(!info.contains("db0:"));
        assert!(!info.contains("# Commandstats"));
        let replid = info.split("master_replid:").nth(1).unwrap();
        assert!(replid[..40].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(info.ends_with("# Keyspace\r\n"));
    }

    #[test]
    fn section_framing_matches_redis() {
        let mut t = TestNode::new();
        assert_eq!(
            t.run_text(&["INFO", "cluster"]),
            "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
        );
        assert_eq!(t.run_text(&["INFO", "nosuch"]), "$0\r\n\r\n");
        t.node.db.insert(
            Bytes::from("a"),
            crate::db::Value::Str(Bytes::from("b")),
            None,
        );
        assert_eq!(
            t.run_text(&["INFO", "CLUSTER", "keyspace"]),
            "$76\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n\r\n"
        );
        assert_eq!(
            text(&mut t, &["INFO", "modules", "cluster"]),
            "# Modules\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n"
        );
        t.client.proto = Protocol::Resp3;
        assert_eq!(
            t.run_text(&["INFO", "cluster"]),
            "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"
        );
    }

    #[test]
    fn cluster_mode_and_stats_sections() {
        let mut c = Config::default();
        c.set_startup("cluster-enabled", &["yes".to_string()])
            .unwrap();
        let mut t = TestNode::with_config(c);
        let info = text(&mut t, &["INFO"]);
        assert!(info.contains("\r\nredis_mode:cluster\r\n"));
        assert!(info.contains("# Cluster\r\ncluster_enabled:1\r\n"));
        t.run(&["NOSUCHCMD"]);
        t.run(&["PING", "a", "b"]);
        let all = text(&mut t, &["INFO", "all"]);
        assert!(all.contains("# Commandstats\r\ncmdstat_info:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\ncmdstat_ping:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n"), "{all}");
        assert!(all.contains("# Errorstats\r\nerrorstat_ERR:count=2\r\n"));
        let cmd = text(&mut t, &["INFO", "commandstats"]);
        assert!(cmd.starts_with("# Commandstats\r\ncmdstat_info:calls=2,"));
        assert_eq!(headers(&text(&mut t, &["INFO", "everything"])).len(), 13);
    }
}

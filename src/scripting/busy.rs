//! A script that runs too long: busy-reply-threshold, `-BUSY`, SCRIPT KILL and FUNCTION KILL.
//!
//! Redis's single thread runs a script to its end; past `busy-reply-threshold` (alias
//! `lua-time-limit`) it starts serving clients again from inside the script's Lua hook, but
//! only to answer `-BUSY` and to accept SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE and a few
//! connection commands. keyslot gets the same effect with threads (see `crate::nodelock`): in
//! the real server a script runs on a blocking thread holding the node lock while the runtime
//! thread keeps serving connections. A connection that finds the lock held by a script asks
//! [`Busy::answer`] what to say without touching the node: nothing yet (wait: the script has
//! not passed the threshold, or the command is one that may wait for its end), or a reply.
//!
//! The state lives outside the node's mutex (it is read by whoever does not hold the lock),
//! in atomics shared by the Lua instruction hook, the running script and the connections.

use crate::cmd;
use crate::node::Client;
use crate::resp::Reply;
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;

/// Lua instructions between two calls of the hook (Redis's LUA_MASKCOUNT period).
pub const HOOK_PERIOD: u32 = 100_000;

/// The error a killed script raises (and its caller gets, located like any script error).
pub const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";

/// What FUNCTION STATS shows while a function runs (taken when it starts).
#[derive(Debug, Clone, Default)]
struct RunInfo {
    name: String,
    argv: Vec<Bytes>,
    libraries: usize,
    functions: usize,
}

/// The running script's state, shared between threads.
#[derive(Debug, Default)]
pub struct Busy {
    running: AtomicBool,
    /// EVAL (true) or FCALL (false).
    eval: AtomicBool,
    start_ms: AtomicU64,
    threshold_ms: AtomicU64,
    /// The hook saw the threshold pass: clients are answered -BUSY.
    timed_out: AtomicBool,
    /// The script ran a write command: SCRIPT KILL refuses (-UNKILLABLE).
    wrote: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE asked the script to stop.
    kill: AtomicBool,
    /// The hook was switched to every line (so that pcall cannot swallow the kill).
    line_hook: AtomicBool,
    /// requirepass was set when the script started (a client accepted meanwhile must AUTH).
    auth_required: AtomicBool,
    /// FUNCTION LOAD runs a library's body: the monotonic ms past which the hook stops it
    /// (0: no load running, or one without a limit). Redis gives the body 500 ms: it should
    /// only register functions, and nobody is served while it runs.
    load_deadline_ms: AtomicU64,
    info: Mutex<RunInfo>,
}

impl Busy {
    /// A script starts (under the node lock).
    pub fn start(
        &self,
        eval: bool,
        now_ms: u64,
        threshold_ms: u64,
        name: &str,
        argv: &[Bytes],
        counts: (usize, usize),
    ) {
        if let Ok(mut i) = self.info.lock() {
            *i = RunInfo {
                name: name.to_string(),
                argv: argv.to_vec(),
                libraries: counts.0,
                functions: counts.1,
            };
        }
        self.eval.store(eval, SeqCst);
        self.start_ms.store(now_ms, SeqCst);
        self.threshold_ms.store(threshold_ms, SeqCst);
        self.timed_out.store(false, SeqCst);
        self.wrote.store(false, SeqCst);
        self.kill.store(false, SeqCst);
        self.running.store(true, SeqCst);
    }

    /// The script ended; true when the hook must go back to counting instructions.
    pub fn end(&self) -> bool {
        self.running.store(false, SeqCst);
        self.timed_out.store(false, SeqCst);
        self.kill.store(false, SeqCst);
        self.line_hook.swap(false, SeqCst)
    }

    /// Whether the node required a password when the script started.
    pub fn set_auth_required(&self, required: bool) {
        self.auth_required.store(required, SeqCst);
    }

    pub fn auth_required(&self) -> bool {
        self.auth_required.load(SeqCst)
    }

    /// The script ran a write command.
    pub fn wrote(&self) {
        self.wrote.store(true, SeqCst);
    }

    pub fn is_running(&self) -> bool {
        self.running.load(SeqCst)
    }

    /// Clients are answered -BUSY (the script passed busy-reply-threshold).
    pub fn is_timed_out(&self) -> bool {
        self.running.load(SeqCst) && self.timed_out.load(SeqCst)
    }

    /// Called from the Lua hook: whether the script must stop now; on the first call past the
    /// threshold, `Some(log line)` to write.
    pub fn check(&self, now_ms: u64) -> (bool, Option<String>) {
        if !self.running.load(SeqCst) {
            return (false, None);
        }
        if self.kill.load(SeqCst) {
            return (true, None);
        }
        let elapsed = now_ms.saturating_sub(self.start_ms.load(SeqCst));
        let threshold = self.threshold_ms.load(SeqCst);
        // 0 (or a negative value, stored as 0) disables the mechanism, as Redis documents it:
        // the script runs uninterrupted and nobody is answered -BUSY.
        if threshold > 0 && elapsed >= threshold && !self.timed_out.swap(true, SeqCst) {
            let (what, name) = (
                if self.eval.load(SeqCst) {
                    "SCRIPT KILL"
                } else {
                    "FUNCTION KILL"
                },
                self.info.lock().map(|i| i.name.clone()).unwrap_or_default(),
            );
            return (
                false,
                Some(format!(
                    "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {what} command. Script name is: {name}."
                )),
            );
        }
        (false, None)
    }

    /// A library's body starts running (FUNCTION LOAD): it is stopped past `deadline_ms`.
    pub fn start_load(&self, deadline_ms: u64) {
        self.load_deadline_ms.store(deadline_ms, SeqCst);
    }

    /// The library's body ended; true when the hook must go back to counting instructions.
    pub fn end_load(&self) -> bool {
        self.load_deadline_ms.store(0, SeqCst);
        self.line_hook.swap(false, SeqCst)
    }

    /// Called from the Lua hook: whether a library's body ran past its deadline.
    pub fn load_timed_out(&self, now_ms: u64) -> bool {
        let deadline = self.load_deadline_ms.load(SeqCst);
        deadline != 0 && now_ms > deadline
    }

    /// The hook switched to every line after a kill; [`Busy::end`] reports it.
    pub fn mark_line_hook(&self) {
        self.line_hook.store(true, SeqCst);
    }

    pub fn line_hook_set(&self) -> bool {
        self.line_hook.load(SeqCst)
    }

    fn busy_reply(&self) -> Reply {
        Reply::error(if self.eval.load(SeqCst) {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        })
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL while a script runs (Redis's scriptKill).
    fn kill(&self, eval: bool) -> Reply {
        if !self.running.load(SeqCst) {
            return Reply::error(NOTBUSY);
        }
        if self.wrote.load(SeqCst) {
            return Reply::error(UNKILLABLE);
        }
        let running_eval = self.eval.load(SeqCst);
        if eval != running_eval {
            return self.busy_reply();
        }
        self.kill.store(true, SeqCst);
        Reply::ok()
    }

    /// FUNCTION STATS while a script runs.
    fn stats(&self, now_ms: u64) -> Reply {
        let info = self.info.lock().map(|i| i.clone()).unwrap_or_default();
        let running = if self.eval.load(SeqCst) {
            Reply::Null
        } else {
            Reply::Map(vec![
                (
                    Reply::bulk("name"),
                    Reply::bulk_owned(info.name.into_bytes()),
                ),
                (
                    Reply::bulk("command"),
                    Reply::Array(info.argv.iter().cloned().map(Reply::Bulk).collect()),
                ),
                (
                    Reply::bulk("duration_ms"),
                    Reply::Integer(now_ms.saturating_sub(self.start_ms.load(SeqCst)) as i64),
                ),
            ])
        };
        Reply::Map(vec![
            (Reply::bulk("running_script"), running),
            (
                Reply::bulk("engines"),
                Reply::Map(vec![(
                    Reply::bulk("LUA"),
                    Reply::Map(vec![
                        (
                            Reply::bulk("libraries_count"),
                            Reply::Integer(info.libraries as i64),
                        ),
                        (
                            Reply::bulk("functions_count"),
                            Reply::Integer(info.functions as i64),
                        ),
                    ]),
                )]),
            ),
        ])
    }

    /// What a client's command gets while a script holds the node (Redis's processCommand
    /// while inside a busy script): `None` means it waits for the script's end (before the
    /// threshold, every command; after it, the few that Redis lets through and that need the
    /// node: AUTH, HELLO, WATCH, UNWATCH, RESET, REPLCONF, and SHUTDOWN NOSAVE, which kills
    /// the script first). `unwatch` is set when the client's watched keys must be forgotten
    /// once the node is reachable again (a discarded transaction).
    pub fn answer(
        &self,
        client: &mut Client,
        argv: &[Bytes],
        now_ms: u64,
        unwatch: &mut bool,
    ) -> Option<Reply> {
        if !self.is_timed_out() {
            return None;
        }
        let name = argv.first()?;
        let spec = cmd::lookup(name)?;
        if !client.authenticated || !spec.arity_ok(argv.len()) {
            // The node gives these their exact errors once the script ends.
            return None;
        }
        let sub = |i: usize| {
            argv.get(i)
                .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
                .unwrap_or_default()
        };
        match spec.name {
            "script" if sub(1) == "kill" && argv.len() == 2 => Some(self.kill(true)),
            "function" if sub(1) == "kill" && argv.len() == 2 => Some(self.kill(false)),
            "function" if sub(1) == "stats" && argv.len() == 2 => Some(self.stats(now_ms)),
            "shutdown" => {
                let nosave = (1..argv.len()).any(|i| sub(i) == "nosave");
                let save = (1..argv.len()).any(|i| sub(i) == "save");
                if nosave && !save {
                    // Killed even after writes; the node then runs SHUTDOWN NOSAVE itself.
                    self.kill.store(true, SeqCst);
                    None
                } else {
                    Some(self.busy_reply())
                }
            }
            "multi" => Some(if client.multi.is_some() {
                Reply::error("ERR MULTI calls can not be nested")
            } else {
                client.multi = Some(Vec::new());
                client.multi_error = false;
                Reply::ok()
            }),
            "discard" => Some(if client.multi.is_none() {
                Reply::error("ERR DISCARD without MULTI")
            } else {
                client.multi = None;
                client.multi_error = false;
                *unwatch = true;
                Reply::ok()
            }),
            "quit" => {
                client.close_after_reply = true;
                Some(Reply::ok())
            }
            "auth" | "hello" | "watch" | "unwatch" | "reset" | "replconf" => None,
            "exec" => {
                // Rejected: the transaction is discarded, even outside MULTI (execCommandAbort).
                client.multi = None;
                client.multi_error = false;
                *unwatch = true;
                let busy = if self.eval.load(SeqCst) {
                    BUSY_EVAL
                } else {
                    BUSY_FUNCTION
                };
                Some(Reply::error(format!(
                    "EXECABORT Transaction discarded because of: {busy}"
                )))
            }
            _ => {
                client.multi_error |= client.multi.is_some();
                Some(self.busy_reply())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new(1, String::new(), String::new(), 0, true)
    }

    fn argv(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn a_zero_threshold_never_turns_busy() {
        let b = Busy::default();
        b.start(true, 1000, 0, "sha", &[], (0, 0));
        assert_eq!(b.check(1000), (false, None));
        assert_eq!(b.check(1_000_000), (false, None));
        assert!(!b.is_timed_out());
    }

    #[test]
    fn waits_before_the_threshold_then_answers_busy() {
        let b = Busy::default();
        b.start(true, 1000, 100, "sha", &[], (0, 0));
        let mut c = client();
        let mut unwatch = false;
        assert!(b
            .answer(&mut c, &argv(&["ping"]), 1050, &mut unwatch)
            .is_none());
        assert_eq!(b.check(1050), (false, None));
        let (stop, log) = b.check(1100);
        assert!(!stop && log.is_some());
        assert_eq!(
            b.answer(&mut c, &argv(&["ping"]), 1100, &mut unwatch),
            Some(Reply::error(BUSY_EVAL))
        );
        assert_eq!(
            b.answer(&mut c, &argv(&["function", "kill"]), 1100, &mut unwatch),
            Some(Reply::error(BUSY_EVAL))
        );
        assert_eq!(
            b.answer(&mut c, &argv(&["script", "kill"]), 1100, &mut unwatch),
            Some(Reply::ok())
        );
        assert_eq!(b.check(1101), (true, None));
        b.end();
        assert!(!b.is_timed_out());
    }

    #[test]
    fn a_script_that_wrote_is_unkillable_but_shutdown_nosave_kills_it() {
        let b = Busy::default();
        b.start(false, 0, 10, "f", &[], (1, 1));
        b.wrote();
        let _ = b.check(20);
        let mut c = client();
        let mut unwatch = false;
        assert_eq!(
            b.answer(&mut c, &argv(&["function", "kill"]), 20, &mut unwatch),
            Some(Reply::error(UNKILLABLE))
        );
        assert_eq!(
            b.answer(&mut c, &argv(&["shutdown"]), 20, &mut unwatch),
            Some(Reply::error(BUSY_FUNCTION))
        );
        assert!(b
            .answer(&mut c, &argv(&["shutdown", "nosave"]), 20, &mut unwatch)
            .is_none());
        assert_eq!(b.check(21), (true, None));
    }

    #[test]
    fn transactions_are_flagged_and_exec_aborts() {
        let b = Busy::default();
        b.start(true, 0, 10, "sha", &[], (0, 0));
        let _ = b.check(20);
        let mut c = client();
        let mut unwatch = false;
        assert_eq!(
            b.answer(&mut c, &argv(&["multi"]), 20, &mut unwatch),
            Some(Reply::ok())
        );
        assert_eq!(
            b.answer(&mut c, &argv(&["incr", "x"]), 20, &mut unwatch),
            Some(Reply::error(BUSY_EVAL))
        );
        assert!(c.multi_error);
        let r = b
            .answer(&mut c, &argv(&["exec"]), 20, &mut unwatch)
            .unwrap();
        assert_eq!(
            r,
            Reply::error(format!(
                "EXECABORT Transaction discarded because of: {BUSY_EVAL}"
            ))
        );
        assert!(c.multi.is_none() && unwatch);
    }
}

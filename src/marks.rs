//! Coverage marks: `mark!("election lost by rank")` on a rare path of the cluster core or of
//! replication, so a simulator run can say which rare paths it reached (TigerBeetle's
//! `testing/marks.zig`, FoundationDB's `CODE_PROBE`).
//!
//! Why it costs nothing in the real server: outside `cfg(madsim)` (and unit tests) [`hit`] is an
//! empty inline function, so the macro compiles to nothing.
//!
//! Why the counters are thread-local: madsim runs one simulated world on one thread, and the
//! simulator runs each seed on a fresh thread (`keyslot_sim::run::run_seed`), so a per-thread
//! registry is a per-run registry; runs on parallel threads never see each other's counts, and
//! counting neither draws randomness nor touches the clock, so it cannot change a run.
//!
//! Every mark's name must be in [`ALL`] (checked when it is hit, in the builds that count), so
//! the simulator can list the marks that no run reached.

/// Every mark in the code, in the order the explore table lists them.
pub const ALL: &[&str] = &[
    // Failure detection.
    "FAIL set by quorum of reports",
    "FAIL learned from a FAIL message",
    "FAIL cleared (node reachable again)",
    "failure report expired",
    // Elections, replica side.
    "election scheduled with rank above zero",
    "election delayed by a rank change",
    "election refused: data too old",
    "election expired without a majority",
    "election won",
    "vote ignored: older than our election",
    // Votes, master side.
    "vote refused: request epoch older than currentEpoch",
    "vote refused: already voted in this epoch",
    "vote refused: master not failed",
    "vote refused: voted for this master recently",
    "vote refused: slot owner has a newer configEpoch",
    // Slots and epochs.
    "UPDATE applied",
    "UPDATE sent for a stale slot claim",
    "slots lost to a newer claim",
    "configEpoch collision resolved",
    "stale packet dropped",
    "replica follows the new owner of its master's slots",
    // Manual failover and migration.
    "manual failover timed out",
    "manual failover: replica caught up",
    "replica migrated to an orphaned master",
    // Replication.
    "partial resync accepted",
    "full resync",
    "partial resync refused: backlog does not cover the offset",
    // TLS (crate::tls): the handshakes a tls-cluster scenario must run over simulated streams.
    "TLS handshake done: accepted",
    "TLS handshake done: connected",
];

/// Counts one pass over a rare path: `mark!("UPDATE applied")`.
#[macro_export]
macro_rules! mark {
    ($name:literal) => {
        $crate::marks::hit($name)
    };
}

#[cfg(any(madsim, test))]
mod registry {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local! {
        /// Hits per mark on this thread (= this simulated run).
        pub static HITS: RefCell<BTreeMap<&'static str, u64>> = const { RefCell::new(BTreeMap::new()) };
    }
}

/// Records a hit of `name` (the `mark!` macro's body).
#[inline(always)]
pub fn hit(name: &'static str) {
    #[cfg(any(madsim, test))]
    {
        assert!(
            ALL.contains(&name),
            "mark {name:?} is not listed in marks::ALL"
        );
        registry::HITS.with(|h| *h.borrow_mut().entry(name).or_default() += 1);
    }
    #[cfg(not(any(madsim, test)))]
    let _ = name;
}

/// Forgets this thread's hits (a runner starting a run on a reused thread).
pub fn reset() {
    #[cfg(any(madsim, test))]
    registry::HITS.with(|h| h.borrow_mut().clear());
}

/// This thread's hits so far, by mark (empty in the real server, which does not count).
pub fn hits() -> std::collections::BTreeMap<&'static str, u64> {
    #[cfg(any(madsim, test))]
    {
        registry::HITS.with(|h| h.borrow().clone())
    }
    #[cfg(not(any(madsim, test)))]
    {
        std::collections::BTreeMap::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_counted_per_thread() {
        reset();
        crate::mark!("UPDATE applied");
        crate::mark!("UPDATE applied");
        let other = std::thread::spawn(|| {
            crate::mark!("full resync");
            hits()
        })
        .join()
        .expect("thread");
        let mine = hits();
        assert_eq!(mine.get("UPDATE applied"), Some(&2));
        assert_eq!(mine.get("full resync"), None);
        assert_eq!(other.get("full resync"), Some(&1));
        assert_eq!(other.get("UPDATE applied"), None);
        reset();
        assert!(hits().is_empty());
    }

    #[test]
    #[should_panic(expected = "not listed")]
    fn an_unlisted_mark_is_refused() {
        hit("no such mark");
    }

    /// The list is honest: every listed mark is placed somewhere in src/.
    #[test]
    fn every_listed_mark_is_in_the_code() {
        let mut text = String::new();
        let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).expect("src is readable").flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("marks.rs") {
                    text.push_str(&std::fs::read_to_string(&p).expect("readable source"));
                }
            }
        }
        for name in ALL {
            assert!(
                text.contains(&format!("mark!(\"{name}\")")),
                "mark {name:?} is listed but never placed"
            );
        }
    }

    #[test]
    fn names_are_unique() {
        let mut v = ALL.to_vec();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), ALL.len());
    }
}

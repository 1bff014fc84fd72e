//! Coverage marks seen from the simulator: a scenario's `[expect] marks` (the run must reach
//! those rare paths, or it did not test what it claims), and explore's table of how many seeds
//! hit each mark, listing the marks no seed hit (what random schedules never reach).
//!
//! The marks themselves live in the node (keyslot::marks); a run's hits arrive in its
//! [`RunReport`]/[`RunFailure`].

use crate::run::{Marks, RunFailure, RunReport};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Fails a passing run that missed a mark it must hit (`[expect] marks`); other outcomes pass
/// through unchanged.
pub fn require(
    wanted: &[String],
    outcome: Result<RunReport, RunFailure>,
) -> Result<RunReport, RunFailure> {
    let r = outcome?;
    let missing: Vec<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|m| !r.marks.contains_key(m))
        .collect();
    if missing.is_empty() {
        return Ok(r);
    }
    Err(RunFailure {
        seed: r.seed,
        invariant: "marks".into(),
        message: format!(
            "marks: the run never hit {} (it hit: {})",
            missing
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            if r.marks.is_empty() {
                "none".to_string()
            } else {
                r.marks.keys().copied().collect::<Vec<_>>().join(", ")
            }
        ),
        story: r.story,
        timeline: r.timeline,
        views: r.views,
        marks: Box::new(r.marks),
    })
}

/// How many runs hit each mark, over many seeds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Runs counted.
    pub runs: u64,
    /// Per mark: runs that hit it at least once, and hits in all.
    pub seeds: BTreeMap<&'static str, (u64, u64)>,
}

impl Coverage {
    /// Counts one run's marks (passed or failed: a failing seed reached its paths too).
    pub fn add(&mut self, marks: &Marks) {
        self.add_named(marks.iter().map(|(m, n)| (*m, *n)));
    }

    /// Counts one run's marks given by name (a run record read back from JSON); names that
    /// are not marks of this build are skipped.
    pub fn add_named<'a>(&mut self, marks: impl IntoIterator<Item = (&'a str, u64)>) {
        self.runs += 1;
        for (name, n) in marks {
            let Some(m) = keyslot::marks::ALL.iter().find(|m| **m == name) else {
                continue;
            };
            let e = self.seeds.entry(m).or_default();
            e.0 += 1;
            e.1 += n;
        }
    }

    /// Adds another tally (explore's per-scenario rows into its total).
    pub fn merge(&mut self, other: &Coverage) {
        self.runs += other.runs;
        for (m, (s, n)) in &other.seeds {
            let e = self.seeds.entry(m).or_default();
            e.0 += s;
            e.1 += n;
        }
    }

    /// The table: every mark of keyslot::marks::ALL in its order, with the runs that hit it
    /// ("never" when none did); then a count of the marks never hit.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "  marks (runs that hit each, of {}):", self.runs);
        let mut never = 0;
        for m in keyslot::marks::ALL {
            match self.seeds.get(m) {
                Some((s, n)) => {
                    let _ = writeln!(out, "    {:>7} runs {:>9} hits  {}", s, n, m);
                }
                None => {
                    never += 1;
                    let _ = writeln!(out, "    {:>7}                 {}", "never", m);
                }
            }
        }
        let _ = writeln!(
            out,
            "  marks never hit: {} of {}",
            never,
            keyslot::marks::ALL.len()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_counts_runs_per_mark_and_lists_the_missing() {
        let mut c = Coverage::default();
        let mut a = Marks::new();
        a.insert("UPDATE applied", 3);
        c.add(&a);
        c.add(&a);
        c.add(&Marks::new());
        assert_eq!(c.seeds.get("UPDATE applied"), Some(&(2, 6)));
        let table = c.render();
        assert!(table.contains("of 3"), "{table}");
        assert!(
            table.contains("      2 runs         6 hits  UPDATE applied"),
            "{table}"
        );
        assert!(
            table.contains("never                 full resync"),
            "{table}"
        );
        let never = keyslot::marks::ALL.len() - 1;
        assert!(
            table.contains(&format!("marks never hit: {never} of")),
            "{table}"
        );
    }
}

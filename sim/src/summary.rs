//! Explore's summary table, rendered from run records only: `explore` and `merge` both call
//! [`render`], so a table merged from shards is the table one process prints for the same
//! seeds, byte for byte. Rows are scenarios by name, failures are listed by (scenario, seed):
//! neither depends on the order in which runs finished.

use crate::record::{RunRecord, Verdict};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The p-th percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn ms(v: Option<u64>) -> String {
    v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into())
}

/// Totals over a set of records.
#[derive(Default)]
struct Tally {
    runs: u64,
    by_verdict: BTreeMap<Verdict, u64>,
    /// (class, invariant) -> runs.
    by_invariant: BTreeMap<(Verdict, String), u64>,
    acked: usize,
    lost: usize,
    runs_with_loss: u64,
    failovers: Vec<u64>,
    /// kind -> (runs using it, faults of it).
    kinds: BTreeMap<String, (u64, u64)>,
    topologies: BTreeMap<String, u64>,
    simulated_ms: u64,
}

impl Tally {
    fn add(&mut self, r: &RunRecord) {
        self.runs += 1;
        *self.by_verdict.entry(r.verdict).or_default() += 1;
        if r.verdict != Verdict::Ok {
            let inv = r.invariant.clone().unwrap_or_default();
            *self.by_invariant.entry((r.verdict, inv)).or_default() += 1;
        }
        self.acked += r.acknowledged_writes;
        self.lost += r.lost_writes;
        if r.lost_writes > 0 {
            self.runs_with_loss += 1;
        }
        self.failovers.extend(r.failovers_ms.iter().copied());
        let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
        for k in &r.fault_kinds {
            *seen.entry(k.as_str()).or_default() += 1;
        }
        for (k, n) in seen {
            let e = self.kinds.entry(k.to_string()).or_default();
            e.0 += 1;
            e.1 += n;
        }
        *self.topologies.entry(r.topology.clone()).or_default() += 1;
        self.simulated_ms += r.simulated_ms;
    }

    fn count(&self, v: Verdict) -> u64 {
        self.by_verdict.get(&v).copied().unwrap_or(0)
    }
}

fn row(out: &mut String, name: &str, t: &Tally) {
    let mut f = t.failovers.clone();
    f.sort_unstable();
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>6} {:>6} {:>8} {:>6} {:>5} {:>16} {:>9} {:>9} {:>9}",
        name,
        t.runs,
        t.count(Verdict::Ok),
        t.count(Verdict::Safety),
        t.count(Verdict::Liveness),
        t.count(Verdict::Panic),
        t.count(Verdict::Other),
        format!("{}/{}", t.lost, t.acked),
        ms(percentile(&f, 50)),
        ms(percentile(&f, 90)),
        ms(percentile(&f, 99)),
    );
}

/// The summary table and the failure list of a set of runs.
pub fn render(records: &[RunRecord]) -> String {
    let mut out = String::new();
    let mut rows: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for r in records {
        rows.entry(r.scenario.as_str()).or_default().add(r);
        total.add(r);
    }
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>6} {:>6} {:>8} {:>6} {:>5} {:>16} {:>9} {:>9} {:>9}",
        "scenario",
        "runs",
        "passed",
        "safety",
        "liveness",
        "panics",
        "other",
        "lost/acked",
        "fo p50",
        "fo p90",
        "fo p99"
    );
    for (name, t) in &rows {
        row(&mut out, name, t);
    }
    if rows.len() > 1 {
        row(&mut out, "(all)", &total);
    }
    total.failovers.sort_unstable();
    let _ = writeln!(out, "summary:");
    let _ = writeln!(out, "  runs                {}", total.runs);
    let _ = writeln!(out, "  passed              {}", total.count(Verdict::Ok));
    for (class, title) in [
        (Verdict::Safety, "safety violations"),
        (Verdict::Liveness, "liveness failures"),
        (Verdict::Panic, "panics"),
        (Verdict::Other, "other failures"),
    ] {
        let n = total.count(class);
        if n == 0 {
            let _ = writeln!(out, "  {title:<19} none");
            continue;
        }
        let _ = writeln!(out, "  {title:<19} {n}");
        for ((c, inv), k) in &total.by_invariant {
            if *c == class {
                let _ = writeln!(out, "    {inv:<19} {k}");
            }
        }
    }
    let _ = writeln!(
        out,
        "  lost writes         {} of {} acknowledged, in {} runs",
        total.lost, total.acked, total.runs_with_loss
    );
    let f = &total.failovers;
    let _ = writeln!(
        out,
        "  failover time       {} measured: p50 {}, p90 {}, p99 {}, max {}",
        f.len(),
        ms(percentile(f, 50)),
        ms(percentile(f, 90)),
        ms(percentile(f, 99)),
        ms(f.last().copied())
    );
    let _ = writeln!(out, "  fault kinds         runs using it / faults injected");
    for (k, (runs, faults)) in &total.kinds {
        let _ = writeln!(out, "    {k:<19} {runs} / {faults}");
    }
    let topologies: Vec<String> = total
        .topologies
        .iter()
        .map(|(t, n)| format!("{t}:{n}"))
        .collect();
    let _ = writeln!(
        out,
        "  topologies          {} (masters x replicas per master: runs)",
        topologies.join(" ")
    );
    let _ = writeln!(
        out,
        "  simulated           {:.1} s",
        total.simulated_ms as f64 / 1000.0
    );
    let mut coverage = crate::marks::Coverage::default();
    for r in records {
        coverage.add_named(r.marks.iter().map(|(m, n)| (m.as_str(), *n)));
    }
    out.push_str(&coverage.render());
    let mut failures: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.verdict != Verdict::Ok)
        .collect();
    failures.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    for r in failures {
        let _ = writeln!(
            out,
            "{} seed {}: {} {}: {}",
            r.scenario,
            r.seed,
            r.verdict,
            r.invariant.as_deref().unwrap_or("-"),
            r.message.as_deref().unwrap_or("")
        );
        let _ = writeln!(out, "  replay: {}", r.replay_command());
        if let Some(s) = r.shrink_command() {
            let _ = writeln!(out, "  shrink: {s}");
        }
    }
    out
}

/// Whether every run passed.
pub fn all_passed(records: &[RunRecord]) -> bool {
    records.iter().all(|r| r.verdict == Verdict::Ok)
}

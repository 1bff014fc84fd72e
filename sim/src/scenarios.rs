//! Running a [`Scenario`]: form the cluster the way redis-cli does, start the workload, play
//! the timeline (faults, commands, checks), then check what the scenario expects: liveness
//! after the last step (invariants 5, 6), the final checks, the data (4, 7, lost-write budget),
//! failover bounds (8), the promotion count, and the safety invariants (1-3) throughout.
//!
//! A run returns a [`RunReport`] or a [`RunFailure`] naming what broke; the caller prints the
//! seed and the replay command.

use crate::check::{self, analyse};
use crate::client::{ClusterClient, Op};
use crate::faults::{Fault, Target, Undo};
use crate::html::Timeline;
use crate::resp_client::frame_text;
use crate::run::{RunFailure, RunReport};
use crate::scenario::{Action, Check, RoleWant, Scenario};
use crate::trace::{Actor, Entry};
use crate::world::World;
use keyslot::resp::frame::Frame;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// How often a check with `for` is evaluated while it must hold (simulated ms).
const HELD_CHECK_SAMPLE_MS: u64 = 10;

/// How to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Sample every node each step for the html timeline.
    pub timeline: bool,
    /// Keep every node's CLUSTER NODES after each step (replay --verbose).
    pub views: bool,
}

/// Runs a scenario at `seed` in a fresh simulated runtime.
pub fn run(scenario: &Scenario, seed: u64, options: Options) -> Result<RunReport, RunFailure> {
    let sc = scenario.clone();
    crate::run::run_seed(seed, move |s| async move { execute(sc, s, options).await })
}

/// What a master-with-slots fault started: the clock for its failover.
struct Watch {
    victim: String,
    at_ms: u64,
    bound_ms: Option<u64>,
}

/// A master's claim: (name, configEpoch, ranges, id).
type Claim = (String, u64, Vec<(u16, u16)>, String);

struct Run {
    world: World,
    seed: u64,
    options: Options,
    formed_ms: u64,
    snapshot_formation: bool,
    views: Vec<(u64, String)>,
}

impl Run {
    fn fail(&mut self, invariant: &str, message: impl Into<String>) -> RunFailure {
        self.world.collect_events();
        self.world.trace.sort();
        RunFailure {
            seed: self.seed,
            invariant: invariant.to_string(),
            message: format!("{}\n--- views ---\n{}", message.into(), self.world.views()),
            story: self.world.trace.render(|_| true),
            timeline: self.timeline(),
            views: std::mem::take(&mut self.views),
            marks: Box::new(keyslot::marks::hits()),
        }
    }

    fn timeline(&self) -> Option<Box<Timeline>> {
        if !self.options.timeline {
            return None;
        }
        Some(Box::new(Timeline {
            nodes: self.world.nodes.iter().map(|n| n.name.clone()).collect(),
            samples: self.world.samples.clone(),
            entries: self.world.trace.entries.clone(),
            formed_ms: self.formed_ms,
            end_ms: self.world.now_ms(),
        }))
    }

    /// Fails the run at the first safety violation.
    fn safety(&mut self) -> Result<(), RunFailure> {
        if let Some(v) = self.world.first_violation().cloned() {
            let inv = v.invariant.split(':').next().unwrap_or("").to_string();
            return Err(self.fail(&inv, v.to_string()));
        }
        Ok(())
    }

    /// Lets time pass until `until_ms` (world time), undoing timed faults when they end.
    async fn advance(&mut self, until_ms: u64, undos: &mut Vec<(u64, Undo)>) {
        loop {
            undos.sort_by_key(|(t, _)| *t);
            let now = self.world.now_ms();
            while undos.first().map(|(t, _)| *t <= now).unwrap_or(false) {
                let (_, u) = undos.remove(0);
                self.world.undo(&u);
            }
            if now >= until_ms {
                return;
            }
            let next = undos
                .first()
                .map(|(t, _)| (*t).min(until_ms))
                .unwrap_or(until_ms);
            self.world
                .run_for(Duration::from_millis(next.saturating_sub(now).max(1)))
                .await;
        }
    }

    fn resolve(&self, t: &Target) -> Result<usize, String> {
        t.resolve(&self.world)
            .ok_or_else(|| format!("no node matches {t} now"))
    }

    /// A `migrate_slot` step: redis-cli's clusterManagerMoveSlot on the simulated nodes. Any
    /// error from the source or the target ends the step (as it aborts redis-cli); SETSLOT NODE
    /// on the other masters tolerates errors, as redis-cli does. Returns the story line.
    async fn migrate_slot(
        &mut self,
        slot: u16,
        from: &Target,
        to: &Target,
        pipeline: usize,
    ) -> Result<String, String> {
        let (s, d) = (self.resolve(from)?, self.resolve(to)?);
        let id = |w: &World, i: usize| {
            w.id_of(i)
                .map(|id| id.to_string())
                .ok_or_else(|| format!("{} has no id yet", w.nodes[i].name))
        };
        let (sid, did) = (id(&self.world, s)?, id(&self.world, d)?);
        let (dip, dport) = (
            self.world.nodes[d].ip.to_string(),
            self.world.nodes[d].port.to_string(),
        );
        let slot_text = slot.to_string();
        let words =
            |w: &[&str]| -> Vec<Vec<u8>> { w.iter().map(|a| a.as_bytes().to_vec()).collect() };
        let ok = |f: &Frame, what: &str| -> Result<(), String> {
            match f {
                Frame::Simple(b) if b.as_ref() == b"OK" => Ok(()),
                other => Err(format!("{what}: {}", frame_text(other))),
            }
        };
        let f = self
            .world
            .call(
                d,
                words(&["CLUSTER", "SETSLOT", &slot_text, "IMPORTING", &sid]),
            )
            .await?;
        ok(&f, "SETSLOT IMPORTING on the target")?;
        let f = self
            .world
            .call(
                s,
                words(&["CLUSTER", "SETSLOT", &slot_text, "MIGRATING", &did]),
            )
            .await?;
        ok(&f, "SETSLOT MIGRATING on the source")?;
        let (mut moved, mut batches) = (0usize, 0usize);
        // Bounded: a slot holds at most the workload's keys; 10,000 batches is far beyond.
        for _ in 0..10_000 {
            let count = pipeline.to_string();
            let f = self
                .world
                .call(s, words(&["CLUSTER", "GETKEYSINSLOT", &slot_text, &count]))
                .await?;
            let keys: Vec<Vec<u8>> = match f {
                Frame::Array(items) => items
                    .into_iter()
                    .filter_map(|k| match k {
                        Frame::Bulk(b) => Some(b.to_vec()),
                        _ => None,
                    })
                    .collect(),
                other => return Err(format!("GETKEYSINSLOT: {}", frame_text(&other))),
            };
            if keys.is_empty() {
                break;
            }
            let mut args = words(&["MIGRATE", &dip, &dport, "", "0", "60000", "KEYS"]);
            let n = keys.len();
            args.extend(keys);
            let f = self.world.call(s, args).await?;
            match &f {
                Frame::Simple(b) if b.as_ref() == b"OK" || b.as_ref() == b"NOKEY" => {}
                other => return Err(format!("MIGRATE: {}", frame_text(other))),
            }
            moved += n;
            batches += 1;
        }
        let node_args = words(&["CLUSTER", "SETSLOT", &slot_text, "NODE", &did]);
        let f = self.world.call(d, node_args.clone()).await?;
        ok(&f, "SETSLOT NODE on the target")?;
        let mut others = vec![s];
        others.extend(
            self.world
                .live_nodes()
                .into_iter()
                .filter(|&i| i != s && i != d && self.world.is_master(i) == Some(true)),
        );
        for i in others {
            // Errors tolerated (a source that became a replica answers "Please use SETSLOT
            // only with masters.").
            let _ = self.world.call(i, node_args.clone()).await;
        }
        Ok(format!(
            "migrate slot {slot} {} -> {}: {moved} keys in {batches} MIGRATE calls",
            self.world.nodes[s].name, self.world.nodes[d].name
        ))
    }

    /// A `migrate_slots_atomic` step: MIGRATESLOTS on the source; with `wait`, polls
    /// GETSLOTMIGRATIONS there (every 50 ms, at most 30 s) until the job ends. Returns the
    /// story line.
    async fn migrate_slots_atomic(
        &mut self,
        ranges: &[(u16, u16)],
        from: &Target,
        to: &Target,
        wait: bool,
    ) -> Result<String, String> {
        if !wait {
            // Started among faults (explore keeps these steps in its random timelines): a
            // migration that cannot start is part of the story, not a failed run.
            return match self.start_atomic(ranges, from, to, false).await {
                Ok(line) => Ok(line),
                Err(e) => Ok(format!("migrate slots atomically: not started ({e})")),
            };
        }
        self.start_atomic(ranges, from, to, true).await
    }

    async fn start_atomic(
        &mut self,
        ranges: &[(u16, u16)],
        from: &Target,
        to: &Target,
        wait: bool,
    ) -> Result<String, String> {
        let (s, d) = (self.resolve(from)?, self.resolve(to)?);
        let did = self
            .world
            .id_of(d)
            .map(|id| id.to_string())
            .ok_or_else(|| format!("{} has no id yet", self.world.nodes[d].name))?;
        let mut args: Vec<Vec<u8>> = vec![b"CLUSTER".to_vec(), b"MIGRATESLOTS".to_vec()];
        args.push(b"SLOTSRANGE".to_vec());
        for (a, b) in ranges {
            args.push(a.to_string().into_bytes());
            args.push(b.to_string().into_bytes());
        }
        args.push(b"NODE".to_vec());
        args.push(did.into_bytes());
        let text = ranges
            .iter()
            .map(|(a, b)| format!("{a}-{b}"))
            .collect::<Vec<_>>()
            .join(",");
        let f = self.world.call(s, args).await?;
        match &f {
            Frame::Simple(b) if b.as_ref() == b"OK" => {}
            other => return Err(format!("MIGRATESLOTS: {}", frame_text(other))),
        }
        let (sname, dname) = (
            self.world.nodes[s].name.clone(),
            self.world.nodes[d].name.clone(),
        );
        if !wait {
            return Ok(format!(
                "migrate slots {text} {sname} -> {dname} atomically: started"
            ));
        }
        for _ in 0..600 {
            let f = self
                .world
                .call(s, vec![b"CLUSTER".to_vec(), b"GETSLOTMIGRATIONS".to_vec()])
                .await?;
            let state = last_job_state(&f);
            if let Some(st) =
                state.filter(|st| ["success", "failed", "cancelled"].contains(&st.as_str()))
            {
                return Ok(format!(
                    "migrate slots {text} {sname} -> {dname} atomically: {st}"
                ));
            }
            self.world.run_for(Duration::from_millis(50)).await;
        }
        Err(format!("the migration of {text} did not end in 30 s"))
    }

    /// `{id:master-0}`, `{ip:master-0}`, `{port:master-0}`, `{bus-port:master-0}`.
    fn substitute(&self, arg: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = arg;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            out.push_str(&rest[..start]);
            let inner = &rest[start + 1..start + len];
            let Some((what, node)) = inner
                .split_once(':')
                .filter(|(w, _)| ["id", "ip", "port", "bus-port"].contains(w))
            else {
                // Not a substitution (a hash tag such as `{k}`): keep it.
                out.push_str(&rest[start..start + len + 1]);
                rest = &rest[start + len + 1..];
                continue;
            };
            let t = Target::parse(node).ok_or_else(|| format!("bad node in {{{inner}}}"))?;
            let i = self.resolve(&t)?;
            let n = &self.world.nodes[i];
            let v = match what {
                "id" => self
                    .world
                    .id_of(i)
                    .map(|id| id.to_string())
                    .ok_or_else(|| format!("{} has no id yet", n.name))?,
                "ip" => n.ip.to_string(),
                "port" => n.port.to_string(),
                "bus-port" => (n.port + 10000).to_string(),
                other => return Err(format!("{{{other}:...}} is not id, ip, port or bus-port")),
            };
            out.push_str(&v);
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Every live master's claim in its own view.
    fn claims(&self) -> Vec<Claim> {
        let mut out = Vec::new();
        for i in self.world.live_nodes() {
            let c = self.world.with_node(i, |n| {
                n.rest.cluster.as_ref().map(|c| {
                    let me = c.me();
                    (
                        me.is_master(),
                        me.config_epoch,
                        me.slots.ranges(),
                        me.id.to_string(),
                    )
                })
            });
            if let Some(Some((true, epoch, ranges, id))) = c {
                if !ranges.is_empty() {
                    out.push((self.world.nodes[i].name.clone(), epoch, ranges, id));
                }
            }
        }
        out
    }

    fn evaluate(&self, c: &Check, formed: &[Claim]) -> Result<(), String> {
        let w = &self.world;
        for (t, want) in &c.roles {
            let i = self.resolve(t)?;
            let name = &w.nodes[i].name;
            let (ok, seen) = match want {
                RoleWant::Down => (!w.nodes[i].alive, "up".to_string()),
                RoleWant::Master => (w.is_master(i) == Some(true), role_text(w, i)),
                RoleWant::Replica => (w.is_master(i) == Some(false), role_text(w, i)),
                RoleWant::ReplicaOf(m) => {
                    let m = self.resolve(m)?;
                    (
                        w.master_of(i).as_deref() == Some(w.nodes[m].name.as_str())
                            && w.is_master(i) == Some(false),
                        role_text(w, i),
                    )
                }
            };
            if !ok {
                return Err(format!(
                    "{t} ({name}) should be {}, is {seen}",
                    want_text(want)
                ));
            }
        }
        for (t, want_ok) in &c.state {
            let i = self.resolve(t)?;
            let ok = w
                .with_node(i, |n| n.rest.cluster.as_ref().map(|c| c.state_ok))
                .flatten();
            if ok != Some(*want_ok) {
                return Err(format!(
                    "{t} ({}) should report cluster_state:{}, reports {:?}",
                    w.nodes[i].name,
                    if *want_ok { "ok" } else { "fail" },
                    ok.map(|o| if o { "ok" } else { "fail" })
                ));
            }
        }
        for (t, want) in &c.slots {
            let i = self.resolve(t)?;
            let ranges = w
                .with_node(i, |n| {
                    n.rest.cluster.as_ref().map(|c| c.me().slots.ranges())
                })
                .flatten()
                .unwrap_or_default();
            if ranges != *want {
                return Err(format!(
                    "{t} ({}) serves {:?}, expected {:?}",
                    w.nodes[i].name, ranges, want
                ));
            }
        }
        for (t, want) in &c.replicas {
            let i = self.resolve(t)?;
            let name = w.nodes[i].name.clone();
            let n = w
                .live_nodes()
                .into_iter()
                .filter(|&j| {
                    w.is_master(j) == Some(false) && w.master_of(j).as_deref() == Some(&name)
                })
                .count();
            if n != *want {
                return Err(format!(
                    "{t} ({name}) has {n} live replicas, expected {want}"
                ));
            }
        }
        for (viewer, node, want) in &c.knows {
            let v = self.resolve(viewer)?;
            let n = self.resolve(node)?;
            let id = w.id_of(n).ok_or_else(|| format!("{node} has no id"))?;
            let known = w
                .with_node(v, |x| {
                    x.rest.cluster.as_ref().map(|c| c.nodes.contains_key(&id))
                })
                .flatten();
            if known != Some(*want) {
                return Err(format!(
                    "{} should {}know {}, but {}",
                    w.nodes[v].name,
                    if *want { "" } else { "not " },
                    w.nodes[n].name,
                    match known {
                        Some(true) => "it does",
                        Some(false) => "it does not",
                        None => "it is down",
                    }
                ));
            }
        }
        if c.converged {
            check::liveness(w).map_err(|e| format!("not converged: {e}"))?;
        }
        if c.slot_map_as_formed {
            let now = self.claims();
            if now != formed {
                return Err(format!(
                    "slot map changed: formed {:?}, now {:?}",
                    short_claims(formed),
                    short_claims(&now)
                ));
            }
        }
        Ok(())
    }
}

fn short_claims(c: &[Claim]) -> Vec<String> {
    c.iter()
        .map(|(n, e, r, id)| format!("{n}/{}: {r:?} configEpoch {e}", &id[..8]))
        .collect()
}

fn role_text(w: &World, i: usize) -> String {
    if !w.nodes[i].alive {
        return "down".into();
    }
    match w.is_master(i) {
        Some(true) => "master".into(),
        Some(false) => format!("replica of {}", w.master_of(i).unwrap_or_default()),
        None => "unreachable".into(),
    }
}

fn want_text(w: &RoleWant) -> String {
    match w {
        RoleWant::Master => "master".into(),
        RoleWant::Replica => "a replica".into(),
        RoleWant::ReplicaOf(m) => format!("a replica of {m}"),
        RoleWant::Down => "down".into(),
    }
}

/// The node a single-target fault hits.
fn fault_target(f: &Fault) -> Option<&Target> {
    match f {
        Fault::Kill(t) | Fault::Pause(t) | Fault::Isolate(t) | Fault::Clog(t) => Some(t),
        Fault::Crash { target, .. } => Some(target),
        Fault::RestartWiped(t) => Some(t),
        _ => None,
    }
}

/// Reads every key the clients used, through a fresh cluster client on its own host.
async fn final_values(world: &World, history: &[Op]) -> BTreeMap<String, Option<String>> {
    let keys: std::collections::BTreeSet<String> = history.iter().map(|o| o.key.clone()).collect();
    let seeds: Vec<_> = world.nodes.iter().map(|n| n.addr()).collect();
    let host = madsim::runtime::Handle::current()
        .create_node()
        .name("auditor")
        .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 9, 2)))
        .build();
    let t0 = tokio::time::Instant::now();
    let task = host.spawn(async move {
        let mut c = ClusterClient::new(seeds, t0, 1);
        c.refresh_slots().await;
        let mut out = BTreeMap::new();
        for k in keys {
            let v = c.get(&k).await.ok().flatten();
            out.insert(k, v.map(|b| String::from_utf8_lossy(&b).into_owned()));
        }
        out
    });
    task.await.unwrap_or_default()
}

/// The compact story kept in a snapshot.
fn snapshot_lines(entries: &[Entry], formed_ms: u64, formation: bool) -> String {
    // Link chatter is left out, and the nodes' formation events unless asked for.
    crate::trace::render_entries(entries.iter().filter(|e| {
        !e.text.starts_with("link to ")
            && (formation || e.at_ms >= formed_ms || !matches!(e.actor, Actor::Node(_)))
    }))
}

/// Every node's role and slots at the end, by its own view.
fn final_map(world: &World) -> String {
    let mut out = String::new();
    for i in 0..world.nodes.len() {
        let s = world.node_sample(i);
        let name = &world.nodes[i].name;
        let line = match s.role {
            "master" => format!(
                "{name:<10} master  slots {} configEpoch {} currentEpoch {} state {}",
                if s.ranges.is_empty() {
                    "none".to_string()
                } else {
                    s.ranges
                        .iter()
                        .map(|(a, b)| format!("{a}-{b}"))
                        .collect::<Vec<_>>()
                        .join(",")
                },
                s.config_epoch,
                s.current_epoch,
                if s.state_ok { "ok" } else { "fail" }
            ),
            "replica" => format!(
                "{name:<10} replica of {} currentEpoch {} state {}",
                s.master.unwrap_or_default(),
                s.current_epoch,
                if s.state_ok { "ok" } else { "fail" }
            ),
            other => format!("{name:<10} {other}"),
        };
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Runs one scenario in the current madsim runtime.
pub async fn execute(sc: Scenario, seed: u64, options: Options) -> Result<RunReport, RunFailure> {
    // The marks of this run only (madsim runs the whole world on this thread).
    keyslot::marks::reset();
    let outcome = crate::marks::require(&sc.expect.marks, execute_inner(&sc, seed, options).await);
    match (&sc.expect.fails_with, outcome) {
        (None, o) => o,
        (Some(want), Err(f)) if f.invariant == *want => {
            // The scenario exists to show this failure: it passes when it happens.
            let story_hash = {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for b in f.story.bytes() {
                    h ^= b as u64;
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
                h
            };
            let first = f.message.lines().next().unwrap_or("").to_string();
            Ok(RunReport {
                seed,
                snapshot: format!("expected failure (invariant {want}):\n{first}\n"),
                story: f.story,
                story_hash,
                failover_ms: None,
                failovers_ms: Vec::new(),
                promotions: 0,
                data: None,
                crash_loss: None,
                simulated_ms: 0,
                timeline: f.timeline,
                views: f.views,
                marks: *f.marks,
            })
        }
        (Some(want), Err(mut f)) => {
            f.message = format!(
                "expected a failure of invariant {want}, got {}: {}",
                f.invariant, f.message
            );
            f.invariant = "expectation".into();
            Err(f)
        }
        (Some(want), Ok(r)) => Err(RunFailure {
            seed,
            invariant: "expectation".into(),
            message: format!("expected invariant {want} to be violated; the run passed"),
            story: r.story,
            timeline: r.timeline,
            views: r.views,
            marks: Box::new(r.marks),
        }),
    }
}

async fn execute_inner(
    sc: &Scenario,
    seed: u64,
    options: Options,
) -> Result<RunReport, RunFailure> {
    let mut world = World::new(sc.world.clone());
    world.record_samples = options.timeline;
    let mut run = Run {
        world,
        seed,
        options,
        formed_ms: 0,
        snapshot_formation: sc.snapshot_formation,
        views: Vec::new(),
    };
    if let Err(e) = run.world.form_cluster().await {
        return Err(run.fail("formation", e));
    }
    run.safety()?;
    run.world.checker.protocol.formed();
    run.formed_ms = run.world.now_ms();
    if !sc.world.clocks.is_empty() {
        let text = run.world.describe_clocks();
        run.world.note(text);
    }
    if !sc.world.fault_points.is_empty() {
        run.world.arm_fault_points();
        let text = run.world.describe_fault_points();
        run.world.note(text);
    }
    let formed = run.claims();
    let promotions_before = run.world.promotions.len();
    let clients: Vec<_> = (0..sc.clients)
        .map(|_| run.world.spawn_client(sc.workload.clone()))
        .collect();
    let mut undos: Vec<(u64, Undo)> = Vec::new();
    let mut watches: Vec<Watch> = Vec::new();
    for (n, step) in sc.steps.iter().enumerate() {
        let due = run.formed_ms + step.at_ms;
        run.advance(due, &mut undos).await;
        run.safety()?;
        match &step.action {
            Action::Fault(f) => {
                let victim = fault_target(f).and_then(|t| t.resolve(&run.world));
                if let Some(v) = victim {
                    let holds_slots = run
                        .world
                        .with_node(v, |n| {
                            n.rest.cluster.as_ref().map(|c| c.me().numslots() > 0)
                        })
                        .flatten()
                        == Some(true);
                    if holds_slots && run.world.is_master(v) == Some(true) {
                        watches.push(Watch {
                            victim: run.world.nodes[v].name.clone(),
                            at_ms: run.world.now_ms(),
                            bound_ms: step.failover_within_ms,
                        });
                    } else if let Some(b) = step.failover_within_ms {
                        let m = format!(
                            "step {} ({}): failover_within {} ms, but {} serves no slots",
                            n + 1,
                            f,
                            b,
                            run.world.nodes[v].name
                        );
                        return Err(run.fail("expectation", m));
                    }
                }
                match run.world.apply(f) {
                    Ok(u) => {
                        if let Some(d) = step.for_ms {
                            undos.push((run.world.now_ms() + d, u));
                        }
                    }
                    Err(e) => {
                        let m = format!("step {} ({}): {}", n + 1, f, e);
                        return Err(run.fail("expectation", m));
                    }
                }
            }
            Action::Command {
                nodes,
                args,
                expect,
                follow_redirects,
            } => {
                for t in nodes {
                    let i = match run.resolve(t) {
                        Ok(i) => i,
                        Err(e) => return Err(run.fail("command", format!("step {}: {}", n + 1, e))),
                    };
                    let mut real = Vec::new();
                    for a in args {
                        match run.substitute(a) {
                            Ok(v) => real.push(v),
                            Err(e) => {
                                return Err(run.fail("command", format!("step {}: {}", n + 1, e)))
                            }
                        }
                    }
                    let name = run.world.nodes[i].name.clone();
                    let shown = args.join(" ");
                    let reply = run.world.command(i, real, *follow_redirects).await;
                    let at = run.world.now_ms();
                    run.world.checker.protocol.commands_ran(at);
                    run.world.note(format!(
                        "{} {}: {} -> {}",
                        if *follow_redirects {
                            "redis-cli -c"
                        } else {
                            "redis-cli"
                        },
                        name,
                        shown,
                        reply
                    ));
                    if let Some(want) = expect {
                        if !reply.starts_with(want.as_str()) {
                            let m = format!(
                                "step {}: {} to {}: reply {:?} does not start with {:?}",
                                n + 1,
                                shown,
                                name,
                                reply,
                                want
                            );
                            return Err(run.fail("command", m));
                        }
                    }
                }
            }
            Action::MigrateSlot {
                slot,
                from,
                to,
                pipeline,
            } => match run.migrate_slot(*slot, from, to, *pipeline).await {
                Ok(summary) => {
                    let at = run.world.now_ms();
                    run.world.checker.protocol.commands_ran(at);
                    run.world.note(summary)
                }
                Err(e) => {
                    return Err(run.fail("command", format!("step {} (migrate_slot): {}", n + 1, e)))
                }
            },
            Action::MigrateSlotsAtomic {
                ranges,
                from,
                to,
                wait,
            } => match run.migrate_slots_atomic(ranges, from, to, *wait).await {
                Ok(summary) => {
                    let at = run.world.now_ms();
                    run.world.checker.protocol.commands_ran(at);
                    run.world.note(summary)
                }
                Err(e) => {
                    return Err(run.fail(
                        "command",
                        format!("step {} (migrate_slots_atomic): {}", n + 1, e),
                    ))
                }
            },
            Action::SaveNodesConf(t) => match run.resolve(t) {
                Ok(i) => run.world.stash_nodes_conf(i),
                Err(e) => return Err(run.fail("expectation", format!("step {}: {}", n + 1, e))),
            },
            Action::RestoreNodesConf(t) => {
                let r = run.resolve(t).and_then(|i| run.world.restore_nodes_conf(i));
                if let Err(e) = r {
                    return Err(run.fail("expectation", format!("step {}: {}", n + 1, e)));
                }
            }
            Action::Check(c) => {
                // With `for`, the check must hold at every sample through the window: a
                // flap between two samples of a plain check would go unseen.
                let until = run.world.now_ms() + step.for_ms.unwrap_or(0);
                loop {
                    run.world.step();
                    if let Err(e) = run.evaluate(c, &formed) {
                        let m = format!(
                            "step {} (check at {} ms, {} ms in): {}",
                            n + 1,
                            step.at_ms,
                            run.world.now_ms().saturating_sub(due),
                            e
                        );
                        return Err(run.fail("expectation", m));
                    }
                    if run.world.now_ms() >= until {
                        break;
                    }
                    let next = (run.world.now_ms() + HELD_CHECK_SAMPLE_MS).min(until);
                    run.advance(next, &mut undos).await;
                }
                match step.for_ms {
                    Some(d) => run.world.note(format!("check {} held for {} ms", n + 1, d)),
                    None => run.world.note(format!("check {} passed", n + 1)),
                }
            }
        }
        if run.options.views {
            let at = run.world.now_ms();
            let v = run.world.views();
            run.views.push((at, v));
        }
    }
    // Timed faults still pending end now.
    let last_undo = undos.iter().map(|(t, _)| *t).max().unwrap_or(0);
    run.advance(last_undo, &mut undos).await;
    run.safety()?;

    let expect = &sc.expect;
    // A settle period first: a failure the last step caused is detected (PFAIL after
    // node-timeout, FAIL, cluster_state fail) before convergence can count.
    let settle_ms = 2 * sc.world.node_timeout_ms + 1000;
    let settle_until = run.world.now_ms() + settle_ms;
    run.advance(settle_until, &mut undos).await;
    run.safety()?;
    if (expect.checks(5) || expect.checks(6)) && expect.liveness_within_ms > 0 {
        let budget = Duration::from_millis(expect.liveness_within_ms);
        if !run.world.run_until(budget, |w| w.all_ok_and_agree()).await {
            let why = check::liveness(&run.world).err().unwrap_or_default();
            run.safety()?;
            return Err(run.fail(
                "5/6",
                format!(
                    "5/6: no convergence within {:?} after the last step: {}",
                    budget, why
                ),
            ));
        }
    }
    run.safety()?;
    if let Some(c) = &expect.final_check {
        // Roles settle a little after slots agree; give the final check the same budget.
        let budget = Duration::from_millis(expect.liveness_within_ms.max(1000));
        let ok = {
            let deadline = run.world.now_ms() + budget.as_millis() as u64;
            loop {
                run.world.step();
                if run.evaluate(c, &formed).is_ok() || run.world.now_ms() >= deadline {
                    break run.evaluate(c, &formed);
                }
                run.world.run_for(Duration::from_millis(100)).await;
            }
        };
        if let Err(e) = ok {
            return Err(run.fail("expectation", format!("final check: {e}")));
        }
    }
    let mut history = Vec::new();
    for c in clients {
        history.extend(c.stop().await);
    }
    if expect.checks(7) {
        let synced = run
            .world
            .run_until(Duration::from_secs(5), |w| {
                check::replicas_in_sync(w).is_ok()
            })
            .await;
        if !synced {
            let why = check::replicas_in_sync(&run.world)
                .err()
                .unwrap_or_default();
            return Err(run.fail("7", format!("7: replicas in sync: {why}")));
        }
    }
    let data = if history.is_empty() {
        None
    } else {
        let finals = final_values(&run.world, &history).await;
        let d = analyse(&history, &finals);
        if expect.checks(13) {
            if let Err(why) = check::keys_in_one_place(&run.world, finals.keys()) {
                return Err(run.fail("13", format!("13: every key in one place: {why}")));
            }
        }
        if expect.checks(4) {
            if let Some(p) = d.phantom_reads.first() {
                return Err(run.fail("4", format!("4: no phantom reads: {p}")));
            }
        }
        if let Some(budget) = expect.lost_writes {
            if d.lost_writes > budget {
                let m = format!(
                    "lost writes: {} acknowledged writes lost, budget {}: {}",
                    d.lost_writes,
                    budget,
                    d.lost.join("; ")
                );
                return Err(run.fail("lost-writes", m));
            }
        }
        if let Some(within) = expect.lost_writes_within_ms {
            let loss = check::crash_loss(&d, &run.world.checker.crashes);
            let too_old = loss.max_age_ms().filter(|&a| a > within);
            if loss.without_crash > 0 || too_old.is_some() {
                let m = format!(
                    "lost writes: {} lost, {} sent after the last crash, the oldest sent {:?} ms before a crash (promised within {} ms): {}",
                    d.lost_writes,
                    loss.without_crash,
                    loss.max_age_ms(),
                    within,
                    d.lost.join("; ")
                );
                return Err(run.fail("lost-writes", m));
            }
        }
        Some(d)
    };
    run.world.step();
    run.safety()?;

    // Failovers of faulted masters, and invariant 8's bounds.
    let promotions: Vec<_> = run.world.promotions[promotions_before..].to_vec();
    let mut failovers = Vec::new();
    for w in &watches {
        let p = promotions
            .iter()
            .find(|p| p.previous_master == w.victim && p.at_ms >= w.at_ms);
        if let Some(p) = p {
            failovers.push(p.at_ms - w.at_ms);
        }
        if let (Some(bound), true) = (w.bound_ms, expect.checks(8)) {
            let took = p.map(|p| p.at_ms - w.at_ms);
            if took.map(|t| t > bound).unwrap_or(true) {
                let m = format!(
                    "8: {} (faulted at {} ms) was not replaced within {} ms (took {:?})",
                    w.victim,
                    w.at_ms.saturating_sub(run.formed_ms),
                    bound,
                    took
                );
                return Err(run.fail("8", m));
            }
        }
    }
    if let Some(want) = expect.promotions {
        if promotions.len() != want {
            let list: Vec<String> = promotions
                .iter()
                .map(|p| format!("{} replaced {}", p.node, p.previous_master))
                .collect();
            let m = format!(
                "expected {} promotions, saw {}: {}",
                want,
                promotions.len(),
                list.join(", ")
            );
            return Err(run.fail("expectation", m));
        }
    }

    run.world.collect_events();
    run.world.trace.sort();
    let mut snapshot = snapshot_lines(
        &run.world.trace.entries,
        run.formed_ms,
        run.snapshot_formation,
    );
    snapshot.push_str("--- end ---\n");
    snapshot.push_str(&final_map(&run.world));
    let clock_steps = sc.steps.iter().any(|s| {
        matches!(
            s.action,
            Action::Fault(Fault::ClockJump { .. } | Fault::ClockDrift { .. })
        )
    });
    if clock_steps || !sc.world.clocks.is_empty() {
        let _ = writeln!(snapshot, "{}", run.world.describe_clocks());
    }
    for p in &promotions {
        let _ = writeln!(
            snapshot,
            "promotion: {} replaced {} at {}.{:03}s",
            p.node,
            p.previous_master,
            p.at_ms / 1000,
            p.at_ms % 1000
        );
    }
    if !failovers.is_empty() {
        let f: Vec<String> = failovers.iter().map(|ms| format!("{ms} ms")).collect();
        let _ = writeln!(snapshot, "failover: {}", f.join(", "));
    }
    let crash_loss = match (&data, run.world.checker.crashes.is_empty()) {
        (Some(d), false) => Some(check::crash_loss(d, &run.world.checker.crashes)),
        _ => None,
    };
    if let Some(d) = &data {
        let _ = writeln!(
            snapshot,
            "data: {} ops, {} acknowledged writes, {} lost, {} failed, {} unknown",
            d.operations, d.acknowledged_writes, d.lost_writes, d.failed, d.unknown
        );
        if let Some(loss) = &crash_loss {
            let _ = writeln!(
                snapshot,
                "crashes: {}; writes lost to them: {}{}; lost otherwise: {}",
                run.world.checker.crashes.len(),
                loss.ages_ms.len(),
                match loss.max_age_ms() {
                    Some(a) => format!(" (sent at most {a} ms before the crash)"),
                    None => String::new(),
                },
                loss.without_crash
            );
        }
    }
    let timeline = run.timeline();
    Ok(RunReport {
        seed,
        story: run.world.trace.render(|_| true),
        story_hash: run.world.trace.hash(),
        snapshot,
        failover_ms: failovers.first().copied(),
        failovers_ms: failovers,
        promotions: promotions.len(),
        data,
        crash_loss,
        simulated_ms: run.world.now_ms(),
        timeline,
        views: std::mem::take(&mut run.views),
        marks: keyslot::marks::hits(),
    })
}

/// The `state` field of the last job in a GETSLOTMIGRATIONS reply.
fn last_job_state(f: &Frame) -> Option<String> {
    let Frame::Array(jobs) = f else {
        return None;
    };
    let Some(Frame::Array(fields)) = jobs.last() else {
        return None;
    };
    fields.chunks(2).find_map(|kv| match kv {
        [Frame::Bulk(k), Frame::Bulk(v)] if k.as_ref() == b"state" => {
            Some(String::from_utf8_lossy(v).into_owned())
        }
        _ => None,
    })
}

//! The built-in scenarios: each forms a cluster the way redis-cli does, applies its faults under
//! client load, and checks the invariants. A scenario returns a [`RunReport`] or a
//! [`RunFailure`] naming what broke; the caller prints the seed and the replay command.

use crate::check::{self, analyse};
use crate::client::{ClusterClient, Op, Workload};
use crate::run::{RunFailure, RunReport};
use crate::world::{World, WorldConfig};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// The scenarios by name (the CLI and the benchmark look them up here).
pub const NAMES: &[&str] = &[
    "form",
    "kill-master",
    "partition-master",
    "two-masters-fail",
    "pause-master",
    "flapping-link",
];

/// Runs a scenario by name.
pub async fn by_name(name: &str, seed: u64) -> Result<RunReport, RunFailure> {
    match name {
        "form" => form(seed).await,
        "kill-master" => kill_master_under_load(seed).await,
        "partition-master" => partition_master(seed).await,
        "two-masters-fail" => two_masters_fail(seed, false).await,
        "pause-master" => pause_master(seed).await,
        "flapping-link" => flapping_link(seed).await,
        other => Err(RunFailure {
            seed,
            message: format!("unknown scenario {other}"),
            story: String::new(),
        }),
    }
}

fn fail(world: &mut World, seed: u64, message: impl Into<String>) -> RunFailure {
    world.collect_events();
    world.trace.sort();
    RunFailure {
        seed,
        message: format!("{}\n--- views ---\n{}", message.into(), world.views()),
        story: world.trace.render(|_| true),
    }
}

fn check_safety(world: &mut World, seed: u64) -> Result<(), RunFailure> {
    if let Some(v) = world.first_violation().cloned() {
        return Err(fail(world, seed, v.to_string()));
    }
    Ok(())
}

fn report(
    world: &mut World,
    seed: u64,
    failover_ms: Option<u64>,
    data: Option<check::DataReport>,
) -> RunReport {
    world.collect_events();
    world.trace.sort();
    RunReport {
        seed,
        story: world.trace.render(|_| true),
        story_hash: world.trace.hash(),
        failover_ms,
        data,
        simulated_ms: world.now_ms(),
    }
}

/// Forms a cluster of `config`'s shape; fails the run if it does not converge.
async fn formed(config: WorldConfig, seed: u64) -> Result<World, RunFailure> {
    let mut world = World::new(config);
    if let Err(e) = world.form_cluster().await {
        return Err(fail(&mut world, seed, e));
    }
    check_safety(&mut world, seed)?;
    Ok(world)
}

/// Waits for the cluster to settle (invariants 5 and 6) within `budget`.
async fn settle(
    world: &mut World,
    seed: u64,
    budget: Duration,
    what: &str,
) -> Result<(), RunFailure> {
    if !world.run_until(budget, |w| w.all_ok_and_agree()).await {
        let why = check::liveness(world).err().unwrap_or_default();
        return Err(fail(
            world,
            seed,
            format!("{}: no convergence within {:?}: {}", what, budget, why),
        ));
    }
    check_safety(world, seed)
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

/// Checks invariant 4, counts lost writes, and (invariant 7) waits for every replica to hold
/// its master's data.
async fn audit(
    world: &mut World,
    seed: u64,
    history: Vec<Op>,
) -> Result<check::DataReport, RunFailure> {
    if !world
        .run_until(Duration::from_secs(5), |w| check::replicas_in_sync(w).is_ok())
        .await
    {
        let why = check::replicas_in_sync(world).err().unwrap_or_default();
        return Err(fail(world, seed, format!("7: replicas in sync: {}", why)));
    }
    let finals = final_values(world, &history).await;
    let data = analyse(&history, &finals);
    if let Some(p) = data.phantom_reads.first() {
        return Err(fail(world, seed, format!("4: no phantom reads: {}", p)));
    }
    Ok(data)
}

/// The seed's cluster forms: 3 masters own 0-5460 / 5461-10922 / 10923-16383, each replica
/// follows its master, all nodes agree, cluster_state ok.
pub async fn form(seed: u64) -> Result<RunReport, RunFailure> {
    let mut world = formed(WorldConfig::default(), seed).await?;
    let expected = [(0u16, 5460u16), (5461, 10922), (10923, 16383)];
    for (m, (a, b)) in expected.iter().enumerate() {
        for s in [*a, (*a + *b) / 2, *b] {
            if world.owner_of_slot(0, s) != Some(m) {
                return Err(fail(
                    &mut world,
                    seed,
                    format!("slot {} is not owned by master-{}", s, m),
                ));
            }
        }
    }
    for r in 0..3 {
        let i = 3 + r;
        let want = format!("master-{}", r);
        if world.master_of(i).as_deref() != Some(want.as_str()) {
            return Err(fail(
                &mut world,
                seed,
                format!("replica-{} does not follow {}", r, want),
            ));
        }
    }
    world.run_for(Duration::from_secs(5)).await;
    settle(&mut world, seed, Duration::from_secs(1), "steady state").await?;
    Ok(report(&mut world, seed, None, None))
}

/// Kill the master of slot 9189 under client load: its replica is promoted within
/// node-timeout + 2 s, coverage and agreement hold, the history is audited; the old master
/// restarted from its nodes.conf rejoins as a replica of its successor.
pub async fn kill_master_under_load(seed: u64) -> Result<RunReport, RunFailure> {
    let config = WorldConfig::default();
    let timeout = config.node_timeout_ms;
    let mut world = formed(config, seed).await?;
    let clients: Vec<_> = (0..2)
        .map(|_| world.spawn_client(Workload::default()))
        .collect();
    world.run_for(Duration::from_secs(3)).await;
    let Some(victim) = world.owner_of_slot(0, 9189) else {
        return Err(fail(&mut world, seed, "nobody owns slot 9189"));
    };
    let replica = victim + world.config.masters;
    let killed_at = world.now_ms();
    world.kill(victim);
    let bound = Duration::from_millis(timeout + 2000);
    let promoted = world
        .run_until(bound, |w| {
            w.is_master(replica) == Some(true) && w.all_ok_and_agree()
        })
        .await;
    let failover_ms = world.now_ms() - killed_at;
    if !promoted {
        return Err(fail(
            &mut world,
            seed,
            format!("replica not promoted with cluster ok within {:?}", bound),
        ));
    }
    world.run_for(Duration::from_secs(2)).await;
    world.restart(victim);
    let replica_name = world.nodes[replica].name.clone();
    let rejoined = world
        .run_until(Duration::from_secs(10), |w| {
            w.master_of(victim).as_deref() == Some(replica_name.as_str()) && w.all_ok_and_agree()
        })
        .await;
    if !rejoined {
        return Err(fail(
            &mut world,
            seed,
            "old master did not rejoin as a replica of its successor",
        ));
    }
    let mut history = Vec::new();
    for c in clients {
        history.extend(c.stop().await);
    }
    let data = audit(&mut world, seed, history).await?;
    check_safety(&mut world, seed)?;
    Ok(report(&mut world, seed, Some(failover_ms), Some(data)))
}

/// Partition a master away from the majority: the majority promotes its replica, the isolated
/// master refuses writes once it sees it is in the minority, and after the heal it becomes a
/// replica of its successor.
pub async fn partition_master(seed: u64) -> Result<RunReport, RunFailure> {
    let config = WorldConfig::default();
    let timeout = config.node_timeout_ms;
    let mut world = formed(config, seed).await?;
    let clients: Vec<_> = (0..2)
        .map(|_| world.spawn_client(Workload::default()))
        .collect();
    world.run_for(Duration::from_secs(2)).await;
    let victim = 1;
    let replica = victim + world.config.masters;
    let cut_at = world.now_ms();
    world.isolate(victim);
    let promoted = world
        .run_until(Duration::from_millis(timeout + 3000), |w| {
            w.is_master(replica) == Some(true)
        })
        .await;
    let failover_ms = world.now_ms() - cut_at;
    if !promoted {
        return Err(fail(
            &mut world,
            seed,
            "majority did not promote the replica",
        ));
    }
    let minority_down = world
        .run_until(Duration::from_millis(timeout * 2), |w| {
            w.with_node(victim, |n| n.rest.cluster.as_ref().map(|c| !c.state_ok))
                .flatten()
                == Some(true)
        })
        .await;
    if !minority_down {
        return Err(fail(
            &mut world,
            seed,
            "isolated master still reports cluster_state ok",
        ));
    }
    // A client that can still reach it gets CLUSTERDOWN for a write.
    let addr = world.nodes[victim].addr();
    let host = madsim::runtime::Handle::current()
        .create_node()
        .name("probe")
        .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 9, 3)))
        .build();
    let reply = host
        .spawn(async move {
            let mut c = crate::resp_client::Conn::connect(addr).await.ok()?;
            let key = "probe{k}";
            c.call_str(&["SET", key, "x"]).await.ok()
        })
        .await
        .ok()
        .flatten();
    let text = reply
        .as_ref()
        .map(crate::resp_client::frame_text)
        .unwrap_or_default();
    if !text.starts_with("CLUSTERDOWN") && !text.starts_with("MOVED") {
        return Err(fail(
            &mut world,
            seed,
            format!("isolated master accepted a write: {:?}", text),
        ));
    }
    world.heal();
    let replica_name = world.nodes[replica].name.clone();
    let rejoined = world
        .run_until(Duration::from_secs(15), |w| {
            w.master_of(victim).as_deref() == Some(replica_name.as_str()) && w.all_ok_and_agree()
        })
        .await;
    if !rejoined {
        return Err(fail(
            &mut world,
            seed,
            "old master did not become a replica of its successor after the heal",
        ));
    }
    let mut history = Vec::new();
    for c in clients {
        history.extend(c.stop().await);
    }
    let data = audit(&mut world, seed, history).await?;
    check_safety(&mut world, seed)?;
    Ok(report(&mut world, seed, Some(failover_ms), Some(data)))
}

/// Two masters killed at once in a 5x1 cluster: both replicas are promoted (three of five
/// masters remain, a majority), in elections that may collide on the same epoch.
pub async fn two_masters_fail(
    seed: u64,
    planted_double_vote: bool,
) -> Result<RunReport, RunFailure> {
    let config = WorldConfig {
        masters: 5,
        planted_double_vote,
        ..WorldConfig::default()
    };
    let timeout = config.node_timeout_ms;
    let mut world = formed(config, seed).await?;
    world.run_for(Duration::from_secs(1)).await;
    let killed_at = world.now_ms();
    world.kill(0);
    world.kill(1);
    let ok = world
        .run_until(Duration::from_millis(timeout * 4 + 6000), |w| {
            w.is_master(5) == Some(true) && w.is_master(6) == Some(true) && w.all_ok_and_agree()
        })
        .await;
    let failover_ms = world.now_ms() - killed_at;
    check_safety(&mut world, seed)?;
    if !ok {
        return Err(fail(&mut world, seed, "both replicas were not promoted"));
    }
    world.run_for(Duration::from_secs(2)).await;
    check_safety(&mut world, seed)?;
    Ok(report(&mut world, seed, Some(failover_ms), None))
}

/// A master paused for 2 x node-timeout: its replica takes over; when the old master resumes
/// it learns it was replaced and becomes a replica.
pub async fn pause_master(seed: u64) -> Result<RunReport, RunFailure> {
    let config = WorldConfig::default();
    let timeout = config.node_timeout_ms;
    let mut world = formed(config, seed).await?;
    let client = world.spawn_client(Workload::default());
    world.run_for(Duration::from_secs(2)).await;
    let victim = 2;
    let replica = victim + world.config.masters;
    world.pause(victim);
    let paused_at = world.now_ms();
    world.run_for(Duration::from_millis(timeout * 2)).await;
    let promoted = world
        .run_until(Duration::from_millis(timeout + 3000), |w| {
            w.is_master(replica) == Some(true)
        })
        .await;
    let failover_ms = world.now_ms() - paused_at;
    if !promoted {
        return Err(fail(
            &mut world,
            seed,
            "replica of the paused master was not promoted",
        ));
    }
    world.resume(victim);
    let replica_name = world.nodes[replica].name.clone();
    let rejoined = world
        .run_until(Duration::from_secs(15), |w| {
            w.master_of(victim).as_deref() == Some(replica_name.as_str()) && w.all_ok_and_agree()
        })
        .await;
    if !rejoined {
        return Err(fail(
            &mut world,
            seed,
            "resumed master did not become a replica",
        ));
    }
    let history = client.stop().await;
    let data = audit(&mut world, seed, history).await?;
    check_safety(&mut world, seed)?;
    Ok(report(&mut world, seed, Some(failover_ms), Some(data)))
}

/// The link between two masters flaps (down 1 s, up 1 s) for 20 s: the other masters still
/// reach both, so no FAIL quorum forms and nobody is promoted.
pub async fn flapping_link(seed: u64) -> Result<RunReport, RunFailure> {
    let mut world = formed(WorldConfig::default(), seed).await?;
    let client = world.spawn_client(Workload::default());
    for _ in 0..10 {
        world.cut_both(0, 1);
        world.run_for(Duration::from_secs(1)).await;
        world.uncut(0, 1);
        world.uncut(1, 0);
        world.run_for(Duration::from_secs(1)).await;
    }
    world.heal();
    settle(&mut world, seed, Duration::from_secs(10), "after flapping").await?;
    for m in 0..world.config.masters {
        if world.is_master(m) != Some(true) {
            return Err(fail(
                &mut world,
                seed,
                format!("master-{} lost its role over a flapping link", m),
            ));
        }
    }
    let history = client.stop().await;
    let data = audit(&mut world, seed, history).await?;
    check_safety(&mut world, seed)?;
    Ok(report(&mut world, seed, None, Some(data)))
}

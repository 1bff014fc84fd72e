//! Tests of the cluster state machine driven through the in-memory network (`testnet.rs`).

use super::event::ClusterEvent;
use super::state::{ClusterConfig, FailoverMode, REPLICA_MIGRATION_DELAY_MS};
use super::testnet::{Effect, Faults, Net, CPORT, PORT};
use super::wire::{self, flags, mflags, types, Body, Header, Message};
use super::NodeId;
use proptest::prelude::*;

const NODE_TIMEOUT_MS: u64 = 1000;

fn config() -> ClusterConfig {
    ClusterConfig {
        node_timeout_ms: NODE_TIMEOUT_MS,
        ..ClusterConfig::default()
    }
}

/// A formed cluster: `masters` masters then one node per entry of `replica_of`.
fn cluster(seed: u64, masters: usize, replica_of: &[usize]) -> Net {
    let mut net = Net::new(masters + replica_of.len(), config(), seed);
    net.create_cluster(masters, replica_of)
        .unwrap_or_else(|e| panic!("{}\n{}", e, net.story()));
    net
}

/// Runs until `pred` holds, or fails the test with the cluster's picture and story.
fn wait(net: &mut Net, what: &str, max_ms: u64, pred: impl FnMut(&Net) -> bool) -> u64 {
    match net.run_until(pred, max_ms) {
        Some(t) => t,
        None => panic!(
            "{} did not happen within {} ms\n{}\n{:?}\n{}",
            what,
            max_ms,
            net.describe(),
            net.converged(),
            net.story()
        ),
    }
}

/// Node `replica` is a replica of node `master` in its own view and in every live node's.
fn is_replica_of(net: &Net, replica: usize, master: usize) -> bool {
    let (r, m) = (net.id(replica), net.id(master));
    net.live().iter().all(|&i| {
        net.state(i)
            .nodes
            .get(&r)
            .is_some_and(|n| n.is_replica() && n.master == Some(m))
    })
}

/// Every live node has the slots of master `m` (as formed among `masters`) owned by `owner`.
fn owns_range(net: &Net, owner: usize, m: usize, masters: usize) -> bool {
    let (first, last) = Net::slot_range(m, masters);
    let id = net.id(owner);
    net.live().iter().all(|&i| {
        let s = net.state(i);
        s.slot_owner_id(first) == Some(id) && s.slot_owner_id(last) == Some(id)
    })
}

#[test]
fn formation_six_nodes_agree_on_slots_roles_and_ok() {
    let mut net = Net::new(6, config(), 1);
    let took = net.create_cluster(3, &[0, 1, 2]).unwrap();
    assert!(took <= 10_000, "formation took {} ms", took);
    for i in 0..6 {
        let s = net.state(i);
        assert!(s.state_ok, "node {} not ok", i);
        for m in 0..3 {
            let (first, last) = Net::slot_range(m, 3);
            for slot in [first, (first + last) / 2, last] {
                assert_eq!(
                    s.slot_owner_id(slot),
                    Some(net.id(m)),
                    "node {} slot {}",
                    i,
                    slot
                );
            }
        }
        for j in 0..6 {
            let seen = &s.nodes[&net.id(j)];
            if j < 3 {
                assert!(seen.is_master() && seen.master.is_none());
            } else {
                assert!(seen.is_replica());
                assert_eq!(seen.master, Some(net.id(j - 3)));
            }
        }
    }
    net.assert_safe();
}

#[test]
fn formation_on_a_perfect_network_raises_no_suspicion() {
    // The PONG that completes a handshake is a PONG like any other: it clears the pending
    // ping. Otherwise every node suspects every other one a node-timeout after MEET.
    let net = cluster(2, 3, &[0, 1, 2]);
    let settled = net.now_ms;
    let mut net = net;
    net.run_for(5 * NODE_TIMEOUT_MS);
    for i in 0..6 {
        let suspicions: Vec<_> = net
            .events(i, 0)
            .into_iter()
            .filter(|(_, e)| matches!(e, ClusterEvent::PFail { .. } | ClusterEvent::Fail { .. }))
            .collect();
        assert!(
            suspicions.is_empty(),
            "node {} suspected nodes (formed at {}): {:?}",
            i,
            settled,
            suspicions
        );
    }
    net.assert_safe();
}

#[test]
fn failover_kill_master_pfail_then_fail_quorum_replica_wins_old_master_rejoins_as_replica() {
    let mut net = cluster(3, 3, &[0, 1, 2]);
    let (m0, r0) = (net.id(0), net.id(3));
    let killed_at = net.now_ms;
    net.kill(0);
    wait(&mut net, "failover of master 0", 15_000, |n| {
        owns_range(n, 3, 0, 3) && n.converged().is_ok()
    });

    // Every live node suspects, then learns FAIL; at least one master reached the quorum itself.
    let mut quorum_seen = false;
    for i in 1..6 {
        let (pfail_at, _) = net
            .first_event(
                i,
                killed_at,
                |e| matches!(e, ClusterEvent::PFail { node } if *node == m0),
            )
            .unwrap_or_else(|| panic!("node {} never suspected master 0", i));
        assert!(
            pfail_at > killed_at + NODE_TIMEOUT_MS,
            "node {} suspected after {} ms, before node-timeout",
            i,
            pfail_at - killed_at
        );
        let (fail_at, fail) = net
            .first_event(
                i,
                killed_at,
                |e| matches!(e, ClusterEvent::Fail { node, .. } if *node == m0),
            )
            .unwrap_or_else(|| panic!("node {} never marked master 0 FAIL", i));
        if let ClusterEvent::Fail {
            reports,
            by_message: false,
            ..
        } = fail
        {
            quorum_seen = true;
            assert!(
                reports >= 2,
                "FAIL with {} reports out of 3 masters",
                reports
            );
            assert!(
                pfail_at <= fail_at,
                "node {}: FAIL by quorum before PFAIL",
                i
            );
        }
    }
    assert!(
        quorum_seen,
        "no node reached the FAIL quorum itself\n{}",
        net.story()
    );

    // The only replica ran the election at rank 0 and won it with the masters' votes.
    let (scheduled_at, scheduled) = net
        .first_event(3, killed_at, |e| {
            matches!(e, ClusterEvent::ElectionScheduled { .. })
        })
        .expect("election scheduled");
    assert!(matches!(
        scheduled,
        ClusterEvent::ElectionScheduled { rank: 0, .. }
    ));
    let (_, promoted) = net
        .first_event(3, scheduled_at, |e| {
            matches!(e, ClusterEvent::Promoted { .. })
        })
        .expect("promoted");
    let ClusterEvent::Promoted {
        epoch,
        previous_master,
        ..
    } = promoted
    else {
        unreachable!()
    };
    assert_eq!(previous_master, m0);
    for voter in [1, 2] {
        assert!(
            net.first_event(voter, killed_at, |e| {
                matches!(e, ClusterEvent::VoteGranted { to, epoch: v } if *to == r0 && *v == epoch)
            })
            .is_some(),
            "master {} did not vote for the replica in epoch {}",
            voter,
            epoch
        );
    }
    let winner = net.state(3).me().config_epoch;
    assert_eq!(winner, epoch);
    for i in [1, 2] {
        assert!(winner > net.state(i).me().config_epoch);
    }
    for i in net.live() {
        for n in net.state(i).nodes.values() {
            if n.id != r0 && n.is_master() {
                assert!(
                    winner > n.config_epoch,
                    "node {} sees {:?} at {}",
                    i,
                    n.id,
                    n.config_epoch
                );
            }
        }
    }

    // The old master comes back from its nodes.conf and follows the winner.
    let restarted_at = net.now_ms;
    net.restart(0);
    assert!(
        net.state(0).is_master(),
        "it restarts believing it is a master"
    );
    wait(&mut net, "old master rejoins as replica", 10_000, |n| {
        is_replica_of(n, 0, 3) && n.converged().is_ok()
    });
    assert!(net
        .effects(0)
        .any(|r| r.time_ms >= restarted_at && r.effect == Effect::ReplicateFrom(r0)));
    assert!(net
        .first_event(
            0,
            restarted_at,
            |e| matches!(e, ClusterEvent::BecameReplica { master } if *master == r0)
        )
        .is_some());
    net.assert_safe();
}

/// Masters 0..3, nodes 3 and 4 replicas of master 0 with the given offsets. Kills master 0 and
/// returns the net, the index of the winner and each replica's first scheduled rank.
fn election_with_offsets(seed: u64, offsets: [u64; 2]) -> (Net, usize, [u32; 2]) {
    let mut net = cluster(seed, 3, &[0, 0]);
    net.state_mut(3).repl_offset = offsets[0];
    net.state_mut(4).repl_offset = offsets[1];
    // Let the offsets travel in the replicas' pings.
    let (r3, r4) = (net.id(3), net.id(4));
    wait(&mut net, "offsets gossiped", 5_000, |n| {
        n.state(3).nodes[&r4].repl_offset == offsets[1]
            && n.state(4).nodes[&r3].repl_offset == offsets[0]
    });
    let killed_at = net.now_ms;
    net.kill(0);
    wait(&mut net, "failover", 15_000, |n| {
        (owns_range(n, 3, 0, 3) || owns_range(n, 4, 0, 3)) && n.converged().is_ok()
    });
    let winner = if net.state(3).is_master() { 3 } else { 4 };
    let loser = 7 - winner;
    assert!(
        is_replica_of(&net, loser, winner),
        "the other replica follows the winner"
    );
    let mut ranks = [u32::MAX; 2];
    for (k, i) in [3, 4].into_iter().enumerate() {
        if let Some((_, ClusterEvent::ElectionScheduled { rank, .. })) =
            net.first_event(i, killed_at, |e| {
                matches!(e, ClusterEvent::ElectionScheduled { .. })
            })
        {
            ranks[k] = rank;
        }
    }
    net.assert_safe();
    (net, winner, ranks)
}

#[test]
fn election_better_offset_wins_by_rank() {
    for (seed, offsets, better) in [(11, [100, 200], 4), (12, [200, 100], 3)] {
        let (net, winner, ranks) = election_with_offsets(seed, offsets);
        assert_eq!(winner, better, "offsets {:?}\n{}", offsets, net.story());
        assert_eq!(ranks[better - 3], 0, "the better offset has rank 0");
        let worse = 7 - better;
        // The other one either scheduled with rank 1 or followed the winner before it could.
        assert!(
            ranks[worse - 3] == 1 || ranks[worse - 3] == u32::MAX,
            "ranks {:?}",
            ranks
        );
        assert!(net
            .first_event(worse, 0, |e| matches!(e, ClusterEvent::Promoted { .. }))
            .is_none());
    }
}

#[test]
fn election_equal_offsets_tie_broken_by_node_id() {
    for seed in [21, 22, 23] {
        let (net, winner, ranks) = election_with_offsets(seed, [500, 500]);
        let smaller = if net.id(3) < net.id(4) { 3 } else { 4 };
        assert_eq!(
            winner, smaller,
            "seed {}: the smaller id wins the tie",
            seed
        );
        assert_eq!(ranks[smaller - 3], 0);
        assert_ne!(ranks[7 - smaller - 3], 0);
    }
}

#[test]
fn partition_minority_master_fails_majority_promotes_heal_demotes() {
    let mut net = cluster(5, 3, &[0, 1, 2]);
    let r0 = net.id(3);
    let cut_at = net.now_ms;
    net.partition(&[0], &[1, 2, 3, 4, 5]);
    let down_at = wait(&mut net, "minority master reports fail", 5_000, |n| {
        !n.state(0).state_ok
    });
    assert!(
        down_at >= cut_at + NODE_TIMEOUT_MS && down_at <= cut_at + 3 * NODE_TIMEOUT_MS,
        "minority turned fail {} ms after the cut",
        down_at - cut_at
    );
    wait(&mut net, "majority promotes the replica", 15_000, |n| {
        let (first, _) = Net::slot_range(0, 3);
        (1..6).all(|i| n.state(i).slot_owner_id(first) == Some(r0) && n.state(i).state_ok)
    });
    // The minority side cannot know: it still believes it is the master, with an older epoch.
    assert!(net.state(0).is_master());
    assert!(net.state(0).me().config_epoch < net.state(3).me().config_epoch);
    net.run_for(2 * NODE_TIMEOUT_MS);
    assert!(!net.state(0).state_ok, "still fail while cut off");

    let healed_at = net.now_ms;
    net.heal();
    wait(&mut net, "old master demoted after heal", 10_000, |n| {
        is_replica_of(n, 0, 3) && n.converged().is_ok()
    });
    assert!(net
        .first_event(
            0,
            healed_at,
            |e| matches!(e, ClusterEvent::BecameReplica { master } if *master == r0)
        )
        .is_some());
    net.assert_safe();
}

#[test]
fn partition_one_way_mute_master_is_replaced_and_demoted_after_heal() {
    // Master 0 can hear but not speak: its PONGs are lost, so the others suspect it, links
    // drop and cannot be re-established (a connect needs both directions), and the majority
    // fails it over. Nothing unsafe may happen on the way.
    let mut net = cluster(13, 3, &[0, 1, 2]);
    let r0 = net.id(3);
    for to in 1..6 {
        net.block_one_way(0, to);
    }
    wait(&mut net, "majority promotes the replica", 15_000, |n| {
        owns_range_among(n, 3, 0, &[1, 2, 3, 4, 5])
    });
    wait(&mut net, "mute master sees the minority", 10_000, |n| {
        !n.state(0).state_ok
    });
    assert!(net.state(0).is_master(), "it cannot know yet");
    net.heal();
    wait(&mut net, "old master demoted after heal", 10_000, |n| {
        is_replica_of(n, 0, 3) && n.converged().is_ok()
    });
    assert_eq!(net.nodes[0].replicating_from, Some(r0));
    net.assert_safe();
}

/// Nodes `among` have master `m`'s formation range owned by `owner` and report ok.
fn owns_range_among(net: &Net, owner: usize, m: usize, among: &[usize]) -> bool {
    let (first, last) = Net::slot_range(m, 3);
    let id = net.id(owner);
    among.iter().all(|&i| {
        let s = net.state(i);
        s.state_ok && s.slot_owner_id(first) == Some(id) && s.slot_owner_id(last) == Some(id)
    })
}

/// A FAILOVER_AUTH_REQUEST as replica `from` would send it for master `master`.
fn auth_request(
    net: &Net,
    from: usize,
    master: usize,
    current_epoch: u64,
    config_epoch: u64,
    force: bool,
) -> Vec<u8> {
    let mut h = Header::new(types::FAILOVER_AUTH_REQUEST, net.id(from));
    h.port = PORT;
    h.cport = CPORT;
    h.current_epoch = current_epoch;
    h.config_epoch = config_epoch;
    h.myslots = net.state(master).me().slots.clone();
    h.slaveof = Some(net.id(master));
    h.flags = flags::SLAVE;
    if force {
        h.mflags[0] |= mflags::FORCEACK;
    }
    wire::encode(&Message {
        header: h,
        body: Body::AuthRequest,
    })
}

/// The vote decisions node `voter` made since `since` (time order): Ok(epoch) or Err(reason).
fn decisions(net: &Net, voter: usize, since: usize) -> Vec<(NodeId, Result<u64, &'static str>)> {
    net.records[since..]
        .iter()
        .filter(|r| r.node == voter)
        .filter_map(|r| match &r.effect {
            Effect::Event(ClusterEvent::VoteGranted { to, epoch }) => Some((*to, Ok(*epoch))),
            Effect::Event(ClusterEvent::VoteDenied { to, reason }) => Some((*to, Err(*reason))),
            _ => None,
        })
        .collect()
}

#[test]
fn votes_one_per_epoch_only_for_failed_masters_never_against_newer_owners() {
    let mut net = cluster(6, 3, &[0, 1, 2]);
    let (voter, r0, r2) = (1, 3, 5);
    let (id_r0, id_r2) = (net.id(r0), net.id(r2));
    let e = net.state(voter).current_epoch;
    let decide = |net: &mut Net, from: usize, msg: Vec<u8>| {
        let mark = net.records.len();
        net.inject(voter, from, &msg);
        let d = decisions(net, voter, mark);
        assert_eq!(d.len(), 1, "one decision per request: {:?}", d);
        d[0].1
    };

    // Master 0 is up: no vote without FORCEACK.
    let req = auth_request(&net, r0, 0, e + 1, 1, false);
    assert_eq!(
        decide(&mut net, r0, req),
        Err("requester's master is not failed")
    );
    // A master asking is refused.
    let mut h = Header::new(types::FAILOVER_AUTH_REQUEST, net.id(2));
    h.current_epoch = e + 1;
    h.config_epoch = 3;
    h.flags = flags::MASTER;
    let req = wire::encode(&Message {
        header: h,
        body: Body::AuthRequest,
    });
    assert_eq!(decide(&mut net, 2, req), Err("requester is a master"));

    // Master 2 tells the voter that master 0 failed; now the same request is granted, and the
    // vote is on disk before the ACK leaves (the harness checks every ACK against the disk).
    let mut h = Header::new(types::FAIL, net.id(2));
    h.current_epoch = e + 1;
    h.config_epoch = 3;
    h.flags = flags::MASTER;
    h.myslots = net.state(2).me().slots.clone();
    let fail = wire::encode(&Message {
        header: h,
        body: Body::Fail { node: net.id(0) },
    });
    net.inject(voter, 2, &fail);
    assert!(net.state(voter).nodes[&net.id(0)].is_failed());
    let req = auth_request(&net, r0, 0, e + 1, 1, false);
    assert_eq!(decide(&mut net, r0, req), Ok(e + 1));
    assert_eq!(net.state(voter).last_vote_epoch, e + 1);
    let saved = net.nodes[voter].saved_conf.clone().unwrap();
    assert!(
        saved.contains(&format!("lastVoteEpoch {}", e + 1)),
        "{}",
        saved
    );

    // A second vote in the same epoch is refused, whoever asks, FORCEACK or not.
    let req = auth_request(&net, r2, 2, e + 1, 3, true);
    assert_eq!(
        decide(&mut net, r2, req),
        Err("already voted in this epoch")
    );
    let req = auth_request(&net, r0, 0, e + 1, 1, false);
    assert_eq!(
        decide(&mut net, r0, req),
        Err("already voted in this epoch")
    );

    // A claim older than the slots' current owner is refused; the right epoch is granted.
    let req = auth_request(&net, r2, 2, e + 2, 0, true);
    assert_eq!(
        decide(&mut net, r2, req),
        Err("a slot owner has a newer configEpoch")
    );
    let req = auth_request(&net, r2, 2, e + 2, 3, true);
    assert_eq!(decide(&mut net, r2, req), Ok(e + 2));

    // Stale epochs, and a second replica election of master 0 within 2 node-timeouts.
    let req = auth_request(&net, r0, 0, e + 1, 1, true);
    assert_eq!(
        decide(&mut net, r0, req),
        Err("request epoch older than currentEpoch")
    );
    let req = auth_request(&net, r0, 0, e + 3, 1, true);
    assert_eq!(
        decide(&mut net, r0, req),
        Err("voted for a replica of this master recently")
    );

    let granted: Vec<_> = decisions(&net, voter, 0)
        .into_iter()
        .filter(|(_, d)| d.is_ok())
        .collect();
    assert_eq!(granted, vec![(id_r0, Ok(e + 1)), (id_r2, Ok(e + 2))]);
    net.assert_safe();
}

#[test]
fn votes_safety_monitor_catches_the_planted_double_vote() {
    // The monitor must be able to fail: with the planted bug a master votes twice in an epoch.
    let mut net = Net::new(
        6,
        ClusterConfig {
            planted: crate::cluster::planted::PlantedSet::of(&[
                crate::cluster::planted::Planted::DoubleVote,
            ]),
            ..config()
        },
        6,
    );
    net.create_cluster(3, &[0, 1, 2]).unwrap();
    let e = net.state(1).current_epoch;
    let req = auth_request(&net, 3, 0, e + 1, 1, true);
    net.inject(1, 3, &req);
    let req = auth_request(&net, 5, 2, e + 1, 3, true);
    net.inject(1, 5, &req);
    assert_eq!(net.violations.len(), 1, "{:?}", net.violations);
    assert!(net.violations[0].contains("second vote in epoch"));
}

#[test]
fn epoch_collision_two_masters_same_config_epoch_smaller_id_bumps() {
    for seed in [31, 32] {
        let mut net = Net::new(3, config(), seed);
        net.create_cluster_with_epochs(3, &[], &[1, 1, 2])
            .unwrap_or_else(|e| panic!("{}\n{}", e, net.story()));
        wait(&mut net, "distinct epochs", 10_000, |n| {
            let mut epochs: Vec<u64> = (0..3).map(|i| n.state(i).me().config_epoch).collect();
            epochs.sort();
            epochs.dedup();
            epochs.len() == 3 && n.converged().is_ok()
        });
        let (smaller, larger) = if net.id(0) < net.id(1) {
            (0, 1)
        } else {
            (1, 0)
        };
        let first = net
            .records
            .iter()
            .find(|r| matches!(r.effect, Effect::Event(ClusterEvent::EpochCollision { .. })))
            .expect("a collision was handled");
        assert_eq!(
            first.node, smaller,
            "seed {}: the smaller id bumps first",
            seed
        );
        assert_eq!(
            net.state(larger).me().config_epoch,
            1,
            "the larger id keeps its epoch"
        );
        assert!(net
            .first_event(larger, 0, |e| matches!(
                e,
                ClusterEvent::EpochCollision { .. }
            ))
            .is_none());
        net.assert_safe();
    }
}

#[test]
fn epoch_collision_three_masters_all_at_zero_end_distinct() {
    let mut net = Net::new(3, config(), 33);
    net.create_cluster_with_epochs(3, &[], &[0, 0, 0])
        .unwrap_or_else(|e| panic!("{}\n{}", e, net.story()));
    wait(&mut net, "distinct non-zero epochs", 10_000, |n| {
        let mut epochs: Vec<u64> = (0..3).map(|i| n.state(i).me().config_epoch).collect();
        epochs.sort();
        epochs.dedup();
        epochs.len() == 3 && n.converged().is_ok()
    });
    let epochs: Vec<u64> = (0..3).map(|i| net.state(i).me().config_epoch).collect();
    let mut distinct = epochs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{:?}", epochs);
    net.assert_safe();
}

#[test]
fn manual_failover_default_pauses_master_waits_for_offset_then_swaps() {
    let mut net = cluster(7, 3, &[0, 1, 2]);
    let (m0, r0) = (net.id(0), net.id(3));
    net.state_mut(0).repl_offset = 1000;
    net.state_mut(3).repl_offset = 900;
    let t0 = net.now_ms;
    net.command(3, |s, now, unix| {
        s.start_manual_failover(now, unix, FailoverMode::Default)
    })
    .unwrap();
    net.run_for(1000);
    let paused = net
        .effects(0)
        .find(|r| r.time_ms >= t0 && matches!(r.effect, Effect::PauseWrites(u) if u > t0))
        .expect("the master paused writes")
        .time_ms;
    assert!(
        net.nodes[0].write_pause_until_ms > net.now_ms,
        "still paused"
    );
    assert!(
        net.first_event(3, t0, |e| matches!(e, ClusterEvent::ElectionStarted { .. }))
            .is_none(),
        "no election while the replica lags the paused master"
    );
    // The replica catches up with the paused master.
    net.state_mut(3).repl_offset = 1000;
    wait(&mut net, "roles swapped", 5_000, |n| {
        is_replica_of(n, 0, 3) && n.converged().is_ok()
    });
    let unpaused = net
        .effects(0)
        .find(|r| r.time_ms > paused && r.effect == Effect::PauseWrites(0))
        .expect("the old master unpaused its clients")
        .time_ms;
    assert_eq!(net.nodes[0].write_pause_until_ms, 0);
    let (won_at, _) = net
        .first_event(3, t0, |e| matches!(e, ClusterEvent::Promoted { previous_master, .. } if *previous_master == m0))
        .expect("promoted");
    assert!(paused <= won_at && won_at <= unpaused);
    assert!(net
        .first_event(3, t0, |e| matches!(
            e,
            ClusterEvent::ElectionScheduled {
                rank: 0,
                delay_ms: 0
            }
        ))
        .is_some());
    assert_eq!(net.nodes[0].replicating_from, Some(r0));
    net.assert_safe();
}

#[test]
fn manual_failover_force_and_takeover_swap_roles() {
    let mut net = cluster(8, 3, &[0, 1, 2]);
    // FORCE: no handshake with the master, an election with FORCEACK at once.
    let t0 = net.now_ms;
    net.command(4, |s, now, unix| {
        s.start_manual_failover(now, unix, FailoverMode::Force)
    })
    .unwrap();
    wait(&mut net, "FORCE swapped roles", 5_000, |n| {
        is_replica_of(n, 1, 4) && n.converged().is_ok()
    });
    assert!(!net
        .effects(1)
        .any(|r| r.time_ms >= t0 && matches!(r.effect, Effect::PauseWrites(_))));
    assert!(net
        .first_event(4, t0, |e| matches!(e, ClusterEvent::ElectionStarted { .. }))
        .is_some());

    // TAKEOVER: no election at all, a new epoch without consensus.
    let t1 = net.now_ms;
    let votes_before = net
        .records
        .iter()
        .filter(|r| matches!(r.effect, Effect::Event(ClusterEvent::VoteGranted { .. })))
        .count();
    net.command(5, |s, now, unix| {
        s.start_manual_failover(now, unix, FailoverMode::Takeover)
    })
    .unwrap();
    assert!(net.state(5).is_master(), "TAKEOVER is immediate");
    wait(&mut net, "TAKEOVER swapped roles", 5_000, |n| {
        is_replica_of(n, 2, 5) && n.converged().is_ok()
    });
    assert!(net
        .first_event(5, t1, |e| matches!(e, ClusterEvent::ElectionStarted { .. }))
        .is_none());
    let votes_after = net
        .records
        .iter()
        .filter(|r| matches!(r.effect, Effect::Event(ClusterEvent::VoteGranted { .. })))
        .count();
    assert_eq!(votes_before, votes_after);
    let epoch = net.state(5).me().config_epoch;
    for i in net.live() {
        if i != 5 && net.state(i).is_master() {
            assert!(epoch > net.state(i).me().config_epoch);
        }
    }
    net.assert_safe();
}

#[test]
fn manual_failover_default_refused_when_master_is_down() {
    let mut net = cluster(9, 3, &[0, 1, 2]);
    net.kill(0);
    net.run_for(300);
    let r = net.command(3, |s, now, unix| {
        s.start_manual_failover(now, unix, FailoverMode::Default)
    });
    assert_eq!(
        r,
        Err("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE".to_string())
    );
    // FORCE works with the master gone (the masters that are up vote with FORCEACK).
    net.command(3, |s, now, unix| {
        s.start_manual_failover(now, unix, FailoverMode::Force)
    })
    .unwrap();
    let t = wait(&mut net, "forced failover", 3_000, |n| {
        n.state(3).is_master()
    });
    assert!(
        t < net.now_ms + NODE_TIMEOUT_MS,
        "before the master could even be suspected"
    );
    net.assert_safe();
}

/// A PING as node `from` sent it while it was still a replica of `master` (an old connection's
/// bytes delivered late).
fn ping_as_replica(net: &Net, from: usize, master: usize, current_epoch: u64) -> Vec<u8> {
    replica_ping(net, from, master, current_epoch, Vec::new())
}

/// A PING from node `from` as a replica of `master` at `current_epoch`, carrying `extensions`.
fn replica_ping(
    net: &Net,
    from: usize,
    master: usize,
    current_epoch: u64,
    extensions: Vec<wire::Extension>,
) -> Vec<u8> {
    let mut h = Header::new(types::PING, net.id(from));
    h.port = PORT;
    h.cport = CPORT;
    h.current_epoch = current_epoch;
    h.config_epoch = net.state(from).nodes[&net.id(master)].config_epoch;
    h.slaveof = Some(net.id(master));
    h.flags = flags::SLAVE;
    wire::encode(&Message {
        header: h,
        body: Body::Ping {
            gossip: Vec::new(),
            extensions,
        },
    })
}

#[test]
fn a_late_packet_from_before_a_failover_is_dropped_as_stale() {
    let mut net = cluster(8, 3, &[0, 1, 2]);
    let old_epoch = net.state(3).current_epoch;
    net.command(3, |s, now, unix| {
        s.start_manual_failover(now, unix, FailoverMode::Takeover)
    })
    .unwrap();
    wait(&mut net, "TAKEOVER swapped roles", 5_000, |n| {
        is_replica_of(n, 0, 3) && n.converged().is_ok()
    });
    let stale_before = net.state(0).stats.stale;
    // A ping node 3 sent during its election: already the new currentEpoch, still "I replicate
    // node 0" with node 0's old configEpoch. It owns slots at a higher one now: stale too.
    let mut mid = wire::decode(&ping_as_replica(&net, 3, 0, net.state(3).current_epoch))
        .expect("a ping we encoded decodes");
    mid.header.config_epoch = 1;
    net.inject(0, 3, &wire::encode(&mid));
    assert_eq!(net.state(0).stats.stale, stale_before + 1);
    assert!(net.state(0).nodes[&net.id(3)].is_master());
    let stale_before = net.state(0).stats.stale;
    // Node 3's ping from before it took over: "I replicate node 0", at the old epoch.
    let late = ping_as_replica(&net, 3, 0, old_epoch);
    net.inject(0, 3, &late);
    let s = net.state(0);
    assert_eq!(s.stats.stale, stale_before + 1);
    assert!(
        s.nodes[&net.id(3)].is_master(),
        "node 0 still sees node 3 as master"
    );
    assert_eq!(s.me().master, Some(net.id(3)));
    assert!(
        owns_range(&net, 3, 0, 3),
        "node 3 keeps node 0's old slots everywhere"
    );
    assert!(net.state(0).state_ok);

    // The same claim at the current epoch is news, not a late packet: node 0 acts on it (what
    // it did with the late one too, before the rule).
    let now_epoch = net.state(3).current_epoch;
    let fresh = ping_as_replica(&net, 3, 0, now_epoch);
    net.inject(0, 3, &fresh);
    assert_eq!(net.state(0).stats.stale, stale_before + 1);
    assert!(net.state(0).nodes[&net.id(3)].is_replica());
}

#[test]
fn replica_migration_to_orphaned_master_smallest_id_moves() {
    replica_migration(10, false);
}

#[test]
fn replica_migration_works_from_a_reloaded_nodes_conf() {
    // The mover restarts before the orphaning: what it knows about who had replicas comes
    // from its nodes.conf alone (the orphan's only replica never speaks to it again).
    replica_migration(14, true);
}

/// Master 0 has replicas 3 and 4, master 1 has replica 5, master 2 has none. Kill 5: the
/// smaller id of 3 and 4 moves to master 1 after the migration delay.
fn replica_migration(seed: u64, restart_mover_first: bool) {
    let mut net = cluster(seed, 3, &[0, 0, 1]);
    let mover = if net.id(3) < net.id(4) { 3 } else { 4 };
    let stayer = 7 - mover;
    if restart_mover_first {
        net.kill(mover);
        net.run_for(200);
        net.restart(mover);
        wait(&mut net, "mover back", 10_000, |n| n.converged().is_ok());
    }
    let killed_at = net.now_ms;
    net.kill(5);
    wait(&mut net, "replica migration", 15_000, |n| {
        is_replica_of(n, mover, 1)
    });
    let (migrated_at, _) = net
        .first_event(mover, killed_at, |e| {
            matches!(e, ClusterEvent::ReplicaMigrated { .. })
        })
        .expect("ReplicaMigrated");
    assert!(
        migrated_at >= killed_at + REPLICA_MIGRATION_DELAY_MS,
        "migrated {} ms after the kill",
        migrated_at - killed_at
    );
    net.run_for(3 * NODE_TIMEOUT_MS);
    assert!(is_replica_of(&net, stayer, 0), "only one replica moves");
    assert!(is_replica_of(&net, mover, 1));
    assert!(net
        .first_event(stayer, killed_at, |e| matches!(
            e,
            ClusterEvent::ReplicaMigrated { .. }
        ))
        .is_none());
    assert_eq!(net.nodes[mover].replicating_from, Some(net.id(1)));
    net.assert_safe();
}

/// One random fault schedule: faults on for a while, one master killed and up to three
/// replicas told CLUSTER FAILOVER FORCE at the same instant (concurrent elections in one
/// epoch), then a perfect network (and maybe the victim back) until the cluster settles.
#[derive(Debug, Clone)]
struct Chaos {
    seed: u64,
    drop_percent: u32,
    latency_max_ms: u64,
    reorder: bool,
    victim: usize,
    kill_at_ms: u64,
    restart: bool,
    /// Which of the replicas (nodes 3, 4, 5) get FAILOVER FORCE at `force_at_ms`.
    forced: [bool; 3],
    force_at_ms: u64,
}

fn chaos() -> impl Strategy<Value = Chaos> {
    (
        (any::<u64>(), 0u32..=20, 1u64..=60, any::<bool>()),
        (0usize..3, 0u64..6000, any::<bool>()),
        (any::<[bool; 3]>(), 0u64..6000),
    )
        .prop_map(
            |(
                (seed, drop_percent, latency_max_ms, reorder),
                (victim, kill_at_ms, restart),
                (forced, force_at_ms),
            )| Chaos {
                seed,
                drop_percent,
                latency_max_ms,
                reorder,
                victim,
                kill_at_ms,
                restart,
                forced,
                force_at_ms,
            },
        )
}

const CHAOS_MS: u64 = 8000;
const SETTLE_MS: u64 = 20 * NODE_TIMEOUT_MS;

fn run_chaos(c: &Chaos, cfg: ClusterConfig) -> Result<(), String> {
    let mut net = Net::new(6, cfg, c.seed);
    net.create_cluster(3, &[0, 1, 2])?;
    net.faults = Faults {
        latency_min_ms: 1,
        latency_max_ms: c.latency_max_ms,
        drop_probability: c.drop_percent as f64 / 100.0,
        reorder: c.reorder,
    };
    let start = net.now_ms;
    let mut actions = [(c.kill_at_ms, 0), (c.force_at_ms, 1)];
    actions.sort();
    for (at, what) in actions {
        net.run_for(start + at - net.now_ms);
        if what == 0 {
            net.kill(c.victim);
        } else {
            for (k, _) in c.forced.iter().enumerate().filter(|(_, f)| **f) {
                if net.alive(3 + k) {
                    // Refused when the node was promoted meanwhile; that is fine.
                    let _ = net.command(3 + k, |s, now, unix| {
                        s.start_manual_failover(now, unix, FailoverMode::Force)
                    });
                }
            }
        }
    }
    net.run_for(start + CHAOS_MS - net.now_ms);
    if !net.violations.is_empty() {
        return Err(format!("{:?}\n{}", net.violations, net.describe()));
    }
    net.faults = Faults::default();
    if c.restart {
        net.restart(c.victim);
    }
    let settled = net.run_until(|n| n.converged().is_ok(), SETTLE_MS);
    if !net.violations.is_empty() {
        return Err(format!("{:?}\n{}", net.violations, net.describe()));
    }
    if settled.is_none() {
        return Err(format!(
            "no convergence {} ms after the faults stopped: {:?}\n{}",
            SETTLE_MS,
            net.converged(),
            net.describe()
        ));
    }
    Ok(())
}

#[test]
fn chaos_monitor_catches_the_planted_double_vote() {
    // The property below must be able to fail: with masters voting twice per epoch, concurrent
    // forced elections produce a second vote in one epoch for some of these schedules.
    let planted = ClusterConfig {
        planted: crate::cluster::planted::PlantedSet::of(&[
            crate::cluster::planted::Planted::DoubleVote,
        ]),
        ..config()
    };
    let caught = (0..4u64)
        .filter(|&seed| {
            let c = Chaos {
                seed,
                drop_percent: 0,
                latency_max_ms: 40,
                reorder: false,
                victim: 0,
                kill_at_ms: 7000,
                restart: false,
                forced: [true, true, true],
                force_at_ms: 1000,
            };
            matches!(run_chaos(&c, planted.clone()), Err(e) if e.contains("second vote"))
        })
        .count();
    assert!(
        caught > 0,
        "the monitor never caught the planted double vote"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn chaos_safety_always_liveness_after_faults_stop(c in chaos()) {
        if let Err(e) = run_chaos(&c, config()) {
            prop_assert!(false, "{:?}: {}", c, e);
        }
    }
}

/// Failure detection needs a majority of the masters, counted on the real cluster size: with
/// five masters, two that lose sight of a third must not mark it FAIL (two is a majority of
/// three, which is why three-master tests cannot see a miscounted quorum), and three must.
/// (Found by cargo-mutants: `size() % 2 + 1` for `size() / 2 + 1` survived the 3-master tests.)
#[test]
fn fail_needs_a_majority_of_five_masters_not_two() {
    let mut net = cluster(7, 5, &[]);
    let victim = net.id(0);
    let failed_anywhere = |net: &Net| {
        (0..5).any(|i| {
            net.state(i)
                .nodes
                .get(&victim)
                .is_some_and(|n| n.is_failed())
        })
    };
    net.partition(&[0], &[1, 2]);
    net.run_for(NODE_TIMEOUT_MS * 6);
    assert!(
        (1..3).all(|i| net.state(i).nodes[&victim].is_pfail()),
        "masters 1 and 2 should suspect master 0\n{}",
        net.describe()
    );
    assert!(
        !failed_anywhere(&net),
        "two of five masters marked master 0 FAIL\n{}",
        net.story()
    );
    net.heal();
    net.partition(&[0], &[1, 2, 3]);
    wait(
        &mut net,
        "FAIL with three of five reports",
        NODE_TIMEOUT_MS * 6,
        failed_anywhere,
    );
}

/// A PING from node `from` (a replica of `master`, at its current epochs) carrying `extensions`.
fn ping_with_extensions(
    net: &Net,
    from: usize,
    master: usize,
    extensions: Vec<wire::Extension>,
) -> Vec<u8> {
    replica_ping(net, from, master, net.state(from).current_epoch, extensions)
}

#[test]
fn ping_hostname_extension_sets_and_its_absence_clears_the_sender_hostname() {
    let mut net = cluster(8, 3, &[0, 1, 2]);
    let id3 = net.id(3);
    assert_eq!(net.state(0).nodes[&id3].hostname, None);
    let with = ping_with_extensions(
        &net,
        3,
        0,
        vec![wire::Extension::Hostname("node3.example".into())],
    );
    net.inject(0, 3, &with);
    assert_eq!(
        net.state(0).nodes[&id3].hostname.as_deref(),
        Some("node3.example"),
        "a 7.0 hostname extension names the sender"
    );
    // Redis 7.0 reads a ping without the extension as "no hostname announced".
    let without = ping_with_extensions(&net, 3, 0, Vec::new());
    net.inject(0, 3, &without);
    assert_eq!(net.state(0).nodes[&id3].hostname, None);
}

/// A PING from master `from` at its own epochs and slots whose gossip says `about` is PFAIL.
fn master_ping_reporting_pfail(net: &Net, from: usize, about: usize) -> Vec<u8> {
    let s = net.state(from);
    let mut h = Header::new(types::PING, net.id(from));
    h.port = PORT;
    h.cport = CPORT;
    h.current_epoch = s.current_epoch;
    h.config_epoch = s.me().config_epoch;
    h.myslots = s.me().slots.clone();
    h.flags = flags::MASTER;
    let n = &s.nodes[&net.id(about)];
    let entry = wire::GossipEntry {
        node: n.id,
        ping_sent_s: 0,
        pong_received_s: 0,
        ip: n.ip.clone(),
        port: n.port,
        cport: n.cport,
        flags: flags::MASTER | flags::PFAIL,
        pport: 0,
    };
    wire::encode(&Message {
        header: h,
        body: Body::Ping {
            gossip: vec![entry],
            extensions: Vec::new(),
        },
    })
}

/// Failure reports count for 2 x node-timeout (Redis's CLUSTER_FAIL_REPORT_VALIDITY_MULT):
/// with five masters, master 1 suspects master 0 and holds a report from master 2; master 3's
/// report arriving 1.5 x node-timeout later completes the quorum of three (itself, 2, 3), and
/// the same report arriving 2.5 x node-timeout later does not, the first having expired.
/// (Found by cargo-mutants: a window of node-timeout + 2 ms or node-timeout / 2 survived,
/// because gossip refreshes reports every half node-timeout in every other test.)
#[test]
fn failure_reports_count_for_two_node_timeouts() {
    let verdict = |report_age_ms: u64| {
        let mut net = cluster(9, 5, &[]);
        let (victim, id2) = (net.id(0), net.id(2));
        let now = net.now_ms;
        let n = net.state_mut(1).nodes.get_mut(&victim).expect("known");
        n.flags |= flags::PFAIL;
        n.fail_reports.clear();
        n.fail_reports
            .insert(id2, now.saturating_sub(report_age_ms));
        let ping = master_ping_reporting_pfail(&net, 3, 0);
        net.inject(1, 3, &ping);
        net.state(1).nodes[&victim].is_failed()
    };
    assert!(
        verdict(NODE_TIMEOUT_MS * 3 / 2),
        "a 1.5 x node-timeout old report counts"
    );
    assert!(
        !verdict(NODE_TIMEOUT_MS * 5 / 2),
        "a 2.5 x node-timeout old report expired"
    );
}

/// Only a master that serves slots votes (Redis's clusterSendFailoverAuthIfNeeded): a master
/// whose slots all moved away ignores a replica's request, leaving no vote on disk that could
/// make it refuse a legitimate request once it owns slots again. (Found by cargo-mutants:
/// `||` for `&&` in the check survived, since candidates ignore such votes anyway.)
#[test]
fn a_master_without_slots_does_not_vote() {
    let mut net = cluster(10, 3, &[0, 1, 2]);
    let (voter, r0) = (1, 3);
    let e = net.state(voter).current_epoch;
    let victim = net.id(0);
    net.state_mut(voter)
        .nodes
        .get_mut(&victim)
        .expect("known")
        .flags |= flags::FAIL;
    let me = net.state(voter).myself;
    net.state_mut(voter)
        .nodes
        .get_mut(&me)
        .expect("myself")
        .slots = Default::default();
    assert_eq!(net.state(voter).me().numslots(), 0);
    let mark = net.records.len();
    let req = auth_request(&net, r0, 0, e + 1, 1, true);
    net.inject(voter, r0, &req);
    assert_eq!(decisions(&net, voter, mark), vec![], "no decision at all");
    assert_eq!(net.state(voter).last_vote_epoch, 0);
}

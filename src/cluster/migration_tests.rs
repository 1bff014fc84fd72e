//! Tests of SETSLOT and open-slot routing on the state machine, through the in-memory network.

use super::migration::SetSlotAction;
use super::routing::{Query, Route, TRYAGAIN};
use super::state::ClusterConfig;
use super::testnet::Net;

fn three_masters(seed: u64) -> Net {
    let config = ClusterConfig {
        node_timeout_ms: 1000,
        ..ClusterConfig::default()
    };
    let mut net = Net::new(4, config, seed);
    net.create_cluster(3, &[0])
        .unwrap_or_else(|e| panic!("{}\n{}", e, net.story()));
    net
}

fn setslot(
    net: &mut Net,
    i: usize,
    slot: u16,
    action: SetSlotAction,
    node: Option<usize>,
    keys: usize,
) -> Result<(), String> {
    let arg = node.map(|n| net.id(n).to_string());
    net.command(i, |s, now, unix| {
        s.setslot(
            now,
            unix,
            slot,
            action,
            arg.as_deref().map(str::as_bytes),
            keys,
        )
        .map(|_| ())
    })
}

#[test]
fn setslot_errors_follow_redis() {
    let mut net = three_masters(3);
    // Slot 0 belongs to master 0, slot 5461 to master 1; node 3 is a replica.
    let e = |r: Result<(), String>| r.unwrap_err();
    assert_eq!(
        e(setslot(&mut net, 3, 0, SetSlotAction::Stable, None, 0)),
        "ERR Please use SETSLOT only with masters."
    );
    assert_eq!(
        e(setslot(
            &mut net,
            1,
            0,
            SetSlotAction::Migrating,
            Some(2),
            0
        )),
        "ERR I'm not the owner of hash slot 0"
    );
    assert_eq!(
        e(setslot(
            &mut net,
            0,
            0,
            SetSlotAction::Importing,
            Some(1),
            0
        )),
        "ERR I'm already the owner of hash slot 0"
    );
    assert_eq!(
        e(setslot(
            &mut net,
            0,
            0,
            SetSlotAction::Migrating,
            Some(3),
            0
        )),
        "ERR Target node is not a master"
    );
    let unknown = net.command(0, |s, now, unix| {
        s.setslot(now, unix, 0, SetSlotAction::Migrating, Some(b"nope"), 0)
    });
    assert_eq!(unknown.unwrap_err(), "ERR I don't know about node nope");
    let unknown = net.command(0, |s, now, unix| {
        s.setslot(now, unix, 0, SetSlotAction::Node, Some(b"nope"), 0)
    });
    assert_eq!(unknown.unwrap_err(), "ERR Unknown node nope");
    assert_eq!(
        e(setslot(&mut net, 0, 0, SetSlotAction::Node, Some(1), 3)),
        "ERR Can't assign hashslot 0 to a different node while I still hold keys for this hash slot."
    );
}

#[test]
fn open_slot_routes_ask_tryagain_and_asking_like_redis() {
    let mut net = three_masters(5);
    setslot(&mut net, 1, 0, SetSlotAction::Importing, Some(0), 0).unwrap();
    setslot(&mut net, 0, 0, SetSlotAction::Migrating, Some(1), 2).unwrap();
    let (src, dst) = (net.id(0), net.id(1));
    assert_eq!(net.state(0).migrating.get(&0), Some(&dst));
    assert_eq!(net.state(1).importing.get(&0), Some(&src));

    let q = Query::default();
    let source = net.state(0);
    // All keys here: served; none: ASK; some: TRYAGAIN.
    assert_eq!(
        source.route(
            0,
            Query {
                existing_keys: 2,
                ..q
            }
        ),
        Route::Local
    );
    assert_eq!(
        source.route(
            0,
            Query {
                missing_keys: 1,
                ..q
            }
        ),
        Route::Ask { slot: 0, node: dst }
    );
    assert_eq!(
        source.route(
            0,
            Query {
                missing_keys: 1,
                existing_keys: 1,
                multiple_keys: true,
                ..q
            }
        ),
        Route::Error(TRYAGAIN)
    );
    // MIGRATE itself always runs on an open slot.
    assert_eq!(
        source.route(
            0,
            Query {
                missing_keys: 1,
                is_migrate: true,
                ..q
            }
        ),
        Route::Local
    );

    let target = net.state(1);
    // Without ASKING the target sends the client back to the owner.
    assert_eq!(target.route(0, q), Route::Moved { slot: 0, node: src });
    assert_eq!(
        target.route(
            0,
            Query {
                asking: true,
                missing_keys: 1,
                ..q
            }
        ),
        Route::Local
    );
    assert_eq!(
        target.route(
            0,
            Query {
                asking: true,
                multiple_keys: true,
                missing_keys: 1,
                existing_keys: 1,
                ..q
            }
        ),
        Route::Error(TRYAGAIN)
    );
}

#[test]
fn setslot_node_on_target_bumps_epoch_and_everyone_learns_the_new_owner() {
    let mut net = three_masters(9);
    setslot(&mut net, 1, 0, SetSlotAction::Importing, Some(0), 0).unwrap();
    setslot(&mut net, 0, 0, SetSlotAction::Migrating, Some(1), 0).unwrap();
    let epoch_before = net.state(1).me().config_epoch;
    let max_before = (0..4)
        .map(|i| net.state(i).me().config_epoch)
        .max()
        .unwrap_or(0);
    // The keys moved; the target closes the import first, as redis-cli does.
    setslot(&mut net, 1, 0, SetSlotAction::Node, Some(1), 7).unwrap();
    let target = net.state(1);
    assert!(target.importing.is_empty());
    assert_eq!(target.slot_owner_id(0), Some(net.id(1)));
    if epoch_before != max_before {
        assert!(target.me().config_epoch > max_before, "no epoch bump");
    }
    // The source learns from gossip alone (its migrating state stays until told).
    let dst = net.id(1);
    let learnt = net.run_until(
        |n| {
            n.live()
                .iter()
                .all(|&i| n.state(i).slot_owner_id(0) == Some(dst))
        },
        10_000,
    );
    assert!(learnt.is_some(), "{}\n{}", net.describe(), net.story());
    setslot(&mut net, 0, 0, SetSlotAction::Node, Some(1), 0).unwrap();
    assert!(net.state(0).migrating.is_empty());
    net.assert_safe();
}

#[test]
fn stable_clears_both_states_and_node_to_myself_closes_import() {
    let mut net = three_masters(11);
    setslot(&mut net, 1, 0, SetSlotAction::Importing, Some(0), 0).unwrap();
    setslot(&mut net, 1, 0, SetSlotAction::Stable, None, 0).unwrap();
    assert!(net.state(1).importing.is_empty());
    setslot(&mut net, 0, 5, SetSlotAction::Migrating, Some(2), 1).unwrap();
    // A migrating slot with keys left keeps its state when bound to myself.
    setslot(&mut net, 0, 5, SetSlotAction::Node, Some(0), 1).unwrap();
    assert!(net.state(0).migrating.contains_key(&5));
    // Without keys, binding it clears the migrating state.
    setslot(&mut net, 0, 5, SetSlotAction::Node, Some(0), 0).unwrap();
    assert!(net.state(0).migrating.is_empty());
}

#[test]
fn open_slots_survive_a_restart_from_nodes_conf() {
    let mut net = three_masters(13);
    setslot(&mut net, 1, 0, SetSlotAction::Importing, Some(0), 0).unwrap();
    setslot(&mut net, 0, 0, SetSlotAction::Migrating, Some(1), 4).unwrap();
    net.run_for(200);
    let (src, dst) = (net.id(0), net.id(1));
    net.kill(0);
    net.kill(1);
    net.restart(0);
    net.restart(1);
    assert_eq!(net.state(0).migrating.get(&0), Some(&dst));
    assert_eq!(net.state(1).importing.get(&0), Some(&src));
    assert_eq!(net.state(0).slot_owner_id(0), Some(src));
}

//! Format and parse tests against the text real redis-server 7.0.15 produced.

use proptest::prelude::*;

use super::*;

/// `transcripts/nodes.conf.example`, as written by redis-server 7.0.15.
const NODES_CONF_EXAMPLE: &str = "\
1d3ca0e9226d07db8541d041f5f8ac001d2cf973 127.0.0.1:7006@17006 master - 0 1795553603000 8 connected 5461-10922
c3915c09d85915433b3443d0e1a89c5d912964cc 127.0.0.1:7002@17002 slave 1d3ca0e9226d07db8541d041f5f8ac001d2cf973 0 1795553603540 8 connected
835fef445d63c5d1f67a2f8cef927a7b2f3ae35f 127.0.0.1:7001@17001 myself,master - 0 1795553602000 9 connected 0-5460 10923-10927
168ba08a9ed556d512d1dc71b3a2820b4820d306 127.0.0.1:7004@17004 slave 3d145ca78c5cc4fedb95db44fa69943c3756d0d4 0 1795553603740 3 connected
3d145ca78c5cc4fedb95db44fa69943c3756d0d4 127.0.0.1:7003@17003 master - 0 1795553602535 3 connected 10928-16383
9cebd325f1974fb26e06f205eabae23146a14227 127.0.0.1:7005@17005 slave 835fef445d63c5d1f67a2f8cef927a7b2f3ae35f 0 1795553603740 9 connected
vars currentEpoch 9 lastVoteEpoch 8
";

/// `transcripts/cluster-nodes.example`: a CLUSTER NODES reply from the same cluster.
const CLUSTER_NODES_EXAMPLE: &str = "\
1d3ca0e9226d07db8541d041f5f8ac001d2cf973 127.0.0.1:7006@17006 master - 0 1795553706155 8 connected 5461-10922
c3915c09d85915433b3443d0e1a89c5d912964cc 127.0.0.1:7002@17002 slave 1d3ca0e9226d07db8541d041f5f8ac001d2cf973 0 1795553707160 8 connected
835fef445d63c5d1f67a2f8cef927a7b2f3ae35f 127.0.0.1:7001@17001 myself,master - 0 1795553706000 9 connected 0-5460 10923-10927
168ba08a9ed556d512d1dc71b3a2820b4820d306 127.0.0.1:7004@17004 slave 3d145ca78c5cc4fedb95db44fa69943c3756d0d4 0 1795553706000 3 connected
3d145ca78c5cc4fedb95db44fa69943c3756d0d4 127.0.0.1:7003@17003 master - 0 1795553706000 3 connected 10928-16383
9cebd325f1974fb26e06f205eabae23146a14227 127.0.0.1:7005@17005 slave 835fef445d63c5d1f67a2f8cef927a7b2f3ae35f 0 1795553705000 9 connected
";

const REFERENCE_DIR: &str = "/work/shared/reference/transcripts";

fn id(c: char) -> NodeId {
    NodeId::parse(c.to_string().repeat(40).as_bytes()).unwrap()
}

fn line_text(line: &NodeLine) -> String {
    let mut s = String::new();
    format_line(line, &mut s);
    s
}

fn base_line() -> NodeLine {
    NodeLine {
        id: id('a'),
        ip: "127.0.0.1".into(),
        port: 7001,
        cport: 17001,
        hostname: None,
        flags: vec![NodeFlag::Myself, NodeFlag::Master],
        master: None,
        ping_sent_ms: 0,
        pong_recv_ms: 0,
        config_epoch: 0,
        connected: true,
        slots: SlotBitmap::new(),
        migrating: vec![],
        importing: vec![],
    }
}

fn line_err(text: &str) -> LineError {
    match NodesConf::parse(text) {
        Err(NodesConfError::Line { error, .. }) => error,
        other => panic!("expected a line error for {text:?}, got {other:?}"),
    }
}

#[test]
fn embedded_examples_match_the_reference_files() {
    // The examples are embedded so the tests build anywhere; when the reference copy is
    // present, make sure the embedded text has not drifted from it.
    for (name, embedded) in [
        ("nodes.conf.example", NODES_CONF_EXAMPLE),
        ("cluster-nodes.example", CLUSTER_NODES_EXAMPLE),
    ] {
        if let Ok(text) = std::fs::read_to_string(format!("{REFERENCE_DIR}/{name}")) {
            assert_eq!(text, embedded, "{name}");
        }
    }
}

#[test]
fn redis_nodes_conf_round_trips_byte_for_byte() {
    let conf = NodesConf::parse(NODES_CONF_EXAMPLE).unwrap();
    assert_eq!(conf.nodes.len(), 6);
    assert_eq!(conf.current_epoch, 9);
    assert_eq!(conf.last_vote_epoch, 8);
    let me = conf.myself().unwrap();
    assert_eq!(me.id.as_str(), "835fef445d63c5d1f67a2f8cef927a7b2f3ae35f");
    assert_eq!(me.slots.ranges(), vec![(0, 5460), (10923, 10927)]);
    assert_eq!(me.config_epoch, 9);
    let replica = &conf.nodes[1];
    assert_eq!(replica.flags, vec![NodeFlag::Slave]);
    assert_eq!(replica.master, Some(conf.nodes[0].id));
    assert_eq!(replica.pong_recv_ms, 1795553603540);
    assert!(replica.slots.is_empty());
    assert_eq!(conf.to_text(), NODES_CONF_EXAMPLE);
}

#[test]
fn redis_cluster_nodes_reply_round_trips_byte_for_byte() {
    let mut out = String::new();
    for line in CLUSTER_NODES_EXAMPLE.lines() {
        format_line(&parse_line(line).unwrap(), &mut out);
    }
    assert_eq!(out, CLUSTER_NODES_EXAMPLE);
    assert!(out.ends_with('\n'), "the last line ends with a newline too");
}

#[test]
fn fresh_node_prints_an_empty_ip() {
    let line = NodeLine {
        ip: String::new(),
        id: NodeId::parse(b"835fef445d63c5d1f67a2f8cef927a7b2f3ae35f").unwrap(),
        ..base_line()
    };
    let text = line_text(&line);
    assert_eq!(
        text,
        "835fef445d63c5d1f67a2f8cef927a7b2f3ae35f :7001@17001 myself,master - 0 0 0 connected\n"
    );
    assert_eq!(parse_line(&text).unwrap(), line);
}

#[test]
fn flags_print_in_redis_order_or_noflags() {
    let mut line = base_line();
    line.flags = vec![
        NodeFlag::NoFailover,
        NodeFlag::Fail,
        NodeFlag::Slave,
        NodeFlag::PFail,
        NodeFlag::NoAddr,
        NodeFlag::Handshake,
        NodeFlag::Myself,
        NodeFlag::Slave,
    ];
    assert!(line_text(&line).contains(" myself,slave,fail?,fail,handshake,noaddr,nofailover "));
    line.flags.clear();
    assert!(line_text(&line).contains(" noflags - "));
    assert_eq!(parse_line(&line_text(&line)).unwrap().flags, vec![]);
}

#[test]
fn flag_bits_match_the_bus() {
    use crate::cluster::wire::flags as bits;
    let all = NodeFlag::from_bits(u16::MAX);
    assert_eq!(all, NodeFlag::ALL.to_vec());
    assert_eq!(
        NodeFlag::from_bits(bits::SLAVE | bits::PFAIL | bits::MEET | bits::MIGRATE_TO),
        vec![NodeFlag::Slave, NodeFlag::PFail]
    );
    assert_eq!(
        NodeFlag::to_bits(&[NodeFlag::Myself, NodeFlag::Master]),
        bits::MYSELF | bits::MASTER
    );
    for f in NodeFlag::ALL {
        assert_eq!(NodeFlag::from_word(f.as_str()), Some(f));
    }
    assert_eq!(NodeFlag::from_word("replica"), None);
}

#[test]
fn replica_disconnected_hostname_and_single_slots() {
    let mut line = base_line();
    line.flags = vec![NodeFlag::Slave, NodeFlag::PFail];
    line.master = Some(id('b'));
    line.hostname = Some("node-1.example.com".into());
    line.connected = false;
    line.ping_sent_ms = 1795553706155;
    line.pong_recv_ms = 1795553700000;
    line.config_epoch = 12;
    for s in [0, 2, 3, 4, 100, 16383] {
        line.slots.set(s);
    }
    let text = line_text(&line);
    assert_eq!(
        text,
        format!(
            "{} 127.0.0.1:7001@17001,node-1.example.com slave,fail? {} 1795553706155 \
             1795553700000 12 disconnected 0 2-4 100 16383\n",
            "a".repeat(40),
            "b".repeat(40)
        )
    );
    assert_eq!(parse_line(&text).unwrap(), line);
}

#[test]
fn open_slots_follow_the_ranges_in_slot_order() {
    let mut line = base_line();
    line.slots.set_range(0, 10);
    line.migrating = vec![(9, id('c')), (3, id('b'))];
    line.importing = vec![(500, id('d')), (3, id('e'))];
    let text = line_text(&line);
    let expected_tail = format!(
        " 0-10 [3->-{}] [9->-{}] [500-<-{}]\n",
        "b".repeat(40),
        "c".repeat(40),
        "d".repeat(40)
    );
    assert!(text.ends_with(&expected_tail), "{text}");
    let back = parse_line(&text).unwrap();
    assert_eq!(back.migrating, vec![(3, id('b')), (9, id('c'))]);
    assert_eq!(back.importing, vec![(500, id('d'))]);
}

#[test]
fn handshake_nodes_are_not_saved() {
    let mut hs = base_line();
    hs.id = id('f');
    hs.flags = vec![NodeFlag::Handshake];
    let conf = NodesConf {
        nodes: vec![base_line(), hs],
        current_epoch: 1,
        last_vote_epoch: 0,
    };
    let text = conf.to_text();
    assert_eq!(text.lines().count(), 2);
    assert!(text.ends_with("vars currentEpoch 1 lastVoteEpoch 0\n"));
    // A handshake line on disk still loads (Redis's loader accepts the flag).
    let mut with_hs = String::new();
    format_line(&conf.nodes[0], &mut with_hs);
    format_line(&conf.nodes[1], &mut with_hs);
    assert_eq!(NodesConf::parse(&with_hs).unwrap().nodes.len(), 2);
}

#[test]
fn lenient_where_redis_is() {
    let me = "a".repeat(40);
    // Old address form without @cport: Redis assumes port + 10000.
    let conf = NodesConf::parse(&format!(
        "\n{me} 10.0.0.1:7001 myself,master - 0 0 0 connected 5\r\n\n\
         vars lastVoteEpoch 3 somethingNew x currentEpoch 4\n\n\n"
    ))
    .unwrap();
    let n = &conf.nodes[0];
    assert_eq!((n.port, n.cport), (7001, 17001));
    assert_eq!((conf.current_epoch, conf.last_vote_epoch), (4, 3));
    // IPv6 keeps its colons; an empty hostname after the comma means none.
    let n = parse_line(&format!(
        "{me} ::1:7001@17001, myself,noflags - 0 0 0 connected"
    ))
    .unwrap();
    assert_eq!(n.ip, "::1");
    assert_eq!(n.hostname, None);
    assert_eq!(n.flags, vec![NodeFlag::Myself]);
    // Uppercase hex ids load (Redis compares them as given).
    assert!(parse_line(&format!("{} :1@2 master - 0 0 0 connected", "A".repeat(40))).is_ok());
    // No vars line, or nothing at all.
    assert_eq!(
        NodesConf::parse(&format!("{me} :1@2 myself,master - 0 0 0 connected\n"))
            .unwrap()
            .current_epoch,
        0
    );
    assert_eq!(NodesConf::parse("").unwrap(), NodesConf::default());
    assert_eq!(NodesConf::parse("\n\n").unwrap(), NodesConf::default());
}

#[test]
fn errors_name_the_line_and_the_problem() {
    let me = "a".repeat(40);
    let other = "b".repeat(40);
    let good = format!("{me} 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-100\n");

    let err = NodesConf::parse(&format!("{good}zzz 1:2@3 master - 0 0 0 connected\n"));
    assert_eq!(
        err,
        Err(NodesConfError::Line {
            line: 2,
            error: LineError::BadNodeId("zzz".into())
        })
    );
    assert_eq!(
        err.unwrap_err().to_string(),
        "nodes.conf line 2: invalid node id \"zzz\""
    );

    let cases: Vec<(String, LineError)> = vec![
        (
            format!("{me} 1:2@3 master - 0 0 0"),
            LineError::TooFewFields(7),
        ),
        (
            format!("{me} 127.0.0.1 myself - 0 0 0 connected"),
            LineError::BadAddress("127.0.0.1".into()),
        ),
        (
            format!("{me} 1.2.3.4:70000@1 myself - 0 0 0 connected"),
            LineError::BadAddress("1.2.3.4:70000@1".into()),
        ),
        (
            format!("{me} 1.2.3.4:60000 myself - 0 0 0 connected"),
            LineError::BadAddress("1.2.3.4:60000".into()),
        ),
        (
            format!("{me} :1@2 myself,replica - 0 0 0 connected"),
            LineError::UnknownFlag("replica".into()),
        ),
        (
            format!("{me} :1@2 myself,,master - 0 0 0 connected"),
            LineError::UnknownFlag("".into()),
        ),
        (
            format!("{me} :1@2 myself nope 0 0 0 connected"),
            LineError::BadMaster("nope".into()),
        ),
        (
            format!("{me} :1@2 myself - -1 0 0 connected"),
            LineError::BadNumber {
                field: "ping_sent",
                value: "-1".into(),
            },
        ),
        (
            format!("{me} :1@2 myself - 0 0 99999999999999999999 connected"),
            LineError::BadNumber {
                field: "configEpoch",
                value: "99999999999999999999".into(),
            },
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 up"),
            LineError::BadLinkState("up".into()),
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 connected 16384"),
            LineError::BadSlot("16384".into()),
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 connected 10-5"),
            LineError::BadSlot("10-5".into()),
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 connected 5-"),
            LineError::BadSlot("5-".into()),
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 connected +5"),
            LineError::BadSlot("+5".into()),
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 connected [5->-{other}"),
            LineError::BadSlot(format!("[5->-{other}")),
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 connected [5-?-{other}]"),
            LineError::BadSlot(format!("[5-?-{other}]")),
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 connected [20000-<-{other}]"),
            LineError::BadSlot(format!("[20000-<-{other}]")),
        ),
        (
            format!("{me} :1@2 myself - 0 0 0 connected [5-<-xyz]"),
            LineError::BadSlot("[5-<-xyz]".into()),
        ),
        ("vars currentEpoch".to_string(), LineError::BadVars),
        ("vars".to_string(), LineError::BadVars),
        (
            "vars currentEpoch x".to_string(),
            LineError::BadNumber {
                field: "currentEpoch",
                value: "x".into(),
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(line_err(&text), expected, "{text}");
    }

    assert_eq!(
        NodesConf::parse(&format!("{good}{good}")),
        Err(NodesConfError::Line {
            line: 2,
            error: LineError::DuplicateNode(id('a'))
        })
    );
    assert_eq!(
        NodesConf::parse(&format!(
            "{good}{other} :1@2 myself,slave {me} 0 0 0 connected\n"
        )),
        Err(NodesConfError::Line {
            line: 2,
            error: LineError::DuplicateMyself
        })
    );
    assert_eq!(
        NodesConf::parse(&format!("{other} :1@2 master - 0 0 0 connected\n")),
        Err(NodesConfError::NoMyself)
    );
}

#[test]
fn error_snippets_are_bounded() {
    let long = "é".repeat(100);
    match parse_line(&format!("{long} :1@2 myself - 0 0 0 connected")) {
        Err(LineError::BadNodeId(s)) => assert!(s.len() <= 64 && long.starts_with(&s)),
        other => panic!("{other:?}"),
    }
}

// ---- property tests ----

fn arb_id() -> impl Strategy<Value = NodeId> {
    "[0-9a-f]{40}".prop_map(|s| NodeId::parse(s.as_bytes()).unwrap())
}

fn arb_line(myself: bool) -> impl Strategy<Value = NodeLine> {
    (
        arb_id(),
        "([0-9]{1,3}\\.){3}[0-9]{1,3}|[0-9a-f:]{2,20}|",
        (any::<u16>(), any::<u16>()),
        proptest::option::of("[a-z][a-z0-9.-]{0,30}"),
        proptest::collection::vec(1usize..8, 0..4),
        proptest::option::of(arb_id()),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>()),
        proptest::collection::vec((0u16..16384, 0u16..40), 0..6),
        proptest::collection::vec((0u16..16384, any::<bool>(), arb_id()), 0..4),
    )
        .prop_map(
            move |(
                id,
                ip,
                (port, cport),
                hostname,
                flag_idx,
                master,
                (ping_sent_ms, pong_recv_ms, config_epoch, connected),
                runs,
                open,
            )| {
                // Myself only where asked; never handshake (those are not saved).
                let mut flags: Vec<NodeFlag> = flag_idx
                    .into_iter()
                    .map(|i| NodeFlag::ALL[i])
                    .filter(|f| *f != NodeFlag::Handshake)
                    .collect();
                flags.sort();
                flags.dedup();
                if myself {
                    flags.insert(0, NodeFlag::Myself);
                }
                let mut slots = SlotBitmap::new();
                for (start, len) in runs {
                    slots.set_range(start, start.saturating_add(len));
                }
                // Canonical open slots: one per slot, each list ascending.
                let mut open = open;
                open.sort_by_key(|o| o.0);
                open.dedup_by_key(|o| o.0);
                let (imp, mig): (Vec<_>, Vec<_>) = open.into_iter().partition(|o| o.1);
                NodeLine {
                    id,
                    ip,
                    port,
                    cport,
                    hostname,
                    flags,
                    master,
                    ping_sent_ms,
                    pong_recv_ms,
                    config_epoch,
                    connected,
                    slots,
                    migrating: mig.into_iter().map(|(s, _, id)| (s, id)).collect(),
                    importing: imp.into_iter().map(|(s, _, id)| (s, id)).collect(),
                }
            },
        )
}

fn arb_conf() -> impl Strategy<Value = NodesConf> {
    (
        arb_line(true),
        proptest::collection::vec(arb_line(false), 0..5),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(me, others, current_epoch, last_vote_epoch)| {
            let mut nodes = vec![me];
            for n in others {
                if nodes.iter().all(|m| m.id != n.id) {
                    nodes.push(n);
                }
            }
            NodesConf {
                nodes,
                current_epoch,
                last_vote_epoch,
            }
        })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = NodesConf::parse(&text);
        let _ = parse_line(&text);
    }

    #[test]
    fn token_soup_never_panics(
        words in proptest::collection::vec(
            prop_oneof![
                Just("a".repeat(40)),
                Just("myself,master".to_string()),
                Just("-".to_string()),
                Just("connected".to_string()),
                Just("vars".to_string()),
                Just("\n".to_string()),
                "[0-9]{1,6}",
                "[0-9]{1,5}-[0-9]{1,5}",
                "\\[[0-9]{1,5}(->-|-<-)[0-9a-f]{0,41}\\]?",
                "[0-9a-f:.]{0,50}(@[0-9]{0,6})?(,[a-z]{0,5})?",
                ".{0,10}",
            ],
            0..30,
        ),
    ) {
        let text = words.join(" ");
        let _ = NodesConf::parse(&text);
        for line in text.lines() {
            let _ = parse_line(line);
        }
    }

    #[test]
    fn random_configs_round_trip(conf in arb_conf()) {
        let text = conf.to_text();
        let back = NodesConf::parse(&text).unwrap();
        prop_assert_eq!(&back, &conf);
        prop_assert_eq!(back.to_text(), text);
    }
}

//! DEBUG's cluster-bus faults, as Redis 7.0 has them, so Redis-style tests can break the bus of
//! a real node (both run only where `enable-debug-command` allows DEBUG):
//!
//! - `DEBUG CLUSTERLINK KILL to|from|all <node-id>` frees our link to that node (`to`), its
//!   link to us (`from`) or both; each side reconnects as after a broken connection.
//! - `DEBUG DROP-CLUSTER-PACKET-FILTER <type>` drops every incoming bus packet of that type
//!   number (0 PING, 1 PONG, 2 MEET, 3 FAIL, ..., see `cluster::wire::types`) after counting it,
//!   before it is processed; `-1` drops none again.

use super::{eq_ignore_case, parse_i64, CmdError, CmdResult, Ctx};
use crate::cluster::state::LinkDirection;
use crate::cluster::NodeId;
use crate::resp::Reply;
use bytes::Bytes;

/// `DEBUG CLUSTERLINK KILL <to|from|all> <node-id>` (argv includes `DEBUG`).
pub fn clusterlink(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() != 5 || !eq_ignore_case(&argv[2], "kill") {
        return Err(CmdError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&argv[1])
        )));
    }
    let Some(state) = ctx.node.cluster.as_mut() else {
        return Err(CmdError::other(
            "ERR Debug option only available for cluster mode enabled setup!",
        ));
    };
    let unknown = || {
        CmdError::other(format!(
            "ERR Unknown node {}",
            String::from_utf8_lossy(&argv[4])
        ))
    };
    let id = NodeId::parse(&argv[4]).ok_or_else(unknown)?;
    if !state.nodes.contains_key(&id) {
        return Err(unknown());
    }
    let direction = if eq_ignore_case(&argv[3], "to") {
        LinkDirection::To
    } else if eq_ignore_case(&argv[3], "from") {
        LinkDirection::From
    } else if eq_ignore_case(&argv[3], "all") {
        LinkDirection::All
    } else {
        // Redis replies this error and then +OK as well (two replies to one command); one
        // reply is what a client can parse.
        return Err(CmdError::other(format!(
            "ERR Unknown direction {}",
            String::from_utf8_lossy(&argv[3])
        )));
    };
    state.kill_links(&id, direction);
    Ok(Reply::ok())
}

/// `DEBUG DROP-CLUSTER-PACKET-FILTER <packet-type>` (argv includes `DEBUG`).
pub fn drop_packet_filter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let kind = parse_i64(&argv[2]).ok_or(CmdError::NotInteger)?;
    // Redis keeps the value with no cluster too; without a bus there is nothing to drop.
    if let Some(state) = ctx.node.cluster.as_mut() {
        state.drop_packet_filter = kind;
    }
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::node::testing::TestNode;

    fn debug_cluster_node() -> TestNode {
        let mut c = Config::default();
        c.set_startup("cluster-enabled", &["yes".into()]).unwrap();
        c.set_startup("port", &["7000".into()]).unwrap();
        c.set_startup("enable-debug-command", &["yes".into()])
            .unwrap();
        TestNode::with_config(c)
    }

    #[test]
    fn clusterlink_kill_checks_its_arguments_like_redis() {
        let mut t = debug_cluster_node();
        let other = "3d145ca78c5cc4fedb95db44fa69943c3756d0d4";
        assert_eq!(
            t.run_text(&["DEBUG", "CLUSTERLINK", "KILL", "to", other]),
            format!("-ERR Unknown node {other}\r\n")
        );
        let me = t.node.rest.cluster.as_ref().unwrap().myself;
        assert_eq!(
            t.run_text(&["DEBUG", "CLUSTERLINK", "KILL", "sideways", me.as_str()]),
            "-ERR Unknown direction sideways\r\n"
        );
        assert_eq!(
            t.run_text(&["DEBUG", "clusterlink", "kill", "ALL", me.as_str()]),
            "+OK\r\n"
        );
        assert!(t
            .run_text(&["DEBUG", "CLUSTERLINK", "KILL", "to"])
            .starts_with("-ERR unknown subcommand"));
        let plain = {
            let mut c = Config::default();
            c.set_startup("enable-debug-command", &["yes".into()])
                .unwrap();
            TestNode::with_config(c)
        };
        let mut plain = plain;
        assert_eq!(
            plain.run_text(&["DEBUG", "CLUSTERLINK", "KILL", "to", other]),
            "-ERR Debug option only available for cluster mode enabled setup!\r\n"
        );
    }

    #[test]
    fn drop_filter_is_set_and_cleared() {
        let mut t = debug_cluster_node();
        assert_eq!(
            t.run_text(&["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "1"]),
            "+OK\r\n"
        );
        assert_eq!(t.node.rest.cluster.as_ref().unwrap().drop_packet_filter, 1);
        assert_eq!(
            t.run_text(&["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            t.run_text(&["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"]),
            "+OK\r\n"
        );
        assert_eq!(t.node.rest.cluster.as_ref().unwrap().drop_packet_filter, -1);
    }
}

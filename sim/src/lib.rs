//! keyslot-sim: the keyslot node on madsim's simulated network and clock.
//!
//! Build and run with `--cfg madsim` (sim/.cargo/config.toml sets it): every node is the
//! unchanged `keyslot::server::run` on its own simulated host; one seed decides every run.
//!
//! - [`world`]: the simulated cluster, its faults, and cluster formation as redis-cli does it;
//! - [`faults`]: faults as values, aimed by [`faults::Target`] selectors; [`clocks`]: each
//!   host's clock error; [`bus_faults`]: cluster-bus faults inside the node (DEBUG's);
//! - [`client`]: cluster clients that follow MOVED/ASK and record a history;
//! - [`check`]: the invariants ([`protocol_check`]: 9-11); [`marks`]: coverage marks per run;
//! - [`trace`]: the story of a run;
//! - [`scenario`]: scenario files (`scenarios/*.toml`), [`scenarios`]: running them,
//!   [`run`]: seeds and replay;
//! - [`schedule`]: random fault schedules and shrinking; [`swarm`]: a world drawn per seed
//!   (topology, timeouts, fault kinds, load) around such a schedule;
//! - [`fuzzing`]: what the scenario-file fuzz target (sim/fuzz) runs;
//! - [`record`]: one explore run as a JSON line, shards of the seed range; [`summary`]: the
//!   table `explore` and `merge` print; [`html`]: the run as a timeline page.

#[cfg(madsim)]
pub mod bus_faults;
#[cfg(madsim)]
pub mod check;
#[cfg(madsim)]
pub mod client;
#[cfg(madsim)]
pub mod clocks;
#[cfg(madsim)]
pub mod faults;
#[cfg(madsim)]
pub mod fuzzing;
#[cfg(madsim)]
pub mod html;
#[cfg(madsim)]
pub mod marks;
#[cfg(madsim)]
pub mod protocol_check;
#[cfg(madsim)]
pub mod record;
#[cfg(madsim)]
pub mod resp_client;
#[cfg(madsim)]
pub mod run;
#[cfg(madsim)]
pub mod scenario;
#[cfg(madsim)]
pub mod scenarios;
#[cfg(madsim)]
pub mod schedule;
#[cfg(madsim)]
pub mod summary;
#[cfg(madsim)]
pub mod swarm;
pub mod trace;
#[cfg(madsim)]
pub mod world;

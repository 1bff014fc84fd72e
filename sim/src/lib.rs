//! keyslot-sim: the keyslot node on madsim's simulated network and clock.
//!
//! Build and run with `--cfg madsim` (sim/.cargo/config.toml sets it): every node is the
//! unchanged `keyslot::server::run` on its own simulated host; one seed decides every run.
//!
//! - [`world`]: the simulated cluster, its faults, and cluster formation as redis-cli does it;
//! - [`faults`]: faults as values, aimed by [`faults::Target`] selectors; [`clocks`]: each
//!   host's clock error; [`bus_faults`]: cluster-bus faults inside the node (DEBUG's);
//! - [`client`]: cluster clients that follow MOVED/ASK and record a history;
//! - [`check`]: the invariants;
//! - [`trace`]: the story of a run;
//! - [`scenario`]: scenario files (`scenarios/*.toml`), [`scenarios`]: running them,
//!   [`run`]: seeds and replay;
//! - [`schedule`]: random fault schedules and shrinking; [`html`]: the run as a timeline page.

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
pub mod html;
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
pub mod trace;
#[cfg(madsim)]
pub mod world;

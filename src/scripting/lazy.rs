//! The node's Lua engine, built the first time something needs it.
//!
//! Building the engine (Redis's libraries, the `redis` API, the locked globals, keyslot's
//! own Lua code compiled) costs a few million instructions, about a millisecond. Most nodes
//! never run a script, and the simulator starts hundreds of nodes a second, where that
//! build was about a sixth of a kill-master run. So the node holds a [`LazyScripting`]: the
//! engine is built on first use through `Deref`, and the few readers that must not build
//! it (INFO, snapshots, the connections' busy handle) ask [`LazyScripting::built`] or
//! [`LazyScripting::busy`].

use super::{busy::Busy, LogSink, Scripting};
use std::cell::OnceCell;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// See the module documentation.
pub struct LazyScripting {
    engine: OnceCell<Scripting>,
    sink: LogSink,
    /// Shared with the engine once built; connections hold it from the start.
    busy: Arc<Busy>,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call the commands normally refused to
    /// them (Redis's script_disable_deny_script; its suite calls DEBUG PROTOCOL from scripts).
    pub deny_disabled: bool,
    /// While a script runs: the unix ms it started at, the time its commands see. Every
    /// command reads it, so it lives here, outside the engine.
    pub time_snapshot_ms: Option<u64>,
}

impl LazyScripting {
    /// Nothing is built yet.
    pub fn new(sink: LogSink) -> LazyScripting {
        LazyScripting {
            engine: OnceCell::new(),
            sink,
            busy: Arc::new(Busy::default()),
            deny_disabled: false,
            time_snapshot_ms: None,
        }
    }

    /// The running script's state, without building the engine.
    pub fn busy(&self) -> Arc<Busy> {
        self.busy.clone()
    }

    /// The engine if something has built it; no engine means no scripts and no libraries.
    pub fn built(&self) -> Option<&Scripting> {
        self.engine.get()
    }

    /// The FUNCTION libraries' codes (snapshots, full syncs): none while nothing is built.
    pub fn library_codes(&self) -> Vec<bytes::Bytes> {
        self.built()
            .map(Scripting::library_codes)
            .unwrap_or_default()
    }

    /// Replaces the libraries by a snapshot's (RDB load, full sync): an empty set of
    /// libraries on an engine not yet built leaves it unbuilt.
    pub fn load_snapshot_libraries(&mut self, codes: &[bytes::Bytes]) -> Result<(), String> {
        if codes.is_empty() && self.built().is_none() {
            return Ok(());
        }
        self.deref_mut().load_snapshot_libraries(codes)
    }

    /// Drops every FUNCTION library (DEBUG RELOAD, DEBUG LOADAOF), building nothing.
    pub fn flush_functions(&mut self) {
        if let Some(engine) = self.engine.get_mut() {
            engine.functions.flush();
        }
    }

    fn engine(&self) -> &Scripting {
        self.engine
            .get_or_init(|| Scripting::new(self.sink.clone(), self.busy.clone()))
    }
}

impl Deref for LazyScripting {
    type Target = Scripting;

    fn deref(&self) -> &Scripting {
        self.engine()
    }
}

impl DerefMut for LazyScripting {
    fn deref_mut(&mut self) -> &mut Scripting {
        self.engine();
        match self.engine.get_mut() {
            Some(engine) => engine,
            // engine() has just set the cell.
            None => unreachable!("the Lua engine was built above"),
        }
    }
}

//! The C libraries Redis loads into its Lua, written in Rust: `bit` (LuaBitOp) and `cjson`;
//! struct and cmsgpack are not there yet.

pub mod bit;
pub mod cjson;

use mlua::{Lua, Table};

/// Adds the libraries to the globals table `g`.
pub fn register(lua: &Lua, g: &Table) -> mlua::Result<()> {
    g.raw_set("bit", bit::library(lua)?)?;
    g.raw_set("cjson", cjson::library(lua)?)?;
    Ok(())
}

//! The C libraries Redis loads into its Lua, written in Rust: `bit` (LuaBitOp), `cjson`,
//! `cmsgpack` and `struct`.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod structlib;

use mlua::{Lua, Table};

/// Adds the libraries to the globals table `g`.
pub fn register(lua: &Lua, g: &Table) -> mlua::Result<()> {
    g.raw_set("bit", bit::library(lua)?)?;
    g.raw_set("cjson", cjson::library(lua)?)?;
    g.raw_set("cmsgpack", cmsgpack::library(lua)?)?;
    g.raw_set("struct", structlib::library(lua)?)?;
    Ok(())
}

//! LuaBitOp (`bit.*`): 32-bit operations on Lua numbers, as Redis's bundled bit.c computes them.

use mlua::{Lua, Table, Variadic};

/// LuaBitOp's number normalisation: the number rounded to an integer (ties to even), taken
/// modulo 2^32 as a signed 32-bit value (the 2^52 + 2^51 addition trick of bit.c).
pub fn tobit(x: f64) -> i32 {
    (x + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

/// bit.tohex(x [, n]): n hex digits (default 8, negative for upper case).
pub fn tohex(x: f64, n: Option<f64>) -> String {
    let b = tobit(x) as u32;
    let mut n = n.map_or(8, tobit);
    let upper = n < 0;
    if upper {
        n = n.wrapping_neg();
    }
    let n = n.clamp(0, 8) as usize;
    let s = if upper {
        format!("{b:08X}")
    } else {
        format!("{b:08x}")
    };
    s[8 - n..].to_string()
}

/// The `bit` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let f = |v: i32| v as f64;
    t.raw_set(
        "tobit",
        lua.create_function(move |_, x: f64| Ok(f(tobit(x))))?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| Ok(tohex(x, n)))?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(move |_, x: f64| Ok(f(!tobit(x))))?,
    )?;
    type Fold = fn(i32, i32) -> i32;
    let folds: [(&str, Fold); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, op) in folds {
        t.raw_set(
            name,
            lua.create_function(move |_, (first, rest): (f64, Variadic<f64>)| {
                Ok(f(rest
                    .iter()
                    .fold(tobit(first), |acc, x| op(acc, tobit(*x)))))
            })?,
        )?;
    }
    type Shift = fn(i32, u32) -> i32;
    let shifts: [(&str, Shift); 5] = [
        ("lshift", |x, n| ((x as u32) << n) as i32),
        ("rshift", |x, n| ((x as u32) >> n) as i32),
        ("arshift", |x, n| x >> n),
        ("rol", |x, n| (x as u32).rotate_left(n) as i32),
        ("ror", |x, n| (x as u32).rotate_right(n) as i32),
    ];
    for (name, op) in shifts {
        t.raw_set(
            name,
            lua.create_function(move |_, (x, n): (f64, f64)| {
                Ok(f(op(tobit(x), (tobit(n) as u32) & 31)))
            })?,
        )?;
    }
    t.raw_set(
        "bswap",
        lua.create_function(move |_, x: f64| Ok(f(tobit(x).swap_bytes())))?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_luabitop() {
        assert_eq!(tobit(0xffff_ffffu32 as f64), -1);
        assert_eq!(tobit(2f64.powi(32) + 1.0), 1);
        assert_eq!(tohex(1.0, None), "00000001");
        assert_eq!(tohex(-1.0, Some(-4.0)), "FFFF");
        assert_eq!(tohex(0x1234_5678 as f64, Some(2.0)), "78");
    }
}

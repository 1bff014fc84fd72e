//! The number formats of the geo replies, each as Redis prints it.

/// A distance: fixed point with 4 decimals after rounding half to even (`llrint` of
/// `d * 10000`), `0.0000` for zero.
pub fn distance(d: f64) -> String {
    let scaled = (d * 10000.0).round_ties_even();
    // llrint of a value beyond i64 is unspecified in C; distances never get there.
    let v = if scaled.is_finite() {
        scaled.clamp(i64::MIN as f64, i64::MAX as f64) as i64
    } else {
        0
    };
    let (neg, mag) = (v < 0, v.unsigned_abs());
    let digits = format!("{mag:05}");
    let (int, frac) = digits.split_at(digits.len() - 4);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

/// A coordinate as `addReplyHumanLongDouble` prints it: `%.17Lf` with the trailing zeros (and
/// a trailing dot) removed, `-0` as `0`.
pub fn human(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    let mut s = format!("{d:.17}");
    if s.contains('.') {
        let keep = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(keep);
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// C's `%f`: six decimals (the coordinates echoed by the invalid pair error).
pub fn printf_f(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    format!("{d:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_have_four_decimals() {
        assert_eq!(distance(0.0), "0.0000");
        assert_eq!(distance(166274.15156960033), "166274.1516");
        assert_eq!(distance(0.00004), "0.0000");
        assert_eq!(distance(0.5), "0.5000");
    }

    #[test]
    fn coordinates_print_like_redis() {
        assert_eq!(human(13.361389338970184), "13.36138933897018433");
        assert_eq!(human(2.0), "2");
        assert_eq!(human(-0.0), "0");
        assert_eq!(human(-1e-20), "0");
        assert_eq!(printf_f(200.0), "200.000000");
    }
}

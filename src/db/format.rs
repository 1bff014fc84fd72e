//! Number formatting as Redis prints numbers.

/// A double as Redis's `%.17g` prints it in replies (RESP3 doubles, ZSCORE), shortest form that
/// round-trips: Rust's `{}` shortest representation, switched to exponent notation where `%g`
/// would.
pub fn fmt_f64(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let exp = d.abs().log10().floor() as i32;
    if (-5..17).contains(&exp) {
        let s = format!("{}", d);
        s
    } else {
        // %g style exponent: mantissa, 'e', sign, at least two exponent digits.
        let s = format!("{:e}", d);
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(rest) => ('-', rest),
                    None => ('+', e),
                };
                format!("{}e{}{:0>2}", m, sign, digits)
            }
            None => s,
        }
    }
}

/// A long double as INCRBYFLOAT / HINCRBYFLOAT store it (Redis: `%.17Lf`, then trailing zeros and
/// a trailing dot removed). Rust has no long double; the shortest round-trip form of the f64 gives
/// the same text for the values people use (`10.5`, `3.0e3` -> `3000`).
pub fn fmt_incr_float(d: f64) -> String {
    if d == d.trunc() && d.abs() < 1e17 {
        return format!("{}", d as i128);
    }
    let s = format!("{}", d);
    if s.contains('e') {
        // Expand exponent notation into plain digits, as %Lf does.
        format!("{:.17}", d)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_f64(1.5), "1.5");
        assert_eq!(fmt_f64(3.0), "3");
        assert_eq!(fmt_f64(1e20), "1e+20");
        assert_eq!(fmt_incr_float(10.5), "10.5");
        assert_eq!(fmt_incr_float(3000.0), "3000");
        assert_eq!(fmt_incr_float(5.0e-3), "0.005");
    }
}

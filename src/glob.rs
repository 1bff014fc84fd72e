//! Redis's glob-style pattern matching (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE).
//!
//! The semantics follow Redis's `stringmatchlen`, quirks included, because clients and Redis's
//! own tests observe them: an unterminated `[` class runs to the end of the pattern, `[a-]`
//! is a range up to `]`, a lone trailing `\` matches a literal backslash, and a pattern longer
//! than the string only matches when what is left is all `*`.

/// True if `s` matches `pattern`: `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes, as Redis's
/// stringmatchlen. `nocase` compares ASCII case-insensitively.
///
/// The single-`*` pattern matches every string, the empty one included: Redis's own callers
/// (KEYS, SCAN, CONFIG GET) short-cut that pattern before calling the matcher, so that is what
/// clients see.
pub fn matches(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    if pattern == b"*" {
        return true;
    }
    let mut give_up = false;
    match_at(pattern, s, nocase, 0, &mut give_up)
}

/// Bound on recursion through `*`, as Redis bounds it, so a hostile pattern cannot blow the stack.
const NESTING_MAX: u32 = 1000;

/// Compares two bytes, ASCII case-insensitively when `nocase`.
fn same(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Matches `p` against `s`. `give_up` is set once a `*` found no match for the rest of the
/// pattern at any position: an earlier `*` cannot do better by consuming more, so every level
/// stops trying (this keeps patterns like `*a*a*a*b` linear instead of exponential).
fn match_at(mut p: &[u8], mut s: &[u8], nocase: bool, nesting: u32, give_up: &mut bool) -> bool {
    if nesting > NESTING_MAX {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_at(&p[1..], s, nocase, nesting + 1, give_up) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                    s = &s[1..];
                }
                *give_up = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                let (matched, rest) = match_class(&p[1..], s[0], nocase);
                if !matched {
                    return false;
                }
                s = &s[1..];
                // `rest` starts at the class's closing `]` (or its last byte when unterminated),
                // which the common step below skips.
                p = rest;
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if !same(p[0], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !same(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = p.get(1..).unwrap_or_default();
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// Matches one byte against a `[...]` class whose body starts at `p` (just after `[`). Returns
/// whether it matched and the pattern from the class's last byte (its `]`, or the pattern's final
/// byte when the class is unterminated).
fn match_class(mut p: &[u8], c: u8, nocase: bool) -> (bool, &[u8]) {
    let negate = p.first() == Some(&b'^');
    if negate {
        p = &p[1..];
    }
    let mut matched = false;
    // `last` is the pattern from the byte examined most recently, for the unterminated case.
    let mut last: &[u8] = p;
    loop {
        match p {
            [] => {
                p = last;
                break;
            }
            [b'\\', esc, ..] => {
                p = &p[1..];
                matched |= same(*esc, c, nocase);
            }
            [b']', ..] => break,
            [lo, b'-', hi, ..] => {
                let (mut lo, mut hi, mut ch) = (*lo, *hi, c);
                if lo > hi {
                    std::mem::swap(&mut lo, &mut hi);
                }
                if nocase {
                    lo = lo.to_ascii_lowercase();
                    hi = hi.to_ascii_lowercase();
                    ch = ch.to_ascii_lowercase();
                }
                matched |= ch >= lo && ch <= hi;
                p = &p[2..];
            }
            [x, ..] => matched |= same(*x, c, nocase),
        }
        last = p;
        p = &p[1..];
    }
    (matched != negate, p)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches(b"*", b"anything", false));
        assert!(matches(b"h?llo", b"hello", false));
        assert!(matches(b"h*llo", b"heeeello", false));
        assert!(matches(b"h[ae]llo", b"hallo", false));
        assert!(!matches(b"h[^e]llo", b"hello", false));
        assert!(matches(b"h[a-b]llo", b"hbllo", false));
        assert!(matches(b"cluster-*", b"cluster-node-timeout", false));
        assert!(matches(b"SAVE", b"save", true));
        assert!(!matches(b"a", b"ab", false));
        assert!(matches(b"a\\*", b"a*", false));
    }

    #[test]
    fn stringmatchlen_quirks() {
        // Trailing stars match the empty rest; a longer pattern does not.
        assert!(matches(b"a*", b"a", false));
        assert!(matches(b"a**", b"a", false));
        assert!(!matches(b"a?", b"a", false));
        assert!(matches(b"*a", b"a", false));
        assert!(!matches(b"**", b"", false));
        assert!(matches(b"", b"", false));
        assert!(matches(b"*", b"", false));
        // Classes: escapes, reversed ranges, unterminated, `[a-]`, case folding.
        assert!(matches(b"[\\]]", b"]", false));
        assert!(matches(b"[z-a]", b"m", false));
        assert!(matches(b"[abc", b"c", false));
        assert!(!matches(b"[abc", b"d", false));
        assert!(matches(b"x[a-]", b"x]", false));
        assert!(matches(b"[A-C]", b"b", true));
        assert!(!matches(b"[A-C]", b"b", false));
        assert!(matches(b"[^a]", b"b", false));
        assert!(!matches(b"[", b"a", false));
        assert!(!matches(b"x[", b"xa", false));
        // Escapes, including a lone trailing backslash that matches itself.
        assert!(matches(b"\\?", b"?", false));
        assert!(!matches(b"\\?", b"x", false));
        assert!(matches(b"a\\", b"a\\", false));
        // Star backtracking.
        assert!(matches(b"*b*c", b"abxbyc", false));
        assert!(!matches(b"*b*c", b"abxbyd", false));
        assert!(matches(b"a*b?c", b"aXXbYc", false));
    }

    #[test]
    fn hostile_patterns_finish() {
        let s = vec![b'a'; 5000];
        let p = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!matches(p, &s, false));
    }
}

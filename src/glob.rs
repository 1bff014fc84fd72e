//! Redis's glob-style pattern matching (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE).

/// True if `s` matches `pattern`: `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes, as Redis's
/// stringmatchlen. `nocase` compares ASCII case-insensitively.
pub fn matches(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    match_at(pattern, s, nocase, 0)
}

/// Bound on recursion through `*`, as Redis bounds it, so a hostile pattern cannot blow the stack.
const NESTING_MAX: u32 = 1000;

fn match_at(mut p: &[u8], mut s: &[u8], nocase: bool, nesting: u32) -> bool {
    if nesting > NESTING_MAX {
        return false;
    }
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    while !p.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if match_at(&p[1..], &s[i..], nocase, nesting + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                if s.is_empty() {
                    return false;
                }
                let mut i = 1;
                let not = p.get(1) == Some(&b'^');
                if not {
                    i += 1;
                }
                let mut matched = false;
                loop {
                    match p.get(i) {
                        None => {
                            i -= 1; // unterminated: treat the end as closing
                            break;
                        }
                        Some(b'\\') if i + 1 < p.len() => {
                            i += 1;
                            if eq(p[i], s[0]) {
                                matched = true;
                            }
                        }
                        Some(b']') => break,
                        Some(&c) if p.get(i + 1) == Some(&b'-') && i + 2 < p.len() => {
                            let (mut lo, mut hi) = (c, p[i + 2]);
                            if lo > hi {
                                std::mem::swap(&mut lo, &mut hi);
                            }
                            let mut ch = s[0];
                            if nocase {
                                lo = lo.to_ascii_lowercase();
                                hi = hi.to_ascii_lowercase();
                                ch = ch.to_ascii_lowercase();
                            }
                            if ch >= lo && ch <= hi {
                                matched = true;
                            }
                            i += 2;
                        }
                        Some(&c) => {
                            if eq(c, s[0]) {
                                matched = true;
                            }
                        }
                    }
                    i += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                p = &p[i.min(p.len())..];
                continue;
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if s.is_empty() || !eq(p[0], s[0]) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if s.is_empty() || !eq(c, s[0]) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
    }
    s.is_empty()
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
}

//! The aclfile: one `user <name> <rule> ...` line per user, as Redis's ACL SAVE writes and ACL
//! LOAD reads it. A file with any error changes nothing; the errors are reported together.

use super::user::{has_spaces, merge_selector_args, User};
use bytes::Bytes;
use std::collections::BTreeMap;

/// Parses an aclfile. `path` names the file in error texts, as Redis does. A file without a
/// `default` user gets Redis's default one.
pub fn parse(text: &str, path: &str) -> Result<BTreeMap<Bytes, User>, String> {
    let mut users: BTreeMap<Bytes, User> = BTreeMap::new();
    let mut errors = String::new();
    for (i, raw) in text.split('\n').enumerate() {
        let linenum = i + 1;
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&str> = line.split(' ').collect();
        if argv[0] != "user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{path}:{linenum} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = argv[1].as_bytes();
        if has_spaces(name) {
            errors.push_str(&format!(
                "'{path}:{linenum}: username '{}' contains invalid characters. ",
                argv[1]
            ));
            continue;
        }
        if users.contains_key(name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {linenum}. ",
                argv[1]
            ));
            continue;
        }
        let mut u = User::new(name);
        let args: Vec<Bytes> = argv[2..]
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let Ok(merged) = merge_selector_args(&args) else {
            errors.push_str(&format!(
                "{path}:{linenum}: Unmatched parenthesis in selector definition."
            ));
            continue;
        };
        let mut syntax_error = false;
        for op in &merged {
            let op = trim_op(op);
            if let Err(e) = u.apply(op) {
                if e == super::user::RuleError::UnknownName {
                    errors.push_str(&format!(
                        "{path}:{linenum}: Error in applying operation '{}': {e}. ",
                        String::from_utf8_lossy(op)
                    ));
                } else if !syntax_error {
                    errors.push_str(&format!("{path}:{linenum}: {e}. "));
                    syntax_error = true;
                }
            }
        }
        users.insert(u.name.clone(), u);
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    users
        .entry(Bytes::from_static(b"default"))
        .or_insert_with(User::default_user);
    Ok(users)
}

fn trim_op(op: &[u8]) -> &[u8] {
    let start = op
        .iter()
        .position(|c| !matches!(c, b'\t' | b'\r' | b'\n'))
        .unwrap_or(op.len());
    let end = op
        .iter()
        .rposition(|c| !matches!(c, b'\t' | b'\r' | b'\n'))
        .map_or(start, |e| e + 1);
    &op[start..end.max(start)]
}

/// The text ACL SAVE writes: one line per user, in name order.
pub fn render(users: &BTreeMap<Bytes, User>) -> String {
    let mut s = String::new();
    for u in users.values() {
        s.push_str("user ");
        s.push_str(&String::from_utf8_lossy(&u.name));
        s.push(' ');
        s.push_str(&super::describe::user(u));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let text = "user app on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* resetchannels -@all +@read\nuser default on nopass ~* &* +@all\n";
        let users = parse(text, "users.acl").unwrap();
        assert_eq!(render(&users), text);
        assert!(users[&b"app"[..]].password_ok(b"pw"));
        let e = parse("user x on +nosuchcmd\n", "f.acl").unwrap_err();
        assert_eq!(e, "f.acl:1: Error in applying operation '+nosuchcmd': Unknown command or category name in ACL. WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
        let e = parse("foo\n", "f.acl").unwrap_err();
        assert!(e.starts_with("f.acl:1 should start with user keyword"));
        // A file without default gets Redis's default user.
        let users = parse("user a off\n", "f").unwrap();
        assert!(users[&b"default"[..]].unrestricted());
    }
}

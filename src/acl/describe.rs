//! Users as text: the rules ACL LIST, ACL GETUSER and ACL SAVE print, in Redis's format, so the
//! text read back (ACL LOAD, `user` lines) rebuilds the same user.

use super::categories::{registry, NAMES};
use super::user::{Selector, User};

/// The command rules of a selector: `+@all` or `-@all`, then the categories that best cover
/// the difference, then single commands (Redis's ACLDescribeSelectorCommandRules: the same
/// greedy choice, so the same rules come out for the same bitmap).
pub fn command_rules(sel: &Selector) -> String {
    let reg = registry();
    let additive = !sel.future;
    let mut rules = String::from(if additive { "-@all " } else { "+@all " });
    let mut fake = Selector::new(false);
    let _ = fake.apply(if additive { b"-@all" } else { b"+@all" });
    let mut temp = sel.clone();
    let mut applied = [false; NAMES.len()];
    loop {
        let mut best = None;
        let (mut mindiff, mut maxsame) = (usize::MAX, 0);
        for (j, _) in NAMES.iter().enumerate() {
            if applied[j] {
                continue;
            }
            let (on, off) = temp.count_category(reg, 1 << j);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                best = Some(j);
                mindiff = diff;
                maxsame = same;
            }
        }
        let Some(j) = best else { break };
        fake.change_category(reg, 1 << j, additive);
        temp.change_category(reg, 1 << j, !additive);
        rules.push_str(if additive { "+@" } else { "-@" });
        rules.push_str(NAMES[j]);
        rules.push(' ');
        applied[j] = true;
    }
    for id in 0..reg.len() {
        let userbit = sel.bit(id);
        if userbit != fake.bit(id) {
            rules.push(if userbit { '+' } else { '-' });
            rules.push_str(&reg.cmds[id].fullname);
            rules.push(' ');
            fake.change_perm(reg, id, userbit);
        }
        if !userbit {
            if let Some((_, args)) = sel.firstargs.iter().find(|(c, _)| *c == id) {
                for a in args {
                    rules.push_str(&format!("+{}|{} ", reg.cmds[id].fullname, a));
                }
            }
        }
    }
    rules.pop();
    rules
}

/// Keys, channels and commands of a selector, as in ACL LIST.
pub fn selector(sel: &Selector) -> String {
    let mut s = String::new();
    if sel.allkeys {
        s.push_str("~* ");
    } else {
        for p in &sel.patterns {
            s.push_str(&p.describe());
            s.push(' ');
        }
    }
    if sel.allchannels {
        s.push_str("&* ");
    } else {
        s.push_str("resetchannels ");
        for c in &sel.channels {
            s.push('&');
            s.push_str(&String::from_utf8_lossy(c));
            s.push(' ');
        }
    }
    s.push_str(&command_rules(sel));
    s
}

/// The user's flags in Redis's order (on, off, nopass, skip-sanitize-payload,
/// sanitize-payload).
pub fn flags(u: &User) -> Vec<&'static str> {
    let mut f = vec![if u.enabled { "on" } else { "off" }];
    if u.nopass {
        f.push("nopass");
    }
    match u.sanitize {
        Some(false) => f.push("skip-sanitize-payload"),
        Some(true) => f.push("sanitize-payload"),
        None => {}
    }
    f
}

/// Everything about a user but its name, as ACL LIST prints it after `user <name> `.
pub fn user(u: &User) -> String {
    let mut s = String::new();
    for f in flags(u) {
        s.push_str(f);
        s.push(' ');
    }
    for p in &u.passwords {
        s.push('#');
        s.push_str(p);
        s.push(' ');
    }
    for sel in &u.selectors {
        if sel.root {
            s.push_str(&selector(sel));
        } else {
            s.push_str(&format!(" ({})", selector(sel)));
        }
    }
    s
}

/// The `keys` field of ACL GETUSER: `~*` or the patterns separated by spaces.
pub fn keys_field(sel: &Selector) -> String {
    if sel.allkeys {
        return "~*".into();
    }
    sel.patterns
        .iter()
        .map(|p| p.describe())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `channels` field of ACL GETUSER: `&*` or `&a &b`.
pub fn channels_field(sel: &Selector) -> String {
    if sel.allchannels {
        return "&*".into();
    }
    sel.channels
        .iter()
        .map(|c| format!("&{}", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

//! An ACL user and its selectors, and the rules (`on`, `>pass`, `~pattern`, `+@read`, ...)
//! that change them, with Redis 7.0's meaning and errors.

use super::categories::{registry, Registry};
use super::sha256::sha256_hex;
use bytes::Bytes;

/// Key permission bits of a key pattern, and of what a command does with a key.
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;
pub const ALL: u8 = READ | WRITE;

/// Why a rule was refused: Redis's errno values, each with its error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("Unknown command or category name in ACL")]
    UnknownName,
    #[error("Syntax error")]
    Syntax,
    #[error("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")]
    AfterAllKeys,
    #[error("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")]
    AfterAllChannels,
    #[error("The password you are trying to remove from the user does not exist")]
    NoSuchPassword,
    #[error("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")]
    BadHash,
    #[error("Allowing first-arg of a subcommand is not supported")]
    FirstArgOfSubcommand,
}

/// A key pattern with the access it grants (`~p` both, `%R~p` read, `%W~p` write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Bytes,
    pub flags: u8,
}

impl KeyPattern {
    /// `~p`, `%R~p` or `%W~p`, as ACL LIST prints it.
    pub fn describe(&self) -> String {
        let prefix = match self.flags {
            ALL => "~",
            READ => "%R~",
            _ => "%W~",
        };
        format!("{prefix}{}", String::from_utf8_lossy(&self.pattern))
    }
}

/// What one selector allows: commands (a bit per registry id), keys and channels. A user's
/// root selector holds the rules given outside parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub root: bool,
    pub allkeys: bool,
    pub allchannels: bool,
    /// Every command allowed (cleared by any `-cmd`): the check's fast path.
    pub allcommands: bool,
    /// Set by `+@all` and cleared only by `-@all`: future commands allowed (ACL LIST then
    /// starts with `+@all` and subtracts).
    pub future: bool,
    bits: Vec<u64>,
    /// Allowed first arguments of otherwise denied commands (`+select|0`), by command id.
    pub firstargs: Vec<(usize, Vec<String>)>,
    pub patterns: Vec<KeyPattern>,
    pub channels: Vec<Bytes>,
}

fn words(n: usize) -> usize {
    n / 64 + 1
}

impl Selector {
    /// A selector that allows nothing.
    pub fn new(root: bool) -> Selector {
        Selector {
            root,
            allkeys: false,
            allchannels: false,
            allcommands: false,
            future: false,
            bits: vec![0; words(registry().len())],
            firstargs: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    /// Whether command `id` is allowed by its bit.
    pub fn bit(&self, id: usize) -> bool {
        self.bits
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.bits.get_mut(id / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.allcommands = false;
            }
        }
    }

    /// The command bitmap (for comparisons).
    pub fn bits(&self) -> &[u64] {
        &self.bits
    }

    /// Allows or denies a command and, for a container, all its subcommands (Redis's
    /// ACLChangeSelectorPerm).
    pub fn change_perm(&mut self, reg: &Registry, id: usize, on: bool) {
        self.set_bit(id, on);
        self.firstargs.retain(|(c, _)| *c != id);
        for &child in &reg.cmds[id].children {
            self.set_bit(child, on);
        }
    }

    /// `+@cat` / `-@cat` over every command and subcommand of the category.
    pub fn change_category(&mut self, reg: &Registry, cat: u32, on: bool) {
        for id in 0..reg.len() {
            if reg.cmds[id].categories & cat != 0 {
                self.change_perm(reg, id, on);
            }
        }
    }

    /// Commands of a category allowed and denied.
    pub fn count_category(&self, reg: &Registry, cat: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for id in 0..reg.len() {
            if reg.cmds[id].categories & cat != 0 {
                if self.bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    fn all_commands(&mut self, on: bool) {
        let fill = if on { u64::MAX } else { 0 };
        self.bits.iter_mut().for_each(|w| *w = fill);
        self.allcommands = on;
        self.future = on;
        self.firstargs.clear();
    }

    /// Applies one selector rule (Redis's ACLSetSelector).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let reg = registry();
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.allkeys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.patterns.clear();
        } else if is("allchannels") || op == b"&*" {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.allkeys {
                return Err(RuleError::AfterAllKeys);
            }
            let (flags, offset) = if op[0] == b'%' {
                let mut flags = 0;
                let mut offset = 1;
                loop {
                    match op.get(offset).map(u8::to_ascii_uppercase) {
                        Some(b'R') if flags & READ == 0 => flags |= READ,
                        Some(b'W') if flags & WRITE == 0 => flags |= WRITE,
                        Some(b'~') => {
                            offset += 1;
                            break;
                        }
                        // Redis stops at the end of the op too: `%R` is an empty read pattern.
                        None => break,
                        _ => return Err(RuleError::Syntax),
                    }
                    offset += 1;
                }
                (flags, offset)
            } else {
                (ALL, 1)
            };
            let pattern = &op[offset.min(op.len())..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.patterns.iter_mut().find(|p| p.pattern == pattern) {
                Some(p) => p.flags |= flags,
                None => self.patterns.push(KeyPattern {
                    pattern: Bytes::copy_from_slice(pattern),
                    flags,
                }),
            }
            self.allkeys = false;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::AfterAllChannels);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(Bytes::copy_from_slice(pattern));
            }
            self.allchannels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            self.allow_command(reg, &op[1..])?;
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let id = lookup(reg, &op[1..]).ok_or(RuleError::UnknownName)?;
            self.change_perm(reg, id, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let name = String::from_utf8_lossy(&op[2..]);
            let cat = super::categories::category_bit(&name).ok_or(RuleError::UnknownName)?;
            self.change_category(reg, cat, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `+cmd`, `+container|sub`, or `+cmd|firstarg`.
    fn allow_command(&mut self, reg: &Registry, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&c| c == b'|') else {
            let id = lookup(reg, name).ok_or(RuleError::UnknownName)?;
            self.change_perm(reg, id, true);
            return Ok(());
        };
        let (cmd, sub) = (&name[..bar], &name[bar + 1..]);
        let id = lookup(reg, cmd).ok_or(RuleError::UnknownName)?;
        if reg.cmds[id].parent.is_some() {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !reg.cmds[id].children.is_empty() {
            let sid = lookup(reg, name).ok_or(RuleError::UnknownName)?;
            self.change_perm(reg, sid, true);
            return Ok(());
        }
        let sub = String::from_utf8_lossy(sub).into_owned();
        match self.firstargs.iter_mut().find(|(c, _)| *c == id) {
            Some((_, list)) => {
                if !list.iter().any(|s| s.eq_ignore_ascii_case(&sub)) {
                    list.push(sub);
                }
            }
            None => self.firstargs.push((id, vec![sub])),
        }
        Ok(())
    }
}

/// A command or `container|sub` of the registry, by name.
fn lookup(reg: &Registry, name: &[u8]) -> Option<usize> {
    reg.id(std::str::from_utf8(name).ok()?)
}

/// Redis refuses spaces and NULs in patterns and user names.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&c| c.is_ascii_whitespace() || c == 0)
}

/// A hash given with `#` or `!`: 64 lowercase hex digits.
fn check_hash(h: &[u8]) -> Result<String, RuleError> {
    if h.len() != 64 || !h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(h).into_owned())
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Bytes,
    /// `on` (else `off`).
    pub enabled: bool,
    pub nopass: bool,
    /// `sanitize-payload` (Some(true)) / `skip-sanitize-payload` (Some(false)), as set.
    pub sanitize: Option<bool>,
    /// Lowercase hex SHA-256 hashes, in the order added.
    pub passwords: Vec<String>,
    /// The root selector first, then those given in parentheses.
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user: off, no passwords, no keys, channels or commands (Redis's ACLCreateUser).
    pub fn new(name: &[u8]) -> User {
        User {
            name: Bytes::copy_from_slice(name),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true)],
        }
    }

    /// Redis's default user: `on nopass ~* &* +@all`.
    pub fn default_user() -> User {
        let mut u = User::new(b"default");
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes());
        }
        u
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Applies one rule (Redis's ACLSetUser). Rules in parentheses create a selector.
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                sha256_hex(&op[1..])
            } else {
                check_hash(&op[1..])?
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                sha256_hex(&op[1..])
            } else {
                check_hash(&op[1..])?
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op.ends_with(b")") && op.len() >= 2 {
            let mut s = Selector::new(false);
            for word in op[1..op.len() - 1]
                .split(|c| c.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
            {
                s.apply(word)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for op in ["resetpass", "resetkeys", "resetchannels", "off"] {
                self.apply(op.as_bytes())?;
            }
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].apply(b"-@all")?;
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// Whether `pass` logs this user in (Redis's ACLCheckUserCredentials, after the user was
    /// found): disabled users never, nopass users with any password.
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = sha256_hex(pass);
        // Compare every stored hash in full: no early exit on the first differing byte.
        self.passwords.iter().fold(false, |ok, p| {
            ok | constant_time_eq(p.as_bytes(), hashed.as_bytes())
        })
    }

    /// True when every command, key and channel is allowed: the per-command check is skipped.
    pub fn unrestricted(&self) -> bool {
        let r = self.root();
        r.allcommands && r.allkeys && r.allchannels
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Joins the arguments of ACL SETUSER (or an aclfile line) that form one parenthesised selector
/// (`(~x` `+get)` -> `(~x +get)`), as Redis's ACLMergeSelectorArguments. Err carries the index
/// of the argument whose parenthesis is never closed.
pub fn merge_selector_args(args: &[Bytes]) -> Result<Vec<Bytes>, usize> {
    let mut out = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, a) in args.iter().enumerate() {
        match open.as_mut() {
            Some((_, acc)) => {
                acc.push(b' ');
                acc.extend_from_slice(a);
                if a.ends_with(b")") {
                    let (_, acc) = open.take().unwrap_or_default();
                    out.push(Bytes::from(acc));
                }
            }
            None if a.first() == Some(&b'(') && !a.ends_with(b")") => {
                open = Some((i, a.to_vec()));
            }
            None => out.push(a.clone()),
        }
    }
    match open {
        Some((i, _)) => Err(i),
        None => Ok(out),
    }
}

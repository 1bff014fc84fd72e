//! What the `scenario_file` cargo-fuzz target (sim/fuzz) feeds its input to, shared with the
//! test that replays the committed corpus (sim/tests/fuzz_corpus.rs), so both exercise exactly
//! the same calls.
//!
//! The property is stronger than "no panic": a file the parser accepts is written back by
//! [`Scenario::to_toml`](crate::scenario::Scenario::to_toml) (what `shrink` and `run --print`
//! hand to people), and that text must parse again to the same scenario. A panic here is the
//! fuzzer's finding.

use crate::scenario;

/// Parses `data` as a scenario file; an accepted scenario must survive a write-back round trip.
pub fn scenario_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sc) = scenario::parse(text, "fuzz.toml", "fuzz") else {
        return;
    };
    let written = sc.to_toml();
    let again = match scenario::parse(&written, "fuzz.toml", "fuzz") {
        Ok(again) => again,
        Err(e) => panic!("to_toml wrote a file the parser refuses: {e}\n{written}"),
    };
    assert_eq!(
        again.to_toml(),
        written,
        "the written scenario read back differently"
    );
}

//! The html timeline of a run (`keyslot-sim run FILE --html out.html`): one self-contained page
//! (inline SVG and CSS, no scripts or external assets) with a lane per node showing its role
//! over time (master with its configEpoch, replica with its master, down, paused), its
//! cluster_state, currentEpoch changes, elections, votes and promotions; the world's faults as
//! vertical markers; and a lane per slot range showing which master claimed it over time.
//!
//! The page is well-formed XML (XHTML-compatible), so a test can parse it.

use crate::trace::{Actor, Entry};
use crate::world::NodeSample;
use std::fmt::Write;

/// What the timeline is drawn from.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub nodes: Vec<String>,
    /// Per node: (time, sample) at each change.
    pub samples: Vec<Vec<(u64, NodeSample)>>,
    pub entries: Vec<Entry>,
    pub formed_ms: u64,
    pub end_ms: u64,
}

const WIDTH: f64 = 1360.0;
const LABEL: f64 = 130.0;
const RIGHT: f64 = 20.0;
const LANE: f64 = 46.0;
const SLOT_LANE: f64 = 30.0;
const PALETTE: [&str; 10] = [
    "#2563eb", "#16a34a", "#db2777", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#4b5563",
    "#dc2626", "#0d9488",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Scale {
    end: f64,
}

impl Scale {
    fn x(&self, t: u64) -> f64 {
        LABEL + (t as f64 / self.end) * (WIDTH - LABEL - RIGHT)
    }
}

/// Segments of a lane: (start, end, sample).
fn segments(lane: &[(u64, NodeSample)], end: u64) -> Vec<(u64, u64, &NodeSample)> {
    let mut out = Vec::new();
    for (k, (t, s)) in lane.iter().enumerate() {
        let until = lane.get(k + 1).map(|(u, _)| *u).unwrap_or(end);
        out.push((*t, until, s));
    }
    out
}

/// The page.
pub fn render(title: &str, t: &Timeline) -> String {
    let scale = Scale {
        end: t.end_ms.max(1) as f64,
    };
    let world_entries: Vec<&Entry> = t
        .entries
        .iter()
        .filter(|e| e.actor == Actor::World)
        .collect();
    // Fault labels are staggered over a few rows so neighbours do not overlap.
    let label_rows = 4usize;
    let top = 40.0 + label_rows as f64 * 14.0;
    // Slot ranges: those the masters served when the cluster formed.
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for lane in &t.samples {
        if let Some((_, s)) = lane.iter().rev().find(|(at, _)| *at <= t.formed_ms) {
            if s.role == "master" {
                ranges.extend(s.ranges.iter().copied());
            }
        }
    }
    ranges.sort_unstable();
    let nodes_h = t.nodes.len() as f64 * LANE;
    let slots_top = top + nodes_h + 40.0;
    let height = slots_top + ranges.len() as f64 * SLOT_LANE + 70.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="monospace" font-size="11">"#
    );
    // Time axis.
    let span_s = t.end_ms as f64 / 1000.0;
    let tick_s = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0]
        .into_iter()
        .find(|s| span_s / s <= 25.0)
        .unwrap_or(300.0);
    let _ = writeln!(svg, r#"<g id="axis">"#);
    let mut s = 0.0;
    while s <= span_s {
        let x = scale.x((s * 1000.0) as u64);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#e5e7eb"/><text x="{x:.1}" y="14" text-anchor="middle" fill="#6b7280">{s}s</text>"##,
            20.0,
            slots_top + ranges.len() as f64 * SLOT_LANE
        );
        s += tick_s;
    }
    let fx = scale.x(t.formed_ms);
    let _ = writeln!(
        svg,
        r##"<line x1="{fx:.1}" y1="20" x2="{fx:.1}" y2="{:.1}" stroke="#111827" stroke-dasharray="2,3"/></g>"##,
        slots_top + ranges.len() as f64 * SLOT_LANE
    );
    // Faults.
    let _ = writeln!(svg, r#"<g id="faults">"#);
    for (k, e) in world_entries.iter().enumerate() {
        let x = scale.x(e.at_ms);
        let row = k % label_rows;
        let y = 34.0 + row as f64 * 14.0;
        let fault = !e.text.starts_with("check ")
            && !e.text.starts_with("redis-cli")
            && !e.text.starts_with("cluster formed");
        let color = if fault { "#dc2626" } else { "#6b7280" };
        let text: String = e.text.chars().take(40).collect();
        let _ = writeln!(
            svg,
            r#"<g class="fault"><title>{}.{:03}s {}</title><line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}" stroke="{color}" stroke-opacity="0.5"/><text x="{:.1}" y="{y:.1}" fill="{color}">{}</text></g>"#,
            e.at_ms / 1000,
            e.at_ms % 1000,
            esc(&e.text),
            top + nodes_h,
            x + 2.0,
            esc(&text)
        );
    }
    let _ = writeln!(svg, "</g>");
    // Node lanes.
    let _ = writeln!(svg, r#"<g id="lanes">"#);
    for (i, name) in t.nodes.iter().enumerate() {
        let y = top + i as f64 * LANE;
        let _ = writeln!(
            svg,
            r##"<g class="lane" data-node="{}"><text x="6" y="{:.1}" font-weight="bold" fill="#111827">{}</text>"##,
            esc(name),
            y + 20.0,
            esc(name)
        );
        let lane = t.samples.get(i).map(|v| v.as_slice()).unwrap_or(&[]);
        let mut last_epoch = None;
        for (a, b, s) in segments(lane, t.end_ms) {
            let (x0, x1) = (scale.x(a), scale.x(b));
            let w = (x1 - x0).max(0.5);
            let (fill, label) = match s.role {
                "master" => (
                    "#3b82f6",
                    format!("master e{} {} slots", s.config_epoch, s.slots),
                ),
                "replica" => (
                    "#22c55e",
                    format!("replica of {}", s.master.clone().unwrap_or_default()),
                ),
                "down" => ("#9ca3af", "down".to_string()),
                "paused" => ("#f59e0b", "paused".to_string()),
                _ => ("#e5e7eb", "starting".to_string()),
            };
            let _ = writeln!(
                svg,
                r##"<rect class="role {}" x="{x0:.1}" y="{:.1}" width="{w:.1}" height="22" fill="{fill}" stroke="#ffffff" stroke-width="0.5"><title>{} {}.{:03}s-{}.{:03}s: {} (currentEpoch {})</title></rect>"##,
                s.role,
                y + 6.0,
                esc(name),
                a / 1000,
                a % 1000,
                b / 1000,
                b % 1000,
                esc(&label),
                s.current_epoch
            );
            if w > label.len() as f64 * 6.6 + 4.0 {
                let _ = writeln!(
                    svg,
                    r##"<text x="{:.1}" y="{:.1}" fill="#ffffff">{}</text>"##,
                    x0 + 3.0,
                    y + 21.0,
                    esc(&label)
                );
            }
            if s.role != "down" && s.role != "paused" {
                let ok = if s.state_ok { "#16a34a" } else { "#dc2626" };
                let _ = writeln!(
                    svg,
                    r#"<rect class="state" x="{x0:.1}" y="{:.1}" width="{w:.1}" height="4" fill="{ok}"/>"#,
                    y + 29.0
                );
                if last_epoch != Some(s.current_epoch) && s.current_epoch > 0 {
                    let _ = writeln!(
                        svg,
                        r##"<text class="epoch" x="{x0:.1}" y="{:.1}" fill="#374151" font-size="9">E{}</text>"##,
                        y + 43.0,
                        s.current_epoch
                    );
                    last_epoch = Some(s.current_epoch);
                }
            }
        }
        // Elections, votes, promotions, FAIL verdicts.
        for e in &t.entries {
            let Actor::Node(n) = &e.actor else { continue };
            if n != name {
                continue;
            }
            let x = scale.x(e.at_ms);
            let mark = if e.text.starts_with("election started") {
                Some(("election", "#7c3aed", "&#9650;"))
            } else if e.text.starts_with("promoted") {
                Some(("promotion", "#ca8a04", "&#9733;"))
            } else if e.text.starts_with("vote granted") {
                Some(("vote", "#0891b2", "&#8226;"))
            } else if e.text.starts_with("FAIL ") && e.text.contains("quorum") {
                Some(("fail", "#dc2626", "&#10007;"))
            } else if e.text.starts_with("manual failover") {
                Some(("manual", "#db2777", "&#9670;"))
            } else {
                None
            };
            if let Some((class, color, glyph)) = mark {
                let _ = writeln!(
                    svg,
                    r#"<text class="mark {class}" x="{x:.1}" y="{:.1}" fill="{color}" font-size="13" text-anchor="middle">{glyph}<title>{}.{:03}s {}: {}</title></text>"#,
                    y + 4.0,
                    e.at_ms / 1000,
                    e.at_ms % 1000,
                    esc(name),
                    esc(&e.text)
                );
            }
        }
        let _ = writeln!(svg, "</g>");
    }
    let _ = writeln!(svg, "</g>");
    // Slot ownership.
    let _ = writeln!(
        svg,
        r##"<g id="slots"><text x="6" y="{:.1}" font-weight="bold" fill="#111827">slot owners (each master's own claim)</text>"##,
        slots_top - 10.0
    );
    let mut times: Vec<u64> = t
        .samples
        .iter()
        .flat_map(|l| l.iter().map(|(at, _)| *at))
        .collect();
    times.sort_unstable();
    times.dedup();
    for (k, (a, b)) in ranges.iter().enumerate() {
        let y = slots_top + k as f64 * SLOT_LANE;
        let _ = writeln!(
            svg,
            r##"<g class="slot-lane" data-range="{a}-{b}"><text x="6" y="{:.1}" fill="#111827">{a}-{b}</text>"##,
            y + 16.0
        );
        let claim_at = |at: u64| -> Vec<usize> {
            (0..t.nodes.len())
                .filter(|&i| {
                    let s = t.samples[i].iter().rev().find(|(when, _)| *when <= at);
                    s.map(|(_, s)| {
                        s.role == "master" && s.ranges.iter().any(|(x, y)| x <= a && a <= y)
                    })
                    .unwrap_or(false)
                })
                .collect()
        };
        let mut segs: Vec<(u64, Vec<usize>)> = Vec::new();
        for &at in &times {
            let c = claim_at(at);
            if segs.last().map(|(_, l)| *l != c).unwrap_or(true) {
                segs.push((at, c));
            }
        }
        for (j, (start, owners)) in segs.iter().enumerate() {
            let end = segs.get(j + 1).map(|(u, _)| *u).unwrap_or(t.end_ms);
            let (x0, x1) = (scale.x(*start), scale.x(end));
            let names: Vec<&str> = owners.iter().map(|&i| t.nodes[i].as_str()).collect();
            let fill = match owners.len() {
                0 => "#f3f4f6",
                1 => PALETTE[owners[0] % PALETTE.len()],
                _ => "#dc2626",
            };
            let label = if names.is_empty() {
                "unclaimed".to_string()
            } else {
                names.join(" + ")
            };
            let w = (x1 - x0).max(0.5);
            let _ = writeln!(
                svg,
                r##"<rect class="owner" x="{x0:.1}" y="{:.1}" width="{w:.1}" height="20" fill="{fill}" stroke="#ffffff" stroke-width="0.5"><title>slots {a}-{b} {}.{:03}s-{}.{:03}s: {}</title></rect>"##,
                y + 3.0,
                start / 1000,
                start % 1000,
                end / 1000,
                end % 1000,
                esc(&label)
            );
            if w > label.len() as f64 * 6.6 + 4.0 {
                let color = if owners.is_empty() {
                    "#6b7280"
                } else {
                    "#ffffff"
                };
                let _ = writeln!(
                    svg,
                    r#"<text x="{:.1}" y="{:.1}" fill="{color}">{}</text>"#,
                    x0 + 3.0,
                    y + 17.0,
                    esc(&label)
                );
            }
        }
        let _ = writeln!(svg, "</g>");
    }
    let _ = writeln!(svg, "</g>");
    // Legend.
    let ly = height - 34.0;
    let _ = writeln!(
        svg,
        r##"<g id="legend"><rect x="{LABEL}" y="{:.1}" width="12" height="12" fill="#3b82f6"/><text x="{:.1}" y="{ly:.1}">master (configEpoch)</text><rect x="{:.1}" y="{:.1}" width="12" height="12" fill="#22c55e"/><text x="{:.1}" y="{ly:.1}">replica</text><rect x="{:.1}" y="{:.1}" width="12" height="12" fill="#9ca3af"/><text x="{:.1}" y="{ly:.1}">down</text><rect x="{:.1}" y="{:.1}" width="12" height="12" fill="#f59e0b"/><text x="{:.1}" y="{ly:.1}">paused</text><text x="{:.1}" y="{ly:.1}">thin bar: cluster_state ok (green) / fail (red); E7: currentEpoch</text><text x="{LABEL}" y="{:.1}">&#9650; election started, &#8226; vote granted, &#9733; promotion, &#10007; FAIL by quorum, &#9670; manual failover; dashed line: cluster formed; red lines: faults</text></g>"##,
        ly - 10.0,
        LABEL + 16.0,
        LABEL + 170.0,
        ly - 10.0,
        LABEL + 186.0,
        LABEL + 260.0,
        ly - 10.0,
        LABEL + 276.0,
        LABEL + 330.0,
        ly - 10.0,
        LABEL + 346.0,
        LABEL + 410.0,
        ly + 16.0
    );
    svg.push_str("</svg>\n");

    format!(
        r#"<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 16px; color: #111827; }}
h1 {{ font-size: 18px; margin: 0 0 4px 0; }}
p {{ margin: 0 0 10px 0; color: #4b5563; font-size: 13px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{nodes} nodes, {secs:.1} simulated seconds; hover a segment or mark for details.</p>
{svg}</body>
</html>
"#,
        title = esc(title),
        nodes = t.nodes.len(),
        secs = t.end_ms as f64 / 1000.0,
        svg = svg
    )
}

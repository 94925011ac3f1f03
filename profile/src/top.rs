//! `top`: flat and cumulative values per function, trimmed, sorted and labelled the way
//! `go tool pprof -top` does it, optionally as a diff against a base profile
//! (`-diff_base`: the base's values are subtracted and percentages are of the base total).

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use rustc_hash::FxBuildHasher;
use serde::Serialize;

use crate::decode::Profile;
use crate::error::{Error, Result};
use crate::parallel;
use crate::stacks::{Frame, LocationFrames, Names, Stacks};
use crate::units;
use crate::unsymbolized::Unsymbolized;

/// pprof's default `-nodefraction`: nodes whose |cum| is below this share are dropped.
const NODE_FRACTION: f64 = 0.005;
/// pprof's default `-edgefraction`: edges whose |weight| is below this share of the
/// graph's total are dropped from the final graph, and so do not count for inline marks.
const EDGE_FRACTION: f64 = 0.001;

/// The stable schema name of [`TopReport`] in JSON.
pub const TOP_SCHEMA: &str = "gantry.profile.top/v1";

#[derive(Debug, Clone, Default)]
pub struct TopOptions {
    /// `--sample-index`: a sample type name or position; `None` for pprof's default.
    pub sample_index: Option<String>,
    /// `--nodecount`: show at most this many functions (0: all that pass the cutoff).
    pub node_count: usize,
    /// `--cum`: sort by cumulative value instead of flat.
    pub cum: bool,
}

/// What `gantry profile top` shows. Values are integers in `sample_unit`.
#[derive(Debug, Clone, Serialize)]
pub struct TopReport {
    pub schema: &'static str,
    /// The profiled binary (the first mapping's file name), when the profile names it.
    pub file: Option<String>,
    pub build_id: Option<String>,
    pub comments: Vec<String>,
    pub sample_type: String,
    pub sample_unit: String,
    /// The unit the table uses, chosen as pprof chooses it.
    pub display_unit: String,
    pub doc_url: Option<String>,
    pub time_nanos: Option<i64>,
    pub duration_nanos: Option<i64>,
    /// True when this is a diff against a base profile.
    pub diff: bool,
    /// The total the percentages are of: all samples, or the base's samples in a diff.
    pub total: i64,
    /// The sum of the flat values of the rows shown.
    pub shown: i64,
    /// Functions whose |cum| fell below `node_cutoff` and were left out.
    pub dropped_nodes: usize,
    pub node_cutoff: i64,
    /// Functions left after the cutoff, before `--nodecount`.
    pub nodes_after_cutoff: usize,
    pub rows: Vec<TopRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopRow {
    pub name: String,
    pub flat: i64,
    pub flat_percent: f64,
    pub sum_percent: f64,
    pub cum: i64,
    pub cum_percent: f64,
    /// `inline` when every call into this function was inlined, `partial-inline` when
    /// some were; absent otherwise.
    pub inline: Option<&'static str>,
}

struct Node {
    name: u32,
    flat: i64,
    cum: i64,
    inline_in: bool,
    call_in: bool,
}

/// Sample values per function for one sample type, over a profile and optionally its base.
pub(crate) struct Aggregate<'p> {
    /// The first profile's names as the decoder made them, if it did; copied only when
    /// a base adds its own.
    names: Cow<'p, Names>,
    flat: Vec<i64>,
    cum: Vec<i64>,
    inline_in: Vec<bool>,
    call_in: Vec<bool>,
    abs_total: i64,
    base_abs_total: i64,
    /// The profiles added, to walk again for inline marks once the kept functions are
    /// known. Walking the samples again costs less than keeping their stacks: the
    /// stacks of a large profile are nearly all distinct.
    added: Vec<Added<'p>>,
}

struct Added<'p> {
    profile: &'p Profile,
    stacks: Cow<'p, Stacks>,
    index: usize,
    sign: i64,
    /// The samples split for walking on several threads at once.
    parts: Vec<Range<usize>>,
}

/// The values added by the samples of one part of a profile.
struct Sums {
    flat: Vec<i64>,
    cum: Vec<i64>,
    abs_total: i64,
}

impl Added<'_> {
    /// Each sample in `part` with a value: its value, and its locations after pruning,
    /// leaf first.
    fn samples(&self, part: Range<usize>) -> impl Iterator<Item = (i64, &[u32])> {
        part.filter_map(|i| {
            let sample = self.profile.samples.get(i);
            let v = sample.values[self.index].wrapping_mul(self.sign);
            (v != 0).then(|| (v, self.stacks.pruned(sample.locations)))
        })
    }

    fn sums(&self, part: Range<usize>, names: usize) -> Sums {
        let mut flat = vec![0i64; names];
        // Per function: its sum, and the sample it last counted for (a function counts
        // once per sample, however many frames name it), side by side, so that counting
        // a function touches memory once.
        let mut cum = vec![(0i64, usize::MAX); names];
        let mut abs_total = 0i64;
        // Likewise per location: one met again in a sample, as in recursion, names only
        // functions already counted. Checked first, it spares most frames of a deep
        // recursive stack the lookup of their function.
        let mut seen_location = vec![usize::MAX; self.stacks.location_count()];
        for (sample, (v, locations)) in self.samples(part).enumerate() {
            abs_total = abs_total.wrapping_add(v.wrapping_abs());
            let mut count = |node: u32| {
                let (sum, counted_in) = &mut cum[node as usize];
                if *counted_in != sample {
                    *counted_in = sample;
                    *sum = sum.wrapping_add(v);
                }
            };
            for &loc in locations {
                // Written only when it changes: a store on every frame, read again
                // frames later in a recursive stack, costs more than the compare.
                let met = &mut seen_location[loc as usize];
                if *met == sample {
                    continue;
                }
                *met = sample;
                match self.stacks.location_frames(loc) {
                    LocationFrames::One(frame) => count(frame.name),
                    LocationFrames::Several(frames) => {
                        frames.iter().for_each(|frame| count(frame.name));
                    }
                    LocationFrames::None => {}
                }
            }
            if let Some(leaf) = locations
                .first()
                .and_then(|&loc| self.stacks.innermost(loc))
            {
                flat[leaf as usize] = flat[leaf as usize].wrapping_add(v);
            }
        }
        Sums {
            flat,
            cum: cum.into_iter().map(|(sum, _)| sum).collect(),
            abs_total,
        }
    }

    /// The edges between kept functions into a function of `targets` that the samples
    /// of `part` cross, of those samples that have a location where `has_target`; `kept`
    /// is this profile's stacks with the frames of kept functions only.
    fn edges(
        &self,
        part: Range<usize>,
        kept: &Stacks,
        targets: &[bool],
        has_target: &[bool],
    ) -> HashMap<(u32, u32), Edge, FxBuildHasher> {
        let mut edges: HashMap<(u32, u32), Edge, FxBuildHasher> = HashMap::default();
        // Samples are numbered from 1; 0 is "never crossed".
        for (sample, (v, locations)) in (1..).zip(self.samples(part)) {
            if !any_marked(locations, has_target) {
                continue;
            }
            let mut parent: Option<u32> = None;
            let mut cross = |frame: Frame| {
                let node = frame.name;
                // An edge into any other function cannot mark a row: it is not looked up.
                if let Some(p) = parent
                    && p != node
                    && targets[node as usize]
                {
                    let edge = edges.entry((p, node)).or_insert(Edge {
                        inline: true,
                        weight: 0,
                        crossed_by: 0,
                    });
                    if edge.crossed_by != sample {
                        edge.crossed_by = sample;
                        edge.inline &= frame.inlined;
                        edge.weight = edge.weight.wrapping_add(v);
                    }
                }
                parent = Some(node);
            };
            for &loc in locations.iter().rev() {
                match kept.location_frames(loc) {
                    LocationFrames::None => {}
                    LocationFrames::One(frame) => cross(frame),
                    LocationFrames::Several(frames) => frames.iter().rev().for_each(|&f| cross(f)),
                }
            }
        }
        edges
    }
}

/// Whether any of `locations` is marked. A sample with none is read whole: each chunk's
/// marks are gathered without a branch, so that the reads of a chunk do not wait on each
/// other's tests.
fn any_marked(locations: &[u32], marked: &[bool]) -> bool {
    let mut chunks = locations.chunks_exact(16);
    for chunk in &mut chunks {
        if chunk
            .iter()
            .fold(false, |any, &loc| any | marked[loc as usize])
        {
            return true;
        }
    }
    chunks.remainder().iter().any(|&loc| marked[loc as usize])
}

/// An edge of pprof's call graph between two kept functions.
pub(crate) struct Edge {
    inline: bool,
    weight: i64,
    /// The last sample that crossed it: only a sample's first crossing counts.
    crossed_by: usize,
}

/// Profiles with fewer frames than this per core are walked on one thread.
const FRAMES_PER_THREAD: usize = 1 << 19;

impl<'p> Aggregate<'p> {
    pub(crate) fn new() -> Aggregate<'p> {
        Aggregate {
            names: Cow::Owned(Names::default()),
            flat: Vec::new(),
            cum: Vec::new(),
            inline_in: Vec::new(),
            call_in: Vec::new(),
            abs_total: 0,
            base_abs_total: 0,
            added: Vec::new(),
        }
    }

    /// Adds `sign * value[index]` of every sample of `profile`.
    pub(crate) fn add(
        &mut self,
        profile: &'p Profile,
        frames_from: &Profile,
        index: usize,
        sign: i64,
        is_base: bool,
    ) -> Result<()> {
        // The decoder made the first profile's stacks already, with names numbered from
        // none: the same as made here.
        let stacks = match &profile.prebuilt {
            Some(prebuilt) if self.names.len() == 0 && std::ptr::eq(profile, frames_from) => {
                self.names = Cow::Borrowed(&prebuilt.names);
                Cow::Borrowed(&prebuilt.stacks)
            }
            _ => Cow::Owned(Stacks::new(
                profile,
                frames_from,
                self.names.to_mut(),
                Unsymbolized::ByBinary,
            )?),
        };
        let n = self.names.len();
        self.flat.resize(n, 0);
        self.cum.resize(n, 0);
        self.inline_in.resize(n, false);
        self.call_in.resize(n, false);
        let added = Added {
            profile,
            stacks,
            index,
            sign,
            parts: profile.samples.split(parallel::parts(
                profile.samples.location_count(),
                FRAMES_PER_THREAD,
            )),
        };
        for sums in parallel::map(added.parts.clone(), |part| added.sums(part, n)) {
            for (total, part) in self.flat.iter_mut().zip(sums.flat) {
                *total = total.wrapping_add(part);
            }
            for (total, part) in self.cum.iter_mut().zip(sums.cum) {
                *total = total.wrapping_add(part);
            }
            self.abs_total = self.abs_total.wrapping_add(sums.abs_total);
            if is_base {
                self.base_abs_total = self.base_abs_total.wrapping_add(sums.abs_total);
            }
        }
        self.added.push(added);
        Ok(())
    }

    /// Collects the edges between kept functions as pprof builds them on its final
    /// graph: an edge from the nearest kept caller is inline only if the first crossing
    /// of it in every sample was an inlined frame, and weighs the values of the samples
    /// that cross it. A frame naming the same function as the one before it makes no
    /// edge. Only edges into the functions of `rows` that are inlined somewhere are
    /// collected: those are all that mark rows.
    pub(crate) fn mark_inlining(
        &self,
        kept: &[bool],
        rows: &[bool],
        edges: &mut HashMap<(u32, u32), Edge, FxBuildHasher>,
    ) {
        // The samples with none of those functions need not be walked, and when there
        // is none at all, no sample is.
        let mut targets = vec![false; rows.len()];
        for added in &self.added {
            for name in added.stacks.inlined_names() {
                if rows.get(name as usize).copied().unwrap_or(false) {
                    targets[name as usize] = true;
                }
            }
        }
        if !targets.contains(&true) {
            return;
        }
        for added in &self.added {
            // Most frames are of functions not kept: leave them out once, not per sample.
            let kept = added.stacks.keeping(kept);
            let has_target: Vec<bool> = (0..kept.location_count() as u32)
                .map(|loc| kept.frames(loc).iter().any(|f| targets[f.name as usize]))
                .collect();
            let parts = parallel::map(added.parts.clone(), |part| {
                added.edges(part, &kept, &targets, &has_target)
            });
            for part in parts {
                for (key, edge) in part {
                    let total = edges.entry(key).or_insert(Edge {
                        inline: true,
                        weight: 0,
                        crossed_by: 0,
                    });
                    total.inline &= edge.inline;
                    total.weight = total.weight.wrapping_add(edge.weight);
                }
            }
        }
    }

    /// pprof's `computeTotal`: the sum of |values|, of the base's only when diffing.
    fn total(&self) -> i64 {
        if self.base_abs_total > 0 {
            self.base_abs_total
        } else {
            self.abs_total
        }
    }

    fn nodes(&self) -> Vec<Node> {
        (0..self.names.len())
            .filter(|&i| self.flat[i] != 0 || self.cum[i] != 0)
            .map(|i| Node {
                name: i as u32,
                flat: self.flat[i],
                cum: self.cum[i],
                inline_in: self.inline_in[i],
                call_in: self.call_in[i],
            })
            .collect()
    }
}

/// Builds the `top` report of `profile`, diffed against `base` when given.
pub fn top(profile: &Profile, base: Option<&Profile>, options: &TopOptions) -> Result<TopReport> {
    let index = profile.sample_index(options.sample_index.as_deref())?;
    if let Some(base) = base {
        check_compatible(profile, base)?;
    }
    let mut agg = Aggregate::new();
    agg.add(profile, profile, index, 1, false)?;
    if let Some(base) = base {
        agg.add(base, profile, index, -1, true)?;
    }
    let total = agg.total();
    let mut nodes = agg.nodes();
    let graph_total = nodes.iter().fold(0i64, |a, n| a.wrapping_add(n.flat));
    let node_cutoff = ((graph_total as f64 * NODE_FRACTION) as i64).wrapping_abs();
    let before = nodes.len();
    if node_cutoff > 0 {
        nodes.retain(|n| n.cum.wrapping_abs() >= node_cutoff);
    }
    let dropped_nodes = before - nodes.len();
    let nodes_after_cutoff = nodes.len();
    let name = |n: &Node| agg.names.name(n.name);
    if options.cum {
        nodes.sort_unstable_by(|l, r| {
            r.cum
                .unsigned_abs()
                .cmp(&l.cum.unsigned_abs())
                .then_with(|| name(l).cmp(name(r)))
                .then_with(|| r.flat.unsigned_abs().cmp(&l.flat.unsigned_abs()))
        });
    } else {
        nodes.sort_unstable_by(|l, r| {
            r.flat
                .unsigned_abs()
                .cmp(&l.flat.unsigned_abs())
                .then_with(|| name(l).cmp(name(r)))
                .then_with(|| r.cum.unsigned_abs().cmp(&l.cum.unsigned_abs()))
        });
    }
    let truncated = options.node_count > 0 && nodes.len() > options.node_count;
    if truncated {
        nodes.truncate(options.node_count);
    }
    let mut rows = vec![false; agg.names.len()];
    for n in &nodes {
        rows[n.name as usize] = true;
    }
    // pprof rebuilds its graph from the nodes it keeps only when it drops some. Until
    // then the edges of its first graph stand, and that graph has every function, even
    // one whose values cancel out in a diff: an edge from such a caller still marks a
    // row inline.
    let kept = if dropped_nodes == 0 && !truncated {
        vec![true; agg.names.len()]
    } else {
        rows.clone()
    };
    let mut edges = HashMap::default();
    agg.mark_inlining(&kept, &rows, &mut edges);
    let edge_cutoff = ((graph_total as f64 * EDGE_FRACTION) as i64).wrapping_abs();
    for ((_, to), edge) in edges {
        if edge.weight.wrapping_abs() < edge_cutoff {
            continue;
        }
        if edge.inline {
            agg.inline_in[to as usize] = true;
        } else {
            agg.call_in[to as usize] = true;
        }
    }
    for n in &mut nodes {
        n.inline_in = agg.inline_in[n.name as usize];
        n.call_in = agg.call_in[n.name as usize];
    }
    let name = |n: &Node| agg.names.name(n.name);

    let (sample_type, sample_unit) = profile.sample_types().swap_remove(index);
    let display_unit = output_unit(&nodes, total, &sample_unit);
    let mut flat_sum = 0i64;
    let rows = nodes
        .iter()
        .map(|n| {
            flat_sum = flat_sum.wrapping_add(n.flat);
            TopRow {
                name: name(n).to_string(),
                flat: n.flat,
                flat_percent: units::ratio_percent(n.flat, total),
                sum_percent: units::ratio_percent(flat_sum, total),
                cum: n.cum,
                cum_percent: units::ratio_percent(n.cum, total),
                inline: match (n.inline_in, n.call_in) {
                    (true, true) => Some("partial-inline"),
                    (true, false) => Some("inline"),
                    _ => None,
                },
            }
        })
        .collect();

    let raw = &profile.raw;
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let first_mapping = raw.mapping.first();
    let mut comments: Vec<String> = Vec::new();
    for p in std::iter::once(profile).chain(base) {
        for &c in &p.raw.comment {
            let c = p.str(c);
            if !comments.iter().any(|seen| seen == c) {
                comments.push(c.to_string());
            }
        }
    }
    let times = std::iter::once(profile)
        .chain(base)
        .map(Profile::time_nanos);
    let time_nanos = times.fold(0, |min, t| if min == 0 || t < min { t } else { min });
    let duration_nanos = std::iter::once(profile)
        .chain(base)
        .map(Profile::duration_nanos)
        .fold(0i64, i64::wrapping_add);
    Ok(TopReport {
        schema: TOP_SCHEMA,
        file: first_mapping
            .map(|m| profile.str(m.filename))
            .and_then(non_empty)
            .map(|f| f.rsplit('/').next().unwrap_or(&f).to_string()),
        build_id: first_mapping
            .map(|m| profile.str(m.build_id))
            .and_then(non_empty),
        comments,
        sample_type,
        sample_unit,
        display_unit,
        doc_url: non_empty(profile.str(raw.doc_url)),
        time_nanos: (time_nanos != 0).then_some(time_nanos),
        duration_nanos: (duration_nanos != 0).then_some(duration_nanos),
        diff: base.is_some(),
        total,
        shown: flat_sum,
        dropped_nodes,
        node_cutoff: ((total as f64 * NODE_FRACTION) as i64).wrapping_abs(),
        nodes_after_cutoff,
        rows,
    })
}

/// pprof's `compatible`: same sample types (and period type) in the same order.
pub(crate) fn check_compatible(profile: &Profile, base: &Profile) -> Result<()> {
    let (a, b) = (profile.sample_types(), base.sample_types());
    let same = |x: &(String, String), y: &(String, String)| {
        x.0.trim_end_matches('s') == y.0.trim_end_matches('s')
            && (x.1 == y.1 || units::scale(1, &x.1, &y.1).1 == units::scale(1, &y.1, &y.1).1)
    };
    if a.len() != b.len() || a.iter().zip(&b).any(|(x, y)| !same(x, y)) {
        let list = |t: &[(String, String)]| {
            t.iter()
                .map(|(t, u)| format!("{t}/{u}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Error::Incompatible(format!(
            "the profile has sample types [{}] but the base has [{}]; compare profiles of the same type",
            list(&a),
            list(&b)
        )));
    }
    Ok(())
}

/// pprof's `selectOutputUnit` for `minimum`: the unit of the smallest non-zero row value,
/// or a larger one when the total is over 100 times bigger. Without rows (a diff that
/// cancels out) pprof keeps `minimum`, which scales the total on its own.
fn output_unit(nodes: &[Node], total: i64, sample_unit: &str) -> String {
    if nodes.is_empty() {
        let (_, unit) = units::scale(total, sample_unit, "minimum");
        return if unit.is_empty() {
            sample_unit.to_string()
        } else {
            unit
        };
    }
    let mut min = 0i64;
    for n in nodes {
        let mut v = n.flat.wrapping_abs();
        if v == 0 {
            v = n.cum.wrapping_abs();
        }
        if v > 0 && (min == 0 || v < min) {
            min = v;
        }
    }
    let max = total;
    if min == 0 {
        min = max;
    }
    let (_, min_unit) = units::scale(min, sample_unit, "minimum");
    let (_, max_unit) = units::scale(max, sample_unit, "minimum");
    let mut unit = min_unit.clone();
    if min_unit != max_unit && min.wrapping_mul(100) < max {
        unit = units::scale(min.wrapping_mul(100), sample_unit, "minimum").1;
    }
    if unit.is_empty() {
        sample_unit.to_string()
    } else {
        unit
    }
}

impl TopReport {
    fn value(&self, v: i64) -> String {
        units::scaled_label(v, &self.sample_unit, &self.display_unit)
    }

    /// The header lines `go tool pprof -top` prints above the table.
    pub fn header(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(file) = &self.file {
            lines.push(format!("File: {file}"));
        }
        if let Some(id) = &self.build_id {
            lines.push(format!("Build ID: {id}"));
        }
        lines.extend(
            self.comments
                .iter()
                .filter(|c| !c.starts_with('#'))
                .cloned(),
        );
        // pprof leaves the line out for a sample type without a name.
        if !self.sample_type.is_empty() {
            lines.push(format!("Type: {}", self.sample_type));
        }
        if let Some(url) = &self.doc_url {
            lines.push(format!("Doc: {url}"));
        }
        if let Some(t) = self.time_nanos {
            lines.push(format!("Time: {}", format_utc(t)));
        }
        if let Some(d) = self.duration_nanos {
            let (total_ns, unit) = units::scale(self.total, &self.sample_unit, "nanoseconds");
            let ratio = if unit == "ns" && total_ns != 0.0 {
                format!("({})", units::percentage(total_ns as i64, d))
            } else {
                String::new()
            };
            lines.push(format!(
                "Duration: {}, Total samples = {} {ratio}",
                units::label(d, "nanoseconds"),
                self.value(self.total)
            ));
        }
        lines.push(format!(
            "Showing nodes accounting for {}, {} of {} total",
            self.value(self.shown),
            units::percentage(self.shown, self.total).trim(),
            self.value(self.total)
        ));
        if self.total != 0 {
            if self.dropped_nodes > 0 {
                lines.push(format!(
                    "Dropped {} node{} (cum <= {})",
                    self.dropped_nodes,
                    if self.dropped_nodes > 1 { "s" } else { "" },
                    self.value(self.node_cutoff)
                ));
            }
            if !self.rows.is_empty() && self.rows.len() < self.nodes_after_cutoff {
                lines.push(format!(
                    "Showing top {} nodes out of {}",
                    self.rows.len(),
                    self.nodes_after_cutoff
                ));
            }
        }
        lines
    }

    /// The report as `go tool pprof -top` prints it.
    pub fn to_table(&self) -> String {
        let mut out = self.header().join("\n");
        out.push('\n');
        out.push_str(&format!(
            "{:>10} {:>5}% {:>5}% {:>10} {:>5}%\n",
            "flat", "flat", "sum", "cum", "cum"
        ));
        let mut flat_sum = 0i64;
        for row in &self.rows {
            flat_sum = flat_sum.wrapping_add(row.flat);
            let inline = row.inline.map(|i| format!(" ({i})")).unwrap_or_default();
            out.push_str(&format!(
                "{:>10} {} {} {:>10} {}  {}{inline}\n",
                self.value(row.flat),
                units::percentage(row.flat, self.total),
                units::percentage(flat_sum, self.total),
                self.value(row.cum),
                units::percentage(row.cum, self.total),
                row.name
            ));
        }
        out
    }
}

/// `2006-01-02 15:04:05 UTC` for a Unix time in nanoseconds.
fn format_utc(nanos: i64) -> String {
    // humantime formats only years 1970 through 9999; outside them, the raw number.
    match u64::try_from(nanos.div_euclid(1_000_000_000)) {
        Ok(secs) if secs < 253_402_300_800 => {
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            humantime::format_rfc3339_seconds(at)
                .to_string()
                .replace('T', " ")
                .replace('Z', " UTC")
        }
        _ => format!("@{nanos}ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::{any_marked, format_utc, output_unit};

    #[test]
    fn a_marked_location_is_found_in_a_whole_chunk_and_in_the_rest() {
        let mut marked = vec![false; 64];
        marked[40] = true;
        for len in [0, 1, 15, 16, 17, 32, 40] {
            let none: Vec<u32> = (0..len).map(|i| i % 40).collect();
            assert!(!any_marked(&none, &marked), "{len}");
            for at in 0..len as usize {
                let mut one = none.clone();
                one[at] = 40;
                assert!(any_marked(&one, &marked), "{len} {at}");
            }
        }
    }

    #[test]
    fn a_diff_without_rows_scales_the_total_as_pprof_does() {
        // Two identical CPU profiles diffed: no rows, "0, 0% of 112ms total".
        assert_eq!(output_unit(&[], 112_000_000, "nanoseconds"), "ms");
        assert_eq!(output_unit(&[], 0, "count"), "count");
    }

    #[test]
    fn utc_time_format() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            format_utc(1_795_707_311_000_000_000),
            "2026-11-26 15:35:11 UTC"
        );
    }
}

//! Folded stacks (`root;caller;leaf VALUE`, as Brendan Gregg's stackcollapse tools write
//! them) and SVG flame graphs drawn from them with inferno, plain or differential.

use std::collections::HashMap;
use std::io::Write;

use crate::decode::Profile;
use crate::error::{Error, Result};
use crate::stacks::{Names, Stacks};
use crate::top::check_compatible;
use crate::unsymbolized::Unsymbolized;

/// The folded stacks of one sample type, one line per distinct stack, sorted.
/// Frames are function names from root to leaf, inlined frames included; a frame
/// without a symbol is named by its address and binary, as pprof names it by address.
pub fn collapse(profile: &Profile, sample_index: Option<&str>) -> Result<Vec<String>> {
    let index = profile.sample_index(sample_index)?;
    collapse_at(profile, profile, index)
}

fn collapse_at(profile: &Profile, frames_from: &Profile, index: usize) -> Result<Vec<String>> {
    let mut names = Names::default();
    let stacks = Stacks::new(profile, frames_from, &mut names, Unsymbolized::ByAddress)?;
    let mut totals: HashMap<Vec<u32>, i64> = HashMap::new();
    let mut key = Vec::with_capacity(128);
    for sample in profile.samples.iter() {
        let v = sample.values[index];
        if v == 0 {
            continue;
        }
        key.clear();
        for &loc in stacks.pruned(sample.locations).iter().rev() {
            key.extend(stacks.frames(loc).iter().rev().map(|f| f.name));
        }
        if key.is_empty() {
            continue;
        }
        match totals.get_mut(key.as_slice()) {
            Some(total) => *total = total.wrapping_add(v),
            None => {
                totals.insert(key.clone(), v);
            }
        }
    }
    let mut lines: Vec<String> = totals
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|(stack, v)| {
            let frames: Vec<&str> = stack.iter().map(|&id| names.name(id)).collect();
            format!("{} {v}", fold_frames(&frames))
        })
        .collect();
    lines.sort_unstable();
    Ok(lines)
}

/// Joins frames with `;`, replacing characters that would break the folded format, or
/// the SVG drawn from it.
fn fold_frames(frames: &[&str]) -> String {
    let mut out = String::new();
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.extend(frame.chars().map(|c| match c {
            ';' => ':',
            '\n' | '\r' => ' ',
            c => drawable(c),
        }));
    }
    out
}

/// `c`, or U+FFFD for the characters XML cannot hold even escaped (most control
/// characters, U+FFFE and U+FFFF), which a function name may carry.
fn drawable(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        '\0'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => char::REPLACEMENT_CHARACTER,
        c => c,
    }
}

/// Draws a flame graph of `profile`; with `base`, a differential one (red grew, blue
/// shrank, as inferno's `difffolded` colours it).
pub fn flamegraph(
    profile: &Profile,
    base: Option<&Profile>,
    sample_index: Option<&str>,
    title: &str,
) -> Result<Vec<u8>> {
    let index = profile.sample_index(sample_index)?;
    let types = profile.sample_types();
    let (sample_type, unit) = types[index].clone();
    let after = collapse_at(profile, profile, index)?;
    if after.is_empty() {
        return Err(Error::NothingToDraw {
            origin: profile.origin.clone(),
            sample_type,
            available: types.into_iter().map(|(kind, _)| kind).collect(),
        });
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    let count_name = if unit.is_empty() || unit == "count" {
        &sample_type
    } else {
        &unit
    };
    options.count_name = count_name.chars().map(drawable).collect();
    let sample_type: String = sample_type.chars().map(drawable).collect();
    options.subtitle = Some(format!("sample type: {sample_type}"));
    let mut svg = Vec::new();
    let result = match base {
        None => inferno::flamegraph::from_lines(
            &mut options,
            after.iter().map(String::as_str),
            &mut svg,
        ),
        Some(base) => {
            check_compatible(profile, base)?;
            let before = collapse_at(base, profile, index)?;
            let mut diff = Vec::new();
            inferno::differential::from_readers(
                inferno::differential::Options::default(),
                joined(&before).as_bytes(),
                joined(&after).as_bytes(),
                &mut diff,
            )
            .map_err(|e| Error::Flamegraph(e.to_string()))?;
            let text = String::from_utf8_lossy(&diff);
            inferno::flamegraph::from_lines(&mut options, text.lines(), &mut svg)
        }
    };
    result.map_err(|e| Error::Flamegraph(e.to_string()))?;
    Ok(svg)
}

fn joined(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Writes folded lines, one per line.
pub fn write_folded(lines: &[String], mut out: impl Write) -> std::io::Result<()> {
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()
}

//! Goroutine leak checks: goroutine profiles taken over time, and the stacks whose
//! goroutine counts grow at every snapshot.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use crate::decode::Profile;
use crate::error::{Error, Origin, Result};
use crate::fetch::{Client, FetchOptions, ProfileType, resolve_url};
use crate::folded;

/// The stable schema name of [`LeakReport`] in JSON.
pub const LEAKS_SCHEMA: &str = "gantry.profile.leaks/v1";

#[derive(Debug, Clone, Serialize)]
pub struct LeakReport {
    pub schema: &'static str,
    pub url: String,
    pub interval_ms: u64,
    /// Goroutines in the process at each snapshot.
    pub goroutines: Vec<i64>,
    /// Stacks whose count went up at every snapshot, biggest growth first.
    pub leaks: Vec<LeakingStack>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeakingStack {
    /// The innermost function outside the Go runtime: where the goroutines wait.
    pub function: String,
    /// The stack, root first.
    pub frames: Vec<String>,
    /// Goroutines with this stack at each snapshot.
    pub counts: Vec<i64>,
    /// Last count minus first.
    pub growth: i64,
}

/// Goroutine counts per folded stack.
pub type Snapshot = HashMap<String, i64>;

/// Goroutine counts per stack of one goroutine profile.
pub fn snapshot(profile: &Profile) -> Result<Snapshot> {
    let lines = folded::collapse(profile, Some("0"))?;
    Ok(lines
        .into_iter()
        .filter_map(|line| {
            let (stack, count) = line.rsplit_once(' ')?;
            Some((stack.to_string(), count.parse().ok()?))
        })
        .collect())
}

/// The stacks present in the last snapshot whose counts rose at every step.
pub fn growing_stacks(snapshots: &[Snapshot]) -> Vec<LeakingStack> {
    let Some(last) = snapshots.last() else {
        return Vec::new();
    };
    if snapshots.len() < 2 {
        return Vec::new();
    }
    let mut leaks: Vec<LeakingStack> = last
        .keys()
        .filter_map(|stack| {
            let counts: Vec<i64> = snapshots
                .iter()
                .map(|s| s.get(stack).copied().unwrap_or(0))
                .collect();
            if !counts.windows(2).all(|w| w[1] > w[0]) {
                return None;
            }
            let frames: Vec<String> = stack.split(';').map(str::to_string).collect();
            let function = frames
                .iter()
                .rev()
                .find(|f| !f.starts_with("runtime.") && !f.starts_with("internal/"))
                .or(frames.last())
                .cloned()
                .unwrap_or_default();
            Some(LeakingStack {
                function,
                growth: counts[counts.len() - 1] - counts[0],
                frames,
                counts,
            })
        })
        .collect();
    leaks.sort_by(|a, b| b.growth.cmp(&a.growth).then(a.frames.cmp(&b.frames)));
    leaks
}

/// Takes `samples` goroutine profiles `interval` apart from `url` (a base address or a
/// goroutine profile URL). `progress` is called after each snapshot with its number.
pub fn watch(
    url: &str,
    options: &FetchOptions,
    interval: Duration,
    samples: usize,
    mut progress: impl FnMut(usize, i64),
) -> Result<LeakReport> {
    let options = FetchOptions {
        profile_type: ProfileType::Goroutine,
        seconds: None,
        ..options.clone()
    };
    let url = resolve_url(url, &options);
    let client = Client::new(&options)?;
    let mut snapshots = Vec::with_capacity(samples);
    let mut goroutines = Vec::with_capacity(samples);
    for i in 0..samples {
        if i > 0 {
            std::thread::sleep(interval);
        }
        let body = client.get(&url)?;
        let profile = Profile::decode(&body, Origin::Url(url.clone()))?;
        let (kind, _) = &profile.sample_types()[0];
        if kind != "goroutine" && kind != "goroutines" {
            return Err(Error::Incompatible(format!(
                "{url} served a {kind:?} profile; leaks needs a goroutine profile"
            )));
        }
        let snap = snapshot(&profile)?;
        let count = snap.values().sum();
        goroutines.push(count);
        progress(i + 1, count);
        snapshots.push(snap);
    }
    Ok(LeakReport {
        schema: LEAKS_SCHEMA,
        url,
        interval_ms: interval.as_millis() as u64,
        goroutines,
        leaks: growing_stacks(&snapshots),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(pairs: &[(&str, i64)]) -> Snapshot {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn only_stacks_growing_at_every_step_are_leaks() {
        let snaps = [
            snap(&[("main;main.leak;runtime.gopark", 5), ("main;main.pool", 4)]),
            snap(&[("main;main.leak;runtime.gopark", 9), ("main;main.pool", 6)]),
            snap(&[
                ("main;main.leak;runtime.gopark", 14),
                ("main;main.pool", 6),
                ("main;main.new", 3),
            ]),
        ];
        let leaks = growing_stacks(&snaps);
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert_eq!(leaks[0].function, "main.leak");
        assert_eq!(leaks[0].counts, vec![5, 9, 14]);
        assert_eq!(leaks[0].growth, 9);
    }
}

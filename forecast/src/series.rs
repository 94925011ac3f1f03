//! A series on a regular time grid, which is what forecasts and baselines read: one
//! value per interval, oldest first. [`Series::from_samples`] puts parsed samples on
//! that grid: it finds the interval, merges samples that fall on the same step, fills
//! short gaps by linear interpolation and refuses a series that is mostly gaps.

use serde::Serialize;

use crate::time;

/// Steps at most this share of which may be missing (NaN, empty or absent rows) before
/// a series is refused: interpolating more would forecast the interpolation.
pub const MAX_MISSING_SHARE: f64 = 0.5;

/// One parsed sample: Unix seconds and a value, NaN for a gap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    #[error("{0} samples with a value; a series needs at least 2")]
    TooFew(usize),
    #[error(
        "the {samples} samples with a value all fall in one step of {interval}; a series needs at least 2 steps (check the time column and --interval)"
    )]
    OneStep { samples: usize, interval: String },
    #[error(
        "{missing} of the {steps} steps of {interval} from {first} to {last} have no value ({share:.0}%): {gap_rows} rows hold NaN, nothing or no number, and {absent} steps have no row; a forecast needs values at most steps (check the time column and --interval)"
    )]
    MostlyGaps {
        missing: usize,
        steps: usize,
        gap_rows: usize,
        absent: usize,
        share: f64,
        interval: String,
        first: String,
        last: String,
    },
}

/// A regularly spaced series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Unix seconds of `values[0]`.
    pub start_t: i64,
    pub interval_s: i64,
    /// One value per step, gaps filled.
    pub values: Vec<f64>,
    /// Whether times came from the input (`false`: numbered from 0 by `--interval`).
    pub timed: bool,
    /// Steps without a value of their own, filled by interpolation.
    pub filled: usize,
    /// Runs of consecutive filled steps.
    pub gaps: usize,
    /// Samples merged into a step that already had one (closer together than the
    /// interval), by their maximum.
    pub merged: usize,
}

impl Series {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Unix seconds of step `i`.
    pub fn t(&self, i: usize) -> i64 {
        self.start_t
            .saturating_add(self.interval_s.saturating_mul(i as i64))
    }

    pub fn last_t(&self) -> i64 {
        self.t(self.len().saturating_sub(1))
    }

    /// Steps in a day, the daily season (at least 1).
    pub fn day_steps(&self) -> usize {
        usize::try_from((86_400 + self.interval_s / 2) / self.interval_s.max(1))
            .unwrap_or(1)
            .max(1)
    }

    /// A series from values already on a grid, e.g. for tests.
    pub fn regular(start_t: i64, interval_s: i64, values: Vec<f64>) -> Series {
        Series {
            start_t,
            interval_s: interval_s.max(1),
            values,
            timed: true,
            filled: 0,
            gaps: 0,
            merged: 0,
        }
    }

    /// Puts samples sorted by strictly increasing time on a grid of `interval_s`
    /// (detected as the median step when `None`), starting at the first sample with a
    /// value and ending at the last one. `gap_rows` counts samples whose value is NaN.
    pub fn from_samples(samples: &[Sample], interval_s: Option<i64>) -> Result<Series, GridError> {
        let valued: Vec<&Sample> = samples.iter().filter(|s| !s.v.is_nan()).collect();
        let (Some(first), Some(last)) = (valued.first(), valued.last()) else {
            return Err(GridError::TooFew(0));
        };
        if valued.len() < 2 {
            return Err(GridError::TooFew(valued.len()));
        }
        let interval_s = interval_s.unwrap_or_else(|| median_step(samples)).max(1);
        let slot = |t: i64| -> usize {
            // Round to the nearest step; samples are within [first.t, last.t].
            ((t - first.t + interval_s / 2) / interval_s) as usize
        };
        let steps = slot(last.t) + 1;
        let interval = || {
            humantime::format_duration(std::time::Duration::from_secs(interval_s.unsigned_abs()))
                .to_string()
        };
        // Values closer together than half a step share one: that is no series.
        if steps < 2 {
            return Err(GridError::OneStep {
                samples: valued.len(),
                interval: interval(),
            });
        }
        let inside = samples.iter().filter(|s| s.t >= first.t && s.t <= last.t);
        let gap_rows = inside.clone().filter(|s| s.v.is_nan()).count();
        // Count the steps that get a value before allocating the grid: a stray
        // timestamp decades away must be refused, not allocated.
        let mut distinct = 0usize;
        let mut previous = None;
        for s in &valued {
            let k = slot(s.t);
            if previous != Some(k) {
                distinct += 1;
                previous = Some(k);
            }
        }
        let missing = steps - distinct;
        if missing as f64 > MAX_MISSING_SHARE * steps as f64 {
            return Err(GridError::MostlyGaps {
                missing,
                steps,
                gap_rows,
                absent: missing.saturating_sub(gap_rows),
                share: 100.0 * missing as f64 / steps as f64,
                interval: interval(),
                first: time::format(first.t),
                last: time::format(last.t),
            });
        }
        let mut values = vec![f64::NAN; steps];
        let mut merged = 0;
        for s in &valued {
            let cell = &mut values[slot(s.t)];
            if cell.is_nan() {
                *cell = s.v;
            } else {
                merged += 1;
                *cell = cell.max(s.v);
            }
        }
        let (filled, gaps) = interpolate(&mut values);
        Ok(Series {
            start_t: first.t,
            interval_s,
            values,
            timed: true,
            filled,
            gaps,
            merged,
        })
    }
}

/// The median of the steps between consecutive samples (at least 1 second).
pub fn median_step(samples: &[Sample]) -> i64 {
    let mut steps: Vec<i64> = samples
        .windows(2)
        .map(|p| p[1].t - p[0].t)
        .filter(|&d| d > 0)
        .collect();
    if steps.is_empty() {
        return 1;
    }
    // The lower median, so that two steps give the shorter one.
    let mid = (steps.len() - 1) / 2;
    *steps.select_nth_unstable(mid).1
}

/// Fills NaN runs between two values linearly; the ends are values by construction.
/// Returns the steps filled and the number of runs.
fn interpolate(values: &mut [f64]) -> (usize, usize) {
    let (mut filled, mut gaps) = (0, 0);
    let mut i = 0;
    while i < values.len() {
        if !values[i].is_nan() {
            i += 1;
            continue;
        }
        let start = i;
        while i < values.len() && values[i].is_nan() {
            i += 1;
        }
        let before = values[start - 1];
        let after = values.get(i).copied().unwrap_or(before);
        let span = (i - start + 1) as f64;
        for (k, v) in values[start..i].iter_mut().enumerate() {
            *v = before + (after - before) * (k + 1) as f64 / span;
        }
        filled += i - start;
        gaps += 1;
    }
    (filled, gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(points: &[(i64, f64)]) -> Vec<Sample> {
        points.iter().map(|&(t, v)| Sample { t, v }).collect()
    }

    #[test]
    fn grid_fills_gaps_and_merges_jitter() {
        // Steps of 300 s with a missing row at 900, a NaN at 1500 and a sample 60 s
        // late at 1860 (still its own step).
        let s = Series::from_samples(
            &samples(&[
                (0, 1.0),
                (300, 2.0),
                (600, 3.0),
                (1200, 5.0),
                (1500, f64::NAN),
                (1860, 9.0),
                (1900, 4.0),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(s.interval_s, 300);
        assert_eq!(s.values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 9.0]);
        assert_eq!((s.filled, s.gaps, s.merged), (2, 2, 1));
        assert_eq!(s.last_t(), 1800);
        assert_eq!(s.day_steps(), 288);
    }

    #[test]
    fn mostly_gaps_is_refused_with_the_numbers() {
        let e =
            Series::from_samples(&samples(&[(0, 1.0), (60, 2.0), (6000, 3.0)]), None).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("98 of the 101 steps of 1m"), "{text}");
        // A stray timestamp far away is refused without allocating its grid.
        let e = Series::from_samples(
            &samples(&[(0, 1.0), (60, 2.0), (120, 2.0), (4_000_000_000, 3.0)]),
            None,
        )
        .unwrap_err();
        assert!(matches!(e, GridError::MostlyGaps { .. }), "{e}");
        assert_eq!(
            Series::from_samples(&samples(&[(0, f64::NAN), (60, 2.0)]), None),
            Err(GridError::TooFew(1))
        );
    }

    #[test]
    fn values_within_one_step_are_refused() {
        // Two values 10 s apart round to one step, whether the interval is given or is
        // the median step, here that of NaN rows (as in the series fuzz target's
        // regression `one-step.csv`).
        let one_step = |interval: &str| {
            Err(GridError::OneStep {
                samples: 2,
                interval: interval.into(),
            })
        };
        let close = samples(&[(0, 1.0), (10, 2.0)]);
        assert_eq!(Series::from_samples(&close, Some(60)), one_step("1m"));
        let wide = samples(&[(0, 1.0), (10, 2.0), (130, f64::NAN), (250, f64::NAN)]);
        assert_eq!(Series::from_samples(&wide, None), one_step("2m"));
    }
}

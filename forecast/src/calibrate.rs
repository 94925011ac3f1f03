//! Calibration on the series' own history, for any forecaster: the host runs it on top
//! of whatever plugin answers `scale.forecast`, so a user's `--forecaster` gets it too.
//!
//! Walking forward over past origins, as if each were "now":
//!
//! - **p50**: a weighted blend of the forecaster's p50 and the naive candidates
//!   ([`crate::baselines::Baseline::CANDIDATES`]). Weights come from each candidate's
//!   mean absolute error (the pinball loss at 0.5, up to a factor) on the last
//!   [`Settings::weight_window`] origins whose peaks are already known:
//!   `w ∝ exp(−η · (loss / best loss − 1))`. A candidate that keeps losing fades out; one
//!   that matches the best keeps a share.
//! - **p90**: the blend's p50 plus a quantile of its own recent residuals (split
//!   conformal prediction on the last [`Settings::residual_window`] known origins). The
//!   quantile level adapts to the misses actually seen (adaptive conformal inference,
//!   Gibbs and Candès 2021): after each miss it rises, after each hit it falls a little,
//!   so that about 10% of peaks exceed the p90 over time, whatever the series.
//!
//! An origin's peak is known `horizon` steps after it: only origins `j` with
//! `j + horizon <= i` inform the forecast from origin `i`.

use std::ops::Range;

use serde::Serialize;

/// The procedure's constants. They were chosen on the training series of
/// `docs/forecast.md`, never on the held-out ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Known origins the candidates' weights are computed on.
    pub weight_window: usize,
    /// How sharply weights favour the best candidate (0: equal weights).
    pub eta: f64,
    /// Known origins whose residuals set the p90 margin.
    pub residual_window: usize,
    /// The share of peaks allowed above p90.
    pub miss_rate: f64,
    /// How fast the quantile level follows the misses.
    pub adapt_rate: f64,
    /// Known origins below which there is nothing to calibrate on: the forecaster's
    /// own p50 and p90 are used.
    pub min_known: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            weight_window: 288,
            eta: 3.0,
            residual_window: 576,
            miss_rate: 0.1,
            adapt_rate: 0.01,
            min_known: 24,
        }
    }
}

impl Settings {
    /// Origins a forecast walks over before the one it answers for, so that its weights,
    /// residuals and quantile level have settled.
    pub fn walk(&self) -> usize {
        self.weight_window + self.residual_window + self.weight_window
    }
}

/// The forecasts to calibrate, on a common list of ascending origins.
pub struct Inputs<'a> {
    pub origins: &'a [usize],
    pub horizon: usize,
    /// The forecaster's p50 and p90 at each origin.
    pub model_p50: &'a [f64],
    pub model_p90: &'a [f64],
    /// Each candidate's name and p50 at each origin; the forecaster comes first.
    pub candidates: &'a [(String, Vec<f64>)],
    /// The actual peak after each origin, `None` where it lies beyond the data.
    pub actual: &'a [Option<f64>],
}

/// The calibrated forecast from one origin, and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub p50: f64,
    pub p90: f64,
    /// Candidate weights of the p50, in the order of [`Inputs::candidates`] (empty:
    /// not calibrated, the forecaster's own answer).
    pub weights: Vec<f64>,
    /// Each candidate's mean absolute error over the weight window.
    pub losses: Vec<f64>,
    /// Known origins the weights and the margin were computed on.
    pub known: usize,
    /// The quantile of recent residuals added to p50.
    pub level: f64,
    pub margin: f64,
}

/// Runs the procedure over every origin, in order; one [`Step`] per origin.
pub fn walk(inputs: &Inputs, settings: &Settings) -> Vec<Step> {
    let n = inputs.origins.len();
    let k = inputs.candidates.len();
    // Prefix sums of each candidate's absolute error over known origins.
    let mut error_sums = vec![vec![0.0f64; n + 1]; k];
    let mut resolved = 0usize; // origins [0, resolved) are known
    let mut steps: Vec<Step> = Vec::with_capacity(n);
    let mut miss_rate = settings.miss_rate;
    let mut residuals = SlidingSorted::default();
    for (t, &origin) in inputs.origins.iter().enumerate() {
        // Newly known origins: extend the error sums and learn from their misses.
        while resolved < t && inputs.origins[resolved] + inputs.horizon <= origin {
            let j = resolved;
            let actual = inputs.actual[j].unwrap_or(f64::NAN);
            for (c, (_, p50)) in inputs.candidates.iter().enumerate() {
                let e = (actual - p50[j]).abs();
                error_sums[c][j + 1] = error_sums[c][j] + if e.is_finite() { e } else { 0.0 };
            }
            if let (Some(step), Some(actual)) = (steps.get(j), inputs.actual[j]) {
                let missed = if actual > step.p90 { 1.0 } else { 0.0 };
                miss_rate += settings.adapt_rate * (settings.miss_rate - missed);
            }
            resolved += 1;
        }
        if resolved < settings.min_known {
            steps.push(Step {
                p50: inputs.model_p50[t],
                p90: inputs.model_p90[t].max(inputs.model_p50[t]),
                weights: Vec::new(),
                losses: Vec::new(),
                known: resolved,
                level: 1.0 - settings.miss_rate,
                margin: 0.0,
            });
            continue;
        }
        let lo = resolved.saturating_sub(settings.weight_window);
        let count = (resolved - lo) as f64;
        let losses: Vec<f64> = (0..k)
            .map(|c| (error_sums[c][resolved] - error_sums[c][lo]) / count)
            .collect();
        let weights = weigh(&losses, settings.eta);
        let p50: f64 = inputs
            .candidates
            .iter()
            .zip(&weights)
            .map(|((_, p), w)| w * p[t])
            .sum();
        let from = resolved.saturating_sub(settings.residual_window);
        let residual = |j: usize| inputs.actual[j].map(|a| a - steps[j].p50);
        residuals.slide(from..resolved, residual);
        let level = (1.0 - miss_rate).clamp(0.0, 1.0);
        let margin = residuals.quantile(level).max(0.0);
        steps.push(Step {
            p50,
            p90: p50 + margin,
            weights,
            losses,
            known: resolved,
            level,
            margin,
        });
    }
    steps
}

/// `w ∝ exp(−η (loss / best − 1))`, normalised; a perfect candidate takes all.
fn weigh(losses: &[f64], eta: f64) -> Vec<f64> {
    let best = losses.iter().copied().fold(f64::INFINITY, f64::min);
    let raw: Vec<f64> = if best > f64::MIN_POSITIVE {
        losses
            .iter()
            .map(|l| (-eta * (l / best - 1.0)).exp())
            .collect()
    } else {
        losses
            .iter()
            .map(|&l| if l <= best { 1.0 } else { 0.0 })
            .collect()
    };
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

/// The `q` quantile of `xs` with linear interpolation (numpy's default); 0 for none.
/// Reorders `xs`.
pub fn quantile_in_place(xs: &mut [f64], q: f64) -> f64 {
    let Some((lo, frac)) = position(xs.len(), q) else {
        return 0.0;
    };
    let (_, &mut low, above) = xs.select_nth_unstable_by(lo, f64::total_cmp);
    if frac == 0.0 || above.is_empty() {
        return low;
    }
    let high = above.iter().copied().fold(f64::INFINITY, f64::min);
    low + (high - low) * frac
}

/// Where quantile `q` of `len` values falls: the index of the value below it in sorted
/// order and the fraction of the way to the next one. `None` for no values.
fn position(len: usize, q: f64) -> Option<(usize, f64)> {
    let pos = q.clamp(0.0, 1.0) * (len.checked_sub(1)?) as f64;
    let lo = pos.floor() as usize;
    Some((lo, pos - lo as f64))
}

/// The values of a window of consecutive indices, kept sorted as the window slides
/// forward, so that each step's quantile is read off instead of selected again.
#[derive(Default)]
struct SlidingSorted {
    sorted: Vec<f64>,
    window: Range<usize>,
}

impl SlidingSorted {
    /// Moves the window to `to` (neither end moves back); `value(j)` is index `j`'s
    /// value, `None` for none.
    fn slide(&mut self, to: Range<usize>, value: impl Fn(usize) -> Option<f64>) {
        let leaving = self.window.start..to.start.min(self.window.end);
        for v in leaving.filter_map(&value) {
            if let Ok(at) = self.sorted.binary_search_by(|x| x.total_cmp(&v)) {
                self.sorted.remove(at);
            }
        }
        let entering = self.window.end.max(to.start)..to.end;
        for v in entering.filter_map(&value) {
            let at = self.sorted.partition_point(|x| x.total_cmp(&v).is_le());
            self.sorted.insert(at, v);
        }
        self.window = to;
    }

    /// The same as [`quantile_in_place`] on the window's values.
    fn quantile(&self, q: f64) -> f64 {
        let Some((lo, frac)) = position(self.sorted.len(), q) else {
            return 0.0;
        };
        let low = self.sorted[lo];
        match self.sorted.get(lo + 1) {
            Some(&high) if frac != 0.0 => low + (high - low) * frac,
            _ => low,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        let mut xs = vec![3.0, 1.0, 2.0, 10.0];
        // numpy.quantile([1, 2, 3, 10], 0.9) = 7.9
        assert!((quantile_in_place(&mut xs, 0.9) - 7.9).abs() < 1e-12);
        assert_eq!(quantile_in_place(&mut [5.0], 0.9), 5.0);
        assert_eq!(quantile_in_place(&mut [], 0.9), 0.0);
        assert_eq!(quantile_in_place(&mut [1.0, 2.0], 1.0), 2.0);
    }

    #[test]
    fn a_sliding_window_gives_the_quantiles_of_its_values() {
        let noise = |j: usize| ((j as f64 * 12.9898).sin() * 43_758.545).fract() - 0.5;
        // Some indices without a value, repeated values, and both signs of zero.
        let value = |j: usize| match j % 7 {
            0 => None,
            1 => Some(0.25),
            2 => Some(if j.is_multiple_of(2) { 0.0 } else { -0.0 }),
            _ => Some(noise(j)),
        };
        let mut window = SlidingSorted::default();
        // Ends that advance by 0 to 3, starts that trail by 0 to 60.
        let mut end = 0usize;
        for step in 0..600usize {
            end += step % 4;
            let start = end.saturating_sub(step * 7 % 61).max(window.window.start);
            window.slide(start..end, value);
            let mut xs: Vec<f64> = (start..end).filter_map(value).collect();
            for q in [0.0, 0.1, 0.5, 0.9, 0.93, 1.0] {
                let expected = quantile_in_place(&mut xs, q);
                assert_eq!(
                    window.quantile(q).to_bits(),
                    expected.to_bits(),
                    "{start}..{end} at q {q}"
                );
            }
        }
    }

    #[test]
    fn weights_favour_the_lowest_loss() {
        let w = weigh(&[1.0, 2.0, 1.0], 3.0);
        assert!((w[0] - w[2]).abs() < 1e-12 && w[0] > 10.0 * w[1]);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(weigh(&[0.0, 1.0], 3.0), vec![1.0, 0.0]);
    }

    /// A noisy level: the model is biased high, a baseline is right. The blend moves to
    /// the baseline and the p90 misses about 10% of the time.
    #[test]
    fn blend_follows_the_better_candidate_and_p90_covers() {
        let n = 3000;
        let horizon = 3;
        // Deterministic noise in [-1, 1).
        let noise = |i: usize| ((i as f64 * 12.9898).sin() * 43_758.545).fract();
        let actual: Vec<Option<f64>> = (0..n).map(|i| Some(100.0 + 10.0 * noise(i))).collect();
        let model = vec![120.0; n];
        let baseline = vec![100.0; n];
        let origins: Vec<usize> = (0..n).collect();
        let candidates = vec![
            ("model".to_string(), model.clone()),
            ("flat".to_string(), baseline),
        ];
        let steps = walk(
            &Inputs {
                origins: &origins,
                horizon,
                model_p50: &model,
                model_p90: &model,
                candidates: &candidates,
                actual: &actual,
            },
            &Settings::default(),
        );
        assert_eq!(steps[0].weights, Vec::<f64>::new());
        let last = &steps[n - 1];
        assert!(last.weights[1] > 0.99, "{last:?}");
        let tail = &steps[1000..];
        let misses = tail
            .iter()
            .zip(&actual[1000..])
            .filter(|(s, a)| a.unwrap() > s.p90)
            .count() as f64
            / tail.len() as f64;
        assert!((0.07..=0.13).contains(&misses), "{misses}");
    }
}

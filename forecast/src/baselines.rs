//! Naive forecasters of the peak over the next `horizon` samples, the bar any model has
//! to clear: last value, moving average, max of the recent window, seasonal naive (the
//! same stretch one day, or one week, earlier) and additive Holt-Winters with a daily
//! season. Each gives a point forecast for every origin. All but Holt-Winters are also
//! candidates of the calibrated forecast ([`crate::calibrate`]).

/// A forecast method for the peak of `values[i..i + horizon]` made from `values[..i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    LastValue,
    /// Mean of the last `horizon` samples.
    MovingAverage,
    /// Max of the last `horizon` samples.
    WindowMax,
    /// The peak of the same stretch one day earlier (window max without a day of
    /// history).
    SeasonalDay,
    /// The peak of the same stretch one week earlier, where the history allows;
    /// otherwise as [`Baseline::SeasonalDay`].
    SeasonalWeek,
    /// Additive Holt-Winters, daily season, smoothing fitted on the calibration part.
    HoltWinters,
}

impl Baseline {
    pub const ALL: [Baseline; 6] = [
        Baseline::LastValue,
        Baseline::MovingAverage,
        Baseline::WindowMax,
        Baseline::SeasonalDay,
        Baseline::SeasonalWeek,
        Baseline::HoltWinters,
    ];

    /// The baselines the calibrated forecast weighs beside the model: cheap, and
    /// computed from the history alone.
    pub const CANDIDATES: [Baseline; 5] = [
        Baseline::LastValue,
        Baseline::MovingAverage,
        Baseline::WindowMax,
        Baseline::SeasonalDay,
        Baseline::SeasonalWeek,
    ];

    /// The naive baselines the targets compare with (`docs/forecast.md`).
    pub const NAIVE_BAR: [Baseline; 3] = [
        Baseline::WindowMax,
        Baseline::SeasonalDay,
        Baseline::SeasonalWeek,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Baseline::LastValue => "last-value",
            Baseline::MovingAverage => "moving-average",
            Baseline::WindowMax => "window-max",
            Baseline::SeasonalDay => "seasonal-day",
            Baseline::SeasonalWeek => "seasonal-week",
            Baseline::HoltWinters => "holt-winters",
        }
    }

    /// Point forecasts of the peak for every origin in `origins` (each `>= 1` and at
    /// most `values.len()`). `day` is the number of samples in a day; `fit_end` bounds
    /// the data Holt-Winters may fit its smoothing on.
    pub fn peaks(
        self,
        values: &[f64],
        origins: &[usize],
        horizon: usize,
        day: usize,
        fit_end: usize,
    ) -> Vec<f64> {
        let window_max = |i: usize| max_of(&values[i.saturating_sub(horizon)..i]);
        // The stretch `lag` samples before the forecast one, within the history.
        let seasonal = |i: usize, lag: usize| {
            (lag >= 1 && i >= lag).then(|| max_of(&values[i - lag..(i - lag + horizon).min(i)]))
        };
        match self {
            Baseline::LastValue => origins.iter().map(|&i| values[i - 1]).collect(),
            Baseline::MovingAverage => origins
                .iter()
                .map(|&i| {
                    let w = &values[i.saturating_sub(horizon)..i];
                    w.iter().sum::<f64>() / w.len() as f64
                })
                .collect(),
            Baseline::WindowMax => origins.iter().map(|&i| window_max(i)).collect(),
            Baseline::SeasonalDay => origins
                .iter()
                .map(|&i| seasonal(i, day).unwrap_or_else(|| window_max(i)))
                .collect(),
            Baseline::SeasonalWeek => origins
                .iter()
                .map(|&i| {
                    seasonal(i, 7 * day)
                        .or_else(|| seasonal(i, day))
                        .unwrap_or_else(|| window_max(i))
                })
                .collect(),
            Baseline::HoltWinters => {
                let params = HoltWinters::fit(&values[..fit_end.min(values.len())], day);
                params.peaks(values, origins, horizon)
            }
        }
    }
}

fn max_of(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Additive Holt-Winters smoothing parameters and season length (1 = no season, which
/// is Holt's linear trend).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoltWinters {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub season: usize,
}

/// Smoothing state after some prefix of the series.
struct State {
    level: f64,
    trend: f64,
    seasonal: Vec<f64>,
    /// Index of the next sample to consume.
    next: usize,
}

impl HoltWinters {
    /// Picks the smoothing parameters with the least one-step-ahead squared error on
    /// `values` from a small grid. Uses a season only when `values` covers two of them.
    pub fn fit(values: &[f64], season: usize) -> HoltWinters {
        let season = if season >= 2 && values.len() >= 2 * season {
            season
        } else {
            1
        };
        let mut best = (
            f64::INFINITY,
            HoltWinters {
                alpha: 0.5,
                beta: 0.0,
                gamma: 0.0,
                season,
            },
        );
        let gammas: &[f64] = if season > 1 {
            &[0.05, 0.2, 0.5]
        } else {
            &[0.0]
        };
        for &alpha in &[0.05, 0.2, 0.5, 0.8] {
            for &beta in &[0.0, 0.01, 0.05] {
                for &gamma in gammas {
                    let p = HoltWinters {
                        alpha,
                        beta,
                        gamma,
                        season,
                    };
                    let sse = p.one_step_sse(values);
                    if sse < best.0 {
                        best = (sse, p);
                    }
                }
            }
        }
        best.1
    }

    fn init(&self, values: &[f64]) -> Option<State> {
        let m = self.season;
        if values.len() < 2 * m.max(1) {
            return None;
        }
        let first = values[..m].iter().sum::<f64>() / m as f64;
        let second = values[m..2 * m].iter().sum::<f64>() / m as f64;
        let (level, trend) = if m > 1 {
            (first, (second - first) / m as f64)
        } else {
            (values[0], values[1] - values[0])
        };
        let seasonal = if m > 1 {
            values[..m].iter().map(|v| v - first).collect()
        } else {
            vec![0.0]
        };
        Some(State {
            level,
            trend,
            seasonal,
            next: m,
        })
    }

    fn update(&self, s: &mut State, y: f64) {
        let m = self.season;
        let k = s.next % m;
        let season = if m > 1 { s.seasonal[k] } else { 0.0 };
        let level = self.alpha * (y - season) + (1.0 - self.alpha) * (s.level + s.trend);
        s.trend = self.beta * (level - s.level) + (1.0 - self.beta) * s.trend;
        if m > 1 {
            s.seasonal[k] = self.gamma * (y - level) + (1.0 - self.gamma) * season;
        }
        s.level = level;
        s.next += 1;
    }

    /// The forecast for sample index `j >= s.next`.
    fn predict(&self, s: &State, j: usize) -> f64 {
        let k = (j + 1 - s.next) as f64;
        let season = if self.season > 1 {
            s.seasonal[j % self.season]
        } else {
            0.0
        };
        s.level + k * s.trend + season
    }

    fn one_step_sse(&self, values: &[f64]) -> f64 {
        let Some(mut s) = self.init(values) else {
            return f64::INFINITY;
        };
        let mut sse = 0.0;
        while s.next < values.len() {
            let y = values[s.next];
            let e = y - self.predict(&s, s.next);
            sse += e * e;
            self.update(&mut s, y);
        }
        sse
    }

    /// Max of the forecasts for `values[i..i + horizon]` at each origin (ascending).
    /// Origins before the initialisation window fall back to the last value.
    pub fn peaks(&self, values: &[f64], origins: &[usize], horizon: usize) -> Vec<f64> {
        let mut state = self.init(values);
        origins
            .iter()
            .map(|&i| match state.as_mut() {
                Some(s) if i >= s.next => {
                    while s.next < i {
                        let y = values[s.next];
                        self.update(s, y);
                    }
                    (i..i + horizon)
                        .map(|j| self.predict(s, j))
                        .fold(f64::NEG_INFINITY, f64::max)
                }
                _ => values[i - 1],
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_baselines() {
        let v = [1.0, 5.0, 2.0, 3.0];
        let o = [2, 4];
        assert_eq!(Baseline::LastValue.peaks(&v, &o, 2, 1, 4), vec![5.0, 3.0]);
        assert_eq!(
            Baseline::MovingAverage.peaks(&v, &o, 2, 1, 4),
            vec![3.0, 2.5]
        );
        assert_eq!(Baseline::WindowMax.peaks(&v, &o, 3, 1, 4), vec![5.0, 5.0]);
    }

    #[test]
    fn seasonal_naive_reads_the_same_stretch_a_day_or_week_before() {
        // A "day" of 4 samples; two weeks of them, each day i holding 10·i + hour.
        let day = 4;
        let v: Vec<f64> = (0..56).map(|k| (10 * (k / day) + k % day) as f64).collect();
        // From origin 40 (day 10, hour 0), the next 3 samples peak at hour 2; a day
        // earlier that was 92, a week earlier 32.
        assert_eq!(
            Baseline::SeasonalDay.peaks(&v, &[40], 3, day, 56),
            vec![92.0]
        );
        assert_eq!(
            Baseline::SeasonalWeek.peaks(&v, &[40], 3, day, 56),
            vec![32.0]
        );
        // A horizon longer than the lag stops at the origin: nothing unseen is read.
        assert_eq!(
            Baseline::SeasonalDay.peaks(&v, &[40], 6, day, 56),
            vec![93.0]
        );
        // Without a week of history the weekly one is the daily one; without a day,
        // both are the window max.
        assert_eq!(
            Baseline::SeasonalWeek.peaks(&v, &[20], 3, day, 56),
            vec![42.0]
        );
        assert_eq!(Baseline::SeasonalDay.peaks(&v, &[3], 2, day, 56), vec![2.0]);
    }

    #[test]
    fn holt_winters_follows_a_seasonal_pattern() {
        // A clean daily pattern of period 8: after fitting, the peak forecast over the
        // next 8 samples is the pattern's peak.
        let pattern = [0.0, 1.0, 3.0, 9.0, 3.0, 1.0, 0.0, 0.0];
        let values: Vec<f64> = (0..80).map(|i| 10.0 + pattern[i % 8]).collect();
        let hw = HoltWinters::fit(&values[..64], 8);
        assert_eq!(hw.season, 8);
        let peaks = hw.peaks(&values, &[64, 72], 8);
        for p in peaks {
            assert!((p - 19.0).abs() < 0.5, "{p}");
        }
        // The next three samples after 64 are 10, 11, 13.
        let short = hw.peaks(&values, &[64], 3);
        assert!((short[0] - 13.0).abs() < 0.5, "{short:?}");
    }

    #[test]
    fn holt_without_season_tracks_a_trend() {
        let values: Vec<f64> = (0..50).map(|i| 2.0 * i as f64).collect();
        let hw = HoltWinters::fit(&values, 288);
        assert_eq!(hw.season, 1);
        let p = hw.peaks(&values, &[50], 5)[0];
        assert!((p - 108.0).abs() < 1.0, "{p}");
    }
}

//! The replica count for a forecast load: `ceil(p90 peak / target per replica)`, held
//! still inside HPA's tolerance, clamped to `--min`/`--max`, and with scale-downs
//! limited per run. A pure function, so every rule is tested without a cluster.

use serde::Serialize;

/// What the recommendation is sized from, and the rules that bound it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizing {
    /// The forecast's p90 peak over the horizon, in the metric's unit.
    pub p90_peak: f64,
    /// The load one replica is meant to carry, in the same unit.
    pub target_per_replica: f64,
    /// The replica count now, when there is a target to scale.
    pub current_replicas: Option<i32>,
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// HPA's tolerance: no change while the projected load per replica is within this
    /// fraction of the target (0.1 = 10 %).
    pub tolerance: f64,
    /// The most a single run may scale down, in percent of the current count.
    pub max_scale_down_percent: u8,
}

/// Why the recommendation is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Sized from the forecast, no rule changed it.
    Forecast,
    /// The forecast peak on the current replicas is within the tolerance of the target.
    WithinTolerance,
    /// Raised to `--min`.
    ClampedToMin,
    /// Lowered to `--max`.
    ClampedToMax,
    /// A scale-down limited to `--max-scale-down` percent of the current count.
    ScaleDownLimited,
}

/// The recommended count, what the forecast alone asked for, and why they differ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Recommendation {
    pub replicas: i32,
    /// `ceil(p90 peak / target per replica)`, before any rule.
    pub from_forecast: i32,
    /// The projected load per replica on the current count, as a fraction of the target
    /// (1.0 = exactly on target); `None` without a current count.
    pub current_utilisation: Option<f64>,
    pub reason: Reason,
}

/// Errors in the sizing's own numbers (the flags), worded for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SizingError {
    #[error("--target-per-replica must be a positive number, not {0}")]
    Target(f64),
    #[error("--min ({min}) is above --max ({max})")]
    MinAboveMax { min: i32, max: i32 },
    #[error("--tolerance must be between 0 and 1, not {0}")]
    Tolerance(f64),
    #[error("--max-scale-down must be a percentage from 0 to 100, not {0}")]
    ScaleDown(u8),
    #[error("the forecast's p90 peak is {0}, which no replica count can serve")]
    Forecast(f64),
}

/// Sizes the replica count for `sizing`.
pub fn recommend(sizing: &Sizing) -> Result<Recommendation, SizingError> {
    let target = sizing.target_per_replica;
    if !(target.is_finite() && target > 0.0) {
        return Err(SizingError::Target(target));
    }
    if sizing.min_replicas > sizing.max_replicas {
        return Err(SizingError::MinAboveMax {
            min: sizing.min_replicas,
            max: sizing.max_replicas,
        });
    }
    if !(0.0..=1.0).contains(&sizing.tolerance) {
        return Err(SizingError::Tolerance(sizing.tolerance));
    }
    if sizing.max_scale_down_percent > 100 {
        return Err(SizingError::ScaleDown(sizing.max_scale_down_percent));
    }
    let peak = sizing.p90_peak;
    if !(peak.is_finite() && peak >= 0.0) {
        return Err(SizingError::Forecast(peak));
    }
    // Saturates at i32::MAX for absurd ratios; the clamp to --max follows.
    let from_forecast = (peak / target).ceil().min(f64::from(i32::MAX)) as i32;
    let current = sizing.current_replicas.filter(|&c| c > 0);
    let current_utilisation = current.map(|c| peak / f64::from(c) / target);

    let mut replicas = from_forecast;
    let mut reason = Reason::Forecast;
    if let (Some(current), Some(utilisation)) = (current, current_utilisation)
        && (utilisation - 1.0).abs() <= sizing.tolerance
    {
        replicas = current;
        reason = Reason::WithinTolerance;
    }
    if let Some(current) = current
        && replicas < current
    {
        let keep = 1.0 - f64::from(sizing.max_scale_down_percent) / 100.0;
        let floor = (f64::from(current) * keep).ceil() as i32;
        if replicas < floor {
            replicas = floor;
            reason = Reason::ScaleDownLimited;
        }
    }
    if replicas < sizing.min_replicas {
        replicas = sizing.min_replicas;
        reason = Reason::ClampedToMin;
    } else if replicas > sizing.max_replicas {
        replicas = sizing.max_replicas;
        reason = Reason::ClampedToMax;
    }
    Ok(Recommendation {
        replicas,
        from_forecast,
        current_utilisation,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizing(p90: f64, current: Option<i32>) -> Sizing {
        Sizing {
            p90_peak: p90,
            target_per_replica: 100.0,
            current_replicas: current,
            min_replicas: 1,
            max_replicas: 50,
            tolerance: 0.1,
            max_scale_down_percent: 50,
        }
    }

    fn replicas_and_reason(s: &Sizing) -> (i32, Reason) {
        let r = recommend(s).unwrap();
        (r.replicas, r.reason)
    }

    #[test]
    fn sizes_from_the_p90_peak_rounding_up() {
        assert_eq!(
            replicas_and_reason(&sizing(401.0, None)),
            (5, Reason::Forecast)
        );
        assert_eq!(
            replicas_and_reason(&sizing(400.0, None)),
            (4, Reason::Forecast)
        );
        assert_eq!(
            replicas_and_reason(&sizing(950.0, Some(4))),
            (10, Reason::Forecast)
        );
    }

    #[test]
    fn holds_still_inside_the_tolerance() {
        // 4 replicas at 105 % of target: inside 10 %.
        let r = recommend(&sizing(420.0, Some(4))).unwrap();
        assert_eq!((r.replicas, r.reason), (4, Reason::WithinTolerance));
        assert_eq!(r.from_forecast, 5);
        assert!((r.current_utilisation.unwrap() - 1.05).abs() < 1e-9);
        // 115 %: outside, so it scales.
        assert_eq!(
            replicas_and_reason(&sizing(460.0, Some(4))),
            (5, Reason::Forecast)
        );
        // The edge itself counts as inside, as HPA's `<=` does.
        let mut s = sizing(375.0, Some(4));
        s.tolerance = 0.0625;
        assert_eq!(replicas_and_reason(&s), (4, Reason::WithinTolerance));
    }

    #[test]
    fn limits_a_scale_down_per_run() {
        // 10 -> 2 asked; at most 50 % down, so 5.
        assert_eq!(
            replicas_and_reason(&sizing(150.0, Some(10))),
            (5, Reason::ScaleDownLimited)
        );
        // An odd count keeps the larger half: 5 -> ceil(2.5) = 3.
        assert_eq!(
            replicas_and_reason(&sizing(10.0, Some(5))),
            (3, Reason::ScaleDownLimited)
        );
        let mut s = sizing(150.0, Some(10));
        s.max_scale_down_percent = 100;
        assert_eq!(replicas_and_reason(&s), (2, Reason::Forecast));
        s.max_scale_down_percent = 0;
        assert_eq!(replicas_and_reason(&s), (10, Reason::ScaleDownLimited));
    }

    #[test]
    fn clamps_to_min_and_max() {
        let mut s = sizing(0.0, None);
        s.min_replicas = 2;
        assert_eq!(replicas_and_reason(&s), (2, Reason::ClampedToMin));
        let mut s = sizing(1e12, Some(3));
        s.max_replicas = 8;
        assert_eq!(replicas_and_reason(&s), (8, Reason::ClampedToMax));
        // --min wins over the scale-down limit's floor only upwards.
        let mut s = sizing(150.0, Some(10));
        s.min_replicas = 7;
        assert_eq!(replicas_and_reason(&s), (7, Reason::ClampedToMin));
    }

    #[test]
    fn zero_current_replicas_scale_from_the_forecast() {
        assert_eq!(
            replicas_and_reason(&sizing(250.0, Some(0))),
            (3, Reason::Forecast)
        );
    }

    #[test]
    fn refuses_numbers_that_cannot_size_anything() {
        let mut s = sizing(100.0, None);
        s.target_per_replica = 0.0;
        assert_eq!(recommend(&s), Err(SizingError::Target(0.0)));
        let mut s = sizing(100.0, None);
        s.min_replicas = 5;
        s.max_replicas = 2;
        assert!(matches!(
            recommend(&s),
            Err(SizingError::MinAboveMax { .. })
        ));
        assert!(matches!(
            recommend(&sizing(f64::NAN, None)),
            Err(SizingError::Forecast(_))
        ));
        assert!(matches!(
            recommend(&sizing(-1.0, None)),
            Err(SizingError::Forecast(_))
        ));
        let mut s = sizing(100.0, None);
        s.tolerance = 1.5;
        assert_eq!(recommend(&s), Err(SizingError::Tolerance(1.5)));
    }
}

//! `{{name}}`: a gantry plugin. Run as `gantry {{name}} ARGS...` it is a command; run
//! by gantry as `{{name}} --gantry-hook scale.forecast` it answers that hook with a
//! forecast of the load's peak. Keep the half you need.

use std::io::Write as _;
use std::process::ExitCode;

use gantry_plugin_sdk::HookError;
use gantry_plugin_sdk::forecast::{self, ForecastInput, ForecastOutput};

// Embeds plugin.toml in the module's `gantry-plugin` custom section.
gantry_plugin_sdk::manifest!(include_str!("../plugin.toml"));

fn main() -> ExitCode {
    if gantry_plugin_sdk::hook_call().is_some() {
        // Reads the request from stdin, writes one {"output":...} or {"error":...}.
        return gantry_plugin_sdk::serve_hooks(|hook, input| match hook {
            forecast::HOOK => input.handle(forecast_peak),
            other => Err(HookError::unknown_hook(other)),
        });
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match writeln!(std::io::stdout(), "{}", greeting(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{{name}}: writing to stdout: {err}");
            ExitCode::FAILURE
        }
    }
}

fn greeting(args: &[String]) -> String {
    if args.is_empty() {
        "Hello from {{name}}!".to_string()
    } else {
        format!("Hello from {{name}}, {}!", args.join(" "))
    }
}

/// A placeholder model: the next horizon repeats the last one. The p50 is the highest
/// load of the last `horizon_steps` samples, expected at the same offset again; the p90
/// adds a quarter of that stretch's range.
fn forecast_peak(input: ForecastInput) -> Result<ForecastOutput, HookError> {
    input.validate()?;
    let horizon = usize::try_from(input.horizon_steps).unwrap_or(usize::MAX);
    let recent = &input.series[input.series.len().saturating_sub(horizon)..];
    let mut offset = 0;
    for (i, sample) in recent.iter().enumerate() {
        if sample.v > recent[offset].v {
            offset = i;
        }
    }
    let peak = recent[offset].v;
    let low = recent.iter().map(|s| s.v).fold(f64::INFINITY, f64::min);
    let last_t = input.series[input.series.len() - 1].t;
    let steps_ahead = i64::try_from(offset + 1).unwrap_or(i64::MAX);
    let interval = i64::try_from(input.interval_s).unwrap_or(i64::MAX);
    Ok(ForecastOutput {
        p50_peak: peak,
        p90_peak: peak + 0.25 * (peak - low),
        peak_at: last_t.saturating_add(steps_ahead.saturating_mul(interval)),
        model: concat!(env!("CARGO_PKG_NAME"), "@", env!("CARGO_PKG_VERSION")).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_plugin_sdk::forecast::Sample;

    #[test]
    fn greets() {
        assert_eq!(greeting(&["you".to_string()]), "Hello from {{name}}, you!");
    }

    #[test]
    fn forecasts_within_the_contract() {
        let input = ForecastInput {
            series: [5.0, 9.0, 7.0, 4.0]
                .iter()
                .enumerate()
                .map(|(i, &v)| Sample {
                    t: 1_700_000_000 + 300 * i as i64,
                    v,
                })
                .collect(),
            interval_s: 300,
            horizon_steps: 3,
        };
        let output = forecast_peak(input.clone()).unwrap();
        assert_eq!(output.p50_peak, 9.0);
        assert_eq!(output.peak_at, 1_700_000_900 + 300);
        assert_eq!(output.violations(&input), Vec::<String>::new());
    }
}

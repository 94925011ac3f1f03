//! `gantry plugin test NAME|FILE.wasm [--hook HOOK --input FILE]`: calls a plugin's hooks
//! the way gantry calls them, with a sample input (or the author's), and checks each
//! answer against the hook's contract, so that plugin authors meet contract errors
//! before their users do. A broken contract exits with `plugin-fault` (11).

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use gantry_plugin_sdk::forecast::{self, BatchInput, BatchOutput, ForecastInput, ForecastOutput};
use gantry_plugins::PluginError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::base::{
    self, Context, Exit, Failure, LimitArgs, host, plugin_failure as failure, run_options,
};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// An installed or built-in plugin's name, or a path to a .wasm file
    #[arg(value_name = "NAME|FILE.wasm", add = base::plugin_name_candidates())]
    pub plugin: String,

    /// Test this hook only [default: every hook in the manifest's `[provides] hooks`]
    #[arg(long, value_name = "HOOK")]
    pub hook: Option<String>,

    /// The hook's input (the `input` object of a hook request) from a JSON file, or - for
    /// stdin, instead of gantry's sample
    #[arg(long, value_name = "FILE", requires = "hook")]
    pub input: Option<PathBuf>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// What a hook's answer must be, for the hooks gantry defines.
enum Contract {
    Forecast(ForecastInput),
    Batch(BatchInput),
    /// A hook gantry itself does not call: any one JSON document is a valid answer.
    Unknown,
}

impl Contract {
    fn of(hook: &str, input: &Value, source: &str) -> anyhow::Result<Contract> {
        fn parse<T: DeserializeOwned>(
            hook: &str,
            input: &Value,
            source: &str,
        ) -> anyhow::Result<T> {
            serde_json::from_value(input.clone()).map_err(|e| {
                Failure::new(Exit::Usage, format!("{source} is not a {hook} input: {e}")).into()
            })
        }
        Ok(match hook {
            forecast::HOOK => Contract::Forecast(parse(hook, input, source)?),
            forecast::BATCH_HOOK => Contract::Batch(parse(hook, input, source)?),
            _ => Contract::Unknown,
        })
    }

    /// The contract's rules this answer breaks, one sentence each.
    fn violations(&self, output: &Value) -> Vec<String> {
        fn typed<T: DeserializeOwned>(output: &Value, shape: &str) -> Result<T, Vec<String>> {
            serde_json::from_value(output.clone())
                .map_err(|e| vec![format!("the output is not {shape}: {e}")])
        }
        let found = match self {
            Contract::Forecast(input) => typed::<ForecastOutput>(
                output,
                r#"{"p50_peak":F64,"p90_peak":F64,"peak_at":UNIX_S,"model":"NAME@VERSION"}"#,
            )
            .map(|o| o.violations(input)),
            Contract::Batch(input) => typed::<BatchOutput>(
                output,
                r#"{"p50":[F64...],"p90":[F64...],"model":"NAME@VERSION"}"#,
            )
            .map(|o| o.violations(input)),
            Contract::Unknown => Ok(Vec::new()),
        };
        found.unwrap_or_else(|shape_error| shape_error)
    }
}

/// The input gantry sends when the author gives none: two days of a daily cycle at
/// 5-minute samples, with some noise, as `scale --predict` would send it.
fn sample_input(hook: &str) -> Option<Value> {
    const START: i64 = 1_700_000_000;
    const INTERVAL_S: i64 = 300;
    const HORIZON_STEPS: u64 = 12;
    let values: Vec<f64> = (0..576)
        .map(|i| {
            let day = std::f64::consts::TAU * f64::from(i) / 288.0;
            let noise = (f64::from(i) * 1.7).sin();
            ((100.0 + 50.0 * day.sin() + 5.0 * noise) * 100.0).round() / 100.0
        })
        .collect();
    match hook {
        forecast::HOOK => Some(json!({
            "series": values
                .iter()
                .zip(0..)
                .map(|(v, i)| json!({ "t": START + INTERVAL_S * i, "v": v }))
                .collect::<Vec<_>>(),
            "interval_s": INTERVAL_S,
            "horizon_steps": HORIZON_STEPS,
        })),
        forecast::BATCH_HOOK => Some(json!({
            "values": values,
            "horizon_steps": HORIZON_STEPS,
            "origins": [288, 400, 564],
        })),
        _ => None,
    }
}

#[derive(Debug, Serialize)]
struct HookResult {
    hook: String,
    /// Whether gantry knows the hook's contract and checked the answer against it.
    contract_checked: bool,
    output: Value,
    violations: Vec<String>,
}

pub fn run(args: TestArgs, ctx: &Context) -> anyhow::Result<u8> {
    let host = host(ctx)?;
    let opts = run_options(ctx, &args.limits);
    let plugin = super::resolve(&host, &args.plugin, &opts)?;
    let Some(manifest) = plugin.manifest() else {
        return Err(failure(PluginError::NoManifest {
            origin: plugin.origin().to_string(),
        }));
    };
    let name = manifest.name.clone();
    let hooks = match &args.hook {
        Some(hook) => vec![hook.clone()],
        None => manifest.provides.hooks.clone(),
    };
    if hooks.is_empty() {
        return Err(Failure::new(
            Exit::Usage,
            format!("plugin `{name}` serves no hooks, so there is nothing to test"),
        )
        .hint("list the hooks it answers under [provides] hooks in its manifest; `gantry plugin run` runs its command")
        .into());
    }
    let mut results = Vec::new();
    for hook in hooks {
        let (input, source) = match &args.input {
            Some(file) => (read_input(file)?, file.display().to_string()),
            None => match sample_input(&hook) {
                Some(input) => (input, "gantry's sample".to_string()),
                None => {
                    return Err(Failure::new(
                        Exit::Usage,
                        format!("gantry has no sample input for hook `{hook}`"),
                    )
                    .hint(format!("pass one: --hook {hook} --input FILE.json"))
                    .into());
                }
            },
        };
        let contract = Contract::of(&hook, &input, &source)?;
        let output = match host.call_hook(&plugin, &hook, input, &opts) {
            Ok(output) => output,
            Err(PluginError::HookFailed { message, .. }) => {
                return Err(Failure::new(
                    Exit::PluginFault,
                    format!(
                        "`{name}` answered {hook} with an error for {source}: {}",
                        gantry_plugins::Untrusted(&message)
                    ),
                )
                .into());
            }
            Err(err) => return Err(failure(err)),
        };
        let violations = contract.violations(&output);
        results.push(HookResult {
            contract_checked: !matches!(contract, Contract::Unknown),
            hook,
            output,
            violations,
        });
    }

    let mut out = ctx.out();
    if ctx.json() {
        base::write_json(
            &mut out,
            "gantry.plugin.test/v1",
            &json!({ "plugin": name, "hooks": results }),
        )?;
    } else {
        for r in &results {
            let verdict = match (r.violations.is_empty(), r.contract_checked) {
                (false, _) => "breaks the contract",
                (true, true) => "ok",
                (true, false) => "answered (gantry knows no contract for this hook to check)",
            };
            writeln!(out, "{}: {verdict}: {}", r.hook, r.output)?;
        }
    }
    let broken: Vec<String> = results
        .iter()
        .filter(|r| !r.violations.is_empty())
        .map(|r| format!("{}: {}", r.hook, r.violations.join("; ")))
        .collect();
    if !broken.is_empty() {
        return Err(Failure::new(
            Exit::PluginFault,
            format!("`{name}` breaks the plugin contract: {}", broken.join("; ")),
        )
        .into());
    }
    Ok(0)
}

fn read_input(file: &std::path::Path) -> anyhow::Result<Value> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::new(Exit::Usage, format!("reading the input from stdin: {e}")))?
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| Failure::new(Exit::Usage, format!("reading {}: {e}", file.display())))?
    };
    serde_json::from_str(&text).map_err(|e| {
        Failure::new(Exit::Usage, format!("{} is not JSON: {e}", file.display())).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_samples_are_valid_inputs_of_their_hooks() {
        let input = sample_input(forecast::HOOK).unwrap();
        let Contract::Forecast(parsed) = Contract::of(forecast::HOOK, &input, "sample").unwrap()
        else {
            panic!("not a forecast contract")
        };
        assert_eq!(parsed.validate(), Ok(()));
        assert_eq!(parsed.series.len(), 576);
        let input = sample_input(forecast::BATCH_HOOK).unwrap();
        assert!(matches!(
            Contract::of(forecast::BATCH_HOOK, &input, "sample").unwrap(),
            Contract::Batch(_)
        ));
        assert_eq!(sample_input("other.hook"), None);
    }

    #[test]
    fn an_answer_of_the_wrong_shape_is_a_violation() {
        let input = sample_input(forecast::HOOK).unwrap();
        let contract = Contract::of(forecast::HOOK, &input, "sample").unwrap();
        let found = contract.violations(&json!({ "p50_peak": null, "p90_peak": 1.0 }));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("the output is not {\"p50_peak\""),
            "{found:?}"
        );
        let found = contract.violations(&json!({
            "p50_peak": 2.0, "p90_peak": 1.0, "peak_at": 1_700_172_800 + 300, "model": "m@1"
        }));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("is above p90_peak"), "{found:?}");
    }

    #[test]
    fn a_user_input_of_the_wrong_shape_is_a_usage_error() {
        let err = Contract::of(forecast::HOOK, &json!({ "series": 3 }), "in.json")
            .err()
            .unwrap();
        let failure = err.downcast_ref::<Failure>().unwrap();
        assert_eq!(failure.exit, Exit::Usage);
        assert!(
            failure
                .message
                .starts_with("in.json is not a scale.forecast input")
        );
    }
}

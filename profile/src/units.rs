//! Units and number formatting exactly as pprof prints them (its `measurement` package):
//! byte and time scaling, `%.2f` labels without a trailing `.00`, and percentages.

struct Unit {
    name: &'static str,
    aliases: &'static [&'static str],
    factor: f64,
}

struct UnitType {
    default: (&'static str, f64),
    units: &'static [Unit],
}

const fn unit(name: &'static str, aliases: &'static [&'static str], factor: f64) -> Unit {
    Unit {
        name,
        aliases,
        factor,
    }
}

const UNIT_TYPES: [UnitType; 3] = [
    UnitType {
        default: ("B", 1.0),
        units: &[
            unit("B", &["b", "byte"], 1.0),
            unit("kB", &["kb", "kbyte", "kilobyte"], 1024.0),
            unit("MB", &["mb", "mbyte", "megabyte"], 1048576.0),
            unit("GB", &["gb", "gbyte", "gigabyte"], 1073741824.0),
            unit("TB", &["tb", "tbyte", "terabyte"], 1099511627776.0),
            unit("PB", &["pb", "pbyte", "petabyte"], 1125899906842624.0),
        ],
    },
    UnitType {
        default: ("s", 1e9),
        units: &[
            unit("ns", &["ns", "nanosecond"], 1.0),
            unit("us", &["μs", "us", "microsecond"], 1e3),
            unit("ms", &["ms", "millisecond"], 1e6),
            unit("s", &["s", "sec", "second"], 1e9),
            unit("hrs", &["hour", "hr"], 3.6e12),
        ],
    },
    UnitType {
        default: ("GCU", 1.0),
        units: &[
            unit("n*GCU", &["nanogcu"], 1e-9),
            unit("u*GCU", &["microgcu"], 1e-6),
            unit("m*GCU", &["milligcu"], 1e-3),
            unit("GCU", &["gcu"], 1.0),
            unit("k*GCU", &["kilogcu"], 1e3),
            unit("M*GCU", &["megagcu"], 1e6),
            unit("G*GCU", &["gigagcu"], 1e9),
            unit("T*GCU", &["teragcu"], 1e12),
            unit("P*GCU", &["petagcu"], 1e15),
        ],
    },
];

impl UnitType {
    fn sniff(&self, unit: &str) -> Option<&Unit> {
        let lower = unit.to_lowercase();
        // pprof measures the length in bytes, so "μs" is trimmed to "μ" (and not found).
        let key = if lower.len() > 2 {
            lower.strip_suffix('s').unwrap_or(&lower)
        } else {
            &lower
        };
        self.units.iter().find(|u| u.aliases.contains(&key))
    }

    fn auto_scale(&self, value: f64) -> Option<(f64, &'static str)> {
        let mut best: Option<&Unit> = None;
        for u in self.units {
            if u.factor >= best.map_or(0.0, |b| b.factor) && value / u.factor >= 1.0 {
                best = Some(u);
            }
        }
        best.map(|u| (value / u.factor, u.name))
    }

    fn convert(&self, value: i64, from: &str, to: &str) -> Option<(f64, String)> {
        let from = self.sniff(from)?;
        let v = value as f64 * from.factor;
        if to == "minimum" || to == "auto" {
            let (v, name) = self
                .auto_scale(v)
                .unwrap_or((v / self.default.1, self.default.0));
            return Some((v, name.to_string()));
        }
        Some(match self.sniff(to) {
            Some(to) => (v / to.factor, to.name.to_string()),
            None => (v / self.default.1, self.default.0.to_string()),
        })
    }
}

/// Converts `value` in `from` units to `to` units (`minimum`/`auto` picks the largest unit
/// in which the value is at least 1). Returns the value and the unit's printed name.
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    if value < 0 && value != i64::MIN {
        let (v, u) = scale(-value, from, to);
        return (-v, u);
    }
    for ut in &UNIT_TYPES {
        if let Some(found) = ut.convert(value, from, to) {
            return found;
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, String::new()),
        _ => (value as f64, to.to_string()),
    }
}

/// A value as pprof prints it: `10ms`, `1.50s`, `512.01kB`, `2MB`, `0`.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let (v, u) = scale(value, from, to);
    let text = format!("{v:.2}");
    let text = text.strip_suffix(".00").unwrap_or(&text);
    if text == "0" || text == "-0" {
        return "0".to_string();
    }
    format!("{text}{u}")
}

/// `value` in the best unit for itself (pprof's `measurement.Label`).
pub fn label(value: i64, unit: &str) -> String {
    scaled_label(value, unit, "auto")
}

/// `|value / total|` as a percentage, 6 characters wide, as pprof prints it.
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = ratio_percent(value, total);
    if (99.95..=100.05).contains(&ratio) {
        "  100%".to_string()
    } else if ratio >= 1.0 {
        format!("{ratio:5.2}%")
    } else {
        format!("{:>5}%", format_g2(ratio))
    }
}

/// `|value / total| * 100`, or 0 when the total is 0.
pub fn ratio_percent(value: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (value as f64 / total as f64).abs() * 100.0
    }
}

/// Go's `%.2g`: two significant digits, trailing zeros removed, exponent form outside
/// `[1e-4, 1e2)`.
fn format_g2(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    // Round to two significant digits first; the exponent is that of the rounded value.
    let sci = format!("{v:.1e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..2).contains(&exp) {
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let decimals = (1 - exp).max(0) as usize;
    let fixed = format!("{v:.decimals$}");
    if fixed.contains('.') {
        fixed
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        fixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_pprof() {
        assert_eq!(scaled_label(10_000_000, "nanoseconds", "ms"), "10ms");
        assert_eq!(scaled_label(1_500_000_000, "nanoseconds", "s"), "1.50s");
        assert_eq!(scaled_label(524_298, "bytes", "kB"), "512.01kB");
        assert_eq!(scaled_label(2 << 20, "bytes", "minimum"), "2MB");
        assert_eq!(scaled_label(0, "bytes", "MB"), "0");
        assert_eq!(scaled_label(-30_000_000, "nanoseconds", "s"), "-0.03s");
        assert_eq!(scaled_label(42, "count", "minimum"), "42");
        assert_eq!(label(10_010_000_000, "nanoseconds"), "10.01s");
    }

    #[test]
    fn percentages_match_go_formatting() {
        assert_eq!(percentage(1, 1), "  100%");
        assert_eq!(percentage(48, 100), "48.00%");
        assert_eq!(percentage(5, 1000), "  0.5%");
        assert_eq!(percentage(123, 100_000), " 0.12%");
        assert_eq!(percentage(0, 100), "    0%");
        assert_eq!(percentage(1, 10_000_000), "1e-05%");
        assert_eq!(percentage(12, 10_000_000), "0.00012%");
        assert_eq!(percentage(996, 100_000), "    1%");
    }
}

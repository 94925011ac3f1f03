"""The naive baselines' backtest on a NAB CSV, computed independently of gantry, for
tests/forecast.rs: the bar `gantry forecast --backtest` must clear.

    python3 tests/forecast/naive_backtest.py FILE.csv --horizon 12

Standard library only. The series must be regular (no gaps), as the held-out NAB series
used by the test is. For every origin i of the backtest (the last 20% of the series,
at least 24 samples in, up to n - horizon), the actual peak is max(v[i:i+h]) and:

- window-max:    max(v[i-h:i])
- seasonal-day:  the peak of the same stretch one day (D samples) earlier,
                 max(v[i-D : min(i-D+h, i)]), or window-max without a day of history
- seasonal-week: the same a week (7 D) earlier, else seasonal-day

Prints {"origins": N, "wape": {method: WAPE}, "best_naive": min WAPE} as JSON, where
WAPE = sum |actual - forecast| / sum |actual|.
"""

import argparse
import csv
import datetime
import json
import math


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    times = [
        int(datetime.datetime.fromisoformat(r["timestamp"]).replace(tzinfo=datetime.timezone.utc).timestamp())
        for r in rows
    ]
    values = [float(r["value"]) for r in rows]
    steps = sorted(b - a for a, b in zip(times, times[1:]))
    interval = steps[(len(steps) - 1) // 2]
    if any(b - a != interval for a, b in zip(times, times[1:])):
        raise SystemExit(f"{path} is not regular; this script needs a series without gaps")
    return values, interval


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--horizon", type=int, default=12)
    args = ap.parse_args()
    v, interval = read(args.csv)
    h = args.horizon
    n = len(v)
    day = round(86400 / interval)
    start = max(n - math.floor(n * 0.2), 24)
    origins = range(start, n - h + 1)

    def window_max(i):
        return max(v[max(0, i - h):i])

    def seasonal(i, lag):
        return max(v[i - lag:min(i - lag + h, i)]) if i >= lag else None

    methods = {
        "window-max": window_max,
        "seasonal-day": lambda i: seasonal(i, day) if i >= day else window_max(i),
        "seasonal-week": lambda i: seasonal(i, 7 * day) if i >= 7 * day else methods["seasonal-day"](i),
    }
    actual = [max(v[i:i + h]) for i in origins]
    total = sum(abs(a) for a in actual)
    wape = {
        name: sum(abs(a - f(i)) for a, i in zip(actual, origins)) / total
        for name, f in methods.items()
    }
    print(json.dumps({"origins": len(actual), "wape": wape, "best_naive": min(wape.values())}))


if __name__ == "__main__":
    main()

"""Prints the backtest tables of docs/forecast.md: `gantry forecast --backtest` on every
held-out series at horizons 12 and 36, as Markdown: a summary against the targets, then
every method.

    cargo build --release -p gantry
    python3 wasm-guest/forecaster/training/backtest_table.py [--gantry PATH] [--data DIR] [--series NAME...]
"""

import argparse
import json
import pathlib
import subprocess

from train import HELD_OUT, REPO

HORIZONS = (12, 36)
NAIVE_BAR = ("window-max", "seasonal-day", "seasonal-week")


def pct(x):
    return f"{100 * x:.1f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gantry", default=str(REPO / "target" / "release" / "gantry"))
    ap.add_argument("--data", type=pathlib.Path, default=REPO.parent / "shared" / "data" / "nab")
    ap.add_argument("--series", nargs="*", default=list(HELD_OUT))
    args = ap.parse_args()
    runs = []
    for name in args.series:
        for horizon in HORIZONS:
            out = subprocess.run(
                [args.gantry, "forecast", "--metrics", str(args.data / f"{name}.csv"),
                 "--horizon", str(horizon), "--backtest", "-o", "json"],
                check=True, capture_output=True, text=True,
            )
            runs.append((name, horizon, json.loads(out.stdout)["summary"]))

    print("| series | horizon | calibrated p50 WAPE | best naive (which) | model alone | p90 under-provisioning | p90 over-provisioning (mean, % of mean peak) | targets |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, horizon, summary in runs:
        by = {m["method"]: m for m in summary}
        cal, model = summary[0], summary[1]
        best = min(NAIVE_BAR, key=lambda k: by[k]["wape"])
        wins = cal["wape"] <= by[best]["wape"]
        covered = 0.05 <= cal["under_provisioning_rate"] <= 0.15
        verdict = "met" if wins and covered else ", ".join(
            x for x in ("" if wins else "p50 loses", "" if covered else "p90 off") if x
        )
        print(
            f"| {name} | {horizon} | {pct(cal['wape'])} | {pct(by[best]['wape'])} ({best}) | "
            f"{pct(model['wape'])} | {pct(cal['under_provisioning_rate'])} | "
            f"{cal['over_provisioning_mean']:.4g} ({100 * cal['over_provisioning_ratio']:.0f}%) | {verdict} |"
        )
    print()
    print("| series | horizon | method | p50 WAPE | p50 MAE | p90 under-provisioning | p90 over-provisioning (mean, % of mean peak) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, horizon, summary in runs:
        best_wape = min(m["wape"] for m in summary)
        for i, m in enumerate(summary):
            method = "**calibrated**" if i == 0 else ("model alone" if i == 1 else m["method"])
            wape = pct(m["wape"])
            if m["wape"] == best_wape:
                wape = f"**{wape}**"
            print(
                f"| {name} | {horizon} | {method} | {wape} | {m['mae']:.4g} | "
                f"{pct(m['under_provisioning_rate'])} | "
                f"{m['over_provisioning_mean']:.4g} ({100 * m['over_provisioning_ratio']:.0f}%) |"
            )


if __name__ == "__main__":
    main()

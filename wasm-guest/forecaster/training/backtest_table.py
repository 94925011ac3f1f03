"""Prints the backtest table of docs/forecast.md: `gantry forecast --backtest` on every
held-out series, at several horizons, as Markdown.

    cargo build --release -p gantry
    python3 wasm-guest/inference/training/backtest_table.py [--gantry PATH] [--data DIR]
"""

import argparse
import json
import pathlib
import subprocess

from train import HELD_OUT, REPO

HORIZONS = (12, 36)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gantry", default=str(REPO / "target" / "release" / "gantry"))
    ap.add_argument("--data", type=pathlib.Path, default=REPO.parent / "shared" / "data" / "nab")
    args = ap.parse_args()
    print("| series | horizon | method | p50 WAPE | p50 MAE | p90 under-provisioning | p90 over-provisioning (mean, % of mean peak) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in HELD_OUT:
        for horizon in HORIZONS:
            out = subprocess.run(
                [args.gantry, "forecast", "--metrics", str(args.data / f"{name}.csv"),
                 "--horizon", str(horizon), "--backtest", "-o", "json"],
                check=True, capture_output=True, text=True,
            )
            doc = json.loads(out.stdout)
            summary = doc["summary"]
            best_wape = min(m["wape"] for m in summary)
            for m in summary:
                method = "**model**" if m["method"].startswith("gantry-forecaster") else m["method"]
                wape = f"{100 * m['wape']:.1f}%"
                if m["wape"] == best_wape:
                    wape = f"**{wape}**"
                print(
                    f"| {name} | {horizon} | {method} | {wape} | {m['mae']:.4g} | "
                    f"{100 * m['under_provisioning_rate']:.1f}% | "
                    f"{m['over_provisioning_mean']:.4g} ({100 * m['over_provisioning_ratio']:.0f}%) |"
                )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compare `gantry deps-audit` with each ecosystem's own tool, live, in one run.

  Go:    `go list -m -u -json all`: the modules, which have updates and to what
         (`Update.Version`), `Retracted` and `Deprecated`.
  Cargo: `cargo update --dry-run --verbose` for `latest_compatible` (the version cargo
         would move each package to) and `cargo info NAME` for `latest`.
  npm:   `npm outdated --json` after `npm ci --ignore-scripts` in a temporary copy, for
         `latest` and `wanted` (`latest_compatible`) of the direct dependencies.

Usage: tests/deps/peer-check.py --gantry target/release/gantry [PROJECT...]
(default: every project in tests/fixtures/deps/projects). Prints each difference and a
summary line per project; exits 1 when any project differs.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECTS = os.path.join(HERE, "..", "fixtures", "deps", "projects")


def run(command, cwd, env=None, check=True):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return done


def gantry_report(gantry, folder, cache):
    env = dict(os.environ, GANTRY_CACHE_DIR=cache)
    done = run([gantry, "deps-audit", folder, "-o", "json"], folder, env, check=False)
    if done.returncode not in (0, 1, 5):
        raise SystemExit(f"gantry failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    return {d["name"]: d for d in report["dependencies"]}


def json_stream(text):
    decoder, index, items = json.JSONDecoder(), 0, []
    while index < len(text):
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            break
        item, index = decoder.raw_decode(text, index)
        items.append(item)
    return items


def check_go(folder, ours):
    env = dict(os.environ, GOFLAGS="-mod=mod")
    listed = json_stream(run(["go", "list", "-m", "-u", "-json", "all"], folder, env).stdout)
    theirs = {m["Path"]: m for m in listed if not m.get("Main")}
    diffs = []
    for path in sorted(set(theirs) | set(ours)):
        if path not in ours:
            diffs.append(f"{path}: listed by go, missing from gantry")
            continue
        if path not in theirs:
            diffs.append(f"{path}: reported by gantry, not listed by go")
            continue
        m, d = theirs[path], ours[path]
        if m["Version"] != d["current"]:
            diffs.append(f"{path}: version go {m['Version']} gantry {d['current']}")
        update = (m.get("Update") or {}).get("Version")
        ours_update = d["latest"] if d["latest"] != d["current"] else None
        if d["error"]:
            diffs.append(f"{path}: gantry lookup failed: {d['error']}")
        elif update != ours_update:
            diffs.append(f"{path}: update go {update} gantry {ours_update}")
        retracted = m.get("Retracted") or []
        if retracted != d["retraction"]:
            diffs.append(f"{path}: retracted go {retracted} gantry {d['retraction']}")
        if (m.get("Deprecated") or None) != d["deprecated"]:
            diffs.append(f"{path}: deprecated go {m.get('Deprecated')!r} gantry {d['deprecated']!r}")
    with_updates = sum(1 for m in theirs.values() if m.get("Update"))
    return len(theirs), with_updates, diffs


def cargo_info_latest(name, scratch):
    done = run(["cargo", "info", name, "--quiet"], scratch, check=False)
    match = re.search(r"^version:\s*(\S+)(?:\s*\(latest\s+(\S+)\))?", done.stdout, re.M)
    if not match:
        return None
    return match.group(2) or match.group(1)


def check_cargo(folder, ours):
    # cargo needs the targets the manifest names; empty files will do for resolution.
    for target in ("src/main.rs", "src/lib.rs", "build.rs"):
        path = os.path.join(folder, target)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            open(path, "w").close()
    done = run(["cargo", "update", "--dry-run", "--verbose"], folder)
    moved, unchanged = {}, {}
    for line in done.stderr.splitlines():
        m = re.match(r"\s*Updating (\S+) v(\S+) -> v(\S+)", line)
        if m:
            moved[(m.group(1), m.group(2))] = m.group(3)
        m = re.match(r"\s*Unchanged (\S+) v(\S+)", line)
        if m:
            unchanged[(m.group(1), m.group(2))] = True
    registry = {n: d for n, d in ours.items() if d["source"] == "registry"}
    diffs = []
    for name, d in sorted(registry.items()):
        key = (name, d["current"])
        wanted = moved.get(key, d["current"])
        if d["latest_compatible"] != wanted:
            diffs.append(f"{name} {d['current']}: latest_compatible cargo update {wanted} gantry {d['latest_compatible']}")
    scratch = tempfile.mkdtemp()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        latest = dict(zip(registry, pool.map(lambda n: cargo_info_latest(n, scratch), registry)))
    shutil.rmtree(scratch)
    for name, d in sorted(registry.items()):
        if latest[name] is None:
            diffs.append(f"{name}: cargo info gave no version")
        elif latest[name] != d["latest"]:
            diffs.append(f"{name} {d['current']}: latest cargo info {latest[name]} gantry {d['latest']}")
    return len(registry), sum(1 for d in registry.values() if d["update"] != "none"), diffs


def check_npm(folder, ours):
    run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], folder)
    done = run(["npm", "outdated", "--json"], folder, check=False)
    outdated = json.loads(done.stdout or "{}")
    direct = {n: d for n, d in ours.items() if d["direct"] and d["source"] == "registry"}
    diffs = []
    for name, d in sorted(direct.items()):
        o = outdated.get(name)
        latest = o["latest"] if o else d["current"]
        wanted = o["wanted"] if o else d["current"]
        if o and o.get("current") != d["current"]:
            diffs.append(f"{name}: current npm {o.get('current')} gantry {d['current']}")
        if d["latest"] != latest:
            diffs.append(f"{name}: latest npm {latest} gantry {d['latest']}")
        if d["latest_compatible"] != wanted:
            diffs.append(f"{name}: wanted npm {wanted} gantry {d['latest_compatible']}")
    for name in sorted(set(outdated) - set(direct)):
        diffs.append(f"{name}: listed by npm outdated, not a direct registry dependency for gantry")
    return len(direct), len(outdated), diffs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gantry", required=True)
    parser.add_argument("projects", nargs="*")
    args = parser.parse_args()
    gantry = os.path.abspath(args.gantry)
    projects = args.projects or sorted(os.path.join(PROJECTS, p) for p in os.listdir(PROJECTS))
    failed = False
    for project in projects:
        name = os.path.basename(os.path.normpath(project))
        with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as cache:
            folder = os.path.join(work, name)
            shutil.copytree(project, folder)
            ours = gantry_report(gantry, folder, cache)
            if os.path.exists(os.path.join(folder, "go.mod")):
                peer, (count, updates, diffs) = "go list -m -u", check_go(folder, ours)
            elif os.path.exists(os.path.join(folder, "Cargo.lock")):
                peer, (count, updates, diffs) = "cargo update --dry-run / cargo info", check_cargo(folder, ours)
            else:
                peer, (count, updates, diffs) = "npm outdated", check_npm(folder, ours)
        for diff in diffs:
            print(f"  {name}: {diff}")
        print(f"{name}: {count} compared with {peer} ({updates} with updates): {len(diffs)} differences")
        failed |= bool(diffs)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

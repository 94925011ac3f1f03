#!/usr/bin/env python3
"""Compare `gantry deps-audit` with each ecosystem's own tool, live, in one run.

  Go:    `go list -m -u -json all`: the modules, which have updates and to what
         (`Update.Version`), `Retracted` and `Deprecated`.
  Cargo: `cargo update` in a temporary copy for `latest_compatible` (the version cargo
         moves each package to) and `cargo info NAME` for `latest`.
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
import tomllib

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
    return json.loads(done.stdout)["dependencies"]


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


def check_go(folder, report):
    ours = {d["name"]: d for d in report}
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
    return len(theirs), with_updates, diffs, []


def cargo_info_latest(name, scratch):
    done = run(["cargo", "info", name, "--quiet"], scratch, check=False)
    match = re.search(r"^version:\s*(\S+)(?:\s*\(latest\s+(\S+)\))?", done.stdout, re.M)
    if not match:
        return None
    return match.group(2) or match.group(1)


def caret_compatible(old, new):
    """Whether `new` is allowed by `^old` (the leftmost non-zero part stays)."""
    def parts(v):
        core = v.split("+")[0].split("-")[0]
        return [int(x) for x in core.split(".")]
    a, b = parts(old), parts(new)
    for i, (x, y) in enumerate(zip(a, b)):
        if x != 0 or i == 2:
            return x == y
        if y != 0:
            return False
    return True


def semver_key(v):
    core, _, pre = v.split("+")[0].partition("-")
    return [int(x) for x in core.split(".")], pre == "", pre


def check_cargo(folder, report):
    # cargo needs the targets the manifest names; empty files will do for resolution.
    for target in ("src/main.rs", "src/lib.rs", "build.rs"):
        path = os.path.join(folder, target)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            open(path, "w").close()
    # Let cargo update the lockfile (in the temporary copy), then read what it chose: for
    # each locked package, the newest version of it still in the graph that is
    # caret-compatible with the old one. Packages cargo drops from the graph (because an
    # updated parent no longer needs them) or moves to an incompatible line have no
    # compatible successor and are not compared.
    run(["cargo", "update"], folder)
    with open(os.path.join(folder, "Cargo.lock"), "rb") as f:
        new_lock = tomllib.load(f)
    new_versions = {}
    for package in new_lock.get("package", []):
        if package.get("source", "").startswith(("registry+", "sparse+")):
            new_versions.setdefault(package["name"], []).append(package["version"])
    registry = sorted((d for d in report if d["source"] == "registry"), key=lambda d: (d["name"], d["current"]))
    diffs, explained, dropped = [], [], 0
    for d in registry:
        successors = [v for v in new_versions.get(d["name"], []) if caret_compatible(d["current"], v)]
        if not successors:
            dropped += 1
            continue
        wanted = max(successors, key=semver_key)
        if d["latest_compatible"] != wanted:
            diffs.append(f"{d['name']} {d['current']}: latest_compatible cargo update {wanted} gantry {d['latest_compatible']}")
    names = sorted({d["name"] for d in registry})
    scratch = tempfile.mkdtemp()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        latest = dict(zip(names, pool.map(lambda n: cargo_info_latest(n, scratch), names)))
    shutil.rmtree(scratch)
    for d in registry:
        theirs = latest[d["name"]]
        if theirs is None:
            diffs.append(f"{d['name']}: cargo info gave no version")
        elif theirs != d["latest"]:
            line = f"{d['name']} {d['current']}: latest cargo info {theirs} gantry {d['latest']}"
            if "-" in theirs.split("+")[0]:
                explained.append(line + " (cargo info shows a pre-release; `latest` is the newest release)")
            else:
                diffs.append(line)
    print(f"  ({dropped} packages left the graph or changed major line under `cargo update`; not compared for latest_compatible)")
    return len(registry), sum(1 for d in registry if d["update"] != "none"), diffs, explained


def check_npm(folder, report):
    run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], folder)
    done = run(["npm", "outdated", "--json"], folder, check=False)
    # An alias is listed as "ALIAS:REAL@SPEC"; gantry names the real package.
    outdated = {
        (key.split(":", 1)[1].rsplit("@", 1)[0] if ":" in key else key): value
        for key, value in json.loads(done.stdout or "{}").items()
    }
    direct = {d["name"]: d for d in report if d["direct"] and d["source"] == "registry"}
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
    return len(direct), len(outdated), diffs, []


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
                peer, (count, updates, diffs, explained) = "go list -m -u", check_go(folder, ours)
            elif os.path.exists(os.path.join(folder, "Cargo.lock")):
                peer, (count, updates, diffs, explained) = "cargo update / cargo info", check_cargo(folder, ours)
            else:
                peer, (count, updates, diffs, explained) = "npm outdated", check_npm(folder, ours)
        for diff in diffs:
            print(f"  {name}: {diff}")
        for line in explained:
            print(f"  {name}: explained: {line}")
        print(f"{name}: {count} compared with {peer} ({updates} with updates): "
              f"{len(diffs)} differences, {len(explained)} explained as the peer's own rule")
        failed |= bool(diffs)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

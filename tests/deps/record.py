#!/usr/bin/env python3
"""Record the registry responses that `gantry deps-audit` needs for a test project.

Starts a recording proxy on 127.0.0.1 in front of the real Go module proxy, crates.io
sparse index and npm registry, runs `gantry deps-audit PROJECT` through it with an empty
cache, and writes every response it forwarded to OUT (gzipped JSON lines, one
`{"method", "path", "status", "headers", "body" | "body_base64"}` per request).
Only what gantry asks for is fetched: the modules, crates and packages of PROJECT.

    tests/deps/record.py --gantry target/debug/gantry \\
        --out tests/fixtures/deps/replay/go-gin.jsonl.gz tests/fixtures/deps/projects/go-gin

The tests replay these files from a loopback server (tests/deps_audit.rs): the Go proxy
under /go, the sparse index under /cargo/, the npm registry under /npm/.
"""

import argparse
import base64
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAMS = {
    "/go/": "https://proxy.golang.org/",
    "/cargo/": "https://index.crates.io/",
    "/npm/": "https://registry.npmjs.org/",
}
KEPT_HEADERS = ("content-type", "etag", "last-modified", "cache-control")


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    records = []
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        upstream = next((u for prefix, u in UPSTREAMS.items() if self.path.startswith(prefix)), None)
        if upstream is None:
            self.send_error(404, "no upstream for this path")
            return
        prefix = next(p for p in UPSTREAMS if self.path.startswith(p))
        url = upstream + self.path[len(prefix):]
        headers = {"User-Agent": "gantry-fixture-recorder"}
        if self.headers.get("Accept"):
            headers["Accept"] = self.headers["Accept"]
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, body, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, body, got = error.code, error.read(), error.headers
        kept = {name: got[name] for name in KEPT_HEADERS if got.get(name)}
        record = {"method": "GET", "path": self.path, "status": status, "headers": kept}
        try:
            record["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_base64"] = base64.b64encode(body).decode("ascii")
        with self.lock:
            self.records.append(record)
        self.send_response(status)
        for name, value in kept.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gantry", required=True, help="the gantry binary")
    parser.add_argument("--out", required=True, help="the recording to write (.jsonl.gz)")
    parser.add_argument("project", help="the project folder to audit")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    osv = os.path.join(os.path.dirname(repo), "shared", "data", "osv")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, GOPROXY=f"{base}/go", GONOPROXY="", GOPRIVATE="",
                   npm_config_registry=f"{base}/npm/", GANTRY_CACHE_DIR=cache)
        command = [args.gantry, "deps-audit", args.project, "-o", "json",
                   "--cargo-index", f"{base}/cargo/", "--osv-db", osv]
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL)
    server.shutdown()
    if done.returncode not in (0, 5):
        print(f"gantry exited with {done.returncode}; recording kept anyway", file=sys.stderr)
    # Concurrent lookups may ask for one URL twice; one answer per URL is kept.
    unique = {}
    for record in Recorder.records:
        unique.setdefault((record["method"], record["path"]), record)
    records = sorted(unique.values(), key=lambda r: r["path"])
    with gzip.open(args.out, "wt", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True) + "\n")
    print(f"{args.out}: {len(records)} responses", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Serve recordings made by record.py on 127.0.0.1, as the tests' loopback registry does.

    tests/deps/replay.py --port 18080 tests/fixtures/deps/replay/cargo-starship.jsonl.gz

Then point gantry at it: GOPROXY=http://127.0.0.1:18080/go,
--cargo-index http://127.0.0.1:18080/cargo/, npm_config_registry=http://127.0.0.1:18080/npm/.
Used by the benchmarks in docs/benchmarks.md; answers conditional requests with 304.
"""

import argparse
import base64
import gzip
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTES = {}


class Replay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        record = ROUTES.get(self.path)
        if record is None:
            body = b"not recorded"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        headers, body = record["headers"], record["body"]
        if headers.get("etag") and self.headers.get("If-None-Match") == headers["etag"]:
            self.send_response(304)
            body = b""
        else:
            self.send_response(record["status"])
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("recordings", nargs="+")
    args = parser.parse_args()
    for path in args.recordings:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if "body" in record:
                    record["body"] = record["body"].encode("utf-8")
                else:
                    record["body"] = base64.b64decode(record["body_base64"])
                ROUTES[record["path"]] = record
    ThreadingHTTPServer(("127.0.0.1", args.port), Replay).serve_forever()


if __name__ == "__main__":
    main()

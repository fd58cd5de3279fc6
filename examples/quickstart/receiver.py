#!/usr/bin/env python3
"""A local stand-in for GitHub's pull-request API and a Slack webhook.

Listens on 127.0.0.1 (port 0: any free one), writes the port to the file
named by the first argument, and appends every request it accepts to the
JSON-lines file named by the second. Requests repeating an Idempotency-Key
already seen are acknowledged but not recorded again, the way real
idempotent APIs drop a retried delivery.
"""
import http.server
import json
import sys
import threading

port_file, log_file = sys.argv[1], sys.argv[2]
seen = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        key = self.headers.get("idempotency-key")
        with lock:
            duplicate = key is not None and key in seen
            if key:
                seen.add(key)
            if not duplicate:
                with open(log_file, "a") as f:
                    f.write(json.dumps({"path": self.path, "key": key, "body": body}) + "\n")
        if self.path.endswith("/pulls"):
            status, answer = 201, {"number": 1, "html_url": "http://127.0.0.1/pr/1"}
        else:
            status, answer = 200, {"ok": True}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()

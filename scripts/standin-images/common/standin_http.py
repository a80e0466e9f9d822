"""Shared plumbing for the stand-in HTTP servers: JSON replies, HEAD (wget --spider sends HEAD),
quiet logs that never print headers, and a clean exit on SIGTERM (PID 1 ignores signals it has no
handler for, which would make every `docker stop` wait out its timeout)."""

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    server_version = "orchestra-standin"
    sys_version = ""

    def route(self, path):
        """Returns (status, payload); payload is a dict (JSON), a str (HTML) or a tuple
        (content type, str) for any other text, e.g. the Prometheus exposition format. Override."""
        return 404, {"error": "not found"}

    def _handle(self, with_body):
        path = self.path.split("?", 1)[0]
        try:
            status, payload = self.route(path)
        except Exception as exc:  # a stand-in bug must answer 500, not hang the caller
            status, payload = 500, {"error": type(exc).__name__}
        if isinstance(payload, tuple):
            ctype, body = payload[0], payload[1].encode()
        elif isinstance(payload, str):
            body, ctype = payload.encode(), "text/html; charset=utf-8"
        else:
            body, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self._handle(True)

    def do_HEAD(self):
        self._handle(False)

    def log_message(self, fmt, *args):
        # Only failures: health checks every few seconds would drown the container log.
        if len(args) > 1 and str(args[1]).isdigit() and int(args[1]) < 400:
            return
        sys.stderr.write("%s %s\n" % (self.command, fmt % args))


# The content type Prometheus expects from a /metrics endpoint (text exposition format 0.0.4).
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def serve(handler_cls, port, name, host="0.0.0.0"):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    httpd = ThreadingHTTPServer((host, int(port)), handler_cls)
    httpd.daemon_threads = True
    print("%s stand-in listening on %s:%s (pid %d)" % (name, host, port, os.getpid()), flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()

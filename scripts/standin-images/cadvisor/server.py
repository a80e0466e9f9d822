"""cAdvisor stand-in. A stand-in because cAdvisor has no Debian package and no image registry is
reachable here; it answers the two things the monitoring stack uses, in cAdvisor's own shapes:

  GET /metrics  Prometheus text format: `cadvisor_version_info{cadvisorVersion="standin"} 1` and,
                when /var/run/docker.sock is mounted (as the real container gets /var/run), one
                `container_last_seen{id="/docker/<id>",image="<image>",name="<name>"} <unix seconds>`
                per running container, read from the Docker Engine API (GET /containers/json) over
                that socket on every scrape. No socket: the version line only. A socket that does not
                answer: the version line only, and the reason on stderr.
  GET /healthz  200 "ok", as cAdvisor.

Started like gcr.io/cadvisor/cadvisor: the image's ENTRYPOINT is the server and the command its
flags. The port comes from `--port` (default 8080) in any spelling Go's flag package takes
(`-port=8088`, `--port=8088`, `-port 8088`, `--port 8088`); every other flag is accepted and ignored."""

import http.client
import json
import os
import socket
import sys
import time

from standin_http import METRICS_TYPE, Handler, serve

DOCKER_SOCKET = "/var/run/docker.sock"


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the Docker daemon's unix socket (the Host header is ignored by the daemon)."""

    def __init__(self, path, timeout=5):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def running_containers(path=DOCKER_SOCKET):
    """[{Id, Names, Image, ...}] of the running containers, as GET /containers/json returns them."""
    conn = UnixHTTPConnection(path)
    try:
        conn.request("GET", "/containers/json")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError("docker API answered %d" % response.status)
        return json.loads(body)
    finally:
        conn.close()


def label(value):
    """A label value escaped as the exposition format requires (backslash, quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics():
    lines = [
        "# HELP cadvisor_version_info A metric with a constant '1' value labeled by the cAdvisor version.",
        "# TYPE cadvisor_version_info gauge",
        'cadvisor_version_info{cadvisorVersion="standin"} 1',
    ]
    if os.path.exists(DOCKER_SOCKET):
        try:
            containers = running_containers()
        except (OSError, ValueError) as exc:
            sys.stderr.write("cadvisor stand-in: cannot list containers over %s: %s\n" % (DOCKER_SOCKET, exc))
            containers = []
        now = int(time.time())
        if containers:
            lines.append("# HELP container_last_seen Last time a container was seen by the exporter")
            lines.append("# TYPE container_last_seen gauge")
        for c in containers:
            # The API names a container "/<name>"; cAdvisor's name label drops the slash.
            name = (c.get("Names") or ["/" + c["Id"][:12]])[0].lstrip("/")
            lines.append(
                'container_last_seen{id="/docker/%s",image="%s",name="%s"} %d'
                % (label(c["Id"]), label(c.get("Image", "")), label(name), now)
            )
    return "\n".join(lines) + "\n"


class Cadvisor(Handler):
    def route(self, path):
        if path == "/metrics":
            return 200, (METRICS_TYPE, metrics())
        if path == "/healthz":
            return 200, ("text/plain; charset=utf-8", "ok")
        return 404, ("text/plain; charset=utf-8", "404 page not found\n")


def parse_port(argv, default=8080):
    """The value of cAdvisor's -port/--port flag in argv (Go flag spellings), else `default`."""
    port = default
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-port", "--port"):
            if i + 1 >= len(argv):
                sys.exit("flag needs an argument: -port")
            port = argv[i + 1]
            i += 1
        elif arg.startswith(("-port=", "--port=")):
            port = arg.split("=", 1)[1]
        i += 1
    try:
        return int(port)
    except ValueError:
        sys.exit('invalid value "%s" for flag -port' % port)


if __name__ == "__main__":
    serve(Cadvisor, parse_port(sys.argv[1:]), "cadvisor")

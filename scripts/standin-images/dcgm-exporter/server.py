"""NVIDIA DCGM exporter stand-in. A stand-in because the real exporter needs an NVIDIA GPU and its
driver (none on the machines the services tier runs on) and its image comes from a registry this
place cannot reach. It answers like dcgm-exporter for one idle GPU:

  GET /metrics  Prometheus text format, gauges for GPU 0:
                DCGM_FI_DEV_GPU_UTIL 0 (%), DCGM_FI_DEV_FB_USED 1024 and DCGM_FI_DEV_FB_FREE 23000
                (frame buffer in MiB, as DCGM reports it), each labelled
                {gpu="0",UUID="GPU-standin",modelName="stand-in"}.
  GET /health   200 "OK".

The listen address comes from `-a`/`--address` (dcgm-exporter's flag; value `[host]:port`, default
`:9400`, an empty host meaning every interface), as `-a :9400`, `--address :9400` or
`--address=:9400`; every other flag is accepted and ignored."""

import sys

from standin_http import METRICS_TYPE, Handler, serve

LABELS = '{gpu="0",UUID="GPU-standin",modelName="stand-in"}'
GAUGES = [
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", 0),
    ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", 1024),
    ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", 23000),
]


def metrics():
    lines = []
    for name, help_text, value in GAUGES:
        lines += ["# HELP %s %s" % (name, help_text), "# TYPE %s gauge" % name, "%s%s %d" % (name, LABELS, value)]
    return "\n".join(lines) + "\n"


class Dcgm(Handler):
    def route(self, path):
        if path == "/metrics":
            return 200, (METRICS_TYPE, metrics())
        if path == "/health":
            return 200, ("text/plain; charset=utf-8", "OK")
        return 404, ("text/plain; charset=utf-8", "404 page not found\n")


def parse_address(argv, default=":9400"):
    """(host, port) from the -a/--address flag in argv, else from `default`; host "" = every interface."""
    address = default
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-a", "--address"):
            if i + 1 >= len(argv):
                sys.exit("flag needs an argument: %s" % arg)
            address = argv[i + 1]
            i += 1
        elif arg.startswith(("-a=", "--address=")):
            address = arg.split("=", 1)[1]
        i += 1
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        sys.exit('invalid address "%s": want [host]:port, e.g. :9400' % address)
    return host, int(port)


if __name__ == "__main__":
    host, port = parse_address(sys.argv[1:])
    serve(Dcgm, port, "dcgm-exporter", host)

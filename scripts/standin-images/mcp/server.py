"""MCP server stand-in: GET /health -> {"status":"ok","server":MCP_SERVER_NAME}, GET /mcp/status."""

import os
import sys

from standin_http import Handler, serve

NAME = os.environ.get("MCP_SERVER_NAME", "mcp")


class Mcp(Handler):
    def route(self, path):
        if path == "/health":
            return 200, {"status": "ok", "server": NAME}
        if path == "/mcp/status":
            return 200, {"status": "running", "server": NAME, "uid": os.getuid(), "tools": []}
        return 404, {"error": "not found"}


if __name__ == "__main__":
    port = os.environ.get("MCP_SERVER_PORT")
    if not port:
        print("error: MCP_SERVER_PORT is required", file=sys.stderr)
        sys.exit(1)
    serve(Mcp, port, "mcp:" + NAME)

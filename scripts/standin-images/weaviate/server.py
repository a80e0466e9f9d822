"""Weaviate stand-in, started like semitechnologies/weaviate:1.22.4: the image's ENTRYPOINT is the
server and its CMD is `--host 0.0.0.0 --port 8080 --scheme http`; the port comes from `--port`
only (Weaviate ignores a PORT variable), so a spec that moves the port must pass the command.
GET /v1/.well-known/ready -> 200; GET /v1/meta -> 200 only with `Authorization: Bearer <key>` for a
key in AUTHENTICATION_APIKEY_ALLOWED_KEYS, else 401."""

import argparse
import hmac
import os

from standin_http import Handler, serve

ALLOWED = [k.strip() for k in os.environ.get("AUTHENTICATION_APIKEY_ALLOWED_KEYS", "").split(",") if k.strip()]


class Weaviate(Handler):
    def route(self, path):
        if path in ("/v1/.well-known/ready", "/v1/.well-known/live"):
            return 200, {}
        if path == "/v1/meta":
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
            if token and any(hmac.compare_digest(token, k) for k in ALLOWED):
                return 200, {"version": "1.22.4-standin", "hostname": "http://[::]:8080", "modules": {}}
            return 401, {"error": [{"message": "unauthorized: a valid API key is required"}]}
        return 404, {"error": [{"message": "not found"}]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="weaviate")
    parser.add_argument("--host", default="")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scheme", default="http")
    args = parser.parse_args()
    serve(Weaviate, args.port, "weaviate")

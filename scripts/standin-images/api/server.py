"""API stand-in on $PORT (8000). GET /api/health runs the database, redis and vector-store checks
concurrently (the container health check gives the whole request 4 s) and answers 200 when each is
"ok" or "skipped" (its env var absent), else 503 with the failing check's short error. Secrets are
never put on a command line (psql gets them as PG* env) nor echoed in an error."""

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlsplit

from standin_http import Handler, serve

TIMEOUT_S = 2.5
STARTED = time.time()


def _scrub(message, *secrets):
    message = " ".join(str(message).split())[:200]
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


def check_database():
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "skipped"
    if url.startswith("sqlite"):
        # SQLAlchemy form: sqlite:///relative.db, sqlite:////abs/path.db (also sqlite+aiosqlite:).
        rest = url.split(":", 1)[1].split("?", 1)[0]
        path = rest[3:] if rest.startswith("///") else rest.lstrip("/")
        directory = os.path.dirname(os.path.abspath(path)) or "."
        if os.path.isdir(directory) and os.access(directory, os.W_OK):
            return "ok"
        return "sqlite directory %s is not writable" % directory
    parts = urlsplit(url)
    password = unquote(parts.password or "")
    env = dict(os.environ)
    env.update(
        PGHOST=parts.hostname or "localhost",
        PGPORT=str(parts.port or 5432),
        PGUSER=unquote(parts.username or ""),
        PGPASSWORD=password,
        PGDATABASE=parts.path.lstrip("/") or "postgres",
        PGCONNECT_TIMEOUT="2",
    )
    try:
        done = subprocess.run(
            ["psql", "-tAc", "select 1"], env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return "postgres timed out"
    if done.returncode == 0 and done.stdout.strip() == "1":
        return "ok"
    return _scrub("postgres: " + (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1], password)


def _resp(*words):
    out = b"*%d\r\n" % len(words)
    for word in words:
        data = word.encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return out


def check_redis():
    url = os.environ.get("REDIS_URL")
    if not url:
        return "skipped"
    parts = urlsplit(url)
    password = unquote(parts.password or "")
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 6379), timeout=TIMEOUT_S) as sock:
            reader = sock.makefile("rb")
            if password:
                auth = ("AUTH", unquote(parts.username), password) if parts.username else ("AUTH", password)
                sock.sendall(_resp(*auth))
                reply = reader.readline().strip().decode(errors="replace")
                if reply != "+OK":
                    return _scrub("redis AUTH: " + reply, password)
            sock.sendall(_resp("PING"))
            reply = reader.readline().strip().decode(errors="replace")
            return "ok" if reply == "+PONG" else _scrub("redis PING: " + reply, password)
    except OSError as exc:
        return _scrub("redis: %s" % exc, password)


def check_vector_store():
    base = os.environ.get("WEAVIATE_URL")
    if not base:
        return "skipped"
    key = os.environ.get("WEAVIATE_API_KEY", "")
    request = urllib.request.Request(base.rstrip("/") + "/v1/meta")
    if key:
        request.add_header("Authorization", "Bearer " + key)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return "ok" if response.status == 200 else "weaviate http %d" % response.status
    except urllib.error.HTTPError as exc:
        return "weaviate http %d" % exc.code
    except (OSError, ValueError) as exc:
        return _scrub("weaviate: %s" % getattr(exc, "reason", exc), key)


CHECKS = {"database": check_database, "redis": check_redis, "vector_store": check_vector_store}


class Api(Handler):
    def route(self, path):
        if path == "/api/health":
            with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
                futures = {name: pool.submit(fn) for name, fn in CHECKS.items()}
                checks = {name: future.result() for name, future in futures.items()}
            healthy = all(v in ("ok", "skipped") for v in checks.values())
            return (200 if healthy else 503), {"status": "healthy" if healthy else "unhealthy", "checks": checks}
        if path == "/api/system/status":
            return 200, {"status": "operational", "service": "orchestra-api-standin",
                         "uptime_seconds": int(time.time() - STARTED)}
        return 404, {"detail": "Not Found"}


if __name__ == "__main__":
    serve(Api, os.environ.get("PORT", "8000"), "api")

"""Frontend stand-in: every GET serves the single-page app's index, which names VITE_API_URL."""

import html
import os

from standin_http import Handler, serve

API_URL = os.environ.get("VITE_API_URL", "")
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Orchestra (stand-in)</title></head>
<body><h1>Orchestra frontend stand-in</h1><p>API: <code id="api-url">%s</code></p></body></html>
""" % html.escape(API_URL)


class Frontend(Handler):
    def route(self, path):
        return 200, PAGE  # SPA fallback: the real app serves index.html for client-side routes


if __name__ == "__main__":
    serve(Frontend, os.environ.get("PORT", "3000"), "frontend")

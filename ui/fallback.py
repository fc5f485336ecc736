"""Errors for requests no endpoint takes: 405 for a known path asked with another method, and
404 in the product's one shape — a small page for browsers, ``{"error": …}`` for everyone else.

Without this the Gradio app mounted at / answers both with FastAPI's ``{"detail": "Not Found"}``.
"""
from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.routing import Match, Route

# Gradio's own client protocol keeps Gradio's answers.
PASSTHROUGH = ("/gradio_api/",)
API_PREFIX = "/api/"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Page not found · PolicyChat</title><link rel="icon" href="data:,">
<style>
body{{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f5f6fa;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1e1b4b}}
main{{max-width:420px;margin:24px;padding:32px 28px;background:#fff;border:1px solid #e2e8f0;border-radius:16px;
text-align:center}}
.logo{{display:inline-flex;width:40px;height:40px;border-radius:12px;background:#4f46e5;color:#fff;
align-items:center;justify-content:center;font-weight:700;font-size:20px}}
h1{{font-size:1.3rem;margin:14px 0 6px}}p{{color:#475569;line-height:1.5;margin:0 0 18px;overflow-wrap:anywhere}}
code{{background:#f1f5f9;padding:1px 5px;border-radius:6px}}
a{{display:inline-block;margin:0 6px;padding:9px 16px;border-radius:10px;background:#4f46e5;color:#fff;
text-decoration:none;font-weight:600}}a.alt{{background:#eef2ff;color:#4338ca}}
</style></head>
<body><main><span class="logo" aria-hidden="true">P</span><h1>Page not found</h1>
<p>There is nothing at <code>{path}</code>.</p>
<a href="/">Open the chat</a><a class="alt" href="/docs">API docs</a></main></body></html>
"""


def not_found_page(path: str) -> str:
    return PAGE.format(path=html.escape(path[:200]))


def wants_html(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    accept = next((v for k, v in headers if k.lower() == b"accept"), b"").decode("latin-1").lower()
    return "text/html" in accept


@dataclass
class FallbackErrors:
    """ASGI middleware; ``routes()`` gives the app's own routes (read per request: the app adds
    routes after the middleware is declared)."""

    app: object
    routes: Callable[[], list]

    def allowed_methods(self, scope) -> set[str]:
        allowed: set[str] = set()
        for route in self.routes():
            if isinstance(route, Route) and route.methods and ":path}" not in route.path \
                    and route.matches(scope)[0] != Match.NONE:
                allowed |= route.methods
        return allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(PASSTHROUGH):
            await self.app(scope, receive, send)
            return
        allowed = self.allowed_methods(scope)
        if allowed and scope["method"] not in allowed:
            methods = ", ".join(sorted(allowed))
            await respond(send, 405, {"error": f"{scope['method']} is not supported here; use {methods}"},
                          extra=[(b"allow", methods.encode())])
            return
        if scope["path"].startswith(API_PREFIX):   # the API's own 404s already say {"error": …}
            await self.app(scope, receive, send)
            return
        html_wanted = wants_html(scope.get("headers", []))
        replaced = False

        async def send_or_replace(message):
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 404:
                replaced = True
                if html_wanted and scope["method"] in ("GET", "HEAD"):
                    await respond(send, 404, not_found_page(scope["path"]))
                else:
                    await respond(send, 404, {"error": f"no such page: {scope['path'][:100]}"})
            elif not replaced:
                await send(message)

        await self.app(scope, receive, send_or_replace)


async def respond(send, status: int, body: dict | str, extra: list | None = None) -> None:
    if isinstance(body, str):
        data, ctype = body.encode(), b"text/html; charset=utf-8"
    else:
        data, ctype = json.dumps(body).encode(), b"application/json"
    headers = [(b"content-type", ctype), (b"content-length", str(len(data)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})

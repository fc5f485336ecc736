"""HTTP hardening shared by the API, the Gradio chat and the widget.

* The operator's knobs are fields of ``index.settings.Settings`` (origins, rate limit, body cap).
* ``TokenBucket``: a per-client (IP) rate limiter, thread-safe and bounded in memory.
* ``OriginGuard``: cross-origin requests to ``/api/*`` from origins outside the allow-list are
  refused (403) before they reach an endpoint; ``/widget.js`` stays public.
* ``RequestLimits``: rate limit on ``/api/ask*`` (429 + Retry-After) and a request body cap.
* ``SecurityHeaders``: nosniff, Referrer-Policy, X-Frame-Options and a CSP on HTML pages.

All of them are plain ASGI middleware so that streamed (server-sent event) responses pass
through untouched.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from index.settings import Settings

RATE_LIMITED_PREFIXES = ("/api/ask",)
API_PREFIX = "/api/"

# What the Gradio front end needs: its inline bootstrap <script>, inline styles, same-origin
# fetch/SSE, data:/blob: images and fonts. Nothing is loaded from another origin.
HTML_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
            "media-src 'self' data: blob:; worker-src 'self' blob:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'")
# Pages of our own (the widget demo): no inline scripts at all.
STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
              "base-uri 'none'; form-action 'self'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def question_digest(text: str) -> str:
    """What the logs may say about a question: a short hash and its length, never the text."""
    return f"sha256:{hashlib.sha256(text.encode('utf-8', 'replace')).hexdigest()[:16]} len={len(text)}"


# --- rate limiting ------------------------------------------------------------------------
class TokenBucket:
    """One bucket of ``capacity`` tokens per key, refilled at capacity/period tokens a second."""

    MAX_KEYS = 50_000

    def __init__(self, capacity: int, period: float, clock=time.monotonic):
        self.capacity = capacity
        self.rate = capacity / period if capacity else 0.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when granted, else the seconds until one is available."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.MAX_KEYS:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely (they carry no information)."""
        full = [k for k, (t, last) in self._buckets.items()
                if t + (now - last) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]


# --- ASGI helpers -------------------------------------------------------------------------
def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def send_json(send, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def client_key(scope) -> str:
    """The client's address (uvicorn resolves X-Forwarded-For from trusted proxies only)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def same_origin(origin: str, scope) -> bool:
    host = _header(scope, b"host")
    if not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def origin_allowed(origin: str, settings: Settings, scope) -> bool:
    origin = origin.rstrip("/")
    if "*" in settings.allowed_origins:
        return True
    return origin.lower() in settings.allowed_origins or same_origin(origin, scope)


class OriginGuard:
    """Refuse cross-origin /api/* requests (other than preflights) from origins not allowed.

    CORS alone only stops the browser from *reading* a response; refusing the request keeps
    other sites from spending this server's CPU through their visitors' browsers.
    """

    def __init__(self, app, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX) and scope["method"] != "OPTIONS":
            origin = _header(scope, b"origin")
            if origin is not None and not origin_allowed(origin, self.settings, scope):
                await send_json(send, 403, {"error": f"origin {origin[:200]} is not allowed to use this API "
                                            "(set POLICYCHAT_ALLOWED_ORIGINS)"})
                return
        await self.app(scope, receive, send)


class RequestLimits:
    """Per-client token bucket on /api/ask* (429 + Retry-After) and a cap on /api body sizes."""

    def __init__(self, app, settings: Settings, limiter: TokenBucket):
        self.app = app
        self.settings = settings
        self.limiter = limiter

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_body_bytes
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await send_json(send, 413, {"error": f"the request body is over the {limit} byte limit"})
            return
        if scope["method"] == "POST" and scope["path"].startswith(RATE_LIMITED_PREFIXES):
            wait = self.limiter.take(client_key(scope))
            if wait > 0:
                retry = max(1, math.ceil(wait))
                await send_json(send, 429, {"error": f"too many questions; try again in {retry} s"},
                                {"Retry-After": str(retry)})
                return
        await self.app(scope, self._capped(receive, limit), send)

    @staticmethod
    def _capped(receive, limit: int):
        seen = 0

        async def wrapped():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message
        return wrapped


class BodyTooLarge(Exception):
    """A chunked body grew past the limit (mapped to 413 by the app's exception handler)."""

    def __init__(self, limit: int):
        super().__init__(f"the request body is over the {limit} byte limit")


@dataclass
class SecurityHeaders:
    """Adds the security headers; HTML pages get a CSP and (unless framing is allowed) DENY."""

    app: object
    settings: Settings
    public_paths: tuple[str, ...] = ("/widget.js",)
    strict_paths: tuple[str, ...] = ("/demo", "/docs")
    _ancestors: str = field(init=False)

    def __post_init__(self):
        self._ancestors = " ".join(self.settings.frame_ancestors) or "'none'"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                ctype = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
                extra = {b"x-content-type-options": b"nosniff",
                         b"referrer-policy": b"strict-origin-when-cross-origin"}
                if path in self.public_paths:
                    extra[b"cross-origin-resource-policy"] = b"cross-origin"
                if ctype.startswith("text/html"):
                    csp = STRICT_CSP if path in self.strict_paths else HTML_CSP
                    extra[b"content-security-policy"] = f"{csp}; frame-ancestors {self._ancestors}".encode()
                    if not self.settings.frame_ancestors:
                        extra[b"x-frame-options"] = b"DENY"
                elif path.startswith(API_PREFIX) or ctype.startswith("application/json"):
                    extra[b"content-security-policy"] = API_CSP.encode()
                    extra[b"x-frame-options"] = b"DENY"
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

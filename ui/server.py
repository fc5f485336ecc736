"""One ASGI app: the Gradio chat at /, the JSON API at /api, /healthz, /widget.js and /demo.

``create_app(ctx)`` builds it from an injected AppContext (no module globals); ``serve`` runs it
under uvicorn, indexing the bundled corpus first when the index is empty. With several workers
each uvicorn process calls ``app_for(settings)`` with the parent's Settings (pickled across).
"""
from __future__ import annotations

import functools
import logging
import sys
from dataclasses import replace
from pathlib import Path


from index import env as _env  # noqa: F401  (offline switches before gradio is imported)
from index.config import BUNDLED_CORPUS
from index.errors import StoreUnavailable
from index.settings import Settings
from ui.context import AppContext
from ui.feedback import FeedbackStore
from ui.security import OriginGuard, RequestLimits, SecurityHeaders, TokenBucket
from ui.service import Services

# The web stack (gradio, fastapi, starlette and the pages built on them) is imported where an
# app is built: the parent of a multi-worker `serve` only supervises and never loads it.

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("policychat.server")


def create_app(ctx, settings: Settings | None = None, feedback=None):
    """The whole web application for ``ctx`` (an ``AppContext``); ``settings`` default to the
    context's."""
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
    from starlette.middleware.cors import CORSMiddleware

    from ui import api, chat_page, insights_api
    from ui.fallback import FallbackErrors

    settings = settings or ctx.settings
    if feedback is None:
        feedback = FeedbackStore(settings.feedback_db or Path(ctx.db_dir) / "feedback.sqlite3",
                                 keep_text=settings.feedback_keep_text)
    services = Services(ctx=ctx, settings=settings,
                        limiter=TokenBucket(settings.rate_capacity, settings.rate_period), feedback=feedback)
    services.warm()  # before the app exists, so before the server binds or says it is ready

    app = FastAPI(title="PolicyChat API", version="1.0",
                  description="Answers questions about privacy policies with a short answer and cited, "
                  "verbatim quotes. Every error body is `{\"error\": \"...\"}` (one sentence), with the "
                  "status saying what kind: 404 unknown path or policy, 405 wrong method (with `Allow`), "
                  "413 question or body too long, 422 invalid request, 429 too many requests (with "
                  "`Retry-After`), 503 index unavailable. Outside /api a browser asking for HTML gets a "
                  "small 404 page instead.",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.services = services
    api.install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(insights_api.router)  # label, compare, diff

    # Offline API docs: a small self-contained renderer of /openapi.json (no CDN).
    @app.get("/docs", include_in_schema=False)
    def docs():
        return FileResponse(STATIC / "docs.html", media_type="text/html; charset=utf-8")

    @app.get("/docs.js", include_in_schema=False)
    def docs_js():
        return FileResponse(STATIC / "docs.js", media_type="text/javascript; charset=utf-8")

    @app.get("/widget.js", include_in_schema=False)
    def widget_js():
        return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8",
                            headers={"Cache-Control": "public, max-age=300",
                                     "Access-Control-Allow-Origin": "*"})

    @app.get("/demo", include_in_schema=False)
    def demo():
        return FileResponse(STATIC / "demo-shop.html", media_type="text/html; charset=utf-8")

    @app.get("/demo/", include_in_schema=False)
    def demo_slash():
        return RedirectResponse("/demo")

    @app.get("/robots.txt", include_in_schema=False)
    def robots():
        from fastapi.responses import PlainTextResponse

        return PlainTextResponse("User-agent: *\nDisallow: /api/\n")

    @app.api_route("/api/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                                "TRACE", "CONNECT"], include_in_schema=False)
    def api_not_found(rest: str):
        # Keeps unknown /api paths out of the Gradio mount (FallbackErrors answers 405s first).
        return JSONResponse({"error": f"no such endpoint: /api/{rest[:100]}"}, status_code=404)

    blocks = chat_page.build_chat(services)
    gr.mount_gradio_app(app, blocks, path="/", footer_links=[], run_history=False, ssr_mode=False,
                        mcp_server=False, enable_monitoring=False, pwa=False, show_error=True,
                        max_file_size="1mb", theme=chat_page.theme(), css=chat_page.CSS, head=chat_page.HEAD)

    # Middleware runs outermost-last-added: headers wrap everything; CORS answers preflights;
    # the guard refuses foreign origins; the limits meter /api/ask*. Adding Starlette's
    # CORSMiddleware also switches off Gradio's own permissive CORS handling.
    app.add_middleware(FallbackErrors, routes=lambda: [*app.router.routes, *api.router.routes])
    app.add_middleware(RequestLimits, settings=settings, limiter=services.limiter)
    app.add_middleware(OriginGuard, settings=settings)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins),
                       allow_methods=["GET", "POST"], allow_headers=["Content-Type"],
                       allow_credentials=False, max_age=600)
    app.add_middleware(SecurityHeaders, settings=settings)
    return app


def app_for(settings: Settings):
    """uvicorn factory for multi-worker runs: each worker process builds its own context."""
    configure_logging(settings.log_level)
    return create_app(AppContext.from_settings(settings))


def configure_logging(level: str = "INFO") -> None:
    logger = logging.getLogger("policychat")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


def ensure_index(ctx) -> None:
    """Index the bundled corpus when the index is empty (first start); warn if the store is down."""
    try:
        if ctx.store.policies():
            return
    except StoreUnavailable as exc:
        print(f"policychat: warning: {exc}; serving anyway, /healthz reports 503 until it is back",
              file=sys.stderr, flush=True)
        ctx.reset_store()
        return
    print("policychat: the index is empty; indexing the bundled policies (first start)…", flush=True)
    report = ctx.index([BUNDLED_CORPUS])
    print(f"policychat: indexed {report.count('indexed')} policies, {report.embedded_chunks} chunks "
          f"in {report.seconds:.0f}s", flush=True)


def display_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def serve(ctx, settings: Settings | None = None) -> int:
    """Serve ``ctx`` on settings.host:settings.port (default: the context's settings)."""
    import uvicorn

    settings = settings or ctx.settings
    host, port = settings.host, settings.port
    configure_logging(settings.log_level)
    ensure_index(ctx)
    url = display_url(host, port)
    # One worker: the app (and with it the warm assistant) is built before the port is bound.
    app = create_app(ctx, settings) if settings.workers == 1 else None
    print(f"PolicyChat is serving the chat at {url} (API docs {url}docs, widget {url}widget.js, "
          f"demo {url}demo)", flush=True)
    # No access log: it would record every client's IP address.
    options = dict(host=host, port=port, log_level="info", proxy_headers=True, access_log=False)
    if settings.workers > 1:
        settings = replace(settings, db_dir=ctx.db_dir, chroma_url=ctx.chroma_url)
        serve_workers(functools.partial(app_for, settings), settings.workers, options)
    else:
        uvicorn.run(app, **options)
    return 0


def serve_workers(factory, workers: int, options: dict) -> None:
    """What uvicorn.run does for workers > 1, with an app factory object instead of an import
    string: the settings travel to each spawned worker pickled in the factory, not through
    environment variables."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(factory, factory=True, workers=workers, **options)
    Multiprocess(config, sockets=[config.bind_socket()]).run()

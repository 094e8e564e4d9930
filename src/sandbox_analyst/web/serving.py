"""Serves the page and its assets with a strict Content-Security-Policy.

Only two routes are added — `/` and `/ui/...` — rather than a catch-all mount at `/`: the page
routes with URL fragments (`/#/c/<id>`), so nothing else needs to reach it, and an unknown
`/api/...` or `/v1/...` path keeps its JSON 404 whatever order routers are added in.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"

# Scripts only from our own files (no inline script, no eval); images only from our own
# origin, so a model answer cannot beacon data out through an <img> pointing elsewhere; the
# page cannot be framed. Inline style attributes are refused too (the sanitiser drops them).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Signed file links carry their signature in the query string: never hand it on.
    "Referrer-Policy": "no-referrer",
    # Revalidate every time (cheap with ETags) so an upgraded server never runs stale JS.
    "Cache-Control": "no-cache",
}


class _UIAssets(StaticFiles):
    """Static files with the page's security headers on every response."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"cache-control"
                ]
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def mount_ui(app: FastAPI) -> None:
    """Serve the page at `/` and its assets at `/ui/`."""

    async def index() -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)

    app.add_api_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount("/ui", _UIAssets(directory=STATIC_DIR), name="ui")

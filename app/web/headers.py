"""Security headers on every HTTP response; in production, every cookie is ``Secure``."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script anywhere: visitor text that slipped through escaping still could not run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        widget = scope["path"] == "/static/widget.js"
        secure_cookies = _secure_cookies(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                if widget:
                    # The widget script is loaded by other sites' pages.
                    headers.append((b"cross-origin-resource-policy", b"cross-origin"))
                else:
                    headers.append((b"content-security-policy", CSP.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                if secure_cookies:
                    headers = [_secure(name, value) for name, value in headers]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure_cookies(scope: Scope) -> bool:
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return bool(getattr(settings, "secure_cookies", False))


def _secure(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    """One place for every cookie any route sets, present or future: in production (or with
    ``CONCIERGE_COOKIE_SECURE``) none may travel over plain HTTP."""
    if name.lower() != b"set-cookie":
        return name, value
    attributes = [part.strip().lower() for part in value.split(b";")[1:]]
    if b"secure" in attributes:
        return name, value
    return name, value + b"; Secure"

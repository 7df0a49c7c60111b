"""Who may do what on the web app, and the headers every answer carries.

- Reading is open to loopback clients; from anywhere else it needs the sign-in.
- Changing anything needs `NEWSMON_WEB_TOKEN`: pages take a session cookie set by signing in
  with the token (plus a CSRF token on every form), the API takes `Authorization: Bearer`.
  Without the variable, every write is refused with a message saying how to enable it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from starlette.responses import Response

SESSION_COOKIE = "newsmon_session"
CSRF_COOKIE = "newsmon_csrf"
WRITES_OFF = ("Chức năng sửa đổi chưa được bật: đặt biến môi trường NEWSMON_WEB_TOKEN (ít nhất 12 ký tự) "
            "rồi khởi động lại newsmon serve.")
NEED_LOGIN = "Cần đăng nhập bằng mã truy cập (NEWSMON_WEB_TOKEN) để sửa đổi."
BAD_CSRF = "Biểu mẫu đã hết hạn hoặc không đến từ trang này: hãy tải lại trang và thử lại."

# Pages use no inline script or style and load nothing from elsewhere.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Guard:
    """The token check, derived session and CSRF values, for one app."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    @property
    def enabled(self) -> bool:
        """Whether write actions can be enabled at all (a token is configured)."""
        return bool(self.token)

    def _derive(self, purpose: str) -> str:
        assert self.token
        return hmac.new(self.token.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    def session_value(self) -> str:
        """The session cookie's value: derived from the token, so a new token signs everyone out."""
        return self._derive("session")

    def token_matches(self, given: str) -> bool:
        """Whether `given` is the configured token (constant time)."""
        return bool(self.token) and hmac.compare_digest(given.encode(), (self.token or "").encode())

    def signed_in(self, request: Request) -> bool:
        """Whether the request carries the session cookie or the bearer token."""
        if not self.token:
            return False
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if cookie and hmac.compare_digest(cookie, self.session_value()):
            return True
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    def require_bearer(self, request: Request) -> None:
        """For API writes: 403 when writes are disabled, 401 without the right bearer token."""
        if not self.token:
            raise HTTPException(403, WRITES_OFF)
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.token_matches(value.strip()):
            raise HTTPException(401, NEED_LOGIN, headers={"WWW-Authenticate": "Bearer"})

    def require_form(self, request: Request, csrf: str) -> None:
        """For page forms: writes enabled, signed in, and the form's CSRF token is this browser's."""
        if not self.token:
            raise HTTPException(403, WRITES_OFF)
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, self.session_value()):
            raise HTTPException(401, NEED_LOGIN)
        check_csrf(request, csrf)


def check_csrf(request: Request, csrf: str) -> None:
    """The form's hidden token must equal this browser's CSRF cookie (double submit)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not csrf or not hmac.compare_digest(cookie, csrf):
        raise HTTPException(403, BAD_CSRF)


def is_loopback(request: Request) -> bool:
    """Whether the client connects from this machine."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("testclient", "localhost")  # Starlette's test client names itself so


def safe_next(target: str | None) -> str:
    """A place to return to after signing in: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def security_middleware(guard: Guard) -> Callable[[Request, Callable[[Request], Awaitable[Response]]],
                                                  Awaitable[Response]]:
    """Headers on every answer, a CSRF cookie for every browser, and sign-in for reading from
    other machines."""

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = csrf or secrets.token_urlsafe(24)
        # The unsubscribe link is opened from a mail: its signature is its credential.
        public = request.url.path.startswith(("/static/", "/login", "/unsubscribe"))
        if not public and not is_loopback(request) and not guard.signed_in(request):
            if request.url.path.startswith("/api/"):
                response: Response = Response('{"detail": "' + NEED_LOGIN + '"}', 401,
                                              media_type="application/json")
            else:
                response = Response(status_code=303, headers={"Location": "/login"})
        else:
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not csrf:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
        return response

    return middleware

"""Who may do what on the web app, and the headers every answer carries.

- Only the app's own host names are answered (127.0.0.1, localhost, ::1, `--host`,
  NEWSMON_WEB_HOSTS, the host of NEWSMON_PUBLIC_URL): a page on another name (DNS
  rebinding) gets 400, reading included.
- Reading is open to loopback clients; from anywhere else it needs the sign-in.
- Changing anything needs `NEWSMON_WEB_TOKEN`: pages take a session cookie set by signing in
  with the token (a server-side session, new at every sign-in, ended by sign-out, 12 hours
  at most; kept in the shared database when NEWSMON_STATE_URL is set, so any of several web
  processes answers any request), plus a CSRF token on every form signed by the app and
  bound to the browser and its session; the API takes `Authorization: Bearer`. Wrong tokens
  lock a client out for a minute after five in a minute, everyone after fifty. Without the
  variable, every write is refused with a message saying how to enable it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import HTTPException, Request
from starlette.responses import Response

from config.limits import MAX_SESSIONS

SESSION_COOKIE = "newsmon_session"
CSRF_COOKIE = "newsmon_csrf"
WRITES_OFF = (
    "Chức năng sửa đổi chưa được bật: đặt biến môi trường NEWSMON_WEB_TOKEN (ít nhất 12 ký tự) "
    "rồi khởi động lại newsmon serve."
)
NEED_LOGIN = "Cần đăng nhập bằng mã truy cập (NEWSMON_WEB_TOKEN) để sửa đổi."
BAD_CSRF = "Biểu mẫu đã hết hạn hoặc không đến từ trang này: hãy tải lại trang và thử lại."

# Pages use no inline script or style and load nothing from elsewhere.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


SESSION_TTL = 12 * 3600  # seconds a sign-in lasts
# Wrong tokens: a client is refused for LOCK_SECONDS after PER_CLIENT failures within
# WINDOW seconds, and everyone after GLOBAL failures within WINDOW (a spread-out guess).
WINDOW, PER_CLIENT, GLOBAL, LOCK_SECONDS = 60.0, 5, 50, 60.0
TOO_MANY = "Quá nhiều lần nhập sai mã truy cập: hãy thử lại sau {seconds} giây."
BAD_HOST = "Tên máy không được phép: hãy mở newsmon bằng địa chỉ đã cấu hình."


class SessionBook(Protocol):
    """Where sign-ins are kept."""

    def open(self) -> str:
        """A new session id, live for SESSION_TTL."""
        ...

    def end(self, session: str) -> None:
        """End a session."""
        ...

    def live(self, session: str) -> bool:
        """Whether `session` is a session not ended nor expired."""
        ...

    def close(self) -> None:
        """Let go of what the book holds (a database connection)."""
        ...


class MemorySessions:
    """Sessions in this process (one web process: a restart signs everyone out)."""

    def __init__(self) -> None:
        """None yet."""
        self.sessions: dict[str, float] = {}  # session id -> expiry (time.monotonic())

    def open(self) -> str:
        """A new session id; the oldest sign-in goes first past MAX_SESSIONS."""
        now = time.monotonic()
        self.sessions = {sid: end for sid, end in self.sessions.items() if end > now}
        if len(self.sessions) >= MAX_SESSIONS:
            self.sessions.pop(min(self.sessions, key=self.sessions.__getitem__))
        session = secrets.token_urlsafe(32)
        self.sessions[session] = now + SESSION_TTL
        return session

    def end(self, session: str) -> None:
        """End a session."""
        self.sessions.pop(session, None)

    def live(self, session: str) -> bool:
        """Whether it is open and not expired."""
        end = self.sessions.get(session)
        return end is not None and end > time.monotonic()

    def close(self) -> None:
        """Nothing to let go."""


class SharedSessions:
    """Sessions in the shared database: every web process sees a sign-in and a sign-out."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS web_sessions (id TEXT PRIMARY KEY, expires DOUBLE PRECISION NOT NULL)"
    )

    def __init__(self, url: str) -> None:
        """Connect and make the table."""
        from search.shared import SharedConnection

        self.db = SharedConnection(url)
        self.db.execute(self.SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def open(self) -> str:
        """A new session id (expired ones are dropped first)."""
        session, now = secrets.token_urlsafe(32), time.time()
        with self.db:
            self.db.execute("DELETE FROM web_sessions WHERE expires <= ?", (now,))
            self.db.execute("INSERT INTO web_sessions VALUES (?, ?)", (session, now + SESSION_TTL))
        return session

    def end(self, session: str) -> None:
        """End a session."""
        self.db.execute("DELETE FROM web_sessions WHERE id = ?", (session,))

    def live(self, session: str) -> bool:
        """Whether it is open and not expired."""
        row = self.db.execute(
            "SELECT 1 FROM web_sessions WHERE id = ? AND expires > ?", (session, time.time())
        ).fetchone()
        return row is not None


class Guard:
    """Who is signed in (server-side sessions that sign-out ends), the CSRF tokens bound to
    them, the token check and its throttle, and the host names the app answers, for one app."""

    def __init__(
        self, token: str | None, hosts: frozenset[str] = frozenset(), state_url: str | None = None
    ) -> None:
        """For `token` (None: read only) and these host names; sessions shared through the
        database at `state_url` when given."""
        self.token = token
        self.hosts = frozenset({"127.0.0.1", "localhost", "::1", *(h.lower() for h in hosts)})
        self.book: SessionBook
        if state_url and token:
            # Every web process signs CSRF tokens with the same key, derived from the token.
            self.secret = hmac.new(token.encode(), b"newsmon csrf", hashlib.sha256).digest()
            self.book = SharedSessions(state_url)
        else:
            self.secret = secrets.token_bytes(32)  # per process: a restart signs everyone out
            self.book = MemorySessions()
        self.failures: dict[str, list[float]] = {}
        self.all_failures: list[float] = []
        self.locked: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        """Whether write actions can be enabled at all (a token is configured)."""
        return bool(self.token)

    # ------------------------------------------------------------------ hosts

    def host_allowed(self, request: Request) -> bool:
        """Whether the Host header names this app (a page on another name, as DNS rebinding
        makes one, must not read it)."""
        host = request.headers.get("host", "").strip().lower()
        if host.startswith("["):  # [::1]:8000
            name = host[1:].split("]", 1)[0]
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in self.hosts

    # ------------------------------------------------------------------ sessions

    def open_session(self) -> str:
        """A new session id (after a right token)."""
        return self.book.open()

    def close_session(self, request: Request) -> None:
        """Sign-out: the session's cookie is worth nothing from now on."""
        self.book.end(request.cookies.get(SESSION_COOKIE, ""))

    def session_of(self, request: Request) -> str | None:
        """The request's live session id, if any."""
        session = request.cookies.get(SESSION_COOKIE, "")
        return session if session and self.book.live(session) else None

    def token_matches(self, given: str) -> bool:
        """Whether `given` is the configured token (constant time)."""
        return bool(self.token) and hmac.compare_digest(given.encode(), (self.token or "").encode())

    def signed_in(self, request: Request) -> bool:
        """Whether the request carries a live session cookie or the bearer token."""
        if not self.token:
            return False
        if self.session_of(request) is not None:
            return True
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    # ------------------------------------------------------------------ throttle

    def check_token(self, request: Request, given: str) -> bool:
        """The token check with a throttle: HTTPException 429 while this client (or every
        client, after many failures) is locked out; a failure is counted."""
        client = request.client.host if request.client else "?"
        now = time.monotonic()
        until = max(self.locked.get(client, 0.0), self.locked.get("*", 0.0))
        if until > now:
            raise HTTPException(
                429,
                TOO_MANY.format(seconds=int(until - now) + 1),
                headers={"Retry-After": str(int(until - now) + 1)},
            )
        if self.token_matches(given):
            self.failures.pop(client, None)
            return True
        recent = [t for t in self.failures.get(client, []) if t > now - WINDOW] + [now]
        self.failures[client] = recent
        self.all_failures = [t for t in self.all_failures if t > now - WINDOW] + [now]
        if len(recent) >= PER_CLIENT:
            self.locked[client] = now + LOCK_SECONDS
        if len(self.all_failures) >= GLOBAL:
            self.locked["*"] = now + LOCK_SECONDS
        if len(self.failures) > MAX_SESSIONS:  # bounded memory under a spread-out attack
            self.failures.clear()
        return False

    def require_bearer(self, request: Request) -> None:
        """For API writes: 403 when writes are disabled, 401 without the right bearer token,
        429 while locked out after wrong ones."""
        if not self.token:
            raise HTTPException(403, WRITES_OFF)
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.check_token(request, value.strip()):
            raise HTTPException(401, NEED_LOGIN, headers={"WWW-Authenticate": "Bearer"})

    # ------------------------------------------------------------------ CSRF

    def csrf_token(self, request: Request) -> str:
        """The token a form of this page carries: this browser's CSRF cookie and its session,
        signed with the app's secret (an attacker who plants a cookie cannot make it)."""
        message = f"{request.state.csrf}|{self.session_of(request) or ''}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def check_csrf(self, request: Request, csrf: str) -> None:
        """403 unless the form's token is this browser's and this session's."""
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not csrf or not hmac.compare_digest(self.csrf_token(request), csrf):
            raise HTTPException(403, BAD_CSRF)

    def require_form(self, request: Request, csrf: str) -> None:
        """For page forms: writes enabled, signed in, and the form's CSRF token is this session's."""
        if not self.token:
            raise HTTPException(403, WRITES_OFF)
        if self.session_of(request) is None:
            raise HTTPException(401, NEED_LOGIN)
        self.check_csrf(request, csrf)


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


def security_middleware(
    guard: Guard,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Only the app's own host names answered; headers on every answer, a CSRF cookie for
    every browser, and sign-in for reading from other machines."""

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not guard.host_allowed(request):
            refused = Response(BAD_HOST, 400, media_type="text/plain; charset=utf-8")
            for name, value in HEADERS.items():
                refused.headers.setdefault(name, value)
            return refused
        csrf = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = csrf or secrets.token_urlsafe(24)
        # The unsubscribe link is opened from a mail: its signature is its credential.
        public = request.url.path.startswith(("/static/", "/login", "/unsubscribe"))
        if not public and not is_loopback(request) and not guard.signed_in(request):
            if request.url.path.startswith("/api/"):
                response: Response = Response(
                    '{"detail": "' + NEED_LOGIN + '"}', 401, media_type="application/json"
                )
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

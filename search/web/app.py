"""The FastAPI application: pages, JSON API, static files, error handling, security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from elasticsearch import ApiError
from elasticsearch import ConnectionError as ESConnectionError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from config.settings import Settings
from search import words
from search.alerts.rules import AlertError, NoSuchAlert
from search.es import make_client, unavailable
from search.query import QueryError
from search.stores import StoreDamaged
from search.web import api, pages
from search.web.security import Guard, security_middleware
from search.web.service import Crawls, NoSuchSite, Web

UNREACHABLE = "Không kết nối được Elasticsearch: kho bài viết tạm thời không dùng được; hãy thử lại sau."
INVALID = "Yêu cầu không hợp lệ"
# Starlette's own answers (an unknown address, a wrong method) carry their English phrase.
PHRASES = {404: "Không có trang này: hãy kiểm tra lại địa chỉ.", 405: "Địa chỉ này không nhận thao tác đó."}
DAMAGED = "Một kho dữ liệu của newsmon bị hỏng, cần người quản trị xử lý: {detail}"
FAILED = "Kho bài viết từ chối yêu cầu này; hãy thử lại hoặc báo cho người quản trị."


def create_app(
    config: Settings, site_names: list[str], crawls: Crawls, site_titles: dict[str, str] | None = None
) -> FastAPI:
    """The web app for these settings and registry sites (names, and the titles people know
    them by); `crawls` answers for crawling (built by `crawler/web.py`, which `newsmon serve`
    uses)."""
    words.lexicon()  # a malformed words file stops the app at start, not at the first search
    token = config.web_token.get_secret_value() if config.web_token else None
    hosts = {*config.web_hosts, *([urlsplit(config.public_url).hostname or ""] if config.public_url else [])}
    web = Web(
        config=config,
        site_names=site_names,
        es=make_client(config, timeout=10),
        guard=Guard(
            token,
            frozenset(h for h in hosts if h),
            config.shared_state,
        ),
        crawls=crawls,
        site_titles=dict(site_titles or {}),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        web.es.close()
        web.guard.book.close()

    app = FastAPI(
        title="newsmon",
        summary="Tin công đoàn: tìm kiếm, cảnh báo, thu thập",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.web = web
    app.middleware("http")(security_middleware(web.guard))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    _handlers(app)
    return app


def _answer(request: Request, status: int, message: str) -> Response:
    """JSON under /api/, a Vietnamese page elsewhere."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status)
    return pages.error_page(request, status, message)


def _handlers(app: FastAPI) -> None:
    # A message meant for the user, with the status it answers with (the subclass first).
    for kind, status in ((QueryError, 400), (NoSuchAlert, 404), (AlertError, 400), (NoSuchSite, 404)):
        app.add_exception_handler(kind, _with_status(status))

    @app.exception_handler(ESConnectionError)
    async def unreachable(request: Request, exc: ESConnectionError) -> Response:
        return _answer(request, 503, UNREACHABLE)

    @app.exception_handler(StoreDamaged)
    async def damaged(request: Request, exc: StoreDamaged) -> Response:
        return _answer(request, 503, DAMAGED.format(detail=exc))

    @app.exception_handler(ApiError)
    async def refused(request: Request, exc: ApiError) -> Response:
        # Restarting, shards not ready, the index closed: the user tries again later.
        if unavailable(exc):
            return _answer(request, 503, UNREACHABLE)
        return _answer(request, 500, FAILED)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else INVALID
        if message in {s.phrase for s in HTTPStatus if s.value == exc.status_code}:
            message = PHRASES.get(exc.status_code, INVALID)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=exc.status_code, headers=exc.headers)
        return pages.error_page(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": INVALID, "errors": jsonable(exc.errors())}, status_code=422)
        return pages.error_page(request, 422, INVALID + ": kiểm tra lại các ô đã nhập.")


def _with_status(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return _answer(request, status, str(exc))

    return handler


def jsonable(errors: object) -> object:
    """Validation errors without the raw input objects FastAPI may put in them."""
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors, custom_encoder={BaseException: str})

"""The JSON API under `/api/` (described at `/api/docs`): the pages' functions, as data."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from search.alerts.store import AlertShown, shown_rule
from search.web import service
from search.web.service import SearchForm, SiteStatus, Web

router = APIRouter(prefix="/api")


def web_of(request: Request) -> Web:
    """The app's shared state."""
    state: Web = request.app.state.web
    return state


def writer(request: Request) -> None:
    """A write needs the bearer token (see `web/security.py`)."""
    web_of(request).guard.require_bearer(request)


WebDep = Annotated[Web, Depends(web_of)]
Sites = Annotated[list[str], Query(description="chỉ các trang này (lặp lại được)", max_length=100)]
Day = Annotated[
    str,
    Query(
        pattern=r"^(\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})?$", description="dd/mm/yyyy (hoặc yyyy-mm-dd)"
    ),
]


class Copy(BaseModel):
    """Another site's copy of a story."""

    url: str
    site: str


class Hit(BaseModel):
    """One story in a result list."""

    id: str
    url: str
    site: str
    title: str
    published: str | None
    snippet: str = Field(description="HTML: chữ lấy về đã được thoát, từ khớp nằm trong <mark>")
    score: float | None
    duplicates: list[Copy]


class SearchOut(BaseModel):
    """A page of results; `total` counts stories; with `facets=true`, articles per site and
    stories per day (Asia/Ho_Chi_Minh; docs/usage.md says what each counts)."""

    total: int
    page: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] | None = None


class StoryCopy(BaseModel):
    """One copy of a story, earliest published first."""

    id: str
    url: str
    site: str
    title: str
    published: str | None
    original: bool


class StoryOut(BaseModel):
    """An article as indexed and every copy of its story."""

    id: str
    url: str
    canonical_url: str | None = None
    site: str
    title: str
    published: str | None = None
    modified: str | None = None
    author: Any = None
    tags: Any = None
    text: str
    cluster: str
    duplicate_of: str | None = None
    indexed_at: str | None = None
    source_url: str | None = None
    source_name: str | None = None
    copies: list[StoryCopy]


class AlertChange(BaseModel):
    """What an alert looks for and who gets it."""

    query: str = Field(max_length=4000)
    emails: list[str] = Field(max_length=100)
    sites: list[str] = Field(default=[], max_length=100)
    mode: Literal["instant", "daily"] = "instant"


class AlertIn(AlertChange):
    """A new alert."""

    name: str = Field(max_length=80)


class PreviewIn(BaseModel):
    """A query (and sites) to preview before saving an alert."""

    query: str = Field(max_length=4000)
    sites: list[str] = Field(default=[], max_length=100)


class PreviewOut(BaseModel):
    """Stories the alert would match: in the last 7 days (the newest listed) and in all."""

    week: int
    total: int
    hits: list[Hit]


class CrawlOut(BaseModel):
    """Whether a crawl started."""

    site: str
    started: bool
    message: str


@router.get(
    "/search",
    response_model=SearchOut,
    summary="Tìm kiếm",
    description="Các tin khớp truy vấn, mỗi tin một lần kèm các bản đăng lại "
    "(và số bài theo trang, số tin theo ngày khi facets=true).",
)
def api_search(  # noqa: PLR0917 - one parameter per filter
    web: WebDep,
    q: Annotated[str, Query(max_length=4000, description="truy vấn, gõ như ở ô tìm kiếm")] = "",
    site: Sites = [],  # noqa: B006 - FastAPI copies defaults
    since: Day = "",
    until: Day = "",
    sort: Literal["relevance", "date"] = "relevance",
    page: Annotated[int, Query(ge=1, le=1000, description="trang kết quả")] = 1,
    limit: Annotated[int, Query(ge=1, le=100, description="số tin mỗi trang")] = 10,
    facets: Annotated[bool, Query(description="kèm số bài theo trang và số tin theo ngày")] = False,
) -> dict[str, Any]:
    """Stories matching the query, one per story with its other copies (and facets)."""
    form = SearchForm(q=q, sites=site, since=since, until=until, sort=sort, page=page)
    return {"page": page, **service.run_search(web, form, limit=limit, facets=facets)}


@router.get(
    "/export",
    summary="Tải về",
    response_class=StreamingResponse,
    description="Mọi bài khớp tìm kiếm (mọi bản, mới nhất trước), truyền dần: CSV (tiêu đề cột "
    "tiếng Việt, ngày dd/mm/yyyy) hoặc JSON lines (tên trường và ngày ISO).",
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def api_export(  # noqa: PLR0917 - one parameter per filter
    web: WebDep,
    q: Annotated[str, Query(max_length=4000, description="chỉ các bài khớp truy vấn này")] = "",
    site: Sites = [],  # noqa: B006 - FastAPI copies defaults
    since: Day = "",
    until: Day = "",
    format: Literal["csv", "jsonl"] = "csv",
) -> StreamingResponse:
    """Every article of the search (all copies, newest first), streamed: CSV or JSON lines."""
    form = SearchForm(q=q, sites=site, since=since, until=until)
    form.dates()  # a bad date is a 400 before the stream starts
    if q.strip():
        from search.query import parse

        parse(q)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    disposition = f'attachment; filename="newsmon-{stamp}.{format}"'
    chunks = service.export_rows(web, form, format)
    # The first chunk is read before the answer starts: an archive that cannot be read now
    # is a 503, never a 200 with an empty file. A failure later cuts the stream unfinished.
    first = next(chunks, "")
    return StreamingResponse(
        chain([first], chunks), media_type=media, headers={"Content-Disposition": disposition}
    )


@router.get(
    "/stories/{article_id}",
    response_model=StoryOut,
    summary="Bài viết và các bản đăng lại",
    description="Nội dung bài như đã lưu, thông tin của bài và mọi bản đăng lại của tin.",
)
def api_story(
    web: WebDep, article_id: Annotated[str, PathParam(max_length=200, description="mã bài")]
) -> dict[str, Any]:
    """An article's text as indexed, its metadata and every copy of its story."""
    found = service.get_story(web, article_id)
    if found is None:
        raise HTTPException(404, "không có bài viết này")
    return found


@router.get(
    "/alerts",
    response_model=list[AlertShown],
    summary="Các cảnh báo",
    description="Mọi cảnh báo và lần gửi cuối; địa chỉ người nhận chỉ hiện khi gửi kèm mã truy cập.",
)
def api_alerts(request: Request, web: WebDep) -> list[dict[str, Any]]:
    """Every alert with its last mail; recipients' addresses only with the bearer token."""
    return service.alert_rows(web, recipients=web.guard.signed_in(request))


@router.post(
    "/alerts",
    response_model=AlertShown,
    status_code=201,
    dependencies=[Depends(writer)],
    summary="Thêm cảnh báo",
    description="Thêm một cảnh báo (kiểm tra như lệnh `newsmon alerts add`); cần mã truy cập.",
)
def api_add_alert(web: WebDep, alert: AlertIn) -> dict[str, Any]:
    """Add an alert (validated as `newsmon alerts add` does)."""
    return service.save_alert(
        web,
        name=alert.name,
        query=alert.query,
        emails=alert.emails,
        sites=alert.sites,
        mode=alert.mode,
        new=True,
    )


@router.post(
    "/alerts/preview",
    response_model=PreviewOut,
    summary="Xem trước cảnh báo",
    description="Những tin một cảnh báo với truy vấn này sẽ khớp (không lưu gì).",
)
def api_preview(web: WebDep, body: PreviewIn) -> dict[str, Any]:
    """What an alert with this query would match (nothing is saved)."""
    return service.preview(web, body.query, body.sites)


@router.put(
    "/alerts/{name}",
    response_model=AlertShown,
    dependencies=[Depends(writer)],
    summary="Sửa cảnh báo",
    description="Đổi truy vấn, người nhận, trang hoặc chế độ của cảnh báo; cần mã truy cập.",
)
def api_change_alert(web: WebDep, name: str, alert: AlertChange) -> dict[str, Any]:
    """Change an alert's query, recipients, sites or mode."""
    return service.save_alert(
        web, name=name, query=alert.query, emails=alert.emails, sites=alert.sites, mode=alert.mode, new=False
    )


@router.post(
    "/alerts/{name}/pause",
    response_model=AlertShown,
    dependencies=[Depends(writer)],
    summary="Tạm dừng cảnh báo",
    description="Tạm dừng: không gửi gì cho đến khi bật lại; cần mã truy cập.",
)
def api_pause(web: WebDep, name: str) -> dict[str, Any]:
    """Pause an alert: it sends nothing until resumed."""
    with web.store() as store:
        return shown_rule(store.set_paused(name, True))


@router.post(
    "/alerts/{name}/resume",
    response_model=AlertShown,
    dependencies=[Depends(writer)],
    summary="Bật lại cảnh báo",
    description="Bật lại: gửi những tin đưa vào kho từ lúc này; cần mã truy cập.",
)
def api_resume(web: WebDep, name: str) -> dict[str, Any]:
    """Resume an alert: it sends what is indexed from now on."""
    with web.store() as store:
        return shown_rule(store.set_paused(name, False))


@router.delete(
    "/alerts/{name}",
    status_code=204,
    dependencies=[Depends(writer)],
    summary="Xóa cảnh báo",
    description="Xóa cảnh báo (những gì đã gửi vẫn được ghi lại); cần mã truy cập.",
)
def api_remove(web: WebDep, name: str) -> None:
    """Remove an alert (what it sent stays recorded)."""
    with web.store() as store:
        store.remove(name)


@router.get(
    "/sites",
    response_model=list[SiteStatus],
    summary="Các trang theo dõi",
    description="Các lần thu thập gần đây, tình trạng và lần thu thập tới của mỗi trang.",
)
def api_sites(web: WebDep) -> list[dict[str, Any]]:
    """Each site's last crawls, state and next crawl."""
    return service.sites_overview(web)


@router.post(
    "/sites/{name}/crawl",
    response_model=CrawlOut,
    status_code=202,
    dependencies=[Depends(writer)],
    summary="Thu thập ngay",
    description="Bắt đầu thu thập trang này ngay (trừ khi đang thu thập); cần mã truy cập.",
)
def api_crawl(web: WebDep, name: str) -> dict[str, Any]:
    """Start a crawl of the site now (not when one is running)."""
    started = service.start_crawl(web, name)
    message = "đã bắt đầu thu thập" if started else "trang này đang được thu thập"
    return {"site": name, "started": started, "message": message}


@router.post(
    "/sites/{name}/backfill",
    response_model=CrawlOut,
    status_code=202,
    dependencies=[Depends(writer)],
    summary="Nạp bài cũ",
    description="Bắt đầu nạp bài cũ của trang này đến ngày `since` (dd/mm/yyyy hoặc yyyy-mm-dd); "
    "bài cũ tìm được nhưng không gửi cảnh báo; cần mã truy cập.",
)
def api_backfill(web: WebDep, name: str, since: Annotated[str, Query(max_length=40)]) -> dict[str, Any]:
    """Start a backfill of the site's history to a day (not when a crawl of it runs)."""
    started = service.start_backfill(web, name, since)
    message = "đã bắt đầu nạp bài cũ" if started else "trang này đang được thu thập"
    return {"site": name, "started": started, "message": message}

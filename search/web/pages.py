"""The HTML pages (Vietnamese, no JavaScript needed): search, story, alerts, sites, sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from search import words
from search.alerts import unsubscribe
from search.alerts.rules import AlertError, NoSuchAlert, Rule
from search.alerts.store import shown_rule
from search.query import QueryError
from search.web import format as fmt
from search.web import service
from search.web.api import web_of
from search.web.security import SESSION_COOKIE, SESSION_TTL, WRITES_OFF, safe_next
from search.web.service import SearchForm, Web

router = APIRouter(include_in_schema=False)

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)
_ENV.filters.update(
    number=fmt.number,
    moment=fmt.moment,
    published=fmt.published,
    day=fmt.day,
    percent=fmt.percent,
    web_url=fmt.web_url,
    errors_text=fmt.errors_text,
    schedule_words=fmt.schedule_words,
    run_note=fmt.run_note,
    backfill_text=fmt.backfill_text,
)
_ENV.globals["states"] = fmt.STATES


@jinja2.pass_context
def _site_title(context: jinja2.runtime.Context, name: str) -> str:
    """A site as people know it: its registry title, else its name."""
    return str(context.get("site_titles", {}).get(name) or name)


_ENV.filters["site_title"] = _site_title
templates = Jinja2Templates(env=_ENV)

NO_STORY = "Không có bài viết này (có thể đã bị xóa khỏi kho)."
MODES = {"instant": "Ngay khi có tin", "daily": "Bản tin hằng ngày"}
DONE = {  # messages after a change, by code (never text taken from the address bar)
    "added": "Đã thêm cảnh báo.",
    "changed": "Đã lưu thay đổi.",
    "paused": "Đã tạm dừng cảnh báo.",
    "resumed": "Đã bật lại cảnh báo.",
    "removed": "Đã xóa cảnh báo.",
    "started": "Đã bắt đầu thu thập; trang này tự tải lại cho đến khi xong.",
    "finished": "Lần thu thập đã xong: kết quả ở bảng dưới.",
    "backfilled": "Lần nạp bài cũ đã dừng: kết quả ở thẻ của trang.",
    "running": "Trang này đang được thu thập; hãy chờ lần thu thập đó xong.",
    "backfilling": "Đã bắt đầu nạp bài cũ; tiến độ hiện ở thẻ của trang, trang này tự tải lại cho "
    "đến khi xong. Bài cũ tìm được nhưng không gửi cảnh báo.",
    "signed_in": "Đã đăng nhập.",
    "signed_out": "Đã đăng xuất.",
}


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page with what every page needs (sign-in state, CSRF token, the done message, the
    address to come back to after signing in)."""
    web = web_of(request)
    done = DONE.get(context.pop("done", None) or request.query_params.get("done", ""), "")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "done"]
    here = request.url.path + ("?" + urlencode(kept) if kept else "")
    base = {
        "signed_in": web.guard.signed_in(request),
        "writes_enabled": web.guard.enabled,
        "csrf": web.guard.csrf_token(request),
        "done": done,
        "writes_off": WRITES_OFF,
        "path": request.url.path,
        "here": here,
        "modes": MODES,
        "all_sites": web.site_names,
        "site_titles": web.site_titles,
        "refresh": False,
        "abbreviations": words.lexicon().table,
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _see(path: str, **params: str) -> RedirectResponse:
    return RedirectResponse(path + ("?" + urlencode(params) if params else ""), status_code=303)


@router.get("/", response_class=HTMLResponse)
def search_page(  # noqa: PLR0917 - one parameter per filter
    request: Request,
    q: Annotated[str, Query(max_length=4000)] = "",
    site: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006 - FastAPI copies defaults
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    sort: str = "relevance",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    """The search page: query box, filters, results, stories per day and top sites (a page
    past the last one goes to the last one)."""
    web = web_of(request)
    form = SearchForm(
        q=q,
        sites=site,
        since=since,
        until=until,
        sort=sort if sort in ("relevance", "date") else "relevance",
        page=page,
    )
    error, result, bars, top = "", None, [], []
    try:
        result = service.run_search(web, form)
        first, last = form.dates()
        bars = service.chart(result["facets"]["day"], first, last)
        top = service.top_sites(result["facets"]["site"])
    except QueryError as exc:
        error = str(exc)
    params = [("q", q), *[("site", s) for s in site], ("since", since), ("until", until), ("sort", form.sort)]
    query_string = urlencode([(k, v) for k, v in params if v])
    pages = 0
    if result:
        pages = min(-(-result["total"] // service.PAGE_SIZE), 10_000 // service.PAGE_SIZE)
        if result["total"] and page > pages:  # past the last page (an old link, a typed number)
            final = [(k, v) for k, v in params if v] + [("page", str(pages))]
            return RedirectResponse("/?" + urlencode(final), status_code=303)
    return render(
        request,
        "search.html",
        form=form,
        error=error,
        result=result,
        bars=bars,
        top=top,
        query_string=query_string,
        pages=pages,
        status=400 if error else 200,
    )


@router.get("/story/{article_id}", response_class=HTMLResponse)
def story_page(request: Request, article_id: str) -> HTMLResponse:
    """An article as indexed and every copy of its story."""
    found = service.get_story(web_of(request), article_id[:200])
    if found is None:
        return render(request, "error.html", 404, message=NO_STORY)
    return render(request, "story.html", story=found)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request) -> HTMLResponse:
    """The alerts, with their last mail, and what can be done to each."""
    web = web_of(request)
    rows = service.alert_rows(web, recipients=web.guard.signed_in(request))
    return render(request, "alerts.html", alerts=rows)


def _form_values(
    name: str = "", query: str = "", emails: str = "", sites: list[str] | None = None, mode: str = "instant"
) -> dict[str, Any]:
    return {"name": name, "query": query, "emails": emails, "sites": sites or [], "mode": mode}


@router.get("/alerts/new", response_class=HTMLResponse)
def new_alert_page(request: Request, q: Annotated[str, Query(max_length=4000)] = "") -> HTMLResponse:
    """The form for a new alert (the query may come from a search)."""
    return render(request, "alert_form.html", new=True, values=_form_values(query=q), error="", preview=None)


def _rule(request: Request, name: str) -> Rule | HTMLResponse:
    """The alert called `name`, or the 404 page saying there is none."""
    with web_of(request).store() as store:
        try:
            return store.get(name)
        except NoSuchAlert as exc:
            return render(request, "error.html", 404, message=str(exc))


@router.get("/alerts/{name}/edit", response_class=HTMLResponse)
def edit_alert_page(request: Request, name: str) -> HTMLResponse:
    """The form to change an alert."""
    rule = _rule(request, name)
    if isinstance(rule, HTMLResponse):
        return rule
    values = _form_values(rule.name, rule.query, "\n".join(rule.emails), rule.sites, rule.mode)
    return render(request, "alert_form.html", new=False, values=values, error="", preview=None)


def _emails(text: str) -> list[str]:
    return [e.strip() for e in text.replace(",", "\n").replace(";", "\n").splitlines() if e.strip()]


def _alert_form(
    request: Request,
    *,
    new: bool,
    name: str,
    query: str,
    emails: str,
    sites: list[str],
    mode: str,
    action: str,
    csrf: str,
) -> Response:
    web = web_of(request)
    values = _form_values(name, query, emails, sites, mode)
    web.guard.check_csrf(request, csrf)
    if action == "preview":
        try:
            found = service.preview(web, query, sites)
        except QueryError as exc:
            return render(
                request, "alert_form.html", 400, new=new, values=values, error=str(exc), preview=None
            )
        return render(request, "alert_form.html", new=new, values=values, error="", preview=found)
    web.guard.require_form(request, csrf)
    try:
        service.save_alert(
            web, name=name, query=query, emails=_emails(emails), sites=sites, mode=mode, new=new
        )
    except NoSuchAlert as exc:
        return render(request, "error.html", 404, message=str(exc))
    except (AlertError, QueryError) as exc:
        return render(request, "alert_form.html", 400, new=new, values=values, error=str(exc), preview=None)
    return _see("/alerts", done="added" if new else "changed")


Text = Annotated[str, Form(max_length=4000)]


@router.post("/alerts/new")
def new_alert(  # noqa: PLR0917 - one parameter per form field
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    query: Text,
    csrf: Annotated[str, Form()],
    emails: Text = "",
    sites: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    mode: Annotated[str, Form()] = "instant",
    action: Annotated[str, Form()] = "save",
) -> Response:
    """Preview or save a new alert."""
    return _alert_form(
        request,
        new=True,
        name=name.strip(),
        query=query,
        emails=emails,
        sites=sites,
        mode=mode,
        action=action,
        csrf=csrf,
    )


@router.post("/alerts/{name}/edit")
def edit_alert(  # noqa: PLR0917 - one parameter per form field
    request: Request,
    name: str,
    query: Text,
    csrf: Annotated[str, Form()],
    emails: Text = "",
    sites: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    mode: Annotated[str, Form()] = "instant",
    action: Annotated[str, Form()] = "save",
) -> Response:
    """Preview or save changes to an alert."""
    return _alert_form(
        request,
        new=False,
        name=name,
        query=query,
        emails=emails,
        sites=sites,
        mode=mode,
        action=action,
        csrf=csrf,
    )


@router.get("/alerts/{name}/remove", response_class=HTMLResponse)
def remove_alert_page(request: Request, name: str) -> HTMLResponse:
    """Asks before an alert is removed (removing cannot be undone)."""
    rule = _rule(request, name)
    if isinstance(rule, HTMLResponse):
        return rule
    return render(request, "alert_remove.html", alert=shown_rule(rule))


@router.post("/alerts/{name}/{change}")
def change_alert(request: Request, name: str, change: str, csrf: Annotated[str, Form()]) -> Response:
    """Pause, resume or remove (after the question page) an alert."""
    web = web_of(request)
    web.guard.require_form(request, csrf)
    with web.store() as store:
        try:
            if change == "pause":
                store.set_paused(name, True)
            elif change == "resume":
                store.set_paused(name, False)
            elif change == "remove":
                store.remove(name)
            else:
                raise HTTPException(404)
        except NoSuchAlert as exc:
            return render(request, "error.html", 404, message=str(exc))
    return _see("/alerts", done={"pause": "paused", "resume": "resumed", "remove": "removed"}[change])


FORGED = "Liên kết hủy nhận thư không hợp lệ (có thể đã bị sửa hoặc thuộc một hệ thống khác)."
OUTCOMES = {
    "removed": "Đã hủy: địa chỉ {email} không nhận thư của cảnh báo “{alert}” nữa.",
    "paused": "Đã hủy: cảnh báo “{alert}” chỉ gửi tới {email} nên đã được tạm dừng.",
    "absent": "Địa chỉ {email} đã không còn nhận thư của cảnh báo “{alert}”.",
}


def _unsubscribe_request(request: Request, alert: str, email: str, sig: str) -> Response | None:
    """The error page for a link this installation did not sign, else None."""
    web = web_of(request)
    if not unsubscribe.valid(unsubscribe.key(web.config.resolved_data_dir), alert, email, sig):
        return render(request, "error.html", 403, message=FORGED)
    return None


@router.get(unsubscribe.PATH, response_class=HTMLResponse)
def unsubscribe_page(request: Request, alert: str = "", email: str = "", sig: str = "") -> Response:
    """The mail's unsubscribe link: a button, so a link scanner's visit changes nothing."""
    refused = _unsubscribe_request(request, alert, email, sig)
    return refused or render(
        request,
        "unsubscribe.html",
        alert=alert,
        email=email,
        outcome="",
        action=f"{unsubscribe.PATH}?{request.url.query}",
    )


@router.post(unsubscribe.PATH, response_class=HTMLResponse)
def unsubscribe_now(request: Request, alert: str = "", email: str = "", sig: str = "") -> Response:
    """One click (RFC 8058, also from the mail client's button): the signature is the
    credential, so neither sign-in nor a CSRF token is asked for."""
    if refused := _unsubscribe_request(request, alert, email, sig):
        return refused
    with web_of(request).store() as store:
        try:
            outcome = unsubscribe.unsubscribe(store, alert, email)
        except NoSuchAlert:
            outcome = "absent"
    return render(
        request,
        "unsubscribe.html",
        alert=alert,
        email=email,
        outcome=OUTCOMES[outcome].format(alert=alert, email=email),
    )


@router.get("/sites", response_class=HTMLResponse)
def sites_page(request: Request) -> HTMLResponse:
    """Each site's crawling, with a button to crawl it now."""
    rows = service.sites_overview(web_of(request))
    running = any(r["running"] for r in rows)
    # The page reloads itself while a crawl runs; once none does, "started" has become "finished".
    asked = request.query_params.get("done")
    done = {"started": "finished", "backfilling": "backfilled"}.get(asked or "") if not running else None
    return render(request, "sites.html", sites=rows, refresh=running, done=done)


@router.post("/sites/{name}/crawl")
def crawl_now(request: Request, name: str, csrf: Annotated[str, Form()]) -> Response:
    """Start a crawl of the site ("Thu thập ngay")."""
    web = web_of(request)
    web.guard.require_form(request, csrf)
    try:
        started = service.start_crawl(web, name)
    except service.NoSuchSite as exc:
        return render(request, "error.html", 404, message=str(exc))
    return _see("/sites", done="started" if started else "running")


@router.post("/sites/{name}/backfill")
def backfill_now(
    request: Request, name: str, csrf: Annotated[str, Form()], since: Annotated[str, Form(max_length=40)]
) -> Response:
    """Start a backfill of the site's history to a day ("Nạp bài cũ")."""
    web = web_of(request)
    web.guard.require_form(request, csrf)
    try:
        started = service.start_backfill(web, name, since)
    except QueryError as exc:
        return render(request, "error.html", 400, message=str(exc))
    except service.NoSuchSite as exc:
        return render(request, "error.html", 404, message=str(exc))
    return _see("/sites", done="backfilling" if started else "running")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in form (the access token)."""
    return render(request, "login.html", next=safe_next(next), error="")


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form(max_length=500)],
    csrf: Annotated[str, Form()],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the token; set the session cookie; go back where the user was (on this site)."""
    web = web_of(request)
    web.guard.check_csrf(request, csrf)
    if not web.guard.enabled:
        return render(request, "login.html", 403, next=safe_next(next), error=WRITES_OFF)
    try:
        right = web.guard.check_token(request, token)
    except HTTPException as exc:  # locked out after wrong tokens
        return render(request, "login.html", exc.status_code, next=safe_next(next), error=str(exc.detail))
    if not right:
        return render(request, "login.html", 401, next=safe_next(next), error="Mã truy cập không đúng.")
    target = safe_next(next)
    response = RedirectResponse(target + ("&" if "?" in target else "?") + "done=signed_in", status_code=303)
    # A new session id at every sign-in (never one the browser brought along).
    response.set_cookie(
        SESSION_COOKIE, web.guard.open_session(), httponly=True, samesite="strict", max_age=SESSION_TTL
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()]) -> Response:
    """Sign out: the session ends on the server too."""
    web = web_of(request)
    web.guard.check_csrf(request, csrf)
    web.guard.close_session(request)
    response = _see("/", done="signed_out")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The API described from its OpenAPI schema (served locally, no script)."""
    schema = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, **operation}
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    return render(request, "api_docs.html", operations=operations, schema=schema)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An error as a page (used by the app's exception handlers)."""
    return render(request, "error.html", status, message=message)


def web_state(request: Request) -> Web:
    """The app's shared state (for the exception handlers)."""
    return web_of(request)

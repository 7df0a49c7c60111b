"""The web app's main journeys in a real browser (Debian's Chromium driven by Playwright),
against the app served by uvicorn on loopback, real Elasticsearch and, for "crawl now", a
real crawl subprocess of a loopback site. Screenshots of each page go to var/screenshots/."""

from __future__ import annotations

import email
import email.policy
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
import yaml
from elasticsearch import Elasticsearch

from config.settings import Settings
from crawler.registry import load_registry
from crawler.samples.server import SampleSite
from crawler.web import make_web_app
from tests.search.web.conftest import TOKEN, index_stories
from tests.support import ROOT, free_port

pytestmark = pytest.mark.es

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "var" / "screenshots"
# As root and on a closed network: no sandbox, and none of Chromium's own connections.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


SITE_TITLES = {"cd": "Báo Công đoàn mẫu", "ld": "Lao động mẫu"}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"no browser at {CHROMIUM}: apt-get install chromium (`.ci/run` does)"
        if os.environ.get("NEWSMON_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site_url(
    env: dict[str, str], es: Elasticsearch, tmp_path: Path, sample_sites: dict[str, SampleSite]
) -> Iterator[str]:
    """The app on a loopback port: the archive's stories, the sample sites to crawl."""
    entries = [{"name": s.name, "url": s.url} for s in sample_sites.values()]
    # The archive's own sites, listed (not crawled) so that its stories can be filtered by site.
    entries += [
        {"name": n, "title": t, "url": f"http://127.0.0.1:9/{n}/", "enabled": False}
        for n, t in SITE_TITLES.items()
    ]
    registry = tmp_path / "sites.yaml"
    registry.write_text(yaml.safe_dump({"sites": entries}), encoding="utf-8")
    settings = Settings(
        es_url=env["NEWSMON_ES_URL"],
        index_prefix=env["NEWSMON_INDEX_PREFIX"],
        data_dir=Path(env["NEWSMON_DATA_DIR"]),
        registry=registry,
        web_token=TOKEN,
        allow_private_hosts=True,
    )
    index_stories(es, settings.index_prefix)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            make_web_app(settings, load_registry(registry)), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: object, site_url: str) -> Iterator[object]:
    context = browser.new_context(
        base_url=site_url,
        locale="vi-VN",  # type: ignore[attr-defined]
        viewport={"width": 1200, "height": 900},
    )
    tab = context.new_page()
    errors: list[str] = []
    # No script error and no Content-Security-Policy violation may occur (a page answered
    # with 400 or 404 on purpose is logged too: that is not a fault).
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    tab.on(
        "response",
        lambda answer: errors.append(f"{answer.status} {answer.url}") if answer.status == 404 else None,
    )
    yield tab
    context.close()
    assert not errors, errors


def shot(tab: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in(tab: object, then: str) -> None:
    tab.goto(f"/login?next={then}")  # type: ignore[attr-defined]
    tab.fill("input[name=token]", TOKEN)  # type: ignore[attr-defined]
    tab.click("form.stack button[type=submit]")  # type: ignore[attr-defined]
    tab.wait_for_selector("p.notice")  # type: ignore[attr-defined]


def test_search_without_diacritics_then_open_the_story_and_its_copies(page: object) -> None:
    tab = page
    tab.goto("/")  # type: ignore[attr-defined]
    tab.fill("#q", "nha o xa hoi")  # type: ignore[attr-defined]
    tab.press("#q", "Enter")  # type: ignore[attr-defined]
    hit = tab.locator(".hit h2 a")  # type: ignore[attr-defined]
    assert hit.count() == 1
    assert hit.inner_text() == "Công nhân được mua nhà ở xã hội"
    assert "Đăng lại trên" in tab.locator(".hit .also").inner_text()  # type: ignore[attr-defined]
    # The chart counts the story once, on the day of its first article (its copy came a day later).
    bars = tab.locator("svg.chart rect")  # type: ignore[attr-defined]
    assert bars.count() == 1
    assert bars.first.locator("title").text_content() == "20/11/2026: 1 tin"
    shot(tab, "search")
    hit.click()
    tab.wait_for_selector("table.copies")  # type: ignore[attr-defined]
    rows = tab.locator("table.copies tbody tr")  # type: ignore[attr-defined]
    assert rows.count() == 2
    assert "bản đầu tiên" in rows.nth(0).inner_text()
    assert "200 đoàn viên" in tab.locator(".story .text").inner_text()  # type: ignore[attr-defined]
    shot(tab, "story")


def test_a_republished_story_shows_its_original_by_site_title_with_the_phrase_marked(page: object) -> None:
    tab = page
    tab.goto("/")  # type: ignore[attr-defined]
    tab.fill("#q", '"nha o xa hoi"')  # type: ignore[attr-defined]
    tab.press("#q", "Enter")  # type: ignore[attr-defined]
    meta = tab.locator(".hit .meta").inner_text()  # type: ignore[attr-defined]
    assert "Báo Công đoàn mẫu · 20/11/2026 08:00" in meta  # the original: published first
    assert "bài gốc trên Báo Công đoàn mẫu" in meta
    assert "Lao động mẫu (21/11/2026 09:30)" in tab.locator(".hit .also").inner_text()  # type: ignore[attr-defined]
    assert tab.locator(".hit .snippet mark").all_inner_texts() == ["nhà ở xã hội"]  # type: ignore[attr-defined]
    shot(tab, "search-phrase")


def test_an_alert_mail_reads_well_in_a_browser(page: object) -> None:
    tab = page
    from search.alerts.evaluate import Match
    from search.alerts.render import MailLinks, render
    from search.alerts.rules import Rule

    rule = Rule(
        name="Nhà ở",
        query="nhà ở xã hội",
        emails=["a@cd.example.vn"],
        sites=[],
        mode="instant",
        watermark="2026-11-20T00:00:00+00:00",
    )
    older = Match(
        "a1",
        "c1",
        [("nhà ở xã hội", True)],
        url="https://cd.example.vn/a-1.html",
        site="cd",
        title="Công nhân được mua nhà ở xã hội",
        published="2026-11-20T08:00:00+07:00",
        text="Công đoàn giúp công nhân mua nhà ở xã hội với giá ưu đãi.",
        also=[{"url": "https://ld.example.vn/b-2.html", "site": "ld"}],
        story_id="a1",
    )
    newer = Match(
        "a2",
        "c2",
        [("nhà ở xã hội", True)],
        url="https://cd.example.vn/a-3.html",
        site="cd",
        title="Khởi công nhà ở xã hội",
        published="2026-11-25T07:00:00+07:00",
        text="Dự án nhà ở xã hội thứ hai khởi công.",
        story_id="a2",
    )
    links = MailLinks("https://newsmon.example.org", "https://newsmon.example.org/unsubscribe?sig=x")
    raw = render(
        rule, "a@cd.example.vn", [older, newer], "m1", "n@cd.example.vn", links=links, site_titles=SITE_TITLES
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    tab.set_content(html_part.get_content())  # type: ignore[attr-defined]
    titles = tab.locator("body > div > div:first-child a").all_inner_texts()  # type: ignore[attr-defined]
    assert titles == ["Khởi công nhà ở xã hội", "Công nhân được mua nhà ở xã hội"]  # newest first
    assert tab.locator("mark").all_inner_texts() == ["nhà ở xã hội", "nhà ở xã hội"]  # type: ignore[attr-defined]
    assert "Báo Công đoàn mẫu · 25/11/2026 07:00" in tab.inner_text("body")  # type: ignore[attr-defined]
    assert tab.locator("a", has_text="không nhận thư này nữa").count() == 1  # type: ignore[attr-defined]
    shot(tab, "alert-mail")


def test_a_malformed_query_shows_the_vietnamese_error_beside_the_box(page: object) -> None:
    tab = page
    tab.goto("/")  # type: ignore[attr-defined]
    tab.fill("#q", "(nợ lương")  # type: ignore[attr-defined]
    tab.press("#q", "Enter")  # type: ignore[attr-defined]
    error = tab.locator("#query-error")  # type: ignore[attr-defined]
    assert "dấu '(' chưa được đóng" in error.inner_text()
    assert tab.input_value("#q") == "(nợ lương"  # type: ignore[attr-defined]
    shot(tab, "search-error")


def test_add_an_alert_with_preview_and_see_it_listed(page: object) -> None:
    tab = page
    sign_in(tab, "/alerts/new")
    tab.fill("input[name=name]", "Nhà ở xã hội")  # type: ignore[attr-defined]
    tab.fill("input[name=query]", "nha o xa hoi")  # type: ignore[attr-defined]
    tab.fill("textarea[name=emails]", "a@example.vn")  # type: ignore[attr-defined]
    tab.click("button[value=preview]")  # type: ignore[attr-defined]
    preview = tab.locator("section.preview")  # type: ignore[attr-defined]
    assert "trong cả kho: 1 tin" in " ".join(preview.inner_text().split())
    assert tab.input_value("input[name=name]") == "Nhà ở xã hội"  # type: ignore[attr-defined]
    shot(tab, "alert-preview")
    tab.click("button[value=save]")  # type: ignore[attr-defined]
    tab.wait_for_url("**/alerts?done=added")  # type: ignore[attr-defined]
    card = tab.locator("section.card")  # type: ignore[attr-defined]
    assert card.count() == 1
    assert "Nhà ở xã hội" in card.locator("h2").inner_text()
    assert "chưa gửi" in card.inner_text()
    assert "a@example.vn" in card.inner_text()  # signed in: the recipients are shown
    shot(tab, "alerts")
    # "Xóa" asks first, and offers a pause instead; only "Xóa hẳn" removes.
    card.locator("a", has_text="Xóa").click()
    tab.wait_for_selector("h1:has-text('Xóa cảnh báo')")  # type: ignore[attr-defined]
    shot(tab, "alert-remove")
    tab.click("text=Không xóa, quay lại")  # type: ignore[attr-defined]
    assert tab.locator("section.card").count() == 1  # type: ignore[attr-defined]
    tab.locator("section.card a", has_text="Xóa").click()  # type: ignore[attr-defined]
    tab.click("button:has-text('Xóa hẳn')")  # type: ignore[attr-defined]
    tab.wait_for_url("**/alerts?done=removed")  # type: ignore[attr-defined]
    assert tab.locator("section.card").count() == 0  # type: ignore[attr-defined]


def test_signing_in_from_a_search_keeps_the_query_and_boxes_sit_beside_their_labels(page: object) -> None:
    tab = page
    tab.goto("/?q=nha+o+xa+hoi")  # type: ignore[attr-defined]
    tab.click("text=Tạo cảnh báo cho truy vấn này")  # type: ignore[attr-defined]
    tab.click("main a:has-text('Đăng nhập')")  # type: ignore[attr-defined]
    tab.fill("input[name=token]", TOKEN)  # type: ignore[attr-defined]
    tab.click("form.stack button[type=submit]")  # type: ignore[attr-defined]
    tab.wait_for_selector("p.notice")  # type: ignore[attr-defined]
    assert tab.input_value("input[name=query]") == "nha o xa hoi"  # type: ignore[attr-defined]
    for kind in ("checkbox", "radio"):
        box = tab.locator(f"form.stack input[type={kind}]").first.bounding_box()  # type: ignore[attr-defined]
        label = tab.locator(f"form.stack label.check:has(input[type={kind}])").first.bounding_box()  # type: ignore[attr-defined]
        assert box["width"] < 40, kind  # not stretched across the form
        assert label["height"] < 2 * box["height"] + 16, kind  # on one line with its words
    shot(tab, "alert-form-signed-in")


def test_start_a_crawl_from_the_sites_page_and_see_its_result(
    page: object, sample_sites: dict[str, SampleSite]
) -> None:
    tab = page
    name = sorted(sample_sites)[0]
    sign_in(tab, "/sites")
    card = tab.locator("section.card", has=tab.locator(f"h2:text-is('{name}')"))  # type: ignore[attr-defined]
    if not card.count():  # the heading holds the name and its state tag
        card = tab.locator("section.card").filter(has_text=name).first  # type: ignore[attr-defined]
    assert "Chưa thu thập lần nào" in card.inner_text()
    card.locator("button", has_text="Thu thập ngay").click()
    tab.wait_for_selector("p.notice")  # type: ignore[attr-defined]
    shot(tab, "sites-crawling")
    # The page reloads itself while a crawl runs; the run's row appears when it ends.
    tab.wait_for_selector(
        f"section.card:has-text('{name}') table.runs tbody tr",  # type: ignore[attr-defined]
        timeout=180_000,
    )
    # The run's row is written a moment before the crawl lets go of its lock: the page is
    # read once the notice says the crawl has ended (it no longer promises to reload).
    tab.wait_for_selector("p.notice:has-text('đã xong')", timeout=60_000)  # type: ignore[attr-defined]
    assert "tự tải lại" not in tab.inner_text("p.notice")  # type: ignore[attr-defined]
    card = tab.locator("section.card").filter(has_text=name).first  # type: ignore[attr-defined]
    cells = card.locator("table.runs tbody tr").first.locator("td")
    new_articles = int(cells.nth(2).inner_text().replace(".", ""))
    assert new_articles > 0
    assert "đang thu thập" not in card.inner_text()
    assert "hằng ngày lúc" in card.inner_text()
    shot(tab, "sites")


def test_backfill_a_site_from_the_sites_page_and_see_it_finished(
    page: object, sample_sites: dict[str, SampleSite]
) -> None:
    """Nạp bài cũ: a day chosen in the date box, the card says how many articles came in."""
    tab = page
    name = sorted(sample_sites)[-1]
    sign_in(tab, "/sites")
    card = tab.locator("section.card").filter(has_text=name).first  # type: ignore[attr-defined]
    card.locator("input[name=since]").fill("2000-01-01")
    card.locator("button", has_text="Nạp bài cũ").click()
    tab.wait_for_selector("p.notice")  # type: ignore[attr-defined]
    assert "không gửi cảnh báo" in tab.inner_text("p.notice")  # type: ignore[attr-defined]
    tab.wait_for_selector("p.notice:has-text('đã dừng')", timeout=180_000)  # type: ignore[attr-defined]
    card = tab.locator("section.card").filter(has_text=name).first  # type: ignore[attr-defined]
    line = card.locator("p.backfill").inner_text()
    assert line.startswith("Đã nạp bài cũ từ 01/01/2000 ("), line
    assert int(line.split("(")[1].split()[0].replace(".", "")) > 0
    shot(tab, "sites-backfilled")

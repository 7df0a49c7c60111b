"""Extraction on the bundled sample pages and on small pages built for one rule each."""

from __future__ import annotations

import pytest

from pipelines.extraction.page import extract_page
from tests.support import SAMPLE_SITES

SAMPLES = SAMPLE_SITES

PARA = ("Ban Thường vụ Liên đoàn Lao động tỉnh đã làm việc với các công đoàn cơ sở về việc chăm lo "
        "đời sống, việc làm và thu nhập cho đoàn viên, người lao động trong những tháng cuối năm. ")


def _page(head: str = "", before: str = "", stamp: str = "", after: str = "", lang: str = "") -> bytes:
    body = "".join(f"<p>{PARA}{i}</p>" for i in range(4))
    return f"""<html{lang}><head><meta charset="utf-8"><title>Tin bài | Trang</title>{head}</head><body>
<header><div class="clock">Thứ sáu 20/11/2026 07:02</div><nav><a href="/">Trang chủ</a></nav></header>
<div class="wrap"><article>{before}<h1>Công đoàn chăm lo Tết cho người lao động</h1>{stamp}
<div class="content">{body}</div>{after}</article>
<aside><h3>Tin mới</h3><ul><li><a href="/x-1.html">Tin khác</a> 09:15 19/11/2026</li></ul></aside></div>
</body></html>""".encode()


@pytest.mark.parametrize(("stamp", "expected"), [
    ('<span class="time">22:40 21/10/2021</span>', "2021-10-21T22:40:00+07:00"),
    ('<div class="date">Thứ tư, 08/12/2021 - 00:48</div>', "2021-12-08T00:48:00+07:00"),
    ("<p>Date : 07-12-2018</p>", "2018-12-07T00:00:00+07:00"),
    ("<p>Cập nhật ngày 8 tháng 12 năm 2021</p>", "2021-12-08T00:00:00+07:00"),
    ('<span>03/02/2022 | 14h30</span>', "2022-02-03T14:30:00+07:00"),
])
def test_vietnamese_stamp_in_article_zone_never_the_site_clock(stamp: str, expected: str) -> None:
    article = extract_page(_page(stamp=stamp), "https://ldld.example.vn/tin-tuc/bai-viet-1234.html")
    assert article is not None
    assert article.published == expected


def test_structured_dates_win_over_stamps_and_are_shown_in_vietnam_time() -> None:
    head = ('<script type="application/ld+json">{"@type": "NewsArticle", '
            '"datePublished": "2021-11-02T15:30:00+07:00", "dateModified": "2021-11-03T08:00:00Z"}'
            "</script>")
    page = _page(head=head, stamp="<span>22:40 21/10/2021</span>")
    article = extract_page(page, "https://a.vn/b-1234.html")
    assert article is not None
    assert article.published == "2021-11-02T15:30:00+07:00"
    assert article.modified == "2021-11-03T15:00:00+07:00"  # the same instant as 08:00Z
    meta = '<meta property="article:published_time" content="2022-03-02T14:20:00">'
    article = extract_page(_page(head=meta), "https://a.vn/b-1234.html")
    assert article is not None
    assert article.published == "2022-03-02T14:20:00+07:00"


def test_feed_date_is_used_before_page_stamps() -> None:
    article = extract_page(_page(stamp="<span>22:40 21/10/2021</span>"), "https://a.vn/b-1234.html",
                           hint_date="2021-10-22T06:00:00+07:00")
    assert article is not None
    assert article.published == "2021-10-22T06:00:00+07:00"


def test_lead_is_kept_and_headline_not_repeated() -> None:
    lead = ('<div class="sapo"><strong>(LĐTĐ) Sáng 6/12, công đoàn các cấp đồng loạt ra quân chăm lo '
            "Tết cho đoàn viên có hoàn cảnh khó khăn.</strong></div>")
    article = extract_page(_page(stamp=lead), "https://a.vn/b-1234.html")
    assert article is not None
    lines = article.text.split("\n")
    assert lines[0].startswith("(LĐTĐ) Sáng 6/12")
    assert "Công đoàn chăm lo Tết cho người lao động" not in lines
    assert len(lines) == 5


@pytest.mark.parametrize(("path", "published", "first_words"), [
    ("ldld-tinh-mau/tin-tuc/quyet-tam-vuot-kho-hoan-thanh-ke-hoach-de-ra-5521.html",
     "2021-10-21T22:40:00+07:00", "Thực hiện chương trình công tác tháng 10"),
    ("congdoan-mau/quan-he-lao-dong/"
     "cong-doan-det-may-doi-thoai-voi-doanh-nghiep-ve-tinh-trang-no-luong-cong-nhan-651300.htm",
     "2021-12-06T09:15:00+07:00", "Sáng 6/12, Công đoàn Dệt May Việt Nam"),
    ("laodongthudo-mau/cong-doan/"
     "ldld-huyen-dan-phuong-chu-dong-doi-moi-hoat-dong-trong-tinh-hinh-moi-98765.html",
     "2021-12-08T00:48:00+07:00", "(LĐTĐ) Nghị quyết 02-NQ/TW"),
])
def test_sample_pages(path: str, published: str, first_words: str) -> None:
    article = extract_page((SAMPLES / path).read_bytes(), f"http://127.0.0.1:8731/{path}")
    assert article is not None
    assert article.published == published
    assert article.text.startswith(first_words)
    for noise in ("SỐ LƯỢNG TRUY CẬP", "Tin cùng chuyên mục", "Đọc thêm", "casino", "Chia sẻ"):
        assert noise not in article.text



def test_author_kept_whole_and_republished_source_found() -> None:
    path = ("congdoan-mau/cong-doan-viet-nam/"
            "ldld-tinh-nghe-an-trien-khai-nghi-quyet-02-ve-doi-moi-to-chuc-cong-doan-651234.htm")
    article = extract_page((SAMPLES / path).read_bytes(), f"http://127.0.0.1:8731/{path}")
    assert article is not None
    assert article.author == "Duy Chương - Thanh Tùng"
    assert article.source_url is None
    path = ("ldld-tinh-mau/tin-tuc/"
            "hoi-nghi-truc-tuyen-toan-quoc-quan-triet-nghi-quyet-dai-hoi-xii-cong-doan-viet-nam-5540.html")
    article = extract_page((SAMPLES / path).read_bytes(), f"http://127.0.0.1:8732/{path}")
    assert article is not None
    assert article.source_url == (
        "https://nld.com.vn/cong-doan/hoi-nghi-truc-tuyen-toan-quoc-hoc-tap-quan-triet-nghi-quyet-dai-hoi-"
        "xii-cong-doan-viet-nam-20181206125646445.htm")


def test_a_page_in_another_language_keeps_the_offset_it_gives() -> None:
    meta = '<meta property="article:published_time" content="2021-11-02T08:30:00Z">'
    article = extract_page(_page(head=meta, lang=' lang="en"'), "https://a.vn/b-1234.html")
    assert article is not None
    assert article.language == "en"
    assert article.published == "2021-11-02T08:30:00+00:00"

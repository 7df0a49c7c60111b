"""Extraction on the bundled sample pages and on small pages built for one rule each."""

from __future__ import annotations

import pytest

from pipelines.extraction.cleanup import is_spam_text
from pipelines.extraction.page import extract_page
from tests.support import SAMPLE_SITES

SAMPLES = SAMPLE_SITES

PARA = (
    "Ban Thường vụ Liên đoàn Lao động tỉnh đã làm việc với các công đoàn cơ sở về việc chăm lo "
    "đời sống, việc làm và thu nhập cho đoàn viên, người lao động trong những tháng cuối năm. "
)


def _page(head: str = "", before: str = "", stamp: str = "", after: str = "", lang: str = "") -> bytes:
    body = "".join(f"<p>{PARA}{i}</p>" for i in range(4))
    return f"""<html{lang}><head><meta charset="utf-8"><title>Tin bài | Trang</title>{head}</head><body>
<header><div class="clock">Thứ sáu 20/11/2026 07:02</div><nav><a href="/">Trang chủ</a></nav></header>
<div class="wrap"><article>{before}<h1>Công đoàn chăm lo Tết cho người lao động</h1>{stamp}
<div class="content">{body}</div>{after}</article>
<aside><h3>Tin mới</h3><ul><li><a href="/x-1.html">Tin khác</a> 09:15 19/11/2026</li></ul></aside></div>
</body></html>""".encode()


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ('<span class="time">22:40 21/10/2021</span>', "2021-10-21T22:40:00+07:00"),
        ('<div class="date">Thứ tư, 08/12/2021 - 00:48</div>', "2021-12-08T00:48:00+07:00"),
        ("<p>Date : 07-12-2018</p>", "2018-12-07T00:00:00+07:00"),
        ("<p>Cập nhật ngày 8 tháng 12 năm 2021</p>", "2021-12-08T00:00:00+07:00"),
        ("<span>03/02/2022 | 14h30</span>", "2022-02-03T14:30:00+07:00"),
        ("<span>Thứ Ba, 17/11/2026 - 14 giờ 30</span>", "2026-11-17T14:30:00+07:00"),
        ("<span>17 Th11 2026 14:30</span>", "2026-11-17T14:30:00+07:00"),
        ("<span>Đăng lúc 2026-11-17 14:30</span>", "2026-11-17T14:30:00+07:00"),
        ("<span>14 giờ 30 phút, ngày 17/11/2026</span>", "2026-11-17T14:30:00+07:00"),
        ("<span>Ngày đăng: 17/11/2026 14:30:45</span>", "2026-11-17T14:30:45+07:00"),
        ("<span>17/11/2026 07:30 GMT</span>", "2026-11-17T14:30:00+07:00"),
        ("<span>07:30 (UTC) 17/11/2026</span>", "2026-11-17T14:30:00+07:00"),
        ("<span>14:30 (GMT+7) 17/11/2026</span>", "2026-11-17T14:30:00+07:00"),
        ('<span class="metadata-publish-date">17/11/26 14:30</span>', "2026-11-17T14:30:00+07:00"),
        ('<span title="2026-11-17T14:30:00+07:00">2 ngày trước</span>', "2026-11-17T14:30:00+07:00"),
        ("<span>14:30 | Thứ Ba, 17/11/2026</span>", "2026-11-17T14:30:00+07:00"),
        ("<span>2026/11/17 14:30</span>", "2026-11-17T14:30:00+07:00"),
    ],
)
def test_vietnamese_stamp_in_article_zone_never_the_site_clock(stamp: str, expected: str) -> None:
    article = extract_page(_page(stamp=stamp), "https://ldld.example.vn/tin-tuc/bai-viet-1234.html")
    assert article is not None
    assert article.published == expected


def test_structured_dates_win_over_stamps_and_are_shown_in_vietnam_time() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2021-11-02T15:30:00+07:00", "dateModified": "2021-11-03T08:00:00Z"}'
        "</script>"
    )
    page = _page(head=head, stamp="<span>22:40 21/10/2021</span>")
    article = extract_page(page, "https://a.vn/b-1234.html")
    assert article is not None
    assert article.published == "2021-11-02T15:30:00+07:00"
    assert article.modified == "2021-11-03T15:00:00+07:00"  # the same instant as 08:00Z
    meta = '<meta property="article:published_time" content="2022-03-02T14:20:00">'
    article = extract_page(_page(head=meta), "https://a.vn/b-1234.html")
    assert article is not None
    assert article.published == "2022-03-02T14:20:00+07:00"


@pytest.mark.parametrize(
    ("head", "stamp", "expected"),
    [
        # A date alone in structured data, the time only in a machine-readable attribute.
        (
            '<script type="application/ld+json">'
            '{"@type": "NewsArticle", "datePublished": "2024-05-03"}</script>',
            '<span class="meta" data-publish-time="2024-05-03T14:20:00+07:00">03/05/2024</span>',
            "2024-05-03T14:20:00+07:00",
        ),
        (
            '<meta property="article:published_time" content="2024-05-03T00:00:00+07:00">',
            '<time datetime="2024-05-03T09:05:00+07:00">Thứ Sáu, 03/05/2024</time>',
            "2024-05-03T09:05:00+07:00",
        ),
        # ... or in the visible stamp on the same day (a 12-hour clock), not one of another day.
        (
            '<meta property="article:published_time" content="2024-05-03">',
            "<span>Thứ Sáu, 03/05/2024 02:20 CH</span>",
            "2024-05-03T14:20:00+07:00",
        ),
        (
            '<meta property="article:published_time" content="2024-05-03">',
            "<span>04/05/2024 08:00</span>",
            "2024-05-03T00:00:00+07:00",
        ),
        # A naive publish time in 12-hour form: read as such, in Vietnam time.
        (
            '<meta property="article:published_time" content="2024-05-03 02:20 PM">',
            "<span>2:20 PM</span>",
            "2024-05-03T14:20:00+07:00",
        ),
        # Microdata and RDFa on elements other than <meta>.
        (
            "",
            '<span itemprop="datePublished" content="2023-11-20T07:45:00+07:00">3 ngày trước</span>',
            "2023-11-20T07:45:00+07:00",
        ),
        (
            "",
            '<span property="dc:date" content="2023-11-20T07:45:00">hôm qua</span>',
            "2023-11-20T07:45:00+07:00",
        ),
        # A blog platform's microformat: the shown time is a 12-hour clock without a date,
        # the machine-readable moment is the abbr's title (with and without microdata).
        (
            "",
            '<abbr class="published" itemprop="datePublished" title="2026-11-18T21:30:00+07:00">'
            "9:30 CH</abbr>",
            "2026-11-18T21:30:00+07:00",
        ),
        (
            "",
            '<abbr class="published" title="2026-11-18T14:30:00Z">Thứ Tư</abbr>',
            "2026-11-18T21:30:00+07:00",
        ),
        # A naive time printed from a 12-hour clock without its half: the page shows it.
        (
            '<meta property="article:published_time" content="2026-11-17 02:30:00">',
            "<span>02:30 CH 17/11/2026</span>",
            "2026-11-17T14:30:00+07:00",
        ),
        # A genuine morning time is kept when the page shows it too.
        (
            '<meta property="article:published_time" content="2026-11-17 02:30:00">',
            "<span>02:30 17/11/2026</span>",
            "2026-11-17T02:30:00+07:00",
        ),
        # Unix seconds in a data attribute, shown in Vietnam time.
        (
            "",
            '<div class="post-time" data-timestamp="1714720800">5 giờ trước</div>',
            "2024-05-03T14:20:00+07:00",
        ),
        # Vietnamese and English month words, weekdays.
        ("", "<p>Thứ hai, 6 tháng Năm, 2024 lúc 8:15 SA</p>", "2024-05-06T08:15:00+07:00"),
        ("", "<p>Tháng Mười Hai 9, 2021</p>", "2021-12-09T00:00:00+07:00"),
        ("", "<p>Posted on May 3, 2024 at 2:20 PM</p>", "2024-05-03T14:20:00+07:00"),
    ],
)
def test_every_date_a_page_gives_is_read_and_the_most_precise_consistent_one_wins(
    head: str, stamp: str, expected: str
) -> None:
    article = extract_page(
        _page(head=head, stamp=stamp), "https://ldld.example.vn/tin-tuc/bai-viet-1234.html"
    )
    assert article is not None
    assert article.published == expected


def test_a_relative_date_alone_is_resolved_against_the_fetch_time() -> None:
    from datetime import datetime, timedelta

    from config.vntime import VN_TZ

    before = datetime.now(VN_TZ) - timedelta(hours=9)
    article = extract_page(_page(stamp="<span>9 giờ trước</span>"), "https://a.vn/tin-tuc/bai-viet-1234.html")
    assert article is not None
    assert article.published is not None
    published = datetime.fromisoformat(article.published)
    assert before - timedelta(minutes=2) <= published <= before + timedelta(minutes=2)


def test_feed_date_is_used_before_page_stamps() -> None:
    article = extract_page(
        _page(stamp="<span>22:40 21/10/2021</span>"),
        "https://a.vn/b-1234.html",
        hint_date="2021-10-22T06:00:00+07:00",
    )
    assert article is not None
    assert article.published == "2021-10-22T06:00:00+07:00"


def test_lead_is_kept_and_headline_not_repeated() -> None:
    lead = (
        '<div class="sapo"><strong>(LĐTĐ) Sáng 6/12, công đoàn các cấp đồng loạt ra quân chăm lo '
        "Tết cho đoàn viên có hoàn cảnh khó khăn.</strong></div>"
    )
    article = extract_page(_page(stamp=lead), "https://a.vn/b-1234.html")
    assert article is not None
    lines = article.text.split("\n")
    assert lines[0].startswith("(LĐTĐ) Sáng 6/12")
    assert "Công đoàn chăm lo Tết cho người lao động" not in lines
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("path", "published", "first_words"),
    [
        (
            "ldld-tinh-mau/tin-tuc/quyet-tam-vuot-kho-hoan-thanh-ke-hoach-de-ra-5521.html",
            "2021-10-21T22:40:00+07:00",
            "Thực hiện chương trình công tác tháng 10",
        ),
        (
            "congdoan-mau/quan-he-lao-dong/"
            "cong-doan-det-may-doi-thoai-voi-doanh-nghiep-ve-tinh-trang-no-luong-cong-nhan-651300.htm",
            "2021-12-06T09:15:00+07:00",
            "Sáng 6/12, Công đoàn Dệt May Việt Nam",
        ),
        (
            "laodongthudo-mau/cong-doan/"
            "ldld-huyen-dan-phuong-chu-dong-doi-moi-hoat-dong-trong-tinh-hinh-moi-98765.html",
            "2021-12-08T00:48:00+07:00",
            "(LĐTĐ) Nghị quyết 02-NQ/TW",
        ),
    ],
)
def test_sample_pages(path: str, published: str, first_words: str) -> None:
    article = extract_page((SAMPLES / path).read_bytes(), f"http://127.0.0.1:8731/{path}")
    assert article is not None
    assert article.published == published
    assert article.text.startswith(first_words)
    for noise in ("SỐ LƯỢNG TRUY CẬP", "Tin cùng chuyên mục", "Đọc thêm", "casino", "Chia sẻ"):
        assert noise not in article.text


def test_author_kept_whole_and_republished_source_found() -> None:
    path = (
        "congdoan-mau/cong-doan-viet-nam/"
        "ldld-tinh-nghe-an-trien-khai-nghi-quyet-02-ve-doi-moi-to-chuc-cong-doan-651234.htm"
    )
    article = extract_page((SAMPLES / path).read_bytes(), f"http://127.0.0.1:8731/{path}")
    assert article is not None
    assert article.author == "Duy Chương - Thanh Tùng"
    assert article.source_url is None
    path = (
        "ldld-tinh-mau/tin-tuc/"
        "hoi-nghi-truc-tuyen-toan-quoc-quan-triet-nghi-quyet-dai-hoi-xii-cong-doan-viet-nam-5540.html"
    )
    article = extract_page((SAMPLES / path).read_bytes(), f"http://127.0.0.1:8732/{path}")
    assert article is not None
    assert article.source_url == (
        "https://nld.com.vn/cong-doan/hoi-nghi-truc-tuyen-toan-quoc-hoc-tap-quan-triet-nghi-quyet-dai-hoi-"
        "xii-cong-doan-viet-nam-20181206125646445.htm"
    )


def test_a_page_in_another_language_keeps_the_offset_it_gives() -> None:
    meta = '<meta property="article:published_time" content="2021-11-02T08:30:00Z">'
    article = extract_page(_page(head=meta, lang=' lang="en"'), "https://a.vn/b-1234.html")
    assert article is not None
    assert article.language == "en"
    assert article.published == "2021-11-02T08:30:00+00:00"


@pytest.mark.parametrize(
    ("after", "field", "value", "gone"),
    [
        ("<p>Ngọc Mai</p>", "author", "Ngọc Mai", "Ngọc Mai"),
        ("<p>Bài, ảnh: Thu Hà - Minh Anh</p>", "author", "Thu Hà - Minh Anh", "Minh Anh"),
        (
            "<p>(Nguồn: https://nld.example.vn/cong-doan/bai-1.htm)</p>",
            "source_url",
            "https://nld.example.vn/cong-doan/bai-1.htm",
            "Nguồn",
        ),
        ("<p>(Nguồn: Báo Lao Động)</p><p>Hải Yến</p>", "source_name", "Báo Lao Động", "Nguồn"),
        (
            "<p>Lãnh đạo công đoàn đề nghị doanh nghiệp trả lương đúng hạn. (Theo Lao Động Thủ Đô)</p>",
            "source_name",
            "Lao Động Thủ Đô",
            "Theo Lao",
        ),
        ("<p>Theo laodong.example.vn</p>", "source_name", "laodong.example.vn", "Theo"),
    ],
)
def test_closing_source_and_name_lines_become_fields(after: str, field: str, value: str, gone: str) -> None:
    article = extract_page(_page(after=after), "https://ldld.example.vn/tin-tuc/bai-viet-1234.html")
    assert article is not None
    assert getattr(article, field) == value
    assert gone not in article.text.split("\n")[-1]


@pytest.mark.parametrize(
    "after",
    [
        "<p>Theo quy định mới, người lao động được nghỉ thêm một ngày vào dịp Quốc khánh.</p>",
        "<p>Đây là kết quả đáng ghi nhận của tổ chức Công đoàn.</p>",
    ],
)
def test_a_closing_sentence_is_never_taken_for_a_name_or_a_source(after: str) -> None:
    article = extract_page(_page(after=after), "https://ldld.example.vn/tin-tuc/bai-viet-1234.html")
    assert article is not None
    assert article.text.endswith(after[3:-4])
    assert article.source_name is None


def test_a_visitor_counter_is_not_body_text() -> None:
    article = extract_page(
        _page(after="<div>Lượt truy cập: 120.554</div><div>Đang online: 37</div>"),
        "https://ldld.example.vn/tin-tuc/bai-viet-1234.html",
    )
    assert article is not None
    assert "truy cập" not in article.text
    assert "online" not in article.text


def test_a_block_the_page_holds_twice_is_written_once() -> None:
    doubled = "".join(f"<p>{PARA}{i}</p>" for i in range(4))
    article = extract_page(
        _page(after=f'<div class="print-version">{doubled}</div>'),
        "https://ldld.example.vn/tin-tuc/bai-viet-1234.html",
    )
    assert article is not None
    lines = article.text.split("\n")
    assert len(lines) == len(set(lines)) == 4


def test_a_headline_holding_the_title_separator_is_found_whole() -> None:
    body = "".join(f"<p>{PARA}{i}</p>" for i in range(4))
    page = f"""<html><head><meta charset="utf-8">
<title>Công đoàn ngành mẫu - Hội nghị cán bộ công đoàn nhiệm kỳ 2023 - 2028 - Tin tức</title></head><body>
<table><tr><td class="menu"><a href="/">Trang chủ</a></td></tr><tr><td>
<span class="tit">Hội nghị cán bộ công đoàn nhiệm kỳ 2023 - 2028</span><br>
<div class="nd">{body}</div><div class="ngay">Ngày đăng: 26-05-2023</div></td></tr></table></body></html>"""
    article = extract_page(page.encode(), "https://cdn.example.vn/tin-tuc/hoi-nghi-1533.htm")
    assert article is not None
    assert article.title == "Hội nghị cán bộ công đoàn nhiệm kỳ 2023 - 2028"
    assert article.published == "2023-05-26T00:00:00+07:00"  # the stamp of the zone the headline gives


CAPTIONS = [
    "Đoàn viên nhận quà tại gian hàng của công đoàn cơ sở trong khu công nghiệp phía Bắc thành phố.",
    "Chương trình văn nghệ chào xuân do chính công nhân các doanh nghiệp trong khu tự dàn dựng.",
    "Lãnh đạo Liên đoàn Lao động thành phố trao quà cho đoàn viên có hoàn cảnh khó khăn.",
]


def test_a_photo_story_is_its_lead_and_captions_without_header_and_keywords() -> None:
    figures = "".join(
        f'<figure><img src="/a{i}.jpg"><figcaption>{c}</figcaption></figure>' for i, c in enumerate(CAPTIONS)
    )
    page = f"""<html><head><meta charset="utf-8"><title>Ảnh: Ngày hội đoàn viên | Báo mẫu</title></head><body>
<article><h1>Ảnh: Ngày hội đoàn viên</h1>
<div class="meta">Ảnh - Minh Anh Thứ hai, 06/05/2024 | 08:15</div>
<p class="sapo">Sáng 6/5, hơn 3.000 đoàn viên đã dự ngày hội do công đoàn tổ chức.</p>{figures}
<div class="tags">Từ khóa: <a href="/t/1">Ngày hội</a>, <a href="/t/2">Đoàn viên</a></div>
</article></body></html>"""
    article = extract_page(page.encode(), "https://bao.example.vn/anh/ngay-hoi-doan-vien-77.html")
    assert article is not None
    assert article.text.split("\n") == [
        "Sáng 6/5, hơn 3.000 đoàn viên đã dự ngày hội do công đoàn tổ chức.",
        *CAPTIONS,
    ]
    assert article.published == "2024-05-06T08:15:00+07:00"


def test_links_injected_into_a_hacked_article_body_are_removed() -> None:
    """A hacked site's injected links (with or without diacritics, a word split by markup)
    never reach the text; the paragraphs around them and an ordinary link stay."""
    injected = (
        '<p><a href="https://spam.example/1">Nhà cái uy tín</a> <a href="https://spam.example/2">'
        'soi keo bong da</a> <a href="https://spam.example/3">tài <b>xỉu</b> online</a></p>'
        '<p>Xem thêm <a href="https://spam.example/4">Cá cược</a> tại đây.</p>'
        '<p>Chi tiết tại <a href="/van-ban-1234.html">văn bản hướng dẫn</a> của tỉnh.</p>'
    )
    article = extract_page(_page(after=injected), "https://ldld.example.vn/tin-tuc/bai-viet-1234.html")
    assert article is not None
    for word in ("Nhà cái", "soi keo", "xỉu", "Cá cược"):
        assert word not in article.text, word
    assert article.text.count(PARA.strip()) == 4
    assert "văn bản hướng dẫn" in article.text


def test_spam_words_are_told_from_union_news() -> None:
    assert is_spam_text("Nhà cái uy tín, tài xỉu đổi thưởng")
    assert is_spam_text("CASINO trực tuyến")
    assert not is_spam_text("Công đoàn cơ sở tổ chức hội thao cho công nhân ca đêm")
    assert not is_spam_text("Slotted into the schedule: the casinos' unions")  # whole words only


def test_page_chrome_outside_the_article_is_deleted_before_any_pass_reads_it() -> None:
    """Menus, sidebars, link pickers, scripts, embeds and the site footer outside <article> go;
    what a later step reads stays: the article's own boxes, JSON-LD, a form wrapping the page,
    a short box beside the headline (a stamp, a byline), a footer holding the post's time, and
    chrome that holds the headline."""
    from lxml import html

    from pipelines.extraction.cleanup import drop_page_chrome

    poll = "".join(f"<li>Phương án trả lời số {i} của cuộc thăm dò ý kiến bạn đọc</li>" for i in range(8))
    tree = html.fromstring(
        f"""<html><body><form id="aspnetForm"><nav><a href="/">Trang chủ</a></nav>
        <aside class="poll"><p>Bạn có hài lòng không?</p><ul>{poll}</ul></aside>
        <select><option>Liên kết website</option></select>
        <script>var x = 1;</script><script type="application/ld+json">{{"@type": "NewsArticle"}}</script>
        <aside class="hero"><h1>Tiêu đề bài viết ở khung bên</h1></aside>
        <aside class="meta">Thứ Ba, 17/11/2026 14:30 | Minh Anh</aside>
        <article><aside class="quote"><p>Trích dẫn trong bài</p></aside><p>Nội dung</p></article>
        <div class="post"><p>Bài không có thẻ article</p>
        <footer>Đăng lúc <time datetime="2026-11-17">17/11</time></footer></div>
        <footer><p>{"Bản quyền thuộc Liên đoàn Lao động tỉnh. " * 8}</p></footer>
        <iframe src="/video"></iframe></form></body></html>"""
    )
    assert drop_page_chrome(tree) == 6
    text = tree.text_content()
    for gone in ("Trang chủ", "hài lòng", "Liên kết website", "var x", "Bản quyền"):
        assert gone not in text
    for kept in (
        "NewsArticle",
        "Tiêu đề bài viết",
        "Minh Anh",
        "Trích dẫn trong bài",
        "Đăng lúc",
        "Nội dung",
    ):
        assert kept in text
    assert tree.find(".//form") is not None
    assert tree.find(".//iframe") is None


@pytest.mark.parametrize(
    "meta",
    [
        '<aside class="meta">Thứ Ba, 17/11/2026 14:30 | Tác giả: Minh Anh</aside>',
        '<footer class="meta">Thứ Ba, 17/11/2026 14:30</footer>',
    ],
)
def test_a_stamp_in_a_short_box_beside_the_headline_is_read(meta: str) -> None:
    """Templates without <article> put the stamp in an <aside> or <footer> of the column."""
    sidebar = "".join(
        f'<li><a href="/tin/tin-khac-{i}234.html">Tin khác về công đoàn cơ sở số {i}</a>'
        " 09:15 19/11/2026</li>"
        for i in range(6)
    )
    page = f"""<html lang="vi"><head><meta charset="utf-8"><title>Tin | Trang</title></head><body>
<div class="wrap"><div class="main"><h1>Công đoàn chăm lo Tết cho người lao động</h1>{meta}
<div class="content">{"".join(f"<p>{PARA}{i}</p>" for i in range(4))}</div></div>
<aside class="sidebar"><h3>Tin mới</h3><ul>{sidebar}</ul></aside></div></body></html>""".encode()
    article = extract_page(page, "https://ldld.example.vn/tin-tuc/bai-viet-1234.html")
    assert article is not None
    assert article.published == "2026-11-17T14:30:00+07:00"
    assert "Tin khác" not in article.text


def test_a_posts_own_footer_stamp_is_read_where_the_page_has_no_article_element() -> None:
    page = f"""<html lang="vi"><head><meta charset="utf-8"><title>Tin | Trang</title></head><body>
<nav><a href="/">Trang chủ</a> <span>20/11/2026 07:02</span></nav>
<div class="post"><h1>Công đoàn chăm lo Tết cho người lao động</h1>
{"".join(f"<p>{PARA}{i}</p>" for i in range(4))}
<footer class="post-footer">Đăng lúc 14:30 17/11/2026 <time datetime="2026-11-17">17/11</time></footer></div>
<footer><p>Bản quyền 2026</p></footer></body></html>""".encode()
    article = extract_page(page, "https://ldld.example.vn/tin-tuc/bai-viet-1234.html")
    assert article is not None
    assert article.published == "2026-11-17T14:30:00+07:00"
    assert "Bản quyền" not in article.text


_STORY = "".join(
    f"<p>Đoạn {i}: công đoàn cơ sở đối thoại với doanh nghiệp về tiền lương, nhà trọ và bữa ăn ca"
    " của người lao động trong năm tới.</p>"
    for i in range(5)
)


def test_a_sidebar_box_after_the_story_is_not_more_of_it() -> None:
    """A portal column beside the article (a notice, a schedule) that the engine reads on as
    more of the story is cut at the article zone; the byline above it is then the body's last
    line, and a field."""
    title = "Đối thoại tại doanh nghiệp về tiền lương - Cổng thông tin"
    page = f"""<html lang="vi"><head><title>{title}</title></head>
<body><div class="row"><div class="col-main"><div class="detail">
<h2 class="news-title">Đối thoại tại doanh nghiệp về tiền lương</h2><div>08:40 | 02/12/2026</div>
{_STORY}<p><b>Minh Tâm</b></p></div></div>
<div class="col-side"><div class="box"><div class="box-title">Lịch tiếp công dân</div>
<div class="box-content"><p>Liên đoàn Lao động tỉnh tiếp công dân vào thứ Năm hằng tuần
tại trụ sở cơ quan, người lao động cần tư vấn pháp luật xin gọi
đường dây nóng trong giờ hành chính.</p></div></div></div></div>
</body></html>""".encode()
    article = extract_page(page, "https://ldld.example.vn/tin-tuc/doi-thoai-1234.html")
    assert article is not None
    assert "tiếp công dân" not in article.text
    assert article.text.split("\n")[-1].startswith("Đoạn 4:")
    assert article.author == "Minh Tâm"


def test_a_zone_holding_only_the_header_cuts_nothing() -> None:
    """When the headline's smallest container with enough text is the story's header (a long
    sapo beside it), the body that follows outside it is kept whole."""
    from lxml.html import fromstring

    from pipelines.extraction.body import within_zone

    header = fromstring("<div><h1>Tiêu đề</h1><p>Một sapo dài " + "rất dài " * 20 + "</p></div>")
    sapo = header.findall("p")[0].text_content()
    text = "\n".join([sapo, *(f"Đoạn {i} của thân bài, dài hơn cả sapo " + "x" * 200 for i in range(3))])
    assert within_zone(text, header) == text
    # ...while a zone holding most of the text cuts what stands after its last line.
    whole = fromstring(
        f"<div><p>{sapo}</p>" + "".join(f"<p>{line}</p>" for line in text.split("\n")[1:]) + "</div>"
    )
    assert within_zone(text + "\nHộp bên cạnh", whole) == text


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("bởi bientap — đăng 30/11/2026 15:40 — lần sửa cuối 01/12/2026 08:02", None),  # a login
        ("Người viết: Quang Minh", "Quang Minh"),
        ("Duy Chương - Thanh Tùng | 08:15 02/12/2026", "Duy Chương - Thanh Tùng"),
        ("Bài và ảnh: Hải Nam • 3 phút đọc", "Hải Nam"),
        ("Đăng bởi: Super User", None),
        ("Tác giả: PV", "PV"),
    ],
)
def test_a_byline_line_gives_the_name_and_not_its_dates_or_a_login(line: str, name: str | None) -> None:
    """A CMS byline shows the account, the publish and edit times on one line: only a
    person's name is an author."""
    from pipelines.extraction.body import byline_name

    assert byline_name(line) == name


def test_a_long_reads_credits_are_fields_and_its_writer_the_author() -> None:
    """Credits closing an e-magazine story (writer, designer, a date alone) leave the text;
    the writer is the author, the designer is not."""
    from pipelines.extraction.body import closing_lines

    story = "Đoạn một của bài viết dài.\nĐoạn hai của bài viết dài."
    trailer = closing_lines(story + "\nThực hiện: Minh Khôi - Hà Anh\nThiết kế: Tuấn Vũ\n03/12/2026")
    assert (trailer.text, trailer.author) == (story, "Minh Khôi - Hà Anh")
    designed = closing_lines(story + "\nĐồ hoạ: Tuấn Vũ")
    assert (designed.text, designed.author) == (story, None)
    # A sentence that starts like a credit is prose.
    prose = story + "\nNội dung: hội nghị bàn về tiền lương và nhà ở cho công nhân."
    assert closing_lines(prose).text == prose


@pytest.mark.parametrize(
    ("url", "stamp", "expected"),
    [
        # No date on the page: the address's, never the header clock's or a sidebar's.
        ("https://blog.example.vn/2026/11/17/cham-lo-tet/", "", "2026-11-17T00:00:00+07:00"),
        ("https://ldld.example.vn/cham-lo-tet-20261117143005.htm", "", "2026-11-17T14:30:05+07:00"),
        # A date-only stamp takes its time from the address on the same day...
        (
            "https://ldld.example.vn/cham-lo-tet-202611171430.htm",
            "<span>17/11/2026</span>",
            "2026-11-17T14:30:00+07:00",
        ),
        # ...and the page's own stamp wins over an address of another day.
        (
            "https://ldld.example.vn/cham-lo-tet-20261116.htm",
            "<span>17/11/2026 14:30</span>",
            "2026-11-17T14:30:00+07:00",
        ),
        # Eight digits that are no date are an id.
        (
            "https://ldld.example.vn/tin-12345678.html",
            "<span>17/11/2026 14:30</span>",
            "2026-11-17T14:30:00+07:00",
        ),
    ],
)
def test_the_date_in_the_address_is_read_last(url: str, stamp: str, expected: str) -> None:
    """A blog that prints no date, or prints the day only, still gets its article's moment."""
    article = extract_page(_page(stamp=stamp), url)
    assert article is not None
    assert article.published == expected

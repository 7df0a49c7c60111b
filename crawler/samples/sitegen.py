"""Generate a realistic Vietnamese union news site on disk, of any size, for crawl tests
and `bench/crawl.py`: article pages (header clock, related links, tag line, footer),
a paginated listing, an RSS feed, a gzipped sitemap behind a sitemap index, robots.txt
with a disallowed area, and an endless calendar (a spider trap) linked from every page.
Served with `crawler.samples.server.serve_sites`.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

_PLACES = [
    "Nghệ An",
    "Thanh Hoá",
    "Bắc Ninh",
    "Hải Phòng",
    "Đà Nẵng",
    "Bình Dương",
    "Đồng Nai",
    "Cần Thơ",
    "Quảng Ninh",
    "Thái Nguyên",
    "Long An",
    "Khánh Hoà",
]
_NAMES = ["Nguyễn Văn Hùng", "Trần Thị Thuỷ", "Lê Minh Tuấn", "Phạm Thu Hà", "Hoàng Đức Anh", "Vũ Thị Hoà"]
_TOPICS = [
    (
        "chăm lo Tết cho đoàn viên",
        "trao {n} suất quà Tết cho đoàn viên, người lao động có hoàn cảnh khó khăn",
    ),
    ("đối thoại về tiền lương", "tổ chức đối thoại với {n} doanh nghiệp về tiền lương, thưởng và nợ lương"),
    ("phát triển đoàn viên", "kết nạp {n} đoàn viên mới và thành lập công đoàn cơ sở tại doanh nghiệp"),
    (
        "an toàn vệ sinh lao động",
        "kiểm tra an toàn vệ sinh lao động tại {n} doanh nghiệp trong khu công nghiệp",
    ),
    ("nhà ở cho công nhân", "hỗ trợ tiền thuê nhà cho {n} công nhân đang làm việc tại các khu công nghiệp"),
    ("thoả ước lao động tập thể", "ký kết {n} bản thỏa ước lao động tập thể có nhiều điều khoản có lợi"),
]
_PARAS = [
    "Theo báo cáo, trong năm qua Liên đoàn Lao động tỉnh {place} đã {action}, vượt chỉ tiêu được giao.",
    "Phát biểu tại hội nghị, đồng chí {name}, Chủ tịch LĐLĐ tỉnh {place} đề nghị các cấp công đoàn tiếp tục "
    "đổi mới nội dung, phương thức hoạt động, hướng mạnh về cơ sở.",
    "Nhiều công nhân cho biết, hoạt động của công đoàn đã giúp họ yên tâm gắn bó với doanh nghiệp, nhất là "
    "trong giai đoạn đơn hàng giảm, thu nhập không ổn định.",
    "Dịp này, LĐLĐ tỉnh {place} cũng biểu dương {k} cán bộ công đoàn cơ sở tiêu biểu và trao bằng khen cho "
    "các tập thể có thành tích xuất sắc.",
    "Kết thúc chương trình, ban tổ chức ghi nhận ý kiến của người lao động về bữa ăn ca, "
    "thời giờ làm thêm và việc đóng bảo hiểm xã hội để kiến nghị doanh nghiệp giải quyết.",
]


# Sentence parts combined at random, so that articles share phrases but not most of their
# text (articles that shared all their text would rightly be clustered as one story).
# Also the corpus of bench/search_speed.py.
_SUBJECTS = [
    "Liên đoàn Lao động tỉnh {place}",
    "Công đoàn các khu công nghiệp {place}",
    "Ban chấp hành công đoàn cơ sở",
    "Đồng chí {name}",
    "Công đoàn ngành Dệt may",
    "Công đoàn ngành Giáo dục {place}",
    "Nhiều công nhân",
    "Đại diện doanh nghiệp",
    "Ban nữ công",
    "Hội đồng thi đua",
    "Đoàn kiểm tra liên ngành",
    "Công đoàn Viên chức tỉnh {place}",
    "Văn phòng tư vấn pháp luật",
    "Quỹ Trợ vốn CEP",
    "Nhà văn hoá lao động",
]
_ACTIONS = [
    "đã tổ chức",
    "vừa phối hợp triển khai",
    "đề nghị doanh nghiệp thực hiện",
    "kiểm tra việc thực hiện",
    "trao tặng",
    "tổng kết",
    "phát động",
    "giám sát",
    "hướng dẫn",
    "đối thoại về",
    "kiến nghị sửa đổi",
    "hỗ trợ kinh phí cho",
    "biểu dương",
    "ký kết",
    "khảo sát",
    "tập huấn về",
    "tuyên truyền",
    "thăm hỏi",
]
_OBJECTS = [
    "{n} suất quà Tết cho đoàn viên",
    "chế độ bảo hiểm xã hội cho {n} lao động",
    "bữa ăn ca trị giá {n} nghìn đồng",
    "thỏa ước lao động tập thể tại {n} doanh nghiệp",
    "an toàn vệ sinh lao động ở {n} cơ sở",
    "nhà ở xã hội cho {n} công nhân",
    "tiền thuê nhà cho {n} người lao động",
    "{n} cán bộ công đoàn cơ sở",
    "thời giờ làm thêm tối đa {n} giờ mỗi năm",
    "khoản nợ lương {n} triệu đồng",
    "thưởng Tết bình quân {n} nghìn",
    "kết nạp {n} đoàn viên mới",
    "chương trình Tết Sum vầy với {n} vé xe",
    "hội thi tay nghề cho {n} thí sinh",
    "mái ấm công đoàn cho {n} gia đình",
    "quỹ khuyến học {n} suất",
    "đình công của {n} công nhân",
]
_TAILS = [
    "trong năm {year}",
    "tại {place}",
    "trước Tết Nguyên đán",
    "nhân Tháng Công nhân",
    "theo Nghị quyết 02",
    "từ nguồn tài chính công đoàn",
    "với sự tham gia của {name}",
    "ở các khu chế xuất",
    "",
]


def sentence(rng: random.Random, year: int) -> str:
    """One sentence from the pools above."""
    fill = {
        "place": rng.choice(_PLACES),
        "name": rng.choice(_NAMES),
        "n": rng.randrange(3, 5000),
        "year": year,
    }
    parts = [rng.choice(_SUBJECTS), rng.choice(_ACTIONS), rng.choice(_OBJECTS), rng.choice(_TAILS)]
    return " ".join(p.format(**fill) for p in parts if p).strip() + "."


@dataclass(frozen=True)
class GeneratedArticle:
    """One generated article: where it is and what the crawl should find."""

    path: str
    title: str
    published: datetime


def _slug(text: str) -> str:
    table = str.maketrans(
        "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ",
        "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd",
    )
    words = "".join(c if c.isalnum() else " " for c in text.lower().translate(table)).split()
    return "-".join(words)


_SECTIONS = [
    "Thời sự",
    "Công đoàn",
    "Việc làm",
    "Pháp luật",
    "Đời sống",
    "Kinh tế",
    "Giáo dục",
    "Y tế",
    "Văn hoá",
    "Thể thao",
    "Bạn đọc",
    "Multimedia",
]
_SUBSECTIONS = ["Tin tức", "Hoạt động", "Chính sách", "Phóng sự", "Ý kiến", "Hỏi đáp"]


def _chrome_head() -> str:
    """What a real CMS puts in <head>: metadata, style sheets, a large inline style block
    and the ad and analytics scripts (tens of kilobytes the extractor parses and drops)."""
    css = "".join(
        f".box-{i} .title a{{color:#1a{i % 10};font-size:{12 + i % 6}px;margin:0 {i % 8}px}}"
        f".box-{i}:hover{{background:#f{i % 10}f{i % 10}f{i % 10}}}\n"
        for i in range(120)
    )
    slots = ",".join(
        f'{{"id":"ads-{i}","size":[300,{250 + i % 4 * 50}],"zone":"zone_{i}"}}' for i in range(60)
    )
    sheets = "".join(
        f'<link rel="stylesheet" href="/static/css/{name}.css?v=2021.12.08">'
        for name in ("reset", "layout", "menu", "detail", "sidebar", "footer")
    )
    return (
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{sheets}'
        f"<style>{css}</style><script>window.adSlots=[{slots}];</script>"
        "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),"
        "event:'gtm.js'});})(window,document,'script','dataLayer','GTM-0000');</script>"
    )


def _chrome_menu() -> str:
    """A mega menu: every section with its subsections (the subsections open in place)."""
    items = "".join(
        f'<li><a href="/tin-tuc/">{name}</a><ul class="sub">'
        + "".join(f'<li><a href="#">{sub} {name.lower()}</a></li>' for sub in _SUBSECTIONS)
        + "</ul></li>"
        for name in _SECTIONS
    )
    return f'<nav class="menu"><ul><li><a href="/">Trang chủ</a></li>{items}</ul></nav>'


def _chrome_sidebar(related: list[GeneratedArticle]) -> str:
    """ "Tin mới" and "Đọc nhiều" boxes: headlines with their teaser sentences."""
    rng = random.Random(len(related))  # noqa: S311 - sample text
    boxes = []
    for heading in ("Tin mới nhất", "Đọc nhiều", "Pháp luật - Chính sách"):
        entries = "".join(
            f'<li><a href="/{r.path}">{escape(r.title)}</a><p>{escape(sentence(rng, 2021))}</p></li>'
            for r in related
        )
        entries += "".join(
            f'<li><a href="/tin-tuc/">{escape(sentence(rng, 2021))}</a></li>' for _ in range(8)
        )
        boxes.append(f'<div class="box"><h3>{heading}</h3><ul>{entries}</ul></div>')
    return f'<aside class="sidebar">{"".join(boxes)}</aside>'


_FOOTER = (
    '<footer class="footer"><div class="links">'
    + "".join(f'<a href="/tin-tuc/">{name}</a> ' for name in _SECTIONS)
    + "</div><p>Công đoàn Mẫu - Cơ quan của Liên đoàn Lao động tỉnh. Giấy phép số 123/GP-BTTTT ngày "
    "08/12/2021. Tổng Biên tập: Nguyễn Văn A. Địa chỉ: 10 Lê Lợi, phường 1, thành phố. Điện thoại: "
    "0123 456 789. Email: toasoan@congdoanmau.vn. Ghi rõ nguồn khi phát hành lại thông tin từ website "
    "này.</p></footer>"
)


def article_page(
    title: str, published: datetime, paras: list[str], related: list[GeneratedArticle], author: str
) -> str:
    """One article page as a union news site serves it: about 30 KB of layout (head, mega
    menu, share buttons, sidebar boxes, footer) around the article."""
    # Related links carry tracking parameters and a fragment: the same article by another URL.
    links = "".join(
        f'<li><a href="/{r.path}?utm_source=related#top">{escape(r.title)}</a></li>' for r in related
    )
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    stamp = published.strftime("%H:%M %d/%m/%Y")
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>{escape(title)} - Công đoàn Mẫu</title>{_chrome_head()}</head><body>
<div class="top"><span class="clock">Thứ sáu, 20/11/2026 08:15</span>
<a href="/lich/?ngay=2021-12-01">Lịch</a></div>
<div class="menu"><a href="/">Trang chủ</a> <a href="/tin-tuc/">Tin tức</a>
<a href="/admin/bai-viet-moi-99999.html">Quản trị</a></div>{_chrome_menu()}
<div class="main"><div class="detail"><h1>{escape(title)}</h1>
<div class="meta"><span class="time">{stamp}</span></div>
<div class="share">Chia sẻ: <a href="#">Facebook</a> <a href="#">Zalo</a> <a href="#">In bài</a></div>
<div class="content">{body}</div><p class="author">{escape(author)}</p>
<div class="tags">Từ khóa: <a href="/tag/cong-doan/">công đoàn</a></div></div>
<div class="other"><h3>Tin cùng chuyên mục</h3><ul>{links}</ul></div>{_chrome_sidebar(related)}</div>
{_FOOTER}</body></html>"""


def write_article(
    root: Path,
    index: int,
    published: datetime,
    related: list[GeneratedArticle],
    *,
    rng: random.Random,
    edition: int = 0,
) -> GeneratedArticle:
    """Write one article page in the generated site's template."""
    topic, action = _TOPICS[index % len(_TOPICS)]
    place = _PLACES[(index // len(_TOPICS)) % len(_PLACES)]
    n = 50 + (index * 37) % 950
    title = f"LĐLĐ tỉnh {place}: {topic} năm {published.year} (bài {index})"
    fill = {
        "place": place,
        "action": action.format(n=n),
        "name": _NAMES[index % len(_NAMES)],
        "k": 5 + index % 40,
    }
    rest = rng.sample([p.format(**fill) for p in _PARAS[1:]], 2) + [
        " ".join(sentence(rng, published.year) for _ in range(3)) for _ in range(3)
    ]
    rng.shuffle(rest)
    paras = [_PARAS[0].format(**fill), *rest]
    # A real article runs to 500-800 words: more paragraphs, drawn from a generator of
    # their own so that the texts above stay what they were.
    more = random.Random(index * 7919 + published.year)  # noqa: S311 - sample text
    paras += [" ".join(sentence(more, published.year) for _ in range(4)) for _ in range(6)]
    if edition:
        paras.append(f"Cập nhật lần {edition}: ban tổ chức bổ sung danh sách {n + edition} người.")
    path = f"tin-tuc/{_slug(title)}-{100000 + index}.html"
    article = GeneratedArticle(path, title, published)
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        article_page(title, published, paras, related, _NAMES[(index + 2) % len(_NAMES)]), encoding="utf-8"
    )
    return article


def write_indexes(
    root: Path,
    articles: list[GeneratedArticle],
    host: str,
    per_page: int = 20,
    lastmod: dict[str, datetime] | None = None,
) -> None:
    """Listing pages, feed, sitemaps, home page and robots.txt for `articles` (newest first)."""
    newest = sorted(articles, key=lambda a: a.published, reverse=True)
    pages = [newest[i : i + per_page] for i in range(0, len(newest), per_page)] or [[]]
    for number, chunk in enumerate(pages, start=1):
        items = "".join(
            f'<li><a href="/{a.path}">{escape(a.title)}</a> {a.published:%d/%m/%Y}</li>' for a in chunk
        )
        more = (
            f'<a class="more" href="/tin-tuc/trang-{number + 1}.html">Xem thêm</a>'
            if number < len(pages)
            else ""
        )
        name = "tin-tuc/index.html" if number == 1 else f"tin-tuc/trang-{number}.html"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(
            f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>Tin tức</title></head><body><h1>Tin tức</h1><ul>{items}</ul>{more}</body></html>""",
            encoding="utf-8",
        )
    rss = "".join(
        f"<item><title>{escape(a.title)}</title><link>http://{host}/{a.path}</link>"
        f"<pubDate>{a.published:%a, %d %b %Y %H:%M:%S} +0700</pubDate></item>"
        for a in newest[:50]
    )
    (root / "rss").mkdir(exist_ok=True)
    (root / "rss" / "tin-moi.rss").write_text(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Tin mới</title>{rss}'
        "</channel></rss>",
        encoding="utf-8",
    )
    stamps = lastmod or {}
    urls = "".join(
        f"<url><loc>http://{host}/{a.path}</loc>"
        f"<lastmod>{stamps.get(a.path, a.published):%Y-%m-%dT%H:%M:%S}+07:00</lastmod></url>"
        for a in newest
    )
    (root / "sitemaps").mkdir(exist_ok=True)
    (root / "sitemaps" / "articles-1.xml.gz").write_bytes(
        gzip.compress(
            f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>".encode(),
            mtime=0,
        )
    )
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>http://{host}/sitemaps/articles-1.xml.gz</loc></sitemap></sitemapindex>",
        encoding="utf-8",
    )
    latest = "".join(f'<li><a href="/{a.path}">{escape(a.title)}</a></li>' for a in newest[:10])
    (root / "index.html").write_text(
        f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>Công đoàn Mẫu</title></head><body><div class="clock">Thứ sáu, 20/11/2026 08:15</div>
<a href="/tin-tuc/">Tin tức</a> <a href="/lich/?ngay=2021-12-01">Lịch công tác</a>
<a href="/admin/">Quản trị</a><ul>{latest}</ul></body></html>""",
        encoding="utf-8",
    )
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /admin/\n", encoding="utf-8")


def generate_site(root: Path, count: int, host: str, seed: int = 7) -> list[GeneratedArticle]:
    """`count` articles, one every 6 hours back from 2021-12-08 08:00, with all indexes;
    `host` (`127.0.0.1:8740`) is where the site will be served (sitemaps and feeds
    carry absolute URLs)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample text, not security
    root.mkdir(parents=True, exist_ok=True)
    start = datetime(2021, 12, 8, 8, 0)
    articles: list[GeneratedArticle] = []
    for index in range(count):
        related = articles[-3:]
        articles.append(write_article(root, index, start - timedelta(hours=6 * index), related, rng=rng))
    write_indexes(root, articles, host)
    (root / "_calendar").write_text("an endless calendar is served under /lich/\n", encoding="utf-8")
    return articles

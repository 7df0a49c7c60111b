"""The article body from the engine's text and the article zone: the lead (sapo) put back,
the repeated headline, teaser and label lines, trailing related-lists, the tag line and a
trailing signature taken out; the byline and a republished article's named origin found."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

from pipelines.extraction.dates import has_stamp
from pipelines.extraction.pagemeta import person, spaced_in, squash
from pipelines.extraction.xpath import Elements

_LEAD_CLASS = re.compile(
    r"(^|[\s_-])(sapo|lead|chapeau|summary|excerpt|intro|teaser|description|desc|"
    r"tom-?tat|mo-?ta)([\s_-]|$)",
    re.IGNORECASE,
)

_LEAD_MIN, _LEAD_MAX = 40, 1500
_SUBTITLE_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})

_MARKED = Elements("descendant-or-self::*[@class or @id or @itemprop]")

_TAG_CANDIDATES = Elements("descendant-or-self::*[@class or @id or contains(text(), ':')]")


def _marker(node: HtmlElement) -> str:
    """What a template calls an element: its class and id."""
    return f"{node.get('class', '')} {node.get('id', '')}"


def find_lead(zone: HtmlElement) -> str | None:
    """The lead paragraph (sapo), which generic extractors often drop, if the page marks it."""
    for node in _MARKED(zone):
        if node.tag in ("a", "img", "script", "style"):
            continue
        # A lead is one paragraph: a marked box of several is the body itself (Drupal's
        # body field is "text-with-summary").
        # Microdata's description is a lead when it stands as text; as a heading it is a
        # subtitle (a deck), which a reader does not take for the story's first paragraph.
        described = node.get("itemprop") == "description" and node.tag not in _SUBTITLE_TAGS
        marked = _LEAD_CLASS.search(_marker(node)) or described
        if marked and len(node.findall(".//p")) < 2:
            text = squash(node.text_content())
            # ...and not a teaser of another story (its words are a link's)
            linked = sum(len(a.text_content()) for a in node.iter("a"))
            if _LEAD_MIN <= len(text) <= _LEAD_MAX and linked * 2 < len(text):
                return text
    return None


_SOURCE = re.compile(r"\(\s*(?:Nguồn|Theo|Source)\s*:?\s*(https?://[^\s)]+)\s*\)", re.IGNORECASE)

# "(Nguồn: Công đoàn Việt Nam)", "(Theo Báo Lao Động)": an origin named in words only.
_SOURCE_NAME = re.compile(r"\(\s*(?:Nguồn|Theo)\s*:?\s*([^()\n:/]{2,80}?)\s*\)", re.IGNORECASE)


def source_name(text: str) -> str | None:
    """The origin a republished article names in words (no address), e.g. `(Nguồn: Báo Lao
    Động)`; None when it names none or gives an address."""
    named = [m.group(1).strip() for m in _SOURCE_NAME.finditer(text)]
    last = named[-1] if named else None  # a source line ends the article
    return last if last and not re.search(r"https?|www\.", last) else None


def source_url(text: str) -> str | None:
    """The origin a republished article names, e.g. `(Nguồn: https://nld.com.vn/...)`."""
    match = _SOURCE.search(text)
    return match.group(1).rstrip(".,;") if match else None


# Teaser lines and trailing lists: a label line ("Related: ...", "Xem thêm: ...") is dropped;
# a list heading ("Tin cùng chuyên mục") ends the body when it comes in its second half.
_TEASER_LINE = re.compile(
    r"^(related( (post|stories|articles?))?|read (more|also)|see (more|also)|also (on|read)|filed under"
    r"|xem thêm|đọc thêm|tin liên quan|bài liên quan|xem tiếp|tin (bài )?liên quan)\s*:",
    re.IGNORECASE,
)

_NOISE_LINE = re.compile(
    r"^(comments?|advertisement|quảng cáo|you may also like\W*|don'?t miss|like this story\?.*"
    r"|share (this|on)( (article|story|post|page|facebook|twitter|zalo))?\W*"
    r"|chia sẻ( bài viết)?\s*:?.*|bình luận( \(\d+\))?|ảnh\s*:.{0,60}"
    r"|(!function|var \w+\s*=|window\.|document\.)\W.*"  # inline script text
    r"|((tổng\s+)?(số\s+)?lượt\s+(truy\s+cập|xem|người\s+xem)|đang\s+(online|truy\s+cập|xem)|trực\s+tuyến"
    r"|hôm\s+nay|hôm\s+qua|tuần\s+này|tháng\s+này|visitors?|online)\s*:\s*[\d.,\s]+"  # visitor counters
    r"|(subscribe|sign up)\b.{0,80}\bnewsletters?\b.{0,120})$",
    re.IGNORECASE,
)

_TRAILING_LIST = re.compile(
    r"^(tin cùng chuyên mục|đọc thêm|có thể bạn quan tâm|nên xem|tin khác|các tin khác|bài viết liên quan"
    r"|tin liên quan|tin tức mới nhất|tin mới nhất|tin đọc nhiều|xem thêm|cùng chuyên mục"
    r"|related (articles|stories|posts)|you (may|might) also like|more (stories|from)|most read\b.*"
    r"|tags?|từ khóa|từ khoá)\W*$",
    re.IGNORECASE,
)

_CLICK_TO_TWEET = re.compile(r"\s*Click To Tweet$")


def drop_teasers(lines: list[str]) -> list[str]:
    """Remove teaser/label lines and cut a trailing related-list that the engine kept."""
    kept: list[str] = []
    # The button's regex only where the line ends with it: tried at every position of every
    # line, it cost a few microseconds a line.
    untweeted = (_CLICK_TO_TWEET.sub("", line) if line.endswith("Click To Tweet") else line for line in lines)
    for i, line in enumerate(untweeted):
        if _TRAILING_LIST.match(line) and i >= len(lines) / 2:
            break
        if not (_TEASER_LINE.match(line) or _NOISE_LINE.match(line)):
            kept.append(line)
    return kept


@dataclass(frozen=True)
class TagLine:
    """A "Từ khóa: a, b, c" line: its tags go to `tags`, its text leaves the body."""

    text: str
    tags: list[str]


_TAG_LABEL = re.compile(r"^\s*(từ\s*khóa|từ\s*khoá|tags?|chủ\s*đề|keywords?)\s*:", re.IGNORECASE)

_TAG_LINE_MAX = 400

_TAG_CLASS = re.compile(r"(^|[\s_-])(tags?|keywords?|tu-?khoa)([\s_-]|$)", re.IGNORECASE)


def find_tag_line(zone: HtmlElement) -> TagLine | None:
    """The article's tag line ("Từ khóa: ..." or an element marked as tags), if any."""
    for node in _TAG_CANDIDATES(zone):
        if node.tag in ("a", "script", "style"):
            continue
        if not (_TAG_CLASS.search(_marker(node)) or (node.text and _TAG_LABEL.match(node.text))):
            continue
        text = squash(node.text_content())
        if not text or len(text) > 400:
            continue
        tags = [squash(a.text_content()) for a in node.iter("a")]
        tags = [t for t in tags if t]
        if not tags:
            tags = [t.strip() for t in _TAG_LABEL.sub("", text).split(",") if t.strip()]
        if tags:
            return TagLine(text, tags)
    return None


_BYLINE_CLASS = re.compile(r"(^|[\s_-])(author|byline|tac-?gia|writer|reporter)([\s_-]|$)", re.IGNORECASE)

_BYLINE_PREFIX = re.compile(
    r"^(tác giả|bài và ảnh|bài|theo|người viết|người đăng|phóng viên"
    r"|(?:đăng|viết|người đăng|posted|written)?\s*bởi"
    r"|(?:posted |written )?by)\s*:?\s*",
    re.IGNORECASE,
)


def trailing_byline(zone: HtmlElement) -> str | None:
    """The short right-aligned last paragraph many Vietnamese CMS use for the author."""
    paragraphs = [p for p in zone.iter("p") if p.text_content().strip()]
    if not paragraphs:
        return None
    last = paragraphs[-1]
    right = last.get("align") == "right" or "text-align:right" in last.get("style", "").replace(" ", "")
    text = squash(last.text_content())
    if right and len(text) <= 60 and len(text.split()) <= 8 and not text.endswith("."):
        return _BYLINE_PREFIX.sub("", text)
    return None


def byline(zone: HtmlElement) -> str | None:
    """A byline element inside the article zone (`<p class="author">Duy Chương - Thanh Tùng</p>`)."""
    for node in _MARKED(zone):
        if _BYLINE_CLASS.search(_marker(node)):
            text = squash(node.text_content())
            if 2 < len(text) <= 160:
                return byline_name(text)
    return None


# Parts of a byline line: "bởi bientap — đăng 30/11/2026 15:40 — lần sửa cuối ...". A plain
# hyphen is no separator here: it joins two names ("Duy Chương - Thanh Tùng").
_BYLINE_PARTS = re.compile(r"\s+[—–|•·]\s+|\s*[|•·]\s*")


def byline_name(text: str) -> str | None:
    """The name a byline line gives: its parts up to the first holding a date or a time,
    without a "Bài:"/"bởi" prefix; None when that is a CMS account or a login."""
    names = []
    for part in _BYLINE_PARTS.split(squash(text)):
        if any(ch.isdigit() for ch in part):
            break
        names.append(part)
    name = strip_byline_prefix(" - ".join(names)).strip(" -—–:")
    return person(name) if 2 <= len(name) <= 80 else None


_ZONE_SHARE = 0.5  # of the engine's text the article zone must hold before it is trusted


def within_zone(text: str, zone: HtmlElement) -> str:
    """The engine's text without the lines before and after the article zone's: a sidebar
    box (a notice, a schedule, a hotline) or a column beside the article that the engine
    took as more of the story. Lines between two of the zone's stay, and nothing is cut
    unless the zone holds at least half of the text: a zone that is only the story's header
    says nothing about where its body ends."""
    lines = text.split("\n")
    held = zone.text_content()
    # Only the first and the last line the zone holds are looked for, from each end (most
    # often the very first and last lines): the lines between stay whatever they are.
    first = next((i for i, line in enumerate(lines) if _held(line, held)), None)
    if first is None:
        return text
    last = next(i for i in range(len(lines) - 1, first - 1, -1) if _held(lines[i], held))
    if first == 0 and last == len(lines) - 1:
        return text
    kept = lines[first : last + 1]
    if sum(map(len, kept)) < _ZONE_SHARE * len(text):
        return text
    return "\n".join(kept)


def _held(line: str, held: str) -> bool:
    """`line` stands in the zone's text, whatever whitespace the engine put between words."""
    line = squash(line)
    return bool(line) and (line in held or spaced_in(held, line))


_REPEAT_MIN_CHARS = 60  # paragraphs, not list items (a list may repeat its items)
_PROSE_CHARS = 150
_DATELINE_MAX_WORDS = 14


def is_dateline(line: str) -> bool:
    """A short header line that carries the date stamp (`Ảnh - Hải Nguyễn Thứ bảy, 18/01/2025 |
    10:05`), not a sentence."""
    if len(line.split()) > _DATELINE_MAX_WORDS or line.rstrip().endswith((".", "!", "?", "”", '"')):
        return False
    return has_stamp(line)


def once(lines: list[str]) -> list[str]:
    """A block the page holds twice (a print or AMP variant, a summary box and the full
    body, nested candidates) written where it first appears: a run of two or more
    paragraphs seen before, one of them prose-long, is dropped. One repeated paragraph (a
    pull quote) and repeated list items (a menu, a schedule) stay."""
    seen: set[str] = set()
    repeat = []
    for line in lines:
        key = " ".join(line.lower().split())
        repeat.append(len(key) >= _REPEAT_MIN_CHARS and key in seen)
        seen.add(key)
    doomed: set[int] = set()
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) and repeat[end]:
            end += 1
        run = range(start, end)
        if len(run) >= 2 and any(len(lines[i]) >= _PROSE_CHARS for i in run):
            doomed.update(run)
        start = end + 1
    return [line for i, line in enumerate(lines) if i not in doomed]


def assemble_body(
    text: str,
    title: str | None,
    lead: str | None,
    tag_line: TagLine | None = None,
    signature: str | None = None,
) -> str:
    """Paragraphs one per line; the headline repeated as first line dropped; the lead put
    back; the tag line and a trailing signature (byline) taken out."""
    lines = [squash(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if title and lines and lines[0] == squash(title):
        lines = lines[1:]
    # The tag line, found in the page or written as one ("Từ khóa: a, b"), is not body text.
    lines = [
        line
        for line in lines
        if not (tag_line and line == tag_line.text)
        and not (_TAG_LABEL.match(line) and len(line) <= _TAG_LINE_MAX)
    ]
    lines = once(drop_teasers(lines))
    # The story's header (section, byline and date on one line) is not its first paragraph.
    head = [line for line in lines[:3] if is_dateline(line)]
    lines = [line for line in lines if line not in head]
    if signature and lines and signature in lines[-1] and len(lines[-1]) <= len(signature) + 12:
        lines.pop()
    if lead and lead not in " ".join(lines[:3]):
        lines.insert(0, lead)
    return "\n".join(lines)


@dataclass(frozen=True)
class Trailer:
    """What the last lines of a body said about the article rather than in it."""

    text: str
    author: str | None = None
    source_url: str | None = None
    source_name: str | None = None


# A whole line naming the origin: "(Nguồn: https://...)", "Nguồn: Báo Lao Động", "Theo laodong.vn".
_SOURCE_LINE = re.compile(
    r"^[(\[]?\s*(?:Nguồn|Theo|Source)\s*:?\s*(?P<origin>[^()\[\]]{2,300}?)\s*[)\]]?\s*\.?$", re.IGNORECASE
)
# ... or closing the last paragraph: "... trong quý tới. (Nguồn: Lao Động)"
_SOURCE_TAIL = re.compile(
    r"\s*[(\[]\s*(?:Nguồn|Theo|Source)\s*:?\s*(?P<origin>[^()\[\]]{2,300}?)\s*[)\]]\s*\.?$", re.IGNORECASE
)
_NAME_SEPARATORS = re.compile(r"\s*(?:[-–/,&]|\bvà\b)\s*")
_MAX_NAME_CHARS = 60
# A long read's closing credits: who wrote it, then who designed, drew or filmed it, and
# often its date on a line of its own. A writer's credit is the author; the rest are not.
_CREDIT = re.compile(
    r"^(?P<label>nội dung|thực hiện|bài viết|thiết kế|đồ họa|đồ hoạ|kỹ thuật|trình bày|video"
    r"|dựng phim|quay phim|minh họa|minh hoạ|biên tập|design|graphics?)\s*:\s*(?P<names>.+)$",
    re.IGNORECASE,
)
_WRITER_CREDITS = frozenset({"nội dung", "thực hiện", "bài viết"})
_BARE_DATE = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-](?:\d{2}|\d{4})$")
_MAX_CLOSING_LINES = 8


def _origin(origin: str) -> tuple[str | None, str | None]:
    """(source URL, source name) of an origin as written."""
    origin = origin.strip().rstrip(".,;")
    if re.match(r"https?://\S+$", origin):
        return origin, None
    if not origin or "," in origin or len(origin.split()) > 10 or origin.endswith(":"):
        return None, None
    # "Theo quy định ..." is prose, not an origin: a name starts with a capital or is a host.
    if not (origin[0].isupper() or re.match(r"[\w-]+(\.[\w-]+)+$", origin)):
        return None, None
    return None, origin


def name_only(line: str) -> str | None:
    """The names a short closing line gives (`Ngọc Mai`, `Bài, ảnh: Thu Hà - Minh Anh`, `PV`),
    else None: every word capitalised, no digits, no sentence."""
    text = re.sub(r"^(bài,?\s*ảnh|ảnh|bài)\s*:\s*", "", line.strip(), flags=re.IGNORECASE)
    text = _BYLINE_PREFIX.sub("", text).strip(" ()")
    if not text or len(text) > _MAX_NAME_CHARS or any(c.isdigit() for c in text):
        return None
    if text.endswith((".", "!", "?", ":")):
        return None
    names = [n for n in _NAME_SEPARATORS.split(text) if n]
    words = [w for n in names for w in n.split()]
    if not names or not 1 <= len(words) <= 10 or any(len(n.split()) > 4 for n in names):
        return None
    if not all(w[0].isupper() for w in words if w.lower() not in ("và",)):
        return None
    return text


def closing_lines(text: str) -> Trailer:
    """A copy's source line (to `source_url` / `source_name`), a trailing name-only line or a
    long read's credits (to `author`) and a date alone on the last line, taken off the end of
    the body in whichever order they come."""
    lines = text.split("\n")
    author = url = name = None
    for _ in range(_MAX_CLOSING_LINES):
        if len(lines) < 2:
            break
        last = lines[-1]
        if _BARE_DATE.match(last.strip()):
            lines.pop()
            continue
        credit = _CREDIT.match(last.strip())
        if credit and (who := name_only(credit.group("names"))):
            if credit.group("label").casefold() in _WRITER_CREDITS:
                author = who
            lines.pop()
            continue
        whole = _SOURCE_LINE.match(last)
        found = _origin(whole.group("origin")) if whole else (None, None)
        if whole and any(found):
            url, name = url or found[0], name or found[1]
            lines.pop()
            continue
        tail = _SOURCE_TAIL.search(last)
        found = _origin(tail.group("origin")) if tail else (None, None)
        if tail and any(found):
            url, name = url or found[0], name or found[1]
            lines[-1] = last[: tail.start()].rstrip()
            continue
        if author is None and (who := name_only(last)):
            author = who
            lines.pop()
            continue
        break
    return Trailer("\n".join(lines), author, url, name)


def strip_byline_prefix(text: str) -> str:
    """`Bài và ảnh: Duy Chương` -> `Duy Chương`."""
    return _BYLINE_PREFIX.sub("", squash(text))

"""The headline search's question "is this declared title shown on the page?"."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.extraction.pagemeta import spaced_in, squash

# Few letters, several kinds of whitespace: titles then often stand in the text, and often
# nearly (a word short, a space missing), which is where a matcher goes wrong.
_TEXT = st.text(alphabet="ab c\n\t\u00a0ư", max_size=30)


@settings(max_examples=3000)
@given(_TEXT, _TEXT)
def test_a_title_is_found_with_any_whitespace_between_its_words(text: str, title: str) -> None:
    """Exactly when the squashed title is in the squashed text (inside words too: the
    headline element's own text is matched later)."""
    title = squash(title)
    assert spaced_in(text, title) == (bool(title) and title in squash(text))


def test_a_title_broken_over_lines_is_found_and_a_near_one_is_not() -> None:
    page = "Trang chủ\n  Công đoàn chăm lo\n\t Tết cho\u00a0người lao động  \nTin khác"
    assert spaced_in(page, "Công đoàn chăm lo Tết cho người lao động")
    assert not spaced_in(page, "Công đoàn chăm lo Tết cho người lao động năm 2027")
    assert not spaced_in(page, "Công đoànchăm lo")
    # Words before and after the longest one each need whitespace between them.
    assert not spaced_in("chăm loTết cho", "lo Tết")
    assert not spaced_in("chăm lo Tếtcho", "Tết cho")
    assert spaced_in("chăm lo\n Tết\tcho", "lo Tết cho")


def test_the_marked_headline_is_the_one_the_page_title_names() -> None:
    """A sidebar box with a notice of its own sits in a smaller container than the story; when
    `<title>` begins with one marked headline, that one is the story's, not the box's."""
    from lxml.html import fromstring

    from pipelines.extraction.pagemeta import marked_headline

    notice = "Người lao động cần tư vấn pháp luật xin gọi đường dây nóng trong giờ hành chính. " * 7
    story = "".join(
        f"<p>Đoạn {i}: công đoàn đối thoại với doanh nghiệp về tiền lương năm tới.</p>" for i in range(12)
    )
    head = '<div class="news-title">Đối thoại về tiền lương tại doanh nghiệp</div>'
    box = f'<div class="box-title">Lịch tiếp công dân hằng tuần</div><p>{notice}</p>'
    tree = fromstring(
        f"<html><body><div><div><div>{head}{story}</div></div><div><div>{box}</div></div></div></body></html>"
    )
    alone = marked_headline(tree)
    assert alone is not None
    assert alone[0] == "Lịch tiếp công dân hằng tuần"  # the box wins on container size alone...
    found = marked_headline(tree, ["Đối thoại về tiền lương tại doanh nghiệp - Cổng thông tin"])
    assert found is not None
    assert found[0] == "Đối thoại về tiền lương tại doanh nghiệp"
    # ...and a title naming neither leaves the choice to the containers.
    other = marked_headline(tree, ["Cổng thông tin Liên đoàn Lao động"])
    assert other is not None
    assert other[0] == alone[0]

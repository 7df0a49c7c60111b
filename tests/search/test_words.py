"""Unquoted queries match Vietnamese words (runs of syllables), not scattered syllables;
abbreviations union news writes both ways find each other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from config.settings import get_settings
from pipelines.fingerprint import content_hash
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search import words
from search.article import Article
from search.query import Or, Term, parse
from search.schema import alias_name
from search.search import search
from tests.support import run_cli

# Stories written for these tests: each pair holds the same syllables, once as the word
# and once scattered over other words.
STORIES = {
    "strike": ("Công nhân đình công đòi trả lương", "Sáng nay 200 công nhân ngừng việc, đình công tập thể."),
    "family": ("Thăm gia đình đoàn viên", "Công đoàn tặng quà gia đình có công nhân bị tai nạn."),
    "rule": ("Quy định công khai thang lương", "Doanh nghiệp phải công khai thang bảng lương."),
    "housing": ("Nhà ở cho công nhân khu chế xuất", "Dự án nhà ở dành cho công nhân thuê."),
    "housing-adjacent": ("Giải bài toán công nhân nhà ở", "Công nhân nhà ở vẫn là nỗi lo."),
    "house-scattered": ("Công nhân về nhà đón Tết", "Ở quê, nhà nào cũng chờ công nhân về."),
    "insurance-abbr": ("Chậm đóng BHXH cho 500 lao động", "Doanh nghiệp nợ BHXH nhiều tháng."),
    "insurance-long": ("Tư vấn bảo hiểm xã hội tự nguyện", "Người dân tìm hiểu bảo hiểm xã hội."),
    "insurance-scattered": ("Bảo hiểm y tế cho học sinh", "Chính sách xã hội hỗ trợ học sinh nghèo."),
    "agreement-old-tone": ("Ký thoả ước lao động tập thể ngành dệt", "Thoả ước có lợi hơn luật."),
}


def _slugs(hits: list[dict[str, object]]) -> list[str]:
    return [str(h["url"]).rsplit("/", 1)[-1].removesuffix(".html") for h in hits]


def _write(es: Elasticsearch, prefix: str, stories: dict[str, tuple[str, str]]) -> str:
    docs = []
    for slug, (title, text) in stories.items():
        article = normalize_article(
            Article(
                url=f"https://cd.example.vn/{slug}.html",
                site="cd",
                title=title,
                text=text,
                published="2024-05-02T08:00:00+07:00",
                fetched_at="2024-05-02T09:00:00+00:00",
            ),
            "cd.example.vn",
        )
        article.content_hash = content_hash(article.text)
        docs.append(article)
    write_batch(es, prefix, docs)
    es.indices.refresh(index=alias_name(prefix))
    return prefix


@pytest.fixture
def stories(es: Elasticsearch, env: dict[str, str]) -> str:
    return _write(es, env["NEWSMON_INDEX_PREFIX"], STORIES)


@pytest.mark.es
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("đình công", {"strike"}),  # not "gia đình ... công nhân"
        ("dinh cong", {"strike", "rule"}),  # no diacritics: "quy định công khai" too
        ("công nhân nhà ở", {"housing", "housing-adjacent"}),  # two words, any order
        ("cong nhan nha o", {"housing", "housing-adjacent"}),
        ("BHXH", {"insurance-abbr", "insurance-long"}),  # abbreviation both ways
        ("bảo hiểm xã hội", {"insurance-abbr", "insurance-long"}),
        ("bao hiem xa hoi", {"insurance-abbr", "insurance-long"}),
        ("thỏa ước lao động tập thể", {"agreement-old-tone"}),  # old and new tone placement
        ("TƯLĐTT", {"agreement-old-tone"}),
        ('"đình" công', {"strike", "family"}),  # quotes: the syllable as typed, alone
        ("đình công OR BHXH", {"strike", "insurance-abbr", "insurance-long"}),
        ("công nhân -nhà ở", {"strike", "family", "house-scattered"}),  # "-" excludes the word after it
        ("-nhà ở công nhân", {"strike", "family", "house-scattered"}),
    ],
)
def test_unquoted_words_match_as_runs_of_syllables(
    stories: str, es: Elasticsearch, query: str, expected: set[str]
) -> None:
    assert set(_slugs(search(es, stories, query, limit=50)["hits"])) == expected


@pytest.mark.es
def test_stories_holding_the_words_adjacent_rank_first(stories: str, es: Elasticsearch) -> None:
    assert _slugs(search(es, stories, "công nhân nhà ở")["hits"])[0] == "housing-adjacent"


@pytest.mark.es
def test_words_side_by_side_in_a_body_rank_above_the_same_words_apart(
    es: Elasticsearch, env: dict[str, str]
) -> None:
    """Neither title holds the words; the body that holds them apart holds each twice."""
    prefix = _write(
        es,
        env["NEWSMON_INDEX_PREFIX"],
        {
            "apart": (
                "Chuyện ở khu trọ",
                "Công nhân thuê trọ gần nhà máy. Công nhân mong có nhà ở. Chủ trọ nói nhà ở chật.",
            ),
            "side-by-side": (
                "Chuyện ở ký túc xá",
                "Dự án mới giải quyết chỗ cho công nhân nhà ở xa nhà máy. Chủ đầu tư nói vậy.",
            ),
        },
    )
    assert _slugs(search(es, prefix, "công nhân nhà ở")["hits"]) == ["side-by-side", "apart"]


@pytest.mark.es
def test_abbreviation_matches_are_highlighted(stories: str, es: Elasticsearch) -> None:
    found = search(es, stories, "bảo hiểm xã hội")["hits"]
    hits = dict(zip(_slugs(found), found, strict=True))
    assert "<mark>BHXH</mark>" in str(hits["insurance-abbr"]["snippet"])
    assert "<mark>bảo hiểm xã hội</mark>" in str(hits["insurance-long"]["snippet"])


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("đình công", ["đình công"]),
        ("dinh cong", ["dinh cong"]),
        ("công nhân nhà ở", ["công nhân", "nhà ở"]),
        ("cong nhan nha o", ["cong nhan", "nha o"]),
        ("tăng ca công nhân", ["tăng ca", "công nhân"]),  # unknown to the dictionary: kept together
        ("nợ lương", ["nợ lương"]),
        ("chậm trả lương", ["chậm trả lương"]),
        ("tăng ca nợ lương", ["tăng ca", "nợ lương"]),  # four unknown syllables: words of two
        ("tăng ca nợ lương ngày", ["tăng ca", "nợ lương ngày"]),
        ("hợp đồng lao động", ["hợp đồng lao động"]),  # a term of config/words.yaml
        ("LĐLĐ tỉnh", ["LĐLĐ", "tỉnh"]),  # an abbreviation is a word of its own
        ("lương", ["lương"]),
    ],
)
def test_runs_split_into_words(run: str, expected: list[str]) -> None:
    assert [" ".join(w) for w in words.segment(run.split())] == expected


@pytest.fixture
def words_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A words file of the test's own in NEWSMON_WORDS, read afresh."""
    path = tmp_path / "words.yaml"
    monkeypatch.setenv("NEWSMON_WORDS", str(path))
    get_settings.cache_clear()
    words.lexicon.cache_clear()
    yield path
    get_settings.cache_clear()
    words.lexicon.cache_clear()


def test_abbreviations_are_editable_data(words_file: Path) -> None:
    words_file.write_text(
        "abbreviations:\n  CĐN: [công đoàn ngành]\nterms: [tháng hành động]\n", encoding="utf-8"
    )
    assert parse("cdn") == Or((Term("cdn"), Term("cong doan nganh", alternative=True)))
    assert parse("công đoàn ngành") == Or((Term("công đoàn ngành"), Term("CĐN", alternative=True)))
    assert parse("tháng hành động") == Term("tháng hành động")


@pytest.mark.es
def test_malformed_words_file_is_named(words_file: Path, env: dict[str, str]) -> None:
    words_file.write_text("abbreviations: [BHXH]\n", encoding="utf-8")
    with pytest.raises(words.WordsFileError, match=str(words_file)):
        words.lexicon()
    result = run_cli("search", "bhxh", env={**env, "NEWSMON_WORDS": str(words_file)})
    assert result.returncode == 2
    assert str(words_file) in result.stderr
    assert "Traceback" not in result.stderr

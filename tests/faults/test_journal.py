"""The journal keeps what Elasticsearch has not acknowledged: across reopenings, with damaged
rows set aside (the others kept), and the JSON-lines spool of earlier versions adopted."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from pipelines.journal import Journal
from search.article import Article


def _articles(count: int) -> list[Article]:
    return [
        Article(
            url=f"https://cd.example.vn/bai-{n}-1001.html",
            title=f"Tin {n}",
            text="Nội dung " * 30,
            id=f"{n:032x}",
        )
        for n in range(count)
    ]


def test_rows_stay_until_removed_and_survive_a_reopen(tmp_path: Path, engine: str | None) -> None:
    journal = Journal(tmp_path / "one", engine)
    journal.append(_articles(5), "ConnectionError")
    journal.close()
    # Shared, the rows wait for any machine: here, another data directory.
    again = Journal(tmp_path / ("two" if engine else "one"), engine)
    [first, second] = list(again.batches(3))
    assert [doc.url for _, doc in first + second] == [a.url for a in _articles(5)]
    again.remove([row for row, _ in first])
    assert again.count() == 2
    assert [doc.title for _, doc in next(again.batches(10))] == ["Tin 3", "Tin 4"]
    again.close()


def test_a_damaged_row_is_set_aside_and_the_others_replayed(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(_articles(3), "ConnectionError")
    db = sqlite3.connect(tmp_path / "journal.sqlite")
    with db:
        db.execute('UPDATE entries SET doc = \'{"url": "https://cd\' WHERE id = 2')
    db.close()
    replayed = [doc.title for rows in journal.batches(10) for _, doc in rows]
    assert replayed == ["Tin 0", "Tin 2"]
    assert journal.damaged_found == 1
    assert journal.damaged() == 1
    assert journal.count() == 2


def test_a_local_journal_is_handed_to_the_shared_one(tmp_path: Path, state_url: str) -> None:
    local = Journal(tmp_path)
    local.append(_articles(3), "ConnectionError")
    local.close()
    shared = Journal(tmp_path, state_url)
    assert [doc.title for rows in shared.batches(10) for _, doc in rows] == ["Tin 0", "Tin 1", "Tin 2"]
    shared.close()
    left, elsewhere = Journal(tmp_path), Journal(tmp_path / "elsewhere", state_url)
    assert left.count() == 0  # taken over, not copied: replayed once
    assert elsewhere.count() == 3
    left.close()
    elsewhere.close()


def test_an_earlier_spool_file_is_adopted_also_one_left_half_replayed(tmp_path: Path) -> None:
    docs = [json.dumps(a.to_dict(), ensure_ascii=False) for a in _articles(4)]
    (tmp_path / "articles.jsonl").write_text("\n".join(docs[:2]) + "\n", encoding="utf-8")
    (tmp_path / "articles.taking").write_text(docs[2] + "\n{broken\n" + docs[3] + "\n", encoding="utf-8")
    journal = Journal(tmp_path)
    assert journal.count() == 4
    assert journal.damaged_found == 1
    assert not (tmp_path / "articles.jsonl").exists()
    assert not (tmp_path / "articles.taking").exists()


def test_a_rejected_article_is_kept_with_its_url_and_reason(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.reject(_articles(1)[0], "400 document_parsing_exception: failed to parse field [fetched_at]")
    [line] = (tmp_path / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["url"] == "https://cd.example.vn/bai-0-1001.html"
    assert "fetched_at" in record["reason"]
    assert record["article"]["title"] == "Tin 0"


def test_a_damaged_journal_is_rebuilt_from_its_second_record(tmp_path: Path) -> None:
    from pipelines.journal import MIRROR, recover

    journal = Journal(tmp_path)
    journal.append(_articles(7), "ConnectionError")
    journal.close()
    assert recover(tmp_path) is None  # sound: left alone
    (tmp_path / "journal.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xba\xad" * 4000)
    assert recover(tmp_path) == 7
    again = Journal(tmp_path)
    rows = [row for batch in again.batches(10) for row in batch]
    assert sorted(doc.url for _, doc in rows) == sorted(a.url for a in _articles(7))
    assert list(tmp_path.glob("journal.sqlite.damaged-*"))  # kept for a person to look at
    again.remove([row for row, _ in rows])
    assert not (tmp_path / MIRROR).exists()  # nothing waits: the second record goes too
    again.close()

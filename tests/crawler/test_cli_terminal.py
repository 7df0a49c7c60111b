"""The CLI as a person reads it: Vietnamese, tables that fit an 80-column terminal or pipe as
tab-separated text, dates as people write them, queries that start with `-`, a reader that
stops early, and usage errors as one line."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from rich.cells import cell_len

from pipelines.fingerprint import content_hash
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search.article import Article
from search.schema import alias_name
from tests.support import NEWSMON, index_corpus, run_cli

LONG_MAIL = "ban.tuyen.giao.cong.doan.tinh@ldld-tinh-mau.example.vn"
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def on_terminal(*args: str, env: dict[str, str], columns: int = 80) -> str:
    """The command's stdout as a terminal `columns` wide shows it (a pseudo-terminal)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**env, "COLUMNS": str(columns), "TERM": "xterm"}
    with subprocess.Popen([NEWSMON, *args], stdout=follower, stderr=subprocess.PIPE, env=env) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower closed: the command is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    os.close(leader)
    return ANSI.sub("", b"".join(chunks).decode("utf-8")).replace("\r\n", "\n")


@pytest.fixture
def offline(tmp_path: Path, unused_port: int) -> dict[str, str]:
    """A data directory with two alerts; Elasticsearch is not needed to list them."""
    env = {
        **os.environ,
        "NEWSMON_DATA_DIR": str(tmp_path / "data"),
        "NEWSMON_ES_URL": f"http://127.0.0.1:{unused_port}",
    }
    alerts = (
        ("Nợ lương - chậm trả lương", '"nợ lương" OR "chậm trả lương"', [LONG_MAIL, "b@x.vn"]),
        ("Nhà ở xã hội cho công nhân", "nhà ở xã hội", ["c@x.vn"]),
    )
    for name, query, mails in alerts:
        added = run_cli(
            "alerts",
            "add",
            "--name",
            name,
            "--query",
            query,
            *[arg for mail in mails for arg in ("--email", mail)],
            env=env,
        )
        assert added.returncode == 0, added.stderr
        assert "đã thêm cảnh báo" in added.stderr
    return env


def test_tables_fit_80_columns_on_a_terminal_and_pipe_as_tab_separated_text(offline: dict[str, str]) -> None:
    shown = on_terminal("alerts", "list", env=offline)
    lines = shown.splitlines()
    assert lines, shown
    assert max(cell_len(line) for line in lines) <= 80, shown
    assert "…" not in shown  # no cell cut
    assert LONG_MAIL in shown  # an address whole, on one line
    assert "Nhà ở xã hội cho công nhân" in shown
    wide = on_terminal("alerts", "list", env=offline, columns=250)
    assert "┃" in wide
    assert LONG_MAIL in wide

    piped = run_cli("alerts", "list", env=offline)
    assert piped.returncode == 0, piped.stderr
    header, *rows = [line.split("\t") for line in piped.stdout.splitlines()]
    assert header == ["tên", "truy vấn", "chế độ", "người nhận", "trang", "lần gửi cuối"]
    named = {row[0]: row for row in rows}
    assert set(named) == {"Nợ lương - chậm trả lương", "Nhà ở xã hội cho công nhân"}
    assert named["Nợ lương - chậm trả lương"][3] == f"{LONG_MAIL}, b@x.vn"
    assert named["Nợ lương - chậm trả lương"][2] == "ngay khi có tin"


def test_usage_errors_are_one_vietnamese_line_and_help_is_vietnamese(offline: dict[str, str]) -> None:
    for args, said in (
        (["search"], "thiếu tham số QUERY"),
        (["search", "x", "--limit", "abc"], "--limit: phải là một số nguyên"),
        (["nosuch"], "không có lệnh"),
        (["alerts", "add", "--name", "x"], "thiếu tùy chọn --query"),
        (["search", "x", "--sitee", "a"], "thừa tham số --sitee a"),
    ):
        result = run_cli(*args, env=offline)
        assert result.returncode == 2, args
        assert said in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr, args
        assert "Error" not in result.stderr, args
    helped = run_cli("search", "--help", env=offline)
    assert "Tìm trong kho bài" in helped.stdout
    assert "Tùy chọn" in helped.stdout
    group = run_cli("alerts", env=offline)  # a group given no command shows its help
    assert "Lệnh" in group.stdout
    assert "Commands" not in group.stdout
    short = run_cli("alerts", "list", env={**offline, "NEWSMON_WEB_TOKEN": "ngan"})
    assert short.returncode == 2
    assert "NEWSMON_WEB_TOKEN: mã truy cập phải dài ít nhất 12 ký tự (đang có 4)" in short.stderr


@pytest.mark.es
def test_search_shows_dates_as_written_ids_dash_queries_and_a_closed_pipe_ends_quietly(
    env: dict[str, str], es: Elasticsearch
) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    index_corpus(es, prefix)
    # A site that gives a date and no time: stored at midnight in Vietnam, shown as the date.
    day_only = normalize_article(
        Article(
            url="https://cd.example.vn/chi-ngay-1002.html",
            site="cd",
            title="Hội nghị đoàn viên chỉ có ngày",
            text="Hội nghị đoàn viên công đoàn cơ sở năm nay.",
            published="2021-12-09T00:00:00+07:00",
            fetched_at="2021-12-09T09:00:00+00:00",
        ),
        "cd.example.vn",
    )
    day_only.content_hash = content_hash(day_only.text)
    write_batch(es, prefix, [day_only])
    es.indices.refresh(index=alias_name(prefix))

    found = run_cli("search", "hội nghị đoàn viên", env=env)
    assert found.returncode == 0, found.stderr
    assert "09/12/2021" in found.stdout
    assert "09/12/2021 00:00" not in found.stdout
    assert "mã bài: " in found.stdout  # the id `newsmon story` takes
    timed = run_cli("search", "nợ lương", env=env)
    assert "08/12/2021 08:00" in timed.stdout  # a time given is shown
    for args in (["search", "--", "-tết công đoàn"], ["search", "-tết công đoàn"]):
        dashed = run_cli(*args, env=env)
        assert dashed.returncode == 0, (args, dashed.stderr)
        assert "Thưởng Tết" not in dashed.stdout, args
        assert "bài viết" in dashed.stdout, args

    unknown = run_cli("story", "khong-co-ma-nay", env=env)
    assert unknown.returncode == 1
    assert "không có bài nào mã 'khong-co-ma-nay'" in unknown.stderr

    # `newsmon export | head -1`: the reader stops after one line; nothing is said about it.
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen([NEWSMON, "export"], env=env, **pipes) as proc:  # type: ignore[call-overload]
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert proc.stdout.readline().startswith(b"{")
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        proc.wait(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert "Broken pipe" not in stderr, stderr


def test_commands_starting_at_once_on_one_data_directory_all_find_it_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command checks the data directory is writable before it works; two crawls
    started together once failed that check (each removed the other's probe file)."""
    from config.settings import get_settings
    from crawler.cli.common import settings

    monkeypatch.setenv("NEWSMON_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    start = threading.Barrier(16)
    failed: list[BaseException] = []

    def check() -> None:
        start.wait()
        for _ in range(50):
            try:
                settings()
            except BaseException as exc:  # noqa: BLE001 - typer.Exit is what a failed check raises
                failed.append(exc)

    threads = [threading.Thread(target=check) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    get_settings.cache_clear()
    assert failed == []

"""A data directory on a full disk (a real tmpfs, mounted for the test): the crawl stops
before it fetches, with one line naming the directory and no traceback, creates no store it
could not finish, and once space is freed the next crawl indexes every article."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.support import indexed_count, run_cli


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB tmpfs, unmounted afterwards; skipped where mounting is not permitted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.es
def test_a_full_disk_stops_the_crawl_in_one_line_and_loses_nothing(
    small_disk: Path, registry: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    data = small_disk / "data"
    env["NEWSMON_DATA_DIR"] = str(data)
    filler = small_disk / "filler"
    with filler.open("wb") as handle:  # leaves about 4 MB free
        handle.write(b"\0" * (60 * 1024 * 1024))
    full = run_cli("crawl", env=env)
    assert full.returncode == 1
    assert f"ổ đĩa chứa {data} gần đầy" in full.stderr
    assert "Traceback" not in full.stderr
    assert not list(data.rglob("*.sqlite"))  # no store left half-made (empty)
    filler.unlink()
    freed = run_cli("crawl", env=env)
    assert freed.returncode == 0, freed.stderr
    assert indexed_count(es, env) == 9  # every article of the three sample sites


def test_a_data_directory_not_made_yet_is_measured_on_the_disk_that_will_hold_it(tmp_path: Path) -> None:
    """A first crawl started in-process (a bench, the scheduler) has no data directory yet."""
    from search.stores import DiskFull, check_space

    check_space(tmp_path / "not" / "made" / "yet")
    with pytest.raises(DiskFull, match="gần đầy"):
        check_space(tmp_path / "not" / "made" / "yet", need=1 << 62)

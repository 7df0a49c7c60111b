"""Settings: one object per process; the data directory never inside the installed package."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import PROJECT_ROOT, Settings, default_data_dir, get_settings


def test_in_a_checkout_the_data_dir_is_its_var_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)
    monkeypatch.delenv("NEWSMON_DATA_DIR", raising=False)
    assert Settings().data_dir == PROJECT_ROOT / "var"


def test_elsewhere_it_is_under_xdg_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "newsmon"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "newsmon"


def test_the_process_reads_its_settings_once() -> None:
    assert get_settings() is get_settings()

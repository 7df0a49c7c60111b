"""Settings: one object per process; the data directory never inside the installed package."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import PROJECT_ROOT, Settings, as_environment, default_data_dir, get_settings


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


def test_a_child_process_is_given_the_same_settings_by_their_variables(tmp_path: Path) -> None:
    """The web app starts crawls as child processes with `as_environment`: each setting under
    the variable a person would set, the registry under NEWSMON_CONFIG (its field is `registry`)."""
    registry = tmp_path / "sites.yaml"
    given = Settings(
        registry=registry, data_dir=tmp_path / "data", es_shards=2, state_url="postgresql://u:p@h/db"
    )
    variables = as_environment(given)
    assert variables["NEWSMON_CONFIG"] == str(registry)
    assert "NEWSMON_REGISTRY" not in variables
    assert variables["NEWSMON_STATE_URL"] == "postgresql://u:p@h/db"  # secrets in clear for the child
    with pytest.MonkeyPatch.context() as env:
        for name, value in variables.items():
            env.setenv(name, value)
        again = Settings()
    assert (again.registry, again.data_dir, again.es_shards) == (registry, tmp_path / "data", 2)

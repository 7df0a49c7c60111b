"""Fixtures the fault tests share with the web app's tests."""

from tests.search.web.conftest import web_settings  # noqa: F401 - the web app's settings fixture

"""schemathesis against the app's own OpenAPI document: no generated input, valid or not,
with or without the token, gets a server error (5xx) from any API operation."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from config.settings import Settings
from tests.search.web.conftest import BEARER, make_app

pytestmark = pytest.mark.es


# Random site names stop most searches at "no such site"; with a known one, generated
# queries, dates and pages reach Elasticsearch.
@pytest.mark.parametrize(
    ("mode", "fixed"),
    [(GenerationMode.POSITIVE, {}), (GenerationMode.POSITIVE, {"site": "cd"}), (GenerationMode.NEGATIVE, {})],
)
def test_no_input_makes_the_api_fail(archive: Settings, mode: GenerationMode, fixed: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", make_app(archive))
    seen: set[str] = set()

    @given(case=schema.as_strategy(mode, query=fixed or None))
    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        seen.add(f"{case.method} {case.path}")
        for headers in ({}, BEARER):
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                case.query,
                case.body,
                response.text[:500],
            )

    call()
    # Every operation was tried (the strategy spreads examples over all of them); invalid
    # input exists only where the schema constrains some (a query or a body: a free-text
    # path segment cannot be invalid).
    operations = [result.ok() for result in schema.get_all_operations()]
    takes_input = [op for op in operations if mode is GenerationMode.POSITIVE or op.query or op.body]
    assert seen >= {f"{op.method.upper()} {op.path}" for op in takes_input}

"""The Elasticsearch client, built from settings (local node or a production cluster)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import orjson
from elasticsearch import ApiError, ConnectionTimeout, Elasticsearch
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch.exceptions import HTTP_EXCEPTIONS
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer

from config.settings import Settings


class OrjsonNdjsonSerializer(NdjsonSerializer):
    """NDJSON (bulk and msearch bodies) through orjson: the client's own NDJSON serializer
    uses the standard library's json even when orjson is given for JSON."""

    def json_dumps(self, data: Any) -> bytes:
        """One line of the body."""
        return orjson.dumps(data, default=self.default)

    def json_loads(self, data: bytes) -> Any:
        """One line of an answer."""
        return orjson.loads(data)


def make_client(settings: Settings, *, timeout: float | None = None) -> Elasticsearch:
    """A client for NEWSMON_ES_URL (with API key / basic auth / CA when given) or the local node."""
    # The transport logs every failed attempt with its traceback (a dozen per outage);
    # newsmon reports an outage itself, once, saying what it kept.
    logging.getLogger("elastic_transport").setLevel(logging.CRITICAL)
    kwargs: dict[str, Any] = {
        "request_timeout": timeout or settings.es_timeout,
        "retry_on_timeout": True,
        "max_retries": 2,
    }
    if settings.es_api_key:
        kwargs["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_user:
        password = settings.es_password.get_secret_value() if settings.es_password else ""
        kwargs["basic_auth"] = (settings.es_user, password)
    if settings.es_ca_certs:
        kwargs["ca_certs"] = str(settings.es_ca_certs)
    if not settings.es_verify_certs:
        kwargs["verify_certs"] = False
    # orjson for the large msearch and bulk bodies (alert evaluation, near-duplicate lookups,
    # indexing): a tenth of ingest time went to the standard library's json.
    return Elasticsearch(
        settings.es_urls,
        serializers={
            OrjsonSerializer.mimetype: OrjsonSerializer(),
            NdjsonSerializer.mimetype: OrjsonNdjsonSerializer(),
        },
        **kwargs,
    )


def node_version(es: Elasticsearch) -> str:
    """The server version, read from `_nodes` because the stripped build has no `GET /`."""
    info = es.nodes.info(node_id="_local", metric="_none", filter_path="nodes.*.version")
    return str(next(iter(info["nodes"].values()))["version"])


def installed_modules(es: Elasticsearch) -> list[str]:
    """Names of the modules and plugins the local node runs (`GET _nodes/plugins`)."""
    info = es.nodes.info(node_id="_local", metric="plugins")
    node = next(iter(info["nodes"].values()))
    return sorted(m["name"] for m in node.get("modules", []) + node.get("plugins", []))


# Errors that mean "the archive is not available just now" rather than a wrong request: a
# node starting or stopping, shards not allocated, the index closed or blocked.
_UNAVAILABLE_TYPES = frozenset(
    {
        "index_closed_exception",
        "cluster_block_exception",
        "no_shard_available_action_exception",
        "search_phase_execution_exception",
        "unavailable_shards_exception",
        "node_not_connected_exception",
    }
)
_SERVER_ERROR = 500


def unavailable(exc: BaseException) -> bool:
    """True when an Elasticsearch error says the archive cannot be read or written now
    (unreachable, restarting, index closed): a user is told to try again, never a traceback."""
    if isinstance(exc, ESConnectionError | ConnectionTimeout):
        return True
    if not isinstance(exc, ApiError):
        return False
    if exc.status_code >= _SERVER_ERROR:
        return True
    error = exc.body.get("error", {}) if isinstance(exc.body, dict) else {}
    kind = error.get("type", "") if isinstance(error, dict) else ""
    return kind in _UNAVAILABLE_TYPES


def msearch(es: Elasticsearch, index: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Several searches in one round trip (Elasticsearch runs them side by side); an answer
    that failed raises the error a single search would have (NotFoundError for a missing
    index, what `unavailable` recognises for an archive that cannot answer)."""
    searches: list[dict[str, Any]] = []
    for body in bodies:
        searches += [{}, body]
    answer = es.msearch(index=index, searches=searches)
    responses: list[dict[str, Any]] = list(answer["responses"])
    for response in responses:
        if "error" in response:
            status = int(response.get("status", _SERVER_ERROR))
            error = HTTP_EXCEPTIONS.get(status, ApiError)
            raise error(
                str(response["error"].get("reason", response["error"])),
                meta=dataclasses.replace(answer.meta, status=status),
                body=response,
            )
    return responses

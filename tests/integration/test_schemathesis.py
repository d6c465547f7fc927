"""schemathesis against the live gateway's own OpenAPI document (`/schema/openapi.json`).

Every operation gets positive examples (valid by the schema) and negative ones (violating it), sent over
loopback with a tenant key. Invariants: never a 5xx; every error in OpenAI's envelope with a request id.
(schemathesis' own response-schema checks are not run: see the report on what is weak.) The default run keeps
a small example count; `make fuzz` (the `slow` test) runs many more (SCHEMATHESIS_EXAMPLES=N).
"""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode

from tests.conftest import TENANT_KEYS
from tests.fuzz.invariants import assert_envelope
from tests.support.gateway_server import GatewayServer

AUTH = {"authorization": f"Bearer {TENANT_KEYS['beta']}"}


def _as_httpx(response: schemathesis.Response) -> httpx.Response:
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    return httpx.Response(response.status_code, headers=headers, content=response.content)


def _run(gateway: GatewayServer, examples: int) -> dict[str, int]:
    schema = schemathesis.openapi.from_url(f"{gateway.root_url}/schema/openapi.json")
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(gateway, result.ok(), mode, examples, calls)  # type: ignore[union-attr]
    return calls


def _exercise(
    gateway: GatewayServer,
    operation: APIOperation,  # type: ignore[type-arg]
    mode: GenerationMode,
    examples: int,
    calls: dict[str, int],
) -> None:
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
        response = case.call(base_url=gateway.root_url, headers=AUTH)
        calls[operation.label] = calls.get(operation.label, 0) + 1
        assert_envelope(_as_httpx(response))

    try:
        exercise()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (no parameters, no declared body): no negative cases.
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_schema_fuzz(gateway: GatewayServer) -> None:
    calls = _run(gateway, examples=12)
    assert len(calls) >= 12, calls  # every documented operation was exercised
    print(f"schemathesis: {sum(calls.values())} calls over {len(calls)} operations")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_schema_fuzz_long(gateway: GatewayServer) -> None:
    calls = _run(gateway, examples=int(os.environ.get("SCHEMATHESIS_EXAMPLES", 1000)))
    print(f"schemathesis: {sum(calls.values())} calls over {len(calls)} operations")

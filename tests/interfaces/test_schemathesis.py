"""Property-based tests of the HTTP API from its own OpenAPI spec (schemathesis).

Every operation (but the endless server-sent event stream) is called with data
generated from the spec, over real HTTP against the demo, once per role's token
(producer, artist, label approver, executive, and a token limited to another
project): no response may be a 5xx, and every response must conform to the
spec (status codes, content types, bodies).

The operations are walked here rather than through schemathesis' pytest
plugin, whose lazy fixture loading does not run on pytest 9.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from interfaces_support import TOKENS, LiveServer
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from session_log.runtime import Runtime

SETTINGS = hypothesis.settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
    database=None,
)


@pytest.fixture(scope="module")
def api_schema(live_server: LiveServer) -> OpenApiSchema:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/schema/openapi.json")
    # The event stream never ends: tested in test_api.py and the browser test.
    return schema.exclude(path_regex="/live$")


def operations(schema: OpenApiSchema) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return found


@pytest.mark.parametrize("token", sorted(TOKENS))
def test_api_conforms_to_its_spec(
    api_schema: OpenApiSchema, token: str, demo_runtime: Runtime
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    head = demo_runtime.head()
    ops = operations(api_schema)
    assert len(ops) >= 10, [op.label for op in ops]
    failures: list[str] = []
    for operation in ops:

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy())
        def check(case: Case) -> None:
            # A schema-valid command or query may still be refused for reasons
            # a JSON schema cannot express (an ISNI check digit, February 30th,
            # a bar range ending before it starts): that check does not apply.
            # Every other check does: no 5xx, documented status codes, content
            # types and bodies, and schema-violating input rejected.
            case.call_and_validate(
                headers=headers, excluded_checks=[positive_data_acceptance]
            )

        try:
            check()
        except Exception as e:  # collected: one report for every operation
            failures.append(f"{operation.label}: {type(e).__name__}: {e}"[:2000])
    assert not failures, "\n\n".join(failures)
    if token == "t-elsewhere":
        # A token limited to another project is refused every command on
        # this one (the generated projects are not its project): every
        # refused request wrote nothing.
        assert demo_runtime.head() == head

"""Schemathesis over every endpoint, in-process against the WSGI app: no 500s, and every
response matches the OpenAPI document."""

from __future__ import annotations

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from campaign.services import plans, tokens
from tests import factories as f

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def admin_token(app) -> str:
    """Data the generated requests can find (ids 1, codes U…), and an administrator's token."""
    district, communes = f.district_with_communes(["Quảng Bình", "Quảng Chính"])
    plan = f.plan(district)
    plans.set_quotas(plan, {communes[0]: 40})
    f.result(f.drive(plan), communes[0], 10, 30, 5)
    _, plain = tokens.create_token(f.user("admin"))
    f.commit()
    return plain


def test_every_endpoint_answers_as_documented(app, admin_token):
    # One test walking the operations: the app and its data come from the usual fixtures.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 19

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def run(case) -> None:
            # Each request in a context of its own, as a server serves it (see RequestClient).
            contextvars.Context().run(case.call_and_validate, headers=headers, checks=CHECKS)

        run()

"""Schemathesis against /api/openapi.json on the running server: no 5xx, answers as published, auth enforced."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import request

pytestmark = pytest.mark.server

# Small and derandomized: CI time is bounded, and a failure reproduces on the next run.
FUZZ = settings(max_examples=15, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def test_every_operation_keeps_its_published_schema(app_server, app_db):
    schema = schemathesis.openapi.from_url(f"{app_server.url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {app_db.rep_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4

    for operation in operations:
        @FUZZ
        @given(case=operation.as_strategy())
        def check(case):
            # The default checks: no 5xx, documented status codes and content types, bodies that
            # match the response schema, and auth that is not ignored (the case is re-sent without it).
            # Left out: "schema-valid data is accepted". The schema parses, the services decide:
            # required fields per channel and known sources are settings, not schema, so a
            # schema-valid lead may rightly get a 422 that names the missing field.
            case.call_and_validate(base_url=app_server.url, headers=headers,
                                   excluded_checks=[positive_data_acceptance])

        check()


def test_no_operation_answers_without_a_token(app_server):
    schema = schemathesis.openapi.from_url(f"{app_server.url}/api/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()
        path = operation.path.replace("{lead_id}", "1")
        for token in (None, "cl_not-a-real-token"):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            status, _ = request(app_server.port, operation.method.upper(), "/api" + path if not path.startswith("/api") else path,
                                {} if operation.method.upper() in {"POST", "PATCH", "PUT"} else None, headers)
            assert status == 401, f"{operation.method.upper()} {path} answered {status} without a valid token"

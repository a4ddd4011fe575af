"""Schemathesis hooks for test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

One check of our own, the exact form of "schema-valid data is accepted" for this API: a request the
OpenAPI document calls valid is never refused as not matching it (422 with code `request_invalid`).
It may still be refused by a business rule the document cannot hold (the intake's required fields are
settings, a phone number must exist, a stage has its gate): those answer 422 with the rule's own code
and a message naming the field, so schemathesis' built-in check is told that 422 is expected.
"""

import json

import schemathesis
from schemathesis.core.failures import Failure


class RefusedAsUndocumented(Failure):
    def __init__(self, *, operation: str, body: str):
        super().__init__(operation=operation, title="Schema-valid request refused as not matching the schema",
                         message=f"The document calls this request valid, but the server said it does not match:\n{body}")


@schemathesis.check
def documented_requests_are_never_refused_as_undocumented(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        code = json.loads(response.text).get("code")
    except (ValueError, AttributeError):
        code = None
    if code == "request_invalid":
        raise RefusedAsUndocumented(operation=case.operation.label, body=response.text[:500])
    return None

"""The JSON API: one NinjaAPI, one router per app, bearer-token auth, domain errors mapped once."""

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja import errors as ninja_errors
from ninja.security import HttpBearer

from closeloop.core import throttle
from closeloop.core.apischema import JsonObjectParser, NotAnObject, declare_common_errors, request_errors
from closeloop.core.customfields.api import describe as describe_custom_fields
from closeloop.core.errors import DomainError, Forbidden, Throttled
from closeloop.core.hooks import loop_apps
from closeloop.core.services import api_token_use

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        # An address that sent too many unknown tokens is refused before its token is looked at.
        throttle.api_token_check_address(request)
        found = api_token_use(token, address=throttle.client_ip(request))
        if found is None:
            throttle.api_token_failed(request, token)
            return None
        if not found.writes and request.method not in READING_METHODS:
            raise Forbidden(_("This token may only read. Create a read-and-write token to change records."),
                            code="read_only_token")
        request.user = found.user
        return found.user


class CloseloopAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        # Every operation also declares the errors any request may meet (see core/apischema.py).
        # Custom fields are data: their typed properties are written into the document when it is asked for.
        return describe_custom_fields(declare_common_errors(
            super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)))


api = CloseloopAPI(
    title="Closeloop API",
    version="1",
    description="Leads and the rest of the loop. Authenticate with `Authorization: Bearer <token>` "
    "(create one with `closeloop token USERNAME` or on your profile page).",
    auth=TokenAuth(),
    parser=JsonObjectParser(),
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if isinstance(exc, Throttled):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ninja_errors.ValidationError)
def request_invalid(request, exc: ninja_errors.ValidationError):
    # The same error shape as the services' ValidationFailed, so clients handle one format; the code says the
    # request does not match the OpenAPI document (a service's rule refusing it says "validation_failed").
    fields = request_errors(exc.errors)
    body = {"code": "request_invalid", "message": str(_("Please correct the marked fields.")), "fields": fields}
    return api.create_response(request, body, status=422)


@api.exception_handler(ninja_errors.HttpError)
def http_error(request, exc: ninja_errors.HttpError):
    # Ninja's own refusals (a body that is not JSON) in the API's one error shape.
    if isinstance(exc.__cause__, DomainError):
        return domain_error(request, exc.__cause__)
    if isinstance(exc.__cause__, NotAnObject):
        body = {"code": "request_invalid", "message": str(_("Send the request body as a JSON object.")),
                "fields": {"request": [str(exc.__cause__)]}}
        return api.create_response(request, body, status=422)
    if exc.status_code == 400:
        body = {"code": "malformed_request", "message": str(_("The request body is not valid JSON."))}
    else:
        body = {"code": "http_error", "message": str(exc)}
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(ninja_errors.AuthenticationError)
def unauthenticated(request, exc):
    body = {"code": "unauthenticated", "message": str(_("Send a valid API token: Authorization: Bearer <token>."))}
    return api.create_response(request, body, status=401)


@api.get("/", auth=None, include_in_schema=False)
def index(request):
    """`GET /api/`: where an integrator starts — the reference for people, the OpenAPI document for tools (also
    as RFC 8631 Link headers), and how to authenticate. No token needed: it names no record."""
    docs = request.build_absolute_uri(reverse("api:openapi-view"))
    document = request.build_absolute_uri(reverse("api:openapi-json"))
    response = api.create_response(request, {
        "name": api.title, "version": api.version, "docs": docs, "openapi": document,
        "authentication": "Authorization: Bearer <token>",
    }, status=200)
    response["Link"] = f'<{docs}>; rel="service-doc", <{document}>; rel="service-desc"'
    return response


# Each installed app mounts its own router (`LoopApp.api_routers()`), tagged with the app's label.
for _config in loop_apps():
    for _prefix, _router in _config.api_routers():
        api.add_router(_prefix, _router, tags=[_config.label])

"""One family of domain errors, mapped once to HTML (forms/messages) and once to the API's JSON shape."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule of the business said no. `message` is for a person; `code` is for a program."""

    status = 400
    code = "invalid"

    def __init__(self, message=None, *, code: str | None = None, field_errors: dict | None = None, **details):
        self.message = str(message) if message is not None else str(_("The request could not be processed."))
        if code:
            self.code = code
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field_errors:
            body["fields"] = self.field_errors
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"

"""One family of domain errors, mapped once to HTML (forms/messages) and once to the API's JSON shape."""

from django.utils.translation import gettext_lazy as _
from ninja import Schema


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


class ErrorOut(Schema):
    """The API's error body (`DomainError.as_dict()`), declared by every route for its error statuses so the
    OpenAPI document says what a client gets."""

    code: str
    message: str
    fields: dict[str, list[str]] | None = None
    details: dict | None = None


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


class Gone(DomainError):
    """What was asked for is no longer kept (a sync position older than the deletions' retention)."""

    status = 410
    code = "gone"


class Throttled(DomainError):
    """Too many attempts: `retry_after` seconds until the next one is looked at."""

    status = 429
    code = "throttled"

    def __init__(self, message=None, *, retry_after: int, **kwargs):
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.retry_after = retry_after


def form_errors_from(form, exc: DomainError, *, message_field: str | None = None, always_message: bool = False,
                     label=None) -> None:
    """Show a domain error on the form whose data caused it: each field's messages on that field, and the
    error's own message at the top when it names no field.

    `message_field` puts that message on one field instead (an upload's file); `always_message` shows it
    even when fields are named (a stage gate says which stage wants them); `label(name)` names a field
    the form does not show (the public form's visitor may post more fields than it shows).
    """
    for name, messages in exc.field_errors.items():
        for message in messages:
            if name in form.fields:
                form.add_error(name, message)
            elif label is not None and (text := label(name)):
                form.add_error(None, f"{text}: {message}")
            else:
                form.add_error(None, message)
    if always_message or not exc.field_errors:
        form.add_error(message_field if message_field in form.fields else None, exc.message)


def error_text(exc: DomainError) -> str:
    """A domain error as one line for a page's message: its fields' messages, else its own message."""
    return "; ".join(message for messages in exc.field_errors.values() for message in messages) or exc.message


def invalid(field: str, message) -> ValidationFailed:
    """The error of one field, for a service to raise: the form shows `message` on that field."""
    return ValidationFailed(_("Please correct the marked fields."), field_errors={field: [message]})

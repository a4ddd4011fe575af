"""Signed copies (PDF or image) uploaded to a contract, checked for what they claim to be.

The check runs while the upload streams in (`ScanUploadGuard`, the first of the request's upload handlers):
the declared request size is refused before any of the file is read, the first chunk's magic bytes must be a
PDF, PNG, JPEG, TIFF or WebP and agree with the file's extension, and the upload stops at the size limit. A
refused upload is cut off there (`StopUpload(connection_reset=True)`): a 200 MB program renamed .pdf costs the
worker one 64 KB chunk, not the whole body. Nothing is decoded or rendered on the request path.
"""

import hashlib
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.http import FileResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import Channel, User

from . import access
from .actions import ContractAction
from .models import Contract, ContractDocument, ContractStatus, DocumentKind, SignedVia
from .services import contract_sign

# Kind → (content type, magic byte prefixes, extensions that may carry it).
KINDS = {
    "pdf": ("application/pdf", (b"%PDF-",), (".pdf",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",), (".png",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",), (".jpg", ".jpeg")),
    "tiff": ("image/tiff", (b"II*\x00", b"MM\x00*"), (".tif", ".tiff")),
    "webp": ("image/webp", (b"RIFF",), (".webp",)),
}
# What people most often rename: named so the refusal says what the file really is.
KNOWN_OTHERS = [
    (b"MZ", gettext_lazy("a Windows program (.exe)")), (b"\x7fELF", gettext_lazy("a program")), (b"PK\x03\x04", gettext_lazy("a zip archive or Office file")),
    (b"\xd0\xcf\x11\xe0", gettext_lazy("an old Office document")), (b"Rar!", gettext_lazy("a RAR archive")), (b"7z\xbc\xaf", gettext_lazy("a 7z archive")),
    (b"GIF8", gettext_lazy("a GIF image")), (b"<", gettext_lazy("a web page or XML")), (b"#!", gettext_lazy("a script")),
]
FORM_SLACK = 64 * 1024  # the other fields and the multipart framing around the file


def max_bytes() -> int:
    return int(getattr(settings, "CLOSELOOP_CONTRACT_UPLOAD_MAX_BYTES", 20 * 1024 * 1024))


def sniff(head: bytes) -> str | None:
    for kind, (_type, magics, _ext) in KINDS.items():
        if any(head.startswith(magic) for magic in magics):
            if kind == "webp" and head[8:12] != b"WEBP":
                continue
            return kind
    return None


# What the refusals ask for; another use of these checks (a ticket's attachment) names its own.
SIGNED_COPY_HINT = gettext_lazy("Upload the signed contract as PDF, JPG or PNG.")


def problem_of(name: str, head: bytes, hint=None) -> str | None:
    """Why a file named `name` starting with `head` is not a document we keep (a PDF or an image); None when it is
    one. `hint` says what to upload instead."""
    kind = sniff(head)
    extension = PurePath(name or "").suffix.lower()
    hint = hint or SIGNED_COPY_HINT
    if kind is None:
        what = next((text for magic, text in KNOWN_OTHERS if head.startswith(magic)), None)
        if what:
            return _("“%(name)s” is %(what)s, not a PDF or an image.") % {"name": name, "what": what} + " " + str(hint)
        return _("“%(name)s” is not a PDF or an image we recognise.") % {"name": name} + " " + str(hint)
    if extension not in KINDS[kind][2]:
        return _("“%(name)s” is named like a %(claimed)s file but is a %(actual)s. Save it with the right extension "
                 "and upload it again.") % {"name": name, "claimed": extension.lstrip(".") or _("typeless"),
                                            "actual": kind.upper()}
    return None


def size_problem(size: int, limit: int | None = None) -> str:
    return _("The file is larger than %(limit)d MB. Scan at a lower resolution or split it.") % {
        "limit": (limit or max_bytes()) // (1024 * 1024)}


class ScanUploadGuard(FileUploadHandler):
    """Checks an upload as it arrives and cuts it off as soon as it is refused (see the module docstring).
    The view reads `problem` when the file is missing from `request.FILES`."""

    def __init__(self, request=None, *, limit: int | None = None, hint=None, files: int = 1):
        super().__init__(request)
        self.problem: str | None = None
        self.kind: str | None = None
        self.limit = limit or max_bytes()
        self.hint = hint
        self.files = files  # how many files the form takes, each up to the limit

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit * self.files + FORM_SLACK:
            self.problem = size_problem(content_length, self.limit)
        return None  # the default handlers parse; new_file stops them when refused

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.problem:
            raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data, start):
        if start == 0:
            self.problem = problem_of(self.file_name, raw_data[:16], self.hint)
            self.kind = sniff(raw_data[:16])
        if self.problem is None and start + len(raw_data) > self.limit:
            self.problem = size_problem(start + len(raw_data), self.limit)
        if self.problem:
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) makes the file


def sandboxed_file(file, *, content_type: str | None = None, filename: str | None = None,
                   download: bool = False) -> FileResponse:
    """A kept PDF or image (a signed copy, an acceptance, a ticket's attachment), shown inline in its own sandbox: a
    hostile file runs nothing in Closeloop's origin. The type is the one checked at upload, or the stored name's."""
    if content_type is None:
        suffix = PurePath(file.name).suffix.lower()
        content_type = next((kind[0] for kind in KINDS.values() if suffix in kind[2]), "application/octet-stream")
    response = FileResponse(file.open("rb"), content_type=content_type, as_attachment=download, filename=filename)
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def guard_uploads(request, **options) -> ScanUploadGuard:
    """Put the guard in front of the request's upload handlers; call before anything reads request.POST/FILES.
    `options`: the guard's `limit` per file, `hint` (what to upload instead) and how many `files` the form takes."""
    guard = ScanUploadGuard(request, **options)
    request.upload_handlers.insert(0, guard)
    return guard


def uploaded_file_problem(upload, guard: ScanUploadGuard | None, *, limit: int | None = None,
                          hint=None) -> str | None:
    """The refusal for a file that went through the guard, or a check of one that did not (the API's tests,
    a file given to the service directly)."""
    if guard is not None and guard.problem:
        return guard.problem
    if upload is None:
        return _("Choose the signed contract (PDF, JPG or PNG).")
    if upload.size > (limit or max_bytes()):
        return size_problem(upload.size, limit)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return problem_of(upload.name, head, hint)


def document_upload(*, contract: Contract, upload, actor: User, sign: bool = False, sign_date=None,
                    channel: str = Channel.WEB, guard: ScanUploadGuard | None = None) -> ContractDocument:
    """Keep an uploaded signed copy; with `sign`, an approved contract is signed by it (on `sign_date`)."""
    if problem := uploaded_file_problem(upload, guard):
        raise ValidationFailed(problem, field_errors={"file": [problem]}, code="file_refused")
    if not access.can_edit(actor, contract):
        raise Forbidden(_("Only the contract's owner, their manager or a sales collaborator on it uploads its documents."))
    upload.seek(0)
    kind = sniff(upload.read(16))
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    with transaction.atomic():
        contract = Contract.objects.lock(contract.pk)
        if contract.status in (ContractStatus.COMPLETED, ContractStatus.TERMINATED):
            raise Conflict(_("A contract that is “%(status)s” takes no more documents.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        if sign and contract.status != ContractStatus.APPROVED:
            raise Conflict(_("Only an approved contract can be signed; this one is “%(status)s”.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        document = ContractDocument(contract=contract, kind=DocumentKind.SIGNED_SCAN, original_name=upload.name[:200],
                                    content_type=KINDS[kind][0], size=upload.size, sha256=digest.hexdigest(),
                                    uploaded_by=actor)
        document.file.save(f"{uuid.uuid4().hex}.{kind}", upload, save=False)
        try:
            document.save()
            audit_record(actor=actor, channel=channel, action=ContractAction.DOCUMENT_UPLOAD, target=contract,
                         changes={"documents": [None, document.original_name]},
                         note=f"{document.get_kind_display()} · {document.size:,} B · sha256 {document.sha256[:12]}")
            if sign:
                contract_sign(contract=contract, actor=actor, sign_date=sign_date, via=SignedVia.SCAN, channel=channel)
        except Exception:
            document.file.delete(save=False)  # a refused signature leaves no file behind
            raise
    return document

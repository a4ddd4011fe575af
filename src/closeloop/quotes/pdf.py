"""The quote as a PDF (WeasyPrint), in Chinese whatever the reader's interface language.

Text is set in Noto Sans CJK SC (Debian's fonts-noto-cjk) with WenQuanYi Micro Hei as the fallback; without a CJK
font every Chinese character would come out as a box. Nothing is fetched from outside: the only resource
allowed is the company logo, embedded as a data: URI.

A sent version is frozen (its lines, totals and date never change), so its PDF is rendered once, on the first
request, and kept in the media folder: rendering a 50-line quote costs seconds, reading the kept file
milliseconds. A draft is rendered every time (it changes). The company header (name, bank account, tax id, logo)
is not frozen with the version: it prints the settings as they are, so the kept file is named by them too.
"""

import base64
import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import timezone, translation

from closeloop.core.money import amount_in_words

from .catalog import logo_kind, quote_settings
from .models import QuoteVersion

PDF_LANGUAGE = "zh-hans"


def _logo_data_uri(settings) -> str:
    if not settings.logo:
        return ""
    try:
        with settings.logo.open("rb") as handle:
            kind = logo_kind(handle)
            data = handle.read()
    except OSError:
        return ""  # the file went missing from the media folder: a PDF without a logo beats none at all
    if kind is None:
        return ""
    mime = "image/png" if kind == "png" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def quote_html(version: QuoteVersion) -> str:
    """The PDF's HTML (also what the rendering benchmark compares against)."""
    settings = quote_settings()
    quote = version.quote
    deal = quote.opportunity
    with translation.override(PDF_LANGUAGE):
        return render_to_string("quotes/pdf.html", {
            "quote": quote, "version": version, "deal": deal, "customer": deal.customer, "owner": deal.owner,
            "lines": list(version.lines.select_related("product").order_by("position", "id")),
            "settings": settings, "logo": _logo_data_uri(settings), "in_words": amount_in_words(version.total_incl_tax),
            "date": timezone.localtime(version.sent_at).date() if version.sent_at else timezone.localdate(),
            "draft": version.sent_at is None,
        })


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()


def _settings_stamp(settings) -> str:
    """A short digest of every value of the quote settings row: it changes whenever anything the PDF may print
    from them changes (the logo by its file name, a new upload always gets a new one)."""
    values = "\x1f".join(field.value_to_string(settings) for field in settings._meta.concrete_fields)
    return hashlib.sha256(values.encode()).hexdigest()[:12]


def kept_pdf_name(version: QuoteVersion) -> str:
    """Where a sent version's PDF is kept: one file per frozen version and state of the quote settings, named by
    the version's id and the moment it was sent (so a database started afresh beside an old media folder never
    meets a file of another quote) and by the settings' digest (so changed bank details render a new file)."""
    return (f"quotes/pdf/{version.quote_id}/v{version.number}-{version.pk}-{version.sent_at:%Y%m%dT%H%M%S%f}"
            f"-{_settings_stamp(quote_settings())}.pdf")


def quote_pdf(version: QuoteVersion) -> bytes:
    if version.sent_at is None:
        return render_pdf(quote_html(version))
    name = kept_pdf_name(version)
    try:
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        pass
    data = render_pdf(quote_html(version))
    # Two first requests at once both render. The storage never overwrites: when the other request saved first,
    # this copy went under another name, which nobody would ever read, so it goes (asking `exists()` before
    # saving left that gap open).
    if (saved := default_storage.save(name, ContentFile(data))) != name:
        default_storage.delete(saved)
    return data


def pdf_filename(version: QuoteVersion) -> str:
    return f"{version.quote.number}-v{version.number}.pdf"


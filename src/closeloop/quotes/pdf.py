"""The quote as a PDF (WeasyPrint), in Chinese whatever the reader's interface language.

Text is set in Noto Sans CJK SC (Debian's fonts-noto-cjk) with WenQuanYi Micro Hei as the fallback; without a CJK
font every Chinese character would come out as a box. Nothing is fetched from outside: the only resource
allowed is the company logo, embedded as a data: URI.

A sent version is frozen (its lines, totals and date never change), so its PDF is rendered once, on the first
request, and kept in the media folder: rendering a 50-line quote costs seconds, reading the kept file
milliseconds. A draft is rendered every time (it changes).
"""

import base64

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


def kept_pdf_name(version: QuoteVersion) -> str:
    """Where a sent version's PDF is kept: one file per frozen version, named by its id and the moment it was
    sent (so a database started afresh beside an old media folder never meets a file of another quote)."""
    return f"quotes/pdf/{version.quote_id}/v{version.number}-{version.pk}-{version.sent_at:%Y%m%dT%H%M%S%f}.pdf"


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
    # Two first requests at once both render; the second finds the file there and keeps the first.
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(data))
    return data


def pdf_filename(version: QuoteVersion) -> str:
    return f"{version.quote.number}-v{version.number}.pdf"


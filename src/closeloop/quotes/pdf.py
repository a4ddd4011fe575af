"""The quote as a PDF (WeasyPrint), in Chinese whatever the reader's interface language.

Text is set in Noto Sans CJK SC (Debian's fonts-noto-cjk) with WenQuanYi Micro Hei as the fallback; without a CJK
font every Chinese character would come out as a box. Nothing is fetched from outside: the only resource
allowed is the company logo, embedded as a data: URI.
"""

import base64

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


def quote_pdf(version: QuoteVersion) -> bytes:
    return render_pdf(quote_html(version))


def pdf_filename(version: QuoteVersion) -> str:
    return f"{version.quote.number}-v{version.number}.pdf"


"""Content-Security-Policy: every page sends it, no template carries inline code, the public form may be
framed, and the one inline style (the 500 page's) matches the hash the policy allows."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from closeloop.leads.models import Campaign

SOURCE = Path(__file__).resolve().parents[2]
# A script element without src runs inline, unless it is a JSON data block (the API reference's settings): browsers
# never run those, so the policy's script-src does not concern them.
INLINE = re.compile(
    r"""<script(?![^>]*\bsrc=)(?![^>]*\btype="application/json")[^>]*>"""
    r"""|\son[a-z]+\s*=|\sstyle\s*=|<style|javascript:|hx-on|hx-vars|js:""",
    re.IGNORECASE,
)


def _policy(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";") if part.strip()]
    return {name: values for name, *values in directives}


def test_it_sends_a_policy_without_inline_or_eval_on_a_logged_in_page(client, org):
    client.force_login(org.owner)
    policy = _policy(client.get(reverse("leads:list")))
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]


def test_the_login_page_and_errors_carry_it_too(client, db):
    assert "script-src 'self'" in client.get(reverse("login"))["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/no-such-page/")["Content-Security-Policy"]


def test_the_public_form_may_be_framed_by_any_site(client, org):
    campaign = Campaign.objects.create(name="展会", source=org.sources["展会"])
    for name in ("public_form", "public_form_thanks"):
        policy = _policy(client.get(reverse(name, args=[campaign.form_key])))
        assert policy["frame-ancestors"] == ["*"] and policy["script-src"] == ["'self'"]


def test_no_template_has_inline_scripts_handlers_or_styles():
    offenders = []
    for path in SOURCE.rglob("templates/**/*.html"):
        if path.name in ("pdf.html", "email.html"):
            continue  # rendered to PDF by WeasyPrint, or sent as a mail (its styles in its head): never served
        text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", path.read_text(encoding="utf-8"), flags=re.S)
        if path.name in ("400.html", "500.html"):
            text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
        # The campaign page shows embed codes as escaped text (&lt;iframe style=...&gt;) for customers' sites.
        text = re.sub(r"<textarea class=\"snippet\".*?</textarea>", "", text, flags=re.S)
        offenders += [f"{path.relative_to(SOURCE)}: {match.group(0)}" for match in INLINE.finditer(text)]
    assert offenders == []


@pytest.mark.parametrize("page", ["400.html", "500.html"])
def test_the_error_page_style_matches_the_allowed_hash(page):
    text = (SOURCE / "templates" / page).read_text(encoding="utf-8")
    css = re.search(r"<style>(.*?)</style>", text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert settings.ERROR_PAGE_STYLE_HASH == f"'sha256-{digest}'"

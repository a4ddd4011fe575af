"""The interface is Chinese for Chinese browsers (and by default), English on request."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse


@pytest.mark.parametrize(("accept", "expected"), [("zh-CN,zh;q=0.9", "线索"), ("en-US,en;q=0.9", "Leads")])
def test_pages_follow_the_browser_language(client, org, accept, expected):
    client.force_login(org.owner)
    content = client.get(reverse("leads:list"), HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert f">{expected}</h1>" in content


def test_zh_hans_is_the_default(client, org, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(org.owner)
    assert ">线索</h1>" in client.get(reverse("leads:list")).content.decode()


def test_validation_messages_are_translated(org):
    from django.utils import translation

    from closeloop.leads.normalize import credit_code_error

    with translation.override("zh-hans"):
        assert credit_code_error("9135010") == "统一社会信用代码应为 18 位，这里是 7 位。"


def test_blank_choices_read_chinese(client, org):
    client.force_login(org.owner)
    content = client.get(reverse("leads:create"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "- 请选择 -" in content
    assert "Select an option" not in content


def test_the_zh_hans_catalogue_has_no_gaps():
    """An empty or fuzzy entry shows English (or a guessed translation) in a Chinese interface."""
    po = (Path(settings.LOCALE_PATHS[0]) / "zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    entries = po.strip().split("\n\n")[1:]  # the first block is the header
    assert len(entries) > 100
    gaps = [e for e in entries if "#, fuzzy" in e or e.endswith(('msgstr ""', 'msgstr[0] ""'))]
    assert gaps == []

"""The profile page's API tokens on a phone (390 px), in Chinese: a read-only token that expires in 30 days is
created, used from the API, and the page says when and from where."""

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from closeloop.core.models import ApiToken, TokenAccess

pytestmark = pytest.mark.browser


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_rep_makes_a_read_only_token_on_a_phone_and_sees_its_last_use(org, new_page, live_server, tmp_path):
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.goto("/profile/")
    expect(page.get_by_role("heading", name="API 令牌")).to_be_visible()
    page.get_by_label("令牌名称").fill("报表系统")
    page.get_by_label("权限").select_option(label="只读")
    page.get_by_label("到期").select_option(label="30 天")
    page.get_by_role("button", name="创建令牌").click()
    raw = page.locator("#new-token").inner_text().strip()
    token = ApiToken.objects.get(user=org.owner)
    assert token.access == TokenAccess.READ and token.expires_at is not None

    request = urllib.request.Request(f"{live_server.url}/api/users/me", headers={"Authorization": f"Bearer {raw}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["username"] == "owner"

    page.goto("/profile/")
    table = page.locator("table.tokens")
    expect(table).to_contain_text("只读")
    expect(table).to_contain_text("来自 127.0.0.1")
    expect(table).to_contain_text(token.expires_at.strftime("%Y-"))
    page.screenshot(path=tmp_path / "tokens-phone.png", full_page=True)
    assert overflow(page) <= 0


def test_the_api_reference_reads_on_a_phone_and_the_api_root_points_to_it(new_page, live_server, tmp_path):
    """The reference (django-ninja's Swagger page) lays out at the phone's width, not a desktop's 980 px shrunk,
    loads under the site's content policy without a refusal, and /api/ names it."""
    page = new_page(phone=True, locale="zh-CN")
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Closeloop API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.evaluate("window.innerWidth") == 390
    assert overflow(page) <= 0
    page.screenshot(path=tmp_path / "api-docs-phone.png")
    assert refused == []
    with urllib.request.urlopen(f"{live_server.url}/api/", timeout=30) as answer:
        assert json.loads(answer.read())["docs"] == f"{live_server.url}/api/docs"

"""The grouped navigation in a real browser: drop-downs on a desktop, one Menu on a 390-px phone, and the
language switch in the account menu."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_desktop_groups_open_as_drop_downs(org, new_page, tmp_path):
    page = new_page(user=org.admin)
    page.set_default_timeout(WAIT)
    page.goto("/leads/")
    nav = page.get_by_role("navigation", name="Main")
    pool = nav.get_by_role("link", name="Pool")
    expect(pool).to_be_hidden()
    nav.get_by_role("button", name="Leads").click()
    expect(pool).to_be_visible()
    page.screenshot(path=tmp_path / "nav-desktop-leads.png")
    # One group open at a time: opening another closes the first (a click outside it).
    nav.get_by_role("button", name="Settings").click()
    expect(pool).to_be_hidden()
    expect(nav.get_by_role("link", name="Intake rules")).to_be_visible()
    nav.get_by_role("link", name="Intake rules").click()
    expect(page.get_by_role("heading", name="Intake rules")).to_be_visible()


def test_a_rep_sees_no_settings_group(org, new_page):
    page = new_page(user=org.owner)
    page.set_default_timeout(WAIT)
    page.goto("/leads/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("button", name="Leads")).to_be_visible()
    expect(nav.get_by_role("button", name="Settings")).to_have_count(0)


def test_on_a_phone_the_navigation_folds_into_one_menu(org, new_page, tmp_path):
    page = new_page(user=org.owner, phone=True)
    page.set_default_timeout(WAIT)
    page.goto("/leads/")
    nav = page.get_by_role("navigation", name="Main")
    board = nav.get_by_role("link", name="Board", exact=True)  # not 经营看板 "Dashboard"
    expect(board).to_be_hidden()
    page.screenshot(path=tmp_path / "nav-phone-closed.png")
    menu = nav.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    # Every group is listed open on a phone: no second tap to reach a page.
    expect(board).to_be_visible()
    expect(nav.get_by_role("link", name="Lead list")).to_be_visible()
    page.screenshot(path=tmp_path / "nav-phone-open.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the open menu is {width}px wide"
    board.click()
    expect(page).to_have_url(re.compile(r"/deals/board/$"))
    expect(board).to_be_hidden()


def test_the_language_switch_lives_in_the_account_menu(org, new_page):
    page = new_page(user=org.owner)
    page.set_default_timeout(WAIT)
    page.goto("/leads/")
    expect(page.locator("footer select[name=language]")).to_have_count(0)
    nav = page.get_by_role("navigation", name="Main")
    chinese = nav.get_by_role("button", name="简体中文")
    expect(chinese).to_be_hidden()
    nav.get_by_role("button", name="owner").click()
    chinese.click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="线索")).to_be_visible()
    # The choice sticks (a cookie) and the page stays where it was.
    assert page.url.endswith("/leads/")
    nav = page.get_by_role("navigation", name="主导航")
    nav.get_by_role("button", name="owner").click()
    nav.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_on_a_phone_the_language_switch_is_in_the_menu(org, new_page):
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/leads/")
    nav = page.get_by_role("navigation", name="主导航")
    nav.get_by_role("button", name="菜单").click()
    nav.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()

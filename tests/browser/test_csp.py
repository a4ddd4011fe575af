"""The Content-Security-Policy in a real browser: key pages load and their scripts (htmx, Alpine's CSP
build, app.js, the board) work with no violation reported, and the public form still works framed by
another site."""

import pytest
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline
from closeloop.leads.models import Campaign

pytestmark = pytest.mark.browser

WAIT = 30_000

# Runs in every frame before the page's own scripts: keeps each violation the browser reports.
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


def watched(page):
    """The page with its violations collected from events and from the console (frames included)."""
    page.add_init_script(WATCH)
    page.csp_console = []
    page.on("console", lambda message: page.csp_console.append(message.text)
            if "Content Security Policy" in message.text else None)
    # Confirmation questions are kept and answered "no".
    page.questions = []
    page.on("dialog", lambda dialog: (page.questions.append(dialog.message), dialog.dismiss()))
    return page


def violations(page) -> list[str]:
    found = list(page.csp_console)
    for frame in page.frames:
        found += frame.evaluate("window.__cspViolations || []")
    return found


def test_key_pages_load_and_work_without_a_violation(org, make_lead, make_deal, new_page):
    install_default_pipeline()
    lead = make_lead(company_name="杭州西湖软件有限公司", need="CRM")
    deal = make_deal()
    campaign = Campaign.objects.create(name="2026工博会", source=org.sources["展会"])
    page = watched(new_page(user=org.admin))
    page.set_default_timeout(WAIT)
    seen = {}
    for url in ["/", "/leads/", "/leads/new/", lead.get_absolute_url(), f"/leads/{lead.pk}/edit/", "/leads/pool/",
                "/leads/import/", "/leads/duplicates/", "/leads/campaigns/", f"/leads/campaigns/{campaign.pk}/",
                "/leads/settings/scoring/", "/leads/settings/assignment/", "/leads/settings/intake/",
                "/deals/", "/deals/board/", deal.get_absolute_url(), deal.customer.get_absolute_url(),
                "/deals/customers/", "/deals/settings/", "/team/users/", "/team/departments/", "/profile/",
                "/notifications/", "/settings/robots/", "/insights/", "/api/docs", "/no-such-page/"]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        seen[url] = violations(page)
    assert {url: found for url, found in seen.items() if found} == {}

    # The scripts run: Alpine opens a menu, app.js asks before a bulk assignment and ticks every row.
    page.goto("/leads/")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Deals").click()
    expect(nav.get_by_role("link", name="Board", exact=True)).to_be_visible()
    page.get_by_role("checkbox", name="Select all").check()
    expect(page.locator("input[name=leads]").first).to_be_checked()
    page.get_by_label("Assign to").select_option(label=str(org.owner))
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()
    assert page.questions == ["Assign the selected leads?"]
    # htmx swaps the rows in place when the list is filtered.
    page.get_by_label("Search").fill("西湖")
    expect(page.locator("#lead-rows")).to_contain_text("杭州西湖软件有限公司")
    assert violations(page) == []


def test_the_framed_public_form_works_without_a_violation(org, new_page, other_origin, live_server):
    campaign = Campaign.objects.create(name="官网表单", source=org.sources["官网"])
    site = other_origin(f"""<!doctype html><meta charset="utf-8"><title>客户官网</title>
        <iframe src="{live_server.url}/f/{campaign.form_key}/" title="form"></iframe>""")
    page = watched(new_page())
    page.goto(site)
    frame = page.frame_locator("iframe")
    frame.get_by_label("Company").fill("厦门海风贸易有限公司")
    frame.get_by_label("Contact").fill("林海")
    frame.get_by_label("Mobile").fill("13806001234")
    frame.get_by_role("button", name="Submit").click()
    expect(frame.get_by_role("status")).to_be_visible()
    assert violations(page) == []


def test_a_violation_would_be_seen(org, new_page, live_server):
    # The watch itself works: an inline script on our page is refused and reported.
    page = watched(new_page(user=org.owner))
    page.goto("/profile/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';
                     document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert any("script-src" in found for found in violations(page))

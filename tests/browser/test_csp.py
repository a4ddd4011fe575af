"""The Content-Security-Policy in a real browser: every page a logged-in user can open loads with no violation
reported, the scripts (htmx, Alpine's CSP build, app.js, the board) work, and the public form still works framed by
another site.

The pages are not listed by hand: the demo company is crawled through its links as the people of each role, one
page per URL pattern, and every URL pattern of the site must be met in the crawl (as a page, a form's action, an
htmx fragment, a download or a redirect) or be named below with the reason it is not. A new page is covered as
soon as something links to it; a page nothing links to fails the test until it is linked or named."""

from collections import Counter
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.conf import settings as site_settings
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from playwright.sync_api import expect

from closeloop.core.models import User
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


# The demo's people crawled, one of each role: each opens the pages of their work.
CRAWLERS = ["admin", "manager1", "rep1", "presales1", "finance1", "service1"]
# URL patterns the crawl does not meet, and why that is right. Everything else must be met.
NOT_CRAWLED = {
    "login": "the crawl is logged in (the login page is opened logged out at the end)",
    "logout": "a form's POST in the menu; following it would end the crawl",
    "password_change_done": "shown only after a password change",
    "set_language": "a POST of the language menu",
    "public_form_thanks": "shown after a public form is sent",
    "ticket_form_thanks": "shown after a public ticket is sent",
    "api:openapi-json": "JSON, not a page",
    "contracts:document": "a download of an uploaded copy (the demo's contracts have none)",
    "service:ticket_file": "a download of a ticket's attachment (the demo's tickets have none)",
    "leads:import_detail": "an import's page: needs an uploaded file (tests/browser/test_lead_to_deal.py walks one)",
    "leads:import_progress": "the import page's progress fragment",
    "leads:import_cancel": "the POST of a running import's cancel (tests/browser/test_import_cancel.py)",
    "leads:import_report": "an import's refused rows, a spreadsheet download",
    "export_job": "a large export's page: needs a list past CLOSELOOP_EXPORT_BACKGROUND_ROWS (test_list_exports.py)",
    "export_download": "a large export's file, a spreadsheet download",
    "quotes:line_update": "the POST of a quote line's edit form, shown once a line is chosen for editing",
    "deals:customer_claim": "a POST from the customer pool (the demo's pool is empty)",
    "service:renewal_quote": "a POST on a renewal (the demo has no renewal due)",
    "webhook_delivery": "one delivery of a webhook (the demo's subscription was never called)",
    "webhook_replay": "a POST on one delivery of a webhook",
    "quotes:logo": "the company logo's image (the demo has none)",
}
# Prefixes of URL patterns that are not Closeloop's pages: the JSON API (its docs page is crawled) and Django's
# admin (read-only for audited models, its own templates).
NOT_PAGES = ("api/", "django-admin/")


class Links(HTMLParser):
    """What a page points to: links (to follow), forms (GET forms are pages, POST forms actions) and htmx requests."""

    def __init__(self):
        super().__init__()
        self.links, self.actions, self.fragments = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "input" and "readonly" in attrs and (attrs.get("value") or "").startswith("http"):
            self.links.append(attrs["value"])  # a public link shown to be copied (a quote's, a delivery's)
        if tag == "img" and attrs.get("src"):
            self.fragments.append(attrs["src"])
        if tag == "form" and attrs.get("action"):
            (self.links if (attrs.get("method") or "get").lower() == "get" else self.actions).append(attrs["action"])
        for name in ("hx-get", "hx-post", "hx-delete", "hx-patch", "hx-put", "data-url", "formaction"):
            if attrs.get(name):
                (self.fragments if name in ("hx-get", "data-url") else self.actions).append(attrs[name])


def _route(url: str) -> str | None:
    """The URL pattern a same-site URL resolves to (its view name), or None for another site or no match."""
    parts = urlsplit(url)
    if parts.netloc and not url.startswith(site_settings.CLOSELOOP_BASE_URL):  # the site's own links to its public pages
        return None
    if not parts.path.startswith("/") or parts.path.startswith("/static/"):
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    return match.view_name or match.route


def every_route() -> set[str]:
    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part)
                yield from walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern) and not route.startswith(NOT_PAGES):
                yield f"{namespace}:{pattern.name}" if namespace else (pattern.name or route)

    return set(walk(get_resolver().url_patterns))


def sent_by_mail() -> list[str]:
    """Pages people reach from an email or a message, not a link on a page: a satisfaction survey, a customer's
    ticket form."""
    from closeloop.service.models import Survey, TicketFormLink
    from closeloop.service.surveys import survey_url

    return [survey_url(Survey.objects.order_by("pk").first()),
            TicketFormLink.objects.order_by("pk").first().get_absolute_url()]


def crawl(user, start=()) -> tuple[dict[str, str], set[str]]:
    """The pages the user meets from the home page, one URL each ({route: url}), and every other route met: a form's
    action, an htmx fragment, a download, a redirect. Routes of records are tried on up to ten records (the first
    may be one the user may not open, or in a state without some link)."""
    client = Client()
    client.force_login(user)
    pages, met, done, tries = {}, set(), set(), Counter()
    queue = ["/", *(urlsplit(url).path for url in sent_by_mail()), *start]
    while queue:
        url = queue.pop(0)
        route, path = _route(url), urlsplit(url).path
        if route is None or url in done or (route in pages and not resolve(path).kwargs) or tries[route] >= 10:
            continue
        done.add(url)
        tries[route] += 1
        if path.startswith(("/api/", "/django-admin/")):
            if path == "/api/docs":  # the API's one page
                pages.setdefault(route, url)
            continue
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            met.add(route)
            queue.append(response["Location"])
            continue
        if response.status_code != 200:
            continue
        met.add(route)
        if not response["Content-Type"].startswith("text/html"):
            continue
        pages.setdefault(route, url)
        found = Links()
        found.feed(response.content.decode())
        met.update(_route(other) for other in found.actions + found.fragments)
        for link in found.links:
            parts = urlsplit(link)
            if parts.path:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    met.discard(None)
    return pages, met


def more_than_the_demo():
    """Records of the pages the demo company leaves empty: a second pipeline, a tag, custom fields (leads, tickets),
    a group robot, webhook subscriptions (one paused), a shared saved view, a qualified lead and a signed contract
    without a delivery; the last two pages are returned, to start the crawl with (lists show the newest first)."""
    from django.utils import timezone

    from closeloop.contracts.models import Contract, ContractStatus, SignedVia
    from closeloop.contracts.services import contract_sign
    from closeloop.core.customfields.services import custom_field_create
    from closeloop.core.models import Department
    from closeloop.core.savedviews.services import view_save
    from closeloop.core.services import robot_save
    from closeloop.core.webhooks.services import webhook_subscription_pause, webhook_subscription_save
    from closeloop.deals.services.pipelines import pipeline_save
    from closeloop.followup.tags import tag_save
    from closeloop.leads.models import Lead, LeadStatus
    from closeloop.leads.services.editing import lead_assign, lead_update

    admin = User.objects.get(username="admin")
    pipeline_save(actor=admin, data={"name": "渠道项目", "position": 2})
    tag_save(data={"name": "重点客户"}, actor=admin)
    custom_field_create(target="leads.Lead", key="sub_industry", field_type="text", actor=admin,
                        data={"label_zh": "细分行业", "label_en": "Sub-industry"})
    robot_save(actor=admin, data={"name": "销售群", "department": Department.objects.order_by("pk").first(),
                                  "platform": "wecom", "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
                                  "kinds": [], "is_active": True})
    for name in ("OA 系统", "ERP"):
        subscription = webhook_subscription_save(actor=admin, data={"name": name, "url": "http://127.0.0.1:9/hooks",
                                                                    "events": ["lead.created"]})
    webhook_subscription_pause(actor=admin, subscription=subscription)
    custom_field_create(target="service.Ticket", key="device", field_type="text", actor=admin,
                        data={"label_zh": "设备型号", "label_en": "Device"})
    rep = User.objects.get(username="rep1")
    view_save(list_key="leads", name="本周新线索", shared=True, actor=rep, filters="status=new")
    # The demo's deals took every qualified lead: one more, so its page offers the conversion.
    lead = (Lead.objects.exclude(status__in=[LeadStatus.CONVERTED, LeadStatus.MERGED, LeadStatus.DISQUALIFIED])
            .order_by("-owner", "pk").first())
    if lead.owner_id is None:
        lead = lead_assign(lead=lead, owner=rep, actor=admin)
    lead_update(lead=lead, data={"status": LeadStatus.QUALIFIED}, actor=admin, channel="web")
    # And a signed contract with no delivery yet, whose page offers to start one.
    contract = Contract.objects.filter(status=ContractStatus.APPROVED).select_related("owner").order_by("pk").first()
    contract_sign(contract=contract, actor=contract.owner, sign_date=timezone.localdate(), via=SignedVia.SCAN)
    return [lead.get_absolute_url(), contract.get_absolute_url()]


def test_every_page_a_logged_in_user_can_open_has_no_violation(data_migration_rows, new_page, settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = ["127.0.0.1"]  # the webhook subscription's receiver (never called)
    call_command("demo", leads=30, stdout=StringIO())
    start = more_than_the_demo()
    pages, met = {}, set()
    for username in CRAWLERS:
        user = User.objects.get(username=username)
        found, also = crawl(user, start)
        for route, url in found.items():
            pages.setdefault(route, (user, url))
        met |= also
    missing = sorted(every_route() - set(pages) - met - set(NOT_CRAWLED))
    assert missing == [], " ".join(missing)
    assert len(pages) >= 120, sorted(pages)  # 130 when written: the crawl must not quietly shrink

    seen = {}
    browsers = {}
    for route, (user, url) in sorted(pages.items()):
        if user.pk not in browsers:
            browsers[user.pk] = watched(new_page(user=user))
            browsers[user.pk].set_default_timeout(WAIT)
        page = browsers[user.pk]
        page.goto(url)
        page.wait_for_load_state("networkidle")
        seen[f"{route} {url} ({user.username})"] = violations(page)
        page.csp_console.clear()
    page = watched(new_page())
    page.goto("/login/")
    page.wait_for_load_state("networkidle")
    seen["login /login/"] = violations(page)
    assert {url: found for url, found in seen.items() if found} == {}


def test_the_scripts_work_without_a_violation(org, make_lead, new_page):
    install_default_pipeline()
    make_lead(company_name="杭州西湖软件有限公司", need="CRM")
    page = watched(new_page(user=org.admin))
    page.set_default_timeout(WAIT)

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

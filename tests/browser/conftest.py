"""Playwright driving Debian's Chromium against pytest-django's live server.

Never `playwright install`: the browser is the system's /usr/bin/chromium (`apt-get install chromium`).
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (the page's default below): on a loaded CI machine a cross-site post
    # can take longer than expect's own 5 s.
    expect.set_options(timeout=15_000)
    # Playwright's sync API runs an asyncio loop in this thread, and Django refuses ORM calls from a
    # thread with a running loop unless told it is safe. Only while the browser runs: the variable
    # must not leak into other tests (the deploy check rightly fails when it is set), and the module
    # scope stops the loop before tests of other modules run.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def empty_cache(transactional_db):
    # The public form's rate limit counts in the database cache, which outlives transactional tests.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def new_page(browser, live_server, empty_cache):
    """`new_page(user=None, phone=False)`: a fresh browser context, logged in as `user` if given."""
    contexts = []

    def make(user=None, phone=False, locale="en-US"):
        context = browser.new_context(
            base_url=live_server.url, locale=locale,
            viewport=PHONE if phone else {"width": 1280, "height": 900},
            is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1,
        )
        contexts.append(context)
        if user is not None:
            from django.test import Client

            client = Client()
            client.force_login(user)
            session = client.cookies["sessionid"].value
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def other_origin():
    """A real second web server on loopback, standing in for a customer's website.

    `other_origin(html)` serves `html` at / and returns the page's URL (127.0.0.1, another port: a
    different origin from the live server on localhost).
    """
    servers = []

    def serve(html: str) -> str:
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()

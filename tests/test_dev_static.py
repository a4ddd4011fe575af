"""Development serves static files from the finders; WhiteNoise must not warn about STATIC_ROOT."""

import warnings

from whitenoise.middleware import WhiteNoiseMiddleware


def test_whitenoise_starts_without_a_missing_directory_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WhiteNoiseMiddleware(lambda request: None)
    assert not [w for w in caught if "No directory at" in str(w.message)]


def test_every_page_names_the_site_icon_and_it_is_served(client, db):
    """Without a named icon the browser asks for /favicon.ico on every page and logs a 404 in the console."""
    import re

    page = client.get("/login/")
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page.content.decode())
    assert icon, "the login page names no icon"
    from django.contrib.staticfiles import finders

    assert finders.find(icon.group(1).removeprefix("/static/")) is not None


def test_a_static_file_changed_while_the_server_runs_is_served_whole(settings, tmp_path, rf):
    """`make run` keeps serving while someone edits app.js: WhiteNoise indexed the files at start-up and kept
    sending the old length, so the browser got the new file cut short ("Unexpected end of input" on every page)."""
    from django.contrib.staticfiles import finders

    script = tmp_path / "walk-check.js"
    script.write_text("let a = 1;\n")
    settings.STATICFILES_DIRS = [tmp_path]
    finders.get_finder.cache_clear()
    try:
        middleware = WhiteNoiseMiddleware(lambda request: None)
        first = middleware(rf.get("/static/walk-check.js"))
        assert int(first["Content-Length"]) == len("let a = 1;\n")
        script.write_text("let a = 1;\nlet b = 2;\n")
        again = middleware(rf.get("/static/walk-check.js"))
        assert int(again["Content-Length"]) == len("let a = 1;\nlet b = 2;\n")
    finally:
        finders.get_finder.cache_clear()

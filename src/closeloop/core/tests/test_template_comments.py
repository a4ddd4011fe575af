"""Django's `{# … #}` comment ends on its own line: one spread over two lines is not a comment but text, printed
at the top of every page that extends base.html (it happened: the htmx settings' note)."""

from pathlib import Path

import closeloop

SOURCE = Path(closeloop.__file__).parent


def test_every_short_comment_closes_on_its_line():
    open_ended = []
    for path in SOURCE.rglob("templates/**/*.html"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.count("{#") > line.count("#}"):
                open_ended.append(f"{path.relative_to(SOURCE)}:{number}")
    assert open_ended == [], "use {% comment %} … {% endcomment %} for a note of several lines"


def test_the_lead_list_shows_no_template_note(client, org):
    client.force_login(org.manager)
    page = client.get("/leads/").content.decode()
    assert "{#" not in page and "#}" not in page

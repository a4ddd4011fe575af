"""Dragging a stage into place on the pipeline settings page (issue 15), never across the line between open and
closed stages, with no CSP violation; the up/down buttons
the page offers without the script are tested in deals/tests/test_stage_move.py."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.models import Pipeline

from .test_csp import violations, watched

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_an_administrator_drags_a_stage_into_place(org, new_page):
    install_default_pipeline()  # the live server's flush removed the migration's pipeline
    pipeline = Pipeline.default()
    page = watched(new_page(user=org.admin, locale="zh-CN"))
    page.set_default_timeout(WAIT)
    page.goto(reverse("deals:settings"))
    moves = []
    page.on("request", lambda request: moves.append(request.url) if "/move/" in request.url else None)
    rows = page.locator("tbody[data-stage-sort] > tr")
    expect(rows.nth(3)).to_contain_text("商务谈判")
    # 赢单 dropped on the first row, or 商务谈判 below 输单: the rows do not cross the line between open and closed
    # stages, and nothing is posted.
    rows.nth(4).drag_to(rows.nth(0), target_position={"x": 40, "y": 3})
    rows.nth(3).drag_to(rows.nth(5), target_position={"x": 40, "y": 30})
    expect(rows.nth(3)).to_contain_text("商务谈判")
    expect(rows.nth(4)).to_contain_text("赢单")
    # Dropped on the upper half of the second row: it goes before it.
    rows.nth(3).drag_to(rows.nth(1), target_position={"x": 40, "y": 3})
    expect(page.get_by_role("status").or_(page.locator(".message.success"))).to_contain_text("商务谈判")
    expect(rows.nth(1)).to_contain_text("商务谈判")
    names = list(pipeline.stages.order_by("position", "id").values_list("name", flat=True))
    assert names == ["初步接洽", "商务谈判", "需求确认", "方案报价", "赢单", "输单"]
    assert len(moves) == 1  # the one drag that stayed on its side
    assert violations(page) == []

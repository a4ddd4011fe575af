"""After-sales service through the real pages (issue 11): a customer reports a problem on the public ticket form on
their phone (390 px, in Chinese), the service team's rule gives it to the next colleague, who answers and resolves it
within its SLA, the customer answers the survey link from the mail with a low score, and the call-back task is on
the account owner's Today page. The worker runs in between, as `closeloop serve`'s would."""

import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from closeloop.core.models import Notification
from closeloop.core.tests.conftest import run_worker  # noqa: F401 (a fixture)
from closeloop.followup.models import Task
from closeloop.service import sla, ticket_forms
from closeloop.service.models import ServiceSettings, Survey, Ticket, TicketStatus
from closeloop.service.tests.conftest import default_sla_policies, service_staff, service_team  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

WAIT = 30_000


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_ticket_from_the_public_form_is_assigned_answered_resolved_in_time_and_a_low_score_calls_back(
        org, make_customer, service_team, default_sla_policies, run_worker, new_page, tmp_path,  # noqa: F811
        settings):
    settings.MEDIA_ROOT = str(tmp_path)
    # The company runs its site in Chinese: what the services write for people to read (a task's title) is too.
    settings.LANGUAGE_CODE = "zh-hans"
    # Round-robin among after-sales service (the manager is on leave): `service` took the last ticket, so the rule
    # gives this one to `service2`.
    ServiceSettings.objects.filter(pk=1).update(assignment_strategy="round_robin",
                                                last_assigned=service_team.first)
    link = ticket_forms.ticket_form_share(customer=make_customer(name="云帆科技有限公司"), actor=org.owner)
    screenshot = tmp_path / "截图.pdf"
    screenshot.write_bytes(b"%PDF-1.4\n%%EOF\n")

    # The customer reports the problem on their phone.
    phone = new_page(phone=True, locale="zh-CN")
    phone.set_default_timeout(WAIT)
    phone.goto(f"/t/{link.key}/")
    expect(phone.get_by_role("heading", name="提交问题")).to_be_visible()
    assert fits(phone)
    phone.get_by_label("您的姓名 *", exact=True).fill("周敏")
    phone.get_by_label("电话", exact=True).fill("13912345678")
    phone.get_by_label("邮箱", exact=True).fill("zhou@example.com")
    phone.get_by_label("事项 *", exact=True).fill("报表导出乱码")
    phone.locator("input[name=attachments]").set_input_files(str(screenshot))
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#ticket-number")).to_be_visible()
    ticket = Ticket.objects.get()
    expect(phone.locator("#ticket-number")).to_have_text(ticket.number)
    assert ticket.owner == service_team.second and ticket.attachments.count() == 1
    assert ticket.first_response_due_at is not None and ticket.resolution_due_at is not None

    # The colleague the rule chose finds it among their tickets on their phone: a card with both SLA clocks running.
    agent = new_page(user=service_team.second, phone=True, locale="zh-CN")
    agent.set_default_timeout(WAIT)
    agent.goto("/service/tickets/")
    card = agent.locator("#ticket-rows table.cards tbody tr").first
    expect(card).to_contain_text(ticket.number)
    for label in ("首次响应", "解决时限", "处理人"):
        expect(card.locator(f'td[data-label="{label}"]')).to_be_visible()
    expect(card.locator(".sla-running")).to_have_count(2)
    assert fits(agent)
    agent.get_by_role("link", name=re.compile(ticket.number)).first.click()
    expect(agent.locator("h1")).to_contain_text("报表导出乱码")
    expect(agent.locator("#sla")).to_contain_text("首次响应")
    expect(agent.locator("#sla .sla-running")).to_have_count(2)
    expect(agent.locator("#sla .sla-running").first).to_contain_text("小时")
    assert fits(agent)

    # They answer; the customer hears of it by email, and the response clock is met.
    agent.screenshot(path=tmp_path / "ticket-new.png", full_page=True)
    agent.get_by_label("回复 *", exact=True).fill("您好，已定位到编码问题，今天修复。")
    agent.locator("#reply").get_by_role("button", name="发送").click()
    expect(agent.locator("#ticket-status")).to_have_text("处理中")
    run_worker()
    assert any(m.to == ["zhou@example.com"] and ticket.number in m.subject for m in mail.outbox)
    expect(agent.locator("#sla .sla-met")).to_have_count(1)

    # They resolve it within its target: both clocks are met, and the worker's SLA sweep escalates nothing.
    agent.get_by_role("button", name="已解决").click()
    expect(agent.locator("#ticket-status")).to_have_text("已解决")
    expect(agent.locator("#sla .sla-met")).to_have_count(2)
    expect(agent.locator("#sla")).not_to_contain_text("超时")
    agent.screenshot(path=tmp_path / "ticket-resolved.png", full_page=True)
    sla.sla_sweep()
    run_worker()
    assert not Notification.objects.filter(kind="ticket.sla_breached").exists()

    # The survey went to the address the customer left; they answer it on their phone, unhappy with the wait.
    survey = Survey.objects.get(ticket=ticket)
    invitation = next(m for m in mail.outbox if survey.key in m.body)
    url = re.search(r"https?://\S+", invitation.body).group(0)
    phone.goto(url.replace(url.split("/s/")[0], ""))
    expect(phone.get_by_role("heading", name="服务满意度评价")).to_be_visible()
    expect(phone.locator("header")).to_contain_text(ticket.number)
    # Every score button is on the screen: the 0–10 row wraps instead of running off the side.
    assert fits(phone)
    last = phone.locator("input[name=nps][value='10']").bounding_box()
    assert last["x"] + last["width"] <= 390
    phone.locator("label.score", has=phone.locator("input[name=csat][value='2']")).click()
    phone.locator("label.score", has=phone.locator("input[name=nps][value='3']")).click()
    phone.get_by_label("您希望我们保持或改进什么？（选填）").fill("等了三天才有人回复")
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.locator("#survey-thanks")).to_be_visible()
    survey.refresh_from_db()
    assert (survey.csat, survey.nps, survey.comment) == (2, 3, "等了三天才有人回复")

    # The account owner has the call-back on Today, and it leads to the ticket with the answer.
    run_worker()
    call_back = Task.objects.get(owner=org.owner, kind="survey_low_score")
    # Today lists what is due today: a call-back opened after 20:00 (due in 4 hours) falls due after midnight,
    # so the walk brings it into today rather than depend on the hour the suite runs at.
    if timezone.localdate(call_back.due_at) != timezone.localdate():
        Task.objects.filter(pk=call_back.pk).update(due_at=timezone.now())
    owner = new_page(user=org.owner, phone=True, locale="zh-CN")
    owner.set_default_timeout(WAIT)
    owner.goto("/follow-up/today/")
    assert fits(owner)
    owner.screenshot(path=tmp_path / "today.png", full_page=True)
    expect(owner.locator("main")).to_contain_text("客户不满意（CSAT 2，NPS 3）：请回访")
    owner.get_by_role("link", name=ticket.number, exact=False).first.click()
    expect(owner.locator("#survey")).to_contain_text("等了三天才有人回复")
    expect(owner.locator("#survey")).to_contain_text("低分：请回访客户")
    assert Ticket.objects.get().status == TicketStatus.RESOLVED

"""The customer answers a satisfaction survey on their phone (390 px, in Chinese) with a low score, and the call-back
task is on the account owner's Today page."""

import pytest
from playwright.sync_api import expect

from closeloop.core.models import Role, User
from closeloop.deals.services.customers import contact_create
from closeloop.followup.models import Task
from closeloop.service import tickets
from closeloop.service.models import Survey, TicketStatus

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_the_customer_answers_the_survey_on_a_phone_and_the_owner_is_told_to_call_back(org, make_customer, new_page):
    User.objects.create_user("service", "service@example.com", "pw", role=Role.SERVICE, display_name="小陈")
    customer = make_customer(name="云帆科技有限公司")
    contact = contact_create(customer=customer, data={"name": "周敏", "email": "zhou@example.com"}, actor=org.owner)
    ticket = tickets.ticket_create(customer=customer, actor=org.owner, data={
        "title": "报表导出乱码", "priority": "P2", "contact": contact})
    tickets.ticket_move(ticket=ticket, status=TicketStatus.RESOLVED, actor=ticket.owner)
    survey = Survey.objects.get(ticket=ticket)

    phone = new_page(phone=True, locale="zh-CN")
    phone.set_default_timeout(WAIT)
    phone.goto(f"/s/{survey.key}/")
    expect(phone.get_by_role("heading", name="服务满意度评价")).to_be_visible()
    expect(phone.locator("header")).to_contain_text(ticket.number)
    # Every score button is on the screen: the 0–10 row wraps instead of running off the side.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
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
    assert Task.objects.filter(owner=org.owner, kind="survey_low_score").exists()
    owner = new_page(user=org.owner, phone=True)
    owner.set_default_timeout(WAIT)
    owner.goto("/follow-up/today/")
    owner.get_by_role("link", name=ticket.number, exact=False).first.click()
    expect(owner.locator("#survey")).to_contain_text("等了三天才有人回复")


def test_the_customer_reports_a_problem_on_the_public_ticket_form_on_a_phone(org, make_customer, new_page, tmp_path,
                                                                            settings):
    from closeloop.service import ticket_forms
    from closeloop.service.models import Ticket

    settings.MEDIA_ROOT = str(tmp_path)
    User.objects.create_user("service", "service@example.com", "pw", role=Role.SERVICE, display_name="小陈")
    link = ticket_forms.ticket_form_share(customer=make_customer(name="云帆科技有限公司"), actor=org.owner)
    screenshot = tmp_path / "截图.pdf"
    screenshot.write_bytes(b"%PDF-1.4\n%%EOF\n")

    phone = new_page(phone=True, locale="zh-CN")
    phone.set_default_timeout(WAIT)
    phone.goto(f"/t/{link.key}/")
    expect(phone.get_by_role("heading", name="提交问题")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.get_by_label("您的姓名 *", exact=True).fill("周敏")
    phone.get_by_label("电话", exact=True).fill("13912345678")
    phone.get_by_label("事项 *", exact=True).fill("报表导出乱码")
    phone.locator("input[name=attachments]").set_input_files(str(screenshot))
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#ticket-number")).to_be_visible()
    ticket = Ticket.objects.get()
    expect(phone.locator("#ticket-number")).to_have_text(ticket.number)
    assert ticket.owner.username == "service" and ticket.attachments.count() == 1


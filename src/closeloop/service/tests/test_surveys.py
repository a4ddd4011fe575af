"""Satisfaction surveys: sent when a ticket is resolved or a delivery accepted, answered once on the public link
(anonymous, rate-limited, honeypot, bounded), low scores turned into call-back tasks for the account owner and the
service manager, and CSAT/NPS on the customer page and by customer, owner, product and period, per viewer."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from closeloop.core.errors import Conflict, ValidationFailed
from closeloop.core.models import AuditEntry, Notification
from closeloop.deals.services.customers import contact_create
from closeloop.followup.models import Participant, Task, TaskStatus
from closeloop.followup.services import activity_log
from closeloop.followup.today import today_sections
from closeloop.service import selectors, surveys, tickets
from closeloop.service.models import ServiceSettings, Survey, TicketStatus

from .conftest import milestones_done

pytestmark = pytest.mark.django_db
S = TicketStatus


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def resolve(ticket, actor):
    tickets.ticket_move(ticket=ticket, status=S.RESOLVED, actor=actor)
    return Survey.objects.get(ticket=ticket)


@pytest.fixture
def resolved_survey(org, make_customer, make_ticket, service_team):
    """The survey of a resolved ticket of the owner's customer whose contact has an email address."""
    def make(customer=None, **data):
        customer = customer or make_customer(owner=org.owner)
        contact = customer.contacts.first() or contact_create(
            customer=customer, data={"name": "周敏", "email": "zhou@example.com"}, actor=customer.owner)
        ticket = make_ticket(customer=customer, contact=contact, actor=customer.owner, **data)
        return resolve(ticket, ticket.owner)

    return make


def test_resolving_a_ticket_mails_the_contact_a_survey_once(org, make_customer, make_ticket, service_team,
                                                            django_capture_on_commit_callbacks, run_worker):
    row = ServiceSettings.objects.get(pk=1)
    row.survey_expiry_days = 7
    row.save()
    customer = make_customer()
    contact = contact_create(customer=customer, data={"name": "周敏", "email": "zhou@example.com"}, actor=org.owner)
    ticket = make_ticket(customer=customer, contact=contact)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_move(ticket=ticket, status=S.RESOLVED, actor=ticket.owner)
    run_worker()
    survey = Survey.objects.get(ticket=ticket)
    assert survey.customer == customer and survey.owner == org.owner and survey.email == "zhou@example.com"
    assert survey.expires_at - survey.sent_at == timedelta(days=7) and len(survey.key) >= 32
    assert [m.to for m in mail.outbox] == [["zhou@example.com"]]
    assert reverse("survey_public", args=[survey.key]) in mail.outbox[0].body and ticket.number in mail.outbox[0].subject
    # Reopened and resolved again: the customer is not asked twice.
    tickets.ticket_move(ticket=ticket, status=S.IN_PROGRESS, actor=ticket.owner)
    tickets.ticket_move(ticket=ticket, status=S.RESOLVED, actor=ticket.owner)
    assert Survey.objects.filter(ticket=ticket).count() == 1
    assert AuditEntry.objects.filter(action="survey.send", target_id=str(ticket.pk)).count() == 1


def test_a_customer_without_an_email_still_gets_a_survey_whose_link_staff_pass_on(client, org, make_ticket,
                                                                                   service_team):
    ticket = make_ticket()
    survey = resolve(ticket, ticket.owner)
    assert survey.email == ""
    client.force_login(ticket.owner)
    body = client.get(ticket.get_absolute_url()).content.decode()
    assert reverse("survey_public", args=[survey.key]) in body
    # The customer's rep sees the ticket and its survey; the link is the key, shown to who works the ticket.
    client.force_login(org.teammate)
    assert client.get(ticket.get_absolute_url()).status_code == 404


def test_an_accepted_delivery_asks_the_customers_contact(org, make_delivery, make_customer):
    from closeloop.service import deliveries

    delivery = make_delivery()
    contact_create(customer=delivery.customer, data={"name": "李雷", "email": "li@example.com", "is_primary": True},
                   actor=org.owner)
    deliveries.delivery_accept_by_link(delivery=milestones_done(delivery), name="李雷", phone="13912345678")
    survey = Survey.objects.get(delivery=delivery)
    assert survey.email == "li@example.com" and survey.customer == delivery.customer and survey.ticket is None


def test_an_answer_counts_once_and_the_database_refuses_the_second(org, resolved_survey):
    survey = resolved_survey()
    stale = Survey.objects.get(pk=survey.pk)  # read before the first answer, as a racing request would have
    surveys.survey_answer(survey=survey, csat=4, nps=9, comment="很好")
    survey.refresh_from_db()
    assert (survey.csat, survey.nps, survey.comment) == (4, 9, "很好") and survey.answered_at is not None
    # The racing request still believes the survey open: the conditional UPDATE refuses it all the same.
    assert stale.answered_at is None
    with pytest.raises(Conflict) as refused:
        surveys.survey_answer(survey=stale, csat=1, nps=0)
    assert refused.value.code == "survey_answered"
    survey.refresh_from_db()
    assert (survey.csat, survey.nps) == (4, 9)


def test_scores_are_checked_and_an_expired_survey_takes_no_answer(org, resolved_survey):
    survey = resolved_survey()
    with pytest.raises(ValidationFailed) as refused:
        surveys.survey_answer(survey=survey, csat=6, nps="十", comment="x" * 2001)
    assert set(refused.value.field_errors) == {"csat", "nps", "comment"}
    Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(Conflict) as expired:
        surveys.survey_answer(survey=survey, csat=5, nps=10)
    assert expired.value.code == "survey_expired"


def test_a_low_score_opens_call_back_tasks_for_the_account_owner_and_the_service_manager(
        client, org, resolved_survey, service_team):
    survey = resolved_survey()
    ticket = survey.ticket
    surveys.survey_answer(survey=survey, csat=3, nps=5, comment="太慢了")
    tasks = Task.objects.for_record(ticket).filter(kind=surveys.LOW_SCORE_TASK, status=TaskStatus.OPEN)
    assert {t.owner for t in tasks} == {org.owner, service_team.manager}
    assert all("CSAT 3" in t.title for t in tasks)
    assert set(Notification.objects.filter(kind="survey.low_score").values_list("recipient__username", flat=True)) \
        == {"owner", "service_lead"}
    assert set(Participant.objects.for_record(ticket).values_list("user__username", flat=True)) >= {"owner", "service_lead"}
    # The account owner's Today page lists the call-back (looked at when it falls due: a late answer's call-back may
    # fall after midnight), and their ticket page the answer.
    due = tasks.get(owner=org.owner).due_at
    assert any(item.record == ticket and "CSAT 3" in item.note
               for section in today_sections(user=org.owner, now=due) for item in section.items)
    client.force_login(org.owner)
    body = client.get(ticket.get_absolute_url()).content.decode()
    assert "太慢了" in body and "CSAT <strong>3</strong>" in body
    # The trail names the scores as the survey does, not by their keys.
    assert "Satisfaction (CSAT 1–5)</span>: 3" in body and "Likely to recommend (NPS 0–10)</span>: 5" in body
    # Calling the customer back, logged on the ticket, closes the call-backs.
    activity_log(actor=org.owner, record=ticket, data={"kind": "call", "content": "已回访，客户接受道歉"})
    assert not Task.objects.for_record(ticket).filter(kind=surveys.LOW_SCORE_TASK, status=TaskStatus.OPEN).exists()


def test_a_good_score_opens_no_task(org, resolved_survey):
    survey = resolved_survey()
    surveys.survey_answer(survey=survey, csat=4, nps=7)
    assert not Task.objects.filter(kind=surveys.LOW_SCORE_TASK).exists()


def test_without_a_service_manager_the_administrators_call_back(org, resolved_survey):
    survey = resolved_survey()
    row = ServiceSettings.objects.get(pk=1)
    row.service_manager = None
    row.save()  # through the model, so the settings cache hears of it
    surveys.survey_answer(survey=survey, csat=1, nps=9)
    assert set(Task.objects.filter(kind=surveys.LOW_SCORE_TASK).values_list("owner__username", flat=True)) \
        == {"owner", "admin"}


# ---------------------------------------------------------------------------------------------------
# The public page (anonymous)


def test_the_customer_answers_on_the_public_page(client, org, resolved_survey):
    survey = resolved_survey()
    url = reverse("survey_public", args=[survey.key])
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200 and response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"] and "private" in response["Cache-Control"]
    assert survey.ticket.number in body and 'name="website"' in body and "/service/" not in body
    refused = client.post(url, {"csat": "9", "nps": "3"})
    assert refused.status_code == 422
    assert client.post(url, {"csat": "5", "nps": "10", "comment": "谢谢"}).status_code == 302
    survey.refresh_from_db()
    assert (survey.csat, survey.nps, survey.comment) == (5, 10, "谢谢")
    assert 'id="survey-thanks"' in client.get(url).content.decode()
    again = client.post(url, {"csat": "1", "nps": "0"})
    assert again.status_code == 409 and 'id="survey-answered"' in again.content.decode()
    survey.refresh_from_db()
    assert survey.csat == 5
    assert client.get(reverse("survey_public", args=["not-the-key"])).status_code == 404


def test_a_bot_filling_the_honeypot_is_thanked_and_not_counted(client, resolved_survey):
    survey = resolved_survey()
    response = client.post(reverse("survey_public", args=[survey.key]), {"csat": "1", "nps": "0", "website": "x"})
    assert response.status_code == 200 and 'id="survey-thanks"' in response.content.decode()
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_the_public_page_is_rate_limited_bounded_and_expires(client, settings, resolved_survey):
    survey = resolved_survey()
    url = reverse("survey_public", args=[survey.key])
    big = client.post(url, {"csat": "5", "nps": "10", "comment": "长" * 70_000})
    assert big.status_code == 413
    Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert 'id="survey-expired"' in client.get(url).content.decode()
    posted = client.post(url, {"csat": "5", "nps": "10"})
    assert posted.status_code == 409 and 'id="survey-expired"' in posted.content.decode()
    settings.CLOSELOOP_PUBLIC_QUOTE_RATE = "2/m"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]


# ---------------------------------------------------------------------------------------------------
# CSAT and NPS: the customer page and the review's selector, per viewer


@pytest.fixture
def answered(org, make_customer, make_ticket, service_team, resolved_survey):
    """The owner's customer: CSAT 5/NPS 10 and 2/3 (one promoter, one detractor); the outsider's: 4/8 (passive)."""
    from closeloop.quotes.models import Product

    product = Product.objects.create(code="CRM", name="CRM 标准版", list_price=1000)
    mine = make_customer(owner=org.owner, name="满意科技有限公司")
    theirs = make_customer(owner=org.outsider, name="快乐贸易有限公司")
    first = resolved_survey(customer=mine, product=product)
    second = resolved_survey(customer=mine)
    third = resolved_survey(customer=theirs)
    resolved_survey(customer=mine)  # still waiting
    for survey, csat, nps in ((first, 5, 10), (second, 2, 3), (third, 4, 8)):
        surveys.survey_answer(survey=survey, csat=csat, nps=nps)
    return mine, theirs, product


def test_the_customer_page_shows_csat_and_nps_to_who_sees_the_customer(client, org, answered):
    mine, _theirs, _product = answered
    url = reverse("deals:customer_detail", args=[mine.pk])
    for user in (org.owner, org.manager, org.admin):
        client.force_login(user)
        body = client.get(url).content.decode()
        # CSAT (5 + 2) / 2 = 3.5; NPS (1 promoter − 1 detractor) / 2 = 0.
        assert 'id="csat">3.5<' in body and 'id="nps">0<' in body, user
    for user in (org.teammate, org.outsider, org.other_manager):
        client.force_login(user)
        assert client.get(url).status_code == 404, user


@pytest.mark.parametrize("who, customers", [
    ("owner", {"满意科技有限公司"}), ("manager", {"满意科技有限公司"}), ("teammate", set()),
    ("outsider", {"快乐贸易有限公司"}), ("other_manager", {"快乐贸易有限公司"}),
    ("service", {"满意科技有限公司", "快乐贸易有限公司"}), ("finance", set()),
    ("admin", {"满意科技有限公司", "快乐贸易有限公司"})])
def test_satisfaction_by_customer_counts_only_what_the_viewer_sees(org, answered, service_staff, finance, who,
                                                                   customers):
    user = {"service": service_staff, "finance": finance}.get(who) or getattr(org, who)
    rows = selectors.satisfaction(user=user, by="customer")
    assert {row["label"] for row in rows} == customers


def test_satisfaction_by_customer_owner_product_and_period(org, answered):
    mine, theirs, product = answered
    by_customer = {row["key"]: row for row in selectors.satisfaction(user=org.admin, by="customer")}
    assert {k: (r["answered"], r["csat"], r["nps"], r["promoters"], r["passives"], r["detractors"])
            for k, r in by_customer.items()} == {mine.pk: (2, 3.5, 0, 1, 0, 1), theirs.pk: (1, 4.0, 0, 0, 1, 0)}
    by_owner = {row["label"]: (row["answered"], row["nps"]) for row in selectors.satisfaction(user=org.admin, by="owner")}
    assert by_owner == {"owner": (2, 0), "outsider": (1, 0)}
    by_product = {row["label"]: (row["answered"], row["csat"], row["nps"])
                  for row in selectors.satisfaction(user=org.admin, by="product")}
    assert by_product == {"CRM 标准版": (1, 5.0, 100), "—": (2, 3.0, -50)}
    (month,) = selectors.satisfaction(user=org.admin, by="period", period="month")
    assert month["label"] == f"{timezone.localdate():%Y-%m}" and (month["answered"], month["csat"]) == (3, 3.7)
    yesterday = timezone.localdate() - timedelta(days=1)
    assert selectors.satisfaction(user=org.admin, by="customer", end=yesterday) == []
    assert len(selectors.satisfaction(user=org.admin, by="customer", start=timezone.localdate())) == 2


def test_the_survey_expiry_is_a_setting(client, org):
    client.force_login(org.admin)
    page = client.get(reverse("service:settings")).content.decode()
    assert 'name="survey_expiry_days"' in page and 'value="14"' in page
    response = client.post(reverse("service:settings"), {
        "work_weekdays": "12345", "work_start": "09:00", "work_end": "18:00", "assignment_strategy": "round_robin",
        "survey_expiry_days": "30", "rows": "0"})
    assert response.status_code == 302
    assert ServiceSettings.objects.get(pk=1).survey_expiry_days == 30


def test_surveys_and_satisfaction_through_the_api(client, org, answered, service_staff, api_auth):
    mine, theirs, product = answered
    owner = api_auth(org.owner)
    body = client.get("/api/surveys/", **owner).json()
    assert {item["customer"]["name"] for item in body["items"]} == {"满意科技有限公司"} and len(body["items"]) == 3
    waiting = client.get("/api/surveys/?answered=false", **owner).json()["items"]
    assert len(waiting) == 1 and waiting[0]["csat"] is None and not waiting[0]["low_score"]
    rows = client.get("/api/surveys/satisfaction?by=customer", **owner).json()
    assert rows == [{"key": mine.pk, "label": "满意科技有限公司", "answered": 2, "csat": 3.5, "nps": 0, "promoters": 1,
                     "passives": 0, "detractors": 1}]
    everyone = client.get("/api/surveys/satisfaction?by=product", **api_auth(service_staff)).json()
    assert {row["label"]: row["nps"] for row in everyone} == {"CRM 标准版": 100, "—": -50}
    assert client.get("/api/surveys/satisfaction?by=period&period=quarter", **api_auth(org.outsider)).json()[0][
        "answered"] == 1
    assert client.get("/api/surveys/satisfaction?by=colour", **owner).status_code == 422
    assert client.get("/api/surveys/satisfaction?start=2026-02-01&end=2026-01-01", **owner).json() == []
    assert client.get("/api/surveys/satisfaction?start=0102-01-03&end=9999-12-31", **owner).json() == rows
    assert client.get("/api/surveys/").status_code == 401


def test_the_survey_mail_is_in_the_sites_language_whoever_resolves_or_resends(
        org, make_customer, make_ticket, service_team, django_capture_on_commit_callbacks, run_worker, settings):
    """The customer reads it: the site's language (settings.LANGUAGE_CODE, zh-hans by default; contacts carry no
    language of their own), not the language of the colleague whose click sent it."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "zh-hans"
    customer = make_customer()
    contact = contact_create(customer=customer, data={"name": "周敏", "email": "zhou@example.com"}, actor=org.owner)
    ticket = make_ticket(customer=customer, contact=contact)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_move(ticket=ticket, status=S.RESOLVED, actor=ticket.owner)
        surveys.survey_resend(survey=Survey.objects.get(ticket=ticket), actor=ticket.owner)
    run_worker()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert message.subject.startswith("请评价我们的服务") and "How did we do" not in message.subject + message.body
    assert AuditEntry.objects.filter(action="survey.resend", target_id=str(ticket.pk)).count() == 1

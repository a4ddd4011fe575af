"""Saved views (视图): who saves, sees, changes and makes defaults of them, and what a view does to a list."""

import pytest
from django.urls import reverse

from closeloop.core.customfields.services import custom_field_create, custom_field_hide
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry, SavedView
from closeloop.core.savedviews.lists import get_list, view_url
from closeloop.core.savedviews.services import view_delete, view_save, view_set_team_default


@pytest.fixture(autouse=True)
def chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture
def shared(org):
    """The owner's view of their open leads with a grade column first, shared with team A (一组)."""
    return view_save(list_key="leads", name="本周待跟进", shared=True, actor=org.owner,
                     filters="status=contacting&owner=me", sort="next_follow_up_at",
                     columns=["grade", "contact", "owner"])


@pytest.fixture
def private(org):
    return view_save(list_key="leads", name="我的私藏", shared=False, actor=org.owner, columns=["contact"])


@pytest.fixture
def industry(org):
    return custom_field_create(target="leads.Lead", key="industry", field_type="choice", actor=org.admin,
                               data={"label_zh": "行业", "label_en": "Industry", "options": "制造\n零售"})


def menu(client, user, list_name="leads:list", query="view=0"):
    client.force_login(user)
    response = client.get(f"{reverse(list_name)}?{query}")
    assert response.status_code == 200
    return [view.name for view in response.context["list_views"].views]


def test_a_view_is_saved_with_the_lists_own_filters_and_audited(org, shared):
    assert (shared.owner, shared.department, shared.list_key) == (org.owner, org.team_a, "leads")
    assert shared.filters == "status=contacting&owner=me" and shared.columns == ["grade", "contact", "owner"]
    entry = AuditEntry.objects.get(action="saved_view.create")
    assert entry.actor == org.owner and entry.changes["name"] == [None, "本周待跟进"]


def test_the_owner_sees_both_a_teammate_and_their_manager_the_shared_one_an_outsider_neither(
        client, org, shared, private):
    assert menu(client, org.owner) == ["我的私藏", "本周待跟进"]
    assert menu(client, org.teammate) == ["本周待跟进"]
    assert menu(client, org.manager) == ["本周待跟进"]
    assert menu(client, org.outsider) == []
    assert menu(client, org.other_manager) == []
    # An administrator reaches any view to mend it, but their menu is their own and their team's.
    assert menu(client, org.admin) == []
    client.force_login(org.admin)
    assert client.get(reverse("saved_view_edit", args=[private.pk])).status_code == 200


def test_a_view_shared_with_a_department_reaches_the_teams_under_it(org):
    org.manager.department = org.team_a.parent
    org.manager.save()
    view = view_save(list_key="deals", name="销售部大单", shared=True, actor=org.manager, sort="-amount",
                     columns=["amount", "owner"])
    for person, sees in ((org.owner, True), (org.outsider, True), (org.marketer, False)):
        assert SavedView.objects.visible_to(person).filter(pk=view.pk).exists() is sees


def test_only_the_owner_or_an_administrator_changes_or_deletes_a_view(org, shared):
    for person in (org.teammate, org.manager, org.outsider):
        with pytest.raises(Forbidden):
            view_save(view=shared, list_key="leads", name="改名", shared=True, actor=person)
        with pytest.raises(Forbidden):
            view_delete(view=shared, actor=person)
    view_save(view=shared, list_key="leads", name="本周要跟进", shared=True, actor=org.owner)
    assert AuditEntry.objects.filter(action="saved_view.update").get().changes == {"name": ["本周待跟进", "本周要跟进"]}
    view_delete(view=shared, actor=org.admin)
    assert not SavedView.objects.exists()
    assert AuditEntry.objects.filter(action="saved_view.delete").get().actor == org.admin


def test_unknown_filters_sorts_and_columns_are_refused_on_save(org):
    with pytest.raises(ValidationFailed) as refused:
        view_save(list_key="leads", name="乱", shared=False, actor=org.owner, filters="colour=red&cf.nothing=1",
                  sort="shoe_size", columns=["contact", "salary"])
    assert set(refused.value.field_errors) == {"filters", "sort", "columns"}
    assert "colour" in refused.value.field_errors["filters"][0]
    with pytest.raises(ValidationFailed):
        view_save(list_key="leads", name="", shared=False, actor=org.owner, columns=["contact"])


def test_a_manager_sets_their_teams_default_which_a_bare_list_opens(client, org, shared, private, make_lead):
    with pytest.raises(Forbidden):
        view_set_team_default(list_key="leads", department=org.team_a, view=shared, actor=org.owner)
    with pytest.raises(Forbidden):
        view_set_team_default(list_key="leads", department=org.team_a, view=shared, actor=org.other_manager)
    with pytest.raises(ValidationFailed):  # a private view cannot be the team's
        view_set_team_default(list_key="leads", department=org.team_a, view=private, actor=org.manager)
    view_set_team_default(list_key="leads", department=org.team_a, view=shared, actor=org.manager)
    shared.refresh_from_db()
    assert shared.default_for == org.team_a
    client.force_login(org.teammate)
    response = client.get(reverse("leads:list"))
    assert response.status_code == 302 and response.url.startswith(f"{reverse('leads:list')}?view={shared.pk}&")
    page = client.get(response.url)
    assert page.context["list_views"].current == shared
    assert [column.key for column in page.context["list_views"].columns] == ["grade", "contact", "owner"]
    # Picking the plain list is remembered: the bare list stays plain for them.
    client.get(f"{reverse('leads:list')}?view=0")
    assert client.get(reverse("leads:list")).status_code == 200
    # The outsider's team has no default.
    client.force_login(org.outsider)
    assert client.get(reverse("leads:list")).status_code == 200
    # Unsharing the view takes it off the team's default.
    view_save(view=shared, list_key="leads", name=shared.name, shared=False, actor=org.owner)
    shared.refresh_from_db()
    assert shared.default_for is None


def test_the_last_view_picked_opens_again(client, org, private):
    client.force_login(org.owner)
    client.get(f"{reverse('leads:list')}?view={private.pk}")
    response = client.get(reverse("leads:list"))
    assert response.status_code == 302 and f"view={private.pk}" in response.url


def test_a_view_with_a_custom_column_and_filter(client, org, industry, make_lead):
    make_lead(company_name="甲制造有限公司", custom={"industry": "制造"})
    make_lead(company_name="乙零售有限公司", custom={"industry": "零售"})
    view = view_save(list_key="leads", name="制造业", shared=False, actor=org.owner, filters="cf.industry=制造",
                     columns=["cf.industry", "contact"])
    client.force_login(org.owner)
    response = client.get(view_url(get_list("leads"), view))
    assert [lead.company_name for lead in response.context["page"]["rows"]] == ["甲制造有限公司"]
    content = response.content.decode()
    assert "<th class=\"hide-sm\">行业</th>" in content and "制造" in content


def test_a_view_whose_field_was_hidden_shows_the_rest_and_says_so(client, org, industry, make_lead):
    make_lead(company_name="甲制造有限公司", custom={"industry": "制造"})
    make_lead(company_name="乙零售有限公司", custom={"industry": "零售"})
    view = view_save(list_key="leads", name="制造业", shared=False, actor=org.owner, filters="cf.industry=制造",
                     columns=["cf.industry", "contact"])
    custom_field_hide(field=industry, hidden=True, actor=org.admin)
    client.force_login(org.owner)
    response = client.get(f"{reverse('leads:list')}?view={view.pk}&{view.filters}")
    assert response.status_code == 200
    assert len(response.context["page"]["rows"]) == 2
    assert [column.key for column in response.context["list_views"].columns] == ["contact"]
    notices = " ".join(str(notice) for notice in response.context["list_views"].notices)
    assert "行业" in notices and notices.count("行业") == 2
    # Saving it again now refuses the filter on the field that is gone.
    with pytest.raises(ValidationFailed):
        view_save(view=view, list_key="leads", name=view.name, shared=False, actor=org.owner,
                  filters=view.filters)


def test_save_the_list_shown_as_a_view_through_the_page(client, org, make_lead):
    client.force_login(org.owner)
    query = "status=new&sort=company_name&cols=owner,contact&page=2"
    page = client.get(f"{reverse('saved_view_create', args=['leads'])}?{query}")
    assert page.status_code == 200
    response = client.post(reverse("saved_view_create", args=["leads"]),
                           {"name": "新线索", "shared": "on", "query": query})
    view = SavedView.objects.get()
    assert response.status_code == 302 and response.url == f"{reverse('leads:list')}?view={view.pk}&status=new&sort=company_name"
    assert (view.filters, view.sort, view.columns, view.department) == ("status=new", "company_name",
                                                                        ["owner", "contact"], org.team_a)


def test_the_edit_page_renames_resaves_and_deletes_with_confirmation(client, org, shared):
    client.force_login(org.teammate)
    assert client.get(reverse("saved_view_edit", args=[shared.pk])).status_code == 403
    assert client.get(reverse("saved_view_delete", args=[shared.pk])).status_code == 403
    client.force_login(org.outsider)
    assert client.get(reverse("saved_view_edit", args=[shared.pk])).status_code == 404
    client.force_login(org.owner)
    response = client.post(reverse("saved_view_edit", args=[shared.pk]), {
        "name": "本周重点", "shared": "on", "update": "on", "query": f"view={shared.pk}&status=new&cols=contact"})
    assert response.status_code == 302
    shared.refresh_from_db()
    assert (shared.name, shared.filters, shared.sort, shared.columns) == ("本周重点", "status=new", "", ["contact"])
    confirm = client.get(reverse("saved_view_delete", args=[shared.pk]))
    assert "本周重点" in confirm.content.decode()
    client.post(reverse("saved_view_delete", args=[shared.pk]))
    assert not SavedView.objects.exists()


def test_the_list_links_a_views_page_only_for_those_it_opens_for(client, org, shared):
    # A teammate sees the shared view but may not change it: a "Manage view…" link would lead to a refusal.
    edit = reverse("saved_view_edit", args=[shared.pk])
    for user, linked in [(org.teammate, False), (org.owner, True), (org.manager, True)]:
        client.force_login(user)
        html = client.get(f"{reverse('leads:list')}?view={shared.pk}").content.decode()
        assert (f'href="{edit}' in html) is linked, user
        assert client.get(edit).status_code == (200 if linked else 403), user


def test_a_manager_makes_a_view_their_teams_default_on_its_page(client, org, shared):
    client.force_login(org.manager)
    page = client.get(reverse("saved_view_edit", args=[shared.pk]))
    assert page.status_code == 200 and "一组" in page.content.decode()
    client.post(reverse("saved_view_default", args=[shared.pk]), {"team": org.team_a.pk})
    shared.refresh_from_db()
    assert shared.default_for == org.team_a
    client.post(reverse("saved_view_default", args=[shared.pk]), {"team": org.team_a.pk, "clear": "1"})
    shared.refresh_from_db()
    assert shared.default_for is None
    client.force_login(org.other_manager)
    assert client.post(reverse("saved_view_default", args=[shared.pk]), {"team": org.team_a.pk}).status_code == 404


def test_columns_move_up_and_down_and_go_back_to_the_list(client, org):
    client.force_login(org.owner)
    url = reverse("saved_view_columns", args=["deals"])
    page = client.get(url, {"status": "open"})
    rows = page.context["rows"]
    assert [key for key, _label, on in rows if on][:2] == ["customer", "stage"]
    order = page.context["order"]
    moved = client.get(url, {"status": "open", "order": order, "col": ["customer", "stage"], "up": "stage"})
    assert [key for key, _label, on in moved.context["rows"] if on] == ["stage", "customer"]
    done = client.get(url, {"status": "open", "order": moved.context["order"], "col": ["stage", "customer"],
                            "apply": "1"})
    assert done.status_code == 302 and done.url == f"{reverse('deals:list')}?status=open&cols=stage%2Ccustomer"
    deals = client.get(done.url)
    assert [column.key for column in deals.context["list_views"].columns] == ["stage", "customer"]


def test_a_column_header_sorts_the_list_and_again_the_other_way(client, org, make_deal):
    make_deal(amount="100")
    make_deal(amount="300")
    client.force_login(org.owner)
    response = client.get(reverse("deals:list"), {"view": "0"})
    amount = next(column for column in response.context["list_views"].columns if column.key == "amount")
    assert "sort=-amount" in amount.sort_url
    response = client.get(reverse("deals:list") + amount.sort_url)
    assert [str(deal.amount) for deal in response.context["page"]["rows"]] == ["300.00", "100.00"]
    amount = next(column for column in response.context["list_views"].columns if column.key == "amount")
    assert amount.arrow == "▼" and "sort=amount" in amount.sort_url


def test_phone_cards_keep_the_cells_a_view_leaves_out(client, org, make_lead):
    make_lead(company_name="卡片测试有限公司", contact_name="王五")
    view = view_save(list_key="leads", name="只看等级", shared=False, actor=org.owner, columns=["grade"])
    client.force_login(org.owner)
    content = client.get(f"{reverse('leads:list')}?view={view.pk}").content.decode()
    assert 'class="card-2 view-off">王五' in content
    assert "<th class=\"hide-sm\">" in content


def test_the_customer_list_takes_views_with_a_custom_column_and_a_name_sort(client, org, make_customer):
    custom_field_create(target="deals.Customer", key="tier", field_type="text", actor=org.admin,
                        data={"label_zh": "客户等级", "label_en": "Tier"})
    make_customer(owner=org.owner, name="Alpha科技有限公司")
    make_customer(owner=org.owner, name="Beta科技有限公司")
    view = view_save(list_key="customers", name="按名称", shared=False, actor=org.owner, sort="-name",
                     columns=["cf.tier", "owner"])
    client.force_login(org.owner)
    response = client.get(view_url(get_list("customers"), view))
    assert [customer.name for customer in response.context["page"]["rows"]] == ["Beta科技有限公司", "Alpha科技有限公司"]
    assert [column.key for column in response.context["list_views"].columns] == ["cf.tier", "owner"]
    content = response.content.decode()
    assert "客户等级" in content and 'class="card-2 view-off"' in content

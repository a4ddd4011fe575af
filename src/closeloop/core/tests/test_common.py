"""One way to do the common things: page through a list, show a domain error on a form."""

import pytest
from django import forms
from django.test import RequestFactory

from closeloop.core.errors import ValidationFailed, error_text, form_errors_from
from closeloop.core.models import Department
from closeloop.core.pagination import api_page, page_number, page_of, paginate, query_without_page


@pytest.mark.parametrize(("raw", "expected"), [("3", 3), ("0", 1), ("-2", 1), ("x", 1), ("", 1)])
def test_the_page_number_is_a_positive_number_or_one(raw, expected):
    assert page_number(RequestFactory().get("/", {"page": raw})) == expected


def test_a_page_knows_its_neighbours_without_counting(django_assert_num_queries, org):
    for n in range(7):
        Department.objects.create(name=f"d{n}")
    total = Department.objects.count()
    with django_assert_num_queries(1):
        first = page_of(Department.objects.order_by("pk"), page=1, per_page=5)
    assert len(first["rows"]) == 5 and first["has_next"] and not first["has_previous"] and first["pages"] is None
    last = page_of(Department.objects.order_by("pk"), page=-(-total // 5), per_page=5)
    assert not last["has_next"] and last["has_previous"] and last["previous"] == last["number"] - 1


def test_a_short_list_may_count_its_pages(org):
    request = RequestFactory().get("/", {"page": "99", "q": "x"})
    page = paginate(request, Department.objects.order_by("pk"), per_page=2, count=True)
    assert page["pages"] == page["number"] == -(-Department.objects.count() // 2)
    assert query_without_page(request) == "q=x"


def test_the_api_page_shape(org):
    page = api_page(Department.objects.order_by("pk"), page=1, page_size=2, item=lambda d: d.name)
    assert page == {"items": ["公司", "销售部"], "page": 1, "page_size": 2, "has_next": True}


class _Form(forms.Form):
    name = forms.CharField(required=False)
    file = forms.CharField(required=False)


def _form():
    form = _Form({})
    form.is_valid()
    return form


def test_field_messages_go_to_their_fields_and_the_rest_to_the_top():
    form = _form()
    form_errors_from(form, ValidationFailed("Please correct the marked fields.",
                                           field_errors={"name": ["Too short."], "budget": ["Not a number."]}))
    assert form.errors["name"] == ["Too short."]
    assert form.non_field_errors() == ["Not a number."]


def test_an_error_without_fields_shows_its_message():
    form = _form()
    form_errors_from(form, ValidationFailed("The file is empty."), message_field="file")
    assert form.errors["file"] == ["The file is empty."] and not form.non_field_errors()


def test_always_message_and_labels_for_fields_the_form_does_not_show():
    form = _form()
    exc = ValidationFailed("Fill these to enter 商务谈判.", code="stage_gate", field_errors={"budget": ["Required."]})
    form_errors_from(form, exc, always_message=True, label=lambda name: name.upper())
    assert form.non_field_errors() == ["BUDGET: Required.", "Fill these to enter 商务谈判."]


def test_error_text_joins_the_field_messages():
    assert error_text(ValidationFailed("x", field_errors={"a": ["One."], "b": ["Two."]})) == "One.; Two."
    assert error_text(ValidationFailed("Just this.")) == "Just this."

"""Each custom field type: how a typed value is parsed into its stored JSON form, shown, and converted.

Stored forms are chosen so that a list filters and sorts on them in the database (see docs/architecture.md):
text, choice, phone (E.164), email and URL are strings; integer, decimal and money are JSON numbers (money read
back through core.money, so it is shown and summed to the fen); date is "YYYY-MM-DD" and date-time UTC
"YYYY-MM-DDTHH:MM:SSZ", both in order as text; multiple choice a list in the options' order; user the user's id;
yes/no a boolean. `parse` accepts what a form, the API (typed JSON) and a spreadsheet give.
"""

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.template.defaultfilters import yesno
from django.utils import dateformat, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from ..models import CustomFieldType as T
from ..money import format_yuan, parse_money, quantize

TEXT_LIMIT = 500
LONG_TEXT_LIMIT = 5000
# JSON numbers beyond 2^53 lose digits in JavaScript clients and in SQLite's JSON functions.
INTEGER_LIMIT = 2**53 - 1
DECIMAL_DIGITS = 15
TRUE_WORDS = {"1", "true", "yes", "y", "on", "是", "对", "有", "√", "✓"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "否", "不", "无", "没有", "×", "✗"}
LIST_SEPARATORS = re.compile(r"[,，、;；\n]+")
STORED_DATETIME = "%Y-%m-%dT%H:%M:%SZ"


class ValueProblem(ValueError):
    """A value that is not one of its type: the message says what to enter instead."""


def _fold(text: str) -> str:
    # Full-width digits and punctuation typed with a Chinese input method, as their ASCII forms.
    return text.translate({code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}).replace("\u3000", " ").strip()


def is_empty(value) -> bool:
    return value is None or value == "" or value == []


def parse(field, raw):
    """The stored form of `raw` for `field` (a CustomField, or anything with `type` and `options`); None when
    empty. Raises ValueProblem with a message a person can act on."""
    if isinstance(raw, str):
        raw = raw.strip()
    if is_empty(raw):
        return None
    kind = field.type
    if kind == T.MULTI_CHOICE:
        return _parse_multi(field, raw)
    if isinstance(raw, list | tuple):
        if len(raw) != 1:
            raise ValueProblem(_("Enter one value, not a list."))
        return parse(field, raw[0])
    return PARSERS[kind](field, raw)


def _text(limit):
    def parse_text(field, raw):
        if isinstance(raw, dict | bool):
            raise ValueProblem(_("Enter text."))
        text = str(raw).strip()
        if len(text) > limit:
            raise ValueProblem(_("Enter at most %(limit)d characters (this has %(count)d).")
                               % {"limit": limit, "count": len(text)})
        return text
    return parse_text


def _integer(field, raw):
    if isinstance(raw, bool):
        raise ValueProblem(_("Enter a whole number, for example 120."))
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        number = raw
    else:
        text = _fold(str(raw)).replace(",", "")
        try:
            number = int(text)
        except ValueError:
            try:
                exact = Decimal(text)
            except InvalidOperation:
                exact = None
            if exact is None or not exact.is_finite() or exact != exact.to_integral_value():
                raise ValueProblem(_("“%(value)s” is not a whole number; enter digits only, for example 120.")
                                   % {"value": raw}) from None
            number = int(exact)
    if abs(number) > INTEGER_LIMIT:
        raise ValueProblem(_("Enter a number between -9007199254740991 and 9007199254740991."))
    return number


def _decimal(field, raw):
    if isinstance(raw, bool):
        raise ValueProblem(_("Enter a number, for example 3.5."))
    try:
        number = Decimal(str(raw)) if isinstance(raw, int | float | Decimal) else Decimal(
            _fold(str(raw)).replace(",", ""))
    except InvalidOperation:
        raise ValueProblem(_("“%(value)s” is not a number; enter digits with a decimal point, for example 3.5.")
                           % {"value": raw}) from None
    if not number.is_finite() or len(number.as_tuple().digits) > DECIMAL_DIGITS:
        raise ValueProblem(_("Enter a number of at most %(digits)d digits.") % {"digits": DECIMAL_DIGITS})
    return _number(number)


def _number(number: Decimal):
    """A Decimal as the JSON number it is stored as: an int when whole, else a float that reads back exactly."""
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _money(field, raw):
    if isinstance(raw, bool):
        raise ValueProblem(_("Enter an amount in yuan, for example 50000."))
    try:
        amount = parse_money(raw if not isinstance(raw, float) else str(raw))
    except ValueError:
        raise ValueProblem(_("“%(value)s” is not an amount; enter it in yuan, for example 50000 or 5万.")
                           % {"value": raw}) from None
    return _number(amount)


def _date(field, raw):
    if isinstance(raw, datetime):
        return timezone.localtime(raw).date().isoformat() if timezone.is_aware(raw) else raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    text = _fold(str(raw)).replace("/", "-").replace(".", "-")
    text = re.sub(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3", text)
    try:
        day = parse_date(re.sub(r"-(\d)(?=-|$)", r"-0\1", text))
    except ValueError:
        day = None
    if day is None:
        raise ValueProblem(_("“%(value)s” is not a date; enter it as 2026-12-31.") % {"value": raw})
    return day.isoformat()


def _datetime(field, raw):
    moment = raw if isinstance(raw, datetime) else None
    if moment is None:
        text = _fold(str(raw)).replace("/", "-")
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            raise ValueProblem(_("“%(value)s” is not a date and time; enter it as 2026-12-31 14:30.") % {"value": raw})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.astimezone(UTC).strftime(STORED_DATETIME)


def _choice(field, raw):
    text = _fold(str(raw))
    for option in field.options:
        if text == option or text.casefold() == str(option).casefold():
            return option
    raise ValueProblem(_("“%(value)s” is not one of the options: %(options)s.")
                       % {"value": raw, "options": "、".join(field.options)})


def _parse_multi(field, raw):
    items = raw if isinstance(raw, list | tuple) else LIST_SEPARATORS.split(str(raw))
    chosen = set()
    unknown = []
    for item in items:
        item = item.strip() if isinstance(item, str) else item
        if is_empty(item):
            continue
        try:
            chosen.add(_choice(field, item))
        except ValueProblem:
            unknown.append(str(item))
    if unknown:
        raise ValueProblem(_("Not among the options: %(values)s. Choose from %(options)s.")
                           % {"values": "、".join(unknown), "options": "、".join(field.options)})
    return [option for option in field.options if option in chosen] or None


def _user(field, raw):
    from ..models import User

    people = User.objects.filter(is_active=True)
    if isinstance(raw, bool):
        raise ValueProblem(_("Choose a person."))
    text = str(raw).strip()
    person = None
    if isinstance(raw, int) or text.isdigit():
        person = people.filter(pk=int(text)).first()
    if person is None:
        person = people.filter(username=text).first() or people.filter(display_name=text).first()
    if person is None:
        raise ValueProblem(_("“%(value)s” is no active user; give their user name.") % {"value": raw})
    return person.pk


def _boolean(field, raw):
    if isinstance(raw, bool):
        return raw
    text = _fold(str(raw)).casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueProblem(_("Answer yes or no (是 or 否)."))


def _phone(field, raw):
    text = _fold(str(raw))
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueProblem(_("“%(value)s” is not a valid phone number; enter a mainland mobile such as 13912345678, "
                             "a landline with its area code such as 021-62345678, or the country code first.")
                           % {"value": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(field, raw):
    text = _fold(str(raw)).lower()
    try:
        validate_email(text)
    except ValidationError:
        raise ValueProblem(_("“%(value)s” is not a valid email address.") % {"value": raw}) from None
    return text


def _url(field, raw):
    text = _fold(str(raw))
    if "://" not in text:
        text = f"https://{text}"
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        raise ValueProblem(_("“%(value)s” is not a web address; enter it as https://example.com/page.")
                           % {"value": raw}) from None
    if len(text) > TEXT_LIMIT:
        raise ValueProblem(_("Enter at most %(limit)d characters (this has %(count)d).")
                           % {"limit": TEXT_LIMIT, "count": len(text)})
    return text


PARSERS = {
    T.TEXT: _text(TEXT_LIMIT), T.LONG_TEXT: _text(LONG_TEXT_LIMIT), T.INTEGER: _integer, T.DECIMAL: _decimal,
    T.MONEY: _money, T.DATE: _date, T.DATETIME: _datetime, T.CHOICE: _choice, T.USER: _user, T.BOOLEAN: _boolean,
    T.PHONE: _phone, T.EMAIL: _email, T.URL: _url,
}


def as_input(field, value):
    """A stored value as a person (or a conversion to another type) would enter it: parse(field, as_input(...))
    gives the value back."""
    if is_empty(value):
        return ""
    kind = field.type
    if kind == T.MULTI_CHOICE:
        return list(value) if isinstance(value, list) else [value]
    if kind == T.BOOLEAN:
        return "yes" if value else "no"
    if kind == T.DATETIME:
        moment = _stored_datetime(value)
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else str(value)
    if kind == T.MONEY:
        return str(quantize(Decimal(str(value))))
    if kind == T.DECIMAL:
        return format(Decimal(str(value)), "f")
    if kind == T.USER:
        from ..models import User

        return User.objects.filter(pk=value).values_list("username", flat=True).first() or str(value)
    return str(value)


def form_initial(field, value):
    """A stored value as a form field's initial value (a datetime-local input wants “2026-12-31T14:30”)."""
    if field.type == T.DATETIME and (moment := _stored_datetime(value)):
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
    if field.type == T.USER:
        return "" if is_empty(value) else str(value)
    return as_input(field, value)


def _stored_datetime(value) -> datetime | None:
    try:
        return datetime.strptime(str(value), STORED_DATETIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def display(field, value, *, users: dict | None = None) -> str:
    """A stored value as people read it; `users` maps ids to names for user fields (looked up when missing)."""
    if is_empty(value):
        return ""
    kind = field.type
    if kind == T.MONEY:
        return format_yuan(Decimal(str(value)))
    if kind == T.DECIMAL:
        return format(Decimal(str(value)), "f")
    if kind == T.DATETIME and (moment := _stored_datetime(value)):
        return dateformat.format(timezone.localtime(moment), "Y-m-d H:i")
    if kind == T.MULTI_CHOICE:
        return "、".join(str(item) for item in value) if isinstance(value, list) else str(value)
    if kind == T.BOOLEAN:
        return yesno(bool(value), _("yes,no"))
    if kind == T.USER:
        if users is None:
            from ..models import User

            users = {user.pk: str(user) for user in User.objects.filter(pk=value)}
        return users.get(value, str(value))
    return str(value)


def api_value(field, value):
    """A stored value as the API shows it: the stored form, money and decimals as decimal strings (exact)."""
    if is_empty(value):
        return None
    if field.type == T.MONEY:
        return str(quantize(Decimal(str(value))))
    if field.type == T.DECIMAL:
        return format(Decimal(str(value)), "f")
    return value


def convert(field, new_field, value):
    """`value` (stored for `field`) in `new_field`'s type and options; raises ValueProblem when it cannot be."""
    return parse(new_field, as_input(field, value))

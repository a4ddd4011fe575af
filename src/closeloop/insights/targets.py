"""Sales targets (业绩目标): a month's targets for a rep or a team (new customers, won amount, collected amount), set
by a manager for their subtree or by an administrator, one at a time or from an Excel sheet, and what the dashboard
compares them with (完成率).

Every write goes through `target_save`: it checks the right, parses the values as people type them (5万 is 50000),
and writes the row with its audit entry in one transaction. An import checks every row first and reports every
refused row at once; it writes nothing unless every row is good.
"""

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.audit import audited_create, audited_update
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, Department, Role, User
from closeloop.core.money import parse_money
from closeloop.core.spreadsheets import SpreadsheetError, inspect_file, iter_file_rows, workbook_export
from closeloop.core.visibility import departments_visible_to, team_owner_ids

from .actions import InsightsAction
from .models import SalesTarget

FIELDS = ("new_customers", "won_amount", "collected_amount")
LABELS = {"new_customers": gettext_lazy("New customers"), "won_amount": gettext_lazy("Won amount"),
          "collected_amount": gettext_lazy("Collected amount")}
MAX_CUSTOMERS = 1_000_000
MAX_IMPORT_ROWS = 5_000
SELLING_ROLES = (Role.SALES_REP, Role.SALES_MANAGER)


def sets_targets(user) -> bool:
    """Who enters targets at all: administrators and sales managers (for their subtree)."""
    return user.is_authenticated and (user.is_admin or user.role == Role.SALES_MANAGER)


def target_people(actor):
    """The reps (and managers) `actor` sets targets for: everyone who sells for an administrator, a manager's
    subtree."""
    people = User.objects.filter(is_active=True, role__in=SELLING_ROLES)
    if actor.is_admin:
        return people
    if actor.role == Role.SALES_MANAGER:
        return people.filter(pk__in=team_owner_ids(actor))
    return people.none()


def target_teams(actor):
    """The teams `actor` sets targets for: every department for an administrator, a manager's own and those under it."""
    return departments_visible_to(actor) if sets_targets(actor) else Department.objects.none()


def may_set(actor, *, user=None, department=None) -> bool:
    if user is not None:
        return target_people(actor).filter(pk=user.pk).exists()
    return department is not None and target_teams(actor).filter(pk=department.pk).exists()


def month_of(value) -> date | None:
    """The first day of the month people wrote: 2026-12, 2026/12, 2026年12月, or a day in it."""
    if isinstance(value, date):
        return value.replace(day=1)
    match = re.match(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})", str(value or ""))
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def parse_values(data: dict) -> tuple[dict, dict]:
    """The targets from what was typed ({field: text}), and the errors by field."""
    values, errors = {}, {}
    text = str(data.get("new_customers") or "").strip()
    if text:
        number = text[:-1] if text.endswith(("个", "家")) else text
        if not number.isdigit() or int(number) > MAX_CUSTOMERS:
            errors["new_customers"] = [_("Give a whole number of customers, e.g. 12.")]
        else:
            values["new_customers"] = int(number)
    else:
        values["new_customers"] = None
    for name in ("won_amount", "collected_amount"):
        try:
            values[name] = parse_money(data.get(name))
        except ValueError:
            errors[name] = [_("Give an amount in yuan, e.g. 50000 or 5万.")]
    return values, errors


def target_save(*, actor, month: date, user: User | None = None, department: Department | None = None, data: dict,
                channel: str = Channel.WEB) -> SalesTarget | None:
    """Set one rep's or one team's targets for `month` from `data` as typed; empty values clear them. Returns the row
    (None when there was none and nothing was given)."""
    if (user is None) == (department is None):
        raise ValueError("a target is for a rep or for a team")
    if not may_set(actor, user=user, department=department):
        raise Forbidden(_("You set targets only for your own team and the people in it."))
    values, errors = parse_values(data)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    month = month.replace(day=1)
    with transaction.atomic():
        target = SalesTarget.objects.select_for_update().filter(month=month, user=user, department=department).first()
        if target is None:
            if all(value is None for value in values.values()):
                return None
            return audited_create(instance=SalesTarget(month=month, user=user, department=department, **values),
                                  actor=actor, channel=channel, action=InsightsAction.TARGET_SET,
                                  fields=["month", "user", "department", *FIELDS])
        audited_update(instance=target, data=values, actor=actor, channel=channel, action=InsightsAction.TARGET_SET)
    return target


# ---------------------------------------------------------------------------------------------------
# Excel

COLUMNS = {
    "month": ("月份", "month"),
    "rep": ("销售", "rep", "用户名", "username"),
    "team": ("团队", "team", "部门", "department"),
    "new_customers": ("新客户数", "new customers"),
    "won_amount": ("赢单金额", "won amount"),
    "collected_amount": ("回款金额", "collected amount"),
}


def template_workbook() -> bytes:
    """The sheet to fill in: the columns an import reads, and two example rows (a rep, a team)."""
    with workbook_export() as export:
        sheet = export.book.add_worksheet(_("Targets"))
        sheet.set_column(0, 5, 16)
        sheet.write_row(0, 0, [names[0] for names in COLUMNS.values()], export.bold)
        sheet.write_row(1, 0, ["2027-01", "zhangsan", "", "5", "500000", "300000"])
        sheet.write_row(2, 0, ["2027-01", "", "华东一组", "20", "2000000", "1200000"])
    return export.content


def _columns(header: list[str]) -> dict[str, int]:
    found = {}
    for index, cell in enumerate(header):
        name = cell.strip().lower()
        for key, names in COLUMNS.items():
            if name in names:
                found.setdefault(key, index)
    return found


def targets_import(*, actor, path: Path, name: str) -> int:
    """Set the targets of every row of an uploaded sheet (the template's columns). Every row is checked first; if any
    is refused, nothing is written and the error lists each refused row with why. Returns the rows saved."""
    if not sets_targets(actor):
        raise Forbidden(_("You set targets only for your own team and the people in it."))
    try:
        info = inspect_file(path, name=name, max_rows=MAX_IMPORT_ROWS)
        rows = iter_file_rows(path, kind=info.kind, encoding=info.encoding)
        columns = _columns(info.headers)
        missing = [COLUMNS[key][0] for key in ("month",) if key not in columns]
        if missing or not ({"rep", "team"} & set(columns)):
            raise ValidationFailed(_("The sheet needs the columns 月份 and 销售 or 团队; download the template."))
        everyone = list(target_people(actor))
        people = {person.username: person for person in everyone}
        # A manager writes the names they know (张伟) as often as user names (rep1): a name shared by two is asked again.
        named_people: dict[str, list[User]] = {}
        for person in everyone:
            if person.display_name:
                named_people.setdefault(person.display_name, []).append(person)
        teams: dict[str, list[Department]] = {}
        for team in target_teams(actor):
            teams.setdefault(team.name, []).append(team)
        good, refused, seen = [], [], set()
        for number, cells in rows:
            if number <= info.header_row or not any(cells):
                continue
            cell = {key: (cells[index].strip() if index < len(cells) else "") for key, index in columns.items()}
            problems = []
            month = month_of(cell.get("month"))
            if month is None:
                problems.append(_("the month %(value)s is not like 2027-01") % {"value": cell.get("month") or "–"})
            rep, team = cell.get("rep", ""), cell.get("team", "")
            user = department = None
            if bool(rep) == bool(team):
                problems.append(_("give a rep (their user name) or a team, not both"))
            elif rep:
                user = people.get(rep)
                named = named_people.get(rep, []) if user is None else [user]
                if len(named) == 1:
                    user = named[0]
                elif named:
                    problems.append(_("several people are named %(rep)s; give their user name") % {"rep": rep})
                else:
                    problems.append(_("%(rep)s is not someone you set targets for") % {"rep": rep})
            else:
                named = teams.get(team, [])
                if len(named) != 1:
                    problems.append(_("%(team)s is not one of your teams") % {"team": team} if not named else
                                    _("several teams are named %(team)s") % {"team": team})
                else:
                    department = named[0]
            _values, errors = parse_values(cell)
            problems += [f"{LABELS[key]}: {messages[0]}" for key, messages in errors.items()]
            key = (month, user and user.pk, department and department.pk)
            if not problems and key in seen:
                problems.append(_("the same rep or team and month is on an earlier row"))
            seen.add(key)
            if problems:
                refused.append(_("Row %(row)d: %(problems)s.") % {"row": number, "problems": "; ".join(problems)})
            else:
                good.append((month, user, department, cell))
    except SpreadsheetError as exc:
        raise ValidationFailed(exc.message) from None
    if refused:
        raise ValidationFailed(_("No target was saved: %(count)d rows need correcting.") % {"count": len(refused)},
                               rows=refused)
    if not good:
        raise ValidationFailed(_("The sheet has no targets."))
    with transaction.atomic():
        for month, user, department, cell in good:
            target_save(actor=actor, month=month, user=user, department=department, data=cell, channel=Channel.IMPORT)
    return len(good)


# ---------------------------------------------------------------------------------------------------
# Reads


def targets_for(*, months: tuple[date, date], users=None, departments=None) -> dict:
    """{("user" | "department", id): {field: sum over the months}} of the targets in the months (first days, both
    included) of these people and teams (None: everyone's)."""
    rows = SalesTarget.objects.filter(month__gte=months[0], month__lte=months[1])
    found: dict = {}
    for kind, ids in (("user", users), ("department", departments)):
        part = rows.filter(**{f"{kind}__isnull": False})
        if ids is not None:
            part = part.filter(**{f"{kind}__in": ids})
        for row in part.values(f"{kind}_id", *FIELDS):
            sums = found.setdefault((kind, row[f"{kind}_id"]), dict.fromkeys(FIELDS))
            for name in FIELDS:
                if row[name] is not None:
                    sums[name] = (sums[name] or (Decimal(0) if name != "new_customers" else 0)) + row[name]
    return found

"""Writes on users, departments and API tokens; each records its audit entry in the same transaction."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from . import fastsql, robots, sync
from .audit import audit_record, audited_update, creation_changes, diff, snapshot
from .errors import Forbidden, ValidationFailed
from .hooks import collect
from .models import (
    ApiToken,
    Channel,
    Department,
    GroupRobot,
    NotificationDelivery,
    NotificationPreference,
    TokenAccess,
    User,
    hash_token,
)
from .notify import KINDS, Channels, Kind, preferences_for


def _require_admin(actor):
    if actor is not None and not actor.is_admin:
        raise Forbidden(_("Only administrators can manage users and departments."))


def _lock_org_tree() -> None:
    """Queue every change of the org tree (departments' parents, users' managers and departments) behind
    one another: each checks for cycles on what the one before it wrote. The department rows are the
    lock, taken in key order; the table holds a company's departments, dozens of rows."""
    list(Department.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def department_save(*, actor, name: str, parent: Department | None, department: Department | None = None,
                    channel: str = Channel.WEB) -> Department:
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors={"name": [_("This field is required.")]})
    with transaction.atomic():
        _lock_org_tree()
        # The paths as they are now, not as the caller read them before the lock.
        if parent is not None:
            parent = Department.objects.get(pk=parent.pk)
        if department is not None:
            department.path = Department.objects.values_list("path", flat=True).get(pk=department.pk)
        if department is not None and parent is not None and parent.path.startswith(department.path):
            message = (_("A department cannot be placed under itself.") if parent.pk == department.pk else
                       _("%(parent)s is inside %(department)s, so %(department)s cannot be placed under it.")
                       % {"parent": parent, "department": department})
            raise ValidationFailed(message, field_errors={"parent": [_("Choose a department outside this one.")]})
        if department is None:
            department = Department(name=name, parent=parent)
            department.save()
            # The path ends with the department's own id, known once it is saved.
            department.path = f"{parent.path if parent else '/'}{department.pk}/"
            department.save(update_fields=["path"])
            audit_record(actor=actor, channel=channel, action="department.create", target=department,
                         changes=creation_changes(department))
            return department
        old_path = department.path
        new_path = f"{parent.path if parent else '/'}{department.pk}/"
        audited_update(instance=department, data={"name": name, "parent": parent, "path": new_path}, actor=actor,
                       channel=channel, action="department.update", always=True)
        if new_path != old_path:
            # Moving a department moves its subtree: one UPDATE rewrites every descendant's path prefix,
            # so managers' visibility (a prefix match on the path) follows the new tree at once. The managers
            # above it before or after, not both, see other records now: their API syncs start again.
            Department.objects.filter(path__startswith=old_path).exclude(pk=department.pk).update(
                path=Concat(Value(new_path), Substr("path", len(old_path) + 1)))
            sync.sight_changed(sync.team_change_audience(old_path, new_path))
    return department


def _plain_list(value) -> list[str]:
    return sorted(str(item) for item in value) if isinstance(value, (list, tuple, set)) else [str(value)]


USER_FIELDS = ["username", "display_name", "email", "mobile", "role", "department", "manager", "on_leave", "is_active"]


def user_save(*, actor, data: dict, user: User | None = None, password: str | None = None,
              channel: str = Channel.WEB) -> User:
    _require_admin(actor)
    with transaction.atomic():
        creating = user is None
        user = user or User()
        before = {} if creating else snapshot(user, USER_FIELDS)
        for name in USER_FIELDS:
            if name in data:
                setattr(user, name, data[name])
        if not creating and ({"manager", "department"} & data.keys()):
            _lock_org_tree()
        old_path = _department_path(before["department"]) if not creating and "department" in data else None
        _refuse_reporting_cycle(user)
        if password:
            user.set_password(password)
        elif creating:
            user.set_unusable_password()
        user.is_staff = user.role == "admin"
        user.save()
        changes = diff(before, snapshot(user, USER_FIELDS))
        # Fields the apps add to the user form (leads: the source channels a marketer runs).
        for field in collect("user_fields"):
            if field.name in data:
                old = [] if creating else _plain_list(field.initial(user))
                field.save(user, data[field.name])
                new = _plain_list(field.initial(user))
                if old != new:
                    changes[field.name] = [old or None, new or None]
        if password and not creating:
            changes["password"] = ["***", "***"]
        if not creating and (SIGHT_FIELDS & changes.keys() or changes.keys() - {*USER_FIELDS, "password"}):
            _sight_changed(user, changes, old_path)
        audit_record(actor=actor, channel=channel, action="user.create" if creating else "user.update",
                     target=user, changes=changes)
    return user


# What a person sees over many records at once depends on these, and on the fields apps add to the user form (a
# marketer's channels); `manager` routes approvals and changes no one's sight.
SIGHT_FIELDS = frozenset({"role", "department", "is_active"})


def _sight_changed(user: User, changes: dict, old_path: str | None) -> None:
    """Tell the API's sync who sees other records after a change of `user` (core/sync.py): the person (a new role,
    team or channels; deactivated, their departures stop being recorded) and, for a new department, the managers
    whose team gained or lost them."""
    told = {user.pk}
    if "department" in changes:
        told |= sync.team_change_audience(old_path, _department_path(user.department_id))
    sync.sight_changed(told)


def _department_path(department_id: int | None) -> str | None:
    # As stored now: the caller holds the org-tree lock, and a form's department may predate a move.
    return Department.objects.filter(pk=department_id).values_list("path", flat=True).first() if department_id else None


def _refuse_reporting_cycle(user: User) -> None:
    """Reporting lines form a tree: the new manager may not be the user, nor report to the user through
    anyone. Walks up from the new manager as stored now (the caller holds the org-tree lock)."""
    if not user.manager_id:
        return
    if user.manager_id == user.pk:
        raise ValidationFailed(_("A user cannot be their own manager."), field_errors={"manager": [_("Choose another manager.")]})
    if user.pk is None:
        return
    managers = dict(User.objects.exclude(manager=None).values_list("pk", "manager_id"))
    seen, current = set(), user.manager_id
    while current is not None and current not in seen:
        if current == user.pk:
            manager = User.objects.get(pk=user.manager_id)
            raise ValidationFailed(
                _("%(manager)s reports to %(user)s (directly or through others), so cannot be %(user)s's manager.")
                % {"manager": manager, "user": user},
                field_errors={"manager": [_("Choose a manager who does not report to this user.")]},
            )
        seen.add(current)
        current = managers.get(current)


def api_token_create(*, user: User, name: str, actor, access: str = TokenAccess.READ_WRITE,
                     expires_in_days: int | None = None) -> tuple[str, ApiToken]:
    """Create a token and return its raw value, which is never stored and cannot be shown again. A read-only token
    may only read; `expires_in_days` ends it that many days from now (never, when None)."""
    if access not in TokenAccess.values:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors={"access": [_("Choose read only or read and write.")]})
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={"expires_in_days": [_("Give between 1 and 3650 days, or none.")]})
    raw = ApiToken.generate()
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:10], token_hash=hash_token(raw),
                                        access=access, expires_at=expires_at)
        changes = {"api_token": [None, token.prefix + "…"], "api_token_access": [None, str(token.get_access_display())]}
        if expires_at:
            changes["api_token_expires_at"] = [None, timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M")]
        audit_record(actor=actor or user, channel=Channel.WEB if actor else Channel.SYSTEM,
                     action="api_token.create", target=user, changes=changes)
    return raw, token


def api_token_revoke(*, token: ApiToken, actor) -> None:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, channel=Channel.WEB, action="api_token.revoke", target=token.user,
                     changes={"api_token": [token.prefix + "…", None]})


# How often a token's last use is written: a busy client's requests do not each write a row.
TOKEN_USE_WRITE_SECONDS = 60


def api_token_use(raw: str, *, address: str = "") -> ApiToken | None:
    """The live token (not revoked, not expired, its user active) a raw value names, with its user; None otherwise.
    Notes when and from where it was used, at most once a minute: a busy client does not write on every request."""
    token = _live_token(hash_token(raw))
    now = timezone.now()
    if token is None or not token.user.is_active or token.expired(now):
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > TOKEN_USE_WRITE_SECONDS:
        # Conditional, so of several requests at once only one writes.
        ApiToken.objects.filter(pk=token.pk, last_used_at=token.last_used_at).update(last_used_at=now,
                                                                                     last_used_from=address or None)
    return token


def _live_token(token_hash: str) -> ApiToken | None:
    """The unrevoked token with this hash, with its user: every API request asks, so one prepared statement
    instead of the ORM's select_related (which cost ~20 times the query; see BENCHMARKS.md, intake)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    width = fastsql.width(ApiToken)
    row = fastsql.fetch_one(
        f"SELECT {fastsql.columns(ApiToken, 't')}, {fastsql.columns(user_model, 'u')} "  # noqa: S608 - model names
        f"FROM {fastsql.table(ApiToken)} t JOIN {fastsql.table(user_model)} u ON u.id = t.user_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL", [token_hash])
    if row is None:
        return None
    token = fastsql.build(ApiToken, row[:width], "t")
    token.user = fastsql.build(user_model, row[width:], "u")
    return token


ROBOT_FIELDS = ["name", "department", "platform", "kinds", "is_active"]


def _robot_audit_view(robot) -> dict:
    # The webhook URL carries the access token and the secret signs messages: the trail keeps masks.
    return {**snapshot(robot, ROBOT_FIELDS), "webhook_url": robot.masked_url, "secret": robot.masked_secret}


def robot_save(*, actor, data: dict, robot: GroupRobot | None = None, channel: str = Channel.WEB) -> GroupRobot:
    """Create or change a group robot. A blank webhook URL or secret keeps the stored one."""
    _require_admin(actor)
    with transaction.atomic():
        creating = robot is None
        robot = robot or GroupRobot()
        before = {} if creating else _robot_audit_view(robot)
        for name in ROBOT_FIELDS:
            if name in data:
                setattr(robot, name, data[name])
        if data.get("webhook_url"):
            robot.webhook_url = data["webhook_url"]
        if data.get("clear_secret"):
            robot.secret = ""
        elif data.get("secret"):
            robot.secret = data["secret"].strip()
        if not robot.webhook_url:
            raise ValidationFailed(_("Please correct the marked fields."),
                                   field_errors={"webhook_url": [_("Paste the robot's webhook URL.")]})
        if problem := robots.webhook_problem(robot.platform, robot.webhook_url):
            raise ValidationFailed(_("Please correct the marked fields."), field_errors={"webhook_url": [problem]})
        robot.save()
        audit_record(actor=actor, channel=channel, action="robot.create" if creating else "robot.update",
                     target=robot, changes=diff(before, _robot_audit_view(robot)))
    return robot


def robot_delete(*, actor, robot: GroupRobot, channel: str = Channel.WEB) -> None:
    _require_admin(actor)
    with transaction.atomic():
        audit_record(actor=actor, channel=channel, action="robot.delete", target=robot,
                     changes=diff(_robot_audit_view(robot), {}))
        robot.delete()


def robot_send_test(*, actor, robot: GroupRobot, channel: str = Channel.WEB) -> NotificationDelivery:
    """Post a test message now (not through the queue) so the admin sees at once whether it arrived."""
    from .delivery import delivery_send

    _require_admin(actor)
    with transaction.atomic():
        delivery = NotificationDelivery.objects.create(
            key=f"test:{robot.pk}:{uuid.uuid4().hex}", channel=robot.platform, robot=robot, recipient=actor,
            kind="robot.test", subject=_("Test message from Closeloop"),
            body=_("If you can read this in the group, %(robot)s is set up correctly.") % {"robot": robot},
        )
        audit_record(actor=actor, channel=channel, action="robot.test", target=robot)
    delivery_send(key=delivery.key, retry=False)
    delivery.refresh_from_db()
    return delivery


def notification_preferences_save(*, user: User, choices: dict[str, tuple], actor, language: str | None = None,
                                  channel: str = Channel.WEB) -> None:
    """Store where each kind reaches `user`: `{kind: (in_app, email, summary)}` (summary: in the daily summary,
    which replaces a mail at once, so email and summary are not both on), and the language of their mails
    (`language`: a code of LANGUAGES, "" for the site's; None leaves it)."""
    if actor is not None and actor.pk != user.pk and not actor.is_admin:
        raise Forbidden(_("You can only change your own notification settings."))
    with transaction.atomic():
        before_values = preferences_for(user, [KINDS.get(kind) or Kind(kind, kind, False) for kind in choices])
        changes = {}
        for kind, chosen in choices.items():
            after = Channels(*chosen)
            if after.email and after.summary:
                raise ValidationFailed(_("Choose either a mail at once or the daily summary, not both."),
                                       field_errors={f"{kind}:summary": [
                                           _("Choose either a mail at once or the daily summary, not both.")]})
            before = before_values[kind]
            if before == after:
                continue
            NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults=after._asdict())
            changes[kind] = [before._asdict(), after._asdict()]
        if language is not None and language != user.language:
            if language and language not in dict(settings.LANGUAGES):
                raise ValidationFailed(_("Choose one of the languages offered."),
                                       field_errors={"language": [_("Choose one of the languages offered.")]})
            changes["language"] = [user.language, language]
            user.language = language
            user.save(update_fields=["language"])
        if changes:
            audit_record(actor=actor or user, channel=channel, action="notification_preferences.update",
                         target=user, changes=changes)


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications read, or all of them; returns how many changed.

    Not audited: reading a notification changes no business record, and the trail would drown in it.
    """
    unread = user.notifications.filter(read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())

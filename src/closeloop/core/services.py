"""Writes on users, departments and API tokens; each records its audit entry in the same transaction."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record, diff, snapshot
from .errors import Forbidden, ValidationFailed
from .models import ApiToken, Channel, Department, User, hash_token


def _require_admin(actor):
    if actor is not None and not actor.is_admin:
        raise Forbidden(_("Only administrators can manage users and departments."))


def department_save(*, actor, name: str, parent: Department | None, department: Department | None = None,
                    channel: str = Channel.WEB) -> Department:
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors={"name": [_("This field is required.")]})
    with transaction.atomic():
        if department is not None and parent is not None and parent.path.startswith(department.path):
            raise ValidationFailed(
                _("A department cannot be placed under itself."), field_errors={"parent": [_("Choose another parent.")]}
            )
        before = snapshot(department) if department else {}
        old_path = department.path if department else None
        department = department or Department()
        department.name = name
        department.parent = parent
        department.save()
        new_path = f"{parent.path if parent else '/'}{department.pk}/"
        if new_path != department.path:
            department.path = new_path
            department.save(update_fields=["path"])
            if old_path:
                # Moving a department moves its subtree; rewrite descendants' paths in one pass.
                for child in Department.objects.filter(path__startswith=old_path).exclude(pk=department.pk):
                    child.path = new_path + child.path[len(old_path):]
                    child.save(update_fields=["path"])
        audit_record(
            actor=actor, channel=channel, action="department.update" if before else "department.create",
            target=department, changes=diff(before, snapshot(department)),
        )
    return department


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
        if user.manager_id and user.manager_id == user.pk:
            raise ValidationFailed(_("A user cannot be their own manager."), field_errors={"manager": [_("Choose another manager.")]})
        if password:
            user.set_password(password)
        elif creating:
            user.set_unusable_password()
        user.is_staff = user.role == "admin"
        user.save()
        if "source_channels" in data:
            user.source_channels.set(data["source_channels"])
        changes = diff(before, snapshot(user, USER_FIELDS))
        if password and not creating:
            changes["password"] = ["***", "***"]
        audit_record(actor=actor, channel=channel, action="user.create" if creating else "user.update",
                     target=user, changes=changes)
    return user


def api_token_create(*, user: User, name: str, actor) -> tuple[str, ApiToken]:
    """Create a token and return its raw value, which is never stored and cannot be shown again."""
    raw = ApiToken.generate()
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:10], token_hash=hash_token(raw))
        audit_record(actor=actor or user, channel=Channel.WEB if actor else Channel.SYSTEM,
                     action="api_token.create", target=user, changes={"api_token": [None, token.prefix + "…"]})
    return raw, token


def api_token_revoke(*, token: ApiToken, actor) -> None:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, channel=Channel.WEB, action="api_token.revoke", target=token.user,
                     changes={"api_token": [token.prefix + "…", None]})


def user_for_token(raw: str) -> User | None:
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    # Touch last_used_at at most once a minute, so hot API clients don't write on every request.
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user

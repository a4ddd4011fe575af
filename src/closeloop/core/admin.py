"""Django's admin, for staff who need to look something up: read-only for every audited record.

Users and departments change only through their services (Settings → Team / Departments), which check
who may do it, keep the org tree a tree, recompute department paths and write the audit trail. An edit
here would do none of that, so the admin shows these records and changes nothing.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import AuditEntry, Department, User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class CloseloopUserAdmin(ReadOnlyAdmin, UserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "display_name", "email", "mobile")}),
        ("Closeloop", {"fields": ("role", "department", "manager", "on_leave", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    list_display = ("username", "display_name", "role", "department", "is_active")


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "parent", "path")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The trail can be searched, never changed."""

    list_display = ("created_at", "actor", "channel", "action", "target_repr")
    list_filter = ("channel", "action")

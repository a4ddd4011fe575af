from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import AuditEntry, Department, User


@admin.register(User)
class CloseloopUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Closeloop", {"fields": ("display_name", "role", "department", "manager", "on_leave")}),)
    list_display = ("username", "display_name", "role", "department", "is_active")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "path")
    readonly_fields = ("path",)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail can be searched, never changed."""

    list_display = ("created_at", "actor", "channel", "action", "target_repr")
    list_filter = ("channel", "action")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

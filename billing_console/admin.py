"""Admin pages for users, their roles, API tokens and locked accounts."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from billing_console.admin_site import ConsolePermissionsMixin

for model in (User, Group, AccessAttempt, AccessLog, AccessFailureLog, TokenProxy):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class ConsoleUserAdmin(ConsolePermissionsMixin, UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "roles")
    list_filter = ("is_active", "groups")
    offered_views = (*ConsolePermissionsMixin.offered_views, "password_change")
    autocomplete_fields = ("groups",)

    @admin.display(description="Roles")
    def roles(self, user):
        return ", ".join(group.name for group in user.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(Group)
class RoleGroupAdmin(ConsolePermissionsMixin, GroupAdmin):
    """Roles are defined in code (billing_console/access.py); here they are only listed."""

    offered_views = ("changelist", "change")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessAttempt)
class LockedAccountAdmin(ConsolePermissionsMixin, AccessAttemptAdmin):
    """Deleting a row unlocks that account before its cool-off time ends."""

    offered_views = ("changelist", "change", "delete")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TokenProxy)
class ApiTokenAdmin(ConsolePermissionsMixin, TokenAdmin):
    pass

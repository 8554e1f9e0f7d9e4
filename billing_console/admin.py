"""Django's admin, for superusers: users, their roles, API tokens and locked accounts as
raw rows. Admins manage these in the console's own pages (`administration/`)."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from billing_console.access import SUPERUSER, allows
from billing_console.admin_site import ConsolePermissionsMixin
from billing_console.models import ZendeskIdentity

for model in (User, Group, AccessAttempt, AccessLog, AccessFailureLog, TokenProxy):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ZendeskIdentityInline(admin.StackedInline):
    """Ties a Tier 2 agent to their Zendesk user and group: they see the cases either
    escalated, and no other."""

    model = ZendeskIdentity
    can_delete = True
    extra = 0
    max_num = 1
    verbose_name_plural = ("Zendesk identity (Tier 2 agents see the cases they or their "
                           "group escalated)")

    def _allowed(self, request):
        return allows(request.user, SUPERUSER)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request, obj=None):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request)


@admin.register(User)
class ConsoleUserAdmin(ConsolePermissionsMixin, UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "roles",
                    "zendesk_user")
    list_filter = ("is_active", "groups")
    offered_views = (*ConsolePermissionsMixin.offered_views, "password_change")
    autocomplete_fields = ("groups",)
    inlines = (ZendeskIdentityInline,)

    @admin.display(description="Zendesk user")
    def zendesk_user(self, user):
        identity = getattr(user, "zendesk_identity", None)
        return identity.zendesk_user_id if identity and identity.zendesk_user_id else "—"

    @admin.display(description="Roles")
    def roles(self, user):
        return ", ".join(group.name for group in user.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups").select_related(
            "zendesk_identity")


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

"""The money policy, its limits and the internal reason codes, edited by admins."""

from django.contrib import admin

from billing_console.admin_site import ConsolePermissionsMixin
from money_actions.models import CurrencyLimit, MoneyPolicy, ReasonCode, RoleLimit


@admin.register(MoneyPolicy)
class MoneyPolicyAdmin(ConsolePermissionsMixin, admin.ModelAdmin):
    list_display = ["__str__", "charge_age_days", "customer_window_days",
                    "fraudulent_needs_approval", "duplicate_window_hours"]
    # One row: it can be changed, never added to or deleted.
    offered_views = ("changelist", "history", "change")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CurrencyLimit)
class CurrencyLimitAdmin(ConsolePermissionsMixin, admin.ModelAdmin):
    list_display = ["currency", "auto_approve_limit", "customer_window_limit",
                    "take_approval_limit", "take_cap"]


@admin.register(RoleLimit)
class RoleLimitAdmin(ConsolePermissionsMixin, admin.ModelAdmin):
    list_display = ["role", "currency", "limit"]


@admin.register(ReasonCode)
class ReasonCodeAdmin(ConsolePermissionsMixin, admin.ModelAdmin):
    list_display = ["label", "code", "active", "position"]
    list_editable = ["active", "position"]

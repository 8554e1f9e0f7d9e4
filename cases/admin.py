"""Admin pages of the cases app."""

from django.contrib import admin

from billing_console.admin_site import ConsolePermissionsMixin
from cases.models import Case, IntakeRule, ReplyTemplate, SlaTarget


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(ConsolePermissionsMixin, admin.ModelAdmin):
    """The public replies specialists start from when they resolve a case."""

    list_display = ("name", "active", "position")
    list_editable = ("active", "position")
    search_fields = ("name", "body")


@admin.register(Case)
class CaseAdmin(ConsolePermissionsMixin, admin.ModelAdmin):
    """Cases as raw rows, for admins fixing data; specialists work them in the queue."""

    list_display = ("zendesk_ticket_id", "subject", "state", "priority", "category",
                    "assignee", "resolution_due")
    list_filter = ("state", "priority", "category")
    search_fields = ("=zendesk_ticket_id", "requester_email", "subject")
    list_select_related = ("assignee",)
    raw_id_fields = ("assignee",)
    offered_views = ("changelist", "change")


@admin.register(IntakeRule)
class IntakeRuleAdmin(ConsolePermissionsMixin, admin.ModelAdmin):
    """Which Zendesk tickets become cases: by tag, by group, or all of them."""

    list_display = ("__str__", "tag", "group_id")
    offered_views = ("changelist", "change")


@admin.register(SlaTarget)
class SlaTargetAdmin(ConsolePermissionsMixin, admin.ModelAdmin):
    """Hours to first response and to resolution, by priority."""

    list_display = ("priority", "first_response_hours", "resolution_hours")
    list_editable = ("first_response_hours", "resolution_hours")
    offered_views = ("changelist", "change")

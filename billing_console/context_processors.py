from django.urls import reverse

from billing_console.access import Capability, capabilities_of, has_capability, roles_of


def _open_questions():
    from guidance.selectors import open_question_count  # guidance's models load after this

    return open_question_count()


def _gave_up_events():
    """Webhook events that gave up after their retries, for an admin to retry."""
    from billing_console.integrations.inbox import gave_up_count

    return gave_up_count()


# The console's sections, each shown to the roles that may open it, and for some a count
# of what waits there.
NAVIGATION = (
    ("Queue", "cases:queue", Capability.VIEW_QUEUE),
    ("Approvals", "money_actions:approvals", Capability.APPROVE_MONEY_ACTION),
    ("Audit", "audit:events", Capability.VIEW_CASE_AUDIT),
    ("Summary", "audit:summary", Capability.VIEW_AUDIT),
    ("Reconciliation", "audit:reconciliation", Capability.VIEW_AUDIT),
    ("Guidance", "guidance:index", Capability.READ_GUIDANCE),
    ("Questions", "guidance:questions", Capability.WRITE_GUIDANCE, _open_questions),
    ("Zendesk sync", "cases:sync", Capability.MANAGE_CONSOLE, _gave_up_events),
    ("Admin", "admin:index", Capability.MANAGE_CONSOLE),
)


def _current_section(path, urls):
    """The section the page belongs to: the longest section URL it starts with, so that
    /audit/summary/ is Summary, not Audit."""
    return max((url for url in urls if path.startswith(url)), key=len, default=None)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    allowed = capabilities_of(user)
    items = [{"label": label, "url": reverse(url_name), "count": count[0]() if count else None}
             for label, url_name, capability, *count in NAVIGATION if capability in allowed]
    current = _current_section(request.path, [item["url"] for item in items])
    for item in items:
        item["active"] = item["url"] == current
    return {"nav_items": items, "user_roles": sorted(role.label for role in roles_of(user))}


def chain_alert(request):
    """The latest chain check, when it found a break: every finance page raises it."""
    user = getattr(request, "user", None)
    if user is None or not has_capability(user, Capability.VIEW_AUDIT):
        return {}
    from audit.selectors import latest_verification

    verification = latest_verification()
    return {"chain_alert": verification if verification and not verification.intact
            else None}

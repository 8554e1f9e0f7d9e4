"""The navigation every page shows. The sections are named here by URL name only; what
waits in an app's section is counted by the app, which registers the count from its
AppConfig.ready (`register_count`), so that the core imports no app."""

from django.urls import get_script_prefix, reverse

from billing_console.access import Capability, capabilities_of, roles_of

# URL name of a section → a function of no arguments returning how many things wait there.
_COUNTS = {}


def register_count(url_name, count):
    """Show `count()` beside the section at `url_name`."""
    _COUNTS[url_name] = count


def _gave_up_events():
    """Webhook events that gave up after their retries, for an admin to retry."""
    from billing_console.integrations.inbox import gave_up_count

    return gave_up_count()


# The console's sections, each shown to the roles that may open it. A section's count is
# the one its app registered, or, for the core's own sections, a fourth element.
NAVIGATION = (
    ("Queue", "cases:queue", Capability.VIEW_QUEUE),
    ("Approvals", "finance:approvals", Capability.APPROVE_MONEY_ACTION),
    ("Audit", "audit:events", Capability.VIEW_CASE_AUDIT),
    ("Summary", "finance:summary", Capability.VIEW_AUDIT),
    ("Reconciliation", "finance:reconciliation", Capability.VIEW_AUDIT),
    ("Guidance", "guidance:index", Capability.READ_GUIDANCE),
    ("Questions", "guidance:questions", Capability.WRITE_GUIDANCE),
    ("Handover", "handover:page", Capability.WORK_CASES),
    # Webhook events that gave up wait for an admin on the administration's integrations page.
    ("Admin", "administration:index", Capability.MANAGE_CONSOLE, _gave_up_events),
)


def _current_section(path, urls):
    """The section the page belongs to: the longest section URL it starts with, so that
    /audit/summary/ is Summary, not Audit."""
    return max((url for url in urls if path.startswith(url)), key=len, default=None)


def _count(url_name, own=None):
    count = _COUNTS.get(url_name, own)
    return count() if count else None


# The sections' URLs never change while the process runs: reversed once per script prefix,
# not on every page.
_URLS = {}


def _urls():
    prefix = get_script_prefix()
    urls = _URLS.get(prefix)
    if urls is None:
        urls = _URLS[prefix] = {section[1]: reverse(section[1]) for section in NAVIGATION}
    return urls


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    urls = _urls()
    allowed = capabilities_of(user)
    items = [{"label": label, "url": urls[url_name], "count": _count(url_name, *own)}
             for label, url_name, capability, *own in NAVIGATION if capability in allowed]
    current = _current_section(request.path, [item["url"] for item in items])
    for item in items:
        item["active"] = item["url"] == current
    return {"nav_items": items, "user_roles": sorted(role.label for role in roles_of(user))}


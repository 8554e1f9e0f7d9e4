"""What every page shows about the trail (listed in settings.TEMPLATES)."""

from audit.selectors import latest_verification
from billing_console.access import Capability, has_capability


def chain_alert(request):
    """The latest chain check, when it found a break: every finance page raises it."""
    user = getattr(request, "user", None)
    if user is None or not has_capability(user, Capability.VIEW_AUDIT):
        return {}
    verification = latest_verification()
    return {"chain_alert": verification if verification and not verification.intact
            else None}

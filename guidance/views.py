from django.shortcuts import render

from billing_console.access import Capability, has_capability, requires


@requires(Capability.READ_GUIDANCE)
def index(request):
    return render(request, "guidance/index.html", {
        "can_find_case": has_capability(request.user, Capability.VIEW_CASE_SUMMARY)})

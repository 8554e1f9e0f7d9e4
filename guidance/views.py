from django.shortcuts import render

from billing_console.access import Capability, requires


@requires(Capability.READ_GUIDANCE)
def index(request):
    return render(request, "guidance/index.html")

from django.shortcuts import render

from billing_console.access import Capability, requires


@requires(Capability.VIEW_QUEUE)
def queue(request):
    return render(request, "cases/queue.html")

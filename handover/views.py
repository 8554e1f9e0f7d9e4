"""The shift handover page: what changed since the end of the signed-in person's last shift
(or a time they choose), what waits now, and the notes people left for the next shift.

For those who work cases (specialists): its lists cross cases, money actions, Tier 2's
questions and finance's flags, which together only they may all open. A bad time or note
is a message on the page, never a 500.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from audit.services import Origin
from billing_console.access import Capability, requires
from billing_console.exceptions import ApplicationError
from billing_console.notes import NOTE_MAX_CHARS
from handover import selectors, services
from handover.forms import NoteForm, SinceForm


@requires(Capability.WORK_CASES)
@require_safe
def handover(request):
    now = timezone.now()
    form = SinceForm(request.GET, now=now)
    chosen = form.cleaned_data["since"] if form.is_valid() else None
    since = chosen or selectors.shift_since(request.user, now=now)
    return _page(request, since_form=form, since=since, now=now,
                 status=200 if form.is_valid() else 400)


@requires(Capability.WORK_CASES)
@require_POST
def leave_note(request):
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.handover_note_leave(author=request.user, body=form.cleaned_data["body"],
                                         origin=Origin.of(request))
        except ApplicationError as error:
            form.add_error("body", error.message)
    if not form.is_valid():
        now = timezone.now()
        return _page(request, note_form=form, now=now, status=400,
                     since=selectors.shift_since(request.user, now=now))
    messages.success(request, "Your note is left for the next shift.")
    return redirect("handover:page")


def _page(request, *, since, now, status, since_form=None, note_form=None):
    return render(request, "handover/handover.html", {
        "handover": selectors.handover(since=since, now=now),
        "since_form": since_form or SinceForm(now=now), "note_form": note_form or NoteForm(),
        "list_size": selectors.LIST_SIZE, "note_max_chars": NOTE_MAX_CHARS,
    }, status=status)

"""The shift handover API, for those who work cases (specialists), as on the handover page
and through the same reads and service: what changed since a moment and what waits now,
and the notes left for the next shift.

The handover is one document of lists, each cut as the page cuts it (`LIST_SIZE`, newest
or most urgent first); `more` says that others match, which the lists that page (the
queue, the audit trail, the questions) hold.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Origin
from billing_console.access import Capability
from billing_console.api import InputSerializer, QuerySerializer, error_responses
from billing_console.notes import NOTE_MAX_CHARS
from cases.apis import CaseSerializer
from guidance.apis import QuestionSerializer
from handover import selectors, services
from handover.models import HandoverNote


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")

    class Meta:
        model = HandoverNote
        fields = ["id", "author", "body", "created_at"]


class ReopenedSerializer(serializers.Serializer):
    """A case reopened: its `case.state_changed` audit event."""

    event_id = serializers.IntegerField(source="pk")
    case_id = serializers.IntegerField()
    zendesk_ticket_id = serializers.IntegerField(allow_null=True)
    actor = serializers.CharField(source="actor_username", help_text="Blank for the console "
                                                                     "itself (Zendesk's news).")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ActionOutcomeSerializer(serializers.Serializer):
    """A money action approved, rejected or failed: its audit event."""

    event_id = serializers.IntegerField(source="event.pk")
    action = serializers.CharField(source="event.action", help_text="Such as refund.failed.")
    label = serializers.CharField(help_text="In words: “Refund failed”.")
    amount = serializers.IntegerField(source="event.amount", allow_null=True,
                                      help_text="In the currency's minor unit.")
    currency = serializers.CharField(source="event.currency")
    case_id = serializers.IntegerField(source="event.case_id", allow_null=True)
    zendesk_ticket_id = serializers.IntegerField(source="event.zendesk_ticket_id",
                                                 allow_null=True)
    actor = serializers.CharField(source="event.actor_username",
                                  help_text="Blank when the money policy or the console "
                                            "acted.")
    reason = serializers.CharField(source="event.reason")
    created_at = serializers.DateTimeField(source="event.created_at")


class StuckSerializer(serializers.Serializer):
    """A money action stuck on its way to Stripe now (`MONEY_ACTION_STUCK_MINUTES`)."""

    id = serializers.UUIDField(source="action.pk")
    kind = serializers.CharField(source="action.kind")
    name = serializers.CharField(source="action.name", help_text="As people name it: "
                                 "\"Plan change: customer pays 1,375.00 USD now (Console "
                                 "Team monthly × 5 → Console Pro annual × 3)\".")
    state = serializers.CharField(source="action.state", help_text="approved or submitting.")
    amount = serializers.IntegerField(source="action.amount",
                                      help_text="In the currency's minor unit.")
    currency = serializers.CharField(source="action.currency")
    case_id = serializers.IntegerField(source="action.case_id")
    zendesk_ticket_id = serializers.IntegerField(source="action.case.zendesk_ticket_id")
    since = serializers.DateTimeField(help_text="When it set off for Stripe: sent first, or "
                                                "approved when no worker has taken it.")
    next_step = serializers.CharField(help_text="What the console does about it, and whom "
                                                "to tell, in words.")


class DifferenceSerializer(serializers.Serializer):
    """A reconciliation difference nobody has explained yet (the report has the rest)."""

    item_id = serializers.IntegerField(source="item.pk")
    run = serializers.IntegerField(source="item.run_id")
    match = serializers.CharField(source="item.match")
    object_type = serializers.CharField(source="item.object_type")
    stripe_object_id = serializers.CharField(source="item.stripe_object_id")
    console_amount = serializers.IntegerField(source="item.console_amount", allow_null=True)
    stripe_amount = serializers.IntegerField(source="item.stripe_amount", allow_null=True)
    currency = serializers.CharField(source="item.currency")
    case_id = serializers.IntegerField(source="item.case_id", allow_null=True)
    zendesk_ticket_id = serializers.IntegerField(source="ticket_id", allow_null=True)


class ChainSerializer(serializers.Serializer):
    """The latest check of the audit trail's hash chain."""

    finished_at = serializers.DateTimeField()
    intact = serializers.BooleanField()
    broken_id = serializers.IntegerField(allow_null=True,
                                         help_text="The first event that breaks the chain.")


def _listing(name, row_serializer, **options):
    return inline_serializer(f"Handover{name}", {
        "rows": row_serializer(many=True),
        "more": serializers.BooleanField(help_text="More than these match."),
    }, **options)


class HandoverSerializer(serializers.Serializer):
    since = serializers.DateTimeField(source="since.at")
    since_why = serializers.CharField(source="since.why", help_text="Why that moment.")
    now = serializers.DateTimeField()
    notes = _listing("Notes", NoteSerializer)
    opened = _listing("Opened", CaseSerializer)
    reopened = _listing("Reopened", ReopenedSerializer)
    waiting_on_finance = _listing("WaitingOnFinance", CaseSerializer)
    due_soon = _listing("DueSoon", CaseSerializer)
    money_actions = _listing("MoneyActions", ActionOutcomeSerializer, source="actions")
    money_actions_stuck = _listing("MoneyActionsStuck", StuckSerializer, source="stuck")
    questions_answered = _listing("QuestionsAnswered", QuestionSerializer, source="answered")
    questions_waiting = _listing("QuestionsWaiting", QuestionSerializer,
                                 source="waiting_questions")
    differences = _listing("Differences", DifferenceSerializer)
    chain = ChainSerializer(allow_null=True, help_text="Null before the first check.")


class HandoverQuery(QuerySerializer):
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601 (UTC unless it says otherwise), within the last "
                                  "7 days; by default the end of the caller's last shift.")


class HandoverNoteInput(InputSerializer):
    body = serializers.CharField(max_length=NOTE_MAX_CHARS,
                                 help_text="The note for the next shift.")


class HandoverApi(APIView):
    """What changed since `since` and what waits now. A moment still to come, or more than
    7 days ago, is refused (409, code `since`)."""

    required_capability = Capability.WORK_CASES

    @extend_schema(parameters=[HandoverQuery],
                   responses={200: HandoverSerializer, **error_responses(409)})
    def get(self, request):
        now = timezone.now()
        chosen = HandoverQuery.read(request).get("since")
        since = selectors.chosen_since(chosen, now=now) if chosen is not None \
            else selectors.shift_since(request.user, now=now)
        return Response(HandoverSerializer(selectors.handover(since=since, now=now)).data)


class HandoverNoteApi(APIView):
    """Leave a note for the next shift: kept as written, with a `handover.note_left` audit
    event."""

    required_capability = Capability.WORK_CASES

    @extend_schema(request=HandoverNoteInput, responses={201: NoteSerializer})
    def post(self, request):
        data = HandoverNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.handover_note_leave(author=request.user,
                                            body=data.validated_data["body"],
                                            origin=Origin.of(request))
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

"""The guidance API: playbooks, a case's guidance for Tier 2, and questions.

Tier 2 reads and asks; specialists answer, write a case's guidance and write playbooks,
each save a new version as on the page. Markdown comes back as written and as sanitised
HTML (`billing_console.markdown`).
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Origin
from billing_console.access import Capability
from billing_console.api import (
    InputSerializer,
    cursor_parameter,
    error_responses,
    keyset_list,
    page_of,
)
from billing_console.markdown import render_markdown
from billing_console.notes import NOTE_MAX_CHARS
from cases.models import Case, Category
from cases.selectors import cases_visible_to
from guidance import selectors, services
from guidance.models import CaseGuidance, Playbook, PlaybookVersion, Question


class PlaybookSerializer(serializers.ModelSerializer):
    html = serializers.SerializerMethodField()

    class Meta:
        model = Playbook
        fields = ["slug", "title", "category", "body", "html", "updated_at"]

    def get_html(self, playbook) -> str:
        return str(render_markdown(playbook.body))


class PlaybookVersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, allow_null=True)

    class Meta:
        model = PlaybookVersion
        fields = ["number", "title", "author", "created_at"]


class PlaybookDetailSerializer(PlaybookSerializer):
    """A playbook with its versions, newest first (the text of each is on its page)."""

    updated_by = serializers.CharField(source="updated_by.username", default=None,
                                       allow_null=True)
    versions = PlaybookVersionSerializer(many=True)

    class Meta(PlaybookSerializer.Meta):
        fields = [*PlaybookSerializer.Meta.fields, "updated_by", "versions"]


class CaseGuidanceSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", allow_null=True)
    html = serializers.SerializerMethodField()
    playbook = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True,
        help_text="The playbook it started from, if any.")

    class Meta:
        model = CaseGuidance
        fields = ["id", "case", "body", "html", "playbook", "posted_to_zendesk", "author",
                  "created_at"]

    def get_html(self, guidance) -> str:
        return str(render_markdown(guidance.body))


class QuestionSerializer(serializers.ModelSerializer):
    asker = serializers.CharField(source="asker.username")
    answered_by = serializers.CharField(source="answered_by.username", default=None,
                                        allow_null=True)

    class Meta:
        model = Question
        fields = ["id", "case", "body", "asker", "created_at", "answer_due", "answer",
                  "answered_by", "answered_at"]


class CaseSummarySerializer(serializers.ModelSerializer):
    """What Tier 2 may read of a case itself."""

    resolution_code = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = ["id", "zendesk_ticket_id", "subject", "state", "category",
                  "resolution_code", "resolution_summary"]

    def get_resolution_code(self, case) -> str | None:
        return case.resolution_code or None


class FactSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="duplicate_charge, dispute, refund, subscription, "
                                           "invoice_status…")
    text = serializers.CharField(help_text="In words, for Tier 2.")


class CaseForTier2Serializer(serializers.Serializer):
    """What Tier 2 may know about a case: its summary, guidance, questions and the billing
    facts of its customer (never card or payment details)."""

    case = CaseSummarySerializer()
    guidance = CaseGuidanceSerializer(many=True)
    questions = QuestionSerializer(many=True)
    facts = FactSerializer(many=True)
    facts_error = serializers.CharField(
        allow_null=True, help_text="Why the facts cannot be shown now (Stripe down), or null.")


class QuestionInput(InputSerializer):
    body = serializers.CharField(max_length=NOTE_MAX_CHARS)
    case_id = serializers.IntegerField(required=False, default=None, allow_null=True)


class AnswerInput(InputSerializer):
    answer = serializers.CharField(max_length=NOTE_MAX_CHARS)


class CaseGuidanceInput(InputSerializer):
    """Guidance for Tier 2 on the case `case_id`, in Markdown; `playbook` is the slug of
    the playbook it started from."""

    case_id = serializers.IntegerField()
    body = serializers.CharField(max_length=services.MAX_TEXT)
    playbook = serializers.CharField(required=False, default=None, allow_null=True,
                                     max_length=Playbook._meta.get_field("slug").max_length)
    post_to_zendesk = serializers.BooleanField(
        required=False, default=False,
        help_text="Also post it to the ticket as an internal note.")


class PlaybookInput(InputSerializer):
    """A playbook as saved: `playbook` is the slug of the one to change (its next version),
    or null for a new one. Its text is Markdown."""

    playbook = serializers.CharField(required=False, default=None, allow_null=True,
                                     max_length=Playbook._meta.get_field("slug").max_length)
    title = serializers.CharField(max_length=Playbook._meta.get_field("title").max_length)
    category = serializers.ChoiceField(choices=Category.choices)
    body = serializers.CharField(max_length=services.MAX_TEXT)


class PlaybookListApi(APIView):
    required_capability = Capability.READ_GUIDANCE

    @extend_schema(parameters=[OpenApiParameter("q", str, description="Words in the title "
                                                                     "or body"),
                               cursor_parameter()],
                   responses={200: page_of(PlaybookSerializer), **error_responses(409)})
    def get(self, request):
        found = selectors.playbooks(query=request.query_params.get("q", "")[:200])
        return keyset_list(request, found, PlaybookSerializer, order=("category", "title", "id"))


class PlaybookDetailApi(APIView):
    required_capability = Capability.READ_GUIDANCE

    @extend_schema(operation_id="v1_playbook_retrieve", responses=PlaybookDetailSerializer)
    def get(self, request, slug):
        return Response(PlaybookDetailSerializer(_playbook(slug)).data)


class PlaybookSaveApi(APIView):
    """Write a playbook, as the playbook editor does: a new one, or the next version of
    one. Saving what a playbook already says keeps it as it is (200, no new version)."""

    required_capability = Capability.WRITE_GUIDANCE

    @extend_schema(request=PlaybookInput,
                   responses={201: PlaybookDetailSerializer, 200: PlaybookDetailSerializer,
                              **error_responses(404)})
    def post(self, request):
        data = PlaybookInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        existing = _playbook(fields["playbook"]) if fields["playbook"] is not None else None
        saved = services.playbook_save(
            playbook=existing, title=fields["title"], category=fields["category"],
            body=fields["body"], author=request.user, origin=Origin.of(request))
        return Response(PlaybookDetailSerializer(_playbook(saved.slug)).data,
                        status=status.HTTP_201_CREATED if saved.version_added
                        else status.HTTP_200_OK)


def _playbook(slug):
    return get_object_or_404(Playbook.objects.select_related("updated_by").prefetch_related(
        Prefetch("versions", PlaybookVersion.objects.select_related("author"))), slug=slug)


class CaseGuidanceWriteApi(APIView):
    """Write guidance for Tier 2 on a case, as the case page does; Tier 2 reads it at
    `/api/v1/cases/<id>/guidance/`."""

    required_capability = Capability.WRITE_GUIDANCE

    @extend_schema(request=CaseGuidanceInput,
                   responses={201: CaseGuidanceSerializer, **error_responses(404)})
    def post(self, request):
        data = CaseGuidanceInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        case = get_object_or_404(Case, pk=fields["case_id"])
        playbook = get_object_or_404(Playbook, slug=fields["playbook"]) \
            if fields["playbook"] is not None else None
        guidance = services.case_guidance_add(
            case=case, body=fields["body"], author=request.user, playbook=playbook,
            post_to_zendesk=fields["post_to_zendesk"], origin=Origin.of(request))
        return Response(CaseGuidanceSerializer(guidance).data, status=status.HTTP_201_CREATED)


class CaseGuidanceApi(APIView):
    """What Tier 2 may know about a case: its summary, guidance, questions and billing
    facts (never card or payment details)."""

    required_capability = Capability.READ_GUIDANCE

    @extend_schema(responses=CaseForTier2Serializer)
    def get(self, request, pk):
        case = get_object_or_404(cases_visible_to(request.user), pk=pk)
        facts, facts_error = selectors.case_facts(case)
        return Response(CaseForTier2Serializer({
            "case": case, "guidance": selectors.case_guidance(case),
            "questions": selectors.questions_on(case, viewer=request.user),
            "facts": facts, "facts_error": facts_error or None}).data)


class QuestionListApi(APIView):
    """The caller's own questions, and asking a new one."""

    required_capability = Capability.ASK_QUESTIONS

    @extend_schema(parameters=[cursor_parameter()],
                   responses={200: page_of(QuestionSerializer), **error_responses(409)})
    def get(self, request):
        return keyset_list(request, selectors.questions_of(request.user), QuestionSerializer,
                           order=("-created_at", "-id"))

    @extend_schema(request=QuestionInput,
                   responses={201: QuestionSerializer, **error_responses(404)})
    def post(self, request):
        data = QuestionInput(data=request.data)
        data.is_valid(raise_exception=True)
        case_id = data.validated_data["case_id"]
        case = get_object_or_404(cases_visible_to(request.user), pk=case_id) \
            if case_id else None
        question = services.question_ask(asker=request.user, case=case,
                                         body=data.validated_data["body"])
        return Response(QuestionSerializer(question).data, status=status.HTTP_201_CREATED)


class OpenQuestionListApi(APIView):
    required_capability = Capability.WRITE_GUIDANCE

    @extend_schema(parameters=[cursor_parameter()],
                   responses={200: page_of(QuestionSerializer), **error_responses(409)})
    def get(self, request):
        return keyset_list(request, selectors.open_questions(), QuestionSerializer,
                           order=("created_at", "id"))


class AnswerApi(APIView):
    required_capability = Capability.WRITE_GUIDANCE

    @extend_schema(request=AnswerInput, responses=QuestionSerializer)
    def post(self, request, pk):
        question = get_object_or_404(Question, pk=pk)
        data = AnswerInput(data=request.data)
        data.is_valid(raise_exception=True)
        answered = services.question_answer(question=question, answered_by=request.user,
                                            answer=data.validated_data["answer"])
        return Response(QuestionSerializer(answered).data)

"""The guidance API: playbooks, a case's guidance for Tier 2, and questions.

Tier 2 reads and asks; specialists answer. Markdown comes back as written and as
sanitised HTML (`billing_console.markdown`).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_console.access import Capability
from billing_console.api import InputSerializer, cursor_parameter, keyset_list, page_of
from billing_console.markdown import render_markdown
from billing_console.notes import NOTE_MAX_CHARS
from cases.selectors import cases_visible_to
from guidance import selectors, services
from guidance.models import CaseGuidance, Playbook, Question


class PlaybookSerializer(serializers.ModelSerializer):
    html = serializers.SerializerMethodField()

    class Meta:
        model = Playbook
        fields = ["slug", "title", "category", "body", "html", "updated_at"]

    def get_html(self, playbook) -> str:
        return str(render_markdown(playbook.body))


class CaseGuidanceSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", allow_null=True)
    html = serializers.SerializerMethodField()

    class Meta:
        model = CaseGuidance
        fields = ["id", "body", "html", "author", "created_at"]

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


class QuestionInput(InputSerializer):
    body = serializers.CharField(max_length=NOTE_MAX_CHARS)
    case_id = serializers.IntegerField(required=False, default=None, allow_null=True)


class AnswerInput(InputSerializer):
    answer = serializers.CharField(max_length=NOTE_MAX_CHARS)


class PlaybookListApi(APIView):
    required_capability = Capability.READ_GUIDANCE

    @extend_schema(parameters=[OpenApiParameter("q", str, description="Words in the title "
                                                                     "or body"),
                               cursor_parameter()],
                   responses=page_of(PlaybookSerializer))
    def get(self, request):
        found = selectors.playbooks(query=request.query_params.get("q", "")[:200])
        return keyset_list(request, found, PlaybookSerializer, order=("category", "title", "id"))


class CaseGuidanceApi(APIView):
    """What Tier 2 may know about a case: its summary, guidance, questions and billing
    facts (never card or payment details)."""

    required_capability = Capability.READ_GUIDANCE

    @extend_schema(responses={200: dict})
    def get(self, request, pk):
        case = get_object_or_404(cases_visible_to(request.user), pk=pk)
        facts, facts_error = selectors.case_facts(case)
        return Response({
            "case": {"id": case.pk, "zendesk_ticket_id": case.zendesk_ticket_id,
                     "subject": case.subject, "state": case.state, "category": case.category,
                     "resolution_code": case.resolution_code or None,
                     "resolution_summary": case.resolution_summary},
            "guidance": CaseGuidanceSerializer(selectors.case_guidance(case), many=True).data,
            "questions": QuestionSerializer(selectors.questions_on(case, viewer=request.user),
                                            many=True).data,
            "facts": [{"kind": fact.kind, "text": fact.text} for fact in facts],
            "facts_error": facts_error or None,
        })


class QuestionListApi(APIView):
    """The caller's own questions, and asking a new one."""

    required_capability = Capability.ASK_QUESTIONS

    @extend_schema(parameters=[cursor_parameter()], responses=page_of(QuestionSerializer))
    def get(self, request):
        return keyset_list(request, selectors.questions_of(request.user), QuestionSerializer,
                           order=("-created_at", "-id"))

    @extend_schema(request=QuestionInput, responses={201: QuestionSerializer})
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

    @extend_schema(parameters=[cursor_parameter()], responses=page_of(QuestionSerializer))
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

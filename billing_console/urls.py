from django.contrib import admin
from django.urls import include, path

from administration import apis as administration_apis
from audit import apis as audit_apis
from billing_console import apis, sandbox_viewer, views
from billing_console.integrations.stripe import webhooks as stripe_webhooks
from billing_console.integrations.zendesk import webhooks as zendesk_webhooks
from cases import apis as case_apis
from credit_memos import apis as credit_memo_apis
from finance import apis as finance_apis
from guidance import apis as guidance_apis
from handover import apis as handover_apis
from money_actions import apis as money_action_apis
from refunds import apis as refund_apis

api_v1 = [
    path("me", apis.MeApi.as_view(), name="me"),
    path("audit-events/", audit_apis.AuditEventListApi.as_view(), name="audit-events"),
    path("audit-events/export.csv", audit_apis.AuditExportApi.as_view(), name="audit-export"),
    path("cases/", case_apis.CaseListApi.as_view(), name="cases"),
    path("cases/<int:pk>/", case_apis.CaseDetailApi.as_view(), name="case"),
    path("cases/<int:pk>/guidance/", guidance_apis.CaseGuidanceApi.as_view(),
         name="case-guidance"),
    path("playbooks/", guidance_apis.PlaybookListApi.as_view(), name="playbooks"),
    path("cases/<int:pk>/assign/", case_apis.CaseAssignApi.as_view(), name="case-assign"),
    path("cases/<int:pk>/state/", case_apis.CaseStateApi.as_view(), name="case-state"),
    path("cases/<int:pk>/category/", case_apis.CaseCategoryApi.as_view(),
         name="case-category"),
    path("cases/<int:pk>/priority/", case_apis.CasePriorityApi.as_view(),
         name="case-priority"),
    path("cases/<int:pk>/notes/", case_apis.CaseNoteApi.as_view(), name="case-notes"),
    path("cases/<int:pk>/resolve/", case_apis.CaseResolveApi.as_view(), name="case-resolve"),
    path("cases/<int:pk>/reply-templates/", case_apis.CaseReplyTemplatesApi.as_view(),
         name="case-reply-templates"),
    path("cases/<int:pk>/stripe/", case_apis.CaseStripeApi.as_view(), name="case-stripe"),
    path("cases/<int:pk>/stripe/customer/", case_apis.CaseStripeCustomerApi.as_view(),
         name="case-stripe-customer"),
    path("questions/", guidance_apis.QuestionListApi.as_view(), name="questions"),
    path("questions/open/", guidance_apis.OpenQuestionListApi.as_view(),
         name="open-questions"),
    path("questions/<int:pk>/answer/", guidance_apis.AnswerApi.as_view(),
         name="question-answer"),
    path("case-guidance/", guidance_apis.CaseGuidanceWriteApi.as_view(),
         name="case-guidance-write"),
    path("playbooks/<slug:slug>/", guidance_apis.PlaybookDetailApi.as_view(), name="playbook"),
    path("playbook-versions/", guidance_apis.PlaybookSaveApi.as_view(),
         name="playbook-versions"),
    path("refunds/", refund_apis.RefundCreateApi.as_view(), name="refunds"),
    path("refunds/preview/", refund_apis.RefundPreviewApi.as_view(), name="refund-preview"),
    path("refunds/<uuid:pk>/", refund_apis.RefundDetailApi.as_view(), name="refund"),
    path("refunds/<uuid:pk>/amount/", refund_apis.RefundAmountApi.as_view(),
         name="refund-amount"),
    path("credit-memos/", credit_memo_apis.CreditMemoCreateApi.as_view(), name="credit-memos"),
    path("credit-memos/preview/", credit_memo_apis.CreditMemoPreviewApi.as_view(),
         name="credit-memo-preview"),
    path("credit-memos/<uuid:pk>/", credit_memo_apis.CreditMemoDetailApi.as_view(),
         name="credit-memo"),
    path("credit-memos/<uuid:pk>/void/", credit_memo_apis.CreditMemoVoidApi.as_view(),
         name="credit-memo-void"),
    path("invoice-adjustments/", credit_memo_apis.InvoiceAdjustmentApi.as_view(),
         name="invoice-adjustments"),
    path("subscription-changes/", credit_memo_apis.SubscriptionChangeApi.as_view(),
         name="subscription-changes"),
    path("subscription-changes/preview/", credit_memo_apis.SubscriptionChangePreviewApi.as_view(),
         name="subscription-change-preview"),
    path("money-actions/", money_action_apis.MoneyActionListApi.as_view(),
         name="money-actions"),
    path("money-actions/<uuid:pk>/approve/", money_action_apis.ApproveApi.as_view(),
         name="money-action-approve"),
    path("money-actions/<uuid:pk>/reject/", money_action_apis.RejectApi.as_view(),
         name="money-action-reject"),
    path("money-actions/<uuid:pk>/withdraw/", money_action_apis.WithdrawApi.as_view(),
         name="money-action-withdraw"),
    path("reconciliations/", finance_apis.ReconciliationRunListApi.as_view(),
         name="reconciliations"),
    path("reconciliations/run/", finance_apis.ReconciliationRequestApi.as_view(),
         name="reconciliation-request"),
    path("reconciliations/<int:pk>/", finance_apis.ReconciliationReportApi.as_view(),
         name="reconciliation"),
    path("reconciliations/<int:pk>/items/", finance_apis.ReconciliationItemListApi.as_view(),
         name="reconciliation-items"),
    path("reconciliations/<int:pk>/explain/", finance_apis.ReconciliationExplainApi.as_view(),
         name="reconciliation-explain"),
    path("handover/", handover_apis.HandoverApi.as_view(), name="handover"),
    path("handover/notes/", handover_apis.HandoverNoteApi.as_view(), name="handover-notes"),
    path("integrations/", administration_apis.IntegrationHealthApi.as_view(),
         name="integrations"),
    path("integrations/set-aside/", administration_apis.SetAsideListApi.as_view(),
         name="set-aside"),
    path("integrations/set-aside/tickets/<int:ticket_id>/retry/",
         administration_apis.SetAsideTicketRetryApi.as_view(), name="set-aside-ticket-retry"),
    path("integrations/webhook-events/", administration_apis.GaveUpListApi.as_view(),
         name="webhook-events"),
    path("integrations/webhook-events/<int:pk>/retry/",
         administration_apis.WebhookEventRetryApi.as_view(), name="webhook-event-retry"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.login, name="login"),
    path("accounts/logout/", views.logout, name="logout"),
    # Single sign-on through the company's identity provider (OpenID Connect).
    path("sso/", include("oidc.urls")),
    path("accounts/second-factor/", include("second_factor.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("cases/", include("cases.urls")),
    path("refunds/", include("refunds.urls")),
    path("approvals/", include("money_actions.urls")),
    # Finance's pages keep their addresses: /approvals/, /audit/summary/, /audit/reconciliation/.
    path("", include("finance.urls")),
    path("actions/", include("credit_memos.urls")),
    path("audit/", include("audit.urls")),
    path("guidance/", include("guidance.urls")),
    path("handover/", include("handover.urls")),
    path("manage/", include("administration.urls")),
    # The demo's sandboxes, read-only, where a link would go to Stripe's or Zendesk's pages.
    path("sandbox/stripe/<str:object_id>/", sandbox_viewer.stripe_object,
         name="sandbox-stripe"),
    path("sandbox/zendesk/tickets/<int:ticket_id>/", sandbox_viewer.zendesk_ticket,
         name="sandbox-zendesk-ticket"),
    path("admin/", admin.site.urls),
    path("webhooks/stripe/", stripe_webhooks.receive, name="stripe-webhook"),
    path("webhooks/zendesk/", zendesk_webhooks.receive, name="zendesk-webhook"),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", apis.SchemaApi.as_view(), name="schema"),
    path("api/docs/", apis.DocsPage.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "billing_console.views.bad_request"
handler403 = "billing_console.views.permission_denied"
handler404 = "billing_console.views.page_not_found"
handler500 = "billing_console.views.server_error"

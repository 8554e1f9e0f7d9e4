"""Finance's pages, at the addresses they have always had: the approvals page under
/approvals/, the summary and the reconciliation beside the audit trail under /audit/."""

from django.urls import path

from finance.views import approvals, reconciliation, summary

app_name = "finance"
urlpatterns = [
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/<uuid:pk>/approve/", approvals.approve, name="approve"),
    path("approvals/<uuid:pk>/reject/", approvals.reject, name="reject"),
    path("approvals/<uuid:pk>/handled/", approvals.clear_flag, name="clear-flag"),
    path("audit/summary/", summary.summary, name="summary"),
    path("audit/reconciliation/", reconciliation.runs, name="reconciliation"),
    path("audit/reconciliation/run/", reconciliation.run_create,
         name="reconciliation-create"),
    path("audit/reconciliation/<int:pk>/", reconciliation.report, name="reconciliation-run"),
    path("audit/reconciliation/<int:pk>/report.csv", reconciliation.report_csv,
         name="reconciliation-csv"),
    path("audit/reconciliation/<int:pk>/explain/", reconciliation.explain_many,
         name="reconciliation-explain-many"),
    path("audit/reconciliation/items/<int:pk>/explain/", reconciliation.explain,
         name="reconciliation-explain"),
]

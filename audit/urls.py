from django.urls import path

from audit import reconciliation_views, summary_views, views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("<int:pk>/", views.event_detail, name="event"),
    path("exports/", views.export, name="exports"),
    path("exports/<int:pk>/", views.export_status, name="export"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
    path("summary/", summary_views.summary, name="summary"),
    path("reconciliation/", reconciliation_views.runs, name="reconciliation"),
    path("reconciliation/run/", reconciliation_views.run_create, name="reconciliation-create"),
    path("reconciliation/<int:pk>/", reconciliation_views.report, name="reconciliation-run"),
    path("reconciliation/<int:pk>/report.csv", reconciliation_views.report_csv,
         name="reconciliation-csv"),
    path("reconciliation/items/<int:pk>/explain/", reconciliation_views.explain,
         name="reconciliation-explain"),
]

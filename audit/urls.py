from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("<int:pk>/", views.event_detail, name="event"),
    path("exports/", views.export, name="exports"),
    path("exports/<int:pk>/", views.export_status, name="export"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
]

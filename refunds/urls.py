from django.urls import path

from refunds import views

app_name = "refunds"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
]

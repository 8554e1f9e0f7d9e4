from django.urls import path

from handover import views

app_name = "handover"
urlpatterns = [
    path("", views.handover, name="page"),
    path("notes/", views.leave_note, name="leave-note"),
]

from django.urls import path

from guidance import views

app_name = "guidance"
urlpatterns = [
    path("", views.index, name="index"),
    path("playbooks/new/", views.playbook_edit, name="playbook-new"),
    path("playbooks/<slug:slug>/", views.playbook, name="playbook"),
    path("playbooks/<slug:slug>/edit/", views.playbook_edit, name="playbook-edit"),
    path("playbooks/<slug:slug>/versions/<int:number>/", views.version, name="version"),
    path("questions/", views.questions, name="questions"),
    path("questions/ask/", views.ask, name="ask"),
    path("questions/<int:pk>/", views.question, name="question"),
    path("questions/<int:pk>/answer/", views.answer, name="answer"),
    path("questions/<int:pk>/promote/", views.promote, name="promote"),
    path("cases/<int:case_pk>/", views.add_case_guidance, name="case-guidance"),
]

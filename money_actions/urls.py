from django.urls import path

from money_actions import views

app_name = "money_actions"
urlpatterns = [
    path("", views.approvals, name="approvals"),
    path("<uuid:pk>/approve/", views.approve, name="approve"),
    path("<uuid:pk>/reject/", views.reject, name="reject"),
    path("<uuid:pk>/handled/", views.clear_flag, name="clear-flag"),
    path("<uuid:pk>/withdraw/", views.withdraw, name="withdraw"),
]

from django.urls import path

from money_actions import views

# Mounted at /approvals/ beside finance's approvals page, where a withdrawn request would
# otherwise have been decided.
app_name = "money_actions"
urlpatterns = [
    path("<uuid:pk>/withdraw/", views.withdraw, name="withdraw"),
]

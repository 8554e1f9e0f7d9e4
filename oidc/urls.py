from django.urls import path

from oidc import views

app_name = "oidc"
urlpatterns = [
    path("login/", views.sign_in, name="sign_in"),
    path("callback/", views.callback, name="callback"),
]

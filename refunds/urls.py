from django.urls import path

from refunds import views

app_name = "refunds"
urlpatterns = [
    path("new/<int:case_pk>/<slug:charge_id>/", views.refund_new, name="new"),
]
